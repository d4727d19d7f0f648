"""Which no-change prompt DiscEdit gets for each edit kind (`EditKind.no_change_prompts`): a
colour change the source already shows ("make the blue mug blue"), an absent object in place of
the edited one for other attribute changes and removals, and none at all for adding objects
(adding something absent is itself a change). Hand-built manifest rows, nothing rendered."""
from __future__ import annotations

import functools

from simedit.render.catalog.model import load_catalog
from simedit.train.eval.triples import triple_for_row


CAMERA = {"position": [0.0, -1.2, 0.9], "look_at": [0.0, 0.0, 0.05], "fov": 0.9, "width": 64, "height": 64}


@functools.cache
def catalog():
    return load_catalog()


def obj(uid: str, asset_id: str, name: str, x: float, color: str | None = None) -> dict:
    return {"uid": uid, "asset_id": asset_id, "name": name, "position": [x, 0.0, 0.05], "color": color}


def row(kind: str, subtype: str, instruction: str, source: list[dict], target: list[dict], edit: dict,
        edited: list[str]) -> dict:
    return {"key": "000003", "index": 3, "kind": kind, "subtype": subtype, "instruction": instruction,
            "edit": {"kind": kind, "subtype": subtype, "references": [], **edit}, "edited": edited,
            "source_scene": {"objects": source, "camera": CAMERA}, "target_scene": {"objects": target, "camera": CAMERA}}


def test_a_colour_change_gets_the_colour_the_source_already_shows():
    src = [obj("o0", "coffee_mug", "red coffee mug", 0.1, "red"), obj("o1", "bowl", "blue bowl", -0.1, "blue")]
    tgt = [obj("o0", "coffee_mug", "green coffee mug", 0.1, "green"), src[1]]
    r = row("attribute", "color", "make the red coffee mug green", src, tgt,
            {"objects": ["o0"], "params": {"from_color": "red", "to_color": "green"}}, ["o0"])
    triple, why = triple_for_row(r, catalog())
    assert why == "" and triple["no_change_kind"] == "already_true"
    assert "red" in triple["no_change"] and "green" not in triple["no_change"]


def test_a_size_change_gets_an_absent_object_instead():
    src = [obj("o0", "coffee_mug", "red coffee mug", 0.1, "red"), obj("o1", "bowl", "blue bowl", -0.1, "blue")]
    r = row("attribute", "size", "make the red coffee mug bigger", src, src,
            {"objects": ["o0"], "params": {"direction": "bigger", "factor": 1.5}}, ["o0"])
    triple, why = triple_for_row(r, catalog())
    assert why == "" and triple["no_change_kind"] == "absent_object"
    assert "red coffee mug" not in triple["no_change"] and triple["no_change"].startswith("make the ")


def test_removing_gets_an_absent_object_and_adding_gets_none():
    src = [obj("o0", "coffee_mug", "red coffee mug", 0.1, "red"), obj("o1", "bowl", "blue bowl", -0.1, "blue")]
    remove = row("count", "remove", "remove the red coffee mug", src, src[1:],
                 {"objects": ["o0"], "params": {"n": 1}}, ["o0"])
    triple, why = triple_for_row(remove, catalog())
    assert why == "" and triple["no_change_kind"] == "absent_object"
    assert triple["no_change"].startswith("remove the ") and "red coffee mug" not in triple["no_change"]
    added = obj("n0", "tennis_ball", "tennis ball", 0.0)
    add = row("count", "add", "add a tennis ball", src, src + [added],
              {"objects": ["n0"], "params": {"n": 1, "asset_id": "tennis_ball"}}, ["n0"])
    triple, why = triple_for_row(add, catalog())
    assert triple is None and why == "count_add_has_no_no_change"


def test_attribute_changes_are_undone_by_the_opposite_change():
    """The inverse edit (the reverse pair's edit, and what an "already true" prompt is phrased
    from) swaps every before/after parameter."""
    from simedit.render.plan.edits import invert
    from simedit.render.scene import Edit, Scene

    s = Scene.from_dict({"objects": [obj("o0", "coffee_mug", "red coffee mug", 0.1, "red")], "camera": CAMERA})

    def inverse(subtype: str, params: dict) -> dict | None:
        e = invert(Edit("attribute", subtype, ["o0"], [], params), s, s)
        return None if e is None else e.to_dict()["params"]

    assert inverse("color", {"from_color": "red", "to_color": "green"}) == {"from_color": "green", "to_color": "red"}
    assert inverse("color", {"from_color": None, "to_color": "green"}) is None  # no colour word to go back to
    assert inverse("size", {"direction": "smaller", "factor": 1.5}) == {"direction": "bigger", "factor": 1.5}
    assert inverse("size", {"direction": "bigger", "factor": 1.5}) == {"direction": "smaller", "factor": 1.5}
    assert inverse("shape", {"from_asset_id": "coffee_mug", "new_asset_id": "tea_mug", "from_name": "red coffee mug",
                             "new_name": "red tea mug"}) == {
        "from_asset_id": "tea_mug", "new_asset_id": "coffee_mug", "from_name": "red tea mug", "new_name": "red coffee mug"}


def test_adding_is_undone_by_removing_the_same_objects_and_the_other_way_round():
    from simedit.render.plan.edits import invert
    from simedit.render.scene import Edit, Scene

    mugs = [obj("o0", "coffee_mug", "red coffee mug", 0.1, "red"), obj("o1", "bowl", "blue bowl", -0.1, "blue")]
    new = [obj(f"n{i}", "tennis_ball", "tennis ball", 0.2 * i) for i in range(3)]
    before = Scene.from_dict({"objects": mugs + new[:1], "camera": CAMERA})
    after = Scene.from_dict({"objects": mugs + new, "camera": CAMERA})  # two more tennis balls
    take = invert(Edit("count", "add", ["n1", "n2"], [], {"n": 2, "asset_id": "tennis_ball"}), before, after)
    assert take.to_dict() == {"kind": "count", "subtype": "remove", "objects": ["n1", "n2"], "references": [],
                              "params": {"n": 2, "name": "tennis ball", "remaining": 1}}
    back = invert(take, after, before)
    assert back.to_dict() == {"kind": "count", "subtype": "add", "objects": ["n1", "n2"], "references": [],
                              "params": {"n": 2, "asset_id": "tennis_ball", "name": "tennis ball", "existing": 1}}
