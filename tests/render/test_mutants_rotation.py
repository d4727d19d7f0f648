"""Rotation planning at its edges, on real catalog shapes and without PyBullet: which turns a
shape shows (measured on its mesh, with the process's cache of that measurement emptied so the
measurement runs here), which shapes stand upside down to be flipped (that cache emptied too),
how an object rests on the floor (a face, an edge, a point), a flip or a fall that leaves an
object balanced on a point, turn angles spread across the jitter both ways, the inverse of a
turn, and the no-change prompt a rotation gets from a ball in the scene."""
from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from simedit.render.catalog.model import load_catalog
from simedit.render.common.errors import Reject
from simedit.render.plan.edits import KINDS, invert
from simedit.render.plan.edits import rotation
from simedit.render.plan.edits.base import Intent
from simedit.render.plan.planner import Planner
from simedit.render.poses import to_quat
from simedit.render.scene import Camera, Edit, Scene, SceneObject
from simedit.render.spec import load_spec
from simedit.train.eval.triples import triple_for_row


CAM = Camera(position=(0.0, -1.2, 0.9), look_at=(0.0, 0.0, 0.05), fov=0.9, width=32, height=32)


@functools.cache
def catalog():
    return load_catalog()


@functools.cache
def ctx():
    return Planner(load_spec("scenes/rotation.yaml"), catalog()).contexts[0]


@pytest.fixture
def measured(monkeypatch):
    """Symmetry measured afresh, as in a new process."""
    monkeypatch.setattr(rotation, "_symmetric", {})


def placed(asset_id: str, r: Rotation = Rotation.identity(), uid: str = "o0") -> SceneObject:
    return SceneObject(uid, asset_id, asset_id.replace("_", " "), (0.1, 0.2, 0.05), to_quat(r))


def test_a_turn_that_maps_the_shape_onto_itself_is_not_a_visible_turn(measured):
    get = catalog().get
    assert rotation.visible_axes("turn_90", get("coffee_mug"), ctx()) == ["z"]  # its handle moves
    assert rotation.visible_axes("turn_90", get("toy_cube"), ctx()) == []  # a cube turned a quarter
    assert rotation.visible_axes("flip", get("coffee_mug"), ctx()) == ["x", "y"]
    assert rotation.visible_axes("flip", get("toy_cube"), ctx()) == []
    assert rotation.visible_axes("flip", get("tennis_ball"), ctx()) == []
    assert rotation.symmetric_under(get("toy_cube"), "z", 90, ctx())
    assert rotation.symmetric_under(get("toy_cube"), "x", 180, ctx())
    assert not rotation.symmetric_under(get("coffee_mug"), "z", 90, ctx())
    assert not rotation.symmetric_under(get("coffee_mug"), "z", 180, ctx())
    assert not rotation.symmetric_under(get("pyramid_block"), "x", 180, ctx())  # apex down
    assert rotation.symmetric_under(get("pyramid_block"), "z", 90, ctx())


def test_the_floor_contact_of_a_face_an_edge_and_a_point():
    # pyramid_block: a 7 cm square base under an apex
    base = rotation.resting_contact(placed("pyramid_block"), ctx())
    edge = rotation.resting_contact(placed("pyramid_block", Rotation.from_euler("x", 45, degrees=True)), ctx())
    tip = rotation.resting_contact(placed("pyramid_block", Rotation.from_euler("x", 180, degrees=True)), ctx())
    assert base == pytest.approx(0.07 * np.sqrt(2), abs=1e-6)  # the base's diagonal
    assert edge == pytest.approx(0.07, abs=1e-6)  # the edge it lies on
    assert tip == 0.0
    # a 15.5 x 23.5 cm book lying flat: the diagonal of its cover
    assert rotation.resting_contact(placed("book"), ctx()) == pytest.approx(np.hypot(0.155, 0.235), abs=1e-6)


def scenes(asset_id: str, after: Rotation) -> tuple[Scene, Scene]:
    s = Scene(objects=[placed(asset_id)], camera=CAM)
    t = s.copy()
    t.objects = [placed(asset_id, after)]
    return s, t


