"""A generated corpus of bad and unusual inputs, each with the outcome we promise.

``build(folder, photo)`` writes the files (made here, from one real photo; nothing downloaded) and
returns ``{relative path: expected}``, where expected is ``"ok"`` (decoded and hashed) or a phrase the
skip reason must contain. ``NOT_LISTED`` entries are things that must not be offered as images at all.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

from PIL import Image

NOT_LISTED = "not listed"
SKIPPED = ""  # skipped for whatever reason the decoder gives (every reason contains "")


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IEND", b""))


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _exif_orientation(img: Image.Image, orientation: int) -> bytes:
    """The photo stored so that applying ``orientation`` shows it upright, tagged accordingly."""
    inverse = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
               4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
               7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}[orientation]
    stored = img if inverse is None else img.transpose(inverse)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _encode(stored, "JPEG", quality=92, exif=exif.tobytes())


def build(folder: Path, photo: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = __import__("numpy").random.default_rng(8)
    base = Image.open(photo).convert("RGB")
    jpeg = photo.read_bytes()
    png = _encode(base, "PNG")
    files: dict[str, bytes] = {
        "zero.jpg": b"",
        "trunc_10.jpg": jpeg[: len(jpeg) // 10],
        "trunc_50.jpg": jpeg[: len(jpeg) // 2],
        "trunc_95.jpg": jpeg[: len(jpeg) * 95 // 100],
        "trunc_30.png": png[: len(png) * 3 // 10],
        "trunc_80.png": png[: len(png) * 8 // 10],
        "random.jpg": rng.bytes(4096),
        "random.png": rng.bytes(777),
        "text.png": b"just some words, no pixels\n" * 30,
        "page.jpg": b"<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>",
        "bomb.png": _png_header_only(50_000, 50_000),
        "one_by_one.png": _encode(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG"),
        "one_by_many.png": _encode(base.resize((1, 500)), "PNG"),
        "grey16.png": _encode(Image.fromarray(__import__("numpy").asarray(base.convert("L"), dtype="uint16")
                                                * 257), "PNG"),
        "cmyk.jpg": _encode(base.convert("CMYK"), "JPEG", quality=90),
        "palette_transparent.png": _encode(base.convert("P"), "PNG", transparency=0),
        "la.png": _encode(base.convert("LA"), "PNG"),
        "animated.gif": _encode(base, "GIF", save_all=True, append_images=[Image.new("RGB", base.size)]),
        "animated.webp": _encode(base, "WEBP", save_all=True, append_images=[Image.new("RGB", base.size)]),
        "multipage.tiff": _encode(base, "TIFF", save_all=True, append_images=[Image.new("RGB", base.size)]),
        "corrupt_exif.jpg": jpeg[:2] + b"\xff\xe1\x00\x10Exif\x00\x00MM\x00*\xff\xff\xff\xff" + jpeg[2:],
        "trailing_garbage.jpg": jpeg + rng.bytes(2000),
        "bmp_bad_header.bmp": b"BM" + rng.bytes(60),
        "emoji_📷_名前.jpg": jpeg,
        "new\nline.jpg": jpeg,
        "<img src=x onerror=alert(1)>.jpg": jpeg,
    }
    for k in range(1, 9):
        files[f"exif_orientation_{k}.jpg"] = _exif_orientation(base, k)
    expected = {
        "zero.jpg": "empty file", "trunc_10.jpg": "truncated", "trunc_50.jpg": "truncated",
        "trunc_95.jpg": "truncated", "trunc_30.png": "truncated", "trunc_80.png": "truncated",
        "random.jpg": "not an image", "random.png": "not an image", "text.png": "not an image",
        "page.jpg": "not an image", "bomb.png": "too large", "bmp_bad_header.bmp": SKIPPED,
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
        expected.setdefault(name, "ok")
    # file-system cases
    long_dir = folder / ("d" * 200) / ("e" * 200) / ("f" * 200)
    long_dir.mkdir(parents=True)
    (long_dir / ("g" * 200 + ".jpg")).write_bytes(jpeg)
    expected[str((long_dir / ("g" * 200 + ".jpg")).relative_to(folder))] = "ok"
    os.symlink(folder / "no_such_target.jpg", folder / "broken_link.jpg")
    expected["broken_link.jpg"] = "broken symbolic link"
    (folder / "loop").mkdir()
    os.symlink(folder, folder / "loop" / "back_to_top")
    (folder / "folder.jpg").mkdir()
    expected["folder.jpg"] = NOT_LISTED
    locked = folder / "no_permission.jpg"
    locked.write_bytes(jpeg)
    locked.chmod(0)
    # root reads anything; everyone else is refused
    expected["no_permission.jpg"] = "ok" if os.geteuid() == 0 else "permission denied"
    try:
        import pillow_heif  # noqa: F401
        from pillow_heif import register_heif_opener

        register_heif_opener()
        base.resize((160, 107)).save(folder / "phone.heic")
        expected["phone.heic"] = "ok"
    except ImportError:
        pass
    return expected
