"""Hostile input to the library-keeping features (remembered decisions, plans, folder moves, sidecars), found by
attacking them on real files: each case gives one line and exit 1, never a traceback, a hang or a lost file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main

pytestmark = pytest.mark.cli

K1, K2 = "a" * 32, "b" * 32
REPO = Path(__file__).resolve().parent.parent


def run(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def photos(tmp_path: Path, datasets: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:2]:
        shutil.copy(p, root / p.name)
    return root


def _no_traceback(res) -> None:
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output


def test_deeply_nested_json_is_one_line(tmp_path: Path, photos: Path) -> None:
    """A plan or export nested 100,000 deep: was a RecursionError traceback from import and remove --plan."""
    deep = tmp_path / "deep.json"
    deep.write_text('{"imagetwins_plan": 1, "groups": ' + "[" * 100_000 + "]" * 100_000 + "}")
    for args in (("decisions", "import", deep), ("remove", photos, "--plan", deep)):
        res = run(*args)
        _no_traceback(res)
        assert res.exit_code == 1 and "nested too deeply" in res.output, res.output
    assert sorted(os.listdir(photos)) == sorted(p.name for p in photos.iterdir())


def test_fifo_as_plan_or_export_is_refused_at_once(tmp_path: Path, photos: Path) -> None:
    """A FIFO named as the plan or the export: was a hang for ever (read_text waited for a writer)."""
    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    for args in (("decisions", "import", fifo), ("remove", photos, "--plan", fifo)):
        try:
            proc = subprocess.run([sys.executable, "-m", "imagetwins", *map(str, args)], capture_output=True,
                                  text=True, timeout=120, env=env)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{args[0]} waited on a FIFO")
        assert proc.returncode == 1 and "FIFO" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("made", ["1e999", "-1e18", "NaN", '"yesterday"', "true"])
def test_export_with_impossible_time_does_not_poison_the_store(tmp_path: Path, made: str) -> None:
    """An export whose 'made' is 1e999 or -1e18 was imported, and every later 'decisions list' was a traceback
    (OverflowError / OSError from localtime)."""
    export = tmp_path / "export.json"
    export.write_text('{"imagetwins_decisions": 1, "decisions": [{"a": "' + K1 + '", "b": "' + K2
                      + '", "verdict": "skip", "made": ' + made + "}]}")
    res = run("decisions", "import", export)
    assert res.exit_code == 0, res.output
    res = run("decisions", "list")
    _no_traceback(res)
    assert res.exit_code == 0 and "1 decision in" in res.output, res.output
    res = run("decisions", "list", "--json", "-")
    assert res.exit_code == 0 and json.loads(res.stdout)["decisions"][0]["a"] == K1


def test_store_edited_with_a_text_time_lists(tmp_path: Path) -> None:
    """A store row whose 'made' was edited to text: 'decisions list' was a ValueError traceback."""
    import sqlite3

    from imagetwins.decisions import DecisionStore, Record

    store = DecisionStore()
    store.remember([Record.of(K1, K2, "skip")])
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE remembered_decisions SET made = 'last week'")
    db.close()
    res = run("decisions", "list")
    _no_traceback(res)
    assert res.exit_code == 0 and "1 decision in" in res.output, res.output
