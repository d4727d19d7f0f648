"""Images written the project's way: encoded in memory, then put in place with the one atomic
write (`simedit.render.common.atomic`), so a crash never leaves a half PNG that a reader would
take for a finished one."""
from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image

from simedit.render.common.atomic import atomic_write
from simedit.render.common.errors import SimEditError


def encode(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def save_image(img: Image.Image, path: str | os.PathLike, *, mkdir: bool = False) -> Path:
    """Write `img` to `path` atomically, in the format its extension names (".png", ".jpg"...)."""
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:  # PIL infers the format from a file name, but not when saving to memory
        raise SimEditError(f"unknown image file extension {path.suffix!r}", file=str(path))
    return atomic_write(path, encode(img, fmt), mkdir=mkdir)
