"""The color word of a textured model, robust to the shading baked into scanned textures.

Scans bake their lighting into the texture: the same teal mug has texels from dark teal in its
shadows to pale teal at its rim, and averaging or nearest-neighbour voting in RGB pulls it to
"gray". In OKLab (Ottosson 2020: a linear map, a cube root, a linear map) a change of brightness
by a factor k scales L, a and b all by k^(1/3), so the chroma direction (a/L, b/L) of a texel is
the same in light and in shadow. So:

1. every texel votes, by its chroma direction, for the nearest palette color (`chroma_distance`:
   hue first; a washed-out texel still counts for its color); near-neutral texels (saturation
   |(a, b)|/L below NEUTRAL_SATURATION) vote for the neutral group. Palette colors with almost
   the same direction form one group: teal/turquoise, blue/navy, red/maroon, orange/brown,
   yellow/gold, white/silver/gray/black (brightness is what tells them apart);
2. the group with the largest area-weighted share wins; under MIN_SHARE the object is
   multicolored (no color word);
3. inside the group, the object's own brightness decides: a high percentile of its texels'
   lightness (the lit side, where the baked shading is weakest), compared with each member's
   lightness under typical baked shading (SHADING).

Texels too dark to show a direction (deep shadow) do not vote, unless most of the object is
that dark (then it is black or navy: a dark object).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from simedit.render.common.paths import CATALOG_DIR
from simedit.render.common.yaml_file import read_yaml

COLOR_WORDS_FILE = CATALOG_DIR / "color_words.yaml"
NEUTRAL_SATURATION = 0.03  # |(a, b)| / L below this: a neutral (white, gray, black, silver) texel
GROUP_DISTANCE = 0.05  # palette colors closer than this (`chroma_distance`) form one group
# baked ambient light also washes colors out: a texel less saturated than a color is only
# weakly held against it, a more saturated one strongly
DESATURATION_WEIGHT = 0.5
OVERSATURATION_WEIGHT = 1.0
MIN_SHARE = 0.5  # the dominant group's share of the surface, else multicolored
DARK_L = 0.18  # OKLab lightness under which a texel's direction is noise
BRIGHT_PERCENTILE = 85  # the lit side of the object
SHADING = 0.93  # lit texels of a scan are about this bright relative to the true color (OKLab L)

# OKLab: linear sRGB -> LMS -> cube root -> Lab (Björn Ottosson, "A perceptual color space for
# image processing", 2020; the published matrices)
_M1 = np.array([[0.4122214708, 0.5363325363, 0.0514459929],
                [0.2119034982, 0.6806995451, 0.1073969566],
                [0.0883024619, 0.2817188376, 0.6299787005]])
_M2 = np.array([[0.2104542553, 0.7936177850, -0.0040720468],
                [1.9779984951, -2.4285922050, 0.4505937099],
                [0.0259040371, 0.7827717662, -0.8086757660]])


def srgb_to_linear(srgb01: np.ndarray) -> np.ndarray:
    c = np.clip(np.asarray(srgb01, float), 0.0, 1.0)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def oklab(linear_rgb: np.ndarray) -> np.ndarray:
    """(..., 3) linear RGB -> (..., 3) OKLab (L in 0..1)."""
    return np.cbrt(np.clip(np.asarray(linear_rgb, float), 0.0, None) @ _M1.T) @ _M2.T


def direction(lab: np.ndarray) -> np.ndarray:
    """Chroma direction (a/L, b/L): the same for a color in light and in shadow."""
    lab = np.asarray(lab, float)
    return lab[..., 1:] / np.maximum(lab[..., :1], 1e-6)


def chroma_distance(dirs: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """(N, K) distance from texel directions (N, 2) to color directions (K, 2): the hue difference
    as an arc at the color's saturation, plus the saturation difference (a washed-out texel is
    still its color: DESATURATION_WEIGHT)."""
    s_t = np.linalg.norm(dirs, axis=-1)[:, None]
    s_p = np.linalg.norm(ref, axis=-1)[None, :]
    dh = np.angle(np.exp(1j * (np.arctan2(dirs[:, 1], dirs[:, 0])[:, None] - np.arctan2(ref[:, 1], ref[:, 0])[None, :])))
    ds = np.where(s_t < s_p, DESATURATION_WEIGHT * (s_p - s_t), OVERSATURATION_WEIGHT * (s_t - s_p))
    return np.hypot(np.abs(dh) * s_p, ds)


@lru_cache(maxsize=1)
def color_words() -> dict[str, tuple[float, float, float]]:
    """The shipped color words (word -> linear RGB)."""
    raw = read_yaml(COLOR_WORDS_FILE, "color words") or {}
    return {str(k): tuple(float(c) for c in v) for k, v in (raw.get("colors") or {}).items()}


@dataclass(frozen=True)
class _Palette:
    words: list[str]
    lab: np.ndarray  # (K, 3)
    dirs: np.ndarray  # (K, 2)
    neutral: np.ndarray  # (K,) bool
    group: np.ndarray  # (K,) group index per word


def _prepare(palette: dict[str, Any]) -> _Palette:
    words = list(palette)
    lab = oklab(np.asarray([palette[w] for w in words], float))
    dirs = direction(lab)
    neutral = np.linalg.norm(dirs, axis=1) < NEUTRAL_SATURATION
    group = np.full(len(words), -1)
    group[neutral] = 0
    next_group = 1
    # complete linkage: a color joins a group only if it is close to every member (no chains
    # from yellow through olive to green)
    for i in np.argsort(-np.linalg.norm(dirs, axis=1)):
        if neutral[i]:
            continue
        for g in range(1, next_group):
            members = np.flatnonzero(group == g)
            # the paler color seen as a washed-out texel of the stronger one
            d = np.minimum(chroma_distance(dirs[members], dirs[i:i + 1])[:, 0], chroma_distance(dirs[i:i + 1], dirs[members])[0])
            if np.all(d < GROUP_DISTANCE):
                group[i] = g
                break
        else:
            group[i] = next_group
            next_group += 1
    return _Palette(words, lab, dirs, neutral, group)


@dataclass
class ColorResult:
    word: str | None  # None: multicolored (no group covers MIN_SHARE)
    share: float  # the winning group's share of the surface
    shares: dict[str, float] = field(default_factory=dict)  # the three largest groups, named by their best word
    lightness: float = 0.0  # OKLab L of the lit side


def classify(texels_srgb: np.ndarray, weights: np.ndarray, palette: dict[str, Any]) -> ColorResult:
    """The palette word for texels (N, 3) in sRGB 0..1 with area weights (N,). See the module doc."""
    pal = _prepare(palette)
    lab = oklab(srgb_to_linear(texels_srgb))
    w = np.asarray(weights, float)
    L = lab[:, 0]
    dirs = direction(lab)
    sat = np.linalg.norm(dirs, axis=1)
    dark = L < DARK_L
    if w[dark].sum() > 0.5 * w.sum():  # a dark object: its dark texels are its color
        dark = np.zeros_like(dark)
    voting = ~dark
    chromatic_words = np.flatnonzero(~pal.neutral)
    group = np.zeros(len(L), int)  # neutral group by default
    colorful = voting & (sat >= NEUTRAL_SATURATION)
    if colorful.any() and len(chromatic_words):
        d = chroma_distance(dirs[colorful], pal.dirs[chromatic_words])
        group[colorful] = pal.group[chromatic_words[np.argmin(d, axis=1)]]
    n_groups = int(pal.group.max()) + 1
    share = np.bincount(group[voting], weights=w[voting], minlength=n_groups)
    total = max(float(share.sum()), 1e-12)
    best = int(np.argmax(share))
    members = np.flatnonzero(pal.group == best)
    in_group = voting & (group == best)
    lit = float(np.percentile(L[in_group], BRIGHT_PERCENTILE)) if in_group.any() else float(np.median(L))
    if len(members):  # members share a direction: brightness tells them apart
        word = pal.words[int(members[np.argmin(np.abs(SHADING * pal.lab[members, 0] - lit))])]
    else:
        word = None

    def name(g: int) -> str:
        ms = np.flatnonzero(pal.group == g)
        return word if g == best and word else (pal.words[int(ms[0])] if len(ms) else "?")

    top = {name(int(g)): round(float(share[g] / total), 3) for g in np.argsort(-share)[:3] if share[g] > 0}
    frac = float(share[best] / total)
    return ColorResult(word if frac >= MIN_SHARE else None, frac, top, round(lit, 3))


def texture_texels(mesh: Any, image: Any, max_faces: int = 20000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """sRGB texels (0..1) under the mesh (face-centroid UVs, area-weighted) or, without UVs,
    every pixel of a 64x64 copy. The texture stays 8-bit: a 4k texture is 50 MB as bytes."""
    img = np.asarray(image.convert("RGB"))
    h, w = img.shape[:2]
    uv = getattr(getattr(mesh, "visual", None), "uv", None)
    if uv is not None and len(uv) == len(mesh.vertices) and len(mesh.faces):
        faces = np.asarray(mesh.faces)
        if len(faces) > max_faces:
            faces = faces[np.random.default_rng(seed).choice(len(faces), max_faces, replace=False)]
        c = np.asarray(uv, float)[faces].mean(axis=1) % 1.0
        tri = np.asarray(mesh.vertices, float)[faces]
        area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
        px = np.clip((c[:, 0] * (w - 1)).round().astype(int), 0, w - 1)
        py = np.clip(((1 - c[:, 1]) * (h - 1)).round().astype(int), 0, h - 1)
        return img[py, px].astype(float) / 255.0, area
    small = np.asarray(image.convert("RGB").resize((64, 64)), float) / 255.0
    flat = small.reshape(-1, 3)
    return flat, np.ones(len(flat))
