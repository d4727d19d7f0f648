"""What every kind shares (`plan/edits/base.py`), on hand-placed scenes: the planner acts only on
an object that the camera will show large enough for the verifier, judged on what will show
(its projected hull, times the share of it the mesh fills, times the share not hidden behind
nearer objects) with the planner's margin over the verifier's floor; a kind's intent picks
objects large enough to see; an impossible spec names the pool it searched."""
from __future__ import annotations

import functools

import numpy as np
import pytest

from simedit.render import camera as cam
from simedit.render.catalog.model import load_catalog
from simedit.render.common.errors import SimEditError
from simedit.render.masks import unoccluded_share
from simedit.render.plan import appearance
from simedit.render.plan.appearance import shown
from simedit.render.plan.edits import KINDS
from simedit.render.plan.edits.base import EditContext, large_enough, request_one, visible_enough
from simedit.render.plan.planner import Planner
from simedit.render.poses import resting_height, world_hull
from simedit.render.scene import Camera, Scene, SceneObject
from simedit.render.spec import load_spec

CAM = Camera(position=(0.0, -1.2, 0.9), look_at=(0.0, 0.0, 0.05), fov=0.9, width=128, height=128)


@functools.cache
def context(kind: str = "location") -> EditContext:
    return Planner(load_spec(f"scenes/{kind}.yaml"), load_catalog()).contexts[0]


def floor_px() -> float:
    """The verifier's visibility floor at CAM's size (`min_visible_px` is stated at 256x256)."""
    return context().spec.verify.min_visible_px * CAM.width * CAM.height / 256**2


def obj(uid: str, asset: str, x: float, y: float, scale: float = 1.0) -> SceneObject:
    o = SceneObject(uid, asset, asset.replace("_", " "), (x, y, 0.0), scale=scale)
    o.position = (x, y, resting_height(o, context().catalog))
    return o


def hull_px(o: SceneObject) -> float:
    return cam.projected_area(CAM, world_hull(o, context().catalog))


def sized(uid: str, asset: str, x: float, y: float, px: float) -> SceneObject:
    """The asset at (x, y), scaled so its projected hull covers `px` pixels of CAM's image."""
    lo, hi = 0.05, 5.0
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if hull_px(obj(uid, asset, x, y, mid)) < px else (lo, mid)
    o = obj(uid, asset, x, y, hi)
    assert hull_px(o) == pytest.approx(px, rel=1e-3)
    return o


def alone(o: SceneObject) -> Scene:
    return Scene(objects=[o], camera=CAM)


def test_an_object_just_under_the_verifiers_floor_is_never_planned():
    """A can whose silhouette covers 97% of the pixels the verifier demands would be refused
    after rendering: the planner must not pick it. At 110% it is planned."""
    ctx = context()
    small = sized("o0", "soda_can", 0.0, 0.1, 0.97 * floor_px())
    large = sized("o0", "soda_can", 0.0, 0.1, 1.1 * floor_px())
    assert not large_enough(small, CAM, ctx, 1.0) and not visible_enough(alone(small), "o0", ctx)
    assert large_enough(large, CAM, ctx, 1.0) and visible_enough(alone(large), "o0", ctx)


def test_a_ring_is_judged_by_what_its_mesh_fills_not_by_its_hull():
    """A toy ring's hole (its mesh fills about 0.63 of its hull's outline): a ring whose hull
    covers 1.3 times the planner's floor shows about 0.82 of it. A can with the same hull shows
    all of it."""
    ctx = context()
    px = 1.3 * 1.05 * floor_px()
    ring, can = sized("o0", "toy_ring", 0.0, 0.1, px), sized("o0", "soda_can", 0.0, 0.1, px)
    assert not large_enough(ring, CAM, ctx, 1.0) and not visible_enough(alone(ring), "o0", ctx)
    assert large_enough(can, CAM, ctx, 1.0) and visible_enough(alone(can), "o0", ctx)


def test_a_partly_hidden_object_is_judged_by_what_shows():
    """A can large enough alone (1.5 times the planner's floor), 40% hidden behind a cereal box in
    front of it: more than half of it shows (the verifier's `min_visible_fraction`), but what
    shows is under the floor."""
    ctx = context()
    can = sized("o0", "soda_can", 0.0, 0.1, 1.5 * 1.05 * floor_px())
    assert visible_enough(alone(can), "o0", ctx)
    hidden = Scene(objects=[can, obj("o1", "cereal_box", 0.09, -0.2)], camera=CAM)
    share = unoccluded_share(hidden, "o0", ctx.catalog)
    assert ctx.spec.verify.min_visible_fraction <= share < 0.65
    assert not visible_enough(hidden, "o0", ctx)
    assert not large_enough(can, CAM, ctx, share) and large_enough(can, CAM, ctx, 1.0)


def test_a_kind_asks_for_an_object_large_enough_to_see(monkeypatch):
    """`request_one` (rotation, attribute) prefers what the camera shows: never a pencil or an
    egg when larger objects can take the edit - measured here, as in a fresh process."""
    monkeypatch.setattr(appearance, "_seen", {})
    ctx = context("rotation")
    ids = ["pencil", "egg", "coffee_mug", "cardboard_box"]
    pool = EditContext(ctx.spec, ctx.edit_spec, ctx.catalog, [ctx.catalog.get(i) for i in ids], ctx.colors)
    kind = KINDS["rotation"]
    picked = {request_one(kind, "turn_90", pool, np.random.default_rng(seed)).requests[0].asset_id
              for seed in range(12)}
    assert all(kind.eligible("turn_90", a, pool) for a in pool.pool)
    assert picked == {"coffee_mug", "cardboard_box"}
    assert {a.id for a in shown(pool.pool, ctx.spec, ctx.catalog)} == picked


ROUND = ["cup", "tumbler", "bowl", "ramekin", "plate", "bottle", "wine_bottle", "soda_can", "soup_can"]


@pytest.mark.parametrize("n", [8, 9])
def test_an_impossible_spec_lists_the_pool_it_searched(n):
    """No round object can be turned around: the error lists the pool (its first 8 ids, and
    " ..." when there are more) so the user sees what `objects.include` gave."""
    ctx = context("rotation")
    pool = EditContext(ctx.spec, ctx.edit_spec, ctx.catalog, [ctx.catalog.get(i) for i in ROUND[:n]], ctx.colors)
    with pytest.raises(SimEditError) as info:
        KINDS["rotation"].check_feasible(pool, "spec.yaml")
    assert info.value.field.endswith("subtypes.turn_around")
    listed = "pool: " + ", ".join(ROUND[:8]) + (" ..." if n > 8 else "") + ")"
    assert listed in str(info.value), str(info.value)
