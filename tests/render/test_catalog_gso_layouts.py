"""`catalog import` on Google Scanned Objects models in their real layouts, written here the way
the real files are (checked against real ones): a GSO folder (`meshes/model.obj` from the
Katamari encoder with separate v/vt/vn indices, `model.mtl` naming a texture that sits in
`materials/textures/`, `model.config` with a licence comment and a multi-line description,
`metadata.pbtxt` in protobuf text format with authors, annotations, compatibilities and a
literal backslash-n, thumbnails), a flat Fuel zip, a `gz fuel download` cache
(`<owner>/models/<name>/<version>/`), and Kubric's converter output (`<id>.tar.gz` with a
COM-centred `visual_geometry.obj`, VHACD `collision_geometry.obj`, `object.urdf`, `data.json`,
and a `GSO.json` manifest listing 1,030 assets of which only some have a file).

Meshes are small (a few hundred faces) and textures 64 px with baked shading; the importer,
trimesh, PyBullet and PIL are the real ones."""
from __future__ import annotations

import io
import json
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import trimesh
import yaml
from PIL import Image

from simedit.render.catalog.importers import run_import
from simedit.render.catalog.importers.naming import snake_id
from simedit.render.catalog.model import load_catalog

LICENCE = ("<!--\nCopyright 2020 Google LLC.\n\nThis work is licensed under the Creative Commons Attribution 4.0\n"
           "International License. To view a copy of this license, visit\n"
           "http://creativecommons.org/licenses/by/4.0/ or send a letter\n"
           "to Creative Commons, PO Box 1866, Mountain View, CA 94042, USA.\n-->\n")


# ---------------------------------------------------------------- shapes (meters, Z up, bottom at z=0)

def _at(x: float, y: float, z: float) -> np.ndarray:
    return trimesh.transformations.translation_matrix((x, y, z))


def _standing(m: trimesh.Trimesh) -> trimesh.Trimesh:
    m.apply_translation((-m.bounds[:, 0].mean(), -m.bounds[:, 1].mean(), -m.bounds[0, 2]))
    return m


def mug(height: float, body_r: float, foot_r: float) -> trimesh.Trimesh:
    """An open mug: a wall flaring from a narrower foot, a floor, a handle (a real mug's
    proportions: height / narrowest width 0.76 to 1.03)."""
    wall = trimesh.creation.cylinder(radius=body_r, height=height, sections=24)
    profile = np.array([[foot_r, 0], [body_r, height * 0.25], [body_r, height], [body_r - 0.004, height],
                        [body_r - 0.004, 0.008], [0, 0.008], [0, 0]])
    wall = trimesh.creation.revolve(profile, sections=24)
    handle = trimesh.creation.box(extents=(0.028, 0.012, height * 0.55), transform=_at(body_r + 0.012, 0, height * 0.5))
    return _standing(trimesh.util.concatenate([wall, handle]))


def dog_toy() -> trimesh.Trimesh:
    """A KONG Puppy: three stacked rubber lobes, 7 cm tall."""
    lobes = []
    for r, z in ((0.028, 0.028), (0.022, 0.052), (0.014, 0.07)):
        lobe = trimesh.creation.icosphere(2, radius=r)
        lobe.apply_translation((0, 0, z))
        lobes.append(lobe)
    base = trimesh.creation.cylinder(radius=0.016, height=0.004, sections=16, transform=_at(0, 0, 0.002))
    return _standing(trimesh.util.concatenate([base, *lobes]))


def box(x: float, y: float, z: float) -> trimesh.Trimesh:
    return _standing(trimesh.creation.box(extents=(x, y, z)))


def bottle(r: float, h: float) -> trimesh.Trimesh:
    profile = np.array([[0, 0], [r, 0], [r, 0.7 * h], [0.45 * r, 0.85 * h], [0.45 * r, h], [0, h]])
    return _standing(trimesh.creation.revolve(profile, sections=20))


