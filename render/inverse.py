"""The inverse of an edit: what turns the target back into the source.

`invert(edit, source, target)` returns an `Edit` meant to be phrased with the scenes swapped,
`language.instruction(inverse, target, source, rng)`, or None where the inverse has no wording
(a relative move: "move it back where it was" has no template; fall_over: no "stand it back
up"). The params are the ones `language._prepare` needs for the inverse's subtype, computed
against the swapped scenes, plus the matching numbers (angles, factors) for the record.
"""
from __future__ import annotations

from typing import Any

from simedit.render.scene import Edit, Scene

_OPPOSITE = {"left": "right", "right": "left", "closer": "further", "further": "closer",
             "bigger": "smaller", "smaller": "bigger"}


def _neg_angle(params: dict[str, Any]) -> dict[str, Any]:
    out = dict(params)
    if isinstance(out.get("angle_deg"), (int, float)):
        out["angle_deg"] = -out["angle_deg"]
    return out


def _count_named(scene: Scene, name: str) -> int:
    return sum(1 for o in scene.objects if o.name == name)


def invert(edit: Edit, source: Scene, target: Scene) -> Edit | None:
    """The edit that turns `target` back into `source`, or None when it cannot be phrased."""
    kind, sub, p = edit.kind, edit.subtype, dict(edit.params)
    objs, refs = list(edit.objects), list(edit.references)

    if kind == "rotation":
        if sub == "turn_90":
            if p.get("direction") not in ("left", "right"):
                return None
            q = _neg_angle(p)
            q["direction"] = _OPPOSITE[p["direction"]]
            return Edit(kind, sub, objs, refs, q)
        if sub in ("turn_around", "flip"):
            return Edit(kind, sub, objs, refs, _neg_angle(p))
        return None  # fall_over: no template for standing it back up

    if kind == "location":
        if sub == "absolute":
            if p.get("direction") not in _OPPOSITE:
                return None
            return Edit(kind, sub, objs, refs, {**p, "direction": _OPPOSITE[p["direction"]]})
        if sub in ("attract", "repel"):
            q = dict(p)
            if isinstance(q.get("factor"), (int, float)) and q["factor"]:
                q["factor"] = 1.0 / q["factor"]
            return Edit(kind, "repel" if sub == "attract" else "attract", objs, refs, q)
        if sub == "swap":
            return Edit(kind, sub, objs, refs, p)
        return None  # relative: "move it back" has no template

    if kind == "count":
        if not objs:
            return None
        if sub == "add":
            # the added objects exist in the target, which is the inverse's source
            try:
                name = target.get(objs[0]).name
            except KeyError:
                return None
            total = _count_named(target, name)
            return Edit(kind, "remove", objs, [], {"n": len(objs), "name": name, "remaining": total - len(objs)})
        if sub == "remove":
            # the removed objects exist in the source, which is the inverse's target
            try:
                first = source.get(objs[0])
            except KeyError:
                return None
            return Edit(kind, "add", objs, [], {"n": len(objs), "asset_id": first.asset_id, "name": first.name,
                                                "existing": _count_named(target, first.name)})
        return None

    if kind == "attribute":
        if sub == "size":
            if p.get("direction") not in ("bigger", "smaller"):
                return None
            return Edit(kind, sub, objs, refs, {**p, "direction": _OPPOSITE[p["direction"]]})
        if sub == "color":
            if not p.get("from_color"):
                return None  # it had the asset's own look: no color word to go back to
            return Edit(kind, sub, objs, refs, {**p, "from_color": p.get("to_color"), "to_color": p["from_color"]})
        if sub == "shape":
            q = dict(p)
            if "from_asset_id" in p or "new_asset_id" in p:
                q["from_asset_id"], q["new_asset_id"] = p.get("new_asset_id"), p.get("from_asset_id")
            return Edit(kind, sub, objs, refs, q)
    return None


__all__ = ["invert"]
