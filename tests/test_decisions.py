"""Remembered decisions (imagetwins.decisions): what a plan decided sticks across scans, renames, methods, a cleared
cache; honoured by find, report, remove, find --against and the API; a damaged store never moves more."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from imagetwins.cli import main
from imagetwins.decisions import DecisionStore, default_store_path
from imagetwins.finder import find_against, find_duplicate_groups
from imagetwins.report import report_data


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    """Four real photos, each beside a half-size JPEG copy of itself (four groups of two under any method)."""
    root = tmp_path / "album"
    root.mkdir()
    for i, p in enumerate(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:4]):
        shutil.copy(p, root / f"p{i}.jpg")
        with Image.open(p) as im:
            im.reduce(2).save(root / f"p{i}_small.jpg", quality=85)
    return root


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def _groups(album: Path, *args: str) -> list[list[str]]:
    res = run("find", album, "--json", "-", *args)
    assert res.exit_code == 0, res.output
    return [[os.path.basename(f) for f in g["files"]] for g in json.loads(res.stdout)["groups"]]


def _decide(album: Path, tmp_path: Path, *args: str) -> Path:
    """A find --json plan edited as a person would: p0_small is not a duplicate of p0, the small copy of p1 is kept,
    the group of p2 skipped; p3's group as the keep rule says (the tool's suggestion: not remembered). Imported (a dry
    run remembers nothing)."""
    plan = tmp_path / "plan.json"
    assert run("find", album, "--json", plan).exit_code == 0
    doc = json.loads(plan.read_text())
    by_first = {os.path.basename(g["files"][0]): g for g in doc["groups"]}
    assert set(by_first) == {"p0.jpg", "p1.jpg", "p2.jpg", "p3.jpg"}  # the rule keeps the larger originals
    by_first["p0.jpg"]["not_duplicate"] = [str(album / "p0_small.jpg")]
    by_first["p1.jpg"]["keep"] = str(album / "p1_small.jpg")
    by_first["p2.jpg"]["skip"] = True
    by_first["p3.jpg"]["reviewed"] = True  # accepted as shown (the review page's "a")
    plan.write_text(json.dumps(doc))
    res = run("decisions", "import", plan, *args)
    assert res.exit_code == 0, res.output
    return plan


def _accepted_plan(album: Path, tmp_path: Path) -> Path:
    """A find --json plan whose every group a person accepted as shown (so --apply remembers each)."""
    plan = tmp_path / "plan.json"
    assert run("find", album, "--json", plan).exit_code == 0
    doc = json.loads(plan.read_text())
    for g in doc["groups"]:
        g["reviewed"] = True
    plan.write_text(json.dumps(doc))
    return plan


@pytest.mark.cli
def test_a_plans_decisions_stick_across_renames_methods_and_a_cleared_cache(tmp_path: Path, album: Path) -> None:
    _decide(album, tmp_path)
    store = default_store_path()
    assert store.is_file() and os.environ["XDG_DATA_HOME"] in str(store)  # the data folder, not the cache
    assert "XDG_CACHE_HOME" not in os.environ or os.environ["XDG_CACHE_HOME"] not in str(store)
    assert run("cache", "clear", "--all").exit_code == 0
    assert store.is_file()
    (album / "p1_small.jpg").rename(album / "renamed.jpg")  # decisions are about contents, not names
    os.mkdir(album / "sub")
    (album / "p3.jpg").rename(album / "sub" / "p3.jpg")
    for method in ("phash", "dhash"):
        groups = _groups(album, "-r", "-m", method)
        assert ["p0.jpg", "p0_small.jpg"] not in groups and ["p0_small.jpg", "p0.jpg"] not in groups
        assert ["renamed.jpg", "p1.jpg"] in groups  # the keeper chosen, first
        assert ["p2.jpg", "p2_small.jpg"] in groups
    # the text output says which were decided; --ignore-decisions shows them all again, as new
    res = run("find", album, "-r")
    assert "3 groups decided earlier" in res.output
    assert len(_groups(album, "-r", "--ignore-decisions")) == 4
    # its dry run says which decisions the groups no longer offered got: it said "moved as decided, or left alone"
    res = run("remove", album, "-r")
    assert res.exit_code == 0, res.output
    assert ("3 groups decided earlier: 2 keeping the file chosen then, 1 left alone (see 'imagetwins decisions "
            "list')") in res.stdout.splitlines(), res.output
    # the remove that follows keeps the chosen keeper (the rule would keep p1.jpg) and leaves the skipped group
    res = run("remove", album, "-r", "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 0, res.output
    assert (album / "renamed.jpg").exists() and not (album / "p1.jpg").exists()
    assert (album / "p2.jpg").exists() and (album / "p2_small.jpg").exists()
    assert (album / "p0.jpg").exists() and (album / "p0_small.jpg").exists()
    assert not (album / "p3_small.jpg").exists()


@pytest.mark.cli
def test_the_api_report_and_against_honour_them(tmp_path: Path, album: Path) -> None:
    _decide(album, tmp_path)
    result = find_duplicate_groups(album, "phash")
    names = sorted(sorted(os.path.basename(f) for f in g.files) for g in result.groups)
    assert ["p0.jpg", "p0_small.jpg"] not in names and len(names) == 3
    assert len(find_duplicate_groups(album, "phash", decisions=False).groups) == 4
    # the review page: a group with a file nobody decided about first, the two decided ones after it, apart
    _new_copy_of_p3(album)
    page = report_data(find_duplicate_groups(album, "phash"))
    assert [g["remembered"] for g in page["groups"]] == [None, "decided", "skip"]
    # --against: p0_small checked against a folder holding p0 is no leak any more
    ref, new = tmp_path / "ref", tmp_path / "new"
    ref.mkdir()
    new.mkdir()
    shutil.copy(album / "p0.jpg", ref / "p0.jpg")
    shutil.copy(album / "p1.jpg", ref / "p1.jpg")
    shutil.copy(album / "p0_small.jpg", new / "x.jpg")
    shutil.copy(album / "p1_small.jpg", new / "y.jpg")
    assert {os.path.basename(q) for q in find_against(new, ref, "phash").matches} == {"y.jpg"}
    assert len(find_against(new, ref, "phash", decisions=False).matches) == 2
    res = run("find", new, "--against", ref, "--json", "-")
    assert [os.path.basename(m["query"]) for m in json.loads(res.stdout)["matches"]] == ["y.jpg"]


def _new_copy_of_p3(album: Path) -> None:
    with Image.open(album / "p3.jpg") as im:
        im.reduce(3).save(album / "p3_tiny.jpg", quality=80)


@pytest.mark.cli
def test_the_page_shows_decided_groups_apart(tmp_path: Path, album: Path) -> None:
    _decide(album, tmp_path)
    _new_copy_of_p3(album)
    out = tmp_path / "r.html"
    assert run("report", album, "-o", out).exit_code == 0
    data = json.loads(out.read_text().split('type="application/json">')[1].split("</script>")[0])
    assert [g["remembered"] for g in data["groups"]] == [None, "decided", "skip"]  # new first, decided apart
    assert [len(g["files"]) for g in data["groups"]] == [3, 2, 2]
    assert "Decided earlier" in out.read_text()


@pytest.mark.cli
def test_a_new_group_of_byte_identical_copies_is_not_shown_as_decided(tmp_path: Path, album: Path) -> None:
    _decide(album, tmp_path)
    shutil.copy(album / "p0.jpg", album / "p0 twin.jpg")  # p0 was only said apart from p0_small
    shutil.copy(album / "p3.jpg", album / "p3 twin.jpg")  # p3 was kept over p3_small
    doc = json.loads(run("find", album, "--json", "-").stdout)
    status = {os.path.basename(g["files"][0]): g.get("remembered") for g in doc["groups"]}
    assert status == {"p0.jpg": None, "p1_small.jpg": "decided", "p2.jpg": "skip", "p3.jpg": "decided"}


@pytest.mark.cli
def test_list_forget_export_import(tmp_path: Path, album: Path) -> None:
    _decide(album, tmp_path)
    res = run("decisions", "list")
    assert res.exit_code == 0 and "4 decisions" in res.output
    assert "not a duplicate" in res.output and "left alone" in res.output and "p1_small.jpg  over" in res.output
    exported = tmp_path / "mine.json"
    assert run("decisions", "export", exported).exit_code == 0
    assert len(json.loads(exported.read_text())["decisions"]) == 4
    res = run("decisions", "forget", album / "p0_small.jpg")
    assert res.exit_code == 0 and "forgot 1 decision" in res.output
    assert len(_groups(album)) == 4  # p0's group is back
    assert run("decisions", "forget", "--all").exit_code == 0
    assert "0 decisions" in run("decisions", "list").output
    assert run("decisions", "import", exported).exit_code == 0
    assert len(_groups(album)) == 3
    # an index given with --db carries its own decisions; the user's store is not read then
    db = tmp_path / "team.db"
    assert run("index", "update", album, "--db", db).exit_code == 0
    assert len(_groups(album, "--db", db)) == 4
    assert run("decisions", "import", exported, "--db", db).exit_code == 0
    assert len(_groups(album, "--db", db)) == 3
    assert run("index", "stats", "--db", db).exit_code == 0  # the index is still an index
    assert run("decisions", "forget", "--db", db, "--all").exit_code == 0
    assert len(_groups(album, "--db", db)) == 4
    for bad in (["forget"], ["forget", "--all", album / "p0.jpg"]):
        assert run("decisions", *bad).exit_code == 2


@pytest.mark.cli
def test_a_review_page_export_is_remembered_on_import(tmp_path: Path, album: Path) -> None:
    plan = tmp_path / "plan.json"
    assert run("find", album, "--json", plan).exit_code == 0
    doc = json.loads(plan.read_text())
    doc["source"] = "review page"
    for g in doc["groups"]:
        g["skip"] = True
    plan.write_text(json.dumps(doc))
    res = run("decisions", "import", plan)
    assert res.exit_code == 0 and "remembered 4 decisions" in res.output
    res = run("remove", album, "--apply", "--move-to", tmp_path / "q")
    assert "nothing to move" in res.output
    assert len(list(album.iterdir())) == 8


@pytest.mark.cli
def test_a_corrupt_store_is_one_line_and_remove_moves_nothing(tmp_path: Path, album: Path) -> None:
    _decide(album, tmp_path)
    store = default_store_path()
    store.write_bytes(b"this is no database, someone wrote over it" * 100)
    res = run("find", album)
    assert res.exit_code == 0
    lines = [ln for ln in res.stderr.splitlines() if "decision store" in ln]
    assert len(lines) == 1 and "not a database" in lines[0] and "Traceback" not in res.output
    assert "4 duplicate groups" in res.output  # shown, all of them
    before = sorted(p.name for p in album.iterdir())
    res = run("remove", album, "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 1 and "nothing moved" in res.output and "--ignore-decisions" in res.output
    assert sorted(p.name for p in album.iterdir()) == before
    res = run("decisions", "list")
    assert res.exit_code == 1 and "not a database" in res.output and "Traceback" not in res.output
    res = run("remove", album, "--ignore-decisions")  # the way on, after reading that line
    assert res.exit_code == 0 and "4 files would move" in res.output


@pytest.mark.cli
def test_an_unwritable_store_warns_in_a_dry_run_and_stops_an_apply(tmp_path: Path, album: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _accepted_plan(album, tmp_path)
    blocker = tmp_path / "data-is-a-file"
    blocker.write_text("x")
    data_home = os.environ["XDG_DATA_HOME"]  # (conftest's, of this test)
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))  # the store's folder cannot be made (root cannot either)
    res = run("remove", album, "--plan", plan)  # (a dry run writes nothing, and says what --apply would do)
    assert res.exit_code == 0 and "4 files would move" in res.output
    # (it said "--apply would remember 4 decisions", and --apply then refused the plan)
    said = [line for line in res.stderr.splitlines() if "decision" in line]
    assert len(said) == 1 and said[0].startswith("warning: cannot write to the decision store ") and (
        f"{blocker} is not a folder, so the store cannot be made in it: --apply would move nothing, as the plan's 4 "
        "decisions could not be remembered") in said[0], res.stderr
    res = run("remove", album, "--plan", plan, "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 1 and "nothing moved" in res.output and len(list(album.iterdir())) == 8
    monkeypatch.setenv("XDG_DATA_HOME", data_home)  # a store with two names is never written: said by a dry run too
    run("decisions", "import", plan)
    os.link(default_store_path(), tmp_path / "second-name.db")
    res = run("remove", album, "--plan", plan)
    assert res.exit_code == 0 and "would remember" not in res.stderr, res.stderr
    assert "it has 2 names (hard links)" in res.stderr and "--apply would move nothing" in res.stderr, res.stderr
    res = run("remove", album, "--plan", plan, "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 1 and "nothing moved" in res.output and len(list(album.iterdir())) == 8
    res = run("remove", album, "--plan", plan, "--apply", "--move-to", tmp_path / "q", "--ignore-decisions")
    assert res.exit_code == 0 and len(list(album.iterdir())) == 4


@pytest.mark.cli
def test_a_store_edited_by_hand_only_keeps_more(tmp_path: Path, album: Path) -> None:
    _decide(album, tmp_path)
    db = sqlite3.connect(default_store_path())
    with db:
        # p3's group: the keeper made nonsense; p1's: a verdict nobody knows; a row of junk keys
        db.execute("UPDATE remembered_decisions SET keeper = 'f00' WHERE verdict = 'keep' AND b_name LIKE '%p3%' "
                   "OR a_name LIKE '%p3%'")
        db.execute("UPDATE remembered_decisions SET verdict = 'whatever' WHERE a_name LIKE '%p1%' OR "
                   "b_name LIKE '%p1%'")
        db.execute("INSERT INTO remembered_decisions VALUES ('zz', 'yy', 'keep', 'zz', '', '', 0)")
    db.close()
    res = run("remove", album, "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 0, res.output
    notes = [ln for ln in res.stderr.splitlines() if "no sense" in ln]
    assert len(notes) == 1 and "2 remembered decisions" in notes[0]
    assert len(list(album.iterdir())) == 8  # every pair is now "keep both": nothing moved
    assert DecisionStore().load().unsure == 2


@pytest.mark.cli
def test_a_store_that_is_a_link_or_a_folder_is_left_alone(tmp_path: Path, album: Path) -> None:
    store = default_store_path()
    store.parent.mkdir(parents=True, exist_ok=True)
    target = tmp_path / "elsewhere.db"
    os.symlink(target, store)
    plan = _accepted_plan(album, tmp_path)
    res = run("remove", album, "--plan", plan, "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 1 and "symbolic link" in res.output and not target.exists()
    assert len(list(album.iterdir())) == 8
    os.unlink(store)
    store.mkdir()
    res = run("find", album)
    assert res.exit_code == 0 and "not a file" in res.stderr


@pytest.mark.cli
def test_another_programs_database_is_never_written_to(tmp_path: Path, album: Path) -> None:
    plan = _decide(album, tmp_path)
    foreign = tmp_path / "photos.sqlite"  # e.g. a photo manager's catalogue, named with --db by mistake
    db = sqlite3.connect(foreign)
    with db:
        db.execute("CREATE TABLE albums (name TEXT)")
    db.close()
    before = foreign.read_bytes()
    res = run("decisions", "import", plan, "--db", foreign)
    assert res.exit_code == 1 and "left untouched" in res.output and "Traceback" not in res.output
    assert foreign.read_bytes() == before


@pytest.mark.cli
def test_a_run_reads_only_the_decisions_about_the_contents_it_scanned(tmp_path: Path, album: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A store of many decisions about other contents (a million made 'find' of two images take 877 MB when it was
    loaded whole) gives the same answers, and the store is asked only about the scanned contents."""
    import hashlib

    _decide(album, tmp_path)
    ours = DecisionStore().load()
    before_groups, before_text = _groups(album), run("remove", album).output
    scanned = {hashlib.sha256(p.read_bytes()).hexdigest()[:32] for p in album.iterdir()}
    other = [os.urandom(16).hex() for _ in range(20_000)]
    db = sqlite3.connect(default_store_path())
    with db:  # unrelated pairs, and pairs of one scanned content with one never scanned (of no use to this scan)
        db.executemany("INSERT INTO remembered_decisions VALUES (?, ?, 'not_duplicate', NULL, 'x', 'y', 1)",
                       [tuple(sorted((other[i], other[i + 1]))) for i in range(0, len(other), 2)])
        db.executemany("INSERT INTO remembered_decisions VALUES (?, ?, 'not_duplicate', NULL, 'x', 'y', 1)",
                       [tuple(sorted((k, other[i]))) for i, k in enumerate(sorted(scanned))])
    db.close()
    assert len(DecisionStore().load()) == len(ours) + 10_000 + len(scanned)

    asked: list[set[str]] = []
    rows_about = DecisionStore._rows_about

    def spy(self, keys):
        asked.append(set(keys))
        return rows_about(self, keys)

    def whole(self, columns):
        pytest.fail("a scan read the whole decision store", pytrace=False)

    monkeypatch.setattr(DecisionStore, "_rows_about", spy)
    monkeypatch.setattr(DecisionStore, "_rows", whole)
    assert _groups(album) == before_groups
    assert run("remove", album).output == before_text
    result = find_duplicate_groups(album, "phash")
    assert result.decided.pairs == ours.pairs  # only the decisions between two scanned contents were kept
    assert asked and all(keys == scanned for keys in asked)
    ref, new = tmp_path / "ref", tmp_path / "new"
    ref.mkdir()
    new.mkdir()
    shutil.copy(album / "p0.jpg", ref / "p0.jpg")
    shutil.copy(album / "p0_small.jpg", new / "x.jpg")
    asked.clear()
    assert not find_against(new, ref, "phash").matches  # the not_duplicate decision still holds across the two folders
    assert asked == [{k for k in scanned if k in {hashlib.sha256((album / n).read_bytes()).hexdigest()[:32]
                                                  for n in ("p0.jpg", "p0_small.jpg")}}]


