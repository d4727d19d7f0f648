"""The one-line summaries printed at the end of a run or a dry run."""
from __future__ import annotations

from collections import Counter


def summary_line(title: str, counts: Counter[str]) -> str:
    if not counts:
        return f"{title}: none"
    parts = ", ".join(f"{reason} {n}" for reason, n in counts.most_common())
    return f"{title}: {sum(counts.values())} ({parts})"
