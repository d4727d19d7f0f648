"""`--shard k/N`: one of N independent parts of a run, for any scheduler (a Slurm array, a
Kubernetes indexed job, N machines by hand).

Shard k samples the indices i with i % N == k, in order, into its own run directory, and stops
after `quota(n)` accepted pairs: ceil((n - k) / N), the indices below n it owns, plus one spare
for an index that uses up all its attempts. Since nearly every index is accepted, the shards
together then cover every index up to the n-th accepted one, and `render merge`
(`rundir/merge.py`) keeps the first n accepted indices exactly as `finalize` does: the same
pairs, bytes and keys as one run of the whole. Where a shard fell short, merge says so and the
plain `render` command on the merged directory renders what is missing.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from simedit.render.common.errors import SimEditError

SPARE = 1  # accepted pairs a shard makes beyond its share, for an exhausted index


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
        if not m:
            raise SimEditError(f"expected k/N, e.g. 0/4 (got {text!r})", field="--shard")
        k, n = int(m.group(1)), int(m.group(2))
        if n < 1 or k >= n:
            raise SimEditError(f"k must lie in 0..N-1 and N >= 1 (got {k}/{n})", field="--shard")
        return cls(k, n)

    def quota(self, n: int) -> int:
        """Accepted pairs this shard makes for a whole run of `n`."""
        return math.ceil(max(n - self.index, 0) / self.count) + SPARE

    def owns(self, index: int) -> bool:
        return index % self.count == self.index

    def to_record(self, n: int) -> dict[str, int]:
        return {"index": self.index, "count": self.count, "n": n}

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
