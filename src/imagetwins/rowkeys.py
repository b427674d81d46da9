"""Stored rows that decide what moves, signed so that an edit of them is noticed.

A pair score kept in an index (``copies``' confidence with its kept verdict: 0-1 a copy, 2-3 a re-shot) decides
whether ``remove`` may move a file: a re-shot's 2.5 edited to 0.99 by hand would make it a copy. Every such row an
index keeps (table ``pair_scores``; the candidate search's state, which keeps confidences too) carries a tag: a
keyed BLAKE2b of the row (a MAC; ~0.6 us a row, a third of HMAC-SHA256's) under a key of this user's
(``stored-rows.key`` in the data folder, readable by its owner only, as a quarantine's ``manifest.key`` signs its
journal). A row whose tag is missing or wrong is no score: its pair is checked again. An index another user made
(a ``--db`` someone handed over) is so checked again, never trusted.

Where the data folder cannot hold the key (no home folder, a folder of someone else's), a key of this process is
used: what this run stores is trusted by this run only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import struct
import threading

from imagetwins.ownfolders import make_key, read_key
from imagetwins.userdirs import check_home, data_folder

__all__ = ["KEY_NAME", "TAG_BYTES", "pair_score_tags", "row_key", "row_tag", "row_tag_ok"]

#: the key's file name in the data folder
KEY_NAME = "stored-rows.key"
#: bytes of a row's tag (128 bits)
TAG_BYTES = 16

_lock = threading.Lock()
_keys: dict[str, bytes] = {}
_process_key = secrets.token_bytes(32)


def _read_or_make(path: str) -> bytes:
    folder = os.path.dirname(path)
    check_home(folder)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    make_key(path)
    return read_key(path, "the key of stored rows")  # whoever can read it can sign rows


def row_key() -> bytes:
    """This user's key of stored rows (made on first use), or this process's where it cannot be kept."""
    path = os.fspath(data_folder() / KEY_NAME)
    with _lock:
        key = _keys.get(path)
        if key is None:
            try:
                key = _read_or_make(path)
            except OSError as exc:  # (UnsafeFolder, NoHomeFolder are OSErrors)
                key = _process_key
                from imagetwins.io import CostNotice, warn_line

                remedy = ("; make it readable by you alone (chmod 600) or delete it: a new key is made and kept "
                          "pair scores are checked once again" if os.path.lexists(path) else "")
                warn_line(f"pair scores kept in an index are trusted by this run only: no key of stored rows "
                          f"({getattr(exc, 'strerror', None) or exc}){remedy}", CostNotice)
            _keys[path] = key
        return key


def _field(value: object) -> bytes:
    if isinstance(value, float):
        return b"f" + struct.pack("<d", value)
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogatepass")
    if isinstance(value, bytes):
        return b"b" + struct.pack("<I", len(value)) + value
    raise TypeError(f"a stored row's field is str, bytes or float, not {type(value).__name__}")


def row_tag(*fields: object, key: bytes | None = None) -> bytes:
    """The tag of one stored row (its fields: str, bytes, float), under ``key`` (by default :func:`row_key`)."""
    body = b"".join(_field(f) for f in fields)
    return hashlib.blake2b(body, key=row_key() if key is None else key, digest_size=TAG_BYTES).digest()


def row_tag_ok(tag: object, *fields: object, key: bytes | None = None) -> bool:
    """Whether ``tag`` is the tag of a row of ``fields`` (anything but the right bytes: no)."""
    if not isinstance(tag, bytes) or len(tag) != TAG_BYTES:
        return False
    try:
        return hmac.compare_digest(row_tag(*fields, key=key), tag)
    except TypeError:  # a field of another type: an edited row
        return False


_DOUBLE = struct.Struct("<d").pack
_LENGTH = struct.Struct("<I").pack


def pair_score_tags(method: str, version: str, key: bytes | None = None):
    """``tag(a, b, score)``: :func:`row_tag` of a pair score row ``(method, version, a, b, score)``, the method and
    version encoded once (a lookup checks ~1 M rows after a first find of 100,000: 2.8 -> ~1.4 us a row)."""
    head = _field(method) + _field(version)
    k = row_key() if key is None else key

    def tag(a: bytes, b: bytes, score: float) -> bytes:
        body = b"".join((head, b"b", _LENGTH(len(a)), a, b"b", _LENGTH(len(b)), b, b"f", _DOUBLE(score)))
        return hashlib.blake2b(body, key=k, digest_size=TAG_BYTES).digest()

    return tag
