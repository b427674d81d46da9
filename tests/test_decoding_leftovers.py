"""Decoding leftovers, each a crafted file: a HEIC whose boxes declare a smaller picture than the frame it codes, a
file swapped or growing between its size check and its read, a PNG of a million image-data chunks, junk bytes
named as an image."""

from __future__ import annotations

import io as stdio
import os
import struct
from pathlib import Path

import pytest
from conftest import synthetic_photo


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _cropped_heic(data: bytes, side: int) -> bytes:
    """A one-item HEIC as pillow-heif writes it, with a ``clap`` property cropping its picture to ``side`` x ``side``
    (the coded frame, ``ispe`` and ``hvcC`` unchanged): libheif decodes the whole frame and crops it."""
    ipco, ipma = data.index(b"ipco") - 4, data.index(b"ipma") - 4
    ipco_size, ipma_size = (int.from_bytes(data[k:k + 4], "big") for k in (ipco, ipma))
    ipma_box = data[ipma:ipma + ipma_size]
    assert ipma_box[12:18] == b"\x00\x00\x00\x01\x00\x01"  # (one entry: item 1)
    n = ipma_box[18]
    clap = _box(b"clap", struct.pack(">8I", side, 1, side, 1, 0, 1, 0, 1))
    ipma_box = _box(b"ipma", ipma_box[8:18] + bytes([n + 1]) + ipma_box[19:] + bytes([0x80 | (n + 1)]))
    grown = len(clap) + 1
    out = bytearray(data[:ipco + ipco_size] + clap + ipma_box + data[ipma + ipma_size:])
    out[ipco:ipco + 4] = struct.pack(">I", ipco_size + len(clap))
    for kind in (b"iprp", b"meta"):
        at = out.index(kind) - 4
        out[at:at + 4] = struct.pack(">I", int.from_bytes(out[at:at + 4], "big") + grown)
    iloc = out.index(b"iloc") - 4
    assert out[iloc + 8:iloc + 16] == bytes.fromhex("0000000044400001")  # (version 0, 4-byte offsets, one item)
    base = iloc + 8 + 4 + 2 + 2 + 2 + 2  # (its base offset: the item's data moved by what was added before it)
    out[base:base + 4] = struct.pack(">I", int.from_bytes(out[base:base + 4], "big") + grown)
    return bytes(out)


def _heic(img) -> bytes:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()  # (to write one; imagetwins registers it to read on the first HEIF file)
    buf = stdio.BytesIO()
    img.save(buf, format="HEIF", quality=20)
    return buf.getvalue()


@pytest.mark.unit
def test_a_heic_cropping_a_larger_frame_than_it_declares_is_held_to_the_limits_for_that_frame(tmp_path: Path) -> None:
    """Pillow reports a HEIC's size after its ``clap`` crop; libheif decodes the whole coded frame first (libheif 1.23
    refuses a lying ``ispe`` itself, not a crop): a 29 KB HEIC cropping 11,000 x 11,000 to 16 x 16 decoded at 456 MB
    with the budget held for 16 x 16. The frame is read from its HEVC sequence parameter set now
    (imagetwins.heif.coded_size): a 1,000 x 1,000 frame cropped to 16 x 16 is refused under a 1 MB limit (it decoded
    before); an honest HEIC, and one libheif padded (97 x 33 is coded 98 x 64), read within their declared cost."""
    from PIL import Image

    from imagetwins.heif import coded_size
    from imagetwins.io import ImageReadError, decode_cost, open_image

    data = _heic(Image.new("RGB", (1000, 1000), (90, 120, 200)))
    liar = tmp_path / "liar.heic"
    liar.write_bytes(_cropped_heic(data, 16))
    assert coded_size(liar.read_bytes()) == (1000, 1000)
    with Image.open(liar) as im:
        assert im.size == (16, 16)
    with pytest.raises(ImageReadError, match=r"16x16 RGB and the larger frame it codes"):
        open_image(liar, max_decoded_bytes=1_000_000)
    with pytest.raises(ImageReadError, match=r"16x16 declared, a 1000x1000 frame coded > limit 500,000 pixels"):
        open_image(liar, max_pixels=500_000)
    assert open_image(liar).size == (16, 16)  # (within the limits: read, its frame's cost held)
    for size in ((1000, 1000), (97, 33), (17, 3)):
        honest = tmp_path / "honest.heic"
        honest.write_bytes(_heic(synthetic_photo(*size, 2)))
        assert coded_size(honest.read_bytes())[0] >= size[0]
        assert open_image(honest, max_decoded_bytes=decode_cost("RGB", *size, "HEIF")).size == size


