"""A run whose numbers stop being numbers stops: a NaN or infinite loss, gradient or weight ends
training with one line naming the optimizer step and the last good checkpoint, before anything
of that step is saved, so the checkpoints already written (the good ones) are kept and no NaN
model or checkpoint is ever written. Every process sees the same reduced loss, the same clipped
gradient norm and the same weights, so all processes stop together."""
from __future__ import annotations

import math
from pathlib import Path

import torch

from simedit.train.errors import TrainError
from simedit.train.trainer.checkpoint import list_checkpoints


def stopped(what: str, step: int, output_dir: Path) -> TrainError:
    found = list_checkpoints(output_dir)
    last = (f"last good checkpoint: {found[-1][1]} (lower train.learning_rate or check the data, then --resume)"
            if found else "no checkpoint yet (lower train.learning_rate or check the data, and start again)")
    return TrainError(f"step {step}: {what}; stopped, nothing of this step saved; {last}")


def check_value(name: str, value: float, step: int, output_dir: Path) -> None:
    if not math.isfinite(value):
        raise stopped(f"the {name} is {value}", step, output_dir)


def weights_finite(params: list[torch.Tensor]) -> bool:
    with torch.no_grad():
        return all(bool(torch.isfinite(p).all()) for p in params)
