"""Where removed files go is the user's own (issue 23: 3, 4): quarantines, their key and journal, trash folders.

Folders made by imagetwins are owner-only; one that exists but belongs to another user, is writable by
others, or is a link is refused with one line and nothing moves. ``--to-trash`` records where each file
really went (name clashes in the trash, a trash on another device) and undo finds it there.

Ownership cases use ``os.chown`` to another uid (the tests run as root in CI); where they cannot, they skip.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from tree_digests import file_digests as _digests

from imagetwins import trash as trash_mod
from imagetwins.cli import main

pytestmark = pytest.mark.cli

OTHER_UID = 12345


def _album(folder: Path, datasets: Path) -> Path:
    """Two real photos and a byte copy of each (``a_copy.jpg``, ``b_copy.jpg`` are the ones that move)."""
    folder.mkdir(parents=True)
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:2]
    for name, p in zip("ab", photos):
        shutil.copy(p, folder / f"{name}.jpg")
        shutil.copy(p, folder / f"{name}_copy.jpg")
        os.utime(folder / f"{name}_copy.jpg", (1_700_000_000, 1_700_000_000))
        os.utime(folder / f"{name}.jpg", (1_600_000_000, 1_600_000_000))
    return folder


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    return _album(tmp_path / "album", datasets)


def _remove(album: Path, *args: str):
    return CliRunner().invoke(main, ["remove", str(album), "--apply", "--no-cache", "--keep", "oldest", *args])


def _chown_other(path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a folder to another user needs root")
    os.chown(path, OTHER_UID, OTHER_UID, follow_symlinks=False)


# -- quarantines ----------------------------------------------------------------------------------------------

def test_quarantine_key_journal_and_summary_are_owner_only(tmp_path: Path, album: Path) -> None:
    old = os.umask(0o002)  # a permissive umask (user private groups) changes nothing
    try:
        res = _remove(album)
    finally:
        os.umask(old)
    assert res.exit_code == 0, res.output
    parent = tmp_path / "album.imagetwins-quarantine"
    (qdir,) = parent.iterdir()
    for folder in (parent, qdir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("manifest.key", "manifest.jsonl", "manifest.json"):
        assert stat.S_IMODE((qdir / name).stat().st_mode) == 0o600, name


@pytest.mark.parametrize("how", ["another user's", "world-writable", "a link"])
def test_a_default_quarantine_folder_made_by_someone_else_is_refused(tmp_path: Path, album: Path, how: str) -> None:
    before = _digests(album)
    parent = tmp_path / "album.imagetwins-quarantine"
    if how == "a link":
        (tmp_path / "theirs").mkdir()
        parent.symlink_to(tmp_path / "theirs")
    else:
        parent.mkdir(mode=0o777)
        os.chmod(parent, 0o777)
        if how == "another user's":
            _chown_other(parent)
    res = _remove(album)
    assert res.exit_code == 1, res.output
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert len(lines) == 1 and str(parent) in lines[0], res.output
    assert {"another user's": "belongs to another user (uid 12345)", "world-writable": "can be changed by other users",
            "a link": "symbolic link"}[how] in lines[0]
    assert _digests(album) == before
    assert not any(parent.rglob("*"))  # nothing written into it


@pytest.mark.parametrize("how", ["another user's", "group-writable", "world-writable without sticky bit"])
def test_move_to_in_or_at_a_folder_others_control_is_refused(tmp_path: Path, album: Path, how: str) -> None:
    before = _digests(album)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, {"another user's": 0o755, "group-writable": 0o775,
                      "world-writable without sticky bit": 0o777}[how])
    if how == "another user's":
        _chown_other(shared)
    for target in (shared, shared / "q"):  # the quarantine itself, or the folder it would be made in
        res = _remove(album, "--move-to", str(target))
        assert res.exit_code == 2 and "refused" in res.output, res.output
        assert _digests(album) == before and not (shared / "q").exists()


def test_a_shared_sticky_folder_like_tmp_may_hold_the_quarantine(tmp_path: Path, album: Path) -> None:
    shared = tmp_path / "tmp-like"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    res = _remove(album, "--move-to", str(shared / "q"))
    assert res.exit_code == 0, res.output
    assert stat.S_IMODE((shared / "q").stat().st_mode) == 0o700


def test_a_planted_timestamp_quarantine_with_a_known_key_is_refused(tmp_path: Path, album: Path) -> None:
    """Another user pre-made the next quarantine (0777, a key they know): nothing moves into it, and undo of a
    quarantine whose journal they could forge writes nothing into the folder."""
    before = _digests(album)
    planted = tmp_path / "planted"
    planted.mkdir(mode=0o777)
    os.chmod(planted, 0o777)
    (planted / "manifest.key").write_bytes(b"k" * 32)
    res = _remove(album, "--move-to", str(planted))
    assert res.exit_code == 2 and "can be changed by other users" in res.output, res.output
    assert _digests(album) == before and sorted(p.name for p in planted.iterdir()) == ["manifest.key"]


def test_undo_refuses_a_quarantine_others_could_have_written(tmp_path: Path, album: Path) -> None:
    q = tmp_path / "q"
    assert _remove(album, "--move-to", str(q)).exit_code == 0
    moved = _digests(album)
    for change, expect in ((lambda: os.chmod(q / "manifest.key", 0o644), "can be read by other users"),
                           (lambda: os.chmod(q, 0o777), "can be changed by other users"),
                           (lambda: _chown_other(q), "belongs to another user"),
                           (lambda: _chown_other(q / "manifest.jsonl"), "belongs to another user")):
        change()
        res = CliRunner().invoke(main, ["undo", str(q)])
        assert res.exit_code == 1 and expect in res.output, res.output
        assert len(res.output.strip().splitlines()) == 1
        assert _digests(album) == moved  # nothing restored from it
        os.chown(q, os.geteuid(), os.getegid())
        os.chown(q / "manifest.jsonl", os.geteuid(), os.getegid())
        os.chmod(q, 0o700)
        os.chmod(q / "manifest.key", 0o600)
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 0 and "restored 2 files" in res.output


# -- the trash ------------------------------------------------------------------------------------------------

def _journal(q: Path) -> list[dict]:
    return [json.loads(x) for x in (q / "manifest.jsonl").read_text().splitlines()]


def test_trash_name_clashes_are_recorded_as_they_happened(tmp_path: Path, album: Path, home_trash: Path) -> None:
    """The trash already holds a_copy.jpg from the same place, a 'a_copy 1.jpg' without a record and a record
    'a_copy 2.jpg.trashinfo' without its file: the file goes to 'a_copy 3.jpg', the journal says so, and undo
    puts it back leaving the others alone."""
    before = _digests(album)
    (home_trash / "files").mkdir(parents=True)
    (home_trash / "info").mkdir()
    os.chmod(home_trash, 0o700)
    (home_trash / "files" / "a_copy.jpg").write_bytes(b"trashed last week")
    (home_trash / "info" / "a_copy.jpg.trashinfo").write_text(
        f"[Trash Info]\nPath={album / 'a_copy.jpg'}\nDeletionDate=2026-11-01T10:00:00\n")
    (home_trash / "files" / "a_copy 1.jpg").write_bytes(b"no record")
    (home_trash / "info" / "a_copy 2.jpg.trashinfo").write_text("[Trash Info]\nPath=/gone.jpg\n")
    theirs = {p.relative_to(home_trash): p.read_bytes() for p in home_trash.rglob("*") if p.is_file()}
    q = tmp_path / "journal"
    res = _remove(album, "--to-trash", "--move-to", str(q))
    assert res.exit_code == 0 and "sent 2 files to the system trash" in res.output, res.output
    done = {e["from"]: e["to"] for e in _journal(q) if e["state"] == "done"}
    assert done[str(album / "a_copy.jpg")] == str(home_trash / "files" / "a_copy 3.jpg")
    assert done[str(album / "b_copy.jpg")] == str(home_trash / "files" / "b_copy.jpg")
    for where in done.values():
        assert Path(where).exists()
    info = (home_trash / "info" / "a_copy 3.jpg.trashinfo").read_text()
    assert f"Path={album / 'a_copy.jpg'}" in info and "DeletionDate=" in info
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 0 and "restored 2 files" in res.output, res.output
    assert _digests(album) == before
    assert {p.relative_to(home_trash): p.read_bytes() for p in home_trash.rglob("*") if p.is_file()} == theirs


@pytest.fixture
def other_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A folder on another device than tmp_path (a tmpfs: /dev/shm) standing in for the top of a mounted
    disk (``trash._mount_point`` answers it, so nothing is written at the top of the real /dev/shm)."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK) and shm.stat().st_dev != tmp_path.stat().st_dev):
        pytest.skip("no tmpfs on another device than the temporary folder")
    top = Path(tempfile.mkdtemp(dir=shm, prefix="imagetwins-disk-"))
    monkeypatch.setattr(trash_mod, "_mount_point", lambda path: top)
    yield top
    shutil.rmtree(top, ignore_errors=True)


@pytest.mark.parametrize("layout", [".Trash-UID", ".Trash with sticky bit", ".Trash without sticky bit"])
def test_a_file_on_another_disk_goes_to_that_disks_trash(tmp_path: Path, datasets: Path, home_trash: Path,
                                                        other_disk: Path, layout: str) -> None:
    album = _album(other_disk / "album", datasets)
    before = _digests(album)
    uid = str(os.getuid())
    if layout != ".Trash-UID":
        (other_disk / ".Trash").mkdir()
        os.chmod(other_disk / ".Trash", 0o1777 if "with sticky" in layout else 0o777)
    expected = other_disk / ".Trash" / uid if layout == ".Trash with sticky bit" else other_disk / f".Trash-{uid}"
    q = tmp_path / "journal"
    res = _remove(album, "--to-trash", "--move-to", str(q))
    assert res.exit_code == 0, res.output
    done = [e for e in _journal(q) if e["state"] == "done"]
    assert sorted(e["to"] for e in done) == [str(expected / "files" / n) for n in ("a_copy.jpg", "b_copy.jpg")]
    assert stat.S_IMODE(expected.stat().st_mode) == 0o700
    info = (expected / "info" / "a_copy.jpg.trashinfo").read_text()
    assert "Path=album/a_copy.jpg\n" in info  # relative to the top of the disk, as the specification asks
    assert not home_trash.exists()
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 0 and "restored 2 files" in res.output, res.output
    assert _digests(album) == before and not list((expected / "info").iterdir())


@pytest.mark.parametrize("how", ["another user's", "group-writable", "a link"])
def test_a_disk_trash_made_by_someone_else_is_refused(tmp_path: Path, datasets: Path, home_trash: Path,
                                                     other_disk: Path, how: str) -> None:
    album = _album(other_disk / "album", datasets)
    before = _digests(album)
    theirs = other_disk / f".Trash-{os.getuid()}"
    if how == "a link":
        (other_disk / "elsewhere").mkdir()
        theirs.symlink_to(other_disk / "elsewhere")
    else:
        theirs.mkdir()
        os.chmod(theirs, 0o770 if how == "group-writable" else 0o700)
        if how == "another user's":
            _chown_other(theirs)
    q = tmp_path / "journal"
    res = _remove(album, "--to-trash", "--move-to", str(q))
    assert res.exit_code == 1, res.output
    assert res.output.count(f"not trashed: the trash folder {theirs}") == 2, res.output
    assert _digests(album) == before
    assert not any(p for p in other_disk.rglob("*") if p.is_file() and p.parent != album)


def test_a_trash_on_another_device_gets_a_verified_copy_and_the_truth(tmp_path: Path, datasets: Path,
                                                                     home_trash: Path, other_disk: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """No trash can be made on the photos' disk (a read-only top folder: simulated), so the files go to the
    home trash on another device: a verified copy, reported as trashed (it was: 'replaced by another file')."""
    album = _album(other_disk / "album", datasets)
    before = _digests(album)
    real = trash_mod.make_own_dirs

    def read_only_top(folder, what, parents=True):
        if Path(folder).is_relative_to(other_disk):
            raise PermissionError(13, "Read-only file system")
        return real(folder, what, parents)

    monkeypatch.setattr(trash_mod, "make_own_dirs", read_only_top)
    q = tmp_path / "journal"
    res = _remove(album, "--to-trash", "--move-to", str(q))
    assert res.exit_code == 0 and "sent 2 files to the system trash" in res.output, res.output
    assert "replaced" not in res.output
    assert sorted(p.name for p in (home_trash / "files").iterdir()) == ["a_copy.jpg", "b_copy.jpg"]
    assert (home_trash / "files" / "a_copy.jpg").read_bytes() == (album / "a.jpg").read_bytes()
    assert f"Path={album / 'a_copy.jpg'}\n" in (home_trash / "info" / "a_copy.jpg.trashinfo").read_text()
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 0 and "restored 2 files" in res.output, res.output
    assert _digests(album) == before


def test_a_fifo_planted_as_the_journal_is_refused_at_once(tmp_path: Path, album: Path) -> None:
    """A FIFO at manifest.jsonl of the quarantine: opening it to write would wait for a reader for ever."""
    before = _digests(album)
    q = tmp_path / "q"
    q.mkdir(mode=0o700)
    os.mkfifo(q / "manifest.jsonl")
    res = _remove(album, "--move-to", str(q))
    assert res.exit_code == 1 and "cannot open the journal safely" in res.output, res.output
    assert _digests(album) == before


def test_a_shared_trash_owned_by_another_user_falls_back_to_the_users_own(tmp_path: Path, datasets: Path,
                                                                         home_trash: Path, other_disk: Path) -> None:
    """A sticky .Trash made by another (non-root) user: not used (they could read what goes in), .Trash-UID is."""
    album = _album(other_disk / "album", datasets)
    (other_disk / ".Trash").mkdir()
    os.chmod(other_disk / ".Trash", 0o1777)
    _chown_other(other_disk / ".Trash")
    q = tmp_path / "journal"
    res = _remove(album, "--to-trash", "--move-to", str(q))
    assert res.exit_code == 0, res.output
    own = other_disk / f".Trash-{os.getuid()}"
    assert sorted(p.name for p in (own / "files").iterdir()) == ["a_copy.jpg", "b_copy.jpg"]
    assert not list((other_disk / ".Trash").iterdir())
    assert CliRunner().invoke(main, ["undo", str(q)]).exit_code == 0
