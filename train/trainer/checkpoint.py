"""Checkpoints: `OUT/checkpoints/step-000100/state.pt`. The state is streamed to a temporary file
and put in place atomically (`common/atomic.py: atomic_file`), and `list_checkpoints` only counts a folder that holds a
state.pt, so a crash mid-write never leaves a half checkpoint that resume would pick. Keeps the
last K. torch is imported only to save and load, so listing checkpoints (`train --check`) needs none."""
from __future__ import annotations

import pickle
import re
import shutil
from pathlib import Path

from simedit.render.common.atomic import atomic_file, is_tmp_name
from simedit.train.errors import TrainError

_NAME = re.compile(r"^step-(\d+)$")
STATE = "state.pt"


def checkpoint_dir(output_dir: str | Path) -> Path:
    return Path(output_dir) / "checkpoints"


def list_checkpoints(output_dir: str | Path) -> list[tuple[int, Path]]:
    """(step, folder) of every complete checkpoint, oldest first."""
    d = checkpoint_dir(output_dir)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := _NAME.match(p.name)) and (p / STATE).is_file()]
    return sorted(found)


def save_checkpoint(output_dir: str | Path, step: int, state: dict, keep: int) -> Path:
    d = checkpoint_dir(output_dir)
    final = d / f"step-{step:06d}"
    if final.is_dir():  # the same step again after a crash: its temporaries are garbage
        for f in final.iterdir():
            if is_tmp_name(f.name):
                f.unlink(missing_ok=True)
    import torch

    with atomic_file(final / STATE, mkdir=True) as f:  # streamed: a real model's state is gigabytes
        torch.save(state, f)
    complete = list_checkpoints(output_dir)
    for _, old in complete[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    kept = {p for _, p in complete}
    for p in d.iterdir():  # step folders a crash left without a state.pt
        if _NAME.match(p.name) and p not in kept and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
    return final


def load_latest(output_dir: str | Path) -> tuple[int, dict]:
    found = list_checkpoints(output_dir)
    if not found:
        raise TrainError("--resume: no checkpoint to resume from", file=str(checkpoint_dir(output_dir)))
    step, path = found[-1]
    import torch

    try:
        return step, torch.load(path / STATE, map_location="cpu", weights_only=False)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as e:  # cut short, not a checkpoint
        raise TrainError(f"unreadable checkpoint: {str(e)[:200]}", file=str(path / STATE)) from None
