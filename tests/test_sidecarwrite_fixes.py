"""Left by a reviewer (reader12, session 15): ``remove --merge-metadata`` writing a keeper's XMP sidecar over a
previous one replaced it by name after its check (``os.replace``): a sidecar darktable or digiKam saved in that
window, which holds two fsyncs, was lost (the quarantine keeps the one checked, not the program's)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from test_leftfiles_fixes import EDIT, PREVIOUS, WRITTEN, _Killed, _leftovers, _save_over

from imagetwins import quarantine
from imagetwins.quarantine import undo, write_sidecars

pytestmark = [pytest.mark.unit,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")]


def _album(tmp_path: Path) -> Path:
    """``album/a.jpg.xmp`` holding the person's own sidecar (``PREVIOUS``)."""
    root = tmp_path / "album"
    root.mkdir()
    side = root / "a.jpg.xmp"
    side.write_bytes(PREVIOUS)
    return side


def _write(side: Path, tmp_path: Path):
    return write_sidecars([(str(side), WRITTEN, PREVIOUS)], side.parent, tmp_path / "q")


def _kept(tmp_path: Path) -> list[bytes]:
    """The previous sidecars the quarantine keeps."""
    return [p.read_bytes() for p in (tmp_path / "q").rglob("*.before")]


def test_a_sidecar_saved_after_the_check_is_not_replaced_by_the_one_written_over_it(tmp_path: Path,
                                                                                   monkeypatch) -> None:
    """The write over a previous sidecar was checked, journalled (synced), written beside (synced), then renamed over
    the name: darktable's sidecar saved after the check was replaced, its edits found nowhere. Now it stays, this one
    is not written, said; nothing left beside it; undo leaves it alone."""
    side = _album(tmp_path)
    real = quarantine._append

    def journalled_then_saved(journal, key, entry, sync=True):
        real(journal, key, entry, sync)
        if entry.get("state") == "planned":
            _save_over(side)  # (darktable's atomic save, right after the check)

    monkeypatch.setattr(quarantine, "_append", journalled_then_saved)
    out = _write(side, tmp_path)
    monkeypatch.undo()
    assert side.read_bytes() == EDIT, "the program's sidecar was replaced"
    assert [where for where, _ in out.failed] == [str(side)] and "meanwhile" in out.failed[0][1] and not out.done
    assert _leftovers(side) == [] and _kept(tmp_path) == [PREVIOUS]
    back = undo(tmp_path / "q")
    assert side.read_bytes() == EDIT and not back.done and _leftovers(side) == []


def test_a_sidecar_saved_at_the_free_name_as_the_previous_is_set_aside_stays(tmp_path: Path, monkeypatch) -> None:
    """The previous sidecar set aside and checked, a program writes the free name before the new one goes in: the
    new one is never renamed over it; the one set aside (the quarantine's copy, byte for byte) goes."""
    side = _album(tmp_path)
    real = quarantine._holds_at
    saved: list[bool] = []

    def checked_then_written(path, sha, size, *args, **kwargs):
        held = real(path, sha, size, *args, **kwargs)
        if not saved and os.fspath(path).endswith(quarantine._ASIDE):
            saved.append(True)
            side.write_bytes(EDIT)
        return held

    monkeypatch.setattr(quarantine, "_holds_at", checked_then_written)
    out = _write(side, tmp_path)
    monkeypatch.undo()
    assert saved, "the previous sidecar was never set aside"
    assert side.read_bytes() == EDIT, "the program's sidecar was replaced"
    assert [where for where, _ in out.failed] == [str(side)] and not out.done
    assert _leftovers(side) == [] and _kept(tmp_path) == [PREVIOUS]


