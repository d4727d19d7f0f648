"""One sample of a run: plan, render and verify attempts until one is accepted.

`attempt(planner, renderer, index, k)` is the unit of work: it plans attempt `k` of sample
`index` (rng(seed, index, k)), renders source and target with a noise seed derived from the
same numbers, verifies the pair and returns the outcome. It writes nothing and touches no run
state, so any executor (threads here, processes or a cluster elsewhere) can run it and hand
the outcome to the one writer.

`Slot` is one render slot: a planner and a render process, and the loop over attempts of one
index (`sample(index)`), which also replaces a render process that died.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simedit.render.backends.base import Renderer, RenderOutput
from simedit.render.backends.worker import WorkerDied
from simedit.render.common.errors import Reject, SimEditError
from simedit.render.plan.planner import PlannedSample, Planner
from simedit.render.verify import verify_pair

MAX_WORKER_RESTARTS = 3  # per slot: a render process that keeps dying is a bug, not bad luck


def noise_seed(seed: int, index: int, attempt: int, split: str | None = None) -> int:
    """Cycles' noise seed for an attempt; a split's attempts get their own (`plan/seeds.py`)."""
    text = f"{seed}:{index}:{attempt}" if split is None else f"{seed}:{index}:{attempt}:{split}"
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


@dataclass
class RejectRecord:
    attempt: int
    reason: str
    detail: str = ""


@dataclass
class Accepted:
    sample: PlannedSample
    source: RenderOutput
    target: RenderOutput
    figures: dict[str, Any]


@dataclass
class AttemptOutcome:
    accepted: Accepted | None = None
    reject: RejectRecord | None = None
    render_seconds: float = 0.0  # the round trip to the renderer
    engine_seconds: float = 0.0  # of which inside the engine's render calls


def attempt(planner: Planner, renderer: Renderer, index: int, k: int) -> AttemptOutcome:
    """Plan, render and verify attempt `k` of sample `index`."""
    try:
        sample = planner.plan_attempt(index, k)
    except Reject as r:
        return AttemptOutcome(reject=RejectRecord(k, r.reason, r.detail))
    start = time.perf_counter()
    src, tgt = renderer.render_pair(sample.source, sample.target, noise_seed(sample.seed, index, k, sample.split))
    seconds = time.perf_counter() - start
    engine = src.engine_seconds + tgt.engine_seconds
    verdict = verify_pair(sample.edit, sample.source, sample.target, src, tgt, sample.context)
    if not verdict.ok:
        return AttemptOutcome(reject=RejectRecord(k, verdict.reason, verdict.detail),
                              render_seconds=seconds, engine_seconds=engine)
    return AttemptOutcome(accepted=Accepted(sample, src, tgt, verdict.figures),
                          render_seconds=seconds, engine_seconds=engine)


@dataclass
class SentPlan:
    """A planned sample reduced to what the writer reads (`to_dict()`), for results sent between
    processes: the planner's edit context stays where it was made."""

    plan: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return self.plan


@dataclass
class SampleResult:
    """Everything one index produced: the accepted pair (None when every attempt was rejected)
    and each rejected attempt, in order."""

    index: int
    accepted: Accepted | None
    rejects: list[RejectRecord] = field(default_factory=list)
    render_seconds: float = 0.0
    engine_seconds: float = 0.0

    @property
    def exhausted(self) -> bool:
        return self.accepted is None

    def portable(self) -> SampleResult:
        """This result as another process can receive it (plain data and arrays)."""
        if self.accepted is None:
            return self
        a = self.accepted
        sent = Accepted(SentPlan(a.sample.to_dict()), a.source, a.target, a.figures)  # type: ignore[arg-type]
        return SampleResult(self.index, sent, list(self.rejects), self.render_seconds, self.engine_seconds)


class Slot:
    """One render slot: its own planner (physics client) and its own render process."""

    def __init__(self, planner: Planner, make_renderer: Callable[[], Renderer], log: str | None = None):
        self.planner = planner
        self._make_renderer = make_renderer
        self.log = log  # where the render process writes its errors, named when it keeps dying
        self._renderer: Renderer | None = None
        self._restarts = 0

    def sample(self, index: int, stop: threading.Event | None = None) -> SampleResult | None:
        """Attempts 0, 1, ... of `index` until one is accepted or `max_attempts` are used;
        None when `stop` was set before the index finished."""
        result = SampleResult(index, None)
        k = 0
        while k < self.planner.spec.max_attempts:
            if stop is not None and stop.is_set():
                return None
            try:
                if self._renderer is None:
                    self._renderer = self._make_renderer()  # a process may die while starting, too
                outcome = attempt(self.planner, self._renderer, index, k)
            except WorkerDied as died:
                self._renderer = None
                self._restarts += 1
                if self._restarts > MAX_WORKER_RESTARTS:
                    where = f"; its log: {self.log}" if self.log else ""
                    raise SimEditError(f"the render process died {self._restarts} times ({died}){where}") from None
                continue  # the same attempt again on a fresh process
            result.render_seconds += outcome.render_seconds
            result.engine_seconds += outcome.engine_seconds
            if outcome.accepted is not None:
                result.accepted = outcome.accepted
                return result
            assert outcome.reject is not None
            result.rejects.append(outcome.reject)
            k += 1
        return result

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
