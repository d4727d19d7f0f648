"""Importers that turn local model collections into catalog entries (`catalog import`).

Layouts, detected in this order: a Kubric-style manifest (kubric.py), Google Scanned Objects
folders, Fuel zips or a Fuel cache (gso.py), a plain folder of meshes (mesh_folder.py, with a
warning when nothing else matched). Nothing is downloaded. A broken model is reported and
skipped, never fatal. Derived files (extracted meshes and textures, VHACD collision meshes, a
snapshot) go to `<catalog stem>_assets/<id>/` next to the output catalog and are reused.

An import is a job: models are proposed in a process pool (pool.py) behind a progress bar, the
catalog is written every CHECKPOINT_SECONDS and on Ctrl-C, and a re-run skips the models the
catalog already holds (`refresh=True` proposes them again, keeping the user's edits). Names are
made unique over the whole catalog, the same way whatever the order (unique.py).
The shared steps live beside the layouts: proposal.py (a found model -> an entry with
evidence), lexicon.py and naming.py (names, categories), unique.py, colour.py, scale.py,
merge.py (re-import keeps user edits), catalog_yaml.py (the written file), pool.py (the
process pool), result.py and report.py (the summary and the import report), snapshot.py,
obj_staging.py, pbtxt.py.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simedit.render.catalog.importers import gso, kubric, mesh_folder
from simedit.render.catalog.importers.catalog_yaml import builtin_palette, write_catalog
from simedit.render.catalog.importers.colour import color_words
from simedit.render.catalog.importers.lexicon import lexicon
from simedit.render.catalog.importers.merge import merge_entries
from simedit.render.catalog.importers.naming import snake_id
from simedit.render.catalog.model import SNAKE_ID
from simedit.render.catalog.importers.unique import dedupe_names
from simedit.render.catalog.importers.pool import Job, run_jobs
from simedit.render.catalog.importers.proposal import Broken, Candidate
from simedit.render.catalog.importers.result import ImportResult, short_origin
from simedit.render.catalog.model import resolve_path
from simedit.render.common.errors import SimEditError
from simedit.render.common.yaml_file import read_yaml

LAYOUTS = {"kubric": kubric, "gso": gso, "mesh_folder": mesh_folder}
EXPECTED = {
    "kubric": "a Kubric manifest .json with an 'assets' mapping",
    "gso": gso.EXPECTED,
    "mesh_folder": ".obj / .glb / .gltf / .ply files",
}
CHECKPOINT_SECONDS = 30.0  # the catalog is written this often during a long import


def detect_layout(root: Path) -> str:
    for name, module in LAYOUTS.items():
        if module.detect(root):
            return name
    raise SimEditError("no models found (expected a Kubric manifest .json, Google Scanned Objects folders, "
                       "Fuel .zip archives or a Fuel cache, or .obj/.glb/.ply meshes)", file=str(root))


def choose_layout(root: Path, layout: str, warn: Callable[[str], None]) -> str:
    """The layout to import `root` with: `layout` if it matches (else a one-line error saying
    what it expected and what the folder looks like), or the detected one."""
    if layout != "auto":
        if layout not in LAYOUTS:
            raise SimEditError(f"unknown layout {layout!r}; expected auto, {', '.join(LAYOUTS)}", field="--layout")
        if not LAYOUTS[layout].detect(root):
            try:
                looks = f"; it looks like the {detect_layout(root)} layout (try --layout auto)"
            except SimEditError:
                looks = "; no other layout matches either"
            raise SimEditError(f"--layout {layout}: expected {EXPECTED[layout]}{looks}", file=str(root))
        return layout
    found = detect_layout(root)
    if found == "mesh_folder" and root.is_dir():  # a mesh file named on its own is no surprise
        warn(f"no Kubric manifest, Google Scanned Objects folder, Fuel zip or Fuel cache under {root}: importing "
             "its meshes as a plain mesh folder (names from file and folder names; no metadata, categories or "
             "textures beyond the meshes' own materials)")
    return found


def assets_dir(out: Path) -> Path:
    return out.parent / f"{out.stem}_assets"


def _existing(out: Path) -> tuple[list[dict[str, Any]], dict[str, list[float]] | None]:
    if not out.is_file():
        return [], None
    raw = read_yaml(out, "existing catalog") or {}
    if not isinstance(raw, dict):
        raise SimEditError("existing catalog: expected a mapping with 'colors' and 'assets'", file=str(out))
    return [e for e in raw.get("assets") or [] if isinstance(e, dict)], raw.get("colors") or None


def _done(entry: dict[str, Any], base: Path) -> bool:
    """Was this model imported completely (its files are still there)?"""
    try:
        return all(resolve_path(str(entry[k]), base).is_file() for k in ("render_mesh", "collision_mesh", "texture")
                   if entry.get(k))
    except (OSError, ValueError):
        return False


def _written_palette(base: dict[str, list[float]], entries: list[dict[str, Any]],
                     words: dict[str, Any]) -> dict[str, list[float]]:
    """The catalog's palette: what it had (or the built-in one) plus every color word its
    objects use, so solid-color objects are still painted in clearly distinct colors only."""
    palette = {k: [float(c) for c in v] for k, v in base.items()}
    for e in entries:
        word = e.get("color")
        if word and word not in palette and word in words:
            palette[word] = [float(c) for c in words[word]]
    return palette


def _plan(candidates: list[Candidate], existing: list[dict[str, Any]], out: Path, refresh: bool,
          palette: dict[str, Any], collision: bool) -> tuple[list[Job], list[str]]:
    """The proposals to make, and the ids of models the catalog already holds completely (not
    proposed again unless `refresh`). Ids are the same whatever is imported: an existing entry
    keeps its own, a new model's comes from its name, in discovery order."""
    by_origin = {e.get("origin"): e for e in existing if e.get("origin")}
    origins = {c.origin for c in candidates}
    used_ids = {e.get("id") for e in existing if e.get("origin") not in origins}
    jobs: list[Job] = []
    resumed: list[str] = []
    for i, c in enumerate(candidates):
        old = by_origin.get(c.origin)
        kept = old.get("id") if old else None
        # an id names a folder under the catalog's assets: one that is not snake_case (a hand
        # edit like "../../x" or an absolute path) would write outside it, so it is not kept
        key_id = kept if isinstance(kept, str) and SNAKE_ID.match(kept) else snake_id(c.key)
        while key_id in used_ids:  # two models with one name in different places
            key_id = f"{key_id}_2"
        used_ids.add(key_id)
        if old is not None and not refresh and _done(old, out.parent):
            resumed.append(key_id)
            continue
        jobs.append(Job(i, c, key_id, out.parent, assets_dir(out) / key_id, palette, collision))
    return jobs, resumed


