"""Each kind's change on a settled source, drawn many times (no physics): the target differs
from the source exactly as the edit's words say, and the random choices cover what the spec
allows (both turning senses, angles across the jitter, every side of a support)."""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from simedit.render.catalog.model import load_catalog
from simedit.render.common.errors import Reject
from simedit.render.plan.edits import KINDS
from simedit.render.plan.edits.base import Intent
from simedit.render.plan.planner import Planner
from simedit.render.poses import footprint_radius, to_rotation
from simedit.render.scene import Camera, Scene, SceneObject
from simedit.render.spec import load_spec


@functools.cache
def planner(kind: str) -> Planner:
    return Planner(load_spec(f"scenes/{kind}.yaml"), load_catalog())


@functools.cache
def source(kind: str, index: int = 0) -> Scene:
    return planner(kind).plan(index).sample.source


def changes(kind: str, subtype: str, src: Scene, n: int = 40, intent: Intent | None = None):
    ctx = planner(kind).contexts[0]
    out = []
    for seed in range(n):
        try:
            out.append(KINDS[kind].apply(subtype, intent or Intent(), src, ctx, np.random.default_rng(seed)))
        except Reject:
            pass
    assert out, f"{kind}.{subtype}: every draw was rejected"
    return out


def up(q) -> np.ndarray:
    return to_rotation(q).apply([0.0, 0.0, 1.0])


@pytest.mark.parametrize("subtype, nominal", [("turn_around", 180), ("turn_90", 90), ("flip", 180), ("fall_over", 90)])
def test_rotations_turn_by_the_drawn_angle_both_ways(subtype, nominal):
    ctx = planner("rotation").contexts[0]
    src = next(s for s in map(functools.partial(source, "rotation"), range(6))
               if any(KINDS["rotation"].eligible(subtype, load_catalog().get(o.asset_id), ctx) for o in s.objects))
    angles = []
    for ch in changes("rotation", subtype, src):
        uid, = ch.edit.objects
        a, b = src.get(uid), ch.target.get(uid)
        angle = ch.edit.params["angle_deg"]
        angles.append(angle)
        assert nominal - 10 <= abs(angle) <= nominal + 10 and ch.movable == [uid]
        turn = math.degrees((to_rotation(b.rotation) * to_rotation(a.rotation).inv()).magnitude())
        expected = min(abs(angle), 360 - abs(angle))  # a turn past 180 degrees is the shorter one the other way
        assert turn == pytest.approx(expected, abs=1e-6)
        tilt = math.degrees(math.acos(float(np.clip(up(a.rotation) @ up(b.rotation), -1, 1))))
        if subtype in ("turn_around", "turn_90"):
            assert tilt < 1 and ch.edit.params["axis"] == "z"  # a settled object stands a hair off upright
            yaw = math.degrees((to_rotation(b.rotation) * to_rotation(a.rotation).inv()).as_rotvec()[2])
            if abs(angle) < 180:  # past 180 degrees the shorter turn goes the other way
                assert math.copysign(1, yaw) == math.copysign(1, angle)
        else:  # about one of the object's own horizontal axes: the top tips over by the angle
            assert tilt == pytest.approx(expected, abs=1)
        if subtype == "turn_90":
            assert (angle > 0) == (ch.edit.params["direction"] == "left")
        assert b.position[:2] == a.position[:2]
    assert min(angles) < 0 < max(angles)  # both senses
    spread = sorted(abs(x) for x in angles)
    assert spread[-1] - spread[0] > 8  # across the jitter, not one end of it


def test_size_changes_scale_by_the_factor_the_words_name():
    src = source("attribute")
    seen = set()
    for ch in changes("attribute", "size", src):
        uid, = ch.edit.objects
        p = ch.edit.params
        seen.add(p["direction"])
        ratio = ch.target.get(uid).scale / src.get(uid).scale
        assert ratio == pytest.approx(p["factor"] if p["direction"] == "bigger" else 1 / p["factor"])
        assert ch.target.get(uid).position[:2] == src.get(uid).position[:2]
        for o in src.objects:
            if o.uid != uid:
                assert ch.target.get(o.uid) == o
    assert seen == {"bigger", "smaller"}


