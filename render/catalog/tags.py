"""Infer catalog tags (`can-fall`, `round`, `invariant`, `support`) from an asset's geometry.

Everything works in the asset frame (meters, Z up, bounding box centered: what
`compute_geometry` in render/catalog/model.py produces), on a point cloud made of the render
mesh's vertices plus area-uniform surface samples (vertices alone miss big flat faces; samples
alone miss thin wires such as a bucket's bail handle).

Rules and thresholds (each result is returned with the measured evidence, so a user can see
why a tag was given and override it in the YAML):

- `can-fall`: a person would knock it over, and the fall shows (`stability.py` has the physics).
  Either the push test fells it visibly from MIN_FALLS (2) of its 8 directions (a fingertip
  sweeping through it at 80% of its height in PyBullet; felled = up axis tilted more than 65
  degrees at rest), or tipping it is cheap and ends somewhere: its hull has a stable side pose
  (up axis at SIDE_POSE_DEGREES, 70 to 110) that looks different, standing is a rest pose too,
  and tipping it over its foot's edge towards that side raises its centre of mass by at most
  MAX_TIP_RISE (0.12) of its size (wide mugs, which a slow sweep only slides). A fall "looks
  different" when the fallen shape is not the upright one under any Z turn (`fallen_spread` >=
  FALL_VISIBLE, 0.08 of its size, the rotation edit's own symmetry tolerance): a cube landing on
  another face, an egg or a pencil rolling, show nothing. On the built-in catalog the closest misses are a 20 x 15 x 10 cm box
  (rise 0.153) and a bowl (rise 0.096 but no side pose: it rolls onto its rim); the ratio the
  tag used to be (height / narrowest footprint width) stays in the evidence.
- `round`: the shape maps onto itself under every Z turn in ROUND_ANGLES_DEG (15-degree steps):
  the spread a turn adds (see `symmetry_spread`; minus the sampling floor, the spread between
  two independent point clouds of the unturned surface) stays below ROUND_TOLERANCE (0.03) of
  the object's horizontal size. A mug's handle, a box's corners, a bucket's handle fail.
  On the built-in catalog round shapes measure <= 0.002 and the closest non-round one (an egg
  on its side) 0.07.
- `invariant`: the same under INVARIANT_ROTATIONS random 3D rotations (seeded), added spread
  below INVARIANT_TOLERANCE (0.03) of the object's size (balls measure <= 0.002; the next
  closest, a soup can, 0.22). Invariant implies round and excludes can-fall and support.
- `support`: a flat, horizontal top another object can stand on (books, boxes, a lidded jar).
  `top_surface` measures the SURFACE, not the convex hull (an open mug's or bowl's hull has a
  flat top, the mug has nothing to stand on): the surface points within TOP_TOLERANCE_M or
  TOP_TOLERANCE_FRAC of the height below the top, rasterised in XY on a TOP_CELL_M grid. Support
  needs coverage (share of the grid cells inside the top's XY hull that hold a point: 1 for a
  lid, low for a rim ring) >= SUPPORT_COVERAGE (0.85), a top area >= SUPPORT_MIN_AREA_M2
  (0.0012 m^2, about 3.5 x 3.5 cm), a top inradius >= SUPPORT_MIN_INRADIUS_M (1 cm: a lying
  pencil's flat facet is too thin) and a top covering >= SUPPORT_MIN_SHARE (0.5) of the
  footprint (a ball's or bottle's cap is not a table). On the built-in catalog every support
  has coverage 1.0 and the closest non-support a donut 0.74; the smallest support, the toy
  cube, has 0.0015 m^2 and the 3 cm wooden block 0.0009 m^2.

`symmetry_spread` is the shared helper: `render/plan/edits/rotation.py` (`symmetric_under`, a
KD-tree Hausdorff test with its own 0.08 tolerance) asks the same question for single turns.
`top_surface` is public too: the planner asks whether one object's footprint fits on another's
top (its `inradius_m`). This module imports no edit code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial import ConvexHull, QhullError, cKDTree
from scipy.spatial.transform import Rotation

from simedit.render.catalog.model import TAGS

MIN_FALLS = 2  # of the push directions (stability.PUSH_DIRECTIONS) that must fell it visibly
MAX_TIP_RISE = 0.12  # centre-of-mass rise over the foot's edge, x size: "cheap to tip"
SIDE_POSE_DEGREES = (70.0, 110.0)  # a resting pose this far from upright is "on its side"
UPRIGHT_DEGREES = 5.0  # a resting pose this close to the catalogued one: the object stands
FALL_VISIBLE = 0.08  # fallen shape vs upright, spread / size: the rotation edit's own symmetry tolerance
FALL_SPREAD_CAP = 0.25  # spreads are measured up to this (x size): the decision is at FALL_VISIBLE
FALL_PROBE_POINTS = 600  # points turned when asking whether a fallen pose looks different...
FALL_REFERENCE_POINTS = 3000  # ...against this many of the upright surface
ROUND_TOLERANCE = 0.03
INVARIANT_TOLERANCE = 0.03
ROUND_ANGLES_DEG = (45, 90, 30, 60, 15, 75, 105, 120, 135, 150, 165, 180, 195, 210, 225, 240, 255, 270, 285, 300, 315, 330, 345)
INVARIANT_ROTATIONS = 12
SURFACE_SAMPLES = 8000
MAX_VERTICES = 4000
PERCENTILE = 99.5  # of point distances: robust to sampling voids, still sees a handle or a wire
# support: thresholds chosen on the built-in catalog (see the module docstring)
SUPPORT_COVERAGE = 0.85
SUPPORT_MIN_AREA_M2 = 0.0012
SUPPORT_MIN_INRADIUS_M = 0.01
SUPPORT_MIN_SHARE = 0.5
TOP_TOLERANCE_M = 0.003  # the top band: a scanned lid is not perfectly flat...
TOP_TOLERANCE_FRAC = 0.02  # ...and a tall one less so (of the height)
TOP_CELL_M = 0.005  # raster of the top region (coverage)
TOP_POINTS_PER_CELL = 16  # sampling density: an uncovered cell of a closed lid has odds e^-16
TOP_MAX_SAMPLES = 400_000  # beyond it (a huge object) the grid coarsens instead


def _can_fall_rule() -> str:
    from simedit.render.catalog import stability as st

    return (f"a fingertip sweeping through it at {st.PUSH_HEIGHT:.0%} of its height leaves it tilted > "
            f"{st.FELL_DEGREES:g} deg, looking different, from >= {MIN_FALLS} of {st.PUSH_DIRECTIONS} directions "
            f"(PyBullet); or it has a side pose ({SIDE_POSE_DEGREES[0]:g}-{SIDE_POSE_DEGREES[1]:g} deg) that looks "
            f"different and tipping it raises its centre by <= {MAX_TIP_RISE} x its size")


TAG_RULES = {
    "can-fall": _can_fall_rule(),
    "round": f"added spread under Z turns every 15 deg < {ROUND_TOLERANCE} x horizontal size",
    "invariant": f"added spread under {INVARIANT_ROTATIONS} random rotations < {INVARIANT_TOLERANCE} x size",
    "support": (f"surface within max({TOP_TOLERANCE_M * 1000:g} mm, {TOP_TOLERANCE_FRAC:.0%} of height) of the top "
                f"covers >= {SUPPORT_COVERAGE} of its XY hull, area >= {SUPPORT_MIN_AREA_M2} m^2, inradius >= "
                f"{SUPPORT_MIN_INRADIUS_M} m, >= {SUPPORT_MIN_SHARE} of the footprint; never invariant"),
}


@dataclass
class TagResult:
    tags: list[str]
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TopSurface:
    """The region of a mesh's surface near its top, seen from above (meters)."""

    height_m: float  # top above the bounding box's bottom: where an object put on it rests
    area_m2: float  # area of the top region's XY convex hull
    coverage: float  # share of that hull's grid cells holding surface: ~1 a lid, low a rim ring
    inradius_m: float  # largest circle around center_xy inside the hull: what fits on top
    center_xy: tuple[float, float]  # the hull's centroid, in the frame of the vertices given
    footprint_m2: float  # area of the whole mesh's XY convex hull

    @property
    def share(self) -> float:
        """How much of the footprint the top covers (a cone's tip: ~0)."""
        return self.area_m2 / self.footprint_m2 if self.footprint_m2 > 0 else 0.0


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


