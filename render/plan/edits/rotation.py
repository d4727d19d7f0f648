"""Rotation edits: turn around (Z 180), turn 90 degrees (Z 90), fall over (X/Y 90), flip (X/Y 180).

Tags gate them (DESIGN.md): `round` objects look the same after a Z turn, so they get none;
only `can-fall` objects fall over visibly; `invariant` objects (balls) get no rotation at all.
A flip is planned only for objects that stand upside down through the jitter (`stands_flipped`:
a mug on its rim, never a bottle on its cap, which PyBullet would topple).
The rotation is about a world axis through the object's center; the planner re-settles it.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.spatial import ConvexHull, QhullError, cKDTree
from scipy.spatial.transform import Rotation

from simedit.render.catalog.model import Asset
from simedit.render.common.errors import Reject
from simedit.render.masks import visible_change
from simedit.render.plan.edits.base import (OPPOSITE, Change, EditContext, EditKind, Intent, eligible_objects,
                                            need_objects, negated_angle, param, pick, request_one)
from simedit.render.plan.referring import ref
from simedit.render.poses import resting_height, rotate_world, to_rotation, world_hull
from simedit.render.scene import Edit, Scene, SceneObject

Z_TURNS = ("turn_around", "turn_90")
TOLERANCE = math.radians(25)  # physics may settle a jittered object a little off the planned angle
SYMMETRY_TOLERANCE = 0.08  # of the object's size: a turn that moves no hull point further is invisible
_symmetric: dict[tuple[Asset, str, float], bool] = {}
_stands: dict[tuple, bool] = {}
_AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}


def symmetric_under(asset: Asset, axis: str, angle_deg: float, ctx: EditContext) -> bool:
    """Does turning the shape by `angle_deg` about its own `axis` map it onto itself? A plain
    box turned around or flipped, a cube turned 90 degrees, a ring flipped: not round, yet
    the image would not change."""
    key = (asset, axis, angle_deg)
    if key not in _symmetric:
        geo = ctx.catalog.geometry(asset.id)
        turned = Rotation.from_rotvec(np.array(_AXES[axis]) * math.radians(angle_deg)).apply(geo.vertices)
        # Hausdorff distance between the mesh's vertices and their turned copies, relative to
        # the object's size (vertices, not the hull: a cup's opening is a concavity)
        tree = cKDTree(geo.vertices)
        spread = max(tree.query(turned)[0].max(), cKDTree(turned).query(geo.vertices)[0].max())
        _symmetric[key] = bool(spread < SYMMETRY_TOLERANCE * float(np.max(geo.extents)))
    return _symmetric[key]


def visible_axes(subtype: str, asset: Asset, ctx: EditContext) -> list[str]:
    """The object's own axes about which this subtype shows a change."""
    if "invariant" in asset.tags:
        return []
    angle = getattr(ctx.edit_spec.subtypes, subtype).angle_deg
    if subtype in Z_TURNS:
        return [] if "round" in asset.tags or symmetric_under(asset, "z", angle, ctx) else ["z"]
    if subtype == "fall_over" and "can-fall" not in asset.tags:
        return []
    return [a for a in ("x", "y") if not symmetric_under(asset, a, angle, ctx)
            and (subtype != "flip" or stands_flipped(asset, a, ctx))]


CONTACT_BAND = 0.003  # m: hull points this close to the floor touch it
MIN_CONTACT_M = 0.006  # a resting contact must span at least this (m)...
MIN_CONTACT_SHARE = 0.1  # ...and this share of the object's size: a point is no base
FLIP_TILT_MARGIN = math.radians(5)  # beyond the jitter: settling nudges a flipped object too


def resting_contact(obj, ctx: EditContext) -> float:
    """The longest span of the object's floor contact (hull points within CONTACT_BAND of the
    floor): ~0 for a point, its length for an edge (a can on its side), larger for a face."""
    pts = world_hull(obj, ctx.catalog)
    low = pts[pts[:, 2] <= pts[:, 2].min() + CONTACT_BAND][:, :2]
    if len(low) < 2:
        return 0.0
    return float(np.max(np.linalg.norm(low[:, None, :] - low[None, :, :], axis=-1)))


