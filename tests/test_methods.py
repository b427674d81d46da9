"""imagededup-compatible facade: same results, shapes, validation and files as imagededup 0.3."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from imagetwins.methods import AHash, DHash, PHash, WHash

pytestmark = pytest.mark.integration

METHODS = {"phash": PHash, "ahash": AHash, "dhash": DHash, "whash": WHash}


@pytest.mark.parametrize("name", sorted(METHODS))
@pytest.mark.parametrize("folder", ["imagededup-testdata/mixed_images", "ukbench-600/images"])
def test_find_duplicates_like_imagededup(datasets: Path, imagededup_reference: dict, name: str, folder: str):
    ref = imagededup_reference["find_duplicates"][name][folder]
    got = METHODS[name](verbose=False).find_duplicates(image_dir=datasets / folder, scores=True)
    assert set(got) == set(ref)
    # ukbench-600 holds 20 sideways (EXIF-rotated) photos that imagededup hashes unrotated: allow
    # their matches to differ, and nothing else.
    rotated = {k for k in ref if k.startswith("ukbench005") and 552 <= int(k[7:12]) <= 599}
    for key in ref:
        if key in rotated:
            continue
        want = [(n, d) for n, d in ref[key] if n not in rotated]
        have = [(n, d) for n, d in got[key] if n not in rotated]
        assert sorted(have) == sorted(want), key
        assert [d for _, d in have] == sorted(d for _, d in have)  # closest first


@pytest.mark.parametrize("name", sorted(METHODS))
def test_find_duplicates_to_remove_like_imagededup(datasets: Path, imagededup_reference: dict, name: str):
    folder = "imagededup-testdata/mixed_images"
    got = METHODS[name](verbose=False).find_duplicates_to_remove(image_dir=datasets / folder)
    assert sorted(got) == imagededup_reference["to_remove"][name][folder]


def test_encode_images_and_find_with_encoding_map(datasets: Path, tmp_path: Path) -> None:
    ph = PHash(verbose=False)
    with pytest.warns(UserWarning, match="ukbench09268_corrupt.jpg"):
        enc = ph.encode_images(datasets / "imagededup-testdata/mixed_images")
    assert "ukbench09268_corrupt.jpg" not in enc and len(enc) == 5
    assert all(isinstance(v, str) and len(v) == 16 for v in enc.values())
    out = tmp_path / "res.json"
    with warnings.catch_warnings():  # num_enc_workers not set: no warning about it
        warnings.simplefilter("error", RuntimeWarning)
        res = ph.find_duplicates(encoding_map=enc, max_distance_threshold=12, scores=True, outfile=str(out))
    assert res["ukbench00120.jpg"] == [("ukbench00120_resize.jpg", 2)]
    assert json.loads(out.read_text())["ukbench00120.jpg"] == [["ukbench00120_resize.jpg", 2]]
    rm = tmp_path / "rm.json"
    with warnings.catch_warnings():  # num_enc_workers not set: no warning about it
        warnings.simplefilter("error", RuntimeWarning)
        to_remove = ph.find_duplicates_to_remove(encoding_map=enc, outfile=str(rm))
    assert to_remove == ["ukbench00120_resize.jpg"] and json.loads(rm.read_text()) == to_remove


def test_recursive_names_are_relative_paths(datasets: Path) -> None:
    enc = PHash(verbose=False).encode_images(datasets / "imagededup-testdata/mixed_nested_images", recursive=True)
    assert "lvl1/lvl2b/ukbench09268.jpg" in enc
    flat = PHash(verbose=False).encode_images(datasets / "imagededup-testdata/mixed_nested_images")
    assert all("/" not in k for k in flat)


def test_encode_image_from_file_and_array_agree(datasets: Path) -> None:
    from PIL import Image

    f = datasets / "imagededup-testdata/base_images/ukbench00120.jpg"
    for cls in METHODS.values():
        enc = cls(verbose=False)
        arr = np.asarray(Image.open(f).convert("RGB"))
        assert enc.encode_image(image_file=f) == enc.encode_image(image_array=arr)
        assert enc.encode_image(image_file=str(f)) == enc.encode_image(image_array=arr)
    grey = np.asarray(Image.open(f).convert("L"))
    assert len(PHash().encode_image(image_array=grey)) == 16


def test_validation_errors_match_imagededup(datasets: Path) -> None:
    ph = PHash(verbose=False)
    with pytest.raises(ValueError, match="Please provide either image file path or image array!"):
        ph.encode_image()
    with pytest.raises(ValueError, match="Please provide either image file path or image array!"):
        ph.encode_image(image_file="does/not/exist.jpg")
    with pytest.raises(AssertionError):  # imagededup asserts three channels
        ph.encode_image(image_array=np.zeros((10, 10, 4), np.uint8))
    with pytest.raises(ValueError, match=r"shape \(10,\)"):  # imagededup: ValueError too
        ph.encode_image(image_array=np.zeros((10,), np.uint8))
    with pytest.raises(ValueError, match="Please provide a valid directory path!"):
        ph.encode_images("does/not/exist")
    with pytest.raises(TypeError, match="Threshold must be an int"):
        ph.find_duplicates(image_dir=datasets, max_distance_threshold=2.0)
    with pytest.raises(ValueError, match="Threshold must be an int"):
        ph.find_duplicates(image_dir=datasets, max_distance_threshold=65)
    with pytest.raises(ValueError, match="Provide either an image directory or encodings!"):
        ph.find_duplicates()


def test_hamming_distance_and_corrupt_file_returns_none(datasets: Path) -> None:
    assert PHash.hamming_distance("9fee256239984d71", "9fee25623d980d71") == 2
    with pytest.warns(UserWarning, match="skipped"):
        assert PHash().encode_image(datasets / "imagededup-testdata/mixed_images/ukbench09268_corrupt.jpg") is None


def test_num_enc_workers_is_warned_about_only_when_set(datasets: Path) -> None:
    """The README's find_duplicates(encoding_map=...) printed a RuntimeWarning about a parameter never passed."""
    ph = PHash(verbose=False)
    enc = ph.encode_images(datasets / "photos-public" / "images")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ph.find_duplicates(encoding_map=enc, max_distance_threshold=10, scores=True)
    with pytest.warns(RuntimeWarning, match="num_enc_workers"):
        ph.find_duplicates(encoding_map=enc, num_enc_workers=2)


