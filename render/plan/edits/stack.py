"""Stack edits: put an object on top of another (`put_on`: "put the red cup on the book") or take
it off again onto the floor beside it (`take_off`: "take the cup off the book").

A support is an object tagged `support` (a flat, horizontal top, measured on its surface by
catalog/tags.py `top_surface`); an object fits on it when its footprint radius is at most the
top's inradius. The placed object is settled by PyBullet on the support (held still) and must
stay there. Claims: in 3D, the object's lowest point rests at the support's top height, over
the top; on the masks, the pixels just below the object's outline belong to the support
(`put_on`), or to the floor and never to the support (`take_off`). Pairs are picked on the
planner's estimate of that mask (`masks.planned_mask`), with the camera framed on the stack, so
that the render shows the claim instead of the verifier rejecting it.
"""
from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from simedit.render import camera as cam
from simedit.render.catalog.model import Asset, Catalog
from simedit.render.catalog.tags import asset_mesh, top_surface
from simedit.render.common.errors import Reject
from simedit.render.masks import object_mask, planned_mask
from simedit.render.plan.edits.base import (Arranged, Change, EditContext, EditKind, Intent, need_objects, pick,
                                            visible_enough)
from simedit.render.plan.appearance import shown
from simedit.render.plan.referring import ref
from simedit.render.plan.sampling import ObjectRequest, fits, frame_camera, scale_bounds, uniform
from simedit.render.poses import quat_matrix, resting_height, world_hull
from simedit.render.scene import Edit, Scene, SceneObject, mask_value

SUPPORT_TAG = "support"
CLEARANCE = 0.002  # m dropped onto the support, as objects are dropped onto the floor
REST_TOLERANCE = 0.012  # m between the object's lowest point and the support's top (settling, meshes)
FLOOR_TOLERANCE = 0.006  # m: the object's lowest point is on the floor
UPRIGHT_COS = math.cos(math.radians(10))  # a support must stand upright for its top to be a table
MOVE_TRIES = 16  # floor spots tried for take_off
STACK_TRIES = 6  # stacks tried for a take_off source
# m^2 an object shows the camera (`seen_area`) for it to be preferred on top of another: a soda can
# shows 0.0075, a domino 0.004, which a camera framing a whole table makes too small to see
MIN_STACKED_AREA = 0.0065
# On the masks: share of the object's outline columns whose pixel just below is the support
ON_SHARE = 0.6  # put_on target / take_off source: at least this much
OFF_SHARE = 0.1  # take_off target: at most this much (clear of the support)
BEFORE_SHARE = 0.3  # put_on source: it was not already seen on the support
PLAN_MARGIN = 0.05  # the planner asks this much more of the shares on its hull masks (they match
# the rendered ones to 0.02 on a 20-pair run)

_tops: dict[Asset, Any] = {}
_radii: dict[Asset, float] = {}


def top_of(asset: Asset) -> Any:
    """The asset's top surface (`catalog.tags.TopSurface`, asset frame), measured once."""
    if asset not in _tops:
        vertices, faces = asset_mesh(asset)
        _tops[asset] = top_surface(vertices, faces)
    return _tops[asset]


def footprint_of(asset: Asset, catalog: Catalog) -> float:
    """Footprint radius of the upright asset around its center, at scale 1 (m)."""
    if asset not in _radii:
        _radii[asset] = float(np.max(np.linalg.norm(catalog.geometry(asset.id).hull[:, :2], axis=1)))
    return _radii[asset]


def can_hold(support: Asset, obj: Asset, ctx: EditContext) -> bool:
    """Does `obj` fit on `support`'s top at every scale the spec may draw?"""
    if SUPPORT_TAG not in support.tags or support.name == obj.name:
        return False
    hi = scale_bounds(ctx.spec, obj, ctx.catalog)[1]
    lo = scale_bounds(ctx.spec, support, ctx.catalog)[0]
    return footprint_of(obj, ctx.catalog) * hi <= top_of(support).inradius_m * lo


