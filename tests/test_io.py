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