def boot() -> trimesh.Trimesh:
    """A football boot: a 29 cm sole, an upper rising to the ankle."""
    sole = trimesh.creation.box(extents=(0.29, 0.1, 0.03), transform=_at(0, 0, 0.015))
    upper = trimesh.creation.box(extents=(0.2, 0.09, 0.07), transform=_at(-0.04, 0, 0.065))
    ankle = trimesh.creation.cylinder(radius=0.045, height=0.05, sections=16, transform=_at(-0.08, 0, 0.12))
    return _standing(trimesh.util.concatenate([sole, upper, ankle]))


# ---------------------------------------------------------------- textures with baked shading

def baked(rgb: tuple[int, int, int], size: int = 64, seed: int = 0, spots: list[tuple[int, int, int]] | None = None,
          spot_share: float = 0.0) -> Image.Image:
    """A scan-like texture: the color under baked light (a gradient down to 45%), ambient that
    washes it out, sensor noise, and optionally patches of other colors."""
    rng = np.random.default_rng(seed)
    lin = (np.asarray(rgb, float) / 255.0) ** 2.2
    light = np.linspace(1.0, 0.45, size)[:, None] * np.ones((1, size))
    img = lin[None, None] * light[..., None]
    img = 0.85 * img + 0.15 * img.mean(axis=2, keepdims=True)  # baked ambient pulls toward gray
    if spots:
        mask = rng.random((size, size)) < spot_share
        which = rng.integers(0, len(spots), (size, size))
        for k, c in enumerate(spots):
            sel = mask & (which == k)
            img[sel] = ((np.asarray(c, float) / 255.0) ** 2.2)[None] * light[sel][:, None]
    img *= rng.normal(1.0, 0.04, (size, size, 1))
    return Image.fromarray((np.clip(img, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8), "RGB")


def katamari_obj(mesh: trimesh.Trimesh, seed: int = 0) -> str:
    """OBJ text as GSO ships it: a header, `mtllib model.mtl`, and faces whose v, vt and vn
    indices differ (texture coordinates and normals are listed in their own orders)."""
    rng = np.random.default_rng(seed)
    n = len(mesh.vertices)
    uv = rng.random((n, 2))
    vt_order = rng.permutation(n)  # vt k holds the uv of vertex vt_order[k]
    vt_of = np.argsort(vt_order)
    normals = mesh.vertex_normals
    vn_order = rng.permutation(n)
    vn_of = np.argsort(vn_order)
    lines = ["# Generated by Katamari OBJ encoder", "mtllib model.mtl"]
    lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in mesh.vertices]
    lines += [f"vt {u:.6f} {v:.6f}" for u, v in uv[vt_order]]
    lines += [f"vn {a:.6f} {b:.6f} {c:.6f}" for a, b, c in normals[vn_order]]
    lines.append("usemtl material_0")
    for f in mesh.faces:
        lines.append("f " + " ".join(f"{v + 1}/{vt_of[v] + 1}/{vn_of[v] + 1}" for v in f))
    return "\n".join(lines) + "\n"


MTL = ("# Generated by Katamari OBJ encoder\nnewmtl material_0\nKa 0.000000 0.000000 0.000000\n"
       "Kd 1.000000 1.000000 1.000000\nKs 0.000000 0.000000 0.000000\nNs 0\nillum 1\nmap_Kd texture.png\n")


@dataclass
class Model:
    name: str  # the GSO model name (folder, Fuel name, Kubric id)
    title: str  # description line 1
    blurb: str  # description body
    category: str | None
    brand: str | None
    mesh: trimesh.Trimesh
    texture: Image.Image


def model_config(m: Model) -> str:
    return (LICENCE + f"<model>\n  <name>{m.name}</name>\n  <author>\n    <name>Google</name>\n"
            "    <email>scanned-objects@google.com</email>\n  </author>\n  <version>1.0</version>\n"
            f'  <sdf version="1.6">model.sdf</sdf>\n  <description>{m.title}\n{m.blurb}</description>\n</model>\n')