def test_colour_changes_pick_another_palette_colour():
    src = source("attribute")
    palette = load_catalog().palette
    for ch in changes("attribute", "color", src):
        uid, = ch.edit.objects
        a, b = src.get(uid), ch.target.get(uid)
        assert ch.edit.params["from_color"] == a.color != b.color == ch.edit.params["to_color"]
        assert b.rgb == tuple(palette[b.color]) and b.color in b.name and ch.movable == []
    only = SceneObject("o0", "coffee_mug", "red coffee mug", (0.0, 0.0, 0.05), color="red", rgb=tuple(palette["red"]))
    ctx = planner("attribute").contexts[0]
    one_colour = ctx.edit_spec.model_copy(update={"subtypes": ctx.edit_spec.subtypes.model_copy(update={
        "color": ctx.edit_spec.subtypes.color.model_copy(update={"colors": ["red"]})})})
    from simedit.render.plan.edits.base import EditContext
    with pytest.raises(Reject) as info:
        KINDS["attribute"].apply("color", Intent(), Scene([only], src.camera),
                                 EditContext(ctx.spec, one_colour, ctx.catalog, ctx.pool, ctx.colors),
                                 np.random.default_rng(0))
    assert info.value.reason == "no_other_color"


def test_removing_takes_distinct_objects_of_one_name_listed_in_scene_order():
    c = source("count").camera  # near enough that every ramekin is large enough to remove
    cam = Camera(position=(0.0, -0.55, 0.45), look_at=(-0.1, 0.05, 0.03), fov=c.fov, width=c.width, height=c.height)
    objs = [SceneObject(u, "ramekin", "white ramekin", (0.1 * i - 0.2, 0.0, 0.03)) for i, u in enumerate(["o2", "o9", "o10"])]
    objs.append(SceneObject("o0", "bowl", "blue bowl", (0.0, 0.2, 0.04)))
    scene = Scene(objs, cam)
    for n in (2, 3):
        for ch in changes("count", "remove", scene, n=15, intent=Intent(params={"n": n})):
            gone = ch.edit.objects
            assert len(set(gone)) == n and gone == sorted(gone, key=lambda u: int(u[1:]))
            assert ch.edit.params == {"n": n, "name": "white ramekin", "remaining": 3 - n}
            assert {o.uid for o in ch.target.objects} == {o.uid for o in objs} - set(gone)
    with pytest.raises(Reject):
        KINDS["count"].apply("remove", Intent(params={"n": 4}), scene, planner("count").contexts[0],
                             np.random.default_rng(0))


def test_added_copies_are_new_objects_of_the_asked_asset():
    src = source("count")
    intent = Intent(params={"n": 2, "asset_id": "bowl", "color": "green"})
    for ch in changes("count", "add", src, n=10, intent=intent):
        assert len(ch.edit.objects) == 2 and not {o.uid for o in src.objects} & set(ch.edit.objects)
        added = [ch.target.get(u) for u in ch.edit.objects]
        assert {o.asset_id for o in added} == {"bowl"} and {o.color for o in added} == {"green"}
        assert ch.edit.params["name"] == added[0].name == added[1].name and ch.movable == ch.edit.objects
        assert ch.edit.params["existing"] == sum(o.name == added[0].name for o in src.objects)


def test_take_off_puts_the_object_down_beside_its_support_on_any_side():
    catalog = load_catalog()
    sides = set()
    for i in range(12):
        plan = planner("stack").plan(i).sample
        if plan.edit.subtype != "take_off":
            continue
        (a,), (s,) = plan.edit.objects, plan.edit.references
        for ch in changes("stack", "take_off", plan.source, n=10):
            moved, support = ch.target.get(a), ch.target.get(s)
            gap = np.hypot(moved.position[0] - support.position[0], moved.position[1] - support.position[1])
            assert gap >= footprint_radius(support, catalog) + footprint_radius(moved, catalog) * 0.5
            assert moved.position[2] < plan.source.get(a).position[2]  # down from the top
            sides.add((moved.position[0] > support.position[0], moved.position[1] > support.position[1]))
    assert len(sides) >= 3
