"""What a removed copy knew that its keeper does not: carried into an XMP sidecar beside the keeper.

``imagetwins remove --merge-metadata`` reads, from every file of a group that moves, the capture date,
GPS position, camera make and model, keywords, rating, title and description (EXIF, IPTC and embedded
XMP, and an XMP sidecar of that file), and writes what the keeper lacks into the keeper's sidecar. The
keeper's own bytes never change.

**Sidecar name.** ``IMG_0001.jpg.xmp`` (the whole file name, then ``.xmp``): what darktable writes and
reads, digiKam's default ("keep image extension in XMP sidecar name"), and one of the two names Immich
reads; it cannot be confused between ``IMG_0001.jpg`` and ``IMG_0001.cr2`` lying side by side, which the
other convention (``IMG_0001.xmp``, Lightroom's and Capture One's for raw files) can. Lightroom reads
sidecars for raw files only; for a JPEG it reads the XMP inside the file, which we never change.

**Library.** Reading and writing XMP goes through python-xmp-toolkit (``libxmp``, BSD) over Exempi, the
Adobe XMP Toolkit (BSD): the serialiser darktable's and digiKam's exiv2 is built on, so what we write is
read back the same (checked in the tests with exiv2 where installed). Chosen on measurement, see
docs/metadata.md: rdflib (BSD, pure Python) writes RDF/XML the XMP Toolkit rejects (``rdf:_1`` items,
"Named children only allowed for schemas and structs"); pyexiv2 and python-exiv2 ship wheels but are
GPL-3.0, which an Apache-2.0 package cannot depend on. Exempi itself is a system library
(``apt install libexempi8``, ``brew install exempi``); without it ``--merge-metadata`` says so in one line.
EXIF and IPTC are read with Pillow.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

__all__ = ["PhotoMetadata", "MetadataUnavailable", "read_metadata", "missing_from", "sidecar_path", "sidecar_bytes",
           "SIDECAR_SUFFIX", "XMP_MAX_BYTES", "SidecarTooLarge"]

#: appended to the keeper's whole name (``IMG.jpg`` -> ``IMG.jpg.xmp``)
SIDECAR_SUFFIX = ".xmp"

_NS_EXIF = "http://ns.adobe.com/exif/1.0/"
_NS_TIFF = "http://ns.adobe.com/tiff/1.0/"
_NS_XMP = "http://ns.adobe.com/xap/1.0/"
_NS_DC = "http://purl.org/dc/elements/1.1/"
_NS_PS = "http://ns.adobe.com/photoshop/1.0/"

# EXIF tags (Pillow's getexif)
_MAKE, _MODEL, _DESCRIPTION, _RATING, _XP_TITLE, _XP_KEYWORDS = 0x010F, 0x0110, 0x010E, 0x4746, 0x9C9B, 0x9C9E
_EXIF_IFD, _GPS_IFD, _DATETIME_ORIGINAL = 0x8769, 0x8825, 0x9003


class MetadataUnavailable(RuntimeError):
    """The XMP library cannot be loaded (one line saying what to install)."""


@dataclass
class PhotoMetadata:
    """What a person would miss. Dates as XMP writes them (``2019-07-04T12:30:00``), GPS as XMP coordinates
    (``51,30.5000N``); ``rating`` 1-5 (0 and below: none)."""

    taken: str | None = None
    latitude: str | None = None
    longitude: str | None = None
    make: str | None = None
    model: str | None = None
    keywords: list[str] = field(default_factory=list)
    rating: int | None = None
    title: str | None = None
    description: str | None = None

    def names(self) -> list[str]:
        """The fields that hold something, for people ("capture date", "GPS", ...)."""
        said = {"taken": "capture date", "latitude": "GPS", "make": "camera", "model": "camera", "keywords":
                "keywords", "rating": "rating", "title": "title", "description": "description"}
        return list(dict.fromkeys(said[f.name] for f in fields(self) if f.name in said and getattr(self, f.name)))

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


def _xmp():
    try:
        import libxmp
        from libxmp import XMPMeta
    except ImportError:
        raise MetadataUnavailable('--merge-metadata needs the XMP library: pip install "imagetwins[xmp]"') from None
    except Exception as exc:  # libxmp raises its own ExempiLoadError when the C library is missing
        raise MetadataUnavailable("--merge-metadata needs the Exempi library (apt install libexempi8, brew install "
                                  f"exempi): {' '.join(str(exc).split())}") from None
    return libxmp, XMPMeta


def sidecar_path(path: str | os.PathLike) -> Path:
    """The keeper's sidecar: its whole name then ``.xmp`` (darktable's and digiKam's convention)."""
    return Path(os.fspath(path) + SIDECAR_SUFFIX)


