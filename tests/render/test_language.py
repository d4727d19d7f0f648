"""Instructions from templates: wording, paraphrase coverage, determinism, plurals,
referring expressions. Pure Python: scenes are built by hand, nothing is rendered."""
from __future__ import annotations

import re

import numpy as np
import pytest

from simedit.render.plan import templates
from simedit.render.common.errors import Reject
from simedit.render.plan.language import all_instructions, instruction
from simedit.render.plan.referring import referring_name
from simedit.render.plan.templates import paraphrases
from simedit.render.scene import Camera, Edit, Scene, SceneObject

# Camera looks along +Y from the front: world -X is image left, smaller Y is closer.
CAM = Camera(position=(0.0, -1.2, 0.9), look_at=(0.0, 0.0, 0.05), fov=0.9, width=64, height=64)

NUMBER_WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def obj(uid: str, name: str, x: float, y: float, asset: str | None = None) -> SceneObject:
    return SceneObject(uid=uid, asset_id=asset or name.split()[-1], name=name, position=(x, y, 0.05))


def scene(*objects: SceneObject) -> Scene:
    return Scene(objects=list(objects), camera=CAM)


def base() -> Scene:
    return scene(
        obj("o0", "red mug", -0.25, 0.0),
        obj("o1", "blue bowl", 0.25, 0.05),
        obj("o2", "white ramekin", 0.0, 0.25),
        obj("o3", "white ramekin", 0.2, 0.3),
        obj("o4", "white ramekin", -0.2, 0.3),
        obj("o5", "orange mug", 0.05, -0.2),
    )


def with_added(src: Scene, name: str, n: int) -> tuple[Scene, list[str]]:
    tgt = src.copy()
    uids = [f"n{i}" for i in range(n)]
    for i, uid in enumerate(uids):
        tgt.objects.append(obj(uid, name, -0.3 + 0.1 * i, 0.4))
    return tgt, uids


def without(src: Scene, uids: list[str]) -> Scene:
    tgt = src.copy()
    tgt.objects = [o for o in tgt.objects if o.uid not in uids]
    return tgt


def renamed(src: Scene, uid: str, name: str) -> Scene:
    tgt = src.copy()
    tgt.get(uid).name = name
    return tgt


def cases() -> list[tuple[str, Edit, Scene, Scene]]:
    """(id, edit, source, target) for every subtype and every variant of its wording."""
    s = base()
    out: list[tuple[str, Edit, Scene, Scene]] = []
    for d in ("left_of", "right_of", "in_front_of", "behind"):
        out.append((f"relative-{d}", Edit("location", "relative", ["o0"], ["o1"], {"direction": d}), s, s))
    for d in ("left", "right", "closer", "further"):
        out.append((f"absolute-{d}", Edit("location", "absolute", ["o0"], [], {"direction": d}), s, s))
    for sub in ("attract", "repel", "swap"):
        out.append((sub, Edit("location", sub, ["o0", "o1"]), s, s))
    out.append(("turn_around", Edit("rotation", "turn_around", ["o0"], [], {"axis": "z", "angle_deg": 180}), s, s))
    for d in ("left", "right"):
        e = Edit("rotation", "turn_90", ["o0"], [], {"axis": "z", "angle_deg": 90, "direction": d})
        out.append((f"turn_90-{d}", e, s, s))
    out.append(("fall_over", Edit("rotation", "fall_over", ["o0"], [], {"axis": "x", "angle_deg": 90}), s, s))
    out.append(("flip", Edit("rotation", "flip", ["o1"], [], {"axis": "y", "angle_deg": 180}), s, s))
    for n in (1, 2, 3, 10):
        tgt, uids = with_added(s, "green cup", n)
        out.append((f"add_new-{n}", Edit("count", "add", uids, [], {"n": n, "asset_id": "cup"}), s, tgt))
        tgt, uids = with_added(s, "red mug", n)
        out.append((f"add_more-{n}", Edit("count", "add", uids, [], {"n": n, "asset_id": "mug"}), s, tgt))
    out.append(("remove_only", Edit("count", "remove", ["o0"], [], {"n": 1}), s, without(s, ["o0"])))
    for uids in (["o2"], ["o2", "o3"]):
        e = Edit("count", "remove", uids, [], {"n": len(uids)})
        out.append((f"remove_some-{len(uids)}", e, s, without(s, uids)))
    all3 = ["o2", "o3", "o4"]
    out.append(("remove_all-3", Edit("count", "remove", all3, [], {"n": 3}), s, without(s, all3)))
    two = without(s, ["o4"])
    out.append(("remove_all-2", Edit("count", "remove", ["o2", "o3"], [], {"n": 2}), two, without(two, ["o2", "o3"])))
    for d, f in (("bigger", 1.5), ("smaller", 0.6)):
        out.append((f"size-{d}", Edit("attribute", "size", ["o0"], [], {"direction": d, "factor": f}), s, s))
    e = Edit("attribute", "shape", ["o0"], [], {"new_asset_id": "tumbler"})
    out.append(("shape", e, s, renamed(s, "o0", "red tumbler")))
    e = Edit("attribute", "color", ["o0"], [], {"from_color": "red", "to_color": "blue"})
    out.append(("color", e, s, renamed(s, "o0", "blue mug")))
    return out


