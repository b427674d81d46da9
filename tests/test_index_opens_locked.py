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
