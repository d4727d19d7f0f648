"""Checkpoints: `OUT/checkpoints/step-000100/state.pt`, written to a temporary folder and renamed
(a crash mid-write leaves no half checkpoint that resume would pick). Keeps the last K."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import torch

from simedit.train.errors import TrainError

_NAME = re.compile(r"^step-(\d+)$")


def checkpoint_dir(output_dir: str | Path) -> Path:
    return Path(output_dir) / "checkpoints"


def list_checkpoints(output_dir: str | Path) -> list[tuple[int, Path]]:
    d = checkpoint_dir(output_dir)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := _NAME.match(p.name)) and (p / "state.pt").is_file()]
    return sorted(found)


def save_checkpoint(output_dir: str | Path, step: int, state: dict, keep: int) -> Path:
    d = checkpoint_dir(output_dir)
    d.mkdir(parents=True, exist_ok=True)
    final, tmp = d / f"step-{step:06d}", d / f".tmp-step-{step:06d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    torch.save(state, tmp / "state.pt")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for _, old in list_checkpoints(output_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_latest(output_dir: str | Path) -> tuple[int, dict]:
    found = list_checkpoints(output_dir)
    if not found:
        raise TrainError("--resume: no checkpoint to resume from", file=str(checkpoint_dir(output_dir)))
    step, path = found[-1]
    try:
        return step, torch.load(path / "state.pt", map_location="cpu", weights_only=False)
    except (OSError, RuntimeError) as e:
        raise TrainError(f"unreadable checkpoint: {e}", file=str(path / "state.pt")) from None
