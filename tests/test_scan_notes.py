"""What a scan leaves out on purpose is said: a quarantine of ``imagetwins remove`` inside the scanned tree (a
``find -r`` of the folder above the one cleaned, or a folder so named in an extracted dataset) was left out without
a word, so ``N images read`` counted fewer files than the tree holds and ``check`` passed over its images."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import synthetic_photo

from imagetwins.cli import main
from imagetwins.io import LeftOutNotice, find_images


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    for name in ("Pictures", "Pictures.imagetwins-quarantine/20260101-120000"):
        (root / name).mkdir(parents=True)
    synthetic_photo(seed=1).save(root / "Pictures" / "a.jpg")
    synthetic_photo(seed=2).save(root / "Pictures.imagetwins-quarantine" / "20260101-120000" / "a copy.jpg")
    return root


@pytest.mark.unit
def test_find_images_says_which_quarantine_it_leaves_out(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = find_images(root, recursive=True)
    assert [p.name for p in found] == ["a.jpg"]
    notes = [str(w.message) for w in caught if issubclass(w.category, LeftOutNotice)]
    assert len(notes) == 1 and "Pictures.imagetwins-quarantine" in notes[0] and "not scanned" in notes[0], notes


@pytest.mark.cli
def test_find_notes_the_quarantine_it_leaves_out_and_quiet_silences_it(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    out = CliRunner().invoke(main, ["find", str(root), "-r", "--no-cache"])
    assert out.exit_code == 0, out.output
    lines = [line for line in out.output.splitlines() if "imagetwins-quarantine" in line]
    assert len(lines) == 1 and lines[0].startswith("note: left out ") and "not scanned" in lines[0], out.output
    assert "1 image read, 0 unreadable" in out.output  # (a note, not a file counted unreadable)
    quiet = CliRunner().invoke(main, ["find", str(root), "-r", "--no-cache", "-q"])
    assert quiet.exit_code == 0 and quiet.output == "", quiet.output


@pytest.mark.unit
def test_a_quarantine_holding_only_journals_is_left_out_without_a_note(tmp_path: Path) -> None:
    # every run undone: the quarantine keeps the runs' journals only, and a note on each later find of the folder
    # above would name a folder that leaves nothing out
    root = _tree(tmp_path)
    run = root / "Pictures.imagetwins-quarantine" / "20260101-120000"
    (run / "a copy.jpg").unlink()
    for name in ("manifest.jsonl", "manifest.json", "manifest.key"):
        (run / name).write_text("{}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert [p.name for p in find_images(root, recursive=True)] == ["a.jpg"]
    assert not [w for w in caught if issubclass(w.category, LeftOutNotice)]
