"""The trainer's user-error type: a `SimEditError` (the project's one user-error base), so every
command reports it the same way, on one line."""
from __future__ import annotations

from simedit.render.common.errors import SimEditError


class TrainError(SimEditError):
    """A user error: bad config, missing base model, unreadable dataset index, bad checkpoint."""
