"""What the NVIDIA driver reports about this machine's GPUs, read from libcuda with ctypes: no
CUDA toolkit, no torch, no bpy. Used to decide how many render slots a GPU run gets and which
Cycles kernel each GPU will need (`kernels.py`).

Device ordinals follow `CUDA_DEVICE_ORDER=PCI_BUS_ID` (set here unless the user set it), the
order nvidia-smi shows and the one `CUDA_VISIBLE_DEVICES` numbers render processes by.
"""
from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass, field
from pathlib import Path

_CC_MAJOR, _CC_MINOR = 75, 76  # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR / _MINOR


@dataclass(frozen=True)
class CudaDevice:
    index: int  # CUDA ordinal among the visible devices
    name: str
    major: int
    minor: int
    memory_bytes: int
    pci_bus_id: str

    @property
    def arch(self) -> str:
        """The SASS architecture name, e.g. "sm_90" for an H100."""
        return f"sm_{self.major}{self.minor}"


@dataclass(frozen=True)
class CudaInfo:
    devices: list[CudaDevice] = field(default_factory=list)
    driver_cuda: str | None = None  # the CUDA version the driver supports, e.g. "12.8"
    driver: str | None = None  # the kernel module's version, e.g. "570.86.15"
    error: str | None = None  # why no device is listed (no driver library, no GPU, ...)


def probe(environ: dict[str, str] | None = None) -> CudaInfo:
    """The driver's view of the visible GPUs (never raises: a machine without a GPU or driver
    gets an empty list and the reason)."""
    env = os.environ if environ is None else environ
    env.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")  # read by libcuda at cuInit
    driver = driver_version()
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError as e:
        return CudaInfo(driver=driver, error=f"no NVIDIA driver library ({e})")
    rc = cuda.cuInit(0)
    version = ctypes.c_int(0)
    cuda_version = None
    if cuda.cuDriverGetVersion(ctypes.byref(version)) == 0 and version.value:
        cuda_version = f"{version.value // 1000}.{version.value % 1000 // 10}"
    if rc != 0:
        reason = "no CUDA device visible" if rc == 100 else f"cuInit failed with CUDA error {rc}"
        return CudaInfo(driver_cuda=cuda_version, driver=driver, error=reason)
    count = ctypes.c_int(0)
    if cuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return CudaInfo(driver_cuda=cuda_version, driver=driver, error="cuDeviceGetCount failed")
    devices = [_device(cuda, i) for i in range(count.value)]
    return CudaInfo(devices=devices, driver_cuda=cuda_version, driver=driver,
                    error=None if devices else "no CUDA device visible")


def _device(cuda: ctypes.CDLL, ordinal: int) -> CudaDevice:
    dev = ctypes.c_int(0)
    cuda.cuDeviceGet(ctypes.byref(dev), ordinal)
    name = ctypes.create_string_buffer(256)
    cuda.cuDeviceGetName(name, 256, dev)
    major, minor = ctypes.c_int(0), ctypes.c_int(0)
    cuda.cuDeviceGetAttribute(ctypes.byref(major), _CC_MAJOR, dev)
    cuda.cuDeviceGetAttribute(ctypes.byref(minor), _CC_MINOR, dev)
    memory = ctypes.c_size_t(0)
    cuda.cuDeviceTotalMem_v2(ctypes.byref(memory), dev)
    bus = ctypes.create_string_buffer(64)
    cuda.cuDeviceGetPCIBusId(bus, 64, dev)
    return CudaDevice(index=ordinal, name=name.value.decode(errors="replace"), major=major.value,
                      minor=minor.value, memory_bytes=memory.value, pci_bus_id=bus.value.decode(errors="replace"))


def driver_version() -> str | None:
    """The NVIDIA kernel module's version from /proc (also visible inside containers)."""
    try:
        text = Path("/proc/driver/nvidia/version").read_text(errors="replace")
    except OSError:
        return None
    for word in text.split():
        if word[:1].isdigit() and word.count(".") >= 1:
            return word
    return None
