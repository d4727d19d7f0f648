"""Executors by name (`render --executor NAME`), loaded lazily; add one with one line here."""
from __future__ import annotations

import importlib

from simedit.render.common.errors import SimEditError

EXECUTORS: dict[str, str] = {
    "threads": "simedit.render.run.executors.threads:ThreadExecutor",
    "ray": "simedit.render.run.executors.ray:RayExecutor",
}
DEFAULT_EXECUTOR = "threads"


def create_executor(name: str, settings=None):
    """An `Executor` (run/executors/base.py) by name, with its `ExecutorSettings`."""
    if name not in EXECUTORS:
        raise SimEditError(f"unknown executor {name!r}; available: {', '.join(EXECUTORS)}", field="--executor")
    module, _, cls = EXECUTORS[name].partition(":")
    return getattr(importlib.import_module(module), cls)(settings)
