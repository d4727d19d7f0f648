"""Count planning at its edges, without PyBullet unless said: which specs are refused, what an
intent plants for each instruction variant ("add another", "remove all", "remove some"), the
floor kept apart from the added object's colour, the spots chosen when the camera was framed
(kept when free and in sight, replaced when taken or hidden), an object added where only the
grown edge of the placement area has room, sizes drawn by `objects.size_m`, a removal that
leaves every other object where it was, and the inverse of adding one object."""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from simedit.render.catalog.model import load_catalog
from simedit.render.common.errors import SimEditError
from simedit.render.plan import appearance
from simedit.render.plan.appearance import shown
from simedit.render.plan.edits import KINDS, invert
from simedit.render.plan.edits.base import EditContext, Intent, visible_enough
from simedit.render.plan.planner import Planner
from simedit.render.plan.sampling import fits, sample_scene
from simedit.render.poses import footprint_radius, resting_height
from simedit.render.scene import Camera, Edit, Scene, SceneObject
from simedit.render.spec import load_spec, parse_spec
from simedit.render.visibility import stands_out

KIND = KINDS["count"]
CAM = Camera(position=(0.0, -0.9, 0.7), look_at=(0.0, 0.0, 0.05), fov=0.9, width=64, height=64)


@functools.cache
def catalog():
    return load_catalog()


@functools.cache
def planner() -> Planner:
    return Planner(load_spec("scenes/count.yaml"), catalog())


def ctx() -> EditContext:
    return planner().contexts[0]


def count_spec(edit: dict | None = None, **fields):
    return parse_spec({**fields, "edits": [{"kind": "count", **(edit or {})}]})


def put(uid: str, asset_id: str, x: float, y: float, color: str | None = None) -> SceneObject:
    palette = catalog().palette
    obj = SceneObject(uid, asset_id, catalog().display_name(asset_id, color), (x, y, 0.0), color=color,
                      rgb=tuple(palette[color]) if color else None)
    obj.position = (x, y, resting_height(obj, catalog()))
    return obj


def overlaps(obj: SceneObject, others: list[SceneObject]) -> bool:
    r = footprint_radius(obj, catalog())
    return any(math.dist(obj.position[:2], o.position[:2]) < r + footprint_radius(o, catalog())
               for o in others if o.uid != obj.uid)


def test_a_count_spec_is_refused_only_when_no_scene_can_hold_what_it_removes():
    # one object added or removed at a time, and removing every object a scene may hold, can be planned
    for subtypes in ({"add": {"n": 1}, "remove": {"n": 1}}, {"add": {"n": 1}, "remove": {"n": 4}}):
        Planner(count_spec(objects={"count": [2, 4]}, edit={"subtypes": subtypes}), catalog())
    # removing five from scenes of at most four cannot be, whether or not adding is switched off
    for add in ({"n": 1}, {"weight": 0}):
        spec = count_spec(objects={"count": [2, 4]}, edit={"subtypes": {"add": add, "remove": {"n": [1, 5]}}})
        with pytest.raises(SimEditError) as err:
            Planner(spec, catalog(), "count.yaml")
        assert "edits[0].subtypes.remove.n" in str(err.value) and "cannot remove 5" in str(err.value)


def test_count_intents_plant_what_each_instruction_variant_needs(monkeypatch):
    """Measured as in a new process: the appearance cache emptied, so the objects an intent may
    count are judged here (never a pencil a few pixels long)."""
    allowed = {a.id for a in shown(ctx().pool, ctx().spec, catalog())}
    assert "pencil" not in allowed
    monkeypatch.setattr(appearance, "_seen", {})
    left_behind, already_there = set(), set()
    for seed in range(60):
        rng = np.random.default_rng(seed)
        remove = KIND.intent("remove", ctx(), rng)
        n = remove.params["n"]
        assert remove.requests[0].asset_id in allowed
        assert len({(r.asset_id, r.color) for r in remove.requests}) == 1  # copies of one name
        left_behind.add(len(remove.requests) - n)  # 0: "remove all the ...", 1: "remove two of the ..."
        add = KIND.intent("add", ctx(), rng)
        p = add.params
        asset = catalog().get(p["asset_id"])
        assert asset.id in allowed and (p["color"] is not None) == asset.colorable
        already_there.add(len(add.requests))  # 0: "add a red mug", 1: "add another red mug"
        for r in add.requests:  # the copy already there has the added one's name
            assert (r.asset_id, r.color) == (asset.id, p["color"])
    assert {0, 1} <= left_behind and already_there == {0, 1}  # every variant gets planned


