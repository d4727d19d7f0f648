"""A contact sheet of a run: source | target per cell, the instruction underneath, and the
edited objects outlined on both images, to check a run by eye."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from simedit.render.common.errors import SimEditError
from simedit.render.common.images import save_image
from simedit.render.rundir.contract import RunDir

MIN_SIDE = 192  # images are upscaled (nearest) to at least this many pixels on their short side
OUTLINE = (255, 0, 255)  # magenta: rare in rendered scenes
BACKGROUND = (255, 255, 255)
TEXT = (0, 0, 0)
GAP = 4  # px between source and target
PAD = 8  # px around each cell


def _outline(region: np.ndarray, width: int) -> np.ndarray:
    """Pixels of `region` that lie within `width` pixels of its boundary."""
    inner = region.copy()
    for _ in range(width):
        p = np.pad(inner, 1, constant_values=False)
        inner = inner & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return region & ~inner


def _panel(run: RunDir, row: dict, side: str, scale: int, edited_values: list[int]) -> Image.Image:
    with Image.open(run.path(row, side)) as im:
        rgb = np.asarray(im.convert("RGB"))
    rgb = rgb.repeat(scale, 0).repeat(scale, 1).copy()
    mask_path = run.path(row, side, "mask")
    if mask_path is not None and edited_values and mask_path.is_file():
        mask = run.mask(row, side)
        region = np.isin(mask, edited_values).repeat(scale, 0).repeat(scale, 1)
        rgb[_outline(region, max(2, scale // 2))] = OUTLINE
    return Image.fromarray(rgb, "RGB")


def _wrap(text: str, font: ImageFont.ImageFont, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if current and font.getlength(trial) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines or [""]


def contact_sheet(run_dir: str | os.PathLike, out_png: str | os.PathLike, limit: int = 24,
                  columns: int = 2) -> Path:
    """Write a PNG grid of the first `limit` pairs of `run_dir`; return its path."""
    run, out = RunDir(run_dir), Path(out_png)
    rows = [r for r in run.pairs() if all(run.path(r, s).is_file() for s in ("source", "target"))]
    rows = rows[: max(int(limit), 0)]
    if not rows:
        raise SimEditError("no pairs with images to preview", file=str(run.root))
    columns = max(1, min(int(columns), len(rows)))

    with Image.open(run.path(rows[0], "source")) as im:
        w, h = im.size
    scale = max(1, math.ceil(MIN_SIDE / min(w, h)))
    pw, ph = w * scale, h * scale
    font = ImageFont.load_default()
    line_h = int(font.getbbox("Ag")[3]) + 3
    cell_w = 2 * pw + GAP

    captions = []
    for r in rows:
        head = f"{r.get('key', '')} {r.get('kind', '')}.{r.get('subtype', '')}".strip()
        captions.append([head] + _wrap(r.get("instruction", ""), font, cell_w))
    text_h = max(len(c) for c in captions) * line_h
    cw, ch = cell_w + 2 * PAD, ph + text_h + 2 * PAD + 4
    n_rows = math.ceil(len(rows) / columns)
    sheet = Image.new("RGB", (columns * cw, n_rows * ch), BACKGROUND)
    draw = ImageDraw.Draw(sheet)

    for i, (r, caption) in enumerate(zip(rows, captions)):
        x0, y0 = (i % columns) * cw + PAD, (i // columns) * ch + PAD
        ids = r.get("mask_ids") or {}
        edited = set(r.get("edited") or [])
        values = sorted(int(v) for v, uid in ids.items() if uid in edited)
        for j, side in enumerate(("source", "target")):
            panel = _panel(run, r, side, scale, values)
            if panel.size != (pw, ph):
                panel = panel.resize((pw, ph), Image.NEAREST)
            sheet.paste(panel, (x0 + j * (pw + GAP), y0))
        for k, text in enumerate(caption):
            draw.text((x0, y0 + ph + 4 + k * line_h), text, fill=TEXT, font=font)

    save_image(sheet, out, mkdir=True)
    return out


__all__ = ["contact_sheet"]
