"""What ``remove --link`` leaves in a moved file's place (issue 23: 2, and 13's first half).

``--link`` alone is ``clone``: a file of its own (copy-on-write where the file system can, else a real
copy), so a program writing to the old name never changes the kept original. ``hard`` and ``sym`` share the
kept file, and undo checks the bytes before it claims success: a kept file written through the link is
reported and both versions stay."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from tree_digests import file_digests as _digests

from imagetwins.cli import main

pytestmark = pytest.mark.cli


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    """Three real photos; a byte copy of #0 (newer) and of #1 in a sub-folder."""
    root = tmp_path / "album"
    (root / "sub").mkdir(parents=True)
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:3]
    for p in photos:
        shutil.copy(p, root / p.name)
        os.utime(root / p.name, (1_600_000_000, 1_600_000_000))
    shutil.copy(photos[0], root / "copy0.jpg")
    shutil.copy(photos[1], root / "sub" / "copy1.jpg")
    return root


def _remove(album: Path, q: Path, *args: str):
    return CliRunner().invoke(main, ["remove", str(album), "-r", "--no-cache", "--keep", "oldest", "--apply",
                                     "--move-to", str(q), *args])


def _reflinks(folder: Path) -> bool:
    """Does the file system of ``folder`` make copy-on-write clones (FICLONE)?"""
    a, b = folder / ".probe-a", folder / ".probe-b"
    a.write_bytes(b"x" * 4096)
    try:
        with open(a, "rb") as fa, open(b, "wb") as fb:
            fcntl.ioctl(fb.fileno(), 0x40049409, fa.fileno())
        return True
    except OSError:
        return False
    finally:
        a.unlink()
        b.unlink(missing_ok=True)


def test_link_alone_is_a_clone_that_shares_nothing_visible(tmp_path: Path, album: Path) -> None:
    before = _digests(album)
    keeper = album / sorted(p.name for p in album.glob("bsds_*.jpg"))[0]
    q = tmp_path / "q"
    res = _remove(album, q, "--link")  # no value: clone
    assert res.exit_code == 0, res.output
    if _reflinks(album):
        assert "each replaced by a copy-on-write clone of the kept file (2 made)" in res.output, res.output
    else:  # ext4, tmpfs: said plainly
        assert ("each replaced by a copy of the kept file (2 real copies: this file system cannot share blocks, so "
                "they take their own space)") in res.output, res.output  # (was "a copy of its kept copy")
    place = album / "copy0.jpg"
    assert place.is_file() and not place.is_symlink() and place.stat().st_nlink == 1
    assert place.stat().st_ino != keeper.stat().st_ino and place.read_bytes() == keeper.read_bytes()
    assert place.stat().st_mtime == keeper.stat().st_mtime
    assert (q / "copy0.jpg").exists() and (q / "sub" / "copy1.jpg").exists()
    assert not list(album.rglob(".*imagetwins-clone*"))
    with open(place, "r+b") as fh:  # a program writes to the old name, in place
        fh.write(b"\x00" * 64)
    assert hashlib.sha256(keeper.read_bytes()).hexdigest() == before[keeper.name]  # the original is intact
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 1, res.output
    assert f"the copy at {place} was changed since the remove: both kept" in res.output
    assert f"the original is in the quarantine at {q / 'copy0.jpg'}" in res.output
    assert (q / "copy0.jpg").read_bytes() == keeper.read_bytes()  # nothing lost
    assert _digests(album)["sub/copy1.jpg"] == before["sub/copy1.jpg"]  # the other entry was restored


def test_clone_then_undo_is_byte_identical(tmp_path: Path, album: Path) -> None:
    before = _digests(album)
    q = tmp_path / "q"
    assert _remove(album, q, "--link", "clone").exit_code == 0
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 0 and "restored 2 files" in res.output, res.output
    assert _digests(album) == before and all(p.stat().st_nlink == 1 for p in album.rglob("*.jpg"))


@pytest.mark.parametrize("kind", ["hard", "sym"])
def test_a_keeper_written_through_a_link_is_reported_by_undo_and_both_stay(tmp_path: Path, album: Path,
                                                                         kind: str) -> None:
    before = _digests(album)
    keeper = album / sorted(p.name for p in album.glob("bsds_*.jpg"))[0]
    q = tmp_path / "q"
    res = _remove(album, q, "--link", kind)
    assert res.exit_code == 0 and "sharing the kept file's bytes" in res.output, res.output
    with open(album / "copy0.jpg", "r+b") as fh:  # a program writes to the old name: the keeper changes
        fh.write(b"\x00" * 64)
    assert hashlib.sha256(keeper.read_bytes()).hexdigest() != before[keeper.name]
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 1, res.output
    assert f"the kept file {keeper} was changed since the remove (written through the {kind} link?): both kept" \
        in res.output
    assert "restored 1 file, 1 failed" in res.output  # never 'restored 2 files'
    assert hashlib.sha256((q / "copy0.jpg").read_bytes()).hexdigest() == before["copy0.jpg"]  # the original bytes
    assert os.path.lexists(album / "copy0.jpg")  # the link stays too
    assert _digests(album)["sub/copy1.jpg"] == before["sub/copy1.jpg"]


