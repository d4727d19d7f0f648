"""How well an object stands out: one home for the colour-difference measures that planning
(colours that clash with the floor), verification (the contrast floor) and `render stats` use.

Colours are compared in CIE Lab (D65) as the CIE76 distance ("delta E"): about 2.3 is a just
noticeable difference, 10 a clear one, and two palette colours are 30 or more apart.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageCms
from scipy import ndimage

from simedit.render.common.colorspace import linear_to_srgb8

RING_PX = 4  # an object is contrasted with this many pixels of surroundings around its mask
# a solid colour this close to the floor's (delta E of the palette values) is not drawn for an
# object on that floor: a grey pyramid on a grey floor, a brown ramekin on a brown one
MIN_FLOOR_DELTA_E = 25.0

_SRGB_TO_LAB = ImageCms.buildTransformFromOpenProfiles(
    ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB")


def lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB uint8 pixels (..., 3) -> CIE Lab (N, 3): L in 0..100, a/b centred on 0."""
    img = Image.fromarray(np.asarray(rgb, np.uint8).reshape(1, -1, 3), "RGB")
    out = np.asarray(ImageCms.applyTransform(img, _SRGB_TO_LAB), np.uint8).reshape(-1, 3)
    ab = out[:, 1:].view(np.int8).astype(float)  # PIL stores a and b as signed bytes
    return np.concatenate([out[:, :1] * (100 / 255), ab], axis=1)


def linear_lab(linear_rgb: tuple[float, float, float]) -> np.ndarray:
    """A palette value (linear RGB) as Lab."""
    return lab(linear_to_srgb8(np.asarray(linear_rgb, float)))[0]


def delta_e(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """CIE76 distance between two palette values (linear RGB)."""
    return float(np.linalg.norm(linear_lab(a) - linear_lab(b)))


def contrast(rgb: np.ndarray, mask: np.ndarray) -> float:
    """How much an object stands out from what surrounds it in the image: the median, over the
    object's pixels, of their Lab distance to the mean colour of a ring of RING_PX pixels around
    it. The median (not the mean colour's distance) keeps a black-and-white ball on a grey floor
    visible, and a grey pyramid on a grey floor, shading and all, faint."""
    ring = ndimage.binary_dilation(mask, iterations=RING_PX) & ~mask
    if not mask.any() or not ring.any():
        return 0.0
    around = lab(rgb[ring]).mean(axis=0)
    return float(np.median(np.linalg.norm(lab(rgb[mask]) - around, axis=1)))


def clear_of_floor(colors: list[str], palette: dict[str, tuple[float, float, float]],
                   floor_rgb: tuple[float, float, float]) -> list[str]:
    """The colours of `colors` that stand out on this floor (all of them when none does)."""
    kept = [c for c in colors if stands_out(palette[c], floor_rgb)]
    return kept or list(colors)


def stands_out(rgb: tuple[float, float, float], floor_rgb: tuple[float, float, float]) -> bool:
    """A solid colour (linear RGB) far enough from the floor's to be seen on it."""
    return delta_e(rgb, floor_rgb) >= MIN_FLOOR_DELTA_E
