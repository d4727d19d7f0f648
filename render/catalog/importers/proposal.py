"""From a found model to a proposed catalog entry.

An importer (gso.py, kubric.py, mesh_folder.py) finds models and yields `Candidate`s (or
`Broken` for a model it cannot use); `propose` loads one and returns its catalog entry (a dict
in the YAML format of render/catalog/model.py) with the evidence behind every proposed value.
`with_proposal` stores that proposal in the entry, so a re-import can tell the user's edits
(merge.py) from values it may refresh.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simedit.render.catalog.importers.colour import dominant_color, texture_texels
from simedit.render.catalog.importers.naming import propose_name
from simedit.render.catalog.importers.scale import choose_scale
from simedit.render.catalog.model import TAGS
from simedit.render.common.errors import SimEditError

MESH_SUFFIXES = (".obj", ".glb", ".gltf", ".ply")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

# fields the user may edit; re-import keeps an edited one (value != last proposal)
USER_FIELDS = ("id", "name", "category", "tags", "collision_mesh", "mesh_scale", "mesh_rotation_deg",
               "colorable", "color", "texture")


@dataclass
class Candidate:
    """One model found by an importer, not yet loaded."""

    key: str  # folder / file / manifest id: the entry id is made from it
    origin: str  # where it came from, for the YAML and for matching on re-import
    source: str  # "gso", "kubric", "mesh_folder"
    # cache dir -> (render mesh, texture or None, shipped collision mesh or None); may extract files
    materialize: Callable[[Path], tuple[Path, Path | None, Path | None]]
    texts: list[str] = field(default_factory=list)  # name sources, best first (description, name)
    category_hint: str | None = None  # a category word from metadata
    tags_hint: list[str] = field(default_factory=list)  # tags stated by metadata
    size_hint_m: float | None = None  # largest real-world dimension stated by metadata
    meters: bool = False  # the layout says the mesh is in meters (GSO)
    up_axis: str = "z"  # "y": rotate +90 about X to stand it up (glTF)


@dataclass
class Broken:
    """A model an importer found but cannot use; reported and skipped."""

    origin: str
    reason: str


def _rel(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path, base)
    except ValueError:  # another drive
        return str(path)


def propose(c: Candidate, key_id: str, catalog_dir: Path, cache_dir: Path, palette: dict[str, list[float]],
            collision: bool = True) -> dict[str, Any]:
    """The catalog entry proposed for one candidate (raises on a broken model)."""
    import trimesh
    from scipy.spatial.transform import Rotation

    from simedit.render.catalog.tags import infer_tags, merge_tags

    render_mesh, texture, shipped_collision = c.materialize(cache_dir)
    try:
        loaded = trimesh.load(render_mesh, force="mesh", process=False)
    except Exception as exc:
        raise SimEditError(f"cannot read mesh: {exc}".splitlines()[0], file=str(render_mesh)) from None
    verts = np.asarray(loaded.vertices, float)
    if len(verts) < 4 or len(loaded.faces) == 0 or not np.isfinite(verts).all():
        raise SimEditError("mesh has no faces", file=str(render_mesh))

    rotation = [90.0, 0.0, 0.0] if c.up_axis == "y" else [0.0, 0.0, 0.0]
    turned = Rotation.from_euler("xyz", rotation, degrees=True).apply(verts)
    extent = float((turned.max(0) - turned.min(0)).max())
    name, category, default_m, name_how = propose_name(c.texts or [c.key], c.category_hint, set(palette))
    scale, size_how = choose_scale(extent, category, default_m, c.meters, c.size_hint_m)
    asset_verts = turned * scale
    result = infer_tags(asset_verts, np.asarray(loaded.faces, int))
    tags = merge_tags(result.tags, [t for t in c.tags_hint if t in TAGS])

    color, share, image = None, None, None
    if texture is not None:
        from PIL import Image

        try:
            image = Image.open(texture)
            image.load()
        except Exception as exc:
            raise SimEditError(f"cannot read texture: {exc}".splitlines()[0], file=str(texture)) from None
    else:
        mat = getattr(getattr(loaded, "visual", None), "material", None)
        image = getattr(mat, "baseColorTexture", None) or getattr(mat, "image", None)  # glTF-embedded
    if image is not None:
        texels, weights = texture_texels(loaded, image)
        color, share = dominant_color(texels, weights, palette)

    collision_rel = None
    if shipped_collision is not None:  # the model's own collision mesh (Kubric ships one)
        collision_rel = _rel(shipped_collision, catalog_dir)
    elif collision:
        from simedit.render.catalog.collision import build_collision

        col, _ = build_collision(render_mesh, cache_dir)
        collision_rel = _rel(col, catalog_dir)
    evidence: dict[str, Any] = {
        "name_from": name_how,
        "extent_file_units": round(extent, 5),
        "size_m": [round(float(x), 4) for x in (asset_verts.max(0) - asset_verts.min(0))],
        **result.evidence,
        "inferred_tags": result.tags,
    }
    if c.tags_hint:
        evidence["metadata_tags"] = list(c.tags_hint)
    if color is not None:
        evidence["color_share"] = round(share, 3)
    entry: dict[str, Any] = {
        "id": key_id,
        "name": name,
        "category": category,
        "tags": tags,
        "render_mesh": _rel(render_mesh, catalog_dir),
        "collision_mesh": collision_rel,
        "mesh_scale": float(f"{scale:.6g}"),
        "mesh_rotation_deg": rotation,
        "colorable": color is None,
        "color": color,
        "texture": _rel(texture, catalog_dir) if texture is not None else None,
        "source": c.source,
        "origin": c.origin,
        "size_source": size_how,
        "evidence": evidence,
    }
    if entry["collision_mesh"] is None:
        del entry["collision_mesh"]
    return entry


def with_proposal(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with its user-editable fields recorded under `proposed:`."""
    entry = dict(entry)
    entry["proposed"] = {k: entry.get(k) for k in USER_FIELDS}
    return entry
