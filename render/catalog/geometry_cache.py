"""Asset geometry kept on disk between processes: every `render` run, render slot, Ray actor and
shard builds a planner, and reading and hulling each mesh again took about 1 s for the 35
built-in assets (most of a short run's start) and grows with a GSO catalog.

Measures taken on the meshes (how much of its hull an asset's outline fills,
`plan/appearance.py`) are kept the same way (`cached_measure`). An entry is keyed by the bytes
of the meshes it was computed from and the catalog values that shape it (scale, rotation), so
an edited mesh or entry is simply a new key; it is never trusted by path or date. The folder is `$SIMEDIT_CACHE/geometry` (default `~/.cache/simedit`;
`SIMEDIT_CACHE=off` turns the cache off). A cache that cannot be read or written is skipped:
the geometry is then computed as before, and nothing fails because of it.
"""
from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from simedit.render.common.atomic import atomic_write

VERSION = b"geometry-1"  # change when compute_geometry's results change
FIELDS = ("transform", "extents", "hull", "vertices")


def cache_folder() -> Path | None:
    root = os.environ.get("SIMEDIT_CACHE", "")
    if root.lower() == "off":
        return None
    base = Path(root) if root else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "simedit"
    return base / "geometry"


def entry_key(asset) -> str:
    h = hashlib.sha256(VERSION)
    for mesh in dict.fromkeys([asset.render_mesh, asset.collision_mesh]):  # once when they are the same file
        h.update(Path(mesh).read_bytes())
    h.update(repr((float(asset.mesh_scale), tuple(float(v) for v in asset.mesh_rotation_deg),
                   asset.render_mesh == asset.collision_mesh)).encode())
    return h.hexdigest()


def _entry(asset, name: str) -> Path | None:
    folder = cache_folder()
    if folder is None:
        return None
    try:
        return folder / f"{entry_key(asset)}{name}.npz"
    except OSError:
        return None  # an unreadable mesh: the computation names it


def _load(path: Path | None, fields: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    if path is None:
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in fields}
    except (OSError, ValueError, KeyError, EOFError):
        return None  # no entry yet, or a damaged one: computed again and replaced


def _store(path: Path | None, arrays: dict[str, np.ndarray]) -> None:
    if path is None:
        return
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    try:
        atomic_write(path, buffer.getvalue(), mkdir=True)
    except Exception:  # a read-only home, a full disk: the run goes on without the cache
        pass


def cached_geometry(asset, compute: Callable, make: Callable):
    """`make(**arrays)` from the cache entry of `asset`, else `compute(asset)`, stored for next time."""
    path = _entry(asset, "")
    arrays = _load(path, FIELDS)
    if arrays is not None:
        return make(**arrays)
    geometry = compute(asset)
    _store(path, {name: getattr(geometry, name) for name in FIELDS})
    return geometry


def cached_measure(asset, name: str, compute: Callable[[], float]) -> float:
    """A number measured on the asset's meshes (`name` says which, with its version), from the
    cache, else `compute()`, stored for next time."""
    path = _entry(asset, f"-{name}")
    arrays = _load(path, ("value",))
    if arrays is not None:
        return float(arrays["value"])
    value = float(compute())
    _store(path, {"value": np.asarray(value)})
    return value
