"""`catalog import` on small fixtures in each layout, built here (trimesh meshes, Pillow
textures, GSO model.config / metadata.pbtxt, a Kubric manifest): names, tags, colors, scale,
collision meshes, re-import keeping edits, broken models, and planning with the result."""
from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import trimesh
import yaml
from PIL import Image

from simedit.render.catalog.model import load_catalog
from simedit.render.catalog.importers import detect_layout, run_import

GSO_CONFIG = '<?xml version="1.0"?>\n<model><name>{name}</name><version>1.0</version>' \
             '<sdf version="1.6">model.sdf</sdf><description>{desc}</description></model>\n'


def cylinder(r: float = 0.04, h: float = 0.1) -> trimesh.Trimesh:
    return trimesh.creation.cylinder(radius=r, height=h, sections=32)


def mug(scale: float = 1.0) -> trimesh.Trimesh:
    """Open at the top like a real mug (a solid cylinder would have a lid to stand things on)."""
    wall = trimesh.creation.annulus(r_min=0.036, r_max=0.04, height=0.1, sections=32)
    floor = trimesh.creation.cylinder(radius=0.04, height=0.006, sections=32,
                                      transform=trimesh.transformations.translation_matrix((0, 0, -0.047)))
    handle = trimesh.creation.box(extents=(0.03, 0.012, 0.06), transform=trimesh.transformations.translation_matrix((0.05, 0, 0)))
    m = trimesh.util.concatenate([wall, floor, handle])
    m.apply_scale(scale)
    return m


def textured_obj(mesh: trimesh.Trimesh, rgb: tuple[int, int, int]) -> tuple[bytes, str, Image.Image]:
    """(obj bytes, mtl text, texture): the mtl names texture.png next to the OBJ, as GSO's does."""
    img = Image.new("RGB", (8, 8), rgb)
    m = mesh.copy()
    m.visual = trimesh.visual.TextureVisuals(uv=np.random.default_rng(0).random((len(m.vertices), 2)), image=img)
    obj = trimesh.exchange.obj.export_obj(m, include_texture=False, mtl_name="model.mtl")
    obj = "mtllib model.mtl\nusemtl material_0\n" + obj
    return obj.encode(), "newmtl material_0\nKd 1 1 1\nmap_Kd texture.png\n", img


def gso_model(root: Path, name: str, mesh: trimesh.Trimesh, rgb, desc: str, category: str = "Consumer Goods") -> None:
    d = root / name
    (d / "meshes").mkdir(parents=True)
    (d / "materials" / "textures").mkdir(parents=True)
    obj, mtl, img = textured_obj(mesh, rgb)
    (d / "meshes" / "model.obj").write_bytes(obj)
    (d / "meshes" / "model.mtl").write_text(mtl)
    img.save(d / "materials" / "textures" / "texture.png")
    (d / "model.config").write_text(GSO_CONFIG.format(name=name, desc=desc))
    (d / "metadata.pbtxt").write_text(f'name: "{name}"\ncategories {{\n  first: "{category}"\n}}\n')
    (d / "model.sdf").write_text("<sdf/>")


def gso_zip(root: Path, name: str, mesh: trimesh.Trimesh, rgb, desc: str) -> None:
    obj, mtl, img = textured_obj(mesh, rgb)
    png = io.BytesIO()
    img.save(png, format="PNG")
    with zipfile.ZipFile(root / f"{name}.zip", "w") as zf:
        zf.writestr("meshes/model.obj", obj)
        zf.writestr("meshes/model.mtl", mtl)
        zf.writestr("materials/textures/texture.png", png.getvalue())
        zf.writestr("model.config", GSO_CONFIG.format(name=name, desc=desc))


@pytest.fixture()
def gso_root(tmp_path: Path) -> Path:
    root = tmp_path / "GSO"
    root.mkdir()
    gso_model(root, "Threshold_Porcelain_Coffee_Mug_RED_X7", mug(), (200, 20, 20), "Threshold Porcelain Coffee Mug, RED X7")
    gso_model(root, "ACME_Soccer_Ball_12in", trimesh.creation.icosphere(subdivisions=3, radius=0.11), (240, 240, 240),
              "ACME Soccer Ball 12in")
    gso_zip(root, "Tall_BLUE_Vase_XL", trimesh.creation.cone(radius=0.06, height=0.25, sections=32), (20, 30, 190),
            "Tall_BLUE_Vase_XL")
    (root / "Broken_Model" / "meshes").mkdir(parents=True)  # no model.obj: reported, skipped
    (root / "Broken_Model" / "model.config").write_text("<model/>")
    (root / "Corrupt.zip").write_bytes(b"not a zip")
    return root


def entries(path: Path) -> dict[str, dict]:
    return {e["id"]: e for e in yaml.safe_load(path.read_text())["assets"]}


