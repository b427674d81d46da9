"""An upscaled file is not the keeper over its source (``keep.enlarged_from``): a file beside another enlargement of
the same picture (the 1.6x copy was tested only against the 1.345x copy, itself enlarged, scored 0.25 and was kept),
and a copy enlarged 1.088x beside the JPEG its camera wrote (under the 1.4x-the-pixels gate: never tested)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from PIL import Image

import imagetwins
from imagetwins import keep
from imagetwins.keep import FileInfo


def _keeper_of(folder: Path, name: str) -> str:
    result = imagetwins.find(folder, keep="original", cache=False, decisions=False)
    return next(d.keeper for d in result.decisions if str(folder / name) in d.files)


@pytest.mark.integration
def test_an_enlargement_beside_another_enlargement_of_its_source_is_not_kept(tmp_path: Path, datasets: Path):
    im = Image.open(datasets / "photos-public" / "images" / "bsds_100075.jpg").convert("RGB")
    w, h = im.size
    im.save(tmp_path / "photo.jpg", quality=95)
    for f, q in ((1.6, 90), (1.345, 90), (0.7, 90), (0.5, 85)):
        im.resize((round(w * f), round(h * f)), Image.Resampling.LANCZOS).save(tmp_path / f"copy_{f}.jpg", quality=q)
    # (before: copy_1.6.jpg, tested against copy_1.345.jpg only)
    assert _keeper_of(tmp_path, "photo.jpg") == str(tmp_path / "photo.jpg")


@pytest.mark.integration
def test_a_slight_enlargement_of_a_cameras_own_jpeg_is_not_kept(tmp_path: Path, datasets: Path):
    shutil.copy(datasets / "camera-photos" / "images" / "mei__Kodak_DC3400.jpg", tmp_path / "photo.jpg")
    assert keep.file_info(tmp_path / "photo.jpg").camera
    with Image.open(tmp_path / "photo.jpg") as im:
        rgb = im.convert("RGB")
    rgb.resize((round(rgb.width * 1.088), round(rgb.height * 1.088)), Image.Resampling.LANCZOS).save(
        tmp_path / "listing.jpg", quality=90)  # (1.18x the pixels, no EXIF: before, kept for its pixels)
    assert _keeper_of(tmp_path, "photo.jpg") == str(tmp_path / "photo.jpg")


@pytest.mark.integration
def test_an_original_stays_the_keeper_beside_many_of_its_downscales(tmp_path: Path, datasets: Path):
    """The walk past a smaller file that may be an enlargement tests the original against more of its copies: none
    may take its place (12 copies 0.3-0.99x a side, JPEG q75-95)."""
    rng = random.Random(7)
    im = Image.open(datasets / "photos-public" / "images" / "bsds_198054.jpg").convert("RGB")
    w, h = im.size
    im.save(tmp_path / "photo.jpg", quality=95)
    for i in range(12):
        s = rng.uniform(0.3, 0.99)
        im.resize((round(w * s), round(h * s)), Image.Resampling.LANCZOS).save(
            tmp_path / f"copy_{i}.jpg", quality=rng.choice([75, 85, 90, 95]))
    assert _keeper_of(tmp_path, "photo.jpg") == str(tmp_path / "photo.jpg")


def _info(name: str, side: float, camera: bool = False) -> FileInfo:
    w, h = round(300 * side), round(200 * side)
    return FileInfo(name, w, h, w * h, 0.0, format="JPEG", camera=camera)


@pytest.mark.unit
def test_the_walk_past_enlargements_is_bounded_and_tries_a_found_source_first():
    photo, small = _info("photo", 1.0), _info("small", 0.6)
    largest = _info("largest", 2.0)
    middle = [_info(f"m{side}", side) for side in (1.6, 1.5, 1.4, 1.3, 1.2, 1.1)]
    tested: list[tuple[str, str]] = []

    def score(big: FileInfo, smaller: FileInfo) -> float:
        tested.append((big.path, smaller.path))
        if smaller is photo:
            return 0.01  # every enlargement was made from the photo
        return 0.3 if smaller.path.startswith("m") else 2.0  # (another enlargement: little detail it lacks)

    # six enlargements between the largest and the photo: tested against _ENLARGED_CHAIN of them, then given up
    assert keep.enlarged_from([photo, small, largest, *middle], score) == {}
    assert len(tested) == keep._ENLARGED_CHAIN and all(big == "largest" for big, _ in tested)
    tested.clear()
    found = keep.enlarged_from([photo, small, largest, *middle[:2]], score)
    assert found == {"largest": "photo", "m1.6": "photo", "m1.5": "photo"}
    assert tested == [("largest", "m1.6"), ("largest", "m1.5"), ("largest", "photo"), ("m1.6", "photo"),
                      ("m1.5", "photo"), ("photo", "small")]  # (the source found first tried first)
