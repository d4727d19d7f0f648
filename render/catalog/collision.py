"""Collision meshes for imported assets: PyBullet's built-in VHACD convex decomposition.

Collision building is physics, so this module (like render/plan/physics.py) imports pybullet.
A decomposition is computed once per (mesh bytes, parameters) and cached as an OBJ in the
catalog's asset folder; a later import, or sampling, never pays for it again. The output is in
the render mesh's file coordinates, so the catalog's mesh_scale / mesh_rotation_deg apply to
it unchanged.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from simedit.render.common.atomic import atomic_write
from simedit.render.common.errors import SimEditError
from simedit.render.common.quiet import quiet_fds

VHACD_RESOLUTION = 50_000  # voxels; PyBullet's default is 100k, this is plenty for tabletop objects


def _digest(mesh: Path) -> str:
    h = hashlib.sha256(mesh.read_bytes())
    h.update(f"vhacd:{VHACD_RESOLUTION}".encode())
    return h.hexdigest()[:12]


def collision_path(mesh: Path, cache_dir: Path) -> Path:
    return cache_dir / f"collision_{_digest(mesh)}.obj"


def build_collision(mesh: str | os.PathLike, cache_dir: str | os.PathLike) -> tuple[Path, bool]:
    """Convex decomposition of `mesh` into `cache_dir`; -> (path, built_now). Reuses the cached
    file when the mesh bytes and parameters are unchanged."""
    mesh, cache_dir = Path(mesh), Path(cache_dir)
    out = collision_path(mesh, cache_dir)
    if out.is_file() and out.stat().st_size > 0:
        return out, False
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = mesh
        if mesh.suffix.lower() != ".obj":  # VHACD reads OBJ only
            import trimesh

            try:
                loaded = trimesh.load(mesh, force="mesh", process=False)
            except Exception as exc:
                raise SimEditError(f"cannot read mesh: {exc}", file=str(mesh)) from None
            source = Path(tmp) / "in.obj"
            loaded.export(source, include_texture=False)
        partial = Path(tmp) / "out.obj"
        with quiet_fds():
            import pybullet as pb

            pb.vhacd(str(source), str(partial), str(Path(tmp) / "vhacd.log"), resolution=VHACD_RESOLUTION)
        if not partial.is_file() or partial.stat().st_size == 0:
            raise SimEditError("convex decomposition (VHACD) produced nothing", file=str(mesh))
        atomic_write(out, partial.read_bytes())  # the temp dir may be on another file system
    return out, True


def watertight_report(path: str | os.PathLike) -> tuple[int, int]:
    """(pieces, watertight pieces) of a collision mesh; VHACD output is one closed convex hull
    per piece."""
    import trimesh

    mesh = trimesh.load(path, force="mesh", process=True)
    pieces = mesh.split(only_watertight=False)
    if len(pieces) == 0:
        pieces = [mesh]
    return len(pieces), sum(bool(p.is_watertight) for p in pieces)
