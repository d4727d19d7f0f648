"""Intel Open Image Denoise, called directly: the library bpy ships (`bpy/lib`), through ctypes.

Cycles can denoise a frame itself, but only a whole frame it rendered. Region rendering
(`region.py`) renders part of a target and composites it onto the source, so the Cycles backend
renders noisy colour with the denoiser's albedo and normal passes and denoises here: the source
once, and the composite target once, which keeps the unchanged area equal to the source's.
"""
from __future__ import annotations

import ctypes
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simedit.render.common.errors import SimEditError

DEVICE_CPU = 1  # OIDN_DEVICE_TYPE_CPU
FORMAT_FLOAT3 = 3  # OIDN_FORMAT_FLOAT3
_NAMES = ("libOpenImageDenoise.so.2", "libOpenImageDenoise.2.dylib", "OpenImageDenoise.dll")


@dataclass
class Passes:
    """What the denoiser reads: noisy linear colour and the first-hit albedo and normal, (H, W, 3)."""

    color: np.ndarray
    albedo: np.ndarray
    normal: np.ndarray

    def crop(self, y0: int, y1: int, x0: int, x1: int) -> Passes:
        return Passes(self.color[y0:y1, x0:x1], self.albedo[y0:y1, x0:x1], self.normal[y0:y1, x0:x1])

    def pasted(self, part: Passes, y0: int, x0: int) -> Passes:
        """A copy with `part` written over the box at (y0, x0)."""
        out = Passes(self.color.copy(), self.albedo.copy(), self.normal.copy())
        h, w = part.color.shape[:2]
        for mine, theirs in ((out.color, part.color), (out.albedo, part.albedo), (out.normal, part.normal)):
            mine[y0:y0 + h, x0:x0 + w] = theirs
        return out


def _library() -> ctypes.CDLL:
    for folder in sys.path:
        for name in _NAMES:
            path = Path(folder) / "bpy" / "lib" / name
            if path.is_file():
                return ctypes.CDLL(str(path))
    raise SimEditError("OpenImageDenoise not found beside bpy (bpy/lib); render with denoise: false",
                       field="render.denoise")


class Denoiser:
    """One OIDN CPU device; `denoise` runs the "RT" filter (HDR colour with albedo and normal)."""

    def __init__(self, threads: int = 0):
        lib = self._lib = _library()
        lib.oidnNewDevice.restype = ctypes.c_void_p
        lib.oidnNewDevice.argtypes = [ctypes.c_int]
        lib.oidnSetDeviceInt.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        lib.oidnCommitDevice.argtypes = [ctypes.c_void_p]
        lib.oidnGetDeviceError.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p)]
        lib.oidnNewFilter.restype = ctypes.c_void_p
        lib.oidnNewFilter.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.oidnSetSharedFilterImage.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int,
                                                 ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t,
                                                 ctypes.c_size_t, ctypes.c_size_t]
        lib.oidnSetFilterBool.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_bool]
        lib.oidnCommitFilter.argtypes = [ctypes.c_void_p]
        lib.oidnExecuteFilter.argtypes = [ctypes.c_void_p]
        lib.oidnReleaseFilter.argtypes = [ctypes.c_void_p]
        lib.oidnReleaseDevice.argtypes = [ctypes.c_void_p]
        self._device = lib.oidnNewDevice(DEVICE_CPU)
        if threads > 0:
            lib.oidnSetDeviceInt(self._device, b"numThreads", threads)
        lib.oidnCommitDevice(self._device)
        self._check()

    def denoise(self, passes: Passes) -> np.ndarray:
        """The denoised linear colour, (H, W, 3) float32."""
        lib = self._lib
        images = {name: np.ascontiguousarray(a, np.float32)
                  for name, a in (("color", passes.color), ("albedo", passes.albedo), ("normal", passes.normal))}
        out = np.empty_like(images["color"])
        h, w = out.shape[:2]
        flt = lib.oidnNewFilter(self._device, b"RT")
        try:
            for name, a in (*images.items(), ("output", out)):
                lib.oidnSetSharedFilterImage(flt, name.encode(), a.ctypes.data, FORMAT_FLOAT3, w, h, 0, 0, 0)
            lib.oidnSetFilterBool(flt, b"hdr", True)
            lib.oidnCommitFilter(flt)
            lib.oidnExecuteFilter(flt)
            self._check()
        finally:
            lib.oidnReleaseFilter(flt)
        return out

    def close(self) -> None:
        if self._device:
            self._lib.oidnReleaseDevice(self._device)
            self._device = None

    def _check(self) -> None:
        message = ctypes.c_char_p()
        if self._lib.oidnGetDeviceError(self._device, ctypes.byref(message)):
            raise RuntimeError(f"OpenImageDenoise: {(message.value or b'').decode(errors='replace')}")
