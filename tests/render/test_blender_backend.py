"""Real Blender renders at 64x64 with few samples: geometry, masks, pairs, worker process."""
from __future__ import annotations

import os
import signal
from dataclasses import replace
from pathlib import Path

import numpy as np
import pybullet_data
import pytest
import trimesh

from simedit.render import camera as C
from simedit.render.backends.base import RenderOutput, RenderSettings
from simedit.render.backends.cycles import CyclesRenderer
from simedit.render.catalog.model import Asset, Catalog
from simedit.render.common.errors import SimEditError
from simedit.render.backends.worker import RenderWorker, WorkerDied
from simedit.render.scene import Camera, Floor, Light, Scene, SceneObject, World

pytestmark = pytest.mark.slow

SIZE = 64
SETTINGS = RenderSettings(samples=8, depth=True, threads=2)
RED, BLUE, GREEN = (0.8, 0.04, 0.04), (0.04, 0.08, 0.8), (0.05, 0.6, 0.05)


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
        "duck": _asset("duck", duck, mesh_scale=0.05, mesh_rotation_deg=(90.0, 0.0, 0.0), colorable=False, color="yellow", texture=duck.parent / "duckCM.png"),
        "ghost": _asset("ghost", tmp / "missing" / "ghost.obj"),
    }
    return Catalog(path=tmp / "catalog.yaml", assets=assets, palette={"red": RED, "blue": BLUE, "green": GREEN})


@pytest.fixture(scope="module")
def renderer(catalog: Catalog):
    with CyclesRenderer(catalog, SETTINGS) as r:
        yield r


def _on_floor(catalog: Catalog, asset_id: str, x: float, y: float) -> tuple[float, float, float]:
    return (x, y, float(catalog.geometry(asset_id).extents[2]) / 2.0)


def make_scene(catalog: Catalog) -> Scene:
    cam = Camera(position=(0.0, -1.2, 0.9), look_at=(0.0, 0.0, 0.05), fov=0.9, width=SIZE, height=SIZE)
    objects = [
        SceneObject("o0", "box", "red box", _on_floor(catalog, "box", -0.25, 0.05), color="red", rgb=RED),
        SceneObject("o1", "cyl", "blue cyl", _on_floor(catalog, "cyl", 0.22, 0.1), color="blue", rgb=BLUE),
        SceneObject("o3", "duck", "duck", _on_floor(catalog, "duck", 0.0, -0.2)),
    ]
    return Scene(
        objects=objects,
        camera=cam,
        lights=[Light("sun", 3.0, (0.3, 0.4, -0.85))],
        world=World("studio", 0.8, 0.3),
        floor=Floor("gray", (0.35, 0.35, 0.35)),
    )


def _centroid(mask: np.ndarray, value: int) -> np.ndarray:
    rows, cols = np.nonzero(mask == value)
    assert rows.size > 0, f"mask value {value} absent"
    return np.array([cols.mean() + 0.5, rows.mean() + 0.5])  # pixel centers, (column, row) like camera.project


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    out = mask.copy()
    for dr in range(-radius, radius + 1):
        for dc in range(-radius, radius + 1):
            out |= np.roll(np.roll(mask, dr, axis=0), dc, axis=1)
    return out


