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

from simedit.render import camera as cam
from simedit.render.catalog.model import load_catalog
from simedit.render.masks import bottom_row, centroid, polygon_mask, shadow_region, silhouette_bound
from simedit.render.plan.planner import Planner
from simedit.render.poses import world_hull
from simedit.render.scene import Camera, Edit, Light, Scene, SceneObject, mask_value
from simedit.render.spec import load_spec
from simedit.render.verify import verify_pair
from simedit.render.visibility import contrast

CAM = Camera(position=(0.0, -1.2, 0.9), look_at=(0.0, 0.0, 0.05), fov=0.9, width=64, height=64)
SUN = Light(kind="sun", energy=2.0, direction=(0.0, 0.97, -0.22))  # low, away from the camera: a long shadow


@dataclass
class Out:
    """What the verifier reads of a render: its docstring asks for `.rgb` and `.mask` only."""
    rgb: np.ndarray
    mask: np.ndarray


@dataclass
class Lit(Out):
    shadow_lights: tuple = ()  # the world map's bright spots the renderer reports (directions)


@functools.cache
def ctx():
    return Planner(load_spec("scenes/location.yaml"), load_catalog()).contexts[0]


def mug(uid: str, x: float, y: float) -> SceneObject:
    return SceneObject(uid, "coffee_mug", f"mug {uid}", (x, y, 0.05))


def render(scene: Scene, shadows: bool = False, spots: tuple = ()) -> Out:
    """Background 100, each object its silhouette in its own colour (nearest drawn last). With
    `shadows`, each object casts a hard shadow (background 40) on the floor along each of the
    scene's suns and each of `spots` (directions the render reports as `shadow_lights`)."""
    catalog = ctx().catalog
    h, w = scene.camera.height, scene.camera.width
    mask = np.zeros((h, w), np.uint16)
    rgb = np.full((h, w, 3), 100, np.uint8)
    if shadows:
        for o in scene.objects:
            hull = world_hull(o, catalog)
            for d in [np.asarray(light.direction, float) for light in scene.lights] + [np.asarray(d, float) for d in spots]:
                floor = hull - d[None, :] * (hull[:, 2:3] / d[2])  # the hull pushed onto z = 0 along the light
                rgb[polygon_mask(cam.project(scene.camera, floor), h, w)] = 40
    for o in sorted(scene.objects, key=lambda o: -o.position[1]):  # far first
        m = silhouette_bound(scene, o.uid, catalog)
        mask[m] = mask_value(o.uid)
        rgb[m] = (40 + 50 * mask_value(o.uid), 200, 60)
    return Lit(rgb, mask, tuple(spots)) if spots else Out(rgb, mask)


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
    # the margin holds whatever the shadows' dilation, also under it
    assert verdicts(edit, s, t, src, Out(changed, tgt.mask), shadow_px=1, min_unchanged_fraction=0.999).ok
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


def refusals():
    """One pair refused for each reason the verifier gives, with the object it names."""
    edit, s, t = pair()
    src, tgt = render(s), render(t)
    o0 = tgt.mask == mask_value("o0")
    out: dict[str, tuple] = {}
    bad = tgt.rgb.copy()
    bad[50:64, 0:8] = 0
    out["not_minimal"] = (verify_pair(edit, s, t, src, Out(bad, tgt.mask), ctx()), "")
    gone = Scene(objects=[mug("o0", -0.1, 0.0), mug("o1", 0.2, 0.1)], camera=CAM)
    left = gone.copy()
    left.objects = [o for o in left.objects if o.uid != "o0"]
    remove = Edit("count", "remove", ["o0"], [], {"n": 1, "name": "mug o0"})
    out["removed_still_visible"] = (verify_pair(remove, gone, left, render(gone), Out(render(left).rgb, render(gone).mask),
                                                ctx()), "o0")
    hidden = tgt.mask.copy()
    rows = np.nonzero(o0.any(1))[0]
    hidden[o0 & (np.arange(64)[:, None] < rows[0] + int(0.7 * len(rows)))] = mask_value("o1")
    out["occluded"] = (verify_pair(edit, s, t, src, Out(tgt.rgb, hidden), ctx()), "o0")
    part = tgt.mask.copy()
    part[o0 & (np.arange(64)[:, None] < rows[0] + 1)] = 0  # its top row: a few px under 20.6, over half of it
    out["too_small"] = (verify_pair(edit, s, t, src, Out(tgt.rgb, part), ctx()), "o0")
    faint = tgt.rgb.copy()
    faint[o0] = (104, 100, 100)  # the moved mug painted almost the floor's grey
    out["low_contrast"] = (verify_pair(edit, s, t, src, Out(faint, tgt.mask), ctx()), "o0")
    out["no_visible_change"] = (verify_pair(edit, s, t, src, Out(src.rgb, src.mask), ctx()), "")
    wrong = Edit("location", "absolute", ["o0"], [], {"direction": "right"})
    out["claim_not_visible"] = (verify_pair(wrong, s, t, src, tgt, ctx()), "")
    return out


