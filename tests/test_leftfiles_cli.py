"""What ``find --follow-symlinks`` says of the folders it never walks (leftfiles, session 15)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import synthetic_photo

from imagetwins.cli import main

pytestmark = pytest.mark.cli


@pytest.mark.skipif(not os.path.isdir("/proc/self/root"), reason="needs /proc")
def test_find_says_each_folder_never_walked_in_one_line(tmp_path: Path) -> None:
    """``find DIR -r --follow-symlinks`` with ``DIR/procself -> /proc/self`` scanned the whole machine (still running
    after 120 s). Now one note line a folder never walked (the link to /proc/self, the link to /), nothing counted
    unreadable, no 'follow them with --follow-symlinks' hint, and the folder's copies grouped."""
    root = tmp_path / "album"
    root.mkdir()
    synthetic_photo(48, 32, 0).save(root / "a.png", "PNG")
    (root / "copy.png").write_bytes((root / "a.png").read_bytes())
    os.symlink("/proc/self", root / "procself")
    os.symlink("/", root / "slash")
    res = CliRunner().invoke(main, ["find", str(root), "-r", "--follow-symlinks", "--no-cache"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert [line for line in lines if "never walked" in line] == [
        f"note: skipped {root / 'procself'}: a folder of the system's proc pseudo file system (the running system's "
        f"own files, with links to every folder of the machine): never walked",
        f"note: skipped {root / 'slash'}: symbolic link to a folder that holds the scanned folder or the link itself "
        f"(everything around it): never walked"], res.output
    assert "symbolic link skipped" not in res.output and "2 images read, 0 unreadable" in res.output
    assert "group 1: 2 files" in res.output
