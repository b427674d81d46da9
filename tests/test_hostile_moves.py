"""An attack pass on the index's reuse of stored rows by content (a renamed or moved file takes the row holding its
bytes, :meth:`imagetwins.index.Index._reuse_contents`) and on the files changed between a scan and an action: names
shifted along a numbered sequence, swapped, files replaced while the update reads them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import synthetic_photo

from imagetwins import index as index_module
from imagetwins.index import Index

pytestmark = pytest.mark.unit


def _rows(db: Path) -> dict[str, bytes]:
    """Each file's stored phash row, by path."""
    with Index(db, ["phash"], readonly=True) as ix:
        paths, rows = ix.load("phash")
    return {p: r.tobytes() for p, r in zip(paths, rows)}


def _stored(db: Path) -> tuple:
    """What an index file holds of its phash rows: their identity and blobs (read as another program would)."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(db)) as con:
        return (con.execute("SELECT identity FROM encoders WHERE method = 'phash'").fetchall(),
                sorted(con.execute("SELECT file_id, value FROM encodings WHERE method = 'phash'").fetchall()))


def _index(db: Path, folder: Path):
    with Index(db, ["phash"]) as ix:
        return ix.update(folder, workers=1)


def _shift_names_by_one(album: Path, n: int) -> None:
    """img0 ... img{n-1}.png renumbered by one, the last put in front (a picture inserted at the start): each name now
    holds the bytes the name before it held."""
    os.rename(album / f"img{n - 1}.png", album / "spare")
    for k in range(n - 2, -1, -1):
        os.rename(album / f"img{k}.png", album / f"img{k + 1}.png")
    os.rename(album / "spare", album / "img0.png")


def test_names_shifted_along_a_sequence_each_take_their_own_contents_row(tmp_path: Path, monkeypatch) -> None:
    """A numbered sequence renumbered by one (a picture put in front: 0 -> 1, 1 -> 2, ...): each name now holds the
    bytes the name before it held. The reuse stored its rows 64 files at a time (STORE_BATCH), and a later batch
    copied the row of a file an earlier batch had already rewritten with another content's encodings: the file
    after each batch boundary took the encodings of the picture two before it, and a find showed two different
    pictures as a group of identical hashes. Now a row rewritten in this update is not a source."""
    monkeypatch.setattr(index_module, "STORE_BATCH", 2)
    album = tmp_path / "album"
    album.mkdir()
    for k in range(7):
        synthetic_photo(64, 48, k).save(album / f"img{k}.png")
    db = tmp_path / "ix.db"
    _index(db, album)
    _shift_names_by_one(album, 7)
    stats = _index(db, album)
    assert stats.changed == 7
    fresh = tmp_path / "fresh.db"
    _index(fresh, album)
    assert _rows(db) == _rows(fresh)
    assert len(set(_rows(db).values())) == 7  # (no two pictures share a row)


def test_an_index_a_newer_imagetwins_made_is_refused_not_made_older_in_place(tmp_path: Path) -> None:
    """A catalogue a newer imagetwins wrote (a method's version above this one's: two installs sharing one --db, a
    laptop's and a server's cron job). 'index update --db' took every such row for an older imagetwins's, said
    "encodings an older imagetwins made are made again", and wrote this imagetwins's older rows over them: the newer
    install then made them all again, and the two did so in turn for ever (~50 ms a photo with copies). Now it is
    refused, in one line saying which is newer, and nothing in the file changes; a folder's cache is still made
    again (it is this installation's own)."""
    from index_files import rewrite_identity

    from imagetwins.index import IndexMismatchError

    album = tmp_path / "album"
    album.mkdir()
    for k in range(3):
        synthetic_photo(64, 48, k).save(album / f"p{k}.png")
    db = tmp_path / "catalogue.db"
    _index(db, album)
    rewrite_identity(db, "phash", lambda ident: {**ident, "version": ident["version"] + 1})
    before = _stored(db)
    for methods, upgrade in ((["phash"], True), (["phash"], False), ([], True)):  # ([]: 'index update' without -m)
        with pytest.raises(IndexMismatchError) as caught:
            with Index(db, methods, upgrade=upgrade) as ix:
                ix.outdated()
                ix.update(album, workers=1)
        line = str(caught.value)
        assert "newer imagetwins" in line and "older" not in line and "index update" not in line
        assert "\n" not in line
    assert _stored(db) == before
    with Index(db, ["phash"], rebuild_stale=True) as ix:  # (a cache)
        assert ix.update(album, workers=1).added == 0
        assert len(ix.load("phash")[0]) == 3


def test_a_row_another_update_rewrote_meanwhile_is_not_copied_as_its_old_content(tmp_path: Path, monkeypatch) -> None:
    """Two updates of one folder at once (a cron job and a person's 'index update') after names shifted along a
    sequence: the first found which rows held each content, then read the files; meanwhile the second stored the
    whole folder, rewriting those rows with the contents their names now hold. The first then copied a row by the
    content it had held and stored the picture before as the file after it (the two processes' rows differed, and
    the last writer's were wrong). Now a row is copied only while it still holds that content (its digest read
    with its encodings)."""
    album = tmp_path / "album"
    album.mkdir()
    for k in range(4):
        synthetic_photo(64, 48, k).save(album / f"img{k}.png")
    db = tmp_path / "ix.db"
    _index(db, album)
    _shift_names_by_one(album, 4)
    read, other = index_module.read_bytes, []

    def read_while_another_updates(path, *args, **kwargs):
        if not other:  # (the other process's update, run once, between this one's listing and its reads)
            other.append(True)
            _index(db, album)
        return read(path, *args, **kwargs)

    monkeypatch.setattr(index_module, "read_bytes", read_while_another_updates)
    _index(db, album)
    assert other
    fresh = tmp_path / "fresh.db"
    _index(fresh, album)
    assert _rows(db) == _rows(fresh)


def _pages(db: Path) -> int:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(db)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return con.execute("PRAGMA page_count").fetchone()[0]


def test_files_moved_into_a_new_folder_keep_their_rows_and_the_index_does_not_grow(tmp_path: Path, fake_cnn) -> None:
    """A library reorganised into new folders (the case the reuse by content was made for): every moved file's
    row was copied, blobs and all, before the rows of the files gone were deleted, so the index file grew by all it
    held and never shrank (SQLite keeps freed pages): the 100,000-photo copies index of the benchmarks is 6.9 GB,
    14 GB after one reorganisation; measured here on 5,000 byte copies of a photo, copies: 336 -> 672 MB. Now a
    moved file takes the row of the file gone itself (its name changed, its encodings kept), and the file does not
    grow; a find through the index equals a fresh one."""
    album = tmp_path / "album"
    album.mkdir()
    for k in range(60):
        synthetic_photo(64, 48, k).save(album / f"img{k}.png")
    db = tmp_path / "ix.db"
    with Index(db, ["cnn"]) as ix:
        ix.update(album, workers=1)
    before = _pages(db)
    (album / "2024").mkdir()
    for k in range(60):
        os.rename(album / f"img{k}.png", album / "2024" / f"img{k}.png")
    with Index(db, ["cnn"]) as ix:
        stats = ix.update(album, workers=1)
        paths, rows = ix.load("cnn")
    assert (stats.added, stats.removed, stats.reused, stats.encoded) == (60, 60, 60, 0)
    assert _pages(db) <= before + 2  # (the new folder's row)
    fresh = tmp_path / "fresh.db"
    with Index(fresh, ["cnn"]) as ix:
        ix.update(album, workers=1)
        assert dict(zip(paths, (r.tobytes() for r in rows))) == dict(
            zip(*(lambda p, r: (p, [x.tobytes() for x in r]))(*ix.load("cnn"))))


def test_an_upgrade_a_newer_imagetwins_left_unfinished_is_refused_not_read_as_this_ones(tmp_path: Path,
                                                                                       monkeypatch) -> None:
    """A newer imagetwins began upgrading a catalogue and stopped (Ctrl-C, or it updated one folder of several):
    the method's identity stays this imagetwins's until every row is made again, so this imagetwins took the file
    for its own and read the rows the newer one had made as its own (other bits, other features: wrong matches,
    silently). Now an upgrade to another identity begun and unfinished is refused in one line; a folder's cache
    makes the method again."""
    from imagetwins.encoders import get_encoder
    from imagetwins.index import IndexMismatchError

    album = tmp_path / "album"
    (album / "sub").mkdir(parents=True)
    for k in range(4):
        synthetic_photo(64, 48, k).save(album / ("sub" if k >= 2 else "") / f"p{k}.png")
    db = tmp_path / "catalogue.db"
    with Index(db, ["phash"]) as ix:
        ix.update(album, workers=1)
    ours = _rows(db)
    encoder = get_encoder("phash")
    identity, encode = type(encoder).identity, type(encoder).encode_batch
    with monkeypatch.context() as newer:  # (a newer imagetwins: its phash is another, and says so)
        newer.setattr(type(encoder), "identity", lambda self: {**identity(self), "version": 99})
        newer.setattr(type(encoder), "encode_batch", lambda self, prepared: ~encode(self, prepared))
        with Index(db, [], upgrade=True) as ix:
            ix.update(album / "sub", workers=1)  # (one folder of the two: the upgrade unfinished)
            assert ix.upgrade_left == {"phash": 2}
    for opened in (lambda: Index(db, ["phash"]), lambda: Index(db, ["phash"], upgrade=True),
                   lambda: Index(db, ["phash"], readonly=True)):
        with pytest.raises(IndexMismatchError) as caught:
            with opened() as ix:
                ix.load("phash")
        assert "unfinished" in str(caught.value) and "\n" not in str(caught.value)
    cache = tmp_path / "cache.db"
    cache.write_bytes(db.read_bytes())
    with Index(cache, ["phash"], rebuild_stale=True) as ix:
        ix.update(album, workers=1)
    assert _rows(cache) == ours


def test_two_updates_moving_one_folder_at_once_leave_every_file_its_row(tmp_path: Path, monkeypatch) -> None:
    """A folder of a photo and its byte copy moved into a new folder, and two updates of it at once: each found the
    rows of the files gone, and the second renamed the row the first had just given to one copy to the other copy,
    leaving the first copy with no row at all (a find through the index left it out until the next update)."""
    album = tmp_path / "album"
    album.mkdir()
    synthetic_photo(64, 48, 0).save(album / "a.png")
    (album / "b.png").write_bytes((album / "a.png").read_bytes())
    db = tmp_path / "ix.db"
    _index(db, album)
    (album / "new").mkdir()
    os.rename(album / "a.png", album / "new" / "b.png")  # (each name now holds the other's row's bytes)
    os.rename(album / "b.png", album / "new" / "a.png")
    read, other = index_module.read_bytes, []

    def read_while_another_updates(path, *args, **kwargs):
        if not other:
            other.append(True)
            with monkeypatch.context() as mp:  # (the other process: its own order of the files)
                mp.setattr(index_module, "read_bytes", read)
                mp.setattr(index_module, "find_image_paths", lambda *a, **k: sorted(find(*a, **k), reverse=True))
                _index(db, album)
        return read(path, *args, **kwargs)

    find = index_module.find_image_paths
    monkeypatch.setattr(index_module, "read_bytes", read_while_another_updates)
    _index(db, album)
    assert other
    assert sorted(_rows(db)) == sorted(str(p) for p in (album / "new").iterdir())


def test_a_file_whose_bytes_stay_gets_its_new_state_without_its_row_written_again(tmp_path: Path, monkeypatch) -> None:
    """Files given a new mtime with the same bytes (restored from a backup that kept no dates; the places of
    'remove --link hard', hard links to their keepers' same bytes): each one's own row holds its bytes, yet the reuse
    copied that row's blobs onto itself (69 KB a photo with copies: a 100,000-photo library restored so rewrote
    6.9 GB of its index). Now the row only takes the file's new state."""
    album = tmp_path / "album"
    album.mkdir()
    for k in range(3):
        synthetic_photo(64, 48, k).save(album / f"p{k}.png")
    db = tmp_path / "ix.db"
    _index(db, album)
    before = _rows(db)
    for k in range(3):
        os.utime(album / f"p{k}.png", ns=(10**18 + k, 10**18 + k))
    written: list[str] = []
    store = Index._store

    def counted(self, batch, *args, **kwargs):
        written.extend(batch)
        return store(self, batch, *args, **kwargs)

    monkeypatch.setattr(Index, "_store", counted)
    stats = _index(db, album)
    assert (stats.changed, stats.reused, stats.encoded) == (3, 3, 0)
    assert written == []
    assert _rows(db) == before
    assert _index(db, album).unchanged == 3  # (the new state kept)
