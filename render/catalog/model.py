"""The object catalog: assets with names, categories, tags and meshes.

A catalog is a YAML file (see assets_catalog/builtin.yaml) with a `colors:` palette and an
`assets:` list. `load_catalog` validates it with pydantic and reports every problem as a
SimEditError naming the file and the field ("assets[3].tags").
"""
from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from simedit.render.catalog.geometry_cache import cached_geometry
from simedit.render.common.errors import SimEditError
from simedit.render.common.fields import number
from simedit.render.common.paths import BUILTIN_CATALOG
from simedit.render.common.yaml_file import read_yaml

# can-fall: taller than wide (falling over shows); round: symmetric about the up axis;
# invariant: looks the same under every rotation (balls; implies round); support: a flat,
# horizontal top another object can stand on (never invariant). tags.py infers them; this order
# is the canonical one written to YAML.
TAGS = ("can-fall", "round", "invariant", "support")


@dataclass(frozen=True)
class Asset:
    id: str
    name: str  # human noun phrase without the color word: "coffee mug"
    category: str  # shape swaps stay inside a category: "cup"
    tags: frozenset[str]  # subset of TAGS
    render_mesh: Path  # absolute path to an .obj/.glb/.ply
    collision_mesh: Path  # absolute path; may equal render_mesh
    mesh_scale: float = 1.0  # mesh file units -> meters
    mesh_rotation_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)  # XYZ Euler making the mesh Z-up
    colorable: bool = True  # solid-color asset: the scene picks a palette color, named in text
    color: str | None = None  # fixed color word for a non-colorable asset ("yellow" duck)
    texture: Path | None = None  # image texture for textured meshes
    source: str = "builtin"


@dataclass(frozen=True)
class AssetGeometry:
    """Geometry in the asset frame: meters, Z up, bounding box centered on the origin."""

    transform: np.ndarray  # 4x4: raw mesh file coordinates -> asset frame (scale, rotate, center)
    extents: np.ndarray  # (3,) bounding-box size in the asset frame, meters
    hull: np.ndarray  # (K, 3) convex-hull vertices in the asset frame
    vertices: np.ndarray  # (N, 3) render-mesh vertices in the asset frame (shape tests see concavities)


@dataclass
class Catalog:
    path: Path
    assets: dict[str, Asset]
    palette: dict[str, tuple[float, float, float]]  # color word -> linear RGB
    skipped: list[str] = field(default_factory=list)  # entries dropped for missing files
    _geometry: dict[str, AssetGeometry] = field(default_factory=dict, repr=False)

    def get(self, asset_id: str) -> Asset:
        try:
            return self.assets[asset_id]
        except KeyError:
            raise SimEditError(f"unknown object id {asset_id!r}", file=str(self.path)) from None

    def geometry(self, asset_id: str) -> AssetGeometry:
        """Asset-frame geometry, computed once per asset and kept on disk for other processes
        (`geometry_cache.py`; meshes load lazily)."""
        if asset_id not in self._geometry:
            self._geometry[asset_id] = cached_geometry(self.get(asset_id), compute_geometry, AssetGeometry)
        return self._geometry[asset_id]

    def display_name(self, asset_id: str, color: str | None) -> str:
        asset = self.get(asset_id)
        word = color if asset.colorable else asset.color
        return f"{word} {asset.name}" if word else asset.name

    def hash(self) -> str:
        """sha256 hex of the YAML text plus, per asset in order, the file name and full bytes of
        every referenced file (render/collision mesh, texture). Names, not absolute paths, so the
        same catalog hashes the same on any machine or venv location; full bytes (not size) since
        the built-in files total a few MB and hash in milliseconds."""
        digest = hashlib.sha256(self.path.read_bytes())
        seen: set[Path] = set()
        for asset in self.assets.values():
            for path in (asset.render_mesh, asset.collision_mesh, asset.texture):
                if path is None or path in seen:
                    continue
                seen.add(path)
                digest.update(f"\0{path.name}\0".encode())
                digest.update(path.read_bytes())
        return digest.hexdigest()

    def select(
        self,
        ids: Iterable[str] = (),
        categories: Iterable[str] = (),
        tags: Iterable[str] = (),
        exclude_ids: Iterable[str] = (),
        exclude_categories: Iterable[str] = (),
        exclude_tags: Iterable[str] = (),
    ) -> list[Asset]:
        """Assets matching every non-empty include filter (an asset needs one of the ids, one of
        the categories, and all the tags) and none of the excludes, in YAML order."""
        ids, categories, tags = set(ids), set(categories), set(tags)
        exclude_ids, exclude_categories, exclude_tags = set(exclude_ids), set(exclude_categories), set(exclude_tags)
        for asset_id in ids | exclude_ids:
            self.get(asset_id)  # a typo in an id is an error, not an empty selection
        return [
            a for a in self.assets.values()
            if (not ids or a.id in ids)
            and (not categories or a.category in categories)
            and tags <= a.tags
            and a.id not in exclude_ids
            and a.category not in exclude_categories
            and not (a.tags & exclude_tags)
        ]

    def by_category(self, category: str) -> list[Asset]:
        return [a for a in self.assets.values() if a.category == category]

    @property
    def categories(self) -> list[str]:
        return list(dict.fromkeys(a.category for a in self.assets.values()))