def _text(value) -> str | None:
    if isinstance(value, bytes):
        for enc in ("utf-8", "latin-1"):  # IPTC is ISO 8859-1 unless it says otherwise
            try:
                value = value.decode(enc)
                break
            except UnicodeDecodeError:
                continue
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value or None


def _ucs2(value) -> str | None:
    """Windows' XP* tags: UTF-16LE bytes (or a tuple of byte values)."""
    if isinstance(value, tuple):
        value = bytes(value)
    if isinstance(value, bytes):
        try:
            return _text(value.decode("utf-16-le"))
        except UnicodeDecodeError:
            return None
    return _text(value)


def _exif_date(value) -> str | None:
    text = _text(value)
    if not text or len(text) < 19 or text.startswith("0000"):
        return None
    date, _, clock = text[:19].partition(" ")
    parts = date.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(clock) != 8:
        return None
    return f"{parts[0]}-{parts[1]}-{parts[2]}T{clock}"


def _coordinate(dms, ref) -> str | None:
    """EXIF (degrees, minutes, seconds) + 'N'/'S'/'E'/'W' -> XMP's ``DD,MM.mmmmR``."""
    try:
        d, m, s = (float(x) for x in dms)
    except (TypeError, ValueError):
        return None
    ref = _text(ref)
    if ref not in ("N", "S", "E", "W") or not all(x == x and x >= 0 for x in (d, m, s)):
        return None
    degrees = d + m / 60 + s / 3600  # (a camera may put it all in one of the three)
    if degrees > (90 if ref in ("N", "S") else 180):
        return None  # no place on Earth: a damaged or forged tag, not carried
    whole = int(degrees)
    return f"{whole},{(degrees - whole) * 60:.4f}{ref}"


#: an XMP GPS coordinate, ``DDD,MM,SSk`` or ``DDD,MM.mmk`` (XMP specification part 2, "GPSCoordinate")
_XMP_COORDINATE = re.compile(r"^(\d{1,3}),(\d{1,2})(?:,(\d{1,2})|\.(\d+))?([NSEW])$")


def _xmp_coordinate(text: str | None, refs: str) -> str | None:
    """``text`` when it is an XMP coordinate of a place on Earth with a reference in ``refs``, else None."""
    match = _XMP_COORDINATE.match(text or "")
    if match is None or match[5] not in refs:
        return None
    degrees, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if minutes >= 60 or seconds >= 60 or degrees + minutes / 60 > (90 if refs == "NS" else 180):
        return None
    return text


def _from_exif(img, out: PhotoMetadata) -> None:
    from imagetwins.io import header_exif

    exif = header_exif(img)  # (a PNG's getexif decodes it)
    inner = exif.get_ifd(_EXIF_IFD)
    gps = exif.get_ifd(_GPS_IFD)
    out.taken = out.taken or _exif_date(inner.get(_DATETIME_ORIGINAL))
    if gps and out.latitude is None:
        lat, lon = _coordinate(gps.get(2), gps.get(1)), _coordinate(gps.get(4), gps.get(3))
        if lat and lon:
            out.latitude, out.longitude = lat, lon
    out.make = out.make or _text(exif.get(_MAKE))
    out.model = out.model or _text(exif.get(_MODEL))
    out.description = out.description or _text(exif.get(_DESCRIPTION))
    out.title = out.title or _ucs2(exif.get(_XP_TITLE))
    rating = exif.get(_RATING)
    if out.rating is None and isinstance(rating, int) and 1 <= rating <= 5:
        out.rating = rating
    words = _ucs2(exif.get(_XP_KEYWORDS))
    if words:
        out.keywords += [w.strip() for w in words.split(";") if w.strip()]


