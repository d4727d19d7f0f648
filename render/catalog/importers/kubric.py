"""Kubric-style asset manifests:

    {"assets": {"<id>": {"asset_type": "FileBasedObject",
                         "kwargs": {"render_filename": "{asset_dir}/visual_geometry.obj",
                                    "simulation_filename": "{asset_dir}/collision_geometry.urdf",
                                    "bounds": [[...], [...]], "mass": 0.3},
                         "metadata": {"category": "mug", "description": "...", ...}}}}

with each asset as `<id>.tar.gz` or a folder `<id>/` next to the manifest. File names may use
`{asset_dir}` / `{asset_id}` placeholders or be relative to the asset folder. A collision mesh
shipped as an .obj (directly, or named by the URDF) is used as is; otherwise VHACD builds one.
Metadata may state `size_m` (largest dimension, meters) and `tags`; `units: "meters"` (on the
manifest or the asset) marks the meshes as metric, and so does Kubric's own GSO manifest
(`"name": "GSO"`, no units key: its converter keeps the scans' meters). Kubric re-centres each
mesh on its center of mass; the catalog centres on the bounding box anyway.

A mirror often holds the whole manifest but only some archives: the entries without a file
are skipped as one kind ("no asset file"), listed in full in the import report.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from simedit.render.catalog.importers.naming import Texts, title_and_body
from simedit.render.catalog.importers.proposal import IMAGE_SUFFIXES, MESH_SUFFIXES, Broken, Candidate
from simedit.render.common.errors import SimEditError

NAME = "kubric"
MISSING = "no asset file"  # the Broken kind of a manifest entry whose archive or folder is absent
METRIC_MANIFESTS = ("gso",)  # Kubric manifests whose meshes are in meters without saying so


def _manifest(root: Path) -> Path | None:
    candidates = [root] if root.is_file() else sorted(root.glob("*.json"))
    for path in candidates:
        if path.suffix != ".json":
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("assets"), dict):
            return path
    return None


def detect(root: Path) -> bool:
    return _manifest(root) is not None


def _resolve(template: str | None, asset_dir: Path, asset_id: str) -> Path | None:
    if not template:
        return None
    text = template.replace("{asset_dir}", str(asset_dir)).replace("{asset_id}", asset_id)
    path = Path(text)
    return path if path.is_absolute() else asset_dir / path


def _safe_extract(archive: Path, dest: Path) -> None:
    """Regular files and folders only, none outside `dest`. Extracted next to `dest` and renamed
    into place, so an interrupted extraction is never mistaken for a finished one (the next
    import reuses `dest` as it finds it)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp.", dir=dest.parent))
    try:
        with tarfile.open(archive) as tf:
            members = [m for m in tf.getmembers() if (m.isfile() or m.isdir())
                       and not Path(m.name).is_absolute() and ".." not in Path(m.name).parts]
            tf.extractall(tmp, members=members)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone after the rename; left only by a failure


def _find_root(extracted: Path, render_name: str | None) -> Path:
    """Archives hold files at the top or inside one folder."""
    if render_name and (extracted / render_name).is_file():
        return extracted
    subs = [p for p in extracted.iterdir() if p.is_dir()]
    return subs[0] if len(subs) == 1 and not any(p.is_file() for p in extracted.iterdir()) else extracted


def _urdf_collision(urdf: Path) -> Path | None:
    try:
        text = urdf.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    block = re.search(r"<collision>.*?</collision>", text, re.S)
    m = re.search(r'filename\s*=\s*"([^"]+)"', block.group(0) if block else "")
    return (urdf.parent / m.group(1)) if m else None


def materialize(folder: Path, archive: Path, kwargs: dict[str, Any], asset_id: str,
                cache: Path) -> tuple[Path, Path | None, Path | None]:
    if folder.is_dir():
        asset_dir = folder
    else:
        extracted = cache / "files"
        if not extracted.is_dir():
            _safe_extract(archive, extracted)
        name = Path(str(kwargs.get("render_filename", ""))).name or None
        asset_dir = _find_root(extracted, name)
    mesh = _resolve(kwargs.get("render_filename"), asset_dir, asset_id)
    if mesh is None:
        found = sorted(p for p in asset_dir.rglob("*") if p.suffix.lower() in MESH_SUFFIXES
                       and "collision" not in p.name)
        mesh = found[0] if found else None
    if mesh is None or not mesh.is_file():
        raise SimEditError("render mesh not found", file=str(mesh or asset_dir))
    textures = sorted(p for p in asset_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    textures.sort(key=lambda p: "texture" not in p.name.lower())
    sim = _resolve(kwargs.get("simulation_filename"), asset_dir, asset_id)
    if sim is not None and sim.suffix.lower() == ".urdf":
        sim = _urdf_collision(sim) if sim.is_file() else None
    collision = sim if sim is not None and sim.is_file() and sim.suffix.lower() == ".obj" else None
    return mesh, (textures[0] if textures else None), collision


def _texts(asset_id: str, meta: dict[str, Any]) -> Texts:
    """Kubric's GSO metadata: `description` is GSO's (title line, then prose); the id is the
    model's name."""
    title, body = title_and_body(str(meta.get("description") or ""))
    names = [str(n) for n in (meta.get("name"), asset_id) if n]
    return Texts(title=title or names[0], names=[n for n in names if n != title], description=body,
                 category=str(meta["category"]) if meta.get("category") else None,
                 brands=[str(meta["brand"])] if meta.get("brand") else [])


def _candidate(manifest: Path, asset_id: str, spec: Any, units: str | None, metric: bool) -> Candidate | Broken:
    origin = f"{manifest}#{asset_id}"
    if not isinstance(spec, dict):
        return Broken(origin, "asset entry is not a mapping", kind="malformed manifest entry")
    kwargs = spec.get("kwargs") or {}
    meta = spec.get("metadata") or {}
    folder, archive = manifest.parent / asset_id, manifest.parent / f"{asset_id}.tar.gz"
    if not folder.is_dir() and not archive.is_file():
        return Broken(origin, f"neither {folder.name}/ nor {archive.name} next to the manifest", kind=MISSING)
    size = meta.get("size_m")
    tags = meta.get("tags") or []
    stated = (spec.get("units") or units or "").lower()
    meters = stated in ("m", "meter", "meters", "metres") or (not stated and metric)
    up = "y" if str(kwargs.get("render_filename", "")).lower().endswith((".glb", ".gltf")) else "z"
    return Candidate(key=asset_id, origin=origin, source=NAME,
                     materialize=partial(materialize, folder, archive, dict(kwargs), asset_id),
                     texts=_texts(asset_id, meta), tags_hint=[str(t) for t in tags],
                     size_hint_m=float(size) if isinstance(size, (int, float)) and size > 0 else None,
                     meters=meters, up_axis=up)


def discover(root: Path) -> Iterator[Candidate | Broken]:
    manifest = _manifest(root)
    assert manifest is not None
    data = json.loads(manifest.read_text(encoding="utf-8"))
    units = data.get("units")
    label = f"{data.get('name', '')} {data.get('data_dir', '')}".lower()
    metric = any(re.search(rf"\b{m}\b", label) for m in METRIC_MANIFESTS)
    for asset_id, spec in data["assets"].items():
        yield _candidate(manifest, str(asset_id), spec, units, metric)
