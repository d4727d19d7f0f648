"""Demo pairs for trying the loop without rendering: a render-style run directory where a colored
square moves (or changes color) on a plain background, with instance masks and a manifest. File
names come from the run-directory contract, and every file is written atomically, images first,
so the directory reads back like one `render` wrote."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from simedit.render.common.atomic import atomic_write
from simedit.render.rundir.contract import IMAGES, MANIFEST, MASKS, dumps, pair_files, pair_key
from simedit.render.common.images import save_image

COLORS = {"red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 70, 220), "yellow": (230, 210, 40)}


def _draw(size: int, boxes: list[tuple[tuple[int, int, int, int], tuple[int, int, int]]]):
    img = Image.new("RGB", (size, size), (200, 200, 200))
    mask = Image.new("L", (size, size), 0)
    d, dm = ImageDraw.Draw(img), ImageDraw.Draw(mask)
    for v, (box, color) in enumerate(boxes, 1):
        d.rectangle(box, fill=color)
        dm.rectangle(box, fill=v)
    return img, mask


def make_demo_run(out_dir: str | Path, n: int = 16, size: int = 40, seed: int = 0) -> Path:
    """Write `n` pairs: "move the C square to the left/right" or "make the C square D"."""
    out = Path(out_dir)
    (out / IMAGES).mkdir(parents=True, exist_ok=True)
    (out / MASKS).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = list(COLORS)
    lines = []
    for i in range(n):
        key = pair_key(i)
        files = pair_files(key)
        c, other = rng.choice(len(names), 2, replace=False)
        s = size // 4
        y = int(rng.integers(2, size - s - 2))
        # A second, unedited object so the edit mask is a strict subset of the instance mask.
        still = ((2, 2, 2 + s // 2, 2 + s // 2), COLORS[names[other]])
        if i % 2 == 0:
            x0, x1 = (size - s - 4, 4) if rng.random() < 0.5 else (4, size - s - 4)
            instr = f"move the {names[c]} square to the {'left' if x1 < x0 else 'right'}"
            a, b = ((x0, y, x0 + s, y + s), COLORS[names[c]]), ((x1, y, x1 + s, y + s), COLORS[names[c]])
        else:
            x = int(rng.integers(s, size - s - 2))
            a, b = ((x, y, x + s, y + s), COLORS[names[c]]), ((x, y, x + s, y + s), COLORS[names[other]])
            instr = f"make the {names[c]} square {names[other]}"
        for side, boxes in (("source", [still, a]), ("target", [still, b])):
            img, mask = _draw(size, boxes)
            save_image(img, out / files[side]["image"])
            save_image(mask, out / files[side]["mask"])
        lines.append(dumps({
            "key": key, "index": i, "seed": seed, "instruction": instr,
            "kind": "location" if i % 2 == 0 else "attribute", "subtype": "absolute" if i % 2 == 0 else "color",
            "source": files["source"], "target": files["target"],
            "mask_ids": {"1": "o0", "2": "o1"}, "edited": ["o1"],
        }))
    atomic_write(out / MANIFEST, "".join(line + "\n" for line in lines))
    return out
