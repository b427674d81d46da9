"""An attack pass on what a run keeps for the next one (docs/reliability.md, "Hostile ground"): the keep stage's
scores kept in the index by content, a file changed between the scan and the keep stage."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from conftest import indexed_album, synthetic_photo
from index_files import add_trigger, drop_table, replace_view_with_one_that_never_ends, reshape_table
from PIL import Image, ImageFilter

import imagetwins
from imagetwins import keep
from imagetwins.index import Index, IndexFileError, clear_caches, default_cache_path, list_caches

pytestmark = pytest.mark.unit


def _album(tmp_path: Path, rule: str) -> tuple[Path, Path]:
    """Two files of one picture and the one the rule keeps first: an original and its 2x enlargement (``original``:
    the original is kept), or a shot and a slightly blurred copy (``best``: the sharp one)."""
    album = tmp_path / "album"
    album.mkdir()
    picture = synthetic_photo(400, 300, 3)
    picture.save(album / "a.png")
    if rule == "original":
        picture.resize((800, 600), Image.Resampling.BICUBIC).save(album / "b.png")
    else:
        picture.filter(ImageFilter.GaussianBlur(1.5)).save(album / "b.png")
    for name in ("a.png", "b.png"):  # (one time: the older file of one capture is its original)
        os.utime(album / name, (1_600_000_000, 1_600_000_000))
    return album, album / "a.png"


def _keepers(album: Path, db: Path, rule: str, meanwhile=None) -> list[str]:
    with imagetwins.open_session(album, ["phash"], db=db, workers=1) as session:
        found = imagetwins.find(album, "phash", session=session)
        if meanwhile is not None:
            meanwhile()
        decided = keep.decide_keepers(found, rule=rule, session=session)
    return [Path(d.keeper).name for d in decided.decisions]


@pytest.mark.parametrize("rule", ["original", "best"])
def test_a_photo_changed_between_the_scan_and_the_keep_stage_leaves_no_score_for_the_content_scanned(
        tmp_path: Path, rule: str) -> None:
    """The keep stage measures the files again (an enlargement's lost detail, a shot's sharpness) and keeps the
    score in the index under the content the scan read, so a re-run decodes nothing. A photo edited in between (a
    blurred save while a long run verified its pairs) was measured as it is now and its score kept for the content
    scanned: once the photo was put back, every later run read that score and kept the enlargement (``original``)
    or the blurred shot (``best``) instead of the photo, which ``remove`` then moves away. Now a score is measured
    on the bytes whose SHA-256 is the scanned one, and kept only then."""
    album, photo = _album(tmp_path, rule)
    assert _keepers(album, tmp_path / "cold.db", rule) == ["a.png"]
    scanned, when = photo.read_bytes(), photo.stat()
    db = tmp_path / "kept.db"

    def blurred() -> None:
        with Image.open(photo) as im:
            im.filter(ImageFilter.GaussianBlur(4)).save(photo, format="PNG")
        os.utime(photo, ns=(when.st_atime_ns, when.st_mtime_ns))  # (saved keeping its time, as exiftool -P does)

    assert _keepers(album, db, rule, meanwhile=blurred) == ["b.png"]  # (the photo as it is now: blurred)
    photo.write_bytes(scanned)  # put back
    os.utime(photo, ns=(when.st_atime_ns, when.st_mtime_ns))
    assert _keepers(album, db, rule) == ["a.png"]


def test_the_cache_of_a_folder_named_with_a_newline_is_listed_and_cleared(tmp_path: Path) -> None:
    """A folder's cache is named after the folder, a newline and all (``holiday\\n2019``, made by a script or another
    system). ``cache list`` did not list that cache and ``cache clear --all`` left it (its name did not match the
    pattern of a cache's name): the file names and encodings of that folder stayed on disk after the user cleared
    every cache. Now it is listed and deleted like any other."""
    folder = tmp_path / "holiday\n\x1b[2019"
    folder.mkdir()
    synthetic_photo(64, 48).save(folder / "a.png")
    imagetwins.find(folder, "phash")
    cache = default_cache_path(folder)
    assert cache.is_file()
    assert [c.folder for c in list_caches()] == [str(folder)]
    assert cache in clear_caches()
    assert not cache.exists()


@pytest.mark.parametrize("readonly", [True, False])
@pytest.mark.parametrize("damage", ["view", "trigger"])
def test_an_index_with_sql_of_someone_else_s_is_refused_before_it_runs(tmp_path: Path, damage: str,
                                                                        readonly: bool) -> None:
    """An index someone else made (a reference collection to ``check --against``, a catalogue to ``find --db``) may
    hold SQL of its own: a view named as imagetwins' that never ends, a trigger that empties a table on each insert.
    SQLite runs it inside imagetwins' own queries: ``index stats``, ``check --against`` and ``find --db`` of such a
    file ran for ever, and its triggers changed what was stored. Now such a file is one IndexFileError naming it,
    refused before any query runs."""
    album, db = indexed_album(tmp_path)
    if damage == "view":
        replace_view_with_one_that_never_ends(db)
    else:
        add_trigger(db, "forget", "encodings", "DELETE FROM encodings")
    (album / "new.png").write_bytes((album / "p0.png").read_bytes())
    done = threading.Event()

    def opened() -> None:
        try:
            with Index(db, methods=["phash"], readonly=readonly) as idx:
                idx.stats() if readonly else idx.update(album)
        except IndexFileError as exc:
            assert "is not an imagetwins index" in str(exc) and damage in str(exc) and str(db) in str(exc)
            done.set()

    worker = threading.Thread(target=opened, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert done.is_set()


def test_a_folder_cache_given_sql_of_someone_else_s_is_made_again(tmp_path: Path) -> None:
    """The same SQL planted in a per-folder cache (a cache folder restored from someone else's backup): the cache
    was refused on every run ('no cache this time'), each run decoding every image again until the user cleared it.
    A per-folder cache holds nothing that cannot be made again: it is deleted and made again, with one warning."""
    album, _ = indexed_album(tmp_path)
    imagetwins.find(album, "phash")
    cache = default_cache_path(album)
    add_trigger(cache, "forget", "encodings", "DELETE FROM encodings")
    with pytest.warns(UserWarning, match="trigger forget is none imagetwins makes .*; the cache is made again"):
        imagetwins.find(album, "phash")
    with Index(cache, methods=[], readonly=True) as idx:
        assert idx.stats()["files"] == 6


@pytest.mark.parametrize(("damage", "table"), [(drop_table, "meta"), (reshape_table, "meta"),
                                               (reshape_table, "pair_scores"), (reshape_table, "files")])
def test_a_folder_cache_whose_tables_were_altered_is_made_again_an_index_given_is_left(tmp_path: Path, damage,
                                                                                          table: str) -> None:
    """A per-folder cache whose own tables were altered (``meta`` dropped: 'an SQLite file but not an imagetwins
    index'; ``pair_scores`` made again another shape: 'pair scores not kept', every run) was refused on every run
    and never made again, each run decoding every image (or scoring every pair) again. A per-folder cache is ours
    to delete: it is made again, with one warning. An index named by the user (``--db``) is refused in one line and
    never changed."""
    album, db = indexed_album(tmp_path)
    imagetwins.find(album, "phash")
    cache = default_cache_path(album)
    damage(cache, table)
    with pytest.warns(UserWarning, match=rf"{cache}.* is damaged .*table {table}.*; the cache is made again"):
        assert len(imagetwins.find(album, "phash").files) == 6
    with Index(cache, methods=[], readonly=True) as idx:
        assert idx.stats()["files"] == 6
    damage(db, table)
    before = db.read_bytes()
    for readonly in (False, True):
        with pytest.raises(IndexFileError, match=rf"{db}.* (damaged|not an imagetwins index)"):
            Index(db, methods=["phash"], readonly=readonly)
    assert db.read_bytes() == before