@pytest.mark.parametrize("killed_at", ["set-aside", "done-line", "unlink"])
def test_a_run_killed_as_it_writes_over_a_sidecar_leaves_undo_able_to_restore_it(tmp_path: Path, monkeypatch,
                                                                                 killed_at: str) -> None:
    """Killed with the previous sidecar set aside: before the new one went in (the name free for that instant), after
    it and before the journal's done line, or after that line and before the unlink. The previous one is found (at
    the name or set aside, byte for byte), and the next undo puts it back at its name; nothing left over."""
    side = _album(tmp_path)
    real_holds, real_append, real_unlink = quarantine._holds_at, quarantine._append, os.unlink

    def holds(path, *args, **kwargs):
        if killed_at == "set-aside" and os.fspath(path).endswith(quarantine._ASIDE):
            raise _Killed
        return real_holds(path, *args, **kwargs)

    def append(journal, key, entry, sync=True):
        if killed_at == "done-line" and entry.get("state") == "done":
            raise _Killed
        real_append(journal, key, entry, sync)

    def unlink(path, *args, **kwargs):
        if killed_at == "unlink" and os.fspath(path).endswith(quarantine._ASIDE):
            raise _Killed
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(quarantine, "_holds_at", holds)
    monkeypatch.setattr(quarantine, "_append", append)
    monkeypatch.setattr(os, "unlink", unlink)
    with pytest.raises(_Killed):
        _write(side, tmp_path)
    monkeypatch.undo()
    aside = side.with_name(f".{side.name}{quarantine._ASIDE}")
    assert aside.read_bytes() == PREVIOUS, "the previous sidecar was not set aside"
    assert (not side.exists()) if killed_at == "set-aside" else side.read_bytes() == WRITTEN
    back = undo(tmp_path / "q")
    assert not back.failed and back.done == [(str(side), "restored")]
    assert side.read_bytes() == PREVIOUS and _leftovers(side) == []


def test_a_program_sidecar_set_aside_by_a_run_killed_gets_its_name_back(tmp_path: Path, monkeypatch) -> None:
    """darktable saved over the sidecar after the run's check, the run's rename set that new one aside, and the run
    was killed before it looked at it: the next undo gives it its name back (never hidden), said; the person's
    previous sidecar stays in the quarantine."""
    side = _album(tmp_path)
    real_holds, real_append = quarantine._holds_at, quarantine._append

    def append(journal, key, entry, sync=True):
        real_append(journal, key, entry, sync)
        if entry.get("state") == "planned":
            _save_over(side)

    def holds(path, *args, **kwargs):
        if os.fspath(path).endswith(quarantine._ASIDE):
            raise _Killed
        return real_holds(path, *args, **kwargs)

    monkeypatch.setattr(quarantine, "_holds_at", holds)
    monkeypatch.setattr(quarantine, "_append", append)
    with pytest.raises(_Killed):
        _write(side, tmp_path)
    monkeypatch.undo()
    assert not side.exists() and [p.read_bytes() for p in side.parent.glob(f".*{quarantine._ASIDE}")] == [EDIT]
    back = undo(tmp_path / "q")
    assert side.read_bytes() == EDIT and _leftovers(side) == [] and _kept(tmp_path) == [PREVIOUS]
    assert [where for where, _ in back.failed] == [str(side)] and "given its name back" in back.failed[0][1]


@pytest.mark.parametrize("renameat2", [True, False], ids=["renameat2", "none"])
def test_a_sidecar_is_still_written_over_the_previous_one_and_undone(tmp_path: Path, monkeypatch,
                                                                     renameat2: bool) -> None:
    """Nothing in the way: written over the previous one, its mode kept, nothing left beside it, and undo puts the
    previous one back; also where the system has no rename that cannot replace (by name, as before)."""
    if not renameat2:
        monkeypatch.setattr(quarantine, "_rename_noreplace", lambda *args, **kwargs: False)
    side = _album(tmp_path)
    side.chmod(0o600)
    out = _write(side, tmp_path)
    assert out.done == [(str(side), "written")] and not out.failed
    assert side.read_bytes() == WRITTEN and _leftovers(side) == [] and side.stat().st_mode & 0o777 == 0o600
    back = undo(tmp_path / "q")
    assert back.done == [(str(side), "restored")] and side.read_bytes() == PREVIOUS and _leftovers(side) == []
