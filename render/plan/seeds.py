"""The random streams of a run: which numbers seed attempt `k` of sample `index`.

Without a split, attempt `k` of sample `index` draws from
`numpy.random.default_rng([seed, index, k])` (the stream every run used before splits existed,
so those runs resume unchanged). A run with `--split NAME` draws from
`default_rng([seed, index, k, split_key(NAME)])`, where `split_key` is the first 8 bytes of the
SHA-256 of the name: stable across Python processes and versions (never Python's `hash()`), and
a different, independent stream for every name. So a `train` run and a `heldout` run of the same
spec and seed sample different scenes at every index, and each is as reproducible as a run
without a split.
"""
from __future__ import annotations

import hashlib
import re

from simedit.render.common.errors import SimEditError

SPLIT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_split(name: str, field: str = "--split") -> str:
    """A split name: 1-64 letters, digits, `_`, `.` or `-`, starting with a letter or digit."""
    if not SPLIT_NAME.fullmatch(name):
        raise SimEditError(f"a split name is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit "
                           f"(got {name!r})", field=field)
    return name


def split_key(name: str) -> int:
    """The split's word in the seed: the first 8 bytes of sha256(name), as an unsigned integer."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")


def attempt_entropy(seed: int, index: int, attempt: int, split: str | None = None) -> list[int]:
    """What seeds `numpy.random.default_rng` for attempt `attempt` of sample `index`."""
    entropy = [int(seed), int(index), int(attempt)]
    if split is not None:
        entropy.append(split_key(split))
    return entropy
