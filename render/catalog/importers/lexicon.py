"""The words the importers name objects with, read from `assets_catalog/lexicon.yaml` (see its
header): nouns with their category, typical size and usual tags; aliases ("serum" -> "serum
bottle"); context refinements; a collection's own categories; and the word lists a name is
cleaned with (brands, units, sizes, colors, qualifiers, collectives, packaging).

The file is data, so a user can extend it; `load_lexicon` checks it (every alias and context
points at a known noun, no noun in two categories) and reports a problem as a one-line
SimEditError naming the file and the entry.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from simedit.render.common.inflection import inflect

from simedit.render.common.errors import SimEditError
from simedit.render.common.paths import CATALOG_DIR
from simedit.render.common.yaml_file import read_yaml

LEXICON_FILE = CATALOG_DIR / "lexicon.yaml"
MAX_PHRASE_WORDS = 4
DEFAULT_CATEGORY = ("object", 0.15)  # what a model nothing names becomes


@dataclass(frozen=True)
class Noun:
    phrase: str  # "coffee mug"
    category: str  # "cup"
    size_m: float  # typical largest dimension
    tags: tuple[str, ...]  # what members of the category usually are (a cross-check, not a rule)


@dataclass(frozen=True)
class Context:
    """`noun` becomes `use` when any of `with_words` is in the title ("game" + "wii")."""

    noun: str
    with_words: frozenset[str]
    use: str


@dataclass(frozen=True)
class Lexicon:
    nouns: dict[str, Noun]
    aliases: dict[str, str]  # phrase -> noun phrase
    contexts: tuple[Context, ...]
    metadata_categories: dict[str, str | None]  # lowercase collection category -> noun phrase or None
    brands: frozenset[str]  # phrases
    drop: frozenset[str]
    sizes: frozenset[str]
    colors: frozenset[str]
    qualifiers: tuple[str, ...]  # in order of preference
    collectives: frozenset[str]
    packaging: frozenset[str]
    category_sizes: dict[str, float]
    vocabulary: frozenset[str]  # every single word of a noun or alias phrase

    def lookup(self, phrase: str) -> tuple[Noun, str] | None:
        """(noun, how) for a normalized phrase: a noun itself or an alias of one."""
        if phrase in self.nouns:
            return self.nouns[phrase], "noun"
        if phrase in self.aliases:
            return self.nouns[self.aliases[phrase]], f"alias {phrase!r}"
        return None

    def metadata_noun(self, category: str | None) -> Noun | None:
        """The noun a collection's own category stands for (None: unknown or too coarse)."""
        if category is None:
            return None
        key = normalize(category)
        phrase = self.metadata_categories.get(key, "")
        if phrase == "":  # not listed: a category word the lexicon knows ("mug") still counts
            found = self.lookup(key) or self.lookup(" ".join(singular_words(key.split(), self)))
            return found[0] if found else None
        return self.nouns[phrase] if phrase else None


def normalize(text: str) -> str:
    """Lowercase words separated by single spaces: "Board_Games" -> "board games"."""
    return " ".join(re.split(r"[^a-z0-9'\-]+", text.lower().replace("_", " "))).strip()


@lru_cache(maxsize=1)
def _inflect() -> inflect.engine:
    return inflect.engine()


def singular_word(word: str, lex: Lexicon) -> str:
    """The singular of a known plural ("boxes" -> "box", "knives" -> "knife"), else the word.
    A word that is a noun or alias itself stays ("glass", "headphones"), and only a singular
    the lexicon knows is taken: inflect also "singularizes" words that are no plurals
    ("bus" -> "bu")."""
    if not word or word in lex.nouns or word in lex.aliases or not word.isalpha():
        return word
    one = _inflect().singular_noun(word)
    return one if one and one in lex.vocabulary else word


def singular_words(words: list[str], lex: Lexicon) -> list[str]:
    return [singular_word(w, lex) for w in words]


def singular(word: str) -> str:
    """`singular_word` against the shipped lexicon."""
    return singular_word(word, lexicon())


