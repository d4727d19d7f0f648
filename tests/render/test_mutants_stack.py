"""The stack edit at its edges: putting an object on a support is undone by taking it off (the
reverse instructions of an export and DiscEdit's "already true" no-change prompts are phrased
from that); what fits on which support, measured on the meshes (with the process's caches of
those measurements emptied, so they run here); and a plan whose claim does not hold before and
after is rejected. Planning only: a saved stack plan, hand-placed objects and the catalog,
nothing is rendered."""
from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from simedit.render.catalog.model import load_catalog
from simedit.render.common.errors import Reject
from simedit.render.plan.edits import KINDS, invert, stack
from simedit.render.plan.edits.base import EditContext
from simedit.render.plan.language import all_instructions, instruction
from simedit.render.plan.planner import Planner
from simedit.render.scene import Camera, Edit, Scene, SceneObject
from simedit.render.spec import load_spec
from simedit.train.eval.triples import triple_for_row

PLAN = Path(__file__).resolve().parents[1] / "train" / "fixtures" / "stack_plan.json"


def plan() -> tuple[dict, Edit, Scene, Scene]:
    p = json.loads(PLAN.read_text())
    return p, Edit.from_dict(p["edit"]), Scene.from_dict(p["source"]), Scene.from_dict(p["target"])


def test_put_on_and_take_off_undo_each_other():
    _, put, s, t = plan()
    assert put.subtype == "put_on"
    take = invert(put, s, t)
    assert take.to_dict() == {"kind": "stack", "subtype": "take_off", "objects": ["o3"], "references": ["o2"],
                              "params": {}}
    assert invert(take, t, s).to_dict() == put.to_dict()
    # the inverse is phrased on the scenes swapped: the block comes off the jar
    texts = all_instructions(take, t, s)
    assert texts and all("brown pyramid block" in x and "red jar" in x for x in texts)
    assert set(texts).isdisjoint(all_instructions(put, s, t))
    assert instruction(take, t, s, np.random.default_rng(0)) in texts


def test_a_stack_pair_gets_an_already_true_no_change_prompt():
    p, *_ = plan()
    row = {**p, "source_scene": p["source"], "target_scene": p["target"], "edited": p["edit"]["objects"]}
    triple, why = triple_for_row(row, load_catalog())
    assert why == "" and triple["no_change_kind"] == "already_true"
    assert "brown pyramid block" in triple["no_change"] and triple["no_change"] != triple["change"]


@functools.cache
def catalog():
    return load_catalog()


@pytest.fixture
def measured(monkeypatch):
    """Tops and footprints measured afresh, as in a new process."""
    monkeypatch.setattr(stack, "_tops", {})
    monkeypatch.setattr(stack, "_radii", {})


def context(scale) -> EditContext:
    ctx = Planner(load_spec("scenes/stack.yaml"), catalog()).contexts[0]
    spec = ctx.spec.model_copy(update={"objects": ctx.spec.objects.model_copy(update={"scale": scale})})
    return EditContext(spec, ctx.edit_spec, ctx.catalog, ctx.pool, ctx.colors)


def test_footprints_and_tops_are_measured_on_the_meshes(measured):
    get = catalog().get
    assert stack.footprint_of(get("book"), catalog()) == pytest.approx(math.hypot(0.155, 0.235) / 2, abs=1e-4)
    assert stack.footprint_of(get("pyramid_block"), catalog()) == pytest.approx(0.035 * math.sqrt(2), abs=1e-4)
    book = stack.top_of(get("book"))  # a 15.5 x 23.5 x 3.2 cm book: its whole cover
    assert book.height_m == pytest.approx(0.032, abs=1e-3) and book.inradius_m == pytest.approx(0.0775, abs=1e-3)
    assert stack.top_of(get("pyramid_block")).inradius_m < 0.005  # an apex holds nothing


def test_an_object_fits_on_a_support_only_at_every_scale_the_spec_draws(measured):
    get = catalog().get
    fixed, ranged = context(1.0), context([0.8, 1.25])
    assert stack.can_hold(get("book"), get("tennis_ball"), fixed) and stack.can_hold(get("book"), get("tennis_ball"), ranged)
    assert not stack.can_hold(get("toy_cube"), get("tennis_ball"), fixed)  # wider than the cube's top
    assert not stack.can_hold(get("pyramid_block"), get("egg"), fixed)  # no support
    # a tennis ball fits on a soup can of the same scale, not on a small can when it is drawn large
    assert stack.can_hold(get("soup_can"), get("tennis_ball"), fixed)
    assert not stack.can_hold(get("soup_can"), get("tennis_ball"), ranged)