def _bytes_read_through(monkeypatch) -> list[int]:
    """The sizes every read of a file opened by io.open_regular_file returned, from now on."""
    from imagetwins import io as tio

    taken: list[int] = []
    real_open = tio.open_regular_file

    class Counted:
        def __init__(self, fh) -> None:
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self.fh.close()

        def fileno(self) -> int:
            return self.fh.fileno()

        def read(self, size: int = -1) -> bytes:
            data = self.fh.read(size)
            taken.append(len(data))
            return data

    monkeypatch.setattr(tio, "open_regular_file", lambda *a, **k: Counted(real_open(*a, **k)))
    return taken


@pytest.mark.unit
def test_a_file_swapped_for_a_larger_one_after_its_size_was_counted_is_not_read_past_it(tmp_path: Path,
                                                                                          monkeypatch) -> None:
    """A scan holds each file's bytes in READ_BUDGET at the size a stat gave, then reads it: a file swapped for a
    larger one between the two was read whole (up to 512 MB a thread) with the budget held for the small one, and
    decoded. Now the read stops a byte past the size counted and the file is one transient line (read next time);
    the run goes on with the other files."""
    from imagetwins import encoding
    from imagetwins.encoders import get_encoder

    small, other = tmp_path / "a.png", tmp_path / "b.png"
    synthetic_photo(32, 24, 1).save(small)
    synthetic_photo(64, 48, 2).save(other)
    big = tmp_path / "big.bin"
    synthetic_photo(1200, 900, 3).save(big, format="BMP")
    counted = small.stat().st_size
    real_size = encoding._size_on_disk

    def size_then_swap(path: str) -> int:
        size = real_size(path)
        if path == str(small):
            os.replace(big, small)  # (swapped after its size was looked at)
        return size

    monkeypatch.setattr(encoding, "_size_on_disk", size_then_swap)
    taken = _bytes_read_through(monkeypatch)
    enc = encoding.encode_files([str(small), str(other)], [get_encoder("phash")], workers=1, warn=False)
    assert [f.path for f in enc.failures] == [str(small)], enc.failures
    (failure,) = enc.failures
    assert failure.transient and f"changed while read (more than the {counted:,} bytes" in failure.reason
    assert enc.paths == [str(other)]
    assert max(taken) <= other.stat().st_size + 1 and sum(taken) < 2 * counted + other.stat().st_size + 2, taken