def test_render_geometry_mask_depth(renderer: CyclesRenderer, catalog: Catalog) -> None:
    scene = make_scene(catalog)
    out = renderer.render(scene, seed=1)
    assert out.rgb.shape == (SIZE, SIZE, 3) and out.rgb.dtype == np.uint8
    assert out.rgb.std() > 5  # not a constant image
    assert out.mask.dtype == np.uint16
    assert set(np.unique(out.mask)) == {0, 1, 2, 4}  # uids o0, o1, o3 (+1); floor and sky are 0
    for obj in scene.objects:
        predicted = C.project(scene.camera, np.array([obj.position]))[0]
        value = int(obj.uid[1:]) + 1
        assert np.linalg.norm(_centroid(out.mask, value) - predicted) < 2.5, obj.uid
    # Depth along the view axis: the floor point seen through the image center.
    b = C.basis(scene.camera)
    origin = np.array(scene.camera.position)
    hit = origin + b.forward * (-origin[2] / b.forward[2])
    center = out.depth[SIZE // 2 - 1 : SIZE // 2 + 1, SIZE // 2 - 1 : SIZE // 2 + 1].mean()
    assert center == pytest.approx(C.depth(scene.camera, hit[None])[0], abs=0.02)
    assert np.isinf(out.depth[0]).any()  # sky at the top of the image


def test_same_seed_is_deterministic_and_seed_matters(renderer: CyclesRenderer, catalog: Catalog) -> None:
    scene = make_scene(catalog)
    a = renderer.render(scene, seed=5)
    b = renderer.render(scene, seed=6)
    c = renderer.render(scene, seed=5)
    assert np.array_equal(a.rgb, c.rgb)
    assert not np.array_equal(a.rgb, b.rgb)  # the seed reaches Cycles despite persistent data


def test_pair_move_changes_only_near_the_object(renderer: CyclesRenderer, catalog: Catalog) -> None:
    source = make_scene(catalog)
    target = source.copy()
    target.objects[1].position = _on_floor(catalog, "cyl", 0.3, -0.05)
    src, tgt = renderer.render_pair(source, target, seed=2)
    diff = np.abs(src.rgb.astype(int) - tgt.rgb.astype(int)).max(axis=-1)
    moved = (src.mask == 2) | (tgt.mask == 2)
    near = _dilate(moved, 2)
    assert diff[moved].mean() > 20  # the object really moved
    far = ~_dilate(moved, SIZE // 8)
    agree = float((diff[far] <= 3).mean())
    print(f"untouched-pixel agreement (|diff| <= 3/255 beyond {SIZE // 8}px of the moved object): {agree:.4f}")
    assert agree > 0.95  # moved shadow and indirect light account for the rest
    assert np.array_equal(src.mask[~near], tgt.mask[~near])  # other objects' masks do not change


def test_removed_object_absent_from_target_mask(renderer: CyclesRenderer, catalog: Catalog) -> None:
    source = make_scene(catalog)
    target = source.copy()
    target.objects = [o for o in target.objects if o.uid != "o0"]
    src, tgt = renderer.render_pair(source, target, seed=3)
    assert (src.mask == 1).any() and not (tgt.mask == 1).any()
    assert (tgt.mask == 2).any() and (tgt.mask == 4).any()


def test_recolor_solid_and_textured(renderer: CyclesRenderer, catalog: Catalog) -> None:
    source = make_scene(catalog)
    target = source.copy()
    target.objects[0] = replace(target.objects[0], color="blue", rgb=BLUE)  # red box -> blue
    target.objects[2] = replace(target.objects[2], color="green", rgb=GREEN)  # yellow textured duck tinted green
    src, tgt = renderer.render_pair(source, target, seed=4)
    box_src, box_tgt = src.rgb[src.mask == 1].mean(0), tgt.rgb[tgt.mask == 1].mean(0)
    assert box_src[0] > box_src[2] and box_tgt[2] > box_tgt[0]
    duck_src, duck_tgt = src.rgb[src.mask == 4].mean(0), tgt.rgb[tgt.mask == 4].mean(0)
    assert duck_src[0] > duck_src[2] + 30  # yellow: red and green high, blue low
    assert duck_tgt[1] > duck_tgt[0] + 20  # reads green after the tint
    # Then back: a later render of the source restores the source look exactly.
    again = renderer.render(source, seed=4)
    assert np.array_equal(again.rgb, src.rgb)


def test_missing_mesh_and_unknown_hdri(renderer: CyclesRenderer, catalog: Catalog) -> None:
    scene = make_scene(catalog)
    scene.objects.append(SceneObject("o5", "ghost", "ghost", (0.0, 0.3, 0.05), rgb=RED))
    with pytest.raises(SimEditError, match="ghost.obj"):
        renderer.render(scene, seed=0)
    bad = make_scene(catalog)
    bad.world = World("moon")
    with pytest.raises(SimEditError, match="moon"):
        renderer.render(bad, seed=0)
    assert renderer.render(make_scene(catalog), seed=0).mask.max() == 4  # still usable afterwards


def test_worker_roundtrip_errors_and_death(catalog: Catalog, tmp_path: Path, capfd) -> None:
    source = make_scene(catalog)
    target = source.copy()
    target.objects[0].position = _on_floor(catalog, "box", -0.1, 0.2)
    settings = RenderSettings(samples=4, threads=1)
    with RenderWorker(catalog, settings, log_path=tmp_path / "blender.log") as worker:
        src, tgt = worker.render_pair(source, target, seed=1)
        assert isinstance(src, RenderOutput) and src.rgb.shape == (SIZE, SIZE, 3)
        assert set(np.unique(tgt.mask)) == {0, 1, 2, 4}
        bad = source.copy()
        bad.objects.append(SceneObject("o5", "ghost", "ghost", (0.0, 0.3, 0.05), rgb=RED))
        with pytest.raises(SimEditError, match="ghost.obj"):
            worker.render_pair(bad, target, seed=1)
        assert worker.alive()  # a bad scene does not kill the worker
        os.kill(worker.pid, signal.SIGKILL)
        with pytest.raises(WorkerDied):
            worker.render_pair(source, target, seed=1)
    # Blender's per-render chatter (about 6 KB a render) is dropped, never on our stdout; the
    # process's stderr (engine warnings and errors) goes to its log
    out, err = capfd.readouterr()
    assert "Fra:" not in out and "Fra:" not in err and "Sample" not in out
    assert (tmp_path / "blender.log").is_file()
