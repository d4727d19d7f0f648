"""The built-in catalog and its loader: real files, no rendering (about 2 s)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simedit.render.catalog.model import BUILTIN_CATALOG, TAGS, Catalog, load_catalog
from simedit.render.common.errors import SimEditError


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def extents(catalog: Catalog) -> dict[str, np.ndarray]:
    return {asset_id: catalog.geometry(asset_id).extents for asset_id in catalog.assets}


def test_builtin_loads_with_enough_distinct_types(catalog: Catalog) -> None:
    assert catalog.path == BUILTIN_CATALOG
    assert len(catalog.assets) >= 25
    assert len({a.name for a in catalog.assets.values()}) == len(catalog.assets)
    assert {"red", "blue", "green", "yellow", "white", "black"} <= set(catalog.palette)
    for rgb in catalog.palette.values():
        assert len(rgb) == 3 and all(0.0 <= c <= 1.0 for c in rgb)


def test_files_exist_and_geometry_computes(catalog: Catalog, extents: dict[str, np.ndarray]) -> None:
    for asset in catalog.assets.values():
        for path in (asset.render_mesh, asset.collision_mesh, asset.texture):
            assert path is None or (path.is_absolute() and path.is_file()), (asset.id, path)
        assert asset.tags <= set(TAGS)
        assert asset.colorable == (asset.texture is None), asset.id
        assert asset.color is None or asset.color in catalog.palette
        geo = catalog.geometry(asset.id)
        assert geo.hull.shape[1] == 3 and 4 <= len(geo.hull) <= 1000, asset.id  # physics-friendly hulls
        # centered: the hull lies inside the render bounding box (small slack for collision meshes)
        assert np.all(np.abs(geo.hull) <= extents[asset.id] / 2 + 0.01), asset.id


def test_sizes_are_real_world(extents: dict[str, np.ndarray]) -> None:
    for asset_id, ext in extents.items():
        assert np.all(ext >= 0.01) and np.all(ext <= 0.60), (asset_id, ext)
    cm = {k: v * 100 for k, v in extents.items()}
    assert 9 <= cm["tea_mug"][2] <= 11  # pybullet mug: 10 cm tall along Z
    assert 20 <= cm["soccer_ball"].max() <= 23
    assert 7 <= cm["rubber_duck"].max() <= 9
    assert 22 <= cm["teddy_bear"][2] <= 28  # upright teddy
    assert cm["toy_brick"][2] < cm["toy_brick"][0]  # studs up, not on its side


def test_named_tags(catalog: Catalog) -> None:
    def tags(asset_id: str) -> set[str]:
        return set(catalog.get(asset_id).tags)

    for ball in ("tennis_ball", "basketball", "soccer_ball"):
        assert tags(ball) == {"round", "invariant"}
    for bowl in ("bowl", "ramekin", "plate"):
        assert tags(bowl) == {"round"}
    for bottle in ("bottle", "wine_bottle", "soda_can"):
        assert tags(bottle) == {"can-fall", "round"}
    assert tags("cardboard_box") == {"support"}
    assert tags("coffee_mug") == {"can-fall"}  # the handle breaks the symmetry; open: no support
    assert tags("tea_mug") == {"can-fall"}
    for flat in ("book", "cardboard_box", "cereal_box", "toy_cube"):
        assert "support" in tags(flat), flat
    for asset in catalog.assets.values():
        assert "invariant" not in asset.tags or "round" in asset.tags
        assert not {"invariant", "support"} <= asset.tags


def test_tags_match_geometry(catalog: Catalog, extents: dict[str, np.ndarray]) -> None:
    for asset in catalog.assets.values():
        x, y, z = extents[asset.id]
        # can-fall is physics (tags.py): a push tips it, or tipping it onto a side pose is cheap;
        # flat things never fall over and things much taller than wide always do
        if "can-fall" in asset.tags:
            assert z > 0.5 * min(x, y), asset.id
        else:
            assert z <= 1.05 * max(x, y), asset.id
        if "round" in asset.tags:
            assert abs(x - y) <= 0.03 * max(x, y), asset.id  # circular footprint


def test_swap_categories_and_select(catalog: Catalog) -> None:
    for category in ("cup", "bowl", "bottle", "can", "ball", "box", "toy", "block", "pot", "food"):
        assert len(catalog.by_category(category)) >= 2, category
    order = list(catalog.assets)
    balls = catalog.select(tags=["invariant"])
    assert [a.id for a in balls] == [i for i in order if i in {"tennis_ball", "basketball", "soccer_ball"}]
    picked = catalog.select(categories=["cup", "ball"], exclude_tags=["invariant"], exclude_ids=["tumbler"])
    assert {a.id for a in picked} == {"coffee_mug", "cup", "tea_mug"}
    assert [a.id for a in catalog.select()] == order
    assert not catalog.select(tags=["round"], exclude_categories=[c for c in catalog.categories])
    with pytest.raises(SimEditError, match="unknown object id"):
        catalog.select(ids=["no_such_thing"])


def test_display_name_and_hash(catalog: Catalog) -> None:
    assert catalog.display_name("coffee_mug", "red") == "red coffee mug"
    assert catalog.display_name("rubber_duck", "red") == "yellow rubber duck"
    assert catalog.display_name("soccer_ball", None) == "soccer ball"
    digest = catalog.hash()
    assert len(digest) == 64 and digest == load_catalog().hash()


# ---------------------------------------------------------------- user catalogs and errors

MESH = Path(__file__).resolve().parents[2] / "assets_catalog" / "meshes" / "cup.obj"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "cat.yaml"
    path.write_text("colors:\n  red: [0.8, 0.0, 0.0]\nassets:\n" + body)
    return path


def entry(**overrides: str) -> str:
    fields = {"id": "cup", "name": "cup", "category": "cup", "tags": "[round]", "render_mesh": str(MESH)}
    fields.update(overrides)
    return "  - " + "\n    ".join(f"{k}: {v}" for k, v in fields.items()) + "\n"


def test_user_catalog_paths(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "thing.obj").write_bytes(MESH.read_bytes())
    cat = load_catalog(write(tmp_path, entry(render_mesh="m/thing.obj")
                             + entry(id="mug", name="mug", render_mesh="pybullet_data:objects/mug.obj", tags="[]")))
    assert cat.get("cup").render_mesh == tmp_path / "m" / "thing.obj"
    assert cat.get("cup").collision_mesh == cat.get("cup").render_mesh
    assert cat.get("mug").render_mesh.name == "mug.obj" and cat.get("mug").render_mesh.is_file()
    before = cat.hash()
    (tmp_path / "m" / "thing.obj").write_bytes(MESH.read_bytes() + b"\n")
    assert load_catalog(cat.path).hash() != before  # mesh bytes count


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (entry() + "  - {id: [oops\n", None, "malformed YAML at line"),
        (entry(flavour="sweet"), "assets[0].flavour", "unknown key"),
        (entry(tags="[round, shiny]"), "assets[0].tags", "unknown tag 'shiny'"),
        (entry() + entry(name="other cup"), "assets[1].id", "duplicate id 'cup'"),
        (entry(render_mesh="nowhere/missing.obj"), "assets[0].render_mesh", "missing.obj"),
        (entry(colorable="false", color="mauve"), "assets[0].color", "unknown color word 'mauve'"),
        (entry(mesh_scale="big"), "assets[0].mesh_scale", "number"),
        (entry(tags="[invariant]"), "assets[0].tags", "must also be tagged 'round'"),
        (entry(tags="[round, invariant, support]"), "assets[0].tags", "'invariant' asset cannot be tagged 'support'"),
        (entry(name="red cup"), "assets[0].name", "color word 'red'"),
    ],
)
def test_errors_name_file_and_field(tmp_path: Path, body: str, field: str | None, words: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(SimEditError) as info:
        load_catalog(path)
    err = info.value
    assert err.file == str(path) and str(path) in str(err)
    assert err.field == field
    if field:
        assert field in str(err)
    assert words in str(err)
    assert "\n" not in str(err)
