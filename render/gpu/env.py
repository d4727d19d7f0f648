"""The environment of a GPU render process, set in that process before its engine touches CUDA:
pinned to one GPU, with the persistent JIT cache (`cache.py`)."""
from __future__ import annotations

import os
from collections.abc import MutableMapping

from simedit.render.gpu import cache


def prepare_render_process(gpu: int | None, environ: MutableMapping[str, str] | None = None) -> None:
    """`gpu`: the ordinal (among the GPUs this process's parent sees) to pin this process to, or
    None to keep every visible one (a Ray actor is already given its own). An ordinal counts
    within the parent's `CUDA_VISIBLE_DEVICES` when that is set, so `CUDA_VISIBLE_DEVICES=2,3`
    with two slots puts them on GPUs 2 and 3."""
    env = os.environ if environ is None else environ
    env.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")  # the order nvidia-smi and cuda.probe() use
    if gpu is not None:
        visible = [v.strip() for v in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
        env["CUDA_VISIBLE_DEVICES"] = visible[gpu] if gpu < len(visible) else str(gpu)
    cache.apply(env)
