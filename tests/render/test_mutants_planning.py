"""Planning filters of every kind, on a few real plans (real catalog, real PyBullet) and on specs
that can never be satisfied: which objects may take an edit, that the planned change is the one
the instruction names, and that an impossible spec fails at once naming its field."""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from simedit.render.catalog.model import load_catalog
from simedit.render.common.errors import SimEditError
from simedit.render.plan.edits import KINDS
from simedit.render.plan.edits.base import EditContext
from simedit.render.plan.edits.rotation import symmetric_under, visible_axes
from simedit.render.plan.planner import Planner
from simedit.render.poses import angle_between, to_rotation
from simedit.render.scene import Edit
from simedit.render.spec import load_spec

N = 10


@functools.cache
def catalog():
    return load_catalog()


def plans(kind: str, n: int = N, first: int = 0):
    planner = Planner(load_spec(f"scenes/{kind}.yaml"), catalog())
    out = [o.sample for i in range(first, first + n) if (o := planner.plan(i)).sample is not None]
    assert len(out) >= n - 2
    return out


def moved(p) -> set[str]:
    return {o.uid for o in p.source.objects if p.target.get(o.uid) != o}


def test_location_plans_move_only_what_they_name_and_claim_something_new():
    seen = set()
    for p in plans("location", 20):
        e = p.edit
        seen.add(e.subtype)
        assert moved(p) <= set(e.objects) and moved(p)
        if e.subtype == "relative":
            assert len(e.objects) == 1 and len(e.references) == 1 and e.references[0] not in e.objects
            assert e.params["direction"] in ("left_of", "right_of", "in_front_of", "behind")
        elif e.subtype == "absolute":
            assert e.params["direction"] in ("left", "right", "closer", "further") and not e.references
        elif e.subtype in ("attract", "repel"):
            assert len(e.objects) == 2 and (0.35 <= e.params["factor"] <= 0.6 if e.subtype == "attract"
                                            else 1.6 <= e.params["factor"] <= 2.2)
        for uid in e.objects:  # moved on the floor, never turned (physics may settle it a little)
            assert math.degrees(angle_between(p.target.get(uid).rotation, p.source.get(uid).rotation)) < 5
    assert seen >= {"relative", "absolute", "attract", "repel"}


def test_rotation_plans_turn_the_way_the_words_say():
    for p in plans("rotation", 14):
        uid, = p.edit.objects
        e, a, b = p.edit, p.source.get(uid), p.target.get(uid)
        assert moved(p) == {uid}
        asset = catalog().get(a.asset_id)
        assert e.params["axis"] in visible_axes(e.subtype, asset, Planner(load_spec("scenes/rotation.yaml"), catalog()).contexts[0])
        nominal = {"turn_around": 180, "turn_90": 90, "fall_over": 90, "flip": 180}[e.subtype]
        assert abs(abs(e.params["angle_deg"]) - nominal) <= 10
        if e.subtype == "turn_90":
            # "left" is counter-clockwise seen from above: the object's facing turns by +90 degrees
            rel = to_rotation(a.rotation).inv() * to_rotation(b.rotation)
            yaw = math.degrees((to_rotation(b.rotation) * to_rotation(a.rotation).inv()).as_rotvec()[2])
            assert (yaw > 0) == (e.params["direction"] == "left"), (yaw, e.params)
            assert math.copysign(1, e.params["angle_deg"]) == (1 if e.params["direction"] == "left" else -1)
            assert abs(math.degrees(rel.magnitude()) - 90) < 25
        assert abs(b.position[0] - a.position[0]) < 0.05 and abs(b.position[1] - a.position[1]) < 0.05


def test_count_plans_add_copies_of_one_object_or_remove_some_of_a_group():
    for p in plans("count", 12):
        e = p.edit
        names = {o.name for o in p.target.objects if o.uid in e.objects} or \
            {o.name for o in p.source.objects if o.uid in e.objects}
        assert names == {e.params["name"]} and e.params["n"] == len(e.objects)
        before = sum(o.name == e.params["name"] for o in p.source.objects)
        if e.subtype == "add":
            assert e.params["existing"] == before and {o.uid for o in p.source.objects}.isdisjoint(e.objects)
            assert all(p.target.get(u).asset_id == e.params["asset_id"] for u in e.objects)
            assert not moved(p) - set(e.objects)
        else:
            assert e.params["remaining"] == before - e.params["n"] >= 0
            assert e.objects == sorted(e.objects, key=lambda u: int(u[1:]))
            assert len(p.target.objects) == len(p.source.objects) - e.params["n"]


