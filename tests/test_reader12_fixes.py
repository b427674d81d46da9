"""Found reading session 15's file-touching landings as a hostile reviewer: undo taking its own clone away after a
write into it, and the one-step rename given a name no system call can hold."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from conftest import moves_by_link
from test_stranger4_fixes import _linked_album, _sha, undo_as_it_reads

from imagetwins import quarantine
from imagetwins.quarantine import undo

pytestmark = [pytest.mark.unit,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")]

EDIT = b"the person's edit, written into the file in place"


@pytest.mark.parametrize("route", ["renameat2", "no renameat2"])
def test_undo_never_deletes_a_clone_written_to_in_place_as_it_looks(tmp_path: Path, monkeypatch, route: str) -> None:
    """Undo of ``--link clone`` reads the clone to see it unchanged, then takes it away if its name still holds the
    same inode. A program writing into the clone in place during or right after that read (``exiftool
    -overwrite_original_in_place``, an editor saving into the file) keeps the inode: the clone, now holding the edit,
    was unlinked and the original put back: the edit found nowhere. Its size or mtime moved since undo looked at it:
    it stays, and so does the original in the quarantine (said). Where the system has no one-step rename, the name is
    looked at again before its unlink."""
    root, keeper, copy, before = _linked_album(tmp_path, "clone")
    if route == "no renameat2":
        moves_by_link(monkeypatch)

    def written_in_place() -> None:
        with open(copy, "r+b") as fh:  # (the same inode)
            fh.write(EDIT)

    back = undo_as_it_reads(tmp_path / "q", monkeypatch, (copy,), written_in_place)
    assert copy.read_bytes().startswith(EDIT), "the person's edit was deleted"
    assert [where for where, _ in back.failed] == [str(copy)] and "written" in back.failed[0][1]
    assert _sha(tmp_path / "q" / "copy" / "a.png") == before[copy] and not back.done
    assert not list(copy.parent.glob(".*imagetwins-unlinking"))


def test_a_name_with_a_nul_byte_is_refused_not_cut_short(tmp_path: Path) -> None:
    """``os.rename`` refuses a name holding a NUL byte (ValueError); the one-step rename handed it to C as it was,
    which read it up to the NUL: ``a.jpg\\0x`` renamed the file ``a.jpg``."""
    (tmp_path / "a.jpg").write_bytes(b"photo")
    with pytest.raises(ValueError, match="null"):
        quarantine._rename_noreplace(tmp_path / "a.jpg\0x", tmp_path / "b.jpg")
    with pytest.raises(ValueError, match="null"):
        quarantine._rename_noreplace(tmp_path / "a.jpg", tmp_path / "b.jpg\0x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg"]


def test_an_undo_killed_with_another_program_s_file_set_aside_gives_it_its_name_back(tmp_path: Path) -> None:
    """Undo sets its clone aside in one rename before unlinking it; where another program had saved over the name as
    undo looked, the rename takes that program's file, which goes back to its name. Killed between the two (kill -9),
    the file lay under the hidden name: the next undo put the original back at the free name, the edit left hidden
    and unsaid. Now the next undo gives it its name back and leaves the original in the quarantine, said."""
    root, keeper, copy, before = _linked_album(tmp_path, "clone")
    saving = copy.with_name(".a.png.saving")
    saving.write_bytes(EDIT)
    os.rename(saving, copy)  # (the program's save over the clone's name)
    os.rename(copy, quarantine._aside_name(copy))  # (undo's rename, killed right after it)
    back = undo(tmp_path / "q")
    assert copy.read_bytes() == EDIT, "the person's edit was left hidden"
    assert [where for where, _ in back.failed] == [str(copy)] and "saved over" in back.failed[0][1]
    assert _sha(tmp_path / "q" / "copy" / "a.png") == before[copy] and not back.done
    assert sorted(p.name for p in copy.parent.iterdir()) == ["a.png"]


def test_a_remove_killed_with_another_program_s_file_set_aside_is_undone_without_hiding_it(tmp_path: Path) -> None:
    """Across devices, remove sets the original aside in one rename once its copy is whole, then checks it there;
    where another program had saved over the name, the rename takes that program's file, which goes back to its name.
    Killed between the two, the file lay under the hidden name: undo put the original back at the free name and left
    that file hidden, unsaid (removed only when it holds the original's bytes). Now it gets its name back, and the
    original stays in the quarantine, said."""
    from test_stranger4_fixes import _album

    root, keeper, copy, plan = _album(tmp_path)
    checked = copy.read_bytes()
    assert len(quarantine.apply_plan(plan, root, tmp_path / "q").done) == 1
    quarantine._aside_name(copy).write_bytes(EDIT)  # (the program's file, set aside by the killed run)
    back = undo(tmp_path / "q")
    assert copy.read_bytes() == EDIT, "the person's edit was left hidden"
    assert [where for where, _ in back.failed] == [str(copy)] and "saved over" in back.failed[0][1]
    assert (tmp_path / "q" / "copy" / "a.png").read_bytes() == checked and not back.done
    assert sorted(p.name for p in copy.parent.iterdir()) == ["a.png"]


def _written_sidecar(tmp_path: Path) -> tuple[Path, Path]:
    """``album/a.jpg.xmp`` written by ``write_sidecars`` where none stood (undo takes it away): (the sidecar, q)."""
    from imagetwins.quarantine import write_sidecars

    root = tmp_path / "album"
    root.mkdir()
    side, q = root / "a.jpg.xmp", tmp_path / "q"
    out = write_sidecars([(str(side), b"<x:xmpmeta>written</x:xmpmeta>", None)], root, q)
    assert out.done and not out.failed and side.is_file()
    return side, q


def test_undo_never_deletes_a_sidecar_saved_over_as_it_looks(tmp_path: Path, monkeypatch) -> None:
    """Undo takes a sidecar it wrote away if it still holds what was written, read then unlinked by name: darktable or
    digiKam saving the sidecar over its name (a new file renamed over it) during that read had its new sidecar
    deleted. Now it is set aside, looked at and unlinked only if still the one read: the new one stays, said."""
    side, q = _written_sidecar(tmp_path)
    real = quarantine._holds
    saved: list[bool] = []

    def read_then_saved_over(path, sha, size):
        held = real(path, sha, size)
        if not saved and Path(path) == side:
            saved.append(True)
            side.with_name(".a.jpg.xmp.saving").write_bytes(EDIT)
            os.rename(side.with_name(".a.jpg.xmp.saving"), side)
        return held

    monkeypatch.setattr(quarantine, "_holds", read_then_saved_over)
    back = undo(q)
    monkeypatch.undo()
    assert saved and side.read_bytes() == EDIT, "the program's sidecar was deleted"
    assert [where for where, _ in back.failed] == [str(side)] and "saved over" in back.failed[0][1]
    assert sorted(p.name for p in side.parent.iterdir()) == ["a.jpg.xmp"]


def test_an_undo_killed_with_a_written_sidecar_set_aside_is_finished_by_the_next(tmp_path: Path) -> None:
    """Killed between setting the sidecar it wrote aside and unlinking it, undo leaves it under the hidden name: the
    next undo takes it away (it holds what was written), nothing left over."""
    side, q = _written_sidecar(tmp_path)
    os.rename(side, quarantine._aside_name(side))  # (the killed undo's rename)
    back = undo(q)
    assert not back.failed and back.done == [(str(side), "removed")]
    assert list(side.parent.iterdir()) == []


@pytest.mark.parametrize("route", ["renameat2", "no renameat2"])
def test_a_sidecar_another_program_writes_as_one_is_written_is_not_replaced(tmp_path: Path, monkeypatch,
                                                                           route: str) -> None:
    """``--merge-metadata`` writes a keeper's sidecar where none stood: checked, journalled (synced), written beside
    it, then renamed over the name: a sidecar darktable wrote there meanwhile was replaced, its edits gone. Now the
    rename never replaces: that sidecar stays, this one is not written, said."""
    from imagetwins.quarantine import write_sidecars

    if route == "no renameat2":
        moves_by_link(monkeypatch)
    root = tmp_path / "album"
    root.mkdir()
    side = root / "a.jpg.xmp"
    real = quarantine._append

    def journalled_then_written(journal, key, entry, sync=True):
        real(journal, key, entry, sync)
        if entry.get("state") == "planned" and not side.exists():
            side.write_bytes(EDIT)  # (darktable's sidecar, written right after the check)

    monkeypatch.setattr(quarantine, "_append", journalled_then_written)
    out = write_sidecars([(str(side), b"<x:xmpmeta>merged</x:xmpmeta>", None)], root, tmp_path / "q")
    monkeypatch.undo()
    assert side.read_bytes() == EDIT, "the program's sidecar was replaced"
    assert [where for where, _ in out.failed] == [str(side)] and "meanwhile" in out.failed[0][1] and not out.done
    assert sorted(p.name for p in root.iterdir()) == ["a.jpg.xmp"]
    back = undo(tmp_path / "q")
    assert side.read_bytes() == EDIT and not back.done
