"""`render --spec ... --n N --out DIR`: plan, render, verify and write pairs until N are accepted.

Indices are handed out in increasing order to the executor's render slots (`run/executors/`:
threads here, or a Ray cluster); with `--shard k/N` only the indices i % N == k, until the shard's
quota (`run/shard.py`). Sample `index` is sampled by `Slot.sample` (`run/attempt.py`): attempt `k`
is planned from rng(seed, index, k), rendered with a noise seed derived from the same numbers and
verified; the finished sample comes back here and is written by the one writer. Because every
outcome is a function of (spec, catalog, seed, index), a rerun that skips the indices already
done, followed by `finalize` (keep the first N accepted indices, sorted), ends with the same
dataset as an uninterrupted run, whichever executor ran it.
"""
from __future__ import annotations

import platform
import sys
import threading
import time
from collections import Counter
from importlib import metadata

from tqdm import tqdm

from simedit.render.backends.base import RenderSettings
from simedit.render.run.attempt import SampleResult
from simedit.render.run.executors import create_executor
from simedit.render.run.executors.base import ExecutorSettings, Job
from simedit.render.run.inputs import RunInputs, load_inputs
from simedit.render.run.options import RunOptions
from simedit.render.run.slots import SlotFactory, SlotPlan, local_resources, plan_slots
from simedit.render.run.stall import Stall
from simedit.render.run.summary import summary_line
from simedit.render.common.atomic import make_dir
from simedit.render.rundir.contract import LOGS, read_record
from simedit.render.rundir.writer import RunWriter, dict_hash, make_record, resume_value
from simedit.render.spec import Spec


