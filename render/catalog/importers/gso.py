"""Google Scanned Objects as distributed: one folder per model

    <Model>/meshes/model.obj (+ model.mtl), <Model>/materials/textures/texture.png,
    <Model>/metadata.pbtxt, <Model>/model.config, <Model>/model.sdf

or the same as per-model `<Model>.zip` archives. Meshes are in meters, Z up. The name comes
from model.config's <description> (else metadata.pbtxt's description / name, else the folder
name). Archives are never unpacked whole: the mesh and texture are extracted into the catalog's
asset folder.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path

from simedit.render.catalog.importers.obj_staging import obj_resolves, stage_obj
from simedit.render.catalog.importers.proposal import Broken, Candidate
from simedit.render.common.atomic import atomic_write

NAME = "gso"
MESH = "meshes/model.obj"
TEXTURE = "materials/textures/texture.png"


def _model_dirs(root: Path) -> list[Path]:
    if (root / MESH).is_file() or (root / "model.config").is_file():
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and ((p / "meshes").is_dir() or (p / "model.config").is_file()))


def _zip_prefix(names: list[str]) -> str | None:
    for n in names:
        if n.endswith(MESH):
            return n[: -len(MESH)]
    return None


def _zips(root: Path) -> list[Path]:
    return sorted(root.glob("*.zip")) if root.is_dir() else ([root] if root.suffix == ".zip" else [])


def detect(root: Path) -> bool:
    if root.is_file():
        return root.suffix == ".zip"
    if _model_dirs(root):
        return True
    for z in _zips(root)[:5]:
        try:
            with zipfile.ZipFile(z) as zf:
                if _zip_prefix(zf.namelist()) is not None:
                    return True
        except zipfile.BadZipFile:
            continue
    return False


def parse_texts(config: str | None, pbtxt: str | None) -> tuple[list[str], str | None]:
    """(name texts best first, category) from model.config and metadata.pbtxt text."""
    texts: list[str] = []
    category = None
    if config:
        try:
            tree = ET.fromstring(config)
            for tag in ("description", "name"):
                el = tree.find(tag)
                if el is not None and el.text and el.text.strip():
                    texts.append(el.text.strip())
        except ET.ParseError:
            pass
    if pbtxt:
        fields: dict[str, list[str]] = {}
        for key, value in re.findall(r'(\w+)\s*:\s*"((?:[^"\\]|\\.)*)"', pbtxt):
            fields.setdefault(key, []).append(value)
        texts += fields.get("description", []) + fields.get("name", [])
        ann = re.search(r'key\s*:\s*"category"\s*value\s*:\s*"([^"]*)"', pbtxt)
        cats = fields.get("category", []) or ([ann.group(1)] if ann else []) or fields.get("first", [])
        category = cats[0] if cats else None
    return [t for t in dict.fromkeys(texts) if t], category


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _folder(model: Path) -> Candidate | Broken:
    mesh = model / MESH
    if not mesh.is_file():
        return Broken(str(model), f"no {MESH}")
    texture = model / TEXTURE
    texture = texture if texture.is_file() else None
    texts, category = parse_texts(_read(model / "model.config"), _read(model / "metadata.pbtxt"))

    def materialize(cache: Path) -> tuple[Path, Path | None, Path | None]:
        if obj_resolves(mesh):
            return mesh, texture, None
        # model.mtl names texture.png next to the mesh, but GSO keeps it in materials/textures
        mtl = mesh.parent / "model.mtl"
        return stage_obj(mesh, _read(mtl) if mtl.is_file() else None, texture, cache), texture, None

    return Candidate(key=model.name, origin=str(model), source=NAME, materialize=materialize,
                     texts=texts + [model.name], category_hint=category, meters=True)


def _archive(path: Path) -> Candidate | Broken:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            prefix = _zip_prefix(names)
            if prefix is None:
                return Broken(str(path), f"archive has no {MESH}")
            config = zf.read(prefix + "model.config").decode("utf-8", "replace") if prefix + "model.config" in names else None
            pbtxt = zf.read(prefix + "metadata.pbtxt").decode("utf-8", "replace") if prefix + "metadata.pbtxt" in names else None
    except (zipfile.BadZipFile, OSError, KeyError) as exc:
        return Broken(str(path), f"unreadable archive: {exc}")
    texts, category = parse_texts(config, pbtxt)

    def materialize(cache: Path) -> tuple[Path, Path | None, Path | None]:
        with zipfile.ZipFile(path) as zf:
            texture = None
            if prefix + TEXTURE in zf.namelist():
                texture = atomic_write(cache / "texture.png", zf.read(prefix + TEXTURE), mkdir=True)
            mtl_name = prefix + "meshes/model.mtl"
            mtl = zf.read(mtl_name).decode("utf-8", "replace") if mtl_name in zf.namelist() else None
            mesh = stage_obj(zf.read(prefix + MESH), mtl, texture, cache)
        return mesh, texture, None

    return Candidate(key=path.stem, origin=str(path), source=NAME, materialize=materialize,
                     texts=texts + [path.stem], category_hint=category, meters=True)


def discover(root: Path) -> Iterator[Candidate | Broken]:
    if root.is_file():
        yield _archive(root)
        return
    dirs = _model_dirs(root)
    for d in dirs:
        yield _folder(d)
    names = {d.name for d in dirs}
    for z in _zips(root):
        if z.stem not in names:  # an unpacked copy next to its archive wins
            yield _archive(z)
