"""Tag inference from geometry and physics (render/catalog/tags.py, stability.py) on the built-in
catalog's objects, on real pybullet_data meshes, and on simple shapes. About 25 s: every
built-in mesh is sampled and pushed."""
from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pybullet_data
import pytest
import trimesh

from simedit.render.catalog.model import Asset, load_catalog
from simedit.render.catalog.tags import (
    SUPPORT_COVERAGE,
    SUPPORT_MIN_AREA_M2,
    SUPPORT_MIN_SHARE,
    TAG_RULES,
    infer_asset_tags,
    infer_tags,
    merge_tags,
    min_caliper_width,
    top_surface,
)

DATA = Path(pybullet_data.getDataPath())


def infer_builtin(ids: list[str]) -> dict:
    """`infer_asset_tags` of some built-in assets (what the second process runs)."""
    catalog = load_catalog()
    return {i: infer_asset_tags(catalog.get(i)) for i in ids}


@pytest.fixture(scope="module")
def builtin_results():
    """Every built-in asset's inference. It is single-threaded per asset and the machine has 2
    cores: every other asset is inferred in a second (spawned) process meanwhile; each result is
    a function of the asset's mesh and the seed alone."""
    catalog = load_catalog()
    ids = list(catalog.assets)
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        there = pool.submit(infer_builtin, ids[1::2])
        here = {i: infer_asset_tags(catalog.get(i)) for i in ids[0::2]}
        results = {**here, **there.result()}
    return catalog, {i: results[i] for i in ids}


def test_inference_agrees_with_every_builtin_tag(builtin_results) -> None:
    catalog, results = builtin_results
    wrong = {i: (sorted(catalog.get(i).tags), r.tags) for i, r in results.items() if set(r.tags) != catalog.get(i).tags}
    assert not wrong, wrong
    # support included: the YAML says it exactly where inference does
    supports = {i for i, r in results.items() if "support" in r.tags}
    assert supports == {a.id for a in catalog.select(tags=["support"])}
    assert supports == {"soup_can", "jar", "cardboard_box", "cereal_box", "book", "toy_cube", "wooden_block"}
    assert set(TAG_RULES) == {"can-fall", "round", "invariant", "support"}


def test_support_on_builtin_assets(builtin_results) -> None:
    _, results = builtin_results
    for flat in ("book", "cardboard_box", "cereal_box", "toy_cube"):
        assert "support" in results[flat].tags, (flat, results[flat].evidence)
    for other in ("coffee_mug", "tea_mug", "cup", "bowl", "plate", "bottle", "tennis_ball", "basketball",
                  "traffic_cone", "pyramid_block", "donut"):
        assert "support" not in results[other].tags, (other, results[other].evidence)
    for r in results.values():
        for key in ("top_area_m2", "top_coverage", "top_inradius_m", "top_footprint_share"):
            assert isinstance(r.evidence[key], float), key
    book, mug, bowl = (results[i].evidence for i in ("book", "coffee_mug", "bowl"))
    assert book["top_coverage"] > 0.95 and book["top_inradius_m"] > 0.05  # a 15 cm wide cover
    # open vessels: the hull's top is flat and large, the surface there is only a rim
    for ev in (mug, bowl):
        assert ev["top_area_m2"] > SUPPORT_MIN_AREA_M2 and ev["top_coverage"] < SUPPORT_COVERAGE
    # a ball's or cone's top is full but a small part of the footprint
    for i in ("basketball", "traffic_cone"):
        assert results[i].evidence["top_footprint_share"] < SUPPORT_MIN_SHARE


def test_pybullet_data_objects(builtin_results) -> None:
    _, results = builtin_results
    # real meshes shipped in pybullet_data, as the built-in catalog scales and stands them
    assert results["soccer_ball"].tags == ["round", "invariant"]  # soccerball.obj: a sphere of patches
    assert results["tea_mug"].tags == ["can-fall"]  # objects/mug.obj: 10 cm tall, 8 cm body; handle -> not round
    assert results["rubber_duck"].tags == ["can-fall"]  # duck.obj: taller (7.7) than narrow (5.8)
    assert results["wooden_block"].tags == ["support"]  # jenga.obj as a 5 cm cube: 4-fold, not round, a flat top
    assert results["toy_brick"].tags == []  # lego: 4-fold symmetric, lower than wide
    assert results["domino"].tags == ["can-fall"]  # standing on its short end (our mesh of pybullet's domino)
    assert results["toy_ring"].tags == ["round"]  # a thin torus (ours since issue 11, not pybullet's): round, flat
    # evidence says why
    ev = results["soccer_ball"].evidence
    assert ev["z_turn_spread"] < 0.01 and ev["rotation_spread"] < 0.01
    assert results["tea_mug"].evidence["z_turn_spread"] > 0.1  # the handle
    assert results["tea_mug"].evidence["height_over_width"] > 1.05
    assert results["tea_mug"].evidence["can_fall_by"] == "push"
    assert results["flower_pot"].evidence["height_over_width"] < 1.05  # the old rule missed it; a push tips it


@pytest.mark.parametrize("rel,scale,expected", [
    ("sphere_smooth.obj", 0.1, ["round", "invariant"]),
    ("cube.obj", 0.05, ["support"]),  # a 5 cm cube: a flat top
    ("teddy2_VHACD_CHs.obj", 0.28, []),  # Y-up file as is: a teddy lying on its back is neither tall nor round
])
def test_raw_pybullet_meshes(rel: str, scale: float, expected: list[str]) -> None:
    path = DATA / rel
    asset = Asset(id="x", name="x", category="x", tags=frozenset(), render_mesh=path, collision_mesh=path, mesh_scale=scale)
    assert infer_asset_tags(asset).tags == expected


