"""Read a text file the project's way: UTF-8 (a byte-order mark, as Excel writes, is accepted),
and a file that is not UTF-8 is one user-error line naming the file and the byte offset."""
from __future__ import annotations

from pathlib import Path

from simedit.render.common.errors import SimEditError


def read_text(path: Path, what: str, error: type[SimEditError] = SimEditError) -> str:
    """The file's text; `what` names it in errors ("spec", "catalog", "CSV")."""
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise error(f"cannot read {what}: it is a folder", file=str(path)) from None
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror or exc}", file=str(path)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text: byte {exc.start} is 0x{data[exc.start]:02x}; save the {what} as UTF-8",
                    file=str(path)) from None
