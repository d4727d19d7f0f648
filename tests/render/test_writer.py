"""The run directory writer: files before manifest lines, resume, lock, record checks, torn
lines, finalize, full disk. Pairs come from a fake renderer (numpy rectangles), no Blender."""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from simedit.render.common import atomic as atomic_mod
from simedit.render.common.errors import SimEditError
from simedit.render.scene import Camera, Edit, Scene, SceneObject
from simedit.render.rundir.contract import read_manifest, read_mask, read_rejects
from simedit.render.rundir.writer import RunWriter, make_record

CAM = Camera(position=(0.0, -1.2, 0.9), look_at=(0.0, 0.0, 0.05), fov=0.9, width=32, height=32)


@dataclass
class Fake:
    rgb: np.ndarray
    mask: np.ndarray
    depth: np.ndarray | None = None


def fake_plan(i: int) -> dict:
    src = Scene(objects=[
        SceneObject("o0", "mug", "red mug", (-0.2, 0.0, 0.05)),
        SceneObject("o1", "bowl", "blue bowl", (0.2, 0.0, 0.05)),
    ], camera=CAM)
    tgt = src.copy()
    tgt.get("o1").position = (0.2, 0.2, 0.05)
    edit = Edit("location", "relative", ["o1"], ["o0"], {"direction": "behind"})
    return {"key": f"{i:06d}", "index": i, "seed": 7, "attempt": 0, "kind": "location",
            "subtype": "relative", "instruction": f"move the blue bowl behind the red mug {i}",
            "edit": edit.to_dict(), "source": src.to_dict(), "target": tgt.to_dict()}


def fake_render(i: int, side: str, size: int = 32, depth: bool = False, big_id: bool = False) -> Fake:
    rgb = np.full((size, size, 3), 120, np.uint8)
    mask = np.zeros((size, size), np.uint16)
    x = 4 + i % 5 + (10 if side == "target" else 0)
    rgb[4:10, 2:8] = (200, 30, 30)
    mask[4:10, 2:8] = 1  # o0
    rgb[14:20, x:x + 6] = (30, 30, 200)
    mask[14:20, x:x + 6] = 300 if big_id else 2  # o1 (or o299)
    d = np.full((size, size), 2.5, np.float32) if depth else None
    return Fake(rgb, mask, d)


def record(spec_hash: str = "sha256:aa", catalog_hash: str = "sha256:cc") -> dict:
    return make_record(spec={"seed": 7}, spec_path="scenes/x.yaml", spec_hash=spec_hash,
                       catalog_path="cat.yaml", catalog_hash=catalog_hash,
                       versions={"python": "3.11", "numpy": np.__version__}, argv=["render", "x"])


def put(w: RunWriter, i: int, **kw) -> dict:
    return w.write_pair(fake_plan(i), fake_render(i, "source", **kw), fake_render(i, "target", **kw),
                        {"changed_fraction": np.float32(0.25)})


def test_pair_files_and_manifest_line(tmp_path: Path) -> None:
    with RunWriter(tmp_path, record()) as w:
        line = put(w, 3, depth=True)
        assert w.done() == {3} and w.accepted() == 1
    assert line["source"] == {"image": "images/000003_source.png", "mask": "masks/000003_source.png",
                              "depth": "depth/000003_source.npy"}
    assert line["mask_ids"] == {"1": "o0", "2": "o1"}
    assert line["edited"] == ["o1"]  # not the reference o0
    assert line["objects"] == {"o0": {"asset_id": "mug", "name": "red mug"},
                               "o1": {"asset_id": "bowl", "name": "blue bowl"}}
    assert line["verify"] == {"changed_fraction": 0.25}
    assert line["source_scene"]["objects"][0]["uid"] == "o0" and "target_scene" in line
    rows = read_manifest(tmp_path)
    assert rows == [json.loads(json.dumps(line))]
    for side in ("source", "target"):
        with Image.open(tmp_path / rows[0][side]["image"]) as im:
            assert im.mode == "RGB" and im.size == (32, 32)
        with Image.open(tmp_path / rows[0][side]["mask"]) as im:
            assert im.mode == "L"
        assert np.load(tmp_path / rows[0][side]["depth"]).dtype == np.float32
    m = read_mask(tmp_path / "masks/000003_target.png")
    assert np.array_equal(m, fake_render(3, "target").mask)
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["spec_hash"] == "sha256:aa" and run["command"] == ["render", "x"]
    assert not list(tmp_path.rglob(".*.tmp.*"))


