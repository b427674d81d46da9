"""Which files of a duplicate group to keep: decided here once, used by ``find``, ``report`` and ``remove``.

Rules (``rule=``):

``original`` (the default): an original beats its conversion. Highest resolution first, except that an enlargement
of a smaller file of the group ranks after the files it could have been made from (:func:`enlarged_from`), and a
padded or letterboxed copy after the files without such a border (:func:`padded_copies`; a border may hold a phone's
status bar, so a screenshot of a photo counts), and a file that is another file's whole picture with a frame of no
scene around it (on a background, in a phone screenshot, turned on a grown canvas, photographed on a screen) after
that file where it holds the picture at about that file's resolution or less (:func:`framed_copies`: the search's
method says so from the pair's check, ``copies`` only; a crop is never one); then the format the others were derived
from (a lossy camera format such as JPEG beats a lossless re-save such as PNG or BMP of the same size, and a HEIC,
AVIF, DNG or raw file beats a JPEG of the same size: its conversion, unless that JPEG is the camera's own; a
translucent file, whose alpha leaves some pixel less than opaque, is no re-save or conversion: it holds what its
copy flattened on white lacks); then a JPEG the camera wrote (:func:`camera_written`: its EXIF names the camera and
no editor, and it is not laid out as a generic encoder writes one) before any other file of its size but a raw file:
a HEIC, AVIF or WebP conversion of it or a re-save keeping its EXIF, however finely quantised (a re-encode adds
bytes, not picture); then a file whose EXIF orientation needs no mirroring (1, or a turn) before a mirrored one (2, 4,
5, 7: no camera writes such a tag, a tool flipped the pixels; read from the headers of the files tied so far only);
then a translucent file before an opaque one of its size (a product cut out on a transparent
ground before its JPEG on white); then the older capture date (EXIF DateTimeOriginal, else the modification time,
compared to the minute so that copies made in the same minute tie); then a name that is not a copy's ("x copy.jpg",
"x (1).jpg", "Copy of x.jpg"); then, between JPEGs tied so far, the more finely quantised (a messenger's re-encode;
read from the headers of tied files only); then the shorter name; then the file outside a folder that ``imagetwins
folders`` lists as a copy of another (``Backup/x.jpg`` goes beside ``Photos/2019/x.jpg`` when ``Backup`` holds
copies of ``Photos/2019``'s pictures: one rule for folders and files, :mod:`imagetwins.folder_copies`); then the
file fewer folders deep; then the shorter path; then the path.
Measured on held-out originals in ``benchmarks/bench_keeper.py``.

``largest`` / ``smallest``: the biggest / smallest file on disk, ties broken by ``original``.
``newest`` / ``oldest``: the latest / earliest capture date, ties broken by ``original``.
``best``: the best shot of a scene (re-shots, the ``similar`` method's default): the highest
:func:`imagetwins.shots.shot_score` (sharpness, exposure, resolution; each file of the group decoded once more,
at the largest one's size, at most 1024 px), ties broken by ``original``. The scores and the ``copies`` links that
tell a group's captures apart are kept in the run's store by content, as the enlargement scores are: a re-run
decodes nothing, an edited file is measured again.

Reference folders (``keep_in=``) come before any rule: every file inside one is kept and never
touched, and when a group has one there, the keeper is chosen among them.

Groups are stars around their keeper (:func:`decide_result`): matches are not transitive (A looks
like B and B like C does not make C a copy of A), so a file joins a keeper's group only when it
matches the keeper itself; the others of a connected set of matches form groups of their own, each
around its own keeper. Where the method's search compares only the pairs it proposes (``copies``), a file of
the set never compared with the keeper is compared now (:class:`_KeeperChecks`), so a copy is not left out of
every group for want of a look.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from PIL import Image

from imagetwins import facts as _facts
from imagetwins import search
from imagetwins.decisions import Remembered, key_map
from imagetwins.decoder_messages import quiet_decoder_warnings
from imagetwins.digests import Digest
from imagetwins.facts import ImageFacts
from imagetwins.folder_copies import CopiedFolders, place_order
from imagetwins.io import (
    ImageReadError,
    decode_image,
    header_exif,
    may_be_translucent,
    named_as_image,
    open_header,
    open_regular_file,
)
from imagetwins.raw import is_raw_name
from imagetwins.scores import Mark
from imagetwins.timing import stage

if TYPE_CHECKING:
    from imagetwins.pairscores import PairScoreStore
    from imagetwins.results import FindResult
    from imagetwins.session import Session

__all__ = ["KEEP_RULES", "FileInfo", "Decision", "file_info", "file_infos", "choose_keeper", "decide", "decide_groups",
           "decide_keepers", "decide_result", "enlarged_from", "enlargement_score", "result_infos"]

#: the accepted values of ``rule``
KEEP_RULES = ("original", "largest", "smallest", "newest", "oldest", "best")

# Formats a camera or phone writes; a same-size file in any other format (PNG, BMP, TIFF, GIF...) next
# to one of these is taken for a re-save of it.
_CAMERA_FORMATS = frozenset({"JPEG", "MPO", "HEIF", "AVIF", "WEBP", "DNG", "RAW"})
# Formats a camera or phone writes *instead of* a JPEG (a phone saves HEIC or JPEG, a camera RAW/DNG and maybe
# its own JPEG): a JPEG the same size as one of these in a group was converted from it (the HEIC original beside
# its JPEG export, which the largest-file rule keeps).
_SOURCE_FORMATS = frozenset({"HEIF", "AVIF", "DNG", "RAW"})


# Enlargements (see enlarged_from). A file is tested when it has at least this many times the pixels of
# the next smaller file of its group, the same shape (within 2 %), and no camera make or model in its EXIF.
_ENLARGED_MIN_PIXEL_RATIO = 1.4
# ... and beside a camera's own file (its EXIF names the camera and records this file's size: what the camera wrote),
# which a larger copy cannot be the source of: slight enlargements (a 1.04x re-save of a product shot) are tested too
# (21 camera-photos JPEGs beside their own 1.04x enlargements: 16 found)
_ENLARGED_MIN_PIXEL_RATIO_CAMERA = 1.02
# the most smaller files one file is tested against (:func:`enlarged_from`), past enlargements of the same picture, and
# the score under which the next smaller file is tried: the larger file holds little detail the smaller one lacks
# (enlargements of one picture beside each other 0.07-0.84 on a crowd of bsds_100075's 0.35-1.6x copies; originals
# beside copies half their size 0.24-5.8, 0.7x at q60 0.78-22: benchmarks/tune_keeper.py)
_ENLARGED_CHAIN = 4
_ENLARGED_WALK = 1.0
# enlargement_score below which the larger file is taken for an enlargement: when neither file says which
# camera made it, and when the smaller one does (a camera's own file beside a larger one that lost its
# EXIF). The camera threshold was chosen on 10 photos-public and 8 camera-photos (bench_keep_upscale.py); the
# other one on the tuning split of benchmarks/tune_keeper.py (first 10 photos-public, second ukbench views of
# 60 objects, 30 holidays photos, first 8 camera-photos), once the score took the JPEG noise floor off: 2x
# Lanczos q90 enlargements score at most 0.032 there, 1.5x ones 0.063; originals beside half-size copies at
# least 0.24, and at least 0.096 when the original itself is a quality-50 JPEG
_ENLARGED_BELOW = 0.05
_ENLARGED_BELOW_CAMERA = 1.2
# the noise floor is taken off only where it is well below the detail the smaller file holds: a flat picture at a
# coarse quality, or a soft camera photo beside its copy 0.8x a side, has no fine detail above its JPEG noise to
# tell its enlargement from its original by, and then the larger file is kept (an enlargement kept holds the same
# picture; an original given up loses its pixels). 1.0 gave up exifr__xmp_depth_map (EXIF stripped: noise floor
# 0.66 of the detail) to its own 0.8x copy; 0.6 on the tuning split (tune_keeper.py, --slight-cameras): no
# original below the threshold, enlargements found 362 -> 355 of 802 (the 1.25x camera enlargements 17 -> 12 of 23)
_NOISE_FLOOR_AT_MOST = 0.6
_COMPARE_SIDE = 384  # the smaller file's central region compared, in its pixels (the decode is the cost)
# ... and at most this many of the larger file's pixels a side: the arrays compared stay a few MB however
# many times larger the larger file is (a 64 px thumbnail and a 12000 px PNG made 3 GB of them), and below
# _COMPARE_MIN_SIDE of the smaller one's pixels there is too little to tell (no verdict)
_COMPARE_LARGER_SIDE = 1536
_COMPARE_MIN_SIDE = 24


@dataclass(frozen=True)
class FileInfo:
    """What a person weighs when choosing between copies.

    ``width`` and ``height`` are as displayed (EXIF orientation applied); ``taken`` is the EXIF
    DateTimeOriginal in seconds since the epoch (local time), or None; ``camera``: the EXIF names the
    camera's make or model and records the file's own size (a camera's own file). ``border`` (share of
    uniform border, aspect ratio inside it) is known when ``measured`` (the scan measured it, see
    :mod:`imagetwins.facts`; None then means it could not be told); otherwise it is measured when needed.
    """

    path: str
    width: int
    height: int
    size: int
    mtime: float
    taken: float | None = None
    format: str = ""
    camera: bool = False  # EXIF names the camera, and the size it records is this file's
    border: tuple[float, float] | None = None
    measured: bool = False  # border is what the scan measured (else measured by decoding when needed)
    translucent: bool = False  # some pixel less than opaque: a copy flattened on white lacks its alpha

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def captured(self) -> float:
        """Capture date: EXIF DateTimeOriginal where the file has one, else the modification time."""
        return self.taken if self.taken is not None else self.mtime


@dataclass
class Decision:
    """One group's verdict: ``keep`` (the keeper first) and ``remove``; ``unreadable`` files are left alone."""

    files: list[str]
    keep: list[str]
    remove: list[str]
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, why)

    @property
    def keeper(self) -> str | None:
        return self.keep[0] if self.keep else None


_exif_date = _facts.exif_date


def file_info(path: str | os.PathLike) -> FileInfo:
    """Size, modification time, displayed pixel size, capture date and format of one file.

    Raises ``OSError`` when the file cannot be stat'ed; an image whose header cannot be read gets
    0x0 pixels (it ranks last).
    """
    w = h = 0
    taken, fmt, camera, translucent = None, "", False, False
    with open_regular_file(path) as fh:  # never blocks on a FIFO put there since the scan
        st = os.fstat(fh.fileno())
        if is_raw_name(path):
            return _raw_file_info(path, fh, st)
        try:
            with open_header(fh, path) as im:  # (an icon decodes on opening: within the limits)
                w, h, fmt, taken, camera = _facts.header_facts(im)
                alpha = may_be_translucent(im)
            if alpha:  # only the pixels say whether the alpha means something: decoded under the limits
                fh.seek(0)
                header = decode_image(fh.read(), min_size=_facts.BORDER_SIDE, path_for_messages=path)[1]
                translucent = header is not None and header.translucent
        except Exception:  # a file we could hash but not re-open (changed, odd EXIF): rank it last
            pass
    return FileInfo(str(path), w, h, st.st_size, st.st_mtime, taken, fmt, camera, translucent=translucent)


def _raw_file_info(path: str | os.PathLike, fh, st: os.stat_result) -> FileInfo:
    """A camera RAW file: LibRaw's displayed size; the EXIF capture date where Pillow reads it (TIFF-shaped RAWs)."""
    try:
        data = fh.read()
    except OSError:
        data = b""
    w, h, fmt, taken, camera = _facts.raw_header_facts(data)
    return FileInfo(str(path), w, h, st.st_size, st.st_mtime, taken, fmt, camera)


def _info_from_facts(path: str, facts: ImageFacts) -> FileInfo | str:
    """A file's FileInfo from facts the scan (or the cache) kept: only its size and time are asked of the
    file system now; the reason it cannot be used now otherwise."""
    try:
        with open_regular_file(path) as fh:  # opened, not read: refuses a FIFO put there since the scan
            st = os.fstat(fh.fileno())
    except OSError as exc:
        return f"cannot read it now ({exc.strerror or exc})"
    return FileInfo(str(path), facts.width, facts.height, st.st_size, st.st_mtime, facts.taken, facts.format,
                    facts.camera, facts.border, True, facts.translucent)