def metadata_pbtxt(m: Model) -> str:
    # GSO writes the description with a literal backslash-n between title and text
    desc = f"{m.title}\\n{m.blurb}".replace('"', '\\"')
    out = (f'model {{\n  file: "model.sdf"\n}}\nname: "{m.name}"\ndescription: "{desc}"\nversion: 1\n'
           'authors {\n  name: "Google"\n  email: "scanned-objects@google.com"\n}\n'
           'legal {\n  copyright: "Copyright 2020 Google LLC."\n  license: "Creative Commons Attribution 4.0 International"\n}\n')
    if m.brand:
        out += f'annotations {{\n  key: "brand"\n  value: "{m.brand}"\n}}\n'
    out += ('annotations {\n  key: "gtin"\n  value: "887373582285"\n}\n'
            'compatibilities {\n  name: "Gazebo"\n  version {\n    major: 11\n  }\n}\n')
    if m.category:
        out += f'categories {{\n  first: "{m.category}"\n}}\n'
    return out


def model_files(m: Model) -> dict[str, bytes]:
    png = io.BytesIO()
    m.texture.save(png, format="PNG")
    files = {
        "meshes/model.obj": katamari_obj(m.mesh).encode(),
        "meshes/model.mtl": MTL.encode(),
        "materials/textures/texture.png": png.getvalue(),
        "model.config": model_config(m).encode(),
        "model.sdf": b'<?xml version="1.0"?>\n<sdf version="1.6"><model name="x"><link name="link"/></model></sdf>\n',
        "metadata.pbtxt": metadata_pbtxt(m).encode(),
    }
    for k in range(5):
        jpg = io.BytesIO()
        m.texture.resize((16, 16)).save(jpg, format="JPEG")
        files[f"thumbnails/{k}.jpg"] = jpg.getvalue()
    return files


def write_folder(root: Path, m: Model) -> Path:
    for rel, data in model_files(m).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def write_zip(path: Path, m: Model) -> Path:
    with zipfile.ZipFile(path, "w") as zf:  # Fuel zips are flat: they unzip into <name>/
        for rel, data in model_files(m).items():
            zf.writestr(rel, data)
    return path


TEAL, LIME, PINK, WHITE, YELLOW, BLACK = (0, 128, 128), (150, 210, 40), (236, 110, 160), (235, 235, 232), (240, 200, 30), (25, 25, 25)
MODELS = {
    "mug": Model("Cole_Hardware_Mug_Classic_Blue_Teal", "Cole Hardware Mug, Classic, Teal",
                 "A classic stoneware mug for coffee or tea. Dishwasher safe.", None, None,
                 mug(0.095, 0.046, 0.036), baked(TEAL, seed=1)),
    "wide_mug": Model("Threshold_Porcelain_Coffee_Mug_All_Over_Bead_White", "Threshold Porcelain Coffee Mug, All Over Bead, White",
                      "Porcelain mug with an all-over bead pattern.", None, "Threshold",
                      mug(0.076, 0.05, 0.038), baked(WHITE, seed=2)),
    "dog_toy": Model("Kong_Puppy_Teething_Rubber_Small_Pink", "Kong Puppy Teething Rubber, Small, Pink",
                     "The KONG Puppy is made of a softer rubber for a puppy's baby teeth and gums.", "Consumer Goods",
                     "KONG", dog_toy(), baked(PINK, seed=3)),
    "cereal": Model("Vans_Cereal_Honey_Nut_Crunch_11_oz_box", "Van's Cereal, Honey Nut Crunch, 11 oz box",
                    "Gluten free honey nut crunch cereal.", "Consumer Goods", "Van's",
                    box(0.19, 0.065, 0.28), baked(YELLOW, seed=4, spots=[(200, 30, 30), (240, 240, 240)], spot_share=0.3)),
    "boot": Model("11pro_SL_TRX_FG", "11pro SL TRX FG", "FW-FIRM GROUND", "Shoe", "adidas", boot(), baked(BLACK, seed=5)),
    "serum": Model("Perricone_MD_Chia_Serum", "Perricone MD Chia Serum",
                   "A lightweight face serum with chia seed oil.", "Consumer Goods", "Perricone MD",
                   bottle(0.018, 0.11), baked(LIME, seed=6)),
}
# what a person would call each of them
EXPECTED = {
    "mug": ("mug", "cup", "teal"),
    "wide_mug": ("coffee mug", "cup", "white"),
    "dog_toy": ("dog toy", "toy", "pink"),
    "cereal": ("cereal box", "box", "yellow"),
    "boot": ("football boot", "shoe", "black"),
    "serum": ("serum bottle", "bottle", "lime"),
}


