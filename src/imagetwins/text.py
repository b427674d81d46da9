"""File names made safe to show: on a terminal, in a log, in a spreadsheet.

A file name may hold any byte but ``/`` and NUL: carriage returns, escape sequences that rewrite the
terminal, right-to-left overrides, bytes that are not UTF-8. :func:`printable` shows such characters
as escapes (``\\r``, ``\\x1b``, ``\\u202e``, ``\\xff`` for a raw byte), so a name can never fake a line of
output; :func:`told_apart` escapes every non-ASCII character of names that would look the same as another shown in one
run (``café.jpg`` composed and decomposed: two files).
:func:`csv_cell` neutralises spreadsheet formulas as OWASP recommends. :func:`loads_json` parses JSON text
read back from a file anyone may have edited (a journal, a plan, an index row) without a traceback.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

__all__ = ["csv_cell", "loads_json", "printable", "shell_word", "told_apart", "to_sqlite", "from_sqlite"]

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


# characters that show nothing (or nothing that tells two names apart): format characters (the joiners printable
# keeps), the combining grapheme joiner, variation selectors, Hangul fillers
_UNSEEN = re.compile("[\u034f\u115f\u1160\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]")


def _looks(text: str) -> str:
    """What a person sees of ``text``: its NFC form without the characters that show nothing."""
    return unicodedata.normalize("NFC", _UNSEEN.sub("", "".join(
        ch for ch in text if unicodedata.category(ch) != "Cf")))


def _code_points(text: str) -> str:
    """``text`` with every character outside ASCII as its code point (``\\u00e9``; a raw byte ``\\xe9``)."""
    return "".join(ch if ord(ch) < 0x80 else f"\\x{ord(ch) - 0xDC00:02x}" if 0xDC80 <= ord(ch) <= 0xDCFF
                   else f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}" for ch in text)


def told_apart(names: Iterable[str]) -> Callable[[str], str]:
    """A function showing each of ``names`` (the names one run shows) so that two different ones never look the same:
    a name that differs from another only by its Unicode normalisation (``café`` composed and decomposed, which
    macOS and Linux keep as two files) or by characters that show nothing (a zero-width joiner, a variation selector)
    is shown with every character outside ASCII as its code point; any other name as it is.

    >>> shown = told_apart(["caf\\u00e9.jpg", "cafe\\u0301.jpg", "th\\u00e9.jpg"])
    >>> shown("caf\\u00e9.jpg"), shown("cafe\\u0301.jpg"), shown("th\\u00e9.jpg")
    ('caf\\\\u00e9.jpg', 'cafe\\\\u0301.jpg', 'th\u00e9.jpg')
    """
    first: dict[str, str] = {}
    alike: set[str] = set()
    for name in names:
        other = first.setdefault(name if name.isascii() else _looks(name), name)
        if other != name:
            alike.update((other, name))
    return lambda name: _code_points(name) if name in alike else name


_SHELL_SAFE = re.compile(r"[A-Za-z0-9@%+=:,./_-]+")


def shell_word(path: object) -> str:
    """``path`` as one word a POSIX shell reads back as that path: for the commands a hint tells the user to run
    (``undo with: imagetwins undo JOURNAL``), which they paste. Plain names stay as they are; others are quoted
    (a folder named ``My $(touch x) photos`` pasted unquoted ran ``touch x``); one holding control characters or
    bytes that are not UTF-8 is written ``$'...'`` with escapes (bash, zsh, ksh), so the line stays one
    printable line and still names the very bytes.

    >>> shell_word("/photos/a b.jpg"), shell_word("x\\ny")
    ("'/photos/a b.jpg'", "$'x\\\\ny'")

    A relative path that starts with ``-`` (a folder named ``-r``) is written ``./-r``: pasted as it was, the
    command would take it for an option.
    """
    text = str(path)
    if text.startswith("-"):
        text = "./" + text
    if _SHELL_SAFE.fullmatch(text):
        return text
    if not any(_unsafe(ch) for ch in text):
        return "'" + text.replace("'", "'\"'\"'") + "'"
    return "$'" + "".join(_escape(ch) if _unsafe(ch) else "\\\\" if ch == "\\" else "\\'" if ch == "'" else ch
                          for ch in text) + "'"


def csv_cell(value):
    """A value for a CSV cell: text that a spreadsheet would run as a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


# File names are bytes; Python shows the bytes that are not UTF-8 as lone surrogates (U+DC80..U+DCFF),
# which SQLite text cannot hold. They are stored as the private-use code points U+10FF80..U+10FFFF
# instead (never seen in real names) and mapped back on reading, so every name round-trips.
_RAW_BYTE = re.compile("[\udc80-\udcff]")
_STORED_BYTE = re.compile("[\U0010ff80-\U0010ffff]")
_TO_DB = {0xDC80 + i: 0x10FF80 + i for i in range(128)}
_FROM_DB = {v: k for k, v in _TO_DB.items()}


def to_sqlite(name: str) -> str:
    """A file name (or path) as SQLite text can hold it, whatever bytes it has (:func:`from_sqlite` reverses it)."""
    return name.translate(_TO_DB) if _RAW_BYTE.search(name) else name


def from_sqlite(text: str) -> str:
    """The file name :func:`to_sqlite` stored."""
    return text.translate(_FROM_DB) if _STORED_BYTE.search(text) else text


def loads_json(data: str | bytes | bytearray) -> object:
    """``json.loads`` for text read back from a file (a quarantine's journal, a plan, an output folder's mark, an
    index row): a document nested too deeply for Python's parser (``[[[[...``) is a :class:`json.JSONDecodeError`
    (a ``ValueError``) like any other malformed text; it was a ``RecursionError``, which every caller's
    ``except ValueError`` let through as a traceback. An integer of more digits than Python converts
    (``sys.get_int_max_str_digits``, 4,300) is one too: its ``ValueError`` is not a ``JSONDecodeError``, and a plan
    holding one ended ``remove --plan`` and ``decisions import`` in a traceback."""
    import json

    try:
        return json.loads(data)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", "", 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # (the only other one json.loads raises: an integer past Python's digit limit)
        if "digits" not in str(exc):
            raise
        raise json.JSONDecodeError("a number of too many digits", "", 0) from None


def counted(n: int, word: str, plural: str | None = None) -> str:
    """``1 file``, ``2 files``, ``1,234 files`` (``plural`` where adding an s is wrong)."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {plural or word + 's'}"


def counted_all(*counts: tuple) -> str:
    """Counted nouns of one sentence, each ``(n, word)`` or ``(n, word, plural)`` as :func:`counted` says it:
    ``2 files and 1 folder``, ``1,234 files, 2 folders and 1 XMP sidecar``; a count of 0 is left out (``3 folders``,
    not "0 files and 3 folders"), and all of them 0 is the first (``0 files``)."""
    said = [counted(*c) for c in counts if c[0]] or [counted(*counts[0])]
    return said[0] if len(said) == 1 else f"{', '.join(said[:-1])} and {said[-1]}"
