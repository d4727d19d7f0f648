"""The run directory: images, masks, manifest, rejects log and run record; atomic and resumable.

Layout of a run directory `DIR/` (`key = f"{index:06d}"`):

    images/<key>_source.png   images/<key>_target.png    RGB, uint8
    masks/<key>_source.png    masks/<key>_target.png     one channel; value v > 0 is the object
                                                         with uid f"o{v-1}", 0 the background;
                                                         8-bit when every value < 256, else 16-bit
    depth/<key>_source.npy    depth/<key>_target.npy     float32 meters (only when depth is given)
    manifest.jsonl    one JSON line per accepted pair, in the order they were accepted until
                      `finalize` sorts it by index
    rejects.jsonl     {index, attempt, reason, detail} per rejected attempt, and
                      {index, exhausted: true} when an index used all its attempts
    run.json          the run record (spec, hashes, versions, command line, start time)
    .lock             held with an exclusive flock while a run writes

Every file is written to a temporary name in its own folder, fsynced and `os.replace`d; a
manifest line is appended (flush + fsync) only after all files of its pair exist. So after a
crash the manifest lists only complete pairs, and the last line may at worst be torn, which
readers skip and the next writer trims. Re-running continues from `done()`.

A manifest line is the plan (`PlannedSample.to_dict()`) with its scenes moved to
`source_scene`/`target_scene`, plus the fields the trainer reads: `source`/`target`
({image, mask[, depth]} paths relative to DIR), `mask_ids` ({"1": "o0", ...}, every value
present in either mask), `edited` (the edit's objects; never the reference of a relative move),
`objects` ({uid: {asset_id, name}} for every object of either scene, described as in the source;
an object the edit renames or reshapes also gets `target: {asset_id, name}`), `verify`.
"""
from __future__ import annotations

import datetime as _dt
import errno
import fcntl
import hashlib
import io
import json
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

from simedit.render.common.errors import SimEditError

MANIFEST = "manifest.jsonl"
REJECTS = "rejects.jsonl"
RUN_RECORD = "run.json"
LOCK = ".lock"
FOLDERS = ("images", "masks", "depth")
# Hashes that must match to continue a run in the same directory.
RESUME_KEYS = ("spec_hash", "catalog_hash")

_PAIR_FILE = re.compile(r"^(\d{6,})_(source|target)\.(png|npy)$")
_TMP_MARK = ".tmp."


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
    return "sha256:" + hashlib.sha256(_dumps(value, sort_keys=True).encode()).hexdigest()


def make_record(
    *,
    spec: dict,
    spec_path: str | None,
    spec_hash: str,
    catalog_path: str | None,
    catalog_hash: str,
    versions: dict[str, str | None],
    argv: list[str] | None = None,
) -> dict[str, Any]:
    """The run record written to run.json. `spec_hash`/`catalog_hash` are what a resumed run
    must match; `versions` is the caller's {package: version} (python, simedit, bpy, ...)."""
    return {
        "spec": spec,
        "spec_path": spec_path,
        "spec_hash": spec_hash,
        "catalog_path": catalog_path,
        "catalog_hash": catalog_hash,
        "versions": dict(versions),
        "command": list(sys.argv if argv is None else argv),
        "started": _now(),
    }


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _dumps(value: Any, sort_keys: bool = False) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=sort_keys, default=_json_default)


