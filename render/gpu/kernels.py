"""Which Cycles CUDA kernel a GPU loads, and compiling the missing ones ahead of time.

Cycles (bpy 4.5) looks in its add-on's `lib/` folder for `kernel_sm_<MAJOR><MINOR>.cubin.zst`
matching the GPU exactly; without one it hands the closest older PTX
(`kernel_compute_75.ptx.zst`) to the driver, which compiles it on first use (many minutes on an
A100/H100: bpy ships cubins for sm_30..sm_89 and sm_120, none for sm_80 or sm_90). OptiX renders
load the same CUDA kernel for their utility kernels, so it matters for OptiX too.

`compile_cubin` does ahead of time what the driver would: `ptxas -arch=sm_XX` on the shipped
PTX, zstd-compressed under the name Cycles looks for, written atomically, with a sidecar
`<name>.simedit.json` recording how it was made. Standard library + zstandard (bpy's own
dependency) only: the Docker kernel stage runs this without the project's other dependencies.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from simedit.render.common.atomic import atomic_file, atomic_write
from simedit.render.common.errors import SimEditError

# Architectures bpy 4.5's wheels ship no cubin for that datacenter GPUs have: A100, H100/H200.
DATACENTER_ARCHS = ("sm_80", "sm_90")
ARCH = re.compile(r"^sm_(\d+)(\d)$")
SIDECAR = ".simedit.json"
# Measured on the 2-core development machine: ptxas -arch=sm_90 on bpy 4.5.15's PTX took 8 min 04 s
# on one core and 3.1 GB; the driver's JIT on an H100 had not finished after 9.5 minutes.
PTXAS_MINUTES, PTXAS_GB = 8, 3.1


def parse_arch(text: str) -> tuple[int, int]:
    """"sm_90" -> (9, 0); also accepts "90", "9.0" and "sm90"."""
    t = text.strip().lower().replace("sm", "").lstrip("_").replace(".", "")
    m = ARCH.match(f"sm_{t}")
    if not m:
        raise SimEditError(f"not a CUDA architecture: {text!r} (expected e.g. sm_90)", field="--arch")
    return int(m.group(1)), int(m.group(2))


def arch_name(text: str) -> str:
    major, minor = parse_arch(text)
    return f"sm_{major}{minor}"


def cubin_name(arch: str) -> str:
    return f"kernel_{arch_name(arch)}.cubin.zst"


def bpy_version() -> str | None:
    try:
        return metadata.version("bpy")
    except metadata.PackageNotFoundError:
        return None


def cycles_lib_dir() -> Path | None:
    """bpy's `<version>/scripts/addons_core/cycles/lib`, found without importing bpy (also in a
    process that already did, where `bpy` names Blender's pure-Python package)."""
    spec = importlib.util.find_spec("bpy")
    if spec is None:
        return None
    start = Path(spec.origin or next(iter(spec.submodule_search_locations or []), ""))
    for folder in [start.parent, *start.parent.parents]:
        if folder.name == "bpy":
            found = sorted(folder.glob("*/scripts/addons_core/cycles/lib"))
            if found:
                return found[-1]
    return None


def require_lib_dir(lib_dir: Path | None = None) -> Path:
    lib = lib_dir or cycles_lib_dir()
    if lib is None or not lib.is_dir():
        raise SimEditError("bpy's Cycles kernel folder was not found (is bpy installed?)", field="bpy")
    return lib


def shipped_cubins(lib_dir: Path) -> list[str]:
    """The architectures that have a cubin in `lib_dir`, in numeric order."""
    found = []
    for p in lib_dir.glob("kernel_sm_*.cubin.zst"):
        m = re.match(r"kernel_(sm_\d+)\.cubin\.zst$", p.name)
        if m:
            found.append(m.group(1))
    return sorted(found, key=parse_arch)


def ptx_for(arch: str, lib_dir: Path) -> Path | None:
    """The PTX Cycles falls back to for `arch`: the closest older `kernel_compute_XY.ptx.zst`."""
    major, minor = parse_arch(arch)
    while major >= 5:
        p = lib_dir / f"kernel_compute_{major}{minor}.ptx.zst"
        if p.is_file():
            return p
        major, minor = (major, minor - 1) if minor > 0 else (major - 1, 9)
    return None


