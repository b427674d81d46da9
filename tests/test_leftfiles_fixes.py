"""Left by a newcomer attacking ``remove``, ``undo`` and the walk (stranger4, session 15): a sidecar another program
saves in the instant undo takes back the one ``--merge-metadata`` wrote; ``--follow-symlinks`` and /proc/self."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pytest

from imagetwins import quarantine
from imagetwins.quarantine import undo, write_sidecars

pytestmark = [pytest.mark.unit]

WRITTEN = b"<x:xmpmeta>merged by imagetwins</x:xmpmeta>"
PREVIOUS = b"<x:xmpmeta>the person's own</x:xmpmeta>"
EDIT = b"<x:xmpmeta>saved by darktable as undo ran</x:xmpmeta>"


def _save_over(path: Path) -> None:
    """darktable's or digiKam's atomic save: a new file written beside ``path``, then renamed over it."""
    new = path.with_name(f".{path.name}.saving")
    new.write_bytes(EDIT)
    os.rename(new, path)


def _written(tmp_path: Path, previous: bytes | None) -> tuple[Path, Path]:
    """``album/a.jpg.xmp`` written by ``write_sidecars`` (over ``previous`` where given): (the sidecar, quarantine)."""
    root = tmp_path / "album"
    root.mkdir()
    side = root / "a.jpg.xmp"
    if previous is not None:
        side.write_bytes(previous)
    out = write_sidecars([(str(side), WRITTEN, previous)], root, tmp_path / "q")
    assert out.done and not out.failed and side.read_bytes() == WRITTEN
    return side, tmp_path / "q"


def _leftovers(side: Path) -> list[str]:
    return sorted(p.name for p in side.parent.iterdir() if p.name != side.name)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
@pytest.mark.parametrize("previous", [None, PREVIOUS], ids=["new", "over-previous"])
@pytest.mark.parametrize("check", [1, 2], ids=["after-the-check", "after-the-second-check"])
def test_a_sidecar_saved_as_undo_takes_the_written_one_back_is_never_lost(tmp_path: Path, monkeypatch,
                                                                          previous: bytes | None, check: int) -> None:
    """Undo checked the sidecar it wrote, then unlinked it (or wrote the previous one back over it) by name: a
    sidecar darktable saved in that instant was the one deleted. Now the written one is set aside in one rename,
    checked there and only then unlinked, the previous one put back never over anything: the new sidecar stays."""
    side, q = _written(tmp_path, previous)
    real = quarantine._holds_at
    looked: list[str] = []

    def checked_then_saved_over(path, sha, size, *args, **kwargs):
        held = real(path, sha, size, *args, **kwargs)
        if "saved" in looked:
            return held
        if Path(path) == side:  # (the check of the sidecar at its name)
            looked.append("name")
            due = check == 1
        else:  # (the check of the one set aside after it; not that of one a killed undo left, before it)
            due = check == 2 and "name" in looked and os.fspath(path).endswith(quarantine._ASIDE)
        if due:
            looked.append("saved")
            _save_over(side)
        return held

    monkeypatch.setattr(quarantine, "_holds_at", checked_then_saved_over)
    back = undo(q)
    monkeypatch.undo()
    assert "saved" in looked, "the save never happened"
    assert side.read_bytes() == EDIT, "the sidecar saved by another program was lost"
    assert _leftovers(side) == []
    if previous is not None:  # (the previous one is kept where undo could not put it back)
        assert [p.read_bytes() for p in q.rglob("*.before")] == [PREVIOUS]
    if check == 1:
        assert back.failed == [(str(side), "the sidecar was saved over or written to as undo looked at it (another "
                                           "program wrote it meanwhile): left alone")] and not back.done


class _Killed(BaseException):
    """What a kill -9 is to the code that runs: nothing after it."""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
@pytest.mark.parametrize(("previous", "killed_at"), [(None, "unlink"), (PREVIOUS, "unlink"), (PREVIOUS, "put-back")],
                         ids=["new", "over-previous, after putting it back", "over-previous, before"])
def test_an_undo_killed_with_the_sidecar_set_aside_is_finished_by_the_next(tmp_path: Path, monkeypatch,
                                                                           previous: bytes | None,
                                                                           killed_at: str) -> None:
    """Killed between setting the written sidecar aside and unlinking it (before or after the previous one was
    put back), undo leaves it under the hidden name: the next undo takes it away and puts the previous one back;
    nothing left over."""
    side, q = _written(tmp_path, previous)
    real_unlink = os.unlink

    def killed(path, *args, **kwargs):
        if killed_at == "unlink" and os.fspath(path).endswith(quarantine._ASIDE):
            raise _Killed
        return real_unlink(path, *args, **kwargs)

    def killed_write(*args, **kwargs):
        raise _Killed

    monkeypatch.setattr(os, "unlink", killed)
    if killed_at == "put-back":
        monkeypatch.setattr(quarantine, "_write_new", killed_write)
    with pytest.raises(_Killed):
        undo(q)
    monkeypatch.undo()
    assert [p.name for p in side.parent.glob(f".*{quarantine._ASIDE}")], "nothing was set aside"
    back = undo(q)
    assert not back.failed and back.done == [(str(side), "restored" if previous else "removed")]
    if previous is None:
        assert not os.path.lexists(side) and _leftovers(side) == []
    else:
        assert side.read_bytes() == PREVIOUS and _leftovers(side) == []


@pytest.mark.parametrize("renameat2", [True, False], ids=["renameat2", "none"])
def test_undo_still_takes_back_the_sidecar_it_wrote(tmp_path: Path, monkeypatch, renameat2: bool) -> None:
    """Nothing in the way: the sidecar written is removed, or the previous one is back; also where the system has
    no rename that cannot replace (the name itself, as before)."""
    if not renameat2:
        monkeypatch.setattr(quarantine, "_rename_noreplace", lambda *args, **kwargs: False)
    side, q = _written(tmp_path, None)
    assert undo(q).done == [(str(side), "removed")] and not side.exists() and _leftovers(side) == []
    other = tmp_path / "other"
    other.mkdir()
    side, q = _written(other, PREVIOUS)
    assert undo(q).done == [(str(side), "restored")] and side.read_bytes() == PREVIOUS and _leftovers(side) == []


class _WalkedTooFar(Exception):
    """Raised by a listing past what the test's folders hold: the scan left them (for /, the whole machine)."""


