"""Location edits at their edges, on hand-placed scenes (planning only, nothing is rendered):
a claim made level with its reference, or by less than the margin, is refused; a pair brought
together or spread apart keeps its middle when there is room, and otherwise slides along its
own line toward the side that has room (the blocked one stays put), each object moving only
toward (attract) or away from (repel) the other; a move may leave the placement area for any
floor the camera sees; a scene holding just the objects an edit needs is planned; the intent
asks for one or two objects large enough to see; specs whose factor reaches 1 are refused."""
from __future__ import annotations

import functools

import numpy as np
import pytest

from simedit.render.catalog.model import load_catalog
from simedit.render.common.errors import Reject, SimEditError
from simedit.render.plan import appearance
from simedit.render.plan.appearance import shown
from simedit.render.plan.edits import KINDS
from simedit.render.plan.edits.base import EditContext
from simedit.render.plan.edits.location import PAIRS, _misfit, _spacing
from simedit.render.plan.planner import Planner
from simedit.render.poses import footprint_radius, resting_height
from simedit.render.scene import Camera, Edit, Scene, SceneObject
from simedit.render.spec import load_spec

# Camera on -Y looking toward +Y: world -X is image left, smaller Y is nearer (lower in the image).
CAM = Camera(position=(0.0, -1.2, 0.9), look_at=(0.0, 0.0, 0.05), fov=0.9, width=64, height=64)
KIND = KINDS["location"]


@functools.cache
def context() -> EditContext:
    return Planner(load_spec("scenes/location.yaml"), load_catalog()).contexts[0]


def with_subtypes(**subtypes) -> EditContext:
    """The location context with some subtype fields replaced (a spec a user could write)."""
    ctx = context()
    spec = ctx.edit_spec
    spec = spec.model_copy(update={"subtypes": spec.subtypes.model_copy(update={
        name: getattr(spec.subtypes, name).model_copy(update=fields) for name, fields in subtypes.items()})})
    return EditContext(ctx.spec, spec, ctx.catalog, ctx.pool, ctx.colors)


def obj(uid: str, x: float, y: float, asset: str = "soda_can") -> SceneObject:
    o = SceneObject(uid, asset, asset.replace("_", " "), (x, y, 0.0))
    o.position = (x, y, resting_height(o, context().catalog))
    return o


def scene(*objects: SceneObject) -> Scene:
    return Scene(objects=list(objects), camera=CAM)


def xy(s: Scene, uid: str) -> np.ndarray:
    return np.asarray(s.get(uid).position[:2])


# --- the claims the planner checks on the settled scenes --------------------------------------


def test_a_relation_that_does_not_clear_the_margin_is_refused():
    """Level with the reference (the same column) is neither left nor right of it; a hand's
    breadth nearer is in front, one centimetre nearer is not."""
    ctx = context()

    def holds(direction: str, s: Scene) -> bool:
        try:
            KIND.check_plan(Edit("location", "relative", ["o0"], ["o1"], {"direction": direction}), s, s, ctx)
        except Reject:
            return False
        return True

    in_line = scene(obj("o0", 0.0, -0.15), obj("o1", 0.0, 0.1))  # o0 right in front of o1
    assert not holds("left_of", in_line) and not holds("right_of", in_line)
    assert holds("in_front_of", in_line) and not holds("behind", in_line)
    assert holds("behind", scene(obj("o0", 0.0, 0.1), obj("o1", 0.0, -0.15)))
    # side by side, o0 one centimetre nearer: lower in the image, but not in front of o1
    side = scene(obj("o0", -0.15, -0.01), obj("o1", 0.15, 0.0))
    assert not holds("in_front_of", side) and not holds("behind", side)
    side = scene(obj("o0", -0.15, 0.01), obj("o1", 0.15, 0.0))  # one centimetre further
    assert not holds("behind", side) and not holds("in_front_of", side)
    assert holds("left_of", side) and not holds("right_of", side)


def test_an_absolute_move_must_clear_the_margin_in_its_direction():
    ctx = context()
    before = scene(obj("o0", 0.0, 0.0), obj("o1", 0.25, 0.1))

    def moved(direction: str, dx: float, dy: float) -> bool:
        after = scene(obj("o0", dx, dy), obj("o1", 0.25, 0.1))
        try:
            KIND.check_plan(Edit("location", "absolute", ["o0"], [], {"direction": direction}), before, after, ctx)
        except Reject:
            return False
        return True

    assert moved("right", 0.1, 0.0) and not moved("right", 0.0, 0.0) and not moved("right", -0.004, 0.0)
    assert moved("left", -0.1, 0.0) and not moved("left", 0.0, 0.0)
    assert moved("closer", 0.0, -0.1) and not moved("closer", 0.0, -0.01) and not moved("closer", 0.0, 0.1)
    assert moved("further", 0.0, 0.1) and not moved("further", 0.0, 0.01) and not moved("further", 0.0, -0.1)