def test_16_bit_masks(tmp_path: Path) -> None:
    with RunWriter(tmp_path, record()) as w:
        line = put(w, 0, big_id=True)
    assert line["mask_ids"] == {"1": "o0", "300": "o299"}
    with Image.open(tmp_path / "masks/000000_source.png") as im:
        assert im.mode.startswith("I")
    assert int(read_mask(tmp_path / "masks/000000_source.png").max()) == 300


def test_crash_between_files_and_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with RunWriter(tmp_path, record()) as w:
        put(w, 0)

        def boom(*a, **k):
            raise KeyboardInterrupt

        monkeypatch.setattr(w, "_append", boom)
        with pytest.raises(KeyboardInterrupt):
            put(w, 1)
    assert (tmp_path / "images/000001_source.png").exists()  # files first ...
    assert [r["index"] for r in read_manifest(tmp_path)] == [0]  # ... then the line, which never came
    monkeypatch.undo()
    with RunWriter(tmp_path, record()) as w:
        assert w.done() == {0}
        put(w, 1)  # the resumed run redoes it
        w.finalize(2)
    assert [r["index"] for r in read_manifest(tmp_path)] == [0, 1]


def test_resume_done_and_rejects(tmp_path: Path) -> None:
    with RunWriter(tmp_path, record()) as w:
        put(w, 0)
        w.write_reject(1, 0, "claim_false", "location.relative behind")
        w.write_reject(1, 1, "source_touching")
        w.write_exhausted(1)
        w.write_reject(2, 0, "ambiguous_reference")
    with RunWriter(tmp_path, record()) as w:
        assert w.done() == {0, 1}  # 2 was only rejected once: not done
        assert w.accepted() == 1
        with pytest.raises(ValueError):
            put(w, 0)
    run = json.loads((tmp_path / "run.json").read_text())
    assert len(run["resumed"]) == 1
    assert read_rejects(tmp_path)[2] == {"index": 1, "exhausted": True}


def test_lock_refuses_second_writer(tmp_path: Path) -> None:
    with RunWriter(tmp_path, record()):
        with pytest.raises(SimEditError, match=rf"another run is writing this directory \(pid {os.getpid()}\)"):
            RunWriter(tmp_path, record())  # a second open file description: flock conflicts
        code = ("import sys; from simedit.render.rundir.writer import RunWriter\n"
                "from simedit.render.common.errors import SimEditError\n"
                "try:\n    RunWriter(sys.argv[1], {'spec_hash': 'sha256:aa', 'catalog_hash': 'sha256:cc'})\n"
                "except SimEditError as e:\n    print(e); sys.exit(3)\n")
        p = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
        assert p.returncode == 3 and "another run" in p.stdout and str(tmp_path) in p.stdout
    with RunWriter(tmp_path, record()):  # released on exit
        pass


