"""An index shared with other files and other runs: a file that is not an index of ours is never written into
(an SQLite file holding no table included), several updates of one folder at once each say what they stored, and a
read-only index is read (never written) by ``find --db``. Real images, real processes."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main
from imagetwins.index import Index, IndexDamagedError, default_cache_path

pytestmark = pytest.mark.cli


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_error_line(res, *words: str) -> str:
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    lines = [x for x in res.output.splitlines() if x.startswith("Error:")]
    assert len(lines) == 1, res.output
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    root = tmp_path / "album"
    shutil.copytree(datasets / "imagededup-testdata" / "mixed_images", root)
    return root


def header_only(path: Path) -> Path:
    """Another program's empty SQLite database: a header page (its user_version set), no table."""
    with closing(sqlite3.connect(path)) as con:
        con.execute("PRAGMA user_version = 3")
    assert path.stat().st_size > 0
    return path


def test_an_sqlite_file_holding_no_table_is_never_made_an_index(tmp_path: Path, album: Path) -> None:
    """Opened to write, an SQLite file holding no table (another program's empty database: its header says
    nothing of imagetwins) was quietly made an index: imagetwins's tables written into someone else's file. It is
    refused, file and reason, left byte for byte (through a link too)."""
    other = header_only(tmp_path / "other.db")
    before = digest(other)
    for args in (["index", "update", album, "--db", other], ["find", album, "--db", other, "-m", "phash"]):
        one_error_line(run(*args), str(other), "SQLite file holding no table", "left untouched", "delete it")
    with pytest.raises(IndexDamagedError, match="holding no table"):
        Index(other, methods=["phash"])
    link = tmp_path / "link.db"
    link.symlink_to(other)
    one_error_line(run("index", "update", album, "--db", link), str(link), "holding no table")
    assert digest(other) == before and sorted(p.name for p in tmp_path.iterdir()) == ["album", "link.db", "other.db"]


def test_an_empty_or_new_file_is_made_an_index(tmp_path: Path, album: Path) -> None:
    """A file of no bytes (made for the index, or by another run that has not written it yet) is one."""
    empty = tmp_path / "empty.db"
    empty.touch()
    for db in (empty, tmp_path / "new.db"):
        res = run("index", "update", album, "--db", db, "-m", "phash")
        assert res.exit_code == 0 and "5 added" in res.output, res.output
        with Index(db, readonly=True) as idx:
            assert idx.stats()["files"] == 6


