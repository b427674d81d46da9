"""File-safety leftovers, each on the scenario that showed it: an output FIFO swapped between its check and its
open, a file reporting 0 bytes that holds some (``/proc``), a HEIF's coded frame judged against its declared
size, a HEIF's Exif item read as its picture's units, a journal's long
junk line, a key file a crash cut short or left under another name, a copy with a hard link outside the folder."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from conftest import synthetic_photo

from imagetwins import writing


@pytest.fixture
def no_held_fifos():
    yield
    for fd in writing._held_fifos.values():
        os.close(fd)
    writing._held_fifos.clear()


def _swap_before_open(monkeypatch, path: Path, swap) -> None:
    """Call ``swap()`` once, right before ``path`` is opened (the name changed between its check and its open)."""
    real_open = os.open

    def opening(name, flags, *args, **kwargs):
        if os.fspath(name) == os.fspath(path) and not swapped:
            swapped.append(True)
            swap()
        return real_open(name, flags, *args, **kwargs)

    swapped: list[bool] = []
    monkeypatch.setattr(os, "open", opening)


@pytest.mark.unit
def test_an_output_fifo_gone_between_its_check_and_its_open_is_no_traceback(tmp_path: Path, monkeypatch,
                                                                             no_held_fifos) -> None:
    """``--json FIFO``: the name was looked at twice (``lstat`` in ``_stream`` then again); a FIFO removed between
    the two raised FileNotFoundError out of the option's check (a traceback). Gone before its open, the name is
    written as a new file; swapped for a link, it is refused in one line."""
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    _swap_before_open(monkeypatch, fifo, fifo.unlink)
    writing.check_output_name(fifo)
    assert not writing._held_fifos
    monkeypatch.undo()

    os.mkfifo(fifo)
    elsewhere = tmp_path / "elsewhere"
    os.mkfifo(elsewhere)
    reader = os.open(elsewhere, os.O_RDONLY | os.O_NONBLOCK)
    try:
        _swap_before_open(monkeypatch, fifo, lambda: (fifo.unlink(), fifo.symlink_to(elsewhere)))
        with pytest.raises(writing.OutputRefused, match="is a symbolic link: refused"):
            writing.check_output_name(fifo)
    finally:
        os.close(reader)
    assert not writing._held_fifos


@pytest.mark.unit
def test_an_output_fifo_swapped_for_another_is_written_and_closed_once(tmp_path: Path, monkeypatch,
                                                                       no_held_fifos) -> None:
    """A FIFO swapped for another (both read) between the look and the open: the one opened was held under the first
    one's inode, the output opened the second a second time, and the held descriptor stayed open, so the reader never
    saw the end of its input. What is held is keyed by the file opened: written once, closed, the reader sees the
    end."""
    fifo, other = tmp_path / "out.json", tmp_path / "other"
    os.mkfifo(fifo)
    os.mkfifo(other)
    first_reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    reader = os.open(other, os.O_RDONLY | os.O_NONBLOCK)
    try:
        _swap_before_open(monkeypatch, fifo, lambda: os.replace(other, fifo))
        writing.check_output_name(fifo)
        monkeypatch.undo()
        with writing.open_output(fifo) as fh:
            fh.write("{}\n")
        assert not writing._held_fifos
        assert os.read(reader, 100) == b"{}\n"
        assert os.read(reader, 100) == b""  # (the end: no writer left open; an open one raises BlockingIOError)
    finally:
        os.close(reader)
        os.close(first_reader)


_PROC_FILE = Path("/proc/self/status")  # (a regular file reporting 0 bytes that holds some)


@pytest.mark.unit
@pytest.mark.skipif(not _PROC_FILE.is_file() or _PROC_FILE.stat().st_size, reason="needs Linux's /proc")
def test_a_file_reporting_0_bytes_that_holds_some_is_said_as_such_not_changed(tmp_path: Path) -> None:
    """A /proc file (or a FUSE file system that gives no sizes) reached through a followed link reports 0 bytes and
    holds some: the scan held 0 bytes for it, read one more and said "changed while read ... read again next time"
    on every run. It is not read (no size to hold memory for or to tell a change by), said as what it is; an empty
    file stays an empty file."""
    from imagetwins import find
    from imagetwins.io import ImageReadError, read_bytes

    for counted in (None, 0):
        with pytest.raises(ImageReadError, match="reports a size of 0 bytes yet holds bytes"):
            read_bytes(_PROC_FILE, counted=counted)
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageReadError, match=r"empty file \(0 bytes\)"):
        read_bytes(tmp_path / "empty.jpg")
    album = tmp_path / "album"
    album.mkdir()
    for n in range(2):
        synthetic_photo(seed=n).save(album / f"{n}.jpg")
    (album / "status.jpg").symlink_to(_PROC_FILE)
    result = find(album, method="phash", follow_symlinks=True, cache=False)
    assert [(os.path.basename(f.path), f.reason) for f in result.failures] == [
        ("status.jpg", "reports a size of 0 bytes yet holds bytes (a /proc or /sys file, or a FUSE file system that "
                       "gives no sizes): not read")]
    assert len(result.files) == 2


@pytest.mark.unit
def test_an_avif_coding_a_frame_within_a_thin_strip_s_padded_area_is_held_to_that_frame(tmp_path: Path) -> None:
    """The padding an encoder adds (64 px a side) was judged by area: an AVIF declaring a 4 x 15,000 strip (68 x
    15,064 padded: 1.02 million pixels) coding a 1,000 x 1,000 frame passed as padding and decoded with the budget
    held for the strip, 16 times less than the frame's cost. Judged side by side, it is held to the frame; an honest
    AVIF, a thin one and a turned one read within their declared cost."""
    from test_hostile_attack import lying_avif

    from imagetwins.heif import coded_size
    from imagetwins.io import ImageReadError, decode_cost, open_image

    strip = tmp_path / "strip.avif"
    strip.write_bytes(lying_avif(4, 15000))
    assert coded_size(strip.read_bytes()) == (1000, 1000)
    declared = decode_cost("RGB", 4, 15000, "AVIF")
    assert declared * 10 < decode_cost("RGB", 1000, 1000, "AVIF")
    with pytest.raises(ImageReadError, match=r"4x15000 RGB and the larger frame it codes"):
        open_image(strip, max_decoded_bytes=2 * declared)
    for size in ((96, 72), (8, 600), (600, 8)):
        honest = tmp_path / "honest.avif"
        synthetic_photo(*size, 2).save(honest, format="AVIF", speed=10)
        assert open_image(honest, max_decoded_bytes=decode_cost("RGB", *size, "AVIF")).size == size


def _exp_golomb(value: int) -> str:
    bits = format(value + 1, "b")
    return "0" * (len(bits) - 1) + bits


def _hevc_sps(width: int, height: int) -> bytes:
    """An HEVC sequence parameter set NAL unit (H.265 7.3.2.2) as far as the frame's size."""
    bits = "0000" "000" "1" + "0" * 96 + _exp_golomb(0) + _exp_golomb(1) + _exp_golomb(width) + _exp_golomb(height)
    bits += "1" + "0" * (-(len(bits) + 1) % 8)
    return bytes([33 << 1, 1]) + int(bits, 2).to_bytes(len(bits) // 8, "big")


@pytest.mark.unit
def test_a_heic_s_exif_item_is_not_read_as_its_picture_s_coded_units() -> None:
    """The frame a HEIC codes was looked for in every item's data, each read as HEVC units: a 64 x 48 HEIC whose
    Exif item reads, as length-prefixed units, as a sequence parameter set of 20,000 x 20,000 was refused ("image
    too large ... a 20000x20000 frame coded"). Only the items ``iinf`` types ``hvc1`` are read as HEVC (``av01`` as
    AV1; an item it does not type as both, as before)."""
    import io as stdio
    import struct

    pillow_heif = pytest.importorskip("pillow_heif")
    from imagetwins.heif import coded_size
    from imagetwins.io import open_image

    pillow_heif.register_heif_opener()  # (to write one; imagetwins registers it to read on the first HEIF file)
    tiff = b"MM\x00*\x00\x00\x00\x08"
    buf = stdio.BytesIO()
    synthetic_photo(64, 48, 1).save(buf, format="HEIF", quality=30, exif=b"Exif\x00\x00" + tiff + bytes(120))
    data = buf.getvalue()
    assert coded_size(data) == (64, 64)
    at = data.index(tiff)  # (the item's data: a 4-byte offset, 6, then "Exif\0\0": a unit of 6 bytes, then this)
    unit = _hevc_sps(20000, 20000)
    crafted = data[:at] + struct.pack(">I", len(unit)) + unit + data[at + 4 + len(unit):]
    assert len(crafted) == len(data)
    assert coded_size(crafted) == (64, 64)
    assert open_image(crafted).size == (64, 48)
    hevc_only = crafted.replace(b"infe", b"xnfe")  # (no item typed: every item read as before, the unit found)
    assert coded_size(hevc_only) == (20000, 20000)


class _ReadSizes:
    """A binary file whose reads are recorded (the most bytes one read returned)."""

    def __init__(self, fh) -> None:
        self.fh, self.most = fh, 0

    def tell(self) -> int:
        return self.fh.tell()

    def seek(self, at: int) -> int:
        return self.fh.seek(at)

    def readline(self, size: int = -1) -> bytes:
        return self._seen(self.fh.readline(size))

    def read(self, size: int = -1) -> bytes:
        return self._seen(self.fh.read(size))

    def _seen(self, data: bytes) -> bytes:
        self.most = max(self.most, len(data))
        return data


@pytest.mark.unit
def test_a_long_junk_journal_line_under_the_bound_is_not_read_whole(tmp_path: Path) -> None:
    """``undo`` measured a line longer than a MiB and read it whole when under 256 MiB: a block of zeros a crash
    left in a journal (here 20 MiB) was held whole, then parsed. A long line is read whole only where it has the shape
    of a line imagetwins writes (``{"`` first, its signature last): junk costs a MiB, read as a malformed line; a long
    signed line (a folder's, listing its files) is still read whole."""
    from imagetwins.quarantine import _journal_lines

    signed = b'{"op": "folder", "files": "' + b"f" * (3 << 20) + b'", "mac": "' + b"0123456789abcdef" * 4 + b'"}\n'
    journal = tmp_path / "manifest.jsonl"
    journal.write_bytes(b'{"op": "move"}\n' + bytes(20 << 20) + b"\n" + signed + b"\x00" * (3 << 20))
    with open(journal, "rb") as raw:
        fh = _ReadSizes(raw)
        lines = list(_journal_lines(fh))
        assert [n for n, _ in lines] == [1, 2, 3, 4]
        assert lines[0][1] == b'{"op": "move"}\n' and lines[2][1] == signed
        for _, junk in (lines[1], lines[3]):  # (the last one, cut short: no newline)
            assert junk is not None and len(junk) < 100 and junk not in (b"", b"\n")
        assert fh.most == len(signed)  # (the signed line read whole, the junk a piece at a time)


def _aged(path: Path, seconds: float = 600) -> None:
    """``path`` last changed ``seconds`` ago (a crash's leftover found by a later run)."""
    import time

    os.utime(path, (time.time() - seconds,) * 2)


@pytest.mark.unit
def test_a_quarantine_key_a_crash_cut_short_is_made_again(tmp_path: Path) -> None:
    """Where the file system holds no hard links (FAT on a USB stick) the key is written in place: a crash between
    its creation and its bytes left an empty ``manifest.key`` (or its size of zeros), and every later run into that
    quarantine stopped at "not the quarantine's key (a key is 32 bytes)". Nothing can have been signed with it
    (such a key is never read), so the next run makes it again and moves; a key being written now (not settled) is
    left alone, as is a whole one."""
    from test_hostile_between import _pair, _plan

    from imagetwins.quarantine import KEY, QuarantineError, apply_plan, undo

    root = tmp_path / "album"
    for n, cut in enumerate((b"", bytes(32), b"\x07" * 5)):
        q = tmp_path / f"q{n}"
        q.mkdir(mode=0o700)
        (q / KEY).write_bytes(cut)
        os.chmod(q / KEY, 0o600)
        with pytest.raises(QuarantineError, match="not the quarantine's key"):  # (being written now: not touched)
            apply_plan(_plan(_pair(root, "a.png", 0)), root, q)
        assert (q / KEY).read_bytes() == cut
        _aged(q / KEY)
        moved = apply_plan(_plan(_pair(root, "a.png", 0)), root, q)
        assert len(moved.done) == 1 and not moved.failed
        key = (q / KEY).read_bytes()
        assert len(key) == 32 and key != bytes(32)
        _aged(q / KEY)
        assert len(apply_plan(_plan(_pair(root, "b.png", 1)), root, q).done) == 1
        assert (q / KEY).read_bytes() == key  # (a whole key, however old, stays)
        back = undo(q)
        assert len(back.done) == 2 and not back.failed
        assert (root / "copy" / "a.png").is_file() and (root / "copy" / "b.png").is_file()


_KILLED_MAKING_KEY = """
import os, signal, sys
from imagetwins import ownfolders
if sys.argv[2] == "named":
    del os.O_TMPFILE
def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
os.link = killed
ownfolders.make_key(sys.argv[1])
"""


@pytest.mark.unit
@pytest.mark.skipif(not hasattr(os, "O_TMPFILE"), reason="Linux's unnamed files")
def test_a_run_killed_making_a_key_leaves_no_file_behind(tmp_path: Path) -> None:
    """A run killed after writing a new key and before linking it into place left ``manifest.key.<pid>.<hex>`` in
    the quarantine (or ``stored-rows.key...`` in the data folder) for good. The key is written in an unnamed file
    now, so nothing is left; where there are no unnamed files, the next run making the key there removes it."""
    import subprocess
    import sys

    from imagetwins.ownfolders import make_key, read_key

    src = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    key = tmp_path / "manifest.key"
    for route in ("unnamed", "named"):
        run = subprocess.run([sys.executable, "-c", _KILLED_MAKING_KEY, str(key), route], env=env)
        assert run.returncode == -9
        left = sorted(p.name for p in tmp_path.iterdir())
        if route == "unnamed":
            assert left == []
    assert len(left) == 1 and left[0].startswith("manifest.key.")
    make_key(key)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.key"] + left  # (not settled: maybe being made)
    os.unlink(key)
    _aged(tmp_path / left[0])
    make_key(key)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.key"]
    assert len(read_key(key, "the key")) == 32


@pytest.mark.cli
def test_a_copy_with_a_hard_link_outside_the_folder_moves_and_says_nothing_is_freed(tmp_path: Path) -> None:
    """A copy in the scanned folder with another name outside it (a hard link): ``remove`` moved it and said nothing,
    though its bytes stay on disk under the other name (no space freed, the photo still there). It still moves (the
    folder loses its duplicate), and the dry run and ``--apply`` each say so in one note naming where to look; a
    file whose names all move (two names in the folder) is not noted; undo puts it back, still linked."""
    from click.testing import CliRunner
    from test_hostile_between import _pair

    from imagetwins.cli import main

    album, elsewhere = tmp_path / "album", tmp_path / "elsewhere"
    elsewhere.mkdir()
    keeper, copy = _pair(album, "b.png", 0)
    os.link(copy, elsewhere / "b.png")
    _, alone = _pair(album, "c.png", 1)
    os.link(alone, album / "copy" / "c2.png")  # (both names in the folder: both move, nothing stays)
    run = ["remove", str(album), "-r", "--no-cache", "-m", "phash"]
    res = CliRunner().invoke(main, run)
    assert res.exit_code == 0, res.output
    notes = [line for line in res.output.splitlines() if "has another name" in line or "have other names" in line]
    assert notes == [f"note: {copy} has another name (a hard link) this run does not move: moving it would free no "
                     f"space, its bytes stay under that name (its names: find / -xdev -samefile {copy})"], \
        res.output
    q = tmp_path / "q"
    res = CliRunner().invoke(main, [*run, "--apply", "--move-to", str(q)])
    assert res.exit_code == 0, res.output
    assert not copy.exists() and not alone.exists() and (elsewhere / "b.png").stat().st_nlink == 2
    notes = [line for line in res.output.splitlines() if "has another name" in line or "have other names" in line]
    assert len(notes) == 1 and notes[0].startswith(f"note: {copy} has another name (a hard link)"), res.output
    assert notes[0].endswith(f"-samefile {q / 'copy' / 'b.png'})") and "moving it freed no space" in notes[0]
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 0 and copy.stat().st_ino == (elsewhere / "b.png").stat().st_ino, res.output
    assert keeper.exists() and alone.exists()


def _box(kind: bytes, payload: bytes, version: int | None = None, flags: int = 0) -> bytes:
    head = b"" if version is None else bytes([version]) + flags.to_bytes(3, "big")
    return struct.pack(">I", 8 + len(head) + len(payload)) + kind + head + payload


def _grid_heic(tile_heic: bytes, tiles: int, canvas: tuple[int, int], declared: tuple[int, int],
               overlay: bool = False) -> bytes:
    """A HEIC whose picture is a ``grid`` item: ``tiles`` x ``tiles`` times the one HEVC item of ``tile_heic`` (as
    pillow-heif writes it) on a ``canvas``, its ``ispe`` declaring ``declared``; with ``overlay``, an ``iovl`` item
    laying that item on the canvas ``tiles`` x ``tiles`` times at its corner."""
    from imagetwins.heif import _boxes, _child, _item_extents

    meta = _child(tile_heic, 0, len(tile_heic), b"meta")
    start, end = meta[0] + 4, meta[1]
    hdlr = _child(tile_heic, start, end, b"hdlr")
    props = [tile_heic[s - 8:e] for _, s, e in _boxes(tile_heic, *_child(tile_heic, *_child(
        tile_heic, start, end, b"iprp"), b"ipco"))]
    ((_, at, length),) = _item_extents(tile_heic, _child(tile_heic, start, end, b"iloc"), None)
    tile = tile_heic[at:at + length]
    grid = bytes([0, 1, tiles - 1, tiles - 1]) + struct.pack(">II", *canvas)  # (flags 1: 32-bit sizes)
    if overlay:  # (version, flags, the canvas's fill colour, its size, each layer's offset)
        grid = bytes([0, 1]) + struct.pack(">4H", 0, 0, 0, 65535) + struct.pack(">II", *canvas) + \
            struct.pack(">ii", 0, 0) * tiles * tiles

    def meta_box(data_at: int) -> bytes:
        iloc = bytes([0x44, 0]) + struct.pack(">HHHHII", 2, 1, 0, 1, data_at, len(tile)) + \
            struct.pack(">HHHII", 2, 0, 1, data_at + len(tile), len(grid))
        iinf = struct.pack(">H", 2) + _box(b"infe", struct.pack(">HH", 1, 0) + b"hvc1\0", 2, 1) + \
            _box(b"infe", struct.pack(">HH", 2, 0) + (b"iovl" if overlay else b"grid") + b"\0", 2)
        dimg = _box(b"dimg", struct.pack(">HH", 2, tiles * tiles) + struct.pack(">H", 1) * tiles * tiles)
        n = len(props)
        ipma = struct.pack(">I", 2) + struct.pack(">HB", 1, n) + bytes([0x81, *range(2, n + 1)]) + \
            struct.pack(">HBB", 2, 1, n + 1)
        iprp = _box(b"iprp", _box(b"ipco", b"".join(props) + _box(b"ispe", struct.pack(">II", *declared), 0))
                    + _box(b"ipma", ipma, 0))
        return _box(b"meta", tile_heic[hdlr[0] - 8:hdlr[1]] + _box(b"pitm", struct.pack(">H", 2), 0)
                    + _box(b"iloc", iloc, 0) + _box(b"iinf", iinf, 0) + _box(b"iref", dimg, 0) + iprp, 0)

    ftyp = tile_heic[:meta[0] - 8]
    head = ftyp + meta_box(0)
    return ftyp + meta_box(len(head) + 8) + _box(b"mdat", tile + grid)


@pytest.mark.unit
def test_a_heic_grid_on_a_larger_canvas_than_it_declares_is_held_to_that_canvas() -> None:
    """libheif paints a grid's tiles on the canvas its data declares before comparing it with the size ``ispe``
    declares: a 1,381-byte HEIC declaring 16 x 16, 20 x 20 tiles of one 512 x 512 frame on a 10,240 x 10,240
    canvas, peaked at 176 MB (ru_maxrss, 21 MB before it) with the budget held for one 512 x 512 frame, then was
    refused. The canvas is a frame it codes now: refused under a 100 MB limit before anything is decoded; an honest
    grid reads within its declared cost. An overlay's canvas (``iovl``) the same."""
    import io as stdio

    pillow_heif = pytest.importorskip("pillow_heif")
    from PIL import Image

    from imagetwins.heif import coded_size
    from imagetwins.io import ImageReadError, decode_cost, open_image

    pillow_heif.register_heif_opener()  # (to write one; imagetwins registers it to read on the first HEIF file)
    buf = stdio.BytesIO()
    Image.new("RGB", (512, 512), (90, 120, 200)).save(buf, format="HEIF", quality=10)
    liar = _grid_heic(buf.getvalue(), 20, (10240, 10240), (16, 16))
    assert len(liar) < 2000 and coded_size(liar) == (10240, 10240)
    with pytest.raises(ImageReadError, match=r"16x16 RGB and the larger frame it codes"):
        open_image(liar, max_decoded_bytes=100_000_000)
    # an overlay's canvas likewise (one 512 x 512 layer on 6,000 x 6,000 declared 1,000 x 1,000: 160 MB, refused)
    layered = _grid_heic(buf.getvalue(), 1, (6000, 6000), (1000, 1000), overlay=True)
    assert coded_size(layered) == (6000, 6000)
    with pytest.raises(ImageReadError, match=r"1000x1000 RGB and the larger frame it codes"):
        open_image(layered, max_decoded_bytes=2 * decode_cost("RGB", 1000, 1000, "HEIF"))
    honest = _grid_heic(buf.getvalue(), 2, (1000, 1000), (1000, 1000))
    assert coded_size(honest) == (1000, 1000)
    image = open_image(honest, max_decoded_bytes=decode_cost("RGB", 1000, 1000, "HEIF"))
    assert image.size == (1000, 1000) and image.getpixel((900, 900)) == image.getpixel((10, 10))


@pytest.mark.unit
def test_a_key_is_made_in_a_folder_that_may_be_written_in_but_not_listed(tmp_path: Path, monkeypatch) -> None:
    """The unnamed file is made through the folder opened for reading; a folder that may be written in but not
    read (mode 0300, a drop box) refuses that open: the key is made under another name and linked, as before (the
    open's PermissionError stopped the run)."""
    from imagetwins.ownfolders import make_key, read_key

    folder = tmp_path / "drop"
    folder.mkdir()
    real_open = os.open

    def no_listing(name, flags, *args, **kwargs):
        if os.fspath(name) == os.fspath(folder) and flags & getattr(os, "O_DIRECTORY", 0):
            raise PermissionError(13, "Permission denied", os.fspath(name))
        return real_open(name, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_listing)
    make_key(folder / "manifest.key")
    monkeypatch.undo()
    assert len(read_key(folder / "manifest.key", "the key")) == 32
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.key"]


@pytest.mark.cli
def test_a_copy_with_a_hard_link_moved_across_devices_is_said_not_to_free_space(tmp_path: Path) -> None:
    """Across devices a move is a copy, then the name removed: the copy in the quarantine has one name, and
    ``--apply`` said nothing of the name left outside the folder (the dry run had said it), though its bytes stay
    there, no space freed. The names are counted before the move."""
    import shutil
    import tempfile

    from click.testing import CliRunner
    from test_hostile_between import _pair

    from imagetwins.cli import main

    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK) and shm.stat().st_dev != tmp_path.stat().st_dev):
        pytest.skip("no other file system to move to")
    album, elsewhere = tmp_path / "album", tmp_path / "elsewhere"
    elsewhere.mkdir()
    keeper, copy = _pair(album, "b.png", 0)
    os.link(copy, elsewhere / "b.png")
    other = Path(tempfile.mkdtemp(dir=shm, prefix="imagetwins-test-"))
    try:
        q = other / "q"
        res = CliRunner().invoke(main, ["remove", str(album), "-r", "--no-cache", "-m", "phash", "--apply",
                                        "--keep-in", str(keeper.parent), "--move-to", str(q)])
        assert res.exit_code == 0 and not copy.exists(), res.output
        assert (elsewhere / "b.png").stat().st_nlink == 1  # (the quarantine holds a copy)
        notes = [line for line in res.output.splitlines() if "has another name" in line]
        assert len(notes) == 1 and notes[0].startswith(f"note: {copy} has another name (a hard link)"), res.output
        assert "moving it freed no space" in notes[0]
    finally:
        shutil.rmtree(other, ignore_errors=True)