def _top_world(s: SceneObject, catalog: Catalog) -> tuple[np.ndarray, float, float]:
    """(top center xy, top height z, inradius) of a placed support, in the world."""
    top = top_of(catalog.get(s.asset_id))
    ext_z = float(catalog.geometry(s.asset_id).extents[2])
    local = np.array([top.center_xy[0], top.center_xy[1], ext_z / 2]) * s.scale
    center = quat_matrix(s.rotation) @ local + np.asarray(s.position)
    return center[:2], float(world_hull(s, catalog)[:, 2].max()), top.inradius_m * s.scale


def _upright(o: SceneObject) -> bool:
    return float(quat_matrix(o.rotation)[2, 2]) >= UPRIGHT_COS


def on_top(a: SceneObject, s: SceneObject, catalog: Catalog) -> bool:
    """Does `a` rest on `s`'s top: lowest point at the top's height, center over the top?"""
    if SUPPORT_TAG not in catalog.get(s.asset_id).tags or not _upright(s):
        return False
    center, top_z, inradius = _top_world(s, catalog)
    low = float(world_hull(a, catalog)[:, 2].min())
    return abs(low - top_z) <= REST_TOLERANCE and float(np.linalg.norm(np.asarray(a.position[:2]) - center)) <= inradius


def on_floor(a: SceneObject, catalog: Catalog) -> bool:
    return float(world_hull(a, catalog)[:, 2].min()) <= FLOOR_TOLERANCE


def _place_on(a: SceneObject, s: SceneObject, catalog: Catalog, offset_share: float, rng: np.random.Generator) -> None:
    """Put `a` (upright) over `s`'s top, dropped from CLEARANCE above it, off the top's center by
    up to `offset_share` of the room there."""
    center, top_z, inradius = _top_world(s, catalog)
    room = max(0.0, inradius - footprint_of(catalog.get(a.asset_id), catalog) * a.scale) * offset_share
    angle, radius = rng.uniform(0, 2 * math.pi), room * math.sqrt(rng.uniform(0, 1))
    x, y = center + radius * np.array([math.cos(angle), math.sin(angle)])
    lowest = float(world_hull(a, catalog)[:, 2].min()) - a.position[2]
    a.position = (float(x), float(y), top_z - lowest + CLEARANCE)


def _centered_on(a: SceneObject, s: SceneObject, catalog: Catalog) -> SceneObject:
    """A copy of `a` standing on the middle of `s`'s top: where a put_on brings it, for framing."""
    center, top_z, _ = _top_world(s, catalog)
    out = copy.deepcopy(a)
    lowest = float(world_hull(a, catalog)[:, 2].min()) - a.position[2]
    out.position = (float(center[0]), float(center[1]), top_z - lowest + CLEARANCE)
    return out


def _stack_seen(scene: Scene, a_uid: str, s_uid: str, ctx: EditContext, on: bool) -> bool:
    """Will the render show it: both objects visible enough, and the pixels just below `a`'s
    outline on the support (`on`) or clear of it (judged on the planned hull mask with a margin
    over the verifier's shares, as hulls are a little larger than the objects)."""
    if not (visible_enough(scene, a_uid, ctx) and visible_enough(scene, s_uid, ctx)):
        return False
    mask = planned_mask(scene, ctx.catalog)
    share = _share_below(mask, a_uid, mask_value(s_uid))
    if on:
        return share >= ON_SHARE + PLAN_MARGIN
    return share <= OFF_SHARE - PLAN_MARGIN and _share_below(mask, a_uid, 0) >= 0.5 + PLAN_MARGIN


def _share_below(mask: np.ndarray, uid: str, value: int) -> float:
    """Share of the object's columns whose pixel just below its lowest pixel has mask `value`."""
    m = object_mask(mask, uid)
    cols = np.nonzero(m.any(axis=0))[0]
    if len(cols) == 0:
        return 0.0
    h = m.shape[0]
    lowest = h - 1 - np.argmax(m[::-1, cols], axis=0)
    below = np.minimum(lowest + 1, h - 1)
    return float(np.mean(mask[below, cols] == value))


