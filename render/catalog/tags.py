"""Infer catalog tags (`can-fall`, `round`, `invariant`) from an asset's geometry.

Everything works in the asset frame (meters, Z up, bounding box centered: what
`render.catalog.compute_geometry` produces), on a point cloud made of the render mesh's
vertices plus area-uniform surface samples (vertices alone miss big flat faces; samples alone
miss thin wires such as a bucket's bail handle).

Rules and thresholds (each result is returned with the measured evidence, so a user can see
why a tag was given and override it in the YAML):

- `can-fall`: height / (narrowest horizontal width) >= CAN_FALL_RATIO (1.05). The narrowest
  width is the minimum caliper width of the footprint (the XY projection), so a mug's handle
  does not make it "wide". Equal height and width (a cube, a ball) is not a visible fall.
- `round`: the shape maps onto itself under every Z turn in ROUND_ANGLES_DEG (15-degree steps):
  the spread a turn adds (see `symmetry_spread`; minus the sampling floor, the spread between
  two independent point clouds of the unturned surface) stays below ROUND_TOLERANCE (0.03) of
  the object's horizontal size. A mug's handle, a box's corners, a bucket's handle fail.
  On the built-in catalog round shapes measure <= 0.002 and the closest non-round one (an egg
  on its side) 0.07.
- `invariant`: the same under INVARIANT_ROTATIONS random 3D rotations (seeded), added spread
  below INVARIANT_TOLERANCE (0.03) of the object's size (balls measure <= 0.002; the next
  closest, a soup can, 0.22). Invariant implies round and excludes can-fall.

`symmetry_spread` is the shared helper: `render/edits/rotation.py` (`symmetric_under`, a
KD-tree Hausdorff test with its own 0.08 tolerance) asks the same question for single turns.
This module imports no edit code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

CAN_FALL_RATIO = 1.05
ROUND_TOLERANCE = 0.03
INVARIANT_TOLERANCE = 0.03
ROUND_ANGLES_DEG = (45, 90, 30, 60, 15, 75, 105, 120, 135, 150, 165, 180, 195, 210, 225, 240, 255, 270, 285, 300, 315, 330, 345)
INVARIANT_ROTATIONS = 12
SURFACE_SAMPLES = 8000
MAX_VERTICES = 4000
PERCENTILE = 99.5  # of point distances: robust to sampling voids, still sees a handle or a wire

TAG_RULES = {
    "can-fall": f"height / narrowest footprint width >= {CAN_FALL_RATIO}",
    "round": f"added spread under Z turns every 15 deg < {ROUND_TOLERANCE} x horizontal size",
    "invariant": f"added spread under {INVARIANT_ROTATIONS} random rotations < {INVARIANT_TOLERANCE} x size",
}


@dataclass
class TagResult:
    tags: list[str]
    evidence: dict[str, Any] = field(default_factory=dict)


def point_cloud(vertices: np.ndarray, faces: np.ndarray | None = None, samples: int = SURFACE_SAMPLES,
                seed: int = 0) -> np.ndarray:
    """Vertices (subsampled to MAX_VERTICES) plus `samples` area-uniform surface points."""
    rng = np.random.default_rng(seed)
    verts = np.asarray(vertices, float)
    if len(verts) > MAX_VERTICES:
        verts = verts[rng.choice(len(verts), MAX_VERTICES, replace=False)]
    if faces is None or len(faces) == 0 or samples <= 0:
        return verts
    tri = np.asarray(vertices, float)[np.asarray(faces, int)]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    if not np.isfinite(area).all() or area.sum() <= 0:
        return verts
    idx = rng.choice(len(tri), samples, p=area / area.sum())
    u, v = rng.random((2, samples))
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    t = tri[idx]
    pts = t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0])
    return np.vstack([verts, pts])


def symmetry_spread(points: np.ndarray, rotation: Rotation, tree: cKDTree | None = None,
                    percentile: float = PERCENTILE) -> float:
    """How far the turned points lie from the original ones (both directions; a high
    percentile of nearest-neighbour distances, in the points' units). ~0 when the rotation
    maps the shape onto itself."""
    tree = tree if tree is not None else cKDTree(points)
    # one direction suffices: dist(R p, P) for R equals dist(p, R P) for R^-1, and callers
    # test a rotation together with its inverse (Z turns come in +-a pairs)
    return float(np.percentile(tree.query(rotation.apply(points))[0], percentile))


def min_caliper_width(xy: np.ndarray) -> float:
    """Narrowest width of a 2D point set over all directions (1-degree steps on its hull)."""
    from scipy.spatial import ConvexHull

    try:
        xy = xy[ConvexHull(xy).vertices]
    except Exception:  # degenerate (flat line): fall back to all points
        pass
    angles = np.radians(np.arange(0, 180, 1.0))
    dirs = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    proj = xy @ dirs.T
    return float((proj.max(axis=0) - proj.min(axis=0)).min())


def infer_tags(vertices: np.ndarray, faces: np.ndarray | None = None, seed: int = 0) -> TagResult:
    """Tags for a mesh in the asset frame (Z up, centered), with the measured evidence."""
    verts = np.asarray(vertices, float)
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    center = (lo + hi) / 2
    verts = verts - center
    ext = hi - lo
    height = float(ext[2])
    width = max(min_caliper_width(verts[:, :2]), 1e-9)
    ratio = height / width
    points = point_cloud(verts, faces, seed=seed)  # the reference cloud
    probe = point_cloud(verts, faces, seed=seed + 1)  # an independent cloud that is turned
    tree = cKDTree(points)
    horiz = float(max(ext[0], ext[1], 1e-9))
    size = float(max(ext.max(), 1e-9))
    # sampling alone leaves gaps between two clouds of the same surface: measure that floor
    # (no rotation) and count only the spread a rotation adds to it
    floor = symmetry_spread(probe, Rotation.identity(), tree)

    z_spread = 0.0
    for a in ROUND_ANGLES_DEG:  # stops at the first turn that shows (most shapes: at 45 degrees)
        turned = symmetry_spread(probe, Rotation.from_euler("z", a, degrees=True), tree)
        z_spread = max(z_spread, (turned - floor) / horiz, 0.0)
        if z_spread >= ROUND_TOLERANCE:
            break
    is_round = z_spread < ROUND_TOLERANCE
    rng = np.random.default_rng(seed)
    inv_spread = None
    is_invariant = False
    if is_round:  # a shape that is not round is not invariant: skip the 3D test
        rots = Rotation.random(INVARIANT_ROTATIONS, random_state=int(rng.integers(2**31)))
        inv_spread = max(0.0, max(symmetry_spread(probe, r, tree) - floor for r in rots) / size)
        is_invariant = inv_spread < INVARIANT_TOLERANCE
    can_fall = ratio >= CAN_FALL_RATIO and not is_invariant

    tags = [t for t, on in (("can-fall", can_fall), ("round", is_round), ("invariant", is_invariant)) if on]
    evidence = {
        "height_m": round(height, 4),
        "min_width_m": round(width, 4),
        "height_over_width": round(ratio, 3),
        "sampling_floor": round(floor / size, 4),
        "z_turn_spread": round(z_spread, 4),
        "rotation_spread": None if inv_spread is None else round(inv_spread, 4),
        "thresholds": {"can_fall_ratio": CAN_FALL_RATIO, "round": ROUND_TOLERANCE,
                       "invariant": INVARIANT_TOLERANCE},
    }
    return TagResult(tags=tags, evidence=evidence)


def asset_mesh(asset) -> tuple[np.ndarray, np.ndarray]:
    """(vertices, faces) of an Asset's render mesh in the asset frame."""
    import trimesh

    from simedit.render.catalog.model import compute_geometry

    geo = compute_geometry(asset)
    mesh = trimesh.load(asset.render_mesh, force="mesh", process=False)
    verts = trimesh.transform_points(np.asarray(mesh.vertices, float), geo.transform)
    return verts, np.asarray(mesh.faces, int)


def infer_asset_tags(asset, seed: int = 0) -> TagResult:
    verts, faces = asset_mesh(asset)
    return infer_tags(verts, faces, seed=seed)


def merge_tags(*groups: list[str] | set[str] | None) -> list[str]:
    """Union in the canonical order, keeping the catalog's rules: invariant -> round and not
    can-fall."""
    got = set()
    for g in groups:
        got |= set(g or ())
    if "invariant" in got:
        got.add("round")
        got.discard("can-fall")
    return [t for t in ("can-fall", "round", "invariant") if t in got]

