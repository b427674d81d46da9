"""The four classic hashes against imagededup 0.3's own output on real photos, and batch encoding."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagetwins.hashing import CLASSIC_METHODS, HASH_METHODS, from_hex, hash_files, hash_image, to_hex


@pytest.fixture(scope="module")
def encoded(datasets: Path, imagededup_reference: dict, camera_exif_rotated: set[str]):
    files = [f for f in sorted(imagededup_reference["phash"]) if f not in camera_exif_rotated]
    # imagededup ignores EXIF orientation; photos that carry a rotation tag are compared separately
    upright = []
    for f in files:
        with Image.open(datasets / f) as im:
            if im.getexif().get(0x0112, 1) in (0, 1):
                upright.append(f)
    result = hash_files([datasets / f for f in upright], methods=CLASSIC_METHODS)
    return upright, result


@pytest.mark.integration
@pytest.mark.parametrize("method", CLASSIC_METHODS)
def test_hashes_match_imagededup_on_real_photos(encoded, imagededup_reference: dict, method: str) -> None:
    files, result = encoded
    assert len(files) > 800 and len(result.paths) == len(files)
    ref = from_hex([imagededup_reference[method][f] for f in files])
    dist = np.bitwise_count(ref ^ result.hashes[method])
    within2 = (dist <= 2).mean()
    assert within2 >= 0.99, f"{method}: only {within2:.1%} within 2 bits of imagededup"


@pytest.mark.integration
def test_exif_rotated_photo_hashes_like_imagededup_on_the_upright_pixels(
    datasets: Path, imagededup_reference: dict
) -> None:
    # ukbench00552 is stored sideways with Orientation=6; imagededup hashes the stored pixels,
    # we hash the upright picture, which equals imagededup's hash of the same pixels rotated.
    f = datasets / "ukbench-600/images/ukbench00552.jpg"
    stored = np.asarray(Image.open(f).convert("RGB"))
    assert hash_image(stored) == from_hex(imagededup_reference["phash"]["ukbench-600/images/ukbench00552.jpg"])
    upright = np.rot90(stored, k=-1)  # orientation 6 = rotate 90 degrees clockwise to view
    ours = hash_files([f]).hashes["phash"][0]
    assert int(np.bitwise_count(ours ^ hash_image(np.ascontiguousarray(upright)))) <= 2


@pytest.mark.unit
def test_hex_round_trip_and_format() -> None:
    values = np.array([0, 1, 2**63, 2**64 - 1, 0x9FEE256239984D71], dtype=np.uint64)
    hexes = to_hex(values)
    assert hexes[0] == "0000000000000000" and hexes[3] == "ffffffffffffffff"
    assert all(len(h) == 16 for h in hexes)
    assert np.array_equal(from_hex(hexes), values)


@pytest.mark.integration
def test_batch_equals_one_by_one(datasets: Path) -> None:
    files = sorted((datasets / "ukbench-600" / "images").glob("*.jpg"))[:40]
    batch = hash_files(files, methods=tuple(HASH_METHODS), batch_size=7, workers=2)
    for i, f in enumerate(files):
        img = Image.open(f)
        img = img.transpose(Image.Transpose.ROTATE_270) if img.getexif().get(0x0112) == 6 else img
        for m in HASH_METHODS:
            assert np.array_equal(batch.hashes[m][i], hash_image(img.convert("RGB"), m)), (f.name, m)


@pytest.mark.integration
def test_unreadable_files_are_skipped_with_one_warning_each(tmp_path: Path, datasets: Path) -> None:
    good = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:5]
    corrupt = datasets / "imagededup-testdata/mixed_images/ukbench09268_corrupt.jpg"
    bad = [tmp_path / "empty.jpg", tmp_path / "text.png", corrupt]
    bad[0].write_bytes(b"")
    bad[1].write_text("not a picture")
    files = good[:2] + bad + good[2:]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = hash_files(files)
    assert [Path(p) for p in result.paths] == good
    assert len(result.failures) == 3
    assert sorted(f.path for f in result.failures) == sorted(str(b) for b in bad)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 3 and all(any(str(b) in m for m in messages) for b in bad)


@pytest.mark.unit
def test_hash_files_with_nothing_to_do() -> None:
    result = hash_files([], methods=("phash", "dhash"))
    assert result.paths == [] and result.hashes["dhash"].dtype == np.uint64 and len(result.hashes["phash"]) == 0


@pytest.mark.unit
def test_unknown_method_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown hash method 'md5'"):
        hash_files([], methods=("md5",))
