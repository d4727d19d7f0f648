"""A run meets bad luck and bad input without losing work: a smaller --n, SIGTERM, two runs on
one directory, manifest paths that leave the run, a render process that dies while starting."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reference_runs import COUNT, copy_run
from simedit.render.backends.base import RenderSettings
from simedit.render.backends.worker import RenderWorker, WorkerDied
from simedit.render.catalog.model import load_catalog
from simedit.render.common.errors import SimEditError
from simedit.render.plan.planner import Planner
from simedit.render.run.attempt import Slot
from simedit.render.rundir.contract import read_manifest
from simedit.render.rundir.export import export_run
from simedit.render.rundir.lock import RunLock
from simedit.render.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--size", "64", "--samples", "4"]


def render(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simedit.render.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def finished(count_run, tmp_path_factory) -> Path:
    """A finished `render --spec count --n 3` run (the shared one, reference_runs.py), copied:
    these tests run `render` on it again."""
    assert COUNT == ["--spec", "count", "--n", "3", *TINY]
    return copy_run(count_run, tmp_path_factory.mktemp("run") / "count")


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != ".lock"
            and p.name != "run.json"}


def test_a_smaller_n_removes_nothing(finished):
    before = snapshot(finished)
    again = render("--spec", "count", "--n", "1", "--out", str(finished), *TINY)
    assert again.returncode == 0 and "already holds 3 accepted pairs" in again.stdout and "nothing removed" in again.stdout
    assert snapshot(finished) == before


def test_a_second_run_on_the_same_directory_is_refused(finished):
    with RunLock(finished):
        dry = render("--spec", "count", "--n", "1", "--dry-run", "--out", str(finished))
    assert dry.returncode == 2 and "another run is writing this directory" in dry.stderr
    assert "Traceback" not in dry.stderr and not (finished / "plans.jsonl").exists()


def test_export_refuses_paths_that_leave_the_run(finished, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    rows = read_manifest(finished)
    rows[0]["source"]["image"] = "../../victim.png"
    (run / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    victim = tmp_path / "victim.png"
    victim.write_bytes(b"precious")
    with pytest.raises(SimEditError, match="leaves the run directory"):
        export_run(run, tmp_path / "out", "aurora")
    assert victim.read_bytes() == b"precious"


def test_sigterm_stops_like_ctrl_c_and_the_run_resumes(tmp_path):
    out = tmp_path / "term"
    proc = subprocess.Popen([sys.executable, "-m", "simedit.render.cli", "--spec", "count", "--n", "4", "--out",
                             str(out), *TINY], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "manifest.jsonl").exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr[-2000:]
    lines = [l for l in stderr.replace("\r", "\n").splitlines() if l.strip() and not l.startswith("rendering")]
    assert lines == ["interrupted: finished pairs are kept; run the same command again to continue"], lines
    kept = len(read_manifest(out))
    assert kept >= 1
    assert kept < 4  # stopped mid-run
    again = render("--spec", "count", "--n", "4", "--out", str(out), *TINY)
    assert again.returncode == 0 and f"({4 - kept} new)" in again.stdout, again.stdout


def test_a_render_process_that_dies_while_starting_is_replaced():
    spec = load_spec(ROOT / "scenes/rotation.yaml")
    spec = spec.model_copy(update={"render": spec.render.model_copy(update={"width": 32, "height": 32, "samples": 2})})
    catalog = load_catalog()
    starts = []

    def make_renderer():
        starts.append(1)
        if len(starts) == 1:
            raise WorkerDied("render worker (pid 1) died, exit code -9")  # what a kill during start-up gives
        return RenderWorker(catalog, RenderSettings(samples=2))

    slot = Slot(Planner(spec, catalog), make_renderer, log="logs/render-0.log")
    try:
        result = slot.sample(0)
    finally:
        slot.close()
    assert len(starts) == 2 and result is not None and result.index == 0


def test_a_render_process_that_keeps_dying_names_its_log(tmp_path):
    spec = load_spec(ROOT / "scenes/rotation.yaml")

    def make_renderer():
        raise WorkerDied("render worker (pid 1) died, exit code -9")

    slot = Slot(Planner(spec, load_catalog()), make_renderer, log=str(tmp_path / "render-0.log"))
    with pytest.raises(SimEditError, match="died 4 times .* its log: .*render-0.log"):
        slot.sample(0)
