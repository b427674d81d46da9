"""Confusions a stranger met using the command line (cliquirks, session 15): each reproduced first, then fixed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main

pytestmark = pytest.mark.cli

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"


def _classes(root: Path) -> Path:
    """``root`` holding only class sub-folders (``beach/``, ``city/``), as a data set's test split is laid out."""
    for name in ("beach", "city"):
        (root / name).mkdir(parents=True)
        shutil.copy(EXAMPLES / f"{name}.jpg", root / name / f"{name}.jpg")
    return root


def test_a_check_that_read_nothing_says_the_error_alone(tmp_path: Path) -> None:
    """``check test/ --against train/`` without -r on class sub-folders printed "0 matches: 0 of 0 images in test
    have a duplicate among ..." on stdout before "error: no image read in test (try --recursive)": a result line for
    a check that compared nothing. Now the error line (with its hint) alone, in check, find --against and index
    query, on whichever side read nothing; a check that compared something keeps its summary."""
    test, train = _classes(tmp_path / "test"), tmp_path / "train"
    train.mkdir()
    shutil.copy(EXAMPLES / "beach.jpg", train / "beach.jpg")
    db = tmp_path / "train.db"
    assert CliRunner().invoke(main, ["index", "update", str(train), "--db", str(db), "-m", "phash"]).exit_code == 0
    for command, empty in ((["check", str(test), "--against", str(train)], test),
                           (["find", str(test), "--against", str(train)], test),
                           (["check", str(train), "--against", str(test)], test),
                           (["index", "query", str(test), "--db", str(db)], test)):
        res = CliRunner().invoke(main, command)
        assert res.exit_code == 1, (command, res.output)
        assert res.stdout == "", (command, res.stdout)
        assert f"error: no image read in {empty} (try --recursive)" in res.stderr.splitlines(), (command, res.stderr)
    res = CliRunner().invoke(main, ["check", str(test), "--against", str(train), "-r"])
    assert res.exit_code == 3 and "1 match: 1 of 2 images in" in res.stdout, res.output
