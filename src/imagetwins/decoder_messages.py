"""What the decoders say while imagetwins decodes, kept off the terminal: a file we cannot use is reported once, by
us, with its name and reason (:class:`imagetwins.io.ImageReadError`); the libraries' own lines would only repeat or
muddle that.

- Pillow's warnings (``DecompressionBombWarning`` for a picture between Pillow's limit and ours, corrupt EXIF,
  palette transparency) are ignored while any decode of ours runs (:func:`quiet_decoder_warnings`): the warning
  filters are process-wide, so the first decode to start sets them and the last to end puts them back (entered
  and left from any thread, in any order).
- libtiff (which Pillow uses for compressed TIFFs) prints its errors and warnings on stderr from C ("ZIPDecode: Not
  enough data at scanline 0", "tempfile.tif: Using code not yet in table"): its handlers (looked up through Pillow's
  own decoder library, so the libtiff Pillow uses) are replaced, once, by one that keeps each decoding thread's
  messages (:func:`libtiff_messages`: a failure's reason) and passes every other thread's on to the handlers that
  were there (a program's own Pillow decode prints as before).
- Every reason a file is not read is one line (:func:`one_line`): libheif's end in a newline ("Invalid input:
  Unexpected end of file: ... (points to file position 378)\\n"), libtiff's and LibRaw's may hold several.
"""

from __future__ import annotations

import ctypes
import re
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image

_BREAKS = re.compile(r"\s*[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+\s*")


def one_line(message: str) -> str:
    """``message`` (a decoder's words, a reason made of them) as one line: the whitespace around it dropped, each run
    of line breaks inside it made ``"; "``.

    >>> one_line("Invalid input: Unexpected end of file\\n")
    'Invalid input: Unexpected end of file'
    >>> one_line("ZIPDecode: Not enough data\\r\\nTIFFReadStrip: error")
    'ZIPDecode: Not enough data; TIFFReadStrip: error'
    """
    return _BREAKS.sub("; ", message.strip())


_quiet_lock = threading.Lock()
_quiet_depth = 0
_quiet_filters: warnings.catch_warnings | None = None


@contextmanager
def quiet_decoder_warnings() -> Iterator[None]:
    """Ignore Pillow's own warnings (corrupt EXIF, palette transparency, bomb size) while decoding, from any thread:
    the filters are set when the first of the decodes under way starts and put back when the last ends
    (``warnings.catch_warnings`` alone is not safe across threads: one left before another put back filters that
    then stayed)."""
    global _quiet_depth, _quiet_filters
    with _quiet_lock:
        if _quiet_depth == 0:
            _quiet_filters = warnings.catch_warnings()
            _quiet_filters.__enter__()
            warnings.filterwarnings("ignore", module=r"PIL\.")
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                _quiet_filters.__exit__(None, None, None)
                _quiet_filters = None


# -- libtiff ------------------------------------------------------------------------------------------------------
#: libtiff's handler type: (module, printf format, va_list)
_TIFF_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p)
_MESSAGE_BYTES = 300
_tiff_local = threading.local()
_tiff_lock = threading.Lock()
_tiff_state: dict = {}  # "installed": bool; the callbacks and the handlers they replaced, kept alive


def _libtiff() -> ctypes.CDLL | None:
    """Pillow's decoders as a library whose symbols resolve as theirs do (its own, then what it was linked with): the
    libtiff Pillow uses, bundled in its wheel or the system's, never another program's copy loaded beside it; None
    where its ``TIFFSetErrorHandler`` cannot be found (libtiff's lines then still print)."""
    import PIL._imaging

    try:
        lib = ctypes.CDLL(PIL._imaging.__file__)
        lib.TIFFSetErrorHandler  # noqa: B018  (found, or AttributeError)
    except (OSError, AttributeError):
        return None
    return lib


def _install_libtiff_handlers() -> None:
    """Replace libtiff's error and warning handlers (once per process); nothing where libtiff or the C library's
    ``vsnprintf`` cannot be found (Windows)."""
    with _tiff_lock:
        if _tiff_state.get("installed") is not None:
            return
        _tiff_state["installed"] = False
        if sys.platform == "win32":
            return
        try:
            lib = _libtiff()
            vsnprintf = ctypes.CDLL(None).vsnprintf
        except (OSError, AttributeError, ImportError):  # (no C library to format libtiff's messages with)
            return
        if lib is None:
            return
        vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p]
        kept = []
        for setter_name in ("TIFFSetErrorHandler", "TIFFSetWarningHandler"):
            setter = getattr(lib, setter_name, None)
            if setter is None:
                continue
            setter.restype, setter.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
            before: list[_TIFF_HANDLER | None] = [None]

            def handler(module, fmt, ap, before=before):
                messages = getattr(_tiff_local, "messages", None)
                if messages is None:  # not one of our decodes: as libtiff would have
                    if before[0] is not None:
                        before[0](module, fmt, ap)
                    return
                text = ctypes.create_string_buffer(_MESSAGE_BYTES)
                vsnprintf(text, _MESSAGE_BYTES, fmt, ap)
                line = text.value.decode("utf-8", "replace")
                where = (module or b"").decode("utf-8", "replace")
                # (the file's name is Pillow's "tempfile.tif": said by the caller, with the real name)
                messages.append(f"{where}: {line}" if where and where != "tempfile.tif" else line)

            callback = _TIFF_HANDLER(handler)
            previous = setter(ctypes.cast(callback, ctypes.c_void_p))
            before[0] = _TIFF_HANDLER(previous) if previous else None
            kept.append(callback)
        _tiff_state.update(installed=True, callbacks=kept)


@contextmanager
def libtiff_messages() -> Iterator[list[str]]:
    """The messages libtiff gives while this thread decodes inside (a list, filled as they come), never printed."""
    _install_libtiff_handlers()
    outer = getattr(_tiff_local, "messages", None)
    _tiff_local.messages = messages = [] if outer is None else outer
    try:
        yield messages
    finally:
        _tiff_local.messages = outer
