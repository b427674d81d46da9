"""Which files of a duplicate group to keep: decided here once, used by ``find``, ``report`` and ``remove``.

Rules (``rule=``):

``original`` (the default): an original beats its conversion. Highest resolution first; then the
format the others were derived from (a lossy camera format such as JPEG beats a lossless re-save
such as PNG or BMP of the same size); then the older capture date (EXIF DateTimeOriginal, else the
modification time, compared to the minute so that copies made in the same minute tie); then the
shorter name; then the path.

``largest`` / ``smallest``: the biggest / smallest file on disk, ties broken by ``original``.
``newest`` / ``oldest``: the latest / earliest capture date, ties broken by ``original``.

Reference folders (``keep_in=``) come before any rule: every file inside one is kept and never
touched, and when a group has one there, the keeper is chosen among them.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from imagetwins.io import allowed_formats, open_regular_file
from imagetwins.raw import is_raw_name, raw_size

__all__ = ["KEEP_RULES", "FileInfo", "Decision", "file_info", "file_infos", "choose_keeper", "decide", "decide_groups"]

#: the accepted values of ``rule``
KEEP_RULES = ("original", "largest", "smallest", "newest", "oldest")

# Formats a camera or phone writes; a same-size file in any other format (PNG, BMP, TIFF, GIF...) next
# to one of these is taken for a re-save of it.
_CAMERA_FORMATS = frozenset({"JPEG", "MPO", "HEIF", "AVIF", "WEBP", "DNG", "RAW"})

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_ORIENTATION = 0x0112


@dataclass(frozen=True)
class FileInfo:
    """What a person weighs when choosing between copies.

    ``width`` and ``height`` are as displayed (EXIF orientation applied); ``taken`` is the EXIF
    DateTimeOriginal in seconds since the epoch (local time), or None.
    """

    path: str
    width: int
    height: int
    size: int
    mtime: float
    taken: float | None = None
    format: str = ""

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


def _exif_date(value) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return time.mktime(time.strptime(value.strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S"))
    except (ValueError, OverflowError):
        return None  # "0000:00:00 00:00:00" and other junk cameras write


def file_info(path: str | os.PathLike) -> FileInfo:
    """Size, modification time, displayed pixel size, capture date and format of one file.

    Raises ``OSError`` when the file cannot be stat'ed; an image whose header cannot be read gets
    0x0 pixels (it ranks last).
    """
    w = h = 0
    taken, fmt = None, ""
    with open_regular_file(path) as fh:  # never blocks on a FIFO put there since the scan
        st = os.fstat(fh.fileno())
        if is_raw_name(path):
            return _raw_file_info(path, fh, st)
        try:
            with Image.open(fh, formats=allowed_formats()) as im:
                w, h = im.size
                fmt = im.format or ""
                exif = im.getexif()
                if exif.get(_ORIENTATION) in (5, 6, 7, 8):  # quarter turns: shown the other way up
                    w, h = h, w
                taken = _exif_date(exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL))
        except Exception:  # a file we could hash but not re-open (changed, odd EXIF): rank it last
            pass
    return FileInfo(str(path), w, h, st.st_size, st.st_mtime, taken, fmt)


def _raw_file_info(path: str | os.PathLike, fh, st: os.stat_result) -> FileInfo:
    """A camera RAW file: LibRaw's displayed size; the EXIF capture date where Pillow reads it (TIFF-shaped RAWs)."""
    w = h = 0
    taken = None
    try:
        data = fh.read()
        w, h = raw_size(data)
        with Image.open(io.BytesIO(data), formats=["TIFF"]) as im:
            taken = _exif_date(im.getexif().get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL))
    except Exception:  # rawpy missing, or a file it cannot read: ranked by size and date alone
        pass
    return FileInfo(str(path), w, h, st.st_size, st.st_mtime, taken, "RAW")


def _original_key(f: FileInfo, camera_format_present: bool) -> tuple:
    derived = camera_format_present and f.format not in _CAMERA_FORMATS
    return (-f.pixels, derived, int(f.captured // 60), len(os.path.basename(f.path)), f.path)


def _sort_key(rule: str, camera_format_present: bool):
    def key(f: FileInfo) -> tuple:
        base = _original_key(f, camera_format_present)
        return {"original": (), "largest": (-f.size,), "smallest": (f.size,), "newest": (-f.captured,),
                "oldest": (f.captured,)}[rule] + base
    return key


def _inside(path: str, folders: Sequence[Path]) -> bool:
    real = Path(path).resolve()
    return any(real.is_relative_to(f) for f in folders)


def choose_keeper(infos: Sequence[FileInfo], keep_in: Sequence[str | os.PathLike] = (),
                  rule: str = "original") -> FileInfo:
    """The one file to keep from a group (see the module docstring for the rules)."""
    if not infos:
        raise ValueError("an empty group has nothing to keep")
    if rule not in KEEP_RULES:
        raise ValueError(f"unknown keep rule {rule!r}; expected one of {', '.join(KEEP_RULES)}")
    folders = [Path(f).resolve() for f in keep_in]
    pool = [f for f in infos if _inside(f.path, folders)] or list(infos)
    camera = any(f.format in _CAMERA_FORMATS for f in infos)
    return min(pool, key=_sort_key(rule, camera))


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
           unreadable: Sequence[tuple[str, str]] = (), raw_sidecars: bool = True) -> Decision:
    """Keep the keeper and every file in a reference folder; the rest may be removed.

    With ``raw_sidecars`` (default) a RAW file and the JPEG the camera wrote beside it (same folder,
    same name) are a pair, not duplicates: when one of them is kept, so is the other.
    """
    files = [f.path for f in infos] + [p for p, _ in unreadable]
    if not infos:
        return Decision(files, [], [], list(unreadable))
    keeper = choose_keeper(infos, keep_in, rule)
    folders = [Path(f).resolve() for f in keep_in]
    keep = [keeper.path] + [f.path for f in infos if f.path != keeper.path and _inside(f.path, folders)]
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


def decide_groups(groups: Sequence[Sequence[str]], keep_in: Sequence[str | os.PathLike] = (),
                  rule: str = "original", infos: Mapping[str, FileInfo | str] | None = None,
                  workers: int | None = None, raw_sidecars: bool = True) -> list[Decision]:
    """A :class:`Decision` per group of paths (e.g. ``[g.files for g in result.groups]``).

    ``infos`` (from :func:`file_infos`) saves reading the files again when the caller has them.
    """
    if rule not in KEEP_RULES:
        raise ValueError(f"unknown keep rule {rule!r}; expected one of {', '.join(KEEP_RULES)}")
    if infos is None:
        infos = file_infos([p for g in groups for p in g], workers)
    out = []
    for g in groups:
        ok = [infos[p] for p in g if isinstance(infos[p], FileInfo)]
        bad = [(p, infos[p]) for p in g if not isinstance(infos[p], FileInfo)]
        out.append(decide(ok, keep_in, rule, bad, raw_sidecars))
    return out
