"""A photo turned by a few degrees at its own frame size is a copy, not a re-shot.

An editor's rotate without growing the canvas (PIL ``im.rotate(3)``) cuts off the original's corners and brings in
flat wedges of fill at the edges: each frame then covers ~97 % of the other, and the framing rule
(``verify.FRAMING_COVER``) read that as two framings of one scene, a re-shot, unless the wedges count as padding.
Real photos (camera-photos at full size, photos-public), turned 2-4 degrees (under 1.5 the frames cover enough
without the wedges; from 5 the framing rule does not apply), black, white or coloured fill, saved as JPEG and
re-saved. A turned picture whose corners show scene the original lacks stays no copy.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from copy_checks import checked
from PIL import Image

pytestmark = pytest.mark.integration

PHOTOS = ("camera-photos/images/exifr__xmp_depth_map.jpg", "camera-photos/images/mei__Kodak_DC3400.jpg",
          "photos-public/images/bsds_100075.jpg", "photos-public/images/bsds_101027.jpg")
#: (angle, expand, fill, JPEG qualities saved in turn): same-size turns, and the grown canvas that was found before
TILTS = ((2.0, False, (0, 0, 0), (90,)), (-3.0, False, (255, 255, 255), (90,)), (3.5, False, (40, 90, 160), (90,)),
         (-2.5, False, (0, 0, 0), (90, 60)), (4.0, False, (255, 255, 255), (85, 70)),
         (3.0, True, (0, 0, 0), (90,)), (-2.0, True, (255, 255, 255), (90,)))


def _saved(img: Image.Image, qualities: tuple[int, ...], path: Path) -> None:
    for q in qualities:
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=q)
        img = Image.open(io.BytesIO(buf.getvalue()))
    path.write_bytes(buf.getvalue())


@pytest.fixture(scope="module")
def tilted(tmp_path_factory, datasets: Path) -> tuple[list[Path], list[tuple[int, int]], list[str]]:
    folder = tmp_path_factory.mktemp("tilted")
    files, pairs, names = [], [], []
    for k, name in enumerate(PHOTOS):
        img = Image.open(datasets / name).convert("RGB")
        original = folder / f"{k}.jpg"
        img.save(original, quality=95)
        files.append(original)
        at = len(files) - 1
        for angle, expand, fill, qualities in TILTS:
            copy = folder / f"{k}_{angle:g}_{int(expand)}_{fill[0]}_{qualities[-1]}.jpg"
            _saved(img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=expand, fillcolor=fill), qualities,
                   copy)
            files.append(copy)
            pairs.append((at, len(files) - 1))
            names.append(f"{Path(name).name} turned {angle:g} deg, expand={expand}, fill {fill}, saved {qualities}")
    return files, pairs, names


def test_a_photo_turned_at_its_own_frame_size_is_a_copy(tilted) -> None:
    files, pairs, names = tilted
    score, found = checked(files, pairs)
    missed = [f"{name}: {s:.3f}" for name, s, f in zip(names, score, found) if not f]
    assert not missed, missed


def test_a_turn_whose_corners_show_more_scene_stays_no_copy(tmp_path: Path, datasets: Path) -> None:
    """The same turn where the corners hold scene the original lacks (a frame cut from a larger, turned picture:
    a camera turned between two shots) is not padding: the framing rule still caps it."""
    files, pairs = [], []
    for k, name in enumerate(PHOTOS):
        img = Image.open(datasets / name).convert("RGB")
        w, h = img.size
        box = (round(0.06 * w), round(0.06 * h), round(0.94 * w), round(0.94 * h))
        first, second = tmp_path / f"{k}_a.jpg", tmp_path / f"{k}_b.jpg"
        img.crop(box).save(first, quality=90)
        img.rotate(3.0 if k % 2 else -3.0, resample=Image.Resampling.BICUBIC).crop(box).save(second, quality=90)
        files += [first, second]
        pairs.append((2 * k, 2 * k + 1))
    score, found = checked(files, pairs)
    assert not found.any(), score


def test_a_dark_photo_turned_with_black_fill_is_a_copy(tmp_path: Path, datasets: Path) -> None:
    """A night photo (camera-photos' Canon PowerShot S400 shot: a motorbike, half its edge band within 6 grey levels of
    black) turned 3-5 degrees with black fill: the wedges of fill lie within 2 levels of black, the dark scene along
    the edge does not, so the fill is padding (``verify.FILL_SPREAD_MIN``); within ``PADDING_SPREAD`` it read as more
    of the dark scene, and the framing rule capped each at 0.5."""
    img = Image.open(datasets / "camera-photos/images/mei__Canon_PowerShot_S400.jpg")
    img.draft("RGB", (2048, 2048))
    img = img.convert("RGB")
    w, h = img.size
    files = [tmp_path / "night.jpg"]
    img.save(files[0], quality=95)
    for angle, qualities, top in ((3.0, (90,), 0), (-4.0, (90, 60), 0), (5.0, (90,), round(0.09 * h))):
        turned = img.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=(0, 0, 0)).crop((0, top, w, h))
        files.append(tmp_path / f"night_{angle:g}_{qualities[-1]}_{top}.jpg")
        _saved(turned, qualities, files[-1])
    score, found = checked(files, [(0, k) for k in range(1, len(files))])
    assert found.all(), score
