"""The run directory as its readers see it: the edit mask the trainer's region-aware mode reads,
masks and records that are absent, depth kept as float32, hashes that decide whether a run may
resume, and reverse instructions that need both scenes."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from simedit.render.plan import language
from simedit.render.rundir.contract import RunDir, read_mask
from simedit.render.rundir.export import reverse_instruction
from simedit.render.rundir.writer import RunWriter, dict_hash, file_hash, make_record
from simedit.render.scene import Edit, Scene, SceneObject
from test_writer import CAM, Fake  # the same fake renderer output and 32 px camera


def scenes() -> tuple[Scene, Scene]:
    s = Scene(objects=[SceneObject("o0", "mug", "red mug", (-0.2, 0.0, 0.05)),
                       SceneObject("o1", "bowl", "blue bowl", (0.2, 0.0, 0.05)),
                       SceneObject("o2", "ramekin", "white ramekin", (0.0, 0.2, 0.05))], camera=CAM)
    t = s.copy()
    t.objects = [o for o in t.objects if o.uid != "o2"]
    return s, t


def frame(side: str, depth: bool = False) -> Fake:
    mask = np.zeros((32, 32), np.uint16)
    mask[2:6, 2:6] = 1  # o0, never edited
    mask[10:14, 10:14] = 3 if side == "source" else 0  # o2, removed
    mask[20:24, 4:8] = 2  # o1
    rgb = np.full((32, 32, 3), 90, np.uint8)
    rgb[mask > 0] = 200
    return Fake(rgb, mask, np.full((32, 32), 1.5, np.float64) if depth else None)


def run(tmp: Path, depth: bool = False) -> Path:
    s, t = scenes()
    edit = Edit("count", "remove", ["o2"], [], {"n": 1, "name": "white ramekin", "remaining": 0})
    plan = {"key": "000000", "index": 0, "seed": 4, "attempt": 0, "kind": "count", "subtype": "remove",
            "instruction": language.instruction(edit, s, t, np.random.default_rng(0)), "edit": edit.to_dict(),
            "source": s.to_dict(), "target": t.to_dict()}
    rec = make_record(spec={}, spec_path=None, spec_hash="sha256:1", catalog_path=None, catalog_hash="sha256:2",
                      versions={}, argv=["t"])
    with RunWriter(tmp, rec) as w:
        w.write_pair(plan, frame("source", depth), frame("target", depth), {})
        w.write_reject(1, 0, "occluded", "o1")
    return tmp


def test_the_edit_mask_is_the_edited_objects_in_either_image(tmp_path):
    rd = RunDir(run(tmp_path))
    row, = rd.pairs()
    m = rd.edit_mask(row)
    assert m.dtype == bool and m.sum() == 16 and m[10:14, 10:14].all()  # o2, only in the source
    row2 = {**row, "edited": ["o1", "o2"]}
    assert rd.edit_mask(row2).sum() == 32  # the union over both images
    assert not rd.edit_mask({**row, "edited": []}).any()
    assert rd.edit_mask({**row, "target": {"image": row["target"]["image"]}}) is None  # no target mask
    assert np.array_equal(rd.mask(row, "target"), frame("target").mask)
    assert rd.mask({**row, "source": {"image": "images/000000_source.png"}}, "source") is None
    assert rd.record()["spec_hash"] == "sha256:1"
    assert rd.rejects() == [{"index": 1, "attempt": 0, "reason": "occluded", "detail": "o1"}]


def test_an_rgb_mask_reads_back_as_its_first_channel(tmp_path):
    a = np.zeros((4, 4, 3), np.uint8)
    a[..., 0], a[..., 1] = 7, 99
    Image.fromarray(a).save(tmp_path / "m.png")
    assert read_mask(tmp_path / "m.png").tolist() == [[7] * 4] * 4


def test_depth_is_written_as_float32_without_pickle(tmp_path):
    rd = RunDir(run(tmp_path, depth=True))
    row, = rd.pairs()
    d = np.load(rd.path(row, "source", "depth"), allow_pickle=False)
    assert d.dtype == np.float32 and d.shape == (32, 32) and np.allclose(d, 1.5)


def test_hashes_that_decide_a_resume(tmp_path):
    p = tmp_path / "spec.yaml"
    data = b"seed: 3\n" * 200_000  # more than one read chunk
    p.write_bytes(data)
    assert file_hash(p) == "sha256:" + hashlib.sha256(data).hexdigest()
    assert dict_hash({"a": 1, "b": [1, 2]}) == dict_hash({"b": [1, 2], "a": 1})
    assert dict_hash({"a": 1}) == "sha256:" + hashlib.sha256(json.dumps({"a": 1}).encode()).hexdigest()
    assert dict_hash({"a": 1}) != dict_hash({"a": 2})


def test_a_reverse_instruction_reads_both_scenes(tmp_path):
    row, = RunDir(run(tmp_path)).pairs()
    # removing the ramekin reversed is adding it back: its name comes from the forward source
    text = reverse_instruction(row)
    assert text.startswith(("add", "put", "place")) and "white ramekin" in text
    s, t = scenes()
    inverse = Edit("count", "add", ["o2"], [], {"n": 1, "asset_id": "ramekin", "name": "white ramekin", "existing": 0})
    assert text == language.instruction(inverse, t, s, np.random.default_rng([4, 0, 1_000_003]))
    assert reverse_instruction({**row, "source_scene": None}) is None


def test_the_run_record_keeps_every_resume_and_every_earlier_spec(tmp_path):
    def rec(spec_hash: str, started: str) -> dict:
        r = make_record(spec={"seed": 1}, spec_path=f"{spec_hash}.yaml", spec_hash=spec_hash, catalog_path="c.yaml",
                        catalog_hash="sha256:2", versions={}, argv=["render", spec_hash])
        return {**r, "started": started}

    run(tmp_path)  # spec sha256:1, one pair (index 0)
    with RunWriter(tmp_path, rec("sha256:1", "t1")):
        pass
    record = RunDir(tmp_path).record()
    assert record["resumed"] == [{"started": "t1", "command": ["render", "sha256:1"]}]
    assert record["command"] == ["t"]  # the original command line stays
    with RunWriter(tmp_path, rec("sha256:2", "t2"), force=True):
        pass
    record = RunDir(tmp_path).record()
    assert record["spec_hash"] == "sha256:2" and record["started"] == "t2"
    (earlier,) = record["contributions"]
    assert earlier["indices"] == [[0, 0]] and earlier["spec_hash"] == "sha256:1"
    assert {k: earlier[k] for k in ("spec_path", "catalog_path", "catalog_hash")} == {
        "spec_path": None, "catalog_path": None, "catalog_hash": "sha256:2"}
    assert "started" in earlier


def test_export_copies_when_it_cannot_link_and_exports_again_in_place(tmp_path, monkeypatch):
    """The diffusers export into a folder whose parents do not exist yet; again into the same
    folder (files already there are kept or replaced, never an error); and on a filesystem
    where hard links fail (another device), as byte-equal copies."""
    import os

    from simedit.render.rundir.export import export_run

    src = run(tmp_path / "run")
    images = sorted(p for p in src.rglob("*.png") if "images" in p.parts)
    out = tmp_path / "a" / "b" / "export"
    assert export_run(src, out, "diffusers") == 1
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert export_run(src, out, "diffusers") == 1
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == first

    def no_links(a, b):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    copied = tmp_path / "copied"
    assert export_run(src, copied, "diffusers") == 1
    placed = sorted(p for p in copied.rglob("*.png"))
    assert placed and {p.read_bytes() for p in placed} <= {p.read_bytes() for p in images}
    assert all(p.stat().st_nlink == 1 for p in placed)  # copies, not links to the run's files


def test_manifest_lines_are_read_past_blank_lines_and_errors_name_the_line(tmp_path):
    """A hand-edited manifest: a blank line does not end it; a broken line is named by its
    number; a missing file has no complete part."""
    import pytest

    from simedit.render.common.errors import SimEditError
    from simedit.render.rundir.contract import read_lines

    path = tmp_path / "manifest.jsonl"
    path.write_text('{"key": "000000"}\n\n{"key": "000001"}\n')
    rows, end = read_lines(path)
    assert [r["key"] for r in rows] == ["000000", "000001"] and end == len(path.read_bytes())
    path.write_text('{"key": "000000"}\n{"key": "000001"}\nnot json\n')
    with pytest.raises(SimEditError, match="line 3 is not valid JSON"):
        read_lines(path)
    assert read_lines(tmp_path / "none.jsonl") == ([], 0)


def test_records_write_sets_paths_and_numpy_values_as_json(tmp_path):
    from simedit.render.rundir.contract import dumps

    value = {"tags": {"round", "can-fall"}, "mesh": Path("meshes") / "mug.obj", "n": np.int64(3), "v": np.array([1.5])}
    assert json.loads(dumps(value)) == {"tags": ["can-fall", "round"], "mesh": "meshes/mug.obj", "n": 3, "v": [1.5]}
    assert "é" in dumps({"name": "café"})  # written as UTF-8 text, not \\u escapes


def test_a_pair_without_depth_lists_no_depth_file():
    """What the demo dataset writer (train/data/demo.py) records for a pair: images and masks,
    and depth files only when asked for."""
    from simedit.render.rundir.contract import pair_files

    plain, deep = pair_files("000007"), pair_files("000007", depth=True)
    assert all("depth" not in side for side in plain.values())
    assert all(side["depth"].endswith(".npy") and "000007" in side["depth"] for side in deep.values())
    assert {k: {f: v for f, v in s.items() if f != "depth"} for k, s in deep.items()} == plain
