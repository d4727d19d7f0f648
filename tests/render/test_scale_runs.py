"""Scaling out with real Blender and PyBullet at 64x64: a 2-shard run merged, and a Ray run that
loses a render slot mid-way, each equal byte for byte to one local run of the same command."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reference_runs import MIXED as RUN
from reference_runs import ROOT
from reference_runs import render_cli as render
from simedit.render.rundir.contract import read_manifest


@pytest.fixture
def local(mixed_run) -> Path:
    """The one local run of the same command (`RUN --workers 2`), shared with other files."""
    return mixed_run


def assert_same_run(a: Path, b: Path) -> None:
    for name in ("manifest.jsonl", "rejects.jsonl"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    files = sorted(p.relative_to(a) for p in (a / "images").iterdir()) + sorted(
        p.relative_to(a) for p in (a / "masks").iterdir())
    assert files == sorted(p.relative_to(b) for p in (b / "images").iterdir()) + sorted(
        p.relative_to(b) for p in (b / "masks").iterdir())
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_two_shards_merge_into_the_single_run(local, tmp_path):
    parts = [tmp_path / f"part{k}" for k in range(2)]
    procs = [subprocess.Popen([sys.executable, "-m", "simedit.render.cli", *RUN, "--shard", f"{k}/2", "--out", str(part)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k, part in enumerate(parts)]  # side by side, as a scheduler would run them
    for k, (proc, part) in enumerate(zip(procs, parts)):
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr[-2000:]
        assert f"shard {k}/2: accepted" in stdout
        assert {r["index"] % 2 for r in read_manifest(part)} == {k}
    merged = tmp_path / "merged"
    result = render("merge", str(merged), *map(str, parts))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "3 pairs, the same as one run of --n 3" in result.stdout
    assert_same_run(local, merged)
    # the merged directory is a finished run of the plain command
    again = render(*RUN, "--out", str(merged))
    assert again.returncode == 0 and "already holds 3 accepted pairs" in again.stdout, again.stderr[-2000:]


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def busy_actors(pid: int) -> list[int]:
    """Ray worker processes under our `render` that are sampling a chunk right now."""
    found = []
    for p in descendants(pid):
        try:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes()
        except OSError:
            continue
        if cmd.startswith(b"ray::RenderSlotActor.sample"):
            found.append(p)
    return found


def test_ray_run_losing_a_slot_equals_the_local_run(local, tmp_path):
    """A local Ray cluster (this machine's 2 cores), 2 actors; one actor process is killed while it
    samples a chunk: the chunk goes to a new actor and the run ends with the local run's bytes."""
    out = tmp_path / "ray"
    env = {**os.environ, "RAY_DEDUP_LOGS": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "simedit.render.cli", *RUN, "--workers", "2", "--executor", "ray",
                             "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    killed = None
    try:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None and killed is None:
            victims = busy_actors(proc.pid)
            if victims and (out / "manifest.jsonl").exists():  # mid-run: a pair written, a chunk in flight
                killed = victims[0]
                os.kill(killed, signal.SIGKILL)
            time.sleep(0.05)
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert killed is not None, "the run ended before a busy render slot could be killed"
    assert proc.returncode == 0, stderr[-3000:]
    assert "lost render slot" in stderr and "go to a new slot" in stderr, stderr[-3000:]
    assert "on 2 render slot(s) (ray: Ray cluster of 1 node(s))" in stdout
    assert_same_run(local, out)