CASES = cases()
IDS = [c[0] for c in CASES]


def assert_clean(text: str) -> None:
    assert text == text.strip() and text
    assert "{{" not in text and "}}" not in text and "{%" not in text and "%}" not in text
    assert "{#" not in text and "None" not in text and "Undefined" not in text
    assert "  " not in text and "\n" not in text
    assert not re.search(r"\d", text.replace("90 degrees", "").replace("180 degrees", "")), text
    assert text[0].islower(), text
    assert not text.endswith((".", "!", " "))


# --- every paraphrase renders, and every one is reachable through the rng -----------------


@pytest.mark.parametrize("case_id,edit,src,tgt", CASES, ids=IDS)
def test_every_paraphrase_renders_and_is_chosen(case_id, edit, src, tgt):
    every = all_instructions(edit, src, tgt)
    assert len(every) >= 3
    for text in every:
        assert_clean(text)
    seen = {instruction(edit, src, tgt, np.random.default_rng(seed)) for seed in range(200)}
    assert seen == set(every)


def test_each_template_key_has_at_least_three_paraphrases():
    keys = {
        "location": ["relative", "absolute_side", "absolute_closer", "absolute_further", "attract", "repel", "swap"],
        "rotation": ["turn_around", "turn_90", "fall_over", "flip"],
        "count": ["add_new", "add_more", "remove_only", "remove_all", "remove_some"],
        "attribute": ["size_bigger", "size_smaller", "shape", "color"],
    }
    for kind, ks in keys.items():
        for k in ks:
            names = paraphrases(kind, k)
            assert len(names) >= 3, (kind, k)
            assert names == sorted(names, key=lambda m: int(m.rsplit("__", 1)[1]))


# --- determinism --------------------------------------------------------------------------


def test_same_seed_same_text_and_seeds_vary_the_paraphrase():
    s = base()
    e = Edit("location", "relative", ["o0"], ["o1"], {"direction": "left_of"})
    a = [instruction(e, s, s, np.random.default_rng(seed)) for seed in range(30)]
    b = [instruction(e, s, s, np.random.default_rng(seed)) for seed in range(30)]
    assert a == b
    assert len(set(a)) > 1


def test_choice_uses_exactly_one_draw():
    s = base()
    e = Edit("rotation", "flip", ["o1"], [], {"axis": "x", "angle_deg": 180})
    rng, ref = np.random.default_rng(7), np.random.default_rng(7)
    instruction(e, s, s, rng)
    ref.integers(len(paraphrases("rotation", "flip")))
    assert rng.integers(1 << 30) == ref.integers(1 << 30)


# --- wording per subtype ------------------------------------------------------------------


def texts(edit, src, tgt):
    return all_instructions(edit, src, tgt)


@pytest.mark.parametrize("direction,phrase", [
    ("left_of", "to the left of"), ("right_of", "to the right of"),
    ("in_front_of", "in front of"), ("behind", "behind"),
])
def test_relative_location(direction, phrase):
    s = base()
    out = texts(Edit("location", "relative", ["o0"], ["o1"], {"direction": direction}), s, s)
    assert "move the red mug " + phrase + " the blue bowl" in out
    for t in out:
        assert t.index("the red mug") < t.index(phrase) < t.rindex("the blue bowl")


