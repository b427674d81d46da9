"""A decision store written before a skip kept byte copies (108e201) has no row for a byte copy of a skipped
group's keeper: with such a store, the next ``remove`` moved the copy the person had said to keep. Opened now, the
store is brought up to date (every content of a ``skip`` row is left alone with itself); one that cannot be written
gets the same rows in memory. The store here was written by that older code (tests/fixtures: its SQL dump)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.decisions import FORMAT, DecisionStore, default_store_path

OLD_STORE = Path(__file__).parent / "fixtures" / "decisions_before_self_rows.sql"
B = "acc92f6a67a34b025d06d3c25c78128f"  # b.jpg and b_copy.jpg (ukbench00120.jpg)
B_GRAY = "1b4ae17b52281440bcca8b94c6cba913"


def _old_store(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.executescript(OLD_STORE.read_text())
    db.close()
    return path


def _rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT a, b, verdict FROM remembered_decisions ORDER BY a, b").fetchall()
    db.close()
    return rows


@pytest.mark.unit
def test_an_older_store_is_brought_up_to_date_once_when_opened(tmp_path: Path) -> None:
    path = _old_store(tmp_path / "decisions.db")
    assert _rows(path) == [(B_GRAY, B, "skip")]
    remembered = DecisionStore(path).load([B, B_GRAY])
    assert remembered.verdict(B, B) == ("skip", None) and remembered.verdict(B_GRAY, B_GRAY) == ("skip", None)
    assert _rows(path) == [(B_GRAY, B_GRAY, "skip"), (B_GRAY, B, "skip"), (B, B, "skip")]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM remembered_decisions_format").fetchall() == [(FORMAT,)]
    db.close()
    # once: a self row forgotten since is not made again by the next open
    assert DecisionStore(path).forget([B_GRAY]) == 2
    assert DecisionStore(path).load().pairs == {(B, B): ("skip", None)}
    assert _rows(path) == [(B, B, "skip")]


@pytest.mark.unit
def test_a_new_store_is_not_changed_and_writing_an_older_one_brings_it_up_to_date(tmp_path: Path) -> None:
    from imagetwins.decisions import Record

    new = DecisionStore(tmp_path / "new.db")
    new.remember([Record.of(B, B_GRAY, "skip")])  # (a skip of two contents alone: no byte copies in the group)
    assert DecisionStore(new.path).load().pairs == {(B_GRAY, B): ("skip", None)}
    old = _old_store(tmp_path / "old.db")
    DecisionStore(old).remember([Record.of("0" * 32, "f" * 32, "not_duplicate")])
    assert (B, B, "skip") in _rows(old)


@pytest.mark.unit
def test_an_older_store_that_cannot_be_written_gets_the_rows_in_memory(tmp_path: Path, monkeypatch) -> None:
    path = _old_store(tmp_path / "decisions.db")
    before = path.read_bytes()

    def read_only(db):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(DecisionStore, "_upgrade", staticmethod(read_only))
    store = DecisionStore(path)
    assert store.load([B]).verdict(B, B) == ("skip", None)  # (B_GRAY not scanned: the copies of B still kept)
    assert store.legacy and path.read_bytes() == before
    assert sorted((r.a, r.b) for r in store.records()) == [(B_GRAY, B_GRAY), (B_GRAY, B), (B, B)]


@pytest.mark.cli
def test_remove_with_an_older_store_keeps_the_skipped_groups_byte_copy(tmp_path: Path, datasets: Path) -> None:
    """The old code's skip of {b, b_copy, b_gray}: the remove that follows moved b_copy.jpg (the current code before
    this fix did too); now the three stay, and the other group goes as the keep rule says."""
    from imagetwins.cli import main

    data = datasets / "imagededup-testdata"
    album = tmp_path / "album"
    album.mkdir()
    for src, name in ((data / "base_images/ukbench00120.jpg", "b.jpg"), (data / "base_images/ukbench00120.jpg",
                      "b_copy.jpg"), (data / "ukbench00120_gray.jpg", "b_gray.jpg"),
                      (data / "base_images/ukbench09380.jpg", "c.jpg"), (data / "base_images/ukbench09380.jpg",
                                                                         "c_copy.jpg")):
        shutil.copy(src, album / name)
    _old_store(default_store_path())
    run = CliRunner().invoke
    res = run(main, ["remove", str(album), "--apply", "--move-to", str(tmp_path / "q")])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in album.iterdir()) == ["b.jpg", "b_copy.jpg", "b_gray.jpg", "c.jpg"]
    listed = run(main, ["decisions", "list"]).output
    assert listed.count("every byte copy kept") == 2, listed


@pytest.mark.unit
def test_a_format_table_edited_into_nonsense_is_brought_up_to_date_again(tmp_path: Path) -> None:
    path = _old_store(tmp_path / "decisions.db")
    DecisionStore(path).load()
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM remembered_decisions WHERE a = b")
        db.execute("UPDATE remembered_decisions_format SET version = 'two'")
    db.close()
    assert DecisionStore(path).load().verdict(B, B) == ("skip", None)  # (only ever more kept)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM remembered_decisions_format").fetchall() == [(FORMAT,)]
    db.close()