def tips_over(obj, tilt: float, ctx: EditContext) -> bool:
    """Would the object, resting as posed, tip over when tilted by `tilt` (radians)? Its center
    must stay over its floor contact (hull points within CONTACT_BAND of the floor) when the
    contact is tilted: the center's distance inside the contact's outline at least its height
    times tan(tilt). A point or an edge of contact always tips."""
    pts = world_hull(obj, ctx.catalog)
    low = pts[pts[:, 2] <= pts[:, 2].min() + CONTACT_BAND][:, :2]
    try:
        outline = ConvexHull(low)
    except (QhullError, ValueError):  # fewer than 3 points, or all on a line
        return True
    inside = -float(np.max(outline.equations[:, :2] @ np.asarray(obj.position[:2]) + outline.equations[:, 2]))
    return inside < (obj.position[2] - float(pts[:, 2].min())) * math.tan(tilt)


def stands_flipped(asset: Asset, axis: str, ctx: EditContext) -> bool:
    """Does the asset, flipped about its own `axis`, stand upside down through the spec's jitter
    plus FLIP_TILT_MARGIN (a mug on its rim, not a bottle on its cap)? PyBullet would topple it
    off any other pose, and the pair would not show a flip."""
    sub = ctx.edit_spec.subtypes.flip
    key = (asset, axis, sub.angle_deg, sub.jitter_deg)
    if key not in _stands:
        obj = SceneObject("o0", asset.id, asset.name, (0.0, 0.0, 0.0))
        obj.rotation = rotate_world(obj.rotation, axis, math.radians(sub.angle_deg))
        obj.position = (0.0, 0.0, resting_height(obj, ctx.catalog))
        _stands[key] = not tips_over(obj, math.radians(sub.jitter_deg) + FLIP_TILT_MARGIN, ctx)
    return _stands[key]


def up_vector(q) -> np.ndarray:
    return to_rotation(q).apply([0.0, 0.0, 1.0])


