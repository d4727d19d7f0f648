"""The persistent JIT cache for GPU kernels compiled by the driver.

When Cycles ships no cubin for a GPU (sm_80, sm_90 in bpy 4.5), the driver compiles the PTX it
ships on first use: many minutes. The driver keeps the result in its compute cache
(`CUDA_CACHE_PATH`, default `~/.nv/ComputeCache`, bounded by `CUDA_CACHE_MAXSIZE`), which is lost
with a container and, when too small, evicts the kernel. Render processes therefore get a
persistent, large cache unless the user set one: `$SIMEDIT_CACHE_DIR` (default
`$XDG_CACHE_HOME/simedit`, i.e. `~/.cache/simedit`) `/cuda`, at the driver's maximum of 4 GiB;
OptiX's own module cache goes beside it (`/optix`, `OPTIX_CACHE_PATH`).

The driver's cache cannot be asked whether it holds a kernel, so after the first GPU render of
an architecture a marker file is written beside it (per architecture, bpy and driver version):
later runs then say the kernel comes from the cache instead of warning about a long compile.
"""
from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

CUDA_CACHE_MAXSIZE = 4 * 1024**3  # the largest value the driver accepts (bytes)


def cache_root(environ: MutableMapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("SIMEDIT_CACHE_DIR"):
        return Path(env["SIMEDIT_CACHE_DIR"]).expanduser()
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "simedit"


def jit_settings(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """The cache variables a render process gets: the user's own where set, else ours."""
    env = os.environ if environ is None else environ
    root = cache_root(env)
    return {
        "CUDA_CACHE_PATH": env.get("CUDA_CACHE_PATH") or str(root / "cuda"),
        "CUDA_CACHE_MAXSIZE": env.get("CUDA_CACHE_MAXSIZE") or str(CUDA_CACHE_MAXSIZE),
        "OPTIX_CACHE_PATH": env.get("OPTIX_CACHE_PATH") or str(root / "optix"),
    }


def apply(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Put the cache variables into `environ` (default: this process, before any CUDA call)
    and create the folders; returns them. A folder that cannot be made is left to the driver
    (it then compiles without caching), never an error."""
    env = os.environ if environ is None else environ
    settings = jit_settings(env)
    env.update(settings)
    for key in ("CUDA_CACHE_PATH", "OPTIX_CACHE_PATH"):
        try:
            Path(settings[key]).mkdir(parents=True, exist_ok=True)
        except OSError:
            pass
    return settings


def _marker(arch: str, bpy_version: str | None, driver: str | None, environ: MutableMapping[str, str] | None) -> Path:
    name = f"simedit-kernel-{arch}-bpy{bpy_version or 'unknown'}-driver{driver or 'unknown'}"
    return Path(jit_settings(environ)["CUDA_CACHE_PATH"]) / name


def is_warm(arch: str, bpy_version: str | None, driver: str | None,
            environ: MutableMapping[str, str] | None = None) -> bool:
    """True when a GPU render of `arch` already finished with this cache, bpy and driver."""
    return _marker(arch, bpy_version, driver, environ).is_file()


def mark_warm(arch: str, bpy_version: str | None, driver: str | None,
              environ: MutableMapping[str, str] | None = None) -> None:
    path = _marker(arch, bpy_version, driver, environ)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:  # a read-only cache only costs the next run its notice
        pass


def cache_size(path: str | Path) -> int:
    """Bytes under a cache folder (0 when missing)."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += (Path(root) / f).stat().st_size
            except OSError:
                pass
    return total
