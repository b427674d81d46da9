"""An attack pass on the newest code that touches files (docs/reliability.md, "Hostile ground"): an index file damaged
on disk, the review page's thumbnail folder under a name that is not UTF-8. The command-line cases are in
tests/test_hostile_newest_cli.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import synthetic_photo
from index_files import damage_table

import imagetwins
from imagetwins.index import Index, IndexDamagedError

pytestmark = pytest.mark.unit


def _indexed(tmp_path: Path, n: int = 6) -> tuple[Path, Path]:
    """A folder of ``n`` photos (each twice) and its phash index, closed."""
    album = tmp_path / "album"
    album.mkdir()
    for k in range(n):
        synthetic_photo(96, 72, k).save(album / f"p{k}.png")
        (album / f"p{k} copy.png").write_bytes((album / f"p{k}.png").read_bytes())
    db = tmp_path / "photos.db"
    with Index(db, methods=["phash"]) as idx:
        idx.update(album)
    return album, db


@pytest.mark.parametrize("table", ["files", "dirs", "encodings"])
def test_a_damaged_index_is_one_error_naming_it_not_sqlites_exception(tmp_path: Path, table: str) -> None:
    """A page of the index damaged on disk: SQLite opens the file, and only a query of that table fails. Every
    read of the index (load, digests, errors, stats, check against it) raised sqlite3.DatabaseError from inside
    a query, a traceback at the command line; now an IndexDamagedError (an IndexFileError) names the file."""
    album, db = _indexed(tmp_path)
    damage_table(db, table)
    with Index(db, methods=[], readonly=True) as idx:
        for read in (lambda: idx.load("phash"), lambda: idx.digests([str(album / "p0.png")] * 2),
                     lambda: idx.stats(), lambda: idx.find_duplicates("phash")):
            try:
                read()
            except IndexDamagedError as exc:
                assert str(db) in str(exc) and "malformed" in str(exc)
    with pytest.raises(IndexDamagedError, match="malformed"):
        imagetwins.check(album / "p0.png", db, method="phash")


def test_the_thumbnail_folder_of_a_page_whose_name_is_not_utf8_is_linked_by_its_bytes(tmp_path: Path) -> None:
    """A review page named with bytes that are not UTF-8 (a name from an old disk, b'r\\xe9sum\\xe9.html' in Latin-1)
    and thumbnails beside it (a big library): urllib's quote of the folder's name raised UnicodeEncodeError after
    the whole scan, a traceback, with the thumbnail folder made and no page. Now the link is the name's own bytes
    percent-encoded, which a browser opens as that file."""
    import json
    import urllib.parse

    from imagetwins.finder import find_duplicate_groups
    from imagetwins.report import write_html_report

    album, _ = _indexed(tmp_path, 3)
    result = find_duplicate_groups(album, "phash")
    assert len(result.groups) == 3
    page = Path(os.fsdecode(bytes(tmp_path) + b"/r\xe9sum\xe9.html"))
    write_html_report(result, page, embed=False)
    data = json.loads(page.read_text(encoding="utf-8").split('type="application/json">')[1].split("</script>")[0])
    folder = page.with_name(page.stem + "_files")
    assert urllib.parse.unquote_to_bytes(data["thumbs_dir"]) == os.fsencode(folder.name)
    cards = [f["thumb"] for g in data["groups"] for f in g["files"]]
    assert len(cards) == 6 and all((folder / f"{name}.jpg").is_file() for name in cards)
