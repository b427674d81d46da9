"""An attack pass on the commands that touch files, each case a hostile file system or a fault met on the way
(docs/reliability.md, "Hostile ground"): a journal cut short, a full disk, names no cache can be named after,
a folder-copy search over thousands of folders sharing one picture, an icon that decodes to a gigabyte."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import moves_by_link, synthetic_photo
from tree_digests import name_digests as _digests

from imagetwins.cli import main


def _album(folder: Path, copies: int, seed: int = 0) -> Path:
    """``copies`` byte-identical PNGs of one synthetic picture in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    synthetic_photo(96, 72, seed).save(folder / "a0.png")
    data = (folder / "a0.png").read_bytes()
    for k in range(1, copies):
        (folder / f"a{k}.png").write_bytes(data)
    return folder


def _run(*args: str):
    return CliRunner().invoke(main, [*args])


@pytest.mark.cli
def test_undo_of_a_journal_cut_short_names_the_files_it_leaves_in_the_quarantine(tmp_path: Path) -> None:
    """A journal that lost its last lines (cut by hand, a sync tool, a copy) names fewer files than the quarantine
    holds: undo restored what it named and said "Q now holds only the journal of that run: delete it when you
    like", exit 0, with two photos still in Q. Now each is named, and the exit code is 1."""
    album = _album(tmp_path / "album", 4)
    before = _digests(album)
    q = tmp_path / "q"
    res = _run("remove", str(album), "-m", "phash", "--no-cache", "--apply", "--move-to", str(q))
    assert res.exit_code == 0, res.output
    journal = q / "manifest.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    assert len(lines) == 6  # planned + done for each of three files (a batch's planned lines first)
    journal.write_bytes(lines[0] + lines[1][:100])  # the first move, and the next line cut short
    res = _run("undo", str(q))
    assert res.exit_code == 1, res.output
    assert "holds only the journal" not in res.output
    left = sorted(p.name for p in q.glob("*.png"))
    assert len(left) == 2
    for name in left:
        assert f"{q / name}: still in the quarantine" in res.output
    # with the journal whole again, the rest comes back
    journal.write_bytes(b"".join(lines))
    res = _run("undo", str(q))
    assert res.exit_code == 0, res.output
    assert _digests(album) == before


def _folders_result(root: Path, folders: int, shared: tuple[str, ...], own: bool):
    """A scan of ``root`` where each of ``folders`` folders holds the byte-identical pictures ``shared`` (a logo
    in every product folder) and, with ``own``, one picture of its own; no file is read."""
    import numpy as np

    from imagetwins.results import FindResult
    from imagetwins.search import Pairs

    files, digests, same_as, first = [], [], [], {}
    for k in range(folders):
        for name in shared + (("own.png",) if own else ()):
            i = len(files)
            files.append(str(root / f"d{k:04d}" / name))
            key = name if name in shared else f"own{k}"
            digests.append(f"{abs(hash(key)) % 16**64:064x}")
            same_as.append(first.setdefault(key, i))
    empty = np.zeros(0, np.int64)
    return FindResult("phash", 10, files, np.zeros((len(files), 1), np.uint64), Pairs(empty, empty, empty), [],
                      digests=digests, same_as=np.asarray(same_as))


