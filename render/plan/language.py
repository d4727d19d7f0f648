"""Natural-language instructions for a planned edit, rendered from Jinja templates.

`instruction(edit, source, target, rng)` returns one lower-case sentence without a trailing
period ("flip the white bowl upside down"), in the style of AURORA's Kubric-Edit prompts.

Templates live in the repository's `templates/` folder, one file per edit kind
(`location.j2`, `rotation.j2`, `count.j2`, `attribute.j2`) plus shared macros in
`_macros.j2`. Every paraphrase is a top-level macro named `<key>__<n>` that takes one
argument, the context `c` (a dict). The key is the subtype, refined where the wording has
to differ (`absolute_closer`, `add_more`, `remove_all`, `size_smaller`...; see `_prepare`).
The paraphrase is picked with a single `rng.integers` draw over the macros of that key,
sorted by their number, so the text is a pure function of (edit, scenes, rng state).

Objects are named by `SceneObject.name`. When exactly two objects of the scene share a
name, the one meant is told apart by its image position ("the left red mug", "the front
red mug"); three or more, or two that cannot be told apart, raise
`Reject("ambiguous_reference", name)`. Count edits count the name group itself, so they
need no such disambiguation. Plurals, articles and number words come from `inflect`.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import inflect
import jinja2
import numpy as np

from simedit.render.camera import depth, project
from simedit.render.common.errors import Reject
from simedit.render.scene import Edit, Scene

from simedit.render.common.paths import TEMPLATE_DIR

# Two same-named objects are "left"/"right" when their projected centers differ by more
# than this fraction of the image width, else "front"/"back" when their depths differ by
# more than this fraction of the nearer one's depth.
LEFT_RIGHT_MIN_FRACTION = 0.10
FRONT_BACK_MIN_FRACTION = 0.10

_INFLECT = inflect.engine()


def _number_word(n: int) -> str:
    """3 -> "three"; words always, never digits."""
    n = int(n)
    if n < 0:
        raise ValueError(f"cannot count a negative number: {n}")
    return str(_INFLECT.number_to_words(n))


def _plural(noun_phrase: str) -> str:
    """"white ramekin" -> "white ramekins" (inflect pluralizes the head noun)."""
    return str(_INFLECT.plural_noun(noun_phrase))


def _article(noun_phrase: str) -> str:
    """"orange mug" -> "an orange mug"."""
    return str(_INFLECT.a(noun_phrase))


def _make_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        keep_trailing_newline=False,
    )
    env.filters["number_word"] = _number_word
    env.filters["plural"] = _plural
    env.filters["a"] = _article
    return env


_ENV = _make_env()
_PARAPHRASES: dict[tuple[str, str], list[Any]] = {}
_MACRO_NAME = re.compile(r"^(?P<key>[a-z0-9_]+?)__(?P<n>\d+)$")


def paraphrases(kind: str, key: str) -> list[str]:
    """Names of the paraphrase macros for one key of one template, in choice order."""
    return [m.name for m in _macros(kind, key)]


def _macros(kind: str, key: str) -> list[Any]:
    cached = _PARAPHRASES.get((kind, key))
    if cached is not None:
        return cached
    try:
        module = _ENV.get_template(f"{kind}.j2").module
    except jinja2.TemplateNotFound as exc:
        raise ValueError(f"no template for edit kind {kind!r} in {TEMPLATE_DIR}") from exc
    found = []
    for name, value in vars(module).items():
        match = _MACRO_NAME.match(name)
        if match and match["key"] == key and isinstance(value, jinja2.runtime.Macro):
            found.append((int(match["n"]), value))
    if not found:
        raise ValueError(f"templates/{kind}.j2 has no paraphrase macros named {key}__<n>")
    macros = [m for _, m in sorted(found, key=lambda t: t[0])]
    _PARAPHRASES[(kind, key)] = macros
    return macros


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def instruction(edit: Edit, source: Scene, target: Scene, rng: np.random.Generator) -> str:
    """One instruction for `edit`; the paraphrase is chosen with one draw from `rng`.

    Raises `Reject("ambiguous_reference", name)` when an object cannot be named
    unambiguously in its scene."""
    key, ctx = _prepare(edit, source, target)
    macros = _macros(edit.kind, key)
    choice = int(rng.integers(len(macros)))
    return _clean(macros[choice](ctx))


def all_instructions(edit: Edit, source: Scene, target: Scene) -> list[str]:
    """Every paraphrase for `edit`, in choice order (for inspection, tests, augmentation)."""
    key, ctx = _prepare(edit, source, target)
    return [_clean(m(ctx)) for m in _macros(edit.kind, key)]


# --- referring expressions ---------------------------------------------------------------


def referring_name(scene: Scene, uid: str) -> str:
    """The name that singles out object `uid` in `scene`, without article:
    "red mug", or "left red mug" / "front red mug" when exactly two share the name."""
    obj = scene.get(uid)
    peers = [o for o in scene.objects if o.name == obj.name]
    if len(peers) == 1:
        return obj.name
    if len(peers) > 2:
        raise Reject("ambiguous_reference", f"{obj.name} ({len(peers)} in the scene)")
    other = peers[0] if peers[1].uid == uid else peers[1]
    cam = scene.camera
    points = np.array([obj.position, other.position], float)
    px = project(cam, points)
    if np.isnan(px).any():
        raise Reject("ambiguous_reference", f"{obj.name} (behind the camera)")
    dx = px[0, 0] - px[1, 0]
    if abs(dx) > LEFT_RIGHT_MIN_FRACTION * cam.width:
        return f"{'left' if dx < 0 else 'right'} {obj.name}"
    d = depth(cam, points)
    if abs(d[0] - d[1]) > FRONT_BACK_MIN_FRACTION * min(d[0], d[1]):
        return f"{'front' if d[0] < d[1] else 'back'} {obj.name}"
    raise Reject("ambiguous_reference", f"{obj.name} (two, not separable in the image)")


def _ref(scene: Scene, uid: str) -> dict[str, str]:
    obj = scene.get(uid)
    return {"name": obj.name, "ref": referring_name(scene, uid)}


def _group_name(scene: Scene, uids: list[str], what: str) -> str:
    names = {scene.get(u).name for u in uids}
    if len(names) != 1:
        raise ValueError(f"{what}: objects {uids} do not share one name: {sorted(names)}")
    return names.pop()


def _count_named(scene: Scene, name: str) -> int:
    return sum(1 for o in scene.objects if o.name == name)


# --- per-subtype context -----------------------------------------------------------------

_RELATIVE = {"left_of", "right_of", "in_front_of", "behind"}
_ABSOLUTE = {"left": "absolute_side", "right": "absolute_side",
             "closer": "absolute_closer", "further": "absolute_further"}


def _need(edit: Edit, n_objects: int, n_refs: int = 0) -> None:
    if len(edit.objects) != n_objects or len(edit.references) != n_refs:
        raise ValueError(
            f"{edit.kind}.{edit.subtype} needs {n_objects} object(s) and {n_refs} reference(s), "
            f"got objects={edit.objects} references={edit.references}"
        )


def _param(edit: Edit, name: str, allowed: set[str] | None = None) -> Any:
    if name not in edit.params or edit.params[name] is None:
        raise ValueError(f"{edit.kind}.{edit.subtype} needs params.{name}")
    value = edit.params[name]
    if allowed is not None and value not in allowed:
        raise ValueError(f"{edit.kind}.{edit.subtype}: params.{name}={value!r}, expected one of {sorted(allowed)}")
    return value


def _prepare(edit: Edit, source: Scene, target: Scene) -> tuple[str, dict[str, Any]]:
    """(paraphrase key, template context) for one edit."""
    kind, sub = edit.kind, edit.subtype
    if kind == "location":
        if sub == "relative":
            _need(edit, 1, 1)
            direction = _param(edit, "direction", _RELATIVE)
            return "relative", {"obj": _ref(source, edit.objects[0]),
                                "ref": _ref(source, edit.references[0]), "direction": direction}
        if sub == "absolute":
            _need(edit, 1)
            direction = _param(edit, "direction", set(_ABSOLUTE))
            return _ABSOLUTE[direction], {"obj": _ref(source, edit.objects[0]), "direction": direction}
        if sub in ("attract", "repel", "swap"):
            _need(edit, 2)
            return sub, {"obj": _ref(source, edit.objects[0]), "obj2": _ref(source, edit.objects[1])}
    elif kind == "rotation":
        if sub in ("turn_around", "fall_over", "flip"):
            _need(edit, 1)
            return sub, {"obj": _ref(source, edit.objects[0])}
        if sub == "turn_90":
            _need(edit, 1)
            direction = _param(edit, "direction", {"left", "right"})
            return sub, {"obj": _ref(source, edit.objects[0]), "direction": direction}
    elif kind == "count":
        if sub == "add":
            n = len(edit.objects)
            if n < 1 or int(edit.params.get("n", n)) != n:
                raise ValueError(f"count.add: params.n={edit.params.get('n')} but objects={edit.objects}")
            name = _group_name(target, edit.objects, "count.add")
            existing = _count_named(source, name)
            return ("add_more" if existing else "add_new"), {"name": name, "n": n, "existing": existing}
        if sub == "remove":
            n = len(edit.objects)
            if n < 1 or int(edit.params.get("n", n)) != n:
                raise ValueError(f"count.remove: params.n={edit.params.get('n')} but objects={edit.objects}")
            name = _group_name(source, edit.objects, "count.remove")
            total = _count_named(source, name)
            if total < n:
                raise ValueError(f"count.remove: removes {n} {name!r} but the source has {total}")
            if total == 1:
                key = "remove_only"
            elif total == n:
                key = "remove_all"
            else:
                key = "remove_some"
            return key, {"name": name, "n": n, "total": total, "remaining": total - n}
    elif kind == "attribute":
        if sub == "size":
            _need(edit, 1)
            direction = _param(edit, "direction", {"bigger", "smaller"})
            return f"size_{direction}", {"obj": _ref(source, edit.objects[0])}
        if sub == "shape":
            _need(edit, 1)
            uid = edit.objects[0]
            new_name = target.get(uid).name
            return sub, {"obj": _ref(source, uid), "new": new_name}
        if sub == "color":
            _need(edit, 1)
            to_color = str(_param(edit, "to_color"))
            return sub, {"obj": _ref(source, edit.objects[0]), "color": to_color}
    raise ValueError(f"unknown edit {kind}.{sub}")


__all__ = ["instruction", "all_instructions", "paraphrases", "referring_name", "TEMPLATE_DIR"]
