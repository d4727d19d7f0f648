"""Session fixtures: the reference runs several test files compare against or read
(reference_runs.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from reference_runs import COUNT, MIXED, render_reference


@pytest.fixture(scope="session")
def mixed_run(tmp_path_factory) -> Path:
    """`render --spec mixed --n 3 --size 64 --samples 4 --workers 2`, one uninterrupted run."""
    return render_reference(tmp_path_factory.mktemp("mixed") / "run", [*MIXED, "--workers", "2"])


@pytest.fixture(scope="session")
def count_run(tmp_path_factory) -> Path:
    """`render --spec count --n 3 --size 64 --samples 4`, one uninterrupted run."""
    return render_reference(tmp_path_factory.mktemp("count") / "run", COUNT)
