"""Mixing several sources with factors, and stages of mixes.

AURORA upsampled its sources (MagicBrush x15, Action-Genome x15, Something-Something x1,
Kubric x1) so they are seen about equally often. Here a factor multiplies a source's size: a
draw picks source k with probability factor_k * len_k / sum_j factor_j * len_j, then a pair
uniformly within it. Draw n of stage s is a pure function of (seed, s, n, attempt): the data
order does not depend on how the run was interrupted and resumed, nor on worker count.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simedit.train.data.sources import Source
from simedit.train.errors import TrainError


def sample_rng(seed: int, *keys: int) -> np.random.Generator:
    """One independent generator per (seed, keys...): never the global random state."""
    return np.random.default_rng([seed, *keys])


@dataclass
class Mixture:
    sources: list[Source]
    factors: list[float]

    def __post_init__(self) -> None:
        sizes = np.array([len(s) for s in self.sources], dtype=float)
        weights = sizes * np.asarray(self.factors, dtype=float)
        if weights.sum() <= 0:
            names = ", ".join(s.name for s in self.sources)
            raise TrainError(f"mix of {names} is empty (no pairs, or all factors 0)", field="mix")
        self.probabilities = weights / weights.sum()
        self._cum = np.cumsum(self.probabilities)

    def draw(self, rng: np.random.Generator) -> tuple[int, int]:
        """(source index, pair index) for one draw."""
        u, v = rng.random(2)
        k = min(int(np.searchsorted(self._cum, u, side="right")), len(self.sources) - 1)
        return k, int(v * len(self.sources[k]))


@dataclass
class Stage:
    mixture: Mixture
    steps: int | None  # None: until the end of training


@dataclass
class StagePlan:
    stages: list[Stage]

    def locate(self, step: int) -> tuple[int, int]:
        """Global optimizer step -> (stage index, step within that stage)."""
        start = 0
        for i, st in enumerate(self.stages):
            if st.steps is None or step < start + st.steps:
                return i, step - start
            start += st.steps
        # Past the last bounded stage: stay in the last one.
        last = len(self.stages) - 1
        return last, step - (start - (self.stages[last].steps or 0))
