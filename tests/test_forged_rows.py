"""A stored pair score decides what ``remove`` moves: a re-shot kept as 2-3 (``scores.stored_score``) is never a copy.
An attacker (or a person "fixing" the cache) who edits the row in SQLite to a valid-looking copy's confidence (2.5 ->
0.99) made the re-shot a copy, and ``remove`` moved one of the two captures. Every stored row is signed
(:mod:`imagetwins.rowkeys`): an edited row is no score, its pair checked again.

holidays-half 126400/126402: a zoomed re-shot of one sunset, called a re-shot by ``copies`` (test_files_look.py)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from imagetwins.candidates import CandidateState
from imagetwins.cli import main
from imagetwins.index import Index, default_cache_path
from imagetwins.scores import from_stored

pytestmark = pytest.mark.cli

OUTER, INNER = "126400.jpg", "126402.jpg"


@pytest.fixture()
def sunset(datasets: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "sunset"
    folder.mkdir()
    for name in (OUTER, INNER):
        shutil.copyfile(datasets / "holidays-half" / "images" / name, folder / name)
    return folder


def _remove(folder: Path, *args: str):
    return CliRunner().invoke(main, ["remove", str(folder), "--apply", "--move-to", str(folder.parent / "q"), *args])


def _sql(db: Path, statement: str, args=()) -> list:
    with closing(sqlite3.connect(db)) as con, con:
        return con.execute(statement, args).fetchall()


def _kept_reshot(folder: Path) -> float:
    """Find once (a dry run of remove: nothing moves), and the one stored row of the pair: a re-shot's 2-3."""
    res = CliRunner().invoke(main, ["remove", str(folder)])
    assert res.exit_code == 0, res.output
    [(score,)] = _sql(default_cache_path(folder), "SELECT score FROM pair_scores WHERE method = 'copies'")
    assert 2 <= score <= 3
    return score


def test_a_stored_re_shot_edited_into_a_copy_moves_nothing(sunset: Path) -> None:
    _kept_reshot(sunset)
    cache = default_cache_path(sunset)
    # the attack: the row says copy 0.99; the candidate search's own copy of the confidence dropped
    _sql(cache, "UPDATE pair_scores SET score = 0.99 WHERE method = 'copies'")
    _sql(cache, "DELETE FROM candidates")
    res = _remove(sunset)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in sunset.iterdir()) == [OUTER, INNER]
    # checked again: the row holds the re-shot once more, signed
    [(score,)] = _sql(cache, "SELECT score FROM pair_scores WHERE method = 'copies'")
    assert 2 <= score <= 3


def test_a_row_copied_from_another_pair_or_method_is_no_score(sunset: Path) -> None:
    """A valid row's score and tag moved onto another pair (or another version) do not sign it: the tag covers the
    method, version and both contents."""
    _kept_reshot(sunset)
    cache = default_cache_path(sunset)
    [(a, b, version, tag)] = _sql(cache, "SELECT a, b, version, tag FROM pair_scores")
    with Index(cache) as index:
        assert index.get_pair_scores("copies", version, [(a, b)])  # the row as stored is read
    _sql(cache, "UPDATE pair_scores SET a = ?, b = ?", (b, a))  # the same row, its pair swapped
    with Index(cache) as index:
        assert index.get_pair_scores("copies", version, [(b, a)]) == {}
    _sql(cache, "UPDATE pair_scores SET a = ?, b = ?, version = 'x'", (a, b))
    with Index(cache) as index:
        assert index.get_pair_scores("copies", "x", [(a, b)]) == {}


def test_an_edited_candidate_state_is_no_state(sunset: Path) -> None:
    """The kept candidate search holds each scored pair's confidence too (candidates.py): rewritten with the re-shot
    made a copy (and the pair-score row dropped, so only the state holds it), it is not read; nothing moves."""
    _kept_reshot(sunset)
    cache = default_cache_path(sunset)
    [(blob,)] = _sql(cache, "SELECT value FROM candidates WHERE method = 'copies'")
    state = CandidateState.from_bytes(blob)
    assert len(state.pair_conf) == 1 and from_stored(state.pair_conf)[0][0] <= 1 < abs(state.pair_conf[0])
    state.pair_conf = np.full(1, 0.99, np.float32)
    _sql(cache, "UPDATE candidates SET value = ?", (state.to_bytes(),))
    _sql(cache, "DELETE FROM pair_scores")
    res = _remove(sunset)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in sunset.iterdir()) == [OUTER, INNER]


