"""A plain folder of meshes: every .obj / .glb / .gltf / .ply under it (recursively), with the
texture its OBJ material names, or the one embedded in a glTF. Files that look like collision
meshes (`*_col.obj`, `*collision*`, `*vhacd*`) are skipped. A sidecar `<stem>.yaml` or
`<stem>.json` may give `name`, `description`, `category`, `tags`, `size_m` (largest dimension in
meters) and `up: y`. OBJ/PLY are read as Z up, glTF as Y up (its convention). A mesh with a
generic file name (`model.obj`, `mesh.glb`, Kubric's `visual_geometry.obj`) is named after
its folder.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from simedit.render.catalog.importers.naming import Texts
from simedit.render.catalog.importers.obj_staging import link_or_copy, obj_texture
from simedit.render.catalog.importers.proposal import MESH_SUFFIXES, Broken, Candidate
from simedit.render.common.errors import SimEditError
from simedit.render.common.yaml_file import read_yaml

NAME = "mesh_folder"
SKIP = ("_col.", "collision", "vhacd")
GENERIC_STEMS = {"model", "mesh", "visual_geometry", "textured", "scene", "object", "untitled", "model_normalized",
                 "meshes", "geometry", "base"}


def _meshes(root: Path) -> list[Path]:
    if root.is_file():
        return [root] if root.suffix.lower() in MESH_SUFFIXES else []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in MESH_SUFFIXES
                  and not any(s in p.name.lower() for s in SKIP) and not any(part.endswith("_assets") for part in p.parts))


def detect(root: Path) -> bool:
    return bool(_meshes(root))


def _sidecar(mesh: Path) -> dict:
    for suffix in (".yaml", ".yml", ".json"):
        path = mesh.with_suffix(suffix)
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8")) if suffix == ".json" else read_yaml(path, "sidecar")
            return data if isinstance(data, dict) else {}
    return {}


def utf8_name(path: Path) -> str:
    """The path as text a YAML file can hold: bytes that are not UTF-8 (a latin-1 file name)
    written as \\xNN, so the text stays unique and stable."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _is_utf8(path: Path) -> bool:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def materialize(mesh: Path, cache: Path) -> tuple[Path, Path | None, Path | None]:
    texture = obj_texture(mesh) if mesh.suffix.lower() == ".obj" else None
    if not _is_utf8(mesh):  # the catalog must name it in UTF-8: a link under a plain name
        staged = cache / f"mesh{mesh.suffix.lower()}"
        link_or_copy(mesh, staged)
        mesh = staged
    return mesh, texture, None


def _stem(mesh: Path, root: Path) -> str:
    """The model's own name: the file's, or for a generic file name its folder's (skipping
    folders like meshes/)."""
    if mesh.stem.lower() not in GENERIC_STEMS:
        return mesh.stem
    for parent in mesh.parents:
        folder = parent.name.lower()
        if parent == root.parent or not (folder in GENERIC_STEMS | {"meshes", "models", "obj"} or folder.isdigit()):
            return parent.name or mesh.stem
    return mesh.stem


def _text_stem(mesh: Path, root: Path) -> str:
    """`_stem` as text for names and ids (bytes that are not UTF-8 left out)."""
    return re.sub(r"\\x[0-9a-f]{2}", "", utf8_name(Path(_stem(mesh, root)))) or "model"


def discover(root: Path) -> Iterator[Candidate | Broken]:
    meshes = _meshes(root)
    stems: dict[str, int] = {}
    for m in meshes:
        stems[_text_stem(m, root)] = stems.get(_text_stem(m, root), 0) + 1
    for mesh in meshes:
        try:
            meta = _sidecar(mesh)
        except SimEditError as exc:  # read_yaml's one line (with the line and column)
            yield Broken(str(mesh), f"unreadable sidecar: {exc.detail}", kind="unreadable sidecar")
            continue
        except (OSError, ValueError) as exc:
            yield Broken(str(mesh), f"unreadable sidecar: {exc}".splitlines()[0], kind="unreadable sidecar")
            continue
        stem = _text_stem(mesh, root)
        key = stem if stems[stem] == 1 else f"{mesh.parent.parent.name if mesh.stem != stem else mesh.parent.name}_{stem}"
        texts = Texts(title=str(meta.get("name") or stem), names=[stem],
                      description=str(meta.get("description") or ""),
                      category=str(meta["category"]) if meta.get("category") else None)
        size = meta.get("size_m")
        up = str(meta.get("up", "y" if mesh.suffix.lower() in (".glb", ".gltf") else "z")).lower()
        yield Candidate(key=key, origin=utf8_name(mesh), source=NAME, materialize=partial(materialize, mesh), texts=texts,
                        tags_hint=[str(t) for t in meta.get("tags") or []],
                        size_hint_m=float(size) if isinstance(size, (int, float)) and size > 0 else None,
                        meters=bool(meta.get("meters", False)), up_axis="y" if up == "y" else "z")
