"""Every kind's claim, judged on known inputs, both ways: on hand-made instance masks (what the
verifier reads after rendering) and on hand-made scenes (what the planner checks after physics).
A claim that holds is accepted; one that is false, or that holds by less than a visible margin,
is refused. Users rely on this: a refused claim is resampled, an accepted false one is a wrong
training pair."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pytest

from simedit.render.catalog.model import load_catalog
from simedit.render.common.colorspace import linear_to_srgb
from simedit.render.common.errors import Reject
from simedit.render.masks import visible_change
from simedit.render.plan.edits import KINDS
from simedit.render.plan.edits.base import EditContext
from simedit.render.plan.planner import Planner
from simedit.render.poses import rotate_world
from simedit.render.scene import Camera, Edit, Scene, SceneObject, mask_value
from simedit.render.spec import load_spec

CAM = Camera(position=(0.0, -1.2, 0.9), look_at=(0.0, 0.0, 0.05), fov=0.9, width=64, height=64)
MARGIN = 0.04 * 64  # scenes/location.yaml: min_shift 0.04 of the width, in pixels


@dataclass
class Out:
    rgb: np.ndarray
    mask: np.ndarray


@functools.cache
def context(kind: str) -> EditContext:
    return Planner(load_spec(f"scenes/{kind}.yaml"), load_catalog()).contexts[0]


def image(*boxes: tuple[str, tuple[int, int, int, int]], rgb: tuple[int, int, int] | None = None) -> Out:
    """Objects as rectangles (uid, (row0, row1, col0, col1)) on a 64x64 image."""
    m = np.zeros((64, 64), np.uint16)
    im = np.full((64, 64, 3), 100, np.uint8)
    for uid, (r0, r1, c0, c1) in boxes:
        m[r0:r1, c0:c1] = mask_value(uid)
        im[r0:r1, c0:c1] = rgb if rgb is not None else ((30 * mask_value(uid)) % 255, 80, 160)
    return Out(im, m)


def scene(*objects: SceneObject) -> Scene:
    return Scene(objects=list(objects), camera=CAM)


def obj(uid: str, x: float, y: float, asset: str = "coffee_mug", name: str = "red coffee mug", **kw) -> SceneObject:
    return SceneObject(uid, asset, name, (x, y, 0.05), **kw)


def check(kind: str, edit: Edit, src: Out, tgt: Out, s: Scene | None = None, t: Scene | None = None) -> str:
    s = s or scene(obj("o0", 0, 0), obj("o1", 0.2, 0))
    figures: dict = {}
    return KINDS[kind].check_masks(edit, s, t or s, src, tgt, context(kind), figures)


# --- location on masks ------------------------------------------------------------------------


@pytest.mark.parametrize("sub", ["attract", "repel"])
def test_pairs_move_closer_together_or_further_apart_on_the_masks(sub):
    far = image(("o0", (20, 30, 4, 12)), ("o1", (20, 30, 50, 58)))
    near = image(("o0", (20, 30, 18, 26)), ("o1", (20, 30, 36, 44)))
    edit = Edit("location", sub, ["o0", "o1"], [], {"factor": 0.5 if sub == "attract" else 2.0})
    src, tgt = (far, near) if sub == "attract" else (near, far)
    figures: dict = {}
    s = scene(obj("o0", 0, 0), obj("o1", 0.2, 0))
    assert KINDS["location"].check_masks(edit, s, s, src, tgt, context("location"), figures) == ""
    assert figures["centroid_distance"] == ([46.0, 18.0] if sub == "attract" else [18.0, 46.0])
    assert "centroid distance" in check("location", edit, tgt, src)  # the opposite move
    assert check("location", edit, src, src) != ""  # no move at all
    # a change smaller than the margin is no visible change
    one_px = image(("o0", (20, 30, 5 if sub == "attract" else 3, 13 if sub == "attract" else 11)),
                   ("o1", (20, 30, 50, 58)))
    assert check("location", edit, far, one_px) != ""


def test_a_swap_ends_with_each_object_on_the_others_place():
    src = image(("o0", (20, 30, 4, 12)), ("o1", (40, 50, 50, 58)))
    swapped = image(("o0", (40, 50, 50, 58)), ("o1", (20, 30, 4, 12)))
    nearly = image(("o0", (38, 48, 46, 54)), ("o1", (22, 32, 8, 16)))  # a few px off: still a swap
    edit = Edit("location", "swap", ["o0", "o1"])
    assert check("location", edit, src, swapped) == ""
    assert check("location", edit, src, nearly) == ""
    assert "swap left objects" in check("location", edit, src, src)
    half = image(("o0", (30, 40, 28, 36)), ("o1", (20, 30, 4, 12)))  # o0 stopped half way
    assert check("location", edit, src, half) != ""


@pytest.mark.parametrize("direction", ["left", "right"])
def test_a_move_by_the_planning_margin_is_seen_and_a_jitter_is_not(direction):
    """The mask check allows half the planning margin (a visible part's centroid drifts), so a
    move the planner accepted (by its full margin) holds on the masks; a 1 px jitter does not."""
    sign = -1 if direction == "left" else 1
    step = math.ceil(MARGIN)
    src = image(("o0", (20, 30, 28, 36)), ("o1", (0, 4, 60, 64)))
    moved = image(("o0", (20, 30, 28 + sign * step, 36 + sign * step)), ("o1", (0, 4, 60, 64)))
    jitter = image(("o0", (20, 30, 28 + sign, 36 + sign)), ("o1", (0, 4, 60, 64)))
    edit = Edit("location", "absolute", ["o0"], [], {"direction": direction})
    assert check("location", edit, src, moved) == ""
    assert check("location", edit, src, jitter) != ""
    rel = Edit("location", "relative", ["o0"], ["o1"], {"direction": f"{direction}_of"})
    ref = ("o1", (20, 30, 28, 36))
    beside = image(("o0", (20, 30, 28 + sign * step, 36 + sign * step)), ref)
    touching = image(("o0", (40, 50, 28 + sign, 36 + sign)), ref)
    assert check("location", rel, src, beside) == ""
    assert check("location", rel, src, touching) != ""


@pytest.mark.parametrize("direction", ["closer", "further", "in_front_of", "behind"])
def test_depth_claims_need_a_lower_or_higher_floor_contact(direction):
    """Front/behind are read on the row where an object meets the floor; the same row is neither."""
    absolute = direction in ("closer", "further")
    edit = (Edit("location", "absolute", ["o0"], [], {"direction": direction}) if absolute
            else Edit("location", "relative", ["o0"], ["o1"], {"direction": direction}))
    same_row = image(("o0", (20, 30, 10, 20)), ("o1", (20, 30, 40, 50)))
    if absolute:
        src = same_row
        tgt = image(("o0", (30, 40, 10, 20) if direction == "closer" else (10, 20, 10, 20)), ("o1", (20, 30, 40, 50)))
    else:
        src = image(("o0", (0, 4, 0, 4)), ("o1", (20, 30, 40, 50)))
        tgt = image(("o0", (30, 40, 10, 20) if direction == "in_front_of" else (10, 20, 10, 20)), ("o1", (20, 30, 40, 50)))
    assert check("location", edit, src, tgt) == ""
    assert check("location", edit, src if absolute else src, same_row) != ""


# --- rotation, shape: a visible change on the object -----------------------------------------


def test_an_object_changed_in_place_must_look_different():
    kind_edits = [("rotation", Edit("rotation", "flip", ["o0"], [], {"axis": "x", "angle_deg": 180})),
                  ("attribute", Edit("attribute", "shape", ["o0"], [], {"new_asset_id": "cup"}))]
    src = image(("o0", (20, 40, 20, 40)), rgb=(200, 50, 50))
    repainted = image(("o0", (20, 40, 20, 40)), rgb=(200, 70, 50))  # 20/255 on one channel: mean 0.026
    recoloured = image(("o0", (20, 40, 20, 40)), rgb=(150, 50, 50))
    reshaped = image(("o0", (22, 40, 20, 40)), rgb=(200, 50, 50))  # IoU 0.9
    slightly = image(("o0", (21, 40, 20, 40)), rgb=(200, 50, 50))  # IoU 0.95
    for kind, edit in kind_edits:
        assert check(kind, edit, src, src) == "no visible change on the object"
        assert check(kind, edit, src, repainted) != ""
        assert check(kind, edit, src, slightly) != ""
        assert check(kind, edit, src, recoloured) == ""
        assert check(kind, edit, src, reshaped) == ""
    figures: dict = {}
    assert visible_change("o0", src, reshaped, figures) == ""
    assert figures == {"object_iou": 0.9, "object_change": pytest.approx(figures["object_change"])}
    assert 0 < figures["object_change"] < 0.2
    visible_change("o0", src, recoloured, figures)
    assert figures["object_iou"] == 1.0 and figures["object_change"] == pytest.approx(50 / 255 / 3, abs=1e-4)


# --- count: visible instances ---------------------------------------------------------------


def count_scene(n: int, name: str = "white ramekin") -> Scene:
    return scene(obj("o0", 0, 0, "bowl", "blue bowl"),
                 *[obj(f"o{i + 1}", 0.1 * i, 0.1, "ramekin", name) for i in range(n)])


def test_count_claims_count_what_is_visible():
    s, t = count_scene(1), count_scene(3)
    add = Edit("count", "add", ["o2", "o3"], [], {"n": 2, "name": "white ramekin"})
    bowl = ("o0", (50, 60, 50, 60))
    src = image(bowl, ("o1", (10, 20, 10, 20)))
    both = image(bowl, ("o1", (10, 20, 10, 20)), ("o2", (10, 20, 30, 40)), ("o3", (30, 40, 10, 20)))
    hidden = image(bowl, ("o1", (10, 20, 10, 20)), ("o2", (10, 20, 30, 40)), ("o3", (30, 33, 10, 13)))  # 9 px
    figures: dict = {}
    assert KINDS["count"].check_masks(add, s, t, src, both, context("count"), figures) == ""
    assert figures["visible_delta"] == 2
    assert check("count", add, src, hidden, s, t) == "white ramekin: +1 visible instances, expected +2"
    # the bowl is not counted, whatever happens to it
    no_bowl = image(("o1", (10, 20, 10, 20)), ("o2", (10, 20, 30, 40)), ("o3", (30, 40, 10, 20)))
    assert check("count", add, src, no_bowl, s, t) == ""
    remove = Edit("count", "remove", ["o2", "o3"], [], {"n": 2, "name": "white ramekin"})
    assert check("count", remove, both, src, t, s) == ""
    assert check("count", remove, both, image(bowl), t, s) == "white ramekin: -3 visible instances, expected -2"
    assert check("count", remove, hidden, src, t, s) != ""  # one of them was never seen
    edge = image(bowl, ("o1", (10, 20, 10, 20)), ("o2", (10, 20, 30, 40)), ("o3", (30, 32, 10, 15)))  # 10 px
    assert check("count", add, src, edge, s, t) == ""


# --- attribute: size and colour --------------------------------------------------------------


@pytest.mark.parametrize("direction", ["bigger", "smaller"])
def test_size_claims_need_a_clear_area_change(direction):
    small, big = image(("o0", (20, 30, 20, 30))), image(("o0", (18, 30, 20, 31)))  # 100 px -> 132 px
    barely = image(("o0", (20, 30, 20, 31)))  # 110 px: 1.1x is noise
    edit = Edit("attribute", "size", ["o0"], [], {"direction": direction, "factor": 1.5})
    src, tgt = (small, big) if direction == "bigger" else (big, small)
    figures: dict = {}
    s = scene(obj("o0", 0, 0))
    assert KINDS["attribute"].check_masks(edit, s, s, src, tgt, context("attribute"), figures) == ""
    assert figures["area_ratio"] == (1.32 if direction == "bigger" else round(100 / 132, 3))
    assert "mask area ratio" in check("attribute", edit, tgt, src)
    assert check("attribute", edit, *((small, barely) if direction == "bigger" else (barely, small))) != ""


def test_a_colour_claim_moves_the_mean_colour_toward_the_named_one():
    catalog = load_catalog()
    blue = tuple(int(round(v)) for v in linear_to_srgb(np.asarray(catalog.palette["blue"], float)))
    red_mug, blue_mug = image(("o0", (20, 40, 20, 40)), rgb=(180, 20, 20)), image(("o0", (20, 40, 20, 40)), rgb=blue)
    edit = Edit("attribute", "color", ["o0"], [], {"from_color": "red", "to_color": "blue"})
    figures: dict = {}
    s = scene(obj("o0", 0, 0))
    assert KINDS["attribute"].check_masks(edit, s, s, red_mug, blue_mug, context("attribute"), figures) == ""
    assert figures["mean_rgb"] == [[180.0, 20.0, 20.0], [float(c) for c in blue]]
    assert check("attribute", edit, blue_mug, red_mug) == "mean color did not move toward blue"
    assert check("attribute", edit, red_mug, red_mug) != ""
    # judged inside the object only: a blue background does not make a red mug blue
    bg = image(("o0", (20, 40, 20, 40)), rgb=(180, 20, 20))
    bg.rgb[bg.mask == 0] = blue
    assert check("attribute", edit, red_mug, bg) != ""


# --- stack: what the object stands on --------------------------------------------------------


def stacked(object_row: int, support: bool, cols: tuple[int, int] = (14, 26)) -> Out:
    mask = np.zeros((40, 40), np.uint16)
    if support:
        mask[object_row + 1: object_row + 12, 8:32] = mask_value("o1")
    mask[object_row - 8: object_row + 1, cols[0]:cols[1]] = mask_value("o0")
    return Out(np.zeros((40, 40, 3), np.uint8), mask)


def test_take_off_needs_the_object_on_the_floor_clear_of_the_support():
    take = Edit("stack", "take_off", ["o0"], ["o1"])
    s = Scene(objects=[obj("o0", 0, 0, "tennis_ball", "ball"), obj("o1", 0, 0, "book", "book")], camera=CAM)
    on, floor = stacked(15, True), stacked(30, False)
    figures: dict = {}
    assert KINDS["stack"].check_masks(take, s, s, on, floor, context("stack"), figures) == ""
    assert figures == {"on_support_share": [1.0, 0.0], "on_floor_share": 1.0}
    assert "not seen on the support in the source" in KINDS["stack"].check_masks(take, s, s, floor, floor, context("stack"), {})
    # half of it hanging over the support's edge in the target: not clear of it
    edge = stacked(15, True, cols=(26, 38))
    assert "not clear of the support" in KINDS["stack"].check_masks(take, s, s, on, edge, context("stack"), {})
    # standing on something else (an unlisted object): neither floor nor support
    other = stacked(30, False)
    other.mask[31:35, :] = mask_value("o5")
    assert KINDS["stack"].check_masks(take, s, s, on, other, context("stack"), {}) != ""
    # at the image's bottom edge the row below is the object itself
    bottom = np.zeros((40, 40), np.uint16)
    bottom[30:40, 14:26] = mask_value("o0")
    put = Edit("stack", "put_on", ["o0"], ["o1"])
    assert KINDS["stack"].check_masks(put, s, s, floor, Out(on.rgb, bottom), context("stack"), {}) != ""


# --- claims on planned scenes ---------------------------------------------------------------


def test_location_plan_claims_hold_by_the_margin():
    kind, ctx = KINDS["location"], context("location")
    a, b = obj("o0", -0.2, 0.0), obj("o1", 0.2, 0.0)
    s = scene(a, b)
    left = Edit("location", "relative", ["o0"], ["o1"], {"direction": "left_of"})
    kind.check_plan(left, s, s, ctx)
    with pytest.raises(Reject, match="relative right_of"):
        kind.check_plan(Edit("location", "relative", ["o0"], ["o1"], {"direction": "right_of"}), s, s, ctx)
    moved = scene(obj("o0", -0.3, 0.0), b)
    kind.check_plan(Edit("location", "absolute", ["o0"], [], {"direction": "left"}), s, moved, ctx)
    with pytest.raises(Reject):
        kind.check_plan(Edit("location", "absolute", ["o0"], [], {"direction": "right"}), s, moved, ctx)
    nudged = scene(obj("o0", -0.201, 0.0), b)  # far below the margin
    with pytest.raises(Reject):
        kind.check_plan(Edit("location", "absolute", ["o0"], [], {"direction": "left"}), s, nudged, ctx)
    closer = scene(obj("o0", -0.1, 0.0), obj("o1", 0.1, 0.0))
    kind.check_plan(Edit("location", "attract", ["o0", "o1"], [], {"factor": 0.5}), s, closer, ctx)
    kind.check_plan(Edit("location", "repel", ["o0", "o1"], [], {"factor": 2.0}), closer, s, ctx)
    for sub, before, after in (("attract", closer, s), ("repel", s, closer), ("attract", s, s), ("repel", s, s)):
        with pytest.raises(Reject, match=sub):
            kind.check_plan(Edit("location", sub, ["o0", "o1"], [], {"factor": 1.0}), before, after, ctx)
    swapped = scene(obj("o0", 0.2, 0.0), obj("o1", -0.2, 0.0))
    kind.check_plan(Edit("location", "swap", ["o0", "o1"]), s, swapped, ctx)
    for after in (s, scene(obj("o0", 0.0, 0.0), obj("o1", -0.2, 0.0))):
        with pytest.raises(Reject):
            kind.check_plan(Edit("location", "swap", ["o0", "o1"]), s, after, ctx)
    touching = scene(obj("o0", 0.0, 0.0), obj("o1", 0.005, 0.0))  # a swap of two objects in one spot
    with pytest.raises(Reject):
        kind.check_plan(Edit("location", "swap", ["o0", "o1"]), touching, touching, ctx)


def turned(o: SceneObject, axis, degrees: float) -> SceneObject:
    return SceneObject(o.uid, o.asset_id, o.name, o.position, rotate_world(o.rotation, axis, math.radians(degrees)))


@pytest.mark.parametrize("sub, axis, degrees, ok", [
    ("turn_around", "z", 180, True), ("turn_around", "z", 150, False), ("turn_around", "z", 165, True),
    ("turn_90", "z", 90, True), ("turn_90", "z", -90, True), ("turn_90", "z", 130, False),
    ("fall_over", "x", 90, True), ("fall_over", "y", 65, True), ("fall_over", "x", 40, False),
    ("fall_over", "x", 180, False), ("flip", "x", 180, True), ("flip", "y", 155, True), ("flip", "x", 120, False),
])
def test_rotation_plan_claims(sub, axis, degrees, ok):
    kind, ctx = KINDS["rotation"], context("rotation")
    a = obj("o0", 0, 0)
    s, t = scene(a), scene(turned(a, axis, degrees))
    nominal = {"turn_around": 180, "turn_90": 90, "fall_over": 90, "flip": 180}[sub]
    edit = Edit("rotation", sub, ["o0"], [], {"axis": axis, "angle_deg": math.copysign(nominal, degrees)})
    if ok:
        kind.check_plan(edit, s, t, ctx)
    else:
        with pytest.raises(Reject):
            kind.check_plan(edit, s, t, ctx)


def test_a_z_turn_that_tips_the_object_is_refused():
    kind, ctx = KINDS["rotation"], context("rotation")
    a = obj("o0", 0, 0)
    tipped = turned(turned(a, "z", 180), "x", 40)
    with pytest.raises(Reject) as info:
        kind.check_plan(Edit("rotation", "turn_around", ["o0"], [], {"axis": "z", "angle_deg": 180}), scene(a),
                        scene(tipped), ctx)
    assert info.value.reason == "rotation_not_upright"
    with pytest.raises(Reject) as info:
        kind.check_plan(Edit("rotation", "turn_90", ["o0"], [], {"axis": "z", "angle_deg": -90}), scene(a),
                        scene(turned(a, "z", 180)), ctx)
    assert info.value.reason == "rotation_angle"


def test_count_and_attribute_plan_claims():
    count, attribute = KINDS["count"], KINDS["attribute"]
    one, three = count_scene(1), count_scene(3)
    count.check_plan(Edit("count", "add", ["o2", "o3"], [], {"n": 2, "name": "white ramekin"}), one, three, context("count"))
    count.check_plan(Edit("count", "remove", ["o2", "o3"], [], {"n": 2, "name": "white ramekin"}), three, one, context("count"))
    for sub, s, t, n in (("add", one, three, 1), ("remove", one, three, 2), ("add", three, one, 2), ("remove", one, one, 1)):
        with pytest.raises(Reject, match="changed by"):
            count.check_plan(Edit("count", sub, ["o2"], [], {"n": n, "name": "white ramekin"}), s, t, context("count"))
    ctx = context("attribute")
    a = obj("o0", 0, 0)
    big = SceneObject("o0", a.asset_id, a.name, a.position, scale=1.5)
    attribute.check_plan(Edit("attribute", "size", ["o0"], [], {"direction": "bigger"}), scene(a), scene(big), ctx)
    attribute.check_plan(Edit("attribute", "size", ["o0"], [], {"direction": "smaller"}), scene(big), scene(a), ctx)
    for s, t, d in ((a, big, "smaller"), (big, a, "bigger"), (a, a, "bigger")):
        with pytest.raises(Reject):
            attribute.check_plan(Edit("attribute", "size", ["o0"], [], {"direction": d}), scene(s), scene(t), ctx)
    blue = SceneObject("o0", a.asset_id, "blue coffee mug", a.position, color="blue")
    for sub in ("shape", "color"):
        attribute.check_plan(Edit("attribute", sub, ["o0"]), scene(a), scene(blue), ctx)
        with pytest.raises(Reject, match="name unchanged"):
            attribute.check_plan(Edit("attribute", sub, ["o0"]), scene(a), scene(a), ctx)
