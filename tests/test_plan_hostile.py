"""``remove --plan`` attacked as a hostile user would: the plan file read once (a plan edited while it is applied is
never half-applied), the checks a run makes kept for the next, and plans edited after they were written (files
outside the folder, a keeper moved, paths swapped, a link put in a file's place, a file changed, the same file twice, a
plan of 10,000 groups): nothing lost, nothing written outside the folder, every refusal one line."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main

pytestmark = pytest.mark.cli

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def album(tmp_path: Path) -> Path:
    """The example pictures: copies of beach, city and forest, and market alone."""
    root = tmp_path / "album"
    shutil.copytree(REPO / "examples" / "images", root)
    return root


def _plan(album: Path, out: Path, *args: str) -> dict:
    made = CliRunner().invoke(main, ["find", str(album), "--json", str(out), "-q", *args])
    assert made.exit_code == 0, made.output
    return json.loads(out.read_text())


def _remove(album: Path, plan: Path, *args: str):
    return CliRunner().invoke(main, ["remove", str(album), "--plan", str(plan), *args])


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_plan_file_is_read_once_and_an_edit_meanwhile_changes_nothing(tmp_path: Path, album: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """``remove --plan`` read the plan file 6 times (its merge_metadata, the groups, its index, its method, the folder
    moves' load_plan and their own read): a plan rewritten between two reads had its groups from one version and its
    method, index or folders from another. Read once now, and a rewrite right after that reading changes nothing."""
    import imagetwins.io as io

    plan = tmp_path / "plan.json"
    doc = _plan(album, plan)
    honest = _remove(album, plan)
    assert honest.exit_code == 0 and "5 files would move" in honest.stdout, honest.output
    hostile = json.loads(json.dumps(doc))
    for g in hostile["groups"]:  # (every keeper swapped, metadata merged, another method, an index elsewhere)
        g["keep"] = next(f for f in g["files"] if f != g["keep"])
    hostile.update(merge_metadata=True, method="similar", index={"path": str(tmp_path / "x.db"), "created": None})
    reads: list[str] = []
    real = io.read_user_file

    def reading(path, *args, **kwargs):
        text = real(path, *args, **kwargs)
        if Path(path) == plan:
            reads.append(text)
            plan.write_text(json.dumps(hostile))  # (edited the moment it was read)
        return text

    monkeypatch.setattr(io, "read_user_file", reading)
    run = _remove(album, plan)
    assert len(reads) == 1, len(reads)
    assert run.exit_code == 0, run.output
    assert run.stdout == honest.stdout and run.stderr == honest.stderr


def _index_without_checks(album: Path, db: Path) -> None:
    """An index of ``album``'s copies encodings that keeps no pair check (``index update`` compares nothing)."""
    made = CliRunner().invoke(main, ["index", "update", str(album), "--db", str(db), "-m", "copies", "-q"])
    assert made.exit_code == 0, made.output


def test_checks_made_while_applying_a_plan_are_kept_in_its_index_for_the_next_run(tmp_path: Path, album: Path,
                                                                                  decoded: list[str]) -> None:
    """The plan's index (or the one --db names) was opened read-only: the checks a run made of the plan's files against
    their keepers were thrown away, and every later run of the plan decoded the same files again (0.61 CPU s, 180 MB
    for the example pictures, each time). They are kept there now, said in one line, and the next run decodes
    nothing; an index the plan recorded without its random id (a plan from before ids) is read, never written."""
    from imagetwins.index import Index

    db = tmp_path / "photos.db"
    _index_without_checks(album, db)
    plan = tmp_path / "plan.json"
    doc = _plan(album, plan, "--no-cache")
    with Index(db, methods=[], readonly=True) as opened:
        doc["index"] = {"path": str(db), "created": opened.created(), "id": opened.identity()}
    named = tmp_path / "named.json"
    named.write_text(json.dumps(doc))
    decoded.clear()
    first = _remove(album, named)
    assert first.exit_code == 0 and "5 files would move" in first.stdout, first.output
    assert f"note: checked 4 files against their keepers now, decoding 7 files (no earlier check of them was found); " \
           f"kept in {db} for the next run" in first.stderr, first.stderr
    assert len(decoded) == 7, decoded
    decoded.clear()
    again = _remove(album, named)
    assert again.exit_code == 0 and again.stdout == first.stdout, again.output
    assert decoded == [] and "note: checked" not in again.stderr, again.stderr
    # --db names an index likewise: its checks kept there
    other = tmp_path / "other.db"
    _index_without_checks(album, other)
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({k: v for k, v in doc.items() if k != "index"}))
    decoded.clear()
    assert f"kept in {other} for the next run" in _remove(album, bare, "--db", str(other)).stderr
    decoded.clear()
    assert "note: checked" not in _remove(album, bare, "--db", str(other)).stderr and decoded == []
    # a plan recording the index without its id: read, not written (nothing says it is that very index)
    third = tmp_path / "third.db"
    _index_without_checks(album, third)
    with Index(third, methods=[], readonly=True) as opened:
        doc["index"] = {"path": str(third), "created": opened.created()}
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    before = third.read_bytes()
    for _ in range(2):
        decoded.clear()
        run = _remove(album, old)
        assert run.exit_code == 0 and run.stdout == first.stdout, run.output
        assert "not kept" in run.stderr and len(decoded) == 7, (run.stderr, decoded)
    assert third.read_bytes() == before
    assert not (tmp_path / "third.db-wal").exists() or (tmp_path / "third.db-wal").stat().st_size == 0