def test_every_reason_is_a_refusal_that_names_its_object():
    """Each check refuses with False, its own reason and a one-line detail naming the object
    (what the reject record keeps); none of them lets the pair through."""
    for reason, (v, uid) in refusals().items():
        assert v.ok is False and v.reason == reason, (reason, v)
        assert isinstance(v.detail, str) and v.detail and uid in v.detail, (reason, v.detail)
        assert isinstance(v.figures, dict) and "unchanged_fraction" in v.figures, reason
    v = refusals()["low_contrast"][0]
    assert "in the target" in v.detail and v.figures["target_o0_contrast"] < 10 <= v.figures["source_o0_contrast"]


def test_every_threshold_is_met_by_equality():
    """The spec states each threshold as "at least" / "at most": a noise-free pair that meets one
    exactly passes, and one step beyond it is refused."""
    edit, s, t = pair()
    src, tgt = render(s), render(t)
    area = int((tgt.mask == mask_value("o0")).sum())
    # pixel_tolerance 0: identical pixels are unchanged (outside the edit, and inside it)
    assert verdicts(edit, s, t, src, tgt, pixel_tolerance=0.0).ok
    v = verdicts(edit, s, s, src, Out(src.rgb.copy(), src.mask), pixel_tolerance=0.0)
    assert v.reason == "no_visible_change" and v.figures["changed_px"] == 0
    # min_unchanged_fraction 1: nothing outside may change, and nothing did
    assert verdicts(edit, s, t, src, tgt, min_unchanged_fraction=1.0).ok
    one = tgt.rgb.copy()
    one[63, 0] = 0
    assert verdicts(edit, s, t, src, Out(one, tgt.mask), min_unchanged_fraction=1.0).reason == "not_minimal"
    # min_visible_fraction 1: the object shows all of its silhouette
    assert verdicts(edit, s, t, src, tgt, min_visible_fraction=1.0).ok
    # min_visible_px is stated at 256x256: at 64x64, 16 * area asks for exactly the object's area
    assert verdicts(edit, s, t, src, tgt, min_visible_px=16 * area).ok
    v = verdicts(edit, s, t, src, tgt, min_visible_px=16 * area + 1)
    assert v.reason == "too_small" and f"covers {area} px" in v.detail
    # min_contrast: the object's contrast (as the figures state it, to 0.1) is enough, 0.1 more is not
    measured = min(contrast(out.rgb, out.mask == mask_value("o0")) for out in (src, tgt))
    shown = verify_pair(edit, s, t, src, tgt, ctx()).figures
    assert abs(min(shown["source_o0_contrast"], shown["target_o0_contrast"]) - measured) <= 0.05
    assert verdicts(edit, s, t, src, tgt, min_contrast=round(measured, 1)).ok
    v = verdicts(edit, s, t, src, tgt, min_contrast=measured + 0.1)
    assert v.reason == "low_contrast" and "o0 stands out by" in v.detail


def recolour(scene: Scene, uid: str, painted: int, src: Out) -> Out:
    """The first `painted` pixels of the object (in row order) turned redder, the rest as before."""
    rgb = src.rgb.copy()
    rows, cols = np.nonzero(src.mask == mask_value(uid))
    rgb[rows[:painted], cols[:painted]] = (255, 0, 0)
    return Out(rgb, src.mask)