def _from_iptc(img, out: PhotoMetadata) -> None:
    from PIL import IptcImagePlugin

    try:
        iptc = IptcImagePlugin.getiptcinfo(img) or {}
    except Exception:  # (a damaged IPTC block: nothing to carry from it)
        return
    words = iptc.get((2, 25))
    for w in words if isinstance(words, list) else [words] if words else []:
        if (t := _text(w)) is not None:
            out.keywords.append(t)
    out.title = out.title or _text(iptc.get((2, 5)))
    out.description = out.description or _text(iptc.get((2, 120)))
    date = _text(iptc.get((2, 55)))
    if out.taken is None and date and len(date) == 8 and date.isdigit():
        clock = _text(iptc.get((2, 60))) or ""
        hms = (clock[:2], clock[2:4], clock[4:6]) if len(clock) >= 6 and clock[:6].isdigit() else ("00", "00", "00")
        out.taken = f"{date[:4]}-{date[4:6]}-{date[6:8]}T{':'.join(hms)}"


def _parse(packet: bytes | str):
    """An ``XMPMeta`` of ``packet``, or None when it cannot be one. XMP allows no DTD, so a packet declaring one
    (``<!DOCTYPE``, ``<!ENTITY``: entity expansion, "billion laughs") is never handed to the toolkit (Exempi
    refuses it, but prints to stderr). The object is made empty and then parsed: ``XMPMeta(xmp_str=...)`` left a
    half-made object whose ``__del__`` printed a traceback when the parse failed."""
    _, XMPMeta = _xmp()
    text = packet.decode("utf-8", "replace") if isinstance(packet, bytes) else packet
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        return None
    x = XMPMeta()
    try:
        x.parse_from_str(text)
    except Exception:  # a packet the toolkit cannot parse
        return None
    return x


def _from_xmp(packet: bytes | str, out: PhotoMetadata) -> None:
    x = _parse(packet)
    if x is None:  # a packet the toolkit cannot parse: nothing to carry from it
        return

    def prop(ns: str, name: str) -> str | None:
        try:
            return _text(x.get_property(ns, name)) if x.does_property_exist(ns, name) else None
        except Exception:
            return None

    def alt(name: str) -> str | None:
        try:
            return _text(x.get_localized_text(_NS_DC, name, None, "x-default")) \
                if x.does_property_exist(_NS_DC, name) else None
        except Exception:
            return None

    out.taken = out.taken or next((d[:19] for d in (prop(_NS_EXIF, "DateTimeOriginal"), prop(_NS_PS, "DateCreated"),
                                                   prop(_NS_XMP, "CreateDate")) if d and len(d) >= 10), None)
    lat = _xmp_coordinate(prop(_NS_EXIF, "GPSLatitude"), "NS")
    lon = _xmp_coordinate(prop(_NS_EXIF, "GPSLongitude"), "EW")
    if out.latitude is None and lat and lon:
        out.latitude, out.longitude = lat, lon
    out.make = out.make or prop(_NS_TIFF, "Make")
    out.model = out.model or prop(_NS_TIFF, "Model")
    rating = prop(_NS_XMP, "Rating")
    if out.rating is None and rating is not None:
        try:
            r = round(float(rating))
            out.rating = r if 1 <= r <= 5 else None
        except ValueError:
            pass
    out.title = out.title or alt("title")
    out.description = out.description or alt("description")
    try:
        n = x.count_array_items(_NS_DC, "subject") if x.does_property_exist(_NS_DC, "subject") else 0
        out.keywords += [t for k in range(1, n + 1) if (t := _text(x.get_array_item(_NS_DC, "subject", k)))]
    except Exception:
        pass


#: the most XMP read from one sidecar or one embedded packet: sidecars of darktable, digiKam and Lightroom are
#: kilobytes (a few hundred with an edit history); a larger one is not parsed (the toolkit holds it all in memory)
XMP_MAX_BYTES = 2 << 20


class SidecarTooLarge(ValueError):
    """An XMP sidecar or packet larger than :data:`XMP_MAX_BYTES`: not read."""


def _too_large(size: int) -> str:
    return f"{size / (1 << 20):.1f} MB of XMP, more than the {XMP_MAX_BYTES >> 20} MB read: not read"


