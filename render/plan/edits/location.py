"""Location edits: relative, absolute, attract, repel, swap.

Directions are words in the camera's frame (`camera.ground_directions`), and every claim is
judged where a viewer judges it: when planning, on the projected object centers
(`camera.project`) and their depth; after rendering, on the instance masks (centroids for
left/right and distances, the mask's lowest row, where it meets the floor, for front/behind).
A move is chosen only when its claim is false in the source (so the edit is a real change).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from simedit.render import camera as cam
from simedit.render.catalog.model import Asset
from simedit.render.common.errors import Reject, SimEditError
from simedit.render.masks import bottom_row, centroid, object_mask
from simedit.render.plan.edits.base import (OPPOSITE, Change, EditContext, EditKind, Intent, need_objects, param,
                                            pick, visible_enough)
from simedit.render.plan.appearance import shown
from simedit.render.plan.referring import ref
from simedit.render.plan.sampling import ObjectRequest, fits, uniform
from simedit.render.poses import footprint_radius
from simedit.render.scene import Edit, Scene, SceneObject
from simedit.render.spec import bounds

PAIRS = ("relative", "attract", "repel", "swap")
MOVE_TRIES = 12  # candidate moves drawn before the attempt is rejected
FACTOR_TRIES = 6  # attract/repel factors tried for one pair
DEPTH_MARGIN = 0.03  # m: "in front of"/"closer" must be clearly nearer to the camera
RELATIVE_DIRECTION = {"left_of": "left", "right_of": "right", "in_front_of": "in_front", "behind": "behind"}
ABSOLUTE_DIRECTION = {"left": "left", "right": "right", "closer": "in_front", "further": "behind"}
ABSOLUTE_KEY = {"left": "absolute_side", "right": "absolute_side",
                "closer": "absolute_closer", "further": "absolute_further"}
# The spec's `min_shift` (a fraction of the image width) is the margin a claim must clear on
# the projected centers when planning; on the masks half of it, because a mask's centroid is
# the centroid of the visible part, which occlusion and perspective pull away from the center.
MASK_MARGIN_SHARE = 0.5


def _centers(scene: Scene, uids: list[str]) -> np.ndarray:
    return np.array([scene.get(u).position for u in uids], float)


def relation_holds(direction: str, scene: Scene, a: str, b: str, margin_px: float) -> bool:
    """Is object `a` <direction> of object `b` in the image of `scene`?"""
    pts = _centers(scene, [a, b])
    (xa, ya), (xb, yb) = cam.project(scene.camera, pts)
    da, db = cam.depth(scene.camera, pts)
    return {
        "left_of": xa < xb - margin_px,
        "right_of": xa > xb + margin_px,
        "in_front_of": da < db - DEPTH_MARGIN and ya > yb,
        "behind": da > db + DEPTH_MARGIN and ya < yb,
    }[direction]


def moved_holds(direction: str, before: Scene, after: Scene, uid: str, margin_px: float) -> bool:
    """Did `uid` move <direction> (left/right/closer/further) between the two images?"""
    p0, p1 = before.get(uid).position, after.get(uid).position
    (x0, y0), (x1, y1) = cam.project(before.camera, np.array([p0, p1]))
    d0, d1 = cam.depth(before.camera, np.array([p0, p1]))
    return {
        "left": x1 < x0 - margin_px,
        "right": x1 > x0 + margin_px,
        "closer": d1 < d0 - DEPTH_MARGIN and y1 > y0,
        "further": d1 > d0 + DEPTH_MARGIN and y1 < y0,
    }[direction]


def image_distance(scene: Scene, a: str, b: str) -> float:
    pa, pb = cam.project(scene.camera, _centers(scene, [a, b]))
    return float(np.linalg.norm(pa - pb))


def swapped(source: Scene, target: Scene, a: str, b: str, margin_px: float) -> bool:
    """Does each object now sit where the other was, in the image? Judged on the projected
    centers; objects of different heights have them at different heights, so a quarter of the
    pair's spread is allowed."""
    spread = image_distance(source, a, b)
    pa, pb = (cam.project(source.camera, _centers(s, [a, b])) for s in (source, target))
    return spread > margin_px and max(
        float(np.linalg.norm(pb[0] - pa[1])), float(np.linalg.norm(pb[1] - pa[0]))) < spread / 4


def margin_px(ctx: EditContext, scene: Scene) -> float:
    """The planning margin in pixels."""
    return ctx.edit_spec.min_shift * scene.camera.width


def _move(obj: SceneObject, xy: np.ndarray) -> None:
    obj.position = (float(xy[0]), float(xy[1]), obj.position[2])


def _misfit(moved: list[SceneObject], target: Scene, ctx: EditContext) -> str | None:
    """The first moved object that does not fit among all others (moved ones included) at its
    new place, or None."""
    for obj in moved:
        others = [o for o in target.objects if o.uid != obj.uid]
        if not fits(obj, others, ctx.catalog, ctx.spec, target.camera, in_area=False):
            return obj.uid
    return None