def test_attribute_plans_change_one_property_of_one_object():
    palette = catalog().palette
    for p in plans("attribute", 14):
        uid, = p.edit.objects
        a, b, e = p.source.get(uid), p.target.get(uid), p.edit
        if e.subtype == "size":
            assert 1.4 <= e.params["factor"] <= 1.7
            ratio = b.scale / a.scale
            assert ratio == pytest.approx(e.params["factor"] if e.params["direction"] == "bigger" else 1 / e.params["factor"])
        elif e.subtype == "shape":
            assert (e.params["from_asset_id"], e.params["new_asset_id"]) == (a.asset_id, b.asset_id)
            assert b.name == catalog().display_name(b.asset_id, b.color) != a.name
            assert (b.rgb is None) == (b.color is None)
        else:
            assert e.params == {"from_color": a.color, "to_color": b.color} and b.color != a.color
            assert b.rgb == tuple(palette[b.color]) and b.color in b.name
            assert b.position == a.position and b.scale == a.scale  # a new coat of paint moves nothing


@functools.cache
def contexts() -> dict[str, EditContext]:
    return {k: Planner(load_spec(f"scenes/{k}.yaml"), catalog()).contexts[0]
            for k in ("location", "rotation", "count", "attribute", "stack")}


def with_pool(kind: str, ids: list[str], **subtypes) -> EditContext:
    ctx = contexts()[kind]
    spec = ctx.edit_spec
    if subtypes:
        spec = spec.model_copy(update={"subtypes": spec.subtypes.model_copy(update={
            name: getattr(spec.subtypes, name).model_copy(update=fields) for name, fields in subtypes.items()})})
    return EditContext(ctx.spec, spec, ctx.catalog, [catalog().get(i) for i in ids], ctx.colors)


def test_tags_gate_rotations():
    ctx = contexts()["rotation"]
    kind = KINDS["rotation"]
    get = catalog().get
    assert not any(kind.eligible(s, get("tennis_ball"), ctx) for s in kind.subtypes)  # invariant
    assert not kind.eligible("turn_around", get("bowl"), ctx) and not kind.eligible("turn_90", get("bowl"), ctx)  # round
    assert kind.eligible("flip", get("bowl"), ctx)
    assert kind.eligible("fall_over", get("coffee_mug"), ctx) and not kind.eligible("fall_over", get("book"), ctx)
    assert kind.eligible("turn_90", get("coffee_mug"), ctx)
    assert symmetric_under(get("toy_cube"), "z", 90, ctx) and not symmetric_under(get("coffee_mug"), "z", 90, ctx)
    assert not kind.eligible("turn_90", get("toy_cube"), ctx)  # a cube turned 90 degrees looks the same
    assert visible_axes("flip", get("coffee_mug"), ctx) == ["x", "y"]


def test_attribute_and_stack_filters():
    kind = KINDS["attribute"]
    ctx = with_pool("attribute", ["coffee_mug", "tea_mug", "bowl", "wooden_block"])
    get = catalog().get
    assert kind.eligible("shape", get("coffee_mug"), ctx) and not kind.eligible("shape", get("bowl"), ctx)
    assert kind.eligible("color", get("coffee_mug"), ctx) and not kind.eligible("color", get("wooden_block"), ctx)
    assert kind.eligible("size", get("wooden_block"), ctx)
    stack = KINDS["stack"]
    sctx = contexts()["stack"]
    assert stack.eligible("put_on", get("tennis_ball"), sctx) and not stack.eligible("put_on", get("book"), with_pool(
        "stack", ["book", "tennis_ball"]))


