"""The execution seam: how the samples of a run are spread over render slots.

An executor gets a `Job` and runs it: it asks `job.next_index()` for work until it returns
None, has each index sampled by a render slot (`job.make_slot(k)` builds slot k where it runs;
it is picklable, so a cluster executor ships it to its workers; `Slot.sample(index, job.stop)`),
and hands every finished `SampleResult` to `job.deliver(result)`, which the pipeline writes (one
writer, in the driver). Executors never write run files and never decide which indices exist: a
new executor (processes, a cluster, a batched GPU renderer) is one module implementing `run`,
and `resources` when its slots run somewhere other than this machine.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from simedit.render.run.attempt import SampleResult, Slot
from simedit.render.run.slots import Resources, local_resources


@dataclass
class Job:
    slots: int  # render slots wanted
    make_slot: Callable[[int], Slot]  # slot k; picklable (run/slots.py SlotFactory)
    next_index: Callable[[], int | None]  # None: no more work (or stopping)
    deliver: Callable[[SampleResult], None]  # called from any thread; the pipeline serialises
    stop: threading.Event  # set on Ctrl-C or a failure: finish no further index
    cpus_per_slot: float = 1.0  # what one slot asks of a cluster scheduler
    gpus_per_slot: float = 0.0
    say: Callable[[str], None] = print  # one-line notices while the progress bar runs


@dataclass(frozen=True)
class ExecutorSettings:
    address: str | None = None  # a cluster to join (ray: host:port or "auto"); None: start one here
    chunk: int = 2  # indices per unit of remote work


class Executor(ABC):
    name: str
    local = True  # slots run in this machine's processes (GPUs are this machine's)

    def __init__(self, settings: ExecutorSettings | None = None):
        self.settings = settings or ExecutorSettings()

    def resources(self, device: str) -> Resources:
        """Cores and GPUs the slots can use (this machine unless overridden)."""
        return local_resources(device)

    @abstractmethod
    def run(self, job: Job) -> None:
        """Run the job to completion; re-raise the first failure after stopping every slot."""

    def close(self) -> None:
        """Release what `resources` or `run` started."""
