"""Opening an index file while another program holds it or its ``-wal`` is missing: the read-only open's fallback
(locks.read_only_connection) and an index copied without the ``-wal`` a run kept its tables in."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from index_files import older_imagetwins_making

from imagetwins import locks
from imagetwins.index import Index, IndexFileError

pytestmark = pytest.mark.unit


def test_an_index_another_program_holds_locked_is_not_read_past_its_lock(tmp_path: Path, monkeypatch) -> None:
    """Any error of the read-only open fell back to ``immutable=1``, 'database is locked' too: the index was read
    with no lock and without the rows the holder had stored in its ``-wal``. Now the lock is waited for (here 0.3 s)
    and then said; a read-only folder (nothing can be kept beside the file) still reads it ``immutable=1``."""
    db = tmp_path / "photos.db"
    Index(db, methods=["phash"]).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")  # (another program keeping the file to itself)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO meta VALUES ('written by the holder', '1')")
    holder.execute("COMMIT")
    monkeypatch.setattr(locks, "_READ_WAIT", 0.3)
    try:
        with pytest.raises(IndexFileError, match="locked") as caught:
            Index(db, readonly=True).close()
        assert str(db) in str(caught.value)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            locks.read_only_connection(db).close()
    finally:
        holder.close()
    with Index(db, readonly=True) as idx:
        assert idx.db.execute("SELECT value FROM meta WHERE key = 'written by the holder'").fetchone() == ("1",)


def test_index_and_its_decision_store_follow_one_link_and_one_name_rule(tmp_path: Path) -> None:
    """Index, DecisionStore and cli/decisions.store_for each wrote out which links an index is used through and why
    a file with two names is never written (locks.link_refused, locks.several_names): a link is used by all three
    exactly where Index opens an index through it, and a second name refuses both writers with one reason."""
    import os

    from imagetwins.cli.decisions import store_for
    from imagetwins.decisions import DecisionStore, DecisionStoreError

    index_file = tmp_path / "photos.db"
    Index(index_file, methods=["phash"]).close()
    (tmp_path / "empty.db").write_bytes(b"")
    os.mkfifo(tmp_path / "fifo")
    targets = {"index": index_file, "nothing": tmp_path / "gone.db", "an empty file": tmp_path / "empty.db",
               "something that is not a file": tmp_path / "fifo", "a loop": tmp_path / "loop"}
    for what, target in targets.items():
        link = tmp_path / f"link to {what}"
        link.symlink_to(target)
        if what == "a loop":
            target.symlink_to(link)
        try:
            Index(link, methods=["phash"]).close()
            opened = True
        except IndexFileError as exc:
            opened = False
            assert "symbolic link" in str(exc) or "FIFO" in str(exc), (what, exc)
        assert opened == (what == "index"), what
        assert (locks.link_refused(link) is None) == opened, what
        assert (store_for(link).path == index_file.resolve()) == opened, what
    other = tmp_path / "same.db"
    os.link(index_file, other)
    reason = locks.several_names(os.stat(other))
    assert reason is not None and "2 names (hard links)" in reason
    with Index(other, methods=["phash"]) as idx:
        assert idx.unwritable == reason
    with pytest.raises(DecisionStoreError) as caught:
        DecisionStore(other).forget()
    assert reason in str(caught.value) and "nothing was written" in str(caught.value)
    assert locks.several_names(os.stat(tmp_path / "empty.db")) is None


def test_an_index_copied_without_the_wal_its_tables_were_in_is_said_not_made_again(tmp_path: Path) -> None:
    """A copy of an index file (alone) taken while the run that made it kept its tables in the -wal beside it: the
    copy holds imagetwins's mark and no table, and opening it to write quietly made a new, empty index in it, as if
    it were one being made. Now one line says what it is; the file is left byte for byte as it was. The file
    imagetwins makes now carries its mark and its tables in one commit, so a copy of it taken at any moment holds
    its tables (what the run had stored is in them or in the -wal: a consistent, older index)."""
    import shutil

    from imagetwins.index import IndexDamagedError

    made = tmp_path / "older.db"
    holder = older_imagetwins_making(made)
    try:
        copy = tmp_path / "copy.db"
        shutil.copyfile(made, copy)
    finally:
        holder.close()
    before = copy.read_bytes()
    for readonly in (True, None, False):  # (the read-only open first: it leaves an empty -wal beside it)
        with pytest.raises(IndexDamagedError, match="copied without its copy.db-wal") as caught:
            Index(copy, methods=["phash"], readonly=readonly).close()
        assert "left untouched" in str(caught.value)
    assert copy.read_bytes() == before
    assert not (tmp_path / "copy.db-wal").exists() or (tmp_path / "copy.db-wal").stat().st_size == 0

    new = tmp_path / "new.db"
    with Index(new, methods=["phash"]) as idx:  # (open: a run still holding it)
        copy = tmp_path / "copy of new.db"
        shutil.copyfile(new, copy)
        with Index(copy, methods=["phash"]) as copied:  # (its methods were registered after: in the -wal)
            assert copied.stats()["files"] == 0
            assert copied.db.execute("SELECT value FROM meta WHERE key = 'created'").fetchone() == \
                idx.db.execute("SELECT value FROM meta WHERE key = 'created'").fetchone()


def test_an_index_an_older_imagetwins_was_killed_making_is_made_there_not_refused(tmp_path: Path) -> None:
    """The same marked file with the -wal of the run making it beside it, that run killed by ``kill -9`` before its
    tables were committed: opened and made, as before (an empty -wal, which a read-only open of a copy leaves, is no
    run's: the copy above is still refused after one)."""
    import subprocess
    import sys

    from imagetwins.index import APPLICATION_ID

    db = tmp_path / "older.db"
    killed = subprocess.run([sys.executable, "-c", f"""
import os, sqlite3
con = sqlite3.connect({str(db)!r}, isolation_level=None)
con.execute("PRAGMA application_id = {APPLICATION_ID}")
con.execute("PRAGMA journal_mode=WAL")
con.execute("PRAGMA cache_size=1")  # (its pages spill into the -wal before the commit)
con.execute("BEGIN IMMEDIATE")
con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
con.executemany("INSERT INTO meta VALUES (?, ?)", ((str(i), 'x' * 500) for i in range(200)))
os.kill(os.getpid(), 9)
"""], timeout=60)
    assert killed.returncode == -9
    assert Path(f"{db}-wal").stat().st_size > 0
    with Index(db, methods=["phash"]) as idx:
        assert idx.stored_methods() == ["phash"]
        assert idx.integrity_check() == "ok"


def test_an_index_a_stopped_run_left_half_written_is_not_read_as_it_is(tmp_path: Path) -> None:
    """A run killed (``kill -9``) while it wrote a new index in the file's own journal (its pages half written, the
    ``-journal`` beside it holding what was there): a read-only open cannot put the journal back, and the fallback
    to ``immutable=1`` read the half-written pages ('is not an imagetwins index (not an SQLite file)', or rows that
    were never committed). Now one line says so and what to do; an open that may write puts the journal back."""
    import subprocess
    import sys

    if sqlite3.sqlite_version_info < (3, 22) or sys.version_info < (3, 11):
        pytest.skip("needs SQLite's READONLY_ROLLBACK code (Python 3.11's sqlite_errorcode)")
    db = tmp_path / "new.db"
    killed = subprocess.run([sys.executable, "-c", f"""
import os, sqlite3
con = sqlite3.connect({str(db)!r}, isolation_level=None)
con.execute("PRAGMA cache_size=1")  # (its pages go into the file before the commit)
con.execute("BEGIN IMMEDIATE")
con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
con.executemany("INSERT INTO meta VALUES (?, ?)", ((str(i), 'x' * 500) for i in range(200)))
os.kill(os.getpid(), 9)
"""], timeout=60)
    assert killed.returncode == -9 and db.stat().st_size > 0 and Path(f"{db}-journal").stat().st_size > 0
    with pytest.raises(IndexFileError, match="half-written by a run stopped while writing it") as caught:
        Index(db, readonly=True).close()
    assert "new.db-journal" in str(caught.value) and "not an SQLite file" not in str(caught.value)
    with Index(db, methods=["phash"]) as idx:  # (the journal put back: an empty file, made an index)
        assert idx.stored_methods() == ["phash"] and idx.integrity_check() == "ok"
    assert not Path(f"{db}-journal").exists()


@pytest.mark.parametrize("beside", ["-journal", "-wal", "-shm"])
def test_a_fifo_beside_an_index_is_named_never_waited_on(tmp_path: Path, beside: str) -> None:
    """A FIFO at the index's ``-journal`` name: SQLite's look for a hot journal read it and waited for ever, on every
    open (to read or to write, the index or the decisions kept in it). Now each open says what is beside the file in
    one line and leaves it; a FIFO at ``-wal`` or ``-shm`` is said the same way (it was read as an empty -wal, or 'disk
    I/O error'). Each open runs on a thread of its own, given 20 s."""
    import os
    import threading

    from imagetwins.decisions import DecisionStore, DecisionStoreError

    db = tmp_path / "photos.db"
    Index(db, methods=["phash"]).close()
    fifo = Path(f"{db}{beside}")
    os.mkfifo(fifo)
    opens = {"to write": lambda: Index(db, methods=["phash"]).close(),
             "to read": lambda: Index(db, readonly=True).close(),
             "its decisions, to write": lambda: DecisionStore(db).forget(),
             "its decisions, to read": lambda: DecisionStore(db).load()}
    for what, open_it in opens.items():
        said: list[BaseException] = []

        def run(open_it=open_it, said=said) -> None:
            try:
                open_it()
            except (IndexFileError, DecisionStoreError) as exc:
                said.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(20)
        assert not thread.is_alive(), f"the open {what} waited on the FIFO at {fifo.name}"
        assert len(said) == 1 and f"{fifo.name} beside it is a FIFO" in str(said[0]), (what, said)
    assert fifo.is_fifo()


def test_a_fifo_beside_a_cache_an_index_takes_rows_from_is_never_waited_on(tmp_path: Path) -> None:
    """An index made beside a folder's cache (``find DIR --db FILE``) takes its rows from that cache, opened to read:
    that open was SQLite's own (``mode=ro``), not :func:`locks.read_only_connection`, and a FIFO at the cache's
    ``-journal`` hung the run for ever. Now that cache is passed over (its rows encoded again) in its turn."""
    import os
    import threading

    from conftest import synthetic_photo

    folder = tmp_path / "photos"
    folder.mkdir()
    for seed in (1, 2):
        synthetic_photo(seed=seed).save(folder / f"{seed}.jpg")
    cache = tmp_path / "cache.db"
    with Index(cache, methods=["phash"]) as index:
        index.update(folder, workers=1)
    os.mkfifo(f"{cache}-journal")
    stats = []

    def update() -> None:
        with Index(tmp_path / "catalogue.db", methods=["phash"]) as index:
            index.donors = [cache]
            stats.append(index.update(folder, workers=1))

    thread = threading.Thread(target=update, daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the update waited on the FIFO beside the cache it takes rows from"
    assert stats and stats[0].added == 2