def _contents(*folders: Path) -> set[str]:
    """The SHA-256 of every regular file under ``folders`` (links not followed): what must never be lost."""
    return {hashlib.sha256(p.read_bytes()).hexdigest() for folder in folders if folder.exists()
            for p in folder.rglob("*") if p.is_file() and not p.is_symlink()}


def _refusals(run) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.startswith("warning: not moving ")]


def test_a_name_through_a_link_to_a_folder_is_refused_for_that_reason(tmp_path: Path, album: Path) -> None:
    """A plan listing ``album/self/beach.jpg`` (``self -> .``: the keeper itself, by another name) refused it as "a hard
    link of the kept file", and ``album/self/beach_copy.jpg`` (a file that moves under its own name) without a word;
    a name through ``album/ext -> ../outside`` is outside. Each is refused now for what it is, in one line; nothing
    moves through a link, nothing is lost, nothing is written outside the folder and the quarantine."""
    plan = tmp_path / "plan.json"
    doc = _plan(album, plan)
    group = next(g for g in doc["groups"] if g["keep"].endswith("beach.jpg"))
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(group["keep"], outside / "via.jpg")
    (album / "ext").symlink_to(outside)
    (album / "self").symlink_to(".")
    for name in ("ext/via.jpg", "self/beach.jpg", "self/beach_copy.jpg"):
        group["files"].append(str(album / name))
        group["sha256"][str(album / name)] = hashlib.sha256((album / name).read_bytes()).hexdigest()
    plan.write_text(json.dumps(doc))
    before = _contents(album, outside)
    outside_before = _tree(outside)
    run = _remove(album, plan, "--apply", "--move-to", str(tmp_path / "q"))
    assert run.exit_code == 1, run.output
    refused = _refusals(run)
    why = "reached through a symbolic link to a folder: never moved, never kept as a copy"
    assert sorted(refused) == sorted(f"warning: not moving {album / name}: {why}"
                                     for name in ("ext/via.jpg", "self/beach.jpg", "self/beach_copy.jpg")), run.stderr
    assert "moved 5 files" in run.stdout and "hard link" not in run.output
    assert _contents(album, outside, tmp_path / "q") >= before and _tree(outside) == outside_before
    assert (album / "beach.jpg").is_file() and (album / "self").is_symlink() and (album / "ext").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["album", "outside", "plan.json", "q"]