def _solid(verts: np.ndarray, path: Path, asset_id: str) -> np.ndarray:
    """The vertices of a mesh that can stand on a table: finite, enough of them, not flat."""
    if len(verts) < 4:
        raise SimEditError(f"mesh has {len(verts)} vertices: nothing to render", file=str(path), field=asset_id)
    if not np.isfinite(verts).all():
        raise SimEditError("mesh has non-finite (nan or inf) vertices", file=str(path), field=asset_id)
    if (np.ptp(verts, axis=0) <= 0).any():
        raise SimEditError("mesh is flat (no extent along one axis): nothing can stand", file=str(path), field=asset_id)
    return verts


def compute_geometry(asset: Asset) -> AssetGeometry:
    """Bounds and centering come from the render mesh (what is seen); the hull for physics
    from the collision mesh, under the same transform."""
    import trimesh
    from scipy.spatial.transform import Rotation

    def vertices(path: Path) -> np.ndarray:
        try:
            mesh = trimesh.load(path, force="mesh", process=False)
        except Exception as exc:  # trimesh raises many types for unreadable files
            raise SimEditError(f"cannot read mesh: {exc}", file=str(path), field=asset.id) from None
        return np.asarray(mesh.vertices, float)

    linear = np.eye(4)
    linear[:3, :3] = Rotation.from_euler("xyz", asset.mesh_rotation_deg, degrees=True).as_matrix() * asset.mesh_scale
    render_verts = trimesh.transform_points(_solid(vertices(asset.render_mesh), asset.render_mesh, asset.id), linear)
    lo, hi = render_verts.min(axis=0), render_verts.max(axis=0)
    transform = linear.copy()
    transform[:3, 3] = -(lo + hi) / 2.0
    if asset.collision_mesh == asset.render_mesh:
        collision = render_verts + transform[:3, 3]
    else:
        collision = trimesh.transform_points(_solid(vertices(asset.collision_mesh), asset.collision_mesh, asset.id),
                                             transform)
    try:
        hull = trimesh.convex.convex_hull(collision).vertices
    except Exception as exc:  # qhull on a degenerate point set
        raise SimEditError(f"mesh has no volume to hold ({type(exc).__name__})", file=str(asset.collision_mesh),
                           field=asset.id) from None
    return AssetGeometry(
        transform=transform, extents=hi - lo, hull=np.asarray(hull, float),
        vertices=render_verts + transform[:3, 3],
    )


# ---------------------------------------------------------------- loading

