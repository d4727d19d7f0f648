"""Proposing many models: a process pool (one model per task; meshes, VHACD and the push test
are CPU-bound and hold the GIL), results handed back in completion order to a callback, a
progress bar, and a checkpoint callback every `every` seconds so a long import can be
interrupted and resumed. One job, or jobs=1, runs in this process (no pool start-up)."""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simedit.render.catalog.importers.proposal import Broken, Candidate, propose, with_proposal
from simedit.render.common.errors import SimEditError


@dataclass
class Job:
    index: int  # the candidate's place in discovery order (the catalog keeps that order)
    candidate: Candidate
    key_id: str
    catalog_dir: Path
    cache_dir: Path
    palette: dict[str, Any]
    collision: bool


def propose_job(job: Job) -> tuple[dict[str, Any] | None, Broken | None]:
    """(entry, None) or (None, why it was skipped): a broken model never stops the import."""
    c = job.candidate
    try:
        entry = propose(c, job.key_id, job.catalog_dir, job.cache_dir, job.palette, collision=job.collision)
        return with_proposal(entry), None
    except SimEditError as exc:
        return None, Broken(c.origin, exc.detail, kind=exc.detail.split(":")[0])
    except Exception as exc:  # a broken file can make any library raise anything
        return None, Broken(c.origin, f"{type(exc).__name__}: {exc}".splitlines()[0], kind=type(exc).__name__)


def _worker_init() -> None:
    """Workers leave Ctrl-C to the main process: it stops handing out models, lets the ones
    under way finish and writes the catalog."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def default_jobs(n: int) -> int:
    return max(1, min(n, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def run_jobs(jobs_todo: list[Job], done: Callable[[Job, dict[str, Any] | None, Broken | None], None], *,
             jobs: int | None = None, progress: Callable[[int], Any] | None = None,
             checkpoint: Callable[[], Any] | None = None, every: float = 30.0) -> None:
    """Run every job; `done(job, entry, broken)` in the calling process as each finishes."""
    bar = progress(len(jobs_todo)) if progress and jobs_todo else None
    workers = default_jobs(len(jobs_todo)) if jobs is None else max(1, min(jobs, max(len(jobs_todo), 1)))
    last = time.monotonic()

    def tick() -> None:
        nonlocal last
        if bar is not None:
            bar.update(1)
        if checkpoint is not None and time.monotonic() - last >= every:
            checkpoint()
            last = time.monotonic()

    try:
        if workers <= 1:
            for job in jobs_todo:
                done(job, *propose_job(job))
                tick()
            return
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_init)
        try:
            waiting = {pool.submit(propose_job, job): job for job in jobs_todo}
            while waiting:
                finished, _ = wait(waiting, return_when=FIRST_COMPLETED)
                for future in finished:
                    done(waiting.pop(future), *future.result())
                    tick()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        if bar is not None:
            bar.close()
