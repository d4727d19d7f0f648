"""Truly-minimal verification of a rendered pair, before it is written.

Three checks, every pair (thresholds in the spec's `verify:` section):
1. Nothing else changed: outside the edited objects' masks in both images (dilated by
   `dilate_px`) and outside their sun shadows (the hull projected onto the floor along the
   sun, dilated by `shadow_px`), at least `min_unchanged_fraction` of the pixels differ by at
   most `pixel_tolerance` (0..1, max over RGB).
2. Visibility: every edited or referenced object covers at least `min_visible_px` pixels (at
   256x256, 0.5% of the frame by default; scaled with the image area) and `min_visible_fraction`
   of its projected silhouette bound in each image where it exists (not hidden behind another
   object), and stands out from its surroundings by at least `min_contrast`
   (`visibility.contrast`, CIE Lab); removed objects are absent from the target.
3. Something visibly changed: inside the edited objects' masks (source and target), at least
   MIN_CHANGED_SHARE of the pixels and MIN_CHANGED_PX (at 256x256, scaled) differ by more than
   `pixel_tolerance`; a pixel-identical pair is never accepted.
4. The claim holds in the rendered masks, judged by the edit's own kind
   (`EditKind.check_masks` in `plan/edits/<kind>.py`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from simedit.render.masks import object_mask, shadow_region, silhouette_bound
from simedit.render.plan.edits import kind_of
from simedit.render.plan.edits.base import EditContext
from simedit.render.scene import Edit, Scene
from simedit.render.visibility import contrast

MIN_CHANGED_SHARE = 0.05  # of the edited objects' pixels (source and target together)
MIN_CHANGED_PX = 20  # at 256x256, scaled with the image area


@dataclass
class Verdict:
    ok: bool
    reason: str = ""  # the failed check, as a reject reason
    detail: str = ""
    figures: dict[str, Any] = field(default_factory=dict)  # measured values, kept in the manifest


def verify_pair(edit: Edit, source: Scene, target: Scene, src: Any, tgt: Any, ctx: EditContext) -> Verdict:
    """`src`/`tgt` have `.rgb` (H, W, 3) uint8 and `.mask` (H, W) instance ids; `ctx` is the
    context of the spec entry that planned the edit (its spec, verify thresholds, catalog)."""
    catalog, spec = ctx.catalog, ctx.spec.verify
    figures: dict[str, Any] = {}
    edited = list(edit.objects)

    # 1. nothing but the edit changed
    changed = np.zeros(src.mask.shape, bool)
    shadows = np.zeros(src.mask.shape, bool)
    for uid in edited:
        changed |= object_mask(src.mask, uid) | object_mask(tgt.mask, uid)
        for scene in (source, target):
            if uid in scene.uids():
                shadows |= shadow_region(scene, uid, catalog, getattr(src, "shadow_lights", ()))
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
            m = object_mask(out.mask, uid)
            area = int(m.sum())
            bound = int(silhouette_bound(scene, uid, catalog).sum())
            figures[f"{which}_{uid}_px"] = area
            if area < spec.min_visible_fraction * bound:
                return Verdict(False, "occluded", f"{uid} shows {area} px of about {bound} in the {which}", figures)
            if area < min_px:
                return Verdict(False, "too_small", f"{uid} covers {area} px in the {which}, under {min_px:.0f}", figures)
            figures[f"{which}_{uid}_contrast"] = round(contrast(out.rgb, m), 1)
            if figures[f"{which}_{uid}_contrast"] < spec.min_contrast:
                return Verdict(False, "low_contrast", f"{uid} stands out by {figures[f'{which}_{uid}_contrast']} "
                               f"(CIE Lab) in the {which}, under {spec.min_contrast}", figures)

    # 3. a visible change
    changed_px = int((changed & (diff > spec.pixel_tolerance)).sum())
    figures["changed_px"] = changed_px
    floor = max(MIN_CHANGED_PX * src.mask.size / 256**2, MIN_CHANGED_SHARE * int(changed.sum()))
    if changed_px < floor:
        return Verdict(False, "no_visible_change", f"{changed_px} px changed in the edit's region", figures)

    # 4. the claim
    problem = kind_of(edit).check_masks(edit, source, target, src, tgt, ctx, figures)
    if problem:
        return Verdict(False, "claim_not_visible", problem, figures)
    return Verdict(True, figures=figures)


