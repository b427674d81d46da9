"""A file's content digest: :class:`Digest`, the one type for "which bytes were scanned".

A scan reads every file and keeps the full SHA-256 (64 hex digits). The index and the per-folder cache
keep only its first 128 bits (32 hex digits: enough to tell contents apart, half the space), so a result
made through them carries prefixes. A :class:`Digest` knows which it is and compares the two correctly
(:meth:`Digest.same_content`: a prefix matches the full digest it begins); every module that checks a
file against what was scanned (the review page's thumbnails, the plan, the quarantine, the pair-score
keys) asks it rather than counting hex digits itself.

A :class:`Digest` is a ``str`` (its hex digits), so it is written to JSON and compared as before; the
empty digest means unknown (a file whose content was not read).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

__all__ = ["FULL_HEX", "PREFIX_BYTES", "PREFIX_HEX", "Digest"]

#: hex digits of a full SHA-256
FULL_HEX = 64
#: bytes of the prefix the index keeps (and that keys pair scores)
PREFIX_BYTES = 16
PREFIX_HEX = 2 * PREFIX_BYTES

_HEX = frozenset("0123456789abcdef")


class Digest(str):
    """SHA-256 of a file's bytes as hex: full (64 digits), the index's prefix (32), or unknown ('').

    A program may give digests of its own (any other string): they are kept as given and compared only
    for equality.
    """

    __slots__ = ()

    def __new__(cls, value: str | bytes | None = "") -> Digest:
        if isinstance(value, Digest):
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            value = bytes(value).hex()
        return super().__new__(cls, value or "")

    @classmethod
    def of_bytes(cls, data: bytes) -> Digest:
        """The full digest of ``data``."""
        return cls(hashlib.sha256(data).hexdigest())

    @property
    def known(self) -> bool:
        return bool(self)

    @property
    def is_full(self) -> bool:
        """A whole SHA-256 (from a scan, or completed by :meth:`completed`)."""
        return len(self) == FULL_HEX and _HEX.issuperset(self.lower())

    @property
    def is_prefix(self) -> bool:
        """The first 128 bits only (from the index or the per-folder cache)."""
        return len(self) == PREFIX_HEX and _HEX.issuperset(self.lower())

    @property
    def prefix(self) -> Digest:
        """The first 128 bits, as the index keeps them ('' when unknown)."""
        return Digest(self[:PREFIX_HEX])

    @property
    def key(self) -> bytes | None:
        """The first 16 bytes, raw: what keys a pair score (None when unknown or shorter, or not hex)."""
        try:
            raw = bytes.fromhex(self[:PREFIX_HEX])
        except ValueError:
            return None
        return raw if len(raw) == PREFIX_BYTES else None

    def same_content(self, other: str | Digest | None) -> bool:
        """Do both digests vouch for the same bytes? Both known, and equal, or one is the index's prefix of the
        other, a full SHA-256. An unknown digest matches nothing."""
        other = Digest(other)
        if not self or not other:
            return False
        if len(self) == len(other):
            return self.lower() == other.lower()
        short, full = (self, other) if len(self) < len(other) else (other, self)
        return short.is_prefix and full.is_full and full.lower().startswith(short.lower())

    def completed(self, path: str | os.PathLike, sha256: Callable[[str | os.PathLike], str]) -> Digest:
        """The full digest, reading ``path`` again (through ``sha256``: the caller's safe reader, e.g. one that
        follows no link) when this is a prefix: only when the file still begins with it (else the file changed
        since the scan, or cannot be read, and this digest is returned as it is)."""
        if not self.is_prefix:
            return self
        try:
            full = Digest(sha256(path))
        except OSError:
            return self
        return full if self.same_content(full) else self
