"""Finding image files and decoding them into RGB images ready for encoding.

Everything that touches the file system or Pillow's decoders lives here, so that the encoders only
ever see clean ``RGB`` images: EXIF orientation applied, transparency composited on white, 16-bit and
CMYK data converted, the first frame of animations, and JPEGs decoded at reduced scale when only a
small image is needed.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import stat
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from imagetwins.decoder_messages import libtiff_messages, one_line, quiet_decoder_warnings
from imagetwins.raw import (
    RAW_EXTENSIONS,
    RAW_EXTRA_MISSING,
    RawDecodeError,
    RawUnavailable,
    decode_raw,
    is_raw_name,
    rawpy_available,
)

#: The one list of image file names, for the command line and the library alike (:func:`find_images`): a file
#: named otherwise is still an image when its first bytes say so (:func:`looks_like_image`: a JPEG saved as .svg,
#: a photo without an extension), unless its name is one of :data:`NOT_IMAGE_EXTENSIONS`.
IMAGE_EXTENSIONS = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".dib", ".gif", ".tif", ".tiff", ".webp",
        ".ppm", ".pgm", ".pbm", ".pnm", ".mpo", ".heic", ".heif", ".avif", ".jp2", ".ico", ".tga",
    }
) | RAW_EXTENSIONS  # camera RAW: decoded by imagetwins.raw (imagetwins[raw]); named unreadable without it
#: names never opened to look for a picture: what lies beside photos (sidecars, videos, documents, our own files)
NOT_IMAGE_EXTENSIONS = frozenset({
    ".xmp", ".aae", ".thm", ".json", ".jsonl", ".txt", ".csv", ".md", ".html", ".htm", ".xml", ".log", ".ini",
    ".db", ".sqlite", ".key", ".pdf", ".zip", ".mov", ".mp4", ".m4v", ".avi", ".mkv", ".mts", ".3gp", ".wmv",
    ".mp3", ".wav", ".m4a", ".pp3", ".dop", ".lrcat", ".partial",
})
#: the first bytes of the raster formats imagetwins decodes (``RIFF....WEBP`` and ``....ftyp`` are checked apart)
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*",
               b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xffO\xffQ")
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis")


def path_text(path: str | bytes | os.PathLike) -> str:
    """A path given as ``str``, ``bytes`` or ``os.PathLike`` (of either), as the ``str`` every imagetwins function works
    with: bytes that are not UTF-8 are kept through surrogate escapes (``os.fsdecode``), so a name with any bytes
    reaches the very file. Anything else is a ``TypeError`` saying what was given."""
    try:
        return os.fsdecode(os.fspath(path))
    except TypeError:
        raise TypeError(f"a path is a str, bytes or os.PathLike, not {type(path).__name__}") from None


def recursive_hint(folder: str | os.PathLike, recursive: bool) -> str:
    """The hint a scan that found no image in ``folder`` gives: " (try --recursive)" where it was not recursive and
    ``folder`` has a sub-folder left unread, else "" (an empty folder, or one of other files: -r would find nothing
    more, and the hint sent people to try it)."""
    if recursive:
        return ""
    try:
        with os.scandir(folder) as entries:
            if any(entry.is_dir(follow_symlinks=False) for entry in entries):
                return " (try --recursive)"
    except OSError:  # (not a folder, or not readable: nothing to say about its sub-folders)
        pass
    return ""


def no_folder_reason(folder: Path) -> str:
    """Why nothing can be made in ``folder``, which is not a folder: it is not there, or the nearest thing on its way
    that is there is a file (``--db notes.txt/x.db``), not a folder."""
    for there in (folder, *folder.parents):
        if there.is_symlink() or there.exists():
            if there.is_dir():
                break
            return f"{there} is a file, not a folder" if there.is_file() else f"{there} is not a folder"
    return f"the folder {folder} does not exist"


def given_paths(paths: str | bytes | os.PathLike | Iterable[str | bytes | os.PathLike]) -> str | list[str]:
    """What a caller gave as "a folder, one file, or files" in the ``str`` terms of :func:`path_text`: one path
    (``str``, ``bytes``, ``os.PathLike``) as a ``str``, several as a list of them. The one check of the paths the
    library's verbs take (``imagetwins.find``, ``find_against``, ``check``, ``encode``, ``open_session``):
    ``b"photos"`` was taken for a list of numbers."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        return path_text(paths)
    if not isinstance(paths, Iterable):
        raise TypeError(f"paths are a folder or file (str, bytes, os.PathLike) or a list of them, not "
                        f"{type(paths).__name__}")
    return [path_text(p) for p in paths]


def named_as_image(path: str | os.PathLike) -> bool:
    """Whether a file's name is an image's (:data:`IMAGE_EXTENSIONS`): not a file :func:`find_images` took by its
    first bytes alone (``IMG.jpg.bak``, a photo without an extension), which the keep rules never keep in place of
    one that is."""
    return os.path.splitext(os.fspath(path))[1].lower() in IMAGE_EXTENSIONS


def looks_like_image(path: str | os.PathLike) -> bool:
    """Whether a file's first bytes are those of a raster image (JPEG, PNG, GIF, TIFF and the RAW files built on
    it, WebP, BMP, PNM, HEIF/AVIF, JPEG 2000), whatever its name says; never blocks (a FIFO is not read). A file that
    cannot be read is not one (:func:`find_images` names it, with the reason)."""
    try:
        return _head_is_image(_read_head(path))
    except OSError:
        return False


def _read_head(path: str | os.PathLike) -> bytes:
    """The first 32 bytes of a regular file (``b""`` for anything else), not following a link, never blocking;
    ``OSError`` when it cannot be opened or read."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        return os.read(fd, 32) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
    finally:
        os.close(fd)


def _head_is_image(head: bytes) -> bool:
    if head.startswith(_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return True
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return True
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in (12, 40, 52, 56, 64, 108,
                                                                                           124):
        return True
    # PNM: P1-P6, white space, then the width or a comment (a note that begins "P1 tasks" is no picture)
    return re.match(rb"P[1-6](#|[ \t\r\n]+[0-9#])", head) is not None

#: Images with more pixels than this are refused (decompression-bomb guard). Pillow itself refuses
#: twice its ``MAX_IMAGE_PIXELS`` (about 179 MP), so that is the ceiling.
DEFAULT_MAX_PIXELS = 2 * (Image.MAX_IMAGE_PIXELS or 89_478_485)
#: Files larger than this are refused before reading (the whole file is read into memory).
DEFAULT_MAX_BYTES = 512 << 20
#: Images whose decode would take more memory than this are refused before decoding: pixels (after
#: any reduced-scale decode) x the bytes a pixel really costs at the peak of decoding and conversion to RGB
#: (:func:`decode_cost`, measured: 4 for RGB, 9 for RGBA, 12 more for a WebP's decoder buffers). A 352 KB
#: 16-bit PNG can claim 13000 x 13000 pixels, a 4.7 KB WebP 11000 x 11000 RGBA.
DEFAULT_MAX_DECODED_BYTES = 1 << 30
#: What every decode in this process may hold at once (:data:`DECODE_BUDGET`): threads wait for each other's
#: large images instead of adding them up (four 11000 x 11000 WebPs on two threads took 6.5 GB).
DEFAULT_DECODE_BUDGET = 1 << 30

#: The only formats Pillow may pick for a file (by its content, whatever its name). Raster codecs run
#: in-process; EPS/PS/PDF (Ghostscript), and every other plugin, never get a file from us.
RASTER_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "DIB", "PPM", "ICO", "TGA", "JPEG2000",
                  "HEIF", "AVIF")

#: Names of folders ``imagetwins remove`` quarantines into; never scanned as photos.
QUARANTINE_SUFFIX = ".imagetwins-quarantine"
#: A folder holding both of these is a quarantine (``--move-to`` anywhere); never scanned as photos.
QUARANTINE_MARKERS = ("manifest.jsonl", "manifest.key")
#: A folder holding this file was written by imagetwins itself (the review page's ``<page>_files/`` thumbnails): the
#: files it records (:func:`imagetwins.outputmark.recorded_outputs`) are never scanned as photos: ``report DIR -r -o
#: DIR/review.html`` must not feed its thumbnails to the next ``find``. Anything else there is (a mark planted in a
#: folder of photos hid them all, and ``check`` passed with their leaks unseen).
OUTPUT_MARKER = ".imagetwins-output"  # (the name writing.OUTPUT_FOLDER_MARK writes)

# bytes Pillow keeps per pixel in memory, by mode (multi-band modes are stored 4 bytes a pixel)
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
# bytes a pixel costs beyond the decoded image, by what the decoder holds meanwhile: Pillow's WebP decoder
# returns the frame as bytes (RGBA) that are then copied in (measured 16 B/px for RGB, 28 for RGBA, 4000^2)
_DECODER_BYTES = {"WEBP": 12}
#: openjpeg holds each band of a JPEG 2000 at 32 bits a pixel and more while it decodes (measured at 4000 x 4000:
#: L 6.4, RGB 19.7, RGBA 24.8 bytes a pixel at the peak; the image it fills 1 or 4 of them)
_JPEG2000_BAND_BYTES = 5
#: and structures for each tile of it, before decoding any: a 110-byte codestream declaring 62,500 tiles took 626
#: MB (1 band: 7.5 KB a tile, 3: 9.6 KB, 4: 10.6 KB; 65,280 tiles of 3 bands with their data, 11.6 KB)
_JPEG2000_TILE_BYTES, _JPEG2000_TILE_BAND_BYTES = 8 << 10, 2 << 10


class DecodeBudget:
    """Bytes of decoding memory shared by every thread of the process (a semaphore counted in bytes).

    A decode holds its estimated peak (:func:`decode_cost`) while it decodes and converts; one that would take
    the total past ``total`` waits for the others to finish. A single image over ``total`` (allowed by a caller's
    larger ``max_decoded_bytes``) runs alone. Inside :meth:`keeping` a thread's holds last to the end of that block:
    the decoded image is held while the caller still uses it.
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self.peak = 0
        self._cond = threading.Condition()
        self._local = threading.local()  # .kept: what this thread's holds inside keeping() still hold (else None)

    @contextmanager
    def hold(self, nbytes: int) -> Iterator[None]:
        nbytes = max(0, min(int(nbytes), self.total))
        kept = getattr(self._local, "kept", None)
        with self._cond:
            # (a thread keeping an image already never waits: the others may be keeping one and waiting too)
            while not kept and self.used and self.used + nbytes > self.total:
                self._cond.wait()
            self.used += nbytes
            self.peak = max(self.peak, self.used)
        try:
            yield
        finally:
            if kept is not None:
                kept.append(nbytes)  # (released where keeping() ends)
            else:
                self._release(nbytes)

    def _release(self, nbytes: int) -> None:
        with self._cond:
            self.used -= nbytes
            self._cond.notify_all()

    @contextmanager
    def keeping(self) -> Iterator[None]:
        """What this thread holds inside the block is released at its end, not where each hold ends: a decoded
        image stays counted while it is prepared (a scan's threads each held a decoded image outside the budget
        while thumbnailing it: eight 178 MP PNGs on eight threads peaked at 4.3 GB under a budget of 1 GiB)."""
        outer = getattr(self._local, "kept", None)
        self._local.kept = [] if outer is None else outer
        try:
            yield
        finally:
            if outer is None:
                kept, self._local.kept = self._local.kept, None
                self._release(sum(kept))


