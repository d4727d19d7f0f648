"""Count edits: add or remove n instances of one object (same asset, same color, same name).

For "remove n" the source must already hold at least n same-name objects, so the intent asks
the scene sampler to plant them; "add n" chooses spots for n new copies before the source
settles (free floor, in view, seen past the others) and frames the camera with them there; the
planner settles only them. Counted objects are drawn among those that show enough to be seen
(`appearance.shown`). The thing counted is the name group itself, so instructions
need no referring expressions.
"""
from __future__ import annotations

import copy
from typing import Any

import numpy as np

from simedit.render.catalog.model import Asset
from simedit.render.common.errors import Reject, SimEditError
from simedit.render.masks import object_mask
from simedit.render.plan.appearance import shown
from simedit.render.plan.edits.base import (Arranged, Change, EditContext, EditKind, Intent, count_named, pick,
                                            visible_enough)
from simedit.render.plan.referring import group_name
from simedit.render.plan.sampling import (ObjectRequest, fits, frame_camera, integer, make_object, next_uid,
                                          object_scale, place)
from simedit.render.poses import footprint_radius
from simedit.render.scene import Edit, Scene, SceneObject
from simedit.render.spec import EditSpecBase, bounds

PLACE_TRIES = 6  # floor spots tried for each added object to be large enough in the image
MIN_COUNTED_PX = 10  # an instance counts as visible in a mask with at least this many pixels


def same_name(scene: Scene, name: str) -> list[str]:
    return [o.uid for o in scene.objects if o.name == name]


def _color(asset: Asset, ctx: EditContext, rng: np.random.Generator) -> str | None:
    return pick(rng, ctx.colors) if asset.colorable else None


def _n_of(edit: Edit) -> int:
    n = len(edit.objects)
    if n < 1 or int(edit.params.get("n", n)) != n:
        raise ValueError(f"count.{edit.subtype}: params.n={edit.params.get('n')} but objects={edit.objects}")
    return n


def _placed(obj: SceneObject, scene: Scene, ctx: EditContext, rng: np.random.Generator) -> SceneObject:
    """`obj` on a free floor spot in view, in the placement area grown by its footprint (a large
    object added to a full table may stand at its edge; the camera is framed afterwards)."""
    return place(obj, scene.objects, ctx.catalog, ctx.spec, scene.camera, rng, grow=footprint_radius(obj, ctx.catalog))


