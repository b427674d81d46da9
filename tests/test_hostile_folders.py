"""Folder-level duplicates on hostile ground, found by attacking them on real photos: a folder of hundreds of
identical images, and a copy of it, is compared without listing every pair of identical files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from imagetwins.finder import find_duplicate_groups
from imagetwins.folders import find_duplicate_folders
from imagetwins.results import FindResult

pytestmark = pytest.mark.integration


def test_thousands_of_identical_images_are_not_paired_one_by_one(tmp_path: Path, datasets: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """400 byte-identical copies of one photo in A and 400 in B, plus a distinct photo each: A and B hold the same
    pictures. Every pair of identical files was listed into sets (6,000 files: 18 million pairs, 4.5 GB, 2 CPU
    minutes); the folders are now compared by classes of identical files, and the answer is the same."""
    lib = tmp_path / "lib"
    for sub in ("A", "B"):
        (lib / sub).mkdir(parents=True)
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    with Image.open(photos[50]) as im:
        im.thumbnail((128, 128))
        im.save(lib / "A" / "x0.jpg", quality=85)
    for i in range(1, 400):
        shutil.copy(lib / "A" / "x0.jpg", lib / "A" / f"x{i}.jpg")
    for i in range(400):
        shutil.copy(lib / "A" / "x0.jpg", lib / "B" / f"y{i}.jpg")
    shutil.copy(photos[51], lib / "A" / "other.jpg")
    shutil.copy(photos[51], lib / "B" / "other.jpg")
    result = find_duplicate_groups(lib, "phash", threshold=0, recursive=True)
    assert result.same_as is not None  # the identical files share one encoding

    def every_pair(self, chunk=1 << 16):
        raise AssertionError("every pair of identical files listed")

    monkeypatch.setattr(FindResult, "iter_pairs", every_pair)
    (pair,) = find_duplicate_folders(result, lib)
    assert (pair.images, pair.copied, pair.byte_identical, pair.identical) == (401, 401, 401, True)
    assert {pair.redundant, pair.copy_of} == {"A", "B"}
    for f, (_, copy, _) in pair.files.items():  # each copy in the other folder, the same picture
        assert copy.split("/")[0] == pair.copy_of and (Path(f).name == "other.jpg") == (Path(copy).name == "other.jpg")
