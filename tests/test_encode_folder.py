"""``imagetwins.encode`` of a folder encodes its images, as ``find`` finds them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import imagetwins

pytestmark = pytest.mark.integration


def test_encode_a_folder_encodes_its_images(tmp_path: Path, datasets: Path) -> None:
    """A folder given to encode was taken for one file: no encodings, the folder 'unreadable'."""
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:3]
    for p in photos[:2]:
        shutil.copyfile(p, tmp_path / p.name)
    (tmp_path / "sub").mkdir()
    shutil.copyfile(photos[2], tmp_path / "sub" / photos[2].name)
    (tmp_path / "notes.txt").write_text("not an image")
    flat = imagetwins.encode(tmp_path, "phash")
    assert sorted(Path(p).name for p in flat.paths) == sorted(p.name for p in photos[:2])
    assert not flat.failures
    walked = imagetwins.encode(str(tmp_path), "phash", recursive=True)
    assert sorted(Path(p).name for p in walked.paths) == sorted(p.name for p in photos)
    one = imagetwins.encode(tmp_path / photos[0].name, "phash")
    assert one.encodings.shape[0] == 1 and (one.encodings[0] == flat.encodings[flat.paths.index(one.paths[0])]).all()
