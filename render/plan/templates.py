"""The instruction templates: one Jinja file per edit kind in `templates/` (`<kind>.j2`) plus
shared macros in `_macros.j2`.

Every paraphrase is a top-level macro named `<key>__<n>` taking one argument, the context `c`
(a dict built by the kind's `template_context`). The key is the subtype, refined where the
wording has to differ (`absolute_closer`, `add_more`, `remove_all`, `size_smaller`...).
Plurals, articles and number words come from `inflect` (filters `plural`, `a`, `number_word`).
"""
from __future__ import annotations

import re
from typing import Any

from simedit.render.common.inflection import inflect
import jinja2

from simedit.render.common.paths import TEMPLATE_DIR

_INFLECT = inflect.engine()
_MACRO_NAME = re.compile(r"^(?P<key>[a-z0-9_]+?)__(?P<n>\d+)$")


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


ENV = _make_env()
_PARAPHRASES: dict[tuple[str, str], list[Any]] = {}


def template_exists(kind: str) -> bool:
    return (TEMPLATE_DIR / f"{kind}.j2").is_file()


def macros(kind: str, key: str) -> list[Any]:
    """The paraphrase macros for one key of one kind's template, in choice order."""
    cached = _PARAPHRASES.get((kind, key))
    if cached is not None:
        return cached
    try:
        module = ENV.get_template(f"{kind}.j2").module
    except jinja2.TemplateNotFound as exc:
        raise ValueError(f"no template for edit kind {kind!r} in {TEMPLATE_DIR}") from exc
    found = []
    for name, value in vars(module).items():
        match = _MACRO_NAME.match(name)
        if match and match["key"] == key and isinstance(value, jinja2.runtime.Macro):
            found.append((int(match["n"]), value))
    if not found:
        raise ValueError(f"templates/{kind}.j2 has no paraphrase macros named {key}__<n>")
    ordered = [m for _, m in sorted(found, key=lambda t: t[0])]
    _PARAPHRASES[(kind, key)] = ordered
    return ordered


def paraphrases(kind: str, key: str) -> list[str]:
    """Names of the paraphrase macros for one key of one template, in choice order."""
    return [m.name for m in macros(kind, key)]


def clean(text: str) -> str:
    return " ".join(str(text).split())
