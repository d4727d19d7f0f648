"""Read a YAML file the project's way: a missing file or a parse error is one user-error line
naming the file (and the line and column of the problem)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from simedit.render.common.errors import SimEditError


def read_yaml(path: Path, what: str, error: type[Exception] = SimEditError) -> Any:
    """Parsed content of `path`; `what` names the file in errors ("spec", "catalog", "config");
    `error` is the calling package's user-error type (it takes `file=`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror or exc}", file=str(path)) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"malformed YAML{where}: {problem}", file=str(path)) from None
