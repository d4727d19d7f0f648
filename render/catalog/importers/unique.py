"""Names unique across a catalog, the same whatever the order or the subset imported.

Instructions name objects with their color ("teal mug"), so two textured objects may share a
name in different colors (model.NameRegistry is the rule the loader checks). Where a name
would still be confused, every member of the colliding group takes its first qualifier (the
distinguishing words naming.py kept: materials and styles, then other words, brands last) that
no other member has; names the user edited are never changed.
"""
from __future__ import annotations

from typing import Any


def _conflict(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Would instructions confuse the two? Same name, and a color that could be the same: a
    colorable object can be painted any color; textured ones differ by their color word."""
    if a["name"] != b["name"]:
        return False
    return bool(a.get("colorable", True) or b.get("colorable", True) or a.get("color") == b.get("color"))


def _movable(e: dict[str, Any]) -> bool:
    """The importer may rename an entry whose name is still its own proposal (not the user's)."""
    proposed = e.get("proposed")
    return isinstance(proposed, dict) and proposed.get("name") == e.get("name")


def _quals(e: dict[str, Any]) -> list[str]:
    ev = e.get("evidence") if isinstance(e.get("evidence"), dict) else {}
    return [str(q) for q in (ev.get("name_qualifiers") or [])]


def _groups(entries: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Connected sets of mutually confusable entries (only sets of two or more)."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        by_name.setdefault(e["name"], []).append(e)
    out = []
    for same in by_name.values():
        if len(same) < 2:
            continue
        left = list(same)
        while left:
            group = [left.pop(0)]
            grew = True
            while grew:
                grew = False
                for e in list(left):
                    if any(_conflict(e, g) for g in group):
                        group.append(e)
                        left.remove(e)
                        grew = True
            if len(group) > 1:
                out.append(group)
    return out


def dedupe_names(entries: list[dict[str, Any]], rounds: int = 3) -> list[str]:
    """Make names unique where instructions could confuse two objects, the same way whatever
    the order of `entries`: every member of a colliding group (not just the later ones) takes
    its first qualifier that no other member has ("suede boat shoe" / "leather boat shoe").
    Names the user edited are never changed; an importer-owned name restarts from its base
    (`evidence.name_base`) each time, so it follows the catalog as models come and go, and its
    `proposed.name` follows it (re-import then refreshes it instead of keeping it as an edit).
    Objects whose words and color cannot tell them apart are numbered in the order of their
    origin, the last resort; -> one note per numbered name."""
    movable = [e for e in entries if _movable(e)]
    ids = {id(e) for e in movable}
    for e in movable:
        ev = e.get("evidence") if isinstance(e.get("evidence"), dict) else {}
        e["name"] = ev.get("name_base") or e["name"]
    for _ in range(rounds):
        picks: list[tuple[dict[str, Any], str]] = []
        for group in _groups(entries):
            for m in group:
                if id(m) not in ids:
                    continue
                others: set[str] = set()
                for o in group:
                    if o is not m:
                        others |= set(_quals(o)) | set(o["name"].split())
                have = set(m["name"].split())
                pick = next((q for q in _quals(m) if q not in others and q.replace("-", " ") not in have), None)
                if pick:
                    picks.append((m, pick))
        for m, pick in picks:  # applied together: no member sees another's new name this round
            m["name"] = f"{pick.replace('-', ' ')} {m['name']}"
        if not picks:
            break
    notes = []
    for group in _groups(entries):
        owned = sorted((m for m in group if id(m) in ids), key=lambda m: str(m.get("origin") or m.get("id")))
        start = 0 if len(owned) < len(group) else 1  # a user-named member keeps its name; else the first does
        for k, m in enumerate(owned[start:], start=2):
            m["name"] = f"{m['name']} {k}"
            notes.append(f"{m.get('id')}: named {m['name']!r}: its words and color do not tell it from "
                         + ", ".join(repr(o.get("id")) for o in group if o is not m))
    for e in movable:
        e["proposed"]["name"] = e["name"]
    return notes