def _read_sidecar(path: Path) -> bytes | None:
    """A sidecar's bytes: a regular file reached without following a link at its own name, else None;
    :class:`SidecarTooLarge` when it is larger than :data:`XMP_MAX_BYTES` (nothing of it is read)."""
    from imagetwins.io import open_regular_file

    try:
        with open_regular_file(path, follow_symlinks=False) as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > XMP_MAX_BYTES:
                raise SidecarTooLarge(_too_large(size))
            data = fh.read(XMP_MAX_BYTES + 1)
    except OSError:
        return None
    if len(data) > XMP_MAX_BYTES:  # (grew since the stat)
        raise SidecarTooLarge(_too_large(len(data)))
    return data


def read_metadata(path: str | os.PathLike, sidecars: bool = True,
                  unread: list[tuple[str, str]] | None = None,
                  placed: str | os.PathLike | None = None,
                  sidecar_files: Sequence[str | os.PathLike] = ()) -> PhotoMetadata:
    """Everything :class:`PhotoMetadata` holds of one file: its EXIF, IPTC and XMP, then (``sidecars``) its XMP
    sidecars (``IMG.jpg.xmp``, ``IMG.xmp``, or ``.XMP``), looked for beside ``placed`` when given (where a file
    moved into the quarantine lay: what stayed there), and the ``sidecar_files`` named (where its sidecars lie now:
    those that moved with it, a shared ``IMG.xmp`` another file keeps). A file that cannot be read has none (an
    empty record). XMP larger than :data:`XMP_MAX_BYTES` is not read: ``(file, why)`` is added to ``unread`` when
    given."""
    from PIL import Image

    from imagetwins.io import ImageReadError, open_header, open_regular_file

    out = PhotoMetadata()
    try:  # (only the raster formats the scan reads: Pillow's every plugin would parse anything, an EPS too)
        with open_regular_file(path) as fh, open_header(fh, path) as img:
            _from_exif(img, out)
            _from_iptc(img, out)
            packet = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
            if packet and len(packet) > XMP_MAX_BYTES:
                if unread is not None:
                    unread.append((str(path), "its embedded " + _too_large(len(packet))))
            elif packet:
                _from_xmp(packet, out)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, ImageReadError):
        pass
    if sidecars:
        p = Path(path if placed is None else placed)
        names = (sidecar_path(p), p.with_suffix(SIDECAR_SUFFIX))  # (and in capitals, as Windows tools write it)
        beside = [*names, *(n.with_name(n.name[:-4] + ".XMP") for n in names)]
        for side in dict.fromkeys([*(Path(os.path.normpath(f)) for f in sidecar_files), *beside]):
            if side == p or side == Path(path):
                continue
            try:
                data = _read_sidecar(side)
            except SidecarTooLarge as exc:
                if unread is not None:
                    unread.append((str(side), str(exc)))
                continue
            if data is not None:
                _from_xmp(data, out)
    out.keywords = list(dict.fromkeys(out.keywords))
    return out


def missing_from(keeper: PhotoMetadata, others: Sequence[PhotoMetadata]) -> PhotoMetadata:
    """What ``others`` hold and ``keeper`` lacks: each field the keeper has no value for, from the first other
    file that has one; keywords the keeper does not have, from all of them."""
    add = PhotoMetadata()
    for o in others:
        if not keeper.taken and not add.taken:
            add.taken = o.taken
        if not keeper.latitude and not add.latitude and o.latitude and o.longitude:
            add.latitude, add.longitude = o.latitude, o.longitude
        if not (keeper.make or keeper.model) and not (add.make or add.model):
            add.make, add.model = o.make, o.model
        if not keeper.rating and not add.rating:
            add.rating = o.rating
        if not keeper.title and not add.title:
            add.title = o.title
        if not keeper.description and not add.description:
            add.description = o.description
        have = set(keeper.keywords) | set(add.keywords)
        add.keywords += [k for k in o.keywords if k not in have]
    return add


