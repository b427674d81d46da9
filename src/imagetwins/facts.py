"""What the keep rules weigh about one image, taken from the scan's own read: no second decode.

:class:`ImageFacts` holds a file's displayed size (EXIF orientation applied, at full size, whatever size
the scan decoded it at), its format, its EXIF capture date, whether the EXIF names the camera that made
exactly this file, its uniform border (padding, letterbox) measured on the scan's reduced decode, and whether it
is translucent (an alpha channel that leaves some pixel less than opaque: what its copy flattened on white lacks).
:func:`image_facts` makes them from the bytes the scan read and the picture it decoded; the index and the
per-folder cache keep them by content digest (:meth:`imagetwins.index.Index.facts`), so choosing the keeper
of a group reads neither the pixels nor the header again (:mod:`imagetwins.keep`).
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image

from imagetwins.raw import is_raw_name, raw_size
from imagetwins.text import loads_json

__all__ = ["FACTS_VERSION", "ImageFacts", "border_of", "exif_date", "header_facts", "image_facts"]

#: changes whenever what :func:`image_facts` measures changes (stored facts of another version are measured again)
FACTS_VERSION = "3"  # 2: a border may hold a short stretch of other lines (screenshots); 3: translucent

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_ORIENTATION = 0x0112
_MAKE, _MODEL = 0x010F, 0x0110
_PIXEL_X, _PIXEL_Y = 0xA002, 0xA003  # the size the EXIF was written for (a resize that keeps the EXIF keeps it)
#: the border is measured on the picture shrunk to at most this many pixels a side
BORDER_SIDE = 256


@dataclass(frozen=True)
class ImageFacts:
    """One image's keep-rule facts (see the module docstring). ``border``: (share of the picture that is a
    uniform border, aspect ratio of what is inside it), or None when it could not be measured. ``translucent``:
    some pixel is less than fully opaque (:attr:`imagetwins.io.Header.translucent`)."""

    width: int
    height: int
    format: str = ""
    taken: float | None = None
    camera: bool = False
    border: tuple[float, float] | None = None
    translucent: bool = False

    def to_bytes(self) -> bytes:
        return json.dumps([self.width, self.height, self.format, self.taken, self.camera,
                           None if self.border is None else list(self.border), self.translucent],
                          separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> ImageFacts:
        """Inverse of :meth:`to_bytes`; ``ValueError`` for anything else."""
        try:
            fields = loads_json(bytes(data))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"not image facts ({exc})") from None
        return cls.from_fields(fields)

    @classmethod
    def from_fields(cls, fields: object) -> ImageFacts:
        """Facts from the JSON value :meth:`to_bytes` writes, parsed (an index parses many in one text); ``ValueError``
        for anything else."""
        try:
            w, h, fmt, taken, camera, border, translucent = fields
            if not isinstance(translucent, bool):
                raise TypeError("translucent is not true or false")
            facts = cls(int(w), int(h), str(fmt), None if taken is None else float(taken), bool(camera),
                        None if border is None else (float(border[0]), float(border[1])), translucent)
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise ValueError(f"not image facts ({exc})") from None
        if facts.width < 0 or facts.height < 0:
            raise ValueError("not image facts (negative size)")
        return facts


def exif_date(value) -> float | None:
    """EXIF DateTimeOriginal text -> seconds since the epoch (local time); None for junk cameras write."""
    if not isinstance(value, str):
        return None
    try:
        return time.mktime(time.strptime(value.strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S"))
    except (ValueError, OverflowError):
        return None  # "0000:00:00 00:00:00" and other junk


def camera_own(exif, stored_size: tuple[int, int]) -> bool:
    """Does the EXIF name a camera (make or model) and record the picture's size as this size (or its
    quarter turn: a lossless rotation)? A resize that keeps the EXIF leaves the old size there."""
    if not any(isinstance(exif.get(t), str) and exif.get(t).strip(" \x00") for t in (_MAKE, _MODEL)):
        return False
    ifd = exif.get_ifd(_EXIF_IFD)
    recorded = ifd.get(_PIXEL_X), ifd.get(_PIXEL_Y)
    return recorded in (tuple(stored_size), tuple(stored_size)[::-1])


def header_facts(im: Image.Image) -> tuple[int, int, str, float | None, bool]:
    """(displayed width, height, format, capture date, camera's own file) of an opened, not yet decoded image
    (kept so: :func:`imagetwins.io.header_exif`)."""
    from imagetwins.io import header_exif

    return _from_header(im.size, im.format or "", header_exif(im))


def _from_header(size: tuple[int, int], fmt: str, exif) -> tuple[int, int, str, float | None, bool]:
    w, h = size
    if exif.get(_ORIENTATION) in (5, 6, 7, 8):  # quarter turns: shown the other way up
        w, h = h, w
    taken = exif_date(exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL))
    return w, h, fmt, taken, camera_own(exif, size)


def raw_header_facts(data: bytes, size: tuple[int, int] | None = None) -> tuple[int, int, str, float | None, bool]:
    """The same for a camera RAW file: LibRaw's displayed size (``size`` where its decode gave it: else the file's
    bytes go to a LibRaw worker again); the capture date where Pillow reads the EXIF."""
    w = h = 0
    taken = None
    try:
        w, h = size if size is not None else raw_size(data)
        from imagetwins.io import check_tiff_pieces

        check_tiff_pieces(lambda offset, size: data[offset:offset + size])  # (a DNG is a TIFF: Pillow opens it)
        with Image.open(io.BytesIO(data), formats=["TIFF"]) as im:
            taken = exif_date(im.getexif().get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL))
    except Exception:  # rawpy missing, or a file it cannot read: ranked by size and date alone
        pass
    return w, h, "RAW", taken, True


def _uniform_run(lines: np.ndarray, limit: int, tolerance: float = 6.0, share: float = 0.98,
                 gap: float = 0.04) -> int:
    """How many of ``lines`` (rows from one side inwards) are one colour: the colour of the first line.
    Looked at a few lines at a time: most photos have no border, and their first line already says so.
    A bar may hold a short stretch of other lines (at most ``gap`` of all lines) followed by at least twice
    as many lines of its colour again: a phone screenshot's black bar around a photo holds the clock."""
    colour = _median(lines[0])
    run = _run_from(lines, 0, limit, colour, tolerance, share)
    longest = max(1, int(gap * len(lines)))
    while 0 < run < limit:
        ahead = lines[run:min(limit, run + longest + 1)].astype(np.int16)
        back = np.flatnonzero((np.abs(ahead - colour) <= tolerance).mean(axis=1) >= share)
        if not len(back):
            break
        start = run + int(back[0])
        end = _run_from(lines, start, limit, colour, tolerance, share)
        if end - start < 2 * (start - run):
            break
        run = end
    return run


