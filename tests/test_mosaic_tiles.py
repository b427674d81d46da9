"""A tile of a mosaic is no picture on a canvas (`copies.verify_records`, `verify.scene_around_cut`).

The home library (`benchmarks/home_library.py`, `bench_home.py`'s photos) at 1,000 photos holds two mosaics that
share a tile of one ukbench photo (a bathroom scale on a white floor, cropped twice, one of the crops mirrored):
IMG_000063 and IMG_000657. The canvas finder (`imagetwins.canvas`) took the scale in the first for a picture on a
canvas (the floor and the other tiles' flat parts the canvas), and the picture cut out of it lies whole in the second
mosaic: `copies` called the two copies at 0.977, and `remove --apply` would have moved a distinct photo to the
quarantine. Around the cut, the first mosaic shows three other photos where the second shows its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagetwins import copies, edits, verify
from imagetwins.encoders import get_encoder
from imagetwins.scores import Verdict

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import home_library  # noqa: E402  (the home library's own pictures: each depends on its number and its grain)

pytestmark = pytest.mark.integration


def test_two_mosaics_sharing_a_tile_of_one_photo_are_no_copies(tmp_path: Path, datasets: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # the library's grain tiles come from Pillow's noise, which follows the process's C rand(): drawn here from a seed,
    # so that the pictures are the same in any process (the canvas finder's cut and the check depend on the grain: of
    # seeds 0-25 this one gives the library's false copy, 0.975 before; of Pillow's first four tiles in a process, 2)
    rng = np.random.default_rng(20)
    monkeypatch.setattr(home_library, "_GRAIN", {
        level: Image.fromarray(np.clip(rng.normal(128, level, (509, 509)), 0, 255).astype(np.uint8)).convert("RGB")
        for level in range(1, 6)})
    paths = home_library.make_library(tmp_path, 1, start=63) + home_library.make_library(tmp_path, 1, start=657)
    assert [p.name for p in paths] == ["IMG_000063.jpg", "IMG_000657.jpg"]
    encoded = get_encoder(copies.COPIES_METHOD).encode_files([str(p) for p in paths], warn=False)
    first, second = encoded.encodings
    assert first.alt_features is not None  # (the scale cut out of the first mosaic: the case this test is about)
    cut = verify.verify_pair(first.alt_features, second.features)
    assert cut.verdict() is Verdict.COPY  # the cut scale alone lies in the second mosaic ...
    v = copies.verify_records(first, second)
    assert v.verdict() is not Verdict.COPY, v  # ... but the mosaics are no copies (0.977 before)
    assert v.cut_from_canvas == (False, False)
    assert copies.verify_records(second, first).confidence == v.confidence
    whole = verify.verify_pair(first.features, second.features)
    assert whole.verdict() is not Verdict.COPY
    assert verify.scene_around_cut(first.features, first.alt_features, second.features, cut, whole)


def test_a_screenshot_of_a_crop_is_still_a_copy_of_its_photo(tmp_path: Path, datasets: Path) -> None:
    """The cut's own file shows nothing of its own around it (a screen's bars, flat): the picture cut from the
    screenshot, a crop of the photo, is its copy, though the photo shows more scene around it."""
    photo = Image.open(datasets / "photos-public" / "images" / "bsds_376043.jpg").convert("RGB")
    rng = np.random.default_rng(0)
    shot = edits.screenshot(edits.crop_half(photo, rng), rng)
    photo.save(tmp_path / "photo.png")
    shot.save(tmp_path / "shot.png")
    encoded = get_encoder(copies.COPIES_METHOD).encode_files([str(tmp_path / "shot.png"), str(tmp_path / "photo.png")],
                                                             warn=False)
    a, b = encoded.encodings
    v = copies.verify_records(a, b)
    assert v.verdict() is Verdict.COPY and v.cut_from_canvas == (True, False), v
    assert v.frame_cover_b < 0.9  # (the photo reaches beyond the cut: the rule was looked at)
    assert not verify.scene_around_cut(a.features, a.alt_features, b.features, v)
