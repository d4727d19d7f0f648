"""The edit-kind registry: one line per kind. Importing it checks every kind against its spec
model (`spec.EDIT_SPECS`) and its template (`templates/<kind>.j2`), so a kind without a module,
a spec model, a template or a paraphrase for one of its keys fails at once, loudly.

To add a kind: a module here with an `EditKind` subclass, its spec model in `spec.py`, its
template, and one line below.
"""
from __future__ import annotations

from simedit.render.plan.edits.attribute import AttributeKind
from simedit.render.plan.edits.base import EditKind
from simedit.render.plan.edits.count import CountKind
from simedit.render.plan.edits.location import LocationKind
from simedit.render.plan.edits.rotation import RotationKind
from simedit.render.plan.edits.stack import StackKind
from simedit.render.plan.templates import macros, template_exists
from simedit.render.scene import Edit, Scene
from simedit.render.spec import EDIT_SPECS


def _registry(*kinds: EditKind) -> dict[str, EditKind]:
    found = {k.name: k for k in kinds}
    problems = [f"kind {n!r} has a spec model but no module in the registry" for n in EDIT_SPECS if n not in found]
    for name, kind in found.items():
        model = EDIT_SPECS.get(name)
        if model is None:
            problems.append(f"kind {name!r} has no spec model in spec.py")
            continue
        fields = tuple(model.model_fields["subtypes"].annotation.model_fields)
        if fields != kind.subtypes:
            problems.append(f"kind {name!r}: subtypes {kind.subtypes} != the spec model's {fields}")
        if not template_exists(name):
            problems.append(f"kind {name!r} has no template templates/{name}.j2")
            continue
        for key in kind.template_keys:
            try:
                macros(name, key)
            except ValueError as exc:
                problems.append(str(exc))
    if problems:
        raise RuntimeError("edit-kind registry: " + "; ".join(problems))
    return found


KINDS: dict[str, EditKind] = _registry(
    LocationKind(),
    RotationKind(),
    CountKind(),
    AttributeKind(),
    StackKind(),
)


def kind_of(edit: Edit) -> EditKind:
    try:
        return KINDS[edit.kind]
    except KeyError:
        raise ValueError(f"unknown edit kind {edit.kind!r}; known: {', '.join(KINDS)}") from None


def invert(edit: Edit, source: Scene, target: Scene) -> Edit | None:
    """The edit that turns `target` back into `source` (phrase it with the scenes swapped), or
    None when it has no wording."""
    return kind_of(edit).invert(edit, source, target)


__all__ = ["KINDS", "EditKind", "kind_of", "invert"]
