import numpy as np
import pytest
from PIL import Image

from simedit.train.data.augment import AugmentConfig, augment, is_spatial, swap_left_right


@pytest.mark.parametrize("text, expected", [
    ("move the cup to the left of the plate", "move the cup to the right of the plate"),
    ("Left of the bowl", "Right of the bowl"),
    ("MOVE IT LEFT", "MOVE IT RIGHT"),
    ("swap the leftmost and the rightmost cans", "swap the rightmost and the leftmost cans"),
    ("put it in the left-hand drawer", "put it in the right-hand drawer"),
    ("left, right, left.", "right, left, right."),
    ("make the bright mug upright", "make the bright mug upright"),
    ("copyright leftover", "copyright leftover"),
    # a "right" that names no side stays; every horizontal sense is mirrored consistently
    ("turn the cup right side up", "turn the cup right side up"),
    ("do it right now, right away", "do it right now, right away"),
    ("put the cup right next to the bowl on the left", "put the cup right next to the bowl on the right"),
    ("all right, make a right angle", "all right, make a right angle"),
    ("turn it clockwise", "turn it counterclockwise"),
    ("turn it Counter-clockwise, then anticlockwise", "turn it Clockwise, then clockwise"),
    ("slide it leftwards past the rightmost can", "slide it rightwards past the leftmost can"),
    ("turn it a quarter of the way around to the right", "turn it a quarter of the way around to the left"),
])
def test_swap_rewrites_whole_words_keeping_case(text, expected):
    assert swap_left_right(text) == expected


@pytest.mark.parametrize("text, spatial", [
    ("move the cup to the left", True), ("Right of the plate", True), ("the leftmost can", True),
    ("make the lamp bright", False), ("stand the bottle upright", False), ("alright, remove it", False),
    ("eat the leftovers", False),
    ("turn the mug right side up", False), ("do it right now", False), ("put it right next to the bowl", False),
    ("turn the mug clockwise", True), ("roll it leftwards", True), ("a right angle", False),
])
def test_is_spatial_whole_words_only(text, spatial):
    assert is_spatial(text) is spatial


def _asym() -> tuple[Image.Image, Image.Image, Image.Image]:
    a = np.zeros((16, 16, 3), np.uint8)
    a[:, :4] = 255  # bright band on the left only
    b = a.copy()
    b[:4, :] = 100
    m = np.zeros((16, 16), np.uint8)
    m[2:5, 1:3] = 255
    return Image.fromarray(a), Image.fromarray(b), Image.fromarray(m, "L")


def _flip_seed(policy: str, instruction: str, want: bool) -> Image.Image:
    for s in range(100):
        cfg = AugmentConfig(16, random_crop=False, flip=policy, resize="crop")
        out = augment(*_asym()[:2], instruction, _asym()[2], cfg, np.random.default_rng(s))
        if out.flipped is want:
            return out
    raise AssertionError("no seed gave the wanted flip")


def test_swap_flips_all_images_together_and_rewrites_instruction():
    src, tgt, mask = _asym()
    out = _flip_seed("swap", "move the square to the left", True)
    assert out.instruction == "move the square to the right"
    assert np.array_equal(np.asarray(out.source), np.asarray(src)[:, ::-1])
    assert np.array_equal(np.asarray(out.target), np.asarray(tgt)[:, ::-1])
    assert np.array_equal(np.asarray(out.mask), np.asarray(mask)[:, ::-1])
    same = _flip_seed("swap", "move the square to the left", False)
    assert same.instruction == "move the square to the left"
    assert np.array_equal(np.asarray(same.source), np.asarray(src))


def test_skip_never_flips_spatial_prompts_but_flips_others():
    src, tgt, mask = _asym()
    cfg = AugmentConfig(16, flip="skip")
    spatial = [augment(src, tgt, "move it to the left", mask, cfg, np.random.default_rng(s)) for s in range(200)]
    assert not any(o.flipped for o in spatial)
    assert all(o.instruction == "move it to the left" for o in spatial)
    bright = [augment(src, tgt, "make it bright and upright", mask, cfg, np.random.default_rng(s)).flipped for s in range(200)]
    assert 60 < sum(bright) < 140  # "bright"/"upright" are not spatial: flipped about half the time


def test_off_never_flips():
    src, tgt, mask = _asym()
    cfg = AugmentConfig(16, flip="off")
    assert not any(augment(src, tgt, "remove it", mask, cfg, np.random.default_rng(s)).flipped for s in range(100))


def test_squash_keeps_the_whole_wide_frame_as_aurora():
    wide = np.zeros((90, 160, 3), np.uint8)
    wide[:, :10] = 255  # something at the far left edge of a 16:9 frame
    img = Image.fromarray(wide)
    squashed = augment(img, img, "x", None, AugmentConfig(32, flip="off"), np.random.default_rng(0))
    assert squashed.source.size == (32, 32) and np.asarray(squashed.source)[:, 0].mean() > 200
    cropped = augment(img, img, "x", None, AugmentConfig(32, flip="off", resize="crop", random_crop=False),
                      np.random.default_rng(0))
    assert np.asarray(cropped.source)[:, 0].mean() < 10  # a centre crop loses 44% of the width


def test_crop_is_shared_between_source_target_and_mask():
    a = np.arange(24 * 32 * 3, dtype=np.uint32).reshape(24, 32, 3) % 251
    img = Image.fromarray(a.astype(np.uint8))
    mask = Image.fromarray((a[..., 0] % 2 * 255).astype(np.uint8), "L")
    out = augment(img, img.copy(), "x", mask, AugmentConfig(24, flip="off", resize="crop"), np.random.default_rng(5))
    assert out.source.size == (24, 24)
    assert np.array_equal(np.asarray(out.source), np.asarray(out.target))
    # The mask was cut from the same window: it matches the parity pattern of the source's red channel.
    assert np.array_equal(np.asarray(out.mask) > 0, np.asarray(out.source)[..., 0] % 2 == 1)
