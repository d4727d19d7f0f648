"""Read a YAML file the project's way: a missing file, a file that is not UTF-8, a parse error
or a key given twice is one user-error line naming the file (and where in it)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from simedit.render.common.errors import SimEditError
from simedit.render.common.text import read_text


# libyaml's parser when PyYAML was built with it (3x faster on a thousand-entry catalog)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SAFE_LOADER):  # type: ignore[misc, valid-type]
    """safe_load, except that a key given twice in one mapping is an error: YAML would keep the
    last value silently, and a user who wrote it twice meant one of them."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: let the base class report it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path, what: str, error: type[SimEditError] = SimEditError) -> Any:
    """Parsed content of `path`; `what` names the file in errors ("spec", "catalog", "config");
    `error` is the calling package's user-error type."""
    text = read_text(path, what, error)
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"malformed YAML{where}: {problem}", file=str(path)) from None
