"""A plain crop of a real photo is a copy, however few keypoints it shares with the photo; a re-shot stays none.

A crop keeping 60 % of each side, opened at 320 px as the features are, shows the photo's detail 1.7 times larger:
the crop's keypoints are finer detail than any of the photo's, their descriptors unlike, and the keypoints' fit finds
too few inliers, or a wrong transform (``benchmarks/bench_plain_crops.py``). A photo with few keypoints at all
(Canon PowerShot A80: bubbles in a blue sky, 64 keypoints) or repeated ones (A85: a glass tower's windows) lost
centre crops keeping 70 % or 60 % of each side. Where the keypoints' fit finds no copy on few inliers, the two
thumbnails are aligned by their pixels (``verify._pixel_alignment``); the re-shots that alignment could take for a
crop (a moon in a night sky shot twice; a band of sky a canvas finder cut from a re-shot whose climber moved) stay
no copies.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from copy_checks import checked
from PIL import Image, ImageOps

from imagetwins import verify

pytestmark = pytest.mark.integration

#: (photo, % of each side kept, where): missed before the pixel alignment (confidence 0 to 0.54). Not here: A85's
#: centre crop keeping 50 %, still missed (the quick look turns it away, and the pixels are aligned only after it)
CROPS = (("mei__Canon_PowerShot_A80.jpg", 70, "centre"), ("mei__Canon_PowerShot_A80.jpg", 60, "centre"),
         ("mei__Canon_PowerShot_A80.jpg", 50, "centre"), ("mei__Canon_PowerShot_A80.jpg", 60, "top left"),
         ("mei__Canon_PowerShot_A85.jpg", 60, "centre"))


def _crop(img: Image.Image, side: int, where: str) -> Image.Image:
    w, h = img.size
    cw, ch = round(w * side / 100), round(h * side / 100)
    left, top = ((w - cw) // 2, (h - ch) // 2) if where == "centre" else (0, 0)
    return img.crop((left, top, left + cw, top + ch))


def test_centre_crops_of_flat_and_repetitive_camera_photos_are_copies(tmp_path: Path, datasets: Path) -> None:
    files, pairs, names = [], [], []
    for k, (name, side, where) in enumerate(CROPS):
        img = ImageOps.exif_transpose(Image.open(datasets / "camera-photos" / "images" / name)).convert("RGB")
        original, crop = tmp_path / f"{k}.jpg", tmp_path / f"{k}_crop.jpg"
        img.save(original, quality=95)
        _crop(img, side, where).save(crop, quality=90)
        files += [original, crop]
        pairs.append((len(files) - 2, len(files) - 1))
        names.append(f"{name} {side} % {where}")
    score, found = checked(files, pairs)
    missed = [f"{name}: {s:.3f}" for name, s, f in zip(names, score, found) if not f]
    assert not missed, missed


@pytest.mark.parametrize("pair", [("127400.jpg", "127401.jpg"), ("127200.jpg", "127201.jpg")])
def test_reshots_the_pixels_could_align_as_a_crop_stay_no_copy(datasets: Path, pair: tuple[str, str]) -> None:
    """The moon in a night sky shot twice (one blob: it aligns at any scale near its own) and two shots of a climber
    under a rock arch (the band of sky a canvas finder cuts from one aligns inside the other, the climber moved):
    each was called a copy (0.977, 0.978) by a pixel alignment without the one-scale and no-overlay rules."""
    folder = datasets / "holidays-half" / "images"
    score, found = checked([folder / pair[0], folder / pair[1]], [(0, 1)])
    assert not found.any(), score


def test_a_crop_is_aligned_by_its_pixels_at_its_scale_and_place(tmp_path: Path, datasets: Path) -> None:
    """The alignment itself: a corner crop keeping 55 % of each side of a camera photo is placed where it was cut,
    at its scale, to within a pixel of the feature frame."""
    img = ImageOps.exif_transpose(Image.open(datasets / "camera-photos" / "images" / "mei__Kodak_DC3400.jpg"))
    img = img.convert("RGB")
    w, h = img.size
    cw, ch = round(w * 0.55), round(h * 0.55)
    crop = img.crop((w - cw, h - ch, w, h))
    a, b = verify.extract(img), verify.extract(crop)
    matrix = verify._pixel_alignment(b, a)
    assert matrix is not None
    corners = np.array([[0, 0], [b.size[0] - 1, b.size[1] - 1]], np.float64)
    placed = corners @ matrix[:, :2].T + matrix[:, 2]
    expected = np.array([[(w - cw) / w * a.size[0], (h - ch) / h * a.size[1]], [a.size[0] - 1, a.size[1] - 1]])
    assert np.abs(placed - expected).max() < 1.5, placed
