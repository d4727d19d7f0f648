"""Image-space geometry of rendered pairs: instance masks, projected silhouettes and shadows.

Shared by the verifier (`verify.py`) and the edit kinds' claim checks on masks; no bpy.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial import ConvexHull

from simedit.render import camera as cam
from simedit.render.catalog.model import Catalog
from simedit.render.poses import world_hull
from simedit.render.region import shadow_casts
from simedit.render.scene import Scene, mask_value


def object_mask(mask: np.ndarray, uid: str) -> np.ndarray:
    return mask == mask_value(uid)


def centroid(m: np.ndarray) -> np.ndarray:
    """(column, row) mean of a non-empty boolean mask."""
    rows, cols = np.nonzero(m)
    return np.array([cols.mean(), rows.mean()])


def bottom_row(m: np.ndarray) -> int:
    """The lowest image row of a non-empty mask: where the object meets what it stands on."""
    return int(np.nonzero(m)[0].max())


def polygon_mask(points: np.ndarray, height: int, width: int) -> np.ndarray:
    """Rasterize the convex hull of 2D pixel points (column, row) into a boolean image."""
    out = np.zeros((height, width), bool)
    pts = points[~np.isnan(points).any(axis=1)]
    if len(pts) < 3:
        return out
    try:
        hull = pts[ConvexHull(pts).vertices]
    except Exception:  # degenerate (collinear) outline: nothing to fill
        return out
    # only the hull's bounding box can be inside
    c0, r0 = (max(0, int(np.floor(v))) for v in hull.min(axis=0))
    c1, r1 = min(width, int(np.ceil(hull[:, 0].max())) + 1), min(height, int(np.ceil(hull[:, 1].max())) + 1)
    if c1 <= c0 or r1 <= r0:
        return out
    rows, cols = np.mgrid[r0:r1, c0:c1]
    px, py = cols + 0.5, rows + 0.5
    inside = np.ones(px.shape, bool)
    n = len(hull)
    for i in range(n):  # counter-clockwise hull: inside is left of every edge
        (x0, y0), (x1, y1) = hull[i], hull[(i + 1) % n]
        inside &= (x1 - x0) * (py - y0) - (y1 - y0) * (px - x0) >= 0
    out[r0:r1, c0:c1] = inside
    return out


def silhouette_bound(scene: Scene, uid: str, catalog: Catalog) -> np.ndarray:
    """Pixels inside the projected convex hull of the object: its area if nothing hid it."""
    pts = cam.project(scene.camera, world_hull(scene.get(uid), catalog))
    return polygon_mask(pts, scene.camera.height, scene.camera.width)


def unoccluded_share(scene: Scene, uid: str, catalog: Catalog) -> float:
    """About how much of the object the camera sees past the objects in front of it (their
    convex hulls, so a little less than the render will show): the planner's occlusion check."""
    own = silhouette_bound(scene, uid, catalog)
    if not own.any():
        return 0.0
    centers = np.array([o.position for o in scene.objects], float)
    depths = dict(zip(scene.uids(), cam.depth(scene.camera, centers)))
    hidden = np.zeros_like(own)
    for o in scene.objects:
        if o.uid != uid and depths[o.uid] < depths[uid]:
            hidden |= silhouette_bound(scene, o.uid, catalog)
    return float((own & ~hidden).sum() / own.sum())


def planned_mask(scene: Scene, catalog: Catalog) -> np.ndarray:
    """An estimate of the instance mask the render will give, before rendering: each object's
    projected hull painted far to near (by its center's depth) with its mask value, 0 for the
    floor. The planner judges claims that read the masks on it (e.g. what an object stands on)."""
    out = np.zeros((scene.camera.height, scene.camera.width), np.uint16)
    centers = np.array([o.position for o in scene.objects], float).reshape(-1, 3)
    for k in np.argsort(-cam.depth(scene.camera, centers), kind="stable"):
        uid = scene.objects[int(k)].uid
        out[silhouette_bound(scene, uid, catalog)] = mask_value(uid)
    return out


def shadow_region(scene: Scene, uid: str, catalog: Catalog, lights: list = ()) -> np.ndarray:
    """Where the object and its shadows can fall: its hull pushed onto the floor along each sun
    and each of `lights` (the world map's bright spots the renderer found), and the floor around
    it out to its height (soft shadows from the sky). The same geometry as the region a target
    is rendered in (`region.shadow_casts`)."""
    out = np.zeros((scene.camera.height, scene.camera.width), bool)
    for pts in shadow_casts(scene.get(uid), scene, catalog, list(lights)):
        px = cam.project(scene.camera, pts)
        if not np.isnan(px).any():
            out |= polygon_mask(px, *out.shape)
    return out


MIN_APPEARANCE_CHANGE = 0.04  # mean |diff| inside a rotated/reshaped object's masks, 0..1
MIN_IOU_CHANGE = 0.92  # or its mask IoU between the images falls below this


def appearance_change(src: Any, tgt: Any, uid: str) -> tuple[float, float]:
    """(mask IoU between the images, mean |RGB diff| in 0..1 over the union of the masks): how
    visibly one object changed in place (a rotation, a shape swap)."""
    m0, m1 = object_mask(src.mask, uid), object_mask(tgt.mask, uid)
    iou = float((m0 & m1).sum() / max((m0 | m1).sum(), 1))
    both = m0 | m1
    change = float(np.abs(src.rgb[both].astype(float) - tgt.rgb[both].astype(float)).mean() / 255.0) if both.any() else 0.0
    return iou, change


def visible_change(uid: str, src: Any, tgt: Any, figures: dict[str, Any]) -> str:
    """An object changed in place (rotated, reshaped) must look different: its mask moved or
    reshaped, or its pixels changed."""
    iou, change = appearance_change(src, tgt, uid)
    figures["object_iou"], figures["object_change"] = round(iou, 4), round(change, 4)
    return "" if iou < MIN_IOU_CHANGE or change > MIN_APPEARANCE_CHANGE else "no visible change on the object"