# --- attract / repel: where the pair goes ------------------------------------------------------


def spaced(s: Scene, factor_range, seed: int = 0) -> tuple[Scene, float]:
    """`_spacing` on o0, o1 of `s`, as `_candidate` calls it; (target, factor)."""
    target = s.copy()
    factor = _spacing(target, "o0", "o1", xy(s, "o0"), xy(s, "o1"), factor_range, context(),
                      np.random.default_rng(seed))
    return target, factor


def assert_spaced_along_the_line(s: Scene, t: Scene, factor: float, attract: bool) -> tuple[float, float]:
    """The pair fits, is `factor` times as far apart, and each object moved along the pair's
    line, toward the other (attract) or away from it (repel), or stayed put. Returns how far
    each moved, in units of the old distance."""
    assert _misfit([t.get("o0"), t.get("o1")], t, context()) is None
    pa, pb = xy(s, "o0"), xy(s, "o1")
    d = pb - pa
    assert np.linalg.norm(xy(t, "o1") - xy(t, "o0")) == pytest.approx(factor * np.linalg.norm(d))
    steps = []
    for uid, toward in (("o0", d), ("o1", -d)):
        move = xy(t, uid) - xy(s, uid)
        along = float(move @ toward / (toward @ toward))
        assert np.linalg.norm(move - along * toward) == pytest.approx(0, abs=1e-9), f"{uid} left the pair's line"
        assert (along >= -1e-9) if attract else (along <= 1e-9), f"{uid} moved the wrong way"
        steps.append(abs(along))
    return steps[0], steps[1]


@pytest.mark.parametrize("sub", ["attract", "repel"])
def test_a_pair_with_room_around_it_keeps_its_middle(sub):
    """Two cans off the image's centre, nothing near: both move, the middle stays."""
    s = scene(obj("o0", -0.12, 0.08), obj("o1", 0.16, 0.0))
    factors = getattr(context().edit_spec.subtypes, sub).factor
    for seed in range(3):
        t, factor = spaced(s, factors, seed=seed)
        assert factors[0] <= factor <= factors[1]
        ma, mb = assert_spaced_along_the_line(s, t, factor, sub == "attract")
        assert ma == pytest.approx(mb) and ma > 0
        assert (xy(t, "o0") + xy(t, "o1")) / 2 == pytest.approx((xy(s, "o0") + xy(s, "o1")) / 2)


def wall(uid: str, beside: SceneObject, room: float, side: int) -> SceneObject:
    """A can on the pair's line (along x) that leaves `beside` `room` m to move toward it."""
    cat, gap = context().catalog, context().spec.placement.min_gap
    probe = obj(uid, 0.0, beside.position[1])
    x = beside.position[0] + side * (room + footprint_radius(beside, cat) + footprint_radius(probe, cat) + gap)
    return obj(uid, x, beside.position[1])


@pytest.mark.parametrize("blocked", ["o0", "o1"])
def test_a_pair_spreads_away_from_the_object_that_blocks_one_of_them(blocked):
    """A can against a wall (another object 2 mm beyond it) cannot move outward: it stays put and
    the other can moves away from it, the whole spread on the free side."""
    a, b = obj("o0", -0.05, 0.08), obj("o1", 0.1, 0.08)
    w = wall("o2", b, 0.002, +1) if blocked == "o1" else wall("o2", a, 0.002, -1)
    s = scene(a, b, w)
    factors = context().edit_spec.subtypes.repel.factor
    for seed in range(3):
        t, factor = spaced(s, factors, seed=seed)
        ma, mb = assert_spaced_along_the_line(s, t, factor, attract=False)
        assert xy(t, blocked) == pytest.approx(xy(s, blocked), abs=1e-12)
        assert (mb if blocked == "o0" else ma) == pytest.approx(factor - 1)