def _hull_2d(xy: np.ndarray) -> ConvexHull | None:
    try:
        return ConvexHull(xy) if len(xy) >= 3 else None
    except (QhullError, ValueError):  # collinear or coincident points: no area
        return None


def _polygon_centroid(poly: np.ndarray) -> np.ndarray:
    """Area centroid of a simple polygon (vertices in order)."""
    x, y = poly[:, 0], poly[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    area = cross.sum() / 2
    if abs(area) < 1e-18:
        return poly.mean(axis=0)
    return np.array([((x + xn) * cross).sum(), ((y + yn) * cross).sum()]) / (6 * area)


def top_surface(vertices: np.ndarray, faces: np.ndarray | None, seed: int = 0) -> TopSurface:
    """Measure the top of a Z-up mesh in meters on its surface: the points (vertices and
    area-uniform samples of the faces that reach the top band) within max(TOP_TOLERANCE_M,
    TOP_TOLERANCE_FRAC x height) of the highest point. Without faces only the vertices count,
    so coverage is low wherever they are sparse."""
    verts = np.asarray(vertices, float)
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    height = float(hi[2] - lo[2])
    floor_z = hi[2] - max(TOP_TOLERANCE_M, TOP_TOLERANCE_FRAC * height)
    foot = _hull_2d(verts[:, :2])
    footprint = float(foot.volume) if foot is not None else 0.0  # a 2D hull's "volume" is its area
    cell, near, samples = TOP_CELL_M, None, 0
    if faces is not None and len(faces):
        faces = np.asarray(faces, int)
        near = faces[verts[faces][:, :, 2].max(axis=1) >= floor_z]  # only faces reaching the band
        tri = verts[near]
        area = float(0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum())
        # dense enough that every grid cell of a closed lid holds points
        cell = max(TOP_CELL_M, float(np.sqrt(TOP_POINTS_PER_CELL * area / TOP_MAX_SAMPLES)))
        samples = int(max(1000, TOP_POINTS_PER_CELL * area / cell**2))
    points = point_cloud(verts, near, samples=samples, seed=seed)
    top = points[points[:, 2] >= floor_z][:, :2]
    hull = _hull_2d(top)
    if hull is None:
        c = top.mean(axis=0) if len(top) else (lo[:2] + hi[:2]) / 2
        return TopSurface(height, 0.0, 0.0, 0.0, (float(c[0]), float(c[1])), footprint)
    center = _polygon_centroid(top[hull.vertices])
    normals, offsets = hull.equations[:, :2], hull.equations[:, 2]  # inside: n.x + d <= 0, |n| = 1
    inradius = max(0.0, float(-(normals @ center + offsets).max()))
    # coverage: cells whose centre lies inside the hull, and which of them hold a point
    origin = top.min(axis=0)
    shape = np.maximum(1, np.ceil((top.max(axis=0) - origin) / cell).astype(int))
    held = np.zeros(shape, bool)
    ij = np.minimum(((top - origin) / cell).astype(int), shape - 1)
    held[ij[:, 0], ij[:, 1]] = True
    gx, gy = np.meshgrid(*(origin[k] + (np.arange(shape[k]) + 0.5) * cell for k in range(2)), indexing="ij")
    centres = np.stack([gx.ravel(), gy.ravel()], axis=1)
    inside = ((centres @ normals.T + offsets) <= 1e-12).all(axis=1).reshape(shape)
    coverage = float(held[inside].sum() / inside.sum()) if inside.any() else 0.0
    return TopSurface(height, float(hull.volume), coverage, inradius, (float(center[0]), float(center[1])), footprint)


def is_support(top: TopSurface) -> bool:
    """The `support` rule on a measured top (without the invariant exclusion)."""
    return (top.coverage >= SUPPORT_COVERAGE and top.area_m2 >= SUPPORT_MIN_AREA_M2
            and top.inradius_m >= SUPPORT_MIN_INRADIUS_M and top.share >= SUPPORT_MIN_SHARE)


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
    fall: dict[str, Any] = {}
    if not is_invariant:  # a ball rolls away from any push and looks the same
        fall = _can_fall(verts, faces, probe, tree, size, seed)
    can_fall = bool(fall.get("can_fall")) and not is_invariant
    top = top_surface(verts, faces, seed=seed)
    support = is_support(top) and not is_invariant

    tags = [t for t, on in (("can-fall", can_fall), ("round", is_round), ("invariant", is_invariant),
                            ("support", support)) if on]
    evidence = {
        "height_m": round(height, 4),
        "min_width_m": round(width, 4),
        "height_over_width": round(ratio, 3),
        **{k: v for k, v in fall.items() if k != "can_fall"},
        "sampling_floor": round(floor / size, 4),
        "z_turn_spread": round(z_spread, 4),
        "rotation_spread": None if inv_spread is None else round(inv_spread, 4),
        "top_area_m2": round(top.area_m2, 5),
        "top_coverage": round(top.coverage, 3),
        "top_inradius_m": round(top.inradius_m, 4),
        "top_footprint_share": round(top.share, 3),
        "thresholds": {"can_fall_min_falls": MIN_FALLS, "fall_visible": FALL_VISIBLE, "max_tip_rise": MAX_TIP_RISE,
                       "round": ROUND_TOLERANCE,
                       "invariant": INVARIANT_TOLERANCE, "support_coverage": SUPPORT_COVERAGE,
                       "support_min_area_m2": SUPPORT_MIN_AREA_M2, "support_min_inradius_m": SUPPORT_MIN_INRADIUS_M,
                       "support_min_share": SUPPORT_MIN_SHARE},
    }
    return TagResult(tags=tags, evidence=evidence)


def _recentred_distance(points: np.ndarray, tree: cKDTree, rotation: Rotation, cap: float) -> float:
    pts = rotation.apply(points)
    pts -= (pts.min(axis=0) + pts.max(axis=0)) / 2  # compare shapes, not where they rolled to
    d = tree.query(pts, distance_upper_bound=cap)[0]  # far points cost the tree most: stop at the cap
    return float(np.percentile(np.minimum(d, cap), PERCENTILE))


def fallen_spread(probe: np.ndarray, tree: cKDTree, turn: Rotation, size: float) -> float:
    """How different a fallen pose looks: the spread between the turned shape and the upright
    one (`tree`, centred on its bounding box), minimized over Z turns (a fallen object can face
    any way), less the sampling floor, as a fraction of `size`."""
    cap = FALL_SPREAD_CAP * size
    floor = _recentred_distance(probe, tree, Rotation.identity(), cap)

    def spread(theta: float) -> float:
        turned = Rotation.from_euler("z", theta, degrees=True) * turn
        return (_recentred_distance(probe, tree, turned, cap) - floor) / size

    found = {float(t): spread(t) for t in range(0, 360, 30)}
    for step, reach in ((5.0, 15.0), (1.0, 4.0)):  # narrow in where it came close
        best = min(found, key=found.get)
        if found[best] > 2.5 * FALL_VISIBLE:  # nowhere near the upright shape under any turn
            break
        for d in np.arange(-reach, reach + step / 2, step):
            found.setdefault(best + float(d), spread(best + float(d)))
    return max(min(found.values()), 0.0)


def _can_fall(verts: np.ndarray, faces: np.ndarray | None, probe: np.ndarray, tree: cKDTree, size: float,
              seed: int) -> dict[str, Any]:
    """The can-fall decision (see the module doc) and its evidence."""
    from simedit.render.catalog.stability import push_test, rest_poses, surface_centroid, tip_barrier

    rng = np.random.default_rng(seed + 2)
    small = probe[rng.choice(len(probe), min(FALL_PROBE_POINTS, len(probe)), replace=False)]
    tree = cKDTree(tree.data[rng.choice(len(tree.data), min(FALL_REFERENCE_POINTS, len(tree.data)), replace=False)])
    lo = verts.min(axis=0)
    standing = verts - np.array([0.0, 0.0, lo[2]])
    com = surface_centroid(standing, faces)
    push = push_test(standing, faces)
    visible, least = 0, None
    for turn, fell in zip(push.turns, push.fell):
        if fell and visible < MIN_FALLS:  # enough seen: the rest cannot change the answer
            spread = fallen_spread(small, tree, turn, size)
            least = spread if least is None else min(least, spread)
            visible += spread >= FALL_VISIBLE
    rise = tip_barrier(standing, com)
    out: dict[str, Any] = {
        "push_falls": f"{sum(push.fell)} of {len(push.fell)}",  # pushes that left it tilted over FELL_DEGREES
        "push_tilts_deg": push.tilts_deg,
        "fallen_spread": None if least is None else round(least, 4),  # least change a fall showed
        "tip_rise": round(rise / size, 4),  # centre-of-mass rise to tip it, x size
        "centroid_height_m": round(float(com[2]), 4),
    }
    if visible >= MIN_FALLS:
        out["can_fall"], out["can_fall_by"] = True, "push"
        return out
    poses = rest_poses(standing, com) if rise / size <= MAX_TIP_RISE else []
    if any(tilt <= UPRIGHT_DEGREES for tilt, _, _ in poses):  # it stands as catalogued (an egg does not)
        lo_deg, hi_deg = SIDE_POSE_DEGREES
        for tilt, rot, prob in sorted(poses, key=lambda p: -p[2]):
            if not lo_deg <= tilt <= hi_deg:
                continue
            # the rise over the foot's edge on the side it falls to (a lying pencil rolls
            # cheaply, but standing it on its end is no cheap fall)
            way = tip_barrier(standing, com, toward=rot.inv().apply([0.0, 0.0, 1.0])) / size
            if way <= MAX_TIP_RISE and fallen_spread(small, tree, rot, size) >= FALL_VISIBLE:
                out.update(can_fall=True, can_fall_by="tip energy", side_pose_deg=round(tilt, 1),
                           side_tip_rise=round(way, 4))
                return out
    out["can_fall"] = False
    return out


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
    """Union in the canonical order (the catalog's TAGS), keeping the catalog's rules:
    invariant -> round, and neither can-fall nor support."""
    got = set()
    for g in groups:
        got |= set(g or ())
    if "invariant" in got:
        got.add("round")
        got -= {"can-fall", "support"}
    return [t for t in TAGS if t in got]