def _median(line: np.ndarray) -> float:
    """``float(np.median(line))``, the same value, without its overhead (four per image, on every scan)."""
    n = len(line)
    k = n // 2
    if n % 2:
        return float(np.partition(line, k)[k])
    part = np.partition(line, (k - 1, k))
    return (float(part[k - 1]) + float(part[k])) / 2


def _run_from(lines: np.ndarray, done: int, limit: int, colour: float, tolerance: float, share: float) -> int:
    """Where the lines of ``colour`` that begin at line ``done`` end (``limit`` at most)."""
    step = 4
    while done < limit:
        chunk = lines[done:min(limit, done + step)].astype(np.int16)
        near = (np.abs(chunk - colour) <= tolerance).mean(axis=1) >= share
        if not near.all():
            return done + int(np.argmin(near))
        done += len(chunk)
        step *= 4
    return limit


def border_of(img: Image.Image) -> tuple[float, float]:
    """Share of the picture that is a uniform border, and the aspect ratio of what is inside it, measured on
    the picture shrunk to about :data:`BORDER_SIDE` a side (at most twice that: a cheap integer reduction of
    the scan's decode). Each side on its own: bars on two sides only (a letterbox) are as much a border as
    a frame."""
    grey = img.convert("L") if img.mode != "L" else img
    factor = max(grey.size) // (2 * BORDER_SIDE)
    if factor > 1:
        grey = grey.reduce(factor)
    g = np.asarray(grey)
    h, w = g.shape
    top, bottom = _uniform_run(g, h // 2), _uniform_run(g[::-1], h // 2)
    left, right = _uniform_run(g.T, w // 2), _uniform_run(g.T[::-1], w // 2)
    cw, ch = max(1, w - left - right), max(1, h - top - bottom)
    return 1.0 - cw * ch / g.size, cw / ch


def image_facts(data: bytes, path: str, decoded: Image.Image, upright: bool = True, header=None) -> ImageFacts:
    """The facts of a file from the bytes the scan read and the (possibly reduced) picture it decoded: the
    header as the decode read it (``header``: :class:`imagetwins.io.Header` with its EXIF), else parsed again
    from those bytes (no pixels); the border measured on ``decoded`` (``upright``: turned by its EXIF
    orientation, as the scan does unless asked for the stored pixels); translucent as the decode found it
    (``header.translucent``; without a header, False)."""
    quarter = False
    try:
        if is_raw_name(path):
            head = raw_header_facts(data, header.size if header is not None else None)
        elif header is not None and header.exif is not None:
            head = _from_header(header.size, header.format, header.exif)
            quarter = (head[0], head[1]) != tuple(header.size)
        else:
            from imagetwins.io import open_header

            with open_header(data) as im:  # (an icon decodes on opening: within the limits)
                head = header_facts(im)
                quarter = (head[0], head[1]) != im.size
    except Exception:  # odd EXIF: the decoded size, no date (it decoded, so it is ranked, not dropped)
        head = (decoded.width, decoded.height, "", None, False)
    try:
        share, aspect = border_of(decoded)
        border: tuple[float, float] | None = (share, 1.0 / aspect if quarter and not upright else aspect)
    except Exception:
        border = None
    return ImageFacts(*head, border=border, translucent=bool(header is not None and header.translucent))