def test_a_visible_change_is_20_px_at_256x256_or_5_percent_of_the_object():
    """The change inside the edited object must reach MIN_CHANGED_PX (stated at 256x256, scaled
    with the image area) and MIN_CHANGED_SHARE of its pixels, whichever is larger."""
    big = Camera(position=CAM.position, look_at=CAM.look_at, fov=CAM.fov, width=256, height=256)
    s = Scene(objects=[mug("o0", -0.1, 0.0), mug("o1", 0.2, 0.1)], camera=big)
    edit = Edit("attribute", "color", ["o0"], [], {"to_color": "red"})
    src = render(s)
    area = int((src.mask == mask_value("o0")).sum())
    assert 330 <= area and 0.05 * area < 19  # a small object: the 20 px floor is the larger
    v = verify_pair(edit, s, s, src, recolour(s, "o0", 19, src), ctx())
    assert v.reason == "no_visible_change" and v.figures["changed_px"] == 19
    v = verify_pair(edit, s, s, src, recolour(s, "o0", 20, src), ctx())
    assert v.ok and v.figures["changed_px"] == 20
    # a close-up at 64x64: the object is large, 5% of it is more than the scaled 1.25 px
    near = Camera(position=(0.0, -0.6, 0.45), look_at=CAM.look_at, fov=CAM.fov, width=64, height=64)
    s = Scene(objects=[mug("o0", -0.08, 0.0)], camera=near)
    src = render(s)
    area = int((src.mask == mask_value("o0")).sum())
    need = math.ceil(0.05 * area)
    assert need >= 3
    assert verify_pair(edit, s, s, src, recolour(s, "o0", need - 1, src), ctx()).reason == "no_visible_change"
    assert verify_pair(edit, s, s, src, recolour(s, "o0", need, src), ctx()).ok


def test_a_pair_whose_edit_covers_the_frame_compares_nothing_and_is_minimal():
    edit, s, t = pair()
    v = verdicts(edit, s, t, render(s), render(t), dilate_px=64, shadow_px=64)
    assert v.ok and v.figures["compared_fraction"] == 0.0 and v.figures["unchanged_fraction"] == 1.0


def twins():
    """Two mugs of one name, both removed."""
    s = Scene(objects=[SceneObject("o0", "coffee_mug", "mug", (-0.1, 0.0, 0.05)),
                       SceneObject("o1", "coffee_mug", "mug", (0.2, -0.05, 0.05))], camera=CAM)
    t = s.copy()
    t.objects = []
    return Edit("count", "remove", ["o0", "o1"], [], {"n": 2, "name": "mug"}), s, t


def test_every_edited_object_keeps_its_margin_and_every_removed_one_must_be_gone():
    edit, s, t = twins()
    src, tgt = render(s), render(t)
    assert verify_pair(edit, s, t, src, tgt, ctx()).ok
    # a change hugging the first removed mug, outside both mugs' hulls and skirts (what shadow_px
    # 0 leaves of the shadow regions): inside its dilate_px margin, so allowed
    from scipy import ndimage
    near = src.mask == mask_value("o0")
    cast = shadow_region(s, "o0", ctx().catalog) | shadow_region(s, "o1", ctx().catalog)
    other = ndimage.binary_dilation(src.mask == mask_value("o1"), iterations=3)
    ring = ndimage.binary_dilation(near, iterations=2) & ~near & ~cast & ~other
    assert ring.sum() >= 8
    changed = tgt.rgb.copy()
    changed[ring] = 0
    assert verdicts(edit, s, t, src, Out(changed, tgt.mask), shadow_px=0, min_unchanged_fraction=0.999).ok
    # the margin holds whatever the shadows' dilation, also under it
    assert verdicts(edit, s, t, src, Out(changed, tgt.mask), shadow_px=1, min_unchanged_fraction=0.999).ok
    assert verdicts(edit, s, t, src, Out(changed, tgt.mask), dilate_px=0, shadow_px=0,
                    min_unchanged_fraction=0.999).reason == "not_minimal"
    # the second removed mug still in the target's mask
    still = tgt.mask.copy()
    still[src.mask == mask_value("o1")] = mask_value("o1")
    v = verify_pair(edit, s, t, src, Out(tgt.rgb, still), ctx())
    assert v.reason == "removed_still_visible" and v.detail == "o1"


def test_shadows_in_both_images_and_along_the_reported_lights_may_change():
    """A moved object's shadow leaves the source's floor and falls on the target's: both may
    change, along the scene's suns and along the bright spots of the world map the renderer
    reports (`shadow_lights`); the same shadows are a change the edit does not explain without them."""
    low = (0.7, -0.7, -0.2)  # low, from behind the camera's left: shadows toward the camera, to the right
    strict = {"min_unchanged_fraction": 0.999}  # a noise-free renderer
    edit, s, t = pair(lights=[Light(kind="sun", energy=2.0, direction=low)])
    src, tgt = render(s, shadows=True), render(t, shadows=True)
    assert verdicts(edit, s, t, src, tgt, **strict).ok
    # no sun in the scene, the same light reported by the render
    edit, s, t = pair()
    src, tgt = render(s, shadows=True, spots=(low,)), render(t, shadows=True, spots=(low,))
    assert verdicts(edit, s, t, src, tgt, **strict).ok
    assert verdicts(edit, s, t, Out(src.rgb, src.mask), Out(tgt.rgb, tgt.mask), **strict).reason == "not_minimal"
