"""Training data a user feeds the trainer: images of any mode and size come out as aligned RGB
squares with a binary mask, crops reach every part of a wide frame, and mixes and stages hand
out every pair as often as their factors say, whatever epoch or stage a step falls in."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from PIL import Image

from simedit.train.data.augment import AugmentConfig, Decision, apply, augment, decide, swap_left_right
from simedit.train.data.mixing import Mixture, Stage, StagePlan


class Fake:
    def __init__(self, name: str, n: int):
        self.name, self.n = name, n

    def __len__(self) -> int:
        return self.n


def wide(w: int = 160, h: int = 90) -> Image.Image:
    a = np.zeros((h, w, 3), np.uint8)
    a[:, :4] = (255, 0, 0)  # a red band at the far left, a blue one at the far right
    a[:, -4:] = (0, 0, 255)
    a[h // 2 - 22: h // 2 + 23, w // 2 - 22: w // 2 + 23] = 255  # a 45 px white square in the middle
    return Image.fromarray(a)


def test_any_image_mode_and_size_comes_out_as_aligned_rgb_squares():
    src = Image.fromarray(np.full((20, 30), 90, np.uint8), "L")
    rgba = Image.fromarray(np.full((40, 60, 4), 200, np.uint8), "RGBA")  # the target at twice the size
    mask = Image.fromarray((np.arange(40 * 60).reshape(40, 60) % 7 == 0).astype(np.uint8) * 255, "L")
    for resize in ("squash", "crop"):
        out = augment(src, rgba, "x", mask, AugmentConfig(16, flip="off", resize=resize), np.random.default_rng(0))
        assert out.source.mode == out.target.mode == "RGB" and out.source.size == out.target.size == (16, 16)
        assert np.asarray(out.target)[..., 0].min() == 200  # RGBA's colour, not its alpha
        assert out.mask.size == (16, 16) and set(np.unique(np.asarray(out.mask))) <= {0, 255}  # still binary
    # a target of another size is resized onto the source's frame before cropping
    left = np.zeros((20, 40, 3), np.uint8)
    left[:, :20] = 255
    big_left = np.zeros((40, 80, 3), np.uint8)
    big_left[:, :40] = 255
    out = augment(Image.fromarray(left), Image.fromarray(big_left), "x", None,
                  AugmentConfig(16, flip="off", resize="crop", random_crop=False), np.random.default_rng(0))
    assert np.array_equal(np.asarray(out.source) > 127, np.asarray(out.target) > 127)


def test_a_crop_keeps_the_aspect_ratio_and_can_reach_both_edges():
    cfg = AugmentConfig(32, flip="off", resize="crop")
    centre = apply(wide(), wide(), None, Decision(0.5, 0.5, False, "x"), AugmentConfig(32, flip="off", resize="crop",
                                                                                       random_crop=False))
    white = (np.asarray(centre.source) > 200).all(-1)
    rows, cols = np.nonzero(white)
    assert abs((rows.max() - rows.min()) - (cols.max() - cols.min())) <= 1  # still a square
    assert 14 <= rows.max() - rows.min() + 1 <= 17  # 45 px of 90 -> 16 px of 32
    assert abs(cols.mean() - 15.5) <= 1 and abs(rows.mean() - 15.5) <= 1  # in the middle
    leftmost = np.asarray(apply(wide(), wide(), None, Decision(0.0, 0.0, False, "x"), cfg).source)
    rightmost = np.asarray(apply(wide(), wide(), None, Decision(0.9999, 0.9999, False, "x"), cfg).source)
    assert leftmost[:, 0, 0].mean() > 200 and rightmost[:, -1, 2].mean() > 200
    tall = wide().transpose(Image.Transpose.ROTATE_90)
    top = np.asarray(apply(tall, tall, None, Decision(0.0, 0.9999, False, "x"), cfg).source)
    assert top.shape == (32, 32, 3) and top[-1, :, 0].mean() > 200  # the band that ended up at the bottom


def test_squash_keeps_the_mask_and_a_flip_without_a_mask_works():
    img, mask = wide(), Image.fromarray(np.tile(np.arange(160) < 10, (90, 1)).astype(np.uint8) * 255, "L")
    out = apply(img, img, mask, Decision(0.3, 0.3, True, "x"), AugmentConfig(32, resize="squash"))
    assert out.mask is not None and out.mask.size == (32, 32)
    assert np.asarray(out.mask)[:, -1].min() == 255 and np.asarray(out.mask)[:, 0].max() == 0  # flipped with the images
    assert np.asarray(out.source)[:, -1, 0].mean() > 150
    flipped = apply(img, img, None, Decision(0.3, 0.3, True, "x"), AugmentConfig(32, resize="crop"))
    assert flipped.mask is None and flipped.flipped is True


def test_a_flip_decision_is_a_plain_bool_and_the_words_follow_it():
    cfg = AugmentConfig(16, flip="skip", flip_probability=1.0)
    d = decide("move it to the left", cfg, np.random.default_rng(0))
    assert d.flip is False and d.instruction == "move it to the left"
    d = decide("move it to the left", AugmentConfig(16, flip="swap", flip_probability=1.0), np.random.default_rng(0))
    assert d.flip is True and d.instruction == "move it to the right"
    never = AugmentConfig(16, flip="swap", flip_probability=0.0)
    assert not any(decide("left", never, np.random.default_rng(s)).flip for s in range(50))


@pytest.mark.parametrize("text, expected", [
    ("turn it Right Side Up", "turn it Right Side Up"),
    ("turn it right-side up", "turn it right-side up"),
    ("turn it right way up", "turn it right way up"),
    ("All right, push it left", "All right, push it right"),
    ("make A Right Angle on the left", "make A Right Angle on the right"),
    ("the right edge, the right half", "the left edge, the left half"),
    ("put it at the right", "put it at the left"),
    ("L", "L"),
])
def test_swap_keeps_words_that_name_no_side_in_any_case(text, expected):
    assert swap_left_right(text) == expected


def test_a_mix_with_an_empty_or_switched_off_source_still_covers_the_others():
    mix = Mixture([Fake("off", 5), Fake("one", 1), Fake("b", 3)], [0, 1, 2])
    assert mix.epoch_size == 7 and mix.slots.tolist() == [0, 1, 6]
    draws = Counter(mix.item(0, 0, n) for n in range(7))
    assert draws == Counter({(1, 0): 1, (2, 0): 2, (2, 1): 2, (2, 2): 2})
    # epochs after the cache has moved on are still there, and each has its own order
    orders = [[mix.item(0, 0, e * 7 + n) for n in range(7)] for e in range(4)]
    assert orders[0] == [mix.item(0, 0, n) for n in range(7)]
    assert all(Counter(o) == draws for o in orders)


def test_the_data_order_depends_on_the_seed_and_the_stage():
    mix = Mixture([Fake("a", 50)], [1])
    first = [mix.item(1, 0, n) for n in range(50)]
    assert first != [mix.item(2, 0, n) for n in range(50)]
    assert first != [mix.item(1, 1, n) for n in range(50)]
    assert sorted(first) == sorted(mix.item(1, 1, n) for n in range(50))


def test_stages_past_their_end_and_restarts():
    a, b = Mixture([Fake("a", 5)], [1]), Mixture([Fake("b", 5)], [1])
    bounded = StagePlan([Stage(a, 3), Stage(b, 2)])
    assert bounded.starts() == [0, 3]
    assert [bounded.locate(s) for s in (2, 3, 4, 5, 7)] == [(0, 2), (1, 0), (1, 1), (1, 2), (1, 4)]
    three = StagePlan([Stage(a, 2, restart=True), Stage(b, 3), Stage(a, None, restart=True)])
    assert three.starts() == [0, 2, 5] and three.restarts() == (5,)
    assert three.locate(9) == (2, 4)


def test_a_center_crop_keeps_the_middle_of_a_tall_or_wide_image():
    """Short-side resize without random crop: the square taken is the middle one, both ways."""
    import numpy as np
    from PIL import Image

    from simedit.train.data.augment import AugmentConfig, Decision, apply

    cfg = AugmentConfig(resolution=8, resize="crop", random_crop=False, flip="off")
    for w, h in ((8, 20), (20, 8)):  # 12 px to spare: 6 on each side
        img = np.zeros((h, w, 3), np.uint8)
        cy, cx = h // 2, w // 2
        img[cy - 1:cy + 1, cx - 1:cx + 1] = 255  # a 2x2 mark at the middle
        out = apply(Image.fromarray(img), Image.fromarray(img), None, Decision(0.0, 0.0, False, "x"), cfg)
        got = np.asarray(out.source)[..., 0]
        assert got.shape == (8, 8)
        rows, cols = np.nonzero(got > 128)
        assert set(rows) == {3, 4} and set(cols) == {3, 4}