def entries(path: Path) -> dict[str, dict]:
    return {e["id"]: e for e in yaml.safe_load(path.read_text())["assets"]}


@pytest.fixture(scope="module")
def gso_import(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("gso") / "GSO"
    for m in MODELS.values():
        write_folder(root / m.name, m)
    out = root.parent / "cat" / "gso.yaml"
    result = run_import(root, out, collision=False, jobs=1)
    return root, out, result


def test_gso_folders_names_categories_colors(gso_import) -> None:
    _, out, result = gso_import
    assert result.layout == "gso" and not result.skipped and not result.warnings
    got = {key: entries(out)[snake_id(m.name)] for key, m in MODELS.items()}
    for key, (name, category, color) in EXPECTED.items():
        e = got[key]
        assert (e["name"], e["category"], e["color"], e["colorable"]) == (name, category, color, False), (key, e["evidence"])
    assert "can-fall" in got["mug"]["tags"] and "can-fall" in got["wide_mug"]["tags"]  # real mug proportions
    assert got["wide_mug"]["evidence"]["height_over_width"] < 1.05  # the old ratio rule missed it
    assert "can-fall" in got["serum"]["tags"] and "can-fall" in got["cereal"]["tags"]
    assert got["boot"]["mesh_scale"] == 1.0 and got["boot"]["texture"].endswith("materials/textures/texture.png")
    ev = got["dog_toy"]["evidence"]
    assert ev["collection_category"] == "Consumer Goods" and "puppy teething" in ev["name_from"]
    assert "kong" in ev["name_qualifiers"] and "google" not in ev["name_qualifiers"]  # the author is no name
    catalog = load_catalog(out)  # what `render` loads
    assert catalog.display_name(got["mug"]["id"], None) == "teal mug"


def test_report_and_summary(gso_import) -> None:
    _, out, result = gso_import
    text = result.report.read_text()
    assert "## Categories" in text and "| cup | 2 |" in text and "## Skipped" in text
    grid = out.parent / "gso_assets" / "report" / "cup.png"
    assert grid.is_file() and f"]({grid.relative_to(out.parent).as_posix()})" in text
    with Image.open(grid) as im:
        assert im.width >= 2 * 96


def test_fuel_zip_and_cache_and_forced_layout(tmp_path: Path) -> None:
    zips = tmp_path / "zips"
    zips.mkdir()
    write_zip(zips / f"{MODELS['dog_toy'].name}.zip", MODELS["dog_toy"])
    cache = tmp_path / "fuel" / "fuel.gazebosim.org" / "GoogleResearch" / "models"
    old = MODELS["mug"]
    write_folder(cache / old.name / "1", Model(old.name, "Old scan", "", None, None, box(0.1, 0.1, 0.1), old.texture))
    write_folder(cache / old.name / "2", old)  # the newest version is the model
    write_folder(cache / MODELS["cereal"].name / "1", MODELS["cereal"])
    out = tmp_path / "cat.yaml"
    r1 = run_import(zips, out, collision=False, jobs=1, report=False)
    r2 = run_import(tmp_path / "fuel", out, layout="gso", collision=False, jobs=1, report=False)
    assert (r1.layout, r2.layout, r2.found, r2.warnings) == ("gso", "gso", 2, [])
    e = entries(out)
    assert (e["kong_puppy_teething_rubber_small_pink"]["name"], e["cole_hardware_mug_classic_blue_teal"]["name"],
            e["vans_cereal_honey_nut_crunch_11_oz_box"]["name"]) == ("dog toy", "mug", "cereal box")
    assert e["cole_hardware_mug_classic_blue_teal"]["origin"].endswith(f"{old.name}/2")
    from simedit.render.common.errors import SimEditError

    with pytest.raises(SimEditError, match="--layout kubric: expected a Kubric manifest.*looks like the gso layout"):
        run_import(tmp_path / "fuel", out, layout="kubric", collision=False)


def kubric_tar(root: Path, m: Model) -> None:
    """What Kubric's GSO converter writes: the mesh re-centred on its center of mass."""
    mesh = m.mesh.copy()
    mesh.apply_translation(-mesh.center_mass)
    png = io.BytesIO()
    m.texture.save(png, format="PNG")
    hull = trimesh.exchange.obj.export_obj(mesh.convex_hull).encode()
    urdf = (f'<robot name="{m.name}">\n  <link name="base">\n    <inertial><mass value="0.2" /></inertial>\n'
            '    <visual><geometry><mesh filename="visual_geometry.obj" /></geometry></visual>\n'
            '    <collision><geometry><mesh filename="collision_geometry.obj" /></geometry></collision>\n'
            "  </link>\n</robot>\n")
    files = {"visual_geometry.obj": katamari_obj(mesh).replace("mtllib model.mtl", "mtllib visual_geometry.mtl").encode(),
             "visual_geometry.mtl": MTL.encode(), "texture.png": png.getvalue(), "collision_geometry.obj": hull,
             "object.urdf": urdf.encode(), "data.json": json.dumps({"id": m.name, "nr_faces": len(mesh.faces)}).encode()}
    with tarfile.open(root / f"{m.name}.tar.gz", "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{m.name}/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def gso_manifest(root: Path, models: list[Model], total: int) -> Path:
    assets = {}
    for k in range(total - len(models)):  # the rest of the 1,030 GSO models, without files here
        assets[f"Product_{k:04d}"] = {"asset_type": "FileBasedObject", "kwargs": {}, "license": "CC BY-SA 4.0",
                                      "metadata": {"category": "Consumer Goods", "description": f"Product {k}"}}
    for m in models:
        b = m.mesh.bounds - m.mesh.center_mass
        assets[m.name] = {"asset_type": "FileBasedObject", "license": "CC BY-SA 4.0",
                          "kwargs": {"bounds": b.tolist(), "mass": 0.2,
                                     "render_filename": "{asset_dir}/visual_geometry.obj",
                                     "simulation_filename": "{asset_dir}/object.urdf"},
                          "metadata": {"nr_faces": len(m.mesh.faces), "nr_vertices": len(m.mesh.vertices),
                                       "surface_area": float(m.mesh.area), "volume": 0.0, "category": m.category,
                                       "description": f"{m.title}\n{m.blurb}"}}
    path = root / "GSO.json"
    path.write_text(json.dumps({"name": "GSO", "data_dir": "gs://kubric-public/assets/GSO", "version": "1.0",
                                "assets": assets}))
    return path


def test_kubric_partial_mirror(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from simedit.render.catalog.cli import main

    root = tmp_path / "kubric"
    root.mkdir()
    chosen = [MODELS["wide_mug"], MODELS["cereal"], MODELS["serum"], MODELS["dog_toy"]]
    for m in chosen:
        kubric_tar(root, m)
    gso_manifest(root, chosen, 1030)
    out = tmp_path / "kub.yaml"
    assert main(["import", str(root), "--out", str(out), "--no-collision", "--jobs", "2"]) == 0
    text = capsys.readouterr().out
    lines = text.strip().splitlines()
    assert len(lines) <= 8 and max(len(ln) for ln in lines) < 300, text  # one screen
    assert "1,026 of 1,030 manifest entries have no asset file; first 5: Product_0000" in text
    e = entries(out)
    got = {m.name: e[m.name.lower()] for m in chosen}
    for m, key in zip(chosen, ("wide_mug", "cereal", "serum", "dog_toy")):
        name, category, color = EXPECTED[key]
        assert (got[m.name]["name"], got[m.name]["category"], got[m.name]["color"]) == (name, category, color)
        assert got[m.name]["mesh_scale"] == 1.0 and "meters" in got[m.name]["size_source"]  # GSO.json has no units key
        assert got[m.name]["collision_mesh"].endswith("collision_geometry.obj")  # Kubric's own VHACD output
    report = Path(text.split("report: ")[1].split(")")[0]).read_text()
    assert report.count("no asset file") == 0 and report.count("neither Product_") == 1026  # the full list


def test_plain_meshes_fall_back_with_a_warning(tmp_path: Path) -> None:
    from simedit.render.common.errors import SimEditError

    # GSO models copied without their folder structure: a mesh per product folder, nothing else
    for key in ("mug", "serum"):
        m = MODELS[key]
        d = tmp_path / "loose" / m.name
        d.mkdir(parents=True)
        m.mesh.export(d / "model.obj")
    warnings: list[str] = []
    result = run_import(tmp_path / "loose", tmp_path / "loose.yaml", collision=False, jobs=1, report=False,
                        warn=warnings.append)
    assert result.layout == "mesh_folder" and len(warnings) == 1 and "plain mesh folder" in warnings[0]
    e = entries(tmp_path / "loose.yaml")  # named after their folders, not "model", "model 2"
    assert {v["name"] for v in e.values()} == {"mug", "serum bottle"}
    with pytest.raises(SimEditError, match=r"--layout gso: expected <model>/meshes/model.obj.*looks like the mesh_folder"):
        run_import(tmp_path / "loose", tmp_path / "x.yaml", layout="gso")


def test_interrupted_import_resumes_with_the_same_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import simedit.render.catalog.importers.pool as pool

    root = tmp_path / "GSO"
    picked = ["mug", "wide_mug"]
    for key in picked:
        write_folder(root / MODELS[key].name, MODELS[key])
    twin = Model("Threshold_Stoneware_Coffee_Mug_White", "Threshold Stoneware Coffee Mug, White", "A stoneware mug.",
                 None, "Threshold", mug(0.095, 0.046, 0.036), MODELS["wide_mug"].texture)  # another white coffee mug
    write_folder(root / twin.name, twin)
    once = tmp_path / "once.yaml"
    run_import(root, once, collision=False, jobs=1, report=False)

    real, calls = pool.propose_job, []

    def interrupted(job):  # Ctrl-C while the second model is being proposed
        calls.append(job.key_id)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(job)

    monkeypatch.setattr(pool, "propose_job", interrupted)
    out = tmp_path / "resumed.yaml"
    with pytest.raises(KeyboardInterrupt):
        run_import(root, out, collision=False, jobs=1, report=False)
    assert len(entries(out)) == 1  # what was done is in the catalog
    monkeypatch.setattr(pool, "propose_job", real)
    again = run_import(root, out, collision=False, jobs=1, report=False)
    assert (len(again.resumed), len(again.imported)) == (1, 2)
    names = {k: v["name"] for k, v in entries(out).items()}
    assert names == {k: v["name"] for k, v in entries(once).items()}
    # two white coffee mugs are told apart by their own words, the teal one needs nothing
    assert sorted(n for n in names.values() if n.endswith("mug")) == ["mug", "porcelain coffee mug", "stoneware coffee mug"]


def test_staged_textures_import_quietly_in_blender(gso_import) -> None:
    """The staged .mtl names its texture beside it: Blender's OBJ importer finds it and prints
    nothing (an absolute path made it print "Failed to open dir" on every render)."""
    import subprocess
    import sys

    _, out, _ = gso_import
    e = entries(out)["kong_puppy_teething_rubber_small_pink"]
    obj = (out.parent / e["render_mesh"]).resolve()
    mtl = obj.with_suffix(".mtl").read_text()
    assert "map_Kd texture.png" in mtl and (obj.parent / "texture.png").is_file()
    code = ("import bpy\nbpy.ops.wm.obj_import(filepath=%r)\n"
            "print('images', [i.name for i in bpy.data.images])" % str(obj))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    log = run.stdout + run.stderr
    assert run.returncode == 0 and "Failed to open dir" not in log and "Cannot load image" not in log, log
    assert "texture.png" in log
