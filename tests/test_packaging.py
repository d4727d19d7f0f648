"""What can be checked without a Docker engine: the image and CI install the way the README says."""
from __future__ import annotations

import re
import site
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_install() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r'pip install (-e "\.\[train,test\]" torch==2\.13\.0)', text)
    assert match, "README's first command must install the project"
    return match.group(1)


def test_dockerfile_installs_like_the_readme():
    """The runtime stage makes a Python 3.11 venv, activates it (PATH) and runs the README's pip
    line; the GPU base image is the CUDA runtime."""
    docker = (ROOT / "docker" / "Dockerfile").read_text()
    runtime = docker[docker.index(" AS runtime"):]
    assert f"pip install --no-cache-dir {readme_install()}" in runtime
    assert re.search(r"^RUN python3\.11 -m venv /opt/venv$", runtime, re.M)
    assert re.search(r"^ENV PATH=/opt/venv/bin:\$PATH", runtime, re.M)
    assert "python3.11 -m venv .venv && . .venv/bin/activate && pip install" in (ROOT / "README.md").read_text()
    assert re.search(r"^FROM nvidia/cuda:\$\{CUDA_VERSION\}-runtime-\$\{UBUNTU\} AS runtime$", docker, re.M)


def test_ci_installs_like_the_readme_and_runs_its_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"pip install {readme_install()}" in ci
    assert "python -m pytest -q" in ci and "python -m pytest -q" in (ROOT / "README.md").read_text()


def test_torch_is_pinned_everywhere_it_is_installed():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"torch==2.13.0"' in pyproject


def test_wheel_ships_the_data_and_renders_from_another_directory(tmp_path):
    """`pip install .` (not editable): the wheel carries templates, specs and the built-in catalog,
    and `render --spec rotation` works from any directory, finding the spec by name."""
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist),
                    str(ROOT)], check=True, capture_output=True)
    (wheel,) = dist.glob("simedit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in ("simedit/templates/stack.j2", "simedit/scenes/rotation.yaml", "simedit/assets_catalog/builtin.yaml",
                 "simedit/assets_catalog/meshes/book.obj", "simedit/train/configs/tiny.yaml",
                 "simedit/render/plan/edits/stack.py"):
        assert data in names, data
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    # -S: no .pth files, so the editable install of this checkout is out of the way; the
    # dependencies come from this environment's site-packages
    env = {"PYTHONPATH": f"{target}:{site.getsitepackages()[0]}", "PATH": "/usr/bin:/bin"}
    code = ("import sys, simedit.render; from simedit.render.cli import main; print(simedit.render.__file__); "
            "sys.exit(main(sys.argv[1:]))")
    out = tmp_path / "run"
    run = subprocess.run([sys.executable, "-S", "-c", code, "--spec", "rotation", "--n", "1", "--size", "64",
                          "--samples", "4", "--out", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith(str(target)) and "accepted 1 pairs" in run.stdout
    assert (out / "manifest.jsonl").is_file() and str(target) in (out / "run.json").read_text()
    unknown = subprocess.run([sys.executable, "-S", "-c", code, "--spec", "spin", "--n", "2", "--dry-run",
                              "--out", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert unknown.returncode == 2 and "built-in: attribute, aurora_compat, count, location, mixed, rotation, stack" in unknown.stderr
