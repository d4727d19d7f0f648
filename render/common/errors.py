"""The user-error base class of the whole project, and the planner's reject signal.

A user error is raised with the file, the field and what was expected; every command prints
it on one line and exits non-zero (`common/command.py`). The trainer's `TrainError` derives
from it. Anything else escaping is a bug and keeps its traceback.
"""
from __future__ import annotations


class SimEditError(Exception):
    """A user error: bad spec, unknown object id, missing mesh, impossible constraint."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None):
        self.file = file
        self.field = field
        self.detail = message
        where = ": ".join(str(part) for part in (file, field) if part)
        super().__init__(f"{where}: {message}" if where else message)


class Reject(Exception):
    """Not an error: this attempt at a sample cannot be used (ambiguous name, collision, claim
    false after settling...). The planner resamples deterministically and counts `reason`."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)