@pytest.mark.unit
def test_a_file_growing_while_it_is_read_is_read_no_further_than_the_limit(tmp_path: Path, monkeypatch) -> None:
    """A file that grows between the look at its size (fstat) and its read: read_bytes reads on to its limit and no
    further (max_bytes + 1, then refused); given the size a caller counted, it stops a byte past that (transient)."""
    from imagetwins import io as tio

    path = tmp_path / "growing.jpg"
    path.write_bytes(b"\xff\xd8" + b"x" * 998)
    real_fstat, calls = os.fstat, []

    def fstat_then_grow(fd: int):
        st = real_fstat(fd)
        calls.append(fd)
        if len(calls) % 2 == 0:  # (read_bytes' look at the size, after open_regular_file's at the kind of file)
            with open(path, "ab") as fh:
                fh.write(b"y" * 10_000)
        return st

    monkeypatch.setattr(tio.os, "fstat", fstat_then_grow)
    taken = _bytes_read_through(monkeypatch)
    with pytest.raises(tio.ImageReadError, match=r"file too large \(> limit 5,000 bytes\)"):
        tio.read_bytes(path, max_bytes=5_000)
    assert sum(taken) == 5_001, taken
    taken.clear()
    with pytest.raises(tio.ImageReadError, match=r"changed while read \(more than the 15,000 bytes") as err:
        tio.read_bytes(path, counted=15_000)
    assert err.value.transient and sum(taken) == 15_001, taken
    monkeypatch.setattr(tio.os, "fstat", real_fstat)
    assert len(tio.read_bytes(path, counted=path.stat().st_size)) == path.stat().st_size


def _png_of_chunks(data_chunks: int) -> bytes:
    """A 64 x 64 PNG whose image data is followed by ``data_chunks`` empty IDAT chunks."""
    import zlib

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    raw = b"".join(b"\x00" + bytes((x * 7 + y) & 255 for x in range(64 * 3)) for y in range(64))
    return b"".join([b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)),
                     chunk(b"IDAT", zlib.compress(raw)), chunk(b"IDAT", b"") * data_chunks, chunk(b"IEND", b"")])


@pytest.mark.unit
def test_a_png_of_a_million_image_data_chunks_is_refused_before_pillow_walks_them() -> None:
    """Pillow decodes a PNG's image data chunk by chunk in Python and walks every chunk after it, and header_exif
    walks them again: 1,000,000 empty IDAT chunks (11 MB) took 2.2 CPU s to decode a 64 x 64 picture, and the
    file-size limit allows 44 million (~100 s). More than 131,072 chunks are refused after walking that many
    (0.05 CPU s); a PNG of 100,000 decodes as before, and an animation's later frames are not counted."""
    from PIL import Image

    from imagetwins import io as tio

    assert tio.open_image(_png_of_chunks(100_000)).size == (64, 64)
    bomb = _png_of_chunks(1_000_000)
    with pytest.raises(tio.ImageReadError, match=r"a PNG of more than 131,072 chunks"):
        tio.open_image(bomb)
    with pytest.raises(tio.ImageReadError, match=r"a PNG of more than 131,072 chunks"), tio.open_header(bomb):
        pass
    frames = [synthetic_photo(48, 32, k) for k in range(3)]
    buf = stdio.BytesIO()
    frames[0].save(buf, format="PNG", save_all=True, append_images=frames[1:])
    assert tio._png_chunks(lambda at, size: buf.getvalue()[at:at + size], 100) < 6  # (up to the second frame)
    assert tio.open_image(buf.getvalue()).size == (48, 32)
    with Image.open(buf) as im:
        assert im.n_frames == 3


def _small_jpeg() -> bytes:
    buf = stdio.BytesIO()
    synthetic_photo(64, 48, 4).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.mark.unit
