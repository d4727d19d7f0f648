"""`render --executor ray [--address ADDR]`: the same samples on a Ray cluster.

Each render slot is a long-lived Ray actor that holds one planner and one render process
(`Slot`, built on its node by the shipped `SlotFactory`), so bpy loads once per slot, not per
sample. The driver cuts its index cursor into chunks (`chunks.py`), gives each idle actor the
next chunk, and hands every finished sample to the pipeline, which writes it through the one
`RunWriter` in the driver, with the one progress bar and summary: no shared file system is
needed for the pairs (render logs go to `--out/logs` on the node that renders). Actors ask for
`num_cpus` (their Cycles threads) and, for GPU runs, `num_gpus` = 1 / slots per GPU; Ray then
sets each actor's `CUDA_VISIBLE_DEVICES`.

A lost actor or node costs its chunk in flight: the chunk is queued again, first, and a new
actor replaces the lost one. Since sample i is a pure function of (spec, catalog, seed, i), the
run ends with exactly the pairs of a local run; a rerun resumes like any other.
"""
from __future__ import annotations

import os
import pickle
import socket
import tempfile
import traceback
from pathlib import Path
from typing import Any

from simedit.render.common.errors import SimEditError
from simedit.render.run.executors.base import Executor, Job
from simedit.render.run.executors.chunks import ChunkQueue
from simedit.render.run.slots import Resources, SlotFactory


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise SimEditError("needs Ray, which is not installed: pip install -e '.[ray]'", field="--executor ray") from None
    return ray


class RenderSlotActor:
    """One render slot on a Ray worker process (made a Ray actor class by the executor). Its
    methods never raise: a failure comes back as data, so that only a lost process or node
    reaches the driver as a Ray error (and is retried)."""

    def __init__(self, factory_blob: bytes, k: int):
        self.slot, self.gpu, self.error = None, False, None
        try:
            # pickled by the driver, not by Ray: Ray hands out numpy arrays read-only (zero copy),
            # and the planner's geometry code writes to its catalog's arrays
            factory: SlotFactory = pickle.loads(factory_blob)
            try:  # render logs beside the run when --out is visible here, else in this node's temp
                Path(factory.log_dir).mkdir(parents=True, exist_ok=True)
            except OSError:
                factory.log_dir = Path(tempfile.gettempdir()) / "simedit-render-logs"
                factory.log_dir.mkdir(parents=True, exist_ok=True)
            self.gpu = factory.settings.device == "GPU"
            self.slot = factory(k)
        except BaseException as e:
            self.error = _failure(e)

    def hello(self) -> list[str] | tuple:
        """What this node says before its first render (a GPU kernel that must be compiled)."""
        if self.error or not self.gpu:
            return self.error or []
        from simedit.render.gpu.cuda import probe
        from simedit.render.gpu.preflight import jit_lines

        return [f"{socket.gethostname()}: {line}" for line in jit_lines(probe())]

    def sample(self, indices: list[int]) -> list | tuple:
        if self.error:
            return self.error
        try:
            return [self.slot.sample(i).portable() for i in indices]
        except BaseException as e:
            return _failure(e)


def _failure(e: BaseException) -> tuple:
    """An exception as data (a SimEditError's keyword fields do not survive pickling)."""
    if isinstance(e, SimEditError):
        return ("simedit", e.detail, e.file, e.field)
    return ("error", "".join(traceback.format_exception(e)))


def _raise(failure: tuple) -> None:
    if failure[0] == "simedit":
        _, message, file, field = failure
        raise SimEditError(message, file=file, field=field)
    raise RuntimeError(f"a render slot on Ray raised:\n{failure[1]}")


class RayExecutor(Executor):
    name = "ray"
    local = False

    def __init__(self, settings=None):
        super().__init__(settings)
        self._started_here = False

    def _connect(self) -> Any:
        ray = _ray()
        if not ray.is_initialized():
            address = self.settings.address
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False,
                         logging_level="ERROR", configure_logging=True)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise SimEditError(f"cannot reach the Ray cluster at {address or os.environ.get('RAY_ADDRESS')} "
                                   f"({str(e).splitlines()[0]})", field="--address") from None
            self._started_here = True
        return ray

    def resources(self, device: str) -> Resources:
        ray = self._connect()
        total = ray.cluster_resources()
        nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
        return Resources(cpus=int(total.get("CPU", 0)), gpus=int(total.get("GPU", 0)),
                         where=f"Ray cluster of {nodes} node(s)")

    def run(self, job: Job) -> None:
        ray = self._connect()
        from ray.exceptions import NodeDiedError, ObjectLostError, RayActorError, WorkerCrashedError

        lost_errors = (RayActorError, WorkerCrashedError, ObjectLostError, NodeDiedError)
        actor_class = ray.remote(RenderSlotActor)
        options = {"num_cpus": job.cpus_per_slot, "num_gpus": job.gpus_per_slot, "max_restarts": 0}
        factory = ray.put(pickle.dumps(job.make_slot))  # shipped once, built into a slot on each actor's node
        actors: dict[int, Any] = {}
        hellos: dict[Any, int] = {}
        said: set[str] = set()
        replaced = 0

        def start() -> int:
            k = len(actors) + replaced
            actors[k] = actor_class.options(**options).remote(factory, k)
            hellos[actors[k].hello.remote()] = k
            return k

        idle = [start() for _ in range(job.slots)]
        queue = ChunkQueue(job.next_index, self.settings.chunk)
        pending: dict[Any, tuple[int, Any]] = {}
        try:
            while not job.stop.is_set():
                while idle and (chunk := queue.take()) is not None:
                    k = idle.pop(0)
                    pending[actors[k].sample.remote(chunk.indices)] = (k, chunk)
                if not pending:
                    return
                ready, _ = ray.wait([*pending, *hellos], num_returns=1, timeout=0.5)
                for ref in ready:
                    if ref in hellos:
                        hellos.pop(ref)
                        try:
                            lines = ray.get(ref)
                        except lost_errors:
                            continue  # its sample call reports the loss
                        if isinstance(lines, tuple):
                            _raise(lines)
                        for line in lines:
                            if line not in said:
                                said.add(line)
                                job.say(line)
                        continue
                    k, chunk = pending.pop(ref)
                    try:
                        out = ray.get(ref)
                    except lost_errors as e:
                        why = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
                        queue.lost(chunk, why)  # raises when this chunk keeps failing
                        replaced += 1
                        if replaced > max(3, 2 * job.slots):
                            raise SimEditError(f"Ray lost {replaced} render slots (last: {why}); stopping",
                                               field="--executor ray") from None
                        _kill(ray, actors.pop(k))
                        job.say(f"lost render slot {k} ({type(e).__name__}); indices {chunk} go to a new slot")
                        idle.append(start())
                        continue
                    if isinstance(out, tuple):
                        _raise(out)
                    for result in out:
                        job.deliver(result)
                    idle.append(k)
        finally:
            for actor in actors.values():
                _kill(ray, actor)

    def close(self) -> None:
        if self._started_here:
            ray = _ray()
            if ray.is_initialized():
                ray.shutdown()
            self._started_here = False


def _kill(ray: Any, actor: Any) -> None:
    try:
        ray.kill(actor, no_restart=True)
    except Exception:  # already gone
        pass
