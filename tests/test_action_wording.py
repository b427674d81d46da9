"""What remove and undo say: an undo that cannot put a file back names the place it was going and where it stays,
and the summaries' counts read as English (no "0 files and 3 folders"). Real images, the real command line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from index_files import read_only

from imagetwins.cli import main
from imagetwins.text import counted_all

pytestmark = pytest.mark.cli


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    """A photo, its resized copy and another photo (imagededup's test images)."""
    (root := tmp_path / "album").mkdir()
    for name in ("ukbench00120.jpg", "ukbench00120_resize.jpg", "ukbench09268.jpg"):
        shutil.copy(datasets / "imagededup-testdata" / "mixed_images" / name, root)
    return root


def test_an_undo_that_cannot_write_the_folder_names_both_places(tmp_path: Path, album: Path) -> None:
    """'error: could not restore q/ukbench00120_resize.jpg: Operation not permitted' named the quarantine copy alone:
    not the folder that refused it, nor that the file is safe where it is."""
    quarantine = tmp_path / "q"
    res = run("remove", album, "-m", "phash", "--no-cache", "--apply", "--move-to", quarantine)
    assert res.exit_code == 0 and "moved 1 file" in res.output, res.output
    with read_only(album):
        res = run("undo", quarantine)
    assert res.exit_code == 1, res.output
    [line] = [x for x in res.output.splitlines() if x.startswith("error:")]
    assert line.startswith(f"error: could not restore {album / 'ukbench00120_resize.jpg'}: "), line
    assert f"(it stays at {quarantine / 'ukbench00120_resize.jpg'})" in line, line
    res = run("undo", quarantine)
    assert res.exit_code == 0 and "restored 1 file" in res.output, res.output
    assert (album / "ukbench00120_resize.jpg").is_file()


def test_counted_nouns_read_as_english() -> None:
    assert counted_all((0, "file"), (3, "folder")) == "3 folders"
    assert counted_all((1, "file"), (0, "folder")) == "1 file"
    assert counted_all((2, "file"), (1, "folder")) == "2 files and 1 folder"
    assert counted_all((0, "file"), (0, "folder")) == "0 files"
    assert counted_all((1_234, "file"), (2, "folder"), (1, "XMP sidecar")) == "1,234 files, 2 folders and 1 XMP sidecar"
