"""One plan format: find --json (or the review page's export) -> remove --plan [--apply] -> undo."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image
from tree_digests import name_digests as _digests

from imagetwins.cli import main

pytestmark = pytest.mark.cli

QUARANTINE_OWN = {"manifest.json", "manifest.jsonl", "manifest.key", "manifest.decisions.json"}


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    """8 real photos; group A: #0 + a half-size copy + a PNG re-save; group B: #1 + a byte copy."""
    root = tmp_path / "album"
    root.mkdir()
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:8]
    for p in photos:
        shutil.copy(p, root / p.name)
    with Image.open(photos[0]) as im:
        im.reduce(2).save(root / "a_half.jpg", quality=90)
        im.save(root / "a_resave.png")
    shutil.copy(photos[1], root / "b_copy.jpg")
    return root


def _find_plan(album: Path, out: Path) -> dict:
    res = CliRunner().invoke(main, ["find", str(album), "--no-cache", "--json", str(out)])
    assert res.exit_code == 0, res.output
    return json.loads(out.read_text())


def _group_with(plan: dict, name: str) -> dict:
    return next(g for g in plan["groups"] if any(f.endswith(name) for f in g["files"]))


def _remove(folder: Path, plan_file: Path, *args: str):
    return CliRunner().invoke(main, ["remove", str(folder), "--plan", str(plan_file), *args])


def test_editing_the_keeper_moves_exactly_the_others_and_undo_restores(tmp_path: Path, album: Path) -> None:
    before = _digests(album)
    plan_file = tmp_path / "plan.json"
    plan = _find_plan(album, plan_file)
    assert plan["imagetwins_plan"] == 1 and len(plan["groups"]) == 2
    a = _group_with(plan, "a_half.jpg")
    assert all(len(a["sha256"][f]) == 64 for f in a["files"])
    original = a["keep"]
    a["keep"] = next(f for f in a["files"] if f.endswith("a_half.jpg"))  # a person prefers the small one
    plan_file.write_text(json.dumps(plan))
    dry = _remove(album, plan_file)
    assert dry.exit_code == 0 and "dry run: 3 files would move" in dry.output, dry.output
    assert _digests(album) == before
    q = tmp_path / "q"
    res = _remove(album, plan_file, "--apply", "--move-to", str(q))
    assert res.exit_code == 0, res.output
    moved = set(_digests(q)) - QUARANTINE_OWN
    b = _group_with(plan, "b_copy.jpg")
    expected = {Path(original).name, "a_resave.png"} | {Path(f).name for f in b["files"] if f != b["keep"]}
    assert moved == expected
    assert (album / "a_half.jpg").exists()
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 0 and "restored 3 files" in res.output
    assert _digests(album) == before