def test_record_mismatch_refused_unless_forced(tmp_path: Path) -> None:
    with RunWriter(tmp_path, record()) as w:
        put(w, 0)
    with pytest.raises(SimEditError) as e:
        RunWriter(tmp_path, record(spec_hash="sha256:bb"))
    assert e.value.field == "spec_hash" and e.value.file == str(tmp_path)
    with pytest.raises(SimEditError) as e:
        RunWriter(tmp_path, record(catalog_hash="sha256:dd"))
    assert e.value.field == "catalog_hash"
    with RunWriter(tmp_path, record(spec_hash="sha256:bb"), force=True) as w:
        assert w.done() == {0}  # forced: existing pairs are kept
        put(w, 1)
        put(w, 2)
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["spec_hash"] == "sha256:bb"
    assert [(c["spec_hash"], c["indices"]) for c in run["contributions"]] == [("sha256:aa", [[0, 0]])]
    with RunWriter(tmp_path, record(spec_hash="sha256:ee"), force=True):
        pass
    run = json.loads((tmp_path / "run.json").read_text())  # every spec that contributed, with its pairs
    assert [(c["spec_hash"], c["indices"]) for c in run["contributions"]] == [
        ("sha256:aa", [[0, 0]]), ("sha256:bb", [[1, 2]])]
    assert run["spec_hash"] == "sha256:ee" and run["contributions"][0]["spec"] == {"seed": 7}


def test_resume_renders_again_a_pair_whose_files_are_gone(tmp_path: Path, caplog) -> None:
    with RunWriter(tmp_path, record()) as w:
        for i in range(3):
            put(w, i)
    (tmp_path / "images/000001_target.png").unlink()
    with caplog.at_level("WARNING"), RunWriter(tmp_path, record()) as w:
        assert w.done() == {0, 2}  # index 1 is to do again
        put(w, 1)
    assert "missing files" in caplog.text and [r["index"] for r in read_manifest(tmp_path)] == [0, 2, 1]
    assert (tmp_path / "images/000001_target.png").is_file()


def test_torn_last_line(tmp_path: Path) -> None:
    with RunWriter(tmp_path, record()) as w:
        put(w, 0)
        put(w, 1)
    with open(tmp_path / "manifest.jsonl", "ab") as f:
        f.write(b'{"key": "000002", "index": 2, "ins')  # killed mid-write
    with open(tmp_path / "rejects.jsonl", "ab") as f:
        f.write(b'{"index": 5, "exha')
    assert [r["index"] for r in read_manifest(tmp_path)] == [0, 1]
    with RunWriter(tmp_path, record()) as w:
        assert w.done() == {0, 1}
        put(w, 2)  # appended on a fresh line, not glued to the torn one
        w.write_exhausted(5)
    assert [r["index"] for r in read_manifest(tmp_path)] == [0, 1, 2]
    assert read_rejects(tmp_path) == [{"index": 5, "exhausted": True}]


def test_finalize_sorts_truncates_dedupes_idempotent(tmp_path: Path) -> None:
    # interrupted, out of order (parallel workers), with extras past the n-th accepted pair
    with RunWriter(tmp_path, record()) as w:
        for i in (2, 0, 5, 3):
            put(w, i)
            w.write_reject(i, 0, "claim_false")
        w.write_reject(1, 0, "source_touching")
        w.write_exhausted(1)
        w.write_reject(4, 0, "claim_false")
    with RunWriter(tmp_path, record()) as w:  # resumed: rejects of 0 are logged again
        w.write_reject(0, 0, "claim_false")
        w.finalize(3)
    rows = read_manifest(tmp_path)
    assert [r["index"] for r in rows] == [0, 2, 3]
    assert not (tmp_path / "images/000005_source.png").exists()  # the extra pair's files go
    assert (tmp_path / "masks/000003_target.png").exists()
    rej = [(r["index"], r.get("attempt"), bool(r.get("exhausted"))) for r in read_rejects(tmp_path)]
    assert rej == [(0, 0, False), (1, 0, False), (1, None, True), (2, 0, False), (3, 0, False)]
    first = (tmp_path / "manifest.jsonl").read_bytes(), (tmp_path / "rejects.jsonl").read_bytes()
    with RunWriter(tmp_path, record()) as w:
        assert w.done() == {0, 1, 2, 3}
        w.finalize(3)
    assert ((tmp_path / "manifest.jsonl").read_bytes(), (tmp_path / "rejects.jsonl").read_bytes()) == first

    # the same pairs written in order, uninterrupted, give the same manifest bytes
    clean = tmp_path / "clean"
    with RunWriter(clean, record()) as w:
        for i in (0, 1, 2, 3):
            if i == 1:
                w.write_reject(1, 0, "source_touching")
                w.write_exhausted(1)
            else:
                w.write_reject(i, 0, "claim_false")
                put(w, i)
        w.finalize(3)
    assert (clean / "manifest.jsonl").read_bytes() == first[0]
    assert (clean / "rejects.jsonl").read_bytes() == first[1]