@pytest.mark.unit
def test_a_logo_in_every_folder_costs_no_pair_of_folders(tmp_path: Path) -> None:
    """One picture (a shop's logo, a blank frame) byte-identical in each of 600 folders that also hold a picture of
    their own: no folder is a copy of another, but every (folder, folder) pair with one copy was kept in memory
    (600 folders: 360,000 pairs, 150 MB; 1,500 folders: 0.93 GB, 19 CPU s for `imagetwins folders`, and
    `report` makes the same search). Now a folder is compared only with the folders that could hold the share."""
    import tracemalloc

    from imagetwins.folders import find_duplicate_folders

    result = _folders_result(tmp_path, 600, ("logo.png",), own=True)
    tracemalloc.start()
    try:
        pairs = find_duplicate_folders(result, tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert pairs == []
    assert peak < 20e6, f"{peak / 1e6:.0f} MB"
    # at 50 % a folder's logo alone is enough: every folder is then listed (one copy of another)
    assert len(find_duplicate_folders(_folders_result(tmp_path, 30, ("logo.png",), own=True), tmp_path,
                                      min_share=0.5)) == 29


@pytest.mark.unit
def test_hundreds_of_identical_folders_are_ranked_without_cubic_work(tmp_path: Path, monkeypatch) -> None:
    """150 folders each holding the same two pictures: each is a copy of every other, and choosing the narrowest
    copy compared every candidate with every other for each folder (N^3: 3.4 million folder comparisons here;
    800 folders did not finish in 10 minutes). Now linear in the candidates."""
    import imagetwins.folders as folders

    calls = 0
    real = folders._under

    def counted(path: str, folder: str) -> bool:
        nonlocal calls
        calls += 1
        return real(path, folder)

    monkeypatch.setattr(folders, "_under", counted)
    n = 150
    pairs = folders.find_duplicate_folders(_folders_result(tmp_path, n, ("logo.png", "photo.jpg"), own=False),
                                           tmp_path)
    assert len(pairs) == n - 1 and all(p.identical and p.images == 2 for p in pairs)  # all but one go
    assert calls < 20 * n * n, calls


def _icon_with_png_frame(side: int) -> bytes:
    """An .ico whose directory says 256 x 256 but whose PNG frame is ``side`` x ``side`` RGBA (blank: it packs
    into little; 12000 x 12000 is 560 KB)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = zlib.compress(b"\0" * ((4 * side + 1) * side), 9)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0))
           + chunk(b"IDAT", rows) + chunk(b"IEND", b""))
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 22) + png


def _budget_at_each_decode(monkeypatch, image_class) -> list[int]:
    """What the shared decode budget holds as each decode of ``image_class`` (Pillow's ``load``) begins; a load of an
    image decoded already is not counted."""
    from imagetwins import io as tio

    held: list[int] = []
    real_load = image_class.load

    def load(self):
        if getattr(self, "_im", None) is None:
            held.append(tio.DECODE_BUDGET.used)
        return real_load(self)

    monkeypatch.setattr(image_class, "load", load)
    return held


@pytest.mark.unit
def test_an_icon_frame_larger_than_its_directory_says_is_held_to_the_limits_before_decoding(monkeypatch) -> None:
    """Pillow decodes an icon's frame while *opening* it, at the frame's own size, whatever the directory says (at
    most 256 x 256): a 560 KB .ico with a 12000 x 12000 frame took 1.2 GB of memory, outside the shared decode
    budget (so one a thread), before the size limit refused it. Now the frames' own headers are read first."""
    from PIL import IcoImagePlugin

    from imagetwins import io as tio

    loads = _budget_at_each_decode(monkeypatch, IcoImagePlugin.IcoImageFile)
    bomb = _icon_with_png_frame(2000)  # 2000 x 2000 RGBA: 36 MB at the peak, over a 20 MB limit
    with pytest.raises(tio.ImageReadError, match=r"an icon frame of 2000x2000 RGBA: 36,000,000 bytes > limit"):
        tio.open_image(bomb, max_decoded_bytes=20_000_000)
    assert loads == []  # refused before Pillow decoded anything
    with tio.quiet_decoder_warnings():  # (Pillow: "Image was not the expected size")
        img = tio.open_image(bomb, max_decoded_bytes=40_000_000)  # within the limit: decoded, its cost held first
    assert img.size == (2000, 2000)
    assert loads and loads[0] >= tio.decode_cost("RGBA", 2000, 2000)
    assert tio.DECODE_BUDGET.used == 0


def _png_with_exif_after_pixels(width: int, height: int, orientation: int = 0) -> bytes:
    """A blank ``width`` x ``height`` RGBA PNG (it packs into little); with ``orientation``, an eXIf chunk saying so
    after the pixel data (where Pillow looks for it only by decoding the picture)."""
    import struct
    import zlib

    from PIL import Image

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    exif = Image.Exif()
    exif[0x0112] = orientation
    rows = zlib.compress(b"\0" * ((4 * width + 1) * height), 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", rows) + (chunk(b"eXIf", exif.tobytes()) if orientation else b"") + chunk(b"IEND", b""))


@pytest.mark.unit
def test_a_png_is_held_to_the_limits_before_its_exif_is_looked_for(monkeypatch) -> None:
    """Pillow's PNG plug-in decodes the whole picture to look for EXIF after the pixel data: a 13000 x 13000 16-bit
    PNG (1.3 MB on disk) took 700 MB and 4 s before its decoded size refused it, outside the shared decode budget
    (each scanning thread one at once), and every PNG of a group was decoded again by the keep stage's header
    read. Now the chunks after the pixel data are read without decoding: refused before any decode, decoded with
    its cost held, the header read decodes nothing, and an eXIf chunk after the pixels still turns the picture."""
    from PIL import ImageFile

    from imagetwins import io as tio
    from imagetwins.facts import header_facts

    loads = _budget_at_each_decode(monkeypatch, ImageFile.ImageFile)
    bomb = _png_with_exif_after_pixels(2000, 1000, orientation=6)  # 8 MB RGBA at least, over a 4 MB limit
    with pytest.raises(tio.ImageReadError, match=r"image too large to decode \(2000x1000 RGBA"):
        tio.open_image(bomb, max_decoded_bytes=4_000_000)
    assert loads == []  # refused before Pillow decoded anything
    with tio.open_header(bomb) as im:
        assert header_facts(im)[:2] == (1000, 2000)  # (displayed size: the eXIf after the pixels read)
    assert loads == []
    img = tio.open_image(bomb)  # within the limits: decoded once, its cost held first, turned by its eXIf
    assert img.size == (1000, 2000)
    assert len(loads) == 1 and loads[0] >= tio.decode_cost("RGBA", 2000, 1000)
    assert tio.DECODE_BUDGET.used == 0
    assert tio.open_image(_png_with_exif_after_pixels(200, 100)).size == (200, 100)  # (no EXIF at all)


#: ``remove --apply`` whose journal meets a real file-size limit (RLIMIT_FSIZE: writes past it fail with EFBIG, the one
#: that reaches it is cut short, as on a full disk) from its seventh line on: the five files' planned lines (one
#: batch) and the first one's confirmation written by then, the second moved and its confirmation cut short
FULL_JOURNAL = """
import os, resource, signal, sys
import imagetwins.quarantine as q
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
real, calls = q._append, []
def append(journal, key, entry, sync=True):
    calls.append(entry)
    if len(calls) == 7:
        room = os.fstat(journal.fileno()).st_size + 100
        resource.setrlimit(resource.RLIMIT_FSIZE, (room, resource.RLIM_INFINITY))
    return real(journal, key, entry, sync=sync)
q._append = append
from imagetwins.cli import main
main(["remove", sys.argv[1], "-m", "phash", "--no-cache", "--apply", "--move-to", sys.argv[2]])
"""


@pytest.mark.cli
def test_a_disk_that_fills_up_during_remove_stops_it_with_one_line_and_undo_restores(tmp_path: Path) -> None:
    """The quarantine's disk fills up while its journal grows (moves on one disk need no room, journal lines
    do): each next file failed with 'No space left on device', then a traceback; the journal kept half a line,
    onto which the next line would be glued if room came back. Now the half line is taken back, the run stops at
    once with one line, and the files moved so far are undone from the journal. (A real 1 MB tmpfs filled to its
    last pages gives the same: 'stopped after 12 of 19 files'.)"""
    import subprocess
    import sys

    album = _album(tmp_path / "album", 6)
    before = _digests(album)
    quarantine = tmp_path / "q"
    proc = subprocess.run([sys.executable, "-c", FULL_JOURNAL, str(album), str(quarantine)], capture_output=True,
                          text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in out, out
    assert "error: cannot write the quarantine's journal (No space left on device): stopped after 2 of 5 files" in out
    assert "moved 2 files" in out
    journal = (quarantine / "manifest.jsonl").read_text()
    assert journal.endswith("\n") and journal.count("\n") == 6  # whole lines only: five planned, one done
    assert len(list(quarantine.glob("*.png"))) == 2
    res = _run("undo", str(quarantine))
    assert res.exit_code == 0, res.output
    assert _digests(album) == before


@pytest.mark.cli
def test_files_that_failed_before_a_full_disk_stopped_the_journal_are_counted_once(tmp_path: Path,
                                                                                   monkeypatch) -> None:
    """A quarantine on a small disk: the first files fail to copy there ('No space left on device', each named), then
    the journal itself cannot be written and the run stops. The summary said '27 files not moved' of 16 planned and
    'stopped after 1 of 16 files' after 13 were tried (a 3 MB tmpfs, 8 photos + 16 edits): the failed files were
    counted again among those never tried. Now each planned file is counted once."""
    import errno

    import imagetwins.quarantine as q

    album = _album(tmp_path / "album", 6)  # one group: 5 files to move
    before = _digests(album)
    calls = []

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    def append(journal, key, entry, sync=True):
        calls.append(entry["state"])
        if len(calls) == 9:  # five planned lines (one batch), failed for three files, then the fourth's finds no room
            raise q.JournalError("cannot write the quarantine's journal (No space left on device)")

    monkeypatch.setattr(q, "_move", full_disk)
    monkeypatch.setattr(q, "_append", append)
    res = _run("remove", str(album), "-m", "phash", "--no-cache", "--apply", "--move-to", str(tmp_path / "q"))
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    assert res.output.count("No space left on device\n") == 3, res.output  # the three that failed, each named
    assert "stopped after 3 of 5 files; the rest stay where they are" in res.output, res.output
    assert "error: 5 files not moved (3 failed, each named above; 2 never tried: the run stopped)" in res.output, \
        res.output
    assert _digests(album) == before


@pytest.mark.cli
def test_files_a_stopped_journal_never_tried_are_not_said_to_be_named_above(tmp_path: Path, monkeypatch) -> None:
    """The journal cannot take the first file's line (a full disk, a folder made read-only): the run stopped before
    any file was tried, no line named one, and the summary said '5 files not moved (5 failed, each named above)'.
    Now it says why they stayed."""
    import imagetwins.quarantine as q

    album = _album(tmp_path / "album", 6)  # one group: 5 files to move
    before = _digests(album)

    def append(journal, key, entry, sync=True):
        raise q.JournalError("cannot write the quarantine's journal (No space left on device)")

    monkeypatch.setattr(q, "_append", append)
    res = _run("remove", str(album), "-m", "phash", "--no-cache", "--apply", "--move-to", str(tmp_path / "q"))
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    assert "stopped after 0 of 5 files; the rest stay where they are" in res.output, res.output
    assert "error: 5 files not moved (5 never tried: the run stopped)" in res.output, res.output
    assert "named above" not in res.output, res.output
    assert _digests(album) == before


@pytest.mark.cli
@pytest.mark.parametrize("name", [b"ph\xffoto", b"L" * 250], ids=["not-utf8", "250-bytes"])
def test_a_folder_named_with_any_bytes_gets_its_cache_and_placeholders(tmp_path: Path, name: bytes) -> None:
    """The per-folder cache was named after the folder: a folder whose name is not UTF-8 made every `find`,
    `report` and `remove` of it a traceback (UnicodeEncodeError in default_cache_path, then in the cache's own
    record of its folder); a 250-byte name gave 'File name too long' and no cache, ever. `remove --link` of a
    file with such a name moved it and left the copy, then a traceback recording the copy (placeholders.db), and
    `undo` took the copy away and stopped with a traceback before putting the file back."""
    from imagetwins.index import default_cache_path
    from imagetwins.text import printable

    album = _album(Path(os.fsdecode(bytes(tmp_path) + b"/" + name)), 2)
    (album / "a1.png").rename(album / os.fsdecode(b"b\xfe.png"))
    before = _digests(album)
    for _ in range(2):
        res = _run("find", str(album), "-m", "phash")
        assert res.exit_code == 0 and "1 duplicate group" in res.output and "warning" not in res.output, res.output
    assert default_cache_path(album).is_file()
    res = _run("cache", "list")
    assert res.exit_code == 0 and printable(str(album)) in res.output, res.output  # (the folder it is for)
    quarantine = tmp_path / "q"
    res = _run("remove", str(album), "-m", "phash", "--apply", "--link", "--move-to", str(quarantine))
    assert res.exit_code == 0, res.output
    res = _run("find", str(album), "-m", "phash")
    assert res.exit_code == 0 and "0 duplicate groups" in res.output and "left in moved files' places" in res.output
    res = _run("undo", str(quarantine))
    assert res.exit_code == 0, res.output
    assert _digests(album) == before


@pytest.mark.unit
def test_header_reads_hold_an_icon_to_the_limits_too(tmp_path: Path, monkeypatch) -> None:
    """The keep rules read a file's header again when the scan's facts are not at hand (a plan, a keeper changed):
    Pillow decoded an icon's whole frame there too, with no limit at all."""
    from PIL import IcoImagePlugin

    from imagetwins import io as tio
    from imagetwins.keep import file_info

    loads: list[int] = []
    real_load = IcoImagePlugin.IcoImageFile.load
    monkeypatch.setattr(IcoImagePlugin.IcoImageFile, "load", lambda self: loads.append(1) or real_load(self))
    monkeypatch.setattr(tio, "DEFAULT_MAX_DECODED_BYTES", 20_000_000)  # (a 2000 x 2000 frame stands for a bomb)
    bomb = tmp_path / "icon.ico"
    bomb.write_bytes(_icon_with_png_frame(2000))
    info = file_info(bomb)
    assert loads == [] and (info.width, info.height) == (0, 0)  # not decoded; ranked last, as a file it cannot read
    small = tmp_path / "small.ico"
    small.write_bytes(_icon_with_png_frame(64))
    with tio.quiet_decoder_warnings():
        assert (file_info(small).width, file_info(small).height) == (64, 64)


@pytest.mark.cli
def test_link_note_never_waits_on_a_keeper_swapped_for_a_fifo(tmp_path: Path) -> None:
    """`remove --link` says when a place gets bytes of another format than its name says, opening the keeper by
    name: a keeper swapped for a FIFO since the scan (dry run or --apply) kept the run waiting for ever."""
    import threading

    from imagetwins.cli.remove import _format_mismatches

    fifo = tmp_path / "keeper.png"
    os.mkfifo(fifo)
    answer: list = []
    worker = threading.Thread(target=lambda: answer.append(_format_mismatches([(str(tmp_path / "b.jpg"),
                                                                                str(fifo))])), daemon=True)
    worker.start()
    worker.join(20)
    stuck = worker.is_alive()
    if stuck:  # (let the waiting open return, so the test ends)
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(5)
    assert not stuck
    assert answer == [[(str(tmp_path / "b.jpg"), "JPEG", "PNG")]]  # the name's format said


@pytest.mark.cli
@pytest.mark.parametrize("across", [False, True], ids=["same-disk", "across-devices"])
def test_a_file_whose_name_cannot_be_removed_leaves_no_second_copy_in_the_quarantine(tmp_path: Path, monkeypatch,
                                                                                     across: bool) -> None:
    """The last step of a move, removing the original's name, fails (a folder the user may not change, a file
    made immutable): the file was said 'could not move' and stayed, but its new name (same disk) or its verified
    copy (across devices) stayed in the quarantine too, journalled as failed; undo then said 'an identical file
    already stands there: the quarantined copy stays'. Now the quarantine gives it back."""
    import errno

    import imagetwins.quarantine as q

    album = _album(tmp_path / "album", 3)
    before = _digests(album)
    real_unlink, real_link, real_rename = os.unlink, os.link, os.rename

    def unlink(path, *, dir_fd=None):
        if dir_fd is not None and os.fspath(path) == "a2.png":
            raise PermissionError(errno.EPERM, "Operation not permitted")
        return real_unlink(path, dir_fd=dir_fd)

    def cross_device(real):  # (between two names in one folder they still work: a copy's final name)
        def op(src, dst, **kwargs):
            if not across or (kwargs.get("src_dir_fd") == kwargs.get("dst_dir_fd")
                              and Path(src).parent == Path(dst).parent):
                return real(src, dst, **kwargs)
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return op

    moves_by_link(monkeypatch)
    monkeypatch.setattr(q.os, "unlink", unlink)
    monkeypatch.setattr(q.os, "link", cross_device(real_link))
    monkeypatch.setattr(q.os, "rename", cross_device(real_rename))
    quarantine = tmp_path / "q"
    res = _run("remove", str(album), "-m", "phash", "--no-cache", "--apply", "--move-to", str(quarantine))
    monkeypatch.undo()
    assert res.exit_code == 1 and "a2.png: Operation not permitted" in res.output, res.output
    assert (album / "a2.png").is_file() and not (album / "a1.png").exists()
    assert sorted(p.name for p in quarantine.iterdir() if p.suffix == ".png") == ["a1.png"]
    res = _run("undo", str(quarantine))
    assert res.exit_code == 0, res.output
    assert _digests(album) == before


def _copied_folders(base: Path) -> Path:
    """``lib/A`` and ``lib/B/deep`` holding the same two pictures: ``folders`` lists B as a copy of A."""
    for folder in (base / "lib" / "A", base / "lib" / "B" / "deep"):
        folder.mkdir(parents=True)
        for seed in (1, 2):
            synthetic_photo(96, 72, seed).save(folder / f"p{seed}.png")
    return base / "lib"


@pytest.mark.cli
def test_a_file_written_into_a_folder_as_it_moves_comes_back_with_it(tmp_path: Path, monkeypatch) -> None:
    """A folder moves whole when every file in it has a copy elsewhere, checked right before the rename: a photo a
    sync program writes into it after that check went into the quarantine with it, and `undo` then refused the
    whole folder ('changed in quarantine (its files differ from those moved): left there'). Now a folder found
    holding more after its rename is put back at once; one that gains a file in the quarantine comes back whole."""
    import imagetwins.quarantine as q

    lib = _copied_folders(tmp_path)
    plan = tmp_path / "folders.json"
    res = _run("folders", str(lib), "-r", "-m", "phash", "--no-cache", "--json", str(plan))
    assert res.exit_code == 0 and "B  is a copy of  A" in res.output, res.output
    real_rename = os.rename

    def rename(src, dst, **kwargs):  # a new photo lands in the folder between its last check and its rename
        if kwargs.get("src_dir_fd") is not None and os.fspath(src) == "B":
            (lib / "B" / "new.png").write_bytes(b"a photo the sync program just wrote")
        return real_rename(src, dst, **kwargs)

    monkeypatch.setattr(q.os, "rename", rename)
    quarantine = tmp_path / "q"
    res = _run("remove", str(lib), "--plan", str(plan), "--apply", "--move-to", str(quarantine))
    monkeypatch.undo()
    assert res.exit_code == 1 and "a file was written into it while it moved (put back)" in res.output, res.output
    assert (lib / "B" / "new.png").is_file() and not (quarantine / "B").exists()
    # moved, then a file lands in it in the quarantine (a program whose current folder it was): undo brings all
    (lib / "B" / "new.png").unlink()
    before = _digests(lib)
    res = _run("remove", str(lib), "--plan", str(plan), "--apply", "--move-to", str(quarantine))
    assert res.exit_code == 0 and not (lib / "B").exists(), res.output
    (quarantine / "B" / "later.png").write_bytes(b"written after the move")
    res = _run("undo", str(quarantine))
    assert res.exit_code == 0, res.output
    assert (lib / "B" / "later.png").read_bytes() == b"written after the move"
    (lib / "B" / "later.png").unlink()
    assert _digests(lib) == before


@pytest.mark.cli
def test_the_review_pages_files_folder_never_replaces_files_it_did_not_write(tmp_path: Path, monkeypatch) -> None:
    """A review page of many groups puts its thumbnails in PAGE_files/ beside it (0.jpg, 1.jpg... then): a folder of
    that name already there (a page saved by a browser as 2019.html + 2019_files/, someone's photos 0.jpg, 1.jpg)
    had those files deleted and replaced by thumbnails, though the user never named that folder."""
    import imagetwins.report as report

    monkeypatch.setattr(report, "EMBED_MAX_GROUPS", 0)  # (thumbnails in files from the first group on)
    album = _album(tmp_path / "album", 2)
    saved = tmp_path / "2019_files"
    saved.mkdir()
    (saved / "0.jpg").write_bytes(b"someone's own picture")
    page = tmp_path / "2019.html"
    res = _run("report", str(album), "-m", "phash", "--no-cache", "-o", str(page))
    assert res.exit_code == 1 and "2019_files already holds files imagetwins did not write" in res.output
    assert [p.name for p in saved.iterdir()] == ["0.jpg"] and (saved / "0.jpg").read_bytes() == b"someone's own picture"
    other = tmp_path / "review.html"  # a folder it makes is its own: written, and again next time
    for _ in range(2):
        res = _run("report", str(album), "-m", "phash", "--no-cache", "-o", str(other))
        assert res.exit_code == 0, res.output
    name = hashlib.sha256((album / "a0.png").read_bytes()).hexdigest()[:32]  # (a thumbnail: its content's digits)
    assert (tmp_path / "review_files" / f"{name}.jpg").read_bytes()[:2] == b"\xff\xd8"


@pytest.mark.cli
@pytest.mark.parametrize("how", ["link", "across-devices", "name-taken"])
def test_a_name_of_255_bytes_moves_across_devices_gets_its_clone_and_a_free_name(tmp_path: Path, monkeypatch,
                                                                                 how: str) -> None:
    """A photo whose name takes the 255 bytes a name may have (85 CJK characters) could not be moved across
    devices ('NAME.partial': File name too long), got no clone with --link ('could not move ...: moved to
    quarantine, but no clone copy made (File name too long)') and no free name in a quarantine already holding
    one ('NAME.1.png'). The names imagetwins makes beside it are shortened now."""
    import errno

    import imagetwins.quarantine as q

    long = "x" * 251 + ".png"
    albums = [_album(tmp_path / f"album{k}", 2) for k in range(2 if how == "name-taken" else 1)]
    for album in albums:
        (album / "a1.png").rename(album / long)
    before = [_digests(album) for album in albums]
    real_link, real_rename = os.link, os.rename

    def cross_device(real):  # (between two names in one folder they still work: a copy's final name)
        def op(src, dst, **kwargs):
            if kwargs.get("src_dir_fd") == kwargs.get("dst_dir_fd") and Path(src).parent == Path(dst).parent:
                return real(src, dst, **kwargs)
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return op

    if how == "across-devices":  # (undo copies back across devices too)
        moves_by_link(monkeypatch)
        monkeypatch.setattr(q.os, "link", cross_device(real_link))
        monkeypatch.setattr(q.os, "rename", cross_device(real_rename))
    quarantine = tmp_path / "q"
    for album in albums:
        res = _run("remove", str(album), "-m", "phash", "--no-cache", "--apply", "--move-to", str(quarantine),
                   *(["--link"] if how == "link" else []))
        assert res.exit_code == 0 and "File name too long" not in res.output, res.output
    if how == "link":  # the clone stands at the old name
        assert (albums[0] / long).read_bytes() == (albums[0] / "a0.png").read_bytes()
    else:
        assert len([p for p in quarantine.iterdir() if p.suffix == ".png"]) == len(albums)
    res = _run("undo", str(quarantine))
    assert res.exit_code == 0, res.output
    assert [_digests(album) for album in albums] == before


@pytest.mark.cli
def test_an_empty_quarantine_folder_that_may_not_be_written_in_is_one_line(tmp_path: Path) -> None:
    """``remove --apply --move-to Q`` where Q is an empty folder of the user's that may not be written in (0555; an
    immutable one for root): the quarantine's key could not be made there, a PermissionError traceback (of a file
    plan and of a plan moving whole folders alike). Now one line, nothing moved."""
    from index_files import read_only

    album = _album(tmp_path / "album", 3)
    _album(album / "copy", 3)  # a folder whose files all have a copy outside it
    before = _digests(album)
    folders_plan = tmp_path / "folders.json"
    res = _run("folders", str(album), "-r", "-m", "phash", "--no-cache", "--json", str(folders_plan))
    assert res.exit_code == 0 and "copy" in res.output, res.output
    quarantine = tmp_path / "q"
    quarantine.mkdir(mode=0o700)
    with read_only(quarantine):
        for args in (("remove", str(album), "-m", "phash", "--no-cache", "--apply"),
                     ("remove", str(album), "--plan", str(folders_plan), "--apply")):
            res = _run(*args, "--move-to", str(quarantine))
            assert res.exit_code == 1 and (res.exception is None or isinstance(res.exception, SystemExit)), res.output
            assert res.output.count("Error:") == 1 and "cannot write the quarantine's key" in res.output, res.output
            assert "nothing was moved" in res.output
    assert _digests(album) == before and list(quarantine.iterdir()) == []


@pytest.mark.integration
def test_a_keeper_edited_among_byte_identical_copies_checks_only_the_files_that_differ(tmp_path: Path,
                                                                                       monkeypatch) -> None:
    """A plan whose keep a person edits by hand has each file checked against the new keeper (a re-shot of it stays):
    a group of 1,000 byte-identical copies of one photo, keep edited to another of them, checked 999 pairs of
    identical files one by one before anything moved (18.6 s; 2.9 s now). A file the plan records with the keeper's
    very bytes is a copy of it (check_plan moves it only while it has them): only the others are checked."""
    import json

    from imagetwins.encoders.copies import CopiesEncoder
    from imagetwins.plan import check_plan, load_plan, not_copies_of_keepers

    album = _album(tmp_path / "album", 12)
    synthetic_photo(96, 72).resize((64, 48)).save(album / "small.png")
    files = sorted(str(p) for p in album.iterdir())
    doc = {"imagetwins_plan": 1, "root": str(album.resolve()), "method": "copies",
           "groups": [{"files": files, "keep": str(album / "a5.png"), "suggested_keep": str(album / "a0.png"),
                       "sha256": {f: hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files}}]}
    (tmp_path / "plan.json").write_text(json.dumps(doc))
    checked: list[int] = []
    real = CopiesEncoder.score_pairs

    def score_pairs(self, rows, left, right, *args, **kwargs):
        checked.append(len(left))
        return real(self, rows, left, right, *args, **kwargs)

    monkeypatch.setattr(CopiesEncoder, "score_pairs", score_pairs)
    _, groups = load_plan(tmp_path / "plan.json", folder=album)
    assert not_copies_of_keepers(groups, "copies", album, workers=1) == []
    assert checked == [1]  # the smaller copy alone
    moves = sorted(Path(f).name for f, *_ in check_plan(album, groups).moves)
    assert moves == sorted(f"a{k}.png" for k in range(12) if k != 5) + ["small.png"]


def _progressive_jpeg_with_scans(extra: int, comment: bytes = b"") -> bytes:
    """A progressive JPEG of a 64 x 64 photo whose last scan is repeated ``extra`` times (each a few bytes: what an
    end-of-band run over every block costs); ``comment``: a COM segment before its second scan."""
    import io

    picture = synthetic_photo(64, 64)
    buf = io.BytesIO()
    picture.save(buf, "JPEG", progressive=True, quality=90)
    data = buf.getvalue()
    scans = [k for k in range(len(data) - 1) if data[k:k + 2] == b"\xff\xda"]  # (no EXIF thumbnail: each is a scan)
    end = data.rindex(b"\xff\xd9")
    last = data[scans[-1]:end]
    second = scans[1] if comment else scans[-1]
    com = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment if comment else b""
    return data[:second] + com + data[second:end] + last * extra + data[end:]


@pytest.mark.unit
def test_a_progressive_jpeg_of_thousands_of_scans_is_refused_before_decoding() -> None:
    """A progressive JPEG is decoded scan by scan over the whole picture, and a scan can be a few bytes: 1,000 scans
    of a 4000 x 4000 picture (94 KB) took 36 s to decode, 5,000 (218 KB) 184 s; 'find' gave up on it after the
    60 s limit but its thread decoded on, and a folder of such files stalled each scan for a minute a file. Such a
    file is refused at once now, in one line; encoders write about ten scans, and those decode as before."""
    from imagetwins import io as tio

    assert tio.open_image(_progressive_jpeg_with_scans(0)).size == (64, 64)
    assert tio.open_image(_progressive_jpeg_with_scans(80)).size == (64, 64)  # (~90 scans: within the limit)
    for bomb in (_progressive_jpeg_with_scans(1000), _progressive_jpeg_with_scans(1000, b"\xff\xd9\xff\xda")):
        with pytest.raises(tio.ImageReadError, match=r"a progressive JPEG of more than 100 scans"):
            tio.open_image(bomb)


@pytest.mark.unit
def test_a_progressive_mpo_of_too_many_scans_is_refused_before_decoding() -> None:
    """An MPO (a JPEG holding further pictures: a 3D camera's, a phone's depth) is decoded as its first frame, and the
    scans were counted from where Pillow's header read left the file: for an MPO, back at its start, where the walk took
    the start-of-image marker's next bytes for its length and jumped ~64 KB ahead: the scans there went uncounted (a
    160-scan file of 64 x 64 pixels counted ~60 and was decoded; a 4000 x 4000 picture's scans are fewer bytes)."""
    import io

    from imagetwins import io as tio

    def mpo(extra: int) -> bytes:
        buf = io.BytesIO()
        synthetic_photo(64, 64).save(buf, "MPO", save_all=True, append_images=[synthetic_photo(64, 64)],
                                     progressive=True, quality=90)
        data = buf.getvalue()
        end = data.index(b"\xff\xd9")  # (the first frame's end: no thumbnail before it)
        last = data[data.rindex(b"\xff\xda", 0, end):end]
        return data[:end] + last * extra + data[end:]

    assert tio.open_image(mpo(0)).size == (64, 64)
    assert tio.open_image(mpo(80)).size == (64, 64)  # (~90 scans: within the limit)
    for bomb in (mpo(150), mpo(1000)):
        with pytest.raises(tio.ImageReadError, match=r"a progressive JPEG of more than 100 scans"):
            tio.open_image(bomb)


def _jpeg2000_declaring_tiles(side: int, tile: int) -> bytes:
    """The main header of a JPEG 2000 codestream (a 64 x 64 RGB one's) declaring a ``side`` x ``side`` picture in
    ``tile`` x ``tile`` tiles, then its end: no tile's data at all."""
    import io
    import struct

    buf = io.BytesIO()
    synthetic_photo(64, 64).save(buf, "JPEG2000", no_jp2=True)
    data = buf.getvalue()
    header = bytearray(data[:data.index(b"\xff\x90")])  # (up to the first tile's SOT)
    struct.pack_into(">8I", header, 8, side, side, 0, 0, tile, tile, 0, 0)
    return bytes(header) + b"\xff\xd9"


@pytest.mark.unit
def test_a_jpeg2000_is_held_to_the_limits_for_its_tiles_and_its_decoder_s_planes(monkeypatch) -> None:
    """openjpeg holds structures for every tile a JPEG 2000 declares before decoding any, and a 32-bit plane of each
    band beside the image: a 110-byte codestream declaring 62,500 tiles took 626 MB (then 'broken data stream'),
    a 250 x 250 picture's cost held in the shared budget (nearly none: each thread one at once); a 4000 x 4000 RGB
    one peaked at 301 MB over a held 61 MB. Both are counted now: the first refused before any decode, the second
    held at what it takes."""
    import io

    from PIL import Jpeg2KImagePlugin

    from imagetwins import io as tio

    held = _budget_at_each_decode(monkeypatch, Jpeg2KImagePlugin.Jpeg2KImageFile)
    for side in (250, 4000):
        bomb = _jpeg2000_declaring_tiles(side, side // 250)  # 62,500 tiles
        with pytest.raises(tio.ImageReadError, match=r"too large to decode \(\d+x\d+ RGB and the tiles it declares"):
            tio.open_image(bomb, max_decoded_bytes=200_000_000)
    assert held == []  # refused before openjpeg read a tile
    picture = io.BytesIO()
    synthetic_photo(400, 300).save(picture, "JPEG2000")
    assert tio.open_image(picture.getvalue()).size == (400, 300)
    assert held and held[0] >= 19 * 400 * 300  # (RGB: 19.7 bytes a pixel measured at the peak)
    assert tio.DECODE_BUDGET.used == 0


def _tiff_declaring_a_tile(side: int, tile: int) -> bytes:
    """A deflate-compressed RGB TIFF of ``side`` x ``side`` pixels in one ``tile`` x ``tile`` tile of zeros."""
    import struct
    import zlib

    pixels = zlib.compress(b"\0" * (tile * tile * 3), 9)
    entries = [(256, 3, 1, side), (257, 3, 1, side), (258, 3, 3, 8 + 2 + 12 * 12 + 4), (259, 3, 1, 8), (262, 3, 1, 2),
               (277, 3, 1, 3), (284, 3, 1, 1), (322, 3, 1, tile), (323, 3, 1, tile),
               (324, 4, 1, 8 + 2 + 12 * 12 + 4 + 6), (325, 4, 1, len(pixels)), (339, 3, 1, 1)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHIHH", code, kind, count, value, 0) if kind == 3 and count == 1 else
        struct.pack("<HHII", code, kind, count, value) for code, kind, count, value in entries)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + struct.pack("<3H", 8, 8, 8) + pixels


@pytest.mark.unit
def test_a_tiff_is_held_to_the_limits_for_the_tile_it_declares(monkeypatch) -> None:
    """libtiff fills a buffer of the tile size a TIFF declares, however small the picture: a 783 KB TIFF of 16 x 16
    pixels in one 16384 x 16384 tile took 809 MB and 10 s to decode, its cost held in the shared budget nearly nil.
    The tile's buffer is counted now: over the limit, refused before decoding; within it, held while it decodes."""
    from PIL import TiffImagePlugin

    from imagetwins import io as tio

    held = _budget_at_each_decode(monkeypatch, TiffImagePlugin.TiffImageFile)
    bomb = _tiff_declaring_a_tile(16, 2048)  # a 16 MB tile at least
    with pytest.raises(tio.ImageReadError, match=r"too large to decode \(16x16 RGB and the tiles it declares"):
        tio.open_image(bomb, max_decoded_bytes=8_000_000)
    assert held == []
    assert tio.open_image(bomb).size == (16, 16)
    assert held and held[0] >= 2048 * 2048 * 3
    assert tio.DECODE_BUDGET.used == 0


def _tiff_in_strips(strips: int, kind: str = "<") -> bytes:
    """An uncompressed RGB TIFF of 16 x 16 pixels, one row a strip, whose strip offsets list ``strips`` entries
    (2 bytes each, every one the file's start); ``kind``: its byte order."""
    import struct

    entries = [(256, 1, 16), (257, 1, 16), (258, 3, 8 + 2 + 8 * 12 + 4), (259, 1, 1), (262, 1, 2), (277, 1, 3),
               (278, 1, 1), (273, strips, 8 + 2 + 8 * 12 + 4 + 6)]
    ifd = struct.pack(f"{kind}H", len(entries)) + b"".join(
        struct.pack(f"{kind}HHIHH", code, 3, count, value, 0) if count == 1 else
        struct.pack(f"{kind}HHII", code, 3, count, value) for code, count, value in entries)
    return ((b"II*\x00" if kind == "<" else b"MM\x00*") + struct.pack(f"{kind}I", 8) + ifd + struct.pack(f"{kind}I", 0)
            + struct.pack(f"{kind}3H", 8, 8, 8) + b"\0\0" * strips)


@pytest.mark.unit
def test_a_tiff_cut_into_millions_of_strips_is_refused_before_pillow_opens_it() -> None:
    """Pillow reads every strip's offset of a TIFF page into a tuple and makes an object of each strip of an
    uncompressed page, its layout wrapping round the picture as often as there are strips: a 2 MB TIFF of 16 x 16
    pixels listing a million strips took 29 s and 294 MB to decode (10 million, 80 MB: 292 s and 3.9 GB), its header
    read by the keep stage as long. Such a page is refused before Pillow opens it, in one line."""
    from imagetwins import io as tio

    for kind in ("<", ">"):
        assert tio.open_image(_tiff_in_strips(16, kind)).size == (16, 16)
        bomb = _tiff_in_strips(1_000_000, kind)
        with pytest.raises(tio.ImageReadError, match=r"a TIFF page cut into 1,000,000 strips or tiles"):
            tio.open_image(bomb)
        with pytest.raises(tio.ImageReadError, match=r"1,000,000 strips"), tio.open_header(bomb):
            pass


def _with_pieces_before_pixels(fmt: str, pieces: int) -> bytes:
    """A 16 x 16 picture as ``fmt`` (JPEG, PNG, GIF) with ``pieces`` empty APP5 segments, private chunks or
    comment blocks before its pixel data."""
    import io
    import struct
    import zlib

    buf = io.BytesIO()
    synthetic_photo(16, 16).convert("P" if fmt == "GIF" else "RGB").save(buf, fmt)
    data = buf.getvalue()
    if fmt == "JPEG":
        return data[:2] + b"\xff\xe5\x00\x02" * pieces + data[2:]
    if fmt == "PNG":
        at = data.index(b"IDAT") - 4
        empty = struct.pack(">I", 0) + b"abCd" + struct.pack(">I", zlib.crc32(b"abCd"))
        return data[:at] + empty * pieces + data[at:]
    at = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)  # (after the global colour table)
    return data[:at] + b"\x21\xfe\x01x\x00" * pieces + data[at:]


@pytest.mark.unit
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF"])
def test_a_file_of_thousands_of_pieces_before_its_pixels_is_refused_before_pillow_opens_it(fmt: str) -> None:
    """Pillow reads the segments, chunks or extension blocks before a picture's pixels one by one in Python and
    keeps each: 8 MB of empty JPEG APP segments took 7.9 s and 309 MB to open a 16 x 16 picture, 24 MB of PNG chunks
    15.5 s, 10 MB of GIF comments 390 MB (the file-size limit allows 512 MB), the keep stage's header read as long.
    More than 4,096 are refused before Pillow opens the file (the datasets' photos hold at most 31)."""
    from imagetwins import io as tio

    assert tio.open_image(_with_pieces_before_pixels(fmt, 100)).size == (16, 16)
    bomb = _with_pieces_before_pixels(fmt, 5000)
    with pytest.raises(tio.ImageReadError, match=r"more than 4,096 \w+( blocks)? before its pixels"):
        tio.open_image(bomb)
    with pytest.raises(tio.ImageReadError, match=r"before its pixels"), tio.open_header(bomb):
        pass


@pytest.mark.unit
def test_a_damaged_heic_is_one_line_without_the_decoder_s_newline(tmp_path: Path) -> None:
    """libheif's messages end in a newline: a HEIC cut in half was 'cannot decode (ValueError: Invalid input:
    Unexpected end of file: ... (points to file position 378)\\n)', the line broken before its ')'. Every reason is one
    line now (decoder_messages.one_line, in ImageReadError)."""
    import io as stdio

    pillow_heif = pytest.importorskip("pillow_heif")
    from PIL import Image

    from imagetwins.io import ImageReadError, open_image

    pillow_heif.register_heif_opener()  # (to write one; imagetwins registers it to read on the first HEIF file)
    buf = stdio.BytesIO()
    synthetic_photo(64, 48, 3).save(buf, format="HEIF")
    cut = tmp_path / "cut.heic"
    cut.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    assert "HEIF" in Image.OPEN
    with pytest.raises(ImageReadError) as err:
        open_image(cut)
    reason = err.value.reason
    assert "Unexpected end of file" in reason and reason == reason.strip() and "\n" not in reason, repr(reason)
    assert "\n" not in str(err.value)


@pytest.mark.cli
def test_names_that_differ_only_by_unicode_normalisation_are_told_apart_in_remove_s_lines(tmp_path: Path) -> None:
    """'café.png' composed (NFC) and decomposed (NFD) are two files on Linux; the dry run said 'would move
    album/café.png (group 1, keeping album/café.png)', the very same text twice. Now such names are shown with their
    code points (text.told_apart); other names, 'thé.png' here, as they are."""
    album = tmp_path / "album"
    album.mkdir()
    synthetic_photo(96, 72, 5).save(album / "caf\u00e9.png")
    (album / "cafe\u0301.png").write_bytes((album / "caf\u00e9.png").read_bytes())
    synthetic_photo(96, 72, 6).save(album / "th\u00e9.png")
    (album / "the.png").write_bytes((album / "th\u00e9.png").read_bytes())
    res = _run("remove", str(album), "-m", "phash", "--no-cache")
    assert res.exit_code == 0, res.output
    moves = [line for line in res.output.splitlines() if line.startswith("would move")]
    assert len(moves) == 2, res.output
    (cafe,) = [line for line in moves if "caf" in line]
    assert "caf\\u00e9.png" in cafe and "cafe\\u0301.png" in cafe, res.output
    assert "th\u00e9.png" in res.output and "\\u00e9" not in "".join(line for line in moves if "caf" not in line)
    res = _run("find", str(album), "-m", "phash", "--no-cache")
    assert res.exit_code == 0 and "caf\\u00e9.png" in res.output and "cafe\\u0301.png" in res.output, res.output


def lying_avif(width: int, height: int) -> bytes:
    """An AVIF coding a 1,000 x 1,000 frame whose ``ispe`` box declares ``width`` x ``height`` (skips the test where
    this Pillow writes no AVIF)."""
    import io as stdio
    import struct

    from PIL import Image, features

    if not features.check("avif"):
        pytest.skip("this Pillow reads no AVIF")
    buf = stdio.BytesIO()
    Image.new("RGB", (1000, 1000), (90, 120, 200)).save(buf, format="AVIF", speed=10, quality=10)
    data = buf.getvalue()
    at = data.index(b"ispe") + 8
    return data[:at] + struct.pack(">II", width, height) + data[at + 8:]


@pytest.mark.unit
def test_an_avif_coding_a_larger_frame_than_it_declares_is_held_to_the_limits_for_that_frame(tmp_path: Path) -> None:
    """An AVIF's ispe box declares the size Pillow reports; the AV1 decoder decodes the frame coded. A 2 KB file
    declaring 16 x 16 and coding 12,000 x 12,000 decoded at 337 MB, held in the budget as 16 x 16. The coded size is
    read from the item's sequence header now (imagetwins.heif.coded_size): a 1,000 x 1,000 frame behind a 16 x 16
    declaration is refused under a 1 MB limit (it decoded before), and an honest AVIF reads as before."""
    from imagetwins.heif import coded_size
    from imagetwins.io import ImageReadError, open_image

    liar = tmp_path / "liar.avif"
    liar.write_bytes(lying_avif(16, 16))
    assert coded_size(liar.read_bytes()) == (1000, 1000)
    with pytest.raises(ImageReadError, match=r"16x16 RGB and the larger frame it codes"):
        open_image(liar, max_decoded_bytes=1_000_000)
    honest = tmp_path / "honest.avif"
    synthetic_photo(96, 72, 2).save(honest, format="AVIF")
    assert coded_size(honest.read_bytes()) == (96, 72)
    assert open_image(honest, max_decoded_bytes=1_000_000).size == (96, 72)
    assert coded_size(b"\x00\x00\x00\x18ftypavif" + b"\xff" * 100) is None  # (no meta: the declared size stands)
    # an iloc of a million items (or of 65,535 extents of no bytes each) is refused, not walked
    from imagetwins.heif import TooManyItems

    def meta_with(iloc: bytes) -> bytes:  # (a meta box holding only this iloc box)
        return (8 + 4 + 8 + len(iloc)).to_bytes(4, "big") + b"meta\x00\x00\x00\x00" + \
            (8 + len(iloc)).to_bytes(4, "big") + b"iloc" + iloc

    with pytest.raises(TooManyItems):  # (version 2: a 32-bit item count)
        coded_size(meta_with(b"\x02\x00\x00\x00" + bytes([0x44, 0x00]) + (1 << 20).to_bytes(4, "big")))
    none_sized = b"\x00\x00\x00\x00" + bytes([0x00, 0x00]) + (4000).to_bytes(2, "big") + \
        b"".join(k.to_bytes(2, "big") + b"\x00\x00" + b"\xff\xff" for k in range(4000))
    assert coded_size(meta_with(none_sized)) is None
