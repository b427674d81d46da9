"""An attack pass on opening an index (12b1b23: an index already made is opened without a write or a lock): opens
racing each other, and an index file changed between its open and its use."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import synthetic_photo

from imagetwins.index import Index

pytestmark = pytest.mark.unit


def test_an_index_another_process_made_meanwhile_is_opened_not_made_again(tmp_path: Path, monkeypatch) -> None:
    """Two ``find`` runs of one new folder at once (its cache), or two ``index update --db NEW``: each looked at the
    file (empty) before taking the write lock, and the second to get it made the index again over the first's:
    'cannot use the index ...: UNIQUE constraint failed: meta.key' (4 processes opening one new file at once: 3 of
    them failed, 20 times in 20). The other process is run here between this open's look and its lock."""
    db = tmp_path / "new.db"
    transaction = Index._transaction
    others: list[list[str]] = []

    def another_process_first(self: Index) -> object:
        if not others:
            monkeypatch.setattr(Index, "_transaction", transaction)
            with Index(db, methods=["dhash"]) as other:
                others.append(other.stored_methods())
        return transaction(self)

    monkeypatch.setattr(Index, "_transaction", another_process_first)
    with Index(db, methods=["phash"]) as idx:
        assert others == [["dhash"]]
        assert idx.stats()["files"] == 0
    with Index(db, methods=["phash", "dhash"]) as idx:
        assert idx.stats()["files"] == 0


def test_a_file_another_update_deletes_during_a_load_is_left_out_not_called_damaged(tmp_path: Path,
                                                                                       monkeypatch) -> None:
    """``copies``' load lists the files, then reads their rows' heads chunk by chunk: an ``index update`` of another
    process between the two (a photo deleted, another moved into a sub-folder) left a listed row without a head,
    and the reader said of the deleted photo 'its stored copies encoding is damaged; imagetwins index update makes
    it again' (a warning of find --db, an error of Index.errors()). A row deleted meanwhile is left out."""
    folder = tmp_path / "album"
    folder.mkdir()
    for k in range(4):
        synthetic_photo(160, 120, seed=k).save(folder / f"p{k}.png")
    db = tmp_path / "album.db"
    with Index(db, methods=["copies"]) as idx:
        assert idx.update(folder).added == 4
    heads = Index._heads

    def another_update_first(self: Index, *args, **kwargs) -> object:
        monkeypatch.setattr(Index, "_heads", heads)
        (folder / "p0.png").unlink()
        (folder / "sub").mkdir()
        (folder / "p1.png").rename(folder / "sub" / "p1.png")
        with Index(db, methods=["copies"]) as other:
            stats = other.update(folder, recursive=True)
        assert (stats.removed, stats.reused) == (2, 1)
        return heads(self, *args, **kwargs)

    monkeypatch.setattr(Index, "_heads", another_update_first)
    with Index(db, methods=["copies"]) as idx:
        paths, rows = idx.load("copies")
        assert idx.damaged == {} and not idx.errors()
        assert len(paths) == len(rows) and str(folder / "p0.png") not in paths
        assert {Path(p).name for p in paths} == {"p1.png", "p2.png", "p3.png"}


def test_stats_of_an_index_deleted_while_open_is_a_count_not_a_traceback(tmp_path: Path) -> None:
    """``Index.stats`` stat'ed the file and its -wal after asking whether the -wal was there: the last connection
    of another process deletes the -wal as it closes, and 'cache clear' deletes the file of an index still open;
    either was a FileNotFoundError out of stats() (index stats). What is gone counts 0 bytes."""
    folder = tmp_path / "album"
    folder.mkdir()
    synthetic_photo(96, 72).save(folder / "a.png")
    db = tmp_path / "album.db"
    with Index(db, methods=["phash"]) as idx:
        idx.update(folder)
        for q in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            q.unlink(missing_ok=True)
        stats = idx.stats()
        assert (stats["files"], stats["bytes"]) == (1, 0)


def test_the_repr_of_an_index_with_edited_method_names_is_one_safe_line(tmp_path: Path) -> None:
    """An index file someone else made or edited (shared with the photos): its ``encoders`` rows are whatever they
    wrote. The repr (1473ecc) put a method's name in raw, so printing the index in a notebook or a REPL sent an
    escape sequence and a forged second line to the terminal, and a name stored as a BLOB made the repr raise
    TypeError ('a repr never raises')."""
    import sqlite3

    db = tmp_path / "shared.db"
    folder = tmp_path / "photos"
    folder.mkdir()
    synthetic_photo(64, 48, seed=1).save(folder / "a.png")
    with Index(db) as idx:
        idx.update(folder)
    con = sqlite3.connect(db)
    con.execute("INSERT INTO encoders (method, identity) VALUES (?, '{}')", ("x\x1b[2J\n<Index 'fake'>",))
    con.execute("INSERT INTO encoders (method, identity) VALUES (?, '{}')", (b"\xff\x00blob",))
    con.commit()
    con.close()
    for readonly in (True, False):
        idx = Index(db, readonly=readonly)
        try:
            shown = repr(idx)
        finally:
            idx.close()
        assert shown.isprintable() and "\n" not in shown and "\x1b" not in shown, shown
        assert "x\\x1b[2J\\n<Index 'fake'>" in shown and "1 file" in shown


def test_saves_of_one_picture_another_update_changes_during_a_find_are_no_traceback(tmp_path: Path,
                                                                                    monkeypatch) -> None:
    """``find --db`` of a folder holding one picture saved with other bytes (same pixels, another PNG text chunk):
    an ``index update`` of another process between the load and the search (one save replaced by another picture)
    left the loaded row's stored features unreadable ('the stored copies encoding changed during the run', a
    ValueError), and two readers of the features that every such row goes through raised it: the same-pixels join
    (``copies.first_of_equal_records``, 2dd24bb) and the flat-picture look at hash-sure pairs (``copies.flat_tone``'s
    header read). Now that row is a row of its own, its pairs said once as not verified, as every damaged row's."""
    from PIL import PngImagePlugin

    from imagetwins import copies
    from imagetwins.encoders import copies as copies_encoder
    from imagetwins.finder import find
    from imagetwins.session import open_session

    folder = tmp_path / "album"
    folder.mkdir()
    picture = synthetic_photo(160, 120, seed=3)
    for k in range(4):
        info = PngImagePlugin.PngInfo()
        info.add_text("save", str(k))
        picture.save(folder / f"s{k}.png", pnginfo=info)
    db = tmp_path / "album.db"
    with Index(db, methods=["copies"]) as idx:
        assert idx.update(folder).added == 4
    real = copies.first_of_equal_records

    def another_update_first(rows, same_as=None):
        synthetic_photo(160, 120, seed=9).save(folder / "s1.png")
        with Index(db, methods=["copies"]) as other:
            assert other.update(folder).changed == 1
        return real(rows, same_as)

    monkeypatch.setattr(copies_encoder.copies, "first_of_equal_records", another_update_first)
    with open_session(methods=["copies"], db=db) as session, \
            pytest.warns(UserWarning, match="s1.png: its pairs could not be verified"):
        result = find(folder, method="copies", session=session, decisions=False)
    assert {Path(p).name for g in result.groups for p in g.files} >= {"s0.png", "s2.png", "s3.png"}
