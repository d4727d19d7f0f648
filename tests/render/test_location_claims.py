"""Location claims judged where a viewer judges them, on known inputs: hand-made masks for the
verifier's left/right/front/behind, and a source where a relation already holds for the planner
(a move must never claim what was already true)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pytest

from simedit.render.catalog.model import load_catalog
from simedit.render.common.errors import Reject
from simedit.render.plan.edits import KINDS
from simedit.render.plan.edits.base import EditContext
from simedit.render.plan.edits.location import relation_holds
from simedit.render.plan.planner import Planner
from simedit.render.scene import Camera, Edit, Scene, SceneObject, mask_value
from simedit.render.spec import load_spec

# Camera on -Y looking toward +Y: world -X is image left, smaller Y is nearer (lower in the image).
CAM = Camera(position=(0.0, -1.2, 0.9), look_at=(0.0, 0.0, 0.05), fov=0.9, width=64, height=64)


@dataclass
class Out:
    rgb: np.ndarray
    mask: np.ndarray


def masks(a_box: tuple[int, int, int, int], b_box: tuple[int, int, int, int]) -> Out:
    """o0 and o1 as rectangles (row0, row1, col0, col1) on a 64x64 mask."""
    m = np.zeros((64, 64), np.uint16)
    for uid, (r0, r1, c0, c1) in (("o1", b_box), ("o0", a_box)):
        m[r0:r1, c0:c1] = mask_value(uid)
    return Out(np.zeros((64, 64, 3), np.uint8), m)


@pytest.fixture(scope="module")
def ctx() -> EditContext:
    planner = Planner(load_spec("scenes/location.yaml"), load_catalog())
    return planner.contexts[0]


def scene(a_xy: tuple[float, float], b_xy: tuple[float, float]) -> Scene:
    return Scene(objects=[SceneObject("o0", "coffee_mug", "red coffee mug", (*a_xy, 0.05)),
                          SceneObject("o1", "bowl", "blue bowl", (*b_xy, 0.04))], camera=CAM)


@pytest.mark.parametrize("direction, a_box, b_box", [
    ("left_of", (20, 30, 5, 15), (20, 30, 40, 50)),
    ("right_of", (20, 30, 45, 55), (20, 30, 5, 15)),
    ("in_front_of", (40, 55, 25, 35), (10, 25, 25, 35)),  # nearer: its bottom row is lower
    ("behind", (10, 25, 25, 35), (40, 55, 25, 35)),
])
def test_mask_claims_accept_the_true_relation_and_reject_its_opposite(ctx, direction, a_box, b_box):
    kind = KINDS["location"]
    opposite = {"left_of": "right_of", "right_of": "left_of", "in_front_of": "behind", "behind": "in_front_of"}
    s = scene((0.0, 0.0), (0.2, 0.0))
    src, tgt = masks((0, 5, 0, 5), (0, 5, 60, 64)), masks(a_box, b_box)
    true = Edit("location", "relative", ["o0"], ["o1"], {"direction": direction})
    false = Edit("location", "relative", ["o0"], ["o1"], {"direction": opposite[direction]})
    assert kind.check_masks(true, s, s, src, tgt, ctx, {}) == ""
    assert kind.check_masks(false, s, s, src, tgt, ctx, {}) != ""


@pytest.mark.parametrize("direction, before, after", [
    ("left", (20, 30, 40, 50), (20, 30, 10, 20)),
    ("right", (20, 30, 10, 20), (20, 30, 40, 50)),
    ("closer", (10, 20, 25, 35), (40, 50, 25, 35)),
    ("further", (40, 50, 25, 35), (10, 20, 25, 35)),
])
def test_absolute_move_claims_on_masks(ctx, direction, before, after):
    kind = KINDS["location"]
    s = scene((0.0, 0.0), (0.2, 0.0))
    far = (0, 4, 60, 64)
    src, tgt = masks(before, far), masks(after, far)
    opposite = {"left": "right", "right": "left", "closer": "further", "further": "closer"}[direction]
    assert kind.check_masks(Edit("location", "absolute", ["o0"], [], {"direction": direction}), s, s, src, tgt, ctx, {}) == ""
    assert kind.check_masks(Edit("location", "absolute", ["o0"], [], {"direction": opposite}), s, s, src, tgt, ctx, {}) != ""


def test_a_relation_that_already_holds_is_never_the_claim(ctx):
    """o0 stands far left of o1: "move o0 to the left of o1" would change nothing."""
    source = scene((-0.25, 0.0), (0.2, 0.0))
    assert relation_holds("left_of", source, "o0", "o1", 2.0)
    kind = KINDS["location"]
    spec = ctx.edit_spec
    only_left = spec.model_copy(update={"subtypes": spec.subtypes.model_copy(update={
        "relative": spec.subtypes.relative.model_copy(update={"directions": ["left_of"]})})})
    strict = EditContext(ctx.spec, only_left, ctx.catalog, ctx.pool, ctx.colors)
    reasons = set()
    for seed in range(20):
        try:
            change = kind._candidate("relative", source.uids(), 2, source, strict, np.random.default_rng(seed))
        except Reject as r:
            reasons.add(r.reason)
            continue
        assert change.edit.objects == ["o1"], "o0 is already left of o1: only o1 may move left of o0"
    assert "claim_already_true" in reasons
    # with every direction open, the claims made are ones that did not hold before
    chosen = set()
    for seed in range(40):
        try:
            change = kind._candidate("relative", source.uids(), 2, source, ctx, np.random.default_rng(seed))
        except Reject:
            continue
        a, b = change.edit.objects[0], change.edit.references[0]
        direction = change.edit.params["direction"]
        assert not relation_holds(direction, source, a, b, ctx.edit_spec.min_shift * CAM.width), direction
        chosen.add((a, direction))
    assert ("o0", "left_of") not in chosen and ("o1", "right_of") not in chosen and chosen


def test_attract_finds_the_factor_that_fits(ctx):
    """A mug and a bowl 27.7 cm apart can come together only to a factor of about 0.57 or more
    (their footprints plus `placement.min_gap`); the spec allows [0.35, 0.6]. Every attempt must
    find a factor in that narrow band rather than give up after one draw."""
    from simedit.render.poses import footprint_radius

    lo, hi = ctx.edit_spec.subtypes.attract.factor
    source = scene((-0.1385, 0.0), (0.1385, 0.0))
    source.camera = dataclasses.replace(CAM, position=(0.0, -0.9, 0.7))  # from CAM the mug is at the visibility floor
    a, b = source.objects
    need = (footprint_radius(a, ctx.catalog) + footprint_radius(b, ctx.catalog) + ctx.spec.placement.min_gap) / 0.277
    assert lo < need < hi
    for seed in range(10):
        change = KINDS["location"]._candidate("attract", source.uids(), 2, source, ctx, np.random.default_rng(seed))
        assert need <= change.edit.params["factor"] <= hi
