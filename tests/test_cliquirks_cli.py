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


def test_quiet_keeps_the_warnings_that_an_answer_may_be_wrong_and_no_cache_notice(tmp_path: Path) -> None:
    """``find test/ --against ref.db -q`` printed "ref.db is older than its folder ..." where -q's help said "nothing
    but errors", and a damaged cache's "no cache this time ...; every image is decoded" too. Now -q keeps what its
    help names, the warnings that an answer may be wrong (a stale index: a leak of a picture added since is not
    seen, exit 0), in find --against, check and index query alike, and says nothing that changes no answer (the
    cache: :class:`imagetwins.io.CostNotice`), in those and a plain find."""
    from imagetwins.index import default_cache_path

    ref, test = tmp_path / "ref", tmp_path / "test"
    ref.mkdir()
    test.mkdir()
    for name in ("beach", "city"):
        shutil.copy(EXAMPLES / f"{name}.jpg", ref / f"{name}.jpg")
    shutil.copy(EXAMPLES / "beach.jpg", test / "beach.jpg")
    db = tmp_path / "ref.db"
    assert CliRunner().invoke(main, ["index", "update", str(ref), "--db", str(db), "-m", "phash"]).exit_code == 0
    shutil.copy(EXAMPLES / "forest.jpg", ref / "forest.jpg")
    stale = f"warning: {db} is older than its folder: 1 added since its last update"
    for command in (["find", str(test), "--against", str(db), "-m", "phash"],
                    ["check", str(test), "--against", str(db), "-m", "phash"],
                    ["index", "query", str(test), "--db", str(db), "-m", "phash"],
                    ["find", str(test), "-m", "phash"]):
        for quiet in (False, True):
            cache = default_cache_path(test)  # damaged before each run (a run may make it again)
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_bytes(b"not a cache" * 100)
            res = CliRunner().invoke(main, command + ["-q"] * quiet)
            lines = res.stderr.splitlines()
            said_stale = [line for line in lines if line.startswith(stale)]
            against_the_index = command[0] != "find" or "--against" in command
            assert len(said_stale) == against_the_index, (command, lines)
            no_cache = [line for line in lines if "every image" in line and "decoded" in line]
            if quiet:
                assert lines == said_stale and res.stdout == "", (command, res.output)
            elif "index" not in command:  # (index query reads the test images without a cache)
                assert no_cache, (command, lines)
    res = CliRunner().invoke(main, ["find", "--help"])
    assert "an index older than its folder" in " ".join(res.stdout.split()), res.stdout


def test_the_api_and_remove_keep_the_other_file_of_x_and_x_1_as_the_readme_says(tmp_path: Path) -> None:
    """README's "Differences from imagededup" (and docs/migrating.md) say it: ``PHash().find_duplicates_to_remove``
    keeps imagededup's choice, listing ``x.jpg`` for removal beside ``x (1).jpg``, while ``imagetwins remove`` keeps
    ``x.jpg`` and moves ``x (1).jpg``. (A stranger switching from imagededup met it undocumented in the README.)"""
    from imagetwins.methods import PHash

    folder = tmp_path / "pair"
    folder.mkdir()
    shutil.copy(EXAMPLES / "beach.jpg", folder / "x.jpg")
    shutil.copy(EXAMPLES / "beach.jpg", folder / "x (1).jpg")
    assert PHash().find_duplicates_to_remove(image_dir=str(folder)) == ["x.jpg"]
    res = CliRunner().invoke(main, ["remove", str(folder), "-m", "phash"])
    assert res.exit_code == 0, res.output
    assert f"would move {folder / 'x (1).jpg'}   (group 1, keeping {folder / 'x.jpg'})" in res.stdout, res.stdout
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "it lists `x.jpg` for removal), while `imagetwins remove` keeps" in " ".join(readme.split())
