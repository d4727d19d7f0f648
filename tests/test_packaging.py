"""What can be checked without a Docker engine: the image and CI install the way the README says."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_install() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r'pip install (-e "\.\[train,test\]" torch==2\.13\.0)', text)
    assert match, "README's first command must install the project"
    return match.group(1)


def test_dockerfile_installs_like_the_readme():
    docker = (ROOT / "docker" / "Dockerfile").read_text()
    assert f"pip install --no-cache-dir {readme_install()}" in docker
    assert re.search(r"^FROM python:3\.11", docker, re.M)


def test_ci_installs_like_the_readme_and_runs_its_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"pip install {readme_install()}" in ci
    assert "python -m pytest -q" in ci and "python -m pytest -q" in (ROOT / "README.md").read_text()


def test_torch_is_pinned_everywhere_it_is_installed():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"torch==2.13.0"' in pyproject
