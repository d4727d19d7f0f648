"""Writes a run directory (layout and reading rules: `rundir/contract.py`): atomic and resumable.

Every file is written to a temporary name in its own folder, fsynced and `os.replace`d
(`common/atomic.py`); a manifest line is appended (flush + fsync) only after all files of its
pair exist. So after a crash the manifest lists only complete pairs, and the last line may at
worst be torn, which readers skip and the next writer trims. Re-running continues from `done()`.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import logging
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

from simedit.render.common import atomic
from simedit.render.common.errors import SimEditError
from simedit.render.common.images import encode
from simedit.render.rundir.contract import (DEPTH, FOLDERS, IMAGES, MANIFEST, MASKS, REJECTS, RUN_RECORD,
                                            dumps, pair_files, pair_key, read_lines, read_manifest, read_rejects,
                                            inside, read_record, row_files)
from simedit.render.rundir.lock import RunLock

log = logging.getLogger(__name__)

# Hashes that must match to continue a run in the same directory (for "shard": which part; for
# "split": the seed stream, `plan/seeds.py`).
RESUME_KEYS = ("spec_hash", "catalog_hash", "render_options", "shard", "split")
# what a record written before a key existed meant by it: runs before region rendering rendered
# every target in full; runs before shards were whole runs; runs before splits had none
LEGACY: dict[str, Any] = {"render_options": {"target_region": False}, "shard": None, "split": None}


def resume_value(record: dict[str, Any], key: str) -> Any:
    """What must match for `key` to continue in a directory: a shard's part (k of N), not the
    size of the whole run it was started for."""
    value = record.get(key, LEGACY.get(key))
    if key == "shard" and isinstance(value, dict):
        return {k: value.get(k) for k in ("index", "count")}
    return value
PAIR_FILE = re.compile(r"^(\d{6,})_(source|target)\.(png|npy)$")


class Rendered(Protocol):
    rgb: np.ndarray  # (H, W, 3) uint8
    mask: np.ndarray  # (H, W) integer instance ids
    depth: np.ndarray | None  # (H, W) float32 or None


# --- small helpers ----------------------------------------------------------------------


def file_hash(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes, "sha256:<hex>"."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def dict_hash(value: Any) -> str:
    """sha256 of a value's canonical JSON, "sha256:<hex>" (for a spec given as a dict)."""
    return "sha256:" + hashlib.sha256(dumps(value, sort_keys=True).encode()).hexdigest()


def make_record(
    *,
    spec: dict,
    spec_path: str | None,
    spec_hash: str,
    catalog_path: str | None,
    catalog_hash: str,
    versions: dict[str, str | None],
    argv: list[str] | None = None,
    render_options: dict[str, Any] | None = None,
    shard: dict[str, int] | None = None,
    split: str | None = None,
) -> dict[str, Any]:
    """The run record written to run.json. `spec_hash`, `catalog_hash` and `render_options`
    (choices that change pixels, such as rendering only the target's edit region) are what a
    resumed run must match, and the part of a sharded run (`shard`: index, count and the whole
    run's n), and its `split` (the seed stream, `plan/seeds.py`; absent without one); `versions`
    is the caller's {package: version}."""
    record: dict[str, Any] = {        "spec": spec,
        "spec_path": spec_path,
        "spec_hash": spec_hash,
        "catalog_path": catalog_path,
        "catalog_hash": catalog_hash,
        "render_options": dict(render_options or {}),
        "versions": dict(versions),
        "command": list(sys.argv if argv is None else argv),
        "started": _now(),
    }
    if shard is not None:
        record["shard"] = dict(shard)
    if split is not None:
        record["split"] = split
    return record


def _shown(split: str | None) -> str:
    return "no split" if split is None else repr(split)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _rgb_png(rgb: np.ndarray, what: str) -> bytes:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"{what}: expected an (H, W, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    return encode(Image.fromarray(np.ascontiguousarray(rgb), "RGB"))


def _mask_png(mask: np.ndarray, what: str) -> bytes:
    mask = np.asarray(mask)
    if mask.ndim != 2 or not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f"{what}: expected an (H, W) integer mask, got {mask.shape} {mask.dtype}")
    if mask.size and (int(mask.min()) < 0 or int(mask.max()) > 65535):
        raise ValueError(f"{what}: mask values must lie in 0..65535")
    if not mask.size or int(mask.max()) < 256:
        return encode(Image.fromarray(mask.astype(np.uint8), "L"))
    return encode(Image.fromarray(mask.astype(np.uint16)))  # mode "I;16"


