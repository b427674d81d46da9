"""Finding image files and decoding them into RGB images ready for encoding.

Everything that touches the file system or Pillow's decoders lives here, so that the encoders only
ever see clean ``RGB`` images: EXIF orientation applied, transparency composited on white, 16-bit and
CMYK data converted, the first frame of animations, and JPEGs decoded at reduced scale when only a
small image is needed.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_EXTENSIONS = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".dib", ".gif", ".tif", ".tiff", ".webp",
        ".ppm", ".pgm", ".pbm", ".pnm", ".mpo", ".heic", ".heif", ".avif", ".jp2", ".ico", ".tga",
    }
)

#: Images with more pixels than this are refused (decompression-bomb guard). Pillow itself refuses
#: twice its ``MAX_IMAGE_PIXELS`` (about 179 MP), so that is the ceiling.
DEFAULT_MAX_PIXELS = 2 * (Image.MAX_IMAGE_PIXELS or 89_478_485)
#: Files larger than this are refused before reading: nobody's photo is 1 GB.
DEFAULT_MAX_BYTES = 1 << 30

_EXIF_ORIENTATION = 0x0112
_TRANSPOSE_FOR_ORIENTATION = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


class ImageReadError(Exception):
    """A file could not be read or decoded as an image; ``reason`` says why in a few words."""

    def __init__(self, path: str | os.PathLike | None, reason: str) -> None:
        self.path = None if path is None else str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path else reason)


@dataclass(frozen=True)
class ReadFailure:
    """One file that was skipped, and why."""

    path: str
    reason: str


def _register_optional_openers() -> None:
    try:  # HEIC/HEIF (and AVIF on older Pillow) when the [heif] extra is installed
        from pillow_heif import register_heif_opener
    except ImportError:
        return
    register_heif_opener()


_register_optional_openers()


def find_images(
    root: str | os.PathLike,
    recursive: bool = False,
    extensions: Iterable[str] | None = IMAGE_EXTENSIONS,
    follow_symlinks: bool = True,
) -> list[Path]:
    """List the image files in a folder, sorted by path.

    Parameters
    ----------
    root : path
        Folder to scan.
    recursive : bool
        Descend into sub-folders.
    extensions : set of str or None
        Lower-case suffixes (with the dot) that count as images; ``None`` takes every regular file.
    follow_symlinks : bool
        Follow symbolic links to files and folders. Each real folder is visited once, so link loops
        end.

    Returns
    -------
    list of pathlib.Path
        Files whose names do not start with a dot (hidden files and folders are skipped).
    """
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")
    exts = None if extensions is None else {e.lower() for e in extensions}
    seen_dirs: set[tuple[int, int]] = set()
    found: list[Path] = []

    def visit(folder: Path) -> None:
        try:
            st = folder.stat()
        except OSError:
            return
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:  # a symlink loop or a second link to the same folder
            return
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            warnings.warn(f"{folder}: cannot list folder ({exc.strerror or exc})", stacklevel=3)
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=follow_symlinks)
                is_file = entry.is_file(follow_symlinks=follow_symlinks)
            except OSError:
                continue
            if is_dir:
                if recursive:
                    visit(Path(entry.path))
            elif is_file or (entry.is_symlink() and follow_symlinks):
                # A broken link is still listed, so the decoder reports it instead of it vanishing.
                if exts is None or os.path.splitext(entry.name)[1].lower() in exts:
                    found.append(Path(entry.path))

    visit(root)
    return found


@contextmanager
def quiet_decoder_warnings() -> Iterator[None]:
    """Silence Pillow's own warnings (corrupt EXIF, palette transparency, bomb size) while decoding.

    Every file we cannot use is reported once, with its reason, by us; Pillow's extra warnings would
    only repeat or muddle that. Enter this in the thread that starts the decoding workers: warning
    filters are process-wide, and changing them from worker threads is not safe.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"PIL\.")
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        yield