@pytest.mark.unit
def test_forget_finds_both_sides_of_a_pair_through_an_index(tmp_path: Path) -> None:
    """``forget`` deleted ``WHERE a = ? OR b = ?`` once per content: ``b`` had no index, so every content forgotten
    read the whole table. Both sides are now looked up through an index, also in a store made before it."""
    from imagetwins.decisions import _TABLE, Record

    path = tmp_path / "decisions.db"
    store = DecisionStore(path)
    keys = [f"{i:032x}" for i in range(40)]
    store.remember([Record.of(keys[i], keys[i + 1], "not_duplicate") for i in range(0, 40, 2)])
    with sqlite3.connect(path) as db:  # a store as the version before this one left it: no index on b
        db.execute(f"DROP INDEX {_TABLE}_b")
    assert store.forget([keys[1], keys[2]]) == 2  # (keys[1] as the pair's b, keys[2] as the next pair's a)
    assert len(store.records()) == 18
    with sqlite3.connect(path) as db:
        plan = " ".join(str(r) for r in db.execute(f"EXPLAIN QUERY PLAN DELETE FROM {_TABLE} WHERE b = ?", ("x",)))
    assert f"{_TABLE}_b" in plan, plan


@pytest.mark.cli
def test_a_skipped_group_keeps_its_byte_identical_copies_too(tmp_path: Path, album: Path) -> None:
    """A stranger skipped ("keep every file of it") a group of beach.jpg, beach_copy.jpg (the same bytes) and
    beach_small.jpg: only 'left alone: beach / beach_small' was remembered, and the next remove moved beach_copy.jpg.
    A skip now says that every copy of that content is kept, byte copies included, and list/export/forget show it."""
    shutil.copy(album / "p2.jpg", album / "p2_copy.jpg")
    plan = tmp_path / "plan.json"
    assert run("find", album, "--json", plan).exit_code == 0
    doc = json.loads(plan.read_text())
    (group,) = [g for g in doc["groups"] if any(f.endswith("p2_copy.jpg") for f in g["files"])]
    assert len(group["files"]) == 3
    group["skip"] = True
    plan.write_text(json.dumps(doc))
    res = run("decisions", "import", plan)
    assert res.exit_code == 0 and "remembered 2 decisions" in res.output, res.output  # 2 skips (the rest: suggested)
    listed = run("decisions", "list").output
    assert "every byte copy kept: " in listed and "p2_copy.jpg" in listed, listed
    # find shows the group as decided; the remove that follows leaves all three where they are
    doc = json.loads(run("find", album, "--json", "-").stdout)
    assert [g.get("remembered") for g in doc["groups"] if len(g["files"]) == 3] == ["skip"]
    res = run("remove", album, "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 0, res.output
    assert {"p2.jpg", "p2_copy.jpg", "p2_small.jpg"} <= {p.name for p in album.iterdir()}
    assert len(list(album.iterdir())) == 3 + 3  # the other three groups lost their small copies
    # export and import carry it; forgetting the content forgets it
    exported = tmp_path / "mine.json"
    assert run("decisions", "export", exported).exit_code == 0
    rows = json.loads(exported.read_text())["decisions"]
    assert [r["verdict"] for r in rows if r["a"] == r["b"]] == ["skip"]
    assert run("decisions", "forget", "--all").exit_code == 0
    assert run("decisions", "import", exported).exit_code == 0
    assert any(r.a == r.b for r in DecisionStore().records())
    res = run("decisions", "forget", album / "p2_copy.jpg")
    assert res.exit_code == 0 and "forgot 2 decisions" in res.output, res.output
    assert DecisionStore().records() == []


@pytest.mark.unit
def test_a_byte_copy_of_the_keeper_kept_beside_it_is_remembered_with_itself() -> None:
    """``also_keep`` of a byte copy of the keeper (a reference folder's twin, one a person added) said nothing: the
    copy has the keeper's content, and a content with itself was no pair. It is now a skip of that content with
    itself; the copy that moves stays a keeper decision; a row of one content can only be a skip."""
    from types import SimpleNamespace

    from imagetwins.decisions import Record, Remembered, _valid, records_from_plan

    a, b = "a" * 64, "b" * 64
    g = SimpleNamespace(keep="k.jpg", files=["k.jpg", "twin.jpg", "small.jpg"], skip=False, number=1,
                        sha256={"k.jpg": a, "twin.jpg": a, "small.jpg": b}, not_duplicate=[], leave=["twin.jpg"],
                        to_move=["small.jpg"])
    records = records_from_plan([g])
    assert sorted((r.a == r.b, r.verdict) for r in records) == [(False, "keep"), (True, "skip")]
    remembered = Remembered(pairs={(r.a, r.b): (r.verdict, r.keeper) for r in records})
    key_of = {"k.jpg": a[:32], "twin.jpg": a[:32], "small.jpg": b[:32]}
    assert remembered.kept_beside("k.jpg", g.files, key_of) == ["twin.jpg"]
    assert _valid(a, a, "not_duplicate", None) == (a[:32], a[:32], "skip", None)  # (edited: keeps more, never less)
    assert _valid(a, a, "keep", a) == (a[:32], a[:32], "skip", None)
    assert not Remembered(pairs={(a[:32], a[:32]): ("skip", None)}).not_duplicate(a[:32], a[:32])
    assert Record.of(a[:32], a[:32], "skip").a == Record.of(a[:32], a[:32], "skip").b
