"""What ``remove --plan`` remembers (imagetwins.decisions), as a new user met it: a dry run remembered every group
of the plan, the tool's own suggestions too (a false pair then dropped out of review as "decided earlier" and the
next ``remove -r`` moved it "as decided"); a byte copy marked "not a duplicate" was not remembered at all; ``undo``
put the files back but kept the plan's decisions, so the next ``remove -r`` moved the same file again."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from imagetwins.cli import main
from imagetwins.decisions import DecisionStore


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    """Three real photos, each beside a half-size JPEG copy of itself (three groups of two)."""
    root = tmp_path / "album"
    root.mkdir()
    for i, p in enumerate(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:3]):
        shutil.copy(p, root / f"p{i}.jpg")
        with Image.open(p) as im:
            im.reduce(2).save(root / f"p{i}_small.jpg", quality=85)
    return root


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _plan(album: Path, tmp_path: Path) -> tuple[Path, dict, dict]:
    plan = tmp_path / "plan.json"
    assert run("find", album, "--json", plan).exit_code == 0
    doc = json.loads(plan.read_text())
    return plan, doc, {os.path.basename(g["files"][0]): g for g in doc["groups"]}


@pytest.mark.cli
def test_a_dry_run_remembers_nothing_and_apply_only_what_a_person_decided(tmp_path: Path, album: Path) -> None:
    plan, doc, by_first = _plan(album, tmp_path)
    assert set(by_first) == {"p0.jpg", "p1.jpg", "p2.jpg"}
    by_first["p0.jpg"]["keep"] = str(album / "p0_small.jpg")  # a person's choice; p1 and p2 as suggested
    plan.write_text(json.dumps(doc))
    res = run("remove", album, "--plan", plan)
    assert res.exit_code == 0 and "3 files would move" in res.output, res.output
    assert "remembered" not in res.stderr and "--apply would remember 1 decision" in res.stderr, res.stderr
    assert DecisionStore().records() == [] and not DecisionStore().path.exists()  # nothing on disk
    # nothing was decided earlier: every group is still new to a later review
    assert "decided earlier" not in run("find", album).output
    res = run("remove", album, "--plan", plan, "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 0 and "remembered 1 decision " in res.stderr, res.output
    (r,) = DecisionStore().records()
    assert r.verdict == "keep" and os.path.basename(r.a_name if r.keeper == r.a else r.b_name) == "p0_small.jpg"


@pytest.mark.cli
def test_the_review_pages_untouched_groups_are_not_remembered(tmp_path: Path, album: Path) -> None:
    """The review page's export says which groups a person changed or accepted (``reviewed``)."""
    plan, doc, by_first = _plan(album, tmp_path)
    doc["source"] = "review page"
    for g in doc["groups"]:
        g.pop("suggested_keep", None)
        g["reviewed"] = False
    by_first["p1.jpg"]["reviewed"] = True  # accepted as shown
    plan.write_text(json.dumps(doc))
    res = run("remove", album, "--plan", plan, "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 0 and "remembered 1 decision " in res.stderr, res.output
    (r,) = DecisionStore().records()
    assert {os.path.basename(r.a_name), os.path.basename(r.b_name)} == {"p1.jpg", "p1_small.jpg"}
    res = run("decisions", "import", plan)
    assert res.exit_code == 0 and "remembered 1 decision" in res.output


@pytest.mark.cli
def test_a_byte_copy_marked_not_a_duplicate_is_remembered_and_kept(tmp_path: Path, album: Path) -> None:
    """The review page's "not a duplicate" (d) on a byte-identical copy: remembered (every byte copy of that content
    kept), counted as the list counts it, and the next remove -r leaves it."""
    shutil.copy(album / "p2.jpg", album / "p2_copy.jpg")
    plan, doc, by_first = _plan(album, tmp_path)
    (group,) = [g for g in doc["groups"] if any(f.endswith("p2_copy.jpg") for f in g["files"])]
    assert os.path.basename(group["keep"]) in ("p2.jpg", "p2_copy.jpg")
    twin = [f for f in group["files"] if f != group["keep"] and not f.endswith("_small.jpg")]
    group["not_duplicate"] = twin
    plan.write_text(json.dumps(doc))
    res = run("remove", album, "--plan", plan, "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 0, res.output
    said = [ln for ln in res.stderr.splitlines() if ln.startswith("remembered ")]
    listed = run("decisions", "list").output
    assert len(said) == 1 and said[0].split()[1] == listed.splitlines()[-1].split()[0], (said, listed)
    assert "every byte copy kept" in listed and Path(twin[0]).exists()
    res = run("remove", album, "-r", "--apply", "--move-to", tmp_path / "q2")
    assert Path(twin[0]).exists() and (album / "p2.jpg").exists(), res.output


@pytest.mark.cli
def test_undo_forgets_what_the_run_remembered(tmp_path: Path, album: Path) -> None:
    plan, doc, by_first = _plan(album, tmp_path)
    by_first["p0.jpg"]["keep"] = str(album / "p0_small.jpg")
    plan.write_text(json.dumps(doc))
    # a decision made earlier about another pair stays; one this run replaces comes back
    (tmp_path / "x").mkdir()
    earlier, edoc, eby = _plan(album, tmp_path / "x")
    eby["p1.jpg"]["skip"] = True
    earlier.write_text(json.dumps(edoc))
    assert run("decisions", "import", earlier).exit_code == 0
    before = {(r.a, r.b, r.verdict) for r in DecisionStore().records()}
    res = run("remove", album, "--plan", plan, "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 0 and not (album / "p0.jpg").exists(), res.output
    assert len(DecisionStore().records()) == 2
    res = run("undo", tmp_path / "q")
    assert res.exit_code == 0 and "forgot the 1 decision that run remembered" in res.output, res.output
    assert {(r.a, r.b, r.verdict) for r in DecisionStore().records()} == before
    # the next remove -r decides by the keep rule again: p0.jpg (the larger) stays
    res = run("remove", album, "-r")
    assert "p0.jpg   (" not in res.output and "would move" in res.output, res.output
    res = run("undo", tmp_path / "q")  # a second undo: nothing to forget twice
    assert "forgot" not in res.output


@pytest.mark.cli
def test_folders_and_remove_pick_the_same_side_of_two_identical_folders(tmp_path: Path, datasets: Path) -> None:
    """Two identical folders a/ and b/: 'folders -r' said "a is a copy of b" (a would move) while 'remove -r' kept
    a/ and moved b/. One rule now (keep.place_order): both move b/."""
    root = tmp_path / "big"
    for side in ("a", "b"):
        (root / side).mkdir(parents=True)
        for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:3]:
            shutil.copy(p, root / side / p.name)
    res = run("folders", root, "-r", "--json", "-")
    assert res.exit_code == 0, res.output
    (entry,) = json.loads(res.stdout)["folders"]
    res = run("remove", root, "-r")
    assert res.exit_code == 0, res.output
    moving = {Path(ln.split()[2]).parent.name for ln in res.output.splitlines() if ln.startswith("would move ")}
    assert moving == {entry["remove"]} == {"b"} and entry["copy_of"] == "a", (moving, entry)
