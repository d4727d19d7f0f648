"""Count edits: add or remove n instances of one object (same asset, same color, same name).

For "remove n" the source must already hold at least n same-name objects, so the intent asks
the scene sampler to plant them; "add n" places n new copies without overlap, in view, and
the planner settles only them.
"""
from __future__ import annotations

import numpy as np

from simedit.render.catalog.model import Asset
from simedit.render.common.errors import Reject
from simedit.render.plan.sampling import ObjectRequest, integer, make_object, next_uid, place, uniform
from simedit.render.scene import Edit, Scene
from simedit.render.plan.edits.base import Change, EditContext, Intent, pick

KIND = "count"
SUBTYPES = ("add", "remove")


def eligible(subtype: str, asset: Asset, ctx: EditContext) -> bool:
    return True


def needs(subtype: str) -> str:
    return "any object"


def _color(asset: Asset, ctx: EditContext, rng: np.random.Generator) -> str | None:
    return pick(rng, ctx.colors) if asset.colorable else None


def intent(subtype: str, ctx: EditContext, rng: np.random.Generator) -> Intent:
    n = integer(rng, getattr(ctx.edit_spec.subtypes, subtype).n)
    asset = pick(rng, ctx.pool)
    color = _color(asset, ctx, rng)
    if subtype == "remove":
        copies = n + int(rng.integers(0, 2))  # sometimes one stays behind: "remove two of the ..."
        return Intent([ObjectRequest(asset.id, color) for _ in range(copies)], {"n": n})
    # add: half the time the added object is already in the scene ("add another red mug")
    existing = [ObjectRequest(asset.id, color)] if rng.random() < 0.5 else []
    return Intent(existing, {"n": n, "asset_id": asset.id, "color": color})


def same_name(scene: Scene, name: str) -> list[str]:
    return [o.uid for o in scene.objects if o.name == name]


def apply(subtype: str, intent: Intent, source: Scene, ctx: EditContext, rng: np.random.Generator) -> Change:
    n = intent.params["n"]
    target = source.copy()
    if subtype == "remove":
        groups: dict[str, list[str]] = {}
        for o in source.objects:
            groups.setdefault(o.name, []).append(o.uid)
        names = sorted(name for name, uids in groups.items() if len(uids) >= n)
        if not names:
            raise Reject("too_few_objects", f"no {n} objects share a name")
        name = pick(rng, names)
        gone = sorted(rng.choice(groups[name], size=n, replace=False).tolist(), key=lambda u: int(u[1:]))
        target.objects = [o for o in target.objects if o.uid not in gone]
        edit = Edit(kind=KIND, subtype=subtype, objects=gone, params={"n": n, "name": name, "remaining": len(groups[name]) - n})
        return Change(edit=edit, target=target, movable=[])

    asset = ctx.catalog.get(intent.params["asset_id"])
    added: list[str] = []
    for _ in range(n):
        obj = make_object(next_uid(target.objects), asset, intent.params["color"], ctx.catalog, ctx.colors,
                          uniform(rng, ctx.spec.objects.scale), rng)
        target.objects.append(place(obj, target.objects, ctx.catalog, ctx.spec, target.camera, rng))
        added.append(obj.uid)
    name = target.get(added[0]).name
    edit = Edit(kind=KIND, subtype=subtype, objects=added,
                params={"n": n, "asset_id": asset.id, "name": name, "existing": len(same_name(source, name))})
    return Change(edit=edit, target=target, movable=added)


def check(edit: Edit, source: Scene, target: Scene, ctx: EditContext) -> None:
    name, n = edit.params["name"], edit.params["n"]
    delta = len(same_name(target, name)) - len(same_name(source, name))
    if delta != (n if edit.subtype == "add" else -n):
        raise Reject("count_mismatch", f"{name}: changed by {delta}, expected {n}")
