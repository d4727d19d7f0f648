"""How large an asset looks to the camera, measured once on its mesh: the area it shows, and how
much of its convex hull's outline the mesh itself fills.

The planner judges sizes on projected convex hulls (fast, and exact for boxes, cans and balls);
`silhouette_fill` corrects that for shapes whose hull is larger than what the render shows (a
ring's hole, a mug's handle gap), so an object the planner finds large enough is large enough
on the rendered mask too.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw
from scipy.spatial import ConvexHull

from simedit.render.catalog.geometry_cache import cached_measure
from simedit.render.catalog.model import Asset, Catalog
from simedit.render.catalog.tags import asset_mesh
from simedit.render.plan.sampling import scale_bounds
from simedit.render.poses import quat_matrix, yaw_quat
from simedit.render.spec import Spec

# m^2 (`seen_area`) an object the edit acts on should show: a tennis ball 0.0035; a pencil or an
# egg, under 0.002, is a few pixels on a table the camera frames whole
MIN_SHOWN_AREA = 0.003
SEEN_ELEVATION = math.radians(42)  # the middle of the shipped specs' camera elevations
YAWS = 4  # views averaged, over half a turn (an outline seen from behind is the mirror image)
RASTER = 96  # pixels across the outline when measuring the fill
FILL_VERSION = f"fill-{SEEN_ELEVATION:.4f}-{YAWS}-{RASTER}"  # a new cache entry when the measure changes

_seen: dict[Asset, float] = {}
_fill: dict[Asset, float] = {}


def _views(points: np.ndarray) -> list[np.ndarray]:
    """The points seen from SEEN_ELEVATION at YAWS yaws, orthographic: (N, 2) each."""
    up = np.array([0.0, math.sin(SEEN_ELEVATION), math.cos(SEEN_ELEVATION)])
    out = []
    for yaw in np.linspace(0, math.pi, YAWS, endpoint=False):
        pts = points @ quat_matrix(yaw_quat(float(yaw))).T
        out.append(np.c_[pts[:, 0], pts @ up])
    return out


def seen_area(asset: Asset, catalog: Catalog) -> float:
    """The area the upright asset shows a camera SEEN_ELEVATION above the floor, averaged over its
    yaw (m^2 at scale 1, orthographic, its hull's outline): how large it looks next to others."""
    if asset not in _seen:
        # a 2D hull's `volume` is its area
        _seen[asset] = float(np.mean([ConvexHull(v).volume for v in _views(catalog.geometry(asset.id).hull)]))
    return _seen[asset]


def shown(assets: list[Asset], spec: Spec, catalog: Catalog, min_area: float = MIN_SHOWN_AREA) -> list[Asset]:
    """The assets that show at least `min_area` at the smallest scale the spec draws, or all of
    them when none does: the ones an edit prefers to act on."""
    out = [a for a in assets if seen_area(a, catalog) * scale_bounds(spec, a, catalog)[0] ** 2 >= min_area]
    return out or list(assets)


def silhouette_fill(asset: Asset) -> float:
    """The share of its hull's outline that the upright mesh covers, averaged over its yaw (1 for
    convex shapes; a toy ring about 0.6). Kept on disk with the asset's geometry."""
    if asset not in _fill:
        _fill[asset] = cached_measure(asset, FILL_VERSION, lambda: _measure_fill(asset))
    return _fill[asset]


def _measure_fill(asset: Asset) -> float:
    vertices, faces = asset_mesh(asset)
    shares = []
    for view in _views(vertices):
        lo, span = view.min(axis=0), float(np.ptp(view, axis=0).max()) or 1.0
        px = (view - lo) / span * (RASTER - 1)
        hull, mesh = Image.new("1", (RASTER, RASTER)), Image.new("1", (RASTER, RASTER))
        ImageDraw.Draw(hull).polygon([tuple(p) for p in px[ConvexHull(px).vertices]], fill=1)
        draw = ImageDraw.Draw(mesh)
        for tri in px[faces]:
            draw.polygon([tuple(p) for p in tri], fill=1)
        shares.append(np.asarray(mesh).sum() / max(1, np.asarray(hull).sum()))
    return float(min(1.0, np.mean(shares)))