#: the budget every :func:`open_image` in this process shares
DECODE_BUDGET = DecodeBudget(DEFAULT_DECODE_BUDGET)
#: Pillow keeps a large image in blocks of at most this many bytes (its own default: 16 MiB). A block larger than
#: glibc's largest mmap threshold (32 MiB) goes back to the system when the image is freed; blocks of 16 MiB stayed in
#: the malloc arena of the thread that decoded them, one arena a decoding thread: eight 178 MP PNGs on eight threads
#: left 5.4 GB resident under a decode budget of 1 GiB (1.1 GB with blocks of 64 MiB). Images under 16 MiB, a
#: scan's usual reduced-scale decodes, are one block either way.
PILLOW_BLOCK_BYTES = 64 << 20


def _large_pillow_blocks() -> None:
    """Pillow's block size raised to :data:`PILLOW_BLOCK_BYTES`, unless the user set ``PILLOW_BLOCK_SIZE``."""
    core = Image.core
    if os.environ.get("PILLOW_BLOCK_SIZE") or not hasattr(core, "set_block_size"):
        return
    if core.get_block_size() < PILLOW_BLOCK_BYTES:
        core.set_block_size(PILLOW_BLOCK_BYTES)


_large_pillow_blocks()
#: What the files a scan's threads read at once may hold (:data:`READ_BUDGET`): a file is read whole (up to
#: :data:`DEFAULT_MAX_BYTES`) and kept until decoded, so every thread reading a 500 MB scan (or a sparse file named
#: .jpg) held 500 MB each: 16 threads, 8 GB
DEFAULT_READ_BUDGET = 1 << 30
#: the budget the files read for a scan hold while each is read and decoded (:mod:`imagetwins.encoding`)
READ_BUDGET = DecodeBudget(DEFAULT_READ_BUDGET)


def decode_cost(mode: str, width: int, height: int, fmt: str | None = None, turned: bool = False,
                transparency: bool = False) -> int:
    """Bytes at the peak of decoding a ``width`` x ``height`` image of ``mode`` and making it upright 8-bit RGB
    (measured with ``ru_maxrss`` on 4000 x 4000 images of each mode and format; see docs/reliability.md)."""
    stored = _MODE_BYTES.get(mode, 4)
    per_pixel = stored + _DECODER_BYTES.get(fmt or "", 0)
    if fmt == "JPEG2000":  # openjpeg's own 32-bit plane of each band, and more, beside the image it fills
        return width * height * max(decode_cost(mode, 1, 1, None, turned, transparency),
                                    stored + _JPEG2000_BAND_BYTES * Image.getmodebands(mode))
    if turned:
        per_pixel += stored  # the turned copy, while the decoded image is still held
    if mode in _ALPHA_MODES or transparency:
        per_pixel += (0 if mode == "RGBA" else 4) + 4 + 1  # RGBA copy, white RGB result, alpha band
    elif mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        per_pixel += 8  # integer arrays scaled to 8 bits, then RGB
    elif mode != "RGB":
        per_pixel += 4  # the RGB result
    return width * height * per_pixel

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
    """A file could not be read or decoded as an image; ``reason`` says why in a few words. ``transient``: the
    reason may not hold next time (a decoder that crashed or ran past its time limit, or the extra that reads the
    format not installed yet), so no cache remembers it."""

    def __init__(self, path: str | os.PathLike | None, reason: str, transient: bool = False) -> None:
        self.path = None if path is None else str(path)
        self.reason = reason = one_line(reason)  # (a decoder's words may end in a newline or hold several lines)
        self.transient = transient
        super().__init__(f"{self.path}: {reason}" if self.path else reason)


@dataclass(frozen=True)
class ReadFailure:
    """One file that was skipped, and why; ``transient`` when the reason says nothing about the file
    itself (it took too long this time), so a cache must not remember it as unreadable."""

    path: str
    reason: str
    transient: bool = False


class SkippedFileWarning(UserWarning):
    """A file the run left out (unreadable, a link left alone, too slow to decode), with the reason.

    Shown as one line, ``<imagetwins>:0: SkippedFileWarning: skipped PATH: REASON``, never with a source line of
    imagetwins; filter it like any warning (``warnings.simplefilter("ignore", SkippedFileWarning)``); the result's
    ``failures`` list the same files. The command line shows it as ``warning: skipped PATH: REASON``."""


class CostNotice(UserWarning):
    """A warning that changes no answer, only what a run costs or keeps for the next one: a cache or index that
    cannot be opened or written (every image decoded, scores not kept), a damaged one made again, work done in this
    process when its helpers failed. The command line shows it as a ``warning:`` line, and none with ``-q``."""


class LeftOutNotice(UserWarning):
    """A folder a scan leaves out on purpose (a quarantine of ``imagetwins remove``), once per folder and process.

    Not a file that could not be read (nothing is counted unreadable); the command line shows it as a ``note:``
    line, and none with ``-q``."""


def warn_skipped(path: str | os.PathLike, reason: str) -> None:
    """Say that ``path`` was left out, and why: one :class:`SkippedFileWarning` line (:func:`warn_line`)."""
    warn_line(f"skipped {os.fspath(path)}: {reason}", SkippedFileWarning, once=False)


#: the warnings :func:`warn_line` gave once (Python's registry of a warning's location: the same text is shown once,
#: as ``warnings.warn`` shows it once per line of code, unless the filters say otherwise)
_SHOWN: dict = {}


def warn_line(message: str, category: type[Warning] = UserWarning, once: bool = True) -> None:
    """One warning of the library (a damaged cache, a folder that cannot be listed, ...) as one line that leaves a
    running tqdm progress bar whole (the bar is cleared, the line written, the bar drawn again):
    ``<imagetwins>:0: UserWarning: MESSAGE``, the message's control characters (a newline in a file name) shown as
    escapes.

    It is given as coming from ``<imagetwins>``, not from the library line that noticed it: Python prints the
    source line of a warning's location, which was an internal line (``files = (find_images(Path(paths), ...``,
    ``return Session(open_folder_cache(...``) that says nothing to the caller. Filter them by module
    ``imagetwins`` or by category. (The command line prints warnings as ``warning: ...`` lines itself.) ``once``: the
    same text is shown once (Python's default for a warning), else every time (a skipped file of each run)."""
    from imagetwins.text import printable

    message = printable(str(message))
    try:
        from tqdm import tqdm
    except ImportError:  # (a dependency; only the bar's redraw needs it)
        tqdm = None
    if tqdm is None:
        warnings.warn_explicit(message, category, "<imagetwins>", 0, module="imagetwins",
                               registry=_SHOWN if once else None)
        return
    import sys

    with tqdm.external_write_mode(file=sys.stderr):
        warnings.warn_explicit(message, category, "<imagetwins>", 0, module="imagetwins",
                               registry=_SHOWN if once else None)


def progress_shown(asked: bool = True) -> bool:
    """Whether progress bars asked for are drawn: only where a person watches them, on a terminal (stderr) or in a
    notebook (tqdm draws a widget there; :func:`imagetwins.progress.watched`). In a log (a pipe, a file, a CI job) a
    bar is hundreds of carriage-return redraws, so none is drawn: the imagededup-style classes' ``verbose``
    (imagededup draws its bars anywhere). (The command line asks for progress anywhere but with -q: in a log its
    stages write a plain line now and then, :class:`imagetwins.progress.LogProgress`.)"""
    from imagetwins.progress import watched

    return asked and watched()


def skipped_link(failure: ReadFailure) -> bool:
    """Whether ``failure`` is a symbolic link the scan left alone (see :func:`find_images`), or a folder it never
    walks (:func:`never_walked`), not a file that could not be read."""
    return (failure.reason == "broken symbolic link" or failure.reason.startswith("symbolic link to a ")
            or never_walked(failure))


#: how the reason of a folder a scan never walks ends, even with ``--follow-symlinks``: a pseudo file system's
#: (``/proc``), or one a link leads to that holds the scanned folder (``slash -> /``)
NEVER_WALKED = ": never walked"


def never_walked(failure: ReadFailure) -> bool:
    """Whether ``failure`` is a folder a scan never walks, each said in a line of its own (:data:`NEVER_WALKED`)."""
    return failure.reason.endswith(NEVER_WALKED)


#: the reason of a file no decoder here identifies (damaged, or a format none reads)
UNIDENTIFIED = "not an image, or a format Pillow cannot read"
#: the reason of a HEIC/HEIF photo where the [heif] extra is not installed (transient: no cache keeps it)
HEIF_EXTRA_MISSING = 'a HEIC/HEIF photo: pip install "imagetwins[heif]" to read it'


def waits_for_extra(path: str, reason: str) -> bool:
    """Whether a failure a cache recorded for ``path`` came from an optional dependency missing then and installed
    now, so that the file is to be read again (the index does, as it does a crash's): a RAW file's without [raw], a
    HEIC photo's without [heif]. Caches made before those reasons were transient kept them; a HEIC photo's was said
    as :data:`UNIDENTIFIED` then, which a HEIF file's own bytes tell apart (its first 16 read: a HEIF file read
    with the extra is never said so now, so a damaged one is read again once)."""
    if reason == RAW_EXTRA_MISSING:
        return rawpy_available()
    if reason not in (HEIF_EXTRA_MISSING, UNIDENTIFIED) or "HEIF" not in Image.OPEN:
        return False
    if reason == HEIF_EXTRA_MISSING:
        return True
    if os.path.splitext(path)[1].lower() not in (".heic", ".heics", ".heif", ".heifs", ".hif"):
        return False  # (a HEIC photo with another name stays as it was said: nothing is read for every such file)
    try:
        with open_regular_file(path) as fh:
            return _is_heif(fh.read(16))
    except OSError:
        return False


#: the ``ftyp`` brands of the files pillow-heif opens (its own ``_is_supported_heif``)
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1")


def _is_heif(prefix: bytes) -> bool:
    return prefix[4:8] == b"ftyp" and prefix[8:12] in _HEIF_BRANDS


