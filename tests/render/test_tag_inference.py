"""Tag inference from geometry (render/tag_inference.py) on the built-in catalog's objects, on
real pybullet_data meshes, and on simple shapes. About 15 s: every built-in mesh is sampled."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pybullet_data
import pytest
import trimesh

from simedit.render.catalog.model import Asset, load_catalog
from simedit.render.catalog.tags import (
    infer_asset_tags,
    infer_tags,
    merge_tags,
    min_caliper_width,
)

DATA = Path(pybullet_data.getDataPath())


@pytest.fixture(scope="module")
def builtin_results():
    catalog = load_catalog()
    return catalog, {a.id: infer_asset_tags(a) for a in catalog.assets.values()}


def test_inference_agrees_with_every_builtin_tag(builtin_results) -> None:
    catalog, results = builtin_results
    wrong = {i: (sorted(catalog.get(i).tags), r.tags) for i, r in results.items() if set(r.tags) != catalog.get(i).tags}
    assert not wrong, wrong


def test_pybullet_data_objects(builtin_results) -> None:
    _, results = builtin_results
    # real meshes shipped in pybullet_data, as the built-in catalog scales and stands them
    assert results["soccer_ball"].tags == ["round", "invariant"]  # soccerball.obj: a sphere of patches
    assert results["tea_mug"].tags == ["can-fall"]  # objects/mug.obj: 10 cm tall, 8 cm body; handle -> not round
    assert results["rubber_duck"].tags == ["can-fall"]  # duck.obj: taller (7.7) than narrow (5.8)
    assert results["toy_ring"].tags == ["round"]  # torus: round, flat
    assert results["wooden_block"].tags == []  # jenga.obj as a cube: 4-fold, not round
    assert results["toy_brick"].tags == []  # lego: 4-fold symmetric, lower than wide
    assert results["domino"].tags == ["can-fall"]  # standing on its short end
    # evidence says why
    ev = results["soccer_ball"].evidence
    assert ev["z_turn_spread"] < 0.01 and ev["rotation_spread"] < 0.01
    assert results["tea_mug"].evidence["z_turn_spread"] > 0.1  # the handle
    assert results["tea_mug"].evidence["height_over_width"] > 1.05


@pytest.mark.parametrize("rel,scale,expected", [
    ("sphere_smooth.obj", 0.1, ["round", "invariant"]),
    ("cube.obj", 0.05, []),
    ("teddy2_VHACD_CHs.obj", 0.28, []),  # Y-up file as is: a teddy lying on its back is neither tall nor round
])
def test_raw_pybullet_meshes(rel: str, scale: float, expected: list[str]) -> None:
    path = DATA / rel
    asset = Asset(id="x", name="x", category="x", tags=frozenset(), render_mesh=path, collision_mesh=path, mesh_scale=scale)
    assert infer_asset_tags(asset).tags == expected


def _tags(mesh: trimesh.Trimesh) -> list[str]:
    return infer_tags(np.asarray(mesh.vertices), np.asarray(mesh.faces)).tags


def test_simple_shapes() -> None:
    assert _tags(trimesh.creation.cylinder(radius=0.03, height=0.12, sections=32)) == ["can-fall", "round"]
    assert _tags(trimesh.creation.cylinder(radius=0.08, height=0.03, sections=32)) == ["round"]  # a plate
    assert _tags(trimesh.creation.box(extents=(0.1, 0.1, 0.1))) == []  # 4-fold only; falling shows nothing
    assert _tags(trimesh.creation.box(extents=(0.06, 0.03, 0.2))) == ["can-fall"]
    assert _tags(trimesh.creation.icosphere(subdivisions=3, radius=0.05)) == ["round", "invariant"]
    assert _tags(trimesh.creation.cone(radius=0.05, height=0.15, sections=32)) == ["can-fall", "round"]
    mug = trimesh.util.concatenate([trimesh.creation.cylinder(radius=0.04, height=0.1, sections=32),
                                    trimesh.creation.box(extents=(0.03, 0.01, 0.06), transform=trimesh.transformations.translation_matrix((0.05, 0, 0)))])
    assert _tags(mug) == ["can-fall"]


def test_helpers() -> None:
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
    assert min_caliper_width(square) == pytest.approx(1.0, abs=1e-6)
    rot = square @ np.array([[np.cos(0.5), -np.sin(0.5)], [np.sin(0.5), np.cos(0.5)]])
    assert min_caliper_width(rot) == pytest.approx(1.0, abs=0.01)
    assert merge_tags(["can-fall"], ["invariant"]) == ["round", "invariant"]
    assert merge_tags(["round"], None, ["can-fall"]) == ["can-fall", "round"]
