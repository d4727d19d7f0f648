"""The contact sheet: grid size, upscaling, captions, edited-object outlines."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from simedit.render.rundir import preview
from simedit.render.common.errors import SimEditError
from simedit.render.rundir.preview import OUTLINE, contact_sheet
from simedit.render.scene import Camera, Edit, Scene, SceneObject
from simedit.render.rundir.writer import RunWriter, make_record

CAM = Camera(position=(0.0, -1.2, 0.9), look_at=(0.0, 0.0, 0.05), fov=0.9, width=64, height=64)


@dataclass
class Fake:
    rgb: np.ndarray
    mask: np.ndarray
    depth: np.ndarray | None = None


def render(side: str) -> Fake:
    rgb = np.full((64, 64, 3), 128, np.uint8)
    mask = np.zeros((64, 64), np.uint16)
    rgb[5:15, 5:15] = (200, 30, 30)
    mask[5:15, 5:15] = 1  # o0, untouched
    x = 20 if side == "source" else 40
    rgb[30:45, x:x + 15] = (30, 30, 200)
    mask[30:45, x:x + 15] = 2  # o1, edited
    return Fake(rgb, mask)


def make_run(root: Path, n: int) -> Path:
    s = Scene(objects=[SceneObject("o0", "mug", "red mug", (-0.2, 0.0, 0.05)),
                       SceneObject("o1", "bowl", "blue bowl", (0.0, 0.0, 0.05))], camera=CAM)
    e = Edit("location", "absolute", ["o1"], [], {"direction": "right"})
    rec = make_record(spec={}, spec_path=None, spec_hash="h", catalog_path=None, catalog_hash="c", versions={})
    with RunWriter(root, rec) as w:
        for i in range(n):
            plan = {"key": f"{i:06d}", "index": i, "seed": 0, "attempt": 0, "kind": "location",
                    "subtype": "absolute", "edit": e.to_dict(), "source": s.to_dict(), "target": s.to_dict(),
                    "instruction": "slide the blue bowl over to the right so that it sits a lot further along "
                                   "than it was before, near the edge of the floor"}
            w.write_pair(plan, render("source"), render("target"), {})
    return root


def test_contact_sheet(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", 5)
    out = contact_sheet(run, tmp_path / "sheet.png", limit=3, columns=2)
    assert out == tmp_path / "sheet.png"
    with Image.open(out) as im:
        sheet = np.asarray(im.convert("RGB"))
    scale = math.ceil(preview.MIN_SIDE / 64)  # 64 px images are upscaled 3x to 192
    cell_w = 2 * 64 * scale + preview.GAP + 2 * preview.PAD
    assert sheet.shape[1] == 2 * cell_w  # two columns
    assert sheet.shape[0] > 2 * 64 * scale  # two rows of 3 cells, with captions
    magenta = np.all(sheet == OUTLINE, axis=-1)
    assert magenta.sum() > 100
    # the outline sits on the edited object's boundary in both panels, not on the untouched one
    x0, y0 = preview.PAD, preview.PAD
    src = magenta[y0:y0 + 64 * scale, x0:x0 + 64 * scale]
    tgt = magenta[y0:y0 + 64 * scale, x0 + 64 * scale + preview.GAP:x0 + 2 * 64 * scale + preview.GAP]
    assert src[30 * scale, 20 * scale + 10] and tgt[30 * scale, 40 * scale + 10]
    assert not src[5 * scale:15 * scale, 5 * scale:15 * scale].any()
    assert not src[37 * scale, 27 * scale]  # interior of the edited object is not painted
    # caption text (dark, anti-aliased) under the images
    text_band = sheet[y0 + 64 * scale + 2:y0 + 64 * scale + 60, x0:x0 + cell_w - 2 * preview.PAD]
    assert np.all(text_band < 100, axis=-1).sum() > 50
    # third cell on the second row, the fourth slot left blank
    second_row = sheet[sheet.shape[0] // 2 + 20:, :]
    assert np.all(second_row[:, cell_w:] == 255)


def test_contact_sheet_empty_run(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", 0)
    with pytest.raises(SimEditError, match="no pairs"):
        contact_sheet(run, tmp_path / "sheet.png")
