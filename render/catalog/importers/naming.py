"""Names and ids for imported models: a stable snake_case id from a folder or file name, and a
colorless noun phrase ("coffee mug") with its category from the model's texts, made unique
across the catalog (instructions name objects by it)."""
from __future__ import annotations

import re
from typing import Any

from simedit.render.catalog.importers.lexicon import (COLOR_WORDS, DEFAULT_CATEGORY, META_CATEGORIES, MODIFIERS, NOUNS,
                                                      UNIT_WORDS, singular)


def snake_id(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "model"
    return s if s[0].isalpha() else f"m_{s}"


def tokens(text: str) -> list[str]:
    """Words of a name as written: camelCase and snake_case split, punctuation dropped."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)  # camelCase -> camel Case
    return [t for t in re.split(r"[^A-Za-z0-9']+", text.replace("_", " ")) if t]


def clean_words(text: str, palette: set[str]) -> list[str]:
    """Lowercase words with brand codes (ALLCAPS, digits, short codes), units and color words
    removed."""
    words = tokens(text)
    mixed = any(t[0].isupper() and not t.isupper() for t in words) or any(t.islower() for t in words)
    out = []
    for t in words:
        low = t.lower().strip("'")
        if any(c.isdigit() for c in t) or len(low) <= 2 or low in UNIT_WORDS:
            continue
        if mixed and t.isupper() and singular(low) not in NOUNS:  # "SH", "TRX": codes, not words
            continue
        if low in palette or low in COLOR_WORDS:
            continue
        if low.endswith("'s"):
            low = low[:-2]
        out.append(low)
    return out


def propose_name(texts: list[str], category_hint: str | None, palette: set[str]) -> tuple[str, str, float, str]:
    """-> (name, category, default size m, how). The name is a colorless noun phrase."""
    hint = None
    if category_hint:
        h = category_hint.strip().lower()
        hint = META_CATEGORIES.get(h) or singular(h.split()[-1]) if h else None
        if hint not in NOUNS:
            hint = None
    for text in texts:
        words = [singular(w) for w in clean_words(text, palette)]
        nouns = [i for i, w in enumerate(words) if w in NOUNS]
        if nouns:
            i = nouns[0]
            name = words[i]
            if i > 0 and words[i - 1] in MODIFIERS and words[i - 1] != name:
                name = f"{words[i - 1]} {name}"
            category, size = NOUNS[words[i]]
            return name, category, size, f"noun {words[i]!r} in {text!r}"
    if hint:
        category, size = NOUNS[hint]
        return hint, category, size, f"metadata category {category_hint!r}"
    for text in texts:
        words = clean_words(text, palette)
        if words:
            return " ".join(words[-2:]), DEFAULT_CATEGORY[0], DEFAULT_CATEGORY[1], f"words of {text!r} (no known noun)"
    return "object", DEFAULT_CATEGORY[0], DEFAULT_CATEGORY[1], "no usable text"


def dedupe_names(entries: list[dict[str, Any]]) -> None:
    """Names must be unique (instructions name objects): add a distinguishing word from the
    model's id, else a number."""
    seen: set[str] = set()
    for e in entries:
        name = e["name"]
        if name in seen:
            base = name
            extra = [w for w in e["id"].split("_") if w.isalpha() and len(w) > 2 and w not in base.split()]
            candidates = [f"{w} {base}" for w in extra[:3]] + [f"{base} {k}" for k in range(2, 10_000)]
            name = next(n for n in candidates if n not in seen)
            e["name"] = name
            if isinstance(e.get("proposed"), dict) and e["proposed"].get("name") == base:
                e["proposed"]["name"] = name
        seen.add(name)
