"""The truly-minimal verifier on a known pair: an ideal renderer paints each object's projected
silhouette into the instance mask, so every figure the verifier measures is known. A pair whose
only change is the edit passes; a change elsewhere, an edited object hidden behind another, a
removed object still in the mask, or a claim the masks do not show is refused with its reason."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pytest

from simedit.render.catalog.model import load_catalog
from simedit.render.masks import bottom_row, centroid, polygon_mask, shadow_region, silhouette_bound
from simedit.render.plan.planner import Planner
from simedit.render.scene import Camera, Edit, Light, Scene, SceneObject, mask_value
from simedit.render.spec import load_spec
from simedit.render.verify import verify_pair

CAM = Camera(position=(0.0, -1.2, 0.9), look_at=(0.0, 0.0, 0.05), fov=0.9, width=64, height=64)
SUN = Light(kind="sun", energy=2.0, direction=(0.0, 0.97, -0.22))  # low, away from the camera: a long shadow


@dataclass
class Out:
    rgb: np.ndarray
    mask: np.ndarray


@functools.cache
def ctx():
    return Planner(load_spec("scenes/location.yaml"), load_catalog()).contexts[0]


def mug(uid: str, x: float, y: float) -> SceneObject:
    return SceneObject(uid, "coffee_mug", f"mug {uid}", (x, y, 0.05))


def render(scene: Scene) -> Out:
    """Background 100, each object its silhouette in its own colour (nearest drawn last)."""
    catalog = ctx().catalog
    mask = np.zeros((64, 64), np.uint16)
    rgb = np.full((64, 64, 3), 100, np.uint8)
    for o in sorted(scene.objects, key=lambda o: -o.position[1]):  # far first
        m = silhouette_bound(scene, o.uid, catalog)
        mask[m] = mask_value(o.uid)
        rgb[m] = (40 + 50 * mask_value(o.uid), 200, 60)
    return Out(rgb, mask)


def pair(lights=()):
    source = Scene(objects=[mug("o0", -0.1, 0.0), mug("o1", 0.2, 0.1)], camera=CAM, lights=list(lights))
    target = source.copy()
    target.get("o0").position = (-0.3, 0.0, 0.05)
    edit = Edit("location", "absolute", ["o0"], [], {"direction": "left"})
    return edit, source, target


def test_a_pair_that_changes_only_the_edit_passes_with_its_figures():
    edit, s, t = pair()
    src, tgt = render(s), render(t)
    v = verify_pair(edit, s, t, src, tgt, ctx())
    assert v.ok and v.reason == "" and v.detail == ""
    assert v.figures["unchanged_fraction"] == 1.0
    assert 0.5 < v.figures["compared_fraction"] < 1.0  # the edited object's regions are left out
    area = int((src.mask == mask_value("o0")).sum())
    assert v.figures["source_o0_px"] == area and v.figures["target_o0_px"] > 0
    assert "source_o1_px" not in v.figures  # only edited and referenced objects are measured
    # noise below the pixel tolerance anywhere is no change
    noisy = Out(np.clip(tgt.rgb.astype(int) + 12, 0, 255).astype(np.uint8), tgt.mask)
    assert verify_pair(edit, s, t, src, noisy, ctx()).ok


def test_a_change_outside_the_edit_is_not_minimal():
    edit, s, t = pair()
    src, tgt = render(s), render(t)
    changed = tgt.rgb.copy()
    changed[50:64, 0:8] = 0  # 112 background pixels, 2.7% of the image
    v = verify_pair(edit, s, t, src, Out(changed, tgt.mask), ctx())
    assert not v.ok and v.reason == "not_minimal" and "of untouched pixels unchanged" in v.detail
    assert v.figures["unchanged_fraction"] < 0.98
    # the same number of changed pixels hugging the edited object (within dilate_px) is allowed
    ring = tgt.rgb.copy()
    near = (tgt.mask == mask_value("o0")) | (src.mask == mask_value("o0"))
    from scipy import ndimage
    border = ndimage.binary_dilation(near, iterations=2) & ~near
    ring[border] = 0
    assert verify_pair(edit, s, t, src, Out(ring, tgt.mask), ctx()).ok
    # but not just beyond the object's margin (dilate_px 3) and where its shadows can fall
    # (its hull pushed along the lights and the soft-shadow skirt, grown by shadow_px 6)
    cast = shadow_region(s, "o0", ctx().catalog) | shadow_region(t, "o0", ctx().catalog)
    allowed = ndimage.binary_dilation(near, iterations=3) | ndimage.binary_dilation(cast, iterations=6)
    outer = ndimage.binary_dilation(allowed, iterations=4) & ~allowed
    assert outer.sum() > 0.03 * 64 * 64
    far = tgt.rgb.copy()
    far[outer] = 0
    assert verify_pair(edit, s, t, src, Out(far, tgt.mask), ctx()).reason == "not_minimal"


def test_a_sun_shadow_of_the_edited_object_may_change():
    edit, s, t = pair(lights=[SUN])
    src, tgt = render(s), render(t)
    from scipy import ndimage
    cast = shadow_region(t, "o0", ctx().catalog) | shadow_region(s, "o0", ctx().catalog)
    edited = (src.mask == mask_value("o0")) | (tgt.mask == mask_value("o0"))
    # what the edit explains without a sun: the object's margin (dilate_px 3) and its soft shadow
    # on the floor around it (the skirt, grown by shadow_px 6)
    _, s0, t0 = pair()
    skirt = shadow_region(t0, "o0", ctx().catalog) | shadow_region(s0, "o0", ctx().catalog)
    unlit = ndimage.binary_dilation(edited, iterations=3) | ndimage.binary_dilation(skirt, iterations=6)
    # where the sun's shadow can fall beyond that
    shade = ndimage.binary_dilation(cast, iterations=6) & ~unlit
    shade &= (tgt.mask == 0) & (src.mask == 0)
    assert shade.sum() > 0.02 * 64 * 64  # over 2% of the compared pixels, which are fewer than all
    dark = tgt.rgb.copy()
    dark[shade] = 20
    assert verify_pair(edit, s, t, src, Out(dark, tgt.mask), ctx()).ok
    # without the sun the same darkening is a change the edit does not explain
    edit2, s2, t2 = pair()
    assert verify_pair(edit2, s2, t2, render(s2), Out(dark, tgt.mask), ctx()).reason == "not_minimal"
    # a light from below casts no shadow on the floor
    up = Light(kind="sun", energy=1.0, direction=(0.0, 0.0, 1.0))
    below = shadow_region(Scene(objects=t.objects, camera=CAM, lights=[up]), "o0", ctx().catalog)
    assert (below == shadow_region(Scene(objects=t.objects, camera=CAM), "o0", ctx().catalog)).all()
    assert (cast & ~below).any()  # the sun's shadow reaches beyond the skirt


def test_an_edited_object_hidden_behind_another_is_refused():
    edit, s, t = pair()
    src, tgt = render(s), render(t)
    hidden = tgt.mask.copy()
    o0 = hidden == mask_value("o0")
    rows = np.nonzero(o0.any(1))[0]
    hidden[o0 & (np.arange(64)[:, None] < rows[0] + int(0.7 * len(rows)))] = mask_value("o1")
    v = verify_pair(edit, s, t, src, Out(tgt.rgb, hidden), ctx())
    assert not v.ok and v.reason == "occluded" and "o0 shows" in v.detail and "in the target" in v.detail
    # a reference object must be visible too
    rel = Edit("location", "relative", ["o0"], ["o1"], {"direction": "left_of"})
    gone = src.mask.copy()
    gone[gone == mask_value("o1")] = 0
    v = verify_pair(rel, s, t, Out(src.rgb, gone), tgt, ctx())
    assert v.reason == "occluded" and "o1" in v.detail and "source" in v.detail


def test_a_removed_object_must_be_gone_from_the_target_mask():
    s = Scene(objects=[mug("o0", -0.1, 0.0), mug("o1", 0.2, 0.1)], camera=CAM)
    t = s.copy()
    t.objects = [o for o in t.objects if o.uid != "o0"]
    edit = Edit("count", "remove", ["o0"], [], {"n": 1, "name": "mug o0"})
    src = render(s)
    still = Out(render(t).rgb, src.mask)
    v = verify_pair(edit, s, t, src, still, ctx())
    assert not v.ok and v.reason == "removed_still_visible" and v.detail == "o0"
    assert verify_pair(edit, s, t, src, render(t), ctx()).ok


def test_a_claim_the_masks_do_not_show_is_refused():
    edit, s, t = pair()
    wrong = Edit("location", "absolute", ["o0"], [], {"direction": "right"})
    v = verify_pair(wrong, s, t, render(s), render(t), ctx())
    assert not v.ok and v.reason == "claim_not_visible" and "right" in v.detail


def test_mask_geometry_helpers():
    m = np.zeros((10, 10), bool)
    m[2:5, 3:9] = True
    assert np.allclose(centroid(m), [5.5, 3.0]) and bottom_row(m) == 4
    square = polygon_mask(np.array([[1.0, 1.0], [6.0, 1.0], [6.0, 6.0], [1.0, 6.0]]), 8, 8)
    assert square.sum() == 25 and square[1:6, 1:6].all()
    assert not polygon_mask(np.array([[1.0, 1.0], [6.0, 6.0]]), 8, 8).any()  # fewer than 3 points
    assert not polygon_mask(np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]), 8, 8).any()  # a line
    assert polygon_mask(np.array([[1.0, 1.0], [6.0, 1.0], [6.0, 6.0], [np.nan, 1.0], [1.0, 6.0]]), 8, 8).sum() == 25
    tri = polygon_mask(np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]]), 8, 8)
    assert tri[0, 0] and not tri[7, 7] and tri.sum() == 36  # pixel centres on or below the diagonal
    bound = silhouette_bound(pair()[1], "o0", ctx().catalog)
    assert bound.shape == (64, 64) and 20 < bound.sum() < 64 * 64 / 4
    assert math.isclose(float(bound.mean()), float(render(pair()[1]).mask.__eq__(mask_value("o0")).mean()))


def verdicts(edit, s, t, src, tgt, **verify):
    """The verdict under the spec's thresholds, with `verify` fields overridden."""
    c = ctx()
    spec = c.spec.model_copy(update={"verify": c.spec.verify.model_copy(update=verify)})
    from simedit.render.plan.edits.base import EditContext
    return verify_pair(edit, s, t, src, tgt, EditContext(spec, c.edit_spec, c.catalog, c.pool, c.colors))