class RotationKind(EditKind):
    name = "rotation"
    subtypes = ("turn_around", "turn_90", "fall_over", "flip")
    template_keys = subtypes

    def eligible(self, subtype: str, asset: Asset, ctx: EditContext) -> bool:
        return bool(visible_axes(subtype, asset, ctx))

    def needs(self, subtype: str) -> str:
        return {
            "turn_around": "an object that is neither round nor invariant nor symmetric under the turn",
            "turn_90": "an object that is neither round nor invariant nor symmetric under the turn",
            "fall_over": "a can-fall object that is not invariant",
            "flip": "an object that is not invariant, not symmetric when flipped, and stands upside down",
        }[subtype]

    def intent(self, subtype: str, ctx: EditContext, rng: np.random.Generator) -> Intent:
        return request_one(self, subtype, ctx, rng)

    def apply(self, subtype: str, intent: Intent, source: Scene, ctx: EditContext, rng: np.random.Generator) -> Change:
        sub = getattr(ctx.edit_spec.subtypes, subtype)
        uids = eligible_objects(self, subtype, source, ctx)
        if not uids:
            raise Reject("no_eligible_object", subtype)
        uid = pick(rng, uids)
        angle = math.radians(sub.angle_deg + rng.uniform(-sub.jitter_deg, sub.jitter_deg))
        params: dict = {}
        if subtype in Z_TURNS:
            axis = "z"
            if subtype == "turn_90":
                params["direction"] = pick(rng, ["left", "right"])  # left: counter-clockwise seen from above
                signed = angle if params["direction"] == "left" else -angle
            else:
                signed = angle * pick(rng, [1.0, -1.0])
        else:  # about one of the object's own horizontal axes, so the flip is exactly the one tested
            axis = pick(rng, visible_axes(subtype, ctx.catalog.get(source.get(uid).asset_id), ctx))
            signed = angle * pick(rng, [1.0, -1.0])
        params.update(axis=axis, angle_deg=math.degrees(signed))

        target = source.copy()
        obj = target.get(uid)
        world_axis = "z" if axis == "z" else to_rotation(obj.rotation).apply(_AXES[axis])
        obj.rotation = rotate_world(obj.rotation, world_axis, signed)
        obj.position = (obj.position[0], obj.position[1], resting_height(obj, ctx.catalog))
        edit = Edit(kind=self.name, subtype=subtype, objects=[uid], params=params)
        return Change(edit=edit, target=target, movable=[uid])

    def check_plan(self, edit: Edit, source: Scene, target: Scene, ctx: EditContext) -> None:
        """After settling, the object must show the rotation the instruction names, and rest the
        way a real one would: not balanced on a point (a cone on its apex, a candle on its wick),
        which PyBullet's symmetric settling allows but a table never would."""
        uid = edit.objects[0]
        if edit.subtype in ("fall_over", "flip"):
            contact = resting_contact(target.get(uid), ctx)
            if contact < max(MIN_CONTACT_M, MIN_CONTACT_SHARE * float(np.max(ctx.catalog.geometry(target.get(uid).asset_id).extents))):
                raise Reject("unstable_pose", f"{uid} rests on {contact * 1000:.0f} mm")
        before, after = source.get(uid).rotation, target.get(uid).rotation
        tilt = math.acos(float(np.clip(up_vector(before) @ up_vector(after), -1, 1)))
        if edit.subtype in Z_TURNS:
            if tilt > TOLERANCE:
                raise Reject("rotation_not_upright", f"{uid} tipped {math.degrees(tilt):.0f} deg")
            yaw = (to_rotation(before).inv() * to_rotation(after)).magnitude()
            if abs(yaw - abs(math.radians(edit.params["angle_deg"]))) > TOLERANCE:
                raise Reject("rotation_angle", f"{uid} turned {math.degrees(yaw):.0f} deg")
        elif edit.subtype == "fall_over":
            if not math.radians(60) <= tilt <= math.radians(120):
                raise Reject("did_not_fall", f"{uid} tilted {math.degrees(tilt):.0f} deg")
        elif edit.subtype == "flip":
            if tilt < math.radians(150):
                raise Reject("did_not_flip", f"{uid} tilted {math.degrees(tilt):.0f} deg")

    def template_context(self, edit: Edit, source: Scene, target: Scene) -> tuple[str, dict[str, Any]]:
        need_objects(edit, 1)
        if edit.subtype == "turn_90":
            # "left" is counter-clockwise seen from above (apply); the words say it that way
            turn = {"left": "counterclockwise", "right": "clockwise"}[param(edit, "direction", {"left", "right"})]
            return edit.subtype, {"obj": ref(source, edit.objects[0]), "turn": turn}
        if edit.subtype in self.subtypes:
            return edit.subtype, {"obj": ref(source, edit.objects[0])}
        raise ValueError(f"unknown edit {self.name}.{edit.subtype}")

    def check_masks(self, edit: Edit, source: Scene, target: Scene, src: Any, tgt: Any, ctx: EditContext,
                    figures: dict[str, Any]) -> str:
        return visible_change(edit.objects[0], src, tgt, figures)

    def invert(self, edit: Edit, source: Scene, target: Scene) -> Edit | None:
        p, objs, refs = dict(edit.params), list(edit.objects), list(edit.references)
        if edit.subtype == "turn_90":
            if p.get("direction") not in ("left", "right"):
                return None
            q = negated_angle(p)
            q["direction"] = OPPOSITE[p["direction"]]
            return Edit(self.name, edit.subtype, objs, refs, q)
        if edit.subtype in ("turn_around", "flip"):
            return Edit(self.name, edit.subtype, objs, refs, negated_angle(p))
        return None  # fall_over: no template for standing it back up

    def no_change_prompts(self, subtype: str) -> tuple[str, ...]:
        # a ball turned any way looks the same: "turn the tennis ball around" is a no-change edit
        return ("invariant_rotation", "absent_object")
