"""Inverse edits and their wording; export of a run to the diffusers imagefolder and AURORA JSON
layouts, one way and both ways. Runs are written by RunWriter from a fake renderer."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from simedit.render.plan import language
from simedit.render.common.errors import SimEditError
from simedit.render.rundir.export import export_run, reverse_instruction
from simedit.render.plan.edits import invert
from simedit.render.scene import Camera, Edit, Scene, SceneObject
from simedit.render.rundir.contract import read_manifest
from simedit.render.rundir.writer import RunWriter, make_record

CAM = Camera(position=(0.0, -1.2, 0.9), look_at=(0.0, 0.0, 0.05), fov=0.9, width=64, height=64)


def obj(uid: str, name: str, x: float, y: float, asset: str | None = None) -> SceneObject:
    return SceneObject(uid=uid, asset_id=asset or name.split()[-1], name=name, position=(x, y, 0.05))


def base() -> Scene:
    return Scene(objects=[
        obj("o0", "red mug", -0.25, 0.0),
        obj("o1", "blue bowl", 0.25, 0.05),
        obj("o2", "white ramekin", 0.0, 0.25),
        obj("o5", "orange mug", 0.05, -0.2),
    ], camera=CAM)


def added(src: Scene, name: str, n: int, first: int = 6) -> tuple[Scene, list[str]]:
    tgt = src.copy()
    uids = [f"o{first + i}" for i in range(n)]
    for i, uid in enumerate(uids):
        tgt.objects.append(obj(uid, name, -0.3 + 0.15 * i, 0.4))
    return tgt, uids


def recolored(src: Scene, uid: str, color: str) -> Scene:
    tgt = src.copy()
    o = tgt.get(uid)
    o.color, o.name = color, f"{color} {o.name.split()[-1]}"
    return tgt


def texts(edit: Edit, source: Scene, target: Scene) -> list[str]:
    return language.all_instructions(edit, source, target)


# --- inverse --------------------------------------------------------------------------------


def test_invert_add_and_remove() -> None:
    s = base()
    t, uids = added(s, "white ramekin", 2)
    fwd = Edit("count", "add", uids, [], {"n": 2, "asset_id": "ramekin", "name": "white ramekin", "existing": 1})
    assert "add two more white ramekins" in texts(fwd, s, t)
    inv = invert(fwd, s, t)
    assert inv.subtype == "remove" and inv.objects == uids and inv.params["remaining"] == 1
    back = language.instruction(inv, t, s, np.random.default_rng(0))
    assert back.split()[0] in ("remove", "take", "get") and "two" in back and "white ramekins" in back
    assert "remove two of the white ramekins" in texts(inv, t, s)

    # remove -> add: the removed objects exist in the new target
    t2 = s.copy()
    t2.objects = [o for o in s.objects if o.uid != "o2"]
    rm = Edit("count", "remove", ["o2"], [], {"n": 1, "name": "white ramekin", "remaining": 0})
    assert texts(rm, s, t2)[0] == "remove the white ramekin"
    inv = invert(rm, s, t2)
    assert inv.subtype == "add" and inv.params["asset_id"] == "ramekin" and inv.params["existing"] == 0
    assert texts(inv, t2, s)[0] == "add a white ramekin"


@pytest.mark.parametrize("fwd_dir, back_dir", [("left", "right"), ("right", "left")])
def test_invert_turn_90(fwd_dir: str, back_dir: str) -> None:
    s = base()
    e = Edit("rotation", "turn_90", ["o0"], [], {"axis": "z", "angle_deg": 90.0, "direction": fwd_dir})
    inv = invert(e, s, s)
    assert inv.params["direction"] == back_dir and inv.params["angle_deg"] == -90.0
    turn = {"left": "counterclockwise", "right": "clockwise"}[back_dir]
    assert texts(inv, s, s)[0] == f"turn the red mug 90 degrees {turn}, seen from above"


def test_invert_rotations_and_none() -> None:
    s = base()
    assert texts(invert(Edit("rotation", "turn_around", ["o0"], [], {"axis": "z", "angle_deg": 180.0}), s, s),
                 s, s)[0] == "turn the red mug around"
    assert texts(invert(Edit("rotation", "flip", ["o1"], [], {"axis": "y", "angle_deg": 180.0}), s, s),
                 s, s)[0] == "flip the blue bowl upside down"
    assert invert(Edit("rotation", "fall_over", ["o0"], [], {"axis": "x", "angle_deg": 90.0}), s, s) is None
    assert invert(Edit("location", "relative", ["o0"], ["o1"], {"direction": "behind"}), s, s) is None


def test_invert_attributes() -> None:
    s = base()
    t = recolored(s, "o0", "green")
    e = Edit("attribute", "color", ["o0"], [], {"from_color": "red", "to_color": "green"})
    assert texts(e, s, t)[0] == "make the red mug green"
    inv = invert(e, s, t)
    assert texts(inv, t, s)[0] == "make the green mug red"

    e = Edit("attribute", "size", ["o1"], [], {"direction": "bigger", "factor": 1.6})
    inv = invert(e, s, s)
    assert inv.params == {"direction": "smaller", "factor": 1.6}
    assert texts(inv, s, s)[0] == "make the blue bowl smaller"

    t = s.copy()
    t.get("o1").asset_id, t.get("o1").name = "plate", "blue plate"
    e = Edit("attribute", "shape", ["o1"], [], {"from_asset_id": "bowl", "new_asset_id": "plate"})
    assert texts(e, s, t)[0] == "turn the blue bowl into a blue plate"
    inv = invert(e, s, t)
    assert inv.params == {"from_asset_id": "plate", "new_asset_id": "bowl"}
    assert texts(inv, t, s)[0] == "turn the blue plate into a blue bowl"


@pytest.mark.parametrize("fwd, back", [("left", "right"), ("closer", "further"), ("further", "closer")])
def test_invert_absolute(fwd: str, back: str) -> None:
    s = base()
    inv = invert(Edit("location", "absolute", ["o0"], [], {"direction": fwd}), s, s)
    assert inv.params["direction"] == back
    text = language.instruction(inv, s, s, np.random.default_rng(1))
    assert ("camera" in text or "closer" in text or "toward" in text or "nearer" in text) if back == "closer" \
        else (back in text or "away" in text or "back" in text)


def test_invert_attract_repel_swap() -> None:
    s = base()
    inv = invert(Edit("location", "attract", ["o0", "o1"], [], {"factor": 0.5}), s, s)
    assert inv.subtype == "repel" and inv.params["factor"] == 2.0
    assert texts(inv, s, s)[0] == "move the red mug and the blue bowl further apart"
    inv = invert(Edit("location", "repel", ["o0", "o1"], [], {"factor": 2.0}), s, s)
    assert inv.subtype == "attract"
    inv = invert(Edit("location", "swap", ["o0", "o1"]), s, s)
    assert texts(inv, s, s)[0] == "swap the positions of the red mug and the blue bowl"


# --- a fake run -----------------------------------------------------------------------------


@dataclass
class Fake:
    rgb: np.ndarray
    mask: np.ndarray
    depth: np.ndarray | None = None


def draw(scene: Scene, size: int = 64) -> Fake:
    rgb = np.full((size, size, 3), 128, np.uint8)
    mask = np.zeros((size, size), np.uint16)
    for o in scene.objects:
        k = int(o.uid[1:])
        x, y = int((o.position[0] + 0.4) * 70), int((0.5 - o.position[1]) * 60)
        rgb[y:y + 6, x:x + 6] = (40 * k % 255, 200, 90)
        mask[y:y + 6, x:x + 6] = k + 1
    return Fake(rgb, mask)


def sample(i: int) -> tuple[dict, Scene, Scene]:
    s = base()
    if i % 4 == 0:
        t, uids = added(s, "green cup", 2)
        e = Edit("count", "add", uids, [], {"n": 2, "asset_id": "cup", "name": "green cup", "existing": 0})
    elif i % 4 == 1:
        t = recolored(s, "o0", "yellow")
        e = Edit("attribute", "color", ["o0"], [], {"from_color": "red", "to_color": "yellow"})
    elif i % 4 == 2:
        t = s.copy()
        t.get("o0").position = (0.25, 0.3, 0.05)
        e = Edit("location", "relative", ["o0"], ["o1"], {"direction": "behind"})
    else:
        t = s.copy()
        e = Edit("rotation", "turn_90", ["o1"], [], {"axis": "z", "angle_deg": 90.0, "direction": "left"})
    text = language.instruction(e, s, t, np.random.default_rng([3, i, 0]))
    plan = {"key": f"{i:06d}", "index": i, "seed": 3, "attempt": 0, "kind": e.kind, "subtype": e.subtype,
            "instruction": text, "edit": e.to_dict(), "source": s.to_dict(), "target": t.to_dict()}
    return plan, s, t


def make_run(root: Path, n: int = 4) -> Path:
    rec = make_record(spec={}, spec_path=None, spec_hash="sha256:1", catalog_path=None, catalog_hash="sha256:2",
                      versions={}, argv=["test"])
    with RunWriter(root, rec) as w:
        for i in range(n):
            plan, s, t = sample(i)
            w.write_pair(plan, draw(s), draw(t), {})
        w.finalize(n)
    return root


# --- export ---------------------------------------------------------------------------------


def test_aurora_export(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    out = tmp_path / "aurora"
    assert export_run(run, out, "aurora") == 4
    rows = json.loads((out / "aurora.json").read_text())
    manifest = read_manifest(run)
    assert [r["instruction"] for r in rows] == [m["instruction"] for m in manifest]
    assert rows[0]["instruction"] == "add two green cups" or "green cups" in rows[0]["instruction"]
    for r in rows:
        assert not os.path.isabs(r["input"]) and (out / r["input"]).is_file() and (out / r["output"]).is_file()
    # the trainer's reader takes it as is
    from simedit.train.data.sources import AuroraJson

    src = AuroraJson(out / "aurora.json")
    ex = src.load(1)
    assert ex.instruction == manifest[1]["instruction"] and ex.source.size == (64, 64)
    # in place: no copies, paths valid from the run directory
    assert export_run(run, run, "aurora") == 4
    assert all((run / r["input"]).is_file() for r in json.loads((run / "aurora.json").read_text()))


def test_both_directions(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    out = tmp_path / "both"
    n = export_run(run, out, "aurora", both_directions=True)
    rows = json.loads((out / "aurora.json").read_text())
    assert n == len(rows) == 7  # the relative move (index 2) has no inverse
    fwd, rev = rows[0], rows[1]
    assert (rev["input"], rev["output"]) == (fwd["output"], fwd["input"])
    assert "green cups" in fwd["instruction"] and fwd["instruction"].startswith(("add", "put", "place"))
    assert rev["instruction"].split()[0] in ("remove", "take", "get") and "green cups" in rev["instruction"]
    assert "yellow mug" in rows[3]["instruction"] and rows[3]["instruction"].endswith("red")
    assert "counterclockwise" in rows[5]["instruction"]  # turned left, seen from above
    assert "clockwise" in rows[6]["instruction"] and "counterclockwise" not in rows[6]["instruction"]
    # deterministic paraphrase
    m = read_manifest(run)
    assert reverse_instruction(m[0]) == rev["instruction"] == reverse_instruction(m[0])
    rng = np.random.default_rng([3, 0, 1_000_003])
    inv = invert(Edit.from_dict(m[0]["edit"]), Scene.from_dict(m[0]["source_scene"]),
                 Scene.from_dict(m[0]["target_scene"]))
    assert rev["instruction"] == language.instruction(inv, Scene.from_dict(m[0]["target_scene"]),
                                                      Scene.from_dict(m[0]["source_scene"]), rng)


def test_missing_image_skipped_with_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    run = make_run(tmp_path / "run")
    (run / "images/000001_target.png").unlink()
    with caplog.at_level(logging.WARNING, logger="simedit.render.rundir.export"):
        assert export_run(run, tmp_path / "out", "diffusers") == 3
    assert "skipped 1 pair" in caplog.text and "000001" in caplog.text


def test_bad_format_and_in_place_diffusers(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", n=1)
    with pytest.raises(SimEditError, match="unknown export format"):
        export_run(run, tmp_path / "x", "webdataset")
    with pytest.raises(SimEditError, match="other than the run directory"):
        export_run(run, run, "diffusers")
    with pytest.raises(SimEditError, match="not a run directory"):
        export_run(tmp_path / "nothing", tmp_path / "y", "aurora")


def test_diffusers_layout(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    out = tmp_path / "hf"
    assert export_run(run, out, "diffusers", both_directions=True) == 7
    meta = [json.loads(l) for l in (out / "metadata.jsonl").read_text().splitlines()]
    assert list(meta[0]) == ["input_image_file_name", "edit_prompt", "edited_image_file_name"]
    assert all((out / m["input_image_file_name"]).is_file() for m in meta)
    assert not (out / "masks").exists()
    from simedit.train.data.sources import HFDataset  # the trainer reads the imagefolder without `datasets`

    ds = HFDataset(out)
    assert len(ds) == 7 and ds.load(0).instruction == read_manifest(run)[0]["instruction"]


LOAD = """
import sys, json
import datasets, PIL.Image
ds = datasets.load_dataset(sys.argv[1], split="train")
f = ds.features
print(json.dumps({"columns": ds.column_names, "n": len(ds),
                  "types": [type(f[c]).__name__ for c in ("input_image", "edited_image")],
                  "pil": isinstance(ds[0]["input_image"], PIL.Image.Image), "size": list(ds[0]["edited_image"].size),
                  "prompts": list(ds["edit_prompt"])}))