@pytest.mark.parametrize("kind, ids, subtypes, field", [
    ("rotation", ["tennis_ball", "basketball"], {}, "subtypes.turn_around"),
    ("rotation", ["coffee_mug"], {name: {"weight": 0} for name in ("turn_around", "turn_90", "fall_over", "flip")},
     "edits[0].subtypes"),
    ("attribute", ["bowl", "coffee_mug"], {}, "subtypes.shape"),
    ("location", ["coffee_mug", "bowl"], {"attract": {"factor": [0.5, 1.2]}}, "subtypes.attract.factor"),
    ("location", ["coffee_mug", "bowl"], {"repel": {"factor": [0.9, 2.0]}}, "subtypes.repel.factor"),
    ("count", ["coffee_mug"], {"add": {"n": 0}}, "subtypes.add.n"),
    ("count", ["coffee_mug"], {"remove": {"n": 9}}, "subtypes.remove.n"),
    ("attribute", ["coffee_mug", "tea_mug"], {"color": {"colors": ["red", "mauve"]}}, "subtypes.color.colors[1]"),
])
def test_a_spec_that_can_never_be_satisfied_fails_naming_its_field(kind, ids, subtypes, field):
    ctx = with_pool(kind, ids, **subtypes)
    with pytest.raises(SimEditError) as info:
        KINDS[kind].check_feasible(ctx, "spec.yaml")
    assert info.value.file == "spec.yaml" and info.value.field.endswith(field), info.value.field


def test_feasible_specs_pass_and_disabled_subtypes_need_no_object():
    for kind, ctx in contexts().items():
        KINDS[kind].check_feasible(ctx, "spec.yaml")
    KINDS["location"].check_feasible(with_pool("location", ["bowl"], attract={"weight": 0, "factor": [0.5, 1.5]},
                                               repel={"weight": 0, "factor": [0.5, 0.9]}), "s")
    KINDS["count"].check_feasible(with_pool("count", ["bowl"], remove={"weight": 0, "n": 9}), "s")
    KINDS["rotation"].check_feasible(with_pool("rotation", ["bowl"], turn_around={"weight": 0}, turn_90={"weight": 0},
                                               fall_over={"weight": 0}), "s")
    assert KINDS["count"].added_objects(contexts()["count"].edit_spec) == (3, "subtypes.add.n")
    assert KINDS["location"].added_objects(contexts()["location"].edit_spec)[0] == 0


@pytest.mark.parametrize("edit", [
    Edit("location", "relative", ["o0"], [], {"direction": "left_of"}),
    Edit("location", "absolute", ["o0"], [], {}),
    Edit("location", "attract", ["o0"]),
    Edit("rotation", "turn_90", ["o0"], [], {"direction": "up"}),
    Edit("rotation", "spin", ["o0"]),
    Edit("attribute", "size", ["o0", "o1"], [], {"direction": "bigger"}),
    Edit("attribute", "color", ["o0"], [], {"to_color": None}),
    Edit("attribute", "melt", ["o0"]),
    Edit("stack", "put_on", ["o0"]),
    Edit("stack", "hover", ["o0"], ["o1"]),
    Edit("count", "add", [], [], {"n": 0}),
    Edit("count", "remove", ["o0"], [], {"n": 2}),
])
def test_a_malformed_edit_is_a_bug_not_a_reject(edit):
    from simedit.render.plan.language import instruction
    s = plans("location", 1)[0].source
    with pytest.raises(ValueError):
        instruction(edit, s, s, np.random.default_rng(0))


def test_stack_plans_put_an_object_on_a_support_or_take_it_off():
    from simedit.render.plan.edits.stack import on_floor, on_top
    seen = set()
    for p in plans("stack", 8):
        (a,), (s,) = p.edit.objects, p.edit.references
        seen.add(p.edit.subtype)
        assert moved(p) == {a} and p.target.get(s) == p.source.get(s)
        if p.edit.subtype == "put_on":
            assert on_floor(p.source.get(a), catalog()) and on_top(p.target.get(a), p.target.get(s), catalog())
        else:
            assert on_top(p.source.get(a), p.source.get(s), catalog()) and on_floor(p.target.get(a), catalog())
            assert not on_top(p.target.get(a), p.target.get(s), catalog())
    assert seen == {"put_on", "take_off"}
