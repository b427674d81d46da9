"""``remove --plan`` of a plan made with an index (``find --db``): the plan records the index (its path and when it was
made) and the check of each file against its keeper reads that index's kept checks, where the plan's files are still
the bytes recorded; an edited, missing or foreign index costs the checks again, never a file; ``--no-cache`` reads
and keeps no check; refusals name the keeper as the folder was named."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _album_with_db_plan(tmp_path: Path) -> tuple[Path, Path, Path]:
    from click.testing import CliRunner

    from imagetwins.cli import main

    album = tmp_path / "album"
    shutil.copytree(REPO / "examples" / "images", album)
    db, plan = tmp_path / "photos.db", tmp_path / "plan.json"
    made = CliRunner().invoke(main, ["find", str(album), "--db", str(db), "--json", str(plan), "-q"])
    assert made.exit_code == 0, made.output
    return album, db, plan


def _remove(*args: str):
    from click.testing import CliRunner

    from imagetwins.cli import main

    return CliRunner().invoke(main, ["remove", *args])


@pytest.mark.cli
def test_plan_of_find_db_records_its_index_and_remove_plan_reads_its_checks(tmp_path: Path,
                                                                          decoded: list[str]) -> None:
    """A plan from ``find --db`` had each file decoded again by ``remove --plan`` (~30 CPU ms a file: the folder's
    cache holds no check, the index was not known); it names the index now, and its kept checks serve."""
    from imagetwins.index import default_cache_path

    album, db, plan = _album_with_db_plan(tmp_path)
    doc = json.loads(plan.read_text())
    assert doc["index"]["path"] == str(db.resolve()) and doc["index"]["created"], doc.get("index")
    assert len(doc["index"]["id"]) == 32, doc["index"]  # (its random name: told from one made the same second)
    decoded.clear()
    dry = _remove(str(album), "--plan", str(plan))
    assert dry.exit_code == 0, dry.output
    assert "5 files would move" in dry.stdout
    assert decoded == [], decoded  # (every check read from the index: no file decoded)
    assert not default_cache_path(album).exists()  # (nor a folder cache made)
    # a plain find (the folder's cache) records no index: remove --plan reads that cache, as before
    from click.testing import CliRunner

    from imagetwins.cli import main

    other = tmp_path / "plain.json"
    assert CliRunner().invoke(main, ["find", str(album), "--json", str(other), "-q"]).exit_code == 0
    assert "index" not in json.loads(other.read_text())


@pytest.mark.cli
def test_remove_plan_no_cache_reads_and_keeps_no_check(tmp_path: Path, decoded: list[str]) -> None:
    """``remove --plan --no-cache`` was refused ("does nothing with --plan") though the check of the plan's files
    reads and keeps checks in the folder's cache: honoured now, every file checked now, no cache read or made, the
    plan's index not read."""
    from imagetwins.index import default_cache_path

    album, db, plan = _album_with_db_plan(tmp_path)
    decoded.clear()
    before = db.stat().st_mtime_ns, db.stat().st_size
    dry = _remove(str(album), "--plan", str(plan), "--no-cache")
    assert dry.exit_code == 0, dry.output
    assert "5 files would move" in dry.stdout
    assert len(decoded) >= 5  # (checked now: the files and keepers decoded)
    # (said plainly: how many checked now (the 5th is a byte copy: no check), and that --no-cache read and kept none)
    assert "note: checked 4 files against their keepers now, decoding 7 files" in dry.stderr, dry.stderr
    assert "(--no-cache: no check read from or kept in a cache or index)" in dry.stderr, dry.stderr
    assert not default_cache_path(album).exists()
    assert (db.stat().st_mtime_ns, db.stat().st_size) == before


