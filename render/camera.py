"""Pinhole projection that matches the Blender camera the renderer builds.

The renderer sets a perspective camera with sensor fit HORIZONTAL and angle `Camera.fov`,
oriented by `basis()`; this module is the single definition of "left", "right", "in front"
and "behind" for planning and verification: directions are judged in the camera's frame.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from simedit.render.scene import Camera

WORLD_UP = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class CameraBasis:
    right: np.ndarray  # camera +X in world
    up: np.ndarray  # camera +Y in world
    forward: np.ndarray  # viewing direction (camera -Z) in world


def basis(cam: Camera) -> CameraBasis:
    return _basis(tuple(cam.position), tuple(cam.look_at))


@lru_cache(maxsize=256)  # a camera is projected through many times per sample
def _basis(position: tuple[float, ...], look_at: tuple[float, ...]) -> CameraBasis:
    forward = np.asarray(look_at, float) - np.asarray(position, float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, WORLD_UP)
    norm = np.linalg.norm(right)
    if norm < 1e-9:  # looking straight down: pick world +X as image right
        right = np.array([1.0, 0.0, 0.0])
    else:
        right /= norm
    up = np.cross(right, forward)
    return CameraBasis(right=right, up=up, forward=forward)


def rotation_matrix(cam: Camera) -> np.ndarray:
    """3x3 world-from-camera rotation in Blender's camera convention (looks along -Z, +Y up)."""
    b = basis(cam)
    return np.stack([b.right, b.up, -b.forward], axis=1)


def focal_px(cam: Camera) -> float:
    return (cam.width / 2.0) / np.tan(cam.fov / 2.0)


def to_camera(cam: Camera, points: np.ndarray) -> np.ndarray:
    """World points (N, 3) -> camera coordinates (N, 3) as (right, up, depth)."""
    b = basis(cam)
    d = np.atleast_2d(np.asarray(points, float)) - np.asarray(cam.position, float)
    return np.stack([d @ b.right, d @ b.up, d @ b.forward], axis=1)


def project(cam: Camera, points: np.ndarray) -> np.ndarray:
    """World points (N, 3) -> pixel coordinates (N, 2) as (column, row), row 0 at the top.

    Points behind the camera get NaN."""
    c = to_camera(cam, points)
    f = focal_px(cam)
    depth = np.where(c[:, 2] > 1e-6, c[:, 2], np.nan)
    col = cam.width / 2.0 + f * c[:, 0] / depth
    row = cam.height / 2.0 - f * c[:, 1] / depth
    return np.stack([col, row], axis=1)


def depth(cam: Camera, points: np.ndarray) -> np.ndarray:
    """Distance along the viewing direction (N,): smaller is closer to the camera."""
    return to_camera(cam, points)[:, 2]


def ground_directions(cam: Camera) -> dict[str, np.ndarray]:
    """Unit vectors on the floor plane for the camera-frame words used in instructions."""
    b = basis(cam)
    right = np.array([b.right[0], b.right[1], 0.0])
    right /= np.linalg.norm(right)
    away = np.array([b.forward[0], b.forward[1], 0.0])
    n = np.linalg.norm(away)
    away = away / n if n > 1e-9 else np.array(-np.cross(right, WORLD_UP))
    return {"right": right, "left": -right, "behind": away, "in_front": -away}


def in_view(cam: Camera, points: np.ndarray, margin_px: float = 0.0) -> bool:
    """True when every point projects inside the image with `margin_px` to spare."""
    px = project(cam, points)
    if np.isnan(px).any():
        return False
    return bool(
        (px[:, 0] >= margin_px).all()
        and (px[:, 0] <= cam.width - margin_px).all()
        and (px[:, 1] >= margin_px).all()
        and (px[:, 1] <= cam.height - margin_px).all()
    )


def projected_area(cam: Camera, points: np.ndarray) -> float:
    """Pixels covered by the convex hull of the projected points (0 if any is behind the
    camera): an object's area in the image if nothing hid it, from its hull's vertices."""
    px = project(cam, points)
    if np.isnan(px).any() or len(px) < 3:
        return 0.0
    px = np.clip(px, [0, 0], [cam.width, cam.height])  # the part outside the frame is not seen
    try:
        return float(ConvexHull(px).volume)  # in 2D the hull's "volume" is its area
    except QhullError:  # all on a line
        return 0.0
