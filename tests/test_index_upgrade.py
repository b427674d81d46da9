"""An index an older imagetwins made (another encoder identity: a FEATURES_VERSION, a method's version) is upgraded
in place by ``index update DIR --db FILE``: only the rows made with the old identity are made again, each old row kept
until its new one is stored, so Ctrl-C or a full disk in the middle of an hour-long upgrade loses nothing and the same
command goes on with what is left. Every other use refuses the file, in one line naming the exact command."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from index_files import rewrite_encodings, rewrite_identity

from imagetwins import encoding
from imagetwins import index as index_module
from imagetwins.index import Index, IndexFileError, IndexMismatchError

_LOAD = encoding._load


def _older(identity: dict) -> dict:
    return {**identity, "version": -1}


def _rows(db: Path, method: str) -> dict[str, bytes]:
    with sqlite3.connect(db) as con:
        rows = dict(con.execute("SELECT f.path, e.value FROM encodings e JOIN file_paths f ON f.id = e.file_id "
                                "WHERE e.method = ?", (method,)))
    con.close()
    return rows


@pytest.fixture
def library(tmp_path: Path, datasets: Path) -> tuple[Path, Path]:
    """Nine real photos, three in a sub-folder, indexed with -r by phash and dhash; then phash's rows and identity
    made an older imagetwins's (its hashes other bits)."""
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:9]
    folder = tmp_path / "library"
    (folder / "sub").mkdir(parents=True)
    for k, p in enumerate(photos):
        shutil.copyfile(p, folder / ("sub" if k >= 6 else "") / p.name)
    db = tmp_path / "catalogue.db"
    with Index(db, methods=["phash", "dhash"]) as idx:
        idx.update(folder)
    rewrite_identity(db, "phash", _older)
    rewrite_encodings(db, "phash", lambda blob: bytes(b ^ 0x5A for b in blob))
    return folder, db


def _loads_counted(monkeypatch, stop_after: int | None = None) -> list:
    """Count the files decoded (``encoding._load``); with ``stop_after``, Ctrl-C (KeyboardInterrupt) after that many."""
    load, seen = _LOAD, []

    def counted(path, *args, **kwargs):
        seen.append(path)
        if stop_after is not None and len(seen) > stop_after:
            raise KeyboardInterrupt
        return load(path, *args, **kwargs)

    monkeypatch.setattr(encoding, "_load", counted)
    return seen


@pytest.mark.integration
def test_an_upgrade_cut_short_keeps_every_old_row_and_the_next_goes_on_with_the_rest(library, monkeypatch) -> None:
    folder, db = library
    old_phash, dhash = _rows(db, "phash"), _rows(db, "dhash")
    monkeypatch.setattr(index_module, "STORE_BATCH", 4)
    _loads_counted(monkeypatch, stop_after=6)
    with Index(db, methods=[], upgrade=True) as idx, pytest.raises(KeyboardInterrupt):
        idx.update(folder, workers=1)
    now = _rows(db, "phash")
    # (before: the upgrade dropped all nine old rows first, and kept only the ones made again before Ctrl-C)
    assert now.keys() == old_phash.keys()
    remade = {p for p in now if now[p] != old_phash[p]}
    assert 1 <= len(remade) < 9
    assert _rows(db, "dhash") == dhash  # the other method as it was
    # every other use refuses it, saying how many are left and the exact command that goes on
    with pytest.raises(IndexMismatchError) as refused:
        Index(db, methods=["phash"])
    line = str(refused.value)
    assert f"{9 - len(remade)} still" in line and f"'imagetwins index update {folder.resolve()} -r --db {db}'" in line
    assert "\n" not in line
    # the next update makes again only the rows left, and then the index is this imagetwins's
    seen = _loads_counted(monkeypatch)
    with Index(db, methods=[], upgrade=True) as idx:
        stats = idx.update(folder, workers=1)
        assert stats.remade == 9 - len(remade) and len(seen) == 9 - len(remade)
        assert not idx.upgrade_left
    with Index(db, methods=["phash"]) as idx:
        with Index(tmp := db.with_name("fresh.db"), methods=["phash"]) as fresh:
            fresh.update(folder, workers=1)
            want = fresh.load("phash")
        got = idx.load("phash")
        assert got[0] == want[0] and (got[1] == want[1]).all()
    assert tmp.exists()


