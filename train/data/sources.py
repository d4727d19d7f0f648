"""Datasets of editing pairs. Each source is a random-access list of pairs; `load(i)` returns an
`Example` or raises `Unreadable`, which the training data pipeline counts and skips (a missing
image must never crash a run hours in).

Sources:
- `RenderRun`: a run directory written by `render` (manifest.jsonl, images, instance masks),
  read through `simedit.render.rundir.contract.RunDir`, the only reader of run directories. Its
  edit mask covers the change (see `change_mask`).
- `AuroraJson`: `[{"input": path, "output": path, "instruction": text}, ...]`, paths relative
  to a root. Video-derived pairs use the same format (`type: video`).
- `HFDataset`: columns input_image, edit_prompt, edited_image; either a `datasets` folder written
  by `save_to_disk`, or an imagefolder (images plus metadata.jsonl / metadata.csv).
"""
from __future__ import annotations

import csv
import io
import json
import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

from simedit.render.common.errors import SimEditError
from simedit.render.common.text import read_text
from simedit.render.rundir.contract import RunDir
from simedit.train.data.actions import verb_phrase
from simedit.train.errors import TrainError

log = logging.getLogger(__name__)


@dataclass
class Example:
    source: Image.Image
    instruction: str
    target: Image.Image
    mask: Image.Image | None  # mode "L", 255 where the edit happens; None when unknown
    source_name: str


class Unreadable(Exception):
    """This pair cannot be used (missing or corrupt image); skipped and counted."""


class Source(Protocol):
    name: str

    def __len__(self) -> int: ...
    def load(self, i: int) -> Example: ...
    def instructions(self) -> list[str]: ...
    def instruction(self, i: int) -> str: ...
    def action(self, i: int) -> str: ...  # what the instruction does (EditAction negatives differ in it)
    def actions(self) -> list[str]: ...


@dataclass
class SkipCounter:
    """Counts skipped pairs per source; warns for the first few so the log stays readable."""

    counts: Counter = field(default_factory=Counter)
    warn_first: int = 5
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def skip(self, source: str, reason: str) -> None:
        with self._lock:
            self.counts[source] += 1
            n = sum(self.counts.values())
        if n <= self.warn_first:
            log.warning("skipping pair from %s: %s (%d skipped so far)", source, reason, n)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _open_image(path: Path) -> Image.Image:
    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except (OSError, ValueError) as e:  # missing, truncated, not an image
        raise Unreadable(f"{path}: {e.__class__.__name__}: {e}") from None


def _read_json(path: Path, what: str = "JSON") -> Any:
    """Parsed JSON; a missing, non-UTF-8 or malformed file is one TrainError line."""
    try:
        return json.loads(read_text(path, what, TrainError))
    except json.JSONDecodeError as e:
        raise TrainError(f"not valid JSON ({e})", file=str(path)) from None
    except RecursionError:
        raise TrainError("not valid JSON (nested too deeply)", file=str(path)) from None


def _texts(row: Any, keys: tuple[str, ...]) -> bool:
    """A row (dict) whose `keys` all hold non-empty text: anything else would fail mid-run."""
    return isinstance(row, dict) and all(isinstance(row.get(k), str) and row[k] for k in keys)


CHANGE_TOLERANCE = 0.04  # a pixel changed when a channel moved by more than this (0..1)
OBJECT_DILATE_PX = 2  # at 256 px; scaled with the image


def change_mask(objects: np.ndarray, source: np.ndarray, target: np.ndarray,
                tolerance: float = CHANGE_TOLERANCE, dilate_px: int | None = None) -> np.ndarray:
    """Where a simulated pair changes: the edited objects' instance pixels in either image, plus
    every pixel the renders say changed (shadows, reflections, anti-aliased edges; a simulated
    pair differs nowhere else, the verifier made sure), opened to drop lone speckles, the whole
    dilated so the border is inside (UltraEdit expands its masks the same way). The instance
    masks alone cover only part of the change: an object's shadow is not the object."""
    from scipy import ndimage

    diff = np.abs(source.astype(np.int16) - target.astype(np.int16)).max(axis=-1) / 255.0 > tolerance
    diff = ndimage.binary_opening(diff, structure=np.ones((2, 2), bool))
    region = objects.astype(bool) | diff
    px = dilate_px if dilate_px is not None else max(1, round(OBJECT_DILATE_PX * max(objects.shape) / 256))
    return ndimage.binary_dilation(region, structure=np.ones((3, 3), bool), iterations=px) if region.any() else region


