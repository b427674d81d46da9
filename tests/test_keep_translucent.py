"""A picture with real transparency is kept over its copy flattened on white (the product master over its JPEG)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import synthetic_photo
from PIL import Image, ImageDraw

from imagetwins import facts, io, keep
from imagetwins.finder import find_duplicate_groups
from imagetwins.index import Index

pytestmark = pytest.mark.unit


def _cut_out(folder: Path, opaque: bool = False) -> tuple[Path, Path]:
    """A product cut out on a transparent ground (PNG), and that picture flattened on white as a JPEG; with
    ``opaque`` the PNG's alpha channel is all 255 (an RGBA re-save of the JPEG's picture, nothing transparent)."""
    folder.mkdir(exist_ok=True)
    photo = synthetic_photo(320, 240, seed=7)
    alpha = Image.new("L", photo.size, 255 if opaque else 0)
    if not opaque:
        ImageDraw.Draw(alpha).ellipse((30, 20, 290, 220), fill=255)
    rgba = photo.copy()
    rgba.putalpha(alpha)
    png, jpg = folder / "product.png", folder / "product_white.jpg"
    rgba.save(png)
    white = Image.new("RGB", photo.size, "white")
    white.paste(photo, mask=alpha)
    white.save(jpg, quality=92)
    return png, jpg


def test_a_translucent_png_is_kept_over_its_jpeg_on_white(tmp_path: Path) -> None:
    png, jpg = _cut_out(tmp_path / "shop")
    assert keep.file_info(png).translucent and not keep.file_info(jpg).translucent
    decision = keep.decide_groups([[str(jpg), str(png)]], rule="original", workers=1)[0]
    assert decision.keeper == str(png) and decision.remove == [str(jpg)]


def test_an_rgba_png_that_is_all_opaque_is_still_a_re_save(tmp_path: Path) -> None:
    # the rule before stays where the alpha channel means nothing: the JPEG over its lossless re-save
    png, jpg = _cut_out(tmp_path / "shop", opaque=True)
    assert not keep.file_info(png).translucent
    assert keep.decide_groups([[str(png), str(jpg)]], rule="original", workers=1)[0].keeper == str(jpg)


def test_the_scan_measures_translucency_and_the_cache_keeps_it(tmp_path: Path) -> None:
    png, jpg = _cut_out(tmp_path / "shop")
    img, header = io.decode_image(png.read_bytes())
    assert img.mode == "RGB" and header is not None and header.translucent
    assert not io.decode_image(jpg.read_bytes())[1].translucent
    kept = facts.image_facts(png.read_bytes(), str(png), img, header=header)
    assert kept.translucent and facts.ImageFacts.from_bytes(kept.to_bytes()) == kept
    db = tmp_path / "cache.db"
    for _ in range(2):  # the scan's facts, then the cache's
        with Index(db, methods=["phash"]) as cache:
            result = find_duplicate_groups(tmp_path / "shop", "phash", cache=cache)
            stored = cache.facts([str(d) for d in cache.digests([str(png), str(jpg)])])
        assert {f.translucent for f in stored.values()} == {True, False}
        decisions = keep.decide_result(result)
        assert [d.keeper for d in decisions] == [str(png)]


def test_facts_of_the_version_before_translucency_are_not_read() -> None:
    # (a cache written before kept no translucency: its facts are measured again, FACTS_VERSION)
    assert facts.FACTS_VERSION != "2"
    with pytest.raises(ValueError):
        facts.ImageFacts.from_bytes(b'[320,240,"PNG",null,false,[0.0,1.33]]')
