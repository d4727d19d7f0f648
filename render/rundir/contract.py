"""The run-directory contract: what a run directory holds, under which names, and the only code
that reads it back. The writer, export, preview, the trainer's data source and evaluation all
go through here.

Layout of a run directory `DIR/` (`key = f"{index:06d}"`):

    images/<key>_source.png   images/<key>_target.png    RGB, uint8
    masks/<key>_source.png    masks/<key>_target.png     one channel; value v > 0 is the object
                                                         with uid f"o{v-1}", 0 the background;
                                                         8-bit when every value < 256, else 16-bit
    depth/<key>_source.npy    depth/<key>_target.npy     float32 meters (only with --depth)
    manifest.jsonl    one JSON line per accepted pair
    rejects.jsonl     {index, attempt, reason, detail} per rejected attempt, and
                      {index, exhausted: true} when an index used all its attempts
    run.json          the run record (spec, hashes, versions, command line, start time)
    logs/render-<k>.log   what render process k printed on stderr (engine warnings, errors)
    .lock             held with an exclusive flock while a run writes

A manifest line is the plan (`PlannedSample.to_dict()`) with its scenes moved to
`source_scene`/`target_scene`, plus `source`/`target` ({image, mask[, depth]} paths relative
to DIR), `mask_ids` ({"1": "o0", ...}), `edited` (the edit's objects), `objects`
({uid: {asset_id, name}}) and `verify` (the verifier's figures).

Reading rules, the same for every reader: a trailing segment without a newline is a torn write
(a crash mid-append) and is skipped; a bad line elsewhere is an error naming the file and line;
a path in the manifest that leaves the run directory is refused.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from simedit.render.common.errors import SimEditError

MANIFEST = "manifest.jsonl"
REJECTS = "rejects.jsonl"
RUN_RECORD = "run.json"
LOCK = ".lock"
IMAGES, MASKS, DEPTH, LOGS = "images", "masks", "depth", "logs"
FOLDERS = (IMAGES, MASKS, DEPTH)
SIDES = ("source", "target")


def pair_key(index: int) -> str:
    return f"{int(index):06d}"


def pair_files(key: str, depth: bool = False) -> dict[str, dict[str, str]]:
    """{side: {image, mask[, depth]}}: the paths (relative to DIR) of one pair's files."""
    out: dict[str, dict[str, str]] = {}
    for side in SIDES:
        files = {"image": f"{IMAGES}/{key}_{side}.png", "mask": f"{MASKS}/{key}_{side}.png"}
        if depth:
            files["depth"] = f"{DEPTH}/{key}_{side}.npy"
        out[side] = files
    return out


def row_files(row: dict) -> list[str]:
    """Every file path (relative) a manifest row names."""
    return [rel for side in SIDES for rel in (row.get(side) or {}).values() if isinstance(rel, str)]


# --- reading ----------------------------------------------------------------------------


def read_lines(path: Path) -> tuple[list[dict], int]:
    """Parsed JSON lines and the byte length of the complete part (a torn tail is left out)."""
    if not path.is_file():
        return [], 0
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1  # 0 when there is no complete line
    rows = []
    for n, raw in enumerate(data[:end].split(b"\n")[:-1], 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise SimEditError(f"line {n} is not valid JSON ({e})", file=str(path)) from None
        if not isinstance(row, dict):
            raise SimEditError(f"line {n} is not a JSON object", file=str(path))
        rows.append(row)
    return rows, end


def read_manifest(run_dir: str | os.PathLike) -> list[dict]:
    """The manifest lines of a run directory, in file order; a torn last line is skipped."""
    return read_lines(Path(run_dir) / MANIFEST)[0]


def read_rejects(run_dir: str | os.PathLike) -> list[dict]:
    """The rejects log of a run directory, in file order; a torn last line is skipped."""
    return read_lines(Path(run_dir) / REJECTS)[0]


def read_record(run_dir: str | os.PathLike) -> dict | None:
    """run.json, or None when there is none. An unreadable one raises SimEditError."""
    path = Path(run_dir) / RUN_RECORD
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SimEditError(f"unreadable run record ({e})", file=str(path)) from None
    if not isinstance(record, dict):
        raise SimEditError("the run record is not a JSON object", file=str(path))
    return record


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """A mask PNG back as an (H, W) integer array (uint8 or uint16 values)."""
    with Image.open(path) as im:
        arr = np.asarray(im)
    return arr[..., 0] if arr.ndim == 3 else arr


def inside(root: Path, rel: str, file: str | None = None) -> Path:
    """`root / rel`, refusing a path that leaves `root` (absolute, or through `..`)."""
    if not isinstance(rel, str) or not rel:
        raise SimEditError(f"expected a relative file path, got {rel!r}", file=file)
    path = (root / rel).resolve()
    if not path.is_relative_to(root.resolve()):
        raise SimEditError(f"path {rel!r} leaves the run directory", file=file)
    return path


@dataclass
class RunDir:
    """A finished (or growing) run directory, read through the contract."""

    root: Path

    def __init__(self, root: str | os.PathLike, *, must_exist: bool = True):
        self.root = Path(root)
        if must_exist and not ((self.root / MANIFEST).is_file() or (self.root / RUN_RECORD).is_file()):
            raise SimEditError(f"no {MANIFEST} or {RUN_RECORD}: not a run directory", file=str(self.root))

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def rows(self) -> list[dict]:
        return read_manifest(self.root)

    def pairs(self) -> Iterator[dict]:
        """Manifest rows that name a source and a target image (others raise SimEditError)."""
        for n, row in enumerate(self.rows(), 1):
            try:
                row["source"]["image"], row["target"]["image"], row["instruction"]  # noqa: B018
            except (KeyError, TypeError) as e:
                raise SimEditError(f"manifest row {n}: missing {e}", file=str(self.manifest_path)) from None
            yield row

    def path(self, row: dict, side: str, what: str = "image") -> Path | None:
        """Absolute path of one file of a pair (None when the row names none)."""
        rel = (row.get(side) or {}).get(what)
        if rel is None:
            return None
        return inside(self.root, rel, file=str(self.manifest_path))

    def mask(self, row: dict, side: str) -> np.ndarray | None:
        path = self.path(row, side, "mask")
        return read_mask(path) if path is not None else None

    def edit_mask(self, row: dict) -> np.ndarray | None:
        """Union over source and target masks of the edited objects' pixels (None without masks)."""
        edited = set(row.get("edited") or [])
        values = [int(v) for v, uid in (row.get("mask_ids") or {}).items() if uid in edited]
        union = None
        for side in SIDES:
            mask = self.mask(row, side)
            if mask is None:
                return None
            hit = np.isin(mask, values)
            union = hit if union is None else union | hit
        return union

    def record(self) -> dict | None:
        return read_record(self.root)

    def rejects(self) -> list[dict]:
        return read_rejects(self.root)


def dumps(value: Any, sort_keys: bool = False) -> str:
    """JSON the way every run-directory file is written (numpy scalars and paths allowed)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=sort_keys, default=_json_default)


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
