"""Opening an index file while another program holds it or its ``-wal`` is missing: the read-only open's fallback
(locks.read_only_connection) and an index copied without the ``-wal`` a run kept its tables in."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

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
