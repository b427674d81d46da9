"""The listing as strings (io.find_image_paths) in pathlib's order, and finder.shown_under against os.path.relpath."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imagetwins.finder import shown_under
from imagetwins.io import find_image_paths, find_images

pytestmark = pytest.mark.unit

JPEG = b"\xff\xd8\xff\xe0" + bytes(64)


def test_paths_are_find_images_in_path_order(tmp_path: Path) -> None:
    # 'a/b' sorts before 'a-b' as parts, after it as text ('/' > '-')
    for rel in ["a/b.jpg", "a-b/c.jpg", "a b/d.jpg", "a/z/e.png", "a.jpg", "b.JPG", "a/b/c/f.jpg", "noext",
                "A/g.jpg"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(JPEG)
    for root in (tmp_path, str(tmp_path) + "/", tmp_path / "a" / ".."):
        for recursive in (True, False):
            got = find_image_paths(root, recursive=recursive)
            assert [Path(p) for p in got] == find_images(root, recursive=recursive)
            assert [Path(p) for p in got] == sorted(Path(p) for p in got)
    assert find_image_paths(tmp_path, recursive=True).index(str(tmp_path / "a" / "b.jpg")) < \
        find_image_paths(tmp_path, recursive=True).index(str(tmp_path / "a-b" / "c.jpg"))


def test_shown_under_is_relpath() -> None:
    real = "/srv/photos"
    names = ["/srv/photos/a.jpg", "/srv/photos/sub/b c.jpg", "/srv/photos/./x.jpg", "/srv/photos//y.jpg",
             "/srv/photos/.hidden/z.jpg", "/srv/photos/sub/../w.jpg", "/srv/other/v.jpg", "/srv/photosx/u.jpg",
             "/srv/photos/t/", "/srv/photos/\udcff.jpg", "/srv/photos/sub/.."]
    for folder in ("photos", "photos/", "/srv/photos", Path("p"), "."):
        want = [os.path.join(os.fspath(folder), os.path.relpath(n, real)) for n in names]
        assert shown_under(folder, real, names) == want
    assert shown_under("x", "/", ["/a/b.jpg"]) == [os.path.join("x", "a/b.jpg")]