def _open_heif(fp, filename=None):
    """pillow-heif's opener, imported on the first HEIF file opened (it then takes this one's place): a run that
    decodes no HEIC (a warm re-run) does not import it (~30 ms, 10 MB, ~3 % of a warm run's imports)."""
    from pillow_heif import register_heif_opener
    from pillow_heif.as_plugin import HeifImageFile

    register_heif_opener()
    return HeifImageFile(fp, filename)


def _register_optional_openers() -> None:
    """HEIC/HEIF when the [heif] extra (pillow-heif) is installed, registered without importing it (see _open_heif)."""
    import importlib.util

    if "pillow_heif" in sys.modules:  # imported already (by the program): registered as it is
        sys.modules["pillow_heif"].register_heif_opener()
        return
    try:
        if importlib.util.find_spec("pillow_heif") is None:
            return
    except (ImportError, ValueError):
        return
    Image.register_open("HEIF", _open_heif, _is_heif)
    Image.register_mime("HEIF", "image/heif")
    Image.register_extensions("HEIF", [".heic", ".heics", ".heif", ".heifs", ".hif"])


_register_optional_openers()


def find_images(
    root: str | os.PathLike,
    recursive: bool = False,
    extensions: Iterable[str] | None = IMAGE_EXTENSIONS,
    follow_symlinks: bool = False,
    skipped: list[ReadFailure] | None = None,
) -> list[Path]:
    """List the image files in a folder, sorted by path, never leaving it unless told to.
    :func:`find_image_paths` as ``pathlib.Path`` objects (see there)."""
    return [Path(p) for p in find_image_paths(root, recursive, extensions, follow_symlinks, skipped)]


def _path_order(path: str) -> list[str]:
    """The sort key of a listed path: its parts, as ``pathlib.Path`` orders paths (``a/b`` before ``a-b``)."""
    return path.split(os.sep)


def find_image_paths(
    root: str | os.PathLike,
    recursive: bool = False,
    extensions: Iterable[str] | None = IMAGE_EXTENSIONS,
    follow_symlinks: bool = False,
    skipped: list[ReadFailure] | None = None,
) -> list[str]:
    """List the image files in a folder, sorted by path (as ``pathlib.Path`` sorts them), never leaving it unless
    told to: the paths as ``str`` (the folder's own path joined with the names; at 100,000 files a ``Path`` each, and
    sorting them, was ~1 CPU s of the 1.4 a listing took).

    A symbolic link is never a copy of its target. Links are not listed by default (each one is
    reported in ``skipped``); links pointing into the scanned folder are never listed, since what they
    point to is scanned itself; with ``follow_symlinks`` links pointing outside are followed.

    Parameters
    ----------
    root : path
        Folder to scan.
    recursive : bool
        Descend into sub-folders (folder trees of any depth; each real folder is visited once).
    extensions : set of str or None
        Lower-case suffixes (with the dot) that count as images. The default, :data:`IMAGE_EXTENSIONS`, is the
        list the command line and the library's every entry point (``imagetwins.find``, the imagededup-style
        classes) use; with it, a regular file named otherwise counts too when its first bytes are an image's
        (:func:`looks_like_image`; not a name of :data:`NOT_IMAGE_EXTENSIONS`). ``None`` takes every regular
        file.
    follow_symlinks : bool
        Follow symbolic links to files and folders outside ``root``. Links inside ``root`` are skipped.
    skipped : list, optional
        Receives a :class:`ReadFailure` for each link, FIFO, device or socket not listed.

    Returns
    -------
    list of str
        Files whose names do not start with a dot (hidden files and folders are skipped), and no
        quarantine folder of ``imagetwins remove`` nor file imagetwins wrote (the review page's thumbnails, which
        the :data:`OUTPUT_MARKER` of their folder records).
    """
    root = Path(root)
    if not root.is_dir():
        if not os.path.lexists(root):  # a mistyped path says so, not "not a folder"
            raise FileNotFoundError(errno.ENOENT, "no such folder", str(root))
        raise NotADirectoryError(f"not a folder: {root}")
    real_root = root.resolve()
    exts = None if extensions is None else {e.lower() for e in extensions}
    by_content = exts == IMAGE_EXTENSIONS  # (a list of one's own is taken as it is)
    seen_dirs: set[tuple[int, int]] = set()
    found: list[str] = []

    def skip(path: str, reason: str) -> None:
        if skipped is not None:
            skipped.append(ReadFailure(path, reason))

    def wanted(name: str) -> bool:
        # (os.path.splitext's suffix, without its call: a name's leading dots start no suffix)
        if exts is None:
            return True
        dot = name.rfind(".")
        suffix = name[dot:] if dot > 0 and (name[0] != "." or name[:dot].lstrip(".")) else ""
        return suffix.lower() in exts

    mounts = _Mounts()
    # explicit stack: a 1,000-level tree must not hit Python's recursion limit; (folder, its parent's device)
    stack: list[tuple[Path, int | None]] = [(root, None)]
    while stack:
        folder, parent_dev = stack.pop()
        try:
            st = folder.stat()
        except OSError as exc:  # (one deeper than a path can name: said, as a folder that cannot be listed; it
            if exc.errno != errno.ENOENT:  # was skipped without a word, with every photo under it)
                warn_line(f"{folder}: cannot list folder ({exc.strerror or exc})")
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:  # a second link to the same folder
            continue
        seen_dirs.add(key)
        if st.st_dev != parent_dev and (kind := mounts.pseudo(folder)) is not None:  # (a mount crossed: /proc?)
            skip(str(folder), f"a folder of the system's {kind} pseudo file system (the running system's own files, "
                              f"with links to every folder of the machine){NEVER_WALKED}")
            continue
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            warn_line(f"{folder}: cannot list folder ({exc.strerror or exc})")
            continue
        names = {e.name for e in entries}
        if folder != root and all(m in names for m in QUARANTINE_MARKERS) and _mine(folder) \
                and _mine(folder / QUARANTINE_MARKERS[1]):
            _say_quarantine_left_out(folder)
            continue  # a quarantine made by --move-to: not photos to deduplicate again
        ours = set()
        if folder != root and OUTPUT_MARKER in names and _mine(folder / OUTPUT_MARKER):
            from imagetwins.outputmark import recorded_outputs

            ours = recorded_outputs(folder)  # thumbnails we wrote: these files alone are left out
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if ours and (entry.name, *_identity(entry)) in ours:
                    continue
                if entry.is_symlink():
                    _link_entry(entry, real_root, follow_symlinks, wanted, found, subfolders, skip, recursive,
                                by_content)
                elif entry.is_dir(follow_symlinks=False):
                    if recursive and entry.name.endswith(QUARANTINE_SUFFIX) and _mine(entry.path):
                        _say_quarantine_left_out(entry.path)
                    elif recursive:
                        subfolders.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    if wanted(entry.name) or (by_content and _named_otherwise_but_an_image(entry.name, entry.path,
                                                                                             skip)):
                        found.append(entry.path)
                elif wanted(entry.name):
                    skip(entry.path, _not_regular(entry.stat(follow_symlinks=False).st_mode))
            except OSError:
                continue
        stack.extend((sub, st.st_dev) for sub in reversed(subfolders))
    found.sort(key=_path_order)
    return found


#: the kinds of file system that hold no one's files but the running system's (``/proc``, ``/sys``, ``/dev``, ...):
#: a scan never walks one. ``/proc/self/root`` is ``/``: a link to ``/proc/self`` followed by ``--follow-symlinks``
#: read the whole machine (still walking after 120 s), and a file there may block when read (``/proc/kmsg``)
PSEUDO_FILE_SYSTEMS = frozenset({
    "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs", "securityfs", "pstore", "bpf",
    "configfs", "fusectl", "mqueue", "binfmt_misc", "autofs", "efivarfs", "selinuxfs", "rpc_pipefs", "nsfs",
    "hugetlbfs"})
#: of those, the ones whose every mount below is the system's too (``/sys/fs/cgroup`` is a tmpfs); not ``/dev``'s,
#: whose ``/dev/shm`` is a place a person may keep files
_PSEUDO_BELOW = frozenset({"proc", "sysfs"})


class _Mounts:
    """The system's mounts (``/proc/self/mountinfo``, Linux; read on the first question), to tell a folder on a
    pseudo file system (:data:`PSEUDO_FILE_SYSTEMS`) from a person's: asked only where a walk crosses into another
    device, so a scan of one disk never reads them."""

    def __init__(self) -> None:
        self._mounts: list[tuple[str, str]] | None = None

    def pseudo(self, folder: Path) -> str | None:
        """The kind of pseudo file system ``folder`` (resolved) lies on, or None (a person's disk, or no way to
        tell)."""
        if self._mounts is None:
            self._mounts = _read_mounts()
        if not self._mounts:
            return None
        try:
            where = os.path.realpath(folder)
        except (OSError, ValueError):
            return None
        under = [(point, kind) for point, kind in self._mounts
                 if where == point or where.startswith(point.rstrip("/") + "/")]
        if not under:
            return None
        below = next((kind for _, kind in under if kind in _PSEUDO_BELOW), None)
        innermost = max(reversed(under), key=lambda mount: len(mount[0]))[1]  # (the last mounted there shows)
        return below or (innermost if innermost in PSEUDO_FILE_SYSTEMS else None)


def _read_mounts() -> list[tuple[str, str]]:
    """(mount point, file system type) of each mount in ``/proc/self/mountinfo``; none where it cannot be read."""
    try:
        with open("/proc/self/mountinfo", "rb") as fh:
            lines = fh.read(1 << 22).splitlines()
    except OSError:
        return []
    mounts = []
    for line in lines:
        fields = line.split(b" ")
        try:
            kind = fields[fields.index(b"-", 6) + 1]
        except (ValueError, IndexError):
            continue
        point = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), fields[4])
        mounts.append((os.fsdecode(point), os.fsdecode(kind)))
    return mounts


def _say_quarantine_left_out(folder: str | os.PathLike) -> None:
    """One line for a quarantine a scan leaves out: its files were counted nowhere (``120 images read`` of a tree
    holding 135), and a folder so named in an extracted dataset hid its images from ``check`` without a word. None
    for a quarantine holding only its runs' journals (every run undone): nothing is left out there."""
    if _holds_moved_files(folder):
        warn_line(f"left out {os.fspath(folder)}: a quarantine of 'imagetwins remove' (the duplicates it moved), "
                  "not scanned", LeftOutNotice)


def _holds_moved_files(folder: str | os.PathLike) -> bool:
    """Whether a quarantine holds a file other than its runs' own (``manifest.*``: journal, key, summary), looked
    for until the first one (a run's files lie below its journal: the walk stops at once)."""
    for _, _, names in os.walk(folder):
        if any(not name.startswith("manifest.") for name in names):
            return True
    return False


