"""Reference runs shared across test files (the fixtures are in conftest.py): each is one real
`render` command (real Blender, real PyBullet, 64x64), rendered once per session by whichever
test asks first. They are read-only: a test that writes into a run works on a copy (`copy_run`)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# the mixed spec: the shard and Ray runs, the killed-and-resumed run, the stats report
MIXED = ["--spec", "mixed", "--n", "3", "--size", "64", "--samples", "4"]
# the count spec: a finished run given a smaller --n, a run whose render process is killed
COUNT = ["--spec", "count", "--n", "3", "--size", "64", "--samples", "4"]


def render_cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simedit.render.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, **kw)


def render_reference(out: Path, args: list[str]) -> Path:
    result = render_cli(*args, "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    return out


def copy_run(run: Path, dest: Path) -> Path:
    """A private copy of a shared run, for a test that writes into it."""
    shutil.copytree(run, dest, ignore=shutil.ignore_patterns(".lock"))
    return dest
