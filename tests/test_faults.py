"""Safe actions under faults: kill -9 in the middle of remove --apply, a full disk on the quarantine side."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import moves_by_link
from tree_digests import name_digests as _digests

from imagetwins.cli import main

pytestmark = pytest.mark.cli


SLOW_REMOVE = """
import sys, time
import imagetwins.quarantine as q
real = q._move
def slow(*args, **kwargs):
    time.sleep(0.05)
    real(*args, **kwargs)
q._move = slow
from imagetwins.cli import main
main(["remove", sys.argv[1], "--apply", "--no-cache", "-m", "phash", "--move-to", sys.argv[2]])
"""
# (-m phash: the groups are byte copies, which every method finds, and the fault is in the moves; a hash's scan of
# the 120 copies costs a third of the default method's)


def test_kill_9_during_remove_then_undo(tmp_path: Path, datasets: Path) -> None:
    album = tmp_path / "album"
    album.mkdir()
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:3]
    for p in photos:
        for k in range(40):  # three groups of 40 byte-identical copies
            shutil.copy(p, album / f"{p.stem}_{k:02d}.jpg")
    before = _digests(album)
    quarantine = tmp_path / "q"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_REMOVE, str(album), str(quarantine)])
    journal = quarantine / "manifest.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline:
        if journal.exists() and journal.read_text().count('"done"') >= 20:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    lines = [json.loads(x) for x in journal.read_text().splitlines() if x.strip().endswith("}")]
    moved = {e["from"] for e in lines if e["state"] == "planned"}
    assert 20 <= len(moved) < 117, len(moved)
    # every file is either still in the album or in quarantine and listed in the journal
    in_album = set(_digests(album))
    in_quarantine = {str(Path(p).resolve()) for p in quarantine.rglob("*.jpg")}
    for name in before:
        original = str((album / name).resolve())
        if name not in in_album:
            assert original in moved
            target = next(e["to"] for e in lines if e["from"] == original)
            assert target in in_quarantine
    res = CliRunner().invoke(main, ["undo", str(quarantine)])
    assert res.exit_code == 0, res.output
    assert _digests(album) == before
    assert not list(quarantine.rglob("*.jpg"))


def _copies_of_one_photo(tmp_path: Path, datasets: Path, n: int) -> Path:
    album = tmp_path / "album"
    album.mkdir()
    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0]
    for k in range(n):
        shutil.copy(photo, album / f"copy{k}.jpg")
    return album


def _cross_device(real):
    """os.link / os.rename as they fail when the quarantine is on another file system (between two names in one
    folder they still work: a copy's final name is given that way)."""
    def op(src, dst, **kwargs):
        if kwargs.get("src_dir_fd") == kwargs.get("dst_dir_fd") and Path(src).parent == Path(dst).parent:
            return real(src, dst, **kwargs)
        raise OSError(errno.EXDEV, "Invalid cross-device link")
    return op


def test_full_disk_on_the_quarantine_side_is_reported_and_rolled_back(tmp_path: Path, datasets: Path,
                                                                   monkeypatch) -> None:
    import imagetwins.quarantine as q

    album = _copies_of_one_photo(tmp_path, datasets, 3)
    before = _digests(album)

    def disk_full(fsrc, fdst, *args, **kw):
        fdst.write(fsrc.read(100))  # a partial copy, then the disk fills up
        raise OSError(errno.ENOSPC, "No space left on device")

    moves_by_link(monkeypatch)
    monkeypatch.setattr(q.os, "rename", _cross_device(os.rename))
    monkeypatch.setattr(q.os, "link", _cross_device(os.link))
    monkeypatch.setattr(q, "_copy_bytes", disk_full)
    quarantine = tmp_path / "q"
    res = CliRunner().invoke(main, ["remove", str(album), "--apply", "--no-cache", "--move-to", str(quarantine)])
    assert res.exit_code == 1
    assert "No space left on device" in res.output
    assert _digests(album) == before  # nothing lost
    assert not [p for p in quarantine.rglob("*") if p.suffix in (".jpg", ".partial")]  # no half copies left


def test_cross_device_move_is_a_verified_copy(tmp_path: Path, datasets: Path, monkeypatch) -> None:
    import imagetwins.quarantine as q

    album = _copies_of_one_photo(tmp_path, datasets, 2)
    before = _digests(album)
    moves_by_link(monkeypatch)
    monkeypatch.setattr(q.os, "rename", _cross_device(os.rename))
    monkeypatch.setattr(q.os, "link", _cross_device(os.link))
    quarantine = tmp_path / "q"
    res = CliRunner().invoke(main, ["remove", str(album), "--apply", "--no-cache", "--move-to", str(quarantine)])
    assert res.exit_code == 0, res.output
    assert len(_digests(album)) == 1 and len(_digests(quarantine)) == 4  # one image + two manifests + key
    monkeypatch.undo()
    assert CliRunner().invoke(main, ["undo", str(quarantine)]).exit_code == 0
    assert _digests(album) == before
