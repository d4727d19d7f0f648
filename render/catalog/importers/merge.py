"""Re-import: fold fresh proposals into an existing catalog, keeping what the user edited."""
from __future__ import annotations

from typing import Any

from simedit.render.catalog.importers.proposal import USER_FIELDS


def merge_entries(existing: list[dict[str, Any]], fresh: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Fold fresh proposals into the existing entries: a field the user changed (differs from
    the stored proposal) is kept; everything else is refreshed. Entries the import did not
    produce (added by hand, or whose model is gone) stay as they are. -> (entries, kept fields)."""
    by_origin = {e.get("origin"): i for i, e in enumerate(existing) if e.get("origin")}
    by_id = {e.get("id"): i for i, e in enumerate(existing)}
    out = [dict(e) for e in existing]
    kept = 0
    for new in fresh:
        i = by_origin.get(new.get("origin"), by_id.get(new["id"]))
        if i is None:
            out.append(new)
            continue
        old = existing[i]
        proposed_before = old.get("proposed") or {}
        merged = dict(new)
        for k in USER_FIELDS:
            if k in old and k in proposed_before and old.get(k) != proposed_before.get(k):
                merged[k] = old[k]
                kept += 1
            elif k in old and not proposed_before:  # a hand-written entry: the user owns it all
                merged[k] = old[k]
        for k, v in old.items():  # extra keys the user added
            if k not in merged:
                merged[k] = v
        if merged.get("collision_mesh") is None:
            merged.pop("collision_mesh", None)
        out[i] = merged
    return out, kept