class RenderRun:
    """A `render` run directory, read through the run-directory contract (`RunDir`): its
    manifest rows (a torn last line, as after a crash, is skipped), its image paths (a path
    leaving the run directory is refused) and its edit mask (`change_mask`: the edited objects'
    instance pixels in source and target, plus what the renders show changed, dilated)."""

    def __init__(self, path: str | Path, name: str | None = None):
        self.root = Path(path)
        self.name = name or self.root.name
        self.run = RunDir(self.root)  # SimEditError (a user error) when it is not a run directory
        self.rows: list[dict] = list(self.run.pairs())

    def __len__(self) -> int:
        return len(self.rows)

    def instructions(self) -> list[str]:
        return [r["instruction"] for r in self.rows]

    def instruction(self, i: int) -> str:
        return self.rows[i]["instruction"]

    def action(self, i: int) -> str:
        # The manifest says what the edit does: kind and subtype (no kind is named here).
        r = self.rows[i]
        return f"{r.get('kind') or ''}.{r.get('subtype') or ''}" if r.get("kind") else verb_phrase(r["instruction"])

    def actions(self) -> list[str]:
        return [self.action(i) for i in range(len(self.rows))]

    def _path(self, row: dict, side: str) -> Path:
        # A refused path is a broken pair, like a missing image: skipped and counted, so one bad
        # row cannot stop a run hours in.
        try:
            return self.run.path(row, side)
        except SimEditError as e:
            raise Unreadable(str(e)) from None

    def _edit_mask(self, row: dict, src: Image.Image, tgt: Image.Image) -> Image.Image | None:
        try:
            union = self.run.edit_mask(row)
        except (OSError, ValueError, SimEditError) as e:  # missing or corrupt mask, refused path
            raise Unreadable(f"edit mask of pair {row.get('key', '?')}: {e.__class__.__name__}: {e}") from None
        if union is None:
            return None
        a, b = np.asarray(src.convert("RGB")), np.asarray(tgt.convert("RGB"))
        if a.shape != b.shape or a.shape[:2] != union.shape:
            raise Unreadable(f"pair {row.get('key', '?')}: image and mask sizes differ")
        return Image.fromarray(change_mask(union, a, b).astype(np.uint8) * 255, "L")

    def load(self, i: int) -> Example:
        row = self.rows[i]
        src = _open_image(self._path(row, "source"))
        tgt = _open_image(self._path(row, "target"))
        return Example(src, row["instruction"], tgt, self._edit_mask(row, src, tgt), self.name)


class AuroraJson:
    """AURORA-style JSON list; also the format of video-derived pairs."""

    def __init__(self, path: str | Path, root: str | Path | None = None, name: str | None = None):
        self.path = Path(path)
        self.root = Path(root) if root is not None else self.path.parent
        self.name = name or self.path.stem
        rows = _read_json(self.path)
        if not isinstance(rows, list):
            raise TrainError("expected a JSON list of {input, output, instruction}", file=str(self.path))
        for n, r in enumerate(rows):
            if not _texts(r, ("input", "output", "instruction")):
                raise TrainError(f"item {n}: expected keys input, output, instruction, each a text",
                                 file=str(self.path))
        self.rows: list[dict] = rows

    def __len__(self) -> int:
        return len(self.rows)

    def instructions(self) -> list[str]:
        return [r["instruction"] for r in self.rows]

    def instruction(self, i: int) -> str:
        return self.rows[i]["instruction"]

    def action(self, i: int) -> str:
        r = self.rows[i]
        return str(r["action"]) if r.get("action") else verb_phrase(r["instruction"])

    def actions(self) -> list[str]:
        return [self.action(i) for i in range(len(self.rows))]

    def load(self, i: int) -> Example:
        r = self.rows[i]
        return Example(_open_image(self.root / r["input"]), r["instruction"],
                       _open_image(self.root / r["output"]), None, self.name)


def _as_image(value: Any, base: Path) -> Image.Image:
    """An image cell: PIL image (decoded datasets column), {"bytes","path"} dict, or a path."""
    if isinstance(value, Image.Image):
        return value
    if isinstance(value, dict):
        if value.get("bytes"):
            try:
                return Image.open(io.BytesIO(value["bytes"]))
            except OSError as e:
                raise Unreadable(f"undecodable image bytes: {e}") from None
        value = value.get("path")
    if isinstance(value, str) and value:
        return _open_image(base / value)
    raise Unreadable(f"no image in cell {type(value).__name__}")


