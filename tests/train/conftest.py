"""Fixtures for the trainer tests: pairs are built here with Pillow (a colored square that
moves), in each of the layouts the trainer reads, and a tiny random-weight pipeline."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

torch.set_num_threads(1)  # the machine's cores are shared

SIZE = 20


def square_pair(i: int, size: int = SIZE) -> tuple[Image.Image, Image.Image, str]:
    """A red square on grey moving right by a few pixels; a blue dot that never moves."""
    src, tgt = (np.full((size, size, 3), 180, np.uint8) for _ in range(2))
    y, x = 2 + i % 5, 2 + i % 3
    src[y:y + 6, x:x + 6] = (220, 30, 30)
    tgt[y:y + 6, x + 8:x + 14] = (220, 30, 30)
    for a in (src, tgt):
        a[size - 4:size - 1, 1:4] = (30, 30, 220)
    return Image.fromarray(src), Image.fromarray(tgt), "move the red square to the right"


def write_render_run(root: Path, n: int = 6, uint16_masks: bool = False) -> Path:
    """A run directory in `render`'s format: object o1 (value 2) is the edited square, o0 (value 1)
    the still dot."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    lines = []
    for i in range(n):
        key = f"{i:06d}"
        src, tgt, instr = square_pair(i)
        for side, img in (("source", src), ("target", tgt)):
            img.save(root / "images" / f"{key}_{side}.png")
            a = np.asarray(img)
            m = np.zeros(a.shape[:2], np.uint16 if uint16_masks else np.uint8)
            m[(a == (30, 30, 220)).all(-1)] = 1
            m[(a == (220, 30, 30)).all(-1)] = 2
            Image.fromarray(m).save(root / "masks" / f"{key}_{side}.png")
        lines.append(json.dumps({
            "key": key, "index": i, "seed": 0, "instruction": instr if i % 2 else "flip the red square upside down",
            "kind": "location", "subtype": "absolute",
            "source": {"image": f"images/{key}_source.png", "mask": f"masks/{key}_source.png"},
            "target": {"image": f"images/{key}_target.png", "mask": f"masks/{key}_target.png"},
            "mask_ids": {"1": "o0", "2": "o1"}, "edited": ["o1"], "edit": {}, "poses": {},
        }))
    (root / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return root


def write_aurora_json(root: Path, n: int = 4, instruction: str = "make the square go right") -> Path:
    (root / "imgs").mkdir(parents=True)
    rows = []
    for i in range(n):
        src, tgt, _ = square_pair(i + 10)
        src.save(root / "imgs" / f"{i}_in.png")
        tgt.save(root / "imgs" / f"{i}_out.png")
        rows.append({"input": f"imgs/{i}_in.png", "output": f"imgs/{i}_out.png", "instruction": f"{instruction} {i}"})
    path = root / "pairs.json"
    path.write_text(json.dumps(rows))
    return path


def write_imagefolder(root: Path, n: int = 3) -> Path:
    root.mkdir(parents=True)
    with (root / "metadata.jsonl").open("w") as f:
        for i in range(n):
            src, tgt, instr = square_pair(i + 20)
            src.save(root / f"{i}_a.png")
            tgt.save(root / f"{i}_b.png")
            f.write(json.dumps({"input_image_file_name": f"{i}_a.png", "edited_image_file_name": f"{i}_b.png",
                                "edit_prompt": f"slide it {i}"}) + "\n")
    return root


@pytest.fixture
def render_run(tmp_path) -> Path:
    return write_render_run(tmp_path / "run")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    from simedit.train.trainer.tiny import make_tiny_model
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


def tiny_config(model: Path, run: Path, out: Path, **overrides) -> dict:
    """A config dict for a quick CPU run; `overrides` are merged one level deep."""
    cfg = {
        "model": {"base": str(model)},
        "data": {"datasets": [{"name": "run", "type": "render", "path": str(run)}],
                 "stages": [{"mix": {"run": 1}}], "resolution": 16},
        "train": {"max_steps": 30, "batch_size": 2, "learning_rate": 2e-3, "checkpoint_every": 2,
                  "keep_checkpoints": 50, "conditioning_dropout": 0.05},
        "validation": {"every": 1000, "num_examples": 2, "inference_steps": 2},
        "output_dir": str(out), "seed": 3,
    }
    for k, v in overrides.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k] = {**cfg[k], **v}
        else:
            cfg[k] = v
    return cfg
