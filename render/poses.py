"""Rigid-pose helpers: quaternions (w, x, y, z) and world-space geometry of scene objects."""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from simedit.render.catalog.model import Catalog
from simedit.render.scene import Quat, SceneObject


def to_rotation(q: Quat) -> Rotation:
    w, x, y, z = q
    return Rotation.from_quat([x, y, z, w])


def to_quat(r: Rotation) -> Quat:
    x, y, z, w = r.as_quat()
    if w < 0:  # one canonical sign so equal rotations serialize equally
        x, y, z, w = -x, -y, -z, -w
    return (float(w), float(x), float(y), float(z))


def yaw_quat(angle: float) -> Quat:
    return to_quat(Rotation.from_rotvec([0.0, 0.0, angle]))


def rotate_world(q: Quat, axis: str | np.ndarray, angle: float) -> Quat:
    """Rotate an orientation about a world axis ("x", "y", "z" or a vector) through the center."""
    vec = {"x": (1.0, 0, 0), "y": (0, 1.0, 0), "z": (0, 0, 1.0)}[axis] if isinstance(axis, str) else axis
    turn = Rotation.from_rotvec(np.asarray(vec, float) / np.linalg.norm(vec) * angle)
    return to_quat(turn * to_rotation(q))


def angle_between(a: Quat, b: Quat) -> float:
    return float((to_rotation(a).inv() * to_rotation(b)).magnitude())


def quat_matrix(q: Quat) -> np.ndarray:
    """3x3 rotation matrix of a unit quaternion (w, x, y, z); plain numpy, it is on hot paths."""
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def world_hull(obj: SceneObject, catalog: Catalog) -> np.ndarray:
    """Convex-hull vertices of the object in world coordinates (N, 3)."""
    hull = catalog.geometry(obj.asset_id).hull * obj.scale
    return hull @ quat_matrix(obj.rotation).T + np.asarray(obj.position)


def footprint_radius(obj: SceneObject, catalog: Catalog) -> float:
    """Radius of the smallest floor circle around the object's center that holds its hull."""
    pts = world_hull(obj, catalog)
    return float(np.max(np.linalg.norm(pts[:, :2] - np.asarray(obj.position[:2]), axis=1)))


def resting_height(obj: SceneObject, catalog: Catalog, clearance: float = 0.002) -> float:
    """Center height that puts the object's lowest point `clearance` above the floor."""
    pts = world_hull(obj, catalog)
    return float(obj.position[2] - pts[:, 2].min() + clearance)