def test_every_refusal_is_a_false_verdict_with_its_figures():
    edit, s, t = pair()
    src, tgt = render(s), render(t)
    bad = tgt.rgb.copy()
    bad[50:64, 0:8] = 0
    for v in (verify_pair(edit, s, t, src, Out(bad, tgt.mask), ctx()),
              verify_pair(Edit("location", "absolute", ["o0"], [], {"direction": "right"}), s, t, src, tgt, ctx()),
              verify_pair(edit, s, t, src, Out(src.rgb, src.mask), ctx())):
        assert v.ok is False and v.reason and v.detail and "unchanged_fraction" in v.figures
    assert verify_pair(edit, s, t, src, tgt, ctx()).ok is True


def test_a_pair_whose_edited_object_did_not_visibly_change_is_refused():
    edit, s, t = pair()
    src = render(s)
    v = verify_pair(edit, s, t, src, Out(src.rgb, src.mask), ctx())  # the masks say nothing moved
    assert v.reason == "no_visible_change" and v.figures["changed_px"] == 0 and "0 px changed" in v.detail
    tgt = render(t)
    v = verify_pair(edit, s, t, src, tgt, ctx())
    moved = (src.mask == mask_value("o0")) ^ (tgt.mask == mask_value("o0"))
    assert v.ok and v.figures["changed_px"] == int(moved.sum())
    # a change just above the pixel tolerance counts, one at it does not
    faint = Out(src.rgb.copy(), src.mask)
    o0 = src.mask == mask_value("o0")
    faint.rgb[o0] = faint.rgb[o0] + np.array([16, 0, 0], np.uint8)  # 16/255 = 0.063 > 0.06
    assert verdicts(edit, s, s, src, faint).figures["changed_px"] == int(o0.sum())
    faint.rgb[o0] = src.rgb[o0] + np.array([15, 0, 0], np.uint8)  # 15/255 = 0.0588
    assert verdicts(edit, s, s, src, faint).reason == "no_visible_change"