def test_absolute_location():
    s = base()
    left = texts(Edit("location", "absolute", ["o0"], [], {"direction": "left"}), s, s)
    right = texts(Edit("location", "absolute", ["o0"], [], {"direction": "right"}), s, s)
    assert "move the red mug further to the left" in left
    assert all("left" in t and "right" not in t and "the red mug" in t for t in left)
    assert all("right" in t and "left" not in t for t in right)
    closer = texts(Edit("location", "absolute", ["o0"], [], {"direction": "closer"}), s, s)
    assert "move the red mug closer to the camera" in closer and "bring the red mug closer" in closer
    further = texts(Edit("location", "absolute", ["o0"], [], {"direction": "further"}), s, s)
    assert "push the red mug further away" in further
    assert all(("away" in t or "back" in t) and "closer" not in t for t in further)


def test_pair_locations():
    s = base()
    assert "move the red mug and the blue bowl closer together" in texts(Edit("location", "attract", ["o0", "o1"]), s, s)
    assert "move the red mug and the blue bowl further apart" in texts(Edit("location", "repel", ["o0", "o1"]), s, s)
    swap = texts(Edit("location", "swap", ["o0", "o1"]), s, s)
    assert "swap the positions of the red mug and the blue bowl" in swap
    for sub in ("attract", "repel", "swap"):
        for t in texts(Edit("location", sub, ["o0", "o1"]), s, s):
            assert "the red mug" in t and "the blue bowl" in t


def test_rotations():
    s = base()
    assert "turn the red mug around" in texts(Edit("rotation", "turn_around", ["o0"], [], {"axis": "z", "angle_deg": 180}), s, s)
    t90 = texts(Edit("rotation", "turn_90", ["o0"], [], {"axis": "z", "angle_deg": 90, "direction": "right"}), s, s)
    # "right" is clockwise seen from above, and every paraphrase says which way in those words
    assert "turn the red mug 90 degrees clockwise, seen from above" in t90
    assert all("clockwise" in t and "counterclockwise" not in t and "above" in t for t in t90)
    t90_left = texts(Edit("rotation", "turn_90", ["o0"], [], {"axis": "z", "angle_deg": 90, "direction": "left"}), s, s)
    assert all("counterclockwise" in t and "above" in t for t in t90_left)
    fall = texts(Edit("rotation", "fall_over", ["o0"], [], {"axis": "y", "angle_deg": 90}), s, s)
    assert {"make the red mug fall over", "knock the red mug over", "tip the red mug over onto its side"} <= set(fall)
    flip = texts(Edit("rotation", "flip", ["o1"], [], {"axis": "x", "angle_deg": 180}), s, s)
    assert {"flip the blue bowl upside down", "turn the blue bowl upside down"} <= set(flip)


def test_attributes():
    s = base()
    big = texts(Edit("attribute", "size", ["o0"], [], {"direction": "bigger", "factor": 1.5}), s, s)
    assert {"make the red mug bigger", "enlarge the red mug"} <= set(big)
    small = texts(Edit("attribute", "size", ["o0"], [], {"direction": "smaller", "factor": 0.5}), s, s)
    assert {"make the red mug smaller", "shrink the red mug"} <= set(small)
    assert not any("bigger" in t or "enlarge" in t for t in small)
    shape = texts(Edit("attribute", "shape", ["o0"], [], {"new_asset_id": "tumbler"}), s, renamed(s, "o0", "red tumbler"))
    assert {"turn the red mug into a red tumbler", "replace the red mug with a red tumbler"} <= set(shape)
    color = texts(Edit("attribute", "color", ["o0"], [], {"from_color": "red", "to_color": "blue"}), s, renamed(s, "o0", "blue mug"))
    assert {"make the red mug blue", "paint the red mug blue", "change the color of the red mug to blue"} <= set(color)