def _write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` and fsync it. Every file of a run goes through here (tests
    monkeypatch it to simulate a full disk)."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}{_TMP_MARK}{os.getpid()}")


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write a file via a temp name in the same folder + os.replace. Raises SimEditError on a
    full disk (the temp file is removed)."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode()
    tmp = _tmp_name(path)
    try:
        _write_bytes(tmp, data)
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        if e.errno == errno.ENOSPC:
            raise SimEditError(f"disk full while writing {path}", file=str(path)) from None
        raise
    _fsync_dir(path.parent)


def _png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _rgb_png(rgb: np.ndarray, what: str) -> bytes:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"{what}: expected an (H, W, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    return _png_bytes(Image.fromarray(np.ascontiguousarray(rgb), "RGB"))


def _mask_png(mask: np.ndarray, what: str) -> bytes:
    mask = np.asarray(mask)
    if mask.ndim != 2 or not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f"{what}: expected an (H, W) integer mask, got {mask.shape} {mask.dtype}")
    if mask.size and (int(mask.min()) < 0 or int(mask.max()) > 65535):
        raise ValueError(f"{what}: mask values must lie in 0..65535")
    if not mask.size or int(mask.max()) < 256:
        return _png_bytes(Image.fromarray(mask.astype(np.uint8), "L"))
    return _png_bytes(Image.fromarray(mask.astype(np.uint16)))  # mode "I;16"


def _npy_bytes(depth: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(depth, dtype=np.float32), allow_pickle=False)
    return buf.getvalue()


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """A mask PNG back as an (H, W) integer array (uint8 or uint16 values)."""
    with Image.open(path) as im:
        arr = np.asarray(im)
    return arr[..., 0] if arr.ndim == 3 else arr


# --- reading ----------------------------------------------------------------------------


def _read_lines(path: Path) -> tuple[list[dict], int]:
    """Parsed JSON lines and the byte length of the complete part. A trailing segment without a
    newline is a torn write and is left out; a bad line elsewhere is an error."""
    if not path.is_file():
        return [], 0
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1  # 0 when there is no complete line
    rows = []
    for n, raw in enumerate(data[:end].split(b"\n")[:-1], 1):
        if not raw.strip():
            continue
        try:
            rows.append(json.loads(raw))
        except json.JSONDecodeError as e:
            raise SimEditError(f"line {n} is not valid JSON ({e})", file=str(path)) from None
    return rows, end


def read_manifest(run_dir: str | os.PathLike) -> list[dict]:
    """The manifest lines of a run directory, in file order; a torn last line is skipped."""
    return _read_lines(Path(run_dir) / MANIFEST)[0]


def read_rejects(run_dir: str | os.PathLike) -> list[dict]:
    """The rejects log of a run directory, in file order; a torn last line is skipped."""
    return _read_lines(Path(run_dir) / REJECTS)[0]


# --- the writer -------------------------------------------------------------------------


class RunWriter:
    """Writes one run directory. Use as a context manager (or call `close()`).

    Opening takes an exclusive lock on DIR/.lock, so a second writer on the same directory
    fails at once. When DIR/run.json exists, its spec and catalog hashes must equal the new
    record's (that is what makes resuming safe); otherwise SimEditError names the field,
    unless `force=True`: then run.json is replaced by the new record (the old one kept under
    `"replaced"`) and the run goes on; pairs already in the directory are NOT deleted and still
    count as done, so mixing is the caller's choice. A resumed run keeps the original record
    and appends {started, command} to its `"resumed"` list."""

    def __init__(self, out_dir: str | os.PathLike, record: dict[str, Any], *, force: bool = False):
        self.root = Path(out_dir)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SimEditError(f"cannot create the output directory ({e.strerror})", file=str(self.root)) from None
        self._lock_fd: int | None = None
        self._lock()
        try:
            for sub in FOLDERS[:2]:
                (self.root / sub).mkdir(exist_ok=True)
            self._check_record(record, force)
            self._accepted: set[int] = set()
            self._exhausted: set[int] = set()
            self._trim_torn(MANIFEST)
            self._trim_torn(REJECTS)
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
        if self._lock_fd is not None:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            finally:
                os.close(self._lock_fd)
                self._lock_fd = None

    def _lock(self) -> None:
        path = self.root / LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            finally:
                os.close(fd)
            raise SimEditError(f"another run is writing this directory (pid {pid})", file=str(self.root)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _check_record(self, record: dict[str, Any], force: bool) -> None:
        path = self.root / RUN_RECORD
        if not path.is_file():
            atomic_write(path, _dumps(record) + "\n")
            return
        try:
            old = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            if not force:
                raise SimEditError(f"unreadable run record ({e}); pass force to overwrite it",
                                   file=str(path)) from None
            old = {}
        differs = [k for k in RESUME_KEYS if old.get(k) != record.get(k)]
        if differs and not force:
            k = differs[0]
            raise SimEditError(
                f"this directory holds a run with a different {k} ({old.get(k)} here, {record.get(k)} now); "
                "use another output directory, or force to continue anyway",
                file=str(self.root), field=k,
            )
        if differs:
            new = dict(record)
            new["replaced"] = list(old.pop("replaced", [])) + [old]
        else:
            new = old
            new.setdefault("resumed", []).append(
                {"started": record.get("started", _now()), "command": record.get("command")})
        atomic_write(path, _dumps(new) + "\n")

    def _trim_torn(self, name: str) -> None:
        """Cut a torn last line (no newline) so the next append starts on a fresh line."""
        path = self.root / name
        if not path.is_file():
            return
        size = path.stat().st_size
        _, end = _read_lines(path)
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
        line = (_dumps(row) + "\n").encode()
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
            if e.errno == errno.ENOSPC:
                raise SimEditError(f"disk full while writing {path}", file=str(path)) from None
            raise

    def write_pair(self, plan: dict[str, Any], source: Rendered, target: Rendered,
                   verify: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write the files of one accepted pair, then its manifest line; return the line."""
        index = int(plan["index"])
        if index in self._accepted:
            raise ValueError(f"sample {index} is already in the manifest of {self.root}")
        key = plan.get("key") or f"{index:06d}"
        has_depth = source.depth is not None and target.depth is not None
        files: dict[str, dict[str, str]] = {"source": {}, "target": {}}
        blobs: list[tuple[str, bytes]] = []
        for side, out in (("source", source), ("target", target)):
            rel = {"image": f"images/{key}_{side}.png", "mask": f"masks/{key}_{side}.png"}
            blobs.append((rel["image"], _rgb_png(out.rgb, f"{key} {side} rgb")))
            blobs.append((rel["mask"], _mask_png(out.mask, f"{key} {side} mask")))
            if has_depth:
                rel["depth"] = f"depth/{key}_{side}.npy"
                blobs.append((rel["depth"], _npy_bytes(out.depth)))
            files[side] = rel
        if has_depth:
            (self.root / "depth").mkdir(exist_ok=True)

        finals = [self.root / rel for rel, _ in blobs]
        tmp: Path | None = None
        current = self.root
        try:
            for (rel, data), final in zip(blobs, finals):
                current, tmp = final, _tmp_name(final)
                _write_bytes(tmp, data)
                os.replace(tmp, final)
                tmp = None
            for folder in {f.parent for f in finals}:
                _fsync_dir(folder)
        except OSError as e:
            # No half pair: the temp file and this pair's finished files go.
            if tmp is not None:
                tmp.unlink(missing_ok=True)
            for f in finals:
                f.unlink(missing_ok=True)
            if e.errno == errno.ENOSPC:
                raise SimEditError(f"disk full while writing {current}", file=str(current)) from None
            raise

        # through JSON once, so the returned line equals what a reader gets (numpy scalars -> floats)
        line = json.loads(_dumps(manifest_line(plan, files, source.mask, target.mask, verify or {})))
        try:
            self._append(MANIFEST, line)
        except SimEditError:
            for f in finals:
                f.unlink(missing_ok=True)
            raise
        self._accepted.add(index)
        return line

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
        kept_files = {rel for row in kept for rel in _row_files(row)}
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
                if (_TMP_MARK in name and name.startswith(".")) or (
                        _PAIR_FILE.match(name) and f"{folder}/{name}" not in kept_files):
                    f.unlink(missing_ok=True)
        self._accepted = {int(r["index"]) for r in kept}
        self._exhausted = {int(r["index"]) for r in rejects.values() if r.get("exhausted")}

    def _rewrite(self, name: str, rows: Iterable[dict]) -> None:
        atomic_write(self.root / name, "".join(_dumps(r) + "\n" for r in rows))


def _row_files(row: dict) -> list[str]:
    return [rel for side in ("source", "target") for rel in (row.get(side) or {}).values()
            if isinstance(rel, str)]


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


__all__ = ["RunWriter", "read_manifest", "read_rejects", "read_mask", "make_record", "file_hash",
           "dict_hash", "atomic_write", "manifest_line"]