def _bounded_listing(monkeypatch, most: int = 200) -> list[str]:
    """``os.scandir`` counting the folders listed, failing past ``most``: the walk that read the whole machine
    through ``/proc/self/root`` fails at once instead of running for minutes."""
    real = os.scandir
    listed: list[str] = []

    def scandir(path="."):
        listed.append(os.fspath(path))
        if len(listed) > most:
            raise _WalkedTooFar(f"{len(listed)} folders listed, the last {listed[-1]}")
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    return listed


def _photos(folder: Path, n: int = 2) -> list[Path]:
    from conftest import synthetic_photo

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"p{k}.png" for k in range(n)]
    for k, path in enumerate(paths):
        synthetic_photo(48, 32, k).save(path, "PNG")
    return paths


@pytest.mark.skipif(not os.path.isdir("/proc/self/root"), reason="needs /proc")
@pytest.mark.parametrize("link", ["/proc/self", "/proc", "/sys", "/", "../../.."])
def test_follow_symlinks_never_walks_the_system_nor_a_folder_holding_the_scanned_one(tmp_path: Path, monkeypatch,
                                                                                       link: str) -> None:
    """``find DIR -r --follow-symlinks`` with ``DIR/procself -> /proc/self`` walked /proc/self/root, that is /, the
    whole machine (still running after 120 s); ``slash -> /`` or ``up -> ../..`` the same from the other side. A
    pseudo file system (/proc, /sys, /dev) is never walked, nor a folder a link leads to that holds the scanned
    folder or the link: each said as a folder never walked, none counted unreadable; the folder's photos found."""
    from imagetwins.io import find_image_paths

    root = tmp_path / "album"
    photos = _photos(root / "sub")
    os.symlink(link, root / "sub" / "away")
    listed = _bounded_listing(monkeypatch)
    skipped: list = []
    found = find_image_paths(root, recursive=True, follow_symlinks=True, skipped=skipped)
    monkeypatch.undo()
    assert found == [str(p) for p in photos]
    assert [f.path for f in skipped] == [str(root / "sub" / "away")], skipped
    from imagetwins.io import never_walked, skipped_link

    assert never_walked(skipped[0]) and skipped_link(skipped[0])
    assert len(listed) == 2


