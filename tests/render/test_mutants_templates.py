"""The Jinja environment the instructions are rendered with, built afresh for each test.

`templates.ENV` and the paraphrase cache are filled once per process, the first time an
instruction is rendered; the `fresh` fixture builds them again the way the import does (and puts
the process's own back afterwards), so these tests see the environment that is built now: a
broken loader, filter or escaping setting shows up here, not only in a new process."""
from __future__ import annotations

import jinja2
import numpy as np
import pytest

from simedit.render.plan import templates
from simedit.render.plan.language import all_instructions, instruction
from simedit.render.scene import Camera, Edit, Scene, SceneObject

CAM = Camera(position=(0.0, -1.2, 0.9), look_at=(0.0, 0.0, 0.05), fov=0.9, width=64, height=64)


@pytest.fixture
def fresh(monkeypatch):
    """A new environment and an empty paraphrase cache, as in a new process."""
    monkeypatch.setattr(templates, "_PARAPHRASES", {})
    monkeypatch.setattr(templates, "ENV", templates._make_env())
    return templates


def obj(uid: str, name: str, x: float, y: float) -> SceneObject:
    return SceneObject(uid=uid, asset_id=name.split()[-1], name=name, position=(x, y, 0.05))


def scene(*objects: SceneObject) -> Scene:
    return Scene(objects=list(objects), camera=CAM)


def added(src: Scene, name: str, n: int) -> tuple[Edit, Scene]:
    tgt = src.copy()
    uids = [f"n{i}" for i in range(n)]
    for i, uid in enumerate(uids):
        tgt.objects.append(obj(uid, name, -0.3 + 0.1 * i, 0.4))
    return Edit("count", "add", uids, [], {"n": n, "asset_id": name.split()[-1]}), tgt


def test_count_instructions_spell_numbers_plurals_and_articles(fresh):
    src = scene(obj("o0", "red mug", -0.25, 0.0), obj("o1", "blue bowl", 0.25, 0.05))
    edit, tgt = added(src, "white ramekin", 2)
    two = all_instructions(edit, src, tgt)
    assert "add two white ramekins" in two  # number_word and plural
    assert all("2" not in t and "ramekins" in t for t in two)
    edit, tgt = added(src, "orange cup", 1)
    one = all_instructions(edit, src, tgt)
    assert "add an orange cup" in one  # the article filter
    assert "add one orange cup" in one


def test_the_paraphrase_is_one_draw_over_every_macro_of_the_key(fresh):
    src = scene(obj("o0", "red mug", -0.25, 0.0))
    edit, tgt = added(src, "white ramekin", 3)
    every = all_instructions(edit, src, tgt)
    assert len(every) == len(fresh.paraphrases("count", "add_new")) >= 2
    drawn = {instruction(edit, src, tgt, np.random.default_rng(seed)) for seed in range(40)}
    assert drawn == set(every)
    assert instruction(edit, src, tgt, np.random.default_rng(7)) == instruction(edit, src, tgt, np.random.default_rng(7))


def test_instructions_are_plain_text_not_html(fresh):
    src = scene(obj("o0", "salt & pepper shaker", -0.2, 0.0), obj("o1", "chef's knife", 0.2, 0.0))
    tgt = src.copy()
    tgt.objects = [o for o in tgt.objects if o.uid != "o0"]
    texts = all_instructions(Edit("count", "remove", ["o0"], [], {"n": 1}), src, tgt)
    assert texts and all("salt & pepper shaker" in t for t in texts)
    assert not any("&amp;" in t or "&#" in t for t in texts)


def test_a_missing_context_value_is_an_error_not_an_empty_word(fresh):
    remove = fresh.macros("count", "remove_only")[0]
    assert remove({"name": "red mug", "n": 1}) == "remove the red mug"
    with pytest.raises(jinja2.UndefinedError):
        remove({"n": 1})  # no name: not "remove the "


def test_paraphrases_are_in_number_order_whatever_their_order_in_the_file(fresh, monkeypatch, tmp_path):
    (tmp_path / "demo.j2").write_text(
        "{% macro go__10(c) %}ten {{ c.x }}{% endmacro %}\n"
        "{% macro go__2(c) %}two {{ c.x }}{% endmacro %}\n"
        "{% macro go__1(c) %}one {{ c.x }}{% endmacro %}\n"
        "{% macro other__1(c) %}other{% endmacro %}\n"
        "{% macro go_helper(c) %}not a paraphrase{% endmacro %}\n")
    monkeypatch.setattr(templates, "TEMPLATE_DIR", tmp_path)
    monkeypatch.setattr(templates, "ENV", templates._make_env())
    assert fresh.template_exists("demo") and not fresh.template_exists("nothing")
    assert fresh.paraphrases("demo", "go") == ["go__1", "go__2", "go__10"]
    assert [m({"x": "y"}) for m in fresh.macros("demo", "go")] == ["one y", "two y", "ten y"]
    assert fresh.paraphrases("demo", "other") == ["other__1"]
    with pytest.raises(ValueError, match="no paraphrase macros"):
        fresh.macros("demo", "missing")
    with pytest.raises(ValueError, match="no template"):
        fresh.macros("nothing", "go")
