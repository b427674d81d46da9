"""The size of the frames a HEIF file (an AVIF's AV1, a HEIC's HEVC) codes, read from its bytes before it is decoded.

A HEIF's ``ispe`` box (cropped by any ``clap``) declares the picture's size, and that is the size Pillow reports; the
decoder decodes the frame the item codes, whatever the boxes say: a 2 KB AVIF declaring 16 x 16 and coding a 12,000 x
12,000 frame decoded at 337 MB, and a 29 KB HEIC whose ``clap`` crops an 11,000 x 11,000 frame to 16 x 16 at 456 MB
(libheif 1.23 refuses a lying ``ispe`` itself, not a crop), outside the decode budget held for 16 x 16.
:func:`coded_size` walks the boxes and reads each coded frame's size: an AV1 item's sequence header (in its data,
``meta``'s ``iloc`` saying where), an HEVC item's sequence parameter sets (in the ``hvcC`` properties and among the
first units of its data), so the budget is held for the larger of the two. An item's data is read by the type
``iinf`` gives it (``hvc1``, ``av01``; an Exif or XMP item not at all: its bytes read as HEVC units once made a
64 x 48 HEIC "a 20000x20000 frame"); an item it does not type, as both. A grid's or overlay's canvas (its data's
output size) counts as a frame: libheif paints the tiles on it before comparing it with the declared size.
Anything it cannot read gives None: the declared size stands, as before.
"""

from __future__ import annotations

__all__ = ["MAX_ITEMS", "TooManyItems", "coded_size"]

#: an AVIF listing more items than this is refused (each is looked at; a photo holds a few, a grid of tiles tens)
MAX_ITEMS = 4096


class TooManyItems(Exception):
    """The file lists more than :data:`MAX_ITEMS` items."""

#: the item types whose data is read as coded units (an item ``iinf`` does not type is read as both)
_AV1, _HEVC = b"av01", b"hvc1"
#: the derived items whose data declares the canvas the decoder paints their tiles or layers on (ISO/IEC 23008-12
#: 6.6.2.3 ``grid``, 6.6.2.2 ``iovl``), and the bytes before its output_width there
_CANVASES = {b"grid": 4, b"iovl": 10}
_OBU_SEQUENCE_HEADER = 1
_OBU_TEMPORAL_DELIMITER = 2
_OBU_PADDING = 15


def _boxes(data: bytes, start: int, end: int):
    """(type, payload start, payload end) of each box in ``data[start:end]``."""
    at = start
    while at + 8 <= end:
        size, kind = int.from_bytes(data[at:at + 4], "big"), data[at + 4:at + 8]
        head = 8
        if size == 1:
            if at + 16 > end:
                return
            size, head = int.from_bytes(data[at + 8:at + 16], "big"), 16
        elif size == 0:
            size = end - at
        if size < head or at + size > end:
            return
        yield kind, at + head, at + size
        at += size


def _child(data: bytes, start: int, end: int, kind: bytes):
    return next(((s, e) for k, s, e in _boxes(data, start, end) if k == kind), None)


def _item_types(data: bytes, iinf: tuple[int, int] | None) -> dict[int, bytes]:
    """item_ID -> item_type of each item ``iinf`` (ISO/IEC 14496-12 8.11.6) lists with one (``infe`` version 2 or
    3: ``hvc1``, ``av01``, ``Exif``, ``mime``, ``grid`` ...); an item it does not type is not in it."""
    if iinf is None:
        return {}
    at, end = iinf
    at += 4 + (2 if data[at] == 0 else 4)  # (version and flags, entry_count)
    types: dict[int, bytes] = {}
    for kind, start, stop in _boxes(data, at, end):
        if kind != b"infe" or stop - start < 4 or data[start] not in (2, 3):
            continue
        width = 2 if data[start] == 2 else 4  # item_ID's bytes; then protection_index (2), item_type (4)
        if start + 4 + width + 6 > stop:
            raise ValueError("infe cut short")
        types[int.from_bytes(data[start + 4:start + 4 + width], "big")] = data[start + 6 + width:start + 10 + width]
        if len(types) > MAX_ITEMS:
            raise TooManyItems(len(types))
    return types