class HFDataset:
    """Columns input_image, edit_prompt, edited_image. An imagefolder is read directly from its
    metadata file (file columns `input_image`/`edited_image`, or the imagefolder convention
    `input_image_file_name`/`edited_image_file_name`); a `save_to_disk` folder needs `datasets`."""

    COLUMNS = ("input_image", "edit_prompt", "edited_image")

    def __init__(self, path: str | Path, name: str | None = None, split: str = "train"):
        self.root = Path(path)
        self.name = name or self.root.name
        if not self.root.is_dir():
            raise TrainError("dataset folder not found", file=str(self.root))
        meta_jsonl, meta_csv = self.root / "metadata.jsonl", self.root / "metadata.csv"
        self._ds = None
        self._instructions: list[str] | None = None
        if meta_jsonl.is_file() or meta_csv.is_file():
            meta = meta_jsonl if meta_jsonl.is_file() else meta_csv
            rows = _metadata_rows(meta)
            self.rows = [{k.removesuffix("_file_name"): v for k, v in r.items()} for r in rows]
            for n, r in enumerate(self.rows):
                if not _texts(r, self.COLUMNS):
                    raise TrainError(f"row {n}: expected columns {', '.join(self.COLUMNS)}, each a text",
                                     file=str(meta))
        else:
            self._ds = self._load_from_disk(split)
            self.rows = []

    def _load_from_disk(self, split: str):
        try:
            import datasets  # optional: pyarrow must import in this environment
        except ImportError as e:
            raise TrainError(f"reading a save_to_disk folder needs the `datasets` library, which failed to "
                             f"import ({e}); export an imagefolder instead", file=str(self.root)) from None
        try:
            ds = datasets.load_from_disk(str(self.root))
        except (FileNotFoundError, ValueError) as e:
            raise TrainError(f"not a datasets folder or imagefolder ({e})", file=str(self.root)) from None
        if isinstance(ds, datasets.DatasetDict):
            if split not in ds:
                raise TrainError(f"no split {split!r} (has {', '.join(ds)})", file=str(self.root), field="split")
            ds = ds[split]
        missing = [c for c in self.COLUMNS if c not in ds.column_names]
        if missing:
            raise TrainError(f"missing columns {', '.join(missing)}", file=str(self.root))
        # Undecoded images: a corrupt cell becomes a skipped pair instead of an exception in iteration.
        return ds.cast_column("input_image", datasets.Image(decode=False)).cast_column(
            "edited_image", datasets.Image(decode=False))

    def __len__(self) -> int:
        return len(self._ds) if self._ds is not None else len(self.rows)

    def instructions(self) -> list[str]:
        if self._instructions is None:
            self._instructions = (list(self._ds["edit_prompt"]) if self._ds is not None
                                  else [r["edit_prompt"] for r in self.rows])
        return self._instructions

    def instruction(self, i: int) -> str:
        return self.instructions()[i]

    def action(self, i: int) -> str:
        return verb_phrase(self.instruction(i))

    def actions(self) -> list[str]:
        return [verb_phrase(t) for t in self.instructions()]

    def load(self, i: int) -> Example:
        row = self._ds[i] if self._ds is not None else self.rows[i]
        src, tgt = _as_image(row["input_image"], self.root), _as_image(row["edited_image"], self.root)
        try:
            src.load(), tgt.load()
        except OSError as e:
            raise Unreadable(f"row {i}: {e}") from None
        return Example(src, row["edit_prompt"], tgt, None, self.name)


def _metadata_rows(meta: Path) -> list[dict]:
    """An imagefolder's metadata.jsonl / metadata.csv rows; a malformed row is one TrainError line."""
    text = read_text(meta, "metadata", TrainError)
    rows: list = []
    if meta.suffix == ".jsonl":
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise TrainError(f"line {n} is not valid JSON ({e})", file=str(meta)) from None
                if not isinstance(rows[-1], dict):
                    raise TrainError(f"line {n}: expected a JSON object", file=str(meta))
        return rows
    for n, row in enumerate(csv.DictReader(io.StringIO(text)), 2):
        if None in row or None in row.values():
            raise TrainError(f"line {n}: not as many fields as the header has", file=str(meta))
        rows.append(row)
    return rows


def open_source(kind: str, path: str | Path, *, name: str, root: str | Path | None = None) -> Source:
    """Build a source from its config entry."""
    if kind == "render":
        return RenderRun(path, name)
    if kind in ("aurora_json", "video"):
        return AuroraJson(path, root, name)
    if kind == "hf":
        return HFDataset(path, name)
    raise TrainError(f"unknown dataset type {kind!r}", field="type")
