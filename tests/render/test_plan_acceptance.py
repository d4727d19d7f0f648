"""Planning that checks before it commits (issue 11): every shipped kind plans most samples at
the first attempt, flips only objects that stand upside down, counts objects that show, and
keeps the floor apart from the colours of the edit's objects. Real meshes, real PyBullet."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from simedit.render.catalog.model import load_catalog
from simedit.render.catalog.tags import asset_mesh
from simedit.render.plan import appearance
from simedit.render.plan.appearance import seen_area, shown, silhouette_fill
from simedit.render.plan.edits.rotation import stands_flipped, tips_over
from simedit.render.plan.planner import Planner
from simedit.render.plan.sampling import ObjectRequest, sample_scene
from simedit.render.poses import rotate_world
from simedit.render.scene import SceneObject
from simedit.render.spec import load_spec
from simedit.render.visibility import stands_out

ROOT = Path(__file__).resolve().parents[2]
N = 25


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def planner(kind: str, catalog) -> Planner:
    return Planner(load_spec(ROOT / f"scenes/{kind}.yaml"), catalog)


@pytest.mark.parametrize("kind", ["rotation", "location", "count", "attribute", "stack"])
def test_most_samples_plan_at_the_first_attempt(kind, catalog):
    """Rejected plans are attempts lost; the kinds re-draw inside an attempt instead (200-300
    samples measured 90-98% per kind; 25 here, deterministic)."""
    p = planner(kind, catalog)
    outcomes = [p.plan(i) for i in range(N)]
    attempts = sum(len(o.rejects) + (o.sample is not None) for o in outcomes)
    assert all(o.sample is not None for o in outcomes)
    assert N / attempts >= 0.8, [r for o in outcomes for r in o.rejects]


def test_flips_only_objects_that_stand_upside_down(catalog):
    ctx = planner("rotation", catalog).contexts[0]
    for asset_id in ("coffee_mug", "bowl", "jar"):  # on their rims
        assert any(stands_flipped(catalog.get(asset_id), a, ctx) for a in ("x", "y")), asset_id
    for asset_id in ("bottle", "wine_bottle", "traffic_cone", "rubber_duck"):  # a cap, an apex, a head
        assert not any(stands_flipped(catalog.get(asset_id), a, ctx) for a in ("x", "y")), asset_id
    p = planner("rotation", catalog)
    flips = [s for i in range(40) if (s := p.plan(i).sample) and s.edit.subtype == "flip"]
    assert flips and all(s.source.get(s.edit.objects[0]).asset_id not in ("bottle", "wine_bottle") for s in flips)


def test_a_box_stands_on_its_face_and_tips_on_its_edge(catalog):
    ctx = planner("rotation", catalog).contexts[0]
    box = SceneObject("o0", "cardboard_box", "box", (0.0, 0.0, 0.076))  # 30 x 20 x 15 cm, on its base
    assert not tips_over(box, math.radians(15), ctx)
    assert tips_over(box, math.radians(60), ctx)  # its center is 7.6 cm up, 10 cm from the long edge
    on_edge = SceneObject("o0", "cardboard_box", "box", (0.0, 0.0, 0.2), rotate_world(box.rotation, "x", math.radians(45)))
    assert tips_over(on_edge, math.radians(1), ctx)


def test_measured_appearance_of_meshes(catalog, monkeypatch):
    monkeypatch.setattr(appearance, "_seen", {})  # measured here, as in a new process without a cache
    monkeypatch.setattr(appearance, "_fill", {})
    monkeypatch.setenv("SIMEDIT_CACHE", "off")
    ring, can = catalog.get("toy_ring"), catalog.get("soda_can")
    assert 0.55 < silhouette_fill(ring) < 0.72 and silhouette_fill(can) > 0.98  # the ring's hole
    # a 6.6 x 12.2 cm can seen from 42 degrees up: its side (6.6 x 9.1 cm) and part of its top
    assert 0.006 < seen_area(can, catalog) < 0.0095
    assert seen_area(catalog.get("cardboard_box"), catalog) > 5 * seen_area(can, catalog)
    vertices, _ = asset_mesh(can)
    assert np.ptp(vertices, axis=0).max() == pytest.approx(catalog.geometry("soda_can").extents.max())
    spec = load_spec(ROOT / "scenes/count.yaml")
    picked = {a.id for a in shown(list(catalog.assets.values()), spec, catalog)}
    assert "pencil" not in picked and "egg" not in picked and "tennis_ball" in picked


def test_count_edits_act_on_objects_that_show(catalog):
    p = planner("count", catalog)
    samples = [s for i in range(30) if (s := p.plan(i).sample)]
    named = {(s.target if s.edit.subtype == "add" else s.source).get(s.edit.objects[0]).asset_id for s in samples}
    assert not named & {"pencil", "egg"}


def test_the_floor_stands_out_from_a_textured_object_the_edit_needs(catalog):
    spec = load_spec(ROOT / "scenes/location.yaml")  # gray and brown floors
    block = catalog.get("wooden_block")  # textured, brown: on a brown floor it would vanish
    assert not block.colorable and block.color == "brown"
    floors = set()
    for seed in range(12):
        scene, _ = sample_scene(spec, catalog, [catalog.get("cup")], list(catalog.palette), np.random.default_rng(seed),
                                [ObjectRequest("wooden_block", None)])
        assert stands_out(catalog.palette["brown"], scene.floor.rgb)
        floors.add(scene.floor.color)
    assert floors == {"gray"}
