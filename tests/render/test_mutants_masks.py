"""The planner's image-space predictions (`masks.planned_mask`, `masks.unoccluded_share`) and the
in-place change check (`masks.visible_change`) on known scenes: from the camera of these tests
(on the -y axis, looking along +y) depth is the y coordinate, so an ideal renderer that paints
each object's silhouette far to near by y gives the mask both predictions must agree with."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from simedit.render.masks import planned_mask, silhouette_bound, unoccluded_share, visible_change
from simedit.render.scene import Camera, Scene, SceneObject, mask_value

CAM = Camera(position=(0.0, -0.6, 0.45), look_at=(0.0, 0.0, 0.05), fov=0.9, width=64, height=64)


@pytest.fixture(scope="module")
def catalog():
    from simedit.render.catalog.model import load_catalog
    return load_catalog()


def mug(uid: str, x: float, y: float) -> SceneObject:
    return SceneObject(uid, "coffee_mug", "mug", (x, y, 0.05))


def painted(scene: Scene, catalog) -> np.ndarray:
    """The ideal render's instance mask: silhouettes painted far (large y) to near."""
    mask = np.zeros((CAM.height, CAM.width), np.uint16)
    for o in sorted(scene.objects, key=lambda o: -o.position[1]):
        mask[silhouette_bound(scene, o.uid, catalog)] = mask_value(o.uid)
    return mask


def crowd() -> Scene:
    """A near mug half in front of a middle one, itself in front of a far one; listed near first,
    and one uid whose mask value does not fit a byte."""
    return Scene(objects=[mug("o0", -0.04, -0.05), mug("o300", 0.05, 0.02), mug("o2", 0.0, 0.12)], camera=CAM)


def test_planned_mask_paints_far_to_near_like_the_render(catalog):
    scene = crowd()
    predicted = planned_mask(scene, catalog)
    rendered = painted(scene, catalog)
    assert predicted.dtype == rendered.dtype and predicted.shape == (CAM.height, CAM.width)
    assert (predicted == rendered).all()
    # the overlaps exist, and the nearer object holds them whatever the listing order
    assert 0 < (predicted == mask_value("o300")).sum() < silhouette_bound(scene, "o300", catalog).sum()
    assert (predicted == mask_value("o2")).sum() < silhouette_bound(scene, "o2", catalog).sum()
    reordered = Scene(objects=scene.objects[::-1], camera=CAM)
    assert (planned_mask(reordered, catalog) == rendered).all()
    assert {0, mask_value("o0"), mask_value("o300"), mask_value("o2")} == set(np.unique(predicted).tolist())
    # a scene without objects is all floor
    empty = planned_mask(Scene(objects=[], camera=CAM), catalog)
    assert empty.shape == (CAM.height, CAM.width) and not empty.any()


def test_unoccluded_share_is_the_part_the_render_shows(catalog):
    scene = crowd()
    rendered = painted(scene, catalog)
    for uid in ("o0", "o300", "o2"):
        own = silhouette_bound(scene, uid, catalog).sum()
        assert unoccluded_share(scene, uid, catalog) == pytest.approx((rendered == mask_value(uid)).sum() / own)
    assert unoccluded_share(scene, "o0", catalog) == 1.0  # the nearest hides nothing of itself
    assert unoccluded_share(scene, "o300", catalog) < 1.0 and unoccluded_share(scene, "o2", catalog) < 1.0
    # o2 is hidden by both objects in front of it: each of them alone hides less
    for gone in ("o0", "o300"):
        fewer = Scene(objects=[o for o in scene.objects if o.uid != gone], camera=CAM)
        assert unoccluded_share(scene, "o2", catalog) < unoccluded_share(fewer, "o2", catalog) < 1.0
    # an object out of the frame shows nothing
    away = Scene(objects=[mug("o0", 0.0, 0.0), mug("o1", 6.0, 0.0)], camera=CAM)
    assert not silhouette_bound(away, "o1", catalog).any()
    assert unoccluded_share(away, "o1", catalog) == 0.0


@dataclass
class Out:
    rgb: np.ndarray
    mask: np.ndarray


def test_visible_change_needs_the_iou_below_its_limit_or_the_pixels_to_change():
    """An object changed in place shows it when its masks overlap by less than MIN_IOU_CHANGE
    (0.92, "falls below") or its pixels changed by more than MIN_APPEARANCE_CHANGE."""
    grey = np.full((10, 10, 3), 100, np.uint8)  # the object as grey as the floor: only its mask can change
    src = np.zeros((10, 10), np.uint16)
    src[0:5, 0:5] = mask_value("o0")  # 25 px
    for kept, iou in ((23, 0.92), (24, 0.96)):  # of the 25 px, the rest lost off one corner
        tgt = src.copy()
        tgt[4, kept - 20:5] = 0  # 2 or 1 px off the last row
        figures: dict = {}
        assert visible_change("o0", Out(grey, src), Out(grey, tgt), figures) == "no visible change on the object"
        assert figures["object_iou"] == iou and figures["object_change"] == 0.0
    tgt = src.copy()
    tgt[4, 2:5] = 0  # 22 of 25: IoU 0.88
    figures = {}
    assert visible_change("o0", Out(grey, src), Out(grey, tgt), figures) == "" and figures["object_iou"] == 0.88
    # the same mask, its pixels changed: 0.05 of the range is a change, 0.03 is not
    for levels, expect in ((13, ""), (8, "no visible change on the object")):
        lit = grey.copy()
        lit[src > 0] += levels
        figures = {}
        assert visible_change("o0", Out(grey, src), Out(lit, src), figures) == expect
        assert figures["object_iou"] == 1.0 and abs(figures["object_change"] - levels / 255) < 1e-4
