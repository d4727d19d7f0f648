"""Attribute edits on one object standing alone (real catalog, no physics): a shape edit changes
the shape only, so the reshaped object keeps the colour word it was named with (its paint, or a
textured asset's fixed word), and the instruction and its inverse name a textured shape without
the colour word its look carries anyway (issue 11: one edit per pair); a size edit scales the
object by the factor it draws, from the size it had; planning refuses a shape edit that also
repaints. Users rely on this: a wrong colour word or a second, unnamed change is a wrong
training pair."""
from __future__ import annotations

import functools

import numpy as np
import pytest

from simedit.render.catalog.model import load_catalog
from simedit.render.common.errors import Reject
from simedit.render.plan.edits import KINDS, invert
from simedit.render.plan.edits.base import EditContext, Intent
from simedit.render.plan.language import all_instructions
from simedit.render.plan.planner import Planner
from simedit.render.plan.sampling import make_object, sample_scene
from simedit.render.poses import resting_height
from simedit.render.scene import Edit, Scene, SceneObject
from simedit.render.spec import load_spec

ATTRIBUTE = KINDS["attribute"]
SEEDS = range(6)


@functools.cache
def planner() -> Planner:
    return Planner(load_spec("scenes/attribute.yaml"), load_catalog())


@functools.cache
def empty_scene() -> Scene:
    """A sampled floor, light and camera, without objects."""
    p = planner()
    draft, _ = sample_scene(p.spec, p.catalog, p.pool, p.colors, np.random.default_rng(0), [], [])
    return Scene([], draft.camera, lights=draft.lights, world=draft.world, floor=draft.floor)


def alone(asset_id: str, color: str | None = None, scale: float = 1.0) -> Scene:
    """One upright object, resting on the floor where the camera looks."""
    cat = planner().catalog
    o = make_object("o0", cat.get(asset_id), color, cat, planner().colors, scale, np.random.default_rng(1))
    s = empty_scene().copy()
    x, y, _ = s.camera.look_at
    o.position = (x, y, resting_height(o, cat))
    s.objects = [o]
    return s


def pool(*ids: str) -> EditContext:
    ctx = planner().contexts[0]
    return EditContext(ctx.spec, ctx.edit_spec, ctx.catalog, [ctx.catalog.get(i) for i in ids], ctx.colors)


def reshape(asset_id: str, color: str | None, into: str, seed: int):
    src = alone(asset_id, color)
    change = ATTRIBUTE.apply("shape", Intent(), src, pool(asset_id, into), np.random.default_rng(seed))
    assert change.edit.objects == ["o0"] and change.target.get("o0").asset_id == into
    assert change.movable == ["o0"]  # physics settles the reshaped object, and only it
    words = all_instructions(change.edit, src, change.target)
    back = all_instructions(invert(change.edit, src, change.target), change.target, src)
    return src, change.target.get("o0"), words, back


@pytest.mark.parametrize("seed", SEEDS)
def test_a_painted_object_reshaped_keeps_its_paint_and_both_ways_name_it(seed):
    palette = planner().catalog.palette
    _, new, words, back = reshape("coffee_mug", "red", "tea_mug", seed)
    assert (new.color, new.rgb, new.name) == ("red", tuple(palette["red"]), "red tea mug")
    assert all("red tea mug" in w for w in words), words  # "turn the red coffee mug into a red tea mug"
    assert all(w.count("red coffee mug") == 1 and "red tea mug" in w for w in back), back


@pytest.mark.parametrize("seed", SEEDS)
def test_a_textured_object_reshaped_into_a_solid_one_takes_its_colour_word(seed):
    palette = planner().catalog.palette
    _, new, words, back = reshape("wooden_block", None, "toy_brick", seed)  # a brown wooden block
    assert (new.color, new.rgb, new.name) == ("brown", tuple(palette["brown"]), "brown toy brick")
    assert all("brown wooden block" in w and "brown toy brick" in w for w in words), words
    # the way back names the textured block without the word its look carries
    assert all("wooden block" in w and "brown wooden block" not in w for w in back), back


@pytest.mark.parametrize("seed", SEEDS)
def test_a_solid_object_reshaped_into_a_textured_one_is_named_without_a_colour_word(seed):
    _, new, words, back = reshape("toy_cube", "red", "domino", seed)
    assert (new.color, new.rgb, new.name) == (None, None, "white domino")  # the domino's own look
    assert all("domino" in w and "white domino" not in w for w in words), words
    assert all(w.endswith("red toy cube") or "red toy cube " in w for w in back), back


def test_a_textured_object_without_a_colour_word_reshaped_into_a_solid_one_is_painted():
    palette = planner().catalog.palette
    colors = set()
    for seed in SEEDS:
        _, new, words, _ = reshape("soccer_ball", None, "tennis_ball", seed)
        assert new.color in planner().colors and new.rgb == tuple(palette[new.color])
        assert new.name == f"{new.color} tennis ball" and all(new.name in w for w in words), words
        colors.add(new.color)
    assert len(colors) > 1  # a palette colour drawn, not one fixed word


@pytest.mark.parametrize("scale", [0.8, 1.1])
def test_a_resized_object_changes_by_the_drawn_factor_from_its_own_size(scale):
    """Objects are drawn at a scale (`objects.scale`, `objects.size_m`): bigger or smaller is
    relative to it, by exactly the factor the plan records."""
    src = alone("coffee_mug", "red", scale)
    cat = planner().catalog
    seen = set()
    for seed in range(12):
        try:
            change = ATTRIBUTE.apply("size", Intent(), src, pool("coffee_mug"), np.random.default_rng(seed))
        except Reject:
            continue
        p, obj = change.edit.params, change.target.get("o0")
        seen.add(p["direction"])
        assert obj.scale / scale == pytest.approx(p["factor"] if p["direction"] == "bigger" else 1 / p["factor"])
        assert change.movable == ["o0"]
        assert obj.position[:2] == src.get("o0").position[:2] and obj.position[2] == pytest.approx(resting_height(obj, cat))
    assert seen == {"bigger", "smaller"}


def test_a_shape_edit_that_also_repaints_is_two_edits():
    ctx = planner().contexts[0]
    cat = ctx.catalog

    def thing(asset_id: str, color: str | None) -> Scene:
        o = SceneObject("o0", asset_id, cat.display_name(asset_id, color), (0.0, 0.0, 0.05), color=color,
                        rgb=tuple(cat.palette[color]) if color else None)
        return Scene([o], empty_scene().camera)

    shape = Edit("attribute", "shape", ["o0"])
    for before, after in ((("coffee_mug", "red"), ("tea_mug", "red")), (("wooden_block", None), ("toy_brick", "brown")),
                          (("soccer_ball", None), ("tennis_ball", "green")), (("toy_cube", "red"), ("domino", None))):
        ATTRIBUTE.check_plan(shape, thing(*before), thing(*after), ctx)
    for before, after in ((("coffee_mug", "red"), ("tea_mug", "blue")), (("wooden_block", None), ("toy_brick", "green"))):
        with pytest.raises(Reject) as info:
            ATTRIBUTE.check_plan(shape, thing(*before), thing(*after), ctx)
        assert info.value.reason == "two_edits"
