"""Flip-aware augmentation: resize (squash, as AURORA, or short side + crop), and a horizontal
flip applied identically to the source image, the target image and the edit mask.

Why flip-awareness matters: a horizontal flip mirrors the scene, so "move the cup to the left of
the plate" becomes false for the flipped pair, and so does "turn it clockwise". Generic editing
data rarely says left or right, so InstructPix2Pix flipped blindly; spatial edits (AURORA,
appendix F, and our location and rotation edits) are full of them, and a blind flip teaches the
model that "left" means either side. Policy `swap` (default) keeps the augmentation and rewrites
the instruction to match the mirrored images; `skip` does what AURORA did (no flip for spatial
instructions); `off` never flips.

A "right" that names no side is left alone and does not make an instruction spatial: "right side
up", "right now", "right away", "all right", "a right angle", and "right" as an intensifier
before a preposition ("right next to the bowl", "right behind it").

Resize: `squash` (AURORA, appendix F code: every image resized to resolution x resolution, the
whole frame kept, aspect ratio not) or `crop` (InstructPix2Pix: short side to the resolution,
then a square crop, random or centred; a 16:9 video frame loses 44% of its width).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

FlipPolicy = Literal["swap", "skip", "off"]
ResizeMode = Literal["squash", "crop"]

# Whole words only: \b keeps "bright", "upright", "alright", "copyright" from matching.
# Longer alternatives first so "leftmost" is not read as "left" + "most".
_SPATIAL = re.compile(
    r"\b(counter-clockwise|anti-clockwise|counterclockwise|anticlockwise|clockwise|"
    r"left-hand|right-hand|leftmost|rightmost|leftwards|rightwards|leftward|rightward|lefthand|righthand|"
    r"left|right)\b",
    re.IGNORECASE,
)
_SWAP = {
    "left": "right", "right": "left",
    "leftmost": "rightmost", "rightmost": "leftmost",
    "left-hand": "right-hand", "right-hand": "left-hand",
    "lefthand": "righthand", "righthand": "lefthand",
    "leftward": "rightward", "rightward": "leftward",
    "leftwards": "rightwards", "rightwards": "leftwards",
    "clockwise": "counterclockwise", "counterclockwise": "clockwise", "counter-clockwise": "clockwise",
    "anticlockwise": "clockwise", "anti-clockwise": "clockwise",
}
# "right" that names no side: what follows it, or what comes before it.
_NOT_A_SIDE_AFTER = re.compile(
    r"\s*(?:-\s*)?(?:now|away|angle|angles|angled|-angled|there|here|"
    r"next|beside|behind|above|below|under|underneath|over|across|along|against|at|by|in|into|inside|"
    r"on|onto|through|up|down|off|after|before|between|around|round|toward|towards|where)\b",
    re.IGNORECASE,
)
_SIDE_NOUN_AFTER = re.compile(r"\s+(?:of|side|edge|corner|half|end|hand)\b", re.IGNORECASE)


def _is_side(m: re.Match) -> bool:
    """Does this match name a horizontal direction? Only a bare "right" can fail to."""
    if m.group(0).lower() != "right":
        return True
    text, end = m.string, m.end()
    if re.match(r"\s*-?\s*(?:side|way)[\s-]+up\b", text[end:], re.IGNORECASE):  # "right side up"
        return False
    if _SIDE_NOUN_AFTER.match(text, end):  # "right of", "the right side": a side
        return True
    if _NOT_A_SIDE_AFTER.match(text, end):
        return False
    before = text[: m.start()]
    if re.search(r"\ball\s*$", before, re.IGNORECASE):  # "all right"
        return False
    return True


def is_spatial(instruction: str) -> bool:
    """True when the instruction names a horizontal direction or a turning sense (whole words)."""
    return any(_is_side(m) for m in _SPATIAL.finditer(instruction))


def _match_case(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def swap_left_right(instruction: str) -> str:
    """Mirror an instruction: left<->right (and -most, -hand, -ward(s) forms), clockwise <->
    counterclockwise, keeping capitalization; a "right" that names no side stays."""
    return _SPATIAL.sub(
        lambda m: _match_case(_SWAP[m.group(0).lower()], m.group(0)) if _is_side(m) else m.group(0), instruction)


@dataclass
class AugmentConfig:
    resolution: int = 256
    random_crop: bool = True
    flip: FlipPolicy = "swap"
    flip_probability: float = 0.5
    resize: ResizeMode = "squash"

    @property
    def deterministic_geometry(self) -> bool:
        """No random crop: the only random geometry is the flip (what a latent cache needs)."""
        return self.resize == "squash" or not self.random_crop


@dataclass
class Augmented:
    source: Image.Image
    target: Image.Image
    mask: Image.Image | None  # mode "L", 255 = edited region
    instruction: str
    flipped: bool


@dataclass
class Decision:
    """The random part of an augmentation, drawn before any image is touched."""

    u_x: float
    u_y: float
    flip: bool
    instruction: str


def decide(instruction: str, cfg: AugmentConfig, rng: np.random.Generator) -> Decision:
    """The rng draws are made in a fixed order whatever the policy, so data order and crops do not
    depend on the flip policy."""
    u_x, u_y, u_flip = rng.random(3)
    flip = bool(cfg.flip != "off" and u_flip < cfg.flip_probability)
    if flip and cfg.flip == "skip" and is_spatial(instruction):
        flip = False
    if flip and cfg.flip == "swap":
        instruction = swap_left_right(instruction)
    return Decision(float(u_x), float(u_y), flip, instruction)


def _resize_short_side(img: Image.Image, size: int, resample: int) -> Image.Image:
    w, h = img.size
    scale = size / min(w, h)
    return img.resize((max(size, round(w * scale)), max(size, round(h * scale))), resample)


def apply(source: Image.Image, target: Image.Image, mask: Image.Image | None, d: Decision,
          cfg: AugmentConfig) -> Augmented:
    size = cfg.resolution
    # The target (and mask) take the source's size first: pairs from video may differ slightly.
    src = source.convert("RGB")
    tgt = target.convert("RGB").resize(source.size, Image.BICUBIC) if target.size != source.size else target.convert("RGB")
    msk = mask.convert("L").resize(source.size, Image.NEAREST) if mask is not None else None
    if cfg.resize == "squash":
        src, tgt = (im.resize((size, size), Image.LANCZOS) for im in (src, tgt))
        msk = msk.resize((size, size), Image.NEAREST) if msk is not None else None
    else:
        src, tgt = (_resize_short_side(im, size, Image.BICUBIC) for im in (src, tgt))
        msk = _resize_short_side(msk, size, Image.NEAREST) if msk is not None else None
        w, h = src.size
        if cfg.random_crop:
            left, top = int(d.u_x * (w - size + 1)), int(d.u_y * (h - size + 1))
        else:
            left, top = (w - size) // 2, (h - size) // 2
        box = (left, top, left + size, top + size)
        src, tgt = src.crop(box), tgt.crop(box)
        msk = msk.crop(box) if msk is not None else None
    if d.flip:
        src = src.transpose(Image.FLIP_LEFT_RIGHT)
        tgt = tgt.transpose(Image.FLIP_LEFT_RIGHT)
        msk = msk.transpose(Image.FLIP_LEFT_RIGHT) if msk is not None else None
    return Augmented(src, tgt, msk, d.instruction, d.flip)


def augment(source: Image.Image, target: Image.Image, instruction: str, mask: Image.Image | None,
            cfg: AugmentConfig, rng: np.random.Generator) -> Augmented:
    """Resize (squash or short side + crop) and maybe flip; the same geometry for all images."""
    return apply(source, target, mask, decide(instruction, cfg, rng), cfg)
