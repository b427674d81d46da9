"""A whole folder moved across devices, the run (or its undo) killed while copying or just after: nothing is lost, the
next undo finishes without a false error and leaves no unfinished copy behind (in the library or the quarantine).
Before: an undo killed between renaming its copy into place and removing the quarantine's copy made every later
undo say "its original place is taken by a folder" (exit 1, the copy kept in the quarantine), and a copy killed
half-way stayed as a hidden ``.NAME.imagetwins-partial`` folder in the library or the quarantine for good."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins import quarantine
from imagetwins.cli import main

pytestmark = pytest.mark.cli


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler sees it."""


@pytest.fixture
def moved_across(tmp_path: Path, datasets: Path, monkeypatch: pytest.MonkeyPatch):
    """Photos/2019 (6 real photos and one found nowhere else) and its byte copy in a folder whose name holds a
    newline and an undecodable byte; a plan moving that copy; renames between the library and the quarantine meet
    EXDEV (another device). Returns (library, plan, quarantine, tree before)."""
    lib = tmp_path / "lib"
    backup = os.fsdecode(b"Backup\nold\xff")
    src = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    for d in ("Photos/2019", f"{backup}/sub"):
        (lib / d).mkdir(parents=True)
    for i, s in enumerate(src[:6]):
        shutil.copy(s, lib / "Photos/2019" / f"img{i}.jpg")
        shutil.copy(s, lib / backup / ("sub" if i % 2 else ".") / f"img{i}.jpg")
    shutil.copy(src[60], lib / "Photos/2019/unique.jpg")
    q = tmp_path / "q"
    real_rename = os.rename

    def rename(a, b, **kw):
        if str(a).startswith(str(q)) != str(b).startswith(str(q)):  # (names in an open folder: the library's)
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_rename(a, b, **kw)

    monkeypatch.setattr(quarantine.os, "rename", rename)
    plan = tmp_path / "folders.json"
    assert run("folders", lib, "-r", "--json", plan).exit_code == 0
    return lib, plan, q, _tree(lib), backup


def _killed_on_call(m, name: str, n: int, obj=quarantine) -> None:
    """Killed at the n-th call of ``obj.name``; after that nothing of the process runs (no clean-up either)."""
    real, real_rmtree, calls = getattr(obj, name), shutil.rmtree, [0]

    def wrapped(*a, **k):
        calls[0] += 1
        if calls[0] >= n:
            raise Killed
        return real(*a, **k)

    def rmtree(*a, **k):
        if calls[0] >= n:
            raise Killed
        return real_rmtree(*a, **k)

    m.setattr(obj, name, wrapped)
    if (obj, name) != (shutil, "rmtree"):
        m.setattr(shutil, "rmtree", rmtree)


def _partials(*folders: Path) -> list[Path]:
    return [p for f in folders for p in f.rglob("*") if p.name.endswith(quarantine.FOLDER_PARTIAL)]


def test_undo_killed_after_its_copy_is_in_place_is_finished_by_the_next(moved_across, monkeypatch) -> None:
    lib, plan, q, before, backup = moved_across
    assert run("remove", lib, "--plan", plan, "--apply", "--move-to", q).exit_code == 0
    assert not (lib / backup).exists() and (q / backup).is_dir()
    with monkeypatch.context() as m, pytest.raises(Killed):
        _killed_on_call(m, "rmtree", 1, obj=shutil)  # (the quarantine's copy is removed last)
        run("undo", q)
    res = run("undo", q)
    assert res.exit_code == 0 and "restored 1 folder" in res.output and "0 files" not in res.output, res.output
    assert _tree(lib) == before and not (q / backup).exists()


def test_undo_killed_while_copying_back_leaves_no_copy_in_the_library(moved_across, monkeypatch) -> None:
    lib, plan, q, before, backup = moved_across
    assert run("remove", lib, "--plan", plan, "--apply", "--move-to", q).exit_code == 0
    with monkeypatch.context() as m, pytest.raises(Killed):
        _killed_on_call(m, "_copy_verified", 3)
        run("undo", q)
    assert _partials(lib)  # (the unfinished copy, beside the folder's place)
    res = run("undo", q)
    assert res.exit_code == 0, res.output
    assert _tree(lib) == before and not _partials(lib, q) and not (q / backup).exists()


def test_a_move_killed_while_copying_leaves_no_copy_in_the_quarantine(moved_across, monkeypatch) -> None:
    lib, plan, q, before, backup = moved_across
    with monkeypatch.context() as m, pytest.raises(Killed):
        _killed_on_call(m, "_copy_verified", 3)
        run("remove", lib, "--plan", plan, "--apply", "--move-to", q)
    assert _partials(q) and _tree(lib) == before
    res = run("undo", q)
    assert res.exit_code == 0, res.output
    assert _tree(lib) == before and not _partials(lib, q)
