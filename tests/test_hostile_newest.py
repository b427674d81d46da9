"""An attack pass on the newest code that touches files (docs/reliability.md, "Hostile ground"): an index file damaged
on disk, the review page's thumbnail folder under a name that is not UTF-8. The command-line cases are in
tests/test_hostile_newest_cli.py."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from conftest import indexed_album, synthetic_photo
from index_files import damage_table

import imagetwins
from imagetwins.index import Index, IndexDamagedError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("table", ["files", "dirs", "encodings"])
def test_a_damaged_index_is_one_error_naming_it_not_sqlites_exception(tmp_path: Path, table: str) -> None:
    """A page of the index damaged on disk: SQLite opens the file, and only a query of that table fails. Every
    read of the index (load, digests, errors, stats, check against it) raised sqlite3.DatabaseError from inside
    a query, a traceback at the command line; now an IndexDamagedError (an IndexFileError) names the file."""
    album, db = indexed_album(tmp_path, twice=True)
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

    album, _ = indexed_album(tmp_path, 3, twice=True)
    result = find_duplicate_groups(album, "phash")
    assert len(result.groups) == 3
    page = Path(os.fsdecode(bytes(tmp_path) + b"/r\xe9sum\xe9.html"))
    write_html_report(result, page, embed=False)
    data = json.loads(page.read_text(encoding="utf-8").split('type="application/json">')[1].split("</script>")[0])
    folder = page.with_name(page.stem + "_files")
    assert urllib.parse.unquote_to_bytes(data["thumbs_dir"]) == os.fsencode(folder.name)
    cards = [f["thumb"] for g in data["groups"] for f in g["files"]]
    assert len(cards) == 6 and all((folder / f"{name}.jpg").is_file() for name in cards)


def test_a_quarantine_is_never_made_in_a_folder_of_someone_s_own_files(tmp_path: Path) -> None:
    """remove --move-to ~/Pictures/2019 (a folder of the person's photos, outside the scanned one): the quarantine was
    made there, so every later scan of a folder above skipped those photos (a quarantine is not scanned: 'find
    parent -r' read 1 image of 3), and undo called each of them 'still in the quarantine ... put it back by hand'.
    Now such a folder is refused before anything moves; a new, empty or earlier quarantine folder is used as
    before."""
    from tree_digests import file_digests

    from imagetwins.quarantine import Plan, QuarantineError, apply_plan, undo

    album, _ = indexed_album(tmp_path, 1, twice=True)
    pictures = tmp_path / "Pictures"
    pictures.mkdir()
    synthetic_photo(80, 60, 7).save(pictures / "beach.png")
    (pictures / "notes.txt").write_text("mine")
    keeper, copy = album / "p0.png", album / "p0 copy.png"
    sha = hashlib.sha256(keeper.read_bytes()).hexdigest()
    plan = Plan([(str(copy), 1, str(keeper))], [str(keeper)], expected={str(keeper): sha, str(copy): sha})
    before = file_digests(tmp_path)
    with pytest.raises(QuarantineError, match="already holds other files"):
        apply_plan(plan, album, pictures)
    assert file_digests(tmp_path) == before
    q = tmp_path / "q"
    for target in (q, q):  # a new folder, then the same quarantine again
        out = apply_plan(plan, album, target)
        assert not out.failed
        copy.write_bytes(keeper.read_bytes())
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # (a folder made in the Finder: empty all the same)
    assert not apply_plan(plan, album, empty).failed
    assert not copy.exists()
    assert not undo(empty).failed and copy.is_file()


def test_a_report_cut_short_never_leaves_the_earlier_page_showing_other_files_pictures(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The thumbnails beside a page were named 0.jpg, 1.jpg... in the order their contents were first read. A second
    report to the same page (the folder changed: a photo added, whose name sorts first) cut short by Ctrl-C while it
    wrote thumbnails left the first page in place, its 0.jpg now the new photo's: the page showed a card one file's
    name and another's picture, and a person reviewing it chose keepers by pictures of other files. Now a thumbnail
    is named by its content (SHA-256 digits): a name always shows the same picture."""
    import json

    import imagetwins.report as report
    from imagetwins.finder import find_duplicate_groups

    album, _ = indexed_album(tmp_path, 3, twice=True)
    page = tmp_path / "review.html"
    report.write_html_report(find_duplicate_groups(album, "phash"), page, embed=False, workers=1)

    def shown() -> dict[str, bytes]:
        data = json.loads(page.read_text(encoding="utf-8").split('type="application/json">')[1].split("</script>")[0])
        folder = tmp_path / data["thumbs_dir"]
        return {f["path"]: (folder / f"{f['thumb']}.jpg").read_bytes() for g in data["groups"] for f in g["files"]}

    before = shown()
    assert len(before) == 6 and len(set(before.values())) == 3
    synthetic_photo(96, 72, 50).save(album / "a new.png")
    (album / "a new copy.png").write_bytes((album / "a new.png").read_bytes())
    result = find_duplicate_groups(album, "phash")
    made = report._jpeg_of
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(args)
        if len(calls) > 2:
            raise KeyboardInterrupt
        return made(*args, **kwargs)

    monkeypatch.setattr(report, "_jpeg_of", interrupted)
    with pytest.raises(KeyboardInterrupt):
        report.write_html_report(result, page, embed=False, workers=1)
    assert shown() == before


def test_a_page_never_removes_the_thumbnails_of_another_page_of_the_same_stem(tmp_path: Path) -> None:
    """review.html (thumbnails beside it, in review_files/) and review.htm (or 'review', 'review.v2'): the folder is
    named from the stem, so both use review_files/. Writing review.htm with its thumbnails embedded cleared the
    folder of every thumbnail the tool had written there, review.html's: that page showed no picture any more. The
    folder's mark now records each page's thumbnails, and a page removes only its own."""
    from imagetwins.finder import find_duplicate_groups
    from imagetwins.report import write_html_report

    album, _ = indexed_album(tmp_path, 3, twice=True)
    result = find_duplicate_groups(album, "phash")
    html, htm = tmp_path / "review.html", tmp_path / "review.htm"
    write_html_report(result, html, embed=False)
    thumbs = sorted((tmp_path / "review_files").glob("*.jpg"))
    assert len(thumbs) == 3
    write_html_report(result, htm, embed=True)
    assert sorted((tmp_path / "review_files").glob("*.jpg")) == thumbs
    write_html_report(result, htm, embed=False)  # both pages there: one thumbnail per content, shared
    write_html_report(result, htm, embed=True)
    assert sorted((tmp_path / "review_files").glob("*.jpg")) == thumbs
    write_html_report(result, html, embed=True)  # no page uses the folder now: it goes
    assert not (tmp_path / "review_files").exists()
    # (each page's record follows a shared thumbnail written again by the other: the last page removes it, wherever
    # the file system puts the new file)
    write_html_report(result, html, embed=False)
    write_html_report(result, htm, embed=False)
    (tmp_path / "review_files" / "spare.jpg").write_bytes(b"a file of mine")  # taking the freed inode, maybe
    write_html_report(result, htm, embed=True)
    write_html_report(result, html, embed=True)
    assert [p.name for p in (tmp_path / "review_files").iterdir() if not p.name.startswith(".")] == ["spare.jpg"]


def test_the_page_and_the_plan_are_written_from_a_deleted_working_folder(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal left in a folder deleted since (a card unmounted, a temporary folder cleaned): the scan of an
    absolute path worked, but the review page lost every thumbnail (Pillow's save asks os.getcwd()) and the JSON
    plan raised FileNotFoundError (its 'base' was os.getcwd()): 'cannot write review.html: No such file or
    directory', of a folder that exists. Both are written now; the plan's base is then the scanned folder."""
    import json

    from imagetwins.plan import plan_document
    from imagetwins.report import write_html_report

    album, _ = indexed_album(tmp_path, 2, twice=True)
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    result = imagetwins.find(album, method="phash", cache=False, keep="original")
    page = tmp_path / "review.html"
    write_html_report(result, page)
    data = json.loads(page.read_text(encoding="utf-8").split('type="application/json">')[1].split("</script>")[0])
    assert len(data["thumbs"]) == 2 and all(f["thumb"] for g in data["groups"] for f in g["files"])
    assert plan_document(result, result.decisions, album)["base"] == str(album.resolve())
