"""`render doctor`: what a GPU run would find here, one line each: versions, the driver's GPUs and
each one's Cycles kernel, the devices Cycles itself sees, the denoiser, the JIT cache, ptxas."""
from __future__ import annotations

import os
import platform
import sys

from simedit.render import __version__
from simedit.render.gpu import cache, kernels
from simedit.render.gpu.cuda import probe


def doctor(backend: str = "cycles", timeout: float = 300.0) -> int:
    from simedit.render.backends.worker import WorkerDied, WorkerError, probe_backend

    print(f"simedit {__version__}, Python {platform.python_version()} ({sys.executable})")
    lib = kernels.cycles_lib_dir()
    print(f"bpy {kernels.bpy_version() or 'not installed'}; Cycles kernels: {lib or 'not found'}")
    if lib is not None:
        print(f"  cubins shipped or installed: {', '.join(kernels.shipped_cubins(lib)) or 'none'}; "
              f"PTX for the rest: {', '.join(p.name for p in sorted(lib.glob('kernel_compute_*.ptx.zst'))) or 'none'}")
    info = probe()
    if info.devices:
        print(f"NVIDIA driver {info.driver or '?'} (CUDA {info.driver_cuda or '?'}), {len(info.devices)} GPU(s)")
    else:
        print(f"NVIDIA driver: {info.driver or 'none'}; no GPU: {info.error}")
    warm_env = cache.jit_settings()
    for d in info.devices:
        status = kernels.kernel_status(d.arch, lib) if lib else None
        kernel = status.describe() if status else "?"
        if status is not None and status.needs_jit:
            warm = cache.is_warm(d.arch, kernels.bpy_version(), info.driver)
            kernel += "; already compiled into the JIT cache" if warm else "; not compiled yet (run: render gpu-setup)"
        print(f"  GPU {d.index}: {d.name}, {d.arch}, {d.memory_bytes / 1024**3:.0f} GiB, PCI {d.pci_bus_id}; kernel: {kernel}")
    try:
        seen = probe_backend(backend=backend, device="GPU", timeout=timeout)
    except (WorkerDied, WorkerError) as e:
        print(f"{backend}: could not start a render process ({str(e).splitlines()[0]})")
        seen = {}
    if seen:
        print(f"{seen.get('engine', backend)}, built with {', '.join(seen.get('built_with', [])) or 'no GPU API'}")
        devices = seen.get("devices", [])
        for d in devices:
            print(f"  {d['api']}: {d['name']}")
        api = seen.get("device", "CPU")
        if api == "CPU":
            print("render --device GPU would render on the CPU (with a warning): Cycles sees no OptiX or CUDA device")
        else:
            # backends/oidn.py opens OIDN's CPU device whatever Cycles renders on
            print(f"render --device GPU renders with {api}; denoiser: OpenImageDenoise on the CPU, in the render process")
        if info.devices and not any(d["api"] == "OPTIX" for d in devices):
            caps = os.environ.get("NVIDIA_DRIVER_CAPABILITIES")
            hint = (f" (in a container NVIDIA_DRIVER_CAPABILITIES={caps} lacks 'graphics', which brings libnvoptix)"
                    if caps is not None and "graphics" not in caps and caps != "all" else "")
            print(f"OptiX: not available{hint}; CUDA is used")
    print(f"JIT cache: CUDA_CACHE_PATH={warm_env['CUDA_CACHE_PATH']} "
          f"({cache.cache_size(warm_env['CUDA_CACHE_PATH']) / 1e6:.0f} MB used), "
          f"CUDA_CACHE_MAXSIZE={warm_env['CUDA_CACHE_MAXSIZE']}, OPTIX_CACHE_PATH={warm_env['OPTIX_CACHE_PATH']}"
          + ("; CUDA_CACHE_DISABLE is set: every run compiles again" if os.environ.get("CUDA_CACHE_DISABLE") == "1" else ""))
    ptxas = kernels.find_ptxas()
    print(f"ptxas: {ptxas} (CUDA {kernels.ptxas_version(ptxas) or '?'}): render gpu-setup can compile missing kernels"
          if ptxas else "ptxas: not found (render gpu-setup then fills the JIT cache instead)")
    return 0
