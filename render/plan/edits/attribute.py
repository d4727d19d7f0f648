"""Attribute edits: size (scale up/down by a visible factor), shape (another object of the same
category, same pose), color (a new palette color; the name's color word follows it)."""
from __future__ import annotations

from typing import Any

import numpy as np

from simedit.render.catalog.model import Asset, Catalog
from simedit.render.common.colorspace import linear_to_srgb
from simedit.render.common.errors import Reject, SimEditError
from simedit.render.masks import object_mask, visible_change
from simedit.render.plan.edits.base import (OPPOSITE, Change, EditContext, EditKind, Intent, eligible_objects,
                                            need_objects, param, pick, request_one, visible_enough)
from simedit.render.plan.referring import ref
from simedit.render.plan.sampling import fits, uniform
from simedit.render.poses import resting_height
from simedit.render.scene import Edit, Scene, SceneObject
from simedit.render.visibility import clear_of_floor

MIN_AREA_CHANGE = 1.15  # a size edit must change the mask area by at least this factor


def colour_word(obj: SceneObject, catalog: Catalog) -> str | None:
    """The colour word in an object's name: its paint, or a textured asset's fixed word."""
    asset = catalog.get(obj.asset_id)
    return obj.color if asset.colorable else asset.color


def _siblings(asset: Asset, ctx: EditContext) -> list[Asset]:
    """Other pool assets of the same category that would be named differently."""
    return [a for a in ctx.pool if a.category == asset.category and a.id != asset.id and a.name != asset.name]


def _target_colors(ctx: EditContext) -> list[str]:
    return list(ctx.edit_spec.subtypes.color.colors) or ctx.colors


EDIT_TRIES = 8  # candidate changes drawn before the attempt is rejected


