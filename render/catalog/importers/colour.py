"""The fixed color word of a textured model: the palette word covering most of its texture."""
from __future__ import annotations

from typing import Any

import numpy as np

from simedit.render.common.colorspace import linear_to_srgb


def dominant_color(texels_srgb: np.ndarray, weights: np.ndarray, palette: dict[str, list[float]]) -> tuple[str, float]:
    """Palette word covering the largest (weighted) share of texels; -> (word, share). Nearest in
    gamma-encoded sRGB (CIELAB's blues drift toward purple with this small palette)."""
    words = list(palette)
    srgb_p = linear_to_srgb(np.asarray([palette[w] for w in words], float)) / 255.0  # palette is linear
    srgb_t = np.clip(texels_srgb, 0, 1)
    nearest = np.argmin(((srgb_t[:, None, :] - srgb_p[None]) ** 2).sum(-1), axis=1)
    share = np.bincount(nearest, weights=weights, minlength=len(words))
    best = int(np.argmax(share))
    return words[best], float(share[best] / max(share.sum(), 1e-12))


def texture_texels(mesh: Any, image: Any, max_faces: int = 20000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """sRGB texels under the mesh (face-centroid UVs, area-weighted) or, without UVs, every pixel."""
    from PIL import Image

    img = np.asarray(image.convert("RGB"), float) / 255.0
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
        return img[py, px], area
    small = np.asarray(Image.fromarray((img * 255).astype(np.uint8)).resize((64, 64)), float) / 255.0
    flat = small.reshape(-1, 3)
    return flat, np.ones(len(flat))
