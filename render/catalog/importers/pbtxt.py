"""Protocol-buffer text format (Gazebo Fuel's `metadata.pbtxt`), parsed by field.

No schema is needed: the result is a tree of `{field: [values]}` where a value is a string, a
number, or a nested tree. String escapes are decoded (`\\n` becomes a newline, octal and hex
escapes become the UTF-8 bytes they spell). Regex scraping of `name: "..."` would take the
author's name ("Google") or a compatibility ("Gazebo") for the model's name; reading by
field does not.
"""
from __future__ import annotations

import re
from typing import Any

from simedit.render.common.errors import SimEditError

_TOKEN = re.compile(r'''\s+|\#[^\n]*|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|[A-Za-z_][\w.]*|[-+]?[\d.][\w.+-]*|[:{}<>\[\],;]''')
_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)", re.S)
_SIMPLE = {b"n": b"\n", b"t": b"\t", b"r": b"\r", b"a": b"\a", b"b": b"\b", b"f": b"\f", b"v": b"\v",
           b"\\": b"\\", b"'": b"'", b'"': b'"', b"?": b"?"}

Tree = dict[str, list[Any]]


def unescape(body: str) -> str:
    """The C-style escapes of a text-format string literal, decoded as UTF-8."""
    def one(m: re.Match[bytes]) -> bytes:
        e = m.group(1)
        if e[:1] == b"x":
            return bytes([int(e[1:], 16)])
        if e[:1].isdigit():
            return bytes([int(e, 8) & 0xFF])
        return _SIMPLE.get(e, b"\\" + e)

    return _ESCAPE.sub(one, body.encode("utf-8")).decode("utf-8", "replace")


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise SimEditError(f"unexpected {text[pos:pos + 10]!r} at character {pos}")
        tok = m.group(0)
        pos = m.end()
        if not tok.strip() or tok.startswith("#"):
            continue
        out.append(tok)
    return out


def parse(text: str) -> Tree:
    """The fields of a text-format message. Raises SimEditError (no file) on a syntax error."""
    toks = _tokens(text)
    pos = 0

    def value(tok: str) -> Any:
        if tok[0] in "\"'":
            return unescape(tok[1:-1])
        try:
            return float(tok) if any(c in tok for c in ".eE") and not tok.isalpha() else int(tok)
        except ValueError:
            return tok  # an enum name or true/false

    def message(close: str | None) -> Tree:
        nonlocal pos
        tree: Tree = {}
        while pos < len(toks):
            tok = toks[pos]
            if tok == close:
                pos += 1
                return tree
            if tok in ",;":
                pos += 1
                continue
            if not re.match(r"[A-Za-z_]", tok):
                raise SimEditError(f"expected a field name, found {tok!r}")
            name = tok
            pos += 1
            if pos < len(toks) and toks[pos] == ":":
                pos += 1
            if pos >= len(toks):
                raise SimEditError(f"field {name!r} has no value")
            tok = toks[pos]
            if tok in "{<":
                pos += 1
                tree.setdefault(name, []).append(message("}" if tok == "{" else ">"))
            elif tok == "[":
                pos += 1
                while pos < len(toks) and toks[pos] != "]":
                    item = toks[pos]
                    pos += 1
                    if item in "{<":
                        tree.setdefault(name, []).append(message("}" if item == "{" else ">"))
                    elif item != ",":
                        tree.setdefault(name, []).append(value(item))
                pos += 1
            else:
                parts = [tok]
                pos += 1
                while tok[0] in "\"'" and pos < len(toks) and toks[pos][0] in "\"'":  # "a" "b" concatenates
                    parts.append(toks[pos])
                    pos += 1
                tree.setdefault(name, []).append("".join(value(p) for p in parts) if len(parts) > 1 else value(tok))
        if close is not None:
            raise SimEditError(f"missing {close!r}")
        return tree

    return message(None)


def first(tree: Tree, *path: str) -> Any:
    """The first value at a field path ("categories", "first"), or None."""
    node: Any = tree
    for name in path:
        if not isinstance(node, dict) or not node.get(name):
            return None
        node = node[name][0]
    return node


def annotations(tree: Tree) -> dict[str, str]:
    """`annotations { key: "brand" value: "adidas" }` as a mapping."""
    out = {}
    for a in tree.get("annotations", []):
        if isinstance(a, dict) and a.get("key") and a.get("value"):
            out[str(a["key"][0])] = str(a["value"][0])
    return out
