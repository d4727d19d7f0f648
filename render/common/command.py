"""How every command of the project reports: a user error is one line and exit 2, Ctrl-C (or
SIGTERM) is one line and exit 130; anything else is a bug and keeps its traceback."""
from __future__ import annotations

import logging
import signal
import sys
import threading
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
    previous = None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (a scheduler stopping a job, `kill`) ends a command the way Ctrl-C does
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except SimEditError as exc:
        print(f"{prefix}error: {exc}".replace("\n", " "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prefix}{interrupted}", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
