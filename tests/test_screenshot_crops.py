"""A phone screenshot of a photo whose bottom the screen cuts off is a copy, not a second framing.

The photo shown at the screen's width is taller than the room the screen leaves it: the screenshot holds the status
bar (the time and the icons on a bar of one colour) above the photo's top part. Its frame reaches beyond the
original's (the bar) while the original's reaches beyond its own (the part cut off), and the framing rule read "two
framings of one scene" (0.5) unless the bar counts as padding (``verify.BAR_FLAT``). Two framings of real scene, one
showing more above and less below, stay no copy.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from copy_checks import checked
from PIL import Image, ImageDraw

pytestmark = pytest.mark.integration

PHOTOS = ("photos-public/images/bsds_100075.jpg", "camera-photos/images/mei__Kodak_DC3400.jpg",
          "ukbench-600/images/ukbench00100.jpg")


def _screenshot(img: Image.Image, cut: float, dark: bool) -> Image.Image:
    """``img`` at a 1,170 px phone width under a 130 px status bar, the bottom ``cut`` of it cut off by the screen."""
    width, bar = 1170, 130
    shown = img.resize((width, round(img.height * width / img.width)), Image.Resampling.LANCZOS)
    kept = round(shown.height * (1 - cut))
    out = Image.new("RGB", (width, bar + kept), (0, 0, 0) if dark else (248, 248, 248))
    out.paste(shown.crop((0, 0, width, kept)), (0, bar))
    draw = ImageDraw.Draw(out)
    ink = (255, 255, 255) if dark else (12, 12, 12)
    draw.text((80, 40), "9:41", fill=ink, font_size=52)
    for k in range(3):  # battery, wifi, signal
        x = width - 82 * (k + 1)
        draw.rectangle((x, 43, x + 52, 86), fill=ink)
    return out


def test_a_screenshot_cutting_the_photos_bottom_is_a_copy(tmp_path: Path, datasets: Path) -> None:
    files, pairs, names = [], [], []
    for k, name in enumerate(PHOTOS):
        img = Image.open(datasets / name).convert("RGB")
        files.append(tmp_path / f"{k}.jpg")
        img.save(files[-1], quality=95)
        at = len(files) - 1
        for cut, dark in ((0.05, False), (0.15, True), (0.3, False)):
            files.append(tmp_path / f"{k}_{cut}_{int(dark)}.png")
            _screenshot(img, cut, dark).save(files[-1])
            pairs.append((at, len(files) - 1))
            names.append(f"{name} cut {cut:.0%}, dark bar {dark}")
    score, found = checked(files, pairs)
    missed = [f"{n}: {s:.3f}" for n, s, f in zip(names, score, found) if not f]
    assert not missed, missed


def test_two_framings_of_real_scene_stay_no_copy(tmp_path: Path, datasets: Path) -> None:
    """One frame showing scene above the other's and less below (a camera tilted up between two shots) is no copy:
    what lies beyond is scene, not a bar."""
    files, pairs = [], []
    for k, name in enumerate(PHOTOS):
        img = Image.open(datasets / name).convert("RGB")
        w, h = img.size
        first, second = tmp_path / f"{k}_low.jpg", tmp_path / f"{k}_high.jpg"
        img.crop((0, round(0.12 * h), w, h)).save(first, quality=90)
        img.crop((0, 0, w, round(0.85 * h))).save(second, quality=90)
        files += [first, second]
        pairs.append((2 * k, 2 * k + 1))
    score, found = checked(files, pairs)
    assert not found.any(), score



#: two framings of one photo (each frame 12-14 % beyond the other's, above and below) whose view beyond is smooth sky,
#: sky with birds or dark silhouettes: read as a fill within the fill's own spread (``verify._flat_fill``: a haze or a
#: blue sky shading a few levels across the edge, dark rocks as flat as a fill along half of the band) or as a bar with
#: marks drawn on it (``verify._marked_bar``: birds in the hazy sky), they were copies 0.98
SKY_FRAMINGS = (("holidays-half/images/108400.jpg", False), ("photos-public/images/bsds_120093.jpg", False),
                ("holidays-half/images/126402.jpg", False), ("holidays-half/images/108400.jpg", True))


def test_two_framings_whose_view_beyond_is_sky_or_silhouette_stay_no_copy(tmp_path: Path, datasets: Path) -> None:
    files, pairs = [], []
    for k, (name, birds) in enumerate(SKY_FRAMINGS):
        img = Image.open(datasets / name).convert("RGB")
        img.thumbnail((1600, 1600))
        w, h = img.size
        draw = ImageDraw.Draw(img)
        for j in range(5 if birds else 0):  # small dark Vs in the sky, clear of the other frame's edge
            x, y, size = w * (0.15 + 0.17 * j), h * (0.025 + 0.012 * (j % 3)), w * 0.012
            draw.line([(x - size, y - size / 2), (x, y), (x + size, y - size / 2)], fill=(20, 20, 25),
                      width=max(2, w // 300))
        first, second = tmp_path / f"{k}_high.jpg", tmp_path / f"{k}_low.jpg"
        img.crop((0, 0, w, round(0.86 * h))).save(first, quality=90)
        img.crop((0, round(0.12 * h), w, h)).save(second, quality=90)
        files += [first, second]
        pairs.append((2 * k, 2 * k + 1))
    score, found = checked(files, pairs)
    assert not found.any(), [f"{n}{' with birds' * b}: {s:.3f}" for (n, b), s in zip(SKY_FRAMINGS, score)]