def test_follow_symlinks_still_follows_a_link_to_photos_on_another_disk(tmp_path: Path) -> None:
    """A person's ``Pictures/holiday -> /mnt/photos/holiday`` (here another folder, and /dev/shm where it is another
    device) is still followed: only the system's pseudo file systems and folders around the scanned one are not."""
    from imagetwins.io import find_image_paths

    root = tmp_path / "Pictures"
    root.mkdir()
    elsewhere = _photos(tmp_path / "mnt" / "photos" / "holiday")
    os.symlink(tmp_path / "mnt" / "photos" / "holiday", root / "holiday")
    expected = [str(root / "holiday" / p.name) for p in elsewhere]
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        import tempfile

        with tempfile.TemporaryDirectory(dir="/dev/shm") as shm:
            on_shm = _photos(Path(shm) / "photos", 1)
            os.symlink(Path(shm) / "photos", root / "shm")
            skipped: list = []
            found = find_image_paths(root, recursive=True, follow_symlinks=True, skipped=skipped)
            assert found == expected + [str(root / "shm" / p.name) for p in on_shm] and not skipped
    os.unlink(root / "shm") if os.path.lexists(root / "shm") else None
    assert find_image_paths(root, recursive=True, follow_symlinks=True) == expected


def _shm_quarantine(tmp_path: Path):
    """A quarantine folder on another device than ``tmp_path`` (/dev/shm), or a skip."""
    import tempfile

    if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on another device than the temporary folder")
    return tempfile.TemporaryDirectory(dir="/dev/shm")


def _linked_names(tmp_path: Path):
    """``album/a.png`` and ``album/b.png``, one file under two names (a hard link), and a byte copy
    ``album/keep/a.png`` kept: the plan that moves both names (one alone frees nothing)."""
    import hashlib

    from conftest import synthetic_photo

    from imagetwins.quarantine import Plan

    root = tmp_path / "album"
    (root / "keep").mkdir(parents=True)
    a, b, keeper = root / "a.png", root / "b.png", root / "keep" / "a.png"
    synthetic_photo(64, 48, 3).save(a, "PNG")
    os.link(a, b)
    keeper.write_bytes(a.read_bytes())
    sha = hashlib.sha256(a.read_bytes()).hexdigest()
    plan = Plan([(str(a), 1, str(keeper)), (str(b), 1, str(keeper))], [str(keeper)],
                expected={str(p): sha for p in (a, b, keeper)})
    return root, a, b, plan


@contextlib.contextmanager
def _names_moved_across(tmp_path: Path):
    """:func:`_linked_names` with both names moved into a quarantine on another device: (a, b, their bytes, q)."""
    from imagetwins.quarantine import apply_plan

    root, a, b, plan = _linked_names(tmp_path)
    data = a.read_bytes()
    with _shm_quarantine(tmp_path) as shm:
        q = Path(shm) / "q"
        out = apply_plan(plan, root, q)
        assert len(out.done) == 2 and not out.failed and not a.exists() and not b.exists()
        yield a, b, data, q


