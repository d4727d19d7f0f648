"""A plain folder of meshes: every .obj / .glb / .gltf / .ply under it (recursively), with the
texture its OBJ material names, or the one embedded in a glTF. Files that look like collision
meshes (`*_col.obj`, `*collision*`, `*vhacd*`) are skipped. A sidecar `<stem>.yaml` or
`<stem>.json` may give `name`, `description`, `category`, `tags`, `size_m` (largest dimension in
meters) and `up: y`. OBJ/PLY are read as Z up, glTF as Y up (its convention).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from simedit.render.catalog.importers.obj_staging import obj_texture
from simedit.render.catalog.importers.proposal import MESH_SUFFIXES, Broken, Candidate
from simedit.render.common.errors import SimEditError
from simedit.render.common.yaml_file import read_yaml

NAME = "mesh_folder"
SKIP = ("_col.", "collision", "vhacd")


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


def discover(root: Path) -> Iterator[Candidate | Broken]:
    meshes = _meshes(root)
    stems: dict[str, int] = {}
    for m in meshes:
        stems[m.stem] = stems.get(m.stem, 0) + 1
    for mesh in meshes:
        try:
            meta = _sidecar(mesh)
        except SimEditError as exc:  # read_yaml's one line (with the line and column)
            yield Broken(str(mesh), f"unreadable sidecar: {exc.detail}")
            continue
        except (OSError, ValueError) as exc:
            yield Broken(str(mesh), f"unreadable sidecar: {exc}".splitlines()[0])
            continue
        key = mesh.stem if stems[mesh.stem] == 1 else f"{mesh.parent.name}_{mesh.stem}"
        texts = [str(t) for t in (meta.get("name"), meta.get("description")) if t] + [mesh.stem]

        def materialize(cache: Path, mesh: Path = mesh) -> tuple[Path, Path | None, Path | None]:
            return mesh, (obj_texture(mesh) if mesh.suffix.lower() == ".obj" else None), None

        size = meta.get("size_m")
        up = str(meta.get("up", "y" if mesh.suffix.lower() in (".glb", ".gltf") else "z")).lower()
        yield Candidate(key=key, origin=str(mesh), source=NAME, materialize=materialize, texts=texts,
                        category_hint=meta.get("category"), tags_hint=[str(t) for t in meta.get("tags") or []],
                        size_hint_m=float(size) if isinstance(size, (int, float)) and size > 0 else None,
                        meters=bool(meta.get("meters", False)), up_axis="y" if up == "y" else "z")
