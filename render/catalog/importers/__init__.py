"""Importers that turn local model collections into catalog entries (`catalog import`).

Layouts, detected in this order: a Kubric-style manifest (kubric.py), Google Scanned Objects
folders or .zip archives (gso.py), a plain folder of meshes (mesh_folder.py). Nothing is
downloaded. A broken model is reported and skipped, never fatal. Derived files (extracted
meshes and textures, VHACD collision meshes) go to `<catalog stem>_assets/<id>/` next to the
output catalog and are reused on the next import.

The shared steps live beside the layouts: proposal.py (a found model -> a catalog entry with
evidence), lexicon.py and naming.py (names, categories), scale.py, colour.py, merge.py
(re-import keeps user edits), catalog_yaml.py (the written file), obj_staging.py.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simedit.render.catalog.importers import gso, kubric, mesh_folder
from simedit.render.catalog.importers.catalog_yaml import builtin_palette, write_catalog
from simedit.render.catalog.importers.merge import merge_entries
from simedit.render.catalog.importers.naming import dedupe_names, snake_id
from simedit.render.catalog.importers.proposal import Broken, Candidate, propose, with_proposal
from simedit.render.common.errors import SimEditError
from simedit.render.common.yaml_file import read_yaml

LAYOUTS = {"kubric": kubric, "gso": gso, "mesh_folder": mesh_folder}


@dataclass
class ImportResult:
    out: Path
    layout: str
    imported: list[str] = field(default_factory=list)  # entry ids written from this import
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (origin, reason)
    kept_fields: int = 0  # user edits kept from the existing catalog
    total_entries: int = 0


def detect_layout(root: Path) -> str:
    for name, module in LAYOUTS.items():
        if module.detect(root):
            return name
    raise SimEditError("no models found (expected a Kubric manifest .json, Google Scanned Objects folders "
                       "or .zip archives, or .obj/.glb/.ply meshes)", file=str(root))


def assets_dir(out: Path) -> Path:
    return out.parent / f"{out.stem}_assets"


def run_import(source: str | Path, out: str | Path, layout: str = "auto", collision: bool = True,
               limit: int | None = None, progress: Callable[[Any], Any] | None = None) -> ImportResult:
    """Import every model under `source` into the catalog YAML `out` (merged with it if it exists)."""
    root = Path(source).expanduser().resolve()
    out = Path(out).expanduser().resolve()
    if not root.exists():
        raise SimEditError("no such file or folder", file=str(root))
    layout = detect_layout(root) if layout == "auto" else layout
    if layout not in LAYOUTS:
        raise SimEditError(f"unknown layout {layout!r}; expected auto, {', '.join(LAYOUTS)}")
    if not LAYOUTS[layout].detect(root):
        raise SimEditError(f"does not look like the {layout} layout", file=str(root))

    existing: list[dict[str, Any]] = []
    palette = builtin_palette()
    if out.is_file():
        raw = read_yaml(out, "existing catalog") or {}
        if not isinstance(raw, dict):
            raise SimEditError("existing catalog: expected a mapping with 'colors' and 'assets'", file=str(out))
        existing = [e for e in raw.get("assets") or [] if isinstance(e, dict)]
        palette = raw.get("colors") or palette
    known_ids = {e.get("origin"): e.get("id") for e in existing if e.get("origin")}

    result = ImportResult(out=out, layout=layout)
    candidates = list(LAYOUTS[layout].discover(root))
    if limit is not None:
        candidates = candidates[:limit]
    fresh: list[dict[str, Any]] = []
    used_ids: set[str] = {e.get("id") for e in existing if e.get("origin") is None}
    items = progress(candidates) if progress else candidates
    for c in items:
        if isinstance(c, Broken):
            result.skipped.append((c.origin, c.reason))
            continue
        assert isinstance(c, Candidate)
        key_id = known_ids.get(c.origin) or snake_id(c.key)
        while key_id in used_ids:  # two models with one folder name in different places
            key_id = f"{key_id}_2"
        try:
            entry = propose(c, key_id, out.parent, assets_dir(out) / key_id, palette, collision=collision)
        except SimEditError as exc:
            result.skipped.append((c.origin, exc.detail))
            continue
        except Exception as exc:  # a broken model must never stop the import
            result.skipped.append((c.origin, f"{type(exc).__name__}: {exc}".splitlines()[0]))
            continue
        used_ids.add(key_id)
        fresh.append(with_proposal(entry))
        result.imported.append(key_id)
    if not fresh and not existing:
        reasons = "; ".join(f"{Path(o).name}: {r}" for o, r in result.skipped[:3])
        raise SimEditError(f"no model could be imported ({reasons})", file=str(root))
    entries, result.kept_fields = merge_entries(existing, fresh)
    dedupe_names(entries)
    result.total_entries = len(entries)
    write_catalog(out, palette, entries)
    return result


__all__ = ["ImportResult", "LAYOUTS", "detect_layout", "run_import", "assets_dir"]