def test_the_planned_stack_claim_must_hold_before_and_after():
    """put_on: on the floor before and on the support after; take_off the other way round. A plan
    where physics left either end wrong is rejected, not written with a false instruction."""

    cam = Camera(position=(0.0, -1.2, 0.9), look_at=(0.0, 0.0, 0.05), fov=0.9, width=32, height=32)
    book = SceneObject("o1", "book", "book", (0.0, 0.0, 0.016))  # 3.2 cm thick, on the floor
    beside = SceneObject("o0", "toy_cube", "toy cube", (0.25, 0.0, 0.03))  # a 6 cm cube on the floor
    on = SceneObject("o0", "toy_cube", "toy cube", (0.0, 0.0, 0.032 + 0.03))  # on the book's cover
    kind, ctx = KINDS["stack"], context(1.0)

    def check(subtype: str, a: SceneObject, b: SceneObject) -> None:
        kind.check_plan(Edit("stack", subtype, ["o0"], ["o1"]), Scene([a, book], cam), Scene([b, book], cam), ctx)

    check("put_on", beside, on)
    check("take_off", on, beside)
    for subtype, a, b in (("put_on", beside, beside), ("put_on", on, on), ("take_off", on, on), ("take_off", beside, beside)):
        with pytest.raises(Reject) as e:
            check(subtype, a, b)
        assert e.value.reason == "claim_false"


def test_the_planner_reads_a_stack_on_its_hull_mask():
    """`_stack_seen` is the verifier's mask claim judged before rendering: a cup standing on a
    book reads as on it, a cup beside it as off it, a cup behind it (whose outline ends on the
    book's pixels) as neither, and nothing reads at all when the objects are a few pixels."""
    ctx = context(1.0)
    cat = catalog()
    cam = Camera(position=(0.0, -0.8, 0.6), look_at=(0.0, 0.0, 0.05), fov=0.9, width=128, height=128)
    book = SceneObject("o1", "book", "book", (0.0, 0.0, 0.016))
    cup = SceneObject("o0", "cup", "cup", (0.0, 0.0, 0.0))

    def scene(x: float, y: float, on_book: bool, camera: Camera = cam) -> Scene:
        c = SceneObject(**{**cup.__dict__})
        if on_book:
            c = stack._centered_on(c, book, cat)
        else:
            c.position = (x, y, 0.0475)
        return Scene(objects=[c, SceneObject(**{**book.__dict__})], camera=camera)

    on, beside, behind = scene(0, 0, True), scene(0.25, 0.0, False), scene(0.0, 0.17, False)
    assert stack._stack_seen(on, "o0", "o1", ctx, on=True) and not stack._stack_seen(on, "o0", "o1", ctx, on=False)
    assert stack._stack_seen(beside, "o0", "o1", ctx, on=False) and not stack._stack_seen(beside, "o0", "o1", ctx, on=True)
    assert not stack._stack_seen(behind, "o0", "o1", ctx, on=False)
    far = Camera(position=(0.0, -4.0, 3.0), look_at=cam.look_at, fov=cam.fov, width=128, height=128)
    assert not stack._stack_seen(scene(0, 0, True, far), "o0", "o1", ctx, on=True)  # the cup: under 330 px of 256^2


def test_share_below_reads_the_row_just_under_each_column():
    """On a 30x50 mask (not square): o0 spans columns 10-12 with its lowest pixels in row 20; the
    support (o1) is in the row just below under columns 10 and 11 only, and the floor two rows
    below everywhere. An object on the image's last row has nothing under it (o2), one a row above
it has the last row (o3); a missing one is 0."""
    m = np.zeros((30, 50), np.uint16)
    m[21, 10:12] = 2  # o1, one row under o0, not under column 12
    m[18:21, 10:13] = 1  # o0
    assert stack._share_below(m, "o0", 2) == pytest.approx(2 / 3)
    assert stack._share_below(m, "o0", 0) == pytest.approx(1 / 3)
    m[27:30, 40:45] = 3  # o2, down to the last row
    assert stack._share_below(m, "o2", 0) == 0.0 and stack._share_below(m, "o2", 3) == 1.0
    m[25:29, 30:33], m[29, 30:33] = 4, 2  # o3 one row above the last, o1 under it
    assert stack._share_below(m, "o3", 2) == 1.0
    assert stack._share_below(m, "o9", 0) == 0.0