class NameRegistry:
    """Which names instructions could confuse. Objects are named with their color ("teal mug"):
    two textured mugs of different colors read differently, but a solid-color (colorable)
    object may be painted any color, so its name must be its own."""

    def __init__(self) -> None:
        self._any: dict[str, str] = {}  # name -> first id
        self._colorable: dict[str, str] = {}
        self._fixed: dict[tuple[str, str | None], str] = {}  # (name, color) of textured objects -> id

    def clash(self, asset_id: str, name: str, colorable: bool, color: str | None) -> str | None:
        """The id `asset_id`'s name collides with (None: free); registers it when free."""
        other = (self._any.get(name) if colorable else self._colorable.get(name) or self._fixed.get((name, color)))
        if other is not None:
            return other
        self._any.setdefault(name, asset_id)
        if colorable:
            self._colorable[name] = asset_id
        else:
            self._fixed[(name, color)] = asset_id
        return None


PYBULLET_PREFIX = "pybullet_data:"
SNAKE_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class _AssetEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: str
    name: str = Field(min_length=1)
    category: str
    tags: list[str] = []
    render_mesh: str
    collision_mesh: str | None = None  # None: the render mesh
    mesh_scale: number(ge=1e-6, le=1e6) = 1.0  # finite: a NaN or 1e-300 scale has no geometry
    mesh_rotation_deg: tuple[number(ge=-360, le=360), number(ge=-360, le=360), number(ge=-360, le=360)] = (0.0, 0.0, 0.0)
    colorable: bool = True
    color: str | None = None
    texture: str | None = None
    source: str = "builtin"
    # written by `catalog import` (render/catalog/importers); optional, ignored by the renderer
    origin: str | None = None  # where the model came from (folder, archive, manifest entry)
    size_source: str | None = None  # how mesh_scale was chosen ("mesh units: meters", "category default ...")
    evidence: dict[str, Any] | None = None  # measured geometry behind the inferred tags and color
    proposed: dict[str, Any] | None = None  # the importer's last proposal: re-import keeps fields edited since

    @field_validator("mesh_rotation_deg", mode="before")
    @classmethod
    def _list_ok(cls, v: Any) -> Any:
        # YAML gives lists; strict mode wants a tuple of floats
        if isinstance(v, list):
            return tuple(float(x) if isinstance(x, int) and not isinstance(x, bool) else x for x in v)
        return v

    @field_validator("id", "category")
    @classmethod
    def _snake(cls, v: str) -> str:
        if not SNAKE_ID.match(v):
            raise ValueError(f"{v!r} is not snake_case (lowercase letters, digits, underscores)")
        return v

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        for tag in v:
            if tag not in TAGS:
                raise ValueError(f"unknown tag {tag!r}; expected some of {', '.join(TAGS)}")
        if "invariant" in v and "round" not in v:
            # invariant under every rotation implies invariant under Z turns
            raise ValueError("an 'invariant' asset must also be tagged 'round'")
        if "invariant" in v and "support" in v:
            # a shape that looks the same under every rotation (a ball) has no flat top
            raise ValueError("an 'invariant' asset cannot be tagged 'support'")
        return v


class _CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    colors: dict[str, tuple[number(ge=0, le=1), number(ge=0, le=1), number(ge=0, le=1)]] = Field(min_length=1)
    assets: list[_AssetEntry] = Field(min_length=1)

    @field_validator("colors", mode="before")
    @classmethod
    def _rgb(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: tuple(float(x) if isinstance(x, int) and not isinstance(x, bool) else x for x in c)
                    if isinstance(c, list) else c for k, c in v.items()}
        return v


