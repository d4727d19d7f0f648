"""`render --spec ... --n N --out DIR`: plan, render, verify and write pairs until N are accepted.

Indices are handed out in increasing order to K render slots (one thread driving one
persistent Blender process each). Sample `index`, attempt `k` is planned from
rng(seed, index, k), rendered with a noise seed derived from the same numbers, verified, and
either written or logged as rejected, after which attempt `k + 1` follows. Because every
outcome is a function of (spec, catalog, seed, index), a rerun that skips the indices already
done, followed by `finalize` (keep the first N accepted indices, sorted), ends with the same
dataset as an uninterrupted run.
"""
from __future__ import annotations

import hashlib
import os
import platform
import threading
import time
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

from tqdm import tqdm

from simedit.render.common.errors import Reject, SimEditError
from simedit.render.plan.planner import Planner
from simedit.render.backends.worker import RenderWorker, WorkerDied
from simedit.render.verify import verify_pair
from simedit.render.rundir.writer import RunWriter, dict_hash, make_record

MAX_WORKER_RESTARTS = 3  # per slot: a render process that keeps dying is a bug, not bad luck


def default_workers(device: str) -> int:
    """Two Cycles threads per process were as fast as two processes of one thread (DESIGN.md),
    so use one process per 4 cores, and one for a GPU."""
    return 1 if device == "GPU" else max(1, (os.cpu_count() or 1) // 4)


def noise_seed(seed: int, index: int, attempt: int) -> int:
    digest = hashlib.sha256(f"{seed}:{index}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for pkg in ("simedit", "bpy", "pybullet", "numpy", "trimesh"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


class Run:
    def __init__(self, args: Any, planner: Planner, writer: RunWriter, settings: Any, workers: int):
        self.args, self.planner, self.writer = args, planner, writer
        self.settings, self.workers = settings, workers
        self.lock = threading.Lock()  # guards the writer, counters and the index cursor
        self.plan_lock = threading.Lock()  # PyBullet's client is shared by the process
        self.done = writer.done()
        self.accepted = writer.accepted()
        self.initial = self.accepted
        self.cursor = 0
        self.rejects: Counter[str] = Counter()
        self.failure: BaseException | None = None
        self.stop = threading.Event()
        self.render_seconds = 0.0  # round trips to the render processes
        self.cycles_seconds = 0.0  # of which inside Cycles' render call
        self.started = time.perf_counter()
        self.bar: tqdm | None = None

    def next_index(self) -> int | None:
        with self.lock:
            if self.stop.is_set() or self.accepted >= self.args.n:
                return None
            while self.cursor in self.done:
                self.cursor += 1
            index, self.cursor = self.cursor, self.cursor + 1
            return index

    def slot(self) -> None:
        worker: RenderWorker | None = None
        restarts = 0
        try:
            while (index := self.next_index()) is not None:
                attempt = 0
                while attempt < self.planner.spec.max_attempts and not self.stop.is_set():
                    if worker is None:
                        worker = RenderWorker(self.planner.catalog, self.settings)  # the catalog as loaded, skips included
                    try:
                        if self.attempt(worker, index, attempt):
                            break
                    except WorkerDied:
                        worker, restarts = None, restarts + 1
                        if restarts > MAX_WORKER_RESTARTS:
                            raise SimEditError(f"the render process died {restarts} times; see its log") from None
                        continue  # same attempt again on a fresh process
                    attempt += 1
                else:
                    if not self.stop.is_set():
                        with self.lock:
                            self.writer.write_exhausted(index)
        except BaseException as exc:  # stop the other slots, report in the main thread
            with self.lock:
                self.failure = self.failure or exc
            self.stop.set()
        finally:
            if worker is not None:
                worker.close()

    def attempt(self, worker: RenderWorker, index: int, attempt: int) -> bool:
        """Plan, render, verify, write one attempt; True when the pair was accepted."""
        try:
            with self.plan_lock:
                sample = self.planner.plan_attempt(index, attempt)
        except Reject as r:
            self.reject(index, attempt, r.reason, r.detail)
            return False
        start = time.perf_counter()
        src, tgt = worker.render_pair(sample.source, sample.target, noise_seed(sample.seed, index, attempt))
        elapsed = time.perf_counter() - start
        verdict = verify_pair(
            sample.edit, sample.source, sample.target, src, tgt, self.planner.catalog, self.planner.spec.verify,
            min_shift_px=self.min_shift_px(sample),
        )
        with self.lock:
            self.render_seconds += elapsed
            self.cycles_seconds += src.cycles_seconds + tgt.cycles_seconds
        if not verdict.ok:
            self.reject(index, attempt, verdict.reason, verdict.detail)
            return False
        with self.lock:
            self.writer.write_pair(sample.to_dict(), src, tgt, verdict.figures)
            self.accepted += 1
            if self.bar is not None:
                hours = (time.perf_counter() - self.started) / 3600
                self.bar.set_postfix(
                    rejected=sum(self.rejects.values()), per_hour=round((self.accepted - self.initial) / hours), refresh=False
                )
                self.bar.update(1)
        return True

    def min_shift_px(self, sample: Any) -> float:
        edit_spec = next((e for e in self.planner.spec.edits if e.kind == "location"), None)
        return (edit_spec.min_shift if edit_spec else 0.02) * sample.source.camera.width / 2

    def reject(self, index: int, attempt: int, reason: str, detail: str) -> None:
        with self.lock:
            self.rejects[reason] += 1
            self.writer.write_reject(index, attempt, reason, detail)
            if self.bar is not None:
                self.bar.set_postfix(rejected=sum(self.rejects.values()), refresh=False)


def run(args: Any) -> int:
    from simedit.render.backends.cycles import RenderSettings
    from simedit.render.cli import load_inputs, summary_line

    spec, catalog, planner = load_inputs(args)
    record = make_record(
        spec=spec.model_dump(mode="json"), spec_path=str(args.spec), spec_hash=dict_hash(spec.model_dump(mode="json")),
        catalog_path=str(catalog.path), catalog_hash=catalog.hash(), versions=versions(),
    )
    workers = args.workers or default_workers(args.device)
    threads = 0 if args.device == "GPU" else max(1, (os.cpu_count() or 1) // workers)
    settings = RenderSettings(
        samples=spec.render.samples, denoise=spec.render.denoise, depth=args.depth, device=args.device, threads=threads,
    )
    start = time.perf_counter()
    with RunWriter(Path(args.out), record, force=args.force) as writer:
        state = Run(args, planner, writer, settings, workers)
        already = state.accepted
        if already >= args.n:
            print(f"{args.out} already holds {already} accepted pairs; nothing to do")
        else:
            with tqdm(total=args.n, initial=already, desc="rendering", unit="pair") as bar:
                state.bar = bar
                slots = [threading.Thread(target=state.slot, name=f"slot{i}", daemon=True) for i in range(workers)]
                for t in slots:
                    t.start()
                try:
                    for t in slots:
                        while t.is_alive():
                            t.join(0.5)
                except KeyboardInterrupt:
                    state.stop.set()
                    raise
            if state.failure is not None:
                raise state.failure
        writer.finalize(args.n)
    elapsed = time.perf_counter() - start
    made = state.accepted - already
    rate = made / elapsed * 3600 if elapsed > 0 else 0.0
    outside = 1 - state.cycles_seconds / max(elapsed * workers, 1e-9)
    print(f"accepted {min(state.accepted, args.n)} pairs ({made} new) in {elapsed:.1f} s: {rate:.0f} pairs/hour "
          f"on {workers} render slot(s); {outside:.0%} of the time outside Cycles' render calls")
    print(summary_line("rejected attempts", state.rejects))
    print(f"dataset: {args.out}/manifest.jsonl  (preview: render preview {args.out})")
    return 0
