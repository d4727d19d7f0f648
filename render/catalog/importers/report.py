"""The import report: `<catalog stem>_import.md` next to the catalog, with a picture grid per
category in `<catalog stem>_assets/report/`. The terminal gets one screen (cli.py); the report
has everything: every skipped model with its reason, every category with its objects (name,
color, tags, size, where the name came from), numbered names, names that fell back to a
model's raw words, and objects whose geometry disagrees with their noun (often a model lying
on its side)."""
from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from simedit.render.catalog.importers.proposal import SNAPSHOT
from simedit.render.catalog.importers.result import ImportResult
from simedit.render.common.atomic import atomic_write
from simedit.render.common.images import save_image

COLUMNS = 8
CELL = 96  # snapshot size
CAPTION_LINES = 2


def _font() -> ImageFont.ImageFont:
    return ImageFont.load_default()


def category_grid(entries: list[dict[str, Any]], assets: Path, path: Path) -> Path | None:
    """Snapshots of `entries` in a grid with their names; None when none has a snapshot."""
    cells = [(e, assets / str(e["id"]) / SNAPSHOT) for e in entries]
    cells = [(e, p) for e, p in cells if p.is_file()]
    if not cells:
        return None
    font = _font()
    line_h = int(font.getbbox("Ag")[3]) + 2
    cell_w, cell_h = CELL + 24, CELL + CAPTION_LINES * line_h + 8
    cols = min(COLUMNS, len(cells))
    rows = math.ceil(len(cells) / cols)
    sheet = Image.new("RGB", (cols * cell_w, rows * cell_h), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for k, (e, snap) in enumerate(cells):
        x0, y0 = (k % cols) * cell_w + 12, (k // cols) * cell_h + 4
        with Image.open(snap) as im:
            sheet.paste(im.convert("RGB").resize((CELL, CELL)), (x0, y0))
        color = e.get("color") if not e.get("colorable", True) else None
        for i, text in enumerate([f"{color + ' ' if color else ''}{e['name']}", ",".join(e.get("tags") or []) or "-"]):
            while text and font.getlength(text) > cell_w - 4:
                text = text[:-1]
            draw.text((x0 - 10, y0 + CELL + 2 + i * line_h), text, fill=(0, 0, 0) if i == 0 else (100, 100, 100), font=font)
    return save_image(sheet, path, mkdir=True)


def _cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def write_report(result: ImportResult, entries: list[dict[str, Any]], assets: Path) -> Path:
    """Write the report for an import into the catalog `result.out`; -> its path."""
    out = result.out
    path = out.parent / f"{out.stem}_import.md"
    ours = [e for e in entries if isinstance(e.get("evidence"), dict)]
    by_cat: dict[str, list[dict[str, Any]]] = {}
    for e in ours:
        by_cat.setdefault(str(e.get("category")), []).append(e)
    lines = [
        f"# Import report: {out.name}",
        "",
        f"- source: `{result.source}` ({result.layout} layout), {result.found:,} models or manifest entries found",
        f"- imported now: {len(result.imported):,}; already in the catalog (not proposed again): {len(result.resumed):,}; "
        f"skipped: {len(result.skipped):,}",
        f"- catalog: `{out}` ({result.total_entries:,} entries, {len(by_cat)} categories); kept {result.kept_fields} "
        "field(s) you edited",
        f"- written {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} in {result.seconds:.1f} s",
        "",
    ]
    for w in result.warnings:
        lines += [f"> warning: {w}", ""]
    lines += ["## Categories", "", "| category | objects | names |", "| --- | ---: | --- |"]
    for cat, items in sorted(by_cat.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        names = sorted({e["name"] for e in items})
        lines.append(f"| {_cell(cat)} | {len(items)} | {_cell(', '.join(names[:12]) + (' ...' if len(names) > 12 else ''))} |")
    fallbacks = [e for e in ours if "no known noun" in str(e["evidence"].get("name_from", ""))]
    unusual = [e for e in ours if e["evidence"].get("unusual_for_noun")]
    multi = [e for e in ours if not e.get("colorable", True) and not e.get("color")]
    lines += ["", "## Worth a look", ""]
    lines.append(f"- {len(fallbacks)} name(s) made from a model's own words (no lexicon noun; add one to "
                 "`assets_catalog/lexicon.yaml` or edit `name:`): "
                 + (", ".join(f"`{e['id']}` -> {e['name']}" for e in fallbacks[:40]) or "none"))
    lines.append(f"- {len(unusual)} object(s) whose geometry is unusual for their noun: "
                 + ("; ".join(f"`{e['id']}`: {e['evidence']['unusual_for_noun']}" for e in unusual[:40]) or "none"))
    lines.append(f"- {len(multi)} multicolored object(s) (no color word): "
                 + (", ".join(f"`{e['id']}`" for e in multi[:40]) or "none"))
    lines.append(f"- {len(result.notes)} numbered name(s): " + ("; ".join(result.notes) or "none"))
    lines += ["", "## Objects by category", ""]
    grid_dir = assets / "report"
    for cat, items in sorted(by_cat.items()):
        lines += [f"### {cat} ({len(items)})", ""]
        grid = category_grid(items, assets, grid_dir / f"{cat}.png")
        if grid is not None:
            lines += [f"![{cat}]({grid.relative_to(path.parent).as_posix()})", ""]
        lines += ["| id | name | color | tags | size (cm) | name from |", "| --- | --- | --- | --- | --- | --- |"]
        for e in items:
            ev = e["evidence"]
            size = "x".join(f"{100 * s:.0f}" for s in ev.get("size_m") or [])
            color = e.get("color") or ("-" if e.get("colorable", True) else "multicolored")
            lines.append(f"| `{_cell(e['id'])}` | {_cell(e['name'])} | {color} | {_cell(', '.join(e.get('tags') or []))} "
                         f"| {size} | {_cell(ev.get('name_from'))} |")
        lines.append("")
    lines += ["## Skipped", ""]
    if not result.skipped:
        lines.append("none")
    for b in result.skipped:
        lines.append(f"- `{_cell(b.origin)}`: {_cell(b.reason)}")
    atomic_write(path, "\n".join(lines) + "\n", mkdir=True)
    return path
