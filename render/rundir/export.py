"""Convert a run directory to the layouts other tools read.

`export_run(run_dir, out_dir, fmt, both_directions=False) -> int` (pairs written):

- `diffusers`: an imagefolder dataset, `out_dir/metadata.jsonl` with one row per pair
  `{"input_image_file_name": "images/<key>_source.png", "edit_prompt": ...,
  "edited_image_file_name": "images/<key>_target.png"}` and the images under `out_dir/images/`.
  `datasets.load_dataset(str(out_dir), split="train")` reads it offline with the InstructPix2Pix
  columns `input_image`, `edit_prompt`, `edited_image` (Image features); so does `train`'s
  `HFDataset` without importing `datasets`. `out_dir` must not be the run directory (its masks
  would be taken for images).
- `aurora`: `out_dir/aurora.json`, a list of `{"input", "output", "instruction"}` whose paths are
  relative to the folder holding aurora.json; the images are placed under `out_dir/images/`
  (hard links when possible, else copies). Exporting into the run directory itself is allowed
  and copies nothing.

`both_directions` adds, after each pair, the reverse pair (target -> source) with the inverse
edit's instruction (`EditKind.invert`), its paraphrase drawn from
`numpy.random.default_rng([seed, index, 1_000_003])`; pairs whose edit has no phrasable inverse
(relative moves, fall_over) or whose inverse names an object ambiguously get no reverse.
A pair whose image file is missing is skipped with a warning; the number skipped is logged.
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from simedit.render.plan import language
from simedit.render.common.errors import Reject, SimEditError
from simedit.render.plan.edits import invert
from simedit.render.scene import Edit, Scene
from simedit.render.common.atomic import atomic_write
from simedit.render.rundir.contract import RunDir, dumps

log = logging.getLogger(__name__)

FORMATS = ("diffusers", "aurora")
REVERSE_STREAM = 1_000_003


def reverse_instruction(row: dict[str, Any]) -> str | None:
    """The instruction for target -> source of one manifest line, or None when there is none."""
    try:
        edit = Edit.from_dict(row["edit"])
        source = Scene.from_dict(row["source_scene"])
        target = Scene.from_dict(row["target_scene"])
    except (KeyError, TypeError):
        return None
    inverse = invert(edit, source, target)
    if inverse is None:
        return None
    rng = np.random.default_rng([int(row.get("seed", 0)), int(row["index"]), REVERSE_STREAM])
    try:
        return language.instruction(inverse, target, source, rng)
    except (Reject, ValueError, KeyError):
        return None


def _place(src: Path, dst: Path) -> None:
    """Put `src` at `dst`: a hard link when possible, else a copy; kept when already identical."""
    if dst.exists():
        if os.path.samefile(src, dst):
            return
        dst.unlink()
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def export_run(run_dir: str | os.PathLike, out_dir: str | os.PathLike, fmt: str,
               both_directions: bool = False) -> int:
    """Write the pairs of `run_dir` to `out_dir` in format `fmt`; return how many pairs were written."""
    run, out = Path(run_dir), Path(out_dir)
    if fmt not in FORMATS:
        raise SimEditError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}", field="format")
    rundir = RunDir(run)
    in_place = out.exists() and out.resolve() == run.resolve()
    if in_place and fmt == "diffusers":
        raise SimEditError("export the diffusers layout to a folder other than the run directory", file=str(out))
    out.mkdir(parents=True, exist_ok=True)

    pairs: list[tuple[str, str, str]] = []  # (input rel, output rel, instruction)
    missing = no_reverse = 0
    for row in rundir.pairs():
        files = [rundir.path(row, side) for side in ("source", "target")]
        src_rel, tgt_rel = (f.relative_to(rundir.root.resolve()).as_posix() for f in files)
        absent = [str(f) for f in files if not f.is_file()]
        if absent:
            missing += 1
            log.warning("%s: pair %s: missing %s; skipped", run, row.get("key"), ", ".join(absent))
            continue
        if not in_place:
            for f, rel in zip(files, (src_rel, tgt_rel)):
                _place(f, out / rel)
        pairs.append((src_rel, tgt_rel, row["instruction"]))
        if both_directions:
            text = reverse_instruction(row)
            if text is None:
                no_reverse += 1
            else:
                pairs.append((tgt_rel, src_rel, text))
    if missing:
        log.warning("%s: skipped %d pair(s) with missing image files", run, missing)
    if both_directions and no_reverse:
        log.info("%d pair(s) have no phrasable inverse; exported one way only", no_reverse)

    if fmt == "diffusers":
        lines = [dumps({"input_image_file_name": a, "edit_prompt": t, "edited_image_file_name": b})
                 for a, b, t in pairs]
        atomic_write(out / "metadata.jsonl", "".join(line + "\n" for line in lines))
    else:
        rows = [{"input": a, "output": b, "instruction": t} for a, b, t in pairs]
        atomic_write(out / "aurora.json", dumps(rows) + "\n")
    return len(pairs)


__all__ = ["export_run", "reverse_instruction", "FORMATS"]