def read_bytes(path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read a whole file, turning every OS error into an :class:`ImageReadError`."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > max_bytes:
                raise ImageReadError(path, f"file too large ({size:,} bytes > limit {max_bytes:,})")
            data = fh.read()
    except ImageReadError:
        raise
    except FileNotFoundError as exc:
        raise ImageReadError(path, "file not found (deleted, or a broken link)") from exc
    except PermissionError as exc:
        raise ImageReadError(path, "permission denied") from exc
    except IsADirectoryError as exc:
        raise ImageReadError(path, "is a folder, not a file") from exc
    except OSError as exc:
        raise ImageReadError(path, f"cannot read file ({exc.strerror or exc})") from exc
    if not data:
        raise ImageReadError(path, "empty file (0 bytes)")
    return data


def content_digest(data: bytes) -> str:
    """SHA-256 of a file's bytes, as hex: equal digests mean byte-identical files."""
    return hashlib.sha256(data).hexdigest()


def _apply_exif_orientation(img: Image.Image) -> Image.Image:
    try:
        orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # corrupt EXIF must not cost the image: keep it as stored
        return img
    for method in _TRANSPOSE_FOR_ORIENTATION.get(orientation, ()):
        img = img.transpose(method)
    return img


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB; transparent areas become white."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit data spans 0..65535; Pillow's own conversion clips at 255 and turns photos white.
        arr = np.asarray(img, dtype=np.float64)
        scale = 257.0 if arr.max(initial=0) > 255 else 1.0
        return Image.fromarray(np.clip(arr / scale + 0.5, 0, 255).astype(np.uint8)).convert("RGB")
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        if arr.size and np.nanmax(arr) <= 1.0:
            arr = arr * 255.0
        return Image.fromarray(np.clip(np.nan_to_num(arr) + 0.5, 0, 255).astype(np.uint8)).convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB") and "transparency" in img.info
    )
    if has_alpha:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def open_image(
    source: str | os.PathLike | bytes,
    min_size: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    path_for_messages: str | os.PathLike | None = None,
) -> Image.Image:
    """Decode an image file (or its bytes) into an upright 8-bit RGB :class:`PIL.Image.Image`.

    Parameters
    ----------
    source : path or bytes
        The file, or its content already read.
    min_size : int, optional
        The caller needs no more than ``min_size`` pixels along each side. JPEGs are then decoded at
        the smallest DCT scale (1/2, 1/4, 1/8) that still gives at least that, which is several times
        faster for photos. ``None`` decodes at full size.
    max_pixels : int
        Refuse images with more pixels than this (decompression bombs).
    path_for_messages : path, optional
        Name to use in error messages when ``source`` is bytes.

    Raises
    ------
    ImageReadError
        With a one-line reason, for anything that is not a decodable image.
    """
    name = path_for_messages if path_for_messages is not None else (
        None if isinstance(source, bytes) else source
    )
    data = source if isinstance(source, bytes) else read_bytes(source)
    if not data:
        raise ImageReadError(name, "empty file (0 bytes)")
    try:
        img = Image.open(io.BytesIO(data))
        width, height = img.size
        if width * height > max_pixels:
            raise ImageReadError(name, f"image too large ({width}x{height} pixels > limit {max_pixels:,})")
        if width < 1 or height < 1:
            raise ImageReadError(name, f"image has no pixels ({width}x{height})")
        if min_size and img.format in ("JPEG", "MPO"):
            img.draft("RGB", (min_size, min_size))
        img.load()
        img = _apply_exif_orientation(img)
        return _to_rgb(img)
    except ImageReadError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageReadError(name, "not an image, or a format Pillow cannot read") from exc
    except Image.DecompressionBombError as exc:
        raise ImageReadError(name, f"image too large (decompression-bomb guard: {exc})") from exc
    except OSError as exc:
        msg = str(exc)
        if "truncated" in msg.lower():
            raise ImageReadError(name, "truncated or incomplete image data") from exc
        raise ImageReadError(name, f"corrupt image data ({msg})") from exc
    except MemoryError as exc:
        raise ImageReadError(name, "not enough memory to decode") from exc
    except Exception as exc:  # a decoder bug on hostile input must not end the run
        raise ImageReadError(name, f"cannot decode ({type(exc).__name__}: {exc})") from exc
