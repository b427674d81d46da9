"""Found as a newcomer attacking ``remove`` (session 15): what a move does when another program saves over the
file's name in the instant it moves."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest
from conftest import synthetic_photo

from imagetwins import quarantine
from imagetwins.quarantine import Plan, apply_plan, undo

pytestmark = [pytest.mark.unit,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")]

EDIT = b"the person's edit, saved over the name"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _album(tmp_path: Path) -> tuple[Path, Path, Path, Plan]:
    """``album/keep/a.png`` and its byte copy ``album/copy/a.png``, and the plan that moves the copy."""
    root = tmp_path / "album"
    (root / "keep").mkdir(parents=True)
    (root / "copy").mkdir()
    keeper, copy = root / "keep" / "a.png", root / "copy" / "a.png"
    synthetic_photo(64, 48, 0).save(keeper, "PNG")
    copy.write_bytes(keeper.read_bytes())
    plan = Plan([(str(copy), 1, str(keeper))], [str(keeper)],
                expected={str(keeper): _sha(keeper), str(copy): _sha(copy)})
    return root, keeper, copy, plan


def _save_over(dir_fd: int, name: str) -> None:
    """An editor's or a sync tool's atomic save: a new file written beside ``name``, then renamed over it."""
    fd = os.open(f".{name}.saving", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=dir_fd)
    os.write(fd, EDIT)
    os.close(fd)
    os.rename(f".{name}.saving", name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def _saved_once(monkeypatch, before: bool) -> None:
    """The save lands once, as the move of ``a.png`` takes its name: right after (``before=False``) the step that
    takes it (the hard link, before; the one rename now), or right before it."""
    real_link, real_rename = os.link, getattr(quarantine, "_rename_noreplace", None)
    done: list[bool] = []

    def hooked(real):
        def step(src, dst, *args, **kwargs):
            dir_fd = kwargs.get("src_dir_fd", args[0] if args else None)
            ours = not done and os.fspath(src) == "a.png" and dir_fd is not None
            if ours and before:
                done.append(True)
                _save_over(dir_fd, "a.png")
            result = real(src, dst, *args, **kwargs)
            if ours and not before:
                done.append(True)
                _save_over(dir_fd, "a.png")
            return result
        return step

    monkeypatch.setattr(os, "link", hooked(real_link))
    if real_rename is not None:
        monkeypatch.setattr(quarantine, "_rename_noreplace", hooked(real_rename))


def _holding(root: Path, data: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.read_bytes() == data]


def test_a_file_saved_over_the_name_as_it_moves_is_never_deleted(tmp_path: Path, monkeypatch) -> None:
    """The move was a hard link into the quarantine then an unlink of the old name: a program that saved over the
    name between the two (a new file renamed over it) had its new file unlinked, the quarantine holding the old one;
    nothing held the edit any more. Now the name goes with the file it holds in one step (renameat2, never over
    anything): the new file stands at the name, the checked one is in the quarantine; undo leaves the new file
    alone and says the quarantined one stays."""
    root, keeper, copy, plan = _album(tmp_path)
    checked = copy.read_bytes()
    _saved_once(monkeypatch, before=False)
    out = apply_plan(plan, root, tmp_path / "q")
    monkeypatch.undo()
    assert _holding(tmp_path, EDIT) == [copy], "the person's edit was deleted"
    assert out.done == [(str(copy), str(tmp_path / "q" / "copy" / "a.png"))] and not out.failed
    assert (tmp_path / "q" / "copy" / "a.png").read_bytes() == checked and keeper.read_bytes() == checked
    back = undo(tmp_path / "q")
    assert back.failed == [(str(copy), "its original place is taken by a file: left alone")]
    assert copy.read_bytes() == EDIT and (tmp_path / "q" / "copy" / "a.png").read_bytes() == checked


def test_a_file_saved_over_the_name_just_before_it_moves_stays_there_and_nothing_moves(tmp_path: Path,
                                                                                       monkeypatch) -> None:
    """Saved over the name after the last check and before the move's step: the step takes the new file, which is
    not the one checked, so it is given its name back (never over anything) and nothing moves."""
    root, keeper, copy, plan = _album(tmp_path)
    checked = copy.read_bytes()
    _saved_once(monkeypatch, before=True)
    out = apply_plan(plan, root, tmp_path / "q")
    monkeypatch.undo()
    assert not out.done
    assert out.failed == [(str(copy), "replaced by another file while being moved: left in place")]
    assert copy.read_bytes() == EDIT and keeper.read_bytes() == checked
    assert not (tmp_path / "q" / "copy" / "a.png").exists()
    assert _holding(tmp_path, EDIT) == [copy]


def test_undo_of_a_quarantine_whose_key_was_deleted_says_where_the_files_are(tmp_path: Path) -> None:
    """The key deleted (a backup or a copy that skipped the 0600 file, a clean-up): undo said only "cannot read the
    quarantine's key (No such file or directory); a quarantine made by this version of imagetwins has one", nothing
    of the files it moved, which stay in the quarantine, nor what to do."""
    root, keeper, copy, plan = _album(tmp_path)
    q = tmp_path / "q"
    assert apply_plan(plan, root, q).done
    os.unlink(q / quarantine.KEY)
    with pytest.raises(quarantine.QuarantineError) as refused:
        undo(q)
    assert str(refused.value) == (
        f"{q / quarantine.KEY}: the quarantine's key is gone (deleted?), so undo cannot check the journal it signed "
        f"and puts nothing back: the moved files stay in {q}, each under the path it had in the scanned folder "
        f"(manifest.json there lists where each came from); put them back by hand")
    assert (q / "copy" / "a.png").is_file() and not copy.exists()


def _linked_album(tmp_path: Path, kind: str) -> tuple[Path, Path, Path, dict]:
    """The album with its copy moved into ``q`` by ``--link KIND``: (root, keeper, copy, the files' digests before)."""
    root, keeper, copy, plan = _album(tmp_path)
    before = {p: _sha(p) for p in (keeper, copy)}
    out = apply_plan(plan, root, tmp_path / "q", link=kind)
    assert len(out.done) == 1 and not out.failed and os.path.lexists(copy)
    return root, keeper, copy, before


def undo_as_it_reads(q: Path, monkeypatch, paths: tuple[Path, ...], meanwhile) -> quarantine.Outcome:
    """``undo(q)`` with ``meanwhile()`` run once, right after undo's first read of one of ``paths`` (its look at a
    link or clone before taking it away), as another program would."""
    real = quarantine._digest_and_identity
    done: list[bool] = []

    def read_then(path, dir_fd=None):
        digest = real(path, dir_fd)
        if not done and Path(path) in paths:
            done.append(True)
            meanwhile()
        return digest

    monkeypatch.setattr(quarantine, "_digest_and_identity", read_then)
    back = undo(q)
    monkeypatch.undo()
    assert done
    return back


@pytest.mark.parametrize("kind", ["clone", "sym", "hard"])
def test_undo_never_deletes_a_file_saved_over_the_link_s_name_as_it_looks(tmp_path: Path, monkeypatch,
                                                                          kind: str) -> None:
    """Undo of ``--link`` reads the clone (or the kept file a link shows) to see it unchanged, then took the name
    away by an unlink: a program that saved over the name during that read (an editor's atomic save of the photo
    the clone stands for) had its new file deleted, and undo put the old file back there. Now the link or clone is
    set aside in one rename and unlinked only if it is still the one checked: the new file stays, and so does the
    original in the quarantine (said)."""
    root, keeper, copy, _ = _linked_album(tmp_path, kind)

    def saved_over() -> None:
        fd = os.open(copy.parent, os.O_RDONLY)
        try:
            _save_over(fd, "a.png")
        finally:
            os.close(fd)

    back = undo_as_it_reads(tmp_path / "q", monkeypatch, (copy, keeper), saved_over)  # (the clone; what a link shows)
    assert _holding(tmp_path, EDIT) == [copy], "the person's edit was deleted"
    assert [where for where, _ in back.failed] == [str(copy)] and "saved over" in back.failed[0][1]
    assert (tmp_path / "q" / "copy" / "a.png").is_file() and not back.done
    assert not list(copy.parent.glob(".*imagetwins-unlinking"))


class _Killed(BaseException):
    """What a kill -9 is to the code that runs: nothing after it."""


@pytest.mark.parametrize("kind", ["clone", "sym", "hard"])
def test_an_undo_killed_with_the_link_set_aside_is_finished_by_the_next(tmp_path: Path, monkeypatch,
                                                                        kind: str) -> None:
    """Killed between setting its link or clone aside and unlinking it, undo leaves it under the hidden name: the
    next undo takes it away (it is still the one made) and puts the original back; nothing left over."""
    root, keeper, copy, before = _linked_album(tmp_path, kind)
    real_unlink = os.unlink

    def killed(path, *args, **kwargs):
        if str(path).endswith(quarantine._ASIDE):
            raise _Killed
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", killed)
    with pytest.raises(_Killed):
        undo(tmp_path / "q")
    monkeypatch.undo()
    assert not os.path.lexists(copy) and list(copy.parent.glob(".*imagetwins-unlinking"))
    back = undo(tmp_path / "q")
    assert not back.failed and len(back.done) == 1
    assert {p: _sha(p) for p in (keeper, copy)} == before and not copy.is_symlink()
    assert sorted(p.name for p in copy.parent.iterdir()) == ["a.png"]


@pytest.mark.parametrize("link", [None, "sym", "clone"])
def test_remove_and_undo_work_where_a_seccomp_filter_refuses_renameat2(tmp_path: Path, monkeypatch,
                                                                        link: str | None) -> None:
    """A container runtime's seccomp filter may answer renameat2 with EPERM, whatever the file: every move failed
    'Operation not permitted'. Then the link and unlink are used, as where the system has no renameat2."""
    import ctypes
    import errno

    def refused(*args):
        ctypes.set_errno(errno.EPERM)
        return -1

    monkeypatch.setattr(quarantine, "_renameat2", lambda: refused)
    root, keeper, copy, plan = _album(tmp_path)
    before = copy.read_bytes()
    out = apply_plan(plan, root, tmp_path / "q", link=link)
    assert len(out.done) == 1 and not out.failed, out.failed
    back = undo(tmp_path / "q")
    assert len(back.done) == 1 and not back.failed, back.failed
    assert copy.read_bytes() == before and not copy.is_symlink() and keeper.read_bytes() == before


def _shm_quarantine(tmp_path: Path):
    """A quarantine folder on another device than ``tmp_path`` (/dev/shm), or a skip."""
    import tempfile

    if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on another device than the temporary folder")
    return tempfile.TemporaryDirectory(dir="/dev/shm")


def test_across_devices_a_file_saved_over_the_name_after_the_copy_is_never_deleted(tmp_path: Path,
                                                                                   monkeypatch) -> None:
    """Across devices a move is a verified copy, a last look at the original (its inode, size and mtime), then an
    unlink of its name: a file saved over the name after that look was the one unlinked. Now the original is set
    aside in one rename before that look, so the name's new file is never touched."""
    root, keeper, copy, plan = _album(tmp_path)
    checked = copy.read_bytes()
    with _shm_quarantine(tmp_path) as shm:
        q = Path(shm) / "q"
        real_stat = os.stat
        done: list[bool] = []

        def looked_then_saved_over(path, *args, dir_fd=None, **kwargs):
            st = real_stat(path, *args, dir_fd=dir_fd, **kwargs)
            name = os.fspath(path)
            if not done and dir_fd is not None and name in ("a.png", str(quarantine._aside_name(Path("a.png")))) \
                    and (q / "copy" / "a.png").exists():  # (the last look, once the copy stands in the quarantine)
                done.append(True)
                _save_over(dir_fd, "a.png")
            return st

        monkeypatch.setattr(os, "stat", looked_then_saved_over)
        out = apply_plan(plan, root, q)
        monkeypatch.undo()
        assert done
        assert _holding(tmp_path, EDIT) == [copy], "the person's edit was deleted"
        assert len(out.done) == 1 and (q / "copy" / "a.png").read_bytes() == checked
        assert sorted(p.name for p in copy.parent.iterdir()) == ["a.png"]


def test_across_devices_a_run_killed_with_the_original_set_aside_is_undone_whole(tmp_path: Path,
                                                                                 monkeypatch) -> None:
    """Killed between setting the original aside and unlinking it, remove leaves it under the hidden name beside
    its place and its verified copy in the quarantine: undo puts the copy back and removes the set-aside original
    (the same bytes, at the place again): nothing left over."""
    root, keeper, copy, plan = _album(tmp_path)
    checked = copy.read_bytes()
    with _shm_quarantine(tmp_path) as shm:
        q = Path(shm) / "q"
        real_unlink = os.unlink

        def killed(path, *args, **kwargs):
            if os.fspath(path).endswith(quarantine._ASIDE):
                raise _Killed
            return real_unlink(path, *args, **kwargs)

        monkeypatch.setattr(os, "unlink", killed)
        with pytest.raises(_Killed):
            apply_plan(plan, root, q)
        monkeypatch.undo()
        assert not copy.exists() and (copy.parent / quarantine._aside_name(Path("a.png"))).is_file()
        back = undo(q)
        assert not back.failed and len(back.done) == 1
        assert copy.read_bytes() == checked and sorted(p.name for p in copy.parent.iterdir()) == ["a.png"]
