"""Attribute edits: size (scale up/down by a visible factor), shape (another object of the same
category, same pose), color (a new palette color; the name's color word follows it)."""
from __future__ import annotations

import numpy as np

from simedit.render.catalog.model import Asset
from simedit.render.common.errors import Reject
from simedit.render.poses import resting_height
from simedit.render.plan.sampling import fits, uniform
from simedit.render.scene import Edit, Scene
from simedit.render.plan.edits.base import Change, EditContext, Intent, eligible_objects, pick, request_one

KIND = "attribute"
SUBTYPES = ("size", "shape", "color")


def _siblings(asset: Asset, ctx: EditContext) -> list[Asset]:
    """Other pool assets of the same category that would be named differently."""
    return [a for a in ctx.pool if a.category == asset.category and a.id != asset.id and a.name != asset.name]


def eligible(subtype: str, asset: Asset, ctx: EditContext) -> bool:
    if subtype == "shape":
        return bool(_siblings(asset, ctx))
    if subtype == "color":
        return asset.colorable
    return True


def needs(subtype: str) -> str:
    return {
        "size": "any object",
        "shape": "an object whose category has another object in the pool",
        "color": "a colorable (solid-color) object",
    }[subtype]


def intent(subtype: str, ctx: EditContext, rng: np.random.Generator) -> Intent:
    return request_one(eligible, subtype, ctx, rng)


def _target_colors(ctx: EditContext) -> list[str]:
    return list(ctx.edit_spec.subtypes.color.colors) or ctx.colors


def apply(subtype: str, intent: Intent, source: Scene, ctx: EditContext, rng: np.random.Generator) -> Change:
    uids = eligible_objects(eligible, subtype, source, ctx)
    if not uids:
        raise Reject("no_eligible_object", subtype)
    uid = pick(rng, uids)
    target = source.copy()
    obj = target.get(uid)
    cat = ctx.catalog
    params: dict = {}
    movable = [uid]

    if subtype == "size":
        sub = ctx.edit_spec.subtypes.size
        direction = pick(rng, list(sub.directions))
        factor = uniform(rng, sub.factor)
        obj.scale *= factor if direction == "bigger" else 1.0 / factor
        params.update(direction=direction, factor=factor)
    elif subtype == "shape":
        new = pick(rng, _siblings(cat.get(obj.asset_id), ctx))
        if new.colorable and obj.color is None:  # a textured object turns into a solid one
            obj.color = pick(rng, ctx.colors)
        if not new.colorable:
            obj.color = None
        obj.asset_id = new.id
        obj.rgb = tuple(cat.palette[obj.color]) if obj.color else None
        obj.name = cat.display_name(new.id, obj.color)
        params.update(from_asset_id=source.get(uid).asset_id, new_asset_id=new.id)
    else:
        choices = [c for c in _target_colors(ctx) if c != obj.color]
        if not choices:
            raise Reject("no_other_color", obj.color or "")
        params.update(from_color=obj.color, to_color=pick(rng, choices))
        obj.color = params["to_color"]
        obj.rgb = tuple(cat.palette[obj.color])
        obj.name = cat.display_name(obj.asset_id, obj.color)
        movable = []  # a new coat of paint moves nothing

    if movable:
        obj.position = (obj.position[0], obj.position[1], resting_height(obj, cat))
        others = [o for o in target.objects if o.uid != uid]
        if not fits(obj, others, cat, ctx.spec, target.camera):
            raise Reject("edit_blocked", f"{uid} {subtype} collides or leaves the view")
    return Change(edit=Edit(kind=KIND, subtype=subtype, objects=[uid], params=params), target=target, movable=movable)


def check(edit: Edit, source: Scene, target: Scene, ctx: EditContext) -> None:
    before, after = source.get(edit.objects[0]), target.get(edit.objects[0])
    if edit.subtype == "size" and (after.scale > before.scale) != (edit.params["direction"] == "bigger"):
        raise Reject("claim_false", "size")
    if edit.subtype in ("shape", "color") and after.name == before.name:
        raise Reject("claim_false", f"{edit.subtype}: name unchanged")
