"""From a found model to a proposed catalog entry.

An importer (gso.py, kubric.py, mesh_folder.py) finds models and yields `Candidate`s (or
`Broken` for a model it cannot use); `propose` loads one and returns its catalog entry (a dict
in the YAML format of render/catalog/model.py) with the evidence behind every proposed value.
`with_proposal` stores that proposal in the entry, so a re-import can tell the user's edits
(merge.py) from values it may refresh.

Candidates travel to import worker processes, so everything in them pickles: `materialize`
is a module-level function bound with `functools.partial`, never a closure.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simedit.render.catalog.importers.colour import classify, texture_texels
from simedit.render.catalog.importers.naming import Texts, propose_name
from simedit.render.catalog.importers.scale import choose_scale
from simedit.render.catalog.model import TAGS
from simedit.render.common.errors import SimEditError

MESH_SUFFIXES = (".obj", ".glb", ".gltf", ".ply")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
SNAPSHOT = "snapshot.png"  # the picture of each model in its asset folder (the import report shows it)

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
    texts: Texts  # what the model says about itself: title, description, collection category, brand
    tags_hint: list[str] = field(default_factory=list)  # tags stated by metadata
    size_hint_m: float | None = None  # largest real-world dimension stated by metadata
    meters: bool = False  # the layout says the mesh is in meters (GSO, Kubric's GSO)
    up_axis: str = "z"  # "y": rotate +90 about X to stand it up (glTF)


@dataclass
class Broken:
    """A model an importer found but cannot use; reported and skipped. `kind` groups like
    problems in the summary ("no asset file"); `reason` is this model's own line."""

    origin: str
    reason: str
    kind: str = ""

    def __post_init__(self) -> None:
        self.kind = self.kind or self.reason


def _rel(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path, base)
    except ValueError:  # another drive
        return str(path)


def _texture_image(texture: Path | None, loaded: Any) -> Any:
    if texture is not None:
        from PIL import Image

        try:
            image = Image.open(texture)
            image.load()
            return image
        except Exception as exc:
            raise SimEditError(f"cannot read texture: {exc}".splitlines()[0], file=str(texture)) from None
    mat = getattr(getattr(loaded, "visual", None), "material", None)
    return getattr(mat, "baseColorTexture", None) or getattr(mat, "image", None)  # glTF-embedded


def propose(c: Candidate, key_id: str, catalog_dir: Path, cache_dir: Path, palette: dict[str, list[float]],
            collision: bool = True, snapshot: bool = True) -> dict[str, Any]:
    """The catalog entry proposed for one candidate (raises on a broken model). `palette`: the
    color words a textured model may be given (word -> linear RGB)."""
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
    name = propose_name(c.texts, palette=set(palette))
    scale, size_how = choose_scale(extent, name.category, name.size_m, c.meters, c.size_hint_m)
    asset_verts = turned * scale
    faces = np.asarray(loaded.faces, int)
    result = infer_tags(asset_verts, faces)
    tags = merge_tags(result.tags, [t for t in c.tags_hint if t in TAGS])

    color = None
    image = _texture_image(texture, loaded)
    if image is not None:
        texels, weights = texture_texels(loaded, image)
        color = classify(texels, weights, palette)

    collision_rel = None
    if shipped_collision is not None:  # the model's own collision mesh (Kubric ships one)
        collision_rel = _rel(shipped_collision, catalog_dir)
    elif collision:
        from simedit.render.catalog.collision import build_collision

        col, _ = build_collision(render_mesh, cache_dir)
        collision_rel = _rel(col, catalog_dir)
    if snapshot:
        from simedit.render.catalog.importers.snapshot import snapshot as draw
        from simedit.render.common.images import save_image

        save_image(draw(loaded, asset_verts, image), cache_dir / SNAPSHOT, mkdir=True)
    evidence: dict[str, Any] = {
        "name_from": name.how,
        "name_base": name.name,
        "name_qualifiers": name.qualifiers[:8],
        "collection_category": c.texts.category,
        "extent_file_units": round(extent, 5),
        "size_m": [round(float(x), 4) for x in (asset_verts.max(0) - asset_verts.min(0))],
        **result.evidence,
        "inferred_tags": result.tags,
    }
    expected = [t for t in name.usual_tags if t in TAGS and t not in result.tags and t != "support"]
    if expected:  # a mug that does not fall is often a mug lying on its side: worth a look
        evidence["unusual_for_noun"] = f"a {name.name} is usually {', '.join(expected)}; check mesh_rotation_deg"
    if c.tags_hint:
        evidence["metadata_tags"] = list(c.tags_hint)
    if color is not None:
        evidence["color_share"] = round(color.share, 3)
        evidence["color_shares"] = color.shares
        evidence["color_lightness"] = color.lightness
    entry: dict[str, Any] = {
        "id": key_id,
        "name": name.name,
        "category": name.category,
        "tags": tags,
        "render_mesh": _rel(render_mesh, catalog_dir),
        "collision_mesh": collision_rel,
        "mesh_scale": float(f"{scale:.6g}"),
        "mesh_rotation_deg": rotation,
        "colorable": image is None,
        "color": color.word if color is not None else None,
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