def _mine(path: str | os.PathLike) -> bool:
    """Whether ``path`` itself (no link followed) is this user's, as the quarantines and output marks imagetwins makes
    are (root's runs take any user's for theirs): a folder a scan leaves out as a quarantine, or whose files it
    leaves out as thumbnails, must be; one another user planted in a folder they share (a test set's class folder)
    hid its images from ``check``."""
    if not hasattr(os, "geteuid") or os.geteuid() == 0:
        return True
    try:
        return os.lstat(path).st_uid == os.geteuid()
    except OSError:
        return False


def _identity(entry: os.DirEntry) -> tuple[int, int]:
    """The inode and size of a folder entry itself (a link's own), as an output folder's mark records them."""
    st = entry.stat(follow_symlinks=False)
    return st.st_ino, st.st_size


def _named_otherwise_but_an_image(name: str, path: str | os.PathLike, skip) -> bool:
    """A regular file whose name is no image's, nor of a kind never looked into, whose bytes begin as an image's. One
    that cannot be read (no read permission: a chmod 000 photo without an extension) is named with the reason
    (``skip``), as an unreadable file named as an image is: it was left out without a word."""
    if os.path.splitext(name)[1].lower() in NOT_IMAGE_EXTENSIONS:
        return False
    try:
        return _head_is_image(_read_head(path))
    except FileNotFoundError:  # (gone since it was listed)
        return False
    except OSError as exc:
        skip(os.fspath(path), f"cannot read its first bytes to tell whether it is an image "
                              f"({exc.strerror or exc}): not read")
        return False


def _link_entry(entry: os.DirEntry, real_root: Path, follow: bool, wanted, found: list, subfolders: list, skip,
                recursive: bool, by_content: bool = False) -> None:
    """Decide what a symbolic link found while listing stands for (see :func:`find_images`); ``by_content``: a link
    followed out of the folder to a file named otherwise is taken when its first bytes are an image's, as a file
    (the target is opened only when the link is to be followed)."""
    try:
        target = Path(entry.path).resolve(strict=True)
        is_dir = target.is_dir()
    except (OSError, RuntimeError):
        if wanted(entry.name):
            skip(entry.path, "broken symbolic link")
        return
    if is_dir and not recursive:
        return
    outside = not (target == real_root or target.is_relative_to(real_root))
    if is_dir and outside and follow and (real_root.is_relative_to(target)
                                          or Path(entry.path).parent.resolve().is_relative_to(target)):
        # (up -> .., home -> ~: everything around the folder, the whole disk for slash -> /)
        skip(entry.path, f"symbolic link to a folder that holds the scanned folder or the link itself (everything "
                         f"around it){NEVER_WALKED}")
        return
    if not is_dir and not wanted(entry.name) and not (
            follow and by_content and outside
            and _named_otherwise_but_an_image(entry.name, target, lambda _, why: skip(entry.path, why))):
        return
    # (the target is not named: a report may be shared, and where the link leads is not its business)
    mode = target.stat().st_mode
    kind = ("folder" if is_dir else "file" if stat.S_ISREG(mode)
            else _not_regular(mode).split(",")[0].removeprefix("a ").removeprefix("not a "))
    if not outside:
        if not is_dir:  # (a link to a folder inside is a loop or a second way in: silently one visit)
            skip(entry.path, "symbolic link to a file inside the scanned folder: scanned there, not through the link")
    elif not follow:
        skip(entry.path, f"symbolic link to a {kind} outside the scanned folder: not followed")
    elif is_dir:
        subfolders.append(Path(entry.path))
    elif target.is_file():
        found.append(entry.path)
    else:
        skip(entry.path, _not_regular(target.stat().st_mode))


def _not_regular(mode: int) -> str:
    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a folder" if stat.S_ISDIR(mode) else "not a file")
    return f"{kind}, not a regular file: not read"


def open_regular_file(path: str | os.PathLike, follow_symlinks: bool = True,
                      dir_fd: int | None = None) -> io.BufferedReader:
    """Open a file for reading only if it is a regular file, checked on the opened file itself.

    Never blocks (a FIFO is refused, not waited on) and never reads a device. With
    ``follow_symlinks=False`` a symbolic link in the last component is refused (``ELOOP``); ``dir_fd``: ``path``
    is relative to that open folder.

    Raises
    ------
    OSError
        Whatever ``open`` raises; ``EINVAL`` with a reason when it is not a regular file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, dir_fd=dir_fd)  # O_NONBLOCK: opening a FIFO does not wait for a writer
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, _not_regular(mode), os.fspath(path))
        return open(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


class PackagedFileError(OSError):
    """A file imagetwins ships (the review page's template, a model) that cannot be read as one: missing, or not a
    regular file (a FIFO in its place would be waited on for ever). One line, saying to reinstall."""


def read_packaged_file(path: str | os.PathLike) -> bytes:
    """The bytes of a file shipped in the package, read only if it is a regular file (:func:`open_regular_file`).

    Raises
    ------
    PackagedFileError
        Which file and why, ending "reinstall imagetwins".
    """
    try:
        with open_regular_file(path) as fh:
            return fh.read()
    except OSError as exc:
        raise PackagedFileError(exc.errno, f"cannot read {os.fspath(path)}, a file of imagetwins: "
                                           f"{exc.strerror or exc}; reinstall imagetwins") from None


def load_stored_npz(data: bytes):
    """``np.load`` of ``.npz`` bytes that imagetwins wrote itself (``np.savez``: every member stored, none
    compressed), for a cache or index row that anyone may have edited. A member that is compressed, or members
    that would unpack to more bytes than ``data`` holds, are refused with ``ValueError`` before anything is
    unpacked: an edited row of 2.4 MB holding a deflated array of 2.4 GB of zeros took 2.5 GB and 32 s to load.
    The caller closes what it returns (``with``)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise ValueError(f"not an .npz ({type(exc).__name__})") from None
    if any(m.compress_type != zipfile.ZIP_STORED for m in members) or sum(m.file_size for m in members) > len(data):
        raise ValueError("not an .npz imagetwins wrote (a compressed member: refused before unpacking)")
    return np.load(io.BytesIO(data), allow_pickle=False)


def read_bytes(path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES, counted: int | None = None) -> bytes:
    """Read a whole regular file, turning every OS error into an :class:`ImageReadError`.

    Only regular files are read, checked on the opened file (after any link is resolved): a FIFO,
    ``/dev/zero`` or a socket is refused at once instead of blocking or filling memory. No more than
    ``max_bytes`` + 1 bytes are ever read (a file growing while it is read is refused there). ``counted``: the size
    the caller looked at and holds memory for (:data:`READ_BUDGET`); a file larger when opened (swapped for another
    since) or grown past it while read is refused, transient (read again next time), after ``counted`` + 1 bytes at
    most. A file that reports 0 bytes and holds some (``/proc``, a FUSE file system giving no sizes) is refused
    after one byte: no size to hold memory for.
    """
    try:
        with open_regular_file(path) as fh:
            st = os.fstat(fh.fileno())
            if st.st_size > max_bytes:
                raise ImageReadError(path, f"file too large ({st.st_size:,} bytes > limit {max_bytes:,})")
            if counted is not None and st.st_size > counted:
                raise _changed(path, counted)
            # what fstat says, and a byte more to see growth (asking for max_bytes + 1 made every read reserve
            # 512 MB of address space, however small the file)
            data = fh.read(st.st_size + 1)
            if not st.st_size and data and not os.fstat(fh.fileno()).st_size:
                raise ImageReadError(path, _NO_SIZE)
            most = max_bytes if counted is None else min(max_bytes, counted)
            if st.st_size < len(data) <= most:  # it grew since: read on, up to the limit
                data += fh.read(most + 1 - len(data))
            if len(data) > most:  # it grew while we read
                if most < max_bytes:
                    raise _changed(path, most)
                raise ImageReadError(path, f"file too large (> limit {max_bytes:,} bytes)")
    except ImageReadError:
        raise
    except FileNotFoundError as exc:
        raise ImageReadError(path, "file not found (deleted, or a broken link)") from exc
    except PermissionError as exc:
        raise ImageReadError(path, "permission denied") from exc
    except IsADirectoryError as exc:
        raise ImageReadError(path, "is a folder, not a file") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageReadError(path, "symbolic link loop") from exc
        if exc.errno == errno.EINVAL and exc.strerror and "not a regular file" in exc.strerror:
            raise ImageReadError(path, exc.strerror) from exc
        raise ImageReadError(path, f"cannot read file ({exc.strerror or exc})") from exc
    if not data:
        raise ImageReadError(path, "empty file (0 bytes)")
    return data


#: the reason of a regular file that reports 0 bytes and holds some: its size cannot be held in the read budget nor
#: tell a change (a ``/proc`` file, a FUSE file system that gives no sizes); it was "changed while read" every run
_NO_SIZE = ("reports a size of 0 bytes yet holds bytes (a /proc or /sys file, or a FUSE file system that gives no "
            "sizes): not read")


def _changed(path, counted: int) -> ImageReadError:
    return ImageReadError(path, f"changed while read (more than the {counted:,} bytes it had when looked at): read "
                                "again next time", transient=True)


#: files a person names for reading (plans, ground truth, decision exports) larger than this are refused
DEFAULT_MAX_USER_FILE_BYTES = 256 << 20


def read_user_file(path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_USER_FILE_BYTES) -> str:
    """The text (UTF-8) of a file a person named for reading: only a regular file (a FIFO is refused at once rather
    than waited on, ``/dev/zero`` refused rather than read until memory runs out), at most ``max_bytes``.

    Raises
    ------
    OSError
        With a one-line ``strerror``: not found, not a regular file, too large, ...
    UnicodeDecodeError
        Not UTF-8 text.
    """
    with open_regular_file(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            raise OSError(errno.EFBIG, f"file too large ({size:,} bytes > limit {max_bytes:,})", os.fspath(path))
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise OSError(errno.EFBIG, f"file too large (> limit {max_bytes:,} bytes)", os.fspath(path))
    return data.decode("utf-8")


def json_values(text: str) -> int:
    """How many JSON values ``text`` holds at least, counted before it is parsed (its commas and opening brackets: one
    a value past each array's or object's first): what a document of a person costs to parse grows with its values,
    not its bytes (256 MiB of ``[[],[],...]`` is 85 million lists, ~5 GB)."""
    return text.count(",") + text.count("[") + text.count("{")


def read_json_file(path: str | os.PathLike) -> object:
    """A JSON document (a plan, a decisions export) read from a regular file.

    A FIFO, socket or device is refused at once (``OSError``, never waited on); a document nested too deeply
    for Python's parser is a :class:`json.JSONDecodeError` like any other malformed JSON (it was a
    ``RecursionError``).

    Raises
    ------
    OSError, UnicodeDecodeError, json.JSONDecodeError
    """
    from imagetwins.text import loads_json

    return loads_json(read_user_file(path))  # (regular files only, within the size limit)


def content_digest(data: bytes) -> str:
    """SHA-256 of a file's bytes, as hex: equal digests mean byte-identical files."""
    return hashlib.sha256(data).hexdigest()


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB; transparent areas become white."""
    return _flattened(img)[0]


def may_be_translucent(img: Image.Image) -> bool:
    """Does the opened (not yet decoded) image have an alpha channel or a transparent colour that decoding flattens
    on white? Only its pixels say whether any is less than opaque (:attr:`Header.translucent`)."""
    return img.mode in _ALPHA_MODES or (img.mode in ("P", "L") and "transparency" in img.info)


def _flattened(img: Image.Image) -> tuple[Image.Image, bool]:
    """:func:`_to_rgb`, and whether the picture was translucent: an alpha channel (or a transparent colour) that
    leaves some pixel less than fully opaque, which flattening on white lost (the keep rules' fact)."""
    mode = img.mode
    if mode == "RGB":  # (a transparent colour of an RGB picture is not applied: its pixels as stored)
        return img, False
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit data spans 0..65535; Pillow's own conversion clips at 255 and turns photos white.
        # Integer arithmetic in place: float64 copies cost 8 bytes a pixel (4 GB for a 13000^2 PNG).
        arr = np.asarray(img)
        if arr.max(initial=0) > 255:
            arr = np.right_shift(np.clip(arr, 0, 65535), 8)  # high byte, in the array's own integer type
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).convert("RGB"), False
    if mode == "F":
        arr = np.nan_to_num(np.asarray(img, dtype=np.float32), nan=0.0, posinf=255.0, neginf=0.0)
        if arr.size and arr.max() <= 1.0:
            arr *= 255.0
        return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8)).convert("RGB"), False
    if may_be_translucent(img):
        # pasted through its alpha onto white: the same pixels as alpha_composite (checked on RGBA, LA and P
        # images), without its RGBA background, result and copies (20 -> 9 bytes a pixel for RGBA)
        rgba = img if mode == "RGBA" else img.convert("RGBA")
        alpha = rgba.getchannel("A")
        out = Image.new("RGB", rgba.size, (255, 255, 255))
        out.paste(rgba, mask=alpha)
        return out, alpha.getextrema()[0] < 255
    return img.convert("RGB"), False


