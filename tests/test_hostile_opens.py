"""An attack pass on opening an index (12b1b23: an index already made is opened without a write or a lock): opens
racing each other, and an index file changed between its open and its use."""

from __future__ import annotations

from pathlib import Path

import pytest

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