def test_a_plan_made_through_the_folder_cache(tmp_path: Path, album: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    before = _digests(album)
    plan_file = tmp_path / "plan.json"
    for _ in range(2):  # the second run reads the digests from the cache (first 32 hex digits)
        res = CliRunner().invoke(main, ["find", str(album), "--json", str(plan_file)])
        assert res.exit_code == 0, res.output
    plan = json.loads(plan_file.read_text())
    assert {len(d) for g in plan["groups"] for d in g["sha256"].values()} == {64}  # completed: full SHA-256
    for g in plan["groups"]:  # as plans were written before: the cache's 32 hex digits, still accepted
        g["sha256"] = {f: d[:32] for f, d in g["sha256"].items()}
    plan_file.write_text(json.dumps(plan))
    res = _remove(album, plan_file, "--apply", "--move-to", str(tmp_path / "q"))
    assert res.exit_code == 0 and "moved 3 files" in res.output, res.output
    assert CliRunner().invoke(main, ["undo", str(tmp_path / "q")]).exit_code == 0
    assert _digests(album) == before


def test_skip_not_duplicate_and_relative_paths_from_another_folder(tmp_path: Path, album: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    plan = _find_plan(Path("album"), tmp_path / "plan.json")  # relative paths, as a person types them
    assert not os.path.isabs(plan["groups"][0]["files"][0])
    _group_with(plan, "b_copy.jpg")["skip"] = True
    a = _group_with(plan, "a_half.jpg")
    a["not_duplicate"] = [f for f in a["files"] if f.endswith("a_half.jpg")]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "plan.json").write_text(json.dumps(plan))
    monkeypatch.chdir(elsewhere)
    res = _remove(tmp_path / "album", elsewhere / "plan.json", "--apply", "--move-to", str(tmp_path / "q"))
    assert res.exit_code == 0, res.output
    assert sorted(set(_digests(tmp_path / "q")) - QUARANTINE_OWN) == ["a_resave.png"]


def test_changed_files_and_untrustworthy_keepers_are_refused(tmp_path: Path, album: Path) -> None:
    plan_file = tmp_path / "plan.json"
    plan = _find_plan(album, plan_file)
    a, b = _group_with(plan, "a_half.jpg"), _group_with(plan, "b_copy.jpg")
    with open(album / "a_half.jpg", "ab") as fh:  # edited after the scan
        fh.write(b"\0")
    Path(b["keep"]).write_bytes(b"not the photo any more")  # the keeper itself changed: keep everything
    res = _remove(album, plan_file, "--apply", "--move-to", str(tmp_path / "q"))
    assert res.exit_code == 1, res.output  # something was refused
    assert res.output.strip().splitlines()[-1] == "error: 2 files not moved (2 refused, each named above)"
    assert "a_half.jpg: it changed since the scan" in res.output
    assert "cannot be trusted" in res.output
    assert sorted(set(_digests(tmp_path / "q")) - QUARANTINE_OWN) == ["a_resave.png"]
    assert (album / "b_copy.jpg").exists() and (album / "a_half.jpg").exists()
    assert a["keep"] and Path(a["keep"]).exists()


def test_hostile_edits_never_take_the_last_copy(tmp_path: Path, album: Path) -> None:
    plan_file = tmp_path / "plan.json"
    plan = _find_plan(album, plan_file)
    a, b = _group_with(plan, "a_half.jpg"), _group_with(plan, "b_copy.jpg")
    outside = tmp_path / "outside.jpg"
    shutil.copy(a["keep"], outside)
    a["files"].append(str(outside))  # a file outside the scanned folder, with its true digest
    a["sha256"][str(outside)] = hashlib.sha256(outside.read_bytes()).hexdigest()
    b_keep = b["keep"]
    a["files"].append(b_keep)  # b's keeper smuggled into group a, to be moved there
    a["sha256"][b_keep] = b["sha256"][b_keep]
    # a file replaced by a symlink to its keeper after the scan
    resave = next(f for f in a["files"] if f.endswith("a_resave.png"))
    os.unlink(resave)
    os.symlink(a["keep"], resave)
    plan_file.write_text(json.dumps(plan))
    res = _remove(album, plan_file, "--apply", "--move-to", str(tmp_path / "q"))
    out = res.output
    assert "outside.jpg: outside the scanned folder" in out
    assert f"{b_keep}: another group keeps it" in out
    assert "symbolic link" in out
    moved = set(_digests(tmp_path / "q")) - QUARANTINE_OWN
    b_other = next(Path(f).name for f in b["files"] if f != b_keep)
    assert moved == {"a_half.jpg", b_other}  # only the honest moves
    assert outside.exists() and Path(b_keep).exists() and Path(a["keep"]).exists()


def test_a_keeper_outside_its_group_moves_nothing(tmp_path: Path, album: Path) -> None:
    plan_file = tmp_path / "plan.json"
    plan = _find_plan(album, plan_file)
    for g in plan["groups"]:
        g["keep"] = "nowhere.jpg"
    _group_with(plan, "a_half.jpg")["keep"] = None
    plan_file.write_text(json.dumps(plan))
    res = _remove(album, plan_file, "--apply", "--move-to", str(tmp_path / "q"))
    # (the keeper the plan names is said: a typo in it is found at once)
    assert re.search(r"keeper \S*nowhere\.jpg is not one of its files", res.output), res.output
    assert "has no keeper marked" in res.output
    assert "nothing to move" in res.output and not (tmp_path / "q").exists()


@pytest.mark.parametrize("text, message", [
    ("{not json", "not JSON"),
    ('{"groups": []}', "not an imagetwins plan"),
    ('{"imagetwins_plan": 1, "root": "relative/x", "groups": []}', "absolute path"),
    ('{"imagetwins_plan": 1, "root": "/", "groups": [{"files": "a.jpg"}]}', "must be a list"),
    ('{"imagetwins_plan": 1, "root": "/", "groups": [{"files": ["a"], "keep": ["a"]}]}', "one path"),
])
def test_malformed_plans_get_one_line(tmp_path: Path, text: str, message: str) -> None:
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(text)
    res = _remove(tmp_path, plan_file, "--apply")
    assert res.exit_code == 1 and message in res.output and "Traceback" not in res.output


def test_a_plan_needs_the_folder_it_may_change(tmp_path: Path, album: Path) -> None:
    plan_file = tmp_path / "plan.json"
    _find_plan(album, plan_file)
    res = CliRunner().invoke(main, ["remove", "--plan", str(plan_file), "--apply"])
    assert res.exit_code == 2 and "name the folder the plan was made of" in res.output
    assert CliRunner().invoke(main, ["remove"]).exit_code == 2
    assert not any(p.name.endswith("quarantine") for p in tmp_path.iterdir())


def test_a_fifo_standing_where_a_planned_file_was_is_refused_without_waiting(tmp_path: Path, album: Path) -> None:
    """Opening a FIFO for reading waits for a writer: the digest check must refuse it, not block."""
    import subprocess
    import sys

    plan_file = tmp_path / "plan.json"
    plan = _find_plan(album, plan_file)
    b = _group_with(plan, "b_copy.jpg")
    (album / "b_copy.jpg").unlink()
    os.mkfifo(album / "b_copy.jpg")  # a duplicate became a FIFO
    a = _group_with(plan, "a_half.jpg")
    Path(a["keep"]).unlink()
    os.mkfifo(a["keep"])  # a keeper became a FIFO: its group moves nothing
    before = _digests(album)
    res = subprocess.run([sys.executable, "-m", "imagetwins", "remove", str(album), "--plan", str(plan_file), "--apply",
                          "--move-to", str(tmp_path / "q")], capture_output=True, text=True, timeout=120)
    assert "b_copy.jpg" in res.stdout + res.stderr and "not a regular file" in res.stdout + res.stderr
    assert _digests(album) == before and Path(b["keep"]).exists()
    assert not (tmp_path / "q").exists() or set(_digests(tmp_path / "q")) <= QUARANTINE_OWN


def test_a_plan_whose_root_was_edited_moves_nothing_outside_the_folder_named(tmp_path: Path, album: Path) -> None:
    """The attack: point the plan's root at the parent and list a sibling of the folder as a duplicate."""
    plan_file = tmp_path / "plan.json"
    plan = _find_plan(album, plan_file)
    a = _group_with(plan, "a_half.jpg")
    sibling = tmp_path / "private.jpg"  # beside the scanned folder, not in it
    shutil.copy(a["keep"], sibling)
    a["files"].append(str(sibling))
    a["sha256"][str(sibling)] = hashlib.sha256(sibling.read_bytes()).hexdigest()
    plan["root"] = str(tmp_path)
    plan_file.write_text(json.dumps(plan))
    before, private = _digests(album), hashlib.sha256(sibling.read_bytes()).hexdigest()
    res = _remove(album, plan_file, "--apply", "--move-to", str(tmp_path / "q"))
    assert res.exit_code == 1 and f"was made for the folder {tmp_path}, not for {album}" in res.output, res.output
    assert not (tmp_path / "q").exists() and _digests(album) == before
    # with the root put back, the sibling is still refused and only the honest moves happen
    plan["root"] = str(album)
    plan_file.write_text(json.dumps(plan))
    res = _remove(album, plan_file, "--apply", "--move-to", str(tmp_path / "q"))
    assert "private.jpg: outside the scanned folder" in res.output
    assert hashlib.sha256(sibling.read_bytes()).hexdigest() == private
    b = _group_with(plan, "b_copy.jpg")
    moved = {Path(f).name for g in (a, b) for f in g["files"] if f != g["keep"]} - {"private.jpg"}
    assert set(_digests(tmp_path / "q")) - QUARANTINE_OWN == moved and len(moved) == 3


def test_a_hand_made_group_moves_a_file_only_beside_a_keeper_that_is_what_the_plan_says(tmp_path: Path,
                                                                                      album: Path) -> None:
    """A plan decides which files of the folder are copies of which keeper; the keeper must exist, lie in the
    folder and have the digest the plan recorded for it, and a file moves only if a group lists it."""
    plan_file = tmp_path / "plan.json"
    plan = _find_plan(album, plan_file)
    before = _digests(album)
    singles = sorted(p for p in album.glob("*.jpg") if not any(str(p) in g["files"] for g in plan["groups"]))
    x, y, z, w = (str(p) for p in singles[:4])
    outside = tmp_path / "outside.jpg"
    shutil.copy(x, outside)
    sha = {f: hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in (x, y, z, w, str(outside))}
    plan["groups"] = [
        {"files": [x, y], "keep": x, "sha256": {x: "0" * 64, y: sha[y]}},  # the keeper's digest is forged
        {"files": [z, str(album / "gone.jpg")], "keep": str(album / "gone.jpg"),
         "sha256": {z: sha[z], str(album / "gone.jpg"): sha[z]}},  # the keeper does not exist
        {"files": [w, str(outside)], "keep": str(outside), "sha256": {w: sha[w], str(outside): sha[str(outside)]}},
        {"files": [y], "keep": y, "sha256": {y: sha[y], z: sha[z], w: sha[w]}},  # z, w only in sha256
    ]
    plan_file.write_text(json.dumps(plan))
    res = _remove(album, plan_file, "--apply", "--move-to", str(tmp_path / "q"))
    assert f"its keeper {x} cannot be trusted: it changed since the scan" in res.output
    assert "gone.jpg cannot be trusted: it is gone" in res.output
    assert "outside.jpg cannot be trusted: outside the scanned folder" in res.output
    assert "nothing to move" in res.output and _digests(album) == before
    assert not (tmp_path / "q").exists()
    assert res.exit_code == 1 and "error: 3 files not moved (3 refused, each named above)" in res.output


def test_exit_code_1_and_one_summary_line_whenever_a_planned_file_is_refused(tmp_path: Path, album: Path) -> None:
    plan_file = tmp_path / "plan.json"
    plan = _find_plan(album, plan_file)
    assert _remove(album, plan_file).exit_code == 0  # nothing refused: a clean dry run
    for g in plan["groups"]:  # every file to move is refused: it changed since the scan
        for f in g["files"]:
            if f != g["keep"]:
                g["sha256"][f] = "f" * 64
    plan_file.write_text(json.dumps(plan))
    before = _digests(album)
    for args, summary in (([], "error: 3 files would not move (3 refused, each named above)"),
                          (["--apply"], "error: 3 files not moved (3 refused, each named above)"),
                          (["--apply", "-q"], "error: 3 files not moved (3 refused)")):
        res = _remove(album, plan_file, *args, "--move-to", str(tmp_path / "q"))
        assert res.exit_code == 1, res.output
        assert [line for line in res.output.splitlines() if line.startswith("error:")] == [summary]
    assert _digests(album) == before and not (tmp_path / "q").exists()
    # some refused, some moved: still 1; undo of what moved is complete: 0
    _group_with(plan, "b_copy.jpg")["sha256"] = _group_with(_find_plan(album, tmp_path / "fresh.json"),
                                                                 "b_copy.jpg")["sha256"]
    plan_file.write_text(json.dumps(plan))
    res = _remove(album, plan_file, "--apply", "--move-to", str(tmp_path / "q"))
    assert res.exit_code == 1 and "moved 1 file" in res.output and "error: 2 files not moved" in res.output
    res = CliRunner().invoke(main, ["undo", str(tmp_path / "q")])
    assert res.exit_code == 0 and "restored 1 file" in res.output
    assert _digests(album) == before


def test_undo_exits_1_with_a_summary_when_anything_is_not_restored(tmp_path: Path, album: Path) -> None:
    plan_file = tmp_path / "plan.json"
    _find_plan(album, plan_file)
    q = tmp_path / "q"
    assert _remove(album, plan_file, "--apply", "--move-to", str(q)).exit_code == 0
    moved = sorted(p for p in q.rglob("*") if p.name not in QUARANTINE_OWN)
    moved[0].write_bytes(b"changed in quarantine")
    for args in ([], ["-q"]):
        res = CliRunner().invoke(main, ["undo", str(q), *args])
        assert res.exit_code == 1 and "changed in quarantine" in res.output
        assert res.output.strip().splitlines()[-1] == ("restored 2 files, 1 failed" if not args else
                                                       "restored 0 files, 1 failed")


@pytest.mark.parametrize("bad", ["b\x00.jpg", "b\ud800.jpg"])
@pytest.mark.parametrize("where", ["files", "keep", "sha256", "scanned_as", "base"])
def test_a_path_no_file_can_have_is_one_line_and_moves_nothing(tmp_path: Path, album: Path, where: str,
                                                               bad: str) -> None:
    """A NUL byte or a lone surrogate (not one of the escapes find --json writes for undecodable bytes) in an
    edited plan made the first os call on it raise: a traceback, nothing said about which path."""
    plan_file = tmp_path / "plan.json"
    plan = _find_plan(album, plan_file)
    before = _digests(album)
    g = _group_with(plan, "b_copy.jpg")
    name = str(album / bad)
    if where == "files":
        g["files"].append(name)
        g["sha256"][name] = g["sha256"][g["keep"]]
    elif where == "keep":
        g["files"].append(name)
        g["keep"] = name
    elif where == "sha256":
        g["sha256"][name] = g["sha256"][g["keep"]]
    else:
        plan[where] = name
    plan_file.write_text(json.dumps(plan))
    res = _remove(album, plan_file, "--apply")
    assert res.exit_code == 1 and "cannot be a file's name" in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert _digests(album) == before
    assert not any(p.name.endswith("quarantine") for p in tmp_path.iterdir())


def test_a_hard_link_of_the_keeper_is_refused_by_the_dry_run_too(tmp_path: Path, album: Path) -> None:
    """remove --plan's dry run said a hard link of the keeper would move; --apply then refused it (it frees
    nothing): the dry run now says what apply does."""
    plan_file = tmp_path / "plan.json"
    plan = _find_plan(album, plan_file)
    g = _group_with(plan, "b_copy.jpg")
    keeper = Path(g["keep"])
    os.link(keeper, album / "b_link.jpg")
    link = str(album / "b_link.jpg")
    g["files"].append(link)
    g["sha256"][link] = g["sha256"][g["keep"]]
    plan_file.write_text(json.dumps(plan))
    before = _digests(album)
    dry = _remove(album, plan_file)
    assert dry.exit_code == 1 and "b_link.jpg: a hard link of the kept file" in dry.output, dry.output
    assert "would move " + link not in dry.output
    res = _remove(album, plan_file, "--apply")
    assert res.exit_code == 1 and "b_link.jpg" in _digests(album) and keeper.exists()
    assert _digests(album)["b_link.jpg"] == before["b_link.jpg"]
