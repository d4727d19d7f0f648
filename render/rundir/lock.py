"""The exclusive lock on a run directory (`DIR/.lock`, flock): one writer at a time, whether it
renders or plans. The holder's pid is written into the file for the error a second one gets."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from simedit.render.common.errors import SimEditError
from simedit.render.rundir.contract import LOCK


class RunLock:
    def __init__(self, root: Path):
        self.root = Path(root)
        self._fd: int | None = None
        path = self.root / LOCK
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise SimEditError(f"cannot create the lock file ({e.strerror})", file=str(path)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            finally:
                os.close(fd)
            raise SimEditError(f"another run is writing this directory (pid {pid})", file=str(self.root)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
