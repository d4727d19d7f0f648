"""`catalog preview FILE --out sheet.png`: every object rendered alone (Blender Cycles, one
render process), framed by its size, with its display name, id and tags underneath: the way
to check an imported catalog by eye (wrong scale shows as a wrong size label, wrong up axis
as a lying object, a bad texture as a black or pink one)."""
from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from simedit.render.catalog.model import Catalog, load_catalog
from simedit.render.common.atomic import atomic_write
from simedit.render.common.errors import SimEditError
from simedit.render.scene import Camera, Floor, Light, Scene, SceneObject, World

FOV_DEG = 40.0
ELEVATION_DEG = 30.0
AZIMUTH_DEG = 20.0


def object_scene(catalog: Catalog, asset_id: str, color: str | None, size: int) -> Scene:
    """One object resting on the floor at the origin, seen from the front and above."""
    asset = catalog.get(asset_id)
    ext = catalog.geometry(asset_id).extents
    rgb = catalog.palette[color] if color and asset.colorable else None
    obj = SceneObject(uid="o0", asset_id=asset_id, name=catalog.display_name(asset_id, color),
                      position=(0.0, 0.0, float(ext[2]) / 2), color=color if rgb else None, rgb=rgb)
    radius = 0.5 * float(np.linalg.norm(ext))
    distance = radius / math.sin(math.radians(FOV_DEG) / 2) * 1.05
    el, az = math.radians(ELEVATION_DEG), math.radians(AZIMUTH_DEG)
    look = (0.0, 0.0, float(ext[2]) / 2)
    pos = (look[0] + distance * math.cos(el) * math.sin(az), look[1] - distance * math.cos(el) * math.cos(az),
           look[2] + distance * math.sin(el))
    sun = (-0.3, 0.4, -0.87)
    norm = math.sqrt(sum(c * c for c in sun))
    return Scene(objects=[obj], camera=Camera(position=pos, look_at=look, fov=math.radians(FOV_DEG), width=size, height=size),
                 lights=[Light(kind="sun", energy=2.5, direction=tuple(c / norm for c in sun))],
                 world=World(hdri=None, strength=1.0), floor=Floor(color="white", rgb=(0.8, 0.8, 0.8)))


def catalog_sheet(catalog_path: str | os.PathLike | None, out_png: str | os.PathLike, size: int = 128,
                  samples: int = 16, limit: int | None = None, columns: int = 6, device: str = "CPU",
                  threads: int = 0) -> tuple[Path, int]:
    """Render every object (the first `limit`) and write the contact sheet; -> (path, objects)."""
    from simedit.render.backends.cycles import RenderSettings
    from simedit.render.backends.worker import RenderWorker

    catalog = load_catalog(catalog_path)
    ids = list(catalog.assets)[: limit if limit is not None else None]
    if not ids:
        raise SimEditError("no objects to preview", file=str(catalog.path))
    words = [w for w in catalog.palette if w not in ("white", "gray")] or list(catalog.palette)
    images: list[np.ndarray] = []
    captions: list[list[str]] = []
    from tqdm import tqdm

    with RenderWorker(catalog.path, RenderSettings(samples=samples, device=device, threads=threads)) as worker:
        for i, asset_id in enumerate(tqdm(ids, desc="rendering", unit="object")):
            asset = catalog.get(asset_id)
            color = words[i % len(words)] if asset.colorable else None
            images.append(worker.render(object_scene(catalog, asset_id, color, size), seed=0).rgb)
            ext = catalog.geometry(asset_id).extents * 100
            captions.append([catalog.display_name(asset_id, color), asset_id,
                             ",".join(sorted(asset.tags)) or "no tags",
                             f"{ext[0]:.0f}x{ext[1]:.0f}x{ext[2]:.0f} cm"])
    out = Path(out_png)
    _sheet(images, captions, out, columns=max(1, min(columns, len(ids))))
    return out, len(ids)


def _sheet(images: list[np.ndarray], captions: list[list[str]], out: Path, columns: int) -> None:
    font = ImageFont.load_default()
    line_h = int(font.getbbox("Ag")[3]) + 2
    h, w = images[0].shape[:2]
    cell_w = max(w, 120) + 8
    cell_h = h + 4 * line_h + 12
    rows = math.ceil(len(images) / columns)
    sheet = Image.new("RGB", (columns * cell_w, rows * cell_h), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i, (img, caption) in enumerate(zip(images, captions)):
        x0, y0 = (i % columns) * cell_w + 4, (i // columns) * cell_h + 4
        sheet.paste(Image.fromarray(img, "RGB"), (x0, y0))
        for k, text in enumerate(caption):
            while text and font.getlength(text) > cell_w - 6:
                text = text[:-1]
            draw.text((x0, y0 + h + 2 + k * line_h), text, fill=(0, 0, 0) if k == 0 else (90, 90, 90), font=font)
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    atomic_write(out, buf.getvalue(), mkdir=True)
