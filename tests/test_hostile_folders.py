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


def test_hundreds_of_images_with_one_hash_and_other_bytes(tmp_path: Path, datasets: Path) -> None:
    """300 copies of one photo in A and 300 in B, each with its own JPEG comment (same pixels, so one phash;
    other bytes): each file was paired with all 599 others (6,000 such files: 37 CPU s); now with two files per
    folder, and A and B are still found to hold the same pictures."""
    from imagetwins.folders import _Copies

    lib = tmp_path / "lib"
    for sub in ("A", "B"):
        (lib / sub).mkdir(parents=True)
    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[55]
    with Image.open(photo) as im:
        im.thumbnail((128, 128))
        im.save(tmp_path / "base.jpg", quality=85)
    data = (tmp_path / "base.jpg").read_bytes()
    for sub in ("A", "B"):
        for i in range(300):
            note = f"{sub}{i}".encode()
            (lib / sub / f"x{i}.jpg").write_bytes(data[:2] + b"\xff\xfe" + (len(note) + 2).to_bytes(2, "big") + note
                                                  + data[2:])
    result = find_duplicate_groups(lib, "phash", threshold=0, recursive=True)
    files = [str(Path(f).relative_to(lib)) for f in result.files]
    copies = _Copies(result, files, list(result.digests))
    assert max(len(copies[i]) for i in range(len(files))) <= 4  # two per folder at most
    (pair,) = find_duplicate_folders(result, lib)
    assert (pair.images, pair.copied, pair.byte_identical) == (300, 300, 0)
    assert {pair.redundant, pair.copy_of} == {"A", "B"}