def test_shape_uses_an_before_vowel():
    s = base()
    out = texts(Edit("attribute", "shape", ["o0"], [], {"new_asset_id": "x"}), s, renamed(s, "o0", "orange cup"))
    assert "turn the red mug into an orange cup" in out


# --- count: plurals, number words, articles -----------------------------------------------


def add_texts(src: Scene, name: str, n: int) -> list[str]:
    tgt, uids = with_added(src, name, n)
    return texts(Edit("count", "add", uids, [], {"n": n, "asset_id": "x"}), src, tgt)


def test_add_plurals_and_number_words():
    s = base()
    two = add_texts(s, "white cup", 2)
    assert "add two white cups" in two
    assert all("two white cups" in t for t in two)
    one = add_texts(s, "white cup", 1)
    assert "add a white cup" in one and "add one white cup" in one
    assert not any("cups" in t for t in one)
    for n in range(1, 11):
        out = add_texts(s, "green box", n)
        for t in out:
            assert not re.search(r"\d", t), t
            if n > 1:
                assert NUMBER_WORDS[n - 1] + " green boxes" in t, t


def test_add_an_orange_mug():
    s = scene(obj("o0", "red mug", 0.0, 0.0))
    out = add_texts(s, "orange mug", 1)
    assert "add an orange mug" in out
    assert not any(" a orange" in t for t in out)


def test_add_more_when_source_has_one():
    s = base()
    one = add_texts(s, "red mug", 1)
    assert "add another red mug" in one and "add one more red mug" in one
    three = add_texts(s, "red mug", 3)
    assert "add three more red mugs" in three
    assert all("more red mugs" in t for t in three)


def test_remove_wording():
    s = base()
    only = texts(Edit("count", "remove", ["o0"], [], {"n": 1}), s, without(s, ["o0"]))
    assert "remove the red mug" in only and all("the red mug" in t for t in only)
    one_of = texts(Edit("count", "remove", ["o2"], [], {"n": 1}), s, without(s, ["o2"]))
    assert "remove one of the white ramekins" in one_of
    assert any(t.startswith("take away one of the white ramekins") for t in one_of)
    # five ramekins, three go
    five = scene(*[obj(f"r{i}", "white ramekin", -0.3 + 0.15 * i, 0.2) for i in range(5)])
    gone = ["r0", "r1", "r2"]
    three = texts(Edit("count", "remove", gone, [], {"n": 3}), five, without(five, gone))
    assert "remove three of the white ramekins" in three
    assert "remove three white ramekins so that only two are left" in three
    # all of two / all of three
    two = without(s, ["o4"])
    both = texts(Edit("count", "remove", ["o2", "o3"], [], {"n": 2}), two, without(two, ["o2", "o3"]))
    assert "remove the white ramekins" in both and "remove both white ramekins" in both
    all3 = texts(Edit("count", "remove", ["o2", "o3", "o4"], [], {"n": 3}), s, without(s, ["o2", "o3", "o4"]))
    assert "remove all three white ramekins" in all3
    for t in only + one_of + three + both + all3:
        assert not re.search(r"\d", t)


def test_count_edits_need_no_disambiguation():
    # three same-named objects are fine for count edits: the group is what is counted
    s = base()
    out = texts(Edit("count", "remove", ["o3"], [], {"n": 1}), s, without(s, ["o3"]))
    assert out and all("white ramekin" in t for t in out)
    assert add_texts(s, "white ramekin", 2)[1] == "add two more white ramekins"


# --- referring expressions ----------------------------------------------------------------


def test_left_right_disambiguation():
    s = scene(obj("a", "red mug", -0.3, 0.0), obj("b", "red mug", 0.3, 0.0), obj("c", "blue bowl", 0.0, 0.3))
    assert referring_name(s, "a") == "red mug on the left"
    assert referring_name(s, "b") == "red mug on the right"
    assert referring_name(s, "c") == "blue bowl"
    out = texts(Edit("rotation", "flip", ["a"], [], {"axis": "x", "angle_deg": 180}), s, s)
    assert "flip the red mug on the left upside down" in out
    out = texts(Edit("location", "relative", ["b"], ["a"], {"direction": "behind"}), s, s)
    assert "move the red mug on the right behind the red mug on the left" in out


