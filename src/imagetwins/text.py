"""File names made safe to show: on a terminal, in a log, in a spreadsheet.

A file name may hold any byte but ``/`` and NUL: carriage returns, escape sequences that rewrite the
terminal, right-to-left overrides, bytes that are not UTF-8. :func:`printable` shows such characters
as escapes (``\\r``, ``\\x1b``, ``\\u202e``, ``\\xff`` for a raw byte), so a name can never fake a line of
output. :func:`csv_cell` neutralises spreadsheet formulas as OWASP recommends.
"""

from __future__ import annotations

import unicodedata

__all__ = ["csv_cell", "printable"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# joiners are format characters too, but emoji need them and they move no text
_KEEP = frozenset("\u200c\u200d")
#: first characters that make a spreadsheet cell a formula (OWASP "CSV injection")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as Python's file-name decoding keeps it
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _unsafe(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") or (
        unicodedata.category(ch) == "Cf" and ch not in _KEEP)


def printable(text: str) -> str:
    """``text`` with control, format and line-separator characters and raw bytes shown as escapes.

    >>> printable("x\\rfake\\x1b[2K.jpg")
    'x\\\\rfake\\\\x1b[2K.jpg'
    """
    if text.isprintable():
        return text
    return "".join(_escape(ch) if _unsafe(ch) else ch for ch in text)


def csv_cell(value):
    """A value for a CSV cell: text that a spreadsheet would run as a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