def default_workers(device: str) -> int:
    """Render slots on this machine when --workers is not given (`run/slots.py`)."""
    return plan_slots(device, None, local_resources(device)).slots


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for pkg in ("simedit", "bpy", "pybullet", "numpy", "trimesh"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


class Progress:
    """The run's state in the driver: the index cursor, counts and the progress bar. Results
    arrive from the executor's threads; one lock serialises them and the writer."""

    def __init__(self, writer: RunWriter, n: int, stop: threading.Event, stall: Stall, first: int = 0, step: int = 1):
        self.writer, self.n, self.stop, self.stall = writer, n, stop, stall
        self.lock = threading.Lock()
        self.done = writer.done()
        self.accepted = self.initial = writer.accepted()
        self.cursor, self.step = first, step  # a shard k/N hands out k, k + N, ...
        self.rejects: Counter[str] = Counter()
        self.render_seconds = self.engine_seconds = 0.0
        self.started = time.perf_counter()
        self.bar: tqdm | None = None

    def next_index(self) -> int | None:
        with self.lock:
            if self.stop.is_set() or self.accepted >= self.n:
                return None
            while self.cursor in self.done:
                self.cursor += self.step
            index, self.cursor = self.cursor, self.cursor + self.step
            return index

    def say(self, line: str) -> None:
        """A notice that keeps the progress bar intact."""
        (self.bar.write if self.bar is not None else print)(line, file=sys.stderr)

    def deliver(self, result: SampleResult) -> None:
        with self.lock:
            for r in result.rejects:
                self.rejects[r.reason] += 1
                self.writer.write_reject(result.index, r.attempt, r.reason, r.detail)
            self.render_seconds += result.render_seconds
            self.engine_seconds += result.engine_seconds
            if result.accepted is None:
                self.writer.write_exhausted(result.index)
            else:
                a = result.accepted
                plan = a.sample.to_dict()
                if a.target.region is not None:  # the target was rendered there only (region.py)
                    plan["target_region"] = a.target.region
                self.writer.write_pair(plan, a.source, a.target, a.figures)
                self.accepted += 1
            if self.bar is not None:
                hours = (time.perf_counter() - self.started) / 3600
                self.bar.set_postfix(rejected=sum(self.rejects.values()),
                                     per_hour=round((self.accepted - self.initial) / max(hours, 1e-9)), refresh=False)
                if result.accepted is not None:
                    self.bar.update(1)
            self.stall.record([r.reason for r in result.rejects], result.accepted is not None)
            self.stall.check()  # raises in this slot's thread; the executor stops and re-raises


# Spec fields added after run directories existed: left out of the run record (and its hash)
# while at their default, so such directories still resume. (section, field, default)
LATER_FIELDS = (("objects", "size_m", None), ("render", "backend", "cycles"))


def record_dump(spec: Spec) -> dict:
    dump = spec.model_dump(mode="json")
    for section, name, default in LATER_FIELDS:
        if dump[section].get(name, default) == default:
            dump[section].pop(name, None)
    return dump


def target_region(options: RunOptions) -> bool:
    """Region targets (`region.py`) unless the command says otherwise. Left unsaid: what the run
    directory recorded, so a resumed run goes on as it began; else on for the CPU, where the target
    costs its region's share of a frame, and off for a GPU, where it saved nothing: on an H100 the
    render calls were only 50-69% of a pair's time, and region / full measured 0.94x pairs per hour
    at 256x256 and 0.89x at 512x512 (mixed spec, 32 samples; README, "Region rendering")."""
    if options.target_region is not None:
        return options.target_region
    record = read_record(options.out)
    recorded = resume_value(record, "render_options") if record is not None else None
    if isinstance(recorded, dict) and "target_region" in recorded:
        return bool(recorded["target_region"])
    return options.device == "CPU"


def render_settings(inputs: RunInputs, options: RunOptions, threads: int) -> RenderSettings:
    return RenderSettings(samples=inputs.spec.render.samples, denoise=inputs.spec.render.denoise, depth=options.depth,
                          device=options.device, threads=threads,
                          backend=options.backend or inputs.spec.render.backend,
                          region=target_region(options))


def gpu_notices(options: RunOptions, plan: SlotPlan, local: bool, where: str) -> list[str]:
    """What a GPU run says before it starts: the GPUs, and a kernel the driver must compile
    first (many minutes that would otherwise look like a hang). Remote executors' nodes tell
    theirs when their slots start (run/executors/ray.py)."""
    if options.device != "GPU":
        return []
    if not local:
        return [] if plan.gpus else [f"warning: --device GPU, but the {where} has no GPU; rendering on the CPU"]
    from simedit.render.gpu.cuda import probe
    from simedit.render.gpu.preflight import gpu_lines

    return gpu_lines(probe(), plan.per_gpu)


def run(options: RunOptions) -> int:
    inputs, planner = load_inputs(options)
    executor = create_executor(options.executor, ExecutorSettings(address=options.address))
    try:
        return _run(options, inputs, planner, executor)
    finally:
        executor.close()


def _run(options: RunOptions, inputs: RunInputs, planner, executor) -> int:
    spec_dump = record_dump(inputs.spec)
    shard = options.shard
    n = shard.quota(options.n) if shard else options.n
    resources = executor.resources(options.device)
    plan = plan_slots(options.device, options.workers, resources)
    settings = render_settings(inputs, options, plan.threads)
    record = make_record(
        spec=spec_dump, spec_path=str(options.spec), spec_hash=dict_hash(spec_dump),
        catalog_path=str(inputs.catalog.path), catalog_hash=inputs.catalog.hash(), versions=versions(),
        argv=options.command or None, render_options={"target_region": settings.region},
        shard=shard.to_record(options.n) if shard else None, split=options.split,
    )
    logs = make_dir(options.out / LOGS)
    # slots spread over this machine's GPUs; a remote executor's slots get theirs from its scheduler
    factory = SlotFactory(inputs, settings, logs, gpus=plan.gpus if executor.local else 0, spare=[planner])
    start = time.perf_counter()
    with RunWriter(options.out, record, force=options.force) as writer:
        progress = Progress(writer, n, threading.Event(), Stall(str(options.spec)),
                            first=shard.index if shard else 0, step=shard.count if shard else 1)
        already = progress.accepted
        for line in gpu_notices(options, plan, executor.local, resources.where):
            print(line, file=sys.stderr, flush=True)
        if already >= n:  # never cut finished work to a smaller --n
            print(f"{options.out} already holds {already} accepted pairs; nothing to do (nothing removed)")
        else:
            with tqdm(total=n, initial=already, desc="rendering", unit="pair") as bar:
                progress.bar = bar
                executor.run(Job(slots=plan.slots, make_slot=factory, next_index=progress.next_index,
                                 deliver=progress.deliver, stop=progress.stop, cpus_per_slot=plan.cpus_per_slot,
                                 gpus_per_slot=plan.gpus_per_slot, say=progress.say))
            writer.finalize(n)
        elapsed = time.perf_counter() - start
        made = min(progress.accepted, n) - already  # pairs rendered past n (in flight at the end) are not kept
        if made:  # for `render stats`: seconds per pair over the run's sessions
            writer.record_session(seconds=round(elapsed, 1), new_pairs=made, slots=plan.slots,
                                  rejected=sum(progress.rejects.values()))
    rate = made / elapsed * 3600 if elapsed > 0 else 0.0
    outside = 1 - progress.engine_seconds / max(elapsed * plan.slots, 1e-9)
    where = "" if executor.local else f" ({executor.name}: {resources.where})"
    what = f"shard {shard}: " if shard else ""
    print(f"{what}accepted {min(progress.accepted, n)} pairs ({made} new) in {elapsed:.1f} s: {rate:.0f} pairs/hour "
          f"on {plan.slots} render slot(s){where}; {outside:.0%} of the time outside the renderer's render calls")
    print(summary_line("rejected attempts", progress.rejects))
    if shard:
        print(f"shard {shard} of a run of {options.n}: {options.out}; when every shard is done: "
              f"render merge OUT SHARD_DIRS...")
    else:
        print(f"dataset: {options.out}/manifest.jsonl  (preview: render preview {options.out})")
    return 0
