"""What an import did: counts, the skipped models with their reasons, warnings, and the summary
lines the `catalog import` command prints (one per kind of problem, never one per model)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from simedit.render.catalog.importers.kubric import MISSING
from simedit.render.catalog.importers.proposal import Broken


def short_origin(origin: str) -> str:
    """A manifest entry's id or a path's last part: enough to find it in the report."""
    return origin.rsplit("#", 1)[-1] if "#" in origin else Path(origin).name


@dataclass
class ImportResult:
    out: Path
    layout: str
    source: Path
    found: int = 0  # models (and manifest entries) the layout found
    imported: list[str] = field(default_factory=list)  # entry ids proposed in this run
    resumed: list[str] = field(default_factory=list)  # entry ids already in the catalog, not proposed again
    skipped: list[Broken] = field(default_factory=list)
    kept_fields: int = 0  # user edits kept from the existing catalog
    total_entries: int = 0
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # numbered names
    report: Path | None = None
    seconds: float = 0.0

    def skipped_lines(self, first: int = 5) -> list[str]:
        """One line per kind of problem, naming the first few models."""
        kinds: dict[str, list[Broken]] = {}
        for b in self.skipped:
            kinds.setdefault(b.kind, []).append(b)
        lines = []
        for kind, items in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
            names = ", ".join(short_origin(b.origin) for b in items[:first]) + (", ..." if len(items) > first else "")
            if kind == MISSING:
                lines.append(f"{len(items):,} of {self.found:,} manifest entries have no asset file; "
                             f"first {min(first, len(items))}: {names}")
            else:
                lines.append(f"{len(items):,} skipped ({kind}): {names}")
        return lines