def test_help_says_hard_and_sym_links_share_the_kept_file() -> None:
    text = " ".join(CliRunner().invoke(main, ["remove", "--help"]).output.split())
    assert "hard (same device) and sym (a relative symbolic link) SHARE the kept file" in text
    assert "clone (what --link alone gives)" in text


SLOW_CLONE = """
import sys, time
import imagetwins.quarantine as q
real = q._copy_bytes
def slow(fin, fout, stop=None):
    fout.write(fin.read(1000)); fout.flush(); time.sleep(30); real(fin, fout, stop)
q._copy_bytes = slow
q._FICLONE = 0  # (no clone even where the file system has them: the copy path is the one that can be slow)
from imagetwins.cli import main
main(sys.argv[1:])
"""


def test_a_clone_killed_midway_leaves_nothing_after_undo(tmp_path: Path, album: Path) -> None:
    before = _digests(album)
    q = tmp_path / "q"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_CLONE, "remove", str(album), "-r", "--no-cache", "--keep",
                             "oldest", "--apply", "--move-to", str(q), "--link"])
    deadline = time.time() + 60
    while time.time() < deadline and not list(album.rglob(".*.imagetwins-clone")):
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    (tmp,) = album.rglob(".*.imagetwins-clone")  # a hidden unfinished copy in the photo folder
    assert any(json.loads(x)["state"] == "linking" for x in (q / "manifest.jsonl").read_text().splitlines())
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 0, res.output
    assert not tmp.exists() and _digests(album) == before


def test_a_link_whose_name_says_another_format_is_noted(tmp_path: Path, datasets: Path) -> None:
    """A stranger's remove --link left Edited/s400.webp holding the keeper's JPEG bytes without a word: a program that
    opens s400.webp by its extension gets a JPEG. The dry run and the summary now note each such link (the layout
    stays: undo puts the WEBP back under its name); a copy named .jpeg for a .jpg keeper is no mismatch."""
    from PIL import Image

    lib = tmp_path / "lib"
    lib.mkdir()
    with Image.open(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0]) as im:
        im.save(lib / "photo.jpg", quality=95)
        im.reduce(2).save(lib / "s400.webp", quality=80)
    shutil.copy(lib / "photo.jpg", lib / "same.jpeg")
    res = CliRunner().invoke(main, ["remove", str(lib), "--link", "sym"])
    assert res.exit_code == 0, res.output
    notes = [ln for ln in res.output.splitlines() if "note:" in ln]
    assert len(notes) == 1 and "s400.webp" in notes[0] and "JPEG" in notes[0] and "WEBP" in notes[0], res.output
    assert "same.jpeg" not in notes[0]
    res = CliRunner().invoke(main, ["remove", str(lib), "--link", "sym", "--apply", "--move-to", str(tmp_path / "q")])
    assert res.exit_code == 0, res.output
    assert sum("note:" in ln and "s400.webp" in ln for ln in res.output.splitlines()) == 1, res.output
    with Image.open(lib / "s400.webp") as im:
        assert im.format == "JPEG"  # what the note warns of
    assert CliRunner().invoke(main, ["undo", str(tmp_path / "q")]).exit_code == 0
    with Image.open(lib / "s400.webp") as im:
        assert im.format == "WEBP"


def test_what_link_alone_leaves_is_called_a_copy_in_the_dry_run_and_the_format_note(tmp_path: Path,
                                                                                      album: Path) -> None:
    """``--link`` alone leaves a copy, yet its dry run said "each replaced by a clone link to its kept copy" and the
    note on a PNG place "the link .../x.png would hold the keeper's JPEG bytes" (the --apply summary said "a copy").
    ``hard`` and ``sym`` are links and are still called so."""
    from PIL import Image

    with Image.open(album / "copy0.jpg") as im:
        im.save(album / "copy0.png")  # (a PNG re-save of #0: its place would hold the keeper's JPEG bytes)
    runs = {None: ("each replaced by a copy of the kept file;", "note: the copy "),
            "hard": ("each replaced by a hard link to its kept copy;", "note: the link "),
            "sym": ("each replaced by a sym link to its kept copy;", "note: the link ")}
    for kind, (summary, note) in runs.items():
        res = CliRunner().invoke(main, ["remove", str(album), "-r", "--no-cache", "--keep", "oldest", "-m", "phash",
                                        "--link", *([kind] if kind else [])])
        assert res.exit_code == 0, (kind, res.output)
        assert summary in res.output and "clone link" not in res.output, (kind, res.output)
        line = next(x for x in res.output.splitlines() if "under a name that says PNG" in x)
        assert line.startswith(note) and "copy0.png would hold the keeper's JPEG bytes" in line, (kind, line)