def _tags(mesh: trimesh.Trimesh) -> list[str]:
    return infer_tags(np.asarray(mesh.vertices), np.asarray(mesh.faces)).tags


def _at(x: float, y: float, z: float) -> np.ndarray:
    return trimesh.transformations.translation_matrix((x, y, z))


def _open_mug() -> trimesh.Trimesh:
    """A 4 mm wall, a floor and a handle: open at the top like a real mug."""
    return trimesh.util.concatenate([
        trimesh.creation.annulus(r_min=0.036, r_max=0.04, height=0.1, sections=32),
        trimesh.creation.cylinder(radius=0.04, height=0.006, sections=32, transform=_at(0, 0, -0.047)),
        trimesh.creation.box(extents=(0.03, 0.01, 0.06), transform=_at(0.05, 0, 0))])


def test_simple_shapes() -> None:
    # closed solids have flat tops: a can, a puck, a cube and a standing box are supports
    assert _tags(trimesh.creation.cylinder(radius=0.03, height=0.12, sections=32)) == ["can-fall", "round", "support"]
    assert _tags(trimesh.creation.cylinder(radius=0.08, height=0.03, sections=32)) == ["round", "support"]
    assert _tags(trimesh.creation.box(extents=(0.1, 0.1, 0.1))) == ["support"]  # 4-fold only; falling shows nothing
    assert _tags(trimesh.creation.box(extents=(0.06, 0.03, 0.2))) == ["can-fall", "support"]
    assert _tags(trimesh.creation.box(extents=(0.2, 0.008, 0.008))) == []  # a stick: its top is too narrow
    assert _tags(trimesh.creation.icosphere(subdivisions=3, radius=0.05)) == ["round", "invariant"]
    assert _tags(trimesh.creation.cone(radius=0.05, height=0.15, sections=32)) == ["can-fall", "round"]
    assert _tags(_open_mug()) == ["can-fall"]


def _revolved(profile: list[tuple[float, float]]) -> trimesh.Trimesh:
    return trimesh.creation.revolve(np.asarray(profile, float), sections=24)


def test_can_fall_is_physics() -> None:
    """A real mug's proportions (height / narrowest width 0.76) never passed the old ratio rule;
    physics knocks it over. A bowl tips as easily but has no side to lie on; a low box does,
    but tipping it costs too much."""
    handle = trimesh.creation.box(extents=(0.028, 0.012, 0.042), transform=_at(0.062, 0, 0.038))
    wide_mug = trimesh.util.concatenate([_revolved([(0.038, 0), (0.05, 0.019), (0.05, 0.076), (0.046, 0.076),
                                                    (0.046, 0.008), (0, 0.008), (0, 0)]), handle])
    r = infer_tags(wide_mug.vertices, wide_mug.faces)
    assert "can-fall" in r.tags and r.evidence["height_over_width"] < 0.8, r.evidence
    assert r.evidence["can_fall_by"] == "tip energy" and r.evidence["side_pose_deg"] == pytest.approx(90, abs=5)
    bowl = _revolved([(0.036, 0), (0.08, 0.07), (0.076, 0.07), (0, 0.006), (0, 0)])
    r = infer_tags(bowl.vertices, bowl.faces)
    assert "can-fall" not in r.tags and r.evidence["tip_rise"] < 0.12  # cheap to tip, but no side pose
    low_box = trimesh.creation.box(extents=(0.2, 0.15, 0.1))
    r = infer_tags(low_box.vertices, low_box.faces)
    assert "can-fall" not in r.tags and r.evidence["push_falls"] == "0 of 8" and r.evidence["tip_rise"] > 0.12
    standing = trimesh.creation.box(extents=(0.19, 0.065, 0.28))
    r = infer_tags(standing.vertices, standing.faces)
    assert r.evidence["can_fall_by"] == "push" and r.evidence["fallen_spread"] >= 0.08


def test_top_surface() -> None:
    # a box off the origin: its whole top, measured where it is
    box = trimesh.creation.box(extents=(0.2, 0.1, 0.05), transform=_at(0.3, -0.2, 1.0))
    top = top_surface(box.vertices, box.faces)
    assert top.height_m == pytest.approx(0.05)
    assert top.area_m2 == pytest.approx(0.02, rel=0.01) and top.coverage > 0.99
    assert top.inradius_m == pytest.approx(0.05, rel=0.01)  # half the short side: what fits on it
    assert top.center_xy == pytest.approx((0.3, -0.2), abs=1e-3) and top.share == pytest.approx(1.0, rel=0.01)
    # an open mug: a large top hull, but only a rim ring of surface in it
    mug = top_surface(_open_mug().vertices, _open_mug().faces)
    assert mug.area_m2 == pytest.approx(np.pi * 0.04**2, rel=0.05) and mug.coverage < 0.5
    # a cone: a point on top
    cone = trimesh.creation.cone(radius=0.05, height=0.15, sections=32)
    assert top_surface(cone.vertices, cone.faces).area_m2 < 1e-4


def test_helpers() -> None:
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
    assert min_caliper_width(square) == pytest.approx(1.0, abs=1e-6)
    rot = square @ np.array([[np.cos(0.5), -np.sin(0.5)], [np.sin(0.5), np.cos(0.5)]])
    assert min_caliper_width(rot) == pytest.approx(1.0, abs=0.01)
    assert merge_tags(["can-fall"], ["invariant"]) == ["round", "invariant"]
    assert merge_tags(["round"], None, ["can-fall"]) == ["can-fall", "round"]
    assert merge_tags(["support"], ["round", "can-fall", "shiny"]) == ["can-fall", "round", "support"]
    assert merge_tags(["support", "invariant"]) == ["round", "invariant"]  # a ball has no flat top
