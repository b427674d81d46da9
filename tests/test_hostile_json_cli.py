"""JSON nested too deeply for Python's parser (``[[[[...``) in the files imagetwins reads back and anyone may have
edited: a quarantine's journal, an output folder's mark, an index's rows. Each was a ``RecursionError``, which every
``except ValueError`` let through as a traceback; now it is malformed text like any other."""

from __future__ import annotations

import shutil
from pathlib import Path

import index_files
import pytest
from click.testing import CliRunner
from conftest import synthetic_photo

from imagetwins.cli import main

pytestmark = pytest.mark.cli

DEEP = b"[" * 100_000 + b"]" * 100_000


def _run(*args: str) -> str:
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in res.output and not isinstance(res.exception, RecursionError), res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res.output


@pytest.fixture
def album(tmp_path: Path) -> Path:
    """Two byte-identical pictures and one other."""
    album = tmp_path / "album"
    album.mkdir()
    synthetic_photo(96, 64, 0).save(album / "a.png")
    shutil.copy(album / "a.png", album / "a copy.png")
    synthetic_photo(96, 64, 1).save(album / "b.png")
    return album


def test_undo_skips_a_journal_line_nested_too_deeply_and_restores_the_rest(album: Path, tmp_path: Path) -> None:
    q = tmp_path / "q"
    _run("remove", album, "-m", "phash", "--apply", "--move-to", q, "--no-cache")
    assert not (album / "a copy.png").exists()
    journal = q / "manifest.jsonl"
    journal.write_bytes(DEEP + b"\n" + journal.read_bytes())
    out = _run("undo", journal)
    assert "line 1: malformed journal line: skipped" in out
    assert (album / "a copy.png").read_bytes() == (album / "a.png").read_bytes()


def test_a_quarantine_whose_journal_ends_in_a_cut_deep_line_takes_the_next_run(album: Path, tmp_path: Path) -> None:
    q = tmp_path / "q"
    _run("remove", album, "-m", "phash", "--apply", "--move-to", q, "--no-cache")
    (album / "a copy.png").write_bytes((album / "a.png").read_bytes())  # (the copy again, for a second run)
    journal = q / "manifest.jsonl"
    with open(journal, "ab") as fh:
        fh.write(DEEP)  # (no newline: a cut last line)
    out = _run("remove", album, "-m", "phash", "--apply", "--move-to", q, "--no-cache")
    assert "moved 1 file" in out and not (album / "a copy.png").exists()


def test_a_page_folder_whose_mark_is_nested_too_deeply_is_written(tmp_path: Path, monkeypatch) -> None:
    from imagetwins import report
    from imagetwins.outputmark import OUTPUT_FOLDER_MARK

    monkeypatch.setattr(report, "EMBED_MAX_GROUPS", 1)  # (thumbnails in review_files/ past one group)
    album = tmp_path / "album"
    album.mkdir()
    for k in range(3):
        synthetic_photo(96, 64, k).save(album / f"p{k}.png")
        shutil.copy(album / f"p{k}.png", album / f"p{k} copy.png")
    page = tmp_path / "review.html"
    _run("report", album, "-m", "phash", "-o", page, "--no-cache")
    (tmp_path / "review_files" / OUTPUT_FOLDER_MARK).write_bytes(DEEP)
    _run("report", album, "-m", "phash", "-o", page, "--no-cache")
    assert len(list((tmp_path / "review_files").glob("*.jpg"))) == 3
    assert "3 duplicate groups" in _run("find", tmp_path, "-r", "-m", "phash", "--no-cache")


def test_an_index_whose_rows_are_nested_too_deeply_is_read_as_damaged(album: Path, tmp_path: Path) -> None:
    db = tmp_path / "album.db"
    _run("index", "update", album, "--db", db)
    index_files.set_json_values(db, DEEP)
    out = _run("find", album, "--db", db)
    assert "1 duplicate group" in out
