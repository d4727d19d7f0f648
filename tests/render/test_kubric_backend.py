"""The kubric backend and its Blender 4.5 adapter (render/backends/kubric_compat.py).

Renders are 64x64 with few samples. Kubric runs in render processes of its own (a spawned
RenderWorker, or a child Python for the adapter's checks), never inside the test process, whose
Blender the Cycles tests own. Every test but the install-hint one skips when kubric is not
installed (`pip install -e ".[kubric]" && pip install --no-deps kubric-nightly==2023.12.27`).
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pybullet_data
import pytest
import trimesh

from simedit.render.backends import kubric as kubric_backend
from simedit.render.backends.base import BACKENDS, RenderSettings
from simedit.render.backends.worker import RenderWorker
from simedit.render.catalog.model import Asset, Catalog
from simedit.render.common.errors import SimEditError
from simedit.render.scene import Camera, Floor, Light, Scene, SceneObject, World

SIZE = 64
SETTINGS = dict(samples=8, threads=2, depth=True)
RED, BLUE = (0.8, 0.04, 0.04), (0.04, 0.08, 0.8)


def _needs_kubric() -> None:
    pytest.importorskip("kubric", reason="kubric not installed (pip install -e '.[kubric]')")


def test_registered_as_a_backend() -> None:
    assert BACKENDS["kubric"] == "simedit.render.backends.kubric:KubricRenderer"


def test_missing_kubric_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "kubric" else real(name, *a))
    with pytest.raises(SimEditError) as err:
        kubric_backend.require_kubric()
    message = str(err.value)
    assert "\n" not in message
    assert 'the kubric backend needs: pip install -e ".[kubric]"' in message
    assert "kubric-nightly==2023.12.27" in message


# ---- the adapter: each fix, checked in a child Python that imports kubric ------------------------
ADAPTER_CHECKS = textwrap.dedent(r'''
    import json, sys, tempfile, traceback
    import numpy as np
    import kubric as kb
    from kubric.renderer.blender import Blender
    import bpy
    mesh = sys.argv[1]
    out = {}

    def scene_with(material_kwargs=None):
        sc = kb.Scene(resolution=(64, 64), frame_start=1, frame_end=1)
        r = Blender(sc, tempfile.mkdtemp(), samples_per_pixel=4, use_denoising=False)
        sc += kb.DirectionalLight(name="sun", position=(1, -1, 3), look_at=(0, 0, 0), intensity=3)
        sc.camera = kb.PerspectiveCamera(name="cam", position=(0, -0.6, 0.4), look_at=(0, 0, 0.05))
        return sc, r

    # before the fixes: what Kubric 2023.12.27 does on this Blender
    sc, r = scene_with()
    try:
        sc += kb.Cube(name="c", scale=(0.05,) * 3, material=kb.PrincipledBSDFMaterial(color=kb.Color(1, 0, 0, 1)))
        out["unpatched_material"] = "ok"
    except Exception as e:
        out["unpatched_material"] = type(e).__name__
    try:
        sc += kb.FileBasedObject(name="m", render_filename=mesh, render_import_kwargs={"axis_forward": "Y", "axis_up": "Z"})
        out["unpatched_obj"] = "ok"
    except Exception as e:
        out["unpatched_obj"] = type(e).__name__
    sc, r = scene_with()
    sc += kb.Cube(name="c", scale=(0.05,) * 3, position=(0, 0, 0.05))
    try:
        r.render_still(return_layers=("segmentation",))
        out["unpatched_exr"] = "ok"
    except Exception as e:
        out["unpatched_exr"] = type(e).__name__
    from simedit.render.backends import kubric_compat
    from kubric.renderer import blender_utils
    read = blender_utils.read_channels_from_exr
    blender_utils.read_channels_from_exr = kubric_compat._any_case_channels(read)  # only this fix
    f = r.render_still(return_layers=("object_coordinates",))
    out["unpatched_object_coordinates_max"] = int(f["object_coordinates"].max())
    blender_utils.read_channels_from_exr = read

    out["fixes"] = list(kubric_compat.apply())
    sc, r = scene_with()
    mat = kb.PrincipledBSDFMaterial(color=kb.Color(0.8, 0.1, 0.1, 1), specular=0.3, transmission=0.2,
                                    emission=kb.Color(0.5, 0.5, 0.5, 1))
    obj = kb.FileBasedObject(name="mug", render_filename=mesh, render_import_kwargs={"axis_forward": "Y", "axis_up": "Z"},
                             position=(0, 0, 0.05), material=mat)
    sc += obj
    bsdf = mat.linked_objects[r].node_tree.nodes["Principled BSDF"]
    out["specular"] = bsdf.inputs["Specular IOR Level"].default_value
    out["transmission"] = bsdf.inputs["Transmission Weight"].default_value
    out["emission"] = list(bsdf.inputs["Emission Color"].default_value)[:3]
    out["emission_strength"] = bsdf.inputs["Emission Strength"].default_value
    out["mesh_vertices"] = len(obj.linked_objects[r].data.vertices)
    f = r.render_still(return_layers=("rgba", "object_coordinates", "segmentation"))
    seg = f["segmentation"][..., 0]
    idx = out["mug_index"] = list(sc.assets).index(obj) + 1  # Kubric: index into scene.assets, + 1
    oc = f["object_coordinates"]
    out["object_coordinates_max"] = int(oc.max())
    out["object_coordinates_on_object"] = float((oc[seg == idx].max(axis=-1) > 0).mean()) if (seg == idx).any() else 0.0
    out["segmentation_values"] = sorted(int(v) for v in np.unique(seg))
    out["object_pixels"] = int((seg == idx).sum())
    print("RESULT " + json.dumps(out), flush=True)
    import os
    os._exit(0)  # bpy 4.5 can deadlock in its exit handlers
''')


@pytest.fixture(scope="module")
def adapter_checks(tmp_path_factory: pytest.TempPathFactory) -> dict:
    _needs_kubric()
    root = Path(__file__).resolve().parents[2]
    script = tmp_path_factory.mktemp("kubric") / "checks.py"
    script.write_text(ADAPTER_CHECKS)
    mesh = root / "assets_catalog" / "meshes" / "coffee_mug.obj"
    proc = subprocess.run([sys.executable, str(script), str(mesh)], capture_output=True, text=True, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"adapter checks failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def test_principled_inputs_renamed(adapter_checks: dict) -> None:
    assert adapter_checks["unpatched_material"] == "KeyError"  # "Specular" is gone in Blender 4
    assert adapter_checks["specular"] == pytest.approx(0.3)
    assert adapter_checks["transmission"] == pytest.approx(0.2)
    assert adapter_checks["emission"] == pytest.approx([0.5, 0.5, 0.5])
    assert adapter_checks["emission_strength"] == 1.0  # 4.x defaults it to 0: no glow at all


def test_obj_import_uses_the_new_importer(adapter_checks: dict) -> None:
    assert adapter_checks["unpatched_obj"] == "AttributeError"  # bpy.ops.import_scene.obj is gone
    assert adapter_checks["mesh_vertices"] > 100


def test_object_coordinates_pass_is_not_zero(adapter_checks: dict) -> None:
    assert adapter_checks["unpatched_object_coordinates_max"] == 0  # the AOV was never written
    assert adapter_checks["object_coordinates_max"] > 0
    assert adapter_checks["object_coordinates_on_object"] > 0.9


def test_cryptomatte_channels_read(adapter_checks: dict) -> None:
    assert adapter_checks["unpatched_exr"] == "KeyError"  # 'CryptoObject00.R': 4.5 writes '.r'
    assert adapter_checks["segmentation_values"] == [0, adapter_checks["mug_index"]]  # background, the mug
    assert adapter_checks["object_pixels"] > 50


def test_every_fix_has_a_test(adapter_checks: dict) -> None:
    assert set(adapter_checks["fixes"]) == {"principled_inputs", "obj_import", "object_coordinates", "exr_channels"}


# ---- the backend against the Cycles backend -------------------------------------------------------
def _asset(asset_id: str, mesh: Path, **kw) -> Asset:
    return Asset(id=asset_id, name=asset_id, category=asset_id, tags=frozenset(), render_mesh=mesh, collision_mesh=mesh, **kw)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    tmp = tmp_path_factory.mktemp("assets")
    trimesh.creation.box(extents=(0.12, 0.12, 0.12)).export(tmp / "box.obj")
    trimesh.creation.cylinder(radius=0.05, height=0.14, sections=24).export(tmp / "cyl.obj")
    duck = Path(pybullet_data.getDataPath()) / "duck.obj"
    assets = {
        "box": _asset("box", tmp / "box.obj"),
        "cyl": _asset("cyl", tmp / "cyl.obj"),
        # rotated and scaled in the catalog: the backend must compose the asset transform
        "duck": _asset("duck", duck, mesh_scale=0.05, mesh_rotation_deg=(90.0, 0.0, 0.0), colorable=False,
                       color="yellow", texture=duck.parent / "duckCM.png"),
    }
    return Catalog(path=tmp / "catalog.yaml", assets=assets, palette={"red": RED, "blue": BLUE})


def _scene(catalog: Catalog, hdri: str | None = "studio") -> Scene:
    def on_floor(asset_id: str, x: float, y: float) -> tuple[float, float, float]:
        return (x, y, float(catalog.geometry(asset_id).extents[2]) / 2.0)

    return Scene(
        objects=[
            SceneObject("o0", "box", "red box", on_floor("box", -0.25, 0.05), color="red", rgb=RED),
            SceneObject("o1", "cyl", "blue cyl", on_floor("cyl", 0.22, 0.1), rotation=(0.92388, 0.0, 0.0, 0.38268),
                        color="blue", rgb=BLUE),
            SceneObject("o3", "duck", "duck", on_floor("duck", 0.0, -0.2), rotation=(0.70711, 0.0, 0.0, 0.70711)),
        ],
        camera=Camera(position=(0.0, -1.2, 0.9), look_at=(0.0, 0.0, 0.05), fov=0.9, width=SIZE, height=SIZE),
        lights=[Light("sun", 3.0, (0.3, 0.4, -0.85))],
        world=World(hdri, 0.8, 0.3),
        floor=Floor("gray", (0.35, 0.35, 0.35)),
    )


@pytest.fixture(scope="module")
def both(catalog: Catalog):
    """(cycles source, cycles target, kubric source, kubric target) of one pair."""
    _needs_kubric()
    source = _scene(catalog)
    target = source.copy()
    target.objects[0].position = (-0.05, 0.2, target.objects[0].position[2])  # move the red box
    target.objects = [o for o in target.objects if o.uid != "o1"]  # and remove the blue one
    out = []
    for backend in ("cycles", "kubric"):
        worker = RenderWorker(catalog, RenderSettings(backend=backend, **SETTINGS), start_timeout=300)
        try:
            out += list(worker.render_pair(source, target, seed=3, timeout=300))
        finally:
            worker.close()
    return out


def test_segmentation_matches_cycles(both) -> None:
    cyc_src, cyc_tgt, kub_src, kub_tgt = both
    for cyc, kub in ((cyc_src, kub_src), (cyc_tgt, kub_tgt)):
        assert kub.mask.dtype == np.uint16 and kub.mask.shape == (SIZE, SIZE)
        assert set(np.unique(kub.mask)) == set(np.unique(cyc.mask))
        assert (kub.mask == cyc.mask).mean() > 0.99  # both sample one ray per pixel: edges may differ
        for v in np.unique(cyc.mask)[1:]:
            a, b = cyc.mask == v, kub.mask == v
            assert (a & b).sum() / (a | b).sum() > 0.9  # IoU per object
    assert 2 not in kub_tgt.mask  # the removed object is gone


def test_output_conventions(both) -> None:
    _, _, kub, _ = both
    assert kub.rgb.dtype == np.uint8 and kub.rgb.shape == (SIZE, SIZE, 3)
    assert kub.depth is not None and kub.depth.dtype == np.float32
    cyc = both[0]
    on = (kub.mask > 0) & (cyc.mask > 0)
    assert np.allclose(kub.depth[on], cyc.depth[on], rtol=0.02)  # meters along the view axis
    assert kub.engine_seconds > 0


def _mean_rgb(out, value: int) -> np.ndarray:
    return out.rgb[out.mask == value].astype(float).mean(axis=0)


def test_coloured_and_textured_objects_keep_their_colours(both) -> None:
    _, _, kub, _ = both
    r, g, b = _mean_rgb(kub, 1)  # the red box
    assert r > 1.5 * g and r > 1.5 * b
    r, g, b = _mean_rgb(kub, 2)  # the blue cylinder
    assert b > 1.5 * r and b > g
    r, g, b = _mean_rgb(kub, 4)  # the duck keeps its yellow texture
    assert r > 1.3 * b and g > 1.3 * b


def test_unchanged_pixels_match_between_source_and_target(both) -> None:
    """Same seed for both renders: outside what the edit touched, the pixels agree (the
    verifier's minimality check depends on it)."""
    _, _, src, tgt = both
    from scipy.ndimage import binary_dilation

    touched = np.isin(src.mask, [1, 2]) | np.isin(tgt.mask, [1, 2])
    far = ~binary_dilation(touched, iterations=10)  # away from the moved and removed objects and their shadows
    assert far.mean() > 0.3
    diff = np.abs(src.rgb.astype(int) - tgt.rgb.astype(int)).max(axis=-1)
    assert (diff[far] <= 0.06 * 255).mean() > 0.95