def sidecar_bytes(add: PhotoMetadata, existing: bytes | None = None) -> bytes:
    """An XMP sidecar holding ``add``, on top of an ``existing`` sidecar's properties (which are kept)."""
    libxmp, XMPMeta = _xmp()
    x = XMPMeta()
    if existing:
        x = _parse(existing)
        if x is None:
            raise ValueError("the existing sidecar is not XMP the toolkit can read: left alone")
    if add.taken:
        x.set_property(_NS_EXIF, "DateTimeOriginal", add.taken)
        x.set_property(_NS_PS, "DateCreated", add.taken)
    if add.latitude and add.longitude:
        x.set_property(_NS_EXIF, "GPSLatitude", add.latitude)
        x.set_property(_NS_EXIF, "GPSLongitude", add.longitude)
    if add.make:
        x.set_property(_NS_TIFF, "Make", add.make)
    if add.model:
        x.set_property(_NS_TIFF, "Model", add.model)
    if add.rating:
        x.set_property(_NS_XMP, "Rating", str(add.rating))
    if add.title:
        x.set_localized_text(_NS_DC, "title", None, "x-default", add.title)
    if add.description:
        x.set_localized_text(_NS_DC, "description", None, "x-default", add.description)
    for k in add.keywords:
        x.append_array_item(_NS_DC, "subject", k, {"prop_array_is_unordered": True})
    return x.serialize_to_str(omit_packet_wrapper=False).encode("utf-8")


def _namesake(keeper: str | os.PathLike) -> str | None:
    """Another file whose ``IMG.xmp`` sidecar a keeper without an extension (``IMG``, found by its first bytes) would
    write: ``IMG.jpg`` beside it (not an ``.xmp``), or None."""
    folder, name = os.path.split(os.fspath(keeper))
    if os.path.splitext(name)[1]:
        return None
    try:
        others = os.listdir(folder or ".")
    except OSError:
        return None
    return next((os.path.join(folder, o) for o in sorted(others) if o != name and os.path.splitext(o)[0] == name
                 and os.path.splitext(o)[1].lower() != SIDECAR_SUFFIX), None)


def sidecar_writes(moved: Sequence[tuple], unread: list[tuple[str, str]] | None = None
                   ) -> tuple[list[tuple[Path, bytes, bytes | None, PhotoMetadata]], list[tuple[str, str]]]:
    """The sidecars to write for ``(keeper, removed file[, where it lay[, where its sidecars lie now]])`` (each
    removed file read where it lies now: in place for a dry run, in the quarantine after the move; its sidecars
    looked for where it lay, and read where they lie now: moved with it, or a shared ``IMG.xmp`` left in place):
    ``([(sidecar, bytes, previous bytes or None, what it adds)], [(sidecar, why none is written)])``. A keeper
    that lacks nothing gets none. XMP too large to read (:data:`XMP_MAX_BYTES`) is named in ``unread`` (file,
    why); a keeper's own sidecar that large is left alone (refused)."""
    by_keeper: dict[str, list[tuple[str, str, Sequence[str]]]] = {}
    for keeper, removed, *placed in moved:
        by_keeper.setdefault(keeper, []).append((removed, placed[0] if placed else removed,
                                                 placed[1] if len(placed) > 1 else ()))
    writes, refused = [], []
    for keeper, removed in by_keeper.items():
        add = missing_from(read_metadata(keeper, unread=unread),
                           [read_metadata(f, unread=unread, placed=at, sidecar_files=sides)
                            for f, at, sides in removed])
        if not add:
            continue
        side = sidecar_path(keeper)
        if (other := _namesake(keeper)) is not None:
            refused.append((str(side), f"that name is also the sidecar of {other} (IMG.xmp beside IMG.jpg), which "
                                       "another program reads: nothing written for a keeper without an extension"))
            continue
        if os.path.islink(side):
            refused.append((str(side), "a symbolic link stands at the sidecar's name: nothing written through it"))
            continue
        previous = None
        if os.path.lexists(side):
            try:
                previous = _read_sidecar(side)
            except SidecarTooLarge as exc:
                refused.append((str(side), f"the keeper's sidecar holds {exc}; left alone"))
                continue
            if previous is None:
                refused.append((str(side), "something other than a readable file stands at the sidecar's name"))
                continue
        try:
            writes.append((side, sidecar_bytes(add, previous), previous, add))
        except ValueError as exc:
            refused.append((str(side), str(exc)))
    return writes, refused
