"""Mixing several sources with factors, and stages of mixes.

AURORA upsampled its sources (MagicBrush x15, Action-Genome x15, Something-Something x1,
Kubric x1) so they are seen about equally often: it repeated each source's list `factor` times
and shuffled the whole. Here likewise, without replacement: an *epoch* of stage s lists every
pair of source k `factor_k` times (a fractional factor adds a random subset for the remainder),
shuffled; draw n is position n mod E of epoch n // E. Every pair is therefore seen as often as
its factor says in each epoch-equivalent (drawing with replacement would leave about 1/e of a
source unseen), and source k's share is factor_k * len_k / sum_j factor_j * len_j, as AURORA's.
Draw n of stage s is a pure function of (seed, s, n): the data order does not depend on how the
run was interrupted and resumed, nor on the worker or process count.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

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
    _epochs: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False)

    def __post_init__(self) -> None:
        sizes = np.array([len(s) for s in self.sources], dtype=float)
        weights = sizes * np.asarray(self.factors, dtype=float)
        if weights.sum() <= 0:
            names = ", ".join(s.name for s in self.sources)
            raise TrainError(f"mix of {names} is empty (no pairs, or all factors 0)", field="mix")
        # Slots per epoch: factor x size, rounded, at least one for a source that is in the mix.
        self.slots = np.array([max(1, round(w)) if w > 0 else 0 for w in weights], dtype=np.int64)
        self.epoch_size = int(self.slots.sum())
        self.probabilities = self.slots / self.epoch_size
        self._cum = np.cumsum(self.probabilities)

    def _epoch(self, seed: int, stage: int, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """(source index, pair index) of every position of one epoch; the last two are cached."""
        key = (seed, stage, epoch)
        if key not in self._epochs:
            rng = sample_rng(seed, 7, stage, epoch)
            src, idx = [], []
            for k, (m, s) in enumerate(zip(self.slots, self.sources)):
                if m == 0:
                    continue
                n = len(s)
                reps = -(-int(m) // n)  # ceil: whole passes over the source, each freshly shuffled
                order = np.concatenate([rng.permutation(n) for _ in range(reps)])[: int(m)]
                src.append(np.full(int(m), k, dtype=np.int32))
                idx.append(order.astype(np.int64))
            perm = rng.permutation(self.epoch_size)
            self._epochs[key] = (np.concatenate(src)[perm], np.concatenate(idx)[perm])
            while len(self._epochs) > 2:
                self._epochs.popitem(last=False)
        return self._epochs[key]

    def item(self, seed: int, stage: int, n: int) -> tuple[int, int]:
        """(source index, pair index) of draw n of a stage, without replacement within an epoch."""
        src, idx = self._epoch(seed, stage, n // self.epoch_size)
        pos = n % self.epoch_size
        return int(src[pos]), int(idx[pos])

    def draw(self, rng: np.random.Generator) -> tuple[int, int]:
        """A random (source index, pair index), with replacement: the stand-in for an unreadable pair."""
        u, v = rng.random(2)
        k = min(int(np.searchsorted(self._cum, u, side="right")), len(self.sources) - 1)
        return k, int(v * len(self.sources[k]))


@dataclass
class Stage:
    mixture: Mixture
    steps: int | None  # None: until the end of training
    restart: bool = False  # begin from the EMA weights with a fresh optimizer and warm-up (AURORA)


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

    def starts(self) -> list[int]:
        """The global step at which each stage begins."""
        out, start = [], 0
        for st in self.stages:
            out.append(start)
            start += st.steps or 0
        return out

    def restarts(self) -> tuple[int, ...]:
        """Global steps where a stage marked `restart` begins (never step 0)."""
        return tuple(s for s, st in zip(self.starts(), self.stages) if st.restart and s > 0)