def test_the_verify_thresholds_of_the_spec_apply():
    edit, s, t = pair()
    src, tgt = render(s), render(t)
    near = (tgt.mask == mask_value("o0")) | (src.mask == mask_value("o0"))
    from scipy import ndimage
    cast = shadow_region(s, "o0", ctx().catalog) | shadow_region(t, "o0", ctx().catalog)
    ring = ndimage.binary_dilation(near, iterations=2) & ~near & ~cast
    assert ring.sum() >= 8  # above the object, outside its (undilated) shadow and skirt
    changed = tgt.rgb.copy()
    changed[ring] = 0
    assert verdicts(edit, s, t, src, Out(changed, tgt.mask), min_unchanged_fraction=0.999).ok
    assert verdicts(edit, s, t, src, Out(changed, tgt.mask), shadow_px=0, min_unchanged_fraction=0.999).ok
    assert verdicts(edit, s, t, src, Out(changed, tgt.mask), dilate_px=0, shadow_px=0,
                    min_unchanged_fraction=0.999).reason == "not_minimal"
    assert verdicts(edit, s, t, src, Out(changed, tgt.mask), min_unchanged_fraction=0.5).ok
    # an object must show min_visible_fraction of its silhouette: a stricter spec refuses a part
    part = tgt.mask.copy()
    o0 = part == mask_value("o0")
    rows = np.nonzero(o0.any(1))[0]
    part[o0 & (np.arange(64)[:, None] < rows[0] + len(rows) // 4)] = 0
    assert verdicts(edit, s, t, src, Out(tgt.rgb, part), min_visible_px=40).ok
    assert verdicts(edit, s, t, src, Out(tgt.rgb, part), min_visible_px=40,
                    min_visible_fraction=0.99).reason == "occluded"
    # and cover min_visible_px (stated at 256x256: 330 is 20.6 px at 64x64; this part has 20)
    assert verdicts(edit, s, t, src, Out(tgt.rgb, part)).reason == "too_small"
    assert verdicts(edit, s, t, src, Out(tgt.rgb, part), min_visible_px=4000).reason == "too_small"
    # shadows: with shadow_px 0 only the shadow polygon itself may change
    edit2, s2, t2 = pair(lights=[SUN])
    assert verdicts(edit2, s2, t2, render(s2), render(t2), shadow_px=0).ok