def test_a_cache_holding_no_table_is_made_again(tmp_path: Path, album: Path, monkeypatch) -> None:
    """A per-folder cache holds nothing that cannot be made again: one holding no table is, with a warning."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cache = default_cache_path(album)
    cache.parent.mkdir(parents=True)
    header_only(cache)
    res = run("find", album, "-m", "phash")
    assert res.exit_code == 0 and "holding no table" in res.output and "made again" in res.output, res.output
    with Index(cache, readonly=True) as idx:
        assert idx.stats()["files"] == 6


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_an_index_path_that_is_no_file_is_named(tmp_path: Path, album: Path, kind: str) -> None:
    where = tmp_path / "index.db"
    if kind == "folder":
        where.mkdir()
    else:
        os.mkfifo(where)
    for args in (["index", "update", album, "--db", where], ["find", album, "--db", where, "-m", "phash"]):
        res = run(*args)
        assert res.exit_code in (1, 2) and "Traceback" not in res.output, res.output
        assert str(where) in res.output and ("directory" in res.output or "FIFO" in res.output), res.output


def _holds_open(pid: int, path: Path) -> bool:
    try:
        return any(os.path.realpath(f"/proc/{pid}/fd/{fd}") == str(path.resolve())
                   for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see the runs open the index")
def test_updates_of_one_folder_at_once_take_turns_and_say_what_each_stored(tmp_path: Path, datasets: Path) -> None:
    """Three 'index update' runs of one new folder at once: each read the index before the others stored anything,
    encoded all 18 images and said '18 added' (the last write kept). Real processes: held back by a write
    transaction of this test until all three have the index open, then let go together. One says '18 added', the
    others find them stored; the index holds each file once and passes SQLite's integrity check."""
    import subprocess
    import sys
    import time

    import imagetwins

    folder = tmp_path / "shop"
    folder.mkdir()
    for path in sorted((datasets / "ukbench-600" / "images").glob("*.jpg"))[:18]:
        shutil.copy(path, folder)
    db = tmp_path / "shop.db"
    Index(db, methods=["phash"]).close()
    env = {**os.environ, "PYTHONPATH": str(Path(imagetwins.__file__).parents[1]),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # (no run can write until all three are under way)
    runs = [subprocess.Popen([sys.executable, "-m", "imagetwins", "index", "update", str(folder), "--db", str(db),
                              "-m", "phash"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for _ in range(3)]
    try:
        deadline = time.monotonic() + 120
        while not all(_holds_open(p.pid, db) or p.poll() is not None for p in runs) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # (each at its first write, or waiting its turn)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    outputs = [p.communicate(timeout=300)[0].decode() for p in runs]
    assert all(p.returncode == 0 for p in runs), outputs
    added = sorted(int(line.split(" added")[0].rsplit(None, 1)[-1]) for out in outputs for line in out.splitlines()
                   if " added, " in line)
    assert added == [0, 0, 18], outputs
    assert sum("18 unchanged" in out for out in outputs) == 2, outputs
    with Index(db, readonly=True) as idx:
        assert idx.stats()["files"] == 18 and idx.stats()["encodings"] == {"phash": 18}
        assert idx.integrity_check() == "ok"


def _groups(res) -> list[list[str]]:
    import json

    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    return sorted(sorted(os.path.basename(f) for f in g["files"]) for g in doc["groups"])


def test_find_through_a_read_only_index_reads_it_and_encodes_only_what_it_lacks(tmp_path: Path, album: Path) -> None:
    """'find --db' of an index no one may write (a read-only file and folder, or a link to it) refused: the stored
    rows of unchanged files are used now, new and changed files encoded for this run and not stored (one warning
    line with their count), and nothing is written: the file, its folder and its listing stay as they were. The
    groups are those of a run without any index."""
    from index_files import read_only

    folder = tmp_path / "idx"
    folder.mkdir()
    db = folder / "phash.db"
    assert run("index", "update", album, "--db", db, "-m", "phash").exit_code == 0
    shutil.copy(album / "ukbench00120.jpg", album / "new_copy.jpg")  # (new: a byte copy of an indexed photo)
    shutil.copy(album / "ukbench00120_hflip.jpg", album / "ukbench00120_resize.jpg")  # (changed under its name)
    link = tmp_path / "link.db"
    link.symlink_to(db)
    expected = _groups(run("find", album, "-m", "phash", "--no-cache", "--json", "-"))
    assert expected and any("new_copy.jpg" in g for g in expected)
    listing = sorted(p.name for p in folder.iterdir())
    before = digest(db)
    with read_only(db, folder):
        for where in (db, link):
            res = run("find", album, "--db", where, "-m", "phash", "--json", "-")
            assert _groups(res) == expected
            warnings = [x for x in res.stderr.splitlines() if f"the index {where}" in x]
            assert len(warnings) == 1 and "cannot be written" in warnings[0] and "2 images" in warnings[0] and \
                "not stored" in warnings[0], res.stderr
        # a method the index does not hold: every image encoded, the same way
        res = run("find", album, "--db", db, "-m", "dhash", "--json", "-")
        assert _groups(res) == _groups(run("find", album, "-m", "dhash", "--no-cache", "--json", "-"))
        assert "6 images it does not hold" in res.stderr, res.stderr  # (the unreadable one: as recorded)
    assert digest(db) == before and sorted(p.name for p in folder.iterdir()) == listing
    with Index(db, readonly=True) as idx:
        assert idx.stats()["files"] == 6 and "dhash" not in idx.stored_methods()


def test_an_index_with_two_names_is_read_never_written(tmp_path: Path, album: Path) -> None:
    """An index file with two names (hard links): SQLite keeps its -wal and -shm beside the name it was opened by,
    so a run writing through one name while another run had it open by the other damaged it (measured: an update
    through one name while a reader held the other, 'database disk image is malformed'). Through either name it is
    now read as a read-only index is, never written: 'index update' refuses in one line, 'find' reads it and gives
    the groups of a run without any index, and the file is byte for byte what it was."""
    db = tmp_path / "phash.db"
    assert run("index", "update", album, "--db", db, "-m", "phash").exit_code == 0
    other = tmp_path / "same.db"
    os.link(db, other)
    before = digest(db)
    for name in (db, other):
        with Index(name, methods=["phash"]) as idx:
            assert idx.readonly and "2 names (hard links)" in idx.unwritable, idx.unwritable
            assert idx.stats()["files"] == 6
        one_error_line(run("index", "update", album, "--db", name, "-m", "phash"), str(name), "hard links")
        res = run("find", album, "--db", name, "-m", "phash", "--json", "-")
        assert _groups(res) == _groups(run("find", album, "-m", "phash", "--no-cache", "--json", "-"))
        assert "Traceback" not in res.output
    assert digest(db) == before
    other.unlink()  # one name again: written as before
    assert run("index", "update", album, "--db", db, "-m", "dhash").exit_code == 0
    with Index(db, readonly=True) as idx:
        assert "dhash" in idx.stored_methods()


def test_reading_an_index_one_may_not_write_leaves_nothing_beside_it(tmp_path: Path, album: Path) -> None:
    """An index file this user may not write, in a folder they may: 'find --db', 'index stats' and the decisions kept in
    it read it and leave nothing beside it. SQLite's mode=ro made an empty -wal and a -shm there (the file's mode,
    this user's), left behind: the index made writable again, its owner's next write failed ('attempt to write a
    readonly database') until someone deleted them."""
    from index_files import read_only

    folder = tmp_path / "idx"
    folder.mkdir()
    db = folder / "phash.db"
    assert run("index", "update", album, "--db", db, "-m", "phash").exit_code == 0
    expected = _groups(run("find", album, "-m", "phash", "--no-cache", "--json", "-"))
    before = digest(db)
    with read_only(db):
        assert _groups(run("find", album, "--db", db, "-m", "phash", "--json", "-")) == expected
        assert run("index", "stats", "--db", db).exit_code == 0
        assert sorted(p.name for p in folder.iterdir()) == ["phash.db"]
    assert digest(db) == before
    assert run("index", "update", album, "--db", db, "-m", "dhash").exit_code == 0


def test_the_update_lock_never_waits_on_a_fifo_put_in_the_index_s_place(tmp_path: Path) -> None:
    """Index names a FIFO at its path before opening it; one put there after that look (a link swapped) reached
    locks.hold_file, whose open of it waited for a writer for ever. Now it is not opened to wait: no lock, at once."""
    import threading

    from imagetwins.locks import hold_file, let_go

    fifo = tmp_path / "index.db"
    os.mkfifo(fifo)
    got: list = []
    holder = threading.Thread(target=lambda: got.append(hold_file(fifo)), daemon=True)
    holder.start()
    holder.join(10)
    try:
        assert not holder.is_alive() and got == [None], "hold_file waited on a FIFO"
    finally:
        if holder.is_alive():  # (main: let the blocked open go)
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            holder.join(5)
            let_go(got[0] if got else None)


def test_a_read_only_index_of_an_older_imagetwins_says_what_can_be_done(tmp_path: Path, album: Path) -> None:
    """'find --db' of an index no one may write whose rows an older imagetwins made: one line, and it no longer says
    that 'index update' makes them again in place (it cannot write the file): --no-cache or a copy one may write."""
    from index_files import read_only, rewrite_identity

    folder = tmp_path / "idx"
    folder.mkdir()
    db = folder / "phash.db"
    assert run("index", "update", album, "--db", db, "-m", "phash").exit_code == 0
    rewrite_identity(db, "phash", lambda identity: {**identity, "version": 0})
    with read_only(db, folder):
        line = one_error_line(run("find", album, "--db", db, "-m", "phash"), "older imagetwins",
                              "cannot be written", "--no-cache")
        assert "makes them again in place" not in line, line
    line = one_error_line(run("find", album, "--db", db, "-m", "phash"), "makes them again in place")
    assert "cannot be written" not in line


def test_a_read_only_index_of_a_newer_imagetwins_says_upgrade(tmp_path: Path, album: Path) -> None:
    """An index a newer imagetwins wrote (its schema above ours), read-only: the line says so and what to do, as the
    line of one opened to write does (it said only 'has index schema 99; this imagetwins reads schema 1'); the file is
    left as it was."""
    from index_files import read_only, set_schema_version

    folder = tmp_path / "idx"
    folder.mkdir()
    db = folder / "phash.db"
    assert run("index", "update", album, "--db", db, "-m", "phash").exit_code == 0
    set_schema_version(db, 99)
    before = digest(db)
    with read_only(db, folder):
        for args in (("find", album, "--db", db, "-m", "phash"), ("index", "stats", "--db", db)):
            one_error_line(run(*args), "written by a newer imagetwins (schema 99 > ", "upgrade imagetwins")
    one_error_line(run("index", "stats", "--db", db), "written by a newer imagetwins", "upgrade imagetwins")
    assert digest(db) == before


def test_an_index_through_a_link_carries_its_decisions(tmp_path: Path, album: Path) -> None:
    """``find --db LINK`` (an index kept on another disk, reached through a link, which the index follows) warned
    on every run "the decision store LINK is a symbolic link; it is left alone; remembered decisions are not applied
    this time": the decisions kept in that index are read through the link as the index is."""
    db = tmp_path / "real.db"
    assert run("index", "update", album, "--db", db, "-m", "phash").exit_code == 0
    link = tmp_path / "link.db"
    link.symlink_to(db)
    res = run("find", album, "--db", link, "-m", "phash")
    assert res.exit_code == 0 and "decision store" not in res.output and "group 1" in res.output, res.output
    dangling = tmp_path / "dangling.db"
    dangling.symlink_to(tmp_path / "nothing.db")
    one_error_line(run("find", album, "--db", dangling, "-m", "phash"), str(dangling))
    assert not (tmp_path / "nothing.db").exists()


def test_decisions_are_never_written_into_an_index_with_two_names(tmp_path: Path, album: Path) -> None:
    """The decisions kept in an index with two names (hard links): 'decisions import --db' wrote them through the name
    given, as SQLite damages such a file when another run has it open by the other name. One line, nothing written."""
    import json

    db = tmp_path / "phash.db"
    assert run("index", "update", album, "--db", db, "-m", "phash").exit_code == 0
    res = run("find", album, "--db", db, "-m", "phash", "--json", "-")
    assert res.exit_code == 0, res.output
    plan = json.loads(res.stdout)
    assert plan["groups"]
    plan["groups"][0]["skip"] = True  # (a decision a person made: remembered by an import)
    edited = tmp_path / "plan.json"
    edited.write_text(json.dumps(plan))
    other = tmp_path / "same.db"
    os.link(db, other)
    before = digest(db)
    one_error_line(run("decisions", "import", edited, "--db", other), str(other), "hard links", "nothing was written")
    assert digest(db) == before
    other.unlink()
    res = run("decisions", "import", edited, "--db", db)
    assert res.exit_code == 0 and "remembered" in res.output, res.output