def _npy_bytes(depth: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(depth, dtype=np.float32), allow_pickle=False)
    return buf.getvalue()


# --- the writer -------------------------------------------------------------------------


class RunWriter:
    """Writes one run directory. Use as a context manager (or call `close()`).

    Opening takes an exclusive lock on DIR/.lock, so a second writer on the same directory
    fails at once. When DIR/run.json exists, its spec and catalog hashes must equal the new
    record's (that is what makes resuming safe); otherwise SimEditError names the field,
    unless `force=True`: then run.json takes the new record and lists under `"contributions"`
    every earlier spec with the index ranges of the pairs it made (the new spec owns every other
    index); pairs already in the directory are NOT deleted and still count as done. A resumed
    run keeps the original record and appends {started, command} to its `"resumed"` list.
    An accepted pair whose files are missing is dropped from the manifest and rendered again."""

    def __init__(self, out_dir: str | os.PathLike, record: dict[str, Any], *, force: bool = False):
        self.root = atomic.make_dir(out_dir)
        self._lock: RunLock | None = RunLock(self.root)
        try:
            for sub in (IMAGES, MASKS):
                atomic.make_dir(self.root / sub)
            self._trim_torn(MANIFEST)
            self._trim_torn(REJECTS)
            self._check_record(record, force)
            self._accepted: set[int] = set()
            self._exhausted: set[int] = set()
            self._drop_incomplete()
            for row in read_manifest(self.root):
                self._accepted.add(int(row["index"]))
            for row in read_rejects(self.root):
                if row.get("exhausted"):
                    self._exhausted.add(int(row["index"]))
        except BaseException:
            self.close()
            raise

    # context manager ------------------------------------------------------------------

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _check_record(self, record: dict[str, Any], force: bool) -> None:
        path = self.root / RUN_RECORD
        if not path.is_file():
            atomic.atomic_write(path, dumps(record) + "\n")
            return
        try:
            old = read_record(self.root) or {}
        except SimEditError as e:
            if not force:
                raise SimEditError(f"{e.detail}; pass force to overwrite it", file=str(path)) from None
            old = {}
        differs = [k for k in RESUME_KEYS if resume_value(old, k) != resume_value(record, k)]
        if differs and not force:
            k = differs[0]
            here, now = (_shown(resume_value(r, k)) if k == "split" else r.get(k) for r in (old, record))
            raise SimEditError(
                f"this directory holds a run with a different {k} ({here} here, {now} now); "
                "use another output directory, or force to continue anyway",
                file=str(self.root), field=k,
            )
        if differs:
            # --force with another spec: the pairs already here keep their provenance, recorded
            # as index ranges under the spec that made them; the new spec owns every other index
            new = dict(record)
            earlier = list(old.pop("contributions", []))
            claimed = {i for c in earlier for lo, hi in c.get("indices", []) for i in range(lo, hi + 1)}
            mine = sorted(int(r["index"]) for r in read_manifest(self.root) if int(r["index"]) not in claimed)
            contribution = {k: old.get(k) for k in ("spec_path", "spec_hash", "catalog_path", "catalog_hash", "split",
                                                    "started")}
            contribution["spec"] = old.get("spec")
            contribution["indices"] = index_ranges(mine)
            new["contributions"] = earlier + [contribution]
        else:
            new = old
            new.setdefault("resumed", []).append(
                {"started": record.get("started", _now()), "command": record.get("command")})
            if record.get("shard"):
                new["shard"] = record["shard"]  # the same part, perhaps of a larger whole run
        atomic.atomic_write(path, dumps(new) + "\n")

    def record_session(self, **figures: Any) -> None:
        """Append one session's figures (seconds, new pairs, slots...) to run.json's `sessions`."""
        record = read_record(self.root) or {}
        record.setdefault("sessions", []).append({"finished": _now(), **figures})
        atomic.atomic_write(self.root / RUN_RECORD, dumps(record) + "\n")

    def _drop_incomplete(self) -> None:
        """An accepted pair whose files are gone (deleted by hand, a disk restored from backup)
        is dropped from the manifest so that the run renders it again."""
        rows = read_manifest(self.root)
        whole = [r for r in rows if all(_inside_file(self.root, rel) for rel in row_files(r))]
        if len(whole) < len(rows):
            missing = sorted(int(r["index"]) for r in rows if r not in whole)
            log.warning("%s: %d accepted pair(s) have missing files and will be rendered again (indices %s)",
                        self.root, len(missing), ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else ""))
            self._rewrite(MANIFEST, whole)

    def _trim_torn(self, name: str) -> None:
        """Cut a torn last line (no newline) so the next append starts on a fresh line."""
        path = self.root / name
        if not path.is_file():
            return
        size = path.stat().st_size
        _, end = read_lines(path)
        if end < size:
            os.truncate(path, end)

    # state -----------------------------------------------------------------------------

    def done(self) -> set[int]:
        """Indices already finished: accepted (in the manifest) or exhausted (in the rejects log)."""
        return self._accepted | self._exhausted

    def accepted(self) -> int:
        return len(self._accepted)

    # writing ---------------------------------------------------------------------------

    def _append(self, name: str, row: dict[str, Any]) -> None:
        path = self.root / name
        line = (dumps(row) + "\n").encode()
        size = path.stat().st_size if path.exists() else 0
        try:
            with open(path, "ab") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            try:
                if path.exists() and path.stat().st_size > size:
                    os.truncate(path, size)  # no half line left behind
            except OSError:
                pass
            raise atomic.disk_error(e, path) from None

    def write_pair(self, plan: dict[str, Any], source: Rendered, target: Rendered,
                   verify: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write the files of one accepted pair, then its manifest line; return the line."""
        index = int(plan["index"])
        if index in self._accepted:
            raise ValueError(f"sample {index} is already in the manifest of {self.root}")
        key = plan.get("key") or pair_key(index)
        has_depth = source.depth is not None and target.depth is not None
        files = pair_files(key, depth=has_depth)
        blobs: list[tuple[str, bytes]] = []
        for side, out in (("source", source), ("target", target)):
            blobs.append((files[side]["image"], _rgb_png(out.rgb, f"{key} {side} rgb")))
            blobs.append((files[side]["mask"], _mask_png(out.mask, f"{key} {side} mask")))
            if has_depth:
                blobs.append((files[side]["depth"], _npy_bytes(out.depth)))
        if has_depth:
            atomic.make_dir(self.root / DEPTH)
        finals = [self.root / rel for rel, _ in blobs]
        try:
            for (_, data), final in zip(blobs, finals):
                atomic.atomic_write(final, data)
        except BaseException:
            for f in finals:  # no half pair: this pair's finished files go
                f.unlink(missing_ok=True)
            raise

        # through JSON once, so the returned line equals what a reader gets (numpy scalars -> floats)
        line = json.loads(dumps(manifest_line(plan, files, source.mask, target.mask, verify or {})))
        try:
            self._append(MANIFEST, line)
        except SimEditError:
            for f in finals:
                f.unlink(missing_ok=True)
            raise
        self._accepted.add(index)
        return line

    def adopt_pair(self, line: dict[str, Any], source_root: str | os.PathLike) -> None:
        """Take over an accepted pair written by another writer of the same run (a shard): its
        files copied byte for byte, then its manifest line unchanged."""
        index = int(line["index"])
        if index in self._accepted:
            raise ValueError(f"sample {index} is already in the manifest of {self.root}")
        source_root = Path(source_root)
        finals: list[Path] = []
        try:
            for rel in row_files(line):
                data = inside(source_root, rel).read_bytes()
                final = inside(self.root, rel)
                atomic.make_dir(final.parent)
                finals.append(atomic.atomic_write(final, data))
            self._append(MANIFEST, line)
        except BaseException:
            for f in finals:  # no half pair
                f.unlink(missing_ok=True)
            raise
        self._accepted.add(index)

    def write_reject(self, index: int, attempt: int, reason: str, detail: str = "") -> None:
        self._append(REJECTS, {"index": int(index), "attempt": int(attempt), "reason": str(reason),
                               "detail": str(detail)})

    def write_exhausted(self, index: int) -> None:
        self._append(REJECTS, {"index": int(index), "exhausted": True})
        self._exhausted.add(int(index))

    # finishing -------------------------------------------------------------------------

    def finalize(self, n: int) -> None:
        """Put the directory in its canonical form: the manifest sorted by index and cut to the
        first `n` accepted indices (files of dropped pairs and of pairs without a manifest line
        removed, torn lines dropped), the rejects log deduplicated by (index, attempt), sorted,
        and cut after the last kept index when `n` pairs were kept. Atomic and idempotent, so a
        resumed run ends with the same manifest bytes as an uninterrupted one."""
        rows = read_manifest(self.root)
        by_index: dict[int, dict] = {}
        for row in rows:
            by_index.setdefault(int(row["index"]), row)
        kept = [by_index[i] for i in sorted(by_index)[: max(int(n), 0)]]
        kept_files = {rel for row in kept for rel in row_files(row)}
        self._rewrite(MANIFEST, kept)

        complete = len(kept) >= n
        last = int(kept[-1]["index"]) if kept else -1
        rejects: dict[tuple[int, int], dict] = {}
        for row in read_rejects(self.root):
            i = int(row["index"])
            if complete and i > last:
                continue
            # an exhausted mark sorts after every attempt of its index
            k = (i, 1 << 62) if row.get("exhausted") else (i, int(row.get("attempt", 0)))
            rejects.setdefault(k, row)
        self._rewrite(REJECTS, [rejects[k] for k in sorted(rejects)])

        for folder in FOLDERS:
            d = self.root / folder
            if not d.is_dir():
                continue
            for f in d.iterdir():
                name = f.name
                if atomic.is_tmp_name(name) or (
                        PAIR_FILE.match(name) and f"{folder}/{name}" not in kept_files):
                    f.unlink(missing_ok=True)
        self._accepted = {int(r["index"]) for r in kept}
        self._exhausted = {int(r["index"]) for r in rejects.values() if r.get("exhausted")}

    def _rewrite(self, name: str, rows: Iterable[dict]) -> None:
        atomic.atomic_write(self.root / name, "".join(dumps(r) + "\n" for r in rows))


def index_ranges(indices: list[int]) -> list[list[int]]:
    """[0, 1, 2, 5, 6] -> [[0, 2], [5, 6]] (sorted, inclusive)."""
    out: list[list[int]] = []
    for i in sorted(indices):
        if out and i == out[-1][1] + 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def _inside_file(root: Path, rel: str) -> bool:
    try:
        return inside(root, rel).is_file()
    except SimEditError:  # a path that leaves the run directory is no file of this run
        return False


def manifest_line(plan: dict[str, Any], files: dict[str, dict[str, str]], source_mask: np.ndarray,
                  target_mask: np.ndarray, verify: dict[str, Any]) -> dict[str, Any]:
    """One manifest line from the plan dict, the pair's relative file paths and its masks."""
    line = {k: v for k, v in plan.items() if k not in ("source", "target")}
    source_scene, target_scene = plan.get("source") or {}, plan.get("target") or {}
    values = np.union1d(np.unique(np.asarray(source_mask)), np.unique(np.asarray(target_mask)))
    line["source"] = files["source"]
    line["target"] = files["target"]
    line["mask_ids"] = {str(int(v)): f"o{int(v) - 1}" for v in values if v > 0}
    line["edited"] = list((plan.get("edit") or {}).get("objects", []))
    line["objects"] = _objects(source_scene, target_scene)
    line["verify"] = verify
    line["source_scene"] = source_scene
    line["target_scene"] = target_scene
    return line


def _objects(source_scene: dict, target_scene: dict) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for o in source_scene.get("objects", []):
        out[o["uid"]] = {"asset_id": o["asset_id"], "name": o["name"]}
    for o in target_scene.get("objects", []):
        desc = {"asset_id": o["asset_id"], "name": o["name"]}
        if o["uid"] not in out:
            out[o["uid"]] = desc
        elif out[o["uid"]] != desc:
            out[o["uid"]]["target"] = desc
    return dict(sorted(out.items(), key=lambda kv: (len(kv[0]), kv[0])))


__all__ = ["RunWriter", "make_record", "file_hash", "dict_hash", "manifest_line", "resume_value"]
