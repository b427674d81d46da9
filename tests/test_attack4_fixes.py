"""attack4: today's landings attacked as a user whose files are at stake (real photos)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageOps

from imagetwins import keep


@pytest.mark.integration
def test_of_two_framed_copies_the_one_holding_the_picture_larger_is_kept(datasets: Path, tmp_path: Path):
    # the original is gone; left are the photo at its size on a white frame and a 3/4 downscale on a thinner black
    # frame. The larger frame made the full-size copy a "padded copy" of the downscale (keep.padded_copies), so the
    # downscale was kept and the full-size picture moved away.
    img = Image.open(datasets / "photos-public" / "images" / "bsds_105053.jpg").convert("RGB")
    w, h = img.size
    ImageOps.expand(img, border=60, fill="white").save(tmp_path / "full_framed.jpg", quality=90)
    small = img.resize((w * 3 // 4, h * 3 // 4), Image.LANCZOS)
    ImageOps.expand(small, border=30, fill="black").save(tmp_path / "small_framed.jpg", quality=90)
    infos = [keep.file_info(str(tmp_path / n)) for n in ("full_framed.jpg", "small_framed.jpg")]
    assert keep.padded_copies(infos) == set()
    assert keep.choose_keeper(infos).path == str(tmp_path / "full_framed.jpg")
    # the same picture at the same size with a wider frame is still a padded copy
    ImageOps.expand(img, border=12, fill="black").save(tmp_path / "thin.jpg", quality=90)
    infos = [keep.file_info(str(tmp_path / n)) for n in ("full_framed.jpg", "thin.jpg")]
    assert keep.padded_copies(infos) == {str(tmp_path / "full_framed.jpg")}
