"""How every command of the project reports: a user error is one line and exit 2, Ctrl-C is one
line and exit 130; anything else is a bug and keeps its traceback."""
from __future__ import annotations

import logging
import sys
from typing import Callable

from simedit.render.common.errors import SimEditError


def run_command(
    run: Callable[[list[str]], int],
    argv: list[str] | None,
    *,
    prefix: str = "",
    interrupted: str = "interrupted",
) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except SimEditError as exc:
        print(f"{prefix}error: {exc}".replace("\n", " "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prefix}{interrupted}", file=sys.stderr)
        return 130