def _require_fit(moved: list[SceneObject], target: Scene, ctx: EditContext) -> None:
    if (uid := _misfit(moved, target, ctx)) is not None:
        raise Reject("move_blocked", f"{uid} collides or leaves the view")


def _spacing(target: Scene, a: str, b: str, pa: np.ndarray, pb: np.ndarray, factor_range: Any, ctx: EditContext,
             rng: np.random.Generator) -> float:
    """Place `a` and `b` (now at `pa`, `pb`) on their line at `factor` times their distance, and
    return the factor. A drawn factor first, else a spread over the spec's range; for each, the
    pair's middle stays, or slides toward one of them (at the ends that one stays put): how far
    a pair can come together or spread apart, clear of the others and in the frame, depends on
    where it stands. The last placement tried stays when none fits (`_require_fit` rejects it)."""
    mid = (pa + pb) / 2
    lo, hi = bounds(factor_range)
    factor = uniform(rng, factor_range)
    for factor in [factor, *rng.permutation(np.linspace(lo, hi, FACTOR_TRIES))]:
        span = abs(1 - factor) / 2  # each object moves toward (attract) or away from (repel) the other
        for shift in (0.0, -span, span, -span / 2, span / 2):
            center = mid + shift * (pb - pa)
            _move(target.get(a), center + (pa - mid) * factor)
            _move(target.get(b), center + (pb - mid) * factor)
            if _misfit([target.get(a), target.get(b)], target, ctx) is None:
                return float(factor)
    return float(factor)


