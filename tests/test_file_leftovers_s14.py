"""Leftovers of the file-touching commands (session 14): exit codes that disagreed between ``find --against`` and
``index query``, what ``--against photo.jpg`` exits with, and undo calling the lines a deleted key signed
"(edited?)"."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins import quarantine
from imagetwins.cli import main

REPO = Path(__file__).resolve().parents[1]


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.cli
def test_an_unreadable_image_makes_find_against_and_index_query_exit_1_alike(tmp_path: Path) -> None:
    """The same folder with one unreadable image, queried against the same index: ``index query`` exited 1 ('error:
    ... could not be read, so not checked'), ``find --against`` 0 ('note: ...'): a script read "no match" from a
    query that never looked at the image. Both exit 1 now, with the same error line, with -q too."""
    ref, query = tmp_path / "ref", tmp_path / "uploads"
    ref.mkdir()
    query.mkdir()
    shutil.copy(REPO / "examples" / "images" / "beach.jpg", ref / "beach.jpg")
    shutil.copy(REPO / "examples" / "images" / "beach.jpg", query / "beach.jpg")
    (query / "broken.jpg").write_bytes((ref / "beach.jpg").read_bytes()[:1500])
    db = tmp_path / "ref.db"
    assert _run("index", "update", ref, "--db", db, "-m", "phash").exit_code == 0
    said = f"error: 1 image of {query} could not be read, so not checked"
    for command in (["index", "query", query, "--db", db], ["find", query, "--against", db],
                    ["check", query, "--against", db, "-m", "phash"]):
        for quiet in ([], ["-q"]):
            res = _run(*command, *quiet)
            assert res.exit_code == (3 if command[0] == "check" else 1), (command, quiet, res.output)
            assert said in res.output.splitlines(), (command, quiet, res.output)


@pytest.mark.cli
@pytest.mark.parametrize("command", ["check", "find", "index-query-db"])
def test_a_picture_or_a_text_file_as_the_reference_is_an_error_of_that_file(tmp_path: Path, command: str) -> None:
    """Decided (asked: should ``--against photo.jpg`` be a usage error, 2?): no. A file named as the reference or
    the index that is no index, whatever it holds (a picture, text, a damaged or foreign database), is an error of
    that file, exit 1, in every command that reads an index, as a plan that is no plan is; 2 is the command line's
    own (an unknown option, a path missing, a file where a folder is asked). A picture is named as such."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    shutil.copy(REPO / "examples" / "images" / "beach.jpg", folder / "upload.jpg")
    photo, notes = tmp_path / "photo.jpg", tmp_path / "notes.txt"
    shutil.copy(REPO / "examples" / "images" / "beach.jpg", photo)
    notes.write_text("shopping list\n")
    if command == "index-query-db":
        res = _run("index", "query", folder, "--db", notes)
        assert res.exit_code == 1 and "is not an imagetwins index" in res.output, res.output
        return
    res = _run(command, folder, "--against", photo)
    assert res.exit_code == 1, res.output
    assert res.output == (f"Error: --against {photo} is an image: the reference is a folder or an index file (.db); "
                          "two pictures are compared by 'imagetwins explain A.jpg B.jpg'\n")
    res = _run(command, folder, "--against", tmp_path / "missing.db")
    assert res.exit_code == 2 and "does not exist" in res.output, res.output
    res = _run(command, folder, "--against", notes)
    assert res.exit_code == 1 and res.output == f"Error: {notes} is not an imagetwins index (not an SQLite file)\n"


@pytest.mark.unit
def test_undo_says_the_key_that_signed_earlier_lines_was_deleted_not_edited(tmp_path: Path) -> None:
    """The quarantine's key deleted, a second run into it made a new one (and warned); undo refused the first run's
    lines "not signed with this quarantine's key (edited?)", and called the file they named one whose journal "was
    cut short or edited?": nobody edited anything. It says the key that signed them was deleted; a line edited after
    the new key was made is still called edited."""
    from test_hostile_between import _pair, _plan

    root, q = tmp_path / "album", tmp_path / "q"
    first, second, third = _pair(root, "a.png", 0), _pair(root, "b.png", 1), _pair(root, "c.png", 2)
    assert not quarantine.apply_plan(_plan(first), root, q).failed
    journal = q / quarantine.JOURNAL
    lines = journal.read_bytes().splitlines(keepends=True)
    os.unlink(q / quarantine.KEY)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert not quarantine.apply_plan(_plan(second), root, q).failed
    assert not quarantine.apply_plan(_plan(third), root, q).failed
    now = journal.read_bytes().splitlines(keepends=True)
    edited = len(now) - 2  # (the third run's planned line: its file's size changed by hand)
    now[edited] = now[edited].replace(b'"bytes": ', b'"bytes": 1')
    journal.write_bytes(b"".join(now))
    out = quarantine.undo(q)
    said = {where: why for where, why in out.failed}
    assert said[f"{journal}, line 1"] == (f"entry for {first[1]} was signed with this quarantine's earlier key, which "
                                          f"was deleted (a new one was made at line {len(lines) + 1}): it cannot be "
                                          "checked, so it is refused")
    assert said[f"{journal}, line {edited + 1}"] == (f"entry for {third[1]} is not signed with this quarantine's key "
                                                     "(edited?): refused")
    left = [why for where, why in out.failed if not where.startswith(str(journal))]
    assert len(left) == 2 and all(why.startswith("still in the quarantine, and no journal line undo can use names it "
                                                 "(its journal lines were signed with a key since deleted, or the "
                                                 "journal was cut short or edited)") for why in left), left
    assert second[1].exists() and not first[1].exists() and not third[1].exists()
