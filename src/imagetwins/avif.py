"""The size of the frames an AVIF file codes, read from its bytes before it is decoded.

An AVIF's ``ispe`` box declares the picture's size, and that is the size Pillow reports; the AV1 decoder decodes the
frame the item's data codes, whatever ``ispe`` says: a 2 KB file declaring 16 x 16 and coding a 12,000 x 12,000
frame decoded at 337 MB, outside the decode budget held for 16 x 16. :func:`coded_size` walks the boxes (``meta``'s
``iloc``: where each item's data lies) and reads each AV1 item's sequence header (its largest frame) so the budget
is held for the larger of the two. Anything it cannot read gives None: the declared size stands, as before.
"""

from __future__ import annotations

__all__ = ["MAX_ITEMS", "TooManyItems", "coded_size"]

#: an AVIF listing more items than this is refused (each is looked at; a photo holds a few, a grid of tiles tens)
MAX_ITEMS = 4096


class TooManyItems(Exception):
    """The file lists more than :data:`MAX_ITEMS` items."""

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


def _item_extents(data: bytes, iloc: tuple[int, int], idat: tuple[int, int] | None) -> list[tuple[int, int]]:
    """(offset in ``data``, length) of each item's first extent, as ``iloc`` (ISO/IEC 14496-12 8.11.3) places it."""
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
        take(2 if version < 2 else 4)  # item_ID
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
                    out.append((origin + base + offset, length))
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


def coded_size(data: bytes) -> tuple[int, int] | None:
    """The largest (width, height) any AV1 item of the AVIF ``data`` codes (its sequence header's largest frame), or
    None when the file cannot be read so far (its declared size then stands). :class:`TooManyItems` past
    :data:`MAX_ITEMS`."""
    try:
        meta = _child(data, 0, len(data), b"meta")
        if meta is None:
            return None
        start, end = meta[0] + 4, meta[1]  # (a full box: version and flags first)
        iloc = _child(data, start, end, b"iloc")
        if iloc is None:
            return None
        frames = [f for off, length in _item_extents(data, iloc, _child(data, start, end, b"idat"))
                  if (f := _sequence_frame(data, off, length)) is not None]
    except (ValueError, IndexError):
        return None
    return max(frames, key=lambda wh: wh[0] * wh[1]) if frames else None
