"""Session 12's readers' leftovers (reader7): what ``remove --plan`` says of checks it could not keep and of decisions
``--apply`` could not remember, a failed look at the files said as what it is, and a quarantine whose key was
deleted."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _remove(*args: str):
    from click.testing import CliRunner

    from imagetwins.cli import main

    return CliRunner().invoke(main, ["remove", *args])


@pytest.mark.cli
def test_checks_a_plan_s_index_could_only_read_are_said_not_kept_for_that_reason(tmp_path: Path) -> None:
    """``remove --plan`` of a ``find --db`` plan whose index could only be read (a plan recording no id for it; an
    index with two names, which is never written) checked the files now and said "not kept: this folder has no cache
    and the run may write no index": the folder's cache had nothing to do with it. It says the real reason now."""
    from click.testing import CliRunner

    from imagetwins.cli import main
    from imagetwins.index import Index

    album = tmp_path / "album"
    shutil.copytree(REPO / "examples" / "images", album)
    db, plan = tmp_path / "photos.db", tmp_path / "plan.json"
    made = CliRunner().invoke(main, ["index", "update", str(album), "--db", str(db), "-m", "copies", "-q"])
    assert made.exit_code == 0, made.output  # (the encodings, no check of a pair yet)
    made = CliRunner().invoke(main, ["find", str(album), "--json", str(plan), "-q", "--no-cache"])
    assert made.exit_code == 0, made.output
    doc = json.loads(plan.read_text())
    with Index(db, methods=[], readonly=True) as opened:
        doc["index"] = {"path": str(db), "created": opened.created(), "id": opened.identity()}
    swapped = tmp_path / "swapped.json"
    swapped.write_text(json.dumps(doc))
    doc["index"]["id"] = None  # (a plan written before plans recorded the index's id)
    older = tmp_path / "older.json"
    older.write_text(json.dumps(doc))
    dry = _remove(str(album), "--plan", str(older))
    assert dry.exit_code == 0 and "5 files would move" in dry.stdout, dry.output
    assert (f"; not kept: the plan's index {db} was only read (the plan records no id for it: not known to be that "
            "very index), so the next run checks them again") in dry.stderr, dry.stderr
    assert "has no cache" not in dry.stderr, dry.stderr
    os.link(db, tmp_path / "second-name.db")
    dry = _remove(str(album), "--plan", str(swapped))
    assert dry.exit_code == 0 and "5 files would move" in dry.stdout, dry.output
    note = [line for line in dry.stderr.splitlines() if line.startswith("note: checked ")]
    assert len(note) == 1 and f"; not kept: the plan's index {db} was only read (it cannot be written: it has 2 " \
        "names (hard links)" in note[0] and note[0].endswith("), so the next run checks them again"), dry.stderr
    with Index(db, methods=[], readonly=True) as opened:  # (nothing written there)
        assert opened.pair_scores("copies") == []
    os.unlink(tmp_path / "second-name.db")  # one name again: kept there, and the next run reads them
    dry = _remove(str(album), "--plan", str(swapped))
    assert f"kept in {db} for the next run" in dry.stderr, dry.stderr
    dry = _remove(str(album), "--plan", str(swapped))
    assert dry.exit_code == 0 and "note: checked" not in dry.stderr, dry.stderr


@pytest.mark.unit
def test_a_deleted_quarantine_key_made_anew_is_said_and_the_new_run_stays_undoable(tmp_path: Path) -> None:
    """A run into a quarantine whose key was deleted made a new key without a word: the journal's earlier lines, signed
    with the old key, can no longer be checked, and undo refused each ("not signed with this quarantine's key
    (edited?)"), leaving their files there. One warning says so when the key is made anew; the run goes on, and its
    own moves are undone."""
    import warnings

    from test_hostile_between import _pair, _plan

    from imagetwins import quarantine
    from imagetwins.quarantine import apply_plan, undo

    root, q = tmp_path / "album", tmp_path / "q"
    first, second = _pair(root, "a.png", 0), _pair(root, "b.png", 1)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        assert not apply_plan(_plan(first), root, q).failed
        assert said == []  # (a new quarantine's key: nothing to say)
        lines = len((q / quarantine.JOURNAL).read_bytes().splitlines())
        os.unlink(q / quarantine.KEY)
        assert not apply_plan(_plan(second), root, q).failed
    assert [str(w.message) for w in said] == [
        f"the quarantine's key {q / quarantine.KEY} is gone (deleted?) and its journal holds {lines} lines signed with "
        f"it: a new key is made for this run's lines, and undo cannot check the earlier ones: it refuses them and "
        f"leaves their files in {q} (put those back by hand)"]
    out = undo(q)
    assert second[1].exists() and not first[1].exists()  # (this run's move undone; the earlier one's file stays)
    left = [p for p, _ in out.failed if not p.startswith(str(q / quarantine.JOURNAL))]
    assert len(left) == 1 and q in Path(left[0]).parents and Path(left[0]).read_bytes() == first[0].read_bytes(), \
        out.failed  # (named, left in the quarantine to be put back by hand)
