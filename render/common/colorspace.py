"""The sRGB transfer function: scene-linear RGB (renderer, palette) to 8-bit display values."""
from __future__ import annotations

import numpy as np


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Scene-linear RGB -> sRGB in 0..255 (float), what Blender's 'Standard' view transform writes."""
    c = np.clip(linear, 0.0, 1.0)
    return 255.0 * np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1.0 / 2.4) - 0.055)


def linear_to_srgb8(linear: np.ndarray) -> np.ndarray:
    return np.round(linear_to_srgb(linear)).astype(np.uint8)
