"""`render merge OUT SHARD_DIRS...`: the shards of a run (`render --shard k/N`) as one run directory,
identical to a single run of the whole: the same pair keys, manifest bytes, image bytes and
rejects log.

A single run of n keeps the first n accepted indices and every reject up to the last of them
(`RunWriter.finalize`). Shard k holds the indices i % N == k it finished, so the shards together
know every index below `covered`, the first index some shard has not finished. When at least n
accepted indices lie below it, OUT gets exactly those n, with their rejects, copied byte for
byte through `RunWriter.adopt_pair` and finalized. Otherwise OUT gets every pair below
`covered` and the report says how to finish: the plain `render` command on OUT renders the
rest (its cursor starts at the first index not done), or the short shard can go on.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from simedit.render.common.errors import SimEditError
from simedit.render.rundir.contract import RunDir, read_manifest, read_rejects, read_record
from simedit.render.rundir.writer import RunWriter, make_record, resume_value


@dataclass
class MergeReport:
    out: Path
    n: int
    shards: int
    pairs: int  # accepted pairs now in OUT
    covered: int  # every index below this is done in some shard
    short: list[int] = field(default_factory=list)  # shards that stop the coverage
    finish: str = ""  # the command that completes OUT when it is short

    @property
    def complete(self) -> bool:
        return self.pairs >= self.n


def _shard_of(record: dict, where: Path) -> dict:
    shard = record.get("shard")
    if not isinstance(shard, dict) or not all(key in shard for key in ("index", "count")):
        raise SimEditError("not a shard (its run.json has no shard; was it made with --shard k/N?)", file=str(where))
    return shard


def merge_runs(out: str | os.PathLike, shard_dirs: list[str | os.PathLike], n: int | None = None) -> MergeReport:
    out = Path(out)
    if not shard_dirs:
        raise SimEditError("no shard directories given", field="SHARD_DIRS")
    roots = [Path(d) for d in shard_dirs]
    records = []
    for root in roots:
        RunDir(root)  # refuses a folder that is no run directory
        record = read_record(root)
        if record is None:
            raise SimEditError("no run.json", file=str(root))
        records.append(record)
    shards = [_shard_of(r, root) for r, root in zip(records, roots)]
    count = shards[0]["count"]
    first = records[0]
    for record, shard, root in zip(records, shards, roots):
        if shard["count"] != count:
            raise SimEditError(f"a shard of {shard['count']}, not of {count} like {roots[0]}", file=str(root), field="shard")
        for key in ("spec_hash", "catalog_hash", "render_options", "split"):
            if resume_value(record, key) != resume_value(first, key):
                raise SimEditError(f"made with a different {key} than {roots[0]}; these are not shards of one run",
                                   file=str(root), field=key)
    by_index: dict[int, Path] = {}
    for shard, root in zip(shards, roots):
        if shard["index"] in by_index:
            raise SimEditError(f"shard {shard['index']}/{count} given twice (also {by_index[shard['index']]})",
                               file=str(root))
        by_index[shard["index"]] = root
    missing = sorted(set(range(count)) - set(by_index))
    if missing:
        raise SimEditError(f"shard(s) {', '.join(f'{k}/{count}' for k in missing)} missing; every shard is needed",
                           field="SHARD_DIRS")
    if n is None:
        wanted = {s.get("n") for s in shards}
        if len(wanted) != 1 or None in wanted:
            raise SimEditError(f"the shards were started for different run sizes ({sorted(map(str, wanted))}); "
                               "pass --n", field="--n")
        n = int(wanted.pop())

    # what each shard finished, and the first index it has not
    rows: dict[int, tuple[dict, Path]] = {}
    rejects: dict[int, list[dict]] = {}
    edge: dict[int, int] = {}
    for k, root in sorted(by_index.items()):
        done = set()
        for row in read_manifest(root):
            rows[int(row["index"])] = (row, root)
            done.add(int(row["index"]))
        for row in read_rejects(root):
            rejects.setdefault(int(row["index"]), []).append(row)
            if row.get("exhausted"):
                done.add(int(row["index"]))
        i = k
        while i in done:
            i += count
        edge[k] = i
    covered = min(edge.values())
    accepted = sorted(i for i in rows if i < covered)
    keep = accepted[:n]
    last = keep[-1] if len(keep) >= n else covered - 1

    record = make_record(spec=first["spec"], spec_path=first.get("spec_path"), spec_hash=first["spec_hash"],
                         catalog_path=first.get("catalog_path"), catalog_hash=first["catalog_hash"],
                         versions=first.get("versions", {}), argv=whole_command(first, out, n),
                         render_options=first.get("render_options"), split=first.get("split"))
    record["merged_from"] = [str(by_index[k]) for k in sorted(by_index)]
    with RunWriter(out, record) as writer:
        before = set(writer.done())  # merging again adds only what is new
        for i in keep:
            if i not in before:
                writer.adopt_pair(*rows[i])
        for i in sorted(rejects):
            if i <= last and i not in before:
                for row in rejects[i]:
                    if row.get("exhausted"):
                        writer.write_exhausted(i)
                    else:
                        writer.write_reject(i, int(row["attempt"]), str(row["reason"]), str(row.get("detail", "")))
        writer.finalize(n)
        pairs = writer.accepted()
    short = sorted(k for k, e in edge.items() if e == covered)
    report = MergeReport(out, n, count, pairs, covered, short)
    if not report.complete:
        report.finish = " ".join(whole_command(first, out, n))
    return report


def whole_command(record: dict, out: Path, n: int | None = None) -> list[str]:
    """A shard's command as the plain command of the whole run into `out` (--shard dropped)."""
    argv = list(record.get("command") or ["render"])
    cmd: list[str] = []
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in ("--shard", "--out", "--n", "--executor", "--address"):
            skip = "=" not in arg and i + 1 < len(argv)
            continue
        cmd.append(arg)
    return [*cmd, *(["--n", str(n)] if n is not None else []), "--out", str(out)]