def test_the_floor_stands_out_from_the_object_an_add_brings_in():
    """Whether or not a copy is already there: a green bowl, a brown wooden block (textured)."""
    palette, spec = catalog().palette, ctx().spec
    floors: dict[str, set[str]] = {}
    for seed in range(120):
        rng = np.random.default_rng(seed)
        intent = KIND.intent("add", ctx(), rng)
        asset = catalog().get(intent.params["asset_id"])
        draft, _ = sample_scene(spec, catalog(), ctx().pool, ctx().colors, rng, intent.requests, intent.colors)
        shade = intent.params["color"] or asset.color
        if shade in palette:
            assert stands_out(palette[shade], draft.floor.rgb), (seed, asset.id, shade, draft.floor.color)
            floors.setdefault(shade, set()).add(draft.floor.color)
    assert floors["brown"] == {"gray"} and floors["gray"] == {"brown"}
    wood = EditContext(spec, ctx().edit_spec, catalog(), [catalog().get("wooden_block")], ctx().colors)
    for seed in range(8):
        rng = np.random.default_rng(seed)
        intent = KIND.intent("add", wood, rng)
        draft, _ = sample_scene(spec, catalog(), wood.pool, wood.colors, rng, intent.requests, intent.colors)
        assert draft.floor.color == "gray", seed  # a brown block on a brown floor would vanish


def test_added_objects_stand_where_the_camera_was_framed_for_them():
    """arrange_source picks the spots (in the placement area grown by the object's footprint)
    and frames the camera with the objects there; apply puts the copies on those spots."""
    arranged = 0
    for seed in range(12):
        rng = np.random.default_rng(seed)
        intent = Intent(params={"n": 2, "asset_id": "bowl", "color": "green"})
        draft, required = sample_scene(ctx().spec, catalog(), ctx().pool, ctx().colors, rng)
        source = KIND.arrange_source("add", intent, draft, required, ctx(), rng).scene
        spots = intent.params.get("added")
        if not spots:
            continue
        arranged += 1
        change = KIND.apply("add", intent, source, ctx(), rng)
        added = [change.target.get(u) for u in change.edit.objects]
        assert [o.position for o in added] == [o.position for o in spots]
        assert all(visible_enough(change.target, o.uid, ctx()) for o in added)
    assert arranged >= 10


def test_a_framed_spot_is_kept_beyond_the_placement_area_and_replaced_when_taken_or_hidden():
    box, mug = put("o0", "cardboard_box", 0.0, 0.0), put("o1", "coffee_mug", 0.2, -0.1, "red")
    source = Scene([box, mug], CAM)
    (x0, x1), _ = ctx().spec.placement.area
    edge = put("o2", "ramekin", 0.35, 0.1, "green")  # past the area's x1, free and in sight
    assert not x0 <= edge.position[0] <= x1
    taken = put("o2", "ramekin", 0.2, -0.1, "green")  # where the settled mug now stands
    hidden = put("o2", "ramekin", 0.0, 0.25, "green")  # free, but behind the box
    assert fits(hidden, [box, mug], catalog(), ctx().spec, CAM, in_area=False)
    assert not visible_enough(Scene([box, mug, hidden], CAM), "o2", ctx())

    def add(spot: SceneObject, seed: int = 0):
        intent = Intent(params={"n": 1, "asset_id": "ramekin", "color": "green", "added": [spot]})
        return KIND.apply("add", intent, source, ctx(), np.random.default_rng(seed))

    change = add(edge)
    assert change.edit.objects == ["o2"] and change.target.get("o2").position == edge.position
    for spot in (taken, hidden):
        for seed in range(3):
            change = add(spot, seed)
            assert change.edit.objects == ["o2"] and change.edit.params["n"] == 1
            obj = change.target.get("o2")
            assert obj.position != spot.position and not overlaps(obj, change.target.objects)
            assert visible_enough(change.target, "o2", ctx())
            assert [o.uid for o in change.target.objects] == ["o0", "o1", "o2"]