class LocationKind(EditKind):
    name = "location"
    subtypes = ("relative", "absolute", "attract", "repel", "swap")
    template_keys = ("relative", "absolute_side", "absolute_closer", "absolute_further", "attract", "repel", "swap")

    def eligible(self, subtype: str, asset: Asset, ctx: EditContext) -> bool:
        return True  # any object can be moved

    def needs(self, subtype: str) -> str:
        return "any object"

    def intent(self, subtype: str, ctx: EditContext, rng: np.random.Generator) -> Intent:
        n = 2 if subtype in PAIRS else 1
        pool = shown(ctx.pool, ctx.spec, ctx.catalog)  # objects large enough to see where they went
        return Intent(requests=[ObjectRequest(pick(rng, pool).id, None) for _ in range(n)])

    def apply(self, subtype: str, intent: Intent, source: Scene, ctx: EditContext, rng: np.random.Generator) -> Change:
        """Draw candidate moves until one fits (free floor, in view, claim false before)."""
        n = 2 if subtype in PAIRS else 1
        if len(source.objects) < n:
            raise Reject("too_few_objects", subtype)
        # objects large enough in the image to move or refer to: the same for every candidate
        seen = [o.uid for o in source.objects if visible_enough(source, o.uid, ctx)]
        if len(seen) < n:
            raise Reject("too_small", f"fewer than {n} objects large enough in the image")
        reason = Reject("move_blocked")
        for _ in range(MOVE_TRIES):
            try:
                return self._candidate(subtype, seen, n, source, ctx, rng)
            except Reject as r:
                reason = r
        raise reason

    def _candidate(self, subtype: str, seen: list[str], n: int, source: Scene, ctx: EditContext,
                   rng: np.random.Generator) -> Change:
        sub = getattr(ctx.edit_spec.subtypes, subtype)
        uids = [seen[int(i)] for i in rng.permutation(len(seen))[:n]]
        target = source.copy()
        dirs = cam.ground_directions(source.camera)
        margin = margin_px(ctx, source)
        cat = ctx.catalog
        params: dict = {}
        references: list[str] = []

        if subtype == "relative":
            a, b = uids
            open_dirs = [d for d in sub.directions if not relation_holds(d, source, a, b, margin)]
            if not open_dirs:
                raise Reject("claim_already_true", "every direction already holds")
            direction = pick(rng, open_dirs)
            reach = footprint_radius(source.get(a), cat) + footprint_radius(source.get(b), cat) + uniform(rng, sub.gap)
            _move(target.get(a), np.asarray(source.get(b).position[:2]) + dirs[RELATIVE_DIRECTION[direction]][:2] * reach)
            params["direction"], references, moved = direction, [b], [a]
        elif subtype == "absolute":
            (a,) = uids
            direction = pick(rng, list(sub.directions))
            step = dirs[ABSOLUTE_DIRECTION[direction]][:2] * uniform(rng, sub.distance)
            _move(target.get(a), np.asarray(source.get(a).position[:2]) + step)
            params["direction"], moved = direction, [a]
        elif subtype in ("attract", "repel"):
            a, b = uids
            pa, pb = (np.asarray(source.get(u).position[:2]) for u in uids)
            factor = _spacing(target, a, b, pa, pb, sub.factor, ctx, rng)
            params["factor"], moved = factor, [a, b]
        else:  # swap: each takes the other's spot on the floor, keeping its own height and pose
            a, b = uids
            if source.get(a).name == source.get(b).name:  # same asset, same colour: nothing would show
                raise Reject("swap_indistinguishable", source.get(a).name)
            _move(target.get(a), np.asarray(source.get(b).position[:2]))
            _move(target.get(b), np.asarray(source.get(a).position[:2]))
            if not swapped(source, target, a, b, margin):  # a tall and a flat one do not read as a swap
                raise Reject("claim_false", f"{self.name}.swap")
            moved = [a, b]

        _require_fit([target.get(u) for u in moved], target, ctx)
        if not all(visible_enough(target, u, ctx) for u in [*moved, *references]):
            raise Reject("hidden_or_small", "a moved or reference object would be hidden or too small")
        edit = Edit(kind=self.name, subtype=subtype, objects=moved, references=references, params=params)
        return Change(edit=edit, target=target, movable=moved)

    def check_plan(self, edit: Edit, source: Scene, target: Scene, ctx: EditContext) -> None:
        """The claim must hold in image space after settling."""
        margin = margin_px(ctx, source)
        sub = edit.subtype
        if sub == "relative":
            ok = relation_holds(edit.params["direction"], target, edit.objects[0], edit.references[0], margin)
        elif sub == "absolute":
            ok = moved_holds(edit.params["direction"], source, target, edit.objects[0], margin)
        elif sub in ("attract", "repel"):
            a, b = edit.objects
            before, after = image_distance(source, a, b), image_distance(target, a, b)
            ok = after < before - margin if sub == "attract" else after > before + margin
        else:
            ok = swapped(source, target, *edit.objects, margin)
        if not ok:
            raise Reject("claim_false", f"{self.name}.{sub} {edit.params.get('direction', '')}".strip())

    def template_context(self, edit: Edit, source: Scene, target: Scene) -> tuple[str, dict[str, Any]]:
        sub = edit.subtype
        if sub == "relative":
            need_objects(edit, 1, 1)
            direction = param(edit, "direction", set(RELATIVE_DIRECTION))
            return "relative", {"obj": ref(source, edit.objects[0]), "ref": ref(source, edit.references[0]),
                                "direction": direction}
        if sub == "absolute":
            need_objects(edit, 1)
            direction = param(edit, "direction", set(ABSOLUTE_KEY))
            return ABSOLUTE_KEY[direction], {"obj": ref(source, edit.objects[0]), "direction": direction}
        if sub in ("attract", "repel", "swap"):
            need_objects(edit, 2)
            return sub, {"obj": ref(source, edit.objects[0]), "obj2": ref(source, edit.objects[1])}
        raise ValueError(f"unknown edit {self.name}.{sub}")

    def check_masks(self, edit: Edit, source: Scene, target: Scene, src: Any, tgt: Any, ctx: EditContext,
                    figures: dict[str, Any]) -> str:
        margin = margin_px(ctx, source) * MASK_MARGIN_SHARE
        sub, params = edit.subtype, edit.params
        if sub == "relative":
            a, b = object_mask(tgt.mask, edit.objects[0]), object_mask(tgt.mask, edit.references[0])
            (xa, _), (xb, _) = centroid(a), centroid(b)
            ok = {"left_of": xa < xb - margin, "right_of": xa > xb + margin,
                  "in_front_of": bottom_row(a) > bottom_row(b), "behind": bottom_row(a) < bottom_row(b)}[params["direction"]]
            return "" if ok else f"{params['direction']} does not hold in the target masks"
        if sub == "absolute":
            a0, a1 = object_mask(src.mask, edit.objects[0]), object_mask(tgt.mask, edit.objects[0])
            (x0, _), (x1, _) = centroid(a0), centroid(a1)
            b0, b1 = bottom_row(a0), bottom_row(a1)
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

    def check_feasible(self, ctx: EditContext, spec_path: str) -> None:
        super().check_feasible(ctx, spec_path)
        subs = ctx.edit_spec.subtypes
        # closer together must shrink the distance, further apart grow it, or no move can hold
        if subs.attract.weight > 0 and bounds(subs.attract.factor)[1] >= 1:
            raise SimEditError("must stay below 1 (the new distance over the old one)", file=spec_path,
                               field=f"{ctx.where}.subtypes.attract.factor")
        if subs.repel.weight > 0 and bounds(subs.repel.factor)[0] <= 1:
            raise SimEditError("must stay above 1 (the new distance over the old one)", file=spec_path,
                               field=f"{ctx.where}.subtypes.repel.factor")

    def invert(self, edit: Edit, source: Scene, target: Scene) -> Edit | None:
        sub, p = edit.subtype, dict(edit.params)
        objs, refs = list(edit.objects), list(edit.references)
        if sub == "absolute":
            if p.get("direction") not in OPPOSITE:
                return None
            return Edit(self.name, sub, objs, refs, {**p, "direction": OPPOSITE[p["direction"]]})
        if sub in ("attract", "repel"):
            if isinstance(p.get("factor"), (int, float)) and p["factor"]:
                p["factor"] = 1.0 / p["factor"]
            return Edit(self.name, "repel" if sub == "attract" else "attract", objs, refs, p)
        if sub == "swap":
            return Edit(self.name, sub, objs, refs, p)
        return None  # relative: "move it back where it was" has no template
