"""Region rendering: the target rendered only where the edit can show equals a full render there
exactly, masks stay full-frame and exact, and outside it only path-tracing noise differs."""
from __future__ import annotations

import numpy as np
import pytest

from simedit.render import camera as cam
from simedit.render.backends.base import RenderSettings
from simedit.render.backends.worker import RenderWorker
from simedit.render.catalog.model import load_catalog
from simedit.render.plan.planner import Planner
from simedit.render.poses import footprint_radius, world_hull
from simedit.render.region import changed_objects, edit_region, floor_overlap
from simedit.render.spec import load_spec

SIZE = 64


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def samples(kind: str, catalog, n: int):
    spec = load_spec(f"scenes/{kind}.yaml")
    spec = spec.model_copy(update={"render": spec.render.model_copy(update={"width": SIZE, "height": SIZE})})
    planner = Planner(spec, catalog)
    return [s for i in range(n) if (s := planner.plan(i).sample) is not None]


def test_region_holds_every_changed_object_before_and_after(catalog):
    for s in samples("location", catalog, 8) + samples("count", catalog, 8):
        changed = {o.uid for _, o in changed_objects(s.source, s.target)}
        assert changed == set(s.edit.objects), "references and bystanders are unchanged"
        region = edit_region(s.source, s.target, catalog)
        if region is None:
            continue
        for scene in (s.source, s.target):
            for uid in set(s.edit.objects) & set(scene.uids()):
                px = cam.project(scene.camera, world_hull(scene.get(uid), catalog))
                assert region.x0 <= px[:, 0].min() and px[:, 0].max() <= region.x1
                assert region.y0 <= px[:, 1].min() and px[:, 1].max() <= region.y1


def test_an_object_standing_beside_the_changed_one_is_rendered_with_it(catalog):
    """The changed object shades a neighbour standing in its skirt, whose body rises above the
    skirt's floor outline in the image: the neighbour is in the region."""
    inside = 0
    for s in samples("rotation", catalog, 6):
        (uid,) = s.edit.objects
        others = [o.uid for o in s.source.objects if o.uid != uid]
        if not others:
            continue
        edited, behind = s.source.get(uid), cam.ground_directions(s.source.camera)["behind"][:2]
        source, target = s.source.copy(), s.target.copy()
        for scene in (source, target):
            near = scene.get(others[0])
            gap = footprint_radius(edited, catalog) + footprint_radius(near, catalog) + 0.01
            xy = np.asarray(edited.position[:2]) + behind * gap
            near.position = (float(xy[0]), float(xy[1]), near.position[2])
        region = edit_region(source, target, catalog)
        if region is None:
            continue
        px = cam.project(source.camera, world_hull(source.get(others[0]), catalog))
        px = np.clip(px, 0, SIZE)
        assert region.x0 <= px[:, 0].min() and px[:, 0].max() <= region.x1
        assert region.y0 <= px[:, 1].min() and px[:, 1].max() <= region.y1
        inside += 1
    assert inside >= 2


def test_floor_outlines_meet_only_when_they_overlap():
    square = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], float)
    assert floor_overlap(square, square + [0.5, 0.5, 3.0])  # heights do not matter
    assert floor_overlap(square, np.array([[0.4, -1, 0], [0.6, -1, 0], [0.6, 2, 0], [0.4, 2, 0]], float))  # a cross
    assert not floor_overlap(square, square + [1.2, 0, 0])
    assert not floor_overlap(square, square + [0.8, 1.7, 0])
    # off the square's corner: the x and y extents overlap, only the diamond's edge x + y = 2.4 parts them
    diamond = np.array([[0.9, 1.5, 0], [1.5, 0.9, 0], [2.1, 1.5, 0], [1.5, 2.1, 0]], float)
    assert not floor_overlap(square, diamond)
    assert floor_overlap(square, diamond - [0.25, 0.25, 0])


def test_a_grazing_light_or_another_camera_means_a_full_render(catalog):
    s = samples("location", catalog, 1)[0]
    assert edit_region(s.source, s.target, catalog, [(1.0, 0.0, -0.01)]) is None  # a shadow across the frame
    moved = s.target.copy()
    moved.camera = type(moved.camera)(**{**moved.camera.__dict__, "fov": moved.camera.fov * 1.1})
    assert edit_region(s.source, moved, catalog) is None


def test_region_target_equals_a_full_render_inside_and_keeps_masks_exact(catalog):
    pairs = samples("count", catalog, 3) + samples("attribute", catalog, 3)
    regions = 0
    with RenderWorker(catalog, RenderSettings(samples=16, region=False, depth=True)) as full, \
            RenderWorker(catalog, RenderSettings(samples=16, region=True, depth=True)) as part:
        for s in pairs:
            src_a, a = full.render_pair(s.source, s.target, 3)
            src_b, b = part.render_pair(s.source, s.target, 3)
            assert np.array_equal(src_a.rgb, src_b.rgb) and a.region is None
            assert np.array_equal(a.mask, b.mask) and np.array_equal(a.depth, b.depth)
            if b.region is None:
                assert np.array_equal(a.rgb, b.rgb)
                continue
            regions += 1
            x0, y0, x1, y1 = b.region
            assert np.array_equal(a.rgb[y0:y1, x0:x1], b.rgb[y0:y1, x0:x1])  # bit for bit
            outside = np.ones((SIZE, SIZE), bool)
            outside[y0:y1, x0:x1] = False
            assert np.array_equal(b.rgb[outside], src_b.rgb[outside])  # the source's pixels
            d = np.abs(a.rgb.astype(int) - b.rgb.astype(int)).max(axis=2)[outside]
            # bounce light off the edited objects that the region leaves out: it may use at most
            # half of what the verifier tolerates (2% of the untouched pixels over 15/255)
            assert (d > 15).mean() < 0.01, "more than noise differs outside the region"
    assert regions >= 3


def test_denoised_region_targets_keep_the_source_outside_and_match_a_full_denoise(catalog):
    """With OpenImageDenoise the composite (noisy colour, albedo, normal) is denoised once: the
    pixels outside the region stay the denoised source's exactly, and inside it matches a target
    rendered and denoised in full to within the verifier's tolerance."""
    pairs = samples("count", catalog, 3)
    regions = 0
    with RenderWorker(catalog, RenderSettings(samples=8, region=True, denoise=True)) as part, \
            RenderWorker(catalog, RenderSettings(samples=8, region=False, denoise=True)) as full:
        for s in pairs:
            src, tgt = part.render_pair(s.source, s.target, 3)
            _, whole = full.render_pair(s.source, s.target, 3)
            assert np.array_equal(tgt.mask, whole.mask)
            if tgt.region is None:
                continue
            regions += 1
            x0, y0, x1, y1 = tgt.region
            outside = np.ones((SIZE, SIZE), bool)
            outside[y0:y1, x0:x1] = False
            assert np.array_equal(tgt.rgb[outside], src.rgb[outside])
            d = np.abs(tgt.rgb.astype(int) - whole.rgb.astype(int)).max(axis=2)
            assert d[~outside].max() <= 15
    assert regions >= 1
