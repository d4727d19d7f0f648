"""The one atomic write: an interrupted write leaves the old file whole and no temporary behind."""
from __future__ import annotations

import errno
from pathlib import Path

import pytest

from simedit.render.common import atomic
from simedit.render.common.errors import SimEditError


def half_then(exc: BaseException):
    def write(path: Path, data: bytes) -> None:
        with open(path, "wb") as f:
            f.write(bytes(data)[: len(data) // 2])
        raise exc
    return write


@pytest.mark.parametrize("exc, raised", [
    (OSError(errno.ENOSPC, "No space left on device"), SimEditError),
    (OSError(errno.EIO, "I/O error"), OSError),
    (KeyboardInterrupt(), KeyboardInterrupt),
])
def test_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch, exc, raised):
    path = tmp_path / "manifest.jsonl"
    path.write_text("old line\n")
    monkeypatch.setattr(atomic, "write_synced", half_then(exc))
    with pytest.raises(raised) as e:
        atomic.atomic_write(path, "new content that never fully lands\n")
    assert path.read_text() == "old line\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.jsonl"]
    if raised is SimEditError:
        assert "disk full" in str(e.value) and str(path) in str(e.value)


def test_streamed_write_replaces_only_on_success(tmp_path):
    path = tmp_path / "plans.jsonl"
    path.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic.atomic_file(path) as f:
            f.write(b"half of the ")
            raise RuntimeError("planner crashed")
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["plans.jsonl"]
    with atomic.atomic_file(path) as f:
        f.write(b"new\n")
    assert path.read_text() == "new\n" and [p.name for p in tmp_path.iterdir()] == ["plans.jsonl"]


def test_write_creates_the_folder_only_when_asked(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic.atomic_write(tmp_path / "a" / "b.txt", "x")
    assert atomic.atomic_write(tmp_path / "a" / "b.txt", "x", mkdir=True).read_text() == "x"