def run_import(source: str | Path, out: str | Path, layout: str = "auto", collision: bool = True,
               limit: int | None = None, jobs: int | None = None, refresh: bool = False, report: bool = True,
               progress: Callable[[int], Any] | None = None, warn: Callable[[str], None] | None = None) -> ImportResult:
    """Import every model under `source` into the catalog YAML `out` (merged with it if it
    exists). `progress(total)` returns a bar with `update(n)` and `close()`; `warn` prints a
    warning line as it happens (both optional)."""
    start = time.perf_counter()
    root = Path(source).expanduser().resolve()
    out = Path(out).expanduser().resolve()
    if not root.exists():
        raise SimEditError("no such file or folder", file=str(root))
    warnings: list[str] = []

    def _warn(line: str) -> None:
        warnings.append(line)
        if warn:
            warn(line)

    layout = choose_layout(root, layout, _warn)
    existing, existing_palette = _existing(out)
    base_palette = existing_palette or builtin_palette()
    naming_palette = {**color_words(), **base_palette}
    result = ImportResult(out=out, layout=layout, source=root, warnings=warnings)

    found = list(LAYOUTS[layout].discover(root))
    result.found = len(found)
    result.skipped = [c for c in found if isinstance(c, Broken)]
    candidates = [c for c in found if isinstance(c, Candidate)]
    jobs_todo, result.resumed = _plan(candidates, existing, out, refresh, naming_palette, collision)
    if limit is not None:  # at most `limit` new models: repeated runs work through a collection
        jobs_todo = jobs_todo[:limit]

    fresh: dict[int, dict[str, Any]] = {}

    def checkpoint() -> list[dict[str, Any]]:
        entries, kept = merge_entries(existing, [fresh[i] for i in sorted(fresh)])
        result.notes = dedupe_names(entries)
        result.kept_fields = kept
        result.total_entries = len(entries)
        if entries:
            write_catalog(out, _written_palette(base_palette, entries, naming_palette), entries)
        return entries

    def done(job: Job, entry: dict[str, Any] | None, broken: Broken | None) -> None:
        if entry is not None:
            fresh[job.index] = entry
            result.imported.append(job.key_id)
        elif broken is not None:
            result.skipped.append(broken)

    lexicon()  # read once here: forked workers inherit it instead of each parsing the YAML again
    try:
        run_jobs(jobs_todo, done, jobs=jobs, progress=progress, checkpoint=checkpoint, every=CHECKPOINT_SECONDS)
    except KeyboardInterrupt:
        if fresh:
            checkpoint()  # what was proposed is kept: the next run goes on from there
        raise
    if not fresh and not existing:
        reasons = "; ".join(f"{short_origin(b.origin)}: {b.reason}" for b in result.skipped[:3])
        raise SimEditError(f"no model could be imported ({reasons})", file=str(root))
    entries = checkpoint()
    order = {j.key_id: j.index for j in jobs_todo}
    result.imported.sort(key=order.__getitem__)
    result.seconds = time.perf_counter() - start
    if report:
        from simedit.render.catalog.importers.report import write_report

        result.report = write_report(result, entries, assets_dir(out))
    return result


__all__ = ["ImportResult", "LAYOUTS", "detect_layout", "choose_layout", "run_import", "assets_dir"]
