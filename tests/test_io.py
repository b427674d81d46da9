"""Finding files and decoding them: orientation, modes, reduced-scale JPEG decoding, bad input."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagetwins.hashing import hash_image
from imagetwins.io import ImageReadError, find_images, open_image


def _grey(img: Image.Image, size: int = 64) -> np.ndarray:
    return np.asarray(img.convert("L").resize((size, size), Image.Resampling.BILINEAR), dtype=np.float64)


@pytest.mark.integration
def test_find_images_recursive_hidden_and_extensions(tmp_path: Path, photo: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for rel in ["a.jpg", "B.JPEG", "sub/c.png", "sub/deeper/d.webp", ".hidden/e.jpg", ".f.jpg", "notes.txt"]:
        (tmp_path / rel).write_bytes(photo.read_bytes())
    top = [p.name for p in find_images(tmp_path)]
    assert top == ["B.JPEG", "a.jpg"]
    deep = [p.relative_to(tmp_path).as_posix() for p in find_images(tmp_path, recursive=True)]
    assert deep == ["B.JPEG", "a.jpg", "sub/c.png", "sub/deeper/d.webp"]
    everything = [p.name for p in find_images(tmp_path, extensions=None)]
    assert "notes.txt" in everything and ".f.jpg" not in everything


@pytest.mark.integration
def test_find_images_survives_symlink_loop_and_reports_broken_link(tmp_path: Path, photo: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jpg").write_bytes(photo.read_bytes())
    os.symlink(tmp_path, tmp_path / "a" / "loop")
    os.symlink(tmp_path / "missing.jpg", tmp_path / "broken.jpg")
    skipped = []
    found = find_images(tmp_path, recursive=True, skipped=skipped)
    assert sorted(p.name for p in found) == ["x.jpg"]
    assert [(Path(f.path).name, f.reason) for f in skipped] == [("broken.jpg", "broken symbolic link")]
    with pytest.raises(ImageReadError, match="not found"):
        open_image(tmp_path / "broken.jpg")


@pytest.mark.integration
def test_exif_orientation_all_eight_give_the_same_upright_picture(datasets: Path) -> None:
    folder = datasets / "camera-photos" / "orientation-examples" / "recurser"
    upright = open_image(folder / "Landscape_1.jpg")
    assert upright.size == (1800, 1200)
    ref = _grey(upright)
    for k in range(2, 9):
        img = open_image(folder / f"Landscape_{k}.jpg")
        assert img.size == (1800, 1200), k
        assert np.abs(_grey(img) - ref).mean() < 6, f"orientation {k} not undone"
        # and the hash agrees with the upright one
        assert int(np.bitwise_count(hash_image(img) ^ hash_image(upright))) <= 4


@pytest.mark.integration
def test_reduced_scale_jpeg_decode_is_smaller_and_hashes_alike(datasets: Path) -> None:
    big = max((datasets / "camera-photos" / "images").glob("*.jpg"), key=lambda p: p.stat().st_size)
    full = open_image(big)
    small = open_image(big, min_size=32)
    assert small.width * 8 <= full.width + 8 and min(small.size) >= 32
    for method in ("phash", "ahash", "dhash"):
        assert int(np.bitwise_count(hash_image(small, method) ^ hash_image(full, method))) <= 2


@pytest.mark.integration
def test_transparency_is_composited_on_white(photo: Path) -> None:
    rgba = Image.open(photo).convert("RGBA")
    arr = np.asarray(rgba).copy()
    arr[:, : arr.shape[1] // 2, 3] = 0  # left half fully transparent
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    out = np.asarray(open_image(buf.getvalue()))
    assert out[:, : arr.shape[1] // 2].min() == 255
    assert np.array_equal(out[:, -10:], np.asarray(Image.open(photo).convert("RGB"))[:, -10:])


@pytest.mark.integration
def test_palette_and_la_with_transparency(photo: Path) -> None:
    pal = Image.open(photo).convert("P")
    pal.info["transparency"] = 0
    buf = io.BytesIO()
    pal.save(buf, format="PNG", transparency=0)
    assert open_image(buf.getvalue()).mode == "RGB"
    la = Image.open(photo).convert("LA")
    buf = io.BytesIO()
    la.save(buf, format="PNG")
    assert open_image(buf.getvalue()).mode == "RGB"


@pytest.mark.integration
def test_sixteen_bit_grey_is_scaled_not_clipped(photo: Path) -> None:
    grey8 = np.asarray(Image.open(photo).convert("L"), dtype=np.uint16)
    img16 = Image.fromarray(grey8 * 257)  # full 16-bit range
    assert img16.mode.startswith("I;16")
    buf = io.BytesIO()
    img16.save(buf, format="PNG")
    out = np.asarray(open_image(buf.getvalue()).convert("L"), dtype=np.int64)
    assert np.abs(out - grey8).max() <= 1


@pytest.mark.integration
def test_cmyk_jpeg_decodes_close_to_rgb(photo: Path) -> None:
    rgb = Image.open(photo).convert("RGB")
    buf = io.BytesIO()
    rgb.convert("CMYK").save(buf, format="JPEG", quality=95)
    out = open_image(buf.getvalue())
    assert out.mode == "RGB"
    assert np.abs(_grey(out) - _grey(rgb)).mean() < 8


@pytest.mark.integration
def test_animated_gif_uses_first_frame(photo: Path) -> None:
    base = Image.open(photo).convert("RGB")
    frames = [base, Image.new("RGB", base.size, (0, 0, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    out = open_image(buf.getvalue())
    assert _grey(out).mean() > 30  # not the black second frame
    assert np.abs(_grey(out) - _grey(base)).mean() < 12


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.mark.integration
@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: b"", "empty file"),
        (lambda p: p.read_bytes()[: len(p.read_bytes()) // 2], "truncated"),
        (lambda p: b"hello, I am a text file\n" * 20, "not an image"),
        (lambda p: b"<html><body>not a photo</body></html>", "not an image"),
        (lambda p: os.urandom(5000), "not an image"),
        (lambda p: _png_header_only(50_000, 50_000), "too large"),
    ],
    ids=["zero-byte", "truncated-jpeg", "text", "html", "random-bytes", "decompression-bomb"],
)
def test_bad_input_raises_a_clear_reason(tmp_path: Path, photo: Path, make, reason: str) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(make(photo))
    with pytest.raises(ImageReadError, match=reason) as info:
        open_image(bad)
    assert str(bad) in str(info.value)


def _tiff_header_bomb(width: int, height: int, compression: int) -> bytes:
    """A one-strip grey TIFF that declares ``width`` x ``height`` and holds 300 compressed bytes (8: deflate, 5: LZW
    of nothing sensible): Pillow hands it to libtiff, which says what is wrong on stderr by itself."""
    payload = zlib.compress(bytes(300)) if compression == 8 else b"\x80\x00\x20\x40\x7f" * 8
    tags = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, compression), (262, 3, 1), (273, 4, 0),
            (277, 3, 1), (278, 4, height), (279, 4, len(payload))]
    data_at = 8 + 2 + 12 * len(tags) + 4
    ifd = b"".join(struct.pack("<HHIHH", tag, kind, 1, value, 0) if kind == 3 else
                   struct.pack("<HHII", tag, kind, 1, data_at if tag == 273 else value) for tag, kind, value in tags)
    return b"II*\x00" + struct.pack("<IH", 8, len(tags)) + ifd + struct.pack("<I", 0) + payload


@pytest.mark.unit
def test_huge_declared_sizes_are_one_line_and_no_library_prints_its_own(tmp_path: Path, capfd) -> None:
    """A file declaring 100-144 million pixels (above Pillow's warning limit, below ours) had Pillow print its
    DecompressionBombWarning beside our reason, and a TIFF's damaged data had libtiff print its own line on stderr
    ("ZIPDecode: Not enough data at scanline 0 ..."): the reason is ours alone, in one line, libtiff's words in it;
    a program's own Pillow decode still hears libtiff (its handlers are only ours while we decode)."""
    import warnings

    cases = {"bomb.png": (_png_header_only(12_000, 12_000), "corrupt image data|truncated"),
             "zip.tif": (_tiff_header_bomb(10_000, 10_000, 8), r"corrupt image data \(libtiff: ZIPDecode: Not enough "
                                                                  r"data at scanline 0 \(short 99999700 bytes\)\)"),
             "lzw.tif": (_tiff_header_bomb(4_000, 4_000, 5), r"corrupt image data \(libtiff: .*code"),
             "huge.tif": (_tiff_header_bomb(100_000, 100_000, 8),
                          r"image too large \(10,000,000,000 pixels > limit 178,956,970: Pillow's")}
    capfd.readouterr()
    for name, (data, reason) in cases.items():
        (tmp_path / name).write_bytes(data)
        with warnings.catch_warnings(record=True) as shown:
            warnings.simplefilter("always")
            for source in (tmp_path / name, data):
                with pytest.raises(ImageReadError, match=reason) as info:
                    open_image(source, path_for_messages=None if isinstance(source, Path) else tmp_path / name)
                assert str(info.value).count("\n") == 0 and str(info.value).startswith(str(tmp_path / name))
        assert [str(w.message) for w in shown] == [], name
    assert capfd.readouterr() == ("", ""), "a library printed beside our reason"
    from imagetwins import decoder_messages

    if decoder_messages._tiff_state.get("installed"):  # (a program's own decode, outside ours: as before)
        with pytest.raises(OSError), warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            Image.open(io.BytesIO(cases["zip.tif"][0])).load()
        assert "ZIPDecode: Not enough data" in capfd.readouterr().err


@pytest.mark.unit
def test_quiet_decoder_warnings_overlapping_in_any_order_put_the_filters_back() -> None:
    """Each decode now keeps Pillow's warnings quiet itself (open_image from a program's threads, not only the
    encoding loop): ``warnings.catch_warnings`` left in another order than entered (thread A in, B in, A out, B
    out) kept B's copy of the filters for good. Overlapping quiet spells end with the filters as they were."""
    import warnings

    from imagetwins.io import quiet_decoder_warnings

    before = list(warnings.filters)
    first, second = quiet_decoder_warnings(), quiet_decoder_warnings()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    with warnings.catch_warnings(record=True) as shown:  # (still quiet: the second spell goes on)
        warnings.warn_explicit("bomb", Image.DecompressionBombWarning, "Image.py", 1, module="PIL.Image")
    second.__exit__(None, None, None)
    assert shown == [] and warnings.filters == before


@pytest.mark.unit
def test_directory_named_like_an_image(tmp_path: Path) -> None:
    (tmp_path / "x.jpg").mkdir()
    with pytest.raises(ImageReadError, match="folder"):
        open_image(tmp_path / "x.jpg")
    assert find_images(tmp_path) == []


@pytest.mark.integration
def test_heic_when_extra_installed(tmp_path: Path, photo: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    small = Image.open(photo).convert("RGB").resize((120, 80))
    small.save(tmp_path / "x.heic")
    out = open_image(tmp_path / "x.heic")
    assert out.size == (120, 80)


@pytest.mark.unit
def test_find_images_says_a_missing_folder_does_not_exist(tmp_path: Path) -> None:
    # the API said "NotADirectoryError: not a folder: photos" for a mistyped path
    with pytest.raises(FileNotFoundError, match="no such folder"):
        find_images(tmp_path / "photos")
    (tmp_path / "file.jpg").write_bytes(b"x")
    with pytest.raises(NotADirectoryError, match="not a folder"):
        find_images(tmp_path / "file.jpg")


@pytest.mark.unit
@pytest.mark.parametrize("size, min_size, long_side", [((1024, 768), 1, 640), ((400, 400), 192, 320)])
def test_a_jpeg2000_reduced_decode_keeps_the_long_side_asked(tmp_path: Path, size, min_size, long_side) -> None:
    # the files' look (verify.look_at_files, keep's framed-enlarged check) and the best-shot score ask min_size=1 with a
    # long side: a JPEG 2000 was decoded at 1/32 (1024 x 768 -> 32 x 24) and the look failed as "changed since"; the
    # copies encoder's 192 / FEATURE_SIDE got a square 400 px JPEG 2000 at 200 px. A JPEG keeps the long side asked
    pixels = (np.random.default_rng(0).random((size[1], size[0], 3)) * 255).astype(np.uint8)
    for name in ("a.jp2", "a.jpg"):
        Image.fromarray(pixels).save(tmp_path / name)
        img = open_image(tmp_path / name, min_size=min_size, min_long_side=long_side)
        assert max(img.size) >= long_side and min(img.size) >= min_size, (name, img.size)