def _field(loc: tuple[int | str, ...]) -> str:
    """pydantic location ('assets', 3, 'tags', 0) -> 'assets[3].tags[0]'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def resolve_path(value: str, base: Path) -> Path:
    """`pybullet_data:<rel>` -> inside the installed package; `~` expanded; relative -> `base`."""
    if value.startswith(PYBULLET_PREFIX):
        import pybullet_data

        return (Path(pybullet_data.getDataPath()) / value[len(PYBULLET_PREFIX):]).resolve()
    path = Path(value).expanduser()
    return (path if path.is_absolute() else base / path).resolve()


def _existing(value: str | None, base: Path, file: str, where: str) -> Path | None:
    if value is None:
        return None
    resolved = resolve_path(value, base)
    if not resolved.is_file():
        raise SimEditError(f"file not found: {resolved}", file=file, field=where)
    return resolved


def load_catalog(path: str | Path | None = None, *, missing_files: str = "error") -> Catalog:
    """Load and validate a catalog YAML (None: the built-in one). Geometry stays lazy.

    `missing_files="skip"` (what `render` uses) drops an entry whose mesh or texture file is
    missing with a warning naming it, instead of failing; the `skipped` list says which."""
    path = Path(path).expanduser().resolve() if path is not None else BUILTIN_CATALOG
    file = str(path)
    raw = read_yaml(path, "catalog")
    if not isinstance(raw, dict):
        raise SimEditError("expected a mapping with 'colors' and 'assets'", file=file)
    try:
        parsed = _CatalogFile.model_validate(raw)
    except ValidationError as exc:
        # one problem on one line (fixing it reveals the next); unknown keys first, since a
        # misspelt key also shows up as a missing or defaulted field
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        err = errors[0]
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise SimEditError(msg, file=file, field=_field(tuple(err["loc"]))) from None

    base = path.parent
    assets: dict[str, Asset] = {}
    names = NameRegistry()
    skipped: list[str] = []
    for i, e in enumerate(parsed.assets):
        where = f"assets[{i}]"
        if e.id in assets:
            raise SimEditError(f"duplicate id {e.id!r}", file=file, field=f"{where}.id")
        # instructions name objects by name: two assets with one name make ambiguous text
        other = names.clash(e.id, e.name, e.colorable, e.color)
        if other is not None:
            raise SimEditError(f"duplicate name {e.name!r} (also used by {other!r}; textured objects may share a name "
                               "only with different colors)", file=file, field=f"{where}.name")
        clash = [w for w in e.name.split() if w in parsed.colors]
        if clash:
            raise SimEditError(f"name {e.name!r} contains the color word {clash[0]!r}; colors are added "
                               "when naming objects", file=file, field=f"{where}.name")
        if e.colorable and e.color is not None:
            raise SimEditError("'color' is only for non-colorable assets (set colorable: false)", file=file,
                               field=f"{where}.color")
        if e.color is not None and e.color not in parsed.colors:
            raise SimEditError(f"unknown color word {e.color!r}; palette: {', '.join(parsed.colors)}",
                               file=file, field=f"{where}.color")

        try:
            render_mesh = _existing(e.render_mesh, base, file, f"{where}.render_mesh")
            assert render_mesh is not None  # a required field
            collision_mesh = _existing(e.collision_mesh, base, file, f"{where}.collision_mesh") or render_mesh
            texture = _existing(e.texture, base, file, f"{where}.texture")
        except SimEditError as exc:
            if missing_files != "skip":
                raise
            warnings.warn(f"skipping object {e.id!r}: {exc}", stacklevel=2)
            skipped.append(e.id)
            continue
        assets[e.id] = Asset(
            id=e.id,
            name=e.name,
            category=e.category,
            tags=frozenset(e.tags),
            render_mesh=render_mesh,
            collision_mesh=collision_mesh,
            mesh_scale=e.mesh_scale,
            mesh_rotation_deg=e.mesh_rotation_deg,
            colorable=e.colorable,
            color=e.color,
            texture=texture,
            source=e.source,
        )
    palette = {word: tuple(float(c) for c in rgb) for word, rgb in parsed.colors.items()}
    if not assets:
        raise SimEditError(f"no usable object left ({len(skipped)} skipped for missing files)", file=file)
    return Catalog(path=path, assets=assets, palette=palette, skipped=skipped)  # type: ignore[arg-type]
