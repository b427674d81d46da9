"""Which file of a duplicate group to keep: the policy shared by the report and ``imagetwins remove``.

Default order: highest resolution, then largest file (least compressed), then oldest modification
time, then path. ``keep_in`` folders win first: "keep what is in my master folder".
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image


@dataclass(frozen=True)
class FileInfo:
    """What a person weighs when choosing between copies."""

    path: str
    width: int
    height: int
    size: int
    mtime: float

    @property
    def pixels(self) -> int:
        return self.width * self.height


def file_info(path: str | os.PathLike) -> FileInfo:
    """Size on disk, modification time and pixel size (from the header; 0x0 if unreadable)."""
    st = os.stat(path)
    try:
        with Image.open(path) as im:
            w, h = im.size
    except Exception:  # a file we could hash but not re-open (vanished, changed): rank it last
        w, h = 0, 0
    return FileInfo(str(path), w, h, st.st_size, st.st_mtime)


def _inside(path: str, folders: Sequence[str | os.PathLike]) -> bool:
    real = Path(path).resolve()
    return any(real.is_relative_to(Path(f).resolve()) for f in folders)


def choose_keeper(infos: Sequence[FileInfo], keep_in: Sequence[str | os.PathLike] = ()) -> FileInfo:
    """The file to keep from one group (see module docstring for the order)."""
    if not infos:
        raise ValueError("an empty group has nothing to keep")
    return min(infos, key=lambda f: (not _inside(f.path, keep_in) if keep_in else False,
                                     -f.pixels, -f.size, f.mtime, f.path))
