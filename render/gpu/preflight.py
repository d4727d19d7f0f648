"""What a GPU run says before its first render, so a long kernel compile never looks like a hang."""
from __future__ import annotations

from simedit.render.gpu import cache, kernels
from simedit.render.gpu.cuda import CudaDevice, CudaInfo


def jit_line(device: CudaDevice, status: kernels.KernelStatus, cache_path: str) -> str:
    """The one line for a GPU whose kernel the driver must compile from PTX."""
    ptx = status.ptx.name if status.ptx else "PTX"
    return (f"GPU {device.index} {device.name} ({device.arch}): bpy {kernels.bpy_version() or '?'} ships no Cycles "
            f"kernel for {device.arch}, so the driver compiles {ptx} before the first render: expect 10 minutes or "
            f"more with no progress shown (once; cached in {cache_path}); `render gpu-setup` compiles it ahead")


def gpu_lines(info: CudaInfo, per_gpu: int) -> list[str]:
    """One line naming the GPUs and slots, then `jit_lines`."""
    if not info.devices:
        return [f"warning: --device GPU, but {info.error or 'no CUDA device'}; rendering on the CPU"]
    names = ", ".join(f"{d.index}: {d.name} ({d.arch})" for d in info.devices)
    return [f"GPU: {len(info.devices)} device(s) [{names}], {per_gpu} render slot(s) each (OptiX, else CUDA); "
            f"driver {info.driver or '?'} (CUDA {info.driver_cuda or '?'})", *jit_lines(info)]


def jit_lines(info: CudaInfo) -> list[str]:
    """One line per GPU architecture whose kernel the driver must compile now: not when a cubin
    exists, nor when an earlier run left it in the JIT cache."""
    lib = kernels.cycles_lib_dir()
    if lib is None:
        return []
    path = cache.jit_settings()["CUDA_CACHE_PATH"]
    lines, seen = [], set()
    for d in info.devices:
        if d.arch in seen:
            continue
        seen.add(d.arch)
        status = kernels.kernel_status(d.arch, lib)
        if status.needs_jit and not cache.is_warm(d.arch, kernels.bpy_version(), info.driver):
            lines.append(jit_line(d, status, path))
    return lines


def note_first_render(info: CudaInfo) -> None:
    """After a GPU render finished in this process: its architectures' kernels are in the cache."""
    for d in info.devices:
        cache.mark_warm(d.arch, kernels.bpy_version(), info.driver)