@pytest.mark.cli
def test_remove_plan_with_an_edited_index_checks_the_files_now_in_one_line(tmp_path: Path, decoded: list[str]) -> None:
    """The plan's index edited by hand: gone, a FIFO, a link to /dev/zero, a folder, a text file, another index (made
    later in its place): one warning line each saying its checks are not read, one note saying the files were checked
    now, the same moves, no traceback, never a wait;
    a malformed field is one line refusing the plan, nothing moved."""
    album, db, plan = _album_with_db_plan(tmp_path)
    doc = json.loads(plan.read_text())
    made, made_as = doc["index"]["created"], doc["index"]["id"]
    fifo = tmp_path / "fifo.db"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.db"
    zero.symlink_to("/dev/zero")
    text = tmp_path / "text.db"
    text.write_text("not an index\n")
    other_album = tmp_path / "other"
    other_album.mkdir()
    shutil.copyfile(REPO / "examples" / "images" / "forest.jpg", other_album / "forest.jpg")
    other = tmp_path / "other.db"
    from click.testing import CliRunner

    from imagetwins.cli import main

    assert CliRunner().invoke(main, ["index", "update", str(other_album), "--db", str(other), "-m", "copies",
                                     "-q"]).exit_code == 0
    hashes = tmp_path / "phash.db"  # (an index of another method: no check of copies in it)
    assert CliRunner().invoke(main, ["index", "update", str(album), "--db", str(hashes), "-m", "phash",
                                     "-q"]).exit_code == 0
    loop, dangling = tmp_path / "loop.db", tmp_path / "dangling.db"
    loop.symlink_to("loop.db")
    dangling.symlink_to("nowhere.db")
    for where in (tmp_path / "gone.db", fifo, zero, tmp_path, text, other, hashes, loop, dangling):
        edited = tmp_path / "edited.json"
        # (another index: told apart by its stamp; one of phash with no stamp said, by what it holds)
        doc["index"] = {"path": str(where), "created": None if where == hashes else made,
                        "id": None if where == hashes else made_as}
        edited.write_text(json.dumps(doc))
        decoded.clear()
        dry = _remove(str(album), "--plan", str(edited))
        assert dry.exit_code == 0, (where, dry.output)
        assert dry.exception is None or isinstance(dry.exception, SystemExit), (where, dry.exception)
        assert "5 files would move" in dry.stdout, (where, dry.output)
        warnings = [line for line in dry.stderr.splitlines() if line.startswith("warning: ")]
        assert len(warnings) == 1 and "index" in warnings[0] and "not read" in warnings[0], (where, dry.stderr)
        # (then what was done instead, said plainly: checked now, decoding the files, kept nowhere: no folder cache)
        now = [line for line in dry.stderr.splitlines() if line.startswith("note: checked ")]
        assert len(now) == 1 and "against their keepers now, decoding" in now[0] and "not kept" in now[0], \
            (where, dry.stderr)
        assert "Traceback" not in dry.output and "make one with" not in dry.stderr, dry.stderr
        assert len(decoded) >= 5, where  # (checked now)
    # the index itself, made again in its place (the same second too): the plan's 'created' and 'id' tell it apart
    for stamp, name in (("2000-01-01T00:00:00", made_as), (made, "0" * 32)):
        doc["index"] = {"path": str(db), "created": stamp, "id": name}
        edited.write_text(json.dumps(doc))
        decoded.clear()
        dry = _remove(str(album), "--plan", str(edited))
        assert dry.exit_code == 0 and "5 files would move" in dry.stdout, dry.output
        assert "not the index the plan was made with" in dry.stderr and len(decoded) >= 5, dry.stderr
        assert "checks it keeps are not read" in dry.stderr, dry.stderr
    for bad in (5, "relative.db", {"path": 5}, {"path": "rel.db"}, {"path": str(db), "created": 7},
                {"path": str(db), "id": [1]}):
        doc["index"] = bad
        edited.write_text(json.dumps(doc))
        refused = _remove(str(album), "--plan", str(edited), "--apply")
        assert refused.exit_code == 1, (bad, refused.output)
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and "'index'" in lines[0] and "Traceback" not in refused.output, (bad, refused.stderr)
    assert sorted(p.name for p in album.iterdir()) == sorted(p.name for p in (REPO / "examples" / "images").iterdir())


