"""The execution seam: how the samples of a run are spread over render slots.

An executor gets a `Job` and runs it: it asks `job.next_index()` for work until it returns
None, has each index sampled by a render slot (`job.make_slot()` builds one where it runs;
`Slot.sample(index, job.stop)`), and hands every finished `SampleResult` to
`job.deliver(result)`, which the pipeline writes (one writer, in the driver). Executors never
write run files and never decide which indices exist: a new executor (processes, a cluster,
a batched GPU renderer) is one module implementing `run`.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from simedit.render.run.attempt import SampleResult, Slot


@dataclass
class Job:
    slots: int  # render slots wanted
    make_slot: Callable[[], Slot]
    next_index: Callable[[], int | None]  # None: no more work (or stopping)
    deliver: Callable[[SampleResult], None]  # called from any thread; the pipeline serialises
    stop: threading.Event  # set on Ctrl-C or a failure: finish no further index


class Executor(ABC):
    name: str

    @abstractmethod
    def run(self, job: Job) -> None:
        """Run the job to completion; re-raise the first failure after stopping every slot."""
