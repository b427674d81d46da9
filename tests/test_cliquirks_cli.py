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


def test_decisions_export_takes_o_as_report_does(tmp_path: Path) -> None:
    """``decisions export -o mine.json`` was "No such option '-o'" (its output a plain argument, where ``report -o``
    names the page): -o/--output now names it too, the argument still does, and both at once or neither is one
    usage line saying what to give."""
    for args in (["-o", str(tmp_path / "a.json")], ["--output", str(tmp_path / "b.json")], [str(tmp_path / "c.json")]):
        res = CliRunner().invoke(main, ["decisions", "export", *args])
        assert res.exit_code == 0, (args, res.output)
        assert '"imagetwins_decisions"' in Path(args[-1]).read_text(), args
    res = CliRunner().invoke(main, ["decisions", "export", "-o", "-"])
    assert res.exit_code == 0 and '"decisions": []' in res.stdout, res.output
    res = CliRunner().invoke(main, ["decisions", "export", str(tmp_path / "d.json"), "-o", str(tmp_path / "e.json")])
    assert res.exit_code == 2 and "Error: give the file to write once: OUTPUT or -o/--output" in res.stderr, res.output
    res = CliRunner().invoke(main, ["decisions", "export"])
    assert res.exit_code == 2 and "Error: give the file to write: imagetwins decisions export FILE" in res.stderr
    assert not (tmp_path / "d.json").exists() and not (tmp_path / "e.json").exists()


@pytest.mark.parametrize(("command", "said"), [
    (["find", "{dir}"], "'find' writes a file with --json, --csv, --ndjson or --report (e.g. --json FILE)."),
    (["check", "{dir}", "--against", "{dir}"], "'check' writes a file with --json, --csv or --ndjson"),
    (["explain", "{a}", "{b}"], "'explain' writes a file with --picture or --json (e.g. --picture FILE)."),
    (["tune", "{dir}"], "'tune' writes a file with --plot or --json"),
    (["decisions", "list"], "'decisions list' writes a file with --json (e.g. --json FILE)."),
    (["index", "stats", "--db", "{dir}/x.db"], "'index stats' writes a file with --json"),
])
def test_o_on_a_command_without_it_names_the_options_that_write(tmp_path: Path, command: list[str],
                                                                 said: str) -> None:
    """The commands that write a file name it with --json/--csv/--picture/--plot...; ``-o`` there was "No such option
    '-o'" alone: the usage error now says which options write that command's files, and nothing is written."""
    names = {"dir": str(EXAMPLES), "a": str(EXAMPLES / "beach.jpg"), "b": str(EXAMPLES / "city.jpg")}
    out = tmp_path / "out.json"
    for o in ("-o", "--output"):
        res = CliRunner().invoke(main, [part.format(**names) for part in command] + [o, str(out)])
        assert res.exit_code == 2, res.output
        assert f"Error: No such option '{o}'. {said}" in res.stderr, res.stderr
        assert not out.exists()
    res = CliRunner().invoke(main, ["undo", str(tmp_path), "-o", str(out)])  # (writes no file: click's line alone)
    assert res.exit_code == 2 and res.stderr.splitlines()[-1] == "Error: No such option '-o'.", res.stderr