def allowed_formats() -> list[str]:
    """:data:`RASTER_FORMATS` that this Pillow can open (HEIF/AVIF only with their plugin)."""
    Image.init()
    return [f for f in RASTER_FORMATS if f in Image.OPEN]


def _reduce_on_decode(img: Image.Image, min_size: int, min_long_side: int = 0) -> tuple[int, int]:
    """Ask the decoder for a smaller image where the format allows it (JPEG DCT scaling, JPEG 2000
    resolution levels) that keeps ``min_size`` pixels on each side and ``min_long_side`` on the longer one;
    return the size the decode will have."""
    long = max(min_size, min_long_side)
    wanted = (long, min_size) if img.size[0] >= img.size[1] else (min_size, long)
    if img.format in ("JPEG", "MPO"):
        img.draft("RGB", wanted)
    elif img.format == "HEIF":
        # pillow-heif decodes the smallest embedded thumbnail that is a scaled copy of the picture and still this
        # large (phones write one), instead of the full picture: a thousand times less work for a 12 MP HEIC
        try:
            img.draft(img.mode, wanted)
        except Exception:  # an older pillow-heif without thumbnail drafts: the full decode
            pass
        return img.size
    elif img.format == "JPEG2000":
        level = 0  # (the long side asked kept too: min_size 1 with a long side, the files' look, was 1/32)
        while min(img.size) >> (level + 1) >= min_size and max(img.size) >> (level + 1) >= long and level < 5:
            level += 1
        if level:
            img.reduce = level  # Jpeg2KImageFile: decode at 1/2**level (the size shrinks on load)
            return tuple(-(-side // (1 << level)) for side in img.size)
    return img.size


class ImageArrayError(ValueError, AssertionError):
    """An array that is not an image: wrong type, shape or values. A ``ValueError``; also an
    ``AssertionError``, which imagededup 0.3 raised for a wrong channel count."""


def image_from_array(array: object, name: str = "image_array") -> Image.Image:
    """An ``HxW`` grey or ``HxWx3`` RGB array of 0..255 values as an RGB image, or one clear :class:`ImageArrayError`.

    The one check every entry point that takes arrays uses (hash classes, CNN, ``hash_image``): values
    are never wrapped modulo 256 nor floats truncated to 0, which made every image hash alike.
    """
    if not isinstance(array, np.ndarray):
        raise ImageArrayError(f"{name} must be a numpy array, not {type(array).__name__}")
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise ImageArrayError(f"{name} has shape {array.shape}: expected HxW (grey) or HxWx3 (RGB)")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageArrayError(f"{name} has no pixels ({array.shape[0]}x{array.shape[1]})")
    kind = array.dtype.kind
    if kind == "b":
        return Image.fromarray(array.astype(np.uint8) * 255).convert("RGB")
    if kind == "f":
        if not np.isfinite(array).all():
            raise ImageArrayError(f"{name} holds NaN or infinite values")
        raise ImageArrayError(f"{name} holds floats ({array.dtype}); expected uint8 values 0..255 (floats in 0..1: "
                         "(a * 255).round().astype(np.uint8))")
    if kind not in "iu":
        raise ImageArrayError(f"{name} has dtype {array.dtype}; expected uint8 values 0..255")
    if array.dtype != np.uint8:
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise ImageArrayError(f"{name} ({array.dtype}) holds values {low}..{high}; expected 0..255 (16-bit images: "
                             "a >> 8)")
        array = array.astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(array)).convert("RGB")


# LibRaw's ``sizes.flip``: how the sensor image is turned for display
_RAW_FLIP = {3: Image.Transpose.ROTATE_180, 5: Image.Transpose.ROTATE_90, 6: Image.Transpose.ROTATE_270}


def _open_raw(data: bytes, name, min_size: int | None, max_pixels: int, max_decoded_bytes: int,
              min_long_side: int = 0) -> tuple[Image.Image, Header]:
    """A camera RAW file through imagetwins.raw (LibRaw in a worker process), and its :class:`Header` (LibRaw's
    displayed size, format ``"RAW"``, no EXIF); every failure is one line. The embedded JPEG preview is decoded here
    like any JPEG: at reduced scale, under the limits and the budget."""
    try:
        kind, payload, flip, shown = decode_raw(data, min_size=min_size, max_pixels=max_pixels,
                                         max_decoded_bytes=max_decoded_bytes)
    except RawUnavailable as exc:  # (transient: read once the extra is installed, so no cache keeps it)
        raise ImageReadError(name, str(exc), transient=True) from None
    except RawDecodeError as exc:  # (past the time limit: transient, like any decode that takes too long)
        raise ImageReadError(name, str(exc), transient=exc.transient) from None
    turn = _RAW_FLIP.get(flip)
    if kind == "jpeg":
        img = _decode(payload, name, min_size, max_pixels, max_decoded_bytes, exif_orientation=False,
                      formats=["JPEG"], turn=turn, min_long_side=min_long_side)
    else:
        try:  # LibRaw's own pixels (a bitmap preview, the demosaic): any shape or type a damaged file gives
            img = _to_rgb(Image.fromarray(payload))
            if turn is not None:
                img = img.transpose(turn)
        except MemoryError:
            raise ImageReadError(name, "not enough memory to decode") from None
        except Exception as exc:
            raise ImageReadError(name, f"cannot decode this RAW file ({type(exc).__name__}: {exc})") from None
    return img, Header(tuple(shown), "RAW")


@dataclass(frozen=True)
class Header:
    """What a file's header said while it was decoded (:func:`decode_image`): the stored size (before any
    reduced-scale decode or EXIF turn), the format, and the EXIF as parsed for the orientation (None where it
    was not parsed or could not be read), so the keep rules' facts need no second open or parse."""

    size: tuple[int, int]
    format: str
    exif: Image.Exif | None = None
    #: some pixel was less than fully opaque (an alpha channel or transparent colour that means something):
    #: the decoded picture, flattened on white, lacks it
    translucent: bool = False


def open_image(
    source: str | os.PathLike | bytes,
    min_size: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    path_for_messages: str | os.PathLike | None = None,
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
    exif_orientation: bool = True,
    min_long_side: int = 0,
) -> Image.Image:
    """Decode an image file (or its bytes) into an upright 8-bit RGB :class:`PIL.Image.Image`.

    Only the formats in :data:`RASTER_FORMATS` are decoded, whatever the file is named.

    Parameters
    ----------
    source : path or bytes
        The file, or its content already read.
    min_size : int, optional
        The caller needs no more than ``min_size`` pixels along each side. JPEGs are then decoded at
        the smallest DCT scale (1/2, 1/4, 1/8) that still gives at least that, which is several times
        faster for photos. ``None`` decodes at full size.
    min_long_side : int
        With ``min_size``: the longer side must keep at least this many pixels too (a caller that scales
        the picture by its long side, e.g. local features, needs no more of the short side).
    max_pixels : int
        Refuse images with more pixels than this (decompression bombs).
    path_for_messages : path, optional
        Name to use in error messages when ``source`` is bytes.
    max_decoded_bytes : int
        Refuse images whose decoded pixels (after any reduced-scale decode) would take more memory.
    exif_orientation : bool
        Turn the picture upright as its EXIF orientation tag says (default). ``False`` keeps the pixels
        as stored, which is what imagededup 0.3 hashes.

    Raises
    ------
    ImageReadError
        With a one-line reason, for anything that is not a decodable image.
    """
    return decode_image(source, min_size, max_pixels, path_for_messages, max_decoded_bytes, exif_orientation,
                        min_long_side)[0]


def decode_image(
    source: str | os.PathLike | bytes,
    min_size: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    path_for_messages: str | os.PathLike | None = None,
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
    exif_orientation: bool = True,
    min_long_side: int = 0,
) -> tuple[Image.Image, Header | None]:
    """:func:`open_image`, and the :class:`Header` read on the way (for a camera RAW file, LibRaw's: its displayed
    size, format ``"RAW"``, no EXIF)."""
    name = path_for_messages if path_for_messages is not None else (
        None if isinstance(source, bytes) else source
    )
    data = source if isinstance(source, bytes) else read_bytes(source)
    if not data:
        raise ImageReadError(name, "empty file (0 bytes)")
    with quiet_decoder_warnings():  # (a file we cannot use is one line of ours, never Pillow's warning too)
        if is_raw_name(name):
            return _open_raw(data, name, min_size, max_pixels, max_decoded_bytes, min_long_side)
        return _decode(data, name, min_size, max_pixels, max_decoded_bytes, exif_orientation,
                       min_long_side=min_long_side, header=True)


def _exif_of(img: Image.Image) -> Image.Exif | None:
    try:
        return header_exif(img)
    except Exception:  # corrupt EXIF must not cost the image: keep it as stored
        return None


#: the PNG chunks after the pixel data that Pillow reads EXIF from (``eXIf``; text chunks: a raw EXIF profile, XMP)
_PNG_EXIF_CHUNKS = (b"eXIf", b"tEXt", b"zTXt", b"iTXt")


def header_exif(img: Image.Image) -> Image.Exif:
    """``img.getexif()`` of an image opened for its header, its pixels never decoded. Pillow's PNG plug-in decodes
    the whole picture to look for EXIF after the pixel data, outside every limit of ours and outside
    :data:`DECODE_BUDGET`: a 13000x13000 16-bit PNG, then refused for its decoded size, took 700 MB and 4 s first
    (each thread one at once), and the keep stage's header read decoded every PNG of a group again. Here the chunks
    after the pixel data are read for it by Pillow's own chunk readers, as its decode would (an animation's stop at
    its next frame), without decoding."""
    if img.format != "PNG" or "exif" in img.info or not getattr(img, "tile", None) or img.fp is None:
        return img.getexif()  # (not a PNG, its EXIF read with the header, or decoded already)
    from PIL import PngImagePlugin

    fh, start = img.fp, img.fp.tell()
    try:
        found = _png_trailing_info(fh, PngImagePlugin.PngStream(fh), img.tile[0][2],
                                   bool(getattr(img, "is_animated", False)))
    finally:
        fh.seek(start)
    img.info.update(found)
    return Image.Image.getexif(img)


def _png_trailing_info(fh, stream, start: int, animated: bool) -> dict:
    """What Pillow's chunk readers make of the EXIF-bearing chunks after a PNG's first image data (``stream``:
    a ``PngStream`` on ``fh``; ``start``: where that data begins), the image data itself skipped, never read."""
    fh.seek(start - 8)  # (its chunk's length and type)
    after_pixels = False
    while True:
        head = fh.read(8)
        if len(head) < 8:
            break
        length, cid, at = int.from_bytes(head[:4], "big"), head[4:], fh.tell()
        if cid == b"IEND" or (after_pixels and animated and cid == b"fcTL"):
            break
        after_pixels = after_pixels or cid == b"IDAT"
        if after_pixels and cid in _PNG_EXIF_CHUNKS:
            try:
                stream.call(cid, at, length)
            except Exception:  # (damaged text: what its decode would have stopped at, EXIF read so far kept)
                break
        fh.seek(at + length + 4)  # (past its CRC)
    return stream.im_info


def _exif_turns(exif: Image.Exif | None) -> tuple:
    try:
        return _TRANSPOSE_FOR_ORIENTATION.get(exif.get(_EXIF_ORIENTATION, 1), ()) if exif is not None else ()
    except Exception:  # corrupt EXIF must not cost the image: keep it as stored
        return ()


#: an icon file (ICO) starts with these bytes: reserved 0, type 1
_ICO_MAGIC = b"\x00\x00\x01\x00"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _icon_frame_size(data: bytes) -> tuple[int, int] | None:
    """The largest frame of an icon (ICO) file as its frames' own headers give it (None: not an icon). The
    icon's directory says at most 256 x 256, but a PNG frame inside may be 12000 x 12000, and Pillow decodes
    that frame when it opens the file, before any limit here could look at its size."""
    if data[:4] != _ICO_MAGIC or len(data) < 6:
        return None
    largest = (0, 0)
    for k in range(int.from_bytes(data[4:6], "little")):
        entry = data[6 + 16 * k:22 + 16 * k]
        if len(entry) < 16:
            break
        offset = int.from_bytes(entry[12:16], "little")
        frame = data[offset:offset + 24]
        if frame[:8] == _PNG_MAGIC and len(frame) >= 24:
            size = (int.from_bytes(frame[16:20], "big"), int.from_bytes(frame[20:24], "big"))
        elif len(frame) >= 12 and int.from_bytes(frame[:4], "little") == 12:  # (an OS/2 bitmap header)
            size = (int.from_bytes(frame[4:6], "little"), int.from_bytes(frame[6:8], "little") // 2)
        elif len(frame) >= 12:  # a bitmap, its height counting the transparency mask too
            size = (abs(int.from_bytes(frame[4:8], "little", signed=True)),
                    abs(int.from_bytes(frame[8:12], "little", signed=True)) // 2)
        else:
            continue
        largest = max(largest, size, key=lambda s: s[0] * s[1])
    return largest


#: a TIFF whose first page is cut into more strips or tiles than this is refused before Pillow opens it: Pillow
#: reads every piece's offset into a tuple and makes an object of each of an uncompressed page (their layout wrapping
#: round the picture as often as there are pieces): a TIFF of 16 x 16 pixels declaring 10 million strips (80 MB)
#: took 114 s and 3 GB to open, 292 s and 3.9 GB to decode. A page of 13,000 rows, one a strip, each band apart: 52,000
MAX_TIFF_PIECES = 1 << 17
#: TIFF tags: the offsets of the strips, of the tiles
_TIFF_PIECE_OFFSETS = (273, 324)


def check_tiff_pieces(read_at: Callable[[int, int], bytes], name=None) -> None:
    """:class:`ImageReadError` when a TIFF's first page (its IFD read through ``read_at(offset, size)``, classic or
    BigTIFF) declares more strips or tiles than :data:`MAX_TIFF_PIECES`; anything else (no TIFF, a header that
    cannot be read) passes, for its decoder to say."""
    head = read_at(0, 4)
    order = {b"II": "little", b"MM": "big"}.get(head[:2])
    if order is None:
        return
    number = int.from_bytes(head[2:4], order)
    if number not in (42, 43):
        return
    wide = 8 if number == 43 else 4  # (BigTIFF: 8-byte offsets and counts, 20-byte entries)
    entry, counted = (20, 8) if number == 43 else (12, 2)
    at = int.from_bytes(read_at(wide, wide), order)
    entries = min(int.from_bytes(read_at(at, counted), order), 1 << 16)
    table = read_at(at + counted, entries * entry)
    for k in range(0, len(table) - entry + 1, entry):
        if int.from_bytes(table[k:k + 2], order) in _TIFF_PIECE_OFFSETS:
            pieces = int.from_bytes(table[k + 4:k + 4 + wide], order)
            if pieces > MAX_TIFF_PIECES:
                raise ImageReadError(name, f"a TIFF page cut into {pieces:,} strips or tiles (more than "
                                           f"{MAX_TIFF_PIECES:,}: opening it would take minutes and gigabytes)")


#: a JPEG, PNG or GIF holding more segments, chunks or extension blocks than this before its pixel data is refused
#: before Pillow opens it: Pillow reads them one by one in Python and keeps each (8 MB of empty JPEG APP segments,
#: 2 million: 7.9 s and 309 MB; 24 MB of empty PNG chunks: 15.5 s, 293 MB; 10 MB of GIF comments: 3.6 s, 390 MB;
#: the file-size limit allows 512 MB). A photo holds a few dozen (an ICC profile in at most 255 pieces)
MAX_HEADER_PIECES = 4096


#: bytes between a JPEG's segments before its first scan that begin no marker (junk, escaped 0xFF, fill bytes) above
#: this are refused before Pillow opens it: Pillow steps over them one byte at a time in Python (a 64 x 48 picture
#: behind 8 MB of 0xFF 0x00 pairs took 0.95 CPU s to open, of zeros 0.35 s: at the 512 MB file-size limit, a minute)
MAX_JPEG_JUNK = 1 << 20
#: a JPEG marker's code that stands alone, no length after it: the start of the image, TEM, the restart markers
_JPEG_STANDALONE = frozenset({0xD8, 0x01, *range(0xD0, 0xD8)})
#: a marker: 0xFF, then a code that is neither an escaped 0xFF (0x00) nor another fill byte
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xff]")


def _past_marker(at: int, mark: bytes) -> int:
    """Where what follows the JPEG marker at ``at`` begins (``mark``: its 0xFF, its code and the two bytes after):
    two bytes on for a marker that stands alone, past its segment's length for the others (a scan's: to its data)."""
    return at + 2 if mark[1] in _JPEG_STANDALONE else at + 2 + int.from_bytes(mark[2:4], "big")


def _jpeg_junk(read_at: Callable[[int, int], bytes], at: int, most: int) -> int:
    """How many bytes from ``at`` come before the next JPEG marker's 0xFF (searched a block at a time, to ``most`` + 1
    at most; to the end where there is none)."""
    block, seen = 1 << 16, 0
    while seen <= most:
        chunk = read_at(at + seen, block + 1)  # (a byte more: a marker across the block's end)
        found = _JPEG_MARKER.search(chunk)
        if found is not None and found.start() < block:
            return seen + found.start()
        if len(chunk) <= block:
            return seen + len(chunk)
        seen += block
    return seen


def _jpeg_header_pieces(read_at: Callable[[int, int], bytes]) -> tuple[int, int]:
    """(segments, bytes that begin no marker between them) of a JPEG before its first scan, counted to
    :data:`MAX_HEADER_PIECES` + 1 and :data:`MAX_JPEG_JUNK` + 1 at most."""
    at, n, junk = 2, 0, 0
    while n <= MAX_HEADER_PIECES and junk <= MAX_JPEG_JUNK:
        mark = read_at(at, 4)
        if len(mark) < 4 or (mark[0] == 0xFF and mark[1] in (0xDA, 0xD9)):
            break
        if mark[0] != 0xFF or mark[1] in (0x00, 0xFF):  # junk, an escaped 0xFF, fill bytes: up to the next marker
            skipped = _jpeg_junk(read_at, at, MAX_JPEG_JUNK - junk)
            if not skipped:
                break
            at, junk = at + skipped, junk + skipped
            continue
        at = _past_marker(at, mark)
        n += 1
    return n, junk


def _header_pieces(read_at: Callable[[int, int], bytes]) -> tuple[str, int, int]:
    """(what, how many, junk) of the pieces a JPEG, PNG or GIF holds before its pixel data, counted to
    :data:`MAX_HEADER_PIECES` + 1 at most (junk: a JPEG's bytes between them that begin no marker, to
    :data:`MAX_JPEG_JUNK` + 1); ("", 0, 0) for anything else."""
    head, most = read_at(0, 13), MAX_HEADER_PIECES
    n = 0
    if head[:2] == b"\xff\xd8":  # JPEG: markers, each with its length, up to the first scan
        return "segments", *_jpeg_header_pieces(read_at)
    if head[:8] == _PNG_MAGIC:  # PNG: chunks up to the first image data
        at = 8
        while n <= most:
            chunk = read_at(at, 8)
            if len(chunk) < 8 or chunk[4:] in (b"IDAT", b"IEND"):
                break
            at += 12 + int.from_bytes(chunk[:4], "big")
            n += 1
        return "chunks", n, 0
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) == 13:  # GIF: extension blocks up to the first image
        at = 13 + (3 << ((head[10] & 7) + 1) if head[10] & 0x80 else 0)
        while n <= most and read_at(at, 1) == b"\x21":
            at += 2
            while (size := read_at(at, 1)) not in (b"", b"\x00"):  # (its data blocks)
                at += 1 + size[0]
            at += 1
            n += 1
        return "extension blocks", n, 0
    return "", 0, 0


#: a PNG of more chunks than this up to its end (an animation's: up to its second frame) is refused before Pillow opens
#: it: Pillow's decode walks them one by one in Python (the image data chunk by chunk, then every chunk after it), and
#: so does :func:`header_exif`: 1,000,000 empty IDAT chunks (11 MB) took 2.2 CPU s to decode, and the file-size limit
#: allows 44 million. A PNG written by libpng in its 8 KB chunks holds 65,536 at the 512 MB file-size limit
MAX_PNG_CHUNKS = 1 << 17


def _png_chunks(read_at: Callable[[int, int], bytes], most: int) -> int:
    """How many chunks a PNG (read through ``read_at``) holds up to IEND, or up to the second frame of an animation
    (where Pillow's decode of the first stops), counted to ``most`` + 1 at most."""
    at, n, animated, pixels = 8, 0, False, False
    while n <= most:
        chunk = read_at(at, 12)
        kind = chunk[4:8]
        if len(chunk) < 8 or kind == b"IEND" or (kind == b"fcTL" and pixels and animated):
            break
        if kind == b"acTL" and not pixels:  # (Pillow's is_animated: more than one frame)
            animated = int.from_bytes(chunk[8:12], "big") > 1
        pixels = pixels or kind == b"IDAT"
        at += 12 + int.from_bytes(chunk[:4], "big")
        n += 1
    return n


def check_header_pieces(read_at: Callable[[int, int], bytes], name=None) -> None:
    """:class:`ImageReadError` where Pillow's opening of a file (read through ``read_at(offset, size)``) would take
    minutes and gigabytes: a TIFF page in too many pieces (:func:`check_tiff_pieces`), a JPEG, PNG or GIF with too
    many pieces before its pixel data (:data:`MAX_HEADER_PIECES`), a JPEG with too much junk between them
    (:data:`MAX_JPEG_JUNK`), a PNG of too many chunks in all (:data:`MAX_PNG_CHUNKS`)."""
    check_tiff_pieces(read_at, name)
    what, n, junk = _header_pieces(read_at)
    if junk > MAX_JPEG_JUNK:
        raise ImageReadError(name, f"a JPEG with more than {MAX_JPEG_JUNK:,} bytes that begin no marker between its "
                                   "segments (opening it would take minutes)")
    if n > MAX_HEADER_PIECES:
        raise ImageReadError(name, f"more than {MAX_HEADER_PIECES:,} {what} before its pixels (opening it would take "
                                   "minutes and gigabytes)")
    if what == "chunks" and _png_chunks(read_at, MAX_PNG_CHUNKS) > MAX_PNG_CHUNKS:
        raise ImageReadError(name, f"a PNG of more than {MAX_PNG_CHUNKS:,} chunks (its decode would read each one by "
                                   "one: minutes)")


@contextmanager
def open_header(source, name=None, formats: list[str] | None = None) -> Iterator[Image.Image]:
    """Pillow's image of ``source`` (an open binary file, or bytes) opened for its header alone (size, format,
    EXIF), among :data:`RASTER_FORMATS` (or ``formats``). An icon, which Pillow decodes while opening, is opened
    only within the scan's limits and with its cost held in :data:`DECODE_BUDGET` (else :class:`ImageReadError`).
    Pillow's warnings (a header declaring more pixels than Pillow's limit) are not shown: the caller says what it
    cannot use."""
    fh = io.BytesIO(source) if isinstance(source, bytes) else source
    start = fh.tell()
    icon = fh.read(4) == _ICO_MAGIC
    fh.seek(start)

    def read_at(offset: int, size: int) -> bytes:
        fh.seek(start + offset)
        return fh.read(size)

    try:
        check_header_pieces(read_at, name)
    finally:
        fh.seek(start)
    held = nullcontext()
    if icon:
        data = fh.read(DEFAULT_MAX_BYTES + 1)
        width, height = _icon_frame_size(data) or (0, 0)
        cost = decode_cost("RGBA", width, height)
        if len(data) > DEFAULT_MAX_BYTES or width * height > DEFAULT_MAX_PIXELS or cost > DEFAULT_MAX_DECODED_BYTES:
            raise ImageReadError(name, f"image too large to decode (an icon frame of {width}x{height} RGBA)")
        fh, held = io.BytesIO(data), DECODE_BUDGET.hold(cost)
    with quiet_decoder_warnings(), held, Image.open(fh, formats=formats or allowed_formats()) as im:
        yield im


def reduced_decode_side(source: str | os.PathLike | bytes, min_size: int, min_long_side: int = 0) -> tuple[int, int]:
    """The long side ``source`` stores and the long side :func:`open_image` decodes it at with these ``min_size`` and
    ``min_long_side`` (a JPEG's reduced-scale decode, a JPEG 2000's resolution levels, a HEIF's embedded thumbnail;
    other formats whole), read from its header alone. Raises :class:`ImageReadError` or OSError."""
    with (nullcontext(io.BytesIO(source)) if isinstance(source, bytes) else open_regular_file(source)) as fh, \
            open_header(fh, path_text(source) if not isinstance(source, bytes) else None) as img:
        stored = max(img.size)
        return stored, max(_reduce_on_decode(img, min_size, min_long_side) if min_size else img.size)


def decode_plan(source: str | os.PathLike | bytes, min_size: int | None, min_long_side: int = 0) -> tuple[int, int]:
    """The pixels :func:`open_image` decodes ``source`` into with these ``min_size`` and ``min_long_side`` (sized as
    :func:`reduced_decode_side` says) and the bytes that decode costs at its peak (:func:`decode_cost`), read from its
    header alone: what a caller that holds the decoded image while it works checks against
    :data:`DEFAULT_MAX_DECODED_BYTES` and holds in :data:`DECODE_BUDGET` before decoding (the keep stage's looks).
    Raises :class:`ImageReadError` or OSError."""
    with (nullcontext(io.BytesIO(source)) if isinstance(source, bytes) else open_regular_file(source)) as fh, \
            open_header(fh, path_text(source) if not isinstance(source, bytes) else None) as img:
        width, height = _reduce_on_decode(img, min_size, min_long_side) if min_size else img.size
        return width * height, decode_cost(img.mode, width, height, img.format)


#: the key of a decoded image's ``info`` that holds the long side of the picture as the file stores it (before a
#: reduced-scale decode); :func:`decoded_scale` reads it
STORED_SIDE = "imagetwins.stored_side"


def decoded_scale(img: Image.Image) -> float:
    """Decoded pixels per pixel of the file for an image from :func:`open_image` / :func:`decode_image` (1 where the
    file was decoded at its full size, 1/8 for a JPEG decoded at an eighth); 1 for an image that did not come from a
    file here (a program's own picture is its full size)."""
    stored = img.info.get(STORED_SIDE)
    if not isinstance(stored, int) or stored <= 0:
        return 1.0
    return min(1.0, max(img.size) / stored)


def _decode(data: bytes, name, min_size: int | None, max_pixels: int, max_decoded_bytes: int,
            exif_orientation: bool = True, formats: list[str] | None = None,
            turn: Image.Transpose | None = None, min_long_side: int = 0, header: bool = False):
    """Pillow's decode of ``data`` under the limits, holding its cost in :data:`DECODE_BUDGET`; with ``header``
    the image and its :class:`Header`. An icon is decoded by Pillow as it is opened: its frames' sizes are
    checked, and its cost held, before (a 560 KB .ico took 1.2 GB, outside the budget, then was refused)."""
    icon = _icon_frame_size(data)
    if icon is None:
        return _decode_held(data, name, min_size, max_pixels, max_decoded_bytes, exif_orientation, formats, turn,
                            min_long_side, header, held=False)
    width, height = icon
    if width * height > max_pixels:
        raise ImageReadError(name, f"image too large (an icon frame of {width}x{height} pixels > limit "
                                   f"{max_pixels:,})")
    cost = decode_cost("RGBA", width, height)
    if cost > max_decoded_bytes:
        raise ImageReadError(name, f"image too large to decode (an icon frame of {width}x{height} RGBA: "
                                   f"{cost:,} bytes > limit {max_decoded_bytes:,})")
    with DECODE_BUDGET.hold(cost):
        return _decode_held(data, name, min_size, max_pixels, max_decoded_bytes, exif_orientation, formats, turn,
                            min_long_side, header, held=True)


def _decode_held(data: bytes, name, min_size: int | None, max_pixels: int, max_decoded_bytes: int,
                 exif_orientation: bool, formats: list[str] | None, turn: Image.Transpose | None,
                 min_long_side: int, header: bool, held: bool):
    """:func:`_decode`; ``held``: its cost is held in :data:`DECODE_BUDGET` already."""
    with libtiff_messages() as said:  # (libtiff's own lines, never on stderr: the reason of a failure)
        return _decode_said(data, name, min_size, max_pixels, max_decoded_bytes, exif_orientation, formats, turn,
                            min_long_side, header, held, said)


def _jpeg2000_tile_bytes(data: bytes, fmt: str) -> int:
    """What openjpeg holds for the tiles a JPEG 2000 declares (its codestream's SIZ; a JP2 file's boxes walked to
    it): counted with the pixels' cost, held in the budget and under the limit (0 for other formats, or where the
    codestream cannot be found: the decoder says what is wrong)."""
    if fmt != "JPEG2000":
        return 0
    at, end = 0, len(data)
    while data[at:at + 4] != b"\xff\x4f\xff\x51":  # (SOC, then SIZ: a codestream's first bytes)
        if at + 8 > end:
            return 0
        size, head = int.from_bytes(data[at:at + 4], "big"), 8
        if size == 1 and at + 16 <= end:  # (a box of more than 4 GB)
            size, head = int.from_bytes(data[at + 8:at + 16], "big"), 16
        if data[at + 4:at + 8] == b"jp2c":
            at += head
            break
        if size < head:  # (0: the last box, running to the end, and no codestream box before it)
            return 0
        at += size
    siz = data[at + 8:at + 42]  # Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz (4 bytes each), Csiz (2)
    if data[at:at + 4] != b"\xff\x4f\xff\x51" or len(siz) < 34:
        return 0
    width, height, _, _, tile_w, tile_h, tile_x, tile_y = (int.from_bytes(siz[k:k + 4], "big") for k in range(0, 32, 4))
    if not tile_w or not tile_h:
        return 0
    tiles = max(0, -(-(width - tile_x) // tile_w)) * max(0, -(-(height - tile_y) // tile_h))
    return tiles * (_JPEG2000_TILE_BYTES + _JPEG2000_TILE_BAND_BYTES * int.from_bytes(siz[32:34], "big"))


#: the padding a HEIF's coded frame may have beyond its declared size on each side (an HEVC frame is coded in blocks of
#: up to 64 x 64; libheif pads a small or odd picture and crops it back with ``clap``: 17 x 3 is coded 64 x 64)
_CODED_PADDING = 64


def _within_padding(coded: tuple[int, int], width: int, height: int) -> bool:
    """Is the ``coded`` frame the declared ``width`` x ``height`` picture with at most :data:`_CODED_PADDING` added to
    each side (either way round: a rotation the file declares turns the picture Pillow reports)? Judged side by side,
    not by area: an AVIF declaring a 4 x 15,000 strip holds 68 x 15,064 pixels of area, and coded a 1,000 x 1,000
    frame decoded with the budget held for the strip's 240 KB (16 times less; a 1 x 2,700,000 strip's area holds a
    13,000 x 13,000 frame)."""
    across, down = width + _CODED_PADDING, height + _CODED_PADDING
    return coded[0] <= across and coded[1] <= down or coded[0] <= down and coded[1] <= across


def _coded_frame_bytes(data: bytes, fmt: str, mode: str, width: int, height: int, max_pixels: int, name) -> int:
    """What the AV1 or HEVC decoder holds for a HEIF's (AVIF's, HEIC's) coded frame when it is larger than the size
    the file declares (its ``ispe`` box, cropped by any ``clap``: what Pillow reports): a 2 KB AVIF declaring 16 x 16
    and coding 12,000 x 12,000 decoded at 337 MB outside the budget, a 29 KB HEIC cropping 11,000 x 11,000 to 16 x 16
    at 456 MB (:func:`imagetwins.heif.coded_size`). 0 for anything else, and for a frame within the padding an encoder
    adds; a frame past ``max_pixels`` is refused as the declared size would be."""
    if fmt not in ("AVIF", "HEIF"):
        return 0
    from imagetwins.heif import MAX_ITEMS, TooManyItems, coded_size

    try:
        coded = coded_size(data)
    except TooManyItems as exc:
        raise ImageReadError(name, f"an {fmt} listing {exc.args[0]:,} items (more than {MAX_ITEMS:,})") from None
    if coded is None or _within_padding(coded, width, height):
        return 0
    if coded[0] * coded[1] > max_pixels:
        raise ImageReadError(name, f"image too large ({width}x{height} declared, a {coded[0]}x{coded[1]} frame coded "
                                   f"> limit {max_pixels:,} pixels)")
    return decode_cost(mode, *coded, fmt)


def _tiff_tile_bytes(img: Image.Image) -> int:
    """The buffer libtiff fills for each tile of a tiled TIFF that Pillow hands it: a tile of the size the file
    declares, however small the picture (a 783 KB TIFF of 16 x 16 pixels declaring 16384 x 16384 tiles took 809 MB
    and 10 s); at least 4 bytes a pixel (libtiff's RGBA route for YCbCr). 0 for anything else."""
    tags = getattr(img, "tag_v2", None)
    if img.format != "TIFF" or tags is None or not img.tile or img.tile[0][0] != "libtiff":
        return 0
    width, height, bits = tags.get(322), tags.get(323), tags.get(258, 8)
    bits = bits if isinstance(bits, tuple) else (bits,)
    if not all(isinstance(v, int) and v >= 0 for v in (width, height, *bits)):
        return 0
    return width * height * max(4, -(-sum(bits) // 8))


#: a progressive JPEG of more scans than this is refused before it is decoded. Each scan is decoded over the whole
#: picture, and one can be a few bytes (an end-of-band run over every block: libjpeg-turbo's "LJT-01-003"): 1,000
#: scans of a 4000x4000 picture (94 KB) took 36 s to decode, 5,000 (218 KB) 184 s, the thread past the scan's time
#: limit burning on; encoders write about ten (libjpeg's simple progression: 10 in colour, 6 in grey)
MAX_JPEG_SCANS = 100
#: the marker that ends a scan's entropy-coded data (a 0xFF not stuffed with 0x00 and not a restart marker)
_AFTER_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7]")


def _jpeg_scans(data: bytes, most: int) -> int:
    """How many scans the JPEG ``data`` holds (its first image: an MPO's others follow it), counted to ``most`` + 1
    at most; the markers walked from the start (each segment skipped by its length, each scan's data by one search),
    up to the end of the image (a motion photo's video after it is not read). Not from where Pillow's header read
    stopped: an MPO's is back at its first frame's start."""
    scans, at, end = 0, 0, len(data)
    while scans <= most:
        found = _AFTER_SCAN.search(data, at)
        if found is None:
            break
        at = found.start()
        while at + 1 < end and data[at + 1] == 0xFF:  # (fill bytes before a marker)
            at += 1
        if at + 4 > end or data[at + 1] == 0xD9:  # the end of the image
            break
        scans += data[at + 1] == 0xDA
        at = _past_marker(at, data[at:at + 4])
    return scans


def _said_of(exc: Exception) -> str:
    """A decoder's message, the bytes it quotes from a damaged file shortened (they are the file's junk)."""
    said = str(exc) or type(exc).__name__
    return said if len(said) <= 120 else said[:117] + "..."


def _decode_said(data: bytes, name, min_size: int | None, max_pixels: int, max_decoded_bytes: int,
                 exif_orientation: bool, formats: list[str] | None, turn: Image.Transpose | None,
                 min_long_side: int, header: bool, held: bool, said: list[str]):
    """:func:`_decode_held`; ``said``: what libtiff says meanwhile."""
    try:
        check_header_pieces(lambda offset, size: data[offset:offset + size], name)
        try:
            img = Image.open(io.BytesIO(data), formats=formats or allowed_formats())
        except (ValueError, SyntaxError) as exc:  # a plug-in's parse of a damaged header (a PPM's size in junk)
            raise ImageReadError(name, f"damaged header ({_said_of(exc)})") from exc
        width, height = img.size
        if width * height > max_pixels:
            raise ImageReadError(name, f"image too large ({width}x{height} pixels > limit {max_pixels:,})")
        if width < 1 or height < 1:
            raise ImageReadError(name, f"image has no pixels ({width}x{height})")
        fmt = img.format or ""
        if fmt in ("JPEG", "MPO") and img.info.get("progressive") and \
                _jpeg_scans(data, MAX_JPEG_SCANS) > MAX_JPEG_SCANS:
            raise ImageReadError(name, f"a progressive JPEG of more than {MAX_JPEG_SCANS} scans (its decode would take "
                                       "minutes; encoders write about ten)")
        out_w, out_h = _reduce_on_decode(img, min_size, min_long_side) if min_size else img.size
        exif = _exif_of(img) if exif_orientation else None
        turns = _exif_turns(exif)
        decoded = decode_cost(img.mode, out_w, out_h, img.format, turned=bool(turns) or turn is not None,
                              transparency="transparency" in img.info)
        tiles = _jpeg2000_tile_bytes(data, fmt) + _tiff_tile_bytes(img)
        coded = _coded_frame_bytes(data, fmt, img.mode, width, height, max_pixels, name)
        decoded += tiles + coded
        if decoded > max_decoded_bytes:
            beyond = (" and the tiles it declares" if tiles > decoded // 2 else
                      " and the larger frame it codes" if coded > decoded // 2 else "")
            raise ImageReadError(name, f"image too large to decode ({width}x{height} {img.mode}{beyond}: "
                                       f"{decoded:,} bytes > limit {max_decoded_bytes:,})")
        with nullcontext() if held else DECODE_BUDGET.hold(decoded):
            img.load()
            for method in turns:
                img = img.transpose(method)
            if turn is not None:
                img = img.transpose(turn)
            out, translucent = _flattened(img)
        # how many of the file's own pixels a decoded pixel stands for (a JPEG decoded at 1/8 has fewer): the copies
        # check asks whether one picture holds detail finer than the other file holds (decoded_scale)
        out.info[STORED_SIDE] = max(width, height)
        return (out, Header((width, height), fmt, exif, translucent)) if header else out
    except ImageReadError:
        raise
    except UnidentifiedImageError as exc:
        if _is_heif(data[:16]) and "HEIF" not in Image.OPEN:  # (an iPhone's photo, not a damaged file)
            raise ImageReadError(name, HEIF_EXTRA_MISSING,
                                 transient=True) from exc  # (read once the extra is installed: no cache keeps it)
        if _is_heif(data[:16]):  # (said apart from UNIDENTIFIED: see waits_for_extra)
            raise ImageReadError(name, "a HEIC/HEIF file pillow-heif cannot read (damaged?)") from exc
        raise ImageReadError(name, UNIDENTIFIED) from exc
    except Image.DecompressionBombError as exc:
        sizes = re.match(r"Image size \((\d+) pixels\) exceeds limit of (\d+) pixels", str(exc))
        said = f"{int(sizes[1]):,} pixels > limit {int(sizes[2]):,}" if sizes else str(exc)
        raise ImageReadError(name, f"image too large ({said}: Pillow's decompression-bomb guard)") from exc
    except SyntaxError as exc:  # Pillow's word for a file's broken structure ("broken PNG file")
        raise ImageReadError(name, f"corrupt image data ({_said_of(exc)})") from exc
    except OSError as exc:
        msg = str(exc)
        if "truncated" in msg.lower():
            raise ImageReadError(name, "truncated or incomplete image data") from exc
        if said:  # (libtiff's words, not Pillow's "decoder error -2")
            msg = f"libtiff: {said[0]}"
        raise ImageReadError(name, f"corrupt image data ({msg})") from exc
    except MemoryError as exc:
        raise ImageReadError(name, "not enough memory to decode") from exc
    except ValueError as exc:
        if "not enough image data" in str(exc):  # (an uncompressed format's pixels cut short for its header's depth)
            raise ImageReadError(name, "truncated or incomplete image data") from exc
        raise ImageReadError(name, f"cannot decode (ValueError: {exc})") from exc
    except Exception as exc:  # a decoder bug on hostile input must not end the run
        raise ImageReadError(name, f"cannot decode ({type(exc).__name__}: {exc})") from exc
