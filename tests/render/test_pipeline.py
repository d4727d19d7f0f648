"""The main job with real Blender and PyBullet at 64x64: render, verify, resume, reject."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage
from PIL import Image

from reference_runs import COUNT, MIXED, render_cli
from simedit.render.catalog.model import load_catalog
from simedit.render.masks import shadow_region
from simedit.render.plan.planner import Planner
from simedit.render.scene import mask_value
from simedit.render.spec import load_spec
from simedit.render.verify import verify_pair
from simedit.render.rundir.contract import read_manifest, read_mask

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--size", "64", "--samples", "8"]


def render(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simedit.render.cli", *args, *TINY], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("kind", ["rotation", "location", "count", "attribute", "stack"])
def test_render_pairs_per_kind(tmp_path, kind):
    out = tmp_path / kind
    result = render("--spec", f"scenes/{kind}.yaml", "--n", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "accepted 2 pairs" in result.stdout and "pairs/hour" in result.stdout
    rows = read_manifest(out)
    assert [r["kind"] for r in rows] == [kind, kind]
    record = json.loads((out / "run.json").read_text())
    assert record["spec"]["render"]["width"] == 64 and record["catalog_hash"] and record["versions"]["bpy"]
    for row in rows:
        for side in ("source", "target"):
            image = np.asarray(Image.open(out / row[side]["image"]))
            assert image.shape == (64, 64, 3) and image.std() > 3
            mask = read_mask(out / row[side]["mask"])
            present = {str(v) for v in np.unique(mask) if v}
            assert present <= set(row["mask_ids"])
        for uid in row["edited"]:
            in_src = uid in {o["uid"] for o in row["source_scene"]["objects"]}
            src_mask = read_mask(out / row["source"]["mask"])
            assert (src_mask == mask_value(uid)).any() == in_src
        assert claim_holds(out, row), row["instruction"]


def claim_holds(out: Path, row: dict) -> bool:
    """The instruction, read on the written images and masks by this test's own measure (not the
    verifier's code): what a viewer of the pair would check."""
    m = {s: read_mask(out / row[s]["mask"]) for s in ("source", "target")}
    rgb = {s: np.asarray(Image.open(out / row[s]["image"]).convert("RGB"), float) for s in ("source", "target")}

    def px(side: str, uid: str) -> np.ndarray:
        return m[side] == mask_value(uid)

    def center(side: str, uid: str) -> np.ndarray:
        rows, cols = np.nonzero(px(side, uid))
        return np.array([cols.mean(), rows.mean()])

    def bottom(side: str, uid: str) -> int:
        return int(np.nonzero(px(side, uid))[0].max())

    edit, sub = row["edit"], row["subtype"]
    objs, refs, params = edit["objects"], edit["references"], edit["params"]
    if row["kind"] == "location":
        if sub == "relative":
            a, b = objs[0], refs[0]
            return {"left_of": center("target", a)[0] < center("target", b)[0],
                    "right_of": center("target", a)[0] > center("target", b)[0],
                    "in_front_of": bottom("target", a) > bottom("target", b),
                    "behind": bottom("target", a) < bottom("target", b)}[params["direction"]]
        if sub == "absolute":
            (a,) = objs
            dx = center("target", a)[0] - center("source", a)[0]
            db = bottom("target", a) - bottom("source", a)
            return {"left": dx < 0, "right": dx > 0, "closer": db > 0, "further": db < 0}[params["direction"]]
        a, b = objs
        if sub in ("attract", "repel"):
            d0 = np.linalg.norm(center("source", a) - center("source", b))
            d1 = np.linalg.norm(center("target", a) - center("target", b))
            return d1 < d0 if sub == "attract" else d1 > d0
        return (np.linalg.norm(center("target", a) - center("source", b)) < np.linalg.norm(center("target", a) - center("source", a))
                and np.linalg.norm(center("target", b) - center("source", a)) < np.linalg.norm(center("target", b) - center("source", b)))
    if row["kind"] == "count":
        name = params["name"]
        named = [uid for uid, o in row["objects"].items() if o["name"] == name]
        seen = {s: sum(int(px(s, uid).sum() >= 10) for uid in named) for s in ("source", "target")}
        return seen["target"] - seen["source"] == (params["n"] if sub == "add" else -params["n"])
    if row["kind"] == "attribute" and sub == "size":
        ratio = px("target", objs[0]).sum() / px("source", objs[0]).sum()
        return ratio > 1 if params["direction"] == "bigger" else ratio < 1
    if row["kind"] == "attribute" and sub == "color":
        from simedit.render.catalog.model import load_catalog
        from simedit.render.common.colorspace import linear_to_srgb

        named = linear_to_srgb(np.asarray(load_catalog().palette[params["to_color"]], float))
        before, after = (rgb[s][px(s, objs[0])].mean(axis=0) for s in ("source", "target"))
        return np.linalg.norm(after - named) < np.linalg.norm(before - named)
    if row["kind"] in ("rotation", "attribute"):  # turned or reshaped in place: it looks different
        both = px("source", objs[0]) | px("target", objs[0])
        return float(np.abs(rgb["source"][both] - rgb["target"][both]).mean()) > 5.0
    (a,), (s,) = objs, refs  # stack: what the object stands on, just below its outline
    below = [stands_on(m[side], mask_value(a), mask_value(s)) for side in ("source", "target")]
    on, off = (below[1], below[0]) if sub == "put_on" else (below[0], below[1])
    return on >= 0.6 and off <= 0.3


