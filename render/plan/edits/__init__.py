"""The four edit kinds, each a module with KIND, SUBTYPES, eligible, needs, intent, apply, check."""
from __future__ import annotations

from types import ModuleType

from simedit.render.plan.edits import attribute, count, location, rotation

KINDS: dict[str, ModuleType] = {m.KIND: m for m in (location, rotation, count, attribute)}