def test_a_skipped_file_is_one_clean_line_that_leaves_the_progress_bar_whole(datasets: Path, tmp_path: Path) -> None:
    """The Python API printed a skipped file as Python's two-line warning, pointing at an internal line
    ('hashing.py:149: UserWarning: skipped ...corrupt.jpg ...' then '  result = _hashing.hash_files('), written into
    the middle of the running progress bar. Now: one line, the file and the reason, on a line of its own (the bar is
    cleared first and drawn again after), and a category of its own that a caller can filter."""
    import re
    import shutil
    import subprocess
    import sys

    from imagetwins.io import SkippedFileWarning

    folder = tmp_path / "imgs"
    folder.mkdir()
    mixed = datasets / "imagededup-testdata/mixed_images"
    for p in sorted(mixed.iterdir()):
        shutil.copy(p, folder / p.name)
    code = ("from imagetwins.methods import PHash\n"
            f"PHash(verbose=True).encode_images({str(folder)!r})\n")
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300).stderr
    segments = [s for s in err.replace("\r", "\n").split("\n") if "corrupt" in s or "hash_files" in s]
    assert len(segments) == 1, err
    assert segments[0].startswith("<imagetwins>") and "SkippedFileWarning: skipped " in segments[0], err
    assert re.search(r"skipped \S*ukbench09268_corrupt\.jpg: \w", segments[0]), err  # the file, then the reason
    assert "hashing.py" not in err and "result =" not in err, err
    with pytest.warns(SkippedFileWarning, match="ukbench09268_corrupt.jpg"):
        PHash(verbose=False).encode_images(folder)
