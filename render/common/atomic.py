"""The one way files are written: to a temporary name in the destination's folder, fsynced,
then `os.replace`d over the destination. A reader sees the old file or the new one, never half
of either; a failed write (a full disk, an exception) leaves the old file untouched and no
temporary behind."""
from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from simedit.render.common.errors import SimEditError

TMP_MARK = ".tmp."  # temporary files are ".<name>.tmp.<pid>": hidden, and recognisable to clean up


def tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")


def is_tmp_name(name: str) -> bool:
    return name.startswith(".") and TMP_MARK in name


def write_synced(path: Path, data: bytes | bytearray | memoryview) -> None:
    """Write `data` to `path` and fsync it (every file of the project goes through here, so a
    test can make it fail like a full disk)."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def disk_error(exc: OSError, path: Path) -> Exception:
    """A full disk is the user's problem (one line); other OS errors keep their type."""
    if exc.errno == errno.ENOSPC:
        return SimEditError(f"disk full while writing {path}", file=str(path))
    return exc


@contextmanager
def _replacing(path: Path, mkdir: bool) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it over `path` when the block succeeds,
    remove it when it fails (a full disk becomes a one-line user error)."""
    if mkdir:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise disk_error(exc, path) from None
        raise
    fsync_dir(path.parent)


def make_dir(path: str | os.PathLike) -> Path:
    """Create a folder (and its parents); a failure is one user-error line."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise disk_error(exc, path) from None
        raise SimEditError(f"cannot create the folder ({exc.strerror or exc})", file=str(path)) from None
    return path


def atomic_write(path: str | os.PathLike, data: bytes | bytearray | memoryview | str, *, mkdir: bool = False) -> Path:
    """Replace `path` with `data` atomically; returns the path. `mkdir` creates its folder."""
    path = Path(path)
    with _replacing(path, mkdir) as tmp:
        write_synced(tmp, data.encode("utf-8") if isinstance(data, str) else data)
    return path


@contextmanager
def atomic_file(path: str | os.PathLike, *, mkdir: bool = False) -> Iterator[BinaryIO]:
    """The streaming form of `atomic_write`: write into the yielded binary file; it replaces
    `path` only when the block finishes without an exception."""
    with _replacing(Path(path), mkdir) as tmp, open(tmp, "wb") as f:
        yield f
        f.flush()
        os.fsync(f.fileno())
