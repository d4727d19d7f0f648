"""Google Scanned Objects as distributed, in any of its layouts:

    <Model>/meshes/model.obj (+ model.mtl)     the dataset's folders (any depth below the root)
    <Model>/materials/textures/texture.png     (model.mtl says `map_Kd texture.png` next to the
    <Model>/model.config, model.sdf            mesh; the file is here)
    <Model>/metadata.pbtxt, thumbnails/0.jpg
    <Model>.zip                                Fuel downloads: the same files at the top (or in one folder)
    <owner>/models/<Model>/<version>/...       `gz fuel download`'s cache; the newest version is taken

Meshes are in meters, Z up. Words come from model.config (its <description>: the product's
title on the first line, marketing text after) and metadata.pbtxt (read by field: `name`,
`description`, `categories { first }`, the `brand` annotation; not the authors' or
compatibilities' names). Archives are never unpacked whole: the mesh and texture are extracted
into the catalog's asset folder.
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from simedit.render.catalog.importers.pbtxt import annotations, first, parse
from simedit.render.catalog.importers.naming import Texts, title_and_body
from simedit.render.catalog.importers.obj_staging import obj_resolves, stage_obj
from simedit.render.catalog.importers.proposal import Broken, Candidate
from simedit.render.common.atomic import atomic_write
from simedit.render.common.errors import SimEditError

NAME = "gso"
MESH = "meshes/model.obj"
MTL = "meshes/model.mtl"
TEXTURE = "materials/textures/texture.png"
MAX_DEPTH = 6  # a Fuel cache root is ~/.gz/fuel/<server>/<owner>/models/<name>/<version>
EXPECTED = ("<model>/meshes/model.obj (a GSO folder), <model>.zip (a Fuel download) or "
            "<owner>/models/<model>/<version>/ (a `gz fuel download` cache)")


def _is_model(d: Path) -> bool:
    return (d / MESH).is_file() or ((d / "model.config").is_file() and (d / "meshes").is_dir())


def _version(d: Path) -> int:
    return int(d.name) if d.name.isdigit() else -1


def _model_dirs(root: Path) -> list[Path]:
    """Every model folder below `root` (not inside another); of a Fuel cache's numbered version
    folders, the newest."""
    if not root.is_dir():
        return []
    if _is_model(root):
        return [root]
    found: list[Path] = []
    for dirpath, dirnames, _ in os.walk(root):
        here = Path(dirpath)
        depth = len(here.relative_to(root).parts)
        dirnames.sort()
        if depth >= MAX_DEPTH:
            dirnames[:] = []
            continue
        models = [n for n in dirnames if _is_model(here / n)]
        versions = [n for n in models if n.isdigit()]
        if versions:  # <name>/<version>/: only the newest version is the model
            newest = max(versions, key=int)
            found.append(here / newest)
            models = [n for n in models if not n.isdigit()]
        found += [here / n for n in models]
        dirnames[:] = [n for n in dirnames if n not in models and n not in versions and not n.endswith("_assets")
                       and not n.startswith(".")]
    return sorted(found)


def _zips(root: Path) -> list[Path]:
    if root.is_file():
        return [root] if root.suffix.lower() == ".zip" else []
    return sorted(p for p in root.glob("*.zip") if p.is_file())


def _zip_prefix(names: list[str]) -> str | None:
    for n in names:
        if n.endswith(MESH) and n.count("/") <= 3:
            return n[: -len(MESH)]
    return None


def detect(root: Path) -> bool:
    if _model_dirs(root):
        return True
    for z in _zips(root)[:5]:
        try:
            with zipfile.ZipFile(z) as zf:
                if _zip_prefix(zf.namelist()) is not None:
                    return True
        except (zipfile.BadZipFile, OSError):
            continue
    return False


def model_key(model_dir: Path) -> str:
    """A model's name: its folder, or for a Fuel cache's `<name>/<version>/`, the name."""
    return model_dir.parent.name if model_dir.name.isdigit() and model_dir.parent.name else model_dir.name


def read_texts(config: str | None, metadata: str | None, fallback: str) -> tuple[Texts, list[str]]:
    """What model.config and metadata.pbtxt say about a model -> (texts, tags stated)."""
    names: list[str] = []
    description = ""
    if config:
        try:
            tree = ET.fromstring(config)  # a licence comment first and no <?xml?> line: both fine
            for tag in ("name", "description"):
                el = tree.find(tag)
                if el is not None and el.text and el.text.strip():
                    if tag == "name":
                        names.append(el.text.strip())
                    else:
                        description = el.text.strip()
        except ET.ParseError:
            pass
    category, brands, tags = None, [], []
    if metadata:
        try:
            fields = parse(metadata)
        except SimEditError:
            fields = {}
        name = first(fields, "name")
        if isinstance(name, str) and name.strip():
            names.append(name.strip())
        desc = first(fields, "description")
        if isinstance(desc, str) and desc.strip() and not description:
            description = desc.strip()
        cat = first(fields, "categories", "first")
        category = cat.strip() if isinstance(cat, str) and cat.strip() else None
        notes = annotations(fields)
        brands = [notes["brand"]] if notes.get("brand") else []
        tags = [str(t) for t in fields.get("tags", []) if isinstance(t, str)]
    names.append(fallback)
    title, body = title_and_body(description)
    names = list(dict.fromkeys(n for n in names if n))
    texts = Texts(title=title or names[0], names=[n for n in names if n != title], description=body,
                  category=category, brands=brands)
    return texts, tags


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def materialize_folder(model: Path, cache: Path) -> tuple[Path, Path | None, Path | None]:
    mesh = model / MESH
    texture = model / TEXTURE
    texture = texture if texture.is_file() else None
    if obj_resolves(mesh):
        return mesh, texture, None
    # model.mtl names texture.png next to the mesh, but GSO keeps it in materials/textures
    mtl = model / MTL
    return stage_obj(mesh, _read(mtl) if mtl.is_file() else None, texture, cache), texture, None


def materialize_archive(path: Path, prefix: str, cache: Path) -> tuple[Path, Path | None, Path | None]:
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        texture = None
        if prefix + TEXTURE in names:
            texture = atomic_write(cache / "texture.png", zf.read(prefix + TEXTURE), mkdir=True)
        mtl = zf.read(prefix + MTL).decode("utf-8", "replace") if prefix + MTL in names else None
        mesh = stage_obj(zf.read(prefix + MESH), mtl, texture, cache)
    return mesh, texture, None


def _folder(model: Path) -> Candidate | Broken:
    if not (model / MESH).is_file():
        return Broken(str(model), f"no {MESH}", kind=f"no {MESH}")
    key = model_key(model)
    texts, tags = read_texts(_read(model / "model.config"), _read(model / "metadata.pbtxt"), key)
    return Candidate(key=key, origin=str(model), source=NAME, materialize=partial(materialize_folder, model),
                     texts=texts, tags_hint=tags, meters=True)


def _archive(path: Path) -> Candidate | Broken:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            prefix = _zip_prefix(names)
            if prefix is None:
                return Broken(str(path), f"archive has no {MESH}", kind=f"archive without {MESH}")
            config = zf.read(prefix + "model.config").decode("utf-8", "replace") if prefix + "model.config" in names else None
            meta = zf.read(prefix + "metadata.pbtxt").decode("utf-8", "replace") if prefix + "metadata.pbtxt" in names else None
    except (zipfile.BadZipFile, OSError, KeyError) as exc:
        return Broken(str(path), f"unreadable archive: {exc}", kind="unreadable archive")
    stem = path.stem
    texts, tags = read_texts(config, meta, stem)
    # a Fuel download may be called "1.zip" or "model.zip": the model's own name is the key then
    key = stem if not (stem.isdigit() or stem.lower() in ("model", "download")) else (texts.names[0] if texts.names else stem)
    return Candidate(key=key, origin=str(path), source=NAME, materialize=partial(materialize_archive, path, prefix),
                     texts=texts, tags_hint=tags, meters=True)


def discover(root: Path) -> Iterator[Candidate | Broken]:
    dirs = _model_dirs(root)
    for d in dirs:
        yield _folder(d)
    names = {model_key(d) for d in dirs}
    for z in _zips(root):
        if z.stem not in names:  # an unpacked copy next to its archive wins
            yield _archive(z)