#: names file managers and people give copies: "x copy.jpg", "x - Copy.jpg", "Copy of x.jpg", "x (1).jpg",
#: "x_copy2.jpg"; such a name ranks after the others before the shorter name decides
_COPY_NAME = re.compile(r"^copy of |(?:[ _-]+copy(?: ?\d+)?|[ _]\(\d+\))$", re.IGNORECASE)


def looks_like_a_copy(path: str) -> bool:
    """Is the file's name one a copy gets (see :data:`_COPY_NAME`)?"""
    return bool(_COPY_NAME.search(os.path.splitext(os.path.basename(path))[0]))


def _original_key(f: FileInfo, camera_format_present: bool, source_format_present: bool = False,
                  written: frozenset[str] = frozenset(), raw_present: bool = False,
                  mirrored: Collection[str] = frozenset()) -> tuple:
    # a translucent file (a product cut out on a transparent ground) holds its alpha, which no camera writes and
    # its copy flattened on white (a JPEG) lacks: it is neither a re-save nor a conversion of an opaque file
    derived = camera_format_present and f.format not in _CAMERA_FORMATS and not f.translucent
    # a camera's own JPEG beside a same-size HEIC/AVIF is the original, the other its conversion; beside a raw
    # file or DNG it is still the camera's second output
    converted = (source_format_present and f.format not in _SOURCE_FORMATS
                 and (f.path not in written or raw_present) and not f.translucent)
    # beside a JPEG the camera wrote, any other same-size file (re-save, conversion) was made from it
    after_written = bool(written) and f.path not in written and f.format not in _RAW_FORMATS
    # a file tagged to be shown mirrored was flipped by a tool (no camera writes such a tag): after the same picture
    # stored the right way round (a camera's own file first all the same)
    return (-f.pixels, derived, converted, after_written, f.path in mirrored, not f.translucent,
            int(f.captured // 60),
            looks_like_a_copy(f.path), len(os.path.basename(f.path)), *place_order(f.path))


_RAW_FORMATS = frozenset({"DNG", "RAW"})
_JPEG_FORMATS = frozenset({"JPEG", "MPO"})

#: EXIF Software values of editors and converters (lower case, matched as substrings): a file they saved is not
#: the camera's own, whatever else its EXIF says
_EDITORS = ("photoshop", "lightroom", "gimp", "picasa", "darktable", "rawtherapee", "windows photo", "paint.net",
            "affinity", "imagemagick", "graphicsmagick", "digikam", "luminar", "snapseed", "pixelmator", "acdsee",
            "capture one", "photoscape", "irfanview", "xnview", "shotwell", "krita")

# The IJG's example luminance table (JPEG standard, Annex K), which libjpeg scales by the quality setting: what
# Pillow, GIMP, ImageMagick, browsers and most converters write. Cameras write tables of their own.
_IJG_LUMINANCE = (16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
                  14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                  49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99)
_IJG_TABLES = frozenset(tuple(sorted(min(255, max(1, (v * s + 50) // 100)) for v in _IJG_LUMINANCE))
                        for s in {5000 // q if q < 50 else 200 - 2 * q for q in range(1, 101)})
# ... and the sum of its quality-75 table (libjpeg's default quality): a larger file quantised more coarsely than
# that gets no noise floor taken off its enlargement score. Its noise then fills the fine detail of a smooth
# original as it fills an enlargement's (a quality-50 original beside its half-size copy scored 0.000 with the
# floor taken off, on the tuning split of benchmarks/tune_keeper.py), so the two cannot be told apart by it
_NOISE_FLOOR_COARSEST = sum(min(255, max(1, (v * 50 + 50) // 100)) for v in _IJG_LUMINANCE)


def camera_written(path: str) -> bool:
    """Is the JPEG at ``path`` laid out as a camera writes one? Its EXIF names the camera (make or model) and no
    editor (Software), and it is not what a generic encoder writes: a JFIF header first, then the IJG's scaled
    example quantisation tables (a re-save by Pillow, GIMP, ImageMagick, a browser or a messenger). Of 23 real
    camera and phone JPEGs (camera-photos), all 22 with a make or model pass; a Pillow re-save of any of them at
    any quality keeping the EXIF does not. Read from the header only (no pixels decoded).

    What it cannot tell: a JPEG exported from a HEIC by software that writes as a camera does (EXIF first, tables
    of its own, no editor named) looks like the camera's own file and is then kept over its HEIC; both hold the
    picture at full size, while the mistake this prevents (a quality-60 AVIF kept, the camera file moved) loses
    picture. A camera JPEG written with a JFIF header and the IJG tables (some phones' libjpeg) is not
    recognised, and ranks as before (the finer JPEG of a tie)."""
    try:
        st = os.stat(path)
    except OSError:  # (no mark where the file cannot be read, as its header)
        return False
    return _marks_at(os.fspath(path), st.st_size, st.st_mtime).written


#: EXIF orientations whose display mirrors the stored pixels (2: flipped left-right, 4: top-bottom, 5: transposed,
#: 7: transversed); 1 shows them as stored, 3, 6 and 8 turn them
_MIRRORED_ORIENTATIONS = frozenset({2, 4, 5, 7})
_ORIENTATION = 0x0112


class _Marks(NamedTuple):
    """What the keep rules read of a file's header (no pixels decoded)."""

    written: bool  # a camera wrote it (:func:`camera_written`)
    mirrored: bool  # its EXIF orientation mirrors the stored pixels (:data:`_MIRRORED_ORIENTATIONS`)
    # a JPEG's one grey channel or not, and the sum of its luminance quantisation table (lower: finer quantisation)
    coarseness: tuple[bool, float] | None


def _header_marks(path: str) -> _Marks:
    """:class:`_Marks` of the file at ``path``, from one read of its header; none where it cannot be read."""
    try:
        with open_regular_file(path) as fh:
            head = fh.read(12)
            fh.seek(0)
            with open_header(fh, path) as im:
                exif = header_exif(im)  # (a PNG's getexif decodes it)
                jpeg = im.format in _JPEG_FORMATS
                tables = (getattr(im, "quantization", None) or {}) if jpeg else {}
                luminance = tables.get(0)
                grey = im.mode in ("L", "1")
    except Exception:  # (unreadable now, changed, a header Pillow refuses: no mark, ranked as before)
        return _Marks(False, False, None)
    mirrored = exif.get(_ORIENTATION) in _MIRRORED_ORIENTATIONS
    coarseness = (grey, float(sum(luminance))) if luminance is not None else None
    names = [exif.get(t) for t in (0x010F, 0x0110)]
    software = exif.get(0x0131)
    jfif_first = head[2:4] == b"\xff\xe0" and head[6:11] == b"JFIF\x00"
    written = (jpeg and any(isinstance(v, str) and v.strip(" \x00") for v in names)
               and not (isinstance(software, str) and any(e in software.lower() for e in _EDITORS))
               and not (jfif_first and luminance is not None and tuple(sorted(luminance)) in _IJG_TABLES))
    return _Marks(bool(written), mirrored, coarseness)


def _marks_of(info: FileInfo) -> _Marks:
    """:class:`_Marks` of the file ``info`` describes, read once per file as it is now (:func:`_marks_at`)."""
    return _marks_at(info.path, info.size, info.mtime)


@functools.lru_cache(maxsize=1024)
def _marks_at(path: str, size: int, mtime: float) -> _Marks:
    # once per file as it is now (size and time are in the key): the enlargement test, the sort key, the JPEG
    # quality tie-break, the two choose_keeper calls of a star split from its set and camera_written all ask
    return _header_marks(path)


def _camera_written_among(pool: Sequence[FileInfo]) -> frozenset[str]:
    """The JPEGs of ``pool`` a camera wrote (:func:`camera_written`), looked at only where another file of the
    pool has the same pixel count (a re-save or conversion of it could be there): headers of those only."""
    counts: dict[int, int] = {}
    for f in pool:
        counts[f.pixels] = counts.get(f.pixels, 0) + 1
    return frozenset(f.path for f in pool if counts[f.pixels] > 1 and _cameras_own(f))


def _mirrored_among(tied: Sequence[FileInfo]) -> frozenset[str]:
    """The files of ``tied`` (tied for the keeper on every term of the rule before this one) whose EXIF orientation
    mirrors their stored pixels (2, 4, 5, 7). No camera writes a mirroring tag: such a file is the picture flipped by
    a tool and tagged to be shown the right way round again, made from a file that needs no mirroring (orientation 1
    or a turn). Where copies tied down to their dates, a mirrored one was kept whenever it was the oldest file (the
    orientation examples tagged 1 to 8). Only the headers of ``tied`` are read, only where two files or more tie."""
    if len(tied) < 2:
        return frozenset()
    return frozenset(f.path for f in tied if f.format not in _RAW_FORMATS and _marks_of(f).mirrored)


#: how many leading terms of the ``original`` rule's sort key come before whether a file is mirrored (enlarged, pixels,
#: derived, converted, beside a camera's own JPEG)
_BEFORE_MIRRORED = 5
#: how many leading terms of the ``original`` rule's sort key (enlarged, pixels, derived, converted, beside a
#: camera's own JPEG, mirrored, opaque, capture minute, a copy's name) must tie before JPEG quality is looked at
#: (:func:`_finer_jpeg`): "x copy.jpg" re-saved finer than "x.jpg" (an editor's export at quality 97 of a web photo
#: at 75) is still the copy; the finer table says only that more bytes were spent
_TIED_BEFORE_QUALITY = 9


def _finer_jpeg(ranked: Sequence[FileInfo], key) -> FileInfo:
    """Of files tied on every term of the ``original`` rule down to a copy's name, all JPEGs (a messenger's
    or an editor's re-encode of the same size, dates stripped or equal), a colour one before a grey one (a grey
    conversion, however finely saved, lost the colour), then the one quantised most finely: a re-encode never adds
    detail, and a person keeps the better one. Only ties are read."""
    best = ranked[0]
    tied = [f for f in ranked if key(f)[:_TIED_BEFORE_QUALITY] == key(best)[:_TIED_BEFORE_QUALITY]]
    if len(tied) < 2 or any(f.format != "JPEG" for f in tied):
        return best
    coarse = {f.path: _marks_of(f).coarseness for f in tied}
    if any(c is None for c in coarse.values()) or len(set(coarse.values())) == 1:
        return best
    return min(tied, key=lambda f: (coarse[f.path], key(f)))


def enlargement_score(larger: FileInfo, smaller: FileInfo) -> float | None:
    """How much of ``larger``'s finest detail the smaller file cannot explain: near 0 for an enlargement of
    ``smaller``, near 1 or more for a picture ``smaller`` was made from by shrinking it. None: not comparable
    (a file cannot be decoded now, or the smaller one has no detail to measure).

    Of the central region of ``smaller`` (up to 384 px a side) and the same region of ``larger``: the least
    mean squared difference, in grey levels, between ``larger`` and ``smaller`` enlarged to its size by
    bilinear, bicubic or Lanczos resampling (what an enlargement would have used), divided by the detail
    ``smaller`` itself holds over the same ratio of scales (its region less its own shrunk-and-enlarged
    self). Both are medians over an 8 x 8 grid of cells, so a caption or watermark written on one cell
    does not count. Where the larger file is a JPEG decoded at full size, its noise floor is taken off the
    difference first: what the best-fitting enlargement differs by once saved with the larger file's own
    luminance table (an enlargement saved at quality 90 differs from the smaller file enlarged by that
    noise, which on a small, soft photo is a third of its own detail; a real original's fine detail is
    not noise of that kind). It is not taken off where it exceeds the smaller file's detail, nor where the
    larger file is quantised more coarsely than libjpeg's quality 75: there is then no fine detail left
    to tell by. The cost is decoding both files: the smaller at full size, the
    larger (a JPEG) at the smallest DCT scale that leaves it 1.4 times the smaller one's size, and one
    JPEG encode of the compared region.
    """
    return _enlargement_score(larger, smaller)


@functools.lru_cache(maxsize=256)
def _enlargement_score(larger: FileInfo, smaller: FileInfo) -> float | None:
    return _enlargement_of(larger, smaller)


def _enlargement_of(larger: FileInfo, smaller: FileInfo, larger_bytes: bytes | None = None,
                    smaller_bytes: bytes | None = None) -> float | None:
    """:func:`enlargement_score`, of the files' bytes given (read already: the content a score is kept for), else
    of the files as they are now."""
    # the larger one (a JPEG) at the smallest DCT scale still 1.4 times the smaller: a thumbnail's original is
    # decoded at 1/8, a 2x enlargement at full size
    wanted = math.ceil(1.4 * max(smaller.width, smaller.height))
    if not _decodes_within_limit((larger.path if larger_bytes is None else larger_bytes, wanted),
                                 (smaller.path if smaller_bytes is None else smaller_bytes, None)):
        return None  # (both decodes held at once, each under io's limit: together over it, no verdict)
    big = _decode(larger.path, min_size=wanted, data=larger_bytes)
    small = _decode(smaller.path, data=smaller_bytes) if big is not None else None
    if big is None or small is None:  # unreadable now, changed, too large, too slow: no verdict, ranks kept
        return None
    # the JPEG noise floor, from the larger file's own luminance table: only where it was decoded at full size
    # (a reduced DCT decode averages its quantisation noise away)
    table = (_luminance_table(larger.path, larger_bytes) if larger.format in _JPEG_FORMATS
             and big.size == (larger.width, larger.height) else None)
    return _unexplained_detail(big, small.convert("L"), table)


def _luminance_table(path: str, data: bytes | None = None) -> tuple[int, ...] | None:
    """A JPEG's luminance quantisation table (64 values, from its header: no pixels decoded), or None."""
    import io

    try:
        with (open_regular_file(path) if data is None else io.BytesIO(data)) as fh, \
                quiet_decoder_warnings(), Image.open(fh, formats=["JPEG", "MPO"]) as im:
            tables = getattr(im, "quantization", None) or {}
            table = tables.get(0)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return tuple(int(v) for v in table) if table is not None and len(table) == 64 else None


def _jpeg_noise(picture: Image.Image, table: Sequence[int]) -> np.ndarray:
    """``picture`` (grey) saved as a JPEG with quantisation ``table`` and decoded again: what saving an
    enlargement as the larger file was saved adds to it."""
    import io

    buf = io.BytesIO()
    picture.save(buf, "JPEG", qtables=[list(table)])
    buf.seek(0)
    with Image.open(buf) as again:
        return np.asarray(again.convert("L"), np.float32)


def _unexplained_detail(big: Image.Image, small: Image.Image,
                        table: Sequence[int] | None = None) -> float | None:
    """enlargement_score of two decoded pictures (``small`` in grey); ``table``: the larger file's JPEG
    luminance table, whose noise floor is then taken off."""
    rx, ry = big.width / small.width, big.height / small.height
    side_x = min(small.width, _COMPARE_SIDE, math.floor(_COMPARE_LARGER_SIDE / max(rx, 1.0)))
    side_y = min(small.height, _COMPARE_SIDE, math.floor(_COMPARE_LARGER_SIDE / max(ry, 1.0)))
    if side_x < min(small.width, _COMPARE_MIN_SIDE) or side_y < min(small.height, _COMPARE_MIN_SIDE):
        return None  # enlarged so many times that the region the larger file allows is a few pixels of it
    bx, by = (small.width - side_x) // 2, (small.height - side_y) // 2
    region = (bx * rx, by * ry, (bx + side_x) * rx, (by + side_y) * ry)
    box = tuple(round(v) for v in region)
    target = np.asarray(big.crop(box).convert("L"), np.float32)
    size = (box[2] - box[0], box[3] - box[1])
    source = tuple(v / r for v, r in zip(box, (rx, ry, rx, ry)))  # the same region in the smaller file
    kernels = (Image.Resampling.BILINEAR, Image.Resampling.BICUBIC, Image.Resampling.LANCZOS)
    enlarged = [small.resize(size, k, box=source) for k in kernels]
    residues = [_cell_median((target - np.asarray(e, np.float32)) ** 2) for e in enlarged]
    unexplained = min(residues)
    own = small.crop((bx, by, bx + side_x, by + side_y))
    shrunk = own.resize((max(1, round(side_x / rx)), max(1, round(side_y / ry))), Image.Resampling.BOX)
    own_a = np.asarray(own, np.float32)
    detail = min(_cell_median((own_a - np.asarray(shrunk.resize(own.size, k), np.float32)) ** 2) for k in kernels)
    if detail < 0.05:
        return None  # a flat picture: nothing to tell them apart by
    if table is not None and sum(table) <= _NOISE_FLOOR_COARSEST:  # (coarser: no telling noise from detail)
        # an enlargement saved as a JPEG differs from the smaller file enlarged by the JPEG's own noise: what
        # the best-fitting enlargement, saved with the larger file's table, differs by is not unexplained detail
        best = enlarged[residues.index(unexplained)]
        floor = _cell_median((_jpeg_noise(best, table) - np.asarray(best, np.float32)) ** 2)
        if floor <= _NOISE_FLOOR_AT_MOST * detail:
            unexplained = max(0.0, unexplained - floor)
    return unexplained / detail


def _decodes_within_limit(*decodes: tuple[str | bytes, int | None]) -> bool:
    """Whether the decodes of a look, held at once, cost no more than io's limit on one decode
    (:data:`~imagetwins.io.DEFAULT_MAX_DECODED_BYTES`; :func:`~imagetwins.io.decode_plan` of each file or its bytes at
    its ``min_size``, from the headers): a PNG, TIFF or WebP is decoded whole, and the enlargement check held two of
    them, each under the limit (two 12,000 px PNGs: up to 2 GB). True where a header cannot be read (the decode then
    says why)."""
    from imagetwins import io as image_io

    try:
        cost = sum(image_io.decode_plan(source, min_size)[1] for source, min_size in decodes)
    except (ImageReadError, OSError, ValueError):
        return True
    return cost <= image_io.DEFAULT_MAX_DECODED_BYTES


def _decode(path: str, min_size: int | None = None, data: bytes | None = None):
    """One file (or its bytes ``data``, read already) decoded as the scan decodes it: the same pixel, size and memory
    limits (``io.open_image``) and, on a daemon thread, the same time limit (``encoding.DECODE_TIMEOUT``); None when
    it fails or is too slow."""
    from imagetwins import encoding
    from imagetwins.io import open_image  # (io decodes; keep otherwise only reads headers)

    pool = encoding.DecodePool(1)
    try:
        return pool.submit(functools.partial(open_image, path if data is None else data, min_size,
                                             path_for_messages=path)).result(timeout=encoding.DECODE_TIMEOUT)
    except Exception:  # ImageReadError, a decoder's own error, or the time limit
        return None
    finally:
        pool.shutdown()  # a decode past the limit finishes on its daemon thread; the run goes on


def _cell_median(squared: np.ndarray, grid: int = 8) -> float:
    h, w = squared.shape[0] // grid, squared.shape[1] // grid
    if h == 0 or w == 0:
        return float(squared.mean())
    return float(np.median(squared[:h * grid, :w * grid].reshape(grid, h, grid, w).mean(axis=(1, 3))))


#: how an enlargement score is had: :func:`enlargement_score`, or the one a cache kept (see decide_result)
Scorer = Callable[[FileInfo, FileInfo], "float | None"]


def _larger_first(f: FileInfo) -> tuple[int, str]:
    """The order files are tested in by size, the larger first; of one size, by path: a group's keeper does not
    depend on the order its files are listed in (a star's files are listed keeper first, its set's as found)."""
    return -f.pixels, f.path


def enlarged_from(infos: Sequence[FileInfo], score: Scorer | None = None) -> dict[str, str]:
    """The files of a group taken for enlargements: ``{larger: the smaller file it could be made from}``.

    Only a file with no camera make or model in its EXIF (a camera's own file is no enlargement) is tested, largest
    first, and only while each is found to be an enlargement, against the files of the same shape with at least 1.4
    times fewer pixels (1.02 times where the smaller one is the JPEG a camera wrote, :func:`camera_written`, whose
    larger copy cannot be its source), the largest first: :func:`enlargement_score` below 0.05, or below 1.2 when
    the smaller file names its camera and so is a camera's own picture. Upscaling adds pixels but no detail, so a
    2x-enlarged, watermarked copy must not outrank the picture it was made from. A smaller file may be an
    enlargement itself, holding none of the detail the test measures (a 1.6x copy beside a 1.345x copy of one
    original scored 0.25 and was kept; against the original 0.002): where the score says the larger file holds
    little detail the smaller lacks (below :data:`_ENLARGED_WALK`: enlargements of one picture 0.07-0.84, where an
    original beside its copy half its size scores 0.24-22), the next smaller file is tried, at most
    :data:`_ENLARGED_CHAIN` a file, and a file found to be the source of one enlargement is tried first for the
    others (a crowd of 20 enlargements of one photo costs about 20 tests more than its first).
    """
    by_size = sorted(infos, key=_larger_first)
    scorer = score or _enlargement_score
    found: list[FileInfo] = []  # the sources found so far: tried first

    def candidates(big: FileInfo) -> list[FileInfo]:
        out = [small for small in by_size if 0 < small.pixels * _ENLARGED_MIN_PIXEL_RATIO_CAMERA <= big.pixels
               # (another shape: cropped or padded, not an enlargement of it)
               and abs(big.width * small.height - big.height * small.width) <= 0.02 * big.width * small.height
               and (big.pixels >= _ENLARGED_MIN_PIXEL_RATIO * small.pixels or _cameras_own(small))]
        return [f for f in found if f in out] + [f for f in out if f not in found]

    def source(big: FileInfo) -> FileInfo | None:
        if big.camera:
            return None
        for tests, small in enumerate(candidates(big), 1):
            got = scorer(big, small)
            if got is not None and got < (_ENLARGED_BELOW_CAMERA if small.camera else _ENLARGED_BELOW):
                if small not in found:
                    found.append(small)
                return small
            # detail the smaller file lacks; a file smaller still is tried only where that was little (the smaller
            # one may be an enlargement of the picture itself)
            if got is None or got >= _ENLARGED_WALK or tests >= _ENLARGED_CHAIN:
                return None
        return None

    out: dict[str, str] = {}
    for big in by_size:
        small = source(big)
        if small is None:
            break
        out[big.path] = small.path
    return out


def _cameras_own(f: FileInfo) -> bool:
    """Whether ``f`` is the JPEG a camera wrote: its EXIF names the camera and records this file's size, and its
    header is laid out as a camera lays one out, no editor named (:func:`camera_written`: an editor's export that
    writes the new size into the EXIF is not)."""
    return f.camera and f.format in _JPEG_FORMATS and _marks_of(f).written


#: a file whose uniform border (padding, letterbox) is larger by this share of its area than another
#: file's of its group ranks after that file: the border adds pixels, not picture
_PADDED_SHARE = 0.05


#: a share of a side below which a file counts as having no border across that side (rounding of the measure)
_NO_BORDER = 0.02


def _bordered_sides(share: float, inner_aspect: float, whole_aspect: float) -> tuple[float, float]:
    """The share of the width and of the height that a border takes, from its share of the area and the aspect
    ratio inside it (:func:`imagetwins.facts.border_of`) and of the whole frame: left and right bars together,
    top and bottom bars together."""
    inside = max(0.0, 1.0 - share)
    width = math.sqrt(inside * inner_aspect / whole_aspect)  # inside width / whole width
    height = math.sqrt(inside * whole_aspect / inner_aspect)
    return max(0.0, 1.0 - width), max(0.0, 1.0 - height)


def _border(path: str) -> tuple[float, float] | None:
    """:func:`imagetwins.facts.border_of` a small decode of a file the scan did not measure (None: could not tell)."""
    img = _decode(path, _facts.BORDER_SIDE)  # the scan's limits, time included
    if img is None:  # unreadable now, a FIFO, over a limit: no verdict, the usual rank
        return None
    return _facts.border_of(img)


@functools.lru_cache(maxsize=1024)
def _border_of(info: FileInfo) -> tuple[float, float] | None:
    # once per file as it is now (size and time are in the key): choose_keeper and decide both ask
    return _border(info.path)


def padded_copies(infos: Sequence[FileInfo]) -> set[str]:
    """Files of a group that carry a uniform border (padding, letterbox) another file of the group does
    not, and have more pixels than it: padded copies of it. Only groups whose files differ in pixel count
    are looked at (a border adds pixels), so exact copies and re-saves cost nothing. A picture whose own
    edge is flat (sky, a studio background) shows about the same border in every copy: only a border
    larger by :data:`_PADDED_SHARE` of the picture counts, and only when what lies inside it has the shape of
    the file without the border: of the picture inside that file's own border, or of its whole frame (a sky
    at its edge reads as a border in the original; padding of another colour leaves that sky inside). In the
    second case a border across a pair of sides where the plain file has none (left and right, or top and
    bottom) counts too, however large the plain file's own edge was."""
    if len(infos) < 2 or len({f.pixels for f in infos}) < 2:
        return set()
    borders = {f.path: f.border if f.measured else _border_of(f) for f in infos}
    readable = [f for f in infos if borders[f.path] is not None]
    if not readable:
        return set()
    plain = min(readable, key=lambda f: (borders[f.path][0], *_larger_first(f)))
    share, aspect = borders[plain.path]

    whole = plain.width / plain.height if plain.height else aspect
    plain_sides = _bordered_sides(share, aspect, whole)

    def padded(f: FileInfo) -> bool:
        # a larger border, and inside it the same picture: the same shape as the plain file's (an overexposed
        # sky reads as a border in one copy and not in a blurred one, but cutting it changes the shape), or as
        # the plain file's whole frame: its own flat edge (a sky) reads as a border in it, while in a copy
        # padded with another colour that edge lies inside the padding, and the picture inside is all of it.
        # Then the padding need not be larger than the sky was, but it lies across sides where the plain file
        # has no border at all (a frame around a photo whose sky reads as a bar at its top)
        s, a = borders[f.path]
        if f.pixels <= plain.pixels:
            return False
        if abs(a / aspect - 1) <= 0.03:
            return s >= share + _PADDED_SHARE
        if abs(a / whole - 1) > 0.03 or not f.height:
            return False
        sides = _bordered_sides(s, a, f.width / f.height)
        return s >= share + _PADDED_SHARE or any(
            mine >= _PADDED_SHARE and theirs <= _NO_BORDER for mine, theirs in zip(sides, plain_sides))

    return {f.path for f in readable if padded(f)}


#: a file holding another file's whole picture framed by no scene (:func:`framed_copies`) ranks after it when that
#: file holds the picture at this share of a side of the framed one's picture or more (the same or near resolution:
#: a thumbnail beside a photo on a background does not send the photo away; a picture framed at more pixels than that
#: is looked at by the method's check, which counts one enlarged from the plain file at the plain file's size:
#: ``copies.FRAMED_LOOK_SIDE``, its inverse)
_FRAMED_NEAR = 0.8
#: the most files of a group one file is checked against (:func:`framed_copies`)
FRAMED_CHECKS = 4


class Framing:
    """What the search's method says of a group's files on a canvas (:meth:`imagetwins.encoders.Encoder.on_canvas`,
    :meth:`~imagetwins.encoders.Encoder.framed_pictures`), for :func:`framed_copies`: ``on_canvas(f)``, and
    ``picture(big, small)``: how many of ``big``'s pixels hold ``small``'s whole picture framed by no scene (0: not
    so; NaN: no answer this run, not kept). Each pair of contents is checked once a run (``checks`` counts them), and
    once at all where the answers are kept in the run's store (:meth:`keep_in`)."""

    #: the store's name for the pictures found framed (a pair of contents: the framed file's, then the plain one's)
    METHOD = "keep:framed"

    def __init__(self, on_canvas: Callable[[FileInfo], bool], picture: Callable[[FileInfo, FileInfo], float],
                 shows_more: Callable[[FileInfo, FileInfo], bool] | None = None,
                 content: Callable[[FileInfo], object] | None = None, version: str | None = None) -> None:
        self._on_canvas, self._picture, self._shows_more = on_canvas, picture, shows_more
        self._content = content
        self.version = version  # (what the answers depend on: None, they are not kept between runs)
        self.kept: _KeptScores | None = None
        self.known: dict[tuple[object, object], float] = {}
        self.checks = 0

    def keep_in(self, kept: _KeptScores | None) -> Framing:
        """Answers read from and kept in ``kept``'s store (by both files' scanned contents, under :attr:`METHOD`
        and the method's :attr:`~imagetwins.encoders.Encoder.framed_version`): a re-run checks no pair again."""
        self.kept = kept if self.version is not None else None
        return self

    def content(self, f: FileInfo) -> object:
        """What ``f`` holds, as far as a check can tell (its content digest; without one, its path): byte copies are
        checked once."""
        return f.path if self._content is None else self._content(f)

    def shows_more(self, big: FileInfo, small: FileInfo) -> bool:
        """Whether ``big`` shows scene ``small`` lacks (``small`` a crop of it; :meth:`Encoder.shows_more`)."""
        return self._shows_more is not None and self._shows_more(big, small)

    def on_canvas(self, f: FileInfo) -> bool:
        return self._on_canvas(f)

    def picture(self, big: FileInfo, small: FileInfo) -> float:
        key = (self.content(big), self.content(small))
        if key not in self.known:  # (known: asked this run; the order of checks reads it, not the store)
            self.known[key] = self._kept_picture(big, small)
        return self.known[key]

    def _kept_picture(self, big: FileInfo, small: FileInfo) -> float:
        kept = self.kept
        a, b = (None, None) if kept is None else (kept.keys.get(big.path), kept.keys.get(small.path))
        if kept is None or a is None or b is None or self.version is None:
            self.checks += 1
            return self._picture(big, small)
        got = kept._lookup(self.METHOD, self.version, [(a, b)]).get((a, b))
        if got is not None and math.isfinite(got):
            return got
        self.checks += 1
        found = self._picture(big, small)
        if math.isfinite(found):  # (NaN: no answer this run, e.g. a look at the files failed: asked again next run)
            kept._keep(self.METHOD, self.version, [(a, b, found)])
        return found

    @classmethod
    def of(cls, result: FindResult) -> Framing | None:
        """The framing of ``result``'s method over its rows, or None where the method looks at no picture."""
        from imagetwins.encoders import get_encoder

        try:
            encoder = get_encoder(result.method)
        except ValueError:  # (a result made elsewhere, with a method this process does not know)
            return None
        rows = result.hashes
        if rows is None or len(rows) != len(result.files):
            return None
        canvas = encoder.on_canvas(rows)
        if canvas is None:
            return None
        index = {p: i for i, p in enumerate(result.files)}
        threshold = result.threshold

        def on_canvas(f: FileInfo) -> bool:
            i = index.get(f.path)
            return i is not None and bool(canvas[i])

        def picture(big: FileInfo, small: FileInfo) -> float:
            i, j = index.get(big.path), index.get(small.path)
            if i is None or j is None:
                return 0.0
            got = encoder.framed_pictures(rows, np.array([i]), np.array([j]), threshold, paths=result.files)
            return 0.0 if got is None else float(got[0])

        def shows_more(big: FileInfo, small: FileInfo) -> bool:
            i, j = index.get(big.path), index.get(small.path)
            return i is not None and j is not None and bool(encoder.shows_more(rows, i, j, threshold,
                                                                               paths=result.files))

        digests = {p: d.key for p, d in zip(result.files, result.digests)} if result.digests else {}
        version = encoder.framed_version
        if version is not None:  # (the search's threshold too: a pair no copy at it is found framed by none)
            version = f"{version}-t{threshold}"
        return cls(on_canvas, picture, shows_more,
                   lambda f: digests.get(f.path) or f.path, version)


def framed_copies(infos: Sequence[FileInfo], framing: Framing | None,
                  after: Collection[str] = frozenset()) -> set[str]:
    """Files of a group that hold another file's whole picture with a frame of no scene around it (a picture on a
    background, a screenshot's bars and caption, a rotated copy's grown canvas, a photo of a screen: the check of the
    pair says so, :meth:`imagetwins.encoders.Encoder.framed_pictures`) where that file holds the picture at
    :data:`_FRAMED_NEAR` of a side or more: the frame adds pixels, not picture. Largest first, and only while each is
    found framed (the first that is not is kept before all smaller files anyway); a camera's own file is never looked
    at. Each is checked against at most :data:`FRAMED_CHECKS` smaller files, those whose size other files share first
    (the original's: a re-save, a caption, a colour change keep it), then the larger; a file with no canvas found
    (:meth:`~imagetwins.encoders.Encoder.on_canvas`: a background the canvas finder misses) only where no other file
    shares its size, and against smaller files of another shape only. One check was too few: the first file of the
    original's size may be a blurred copy that shows a combination (stickers, then a background) framed around nothing,
    and the largest file of another shape a framed copy itself. ``after``: files ranked after the rest already
    (enlargements, padded copies), passed over. A crop is never found so (more of the scene lies around it in the larger
    file), so an original still goes before its crops. A picture framed at a higher resolution than the plain file (a
    portrait photo enlarged to fill a phone screen) counts at the plain file's size where the method finds it enlarged
    from it (``copies``: a look at the files, ``copies.FRAMED_ENLARGED_BELOW``), else keeps its place."""
    if framing is None or len(infos) < 2 or len({f.pixels for f in infos}) < 2:
        return set()
    by_size = sorted(infos, key=_larger_first)
    # the files others share their size with first (edits that keep the picture's size: a re-save, a caption, a
    # colour change), then the larger: the original's shape, where framed copies (their canvas not found) of other
    # shapes may be larger than it
    # (distinct contents: 300 byte copies of a screenshot share their size with nothing)
    sized: dict[tuple[int, int], set] = {}
    for f in infos:
        sized.setdefault((f.width, f.height), set()).add(framing.content(f))
    shared = {size: len(contents) for size, contents in sized.items()}
    out: set[str] = set()
    for big in by_size:
        if big.path in after:
            continue
        if big.camera:  # a camera's own file frames nothing
            break
        canvas = framing.on_canvas(big)
        if not canvas and shared[(big.width, big.height)] > 1:  # (its size shared: edits of it, not a frame's)
            break
        # (a file found framed around one of them already first: the stars of one set ask again, the check is not)
        plain = sorted((f for f in by_size if 0 < f.pixels < big.pixels and f.path not in after
                        and (canvas or not _same_shape(big, f))),
                       key=lambda f: (not framing.known.get((framing.content(big), framing.content(f))),
                                      -shared[(f.width, f.height)], -f.pixels))
        firsts: dict[object, FileInfo] = {}  # (one file a content: the first)
        for f in plain:
            firsts.setdefault(framing.content(f), f)
        plain = list(firsts.values())[:FRAMED_CHECKS]
        if not any(f.pixels >= _FRAMED_NEAR ** 2 * area > 0 for f in plain
                   for area in [framing.picture(big, f)]):
            break
        out.add(big.path)
    return out


def _same_shape(a: FileInfo, b: FileInfo, within: float = 0.03) -> bool:
    """Whether two files have one aspect ratio (within ``within``). Not the other way round: a larger file of the
    other file's shape turned a quarter is no enlargement of it, but may be it turned by an angle near 90 degrees on a
    grown canvas (fam-camera-photos g0000, g0002: 794 x 1044 beside 1024 x 768, never checked against the original)."""
    if not (a.width and a.height and b.width and b.height):
        return True
    return abs((a.width / a.height) / (b.width / b.height) - 1) <= within


def _sort_key(rule: str, camera_format_present: bool, enlarged: frozenset[str] = frozenset(),
              source_format_present: bool = False, written: frozenset[str] = frozenset(), raw_present: bool = False,
              shots: Mapping[str, float] | None = None, mirrored: Collection[str] = frozenset()):
    def key(f: FileInfo) -> tuple:
        base = (f.path in enlarged,) + _original_key(f, camera_format_present, source_format_present, written,
                                                     raw_present, mirrored)
        if rule == "best":
            return (-(shots or {}).get(f.path, float("-inf")),) + base
        return {"original": (), "largest": (-f.size,), "smallest": (f.size,), "newest": (-f.captured,),
                "oldest": (f.captured,)}[rule] + base
    return key


def through_links(paths: Sequence[str], roots: Sequence[str | os.PathLike]) -> frozenset[str]:
    """The files of ``paths`` that lie outside every one of ``roots`` once links are resolved: reached through a
    symbolic link a scan followed (``follow_symlinks`` follows only links leading outside). ``remove`` neither moves
    nor keeps such a file in place of another (:func:`imagetwins.quarantine.why_not_movable`), so no keep decision
    chooses one while its group has another file."""
    inside = set(in_reference_folders(paths, roots))  # (a link loop lies inside none: not one to keep either)
    return frozenset(p for p in paths if p not in inside)


def followed_through_links(result: FindResult, paths: Sequence[str]) -> frozenset[str]:
    """The files of ``paths`` reached through a symbolic link the scan of ``result`` followed (``--follow-symlinks``:
    its keepers were decided with the scanned folders, ``decide_keepers(roots=...)``); none for a scan that followed
    no link. Every output that says what ``remove`` does with a group's files asks this (a plan, the review page)."""
    policy = result.keep_policy
    roots = policy[3] if policy is not None and len(policy) > 3 else ()
    return through_links(paths, roots) if roots else frozenset()


def keepers_beside_unnamed_references(decisions: Sequence[Decision], keep_in: Sequence[str | os.PathLike]
                                      ) -> list[tuple[str, str]]:
    """(keeper, reference file) of each group whose keeper lies outside the reference folders ``keep_in`` although
    files of it lie inside: those are all named as no image (``IMG.jpg.bak``, :func:`choose_keeper`), so they stay
    beside an image-named keeper. What the CLI says in a note, so that ``--keep-in`` is not thought ignored."""
    out = []
    for d in decisions if keep_in else ():
        inside = in_reference_folders(d.keep, keep_in)  # (the keeper first, where it lies inside)
        if d.keeper is not None and inside and inside[0] != d.keeper and not any(map(named_as_image, inside)):
            out.append((d.keeper, inside[0]))
    return out


def in_reference_folders(paths: Sequence[str], keep_in: str | os.PathLike | Sequence[str | os.PathLike]
                         ) -> list[str]:
    """Of ``paths``, those inside a reference folder of ``keep_in`` (by real path; a path that cannot be resolved,
    a link loop, lies inside none), in their order: kept whichever file a person picks as its group's keeper (a
    plan's ``reference``, the review page's "kept (reference folder)"). The one test of the keep stage's
    (:func:`choose_keeper`, :func:`decide`) and of the scanned folders' (:func:`through_links`)."""
    if not keep_in:
        return []
    folders = [Path(f).resolve() for f in reference_folders(keep_in)]

    def inside(path: str) -> bool:
        try:
            real = Path(path).resolve()
        except (OSError, RuntimeError):  # (a link loop)
            return False
        return any(real.is_relative_to(f) for f in folders)

    return [p for p in paths if inside(p)]


def choose_keeper(infos: Sequence[FileInfo], keep_in: Sequence[str | os.PathLike] = (),
                  rule: str = "original", score: Scorer | None = None, prefer: Collection[str] = (),
                  places: CopiedFolders | None = None, avoid: Collection[str] = (),
                  framing: Framing | None = None) -> FileInfo:
    """The one file to keep from a group (see the module docstring for the rules); ``score`` as in
    :func:`enlarged_from`; ``prefer``: files a person chose to keep (:mod:`imagetwins.decisions`), chosen among
    before the rule, after reference folders; ``places``: the search's folders that are copies of others
    (:class:`imagetwins.folder_copies.CopiedFolders`), asked only where files tie on every term before their
    places (without: the place alone, :func:`imagetwins.folder_copies.place_order`); ``avoid``: files never
    chosen while another file of the group may be (reached through a followed symbolic link, :func:`through_links`:
    ``remove`` never moves nor keeps one, so ``find`` keeps one of the others too). Then a file named as an image
    (:func:`imagetwins.io.named_as_image`) is kept before one found by its first bytes alone (``IMG.jpg.bak``); a
    reference folder holding only such files gives no keeper of them where the group has an image-named file (one
    not to ``avoid``): the keeper is chosen as without the folder, whose files :func:`decide` keeps all the same.
    ``framing``: what the search's method says of files on a canvas (:func:`framed_copies`; None: nothing)."""
    if not infos:
        raise ValueError("an empty group has nothing to keep")
    if rule not in KEEP_RULES:
        raise ValueError(f"unknown keep rule {rule!r}; expected one of {', '.join(KEEP_RULES)}")
    reference = set(in_reference_folders([f.path for f in infos], keep_in))
    inside = [f for f in infos if f.path in reference]
    if inside and not any(named_as_image(f.path) for f in inside) and any(
            named_as_image(f.path) and f.path not in avoid for f in infos):
        # a reference folder whose only copies are taken by their bytes (IMG.jpg.bak): they are kept (decide keeps
        # every file there) but are not the keeper, or the photo's one image-named copy elsewhere would move
        inside = []
    pool = inside or [f for f in infos if f.path in prefer] or list(infos)
    if avoid:
        pool = [f for f in pool if f.path not in avoid] or pool
    # a file taken by its bytes under another name (a backup, IMG.jpg.bak; no extension) is never the copy left in
    # place of one named as an image: applications, and the person, look for the photo under an image's name
    pool = [f for f in pool if named_as_image(f.path)] or pool
    if rule == "best" and len(pool) > 1:
        return _best_shot(pool, infos, score, places, framing)
    key = _rule_key(rule, pool, infos, score, places, framing=framing)
    if rule != "original" or len(pool) < 2:
        return min(pool, key=key)
    return _finer_jpeg(sorted(pool, key=key), key)


def _padded_showing_nothing_more(pool: Sequence[FileInfo], framing: Framing | None) -> frozenset[str]:
    """:func:`padded_copies` of ``pool`` less those the search's check finds showing scene a smaller file lacks
    (:meth:`Framing.shows_more`: that file a crop of it, as a scanned print with its paper margins beside a crop that
    cuts into the picture; the margins read as padding, the crop as the plain file). Checked against the
    :data:`FRAMED_CHECKS` largest smaller files; padded copies are rare, so are the checks."""
    padded = padded_copies(pool)
    if not padded or framing is None:
        return frozenset(padded)
    by_path = {f.path: f for f in pool}
    out = set()
    for p in padded:
        big = by_path[p]
        smaller = sorted((f for f in pool if f.pixels < big.pixels and f.path not in padded), key=_larger_first)
        if not any(framing.shows_more(big, f) for f in smaller[:FRAMED_CHECKS]):
            out.add(p)
    return frozenset(out)


def _rule_key(rule: str, pool: Sequence[FileInfo], infos: Sequence[FileInfo], score: Scorer | None,
              places: CopiedFolders | None, shots: Mapping[str, float] | None = None,
              framing: Framing | None = None):
    """The sort key of ``rule`` over ``pool`` (the candidates; ``infos``: the whole group), smallest kept."""
    camera = any(f.format in _CAMERA_FORMATS for f in infos)
    enlarged = frozenset()
    if rule == "original" and len(pool) > 1:
        # an enlargement, a padded copy or a picture framed on a canvas has more pixels than the file it was made
        # from, but no more picture
        enlarged = frozenset(enlarged_from(pool, score)) | _padded_showing_nothing_more(pool, framing)
        enlarged |= framed_copies(pool, framing, enlarged)
    source = any(f.format in _SOURCE_FORMATS for f in infos)
    written = _camera_written_among(pool) if len(pool) > 1 else frozenset()
    raw = any(f.format in _RAW_FORMATS for f in infos)
    mirrored: set[str] = set()  # (the key reads it at each call: filled below, before any file is ranked by it)
    key = _sort_key(rule, camera, enlarged, source, written, raw, shots, mirrored)
    # whether a file is mirrored is read only of the files tied for the keeper on the terms before that one
    before = (0 if rule == "original" else 1) + _BEFORE_MIRRORED
    first = min(key(f)[:before] for f in pool)
    mirrored.update(_mirrored_among([f for f in pool if key(f)[:before] == first]))
    return _placed(key, pool, places)


def _best_shot(pool: Sequence[FileInfo], infos: Sequence[FileInfo], score: Scorer | None,
               places: CopiedFolders | None, framing: Framing | None = None) -> FileInfo:
    """The ``best`` rule: the best shot among the group's captures. Copies of one capture (a grey, cropped, mirrored
    or re-saved copy beside the shot it was made from, :func:`imagetwins.shots.captures`) are one candidate, the file
    the ``original`` rule keeps of them, so an edited copy never outranks its original on sharpness or exposure;
    only where that rule ties down to names and places (copies of one size, format, quality and date: a blurred or
    darkened copy) does the shot decide among them too. Every shot is measured at the largest file's size: a
    downscaled shot then lacks the detail a blurred one lacks."""
    from imagetwins.shots import captures, shot_score

    kept = score if isinstance(score, _KeptScores) else None  # (the run's store: a re-run measures nothing again)
    side = max(max(f.width, f.height) for f in infos)
    measured: dict[str, float] = {}

    def shot(f: FileInfo) -> float:
        if f.path not in measured:
            measured[f.path] = kept.shot(f, side) if kept is not None else shot_score(f.path, side)
        return measured[f.path]

    def grade(f: FileInfo):
        return _marks_of(f).coarseness if f.format == "JPEG" else None

    by_path = {f.path: f for f in pool}
    candidates = []
    for capture in (kept.captures if kept is not None else captures)(list(by_path)):
        members = [by_path[p] for p in capture]
        if len(members) > 1:
            key = _rule_key("original", members, members, score, places, framing=framing)
            first = _finer_jpeg(sorted(members, key=key), key)
            tied = [f for f in members if key(f)[:_TIED_BEFORE_QUALITY] == key(first)[:_TIED_BEFORE_QUALITY]
                    and grade(f) == grade(first)]
            members = [min(tied, key=lambda f: (-shot(f), key(f)))] if len(tied) > 1 else [first]
        candidates += members
    if len(candidates) == 1:
        return candidates[0]
    key = _rule_key("best", candidates, infos, score, places, {f.path: shot(f) for f in candidates}, framing)
    return min(candidates, key=key)


_PLACE_TERMS = len(place_order(""))


def _placed(key, pool: Sequence[FileInfo], places: CopiedFolders | None):
    """``key`` with its place terms (:func:`place_order`, last) preceded by whether the file lies in a folder that
    is a copy of another (``places``), where two files of ``pool`` in different folders tie on every term before
    them: the folders are looked for only then."""
    if places is None or len(pool) < 2:
        return key
    heads: dict[tuple, str] = {}
    for f in pool:
        head, folder = key(f)[:-_PLACE_TERMS], os.path.dirname(os.path.abspath(f.path))
        if heads.setdefault(head, folder) != folder:
            return lambda f: key(f)[:-_PLACE_TERMS] + places.order(f.path)
    return key


def _raw_pairs(paths: Sequence[str], kept: Sequence[str]) -> list[str]:
    """The other half of each RAW + JPEG pair (same folder, same name but the extension) among ``kept``."""
    def stem(p: str) -> tuple[str, str]:
        return os.path.dirname(p), os.path.splitext(os.path.basename(p))[0].lower()

    raws = {stem(p) for p in paths if is_raw_name(p)}
    others = {stem(p) for p in paths if not is_raw_name(p)}
    pairs = raws & others
    kept_stems = {stem(p) for p in kept}
    return [p for p in paths if stem(p) in pairs and stem(p) in kept_stems]


def decide(infos: Sequence[FileInfo], keep_in: Sequence[str | os.PathLike] = (), rule: str = "original",
           unreadable: Sequence[tuple[str, str]] = (), raw_sidecars: bool = True,
           score: Scorer | None = None, remembered: Remembered | None = None,
           key_of: Mapping[str, str | None] | None = None, places: CopiedFolders | None = None,
           avoid: Collection[str] = (), framing: Framing | None = None, keeper: FileInfo | None = None) -> Decision:
    """Keep the keeper and every file in a reference folder; the rest may be removed.

    A crop kept in a reference folder never sends the full picture away: where the keeper lies in one and the file
    the rule keeps of the others shows scene it lacks (``framing``: :meth:`Framing.shows_more`, the method's check of
    the pair), that file is kept too. With ``raw_sidecars`` (default) a RAW file and the JPEG the camera wrote beside
    it (same folder, same name) are a pair, not duplicates: when one of them is kept, so is the other. With
    ``remembered`` decisions (and ``key_of``: path -> content key) the keeper a person chose comes first, and files
    left alone with the keeper are kept too (:mod:`imagetwins.decisions`). ``keeper``: the file :func:`choose_keeper`
    chose already of these ``infos`` with these arguments (a star that is its whole set), not chosen again.
    """
    files = [f.path for f in infos] + [p for p, _ in unreadable]
    if not infos:
        return Decision(files, [], [], list(unreadable))
    paths = [f.path for f in infos]
    prefer = remembered.chosen(paths, key_of or {}) if remembered is not None else set()
    if keeper is None:
        keeper = choose_keeper(infos, keep_in, rule, score, prefer, places, avoid, framing)
    reference = in_reference_folders([f.path for f in infos], keep_in)
    keep = [keeper.path] + [p for p in reference if p != keeper.path]
    if remembered is not None:
        keep += [p for p in remembered.kept_beside(keeper.path, paths, key_of or {}) if p not in keep]
    outside = [f for f in infos if f.path not in keep]
    if framing is not None and outside and keeper.path in reference:
        # a reference folder's file is kept, but a crop there never sends the full picture away: the file the rule
        # would keep of the others stays too where it shows scene the keeper lacks
        best = choose_keeper(outside, (), rule, score, (), places, avoid, framing)
        if framing.shows_more(best, keeper):
            keep.append(best.path)
    if raw_sidecars:
        keep += [p for p in _raw_pairs([f.path for f in infos], keep) if p not in keep]
    remove = [f.path for f in infos if f.path not in keep]
    return Decision(files, keep, remove, list(unreadable))


def file_infos(paths: Sequence[str], workers: int | None = None) -> dict[str, FileInfo | str]:
    """``file_info`` of many files on threads: path -> FileInfo, or the reason it cannot be read now."""
    from imagetwins.workers import thread_count

    def one(p: str) -> FileInfo | str:
        try:
            return file_info(p)
        except OSError as exc:
            return f"cannot read it now ({exc.strerror or exc})"

    with ThreadPoolExecutor(max_workers=thread_count(workers)) as pool:
        return dict(zip(paths, pool.map(one, paths)))


def result_infos(result: FindResult, paths: Sequence[str] | None = None,
                 workers: int | None = None, index=None) -> dict[str, FileInfo | str]:
    """:func:`file_infos` of a search's files (default: those in its groups) from the facts its scan kept
    (``result.facts``, by content digest): nothing is decoded or parsed again, only the size and time are
    asked of the file system. A file without kept facts is read now; when the result came through an index
    or folder cache, it is measured as the scan would have (one small decode) and its facts are kept there,
    so the next run reads nothing again (``index``: the run's open index, a session's; else the result's index
    is opened by its path)."""
    if paths is None:
        paths = [p for g in result.groups for p in g.files]
    paths = list(dict.fromkeys(paths))
    digest_of = dict(zip(result.files, result.digests)) if result.digests else {}
    facts = getattr(result, "facts", None) or {}
    out: dict[str, FileInfo | str] = {}
    missing = []
    for p in paths:
        f = facts.get(digest_of.get(p, ""))
        if f is not None:
            out[p] = _info_from_facts(p, f)
        else:
            missing.append(p)
    if missing and result.index_path is not None:
        out.update(_measure_and_keep(result, missing, digest_of, workers, index))
        missing = [p for p in missing if p not in out]
    if missing:
        out.update(file_infos(missing, workers))
    return {p: out[p] for p in paths}


def _measure_and_keep(result: FindResult, paths: list[str], digest_of: Mapping[str, str],
                      workers: int | None, index=None) -> dict[str, FileInfo | str]:
    """Facts of files the cache holds none for (made before they were kept): measured as the scan measures
    them, under the scan's limits, and kept in the cache when the file is still what was scanned."""
    from imagetwins import encoding
    from imagetwins.index import Index, IndexFileError
    from imagetwins.io import content_digest, read_bytes
    from imagetwins.workers import thread_count

    def measure(path: str) -> tuple[str, ImageFacts]:
        data = read_bytes(path)
        img, header = decode_image(data, min_size=_facts.BORDER_SIDE, path_for_messages=path)
        return content_digest(data), _facts.image_facts(data, path, img, header=header)

    pool = encoding.DecodePool(thread_count(workers))
    futures = [pool.submit(measure, p) for p in paths]
    out: dict[str, FileInfo | str] = {}
    keep: list[tuple[str, ImageFacts]] = []
    try:
        for p, future in zip(paths, futures):
            try:
                digest, found = future.result(timeout=encoding.DECODE_TIMEOUT)
            except Exception:  # unreadable now, over a limit or too slow: read as before, ranked as before
                continue
            if not Digest(digest_of.get(p, "")).same_content(digest):  # (an index keeps the first 128 bits)
                continue  # changed since the scan: what is kept belongs to the scanned content
            out[p] = _info_from_facts(p, found)
            keep.append((digest, found))
    finally:
        pool.shutdown()
    if keep and index is not None:
        index.put_facts(keep)
    elif keep:
        try:
            with Index(result.index_path, methods=[]) as store:
                store.put_facts(keep)
        except IndexFileError:
            pass  # a cache: read again next time
    return out


def reference_folders(keep_in: str | os.PathLike | Sequence[str | os.PathLike],
                      must_exist: bool = False) -> tuple[str, ...]:
    """The reference folders a caller gave as ``keep_in``: one folder (``str``, ``bytes``, ``os.PathLike``) or several,
    as ``str`` (:func:`imagetwins.io.given_paths`). ``keep_in="photos/originals"`` was taken for its characters (no
    file is in a folder named ``p``: the originals were offered for removal), a ``Path`` was a TypeError. With
    ``must_exist`` (the library's ``find``, as the command line's ``--keep-in``) a name that is no folder is a
    ``ValueError``: a mistyped reference folder protected nothing, silently."""
    from imagetwins.io import given_paths

    folders = given_paths(keep_in)
    folders = (folders,) if isinstance(folders, str) else tuple(folders)
    for folder in folders if must_exist else ():
        if not os.path.isdir(folder):
            raise ValueError(f"keep_in: {folder!r} is not a folder (the files of a reference folder are kept; "
                             "one that is not there protects nothing)")
    return folders


def decide_groups(groups: Sequence[Sequence[str]], keep_in: Sequence[str | os.PathLike] = (),
                  rule: str = "original", infos: Mapping[str, FileInfo | str] | None = None,
                  workers: int | None = None, raw_sidecars: bool = True) -> list[Decision]:
    """A :class:`Decision` per group of paths (e.g. ``[g.files for g in result.groups]``).

    ``infos`` (from :func:`file_infos`) saves reading the files again when the caller has them.
    """
    if rule not in KEEP_RULES:
        raise ValueError(f"unknown keep rule {rule!r}; expected one of {', '.join(KEEP_RULES)}")
    keep_in = reference_folders(keep_in)
    if infos is None:
        infos = file_infos([p for g in groups for p in g], workers)
    out = []
    for g in groups:
        ok = [infos[p] for p in g if isinstance(infos[p], FileInfo)]
        bad = [(p, infos[p]) for p in g if not isinstance(infos[p], FileInfo)]
        out.append(decide(ok, keep_in, rule, bad, raw_sidecars))
    return out


def decide_keepers(result: FindResult, keep_in: Sequence[str | os.PathLike] = (), rule: str = "original", *,
                   infos: Mapping[str, FileInfo | str] | None = None, workers: int | None = None,
                   raw_sidecars: bool = True, store: PairScoreStore | None = None,
                   session: Session | None = None, roots: Sequence[str | os.PathLike] = ()) -> FindResult:
    """The keep stage: each group's keeper decided, every group made a star around it; a new result.

    ``result`` is left as it is. The new result's ``groups`` are the stars, ``components`` the connected
    sets they were split from, ``decisions`` one :class:`Decision` per group (the keeper first),
    ``file_infos`` what each file's :func:`file_info` said. A result already decided with the same rule,
    reference folders and ``raw_sidecars`` is returned as it is: the policy runs once per run.

    A file stays in its keeper's group only if it matches the keeper directly (within the threshold,
    or the same encoding, or byte-identical); the rest of a connected set of matches is split off
    and grouped again (connected parts, each with its own keeper), until every group is a star. Each
    group's ``score`` is then its farthest member's score against the keeper and ``scores`` every
    member's. ``infos`` (from :func:`file_infos`) saves reading the files again; without, they come from the
    scan's facts (:func:`result_infos`). The enlargement scores of
    the ``original`` rule are kept in ``store``, else the ``session``'s (:func:`imagetwins.open_session`: the
    run's index or cache, whose workers are used too), else in the index the result came from
    (``result.index_path``, opened again by name), so a re-run decodes nothing again. ``roots``: the scanned
    folders, given where symbolic links were followed: a file reached through one (:func:`through_links`) is the
    keeper only where no other file of its group can be, as ``remove`` decides.
    """
    index = None
    progress = False
    if session is not None:
        store = session.pair_scores if store is None else store
        workers = session.workers if workers is None else workers
        index = session.index
        progress = session.progress
    if rule not in KEEP_RULES:
        raise ValueError(f"unknown keep rule {rule!r}; expected one of {', '.join(KEEP_RULES)}")
    keep_in = reference_folders(keep_in)
    policy = (rule, keep_in, bool(raw_sidecars)) + (
        (tuple(os.fspath(r) for r in roots),) if roots else ())
    # (a result decided with ``roots`` is reused by a caller that names none: the review page of 'report
    # --follow-symlinks' shows the keepers 'remove' keeps)
    if result.keep_policy is not None and (
            result.keep_policy == policy or (not roots and result.keep_policy[:3] == policy)):
        return result
    components = result.components if result.components is not None else result.groups
    sets = [list(g.files) for g in components]
    with stage("keep"):
        if infos is None:
            infos = result_infos(result, [p for g in sets for p in g], workers, index)
        groups, decisions, found = _decide_checked(result, sets, keep_in, rule, infos, raw_sidecars, store, roots,
                                                   progress, workers)
    # (the pairs checked now that matched join the search's: every member of a star has its match with the keeper)
    matches = result.matches if found is None else search.union_pairs(result.matches, found)
    return result.replace(groups=groups, components=components, decisions=decisions, keep_policy=policy,
                          file_infos=dict(infos), matches=matches)


def decide_result(result: FindResult, keep_in: Sequence[str | os.PathLike] = (), rule: str = "original",
                  infos: Mapping[str, FileInfo | str] | None = None, workers: int | None = None,
                  groups: Sequence[Sequence[str]] | None = None, raw_sidecars: bool = True) -> list[Decision]:
    """The decisions of :func:`decide_keepers`, for code written before it (kept for one release).

    Without ``groups`` this also makes ``result.groups`` the stars, as it always did (the one place a result
    is changed after it is made: use :func:`decide_keepers`, which returns a new result, instead). ``groups``
    (paths) are decided instead of the result's groups, e.g. a group less the files that may not be moved;
    then the result is left as it is.
    """
    if rule not in KEEP_RULES:
        raise ValueError(f"unknown keep rule {rule!r}; expected one of {', '.join(KEEP_RULES)}")
    keep_in = reference_folders(keep_in)
    if groups is not None:
        sets = [list(g) for g in groups]
        with stage("keep"):
            if infos is None:
                infos = result_infos(result, [p for g in sets for p in g], workers)
            return _decide_checked(result, sets, keep_in, rule, infos, raw_sidecars, None)[1]
    decided = decide_keepers(result, keep_in, rule, infos=infos, workers=workers, raw_sidecars=raw_sidecars)
    for name in ("groups", "components", "decisions", "keep_policy", "file_infos"):  # (the legacy behaviour)
        object.__setattr__(result, name, getattr(decided, name))
    return decided.decisions


def _decide_checked(result: FindResult, sets: list[list[str]], keep_in: Sequence[str | os.PathLike], rule: str,
                    infos: Mapping[str, FileInfo | str], raw_sidecars: bool, store: PairScoreStore | None,
                    roots: Sequence[str | os.PathLike] = (), progress: bool = False, workers: int | None = None
                    ) -> tuple[list, list[Decision], object | None]:
    """Stars and decisions for ``sets`` of paths of ``result`` (see :func:`decide_keepers`), and the pairs the keepers
    were checked against now and found matches (:class:`_KeeperChecks`; a :class:`~imagetwins.search.Pairs`, or None
    where none was); ``progress``: a bar over the grouped files (the ``best`` rule scores every shot: 16 s of a 30 s
    run on 74 camera photos)."""
    kept = _KeptScores.open(result, store) if rule in ("original", "best") else None
    checks = _KeeperChecks(result, store if store is not None else kept.store if kept is not None else None, workers)
    framing = Framing.of(result) if rule in ("original", "best") else None
    if framing is not None:
        framing.keep_in(kept)
    try:
        avoid = through_links([p for g in sets for p in g], roots) if roots else frozenset()
        groups, decisions = _stars(result, sets, keep_in, rule, infos, raw_sidecars, kept, avoid, progress, checks,
                                   framing)
        return groups, decisions, checks.matches()
    finally:
        if kept is not None:
            kept.close()


def _as_scanned(path: str, key: bytes) -> bytes | None:
    """The bytes of ``path`` when they are still the content the scan read (``key``: the first 128 bits of their
    SHA-256), else None: a score measured on them may be kept under that content; one measured on a file changed
    since (a photo edited while a long run verified its pairs) would stand for the scanned content in every later
    run."""
    from imagetwins.io import ImageReadError, read_bytes

    try:
        data = read_bytes(path)
    except ImageReadError:
        return None
    return data if Digest.of_bytes(data).key == key else None


class _KeptScores:
    """The keep stage's costly measurements kept in the store a search's run holds (:mod:`imagetwins.pairscores`:
    the session's index, folder cache or memory; else the index the result came from), looked up by the files'
    scanned contents and computed (and kept) where none is: the ``original`` rule's enlargement scores (a pair),
    the ``best`` rule's shot scores (a file: its digest twice, :func:`imagetwins.shots.shot_method`) and the
    ``copies`` links that tell its captures apart (a pair: 1 linked, 0 not; kept for every pair of a group once
    it has been searched, so a re-run reads the whole group's answer and encodes nothing); :class:`Framing` keeps
    its framed pictures here too (:attr:`Framing.METHOD`). A file edited since has another content: it is measured
    again."""

    METHOD = "keep:enlargement"
    VERSION = f"3-{_COMPARE_SIDE}-{_COMPARE_LARGER_SIDE}-{_NOISE_FLOOR_AT_MOST}"  # (bump when enlargement_score does)
    #: the most contents of one group whose capture links are kept (every pair of them is a row)
    MAX_LINKED = 400

    def __init__(self, store, keys: dict[str, bytes | None], owned: bool) -> None:
        self.store, self.keys, self.owned = store, keys, owned
        self.new: dict[tuple[str, str], list[tuple[bytes, bytes, float]]] = {}
        self.known: dict[tuple[str, bytes, bytes], float] = {}  # (what this run measured or read: star by star)
        self.no_verdict: set[tuple[bytes, bytes]] = set()  # (enlargements measured this run without a verdict)
        # (once per keep stage, not per process: the copies encoder can be swapped (encoders.register(...,
        # replace=True)) and verify's constants, which its pair-score version hashes, changed between runs)
        self._capture_version: str | None = None

    @classmethod
    def open(cls, result: FindResult, store: PairScoreStore | None = None) -> _KeptScores | None:
        if not result.digests:
            return None
        keys = {p: d.key for p, d in zip(result.files, result.digests)}
        if store is not None:
            return cls(store, keys, owned=False)
        if result.index_path is None:
            return None
        from imagetwins.index import Index, IndexFileError  # (only for a result made before sessions)

        try:
            return cls(Index(result.index_path, methods=[]), keys, owned=True)
        except IndexFileError:
            return None

    def _lookup(self, method: str, version: str, keys: Sequence[tuple[bytes, bytes]]) -> dict[tuple[bytes, bytes],
                                                                                              float]:
        out = {k: self.known[(method, *k)] for k in keys if (method, *k) in self.known}
        wanted = [k for k in keys if k not in out]
        if wanted:
            for k, got in self.store.get_pair_scores(method, version, wanted).items():
                if isinstance(got, float) and not math.isnan(got):
                    out[k] = self.known[(method, *k)] = got
        return out

    def _keep(self, method: str, version: str, items: Sequence[tuple[bytes, bytes, float]]) -> None:
        for a, b, value in items:
            self.known[(method, a, b)] = value
        self.new.setdefault((method, version), []).extend(items)

    def __call__(self, larger: FileInfo, smaller: FileInfo) -> float | None:
        a, b = self.keys.get(larger.path), self.keys.get(smaller.path)
        if a is None or b is None:
            return _enlargement_score(larger, smaller)
        got = self._lookup(self.METHOD, self.VERSION, [(a, b)]).get((a, b))
        if got is not None and math.isfinite(got):
            return got
        if (a, b) in self.no_verdict:  # (asked again for each star a group is split into: decoded once)
            return None
        big, small = _as_scanned(larger.path, a), _as_scanned(smaller.path, b)
        if big is None or small is None:  # changed since the scan: measured as it is now, kept for no content
            return _enlargement_score(larger, smaller)
        found = _enlargement_of(larger, smaller, big, small)
        if found is not None:  # (no verdict, e.g. nothing to measure: asked again next run)
            self._keep(self.METHOD, self.VERSION, [(a, b, found)])
        else:
            self.no_verdict.add((a, b))
        return found

    def shot(self, f: FileInfo, side: int) -> float:
        """:func:`imagetwins.shots.shot_score` of ``f`` at ``side``, kept by its content."""
        from imagetwins.shots import SHOT_VERSION, shot_method, shot_score

        a = self.keys.get(f.path)
        if a is None:
            return shot_score(f.path, side)
        method = shot_method(side)
        got = self._lookup(method, SHOT_VERSION, [(a, a)]).get((a, a))
        if got is not None and math.isfinite(got):
            return got
        data = _as_scanned(f.path, a)
        if data is None:  # changed since the scan: measured as it is now, kept for no content
            return shot_score(f.path, side)
        found = shot_score(f.path, side, data=data)
        if math.isfinite(found):  # (unreadable now: measured again next time)
            self._keep(method, SHOT_VERSION, [(a, a, found)])
        return found

    def captures(self, paths: Sequence[str]) -> list[list[str]]:
        """:func:`imagetwins.shots.captures` of ``paths``, from the links kept for every pair of their contents
        where all are; else searched now, and the links found kept."""
        from imagetwins import search
        from imagetwins.shots import CAPTURE_LINKS, capture_links, capture_version, captures, linked_groups

        if len(paths) < 2:
            return [list(paths)]
        keys = [self.keys.get(p) for p in paths]
        distinct = sorted({k for k in keys if k is not None})
        if None in keys or len(distinct) > self.MAX_LINKED:
            return captures(paths)
        if self._capture_version is None:
            self._capture_version = capture_version()
        version = self._capture_version
        pairs = [(a, b) for i, a in enumerate(distinct) for b in distinct[i + 1:]]
        got = self._lookup(CAPTURE_LINKS, version, pairs)
        if len(got) == len(pairs):  # every pair known: the same bytes are one capture, the rest as linked
            exact = search.equal_key_pairs(keys)
            links = list(zip(exact.left.tolist(), exact.right.tolist()))
            first = {k: keys.index(k) for k in distinct}
            links += [(first[a], first[b]) for (a, b), v in got.items() if v >= 0.5]
            return linked_groups(paths, links)
        found = capture_links(paths)
        # kept only for files read as they were scanned (a file changed since: its links belong to no content kept)
        read = {i for i, d in enumerate(found.digests) if d is not None and Digest(d).key == keys[i]}
        linked = {(min(keys[i], keys[j]), max(keys[i], keys[j])) for i, j in found.links if i in read and j in read}
        seen = {keys[i] for i in read}
        self._keep(CAPTURE_LINKS, version, [(a, b, 1.0 if (a, b) in linked else 0.0) for a, b in pairs
                                            if a in seen and b in seen and (a, b) not in got])
        return linked_groups(paths, found.links)

    def close(self) -> None:
        try:
            for (method, version), items in self.new.items():
                self.store.put_pair_scores(method, version, items)
        finally:
            if self.owned:
                self.store.close()


def _stars(result: FindResult, sets: list[list[str]], keep_in: Sequence[str | os.PathLike], rule: str,
           infos: Mapping[str, FileInfo | str], raw_sidecars: bool, score: Scorer | None,
           avoid: Collection[str], progress: bool, checks: _KeeperChecks, framing: Framing | None
           ) -> tuple[list, list[Decision]]:
    from imagetwins.results import DuplicateGroup

    graph = checks.graph
    places = CopiedFolders(result)  # (found only if some group ties down to its files' places)
    remembered = getattr(result, "decided", None)  # decisions a person made earlier (imagetwins.decisions)
    key_of = key_map(result) if remembered is not None else {}
    index = {p: i for i, p in enumerate(result.files)}
    digests = list(result.digests) if result.digests else [""] * len(result.files)
    kind = result.score_kind
    out: list[tuple[DuplicateGroup, Decision]] = []
    todo = [s for s in sets if len(s) > 1]
    # a bar over the grouped files, advanced by those each round settles; drawn after a second, so a keep stage
    # that takes less shows none (tqdm closes a bar left open by an error when it is collected)
    bar = None
    if progress and todo:
        from imagetwins.progress import progress_bar

        bar = progress_bar(total=sum(len(s) for s in todo), unit="img", desc="keeping", delay=1.0)
    while todo:
        files = todo.pop()
        ok = [infos[p] for p in files if isinstance(infos[p], FileInfo)]
        if not ok or any(p not in index for p in files):  # nothing readable to keep, or not from this search
            bad = [(p, infos[p]) for p in files if not isinstance(infos[p], FileInfo)]
            d = decide(ok, keep_in, rule, bad, raw_sidecars, score, remembered, key_of, places, avoid, framing)
            g = DuplicateGroup(files, kind.exact, False, kind, [digests[index[p]] if p in index
                                                                else "" for p in files])
            out.append((g, d))
            if bar is not None:
                bar.update(len(files))
            continue
        shun = _avoid_recoloured(graph, files, index, ok, avoid)
        chosen = choose_keeper(ok, keep_in, rule, score,
                               remembered.chosen([f.path for f in ok], key_of) if remembered else (), places,
                               shun, framing)
        star, scores, marks, rest = _star_around(chosen.path, files, index, digests, kind, graph, checks)
        members = [infos[p] for p in star if isinstance(infos[p], FileInfo)]
        if len(star) > 1 and len(members) != len(ok):
            # a star split from its set: its keeper is chosen again over its own files (the rules' pool is another:
            # which files are framed copies, enlargements, depends on the others there). Where that names another
            # file, the star is made again around it, so the file its scores and marks are measured against ("to the
            # keeper", "colours turned from the keeper's", the review page's table) is the one its decision keeps,
            # and every file it offers for removal was matched with that keeper (fam-photos-public g0012: 11 files
            # around the combo copy kept the original, never compared with the combo)
            prefer = remembered.chosen([f.path for f in members], key_of) if remembered else ()
            again_chosen = choose_keeper(members, keep_in, rule, score, prefer, places, shun, framing)
            if again_chosen.path != chosen.path:
                chosen = again_chosen
                star, scores, marks, left = _star_around(chosen.path, star, index, digests, kind, graph, checks)
                rest += left
                members = [infos[p] for p in star if isinstance(infos[p], FileInfo)]
        again = graph.components([index[p] for p in rest], result.files)
        todo.extend(again)
        if bar is not None:  # (what is grouped again is counted when its own star is made)
            bar.update(len(files) - sum(len(part) for part in again))
        if len(star) < 2:
            continue
        bad = [(p, infos[p]) for p in star if not isinstance(infos[p], FileInfo)]
        # (the keeper chosen over the star's files, the whole set's or the split star's own, is decide's)
        d = decide(members, keep_in, rule, bad, raw_sidecars, score, remembered, key_of, places, shun, framing,
                   chosen)
        d.files = star
        ds = [digests[index[p]] for p in star]
        g = DuplicateGroup(star, kind.value(kind.weakest(scores)), bool(ds[0]) and len(set(ds)) == 1, kind, ds,
                           [kind.value(s) for s in scores], marks if any(marks) else [])
        out.append((g, d))
    if bar is not None:
        bar.close()
    out.sort(key=lambda gd: (-len(gd[0].files), index.get(gd[0].files[0], -1)))
    return [g for g, _ in out], [d for _, d in out]


def _star_around(keeper: str, files: Sequence[str], index: Mapping[str, int], digests: Sequence[str], kind,
                 graph: _MatchGraph, checks: _KeeperChecks) -> tuple[list[str], list, list[int], list[str]]:
    """The star of ``files`` around ``keeper`` (its files, scores and marks against the keeper, the keeper first) and
    the files left out of it: those the search never compared with the keeper are checked against it now
    (:meth:`_KeeperChecks.join`)."""
    k = index[keeper]
    star, scores, marks, rest = [keeper], [kind.exact], [0], []
    for p in files:
        if p == keeper:
            continue
        s = graph.score(k, index[p])
        if s is None and digests[k] and digests[k] == digests[index[p]]:
            s = kind.exact
        if s is None:
            rest.append(p)
        else:
            star.append(p)
            scores.append(s)
            marks.append(graph.marks(k, index[p]))
    if rest:  # the files the search never compared with the keeper: compared now
        joined = checks.join(k, [index[p] for p in rest])
        for p in [p for p in rest if index[p] in joined]:
            star.append(p)
            scores.append(graph.score(k, index[p]))
            marks.append(graph.marks(k, index[p]))
        rest = [p for p in rest if index[p] not in joined]
    return star, scores, marks, rest


def _avoid_recoloured(graph: _MatchGraph, files: Sequence[str], index: dict, ok: Sequence[FileInfo],
                      avoid: Collection[str]) -> Collection[str]:
    """``avoid`` and the group's recoloured members (:meth:`_MatchGraph.recoloured_members`): never the keeper while a
    member that is not one can be (a colour variant is kept only where nothing else is: the keeper rule then decides
    among them)."""
    colour = graph.recoloured_members([index[p] for p in files], files)
    if not colour:
        return avoid
    if all(f.path in avoid or f.path in colour for f in ok):
        return avoid
    return set(avoid) | colour


#: the most keepers one grouped file is checked against where the search never compared the two (each star a
#: connected set is split into checks its files against that star's keeper, once): a crowd of n files costs at most
#: this many checks a file, never n^2 (1,000 copies of one picture: at most 3,000, most of them joined by the first)
KEEPER_CHECKS = 3


class _KeeperChecks:
    """The keeper of a connected set of matches checked against the files of the set that the search never compared
    with it (:meth:`imagetwins.encoders.Encoder.score_pairs`), before the set is made a star around it.

    A method whose search proposes candidates and checks only those (``copies``) joins two files only where it
    compared them, so a file may belong to a set through one other copy alone: a crop matched to one of 50 resized
    copies of a photo, never compared with the copy kept, went into no group at all when the set was made a star
    around the keeper (its one match left with the keeper's star). A file the check finds a copy of the keeper
    joins the keeper's star; one it finds none goes on with the files left, as before. The pairs a person said are
    ``not_duplicate`` (remembered decisions, ``result.decided``) are not checked, and a recoloured pair is no match
    where ``result.colour_variants`` keeps colour variants apart. A file is checked against at most
    :data:`KEEPER_CHECKS` keepers, and two contents once (byte copies are one node). For a method whose search gives
    every pair within the threshold (hashes, vectors) nothing is checked."""

    def __init__(self, result: FindResult, store: PairScoreStore | None, workers: int | None) -> None:
        from imagetwins.scores import ColourVariants

        self.graph = _MatchGraph(result)
        self.result, self.store, self.workers = result, store, workers
        self.unknown = True  # (False once the method says its search gave every match: nothing is checked)
        self.apart = ColourVariants.of(getattr(result, "colour_variants", None)) is ColourVariants.APART
        self.remembered = getattr(result, "decided", None)
        self.keys = key_map(result) if self.remembered is not None else {}
        self.asked: dict[int, int] = {}  # node -> keepers it was checked against
        self.checked: set[tuple[int, int]] = set()  # node pairs checked
        self.found: list[tuple[int, int, float, int]] = []  # the node pairs checked that matched

    def join(self, keeper: int, rest: Sequence[int]) -> set[int]:
        """Of the files ``rest`` (indices into the result's files), those the check finds copies of ``keeper``'s
        (their matches added to the graph)."""
        if not self.unknown or len(self.result.hashes) != len(self.result.files):
            return set()
        graph, files = self.graph, self.result.files
        k = int(graph.node[keeper])
        nodes: dict[int, list[int]] = {}
        for i in rest:
            x = int(graph.node[i])
            if x == k or (min(k, x), max(k, x)) in self.checked or self.asked.get(x, 0) >= KEEPER_CHECKS:
                continue
            if self.remembered is not None and self.remembered.not_duplicate(self.keys.get(files[keeper]),
                                                                             self.keys.get(files[i])):
                continue
            nodes.setdefault(x, []).append(i)
        if not nodes:
            return set()
        ask = sorted(nodes)
        for x in ask:
            self.asked[x] = self.asked.get(x, 0) + 1
            self.checked.add((min(k, x), max(k, x)))
        left = np.array([min(k, x) for x in ask], np.int64)
        right = np.array([max(k, x) for x in ask], np.int64)
        from imagetwins.results import score_pairs

        got = score_pairs(self.result, left, right, self.store, self.workers)
        if got is None:  # the search gave every match: nothing is unknown
            self.unknown = False
            return set()
        kind = graph.kind
        within = kind.within(np.asarray(got.score), self.result.threshold, got.mark_bits)  # (a re-shot: never)
        joined: set[int] = set()
        for a, b, score, mark, ok in zip(got.left.tolist(), got.right.tolist(), got.score.tolist(),
                                         got.mark_bits.tolist(), within.tolist()):
            if not ok or (self.apart and Mark.RECOLOURED.on(mark)):
                continue
            graph.add(a, b, score, mark)
            self.found.append((a, b, score, mark))
            joined.update(nodes[b if a == k else a])
        return joined

    def matches(self):
        """The pairs checked that matched, as the search's matches (None: none)."""
        if not self.found:
            return None
        a, b, score, mark = zip(*self.found)
        dtype = self.result.matches.score.dtype
        return search.Pairs(np.array(a, np.int64), np.array(b, np.int64), np.array(score, dtype), self.graph.kind,
                            np.array(mark, np.uint8))


class _MatchGraph:
    """Which files of a search matched directly, and how closely (files with one encoding as one node)."""

    def __init__(self, result: FindResult) -> None:
        n = len(result.files)
        self.node = (np.asarray(result.same_as, np.int64) if result.same_as is not None
                     else np.arange(n, dtype=np.int64))
        m = result.matches
        a, b = self.node[np.asarray(m.left, np.int64)], self.node[np.asarray(m.right, np.int64)]
        keep = a != b
        a, b, score = np.minimum(a, b)[keep], np.maximum(a, b)[keep], np.asarray(m.score)[keep]
        self.kind = m.kind
        self.exact = m.kind.exact
        # one dict of node pairs: no more entries than the matches the search already holds
        self.edges: dict[tuple[int, int], float] = {}
        #: the marks of the edges that carry any (Mark bits), with the closest match's score
        self.edge_marks: dict[tuple[int, int], int] = {}
        for x, y, s, mk in zip(a.tolist(), b.tolist(), score.tolist(), m.mark_bits[keep].tolist()):
            old = self.edges.get((x, y))
            if old is None or self.kind.closer(s, old):
                self.edges[(x, y)] = s
                if mk:
                    self.edge_marks[(x, y)] = mk
                else:
                    self.edge_marks.pop((x, y), None)
        self.neighbours: dict[int, set[int]] = {}
        for x, y in self.edges:
            self.neighbours.setdefault(x, set()).add(y)
            self.neighbours.setdefault(y, set()).add(x)

    def add(self, x: int, y: int, score: float, marks: int = 0) -> None:
        """A match of nodes ``x`` and ``y`` found after the search (:class:`_KeeperChecks`)."""
        key = (min(x, y), max(x, y))
        self.edges[key] = score
        if marks:
            self.edge_marks[key] = marks
        self.neighbours.setdefault(key[0], set()).add(key[1])
        self.neighbours.setdefault(key[1], set()).add(key[0])

    def score(self, i: int, j: int) -> float | None:
        """The score of files ``i`` and ``j`` if they matched directly, else None."""
        x, y = int(self.node[i]), int(self.node[j])
        if x == y:
            return self.exact
        return self.edges.get((min(x, y), max(x, y)))

    def marks(self, i: int, j: int) -> int:
        """The marks of the direct match of files ``i`` and ``j`` (:class:`~imagetwins.scores.Mark` bits; 0: none)."""
        x, y = int(self.node[i]), int(self.node[j])
        return self.edge_marks.get((min(x, y), max(x, y)), 0)

    def recoloured_members(self, members: list[int], files: Sequence[str]) -> set[str]:
        """Of a group's ``members`` (file indices), the files whose every direct match in the group is recoloured
        (:data:`~imagetwins.scores.Mark.RECOLOURED`), where some match in it is not: the colour variants of a picture
        the others share. Empty where no match is marked, or every one is (two files alone: the mark is the pair's,
        it does not say which one was recoloured)."""
        if not self.edge_marks:
            return set()
        nodes = {int(self.node[i]) for i in members}
        plain: set[int] = set()
        marked: set[int] = set()
        for x in nodes:
            for y in self.neighbours.get(x, ()):
                if y in nodes:
                    (marked if Mark.RECOLOURED.on(self.edge_marks.get((min(x, y), max(x, y)), 0)) else plain).add(x)
        if not plain:
            return set()
        return {files[k] for k, i in enumerate(members) if int(self.node[i]) in marked - plain}

    def components(self, members: list[int], files: Sequence[str]) -> list[list[str]]:
        """The connected parts (two files or more) of ``members`` by their direct matches."""
        by_node: dict[int, list[int]] = {}
        for i in members:
            by_node.setdefault(int(self.node[i]), []).append(i)
        seen: set[int] = set()
        parts = []
        for start in by_node:
            if start in seen:
                continue
            seen.add(start)
            stack, part = [start], []
            while stack:
                x = stack.pop()
                part += by_node[x]
                for y in self.neighbours.get(x, ()):
                    if y in by_node and y not in seen:
                        seen.add(y)
                        stack.append(y)
            if len(part) > 1:
                parts.append([files[i] for i in sorted(part)])
        return parts