def _disk_full_after_one_batch(monkeypatch):
    """Index stores batches of 4 rows, and the disk fills after the first; gives the real ``Index._store``."""
    monkeypatch.setattr(index_module, "STORE_BATCH", 4)
    store, calls = Index._store, []

    def full_disk(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise sqlite3.OperationalError("database or disk is full")
        return store(self, *args, **kwargs)

    monkeypatch.setattr(Index, "_store", full_disk)
    return store


@pytest.mark.integration
def test_a_full_disk_during_an_upgrade_loses_nothing(library, monkeypatch) -> None:
    folder, db = library
    old_phash = _rows(db, "phash")
    store = _disk_full_after_one_batch(monkeypatch)
    with Index(db, methods=[], upgrade=True) as idx, pytest.raises(IndexFileError):
        idx.update(folder, workers=1)
    monkeypatch.setattr(Index, "_store", store)
    now = _rows(db, "phash")
    assert now.keys() == old_phash.keys() and sum(now[p] != old_phash[p] for p in now) == 4
    with Index(db, methods=[], upgrade=True) as idx:
        assert idx.outdated() == {"phash": 5}
        assert idx.update(folder, workers=1).remade == 5
    with Index(db, methods=["phash"]) as idx:
        assert len(idx.load("phash")[0]) == 9


@pytest.mark.integration
def test_an_upgrade_of_one_folder_keeps_the_others_old_rows_until_they_are_updated(library) -> None:
    folder, db = library
    with Index(db, methods=[], upgrade=True) as idx:
        assert idx.update(folder / "sub").remade == 3
        assert idx.upgrade_left == {"phash": 6}
    assert len(_rows(db, "phash")) == 9  # (nothing of the other folder dropped)
    with pytest.raises(IndexMismatchError, match="6 still"):
        Index(db, methods=["phash"])
    with Index(db, methods=[], upgrade=True) as idx:
        stats = idx.update(folder)
        assert stats.remade == 6 and stats.unchanged == 3 and not idx.upgrade_left
    with Index(db, methods=["phash"]) as idx:
        assert len(idx.load("phash")[0]) == 9


@pytest.mark.cli
def test_the_refusal_names_the_command_that_upgrades_and_that_command_does(library) -> None:
    folder, db = library

    def run(*args: str):
        res = CliRunner().invoke(main_command(), [str(a) for a in args])
        assert "Traceback" not in res.output and (res.exception is None or isinstance(res.exception, SystemExit))
        return res

    res = run("find", folder, "-r", "-m", "phash", "--db", db)
    assert res.exit_code == 1 and len(res.output.strip().splitlines()) == 1, res.output
    # (before: 'imagetwins index update DIR --db FILE', DIR to be guessed)
    command = f"imagetwins index update {folder.resolve()} -r --db {db}"
    assert f"'{command}'" in res.output
    res = run(*command.split()[1:])
    assert res.exit_code == 0, res.output
    notice = [line for line in res.output.splitlines() if line.startswith("upgrading")]
    assert notice == [f"upgrading {db}: 9 phash encodings an older imagetwins made are made again (each old one kept "
                      "until its new one is stored: Ctrl-C loses nothing, and this command goes on with the rest)"]
    assert "9 made again for this imagetwins" in res.output
    res = run("find", folder, "-r", "-m", "phash", "--db", db, "--json", "-")
    assert res.exit_code == 0 and json.loads(res.output[res.output.index("{"):])["groups"] == []
    assert "upgrading" not in run(*command.split()[1:]).output  # (nothing left to upgrade)


def main_command():
    from imagetwins.cli import main

    return main


@pytest.mark.cli
def test_index_update_on_a_full_disk_keeps_the_old_rows_it_has_not_replaced(library, monkeypatch) -> None:
    """The command itself (before: it dropped every old phash row first, and the disk filling after one batch left
    4 of the 9)."""
    folder, db = library
    old = _rows(db, "phash")
    store = _disk_full_after_one_batch(monkeypatch)
    res = CliRunner().invoke(main_command(), ["index", "update", str(folder), "-r", "--db", str(db), "--workers", "1"])
    assert res.exit_code == 1 and "Traceback" not in res.output and "full" in res.output, res.output
    assert _rows(db, "phash").keys() == old.keys()
    monkeypatch.setattr(Index, "_store", store)
    res = CliRunner().invoke(main_command(), ["index", "update", str(folder), "-r", "--db", str(db)])
    assert res.exit_code == 0 and "upgrading" in res.output and "5 made again" in res.output, res.output