def test_copies_placed_anew_get_new_distinct_uids():
    source = Scene([put("o0", "cardboard_box", 0.0, 0.0), put("o3", "coffee_mug", 0.2, -0.1, "red")], CAM)
    for seed in range(4):
        change = KIND.apply("add", Intent(params={"n": 3, "asset_id": "ramekin", "color": "green"}), source, ctx(),
                            np.random.default_rng(seed))
        assert change.edit.objects == ["o4", "o5", "o6"]
        assert [o.uid for o in change.target.objects] == ["o0", "o3", "o4", "o5", "o6"]
        assert not any(overlaps(change.target.get(u), change.target.objects) for u in change.edit.objects)


def test_an_object_with_no_room_left_in_the_area_is_added_at_its_grown_edge():
    """A 6 x 6 cm placement area taken by a toy cube: a cardboard box added to it can only stand
    beyond the area, within its own footprint of the edge."""
    spec = count_spec(placement={"area": [[-0.03, 0.03], [-0.03, 0.03]]})
    small = EditContext(spec, spec.edits[0], catalog(), ctx().pool, ctx().colors)
    cam = Camera(position=(0.0, -1.4, 1.1), look_at=(0.0, 0.0, 0.05), fov=0.9, width=64, height=64)
    source = Scene([put("o0", "toy_cube", 0.0, 0.0)], cam)
    for seed in range(4):
        change = KIND.apply("add", Intent(params={"n": 1, "asset_id": "cardboard_box", "color": "red"}), source, small,
                            np.random.default_rng(seed))
        box = change.target.get(change.edit.objects[0])
        grow = footprint_radius(box, catalog())
        assert max(abs(box.position[0]), abs(box.position[1])) > 0.03  # beyond the area
        assert max(abs(box.position[0]), abs(box.position[1])) <= 0.03 + grow
        assert not overlaps(box, change.target.objects)


def test_added_copies_are_drawn_at_the_size_the_spec_asks():
    """`objects.size_m`: each object's largest side is drawn in meters, the added copies too,
    whether placed while the camera is framed or afterwards."""
    spec = count_spec(objects={"size_m": [0.06, 0.09]})
    sized = EditContext(spec, spec.edits[0], catalog(), ctx().pool, ctx().colors)

    def side(o: SceneObject) -> float:
        return o.scale * float(np.max(catalog().geometry(o.asset_id).extents))

    for seed in range(4):
        rng = np.random.default_rng(seed)
        intent = Intent(params={"n": 2, "asset_id": "cardboard_box", "color": "red"})
        draft, required = sample_scene(spec, catalog(), sized.pool, sized.colors, rng)
        KIND.arrange_source("add", intent, draft, required, sized, rng)
        for o in intent.params.get("added", []):
            assert 0.06 - 1e-9 <= side(o) <= 0.09 + 1e-9
        intent.params.pop("added", None)  # placed by apply itself
        change = KIND.apply("add", intent, draft, sized, rng)
        for u in change.edit.objects:
            assert 0.06 - 1e-9 <= side(change.target.get(u)) <= 0.09 + 1e-9


def test_a_removal_leaves_every_other_object_where_it_was():
    """Nothing is settled again after a removal: the objects that stay are where they were in
    the source, to the bit (the verifier compares their pixels). Real PyBullet."""
    removals = 0
    for index in range(12):
        sample = planner().plan(index).sample
        if sample is None or sample.edit.subtype != "remove":
            continue
        removals += 1
        gone = set(sample.edit.objects)
        assert [o for o in sample.source.objects if o.uid not in gone] == sample.target.objects
        if removals == 2:
            break
    assert removals


def test_adding_one_object_is_undone_by_removing_it():
    s = Scene([put("o0", "coffee_mug", 0.0, 0.0, "red")], CAM)
    t = s.copy()
    t.objects.append(put("o1", "coffee_mug", 0.2, 0.0, "red"))
    e = Edit("count", "add", ["o1"], [], {"n": 1, "asset_id": "coffee_mug", "name": "red coffee mug", "existing": 1})
    assert invert(e, s, t).to_dict() == {"kind": "count", "subtype": "remove", "objects": ["o1"], "references": [],
                                         "params": {"n": 1, "name": "red coffee mug", "remaining": 1}}