class CountKind(EditKind):
    name = "count"
    subtypes = ("add", "remove")
    template_keys = ("add_new", "add_more", "remove_only", "remove_all", "remove_some")

    def eligible(self, subtype: str, asset: Asset, ctx: EditContext) -> bool:
        return True

    def needs(self, subtype: str) -> str:
        return "any object"

    def intent(self, subtype: str, ctx: EditContext, rng: np.random.Generator) -> Intent:
        n = integer(rng, getattr(ctx.edit_spec.subtypes, subtype).n)
        asset = pick(rng, shown(ctx.pool, ctx.spec, ctx.catalog))  # not a pencil a few pixels long
        color = _color(asset, ctx, rng)
        if subtype == "remove":
            copies = n + int(rng.integers(0, 2))  # sometimes one stays behind: "remove two of the ..."
            return Intent([ObjectRequest(asset.id, color) for _ in range(copies)], {"n": n})
        # add: half the time the added object is already in the scene ("add another red mug")
        existing = [ObjectRequest(asset.id, color)] if rng.random() < 0.5 else []
        shade = color or asset.color  # a textured asset's own colour word: no brown block on a brown floor
        return Intent(existing, {"n": n, "asset_id": asset.id, "color": color},
                      colors=[shade] if shade in ctx.catalog.palette else [])

    def arrange_source(self, subtype: str, intent: Intent, draft: Scene, required: list[str], ctx: EditContext,
                       rng: np.random.Generator) -> Arranged:
        """For `add`: choose where the new objects will stand before the source settles, and frame
        the camera on the scene with them, so that they have room and stay in the picture; the
        spots are kept in the intent for `apply` (which places them anew if they no longer fit)."""
        if subtype != "add":
            return Arranged(draft)
        asset = ctx.catalog.get(intent.params["asset_id"])
        for _ in range(PLACE_TRIES):
            scene = draft.copy()
            added: list[SceneObject] = []
            try:
                for _ in range(intent.params["n"]):
                    obj = make_object(next_uid(scene.objects), asset, intent.params["color"], ctx.catalog,
                                      ctx.colors, object_scale(ctx.spec, asset, ctx.catalog, rng), rng)
                    scene.objects.append(_placed(obj, scene, ctx, rng))
                    added.append(obj)
            except Reject:
                continue
            scene.camera = frame_camera(scene.camera, scene.objects, ctx.catalog, ctx.spec, rng)
            if all(visible_enough(scene, o.uid, ctx) for o in added):
                intent.params["added"] = added
                draft.camera = scene.camera
                return Arranged(draft)
        return Arranged(draft)  # `apply` looks for spots itself

    def apply(self, subtype: str, intent: Intent, source: Scene, ctx: EditContext, rng: np.random.Generator) -> Change:
        n = intent.params["n"]
        target = source.copy()
        if subtype == "remove":
            groups: dict[str, list[str]] = {}  # the objects of each name that show well enough to remove
            for o in source.objects:
                if visible_enough(source, o.uid, ctx):
                    groups.setdefault(o.name, []).append(o.uid)
            names = sorted(name for name, uids in groups.items() if len(uids) >= n)
            if not names:
                raise Reject("too_few_objects", f"no {n} objects share a name")
            name = pick(rng, names)
            gone = sorted(rng.choice(groups[name], size=n, replace=False).tolist(), key=lambda u: int(u[1:]))
            target.objects = [o for o in target.objects if o.uid not in gone]
            edit = Edit(kind=self.name, subtype=subtype, objects=gone,
                        params={"n": n, "name": name, "remaining": count_named(source, name) - n})
            return Change(edit=edit, target=target, movable=[])

        asset = ctx.catalog.get(intent.params["asset_id"])
        added: list[str] = []
        for obj in [copy.deepcopy(o) for o in intent.params.get("added", [])]:
            # the spots chosen when the camera was framed, while the settled source leaves them free
            if not fits(obj, target.objects, ctx.catalog, ctx.spec, target.camera, in_area=False):
                break
            target.objects.append(obj)
            if not visible_enough(target, obj.uid, ctx):
                target.objects.pop()
                break
            added.append(obj.uid)
        for _ in range(n - len(added)):
            obj = make_object(next_uid(target.objects), asset, intent.params["color"], ctx.catalog, ctx.colors,
                              object_scale(ctx.spec, asset, ctx.catalog, rng), rng)
            for _ in range(PLACE_TRIES):  # a spot where it shows: not behind others, not too far
                target.objects.append(_placed(obj, target, ctx, rng))
                if visible_enough(target, obj.uid, ctx):
                    break
                target.objects.pop()
            else:
                raise Reject("hidden_or_small", f"no spot where an added {obj.name} shows")
            added.append(obj.uid)
        name = target.get(added[0]).name
        edit = Edit(kind=self.name, subtype=subtype, objects=added,
                    params={"n": n, "asset_id": asset.id, "name": name, "existing": len(same_name(source, name))})
        return Change(edit=edit, target=target, movable=added)

    def check_plan(self, edit: Edit, source: Scene, target: Scene, ctx: EditContext) -> None:
        name, n = edit.params["name"], edit.params["n"]
        delta = len(same_name(target, name)) - len(same_name(source, name))
        if delta != (n if edit.subtype == "add" else -n):
            raise Reject("count_mismatch", f"{name}: changed by {delta}, expected {n}")

    def template_context(self, edit: Edit, source: Scene, target: Scene) -> tuple[str, dict[str, Any]]:
        n = _n_of(edit)
        if edit.subtype == "add":
            name = group_name(target, edit.objects, "count.add")
            existing = count_named(source, name)
            return ("add_more" if existing else "add_new"), {"name": name, "n": n, "existing": existing}
        if edit.subtype == "remove":
            name = group_name(source, edit.objects, "count.remove")
            total = count_named(source, name)
            if total < n:
                raise ValueError(f"count.remove: removes {n} {name!r} but the source has {total}")
            key = "remove_only" if total == 1 else "remove_all" if total == n else "remove_some"
            return key, {"name": name, "n": n, "total": total, "remaining": total - n}
        raise ValueError(f"unknown edit {self.name}.{edit.subtype}")

    def check_masks(self, edit: Edit, source: Scene, target: Scene, src: Any, tgt: Any, ctx: EditContext,
                    figures: dict[str, Any]) -> str:
        name = edit.params["name"]

        def visible(scene: Scene, out: Any) -> int:
            return sum(1 for o in scene.objects
                       if o.name == name and object_mask(out.mask, o.uid).sum() >= MIN_COUNTED_PX)

        delta = visible(target, tgt) - visible(source, src)
        figures["visible_delta"] = delta
        want = edit.params["n"] if edit.subtype == "add" else -edit.params["n"]
        return "" if delta == want else f"{name}: {delta:+d} visible instances, expected {want:+d}"

    def invert(self, edit: Edit, source: Scene, target: Scene) -> Edit | None:
        objs = list(edit.objects)
        if not objs:
            return None
        if edit.subtype == "add":
            # the added objects exist in the target, which is the inverse's source
            try:
                name = target.get(objs[0]).name
            except KeyError:
                return None
            total = count_named(target, name)
            return Edit(self.name, "remove", objs, [], {"n": len(objs), "name": name, "remaining": total - len(objs)})
        if edit.subtype == "remove":
            # the removed objects exist in the source, which is the inverse's target
            try:
                first = source.get(objs[0])
            except KeyError:
                return None
            return Edit(self.name, "add", objs, [], {"n": len(objs), "asset_id": first.asset_id, "name": first.name,
                                                     "existing": count_named(target, first.name)})
        return None

    def no_change_prompts(self, subtype: str) -> tuple[str, ...]:
        # adding something absent is itself a change ("add a squirrel"): no no-change prompt
        return () if subtype == "add" else ("absent_object",)

    def check_feasible(self, ctx: EditContext, spec_path: str) -> None:
        super().check_feasible(ctx, spec_path)
        for name, sub in ctx.edit_spec.subtypes:
            if sub.weight <= 0:
                continue
            where = f"{ctx.where}.subtypes.{name}.n"
            n_hi = bounds(sub.n)[1]
            if n_hi < 1:
                raise SimEditError("n must be at least 1", file=spec_path, field=where)
            if name == "remove" and n_hi > bounds(ctx.spec.objects.count)[1]:
                raise SimEditError(
                    f"cannot remove {n_hi} objects from scenes of at most {bounds(ctx.spec.objects.count)[1]}",
                    file=spec_path, field=where,
                )

    def added_objects(self, edit_spec: EditSpecBase) -> tuple[int, str]:
        return bounds(edit_spec.subtypes.add.n)[1], "subtypes.add.n"
