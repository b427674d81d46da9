"""Keep rules for copies a photo library is full of (measured in benchmarks/bench_keeper.py): a HEIC original beside
its JPEG export, a messenger's re-encode at the same size, a phone screenshot of the photo. Each test fails when its
rule is taken out (checked; the stripped HEIC export is decided by the capture date already), and before them 0-33 %,
71 % and 14 % of such groups kept the original on a development sample."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from imagetwins.keep import decide_groups

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_keeper import make_group  # noqa: E402  (the benchmark's own copies: one definition of each kind)

pytestmark = pytest.mark.integration


def _kept(original: Path, copy: Path, rule: str = "original") -> bool:
    return decide_groups([[str(original), str(copy)]], rule=rule, workers=1)[0].keeper == str(original)


@pytest.fixture
def rng():
    import random

    return random.Random(5)


@pytest.mark.parametrize("kind", ["HEIC original -> JPEG", "HEIC original -> JPEG, stripped"])
def test_a_heic_original_beats_its_jpeg_export(tmp_path: Path, datasets: Path, rng, kind: str) -> None:
    pytest.importorskip("pillow_heif")
    phone = datasets / "camera-photos/images/mei__Apple_iPhone_5.jpg"
    small = tmp_path / "phone.jpg"
    with Image.open(phone) as im:  # (a quarter of the size, the phone's EXIF kept: the test stays quick)
        im.reduce(4).save(small, quality=92, exif=im.info["exif"])
    for n in range(3):
        folder = tmp_path / f"{n}"
        folder.mkdir()
        original, copy = make_group(small, kind, folder, rng)
        assert original.suffix == ".heic" and os.path.getsize(original) < os.path.getsize(copy)
        assert _kept(original, copy)
        assert not _kept(original, copy, rule="largest")  # (what Immich keeps)


def test_a_messenger_re_encode_of_the_same_size_loses_to_the_original(tmp_path: Path, datasets: Path, rng) -> None:
    for n, photo in enumerate(sorted((datasets / "photos-public/images").glob("*.jpg"))[10:16]):
        folder = tmp_path / f"{n}"
        folder.mkdir()
        original, copy = make_group(photo, "messenger", folder, rng)
        with Image.open(original) as a, Image.open(copy) as b:
            assert a.size == b.size  # (small photos: the messenger does not shrink them, it re-encodes)
        assert _kept(original, copy)


def test_a_phone_screenshot_of_a_photo_is_not_kept(tmp_path: Path, datasets: Path, rng) -> None:
    for n, photo in enumerate(sorted((datasets / "photos-public/images").glob("*.jpg"))[10:16]):
        folder = tmp_path / f"{n}"
        folder.mkdir()
        original, copy = make_group(photo, "screenshot", folder, rng)
        with Image.open(original) as a, Image.open(copy) as b:
            assert b.width * b.height > 10 * a.width * a.height  # far more pixels, no more picture
        assert _kept(original, copy)


def test_a_real_border_with_a_caption_still_counts_and_a_photo_without_one_is_untouched(tmp_path: Path,
                                                                                        datasets: Path) -> None:
    from imagetwins.facts import border_of

    with Image.open(sorted((datasets / "photos-public/images").glob("*.jpg"))[12]) as im:
        photo = ImageOps.exif_transpose(im).convert("RGB")
    share, aspect = border_of(photo)
    assert share < 0.05  # a photo's own edge is no border
    from bench_keeper import _screenshot

    shot = _screenshot(photo)
    share, aspect = border_of(shot)
    assert share > 0.5 and abs(aspect / (photo.width / photo.height) - 1) < 0.03


def test_a_cut_out_png_beats_its_jpeg_on_white(tmp_path: Path, datasets: Path, rng) -> None:
    # a product on a transparent ground and that picture flattened on white (the benchmark's cut-out kind): the
    # alpha is what the JPEG lacks, so the PNG is no re-save of it
    for n, photo in enumerate(sorted((datasets / "ukbench-600/images").glob("*.jpg"))[:16:4]):
        folder = tmp_path / f"{n}"
        folder.mkdir()
        original, copy = make_group(photo, "cut-out PNG (alpha) -> JPEG on white", folder, rng)
        assert original.suffix == ".png" and copy.suffix == ".jpg"
        assert _kept(original, copy)


@pytest.mark.parametrize("copy_name", ["{stem} copy.jpg", "{stem} (1).jpg", "Copy of {stem}.jpg"])
def test_a_finer_re_save_named_as_a_copy_loses_to_the_original(tmp_path: Path, datasets: Path,
                                                              copy_name: str) -> None:
    # a web photo (no camera EXIF: no camera_written rule) re-saved finer by a person, under the name a file manager
    # gives a copy, beside the file it was made from, both made in one minute: the name says which came first, the
    # finer quantisation only that more bytes were spent (a re-encode adds none of the picture). Kept the copy before.
    for photo in sorted((datasets / "photos-public/images").glob("*.jpg"))[20:23]:
        folder = tmp_path / photo.stem
        folder.mkdir()
        original = folder / photo.name
        original.write_bytes(photo.read_bytes())
        copy = folder / copy_name.format(stem=photo.stem)
        with Image.open(original) as im:
            im.save(copy, quality=97, exif=im.info.get("exif", b""))
        os.utime(copy, (os.path.getmtime(original),) * 2)
        assert _kept(original, copy)