def test_gso_folders_and_zips(gso_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "cat" / "gso.yaml"
    assert detect_layout(gso_root) == "gso"
    result = run_import(gso_root, out, collision=True)
    assert sorted(result.imported) == ["acme_soccer_ball_12in", "tall_blue_vase_xl", "threshold_porcelain_coffee_mug_red_x7"]
    assert sorted(Path(b.origin).name for b in result.skipped) == ["Broken_Model", "Corrupt.zip"]
    e = entries(out)
    mug_e = e["threshold_porcelain_coffee_mug_red_x7"]
    assert (mug_e["name"], mug_e["category"], mug_e["color"], mug_e["colorable"]) == ("coffee mug", "cup", "red", False)
    assert mug_e["tags"] == ["can-fall"] and mug_e["mesh_scale"] == 1.0
    assert mug_e["texture"].endswith("materials/textures/texture.png")
    assert "height_over_width" in mug_e["evidence"] and mug_e["proposed"]["name"] == "coffee mug"
    assert mug_e["evidence"]["top_coverage"] < 0.5 and mug_e["evidence"]["top_area_m2"] > 0.004  # a rim, no lid
    assert (e["acme_soccer_ball_12in"]["name"], e["acme_soccer_ball_12in"]["tags"]) == ("soccer ball", ["round", "invariant"])
    vase = e["tall_blue_vase_xl"]
    assert (vase["name"], vase["color"], vase["tags"]) == ("vase", "blue", ["can-fall", "round"])
    # the loader the pipeline uses accepts it; collision meshes are cached VHACD output
    catalog = load_catalog(out)
    assert catalog.display_name("threshold_porcelain_coffee_mug_red_x7", None) == "red coffee mug"
    for a in catalog.assets.values():
        assert a.collision_mesh.name.startswith("collision_") and a.collision_mesh.parent.parent.name == "gso_assets"
        assert 0.05 < catalog.geometry(a.id).extents.max() < 0.3
    stamp = {a.id: a.collision_mesh.stat().st_mtime_ns for a in catalog.assets.values()}
    run_import(gso_root, out, collision=True)  # cached: not rebuilt
    assert {a.id: a.collision_mesh.stat().st_mtime_ns for a in load_catalog(out).assets.values()} == stamp


def test_reimport_keeps_user_edits(gso_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "gso.yaml"
    run_import(gso_root, out, collision=False)
    raw = yaml.safe_load(out.read_text())
    for e in raw["assets"]:
        if e["id"] == "threshold_porcelain_coffee_mug_red_x7":
            e["name"] = "espresso cup"
            e["tags"] = ["can-fall", "round"]
    raw["assets"].append({"id": "my_box", "name": "box", "category": "box", "tags": [],
                          "render_mesh": raw["assets"][0]["render_mesh"]})
    out.write_text(yaml.safe_dump(raw, sort_keys=False))
    resumed = run_import(gso_root, out, collision=False)  # a re-run goes on: nothing to propose again
    assert (resumed.imported, len(resumed.resumed), resumed.kept_fields) == ([], 3, 0)
    assert entries(out)["threshold_porcelain_coffee_mug_red_x7"]["name"] == "espresso cup"
    result = run_import(gso_root, out, collision=False, refresh=True)  # proposes again, keeps edits
    assert result.kept_fields == 2
    e = entries(out)
    mug_e = e["threshold_porcelain_coffee_mug_red_x7"]
    assert mug_e["name"] == "espresso cup" and mug_e["tags"] == ["can-fall", "round"]
    assert mug_e["proposed"]["name"] == "coffee mug" and mug_e["color"] == "red"  # not edited: refreshed
    assert "my_box" in e  # a hand-written entry survives
    load_catalog(out)


def test_kubric_manifest(tmp_path: Path) -> None:
    root = tmp_path / "kubric"
    root.mkdir()
    # a folder asset in centimeters, and a tar.gz asset with a shipped collision mesh
    can_dir = root / "soup_can_01"
    can_dir.mkdir()
    cylinder(3.5, 11.0).export(can_dir / "visual_geometry.obj")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, mesh in (("visual_geometry.obj", trimesh.creation.box(extents=(0.2, 0.07, 0.28))),
                           ("collision_geometry.obj", trimesh.creation.box(extents=(0.2, 0.07, 0.28)))):
            data = trimesh.exchange.obj.export_obj(mesh).encode()
            info = tarfile.TarInfo(f"cereal_box_02/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    (root / "cereal_box_02.tar.gz").write_bytes(buf.getvalue())
    manifest = {"name": "mini", "assets": {
        "soup_can_01": {"asset_type": "FileBasedObject",
                        "kwargs": {"render_filename": "{asset_dir}/visual_geometry.obj", "mass": 0.4,
                                   "simulation_filename": "{asset_dir}/collision_geometry.urdf"},
                        "metadata": {"category": "can", "description": "Campbell's Tomato Soup Can 10.75oz"}},
        "cereal_box_02": {"asset_type": "FileBasedObject",
                          "kwargs": {"render_filename": "{asset_dir}/visual_geometry.obj",
                                     "simulation_filename": "{asset_dir}/collision_geometry.obj"},
                          "metadata": {"category": "box", "description": "Kellogg's Cereal Box", "tags": ["can-fall"]}},
        "missing_thing": {"asset_type": "FileBasedObject", "kwargs": {}, "metadata": {}},
    }}
    (root / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "kubric.yaml"
    assert detect_layout(root) == "kubric"
    result = run_import(root / "manifest.json", out, collision=False)
    assert sorted(result.imported) == ["cereal_box_02", "soup_can_01"] and len(result.skipped) == 1
    e = entries(out)
    can = e["soup_can_01"]
    # a closed can has a lid to stand things on, like the built-in soup can
    assert (can["name"], can["category"], can["tags"], can["colorable"]) == ("soup can", "can", ["can-fall", "round", "support"], True)
    assert can["mesh_scale"] == 0.01 and "centimeters" in can["size_source"]
    box = e["cereal_box_02"]
    assert (box["name"], box["tags"]) == ("cereal box", ["can-fall", "support"]) and box["collision_mesh"].endswith("collision_geometry.obj")
    assert box["evidence"]["top_inradius_m"] == pytest.approx(0.035, rel=0.02)  # half its 7 cm depth
    load_catalog(out)


def test_mesh_folder_scale_and_sidecar(tmp_path: Path) -> None:
    root = tmp_path / "meshes"
    root.mkdir()
    cylinder(40, 100).export(root / "water_glass.obj")  # millimeters
    trimesh.creation.box(extents=(3, 2, 1)).export(root / "thing.ply")  # unit-less: category default
    trimesh.creation.icosphere(subdivisions=2, radius=1.0).export(root / "ball.glb")
    (root / "ball.yaml").write_text("name: tennis ball\nsize_m: 0.067\n")
    (root / "bad.obj").write_text("this is not a mesh\n")
    cylinder().export(root / "odd.obj")
    (root / "odd.yaml").write_text("name: [unclosed\n")  # a broken sidecar: that model is skipped
    out = tmp_path / "mine.yaml"
    result = run_import(root, out, collision=False)
    assert sorted(Path(b.origin).name for b in result.skipped) == ["bad.obj", "odd.obj"]
    assert "malformed YAML at line" in {Path(b.origin).name: b.reason for b in result.skipped}["odd.obj"]
    e = entries(out)
    assert e["water_glass"]["name"] == "water glass" and e["water_glass"]["mesh_scale"] == 0.001
    assert e["thing"]["category"] == "object" and "category default" in e["thing"]["size_source"]
    assert e["ball"]["name"] == "tennis ball" and e["ball"]["mesh_rotation_deg"] == [90.0, 0.0, 0.0]
    assert e["ball"]["tags"] == ["round", "invariant"]
    catalog = load_catalog(out)
    assert catalog.geometry("ball").extents.max() == pytest.approx(0.067, rel=0.01)
    assert catalog.geometry("water_glass").extents[2] == pytest.approx(0.1, rel=0.01)
    assert catalog.geometry("thing").extents.max() == pytest.approx(0.15, rel=0.01)


def test_singular_and_names() -> None:
    from simedit.render.catalog.importers.lexicon import singular
    from simedit.render.catalog.importers.naming import propose_name

    for plural, one in (("mugs", "mug"), ("boxes", "box"), ("glasses", "glass"), ("dishes", "dish"),
                        ("teddies", "teddy"), ("knives", "knife")):
        assert singular(plural) == one
    for word in ("glass", "headphones", "scissors", "bus", "widgets", ""):  # known nouns and unknown words stay
        assert singular(word) == word
    assert tuple(propose_name(["Set of 4 Ceramic Coffee Mugs"], None, {"red"}))[:2] == ("coffee mug", "cup")
    assert tuple(propose_name(["LUNCH_BOXES"], None, set()))[:2] == ("lunch box", "box")


def test_header_lists_every_tag_rule() -> None:
    from simedit.render.catalog.importers.catalog_yaml import HEADER
    from simedit.render.catalog.model import TAGS

    assert all(f"#   {tag}: " in HEADER for tag in TAGS) and "render/catalog/tags.py" in HEADER


def test_imported_catalog_plans_rotations(tmp_path: Path) -> None:
    from simedit.render.plan.planner import Planner
    from simedit.render.spec import load_spec

    root = tmp_path / "objs"
    root.mkdir()
    mug().export(root / "mug.obj")  # turn_around, turn_90, fall_over, flip
    trimesh.creation.cone(radius=0.05, height=0.15, sections=32).export(root / "cone.obj")  # fall_over, flip
    trimesh.creation.box(extents=(0.2, 0.12, 0.05)).export(root / "box.obj")  # turn_90
    trimesh.creation.icosphere(subdivisions=2, radius=0.05).export(root / "ball.obj")
    out = tmp_path / "objs.yaml"
    run_import(root, out, collision=False)
    planner = Planner(load_spec("scenes/rotation.yaml"), load_catalog(out))
    subtypes = set()
    for i in range(12):
        outcome = planner.plan(i)
        if outcome.sample is not None:
            subtypes.add(outcome.sample.edit.subtype)
            assert outcome.sample.instruction
    assert len(subtypes) >= 2, subtypes
