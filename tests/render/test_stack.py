"""The fifth edit kind, `stack`: planning with real PyBullet on the built-in catalog, its words,
its inverse, its claim on masks, and the registry that admitted it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from simedit.render.catalog.model import load_catalog
from simedit.render.common.errors import Reject
from simedit.render.plan.edits import KINDS, _registry, invert
from simedit.render.plan.edits.base import EditContext
from simedit.render.plan.edits.stack import StackKind, can_hold, on_floor, on_top
from simedit.render.plan.language import all_instructions, instruction
from simedit.render.plan.planner import Planner
from simedit.render.poses import world_hull
from simedit.render.scene import Camera, Edit, Scene, SceneObject, mask_value
from simedit.render.spec import load_spec

N = 60


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def planner(catalog):
    return Planner(load_spec("scenes/stack.yaml"), catalog)


@pytest.fixture(scope="module")
def stack_plans(planner):
    out = [o.sample for i in range(N) if (o := planner.plan(i)).sample is not None]
    assert len(out) >= 0.9 * N, "too many skipped indices"
    return out


def test_registry_checks_kinds_against_spec_models_and_templates():
    assert "stack" in KINDS
    with pytest.raises(RuntimeError, match="'stack' has a spec model but no module"):
        _registry(*[k for name, k in KINDS.items() if name != "stack"])

    class NoTemplate(StackKind):
        name = "levitate"

    with pytest.raises(RuntimeError, match="'levitate' has no spec model"):
        _registry(*KINDS.values(), NoTemplate())

    class MissingKey(StackKind):
        template_keys = ("put_on", "take_off", "hover")

    with pytest.raises(RuntimeError, match="no paraphrase macros named hover"):
        _registry(*[k for name, k in KINDS.items() if name != "stack"], MissingKey())


def test_support_fits_on_the_catalog(catalog, planner):
    ctx = planner.contexts[0]
    supports = {a.id for a in catalog.assets.values() if "support" in a.tags}
    assert {"book", "cardboard_box"} <= supports and "coffee_mug" not in supports and "bowl" not in supports
    assert can_hold(catalog.get("book"), catalog.get("tennis_ball"), ctx)
    assert not can_hold(catalog.get("book"), catalog.get("book"), ctx)  # nothing goes on its own kind
    assert not can_hold(catalog.get("coffee_mug"), catalog.get("tennis_ball"), ctx)  # an open mug is no table


def test_put_on_and_take_off_hold_in_3d(stack_plans, catalog):
    subtypes = {p.edit.subtype for p in stack_plans}
    assert subtypes == {"put_on", "take_off"}
    for p in stack_plans:
        (a,), (s,) = p.edit.objects, p.edit.references
        src_a, tgt_a, tgt_s = p.source.get(a), p.target.get(a), p.target.get(s)
        assert p.target.get(s) == p.source.get(s), "the support never moves"
        top = world_hull(tgt_s, catalog)[:, 2].max()
        if p.edit.subtype == "put_on":
            assert on_floor(src_a, catalog) and on_top(tgt_a, tgt_s, catalog)
            assert abs(world_hull(tgt_a, catalog)[:, 2].min() - top) < 0.012, "rests on the top, not in the air"
        else:
            assert on_top(src_a, p.source.get(s), catalog) and on_floor(tgt_a, catalog)
            gap = np.linalg.norm(np.subtract(tgt_a.position[:2], tgt_s.position[:2]))
            assert gap > 0.02, "put down beside the support, not against it"
        for obj in p.source.objects:
            if obj.uid != a:
                assert p.target.get(obj.uid) == obj, "nothing else moves"


def test_words_name_both_objects_and_are_deterministic(stack_plans, planner):
    for p in stack_plans[:20]:
        a, s = p.source.get(p.edit.objects[0]).name, p.source.get(p.edit.references[0]).name
        assert a in p.instruction and s in p.instruction, p.instruction
        again = planner.plan_attempt(p.index, p.attempt)
        assert again.to_dict() == p.to_dict()
    texts = {t for p in stack_plans for t in all_instructions(p.edit, p.source, p.target)}
    assert any(" on top of " in t for t in texts) and any(" off " in t for t in texts)


def test_inverse_swaps_put_on_and_take_off(stack_plans):
    worded = 0
    for p in stack_plans[:10]:
        inv = invert(p.edit, p.source, p.target)
        assert inv.subtype == {"put_on": "take_off", "take_off": "put_on"}[p.edit.subtype]
        assert inv.objects == p.edit.objects and inv.references == p.edit.references
        try:  # two look-alikes overlapping in the target cannot be told apart: export skips those
            text = instruction(inv, p.target, p.source, np.random.default_rng(0))
        except Reject:
            continue
        worded += 1
        assert p.source.get(p.edit.objects[0]).name in text
    assert worded >= 8


@dataclass
class Out:
    rgb: np.ndarray
    mask: np.ndarray


def synthetic(object_row: int, support: bool) -> Out:
    """A 40x40 mask: object o0 (value 1) a square whose bottom edge is at `object_row`; support
    o1 (value 2) filling the rows below it when `support`, else floor (0)."""
    mask = np.zeros((40, 40), np.uint16)
    if support:
        mask[object_row + 1: object_row + 12, 8:32] = mask_value("o1")
    mask[object_row - 8: object_row + 1, 14:26] = mask_value("o0")
    return Out(np.zeros((40, 40, 3), np.uint8), mask)


def test_mask_claim_sees_what_the_object_stands_on(planner):
    kind, ctx = KINDS["stack"], planner.contexts[0]
    cam = Camera(position=(0, -1, 1), look_at=(0, 0, 0), fov=0.8, width=40, height=40)
    scene = Scene(objects=[SceneObject("o0", "tennis_ball", "ball", (0, 0, 0)), SceneObject("o1", "book", "book", (0, 0, 0))],
                  camera=cam)
    put = Edit("stack", "put_on", ["o0"], ["o1"])
    floor, on = synthetic(30, support=False), synthetic(15, support=True)
    assert kind.check_masks(put, scene, scene, floor, on, ctx, {}) == ""
    assert kind.check_masks(put, scene, scene, floor, floor, ctx, {}) != ""  # never got onto it
    assert kind.check_masks(put, scene, scene, on, on, ctx, {}) != ""  # was already on it
    take = Edit("stack", "take_off", ["o0"], ["o1"])
    assert kind.check_masks(take, scene, scene, on, floor, ctx, {}) == ""
    assert kind.check_masks(take, scene, scene, on, on, ctx, {}) != ""


def test_mixed_spec_includes_stack():
    assert "stack" in {e.kind for e in load_spec("scenes/mixed.yaml").edits}
