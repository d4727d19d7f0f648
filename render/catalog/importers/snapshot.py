"""A small picture of an imported model as the catalog will stand it: Z up, textured, seen from
the front and above. Drawn in numpy (dense surface samples, a depth buffer, Lambert shading),
not Blender: a few tens of milliseconds in an import worker, so the import report can show
every model of a 1,000-model import by category. A wrong up axis shows as a lying object, a
wrong texture mapping as noise; `catalog preview` renders the real thing with Cycles."""
from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

SIZE = 96  # pixels
SAMPLES = 40_000  # surface points: several per pixel of the object
AZIMUTH_DEG = 20.0
ELEVATION_DEG = 25.0
LIGHT = np.array([-0.4, -0.6, 0.7])
BACKGROUND = (255, 255, 255)
UNTEXTURED = np.array([0.72, 0.72, 0.74])


def _colors(mesh: Any, image: Any, face_ids: np.ndarray, bary: np.ndarray) -> np.ndarray:
    uv = getattr(getattr(mesh, "visual", None), "uv", None)
    if image is None or uv is None or len(uv) != len(mesh.vertices):
        return np.tile(UNTEXTURED, (len(face_ids), 1))
    img = np.asarray(image.convert("RGB"))
    h, w = img.shape[:2]
    tri_uv = np.asarray(uv, float)[np.asarray(mesh.faces)[face_ids]]
    p = np.einsum("nk,nkj->nj", bary, tri_uv) % 1.0
    px = np.clip((p[:, 0] * (w - 1)).round().astype(int), 0, w - 1)
    py = np.clip(((1 - p[:, 1]) * (h - 1)).round().astype(int), 0, h - 1)
    return img[py, px].astype(float) / 255.0


def snapshot(mesh: Any, vertices: np.ndarray, image: Any = None, size: int = SIZE, seed: int = 0) -> Image.Image:
    """`mesh` gives faces and UVs; `vertices` are its vertices in the asset frame (meters, Z up)."""
    verts = np.asarray(vertices, float)
    faces = np.asarray(mesh.faces, int)
    tri = verts[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = 0.5 * np.linalg.norm(normal, axis=1)
    rng = np.random.default_rng(seed)
    face_ids = rng.choice(len(faces), SAMPLES, p=area / area.sum()) if area.sum() > 0 else rng.integers(0, len(faces), SAMPLES)
    u, v = rng.random((2, SAMPLES))
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    bary = np.stack([1 - u - v, u, v], axis=1)
    pts = np.einsum("nk,nkj->nj", bary, tri[face_ids])
    n = normal[face_ids] / np.maximum(np.linalg.norm(normal[face_ids], axis=1, keepdims=True), 1e-12)
    az, el = np.radians(AZIMUTH_DEG), np.radians(ELEVATION_DEG)
    view = np.array([np.sin(az) * np.cos(el), -np.cos(az) * np.cos(el), np.sin(el)])  # towards the camera
    right = np.array([np.cos(az), np.sin(az), 0.0])
    up = np.cross(view, right)
    n = np.where((n @ view)[:, None] < 0, -n, n)  # scans have inward faces too: light the side we see
    shade = 0.35 + 0.65 * np.clip(n @ (LIGHT / np.linalg.norm(LIGHT)), 0, 1)
    rgb = np.clip(_colors(mesh, image, face_ids, bary) * shade[:, None], 0, 1)
    x, y, depth = pts @ right, pts @ up, pts @ view
    span = max(float(np.ptp(x)), float(np.ptp(y)), 1e-9) * 1.08
    cx, cy = (x.max() + x.min()) / 2, (y.max() + y.min()) / 2
    col = np.clip(((x - cx) / span + 0.5) * (size - 2), 0, size - 2).round().astype(int)
    row = np.clip((0.5 - (y - cy) / span) * (size - 2), 0, size - 2).round().astype(int)
    # each sample covers 2 x 2 pixels (no speckles between samples); the depth test keeps the nearest
    pixel = np.concatenate([(row + dr) * size + col + dc for dr in (0, 1) for dc in (0, 1)])
    depth, rgb = np.tile(depth, 4), np.tile(rgb, (4, 1))
    order = np.lexsort((-depth, pixel))  # per pixel, the point nearest the camera first
    first = np.ones(len(order), bool)
    first[1:] = pixel[order][1:] != pixel[order][:-1]
    out = np.full((size * size, 3), BACKGROUND, np.uint8)
    keep = order[first]
    out[pixel[keep]] = (rgb[keep] * 255).round().astype(np.uint8)
    return Image.fromarray(out.reshape(size, size, 3), "RGB")