def test_disk_full_leaves_no_half_pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = atomic_mod.write_synced
    calls = {"n": 0}

    def full_on_third(path, data):
        calls["n"] += 1
        if calls["n"] == 3:  # the target image of the second pair: two files of it already exist
            with open(path, "wb") as f:
                f.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data)

    with RunWriter(tmp_path, record()) as w:
        put(w, 0)
        monkeypatch.setattr(atomic_mod, "write_synced", full_on_third)
        with pytest.raises(SimEditError, match="disk full while writing") as e:
            put(w, 1)
        assert "images" in e.value.file and "000001_target" in e.value.file
        assert w.done() == {0}
    assert [r["index"] for r in read_manifest(tmp_path)] == [0]
    leftovers = sorted(p.name for p in tmp_path.rglob("*0001_*")) + [p.name for p in tmp_path.rglob(".*tmp*")]
    assert leftovers == []
    assert (tmp_path / "images/000000_target.png").exists()  # finished work stays


def test_disk_full_on_manifest_append(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with RunWriter(tmp_path, record()) as w:
        put(w, 0)
        real_open = open

        class Full:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *a):
                self.f.close()

            def write(self, data):
                self.f.write(data[:10])
                self.f.flush()
                raise OSError(errno.ENOSPC, "No space left on device")

        def fake_open(path, mode="r", *a, **k):
            f = real_open(path, mode, *a, **k)
            return Full(f) if str(path).endswith("manifest.jsonl") and "a" in mode else f

        monkeypatch.setattr("builtins.open", fake_open)
        with pytest.raises(SimEditError, match="disk full"):
            put(w, 1)
        monkeypatch.undo()
    assert (tmp_path / "manifest.jsonl").read_bytes().endswith(b"\n")
    assert [r["index"] for r in read_manifest(tmp_path)] == [0]
    assert not (tmp_path / "images/000001_source.png").exists()


CHILD = """
import sys, time
sys.path.insert(0, sys.argv[2])
from test_writer import RunWriter, put, record
with RunWriter(sys.argv[1], record()) as w:
    for i in range(10_000):
        if i not in w.done():
            put(w, i)
            time.sleep(0.002)
"""


def test_killed_run_resumes_to_identical_manifest(tmp_path: Path) -> None:
    run = tmp_path / "run"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(run), str(Path(__file__).parent)])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            m = run / "manifest.jsonl"
            if m.exists() and m.read_bytes().count(b"\n") >= 4:
                break
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    with RunWriter(run, record()) as w:  # the lock died with the process
        done = w.done()
        assert len(done) >= 4
        for row in read_manifest(run):
            assert all((run / p).is_file() for side in ("source", "target") for p in row[side].values())
        for i in range(8):
            if i not in w.done():
                put(w, i)
        w.finalize(8)
    clean = tmp_path / "clean"
    with RunWriter(clean, record()) as w:
        for i in range(8):
            put(w, i)
        w.finalize(8)
    assert (run / "manifest.jsonl").read_bytes() == (clean / "manifest.jsonl").read_bytes()
    assert sorted(p.name for p in (run / "images").iterdir()) == sorted(p.name for p in (clean / "images").iterdir())