def test_undo_across_devices_links_the_names_of_one_file_again(tmp_path: Path) -> None:
    """A file under two names (hard links) beside a real copy: both names move. Across devices each was copied into
    the quarantine, and undo copied each back: two files of the same bytes (link count 2 -> 1, twice the space),
    where the docs said 'undo links them again' (true on one disk, where a move is a rename). Now the second name
    put back is a hard link of the first again, and the quarantine's second copy goes."""
    with _names_moved_across(tmp_path) as (a, b, data, q):
        back = undo(q)
        assert not back.failed and len(back.done) == 2
        assert a.read_bytes() == data and os.path.samefile(a, b) and a.stat().st_nlink == 2, "copied back apart"
        assert not [p for p in q.rglob("*.png")]


def test_undo_across_devices_copies_a_name_back_when_its_other_name_changed(tmp_path: Path, monkeypatch) -> None:
    """The first name put back, then written by another program before the second is put back: the second is not
    linked to the changed file (its bytes would be the edit's), it is copied back with its own bytes."""
    with _names_moved_across(tmp_path) as (a, b, data, q):
        real = quarantine._link_name_back

        def first_edited(first, *args, **kwargs):
            with open(first[0], "r+b") as fh:  # (written in place: the same inode, other bytes)
                fh.write(b"edited")
            return real(first, *args, **kwargs)

        monkeypatch.setattr(quarantine, "_link_name_back", first_edited)
        back = undo(q)
        monkeypatch.undo()
        assert not back.failed and len(back.done) == 2
        edited, other = (a, b) if a.read_bytes().startswith(b"edited") else (b, a)
        assert other.read_bytes() == data and not os.path.samefile(a, b)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
def test_a_sidecar_saved_over_as_an_undo_killed_set_it_aside_gets_its_name_back(tmp_path: Path,
                                                                                 monkeypatch) -> None:
    """darktable saved over the sidecar after undo's check, undo's rename set that new file aside, and undo was
    killed before its second check: the next undo finds the name free and another program's file set aside. It gets
    its name back (was: left hidden under ``.a.jpg.xmp.imagetwins-unlinking``, unsaid)."""
    side, q = _written(tmp_path, None)
    real = quarantine._holds_at
    saved: list[bool] = []

    def saved_then_killed(path, sha, size, *args, **kwargs):
        if saved:  # (the check of what was set aside: the save landed before the rename)
            raise _Killed
        held = real(path, sha, size, *args, **kwargs)
        if Path(path) == side:  # (the check of the sidecar at its name)
            saved.append(True)
            _save_over(side)
        return held

    monkeypatch.setattr(quarantine, "_holds_at", saved_then_killed)
    with pytest.raises(_Killed):
        undo(q)
    monkeypatch.undo()
    assert not side.exists() and [p.read_bytes() for p in side.parent.glob(f".*{quarantine._ASIDE}")] == [EDIT]
    back = undo(q)
    assert side.read_bytes() == EDIT and _leftovers(side) == []
    assert [where for where, _ in back.failed] == [str(side)] and "given its name back" in back.failed[0][1]


def test_an_undo_killed_as_it_linked_a_name_back_is_finished_by_the_next(tmp_path: Path, monkeypatch) -> None:
    """Killed after the second name was linked to the first again and before the quarantine's copy of it went, the
    next undo said 'an identical file already stands there: the quarantined copy stays' (exit 1); it knows the link
    for its own now (the first name's inode) and takes the quarantine's copy away: nothing left over."""
    with _names_moved_across(tmp_path) as (a, b, data, q):
        real_unlink = os.unlink

        def killed(path, *args, **kwargs):
            if os.fspath(path).startswith(os.fspath(q)) and os.fspath(path).endswith(".png"):
                if len([p for p in (a, b) if p.exists()]) == 2:  # (the second name linked back: the copy's unlink)
                    raise _Killed
            return real_unlink(path, *args, **kwargs)

        monkeypatch.setattr(os, "unlink", killed)
        with pytest.raises(_Killed):
            undo(q)
        monkeypatch.undo()
        assert os.path.samefile(a, b) and len(list(q.rglob("*.png"))) == 1
        back = undo(q)
        assert not back.failed and a.read_bytes() == data and os.path.samefile(a, b) and a.stat().st_nlink == 2
        assert not list(q.rglob("*.png"))