class StackKind(EditKind):
    name = "stack"
    subtypes = ("put_on", "take_off")
    template_keys = subtypes

    def eligible(self, subtype: str, asset: Asset, ctx: EditContext) -> bool:
        return any(can_hold(s, asset, ctx) for s in ctx.pool)

    def needs(self, subtype: str) -> str:
        return f"an object that fits on the flat top of another object tagged {SUPPORT_TAG!r}"

    def intent(self, subtype: str, ctx: EditContext, rng: np.random.Generator) -> Intent:
        supports = [s for s in ctx.pool if any(can_hold(s, a, ctx) for a in ctx.pool)]
        support = pick(rng, supports)
        held = [a for a in ctx.pool if can_hold(support, a, ctx)]
        # an object a few centimetres across on top of a box is too small to see the edit
        obj = pick(rng, shown(held, ctx.spec, ctx.catalog, MIN_STACKED_AREA))
        return Intent(requests=[ObjectRequest(obj.id, None), ObjectRequest(support.id, None)])

    def arrange_source(self, subtype: str, intent: Intent, draft: Scene, required: list[str], ctx: EditContext,
                       rng: np.random.Generator) -> Arranged:
        """The requested pair, else another pair the draft's objects can stack: the first that
        the render will show (`_stack_seen`) with the camera framed on the stack too."""
        cat = ctx.catalog
        a_uid, s_uid = required
        others = [(o.uid, t.uid) for t in draft.objects for o in draft.objects
                  if (o.uid, t.uid) != (a_uid, s_uid) and o.uid != t.uid
                  and can_hold(cat.get(t.asset_id), cat.get(o.asset_id), ctx)
                  and footprint_of(cat.get(o.asset_id), cat) * o.scale <= _top_world(t, cat)[2]]
        tries = [(a_uid, s_uid)] + [others[int(k)] for k in rng.permutation(len(others))][:STACK_TRIES - 1]
        for o_uid, t_uid in tries:
            scene = draft.copy()
            if subtype == "put_on":  # framed with the stack the edit will build, to keep it in the picture
                lifted = _centered_on(scene.get(o_uid), scene.get(t_uid), cat)
                scene.camera = frame_camera(scene.camera, [*scene.objects, lifted], cat, ctx.spec, rng)
                stacked = scene.copy()
                stacked.objects = [lifted if o.uid == o_uid else o for o in stacked.objects]
                if visible_enough(scene, o_uid, ctx) and _stack_seen(stacked, o_uid, t_uid, ctx, on=True):
                    intent.params["pair"] = (o_uid, t_uid)  # apply tries this pair first
                    return Arranged(scene)
                continue
            _place_on(scene.get(o_uid), scene.get(t_uid), cat, ctx.edit_spec.subtypes.put_on.offset, rng)
            scene.camera = frame_camera(scene.camera, scene.objects, cat, ctx.spec, rng)  # the stack included
            if cam.in_view(scene.camera, world_hull(scene.get(o_uid), cat), ctx.spec.placement.margin_px) \
                    and _stack_seen(scene, o_uid, t_uid, ctx, on=True):
                return Arranged(scene, contacts=[(o_uid, t_uid)])
        raise Reject("stack_not_seen", f"{a_uid} on {s_uid}")

    def apply(self, subtype: str, intent: Intent, source: Scene, ctx: EditContext, rng: np.random.Generator) -> Change:
        cat = ctx.catalog
        if subtype == "put_on":
            pairs = [(a.uid, s.uid) for s in source.objects for a in source.objects
                     if a.uid != s.uid and _upright(s) and on_floor(a, cat)
                     and can_hold(cat.get(s.asset_id), cat.get(a.asset_id), ctx)
                     and footprint_of(cat.get(a.asset_id), cat) * a.scale <= _top_world(s, cat)[2]
                     and visible_enough(source, a.uid, ctx) and visible_enough(source, s.uid, ctx)]
            if not pairs:
                raise Reject("no_stackable_pair")
            wanted = tuple(intent.params.get("pair", ()))
            order = [pairs[int(k)] for k in rng.permutation(len(pairs))]
            order.sort(key=lambda p: p != wanted)  # the pair the camera was framed for first
            seen_before = planned_mask(source, cat)
            for a_uid, s_uid in order:  # the first stack that stays in the frame and reads as one
                if _share_below(seen_before, a_uid, mask_value(s_uid)) > BEFORE_SHARE - PLAN_MARGIN:
                    continue  # it already looks as if it stood on the support
                target = source.copy()
                a = target.get(a_uid)
                _place_on(a, target.get(s_uid), cat, ctx.edit_spec.subtypes.put_on.offset, rng)
                if cam.in_view(target.camera, world_hull(a, cat), ctx.spec.placement.margin_px) \
                        and _stack_seen(target, a_uid, s_uid, ctx, on=True):
                    edit = Edit(kind=self.name, subtype=subtype, objects=[a_uid], references=[s_uid])
                    return Change(edit=edit, target=target, movable=[a_uid], contacts=[(a_uid, s_uid)])
            raise Reject("move_blocked", "no stack in the frame that the render would show")

        pairs = [(a.uid, s.uid) for s in source.objects for a in source.objects
                 if a.uid != s.uid and on_top(a, s, cat)
                 and visible_enough(source, a.uid, ctx) and visible_enough(source, s.uid, ctx)]
        if not pairs:
            raise Reject("nothing_stacked")
        a_uid, s_uid = pick(rng, pairs)
        s = source.get(s_uid)
        reach = footprint_of(cat.get(s.asset_id), cat) * s.scale
        for _ in range(MOVE_TRIES):
            target = source.copy()
            a = target.get(a_uid)
            angle = rng.uniform(0, 2 * math.pi)
            dist = reach + footprint_of(cat.get(a.asset_id), cat) * a.scale + uniform(rng, ctx.edit_spec.subtypes.take_off.gap)
            a.position = (s.position[0] + dist * math.cos(angle), s.position[1] + dist * math.sin(angle), a.position[2])
            a.position = (a.position[0], a.position[1], resting_height(a, cat))
            if fits(a, [o for o in target.objects if o.uid != a_uid], cat, ctx.spec, target.camera, in_area=False) \
                    and _stack_seen(target, a_uid, s_uid, ctx, on=False):
                edit = Edit(kind=self.name, subtype=subtype, objects=[a_uid], references=[s_uid])
                return Change(edit=edit, target=target, movable=[a_uid])
        raise Reject("move_blocked", f"no free floor beside {s_uid} where the render shows it off")

    def check_plan(self, edit: Edit, source: Scene, target: Scene, ctx: EditContext) -> None:
        cat = ctx.catalog
        (a,), (s,) = edit.objects, edit.references
        if edit.subtype == "put_on":
            ok = on_floor(source.get(a), cat) and on_top(target.get(a), target.get(s), cat)
        else:
            ok = on_top(source.get(a), source.get(s), cat) and on_floor(target.get(a), cat)
        if not ok:
            raise Reject("claim_false", f"{self.name}.{edit.subtype}")

    def template_context(self, edit: Edit, source: Scene, target: Scene) -> tuple[str, dict[str, Any]]:
        need_objects(edit, 1, 1)
        if edit.subtype not in self.subtypes:
            raise ValueError(f"unknown edit {self.name}.{edit.subtype}")
        return edit.subtype, {"obj": ref(source, edit.objects[0]), "support": ref(source, edit.references[0])}

    def check_masks(self, edit: Edit, source: Scene, target: Scene, src: Any, tgt: Any, ctx: EditContext,
                    figures: dict[str, Any]) -> str:
        (a,), (s,) = edit.objects, edit.references
        before = _share_below(src.mask, a, mask_value(s))
        after = _share_below(tgt.mask, a, mask_value(s))
        figures["on_support_share"] = [round(before, 3), round(after, 3)]
        if edit.subtype == "put_on":
            if before > BEFORE_SHARE:
                return f"already seen on the support in the source ({before:.2f} of its outline)"
            return "" if after >= ON_SHARE else f"rests on the support along {after:.2f} of its outline"
        floor = _share_below(tgt.mask, a, 0)
        figures["on_floor_share"] = round(floor, 3)
        if before < ON_SHARE:
            return f"not seen on the support in the source ({before:.2f} of its outline)"
        return "" if after <= OFF_SHARE and floor >= 0.5 else (
            f"not clear of the support in the target ({after:.2f} on it, {floor:.2f} on the floor)")

    def no_change_prompts(self, subtype: str) -> tuple[str, ...]:
        # put_on's inverse on the source ("take the cup off the book" while it stands beside it)
        # asks for what the image already shows
        return ("already_true", "absent_object")

    def invert(self, edit: Edit, source: Scene, target: Scene) -> Edit | None:
        other = "take_off" if edit.subtype == "put_on" else "put_on"
        return Edit(self.name, other, list(edit.objects), list(edit.references), dict(edit.params))