"""


def test_diffusers_load_dataset(tmp_path: Path) -> None:
    """`datasets.load_dataset(path, split="train")` reads the export offline (in a child process,
    so the offline settings and a fresh HF cache apply)."""
    run = make_run(tmp_path / "run")
    out = tmp_path / "hf"
    assert export_run(run, out, "diffusers", both_directions=True) == 7  # files used twice: fine
    env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hfhome"))
    p = subprocess.run([sys.executable, "-c", LOAD, str(out)], env=env, capture_output=True, text=True,
                       timeout=240)
    assert p.returncode == 0, p.stderr[-3000:]
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert sorted(got["columns"]) == ["edit_prompt", "edited_image", "input_image"]
    assert got["n"] == 7 and got["types"] == ["Image", "Image"]
    assert got["pil"] is True
    assert got["size"] == [64, 64]
    meta = [json.loads(l) for l in (out / "metadata.jsonl").read_text().splitlines()]
    assert got["prompts"] == [m["edit_prompt"] for m in meta]
    assert got["prompts"][0] == read_manifest(run)[0]["instruction"]


def test_exported_images_are_the_runs_source_and_target(tmp_path: Path) -> None:
    """input_image / `input` is the run's source image and edited_image / `output` its target,
    byte for byte; reverse pairs swap them (a swapped export trains the inverse edit)."""
    run = make_run(tmp_path / "run")
    manifest = read_manifest(run)
    assert export_run(run, tmp_path / "hf", "diffusers", both_directions=True) == 7
    meta = [json.loads(l) for l in (tmp_path / "hf" / "metadata.jsonl").read_text().splitlines()]
    assert export_run(run, tmp_path / "au", "aurora", both_directions=True) == 7
    aurora = json.loads((tmp_path / "au" / "aurora.json").read_text())
    forward = [m for m in meta if m["input_image_file_name"].endswith("_source.png")]
    assert len(forward) == len(manifest)
    differing = 0
    for row, m, a in zip(manifest, forward, [x for x in aurora if x["input"].endswith("_source.png")]):
        assert m["edit_prompt"] == row["instruction"] == a["instruction"]
        src, tgt = ((run / row[s]["image"]).read_bytes() for s in ("source", "target"))
        differing += src != tgt
        assert (tmp_path / "hf" / m["input_image_file_name"]).read_bytes() == src
        assert (tmp_path / "hf" / m["edited_image_file_name"]).read_bytes() == tgt
        assert (tmp_path / "au" / a["input"]).read_bytes() == src and (tmp_path / "au" / a["output"]).read_bytes() == tgt
    assert differing >= 2  # pairs whose images differ: a swap would show
    for m in meta:
        if m not in forward:  # a reverse pair: from the target back to the source
            back = next(r for r in manifest if r["target"]["image"] == m["input_image_file_name"])
            assert m["edited_image_file_name"] == back["source"]["image"]
    ds = __import__("simedit.train.data.sources", fromlist=["HFDataset"]).HFDataset(tmp_path / "hf")
    first = ds.load(0)
    from PIL import Image

    with Image.open(run / manifest[0]["source"]["image"]) as im:
        assert np.array_equal(np.asarray(first.source.convert("RGB")), np.asarray(im.convert("RGB")))
