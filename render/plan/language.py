"""Natural-language instructions for a planned edit, rendered from Jinja templates.

`instruction(edit, source, target, rng)` returns one lower-case sentence without a trailing
period ("flip the white bowl upside down"), in the style of AURORA's Kubric-Edit prompts.
The edit's kind supplies the paraphrase key and the template context
(`EditKind.template_context`); objects are named by `plan/referring.py`; the templates and
their macros are loaded by `plan/templates.py`. The paraphrase is picked with a single
`rng.integers` draw over the macros of that key, sorted by their number, so the text is a
pure function of (edit, scenes, rng state).
"""
from __future__ import annotations

import numpy as np

from simedit.render.plan.edits import kind_of
from simedit.render.plan.templates import clean, macros
from simedit.render.scene import Edit, Scene


def instruction(edit: Edit, source: Scene, target: Scene, rng: np.random.Generator) -> str:
    """One instruction for `edit`; the paraphrase is chosen with one draw from `rng`.

    Raises `Reject("ambiguous_reference", name)` when an object cannot be named
    unambiguously in its scene."""
    key, ctx = kind_of(edit).template_context(edit, source, target)
    choices = macros(edit.kind, key)
    choice = int(rng.integers(len(choices)))
    return clean(choices[choice](ctx))


def all_instructions(edit: Edit, source: Scene, target: Scene) -> list[str]:
    """Every paraphrase for `edit`, in choice order (for inspection, tests, augmentation)."""
    key, ctx = kind_of(edit).template_context(edit, source, target)
    return [clean(m(ctx)) for m in macros(edit.kind, key)]


__all__ = ["instruction", "all_instructions"]