@dataclass(frozen=True)
class KernelStatus:
    arch: str
    cubin: Path | None  # what Cycles loads; None: the driver JIT-compiles `ptx`
    ptx: Path | None
    made: dict | None  # the sidecar of a cubin compiled by `render gpu-setup`

    @property
    def needs_jit(self) -> bool:
        return self.cubin is None

    def describe(self) -> str:
        if self.cubin is not None and self.made:
            return (f"{self.cubin.name} (compiled by gpu-setup from {self.made.get('ptx')} with ptxas "
                    f"{self.made.get('ptxas_version') or '?'})")
        if self.cubin is not None:
            return f"{self.cubin.name} (shipped with bpy)"
        if self.ptx is not None:
            return f"none for {self.arch}: the driver JIT-compiles {self.ptx.name} on first use"
        return f"none for {self.arch} and no PTX to compile: Cycles cannot use this GPU"


def kernel_status(arch: str, lib_dir: Path) -> KernelStatus:
    arch = arch_name(arch)
    cubin = lib_dir / cubin_name(arch)
    made = None
    side = cubin.with_name(cubin.name + SIDECAR)
    if side.is_file():
        try:
            made = json.loads(side.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            made = {}
    return KernelStatus(arch, cubin if cubin.is_file() else None, ptx_for(arch, lib_dir), made)


def find_ptxas(explicit: str | None = None) -> str | None:
    """`--ptxas`, else `ptxas` on PATH, else the usual CUDA toolkit places."""
    if explicit:
        return explicit if Path(explicit).is_file() or shutil.which(explicit) else None
    for candidate in (shutil.which("ptxas"), "/usr/local/cuda/bin/ptxas"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def ptxas_version(ptxas: str) -> str | None:
    try:
        out = subprocess.run([ptxas, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"release (\d+\.\d+)", out)
    return m.group(1) if m else None


def compile_cubin(ptx: Path, arch: str, out_dir: Path, ptxas: str) -> Path:
    """Compile `ptx` (zstd-compressed, as bpy ships it) for `arch` and write
    `out_dir/kernel_<arch>.cubin.zst` atomically, plus its sidecar. Returns the cubin path."""
    import zstandard  # bpy's own dependency; imported here so `import kernels` stays cheap

    arch = arch_name(arch)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="simedit-ptxas-") as tmp:
        source, cubin = Path(tmp) / f"{ptx.name.removesuffix('.zst')}", Path(tmp) / "kernel.cubin"
        with open(ptx, "rb") as f, open(source, "wb") as out:
            zstandard.ZstdDecompressor().copy_stream(f, out)
        proc = subprocess.run([ptxas, f"-arch={arch}", "-o", str(cubin), str(source)],
                              capture_output=True, text=True)
        if proc.returncode != 0 or not cubin.is_file():
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
            raise SimEditError(f"ptxas failed for {arch}: {last[0]}", file=ptxas)
        dest = out_dir / cubin_name(arch)
        with open(cubin, "rb") as f, atomic_file(dest, mkdir=True) as out:
            # the size goes into the frame header: Cycles reads a cubin's decompressed size from
            # there and, without it, fails to load the kernel ("File not found"; seen on an H100)
            zstandard.ZstdCompressor(level=19, threads=-1).copy_stream(f, out, size=cubin.stat().st_size)
    made = {"arch": arch, "ptx": ptx.name, "bpy": bpy_version(), "ptxas": ptxas, "ptxas_version": ptxas_version(ptxas),
            "seconds": round(time.perf_counter() - start, 1)}
    atomic_write(dest.with_name(dest.name + SIDECAR), json.dumps(made, indent=1) + "\n")
    return dest


def with_content_size(data: bytes) -> bytes:
    """A zstd cubin whose frame header records its decompressed size, as Cycles needs: cubins
    made by gpu-setup before it wrote the size (a cached Docker kernel stage) are re-framed."""
    import zstandard

    if zstandard.frame_content_size(data) >= 0:
        return data
    with zstandard.ZstdDecompressor().stream_reader(data) as r:
        raw = r.read()
    return zstandard.ZstdCompressor(level=19, threads=-1).compress(raw)


def install_cubins(from_dir: Path, lib_dir: Path) -> list[Path]:
    """Copy cubins compiled elsewhere (`gpu-setup --out DIR`, the Docker kernel stage) into
    `lib_dir`, each with its sidecar; atomic per file."""
    placed = []
    cubins = sorted(from_dir.glob("kernel_sm_*.cubin.zst"))
    if not cubins:
        raise SimEditError("no kernel_sm_*.cubin.zst files here", file=str(from_dir), field="--from")
    for src in cubins:
        arch_name(src.name.removeprefix("kernel_").removesuffix(".cubin.zst"))  # refuses odd names
        placed.append(atomic_write(lib_dir / src.name, with_content_size(src.read_bytes())))
        side = src.with_name(src.name + SIDECAR)
        if side.is_file():
            atomic_write(lib_dir / side.name, side.read_bytes())
    return placed