@pytest.mark.parametrize("room_o0, room_o1", [(0.17, 0.06), (0.06, 0.17)])
def test_a_pair_between_two_others_spreads_where_the_gaps_allow(room_o0, room_o1):
    """Two cans 20 cm apart to be spread to 40 cm (a fixed factor of 2), between two others that
    leave 17 cm on one side and 6 cm on the other: neither the middle nor either end fits, the
    pair slides part of the way toward the wider gap (15 cm and 5 cm)."""
    a, b = obj("o0", -0.1, 0.08), obj("o1", 0.1, 0.08)
    s = scene(a, b, wall("o2", a, room_o0, -1), wall("o3", b, room_o1, +1))
    t, factor = spaced(s, 2.0)
    assert factor == 2.0
    ma, mb = assert_spaced_along_the_line(s, t, factor, attract=False)
    assert ma <= room_o0 / 0.2 and mb <= room_o1 / 0.2


# --- planning a whole edit ----------------------------------------------------------------------


def test_a_move_may_leave_the_placement_area_for_floor_the_camera_sees():
    """An object near the area's left edge can still be moved left: the placement area bounds
    where the source puts objects, not where an edit may take them."""
    ctx = with_subtypes(absolute={"directions": ["left"]})
    (x0, _), _ = ctx.spec.placement.area
    source = scene(obj("o0", x0 + 0.03, 0.0, "bowl"), obj("o1", 0.2, 0.15))
    for seed in range(3):
        change = KIND.apply("absolute", None, source, ctx, np.random.default_rng(seed))
        uid = change.edit.objects[0]
        assert change.target.get(uid).position[0] < x0 or uid == "o1"
        assert change.edit.params == {"direction": "left"}
    lefts = [KIND.apply("absolute", None, source, ctx, np.random.default_rng(s)) for s in range(8)]
    assert any(c.edit.objects == ["o0"] for c in lefts)


@pytest.mark.parametrize("sub", ["relative", "absolute", "attract", "repel", "swap"])
def test_a_scene_with_just_the_objects_the_edit_needs_is_planned(sub):
    """`objects.count: 2` (or 1 for an absolute move) is a valid spec: every attempt must not be
    refused for too few objects."""
    a, b = obj("o0", -0.25, 0.0, "bowl"), obj("o1", 0.3, 0.05, "basketball")
    source = scene(a, b) if sub in PAIRS else scene(a)
    change = KIND.apply(sub, None, source, context(), np.random.default_rng(1))
    KIND.check_plan(change.edit, source, change.target, context())
    assert len(change.edit.objects) + len(change.edit.references) == len(source.objects)


def test_the_intent_asks_for_the_objects_the_edit_moves_each_large_enough_to_see(monkeypatch):
    """One object for an absolute move, two for the others, never one too small to see where it
    went (a pencil, an egg) - measured here, as in a fresh process without the cache."""
    monkeypatch.setattr(appearance, "_seen", {})
    ctx = context()
    asked = {sub: [KIND.intent(sub, ctx, np.random.default_rng(seed)).requests for seed in range(10)]
             for sub in KIND.subtypes}
    ok = {a.id for a in shown(ctx.pool, ctx.spec, ctx.catalog)}
    assert {"pencil", "egg"} <= {a.id for a in ctx.pool} and not {"pencil", "egg"} & ok
    for sub, drawn in asked.items():
        for requests in drawn:
            assert len(requests) == (2 if sub != "absolute" else 1), sub
            assert {r.asset_id for r in requests} <= ok


# --- the spec and the words --------------------------------------------------------------------


@pytest.mark.parametrize("sub, factor", [("attract", (0.5, 1.0)), ("repel", (1.0, 2.0))])
def test_a_factor_range_that_reaches_1_is_refused(sub, factor):
    """A factor of 1 keeps the distance: "closer together" or "further apart" could never hold."""
    with pytest.raises(SimEditError) as info:
        KIND.check_feasible(with_subtypes(**{sub: {"factor": factor}}), "spec.yaml")
    assert info.value.field.endswith(f"subtypes.{sub}.factor") and info.value.file == "spec.yaml"


def test_a_spec_without_a_subtype_to_draw_names_its_file():
    ctx = with_subtypes(**{name: {"weight": 0} for name in KIND.subtypes})
    with pytest.raises(SimEditError) as info:
        KIND.check_feasible(ctx, "spec.yaml")
    assert info.value.file == "spec.yaml" and info.value.field.endswith("subtypes")


@pytest.mark.parametrize("direction", ["up", "left_of"])
def test_an_absolute_move_with_an_unknown_direction_is_a_value_error(direction):
    s = scene(obj("o0", 0.0, 0.0))
    with pytest.raises(ValueError, match="params.direction"):
        KIND.template_context(Edit("location", "absolute", ["o0"], [], {"direction": direction}), s, s)

