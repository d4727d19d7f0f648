"""`render gpu-setup`: have the Cycles CUDA kernel ready before the first GPU render.

    render gpu-setup                          compile the kernels this machine's GPUs lack (else sm_80 and
                                              sm_90) with the CUDA toolkit's ptxas, into bpy's Cycles folder
    render gpu-setup --arch sm_90 --out DIR   compile into DIR instead (the Docker image's kernel stage)
    render gpu-setup --from DIR               install cubins compiled elsewhere into bpy's Cycles folder

Without ptxas it prepares the persistent JIT cache (`cache.py`) and, on a machine with a GPU,
renders one tiny frame per GPU so that the driver compiles the kernel into it now.
Also runnable as `python -m simedit.render.gpu.setup` with only the standard library, zstandard
and bpy's files installed (no numpy): the Docker build stage does.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from simedit.render.common.command import run_command
from simedit.render.common.errors import SimEditError
from simedit.render.gpu import cache, kernels
from simedit.render.gpu.cuda import probe


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--arch", action="append", default=None, metavar="sm_XY",
                   help="architecture to compile (repeatable; default: this machine's GPUs that lack a kernel, "
                   "else sm_80 and sm_90)")
    p.add_argument("--ptxas", default=None, help="the CUDA toolkit's ptxas (default: on PATH, or /usr/local/cuda/bin)")
    p.add_argument("--out", default=None, help="write the cubins here instead of into bpy's Cycles folder")
    p.add_argument("--from", dest="from_dir", default=None, metavar="DIR",
                   help="install cubins compiled elsewhere (gpu-setup --out DIR) into bpy's Cycles folder")
    p.add_argument("--jobs", type=int, default=None,
                   help=f"compiles at a time (each takes about {kernels.PTXAS_GB:g} GB; default: what fits)")
    p.add_argument("--force", action="store_true", help="compile again over a cubin gpu-setup made before")


def default_jobs(count: int) -> int:
    try:
        memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError):
        memory_gb = 8.0
    return max(1, min(count, os.cpu_count() or 1, int(memory_gb // (kernels.PTXAS_GB + 1))))


def setup(args: argparse.Namespace) -> int:
    lib = kernels.require_lib_dir()
    if args.from_dir:
        placed = kernels.install_cubins(Path(args.from_dir), lib)
        print(f"installed {', '.join(p.name for p in placed)} into {lib}")
        return 0
    info = probe()
    if args.arch:
        archs = list(dict.fromkeys(kernels.arch_name(a) for a in args.arch))
    elif info.devices:
        archs = list(dict.fromkeys(d.arch for d in info.devices))
    else:
        archs = list(kernels.DATACENTER_ARCHS)
        print(f"no GPU here ({info.error}); compiling for {' and '.join(archs)} (A100, H100/H200), "
              "the architectures bpy ships no kernel for")
    out = Path(args.out) if args.out else lib
    todo = []
    for arch in archs:
        status = kernels.kernel_status(arch, out)
        if status.cubin is not None and not (args.force and status.made is not None):
            print(f"{arch}: ready, {status.describe()}")
        elif kernels.ptx_for(arch, lib) is None:
            raise SimEditError(f"bpy ships no PTX that {arch} can run; Cycles cannot use this GPU", file=str(lib))
        else:
            todo.append(arch)
    if not todo:
        return 0
    ptxas = kernels.find_ptxas(args.ptxas)
    if ptxas is None:
        if args.ptxas:
            raise SimEditError("no such ptxas", file=args.ptxas, field="--ptxas")
        return jit_cache_only(todo, info)
    jobs = max(1, args.jobs or default_jobs(len(todo)))
    version = kernels.ptxas_version(ptxas)
    if version and info.driver_cuda and int(version.split(".")[0]) > int(info.driver_cuda.split(".")[0]):
        # a cubin needs a driver of the toolkit's major release or newer
        print(f"warning: ptxas is from CUDA {version} but this driver supports CUDA {info.driver_cuda}: Cycles may "
              "fail to load these kernels here; use a toolkit no newer than the driver (--ptxas)", file=sys.stderr)
    ptx = {a: kernels.ptx_for(a, lib) for a in todo}
    print(f"compiling {', '.join(kernels.cubin_name(a) for a in todo)} from {ptx[todo[0]].name} with ptxas "
          f"{version or '?'} ({ptxas}), {jobs} at a time: about {kernels.PTXAS_MINUTES} minutes "
          f"and {kernels.PTXAS_GB:g} GB each", flush=True)

    def one(arch: str) -> None:
        start = time.perf_counter()
        path = kernels.compile_cubin(ptx[arch], arch, out, ptxas)
        print(f"compiled {path.name} in {time.perf_counter() - start:.0f} s ({path.stat().st_size / 1e6:.1f} MB) "
              f"-> {out}", flush=True)

    with ThreadPoolExecutor(jobs) as pool:
        for f in [pool.submit(one, a) for a in todo]:
            f.result()
    return 0


def jit_cache_only(archs: list[str], info) -> int:
    """No ptxas: the driver will compile; make its cache persistent and large, and fill it now
    when this machine has the GPU."""
    settings = cache.apply()
    print(f"no ptxas found (install the CUDA toolkit, or pass --ptxas) to compile {', '.join(archs)} ahead; "
          f"the driver compiles them on first use into a persistent JIT cache: CUDA_CACHE_PATH="
          f"{settings['CUDA_CACHE_PATH']} CUDA_CACHE_MAXSIZE={settings['CUDA_CACHE_MAXSIZE']} "
          f"(render sets these for its render processes unless you set them)")
    local = [d for d in info.devices if d.arch in archs]
    if not local:
        return 0
    from simedit.render.backends.worker import probe_backend  # the engine, in a render process of its own
    from simedit.render.gpu.preflight import jit_line, note_first_render

    lib = kernels.require_lib_dir()
    for d in local:
        print(jit_line(d, kernels.kernel_status(d.arch, lib), settings["CUDA_CACHE_PATH"]), flush=True)
    start = time.perf_counter()
    report = probe_backend(device="GPU", warm=True, timeout=3 * 3600)
    if report.get("warm_device", "CPU") == "CPU":
        raise SimEditError(f"the warm-up render did not run on a GPU ({report.get('warm_error') or 'no GPU device'})")
    note_first_render(info)
    print(f"kernel cache filled in {time.perf_counter() - start:.0f} s ({report['warm_device']})")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m simedit.render.gpu.setup", description=__doc__.splitlines()[0])
    add_arguments(p)
    return run_command(lambda a: setup(p.parse_args(a)), argv)


if __name__ == "__main__":
    sys.exit(main())
