"""Typed options of one `render` run, built by the CLI; nothing past the CLI sees argparse."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from simedit.render.run.executors import DEFAULT_EXECUTOR
from simedit.render.run.shard import Shard


@dataclass(frozen=True)
class RunOptions:
    spec: Path  # the spec file (a built-in name is resolved by the CLI)
    n: int  # accepted pairs wanted (planned samples with dry_run)
    out: Path
    catalog: Path | None = None  # None: the built-in catalog
    seed: int | None = None  # overrides the spec's seed
    split: str | None = None  # draw from this split's own seed stream (`plan/seeds.py`); None: the plain stream
    dry_run: bool = False
    workers: int | None = None  # render slots (per GPU with device GPU); None: what fits the machine
    device: str = "CPU"
    depth: bool = False
    size: int | None = None  # overrides the spec's image width and height
    samples: int | None = None  # overrides the spec's samples per pixel
    force: bool = False
    # render only the part of the target the edit can change; None: `run.pipeline.target_region`
    # decides (what the run directory recorded, else on for the CPU and off for a GPU)
    target_region: bool | None = None
    backend: str | None = None  # None: the spec's render.backend
    executor: str = DEFAULT_EXECUTOR
    address: str | None = None  # the cluster an executor joins (ray); None: start one on this machine
    shard: Shard | None = None  # render only this part of the run (`run/shard.py`)
    command: list[str] = field(default_factory=list)  # the command line, for the run record