def test_an_index_of_another_user_key_is_checked_again(sunset: Path, tmp_path: Path, monkeypatch) -> None:
    """A ``--db`` someone handed over (signed under their key) holding a forged copy row moves nothing either."""
    db = tmp_path / "theirs.db"
    res = CliRunner().invoke(main, ["index", "update", str(sunset), "--db", str(db), "-m", "copies"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["find", str(sunset), "--db", str(db)])
    assert res.exit_code == 0, res.output
    # theirs: another data folder, another key; they edit the row and re-sign it with their key
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "their-data"))
    from imagetwins.rowkeys import row_tag

    [(a, b, version)] = _sql(db, "SELECT a, b, version FROM pair_scores")
    _sql(db, "UPDATE pair_scores SET score = 0.99, tag = ?", (row_tag("copies", version, a, b, 0.99),))
    _sql(db, "DELETE FROM candidates")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "my-data"))
    res = CliRunner().invoke(main, ["find", str(sunset), "--db", str(db), "--json", "-"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["groups"] == []
    [(score,)] = _sql(db, "SELECT score FROM pair_scores")
    assert 2 <= score <= 3  # checked again, and kept under my key


def test_rows_of_an_index_made_before_tags_are_signed_once_when_opened_to_write(sunset: Path) -> None:
    """An index made before rows were signed keeps its pair scores (the 100,000-picture index re-verified nothing):
    the writable open that adds the tag column signs the rows it holds; a row without a tag after that is no score."""
    score = _kept_reshot(sunset)
    cache = default_cache_path(sunset)
    with closing(sqlite3.connect(cache)) as con, con:  # as an imagetwins before tags left it
        con.execute("ALTER TABLE pair_scores DROP COLUMN tag")
        con.execute("ALTER TABLE candidates DROP COLUMN tag")
        con.execute("DELETE FROM meta WHERE key LIKE 'signed:%'")
    [(a, b, version)] = _sql(cache, "SELECT a, b, version FROM pair_scores")
    with Index(cache, readonly=True) as index:  # read-only: nothing signed, nothing trusted
        assert index.get_pair_scores("copies", version, [(a, b)]) == {}
        assert index.get_candidate_state("copies") is None
    with Index(cache) as index:
        assert index.get_pair_scores("copies", version, [(a, b)]) == {(a, b): score}
        assert index.get_candidate_state("copies") is not None
    _sql(cache, "UPDATE pair_scores SET tag = NULL, score = 0.99")
    with Index(cache) as index:
        assert index.get_pair_scores("copies", version, [(a, b)]) == {}


def test_odd_rows_of_an_index_made_before_tags_do_not_refuse_it(sunset: Path) -> None:
    """The one-time signing ran each row through a Python function in SQL: a row it could not take (a digest stored as
    a number, a method name that is not UTF-8: a damaged file, another tool's edit) raised in it, and the whole index
    was refused ("user-defined function raised exception") where an imagetwins before tags read it. Such rows are
    signed as the bytes they hold (never a score: a digest is bytes), the others as before."""
    score = _kept_reshot(sunset)
    cache = default_cache_path(sunset)
    with closing(sqlite3.connect(cache)) as con, con:  # as an imagetwins before tags left it, with two odd rows
        con.execute("ALTER TABLE pair_scores DROP COLUMN tag")
        con.execute("ALTER TABLE candidates DROP COLUMN tag")
        con.execute("DELETE FROM meta WHERE key LIKE 'signed:%'")
        con.execute("INSERT INTO pair_scores VALUES ('copies', 5, x'00', 'v', 0.5)")
        con.execute("INSERT INTO pair_scores VALUES (CAST(x'ff00' AS TEXT), x'01', x'02', 'v', 0.5)")
    [(a, b, version)] = _sql(cache, "SELECT a, b, version FROM pair_scores WHERE typeof(a) = 'blob' AND "
                                    "method = 'copies'")
    with Index(cache) as index:
        assert index.get_pair_scores("copies", version, [(a, b)]) == {(a, b): score}
        assert index.get_candidate_state("copies") is not None
    assert _sql(cache, "SELECT count(*) FROM pair_scores WHERE tag IS NULL") == [(0,)]


def test_a_tag_column_dropped_by_hand_signs_nothing_when_added_again(sunset: Path) -> None:
    """The one-time signing of an older index's rows is not a way in: the column dropped by hand (SQLite's ALTER TABLE
    DROP COLUMN), the row edited, the next writable open adds the column and signs nothing (meta ``signed:TABLE``)."""
    _kept_reshot(sunset)
    cache = default_cache_path(sunset)
    [(a, b, version)] = _sql(cache, "SELECT a, b, version FROM pair_scores")
    with closing(sqlite3.connect(cache)) as con, con:
        con.execute("ALTER TABLE pair_scores DROP COLUMN tag")
        con.execute("UPDATE pair_scores SET score = 0.99")
    with Index(cache) as index:
        assert index.get_pair_scores("copies", version, [(a, b)]) == {}
    res = _remove(sunset)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in sunset.iterdir()) == [OUTER, INNER]


def test_a_key_others_can_read_is_not_used(sunset: Path, tmp_path: Path, monkeypatch) -> None:
    """A key file others may read (or a FIFO, a link) is no key: this run's own key signs, one warning says the kept
    scores are trusted by this run only, and a forged row is still no score."""
    from imagetwins import rowkeys
    from imagetwins.userdirs import data_folder

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    key = data_folder() / rowkeys.KEY_NAME
    key.parent.mkdir(parents=True)
    key.write_bytes(b"k" * 32)
    key.chmod(0o644)
    with pytest.warns(UserWarning, match="trusted by this run only.*chmod 600.*or delete it"):
        tag = rowkeys.row_tag("copies", "v", b"a", b"b", 0.5)
    assert rowkeys.row_key() != b"k" * 32 and rowkeys.row_tag_ok(tag, "copies", "v", b"a", b"b", 0.5)
    assert not rowkeys.row_tag_ok(tag, "copies", "v", b"a", b"b", 0.99)
    key.unlink()
    os.mkfifo(key, 0o600)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data" / ".." / "data"))  # (another path: read again)
    with pytest.warns(UserWarning, match="trusted by this run only"):
        rowkeys.row_key()