@pytest.mark.cli
def test_remove_plan_of_find_db_moves_no_file_changed_since(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file changed after ``find --db`` (another picture written over it): its kept check is of the bytes the plan
    recorded, which it no longer holds, so it is refused, never moved; the keeper changed likewise: its group moves
    nothing. Refusals name the keeper as the folder was named (it was its absolute path)."""
    from PIL import Image

    album, db, plan = _album_with_db_plan(tmp_path)
    doc = json.loads(plan.read_text())
    by_keeper = {os.path.basename(g["keep"]): g for g in doc["groups"]}
    beach = by_keeper["beach.jpg"]
    moved_beach = [os.path.basename(f) for f in beach["files"] if f != beach["keep"]]
    city = by_keeper[next(k for k in by_keeper if k.startswith("city"))]
    # a copy of the beach group replaced by another photo; the city group's keeper replaced likewise
    Image.open(REPO / "examples" / "images" / "market.jpg").save(album / moved_beach[0])
    Image.open(REPO / "examples" / "images" / "forest.jpg").save(city["keep"])
    monkeypatch.chdir(tmp_path)
    out = _remove("album", "--plan", str(plan), "--apply")
    assert out.exit_code == 1, out.output
    assert f"not moving album/{moved_beach[0]}: it changed since the scan" in out.stderr, out.stderr
    keeper_line = [line for line in out.stderr.splitlines() if "its keeper" in line]
    assert keeper_line and all(f"its keeper album/{os.path.basename(city['keep'])} cannot be trusted" in line
                               for line in keeper_line), out.stderr
    assert str(tmp_path) not in out.stderr, out.stderr  # (no absolute path: the folder as named)
    assert (album / moved_beach[0]).exists()
    for f in city["files"]:
        assert os.path.exists(f)


@pytest.mark.cli
def test_the_review_page_export_of_a_find_db_run_names_its_index(tmp_path: Path, browser, decoded: list[str]) -> None:
    """``find --db FILE --report`` writes a page whose export ('Export decisions': the page's ``plan()``) named no
    index, so ``remove --plan`` of it decoded every file again; it names the run's index as ``find --json`` does."""
    from click.testing import CliRunner

    from imagetwins.cli import main

    album = tmp_path / "album"
    shutil.copytree(REPO / "examples" / "images", album)
    db, page = tmp_path / "photos.db", tmp_path / "review.html"
    made = CliRunner().invoke(main, ["find", str(album), "--db", str(db), "--report", str(page), "-q"])
    assert made.exit_code == 0, made.output
    browser.get(page.as_uri())
    exported = browser.execute_script("return JSON.stringify(plan())")
    doc = json.loads(exported)
    assert doc["index"]["path"] == str(db.resolve()) and doc["index"]["created"], doc.get("index")
    for g in doc["groups"]:  # (as a person who accepted every group: reviewed)
        g["reviewed"], g["unreviewed"], g["skip"] = True, False, False
        g["keep"] = g.get("keep") or g.get("suggested_keep")
    plan = tmp_path / "export.json"
    plan.write_text(json.dumps(doc))
    decoded.clear()
    dry = _remove(str(album), "--plan", str(plan))
    assert dry.exit_code == 0, dry.output
    assert "5 files would move" in dry.stdout, dry.output
    assert decoded == [], decoded


@pytest.mark.cli
def test_remove_plan_names_a_file_left_alone_through_a_link_as_the_folder_was_named(tmp_path: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch
                                                                                  ) -> None:
    """A plan made with ``--follow-symlinks``: its note of the files reached through a link named the example by the
    plan's absolute real path, where ``remove -r --follow-symlinks`` of the same folder names it as the folder was
    named (``album/ext/beach_copy.jpg``)."""
    from click.testing import CliRunner

    from imagetwins.cli import main

    album, outside = tmp_path / "album", tmp_path / "outside"
    album.mkdir()
    outside.mkdir()
    shutil.copyfile(REPO / "examples" / "images" / "beach.jpg", album / "beach.jpg")
    shutil.copyfile(REPO / "examples" / "images" / "beach_copy.jpg", outside / "beach_copy.jpg")
    (album / "ext").symlink_to("../outside")
    monkeypatch.chdir(tmp_path)
    made = CliRunner().invoke(main, ["find", "album", "-r", "--follow-symlinks", "--json", "plan.json", "-q"])
    assert made.exit_code == 0, made.output
    dry = _remove("album", "--plan", "plan.json")
    assert dry.exit_code == 0, dry.output
    note = [line for line in dry.stderr.splitlines() if "followed symbolic link" in line]
    assert len(note) == 1 and note[0].endswith("e.g. album/ext/beach_copy.jpg"), dry.stderr


@pytest.mark.cli
def test_remove_plan_db_reads_its_checks_and_remembers_there(tmp_path: Path, decoded: list[str]) -> None:
    """``remove --plan P --db FILE`` (refused as doing "nothing with --plan"): the index named reads the checks of a
    plan that names none (``find --no-cache`` written before, a plan edited, the index built since), and the plan's
    decisions are remembered there, as ``find --db`` reads them; a --db that is no index is one error line, nothing
    moved; with --no-cache a usage error."""
    from click.testing import CliRunner

    from imagetwins.cli import main
    from imagetwins.decisions import DecisionStore

    album, db, plan = _album_with_db_plan(tmp_path)
    doc = json.loads(plan.read_text())
    del doc["index"]  # (as a plan from elsewhere: it names none)
    for g in doc["groups"]:  # (a person accepted every group: remembered with --apply)
        g["reviewed"] = True
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(doc))
    decoded.clear()
    dry = _remove(str(album), "--plan", str(bare), "--db", str(db))
    assert dry.exit_code == 0 and "5 files would move" in dry.stdout, dry.output
    assert decoded == [], decoded
    assert str(db) in dry.stderr  # (--apply would remember the decisions there)
    text = tmp_path / "text.db"
    text.write_text("no index\n")
    bad = _remove(str(album), "--plan", str(bare), "--db", str(text), "--apply")
    assert bad.exit_code == 1 and len(bad.stderr.strip().splitlines()) == 1, bad.output
    both = _remove(str(album), "--plan", str(bare), "--db", str(db), "--no-cache")
    assert both.exit_code == 2 and "--no-cache" in both.output, both.output
    moved = _remove(str(album), "--plan", str(bare), "--db", str(db), "--apply", "--move-to", str(tmp_path / "q"))
    assert moved.exit_code == 0, moved.output
    assert len(list((tmp_path / "q").rglob("*.jpg")) + list((tmp_path / "q").rglob("*.png"))) == 5
    assert DecisionStore(db).path == db  # (the index's own decisions: what find --db reads next)
    again = CliRunner().invoke(main, ["decisions", "list", "--db", str(db)])
    assert again.exit_code == 0 and again.output.strip(), again.output


@pytest.mark.cli
def test_remove_plan_of_find_db_remembers_its_decisions_in_that_index(tmp_path: Path) -> None:
    """A plan from ``find --db FILE`` (or its review page's export) applied without ``--db`` (as ``report --help``'s
    example applies the export) remembered the person's decisions in the user's store, which ``find --db FILE`` does
    not read: the next review of the catalogue showed every decided group as new. They go to the index the plan
    names, while it is still that index (its recorded ``id``); a plan whose index was made again, or that names
    none, remembers them in the user's store as before."""
    from click.testing import CliRunner

    from imagetwins.cli import main

    album, db, plan = _album_with_db_plan(tmp_path)
    doc = json.loads(plan.read_text())
    for g in doc["groups"]:  # (a person accepted every group: remembered with --apply)
        g["reviewed"] = True
    reviewed = tmp_path / "reviewed.json"
    reviewed.write_text(json.dumps(doc))
    dry = _remove(str(album), "--plan", str(reviewed))
    assert dry.exit_code == 0 and f"in {db}" in dry.stderr, dry.output  # ("--apply would remember ... in FILE")
    moved = _remove(str(album), "--plan", str(reviewed), "--apply", "--move-to", str(tmp_path / "q"))
    assert moved.exit_code == 0 and f"in {db}" in moved.stderr, moved.output
    listed = CliRunner().invoke(main, ["decisions", "list", "--db", str(db)])
    assert listed.exit_code == 0 and not listed.output.startswith("0 decisions"), listed.output
    mine = CliRunner().invoke(main, ["decisions", "list"])
    assert mine.output.startswith("0 decisions") or "no decision" in mine.output.lower(), mine.output
    undone = CliRunner().invoke(main, ["undo", str(tmp_path / "q")])
    assert undone.exit_code == 0 and "forgot" in undone.output, undone.output
    # another index made at that path since: not the plan's, its decisions stay where they were
    db.unlink()
    assert CliRunner().invoke(main, ["index", "update", str(album), "--db", str(db), "-q"]).exit_code == 0
    again = _remove(str(album), "--plan", str(reviewed))
    assert again.exit_code == 0 and f"in {db}" not in again.stderr, again.output