def _item_extents(data: bytes, iloc: tuple[int, int], idat: tuple[int, int] | None
                  ) -> list[tuple[int, int, int]]:
    """(item_ID, offset in ``data``, length) of each item's first extent, as ``iloc`` (ISO/IEC 14496-12 8.11.3)
    places it."""
    at, end = iloc
    version = data[at]
    at += 4

    def take(n: int) -> int:
        nonlocal at
        if at + n > end:
            raise ValueError("iloc cut short")
        value = int.from_bytes(data[at:at + n], "big")
        at += n
        return value

    sizes = take(1)
    offset_size, length_size = sizes >> 4, sizes & 15
    sizes = take(1)
    base_size, index_size = sizes >> 4, (sizes & 15) if version in (1, 2) else 0
    out = []
    count = take(2 if version < 2 else 4)
    if count > MAX_ITEMS:
        raise TooManyItems(count)
    for _ in range(count):
        item = take(2 if version < 2 else 4)
        method = take(2) & 15 if version in (1, 2) else 0
        take(2)  # data_reference_index
        base = take(base_size)
        # (extents of no bytes at all would be counted to 65,535 for each item: only the first is needed then)
        extents = take(2) if index_size + offset_size + length_size else min(1, take(2))
        for k in range(extents):
            take(index_size)
            offset, length = take(offset_size), take(length_size)
            if k == 0 and method in (0, 1):
                origin = 0 if method == 0 else idat[0] if idat is not None else None
                if origin is not None:
                    out.append((item, origin + base + offset, length))
    return out


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def read(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self.at >> 3
            if byte >= len(self.data):
                raise ValueError("sequence header cut short")
            value = value << 1 | (self.data[byte] >> (7 - (self.at & 7))) & 1
            self.at += 1
        return value

    def uvlc(self) -> int:
        zeros = 0
        while not self.read(1):
            zeros += 1
            if zeros >= 32:
                raise ValueError("uvlc too long")
        return self.read(zeros) + (1 << zeros) - 1


def _frame_size(header: bytes) -> tuple[int, int]:
    """max_frame_width, max_frame_height of an AV1 sequence header OBU's payload (AV1 spec 5.5.1)."""
    bits = _Bits(header)
    bits.read(3)  # seq_profile
    bits.read(1)  # still_picture
    if bits.read(1):  # reduced_still_picture_header
        bits.read(5)  # seq_level_idx[0]
    else:
        decoder_model = False
        delay_length = 0
        if bits.read(1):  # timing_info_present_flag
            bits.read(32)
            bits.read(32)
            if bits.read(1):  # equal_picture_interval
                bits.uvlc()
            decoder_model = bool(bits.read(1))
            if decoder_model:
                delay_length = bits.read(5) + 1
                bits.read(32)
                bits.read(5)
                bits.read(5)
        display_delay = bits.read(1)
        for _ in range(bits.read(5) + 1):  # operating points
            bits.read(12)
            if bits.read(5) > 7:  # seq_level_idx
                bits.read(1)
            if decoder_model and bits.read(1):
                bits.read(delay_length)
                bits.read(delay_length)
                bits.read(1)
            if display_delay and bits.read(1):
                bits.read(4)
    width_bits, height_bits = bits.read(4) + 1, bits.read(4) + 1
    return bits.read(width_bits) + 1, bits.read(height_bits) + 1


def _leb128(data: bytes, at: int) -> tuple[int, int]:
    value = 0
    for k in range(8):
        if at >= len(data):
            raise ValueError("leb128 cut short")
        byte = data[at]
        value |= (byte & 0x7F) << (7 * k)
        at += 1
        if not byte & 0x80:
            return value, at
    raise ValueError("leb128 too long")


def _canvas_size(data: bytes, start: int, length: int, kind: bytes) -> tuple[int, int] | None:
    """output_width, output_height of a ``grid`` or ``iovl`` item's data (16-bit fields, or 32-bit where its
    flags say so): libheif makes that canvas before it checks it against the declared size, so a 1,381-byte HEIC
    declaring 16 x 16, a grid of 400 tiles of one 512 x 512 frame on a 10,240 x 10,240 canvas, peaked at 176 MB
    before it was refused."""
    at = start + _CANVASES[kind]
    wide = 4 if len(data) > start + 1 and data[start + 1] & 1 else 2
    if at + 2 * wide > min(len(data), start + length):
        return None
    return int.from_bytes(data[at:at + wide], "big"), int.from_bytes(data[at + wide:at + 2 * wide], "big")


def _sequence_frame(data: bytes, start: int, length: int) -> tuple[int, int] | None:
    """The largest frame the sequence header among the first OBUs of an item's data declares (None: none there)."""
    at, end = start, min(len(data), start + length)
    for _ in range(4):  # (a temporal delimiter or padding may come first)
        if at >= end:
            return None
        head = data[at]
        kind, extension, sized = head >> 3 & 15, head >> 2 & 1, head >> 1 & 1
        at += 1 + extension
        size, at = _leb128(data, at) if sized else (end - at, at)
        if kind == _OBU_SEQUENCE_HEADER:
            return _frame_size(data[at:min(end, at + size)])
        if kind not in (_OBU_TEMPORAL_DELIMITER, _OBU_PADDING):
            return None
        at += size
    return None


_HEVC_SPS = 33


def _unescaped(nal: bytes) -> bytes:
    """An HEVC NAL unit's payload without its emulation prevention bytes (``00 00 03`` -> ``00 00``)."""
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


def _hevc_sps_frame(nal: bytes) -> tuple[int, int] | None:
    """pic_width_in_luma_samples, pic_height_in_luma_samples of an HEVC sequence parameter set NAL unit (H.265
    7.3.2.2; the frame the decoder allocates, padding and all); None for another unit."""
    if len(nal) < 3 or nal[0] >> 1 & 63 != _HEVC_SPS:
        return None
    bits = _Bits(_unescaped(nal[2:]))
    bits.read(4)  # sps_video_parameter_set_id
    sub_layers = bits.read(3)  # sps_max_sub_layers_minus1
    bits.read(1)
    bits.read(96)  # general profile (88 bits) and level (8)
    present = [(bits.read(1), bits.read(1)) for _ in range(sub_layers)]
    if sub_layers:
        bits.read(2 * (8 - sub_layers))
    for profile, level in present:
        bits.read(88 * profile + 8 * level)
    bits.uvlc()  # sps_seq_parameter_set_id
    if bits.uvlc() == 3:  # chroma_format_idc
        bits.read(1)
    return bits.uvlc(), bits.uvlc()


def _hvcc_frames(data: bytes, start: int, end: int) -> tuple[list[tuple[int, int]], int]:
    """The frames of the sequence parameter sets an ``hvcC`` box (ISO/IEC 14496-15 8.3.3) carries, and the size of
    the length before each NAL unit of its item's data."""
    if end - start < 23:
        raise ValueError("hvcC cut short")
    length_size, at, frames = (data[start + 21] & 3) + 1, start + 23, []
    for _ in range(data[start + 22]):  # (arrays of NAL units, one type each)
        if at + 3 > end:
            raise ValueError("hvcC cut short")
        count, at = int.from_bytes(data[at + 1:at + 3], "big"), at + 3
        for _ in range(count):
            size = int.from_bytes(data[at:at + 2], "big")
            if at + 2 + size > end:
                raise ValueError("hvcC cut short")
            if (frame := _hevc_sps_frame(data[at + 2:at + 2 + size])) is not None:
                frames.append(frame)
            at += 2 + size
    return frames, length_size


def _hevc_data_frames(data: bytes, start: int, length: int, length_size: int) -> list[tuple[int, int]]:
    """The frames of the sequence parameter sets among the first NAL units of an HEVC item's data (they replace the
    ``hvcC``'s own where the decoder meets them)."""
    at, end, frames = start, min(len(data), start + length), []
    for _ in range(4):
        if at + length_size > end:
            break
        size = int.from_bytes(data[at:at + length_size], "big")
        at += length_size
        if (frame := _hevc_sps_frame(data[at:min(end, at + size, at + 4096)])) is not None:
            frames.append(frame)
        at += size
    return frames


def coded_size(data: bytes) -> tuple[int, int] | None:
    """The largest (width, height) any AV1 or HEVC item of the HEIF ``data`` (AVIF, HEIC) codes (an AV1 sequence
    header's largest frame, an HEVC sequence parameter set's frame), or None when the file cannot be read so far (its
    declared size then stands). :class:`TooManyItems` past :data:`MAX_ITEMS`."""
    try:
        meta = _child(data, 0, len(data), b"meta")
        if meta is None:
            return None
        start, end = meta[0] + 4, meta[1]  # (a full box: version and flags first)
        frames, length_sizes, av1 = [], set(), False
        ipco = _child(data, *(_child(data, start, end, b"iprp") or (0, 0)), b"ipco")
        for kind, box_start, box_end in _boxes(data, *(ipco or (0, 0))):
            if kind == b"hvcC":
                found, length_size = _hvcc_frames(data, box_start, box_end)
                frames += found
                length_sizes.add(length_size)
            av1 = av1 or kind == b"av1C"
        av1 = av1 or not length_sizes  # (an HEVC item's data is never read as AV1 units)
        iloc = _child(data, start, end, b"iloc")
        types = _item_types(data, _child(data, start, end, b"iinf"))
        if iloc is not None:
            for item, off, length in _item_extents(data, iloc, _child(data, start, end, b"idat")):
                kind = types.get(item)  # (an item of another type, Exif or XMP, is not read as coded units)
                if kind in _CANVASES and (frame := _canvas_size(data, off, length, kind)):
                    frames.append(frame)
                if (av1 and kind is None or kind == _AV1) and (frame := _sequence_frame(data, off, length)):
                    frames.append(frame)
                for length_size in length_sizes if kind in (None, _HEVC) else ():
                    frames += _hevc_data_frames(data, off, length, length_size)
    except (ValueError, IndexError):
        return None
    return max(frames, key=lambda wh: wh[0] * wh[1]) if frames else None