class AttributeKind(EditKind):
    name = "attribute"
    subtypes = ("size", "shape", "color")
    template_keys = ("size_bigger", "size_smaller", "shape", "color")

    def eligible(self, subtype: str, asset: Asset, ctx: EditContext) -> bool:
        if subtype == "shape":
            return bool(_siblings(asset, ctx))
        if subtype == "color":
            return asset.colorable
        return True

    def needs(self, subtype: str) -> str:
        return {
            "size": "any object",
            "shape": "an object whose category has another object in the pool",
            "color": "a colorable (solid-color) object",
        }[subtype]

    def intent(self, subtype: str, ctx: EditContext, rng: np.random.Generator) -> Intent:
        return request_one(self, subtype, ctx, rng)

    def apply(self, subtype: str, intent: Intent, source: Scene, ctx: EditContext, rng: np.random.Generator) -> Change:
        """Draw candidate changes (object, direction, new shape or colour) until one fits on the
        floor, stays in view and stays large enough to see, before the attempt is given up."""
        uids = eligible_objects(self, subtype, source, ctx)
        if not uids:
            raise Reject("no_eligible_object", subtype)
        reason = Reject("edit_blocked")
        for _ in range(EDIT_TRIES):
            try:
                return self._candidate(subtype, pick(rng, uids), source, ctx, rng)
            except Reject as r:
                reason = r
        raise reason

    def _candidate(self, subtype: str, uid: str, source: Scene, ctx: EditContext, rng: np.random.Generator) -> Change:
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
            # one change: the shape. A solid target keeps the source's colour word (a textured
            # brown block becomes a brown toy brick); a textured target keeps its own look, and
            # the instruction names it without a colour word
            word = colour_word(obj, cat)
            new = pick(rng, _siblings(cat.get(obj.asset_id), ctx))  # every colour word is a palette colour
            if new.colorable:
                obj.color = word if word is not None else pick(rng, ctx.colors)
            else:
                obj.color = None
            old = cat.get(obj.asset_id)
            before_name = obj.name
            obj.asset_id = new.id
            obj.rgb = tuple(cat.palette[obj.color]) if obj.color else None
            obj.name = cat.display_name(new.id, obj.color)
            # the words for the instruction and for its inverse: a textured object without the
            # colour word its look carries anyway
            params.update(from_asset_id=old.id, new_asset_id=new.id,
                          new_name=obj.name if new.colorable else new.name,
                          from_name=before_name if old.colorable else old.name)
        else:
            choices = [c for c in clear_of_floor(_target_colors(ctx), cat.palette, source.floor.rgb) if c != obj.color]
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
            if not visible_enough(target, uid, ctx):
                raise Reject("too_small", f"{uid} after the {subtype} edit")
        edit = Edit(kind=self.name, subtype=subtype, objects=[uid], params=params)
        return Change(edit=edit, target=target, movable=movable)

    def check_plan(self, edit: Edit, source: Scene, target: Scene, ctx: EditContext) -> None:
        before, after = source.get(edit.objects[0]), target.get(edit.objects[0])
        if edit.subtype == "size" and (after.scale > before.scale) != (edit.params["direction"] == "bigger"):
            raise Reject("claim_false", "size")
        if edit.subtype in ("shape", "color") and after.name == before.name:
            raise Reject("claim_false", f"{edit.subtype}: name unchanged")
        if edit.subtype == "shape" and ctx.catalog.get(after.asset_id).colorable:
            was = colour_word(before, ctx.catalog)
            if was is not None and after.color != was:
                raise Reject("two_edits", f"the shape edit also made it {after.color}")

    def template_context(self, edit: Edit, source: Scene, target: Scene) -> tuple[str, dict[str, Any]]:
        need_objects(edit, 1)
        uid = edit.objects[0]
        if edit.subtype == "size":
            direction = param(edit, "direction", {"bigger", "smaller"})
            return f"size_{direction}", {"obj": ref(source, uid)}
        if edit.subtype == "shape":
            return "shape", {"obj": ref(source, uid), "new": edit.params.get("new_name") or target.get(uid).name}
        if edit.subtype == "color":
            return "color", {"obj": ref(source, uid), "color": str(param(edit, "to_color"))}
        raise ValueError(f"unknown edit {self.name}.{edit.subtype}")

    def check_masks(self, edit: Edit, source: Scene, target: Scene, src: Any, tgt: Any, ctx: EditContext,
                    figures: dict[str, Any]) -> str:
        uid = edit.objects[0]
        if edit.subtype == "shape":
            return visible_change(uid, src, tgt, figures)
        if edit.subtype == "size":
            ratio = object_mask(tgt.mask, uid).sum() / max(object_mask(src.mask, uid).sum(), 1)
            figures["area_ratio"] = round(float(ratio), 3)
            ok = ratio > MIN_AREA_CHANGE if edit.params["direction"] == "bigger" else ratio < 1 / MIN_AREA_CHANGE
            return "" if ok else f"mask area ratio {ratio:.2f}"
        named = linear_to_srgb(np.asarray(ctx.catalog.palette[edit.params["to_color"]], float))
        before = src.rgb[object_mask(src.mask, uid)].astype(float).mean(axis=0)
        after = tgt.rgb[object_mask(tgt.mask, uid)].astype(float).mean(axis=0)
        figures["mean_rgb"] = [before.round(1).tolist(), after.round(1).tolist()]
        ok = np.linalg.norm(after - named) < np.linalg.norm(before - named)
        return "" if ok else f"mean color did not move toward {edit.params['to_color']}"

    def no_change_prompts(self, subtype: str) -> tuple[str, ...]:
        # "make the blue mug blue": the state the source already shows
        return ("already_true", "absent_object") if subtype == "color" else ("absent_object",)

    def check_feasible(self, ctx: EditContext, spec_path: str) -> None:
        super().check_feasible(ctx, spec_path)
        for i, word in enumerate(ctx.edit_spec.subtypes.color.colors):
            if word not in ctx.catalog.palette:
                raise SimEditError(f"unknown color {word!r}; the catalog's palette has {', '.join(ctx.catalog.palette)}",
                                   file=spec_path, field=f"{ctx.where}.subtypes.color.colors[{i}]")

    def invert(self, edit: Edit, source: Scene, target: Scene) -> Edit | None:
        p, objs, refs = dict(edit.params), list(edit.objects), list(edit.references)
        if edit.subtype == "size":
            if p.get("direction") not in ("bigger", "smaller"):
                return None
            return Edit(self.name, "size", objs, refs, {**p, "direction": OPPOSITE[p["direction"]]})
        if edit.subtype == "color":
            if not p.get("from_color"):
                return None  # it had the asset's own look: no color word to go back to
            return Edit(self.name, "color", objs, refs, {**p, "from_color": p.get("to_color"), "to_color": p["from_color"]})
        if edit.subtype == "shape":
            for a, b in (("from_asset_id", "new_asset_id"), ("from_name", "new_name")):
                if a in p or b in p:
                    p[a], p[b] = edit.params.get(b), edit.params.get(a)
            return Edit(self.name, "shape", objs, refs, p)
        return None
