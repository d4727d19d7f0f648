"""Every pair shows its edit: planned edits are large and in sight, the camera frames the
objects, colours stand out from the floor, and the verifier refuses faint or tiny objects."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pytest

from simedit.render import camera as cam
from simedit.render.catalog.model import load_catalog
from simedit.render.masks import silhouette_bound, unoccluded_share
from simedit.render.plan.planner import Planner
from simedit.render.plan.sampling import sample_floor
from simedit.render.poses import world_hull
from simedit.render.scene import Camera, Edit, Scene, SceneObject, mask_value
from simedit.render.spec import load_spec
from simedit.render.verify import verify_pair
from simedit.render.visibility import clear_of_floor, contrast, delta_e, lab

KINDS = ("rotation", "location", "count", "attribute", "stack")


@functools.cache
def catalog():
    return load_catalog()


@functools.cache
def planned(kind: str, n: int = 14):
    planner = Planner(load_spec(f"scenes/{kind}.yaml"), catalog())
    return planner, [s for i in range(n) if (s := planner.plan(i).sample) is not None]


def test_lab_matches_known_colours():
    grey, yellow, green, blue = lab(np.array([[128, 128, 128], [255, 255, 0], [0, 128, 0], [0, 0, 255]]))
    assert abs(grey[0] - 53.6) < 1 and abs(grey[1]) < 1 and abs(grey[2]) < 1
    assert yellow[2] > 80 and yellow[1] < 0  # yellow: strongly +b, slightly green
    assert green[1] < -40 and blue[2] < -100  # signed a and b (PIL stores them as signed bytes)
    palette = catalog().palette
    assert delta_e(palette["gray"], palette["gray"]) == 0
    assert delta_e(palette["gray"], palette["yellow"]) > 60


def test_contrast_sees_faint_objects_and_textured_ones():
    floor = np.full((40, 40, 3), 120, np.uint8)
    m = np.zeros((40, 40), bool)
    m[10:30, 10:30] = True
    same = floor.copy()
    same[m] = 126  # a grey object on a grey floor, a little lighter
    assert contrast(same, m) < 10
    red = floor.copy()
    red[m] = (200, 30, 30)
    assert contrast(red, m) > 40
    checker = floor.copy()  # black and white squares average to the floor's grey
    checker[m] = np.where(((np.indices((40, 40)).sum(0) // 2) % 2 == 0)[m][:, None], 240, 0)
    assert abs(lab(checker[m]).mean(axis=0)[0] - lab(floor[:1, 0])[0, 0]) < 15
    assert contrast(checker, m) > 30


@pytest.mark.parametrize("kind", KINDS)
def test_every_planned_edit_is_large_and_in_sight(kind):
    planner, plans = planned(kind)
    assert len(plans) >= 10
    floor_px = planner.spec.verify.min_visible_px
    for s in plans:
        for uid in [*s.edit.objects, *s.edit.references]:
            for scene in (s.source, s.target):
                if uid not in scene.uids():
                    continue
                c = scene.camera
                area = cam.projected_area(c, world_hull(scene.get(uid), catalog()))
                assert area * 256**2 / (c.width * c.height) >= floor_px, (s.instruction, uid)
                assert unoccluded_share(scene, uid, catalog()) >= planner.spec.verify.min_visible_fraction
        # no solid colour on a floor of the same colour
        assert all(o.color != s.source.floor.color for o in s.source.objects + s.target.objects)


def test_the_camera_frames_the_objects():
    spans = []
    for kind in KINDS:
        planner, plans = planned(kind)
        near, far = planner.spec.camera.distance
        for s in plans:
            c = s.source.camera
            px = np.vstack([cam.project(c, world_hull(o, catalog())) for o in s.source.objects])
            assert cam.in_view(c, np.vstack([world_hull(o, catalog()) for o in s.source.objects]), 0)
            dist = math.dist(c.position, c.look_at)
            assert near - 1e-6 <= dist <= far + 1e-6
            spans.append(max(np.ptp(px[:, 0]) / c.width, np.ptp(px[:, 1]) / c.height))
    # the objects span about `fill` (0.65-0.85) of the frame, unless the nearest distance stops the camera
    assert np.median(spans) > 0.6 and np.mean(np.array(spans) > 0.5) > 0.9


def test_without_fill_the_camera_keeps_its_distance_and_aim(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("camera: {fill: null, distance: [1.1, 1.3]}\nedits: [{kind: rotation}]\n")
    planner = Planner(load_spec(path), catalog())
    for i in range(5):
        c = planner.plan(i).sample.source.camera
        assert c.look_at == (0.0, 0.0, 0.05) and 1.1 <= math.dist(c.position, c.look_at) <= 1.3


def test_floor_and_object_colours_stand_out_from_each_other():
    cat = catalog()
    spec = load_spec("scenes/count.yaml")
    rng = np.random.default_rng(0)
    for _ in range(30):  # a grey object asks for a floor that is not grey
        assert sample_floor(spec, cat, rng, ["gray"]).color == "brown"
    kept = clear_of_floor(list(cat.palette), cat.palette, cat.palette["brown"])
    assert "brown" not in kept and "gray" in kept  # brown and grey differ by ~36
    assert clear_of_floor(["brown"], cat.palette, cat.palette["brown"]) == ["brown"]  # never empty


@dataclass
class Out:
    rgb: np.ndarray
    mask: np.ndarray


def test_the_verifier_refuses_an_object_that_blends_into_the_floor():
    planner = Planner(load_spec("scenes/location.yaml"), catalog())
    ctx = planner.contexts[0]
    camera = Camera(position=(0.0, -0.6, 0.45), look_at=(0.0, 0.0, 0.05), fov=0.9, width=64, height=64)
    source = Scene(objects=[SceneObject("o0", "coffee_mug", "mug", (-0.08, 0.0, 0.05))], camera=camera)
    target = source.copy()
    target.get("o0").position = (0.08, 0.0, 0.05)
    edit = Edit("location", "absolute", ["o0"], [], {"direction": "right"})

    def render(scene: Scene, shade: tuple[int, int, int]) -> Out:
        m = silhouette_bound(scene, "o0", catalog())
        rgb = np.full((64, 64, 3), 120, np.uint8)
        rgb[m] = shade
        return Out(rgb, np.where(m, mask_value("o0"), 0).astype(np.uint16))

    v = verify_pair(edit, source, target, render(source, (200, 40, 40)), render(target, (200, 40, 40)), ctx)
    assert v.ok and v.figures["source_o0_contrast"] > 40
    v = verify_pair(edit, source, target, render(source, (124, 124, 124)), render(target, (124, 124, 124)), ctx)
    assert v.reason == "low_contrast" and "o0" in v.detail
