"""The review page of many byte-identical files: one thumbnail per content, each card showing its own content's."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from PIL import Image

from imagetwins.finder import find_duplicate_groups
from imagetwins.report import thumbnail_data_uri, write_html_report

pytestmark = pytest.mark.integration


def _album(root: Path, datasets: Path, copies: int) -> Path:
    """``copies`` byte copies of photo 0; photo 1 and a half-size re-save of it; photo 2 and a byte copy; photo 3."""
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:4]
    root.mkdir()
    for k in range(copies):
        shutil.copy(photos[0], root / f"copy{k:03d}.jpg")
    shutil.copy(photos[1], root / "b.jpg")
    with Image.open(photos[1]) as im:
        im.reduce(2).save(root / "b_half.jpg", quality=90)
    shutil.copy(photos[2], root / "c.jpg")
    shutil.copy(photos[2], root / "c_copy.jpg")
    shutil.copy(photos[3], root / "d.jpg")
    return root


def test_identical_files_share_one_embedded_thumbnail(tmp_path: Path, datasets: Path, browser) -> None:
    pages = {}
    for copies in (3, 60):
        album = _album(tmp_path / f"album{copies}", datasets, copies)
        page = tmp_path / f"review{copies}.html"
        write_html_report(find_duplicate_groups(album, method="phash"), page, embed=True)
        pages[copies] = page
        # one thumbnail per distinct content shown: photo 0, photo 1, its half-size copy, photo 2
        assert page.read_text().count("data:image/jpeg;base64,") == 4
    # 57 more copies of one photo add their cards (a name, a digest, sizes), never a thumbnail each (~10 KB)
    growth = (pages[60].stat().st_size - pages[3].stat().st_size) / 57
    assert growth < 1500, growth

    album = tmp_path / "album60"
    browser.set_window_size(1400, 20000)
    browser.get(pages[60].as_uri())
    time.sleep(0.5)
    shown = browser.execute_script(
        "return [...document.querySelectorAll('.file')].map(c => [c.querySelector('.name').textContent,"
        " c.querySelector('img').src, c.querySelector('img').complete && c.querySelector('img').naturalWidth > 0])")
    names = sorted(n for n, _, _ in shown)
    assert names == sorted([f"copy{k:03d}.jpg" for k in range(60)] + ["b.jpg", "b_half.jpg", "c.jpg", "c_copy.jpg"])
    for name, src, loaded in shown:  # each card shows its own file's picture, decoded by the browser
        assert src == thumbnail_data_uri(album / name), name
        assert loaded, name
    srcs = {name: src for name, src, _ in shown}
    assert srcs["b.jpg"] != srcs["b_half.jpg"] and srcs["c.jpg"] != srcs["b.jpg"] != srcs["copy000.jpg"]
