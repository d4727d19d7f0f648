"""How many render slots a run gets and how each is built, wherever it runs.

`plan_slots` turns the device, `--workers` and what the executor can use (`Resources`: cores and
GPUs of this machine, or of a Ray cluster) into a `SlotPlan`. CPU: `--workers` slots (default one
per 4 cores: two Cycles threads per process were as fast as two processes, DESIGN.md), the cores
shared out as Cycles threads. GPU: `--workers` slots *per GPU* (default 1), each render process
pinned to one GPU.

`SlotFactory` builds slot k: its planner and its render process. It is picklable (spec, catalog,
settings), so an executor can ship it to another process or machine and build slots there.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from simedit.render.backends.base import RenderSettings
from simedit.render.backends.worker import RenderWorker
from simedit.render.plan.planner import Planner
from simedit.render.run.attempt import Slot
from simedit.render.run.inputs import RunInputs


@dataclass(frozen=True)
class Resources:
    cpus: int
    gpus: int  # CUDA devices the slots may use
    where: str = "this machine"


@dataclass(frozen=True)
class SlotPlan:
    slots: int
    threads: int  # Cycles threads per render process
    gpus: int = 0  # GPUs the slots are spread over (0: CPU rendering)
    per_gpu: int = 0
    cpus_per_slot: float = 1.0  # what a slot asks of a cluster scheduler
    gpus_per_slot: float = 0.0


def local_resources(device: str) -> Resources:
    gpus = 0
    if device == "GPU":
        from simedit.render.gpu.cuda import probe

        gpus = len(probe().devices)
    return Resources(cpus=os.cpu_count() or 1, gpus=gpus)


def plan_slots(device: str, workers: int | None, res: Resources) -> SlotPlan:
    cpus = max(res.cpus, 1)
    if device == "GPU" and res.gpus > 0:
        per_gpu = workers or 1
        slots = res.gpus * per_gpu
        return SlotPlan(slots=slots, threads=max(1, cpus // slots), gpus=res.gpus, per_gpu=per_gpu,
                        cpus_per_slot=min(1.0, cpus / slots), gpus_per_slot=1.0 / per_gpu)
    if device == "GPU":  # no GPU found: one process renders on the CPU (it warns), all cores
        slots = workers or 1
        return SlotPlan(slots=slots, threads=0 if slots == 1 else max(1, cpus // slots),
                        cpus_per_slot=min(float(cpus), cpus / slots))
    slots = workers or max(1, cpus // 4)
    threads = max(1, cpus // slots)
    return SlotPlan(slots=slots, threads=threads, cpus_per_slot=min(float(threads), cpus / slots))


@dataclass
class SlotFactory:
    """Builds render slot `k` (call it with k) in the process that will drive it."""

    inputs: RunInputs
    settings: RenderSettings
    log_dir: Path
    gpus: int = 0  # > 1: slot k renders on GPU k % gpus of this machine; else what the process sees
    spare: list[Planner] = field(default_factory=list)  # built planners to reuse (not shipped)

    def __call__(self, k: int) -> Slot:
        try:
            planner = self.spare.pop()  # the first slot reuses the planner that validated the spec
        except IndexError:
            planner = self.inputs.planner()
        settings = replace(self.settings, gpu=k % self.gpus) if self.gpus > 1 else self.settings
        log = str(self.log_dir / f"render-{k}.log")
        # the catalog as loaded (objects with missing files already skipped) goes to the process
        return Slot(planner, lambda: RenderWorker(self.inputs.catalog, settings, log_path=log), log=log)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["spare"] = []  # a planner owns a physics client: never pickled
        return state