def test_a_flip_or_fall_that_ends_on_a_point_is_rejected():
    kind = KINDS["rotation"]
    s, t = scenes("pyramid_block", Rotation.from_euler("x", 180, degrees=True))  # upside down, on its apex
    with pytest.raises(Reject) as e:
        kind.check_plan(Edit("rotation", "flip", ["o0"], [], {"axis": "x", "angle_deg": 180}), s, t, ctx())
    assert e.value.reason == "unstable_pose"
    s, t = scenes("toy_cube", Rotation.from_euler("x", 180, degrees=True))  # a cube flipped lands on a face
    kind.check_plan(Edit("rotation", "flip", ["o0"], [], {"axis": "x", "angle_deg": 180}), s, t, ctx())
    corner = Rotation.from_euler("y", 45, degrees=True) * Rotation.from_euler("x", 90, degrees=True)
    s, t = scenes("pyramid_block", corner)
    with pytest.raises(Reject) as e:
        kind.check_plan(Edit("rotation", "fall_over", ["o0"], [], {"axis": "x", "angle_deg": 90}), s, t, ctx())
    assert e.value.reason == "unstable_pose"


def test_a_turn_is_undone_by_the_same_turn_back():
    s, t = scenes("coffee_mug", Rotation.from_euler("z", 180, degrees=True))
    for subtype in ("turn_around", "flip"):
        e = Edit("rotation", subtype, ["o0"], [], {"axis": "z", "angle_deg": 183.0})
        assert invert(e, s, t).to_dict() == {"kind": "rotation", "subtype": subtype, "objects": ["o0"],
                                             "references": [], "params": {"axis": "z", "angle_deg": -183.0}}
    assert invert(Edit("rotation", "fall_over", ["o0"], [], {"axis": "x", "angle_deg": 90}), s, t) is None


def test_a_rotation_pair_gets_its_no_change_prompt_from_a_ball_in_the_scene():
    objs = [{"uid": "o0", "asset_id": "coffee_mug", "name": "red coffee mug", "position": [0.1, 0.0, 0.05]},
            {"uid": "o1", "asset_id": "tennis_ball", "name": "tennis ball", "position": [-0.1, 0.0, 0.03]}]
    row = {"key": "000004", "index": 4, "kind": "rotation", "subtype": "turn_around",
           "instruction": "turn the red coffee mug around", "edited": ["o0"],
           "source_scene": {"objects": objs}, "target_scene": {"objects": objs}}
    triple, why = triple_for_row(row, catalog())
    assert why == "" and triple["no_change_kind"] == "invariant_rotation"
    assert triple["no_change"] == "turn the tennis ball around"


def test_a_flip_is_planned_only_for_shapes_that_stand_upside_down(monkeypatch):
    """Measured as in a new process (both caches emptied): a mug, a bowl, a jar rest on their
    rims; a bottle or a wine bottle on its cap, a traffic cone on its apex and a duck on its
    head would topple, and the pair would not show a flip."""
    monkeypatch.setattr(rotation, "_symmetric", {})
    monkeypatch.setattr(rotation, "_stands", {})
    get = catalog().get
    for asset_id in ("coffee_mug", "bowl", "jar"):
        assert rotation.stands_flipped(get(asset_id), "x", ctx()) and rotation.stands_flipped(get(asset_id), "y", ctx())
    assert rotation.visible_axes("flip", get("coffee_mug"), ctx()) == ["x", "y"]
    for asset_id in ("bottle", "wine_bottle", "traffic_cone", "rubber_duck"):
        assert rotation.visible_axes("flip", get(asset_id), ctx()) == [], asset_id
        assert not rotation.stands_flipped(get(asset_id), "x", ctx()), asset_id
    # falling over is no flip: a bottle that cannot stand on its cap still falls on its side
    assert rotation.visible_axes("fall_over", get("bottle"), ctx()) == ["x", "y"]


def test_turn_angles_spread_both_ways_around_the_nominal_angle():
    """`angle_deg` +- `jitter_deg`: the drawn angles reach well past the nominal one on both
    sides (a mug on the floor, no physics)."""
    kind = KINDS["rotation"]
    scene = Scene(objects=[placed("coffee_mug")], camera=Camera(position=(0.0, -0.6, 0.5), look_at=(0.1, 0.2, 0.05),
                                                               fov=0.9, width=64, height=64))
    for subtype in ("turn_around", "turn_90", "fall_over", "flip"):
        sub = getattr(ctx().edit_spec.subtypes, subtype)
        off = [abs(kind.apply(subtype, Intent(), scene, ctx(), np.random.default_rng(seed)).edit.params["angle_deg"])
               - sub.angle_deg for seed in range(40)]
        assert all(abs(d) <= sub.jitter_deg + 1e-9 for d in off), subtype
        assert min(off) < -sub.jitter_deg / 2 and max(off) > sub.jitter_deg / 2, subtype