def test_front_back_disambiguation_when_columns_coincide():
    s = scene(obj("a", "red mug", 0.0, -0.3), obj("b", "red mug", 0.01, 0.4))
    assert referring_name(s, "a") == "red mug at the front"
    assert referring_name(s, "b") == "red mug at the back"
    out = texts(Edit("attribute", "size", ["b"], [], {"direction": "bigger", "factor": 2}), s, s)
    assert "make the red mug at the back bigger" in out


def test_inseparable_pair_rejects():
    s = scene(obj("a", "red mug", 0.0, 0.0), obj("b", "red mug", 0.005, 0.01))
    with pytest.raises(Reject) as info:
        instruction(Edit("rotation", "flip", ["a"], [], {"axis": "x", "angle_deg": 180}), s, s, np.random.default_rng(0))
    assert info.value.reason == "ambiguous_reference"


def test_three_same_named_objects_reject():
    s = base()  # three white ramekins
    e = Edit("attribute", "color", ["o2"], [], {"from_color": "white", "to_color": "red"})
    with pytest.raises(Reject) as info:
        instruction(e, s, renamed(s, "o2", "red ramekin"), np.random.default_rng(0))
    assert info.value.reason == "ambiguous_reference"
    assert "white ramekin" in info.value.detail
    # also as a reference object
    e = Edit("location", "relative", ["o0"], ["o3"], {"direction": "left_of"})
    with pytest.raises(Reject):
        instruction(e, s, s, np.random.default_rng(0))


def test_names_are_judged_in_the_source_for_existing_objects():
    # the target has a second red mug elsewhere; the source has one: no disambiguation needed
    s = scene(obj("a", "red mug", 0.0, 0.0), obj("b", "blue mug", 0.3, 0.0))
    tgt = renamed(s, "b", "red mug")
    e = Edit("attribute", "color", ["b"], [], {"from_color": "blue", "to_color": "red"})
    assert "make the blue mug red" in texts(e, s, tgt)


# --- contract errors ----------------------------------------------------------------------


def test_bad_edits_are_bugs_not_rejects():
    s = base()
    with pytest.raises(ValueError):
        instruction(Edit("location", "relative", ["o0"], ["o1"], {"direction": "above"}), s, s, np.random.default_rng(0))
    with pytest.raises(ValueError):
        instruction(Edit("location", "teleport", ["o0"]), s, s, np.random.default_rng(0))
    with pytest.raises(ValueError):
        instruction(Edit("count", "add", ["x"], [], {"n": 2}), s, with_added(s, "cup", 1)[0], np.random.default_rng(0))


def test_environment_is_cached_and_strict():
    import jinja2

    assert templates.macros("rotation", "flip") is templates.macros("rotation", "flip")
    assert templates.ENV.get_template("count.j2") is templates.ENV.get_template("count.j2")
    assert templates.ENV.undefined is jinja2.StrictUndefined
    assert templates.TEMPLATE_DIR.is_dir()
    with pytest.raises(jinja2.UndefinedError):
        templates.macros("rotation", "flip")[0]({})


def test_front_back_needs_a_tenth_of_the_nearer_depth():
    """Two same-named mugs straight ahead of the camera (same column): "at the front" only when
    their depths differ by more than 10% of the nearer one's, at any distance."""
    cam = Camera(position=(0.0, 0.0, 0.05), look_at=(0.0, 5.0, 0.05), fov=0.8, width=64, height=64)

    def pair(y0: float, y1: float) -> Scene:
        return Scene(objects=[SceneObject("a", "coffee_mug", "red mug", (0.0, y0, 0.05)),
                              SceneObject("b", "coffee_mug", "red mug", (0.0, y1, 0.05))], camera=cam)

    assert referring_name(pair(1.0, 1.105), "a") == "red mug at the front"  # 10.5% of 1.0 m
    assert referring_name(pair(1.0, 1.105), "b") == "red mug at the back"
    with pytest.raises(Reject):
        referring_name(pair(2.0, 2.1), "a")  # 5% of 2 m: not told apart
    assert referring_name(pair(2.0, 2.25), "a") == "red mug at the front"