def _phrases(value: Any, file: str, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise SimEditError("expected a list of words", file=file, field=where)
    return [normalize(str(v)) for v in value]


def _nouns(raw: Any, file: str) -> tuple[dict[str, Noun], dict[str, float]]:
    if not isinstance(raw, dict) or not raw:
        raise SimEditError("expected a mapping of categories", file=file, field="categories")
    nouns: dict[str, Noun] = {}
    sizes: dict[str, float] = {}
    for category, spec in raw.items():
        where = f"categories.{category}"
        if not isinstance(spec, dict) or not isinstance(spec.get("size"), (int, float)) or spec["size"] <= 0:
            raise SimEditError("expected size (meters, > 0), tags and nouns", file=file, field=where)
        size = float(spec["size"])
        sizes[str(category)] = size
        tags = tuple(_phrases(spec.get("tags") or [], file, f"{where}.tags"))
        items = spec.get("nouns")
        if not isinstance(items, list) or not items:
            raise SimEditError("expected a list of nouns", file=file, field=f"{where}.nouns")
        for item in items:
            if isinstance(item, dict) and len(item) == 1:
                (word, noun_size), = item.items()
            else:
                word, noun_size = item, size
            phrase = normalize(str(word))
            if not phrase or not isinstance(noun_size, (int, float)) or noun_size <= 0:
                raise SimEditError(f"bad noun {item!r} (expected 'word' or 'word: size')", file=file, field=where)
            if phrase in nouns:
                raise SimEditError(f"noun {phrase!r} is in two categories ({nouns[phrase].category}, {category})",
                                   file=file, field=where)
            nouns[phrase] = Noun(phrase, str(category), float(noun_size), tags)
    return nouns, sizes


def _load(path: Path) -> Lexicon:
    file = str(path)
    raw = read_yaml(path, "lexicon")
    if not isinstance(raw, dict):
        raise SimEditError("expected a mapping", file=file)
    nouns, sizes = _nouns(raw.get("categories"), file)
    aliases: dict[str, str] = {}
    for key, target in (raw.get("aliases") or {}).items():
        phrase, noun = normalize(str(key)), normalize(str(target))
        if noun not in nouns:
            raise SimEditError(f"alias target {target!r} is not a noun of any category", file=file, field=f"aliases.{key}")
        if phrase in nouns and phrase != noun:
            raise SimEditError(f"{key!r} is a noun already (category {nouns[phrase].category})", file=file,
                               field=f"aliases.{key}")
        aliases[phrase] = noun
    contexts = []
    for i, c in enumerate(raw.get("contexts") or []):
        where = f"contexts[{i}]"
        if not isinstance(c, dict) or {"noun", "with", "use"} - set(c):
            raise SimEditError("expected {noun, with, use}", file=file, field=where)
        noun, use = normalize(str(c["noun"])), normalize(str(c["use"]))
        for phrase in (noun, use):
            if phrase not in nouns:
                raise SimEditError(f"{phrase!r} is not a noun of any category", file=file, field=where)
        contexts.append(Context(noun, frozenset(_phrases(c["with"], file, f"{where}.with")), use))
    meta: dict[str, str | None] = {}
    for key, target in (raw.get("metadata_categories") or {}).items():
        noun = normalize(str(target)) if target is not None else None
        if noun is not None and noun not in nouns:
            raise SimEditError(f"{target!r} is not a noun of any category", file=file,
                               field=f"metadata_categories.{key}")
        meta[normalize(str(key))] = noun
    vocabulary = frozenset(w for phrase in (*nouns, *aliases) for w in phrase.split())
    return Lexicon(
        nouns=nouns, aliases=aliases, contexts=tuple(contexts), metadata_categories=meta,
        brands=frozenset(_phrases(raw.get("brands") or [], file, "brands")),
        drop=frozenset(_phrases(raw.get("drop") or [], file, "drop")),
        sizes=frozenset(_phrases(raw.get("sizes") or [], file, "sizes")),
        colors=frozenset(_phrases(raw.get("colors") or [], file, "colors")),
        qualifiers=tuple(dict.fromkeys(_phrases(raw.get("qualifiers") or [], file, "qualifiers"))),
        collectives=frozenset(_phrases(raw.get("collectives") or [], file, "collectives")),
        packaging=frozenset(_phrases(raw.get("packaging") or [], file, "packaging")),
        category_sizes=sizes, vocabulary=vocabulary,
    )


@lru_cache(maxsize=4)
def lexicon(path: Path = LEXICON_FILE) -> Lexicon:
    """The lexicon at `path` (default: the shipped one), read once per process."""
    return _load(path)

