"""The one exception type for user errors in the generator.

Raised with the file, the field and what was expected; the CLI prints it on one line and
exits non-zero. Anything else escaping is a bug and keeps its traceback.
"""
from __future__ import annotations

from typing import Callable


class SimEditError(Exception):
    """A user error: bad spec, unknown object id, missing mesh, impossible constraint."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None):
        self.file = file
        self.field = field
        self.detail = message
        where = ": ".join(part for part in (file, field) if part)
        super().__init__(f"{where}: {message}" if where else message)


class Reject(Exception):
    """Not an error: this attempt at a sample cannot be used (ambiguous name, collision, claim
    false after settling...). The planner resamples deterministically and counts `reason`."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


def run_command(
    run: Callable[[list[str]], int],
    argv: list[str] | None,
    *,
    prefix: str = "",
    errors: tuple[type[Exception], ...] = (SimEditError,),
    interrupted: str = "interrupted",
) -> int:
    """How every command of the project reports: a user error is one line `<prefix>error: ...`
    and exit 2, Ctrl-C is one line and exit 130; anything else is a bug and keeps its traceback."""
    import logging
    import sys

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except errors as exc:
        print(f"{prefix}error: {exc}".replace("\n", " "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prefix}{interrupted}", file=sys.stderr)
        return 130
