"""Global camera motion between two frames, robust to a moving object.

Both frames are compared as grey images cut into overlapping 32 x 32 blocks, at 128 x 128 (fine:
a shake of a pixel or two) and at 64 x 64 (coarse: a pan of up to a quarter of the frame, which
a block cannot see at the fine scale); each textured block's translation comes from phase
correlation (scikit-image), and the larger estimate of the two scales counts. A camera move shifts
every block (a pan or shake: all by the same amount; a zoom: each away from or toward the
centre in proportion to its distance), while a hand moving one object shifts a few blocks only.
So the camera's translation is the median block shift, and its zoom the median radial shift per
unit of distance once that translation is removed."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

ANALYSIS_SIZE = 128  # frames are compared as size x size grey images
BLOCK, STRIDE = 32, 16
MIN_TEXTURE = 0.01  # grey std (0..1) below which a block has nothing to lock on to


@dataclass
class Motion:
    shift: float  # global translation, as a fraction of the frame side
    zoom: float  # |scale - 1|
    blocks: int  # textured blocks the estimate rests on

    def describe(self) -> str:
        return f"shift {self.shift:.3f} of the frame, zoom {self.zoom:.3f} ({self.blocks} blocks)"


def _grey(img: Image.Image, size: int) -> np.ndarray:
    return np.asarray(img.convert("L").resize((size, size), Image.BOX), dtype=np.float64) / 255.0


def estimate_motion(a: Image.Image, b: Image.Image) -> Motion:
    fine, coarse = _estimate(a, b, ANALYSIS_SIZE), _estimate(a, b, ANALYSIS_SIZE // 2)
    return Motion(max(fine.shift, coarse.shift), max(fine.zoom, coarse.zoom), fine.blocks)


def _estimate(a: Image.Image, b: Image.Image, size: int) -> Motion:
    from skimage.registration import phase_cross_correlation

    ga, gb = _grey(a, size), _grey(b, size)
    centres, shifts = [], []
    for y in range(0, size - BLOCK + 1, STRIDE):
        for x in range(0, size - BLOCK + 1, STRIDE):
            pa, pb = ga[y:y + BLOCK, x:x + BLOCK], gb[y:y + BLOCK, x:x + BLOCK]
            if pa.std() < MIN_TEXTURE or pb.std() < MIN_TEXTURE:
                continue
            s, _, _ = phase_cross_correlation(pa, pb, upsample_factor=4, normalization=None)
            shifts.append(s)
            centres.append((y + BLOCK / 2 - size / 2, x + BLOCK / 2 - size / 2))
    if len(shifts) < 3:  # a blank frame: no evidence of motion
        return Motion(0.0, 0.0, len(shifts))
    s, c = np.asarray(shifts), np.asarray(centres)
    t = np.median(s, axis=0)
    r2 = (c ** 2).sum(axis=1)
    far = r2 > (BLOCK / 2) ** 2
    zoom = float(abs(np.median(((s[far] - t) * c[far]).sum(axis=1) / r2[far]))) if far.sum() >= 3 else 0.0
    return Motion(float(np.hypot(*t)) / size, zoom, len(shifts))
