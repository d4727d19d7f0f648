"""`render stats DIR` on a real run: the report counts what the run holds and draws its plots."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from reference_runs import copy_run
from simedit.render.rundir.contract import read_manifest, read_rejects

ROOT = Path(__file__).resolve().parents[2]


def render(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simedit.render.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_stats_report_of_a_real_run(mixed_run, tmp_path):
    # the shared run of `render --spec mixed --n 3 --size 64 --samples 4` (reference_runs.py),
    # copied: stats writes into the run directory
    out = copy_run(mixed_run, tmp_path / "run")
    sessions = json.loads((out / "run.json").read_text())["sessions"]
    assert sessions[0]["new_pairs"] == 3 and sessions[0]["seconds"] > 0
    stats = render("stats", str(out))
    assert stats.returncode == 0, stats.stderr[-2000:]
    text = (out / "stats" / "stats.md").read_text()
    rows, rejects = read_manifest(out), [r for r in read_rejects(out) if not r.get("exhausted")]
    assert f"pairs: **{len(rows)}**; attempts: {len(rows) + len(rejects)}" in text
    assert "seconds per pair" in text and "distinct templates" in text
    for row in rows:
        assert f"| {row['kind']}.{row['subtype']} |" in text
    for plot in ("subtypes.png", "sizes.png", "contrast.png", "lengths.png"):
        assert (out / "stats" / plot).stat().st_size > 1000 and f"]({plot})" in text
