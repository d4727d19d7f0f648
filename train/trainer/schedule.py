"""The learning-rate factor per optimizer step: linear warm-up, then constant, linear decay or
cosine. Every scheduler warms up when `warmup_steps` > 0 (a constant schedule too: AURORA's
LambdaLinearScheduler ramps from 1e-6 to 1 over its warm-up). A stage marked `restart` starts
the schedule again, warm-up included, as AURORA's second stage (a new run) did."""
from __future__ import annotations

import math
from dataclasses import dataclass

F_START = 1e-6  # AURORA's warm-up starts at 1e-6 x the learning rate


@dataclass
class LRFactor:
    """A picklable `lr_lambda` for `torch.optim.lr_scheduler.LambdaLR` (step -> factor)."""

    kind: str  # constant | linear | cosine
    warmup: int
    total: int  # train.max_steps
    restarts: tuple[int, ...] = ()  # global steps where the schedule begins again

    def segment(self, step: int) -> tuple[int, int]:
        """(first step, end step) of the schedule segment holding `step`."""
        bounds = [0, *sorted(r for r in self.restarts if 0 < r < self.total), self.total]
        for a, b in zip(bounds, bounds[1:]):
            if step < b:
                return a, b
        return bounds[-2], bounds[-1]

    def __call__(self, step: int) -> float:
        start, end = self.segment(step)
        s = step - start
        if s < self.warmup:
            return F_START + (1.0 - F_START) * s / self.warmup
        if self.kind == "constant":
            return 1.0
        p = min(1.0, (s - self.warmup) / max(1, end - start - self.warmup))
        if self.kind == "linear":
            return max(0.0, 1.0 - p)
        if self.kind == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * p))
        raise ValueError(f"unknown lr_scheduler {self.kind!r}")
