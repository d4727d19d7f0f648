"""Truly-minimal verification of a rendered pair, before it is written.

Three checks, every pair (thresholds in the spec's `verify:` section):
1. Nothing else changed: outside the edited objects' masks in both images (dilated by
   `dilate_px`) and outside their sun shadows (the hull projected onto the floor along the
   sun, dilated by `shadow_px`), at least `min_unchanged_fraction` of the pixels differ by at
   most `pixel_tolerance` (0..1, max over RGB).
2. Visibility: every edited or referenced object covers at least `min_visible_px` pixels and
   `min_visible_fraction` of its projected silhouette bound in each image where it exists (not
   hidden behind another object); removed objects are absent from the target.
3. The claim holds in the rendered masks: mask centroids for left/right, the mask's lowest
   row (where it meets the floor) for in front/behind and closer/further, centroid distances
   for closer together/further apart, mask area for bigger/smaller, mean color toward the
   named color, a visible change for rotations and shape swaps, instance counts for add/remove.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull

from simedit.render import camera as cam
from simedit.render.catalog.model import Catalog
from simedit.render.common.colorspace import linear_to_srgb
from simedit.render.poses import world_hull
from simedit.render.scene import Edit, Scene, mask_value
from simedit.render.spec import VerifySpec

MIN_AREA_CHANGE = 1.15  # a size edit must change the mask area by at least this factor
MIN_APPEARANCE_CHANGE = 0.04  # mean |diff| inside a rotated/swapped object's masks, 0..1
MIN_IOU_CHANGE = 0.92  # or its mask IoU between the images falls below this


@dataclass
class Verdict:
    ok: bool
    reason: str = ""  # the failed check, as a reject reason
    detail: str = ""
    figures: dict[str, Any] = field(default_factory=dict)  # measured values, kept in the manifest


def object_mask(mask: np.ndarray, uid: str) -> np.ndarray:
    return mask == mask_value(uid)


def silhouette_bound(scene: Scene, uid: str, catalog: Catalog) -> np.ndarray:
    """Pixels inside the projected convex hull of the object: its area if nothing hid it."""
    pts = cam.project(scene.camera, world_hull(scene.get(uid), catalog))
    return polygon_mask(pts, scene.camera.height, scene.camera.width)


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
    rows, cols = np.mgrid[0:height, 0:width]
    px, py = cols + 0.5, rows + 0.5
    inside = np.ones_like(out)
    n = len(hull)
    for i in range(n):  # counter-clockwise hull: inside is left of every edge
        (x0, y0), (x1, y1) = hull[i], hull[(i + 1) % n]
        inside &= (x1 - x0) * (py - y0) - (y1 - y0) * (px - x0) >= 0
    return inside


def shadow_region(scene: Scene, uid: str, catalog: Catalog) -> np.ndarray:
    """Where the object's sun shadows can fall: its hull pushed along each sun onto the floor."""
    pts = world_hull(scene.get(uid), catalog)
    out = np.zeros((scene.camera.height, scene.camera.width), bool)
    for light in scene.lights:
        d = np.asarray(light.direction, float)
        if d[2] >= -1e-3:
            continue
        floor_pts = pts - d[None, :] * (pts[:, 2:3] / d[2])
        out |= polygon_mask(cam.project(scene.camera, np.vstack([pts, floor_pts])), *out.shape)
    return out


