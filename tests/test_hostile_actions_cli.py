"""An attack pass on ``remove`` and ``undo`` through the command line (the library's cases are in
tests/test_hostile_actions.py): a disk that fills while ``--link clone`` copies the keeper into the moved files'
places."""

from __future__ import annotations

import errno
import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import synthetic_photo

from imagetwins import quarantine
from imagetwins.cli import main

pytestmark = pytest.mark.cli


def _tree(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_files_moved_whose_places_got_no_copy_on_a_full_disk_are_said_moved(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """``remove --apply --link clone`` on a disk with room for the moves but not for the copies put in their places
    (a real copy where the file system shares no blocks): every file moved, but each whose copy could not be made
    was named as ``could not move ...`` and counted in ``error: 3 files not moved``, while they lay in the quarantine
    and their places were empty (a person told they stayed would look for them there). Now each is said moved with
    nothing in its place, and the summary counts them so; exit 1; undo puts every file back."""
    folder = tmp_path / "photos"
    folder.mkdir()
    picture = synthetic_photo(160, 120, 7)
    picture.save(folder / "kept.jpg", quality=95)
    for k in range(3):
        picture.save(folder / f"copy{k}.png")
    before = _tree(folder)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(quarantine, "_clone", disk_full)
    runner = CliRunner()
    moved = runner.invoke(main, ["remove", str(folder), "-m", "phash", "--apply", "--link", "clone",
                                 "--move-to", str(tmp_path / "q")])
    assert moved.exit_code == 1, moved.output
    assert sorted(p.name for p in folder.iterdir()) == ["kept.jpg"]
    assert "could not move" not in moved.stderr and "not moved" not in moved.stderr
    assert moved.stderr.count("moved to quarantine, but no clone copy made in its place") == 3
    assert "error: 3 files moved with nothing left in their place (each named above); undo puts them back" \
        in moved.stderr
    assert "moved 3 files to" in moved.stdout and "replaced by" not in moved.stdout
    back = runner.invoke(main, ["undo", str(tmp_path / "q")])
    assert back.exit_code == 0, back.output
    assert _tree(folder) == before


@pytest.mark.parametrize("modes", [(0o600, 0o644), (0o644, 0o600)])
def test_the_copy_in_a_moved_files_place_keeps_that_files_permissions(tmp_path: Path, modes: tuple[int, int]) -> None:
    """``remove --apply --link clone`` gave the copy put at the moved file's name the keeper's permissions: an
    owner-only keeper made a name others could read unreadable to them, and a private file's name readable. Now the
    copy carries the moved file's own permission bits; undo puts the file back byte for byte, with its mode."""
    folder = tmp_path / "photos"
    folder.mkdir()
    synthetic_photo(160, 120, 7).save(folder / "a.jpg", quality=95)
    (folder / "b.jpg").write_bytes((folder / "a.jpg").read_bytes())
    for name, mode in zip(("a.jpg", "b.jpg"), modes):
        (folder / name).chmod(mode)
    before = {p.name: (p.read_bytes(), p.stat().st_mode & 0o7777) for p in folder.iterdir()}
    runner = CliRunner()
    moved = runner.invoke(main, ["remove", str(folder), "-m", "phash", "--apply", "--link", "clone",
                                 "--move-to", str(tmp_path / "q")])
    assert moved.exit_code == 0, moved.output
    gone = [p.name for p in (tmp_path / "q").rglob("*.jpg")]
    assert len(gone) == 1, gone
    after = {p.name: (p.read_bytes(), p.stat().st_mode & 0o7777) for p in folder.iterdir()}
    assert after == before  # the same bytes (identical files) and each name its own mode
    back = runner.invoke(main, ["undo", str(tmp_path / "q")])
    assert back.exit_code == 0, back.output
    assert {p.name: (p.read_bytes(), p.stat().st_mode & 0o7777) for p in folder.iterdir()} == before