def stands_on(mask: np.ndarray, value: int, support: int) -> float:
    """Share of the object's columns whose pixel just below its lowest pixel is the support."""
    cols = [c for c in range(mask.shape[1]) if (mask[:, c] == value).any()]
    hits = 0
    for c in cols:
        low = int(np.nonzero(mask[:, c] == value)[0].max())
        hits += int(mask[min(low + 1, mask.shape[0] - 1), c] == support)
    return hits / len(cols)


def test_killed_run_resumes_to_the_same_manifest(mixed_run, tmp_path):
    # the clean run: the shared uninterrupted run of this command (reference_runs.py; it ran on 2
    # render slots, which changes no byte); one slot here, so pairs are written one at a time
    command = MIXED
    clean = mixed_run
    broken = tmp_path / "broken"
    proc = subprocess.Popen(
        [sys.executable, "-m", "simedit.render.cli", *command, "--out", str(broken)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.time() + 300
    while time.time() < deadline and len(read_manifest(broken) if (broken / "manifest.jsonl").exists() else []) < 1:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the run and its Blender worker, mid-way
    proc.wait()
    assert 0 < len(read_manifest(broken)) < 3
    again = render_cli(*command, "--out", str(broken))
    assert again.returncode == 0, again.stderr[-2000:]
    assert (broken / "manifest.jsonl").read_bytes() == (clean / "manifest.jsonl").read_bytes()
    for row in read_manifest(clean):
        for side in ("source", "target"):
            assert (broken / row[side]["image"]).read_bytes() == (clean / row[side]["image"]).read_bytes()
    busy = render("--spec", "scenes/rotation.yaml", "--n", "4", "--out", str(broken))
    assert busy.returncode == 2 and "spec" in busy.stderr and "Traceback" not in busy.stderr


@pytest.fixture(scope="module")
def rendered_pair():
    """One real, verified relative move at 64x64, plus the same pair re-rendered with another
    object moved 8 cm as well (what a leaky generator would produce)."""
    from simedit.render.backends.base import RenderSettings
    from simedit.render.backends.worker import RenderWorker

    spec = load_spec(ROOT / "scenes/location.yaml")
    spec = spec.model_copy(update={"render": spec.render.model_copy(update={"width": 64, "height": 64})})
    catalog = load_catalog()
    planner = Planner(spec, catalog)
    with RenderWorker(None, RenderSettings(samples=8)) as worker:
        for index in range(20):
            sample = planner.plan(index).sample
            if sample is None or sample.edit.subtype != "relative":
                continue
            src, tgt = worker.render_pair(sample.source, sample.target, 7)
            if not verify_pair(sample.edit, sample.source, sample.target, src, tgt, sample.context).ok:
                continue
            bystanders = [o.uid for o in sample.source.objects if o.uid not in sample.edit.objects + sample.edit.references]
            # the verifier compares the pixels away from the edited object and its shadows (at
            # 64x64 its pixel margins leave a small part of a framed scene): a bystander there
            excluded = np.zeros(src.mask.shape, bool)
            for uid in sample.edit.objects:
                edited = (src.mask == mask_value(uid)) | (tgt.mask == mask_value(uid))
                excluded |= ndimage.binary_dilation(edited, iterations=spec.verify.dilate_px)
                for scene in (sample.source, sample.target):
                    shadow = shadow_region(scene, uid, catalog, src.shadow_lights)
                    excluded |= ndimage.binary_dilation(shadow, iterations=spec.verify.shadow_px)
            seen = {u: int(((src.mask == mask_value(u)) & ~excluded).sum()) for u in bystanders}
            if not seen or max(seen.values()) < 30:
                continue
            other = max(seen, key=seen.get)
            leaky = sample.target.copy()
            x, y, z = leaky.get(other).position
            leaky.get(other).position = (x + 0.08, y, z)
            _, leaky_tgt = worker.render_pair(sample.source, leaky, 7)
            return sample, src, tgt, leaky_tgt, catalog, spec
    pytest.fail("no verifiable relative move with a bystander in view of the verifier in 20 samples")


def test_verifier_rejects_doctored_pairs(rendered_pair):
    sample, src, tgt, leaky_tgt, catalog, spec = rendered_pair
    # another object moved too
    verdict = verify_pair(sample.edit, sample.source, sample.target, src, leaky_tgt, sample.context)
    assert not verdict.ok and verdict.reason == "not_minimal", verdict
    # a claim that is false: the instruction says the opposite direction
    opposite = {"left_of": "right_of", "right_of": "left_of", "in_front_of": "behind", "behind": "in_front_of"}
    lie = sample.edit.__class__(**{**sample.edit.__dict__, "params": {"direction": opposite[sample.edit.params["direction"]]}})
    verdict = verify_pair(lie, sample.source, sample.target, src, tgt, sample.context)
    assert not verdict.ok and verdict.reason == "claim_not_visible"


def test_depth_and_two_render_slots(tmp_path):
    out = tmp_path / "depth"
    result = render("--spec", "scenes/attribute.yaml", "--n", "3", "--out", str(out), "--workers", "2", "--depth")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "on 2 render slot(s)" in result.stdout
    rows = read_manifest(out)
    assert [r["index"] for r in rows] == sorted(r["index"] for r in rows) and len(rows) == 3
    for row in rows:
        depth = np.load(out / row["source"]["depth"])
        assert depth.shape == (64, 64) and np.isfinite(depth).mean() > 0.5
        assert 0.1 < float(np.nanmin(depth[np.isfinite(depth)])) < 3.0  # meters from the (framed) camera


def render_children(pid: int) -> list[int]:
    """Pids of the Blender worker processes under a running `render` (multiprocessing spawn)."""
    found = []
    # every thread's children: the workers are started from the render-slot threads, and
    # /proc/PID/task/PID/children lists only the main thread's
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:  # the thread ended meanwhile
            continue
        for child in children:
            try:
                cmd = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if b"spawn_main" in cmd:
                found.append(int(child))
    return found


def test_killed_render_process_is_replaced(count_run, tmp_path):
    clean = count_run  # the shared uninterrupted run of the same command (reference_runs.py)
    out = tmp_path / "crash"
    proc = subprocess.Popen(
        [sys.executable, "-m", "simedit.render.cli", *COUNT, "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.time() + 120
    # kill the warm worker mid-run: after the first pair is written, before the last
    while time.time() < deadline and not (out / "manifest.jsonl").exists():
        time.sleep(0.02)
    killed = render_children(proc.pid)
    assert killed and proc.poll() is None, "no running render process to kill"
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-2000:]
    assert len(read_manifest(out)) == 3
    for x, y in zip(read_manifest(out), read_manifest(clean)):
        assert {k: v for k, v in x.items() if v != y[k]} == {k: v for k, v in y.items() if v != x[k]}
    assert (out / "manifest.jsonl").read_bytes() == (clean / "manifest.jsonl").read_bytes()