@pytest.mark.parametrize("junk", [b"\xff\x00", b"\x00", b"\xff"])
def test_megabytes_of_junk_between_jpeg_segments_are_refused_before_pillow_steps_over_them(junk: bytes) -> None:
    """Pillow steps over bytes between a JPEG's segments that begin no marker one at a time in Python: 8 MB of 0xFF
    0x00 pairs behind the first segment took 0.95 CPU s to open a 64 x 48 picture (a minute at the 512 MB file-size
    limit), 8 MB of zeros 0.35 s. More than 1 MiB is refused before Pillow opens it (searched for the next marker a
    block at a time); a little junk, as damaged files hold, decodes as before."""
    from imagetwins import io as tio

    data = _small_jpeg()
    first = 4 + int.from_bytes(data[4:6], "big")  # (past the first segment)

    def padded(size: int) -> bytes:
        return data[:first] + junk * (size // len(junk)) + data[first:]

    assert tio.open_image(padded(1000)).size == (64, 48)
    with tio.open_header(padded(1000)) as im:
        assert im.size == (64, 48)
    bomb = padded(8 << 20)
    with pytest.raises(tio.ImageReadError, match=r"a JPEG with more than 1,048,576 bytes that begin no marker"):
        tio.open_image(bomb)
    with pytest.raises(tio.ImageReadError, match=r"begin no marker"), tio.open_header(bomb):
        pass


@pytest.mark.unit
def test_a_restart_marker_after_fill_bytes_hides_no_scans_from_the_count() -> None:
    """_jpeg_scans and the header walk step past a marker by one rule now (io._past_marker): a restart marker stands
    alone. _jpeg_scans took one met after fill bytes (0xFF 0xFF 0xD0) for a segment and jumped the 'length' after it,
    up to 64 KB: the scans behind it went uncounted (here all 200; a progressive JPEG of more than 100 is refused)."""
    from imagetwins import io as tio

    scans = (b"\xff\xda\x00\x02" + b"x" * 10) * 200
    assert tio._jpeg_scans(b"\xff\xd8" + scans + b"\xff\xd9", 100) == 101
    assert tio._jpeg_scans(b"\xff\xd8\xff\xff\xd0\xff\xff" + scans + b"\xff\xd9", 100) == 101
    real = _small_jpeg()
    assert tio._jpeg_scans(real, 100) == 1 and tio._header_pieces(lambda at, n: real[at:at + n])[::2] == ("segments", 0)


@pytest.mark.unit
def test_junk_in_a_header_pillow_parses_is_one_line_saying_the_file_is_damaged() -> None:
    """A fuzz of ~10,000 mutated dataset headers (9 formats, the decode and the keep/metadata/facts header readers)
    found none slow and nothing past the one line, but the line for a header Pillow's plug-in could not parse was
    its exception's: 'cannot decode (ValueError: invalid literal for int() with base 10: ...)' for a PPM whose size
    is junk, 'cannot decode (SyntaxError: broken PNG file ...)' for junk between PNG chunks, 'cannot decode
    (ValueError: not enough image data)' for a PPM whose header says 16 bits. They say the file is damaged (or cut)
    now, the decoder's words kept short."""
    import zlib

    from imagetwins import io as tio

    with pytest.raises(tio.ImageReadError, match=r"^x\.jpg: damaged header \(invalid literal for int\(\)"):
        tio.open_image(b"P6\n1024 \x83\x85 768\n255\n" + b"\x00" * 100, path_for_messages="x.jpg")
    with pytest.raises(tio.ImageReadError, match=r"^x\.jpg: damaged header \(b?'?Token too long in file header"):
        tio.open_image(b"P5\n51\xdfA\x07e\x008\xc7\x07\x11" + b"\x07" * 300, path_for_messages="x.jpg")
    png = _png_of_chunks(0)
    at = png.index(b"IDAT") - 4
    end = at + 12 + int.from_bytes(png[at:at + 4], "big")
    body = png[at + 8:end - 4]
    half = len(body) // 2

    def chunk(payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + b"IDAT" + payload + struct.pack(">I", zlib.crc32(b"IDAT" + payload))

    broken = png[:at] + chunk(body[:half]) + b"\x00" * 12 + chunk(body[half:]) + png[end:]
    with pytest.raises(tio.ImageReadError, match=r"^x\.png: corrupt image data \(broken PNG file"):
        tio.open_image(broken, path_for_messages="x.png")
    # a 16-bit PPM header before 8-bit pixels: Pillow's "not enough image data" (ValueError) is a cut file
    with pytest.raises(tio.ImageReadError, match=r"^x\.ppm: truncated or incomplete image data$"):
        tio.open_image(b"P6\n64 64\n65535\n" + bytes(64 * 64 * 3), path_for_messages="x.ppm")