def test_a_plan_edited_after_it_was_written_loses_nothing_and_says_each_refusal_in_one_line(
        tmp_path: Path, album: Path) -> None:
    """The edits a hostile or careless user makes between ``find --json`` and ``remove --plan --apply``: the keeper
    moved away, a file put in a keeper's place, two files' names swapped on disk and two digests swapped in the plan,
    a link put where a keeper was, a file changed (same size), files listed twice (in one group, in two, spelt
    ``album/./x`` and ``album//x``, the keeper listed to move by another spelling, groups keeping what others move),
    a file outside the folder (by absolute, relative and ``..`` names). Every refusal is one line naming the file and
    why; every byte that was in the folder is still in it; nothing is written anywhere else; exit 1."""
    plan = tmp_path / "plan.json"
    doc = _plan(album, plan)
    by_keep = {Path(g["keep"]).name: g for g in doc["groups"]}
    beach, city = by_keep["beach.jpg"], by_keep["city.jpg"]
    outside = tmp_path / "outside"
    outside.mkdir()
    # beach: the keeper moved into a sub-folder
    (album / "sub").mkdir()
    os.rename(album / "beach.jpg", album / "sub" / "beach.jpg")
    # city: two files' names swapped on disk; the keeper's and a file's digests swapped in the plan; a FIFO
    a, b = album / "city_brighter.png", album / "city_recompressed.jpg"
    os.rename(a, tmp_path / "swap")
    os.rename(b, a)
    os.rename(tmp_path / "swap", b)
    city["sha256"][city["keep"]], city["sha256"][str(a)] = city["sha256"][str(a)], city["sha256"][city["keep"]]
    # forest: a link to an outside copy where the keeper was; market: a lone picture made a group with a changed file
    shutil.copy(album / "forest.jpg", outside / "forest.jpg")
    (album / "forest.jpg").unlink()
    (album / "forest.jpg").symlink_to(outside / "forest.jpg")
    data = bytearray((album / "beach_small.jpg").read_bytes())
    data[-3] ^= 0xFF
    shutil.copy(album / "market.jpg", album / "market_copy.jpg")
    digest = hashlib.sha256((album / "market.jpg").read_bytes()).hexdigest()
    doc["groups"].append({"files": [str(album / "market.jpg"), str(album / "market_copy.jpg"), "./market_copy.jpg",
                                    str(album) + "//market_copy.jpg", str(album / "." / "market.jpg")],
                          "keep": str(album / "market.jpg"),
                          "sha256": {str(album / "market.jpg"): digest, str(album / "market_copy.jpg"): digest}})
    # a copy of it outside the folder, listed in its group by three spellings, with its true digest
    shutil.copy(album / "market.jpg", outside / "o.jpg")
    for name in (str(outside / "o.jpg"), "../outside/o.jpg", str(album / ".." / "outside" / "o.jpg")):
        doc["groups"][-1]["files"].append(name)
        doc["groups"][-1]["sha256"][name] = digest
    doc["base"] = str(album)
    # the same file in two groups, and one group keeping what another moves
    doc["groups"].append({"files": [str(album / "market_copy.jpg"), str(album / "market.jpg")],
                          "keep": str(album / "market.jpg"),
                          "sha256": {str(album / "market.jpg"): digest, str(album / "market_copy.jpg"): digest}})
    doc["groups"].append({"files": [str(album / "beach_small.jpg"), str(album / "market.jpg")],
                          "keep": str(album / "beach_small.jpg"),
                          "sha256": {str(album / "beach_small.jpg"): beach["sha256"][str(album / "beach_small.jpg")],
                                     str(album / "market.jpg"): digest}})
    doc["groups"].append({"files": [str(album / "market.jpg"), str(album / "market_copy.jpg")],
                          "keep": str(album / "market_copy.jpg"),
                          "sha256": {str(album / "market.jpg"): digest, str(album / "market_copy.jpg"): digest}})
    (album / "beach_small.jpg").write_bytes(bytes(data))  # (changed after the plan: same size, other bytes)
    plan.write_text(json.dumps(doc))
    before = _contents(album, outside)
    outside_before = _tree(outside)
    run = _remove(album, plan, "--apply", "--move-to", str(tmp_path / "q"))
    assert run.exit_code == 1, run.output
    assert "Traceback" not in run.output and run.exception is None or isinstance(run.exception, SystemExit)
    refused = _refusals(run)
    assert all(line.count(": ") >= 2 for line in refused), refused  # (one line each: the file, then why)
    said = "\n".join(refused)
    for what in ("its keeper {a}/beach.jpg cannot be trusted: it is gone",
                 "its keeper {a}/city.jpg cannot be trusted: it changed since the scan",
                 "its keeper {a}/forest.jpg cannot be trusted: a symbolic link",
                 "{a}/market.jpg: another group keeps it",
                 "{a}/market.jpg: its keeper {a}/beach_small.jpg cannot be trusted: it changed since the scan"):
        what = what.format(a=album)
        assert what in said, (what, said)
    assert said.count("o.jpg: outside the scanned folders") == 2, said  # (the absolute and ../ spellings: one file)
    assert run.stderr.splitlines()[-1].startswith("error: ") and "refused, each named above" in run.stderr
    assert said.count(f"{album}/market_copy.jpg: another group keeps it") == 2, said  # (once a group: two groups)
    assert "nothing to move" in run.stdout and not (tmp_path / "q").exists()  # (every move refused)
    assert _contents(album, outside) >= before and _tree(outside) == outside_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["album", "outside", "plan.json"]


def test_a_plan_of_10000_groups_naming_one_pair_moves_it_once(tmp_path: Path, album: Path) -> None:
    """10,000 groups, each naming the same keeper and copy (a plan a script wrote, or an edit gone wrong): the copy
    moves once, the keeper stays, no group is refused for naming what another already moves, and the run says one
    summary line (each file's digest taken once: the keeper of 10,000 groups is read once)."""
    plan = tmp_path / "plan.json"
    doc = _plan(album, plan)
    beach = next(g for g in doc["groups"] if g["keep"].endswith("beach.jpg"))
    pair = {"files": [beach["keep"], str(album / "beach_copy.jpg")], "keep": beach["keep"],
            "sha256": {f: beach["sha256"][f] for f in (beach["keep"], str(album / "beach_copy.jpg"))}}
    doc["groups"] = [dict(pair) for _ in range(10_000)]
    plan.write_text(json.dumps(doc))
    dry = _remove(album, plan)
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.splitlines() == [f"would move {album}/beach_copy.jpg   (group 1, keeping {album}/beach.jpg)",
                                       dry.stdout.splitlines()[-1]], dry.stdout
    assert dry.stdout.splitlines()[-1].startswith("dry run: 1 file would move") and not _refusals(dry)
    run = _remove(album, plan, "--apply", "--move-to", str(tmp_path / "q"))
    assert run.exit_code == 0 and "moved 1 file to" in run.stdout, run.output
    assert (album / "beach.jpg").is_file() and not (album / "beach_copy.jpg").exists()
    assert (tmp_path / "q" / "beach_copy.jpg").is_file()


