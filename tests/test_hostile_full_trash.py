"""A full disk while a name is reserved in the trash leaves no record there.

``TrashFolder.reserve`` creates ``info/NAME.trashinfo`` (``O_EXCL``) and then writes the original's path into it;
on a full disk that write failed and the empty record stayed: every file of a ``remove --to-trash`` on a full
disk left a ``.trashinfo`` of no file (a trash listing shows such orphans, and the next run's names moved on)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from imagetwins.trash import TrashFolder

pytestmark = pytest.mark.unit


def _trash(tmp_path: Path) -> TrashFolder:
    folder = tmp_path / "Trash"
    for sub in ("", "files", "info"):
        (folder / sub).mkdir(mode=0o700, exist_ok=True)
    return TrashFolder(folder, None)


def test_a_record_the_full_disk_cut_short_is_taken_back(tmp_path: Path, monkeypatch) -> None:
    trash = _trash(tmp_path)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as caught:
        trash.reserve(Path("/photos/IMG_0001.JPG"))
    assert caught.value.errno == errno.ENOSPC
    assert os.listdir(trash.info) == [] and os.listdir(trash.files) == []
    monkeypatch.undo()
    dst, info = trash.reserve(Path("/photos/IMG_0001.JPG"))  # (with room again: the name itself, not "IMG_0001 1")
    assert dst.name == "IMG_0001.JPG" and info.read_bytes().startswith(b"[Trash Info]\nPath=/photos/IMG_0001.JPG\n")
