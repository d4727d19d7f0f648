"""The one exception type for user errors in the trainer.

Raised with the file, the field and what was expected; the CLI prints it on one line and exits
non-zero. Anything else escaping is a bug and keeps its traceback.
"""
from __future__ import annotations


class TrainError(Exception):
    """A user error: bad config, missing base model, unreadable dataset index, bad checkpoint."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None):
        self.file = file
        self.field = field
        self.detail = message
        where = ": ".join(str(part) for part in (file, field) if part)
        super().__init__(f"{where}: {message}" if where else message)