def centroid(m: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(m)
    return np.array([cols.mean(), rows.mean()])


def verify_pair(
    edit: Edit, source: Scene, target: Scene, src: Any, tgt: Any, catalog: Catalog, spec: VerifySpec,
    min_shift_px: float = 2.0,
) -> Verdict:
    """`src`/`tgt` have `.rgb` (H, W, 3) uint8 and `.mask` (H, W) instance ids."""
    figures: dict[str, Any] = {}
    edited = list(edit.objects)

    # 1. nothing but the edit changed
    changed = np.zeros(src.mask.shape, bool)
    shadows = np.zeros(src.mask.shape, bool)
    for uid in edited:
        changed |= object_mask(src.mask, uid) | object_mask(tgt.mask, uid)
        for scene in (source, target):
            if uid in scene.uids():
                shadows |= shadow_region(scene, uid, catalog)
    region = ndimage.binary_dilation(changed, iterations=spec.dilate_px) if spec.dilate_px else changed
    if spec.shadow_px:
        region |= ndimage.binary_dilation(shadows, iterations=spec.shadow_px)
    else:
        region |= shadows
    outside = ~region
    diff = np.abs(src.rgb.astype(np.int16) - tgt.rgb.astype(np.int16)).max(axis=2) / 255.0
    same = float((diff[outside] <= spec.pixel_tolerance).mean()) if outside.any() else 1.0
    figures["unchanged_fraction"] = round(same, 5)
    figures["compared_fraction"] = round(float(outside.mean()), 4)
    if same < spec.min_unchanged_fraction:
        return Verdict(False, "not_minimal", f"{same:.4f} of untouched pixels unchanged", figures)

    # 2. visibility (min_visible_px is stated for 256x256 and scales with the image area)
    min_px = max(2.0, spec.min_visible_px * src.mask.size / 256**2)
    for which, scene, out in (("source", source, src), ("target", target, tgt)):
        for uid in edited + list(edit.references):
            if uid not in scene.uids():
                if object_mask(out.mask, uid).any():
                    return Verdict(False, "removed_still_visible", uid, figures)
                continue
            area = int(object_mask(out.mask, uid).sum())
            bound = int(silhouette_bound(scene, uid, catalog).sum())
            figures[f"{which}_{uid}_px"] = area
            if area < min_px or area < spec.min_visible_fraction * bound:
                return Verdict(False, "occluded", f"{uid} shows {area} px of about {bound} in the {which}", figures)

    # 3. the claim
    problem = claim_problem(edit, source, target, src, tgt, catalog, min_shift_px, figures)
    if problem:
        return Verdict(False, "claim_not_visible", problem, figures)
    return Verdict(True, figures=figures)


def claim_problem(
    edit: Edit, source: Scene, target: Scene, src: Any, tgt: Any, catalog: Catalog, margin: float,
    figures: dict[str, Any],
) -> str:
    kind, sub, params = edit.kind, edit.subtype, edit.params
    if kind == "location":
        if sub == "relative":
            a, b = object_mask(tgt.mask, edit.objects[0]), object_mask(tgt.mask, edit.references[0])
            (xa, _), (xb, _) = centroid(a), centroid(b)
            bottom_a, bottom_b = np.nonzero(a)[0].max(), np.nonzero(b)[0].max()
            ok = {"left_of": xa < xb - margin, "right_of": xa > xb + margin,
                  "in_front_of": bottom_a > bottom_b, "behind": bottom_a < bottom_b}[params["direction"]]
            return "" if ok else f"{params['direction']} does not hold in the target masks"
        if sub == "absolute":
            a0, a1 = object_mask(src.mask, edit.objects[0]), object_mask(tgt.mask, edit.objects[0])
            (x0, _), (x1, _) = centroid(a0), centroid(a1)
            b0, b1 = np.nonzero(a0)[0].max(), np.nonzero(a1)[0].max()
            ok = {"left": x1 < x0 - margin, "right": x1 > x0 + margin, "closer": b1 > b0, "further": b1 < b0}[params["direction"]]
            return "" if ok else f"did not move {params['direction']} in the image"
        a, b = edit.objects
        c0 = [centroid(object_mask(src.mask, u)) for u in (a, b)]
        c1 = [centroid(object_mask(tgt.mask, u)) for u in (a, b)]
        if sub in ("attract", "repel"):
            d0, d1 = np.linalg.norm(c0[0] - c0[1]), np.linalg.norm(c1[0] - c1[1])
            figures["centroid_distance"] = [round(float(d0), 2), round(float(d1), 2)]
            ok = d1 < d0 - margin if sub == "attract" else d1 > d0 + margin
            return "" if ok else f"centroid distance {d0:.1f} -> {d1:.1f} px"
        spread = np.linalg.norm(c0[0] - c0[1])
        err = max(np.linalg.norm(c1[0] - c0[1]), np.linalg.norm(c1[1] - c0[0]))
        return "" if err < spread / 3 else f"swap left objects {err:.1f} px from each other's place"
    if kind == "rotation" or (kind == "attribute" and sub == "shape"):
        uid = edit.objects[0]
        m0, m1 = object_mask(src.mask, uid), object_mask(tgt.mask, uid)
        iou = (m0 & m1).sum() / max((m0 | m1).sum(), 1)
        both = m0 | m1
        change = float(np.abs(src.rgb[both].astype(float) - tgt.rgb[both].astype(float)).mean() / 255.0)
        figures["object_iou"], figures["object_change"] = round(float(iou), 4), round(change, 4)
        return "" if iou < MIN_IOU_CHANGE or change > MIN_APPEARANCE_CHANGE else "no visible change on the object"
    if kind == "attribute" and sub == "size":
        uid = edit.objects[0]
        ratio = object_mask(tgt.mask, uid).sum() / max(object_mask(src.mask, uid).sum(), 1)
        figures["area_ratio"] = round(float(ratio), 3)
        ok = ratio > MIN_AREA_CHANGE if params["direction"] == "bigger" else ratio < 1 / MIN_AREA_CHANGE
        return "" if ok else f"mask area ratio {ratio:.2f}"
    if kind == "attribute" and sub == "color":
        uid = edit.objects[0]
        named = linear_to_srgb(np.asarray(catalog.palette[params["to_color"]], float))
        before = src.rgb[object_mask(src.mask, uid)].astype(float).mean(axis=0)
        after = tgt.rgb[object_mask(tgt.mask, uid)].astype(float).mean(axis=0)
        figures["mean_rgb"] = [before.round(1).tolist(), after.round(1).tolist()]
        ok = np.linalg.norm(after - named) < np.linalg.norm(before - named)
        return "" if ok else f"mean color did not move toward {params['to_color']}"
    if kind == "count":
        name = params["name"]
        def visible(scene: Scene, out: Any) -> int:
            return sum(
                1 for o in scene.objects if o.name == name and object_mask(out.mask, o.uid).sum() >= 10
            )
        delta = visible(target, tgt) - visible(source, src)
        figures["visible_delta"] = delta
        want = params["n"] if sub == "add" else -params["n"]
        return "" if delta == want else f"{name}: {delta:+d} visible instances, expected {want:+d}"
    return ""

