"""`catalog validate FILE`: check every entry of a catalog and list all problems per entry.

`load_catalog` stops at the first problem (what the render pipeline needs); this goes on and
reports everything, plus checks the loader does not make:
  errors   - malformed YAML, schema problems (unknown keys, bad types, unknown tags), duplicate
             ids, names that collide (the same name where the color could be the same too: textured
             objects may share a name in different colors; model.NameRegistry) or contain a color
             word, missing files, unreadable meshes,
             dedicated collision meshes with no closed (watertight) piece, absurd sizes (more
             than SIZE_FACTOR times off the category's typical size, or outside ABSOLUTE_SIZE_M);
  warnings - no `tags:` field, collision meshes with some open pieces (physics uses the hull),
             sizes WARN_FACTOR off the typical size, unknown categories' sizes over 1 m.
The exit status of `catalog validate` is 1 when there is any error.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from simedit.render.catalog.importers.lexicon import lexicon
from simedit.render.catalog.model import (TAGS, Asset, NameRegistry, _AssetEntry, _CatalogFile, _field, compute_geometry,
                                          resolve_path)
from simedit.render.common.errors import SimEditError
from simedit.render.common.yaml_file import read_yaml

SIZE_FACTOR = 5.0  # error: more than 5x off the category's typical size ("a 3 m mug")
WARN_FACTOR = 2.5
ABSOLUTE_SIZE_M = (0.005, 2.0)


def typical_sizes() -> dict[str, float]:
    """category -> typical largest dimension (m), from assets_catalog/lexicon.yaml."""
    return dict(lexicon().category_sizes)


@dataclass
class Problem:
    level: str  # "error" | "warning"
    where: str  # "assets[3] coffee_mug" or "" for the file
    message: str


@dataclass
class Report:
    file: str
    entries: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "warning"]

    def add(self, level: str, where: str, message: str) -> None:
        self.problems.append(Problem(level, where, message))

    def lines(self, warnings: bool = True) -> list[str]:
        out = []
        for p in self.problems:
            if p.level == "warning" and not warnings:
                continue
            out.append(f"{self.file}: {p.where + ': ' if p.where else ''}{p.level}: {p.message}")
        return out

    def summary(self) -> str:
        bad = len({p.where for p in self.errors})
        return (f"{self.entries} entries checked: {len(self.errors)} error(s) in {bad} entr{'y' if bad == 1 else 'ies'}, "
                f"{len(self.warnings)} warning(s)" + ("" if self.errors else " - OK"))


def _mesh_ok(path: Path) -> tuple[bool, str]:
    import trimesh

    try:
        mesh = trimesh.load(path, force="mesh", process=False)
    except Exception as exc:
        return False, f"cannot read mesh: {exc}".splitlines()[0]
    if len(getattr(mesh, "vertices", [])) < 4 or len(getattr(mesh, "faces", [])) == 0:
        return False, "mesh has no faces"
    return True, ""


def validate_catalog(path: str | os.PathLike) -> Report:
    path = Path(path).expanduser().resolve()
    report = Report(file=str(path))
    try:
        raw = read_yaml(path, "catalog")
    except SimEditError as exc:
        if not path.is_file():  # nothing to validate: the command's user error, not a finding
            raise
        report.add("error", "", exc.detail)  # malformed YAML (line, column) is a finding to report
        return report
    if not isinstance(raw, dict):
        report.add("error", "", "expected a mapping with 'colors' and 'assets'")
        return report
    for key in raw:
        if key not in ("colors", "assets"):
            report.add("error", key, "unknown key")
    palette: dict[str, Any] = {}
    try:
        palette = _CatalogFile.model_validate({"colors": raw.get("colors"), "assets": [{"id": "x", "name": "x",
                                              "category": "x", "render_mesh": "x"}]}).colors
    except ValidationError as exc:
        for err in exc.errors():
            report.add("error", _field(tuple(err["loc"])), err["msg"].removeprefix("Value error, "))
    entries = raw.get("assets")
    if not isinstance(entries, list) or not entries:
        report.add("error", "assets", "expected a non-empty list of entries")
        return report
    report.entries = len(entries)
    base = path.parent
    ids: dict[str, int] = {}
    names = NameRegistry()
    sizes = typical_sizes()
    for i, e in enumerate(entries):
        where = f"assets[{i}]" + (f" {e.get('id')}" if isinstance(e, dict) and e.get("id") else "")
        if not isinstance(e, dict):
            report.add("error", where, "expected a mapping")
            continue
        try:
            entry = _AssetEntry.model_validate(e)
        except ValidationError as exc:
            for err in exc.errors():
                msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
                report.add("error", where, f"{_field(tuple(err['loc']))}: {msg}")
            continue
        if entry.id in ids:
            report.add("error", where, f"duplicate id {entry.id!r} (also assets[{ids[entry.id]}])")
        ids.setdefault(entry.id, i)
        other = names.clash(entry.id, entry.name, entry.colorable, entry.color)
        if other is not None:
            report.add("error", where, f"name {entry.name!r} collides with {other!r}: instructions could not tell them apart")
        clash = [w for w in entry.name.split() if w in palette]
        if clash:
            report.add("error", where, f"name {entry.name!r} contains the color word {clash[0]!r}")
        if entry.colorable and entry.color is not None:
            report.add("error", where, "'color' is only for non-colorable assets (set colorable: false)")
        if entry.color is not None and palette and entry.color not in palette:
            report.add("error", where, f"unknown color word {entry.color!r}")
        if "tags" not in e:
            report.add("warning", where, f"missing tags: no `tags:` field ({' / '.join(TAGS)} never apply)")

        files: dict[str, Path] = {}
        for key in ("render_mesh", "collision_mesh", "texture"):
            value = getattr(entry, key)
            if value is None:
                continue
            resolved = resolve_path(value, base)
            if not resolved.is_file():
                report.add("error", where, f"{key}: file not found: {resolved}")
            else:
                files[key] = resolved
        readable = True
        for key in ("render_mesh", "collision_mesh"):
            if key in files:
                ok, why = _mesh_ok(files[key])
                if not ok:
                    report.add("error", where, f"{key}: {why}")
                    readable = False
        if "collision_mesh" in files and readable and files["collision_mesh"] != files.get("render_mesh"):
            from simedit.render.catalog.collision import watertight_report

            pieces, closed = watertight_report(files["collision_mesh"])
            if closed == 0:
                report.add("error", where, f"collision_mesh: not watertight ({pieces} open piece(s)); "
                           "rebuild it with `catalog import` (VHACD) or point it at a closed mesh")
            elif closed < pieces:
                report.add("warning", where, f"collision_mesh: {pieces - closed} of {pieces} piece(s) not watertight")
        if "texture" in files:
            try:
                from PIL import Image

                with Image.open(files["texture"]) as im:
                    im.verify()
            except Exception as exc:
                report.add("error", where, f"texture: unreadable image: {exc}".splitlines()[0])
        if "render_mesh" in files and readable:
            asset = Asset(id=entry.id, name=entry.name, category=entry.category, tags=frozenset(entry.tags),
                          render_mesh=files["render_mesh"], collision_mesh=files.get("collision_mesh", files["render_mesh"]),
                          mesh_scale=entry.mesh_scale, mesh_rotation_deg=entry.mesh_rotation_deg)
            try:
                size = float(compute_geometry(asset).extents.max())
            except SimEditError as exc:
                report.add("error", where, exc.detail)
                continue
            _check_size(report, where, entry.category, size, sizes.get(entry.category))
    return report


def _check_size(report: Report, where: str, category: str, size: float, typical: float | None) -> None:
    lo, hi = ABSOLUTE_SIZE_M
    factor = size / typical if typical else 1.0
    if typical and (factor > SIZE_FACTOR or factor < 1 / SIZE_FACTOR):
        report.add("error", where, f"absurd size: {size:.3g} m for a {category} (typical {typical:g} m); fix mesh_scale")
    elif not lo <= size <= hi:
        report.add("error", where, f"absurd size: {size:.3g} m (outside {lo:g}-{hi:g} m); fix mesh_scale")
    elif typical and (factor > WARN_FACTOR or factor < 1 / WARN_FACTOR):
        report.add("warning", where, f"unusual size: {size:.3g} m for a {category} (typical {typical:g} m)")
    elif typical is None and size > 1.0:
        report.add("warning", where, f"large: {size:.3g} m for an object of category {category!r}")