def _sha(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_a_hand_made_group_of_unrelated_pictures_moves_nothing_without_move_anyway(tmp_path: Path,
                                                                                  album: Path) -> None:
    """A group edited into a plan by hand, keep city.jpg, move market.jpg (true digests; no copy of each other): the
    check of the pair said "unrelated" by its confidence (0.000) alone, its kept verdict being "copy" (the confidence
    decides), and market.jpg moved as a copy of city.jpg, exit 0, not a word. The check is read at the plan's
    threshold now: market.jpg stays, one note line saying why; move_anyway still moves it; a threshold that is none
    of the method's is one line and nothing moves."""
    plan = tmp_path / "plan.json"
    doc = _plan(album, plan)
    city, market = str(album / "city.jpg"), str(album / "market.jpg")
    doc["groups"] = [{"files": [city, market], "keep": city, "sha256": {city: _sha(city), market: _sha(market)}}]
    plan.write_text(json.dumps(doc))
    for args in ([], ["--no-cache"]):  # (the check the scan kept, and one made now)
        run = _remove(album, plan, "--apply", "--move-to", str(tmp_path / "q"), *args)
        assert run.exit_code == 0 and "nothing to move" in run.stdout, run.output
        assert (f"note: leaving {market} where it is: its check's confidence 0.000 is short of the plan's threshold "
                f"{doc['threshold']:.3f}, so nothing says it is a copy of the keeper {city}") in run.stderr, run.stderr
        assert (album / "market.jpg").is_file() and not (tmp_path / "q").exists()
    for bad in ("high", 7, [0.5], True):
        edited = tmp_path / "bad.json"
        edited.write_text(json.dumps({**doc, "threshold": bad}))
        refused = _remove(album, edited, "--apply", "--move-to", str(tmp_path / "q"))
        assert refused.exit_code == 1 and len(refused.stderr.strip().splitlines()) == 1, (bad, refused.output)
        assert "'threshold'" in refused.stderr and "Traceback" not in refused.output, refused.stderr
    assert (album / "market.jpg").is_file() and not (tmp_path / "q").exists()
    doc["groups"][0]["move_anyway"] = [market]  # (a person says so: it moves)
    plan.write_text(json.dumps(doc))
    moved = _remove(album, plan, "--apply", "--move-to", str(tmp_path / "q"))
    assert moved.exit_code == 0 and "moved 1 file" in moved.stdout, moved.output
    assert (tmp_path / "q" / "market.jpg").is_file()


def test_a_path_recorded_with_another_files_digest_never_answers_for_that_files_check(tmp_path: Path,
                                                                                     album: Path) -> None:
    """The check of a plan's pair is found and made by the contents the plan records, each content decoded from the
    first path recorded with it: a group before the honest one listing a byte copy of city.jpg under market.jpg's
    digest had that copy decoded as "market's content", so the check of market.jpg against city.jpg said copy
    (confidence 1) and market.jpg moved; its own group refused the copy as changed. A path is asked only while it
    holds the bytes its group records now: market.jpg stays."""
    plan = tmp_path / "plan.json"
    doc = _plan(album, plan)
    city, market, dup = str(album / "city.jpg"), str(album / "market.jpg"), str(album / "city_dup.jpg")
    shutil.copy(city, dup)
    doc["groups"] = [{"files": [city, dup], "keep": city, "sha256": {city: _sha(city), dup: _sha(market)}},
                     {"files": [city, market], "keep": city, "sha256": {city: _sha(city), market: _sha(market)}}]
    plan.write_text(json.dumps(doc))
    run = _remove(album, plan, "--no-cache", "--apply", "--move-to", str(tmp_path / "q"))  # (checked now)
    assert run.exit_code == 1, run.output
    assert f"note: leaving {market} where it is: its check's confidence" in run.stderr, run.stderr
    assert f"warning: not moving {dup}: it changed since the scan (SHA-256 differs)" in run.stderr, run.stderr
    assert (album / "market.jpg").is_file() and (album / "city_dup.jpg").is_file()
    assert "nothing to move" in run.stdout and not (tmp_path / "q").exists()
