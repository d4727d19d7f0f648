"""OBJ files that import cleanly wherever their textures lived: reading an OBJ's material
libraries and maps, and staging a copy whose material points at the real texture.

Staged files are cache files in the catalog's asset folder, rewritten on every import; they
are still written atomically, since a catalog may point at them while a re-import runs.
"""
from __future__ import annotations

import os
from pathlib import Path

from simedit.render.common.atomic import atomic_write


def obj_mtllibs(obj: Path, head_bytes: int = 1 << 16) -> list[str]:
    """`mtllib` names in the head of an OBJ (exporters write them first)."""
    with open(obj, "rb") as f:
        head = f.read(head_bytes).decode("utf-8", "replace")
    return [line.split(None, 1)[1].strip() for line in head.splitlines()
            if line.startswith("mtllib") and len(line.split(None, 1)) == 2]


def mtl_maps(mtl: Path) -> list[str]:
    """Image file names the material library's `map_*` lines name."""
    try:
        text = mtl.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line.split()[-1] for line in text.splitlines() if line.strip().lower().startswith("map_") and line.split()]


def obj_texture(obj: Path) -> Path | None:
    """The diffuse texture an OBJ's own material library points at, if it exists."""
    for lib in obj_mtllibs(obj):
        mtl = obj.parent / lib
        text = mtl.read_text(encoding="utf-8", errors="replace") if mtl.is_file() else ""
        for line in text.splitlines():
            if line.strip().lower().startswith("map_kd") and len(line.split()) > 1:
                tex = (mtl.parent / line.split()[-1]).resolve()
                if tex.is_file():
                    return tex
    return None


def obj_resolves(obj: Path) -> bool:
    """Do the OBJ's material libraries and their texture maps exist where it says? (Blender
    refuses a mesh whose material points at a missing image.)"""
    for lib in obj_mtllibs(obj):
        mtl = obj.parent / lib
        if not mtl.is_file():
            return False
        if any(not (mtl.parent / m).is_file() for m in mtl_maps(mtl)):
            return False
    return True


def link_or_copy(src: Path, dst: Path) -> None:
    """`dst` with the bytes of `src`: a hard link (no copy of a big mesh) where the file system
    allows, else an atomic copy. An up-to-date `dst` is left alone."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        if dst.stat().st_size == src.stat().st_size and dst.stat().st_mtime >= src.stat().st_mtime:
            return
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        atomic_write(dst, src.read_bytes())


def stage_obj(obj_bytes_or_path: Path | bytes, mtl_text: str | None, texture: Path | None, dest: Path,
              name: str = "model.obj") -> Path:
    """Put an OBJ in `dest` with a material library whose maps name `texture`, linked in beside
    it (or no maps), so it imports cleanly wherever the original texture lived. The map is a
    bare file name: Blender joins an mtl's map path to the mtl's folder even when it is
    absolute ("Failed to open dir" on every render), and a bare name also survives moving
    the catalog."""
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / name
    if isinstance(obj_bytes_or_path, Path):
        link_or_copy(obj_bytes_or_path, out)
    else:
        atomic_write(out, obj_bytes_or_path)
    local = None
    if texture is not None:
        local = dest / texture.name
        if local.resolve() != texture.resolve():
            link_or_copy(texture, local)
    for lib in obj_mtllibs(out):
        lines = []
        for line in (mtl_text or "newmtl material_0\nKd 0.8 0.8 0.8\n").splitlines():
            if line.strip().lower().startswith("map_"):
                if local is None:
                    continue
                line = f"{line.split()[0]} {local.name}"
            lines.append(line)
        atomic_write(dest / lib, "\n".join(lines) + "\n")
    return out
