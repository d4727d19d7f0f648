"""`render --spec ... --n N --out DIR`: plan, render, verify and write pairs until N are accepted.

Indices are handed out in increasing order to the executor's render slots (`run/executors/`).
Sample `index` is sampled by `Slot.sample` (`run/attempt.py`): attempt `k` is planned from
rng(seed, index, k), rendered with a noise seed derived from the same numbers and verified;
the finished sample comes back here and is written by the one writer. Because every outcome is
a function of (spec, catalog, seed, index), a rerun that skips the indices already done,
followed by `finalize` (keep the first N accepted indices, sorted), ends with the same dataset
as an uninterrupted run.
"""
from __future__ import annotations

import os
import platform
import threading
import time
from collections import Counter
from importlib import metadata

from tqdm import tqdm

from simedit.render.backends.base import RenderSettings
from simedit.render.backends.worker import RenderWorker
from simedit.render.run.attempt import SampleResult, Slot
from simedit.render.run.executors import create_executor
from simedit.render.run.executors.base import Job
from simedit.render.run.inputs import RunInputs, load_inputs
from simedit.render.run.options import RunOptions
from simedit.render.run.stall import Stall
from simedit.render.run.summary import summary_line
from simedit.render.common.atomic import make_dir
from simedit.render.rundir.contract import LOGS
from simedit.render.rundir.writer import RunWriter, dict_hash, make_record


def default_workers(device: str) -> int:
    """Two Cycles threads per process were as fast as two processes of one thread (DESIGN.md),
    so use one process per 4 cores, and one for a GPU."""
    return 1 if device == "GPU" else max(1, (os.cpu_count() or 1) // 4)


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

    def __init__(self, writer: RunWriter, n: int, stop: threading.Event, stall: Stall):
        self.writer, self.n, self.stop, self.stall = writer, n, stop, stall
        self.lock = threading.Lock()
        self.done = writer.done()
        self.accepted = self.initial = writer.accepted()
        self.cursor = 0
        self.rejects: Counter[str] = Counter()
        self.render_seconds = self.engine_seconds = 0.0
        self.started = time.perf_counter()
        self.bar: tqdm | None = None

    def next_index(self) -> int | None:
        with self.lock:
            if self.stop.is_set() or self.accepted >= self.n:
                return None
            while self.cursor in self.done:
                self.cursor += 1
            index, self.cursor = self.cursor, self.cursor + 1
            return index

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


def render_settings(inputs: RunInputs, options: RunOptions, workers: int) -> RenderSettings:
    threads = 0 if options.device == "GPU" else max(1, (os.cpu_count() or 1) // workers)
    return RenderSettings(samples=inputs.spec.render.samples, denoise=inputs.spec.render.denoise, depth=options.depth,
                          device=options.device, threads=threads, backend=options.backend,
                          region=options.target_region and not inputs.spec.render.denoise)


def run(options: RunOptions) -> int:
    inputs, planner = load_inputs(options)
    spec_dump = inputs.spec.model_dump(mode="json")
    executor = create_executor(options.executor)
    workers = options.workers or default_workers(options.device)
    settings = render_settings(inputs, options, workers)
    record = make_record(
        spec=spec_dump, spec_path=str(options.spec), spec_hash=dict_hash(spec_dump),
        catalog_path=str(inputs.catalog.path), catalog_hash=inputs.catalog.hash(), versions=versions(),
        argv=options.command or None, render_options={"target_region": settings.region},
    )
    planners = [planner]  # the first slot reuses the planner that validated the spec
    slots_made: list[int] = []
    logs = make_dir(options.out / LOGS)

    def make_slot() -> Slot:
        with lock:
            p = planners.pop() if planners else inputs.planner()
            slots_made.append(len(slots_made))
            log = str(logs / f"render-{slots_made[-1]}.log")
        # the catalog as loaded (objects with missing files already skipped) goes to the process
        return Slot(p, lambda: RenderWorker(inputs.catalog, settings, log_path=log), log=log)

    lock = threading.Lock()
    start = time.perf_counter()
    with RunWriter(options.out, record, force=options.force) as writer:
        progress = Progress(writer, options.n, threading.Event(), Stall(str(options.spec)))
        already = progress.accepted
        if already >= options.n:  # never cut finished work to a smaller --n
            print(f"{options.out} already holds {already} accepted pairs; nothing to do (nothing removed)")
        else:
            with tqdm(total=options.n, initial=already, desc="rendering", unit="pair") as bar:
                progress.bar = bar
                executor.run(Job(slots=workers, make_slot=make_slot, next_index=progress.next_index,
                                 deliver=progress.deliver, stop=progress.stop))
            writer.finalize(options.n)
    elapsed = time.perf_counter() - start
    made = progress.accepted - already
    rate = made / elapsed * 3600 if elapsed > 0 else 0.0
    outside = 1 - progress.engine_seconds / max(elapsed * workers, 1e-9)
    print(f"accepted {min(progress.accepted, options.n)} pairs ({made} new) in {elapsed:.1f} s: {rate:.0f} pairs/hour "
          f"on {workers} render slot(s); {outside:.0%} of the time outside the renderer's render calls")
    print(summary_line("rejected attempts", progress.rejects))
    print(f"dataset: {options.out}/manifest.jsonl  (preview: render preview {options.out})")
    return 0
