"""Flip-aware augmentation: resize, random crop and horizontal flip applied identically to the
source image, the target image and the edit mask.

Why flip-awareness matters: a horizontal flip mirrors the scene, so "move the cup to the left of
the plate" becomes false for the flipped pair. Generic editing data rarely says left or right, so
InstructPix2Pix flipped blindly; spatial edits (AURORA, appendix F, and our location edits) are
full of them, and a blind flip teaches the model that "left" means either side. Policy `swap`
(default) keeps the augmentation and rewrites the instruction to match the mirrored images;
`skip` does what AURORA did (no flip for spatial instructions); `off` never flips.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

FlipPolicy = Literal["swap", "skip", "off"]

# Whole words only: \b keeps "bright", "upright", "alright", "copyright" from matching.
# Longer alternatives first so "leftmost" is not read as "left" + "most".
_SPATIAL = re.compile(
    r"\b(left-hand|right-hand|leftmost|rightmost|leftward|rightward|lefthand|righthand|left|right)\b",
    re.IGNORECASE,
)
_SWAP = {
    "left": "right", "right": "left",
    "leftmost": "rightmost", "rightmost": "leftmost",
    "left-hand": "right-hand", "right-hand": "left-hand",
    "lefthand": "righthand", "righthand": "lefthand",
    "leftward": "rightward", "rightward": "leftward",
}


def is_spatial(instruction: str) -> bool:
    """True when the instruction names a horizontal direction (whole words only)."""
    return _SPATIAL.search(instruction) is not None


def _match_case(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def swap_left_right(instruction: str) -> str:
    """Mirror an instruction: left<->right (and -most, -hand, -ward forms), keeping capitalization.
    "to the left" needs no special case: its "left" is a whole word and becomes "right"."""
    return _SPATIAL.sub(lambda m: _match_case(_SWAP[m.group(0).lower()], m.group(0)), instruction)


@dataclass
class AugmentConfig:
    resolution: int = 256
    random_crop: bool = True
    flip: FlipPolicy = "swap"
    flip_probability: float = 0.5


@dataclass
class Augmented:
    source: Image.Image
    target: Image.Image
    mask: Image.Image | None  # mode "L", 255 = edited region
    instruction: str
    flipped: bool


def _resize_short_side(img: Image.Image, size: int, resample: int) -> Image.Image:
    w, h = img.size
    scale = size / min(w, h)
    return img.resize((max(size, round(w * scale)), max(size, round(h * scale))), resample)


def augment(
    source: Image.Image,
    target: Image.Image,
    instruction: str,
    mask: Image.Image | None,
    cfg: AugmentConfig,
    rng: np.random.Generator,
) -> Augmented:
    """Resize (short side), crop to a square and maybe flip; the same geometry for all images.
    The rng draws are made in a fixed order whatever the policy, so data order and crops do not
    depend on the flip policy."""
    size = cfg.resolution
    src = _resize_short_side(source.convert("RGB"), size, Image.BICUBIC)
    # The target is resized to the source's size first: pairs from video may differ slightly.
    tgt = _resize_short_side(target.convert("RGB").resize(source.size, Image.BICUBIC), size, Image.BICUBIC)
    msk = None
    if mask is not None:
        msk = _resize_short_side(mask.convert("L").resize(source.size, Image.NEAREST), size, Image.NEAREST)
    w, h = src.size
    u_x, u_y, u_flip = rng.random(3)
    if cfg.random_crop:
        left, top = int(u_x * (w - size + 1)), int(u_y * (h - size + 1))
    else:
        left, top = (w - size) // 2, (h - size) // 2
    box = (left, top, left + size, top + size)
    src, tgt = src.crop(box), tgt.crop(box)
    msk = msk.crop(box) if msk is not None else None

    want_flip = bool(cfg.flip != "off" and u_flip < cfg.flip_probability)
    if want_flip and cfg.flip == "skip" and is_spatial(instruction):
        want_flip = False
    if want_flip:
        src = src.transpose(Image.FLIP_LEFT_RIGHT)
        tgt = tgt.transpose(Image.FLIP_LEFT_RIGHT)
        msk = msk.transpose(Image.FLIP_LEFT_RIGHT) if msk is not None else None
        if cfg.flip == "swap":
            instruction = swap_left_right(instruction)
    return Augmented(src, tgt, msk, instruction, want_flip)
