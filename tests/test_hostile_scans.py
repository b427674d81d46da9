"""An attack pass on what a scan leaves out (docs/reliability.md, "Hostile ground"): the mark of a folder imagetwins
wrote, planted in a folder of photos."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import synthetic_photo

import imagetwins
from imagetwins.io import OUTPUT_MARKER, find_images
from imagetwins.writing import Written, record_written

pytestmark = pytest.mark.unit


def test_a_planted_output_mark_hides_no_photo_from_a_check(tmp_path: Path) -> None:
    """A scan leaves out the review page's thumbnails: the folder imagetwins wrote them into holds its mark
    (``.imagetwins-output``). Every folder holding a file of that name was left out whole, without a word: an empty
    file of that name dropped into a class folder of a test set (by anyone who can write there) made ``check test
    --against train -r`` pass with three test images that are training images. Now only the files the mark records
    (name, inode and size: the thumbnails written there) are left out."""
    train, test = tmp_path / "train", tmp_path / "test"
    for folder in (train, test / "cat", test / "dog"):
        folder.mkdir(parents=True)
    for k in range(3):
        picture = synthetic_photo(160, 120, k)
        picture.save(train / f"t{k}.jpg", quality=95)
        picture.save(test / "cat" / f"leak{k}.jpg", quality=80)
        synthetic_photo(160, 120, 50 + k).save(test / "dog" / f"d{k}.jpg", quality=90)
    (test / "cat" / OUTPUT_MARKER).touch()
    found = imagetwins.check(test, train, method="phash", recursive=True, cache=False)
    assert sorted(Path(p).name for p in found.leaks) == ["leak0.jpg", "leak1.jpg", "leak2.jpg"]
    assert not found.passed

    # a mark that records a file (the thumbnail a page wrote there) leaves out that file alone, as it is
    thumbs = tmp_path / "review_files"
    thumbs.mkdir()
    synthetic_photo(64, 48, 1).save(thumbs / "0123.jpg")
    synthetic_photo(64, 48, 2).save(thumbs / "mine.jpg")
    st = (thumbs / "0123.jpg").stat()
    fd = os.open(thumbs, os.O_RDONLY)
    try:
        record_written(fd, {"0123.jpg": Written(st.st_ino, st.st_size)}, "review.html")
    finally:
        os.close(fd)
    assert [p.name for p in find_images(tmp_path, recursive=True) if p.parent == thumbs] == ["mine.jpg"]


def test_a_quarantine_or_output_mark_another_user_planted_hides_nothing(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A scan leaves out imagetwins' quarantines (a folder named ``*.imagetwins-quarantine``, or holding
    ``manifest.jsonl`` and ``manifest.key``) and the thumbnails an output folder's mark records. Another user who can
    write into a shared folder (a test set's class folders) planted either, and the images there were left out of
    ``find`` and ``check`` without a word. Now only a quarantine or mark of this user's own counts (a run as root
    takes any user's)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("making a file another user's takes root")
    me, other = 4242, 65534
    test = tmp_path / "test"
    planted = {"cat": test / "cat", "named": test / "cat.imagetwins-quarantine", "thumbs": test / "dog"}
    for folder in (*planted.values(), test / "mine.imagetwins-quarantine"):
        folder.mkdir(parents=True)
        synthetic_photo(96, 72, len(folder.name)).save(folder / "image.jpg")
    for name in ("manifest.jsonl", "manifest.key"):
        (planted["cat"] / name).touch()
    st = (planted["thumbs"] / "image.jpg").stat()
    fd = os.open(planted["thumbs"], os.O_RDONLY)
    try:
        record_written(fd, {"image.jpg": Written(st.st_ino, st.st_size)}, "review.html")
    finally:
        os.close(fd)
    for path in (planted["cat"], planted["cat"] / "manifest.key", planted["named"],
                 planted["thumbs"] / OUTPUT_MARKER):
        os.chown(path, other, -1)
    os.chown(test / "mine.imagetwins-quarantine", me, -1)
    monkeypatch.setattr(os, "geteuid", lambda: me)
    found = sorted(p.parent.name for p in find_images(test, recursive=True))
    assert found == ["cat", "cat.imagetwins-quarantine", "dog"]  # (the quarantine of this user's stays out)


def test_the_files_a_scan_reads_at_once_hold_no_more_than_the_read_budget(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A file is read whole (up to 512 MB) and kept until it is decoded. Each decoding thread held its own: a folder
    of 500 MB scans, or of sparse files named ``.jpg`` (read as zeros in a blink), took 500 MB a thread, 8 GB on 16
    cores, whatever the decoding budget said. Now the bytes read at once are held in one budget the threads share
    (here made 80 MB: two threads never hold two 60 MB files at once)."""
    import tracemalloc

    from imagetwins import io
    from imagetwins.encoders import get_encoder
    from imagetwins.encoding import encode_files

    folder = tmp_path / "scans"
    folder.mkdir()
    for k in range(4):
        with open(folder / f"scan{k}.jpg", "wb") as fh:
            fh.truncate(60 << 20)
    monkeypatch.setattr(io, "READ_BUDGET", io.DecodeBudget(80 << 20), raising=False)
    tracemalloc.start()
    try:
        out = encode_files(sorted(folder.iterdir()), [get_encoder("phash")], workers=2, warn=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(out.failures) == 4  # (zeros: no image)
    assert peak < 100 << 20, f"{peak / 2**20:.0f} MB held at once"
