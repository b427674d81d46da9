"""Stored ``copies`` records as an imagetwins of another features version wrote them (``verify.FEATURES_VERSION``):
version 2 kept no colour thumbnail, and its header had no words for one. For the tests of an index written before
the colour thumbnail (``test_colour_copies``) and of fixtures written then whose storage layout, not their
features, is under test (``test_index_heads``)."""

from __future__ import annotations

import struct

import numpy as np

from imagetwins import copies, verify

_HEADER_2 = struct.Struct("<4s8I")


def features_as_version_2(raw: bytes) -> bytes:
    """Today's serialised features as version 2 stored them: the header without the colour's shape, no colour."""
    f = verify.ImageFeatures.from_bytes(raw)
    th, tw = f.thumbnail.shape
    head = _HEADER_2.pack(b"ITF\x00", 2, f.size[0], f.size[1], len(f.points), len(f.mirror_points), 32, th, tw)
    return b"".join([head, f.points.astype("<f2").tobytes(), f.descriptors.tobytes(),
                     f.mirror_points.astype("<f2").tobytes(), f.mirror_descriptors.tobytes(), f.thumbnail.tobytes()])


def features_from_version_2(raw: bytes) -> bytes:
    """Version 2 features in today's format, with no colour known (what they held, nothing made up)."""
    _, version, w, h, n, m, d, th, tw = _HEADER_2.unpack_from(raw)
    assert version == 2, version
    sizes, parts, at = [2 * 2 * n, d * n, 2 * 2 * m, d * m, th * tw], [], _HEADER_2.size
    for size in sizes:
        parts.append(raw[at:at + size])
        at += size
    assert at == len(raw)
    return verify.ImageFeatures((w, h), np.frombuffer(parts[0], "<f2").reshape(n, 2).astype(np.float32),
                                np.frombuffer(parts[1], np.uint8).reshape(n, d),
                                np.frombuffer(parts[2], "<f2").reshape(m, 2).astype(np.float32),
                                np.frombuffer(parts[3], np.uint8).reshape(m, d),
                                np.frombuffer(parts[4], np.uint8).reshape(th, tw)).to_bytes()


def _record_with(blob: bytes, change) -> bytes:
    head = copies._parse_head(blob)
    features = change(blob[head.features_at:])
    if head.alt_hash is None:
        return blob[:head.features_at] + features
    alt = change(blob[head.alt_at:head.alt_at + head.alt_length])
    return blob[:head.alt_at - 4] + struct.pack("<I", len(alt)) + alt + features


def record_as_version_2(blob: bytes) -> bytes:
    """A stored copies record (:meth:`CopyRecord.to_bytes`) as the imagetwins of features version 2 wrote it."""
    return _record_with(blob, features_as_version_2)


def record_from_version_2(blob: bytes) -> bytes:
    """A copies record stored by the imagetwins of features version 2, in today's format (no colour known)."""
    return _record_with(blob, features_from_version_2)
