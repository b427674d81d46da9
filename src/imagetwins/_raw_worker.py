"""The process that runs LibRaw for :mod:`imagetwins.raw` (never imported by imagetwins itself).

LibRaw is C++ fed with whatever bytes a folder holds; one malformed file can make it write out of bounds and
end the process it runs in (a segfault: no exception, no output). So it runs here, in a process of its own that
reads requests on stdin and answers on stdout, one at a time: when this process dies, the file it was reading is
reported as unreadable ("decoder crashed") and another process takes the next RAW file.

This file is run as a script (``runpy.run_path``), not imported as part of the package, so a crash-prone
decoder needs only rawpy, numpy and Pillow here; it imports nothing from imagetwins. Messages are length-prefixed
pickles between this process and its parent (both ours: nothing else writes to these pipes).
"""

from __future__ import annotations

import io
import os
import pickle
import signal
import struct
import sys
import threading
import time

_LEN = struct.Struct("<Q")  # (the framing of imagetwins._pipe_workers, copied: this script imports nothing of it)


def _read_exact(fh, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = fh.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _decode(data: bytes, need: int | None, max_pixels: int | None, max_decoded_bytes: int | None) -> tuple:
    """("jpeg", preview bytes, flip, size) when the camera's JPEG preview is big enough (the parent decodes it, at
    reduced scale and under its memory budget), ("pixels", array, flip, size) for a bitmap preview or LibRaw's
    half-size demosaic (already upright: flip None). ``size``: the picture's displayed (upright) width and height,
    :func:`_size`'s answer, so the parent sends a file's bytes once for both."""
    import numpy as np
    import rawpy
    from PIL import Image

    with rawpy.imread(io.BytesIO(data)) as raw:
        w, h = raw.sizes.width, raw.sizes.height
        shown = (h, w) if raw.sizes.flip in (5, 6) else (w, h)
        if max_pixels is not None and w * h > max_pixels:
            return ("error", f"image too large ({w}x{h} pixels > limit {max_pixels:,})")
        want = need if need else max(w, h)
        try:
            thumb = raw.extract_thumb()
        except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
            thumb = None
        if thumb is not None and thumb.format == rawpy.ThumbFormat.JPEG:
            try:
                with Image.open(io.BytesIO(thumb.data), formats=["JPEG"]) as preview:  # the header only
                    if max(preview.size) >= want:
                        return ("jpeg", bytes(thumb.data), raw.sizes.flip, shown)
            except Exception:  # a damaged preview: develop the sensor data instead
                pass
        elif thumb is not None and thumb.format == rawpy.ThumbFormat.BITMAP and max(thumb.data.shape[:2]) >= want:
            data = thumb.data if thumb.data.ndim == 3 else thumb.data[..., None].repeat(3, axis=2)
            pixels = np.ascontiguousarray(data[..., :3], dtype=np.uint8)
            return ("pixels", pixels, raw.sizes.flip, shown)
        # LibRaw's half-size develop holds the raw data (2 bytes a photosite), a 4-channel 16-bit image of a
        # quarter of them and the 8-bit result: about 5 bytes a photosite
        cost = 5 * w * h
        if max_decoded_bytes is not None and cost > max_decoded_bytes:
            return ("error", f"image too large to decode ({w}x{h} RAW: {cost:,} bytes > limit {max_decoded_bytes:,})")
        rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)  # turned upright by LibRaw
        return ("pixels", np.ascontiguousarray(rgb), None, shown)


def _size(data: bytes) -> tuple:
    import rawpy

    with rawpy.imread(io.BytesIO(data)) as raw:
        w, h = raw.sizes.width, raw.sizes.height
        return ("size", (h, w) if raw.sizes.flip in (5, 6) else (w, h))


#: seconds between two looks at whether the parent is still there (imagetwins._verify_worker's, copied)
PARENT_WATCH = 1.0


def _end_with_parent(parent: int) -> None:
    """Exit when the process that started this one is gone: a parent killed with -9 stops nobody, and LibRaw stuck
    on a hostile file (the parent's time limit ends it only while the parent lives) would go on for ever, holding a
    core; an idle worker sees its stdin close, a busy one does not. rawpy lets go of the GIL inside LibRaw, so this
    thread runs meanwhile. (A thread, not prctl's death signal, which follows the parent THREAD that started the
    process, and a Linux-only one.)"""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_WATCH)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def serve() -> None:
    # Ctrl-C goes to the whole foreground process group: the parent says what was done; this process ends when its
    # parent closes the pipe, or is gone
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_parent(os.getppid())
    # nothing printed by a library may land in the answers, by Python or by LibRaw's C (file descriptor 1 goes to
    # stderr; the answers on a descriptor of their own: imagetwins._pipe_workers.answers_channel, copied)
    stdin = sys.stdin.buffer
    sys.stdout.flush()
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    while True:
        head = _read_exact(stdin, _LEN.size)
        if head is None:
            return
        body = _read_exact(stdin, _LEN.unpack(head)[0])
        if body is None:
            return
        op, args = pickle.loads(body)
        try:
            answer = _decode(*args) if op == "decode" else _size(*args)
        except MemoryError:
            answer = ("error", "not enough memory to decode")
        except Exception as exc:  # LibRaw's errors on a damaged or unsupported file
            answer = ("error", f"cannot decode this RAW file ({type(exc).__name__}: {exc})")
        out = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            stdout.write(_LEN.pack(len(out)) + out)
            stdout.flush()
        except (BrokenPipeError, OSError):
            return


if __name__ == "__main__":
    if os.environ.get("IMAGETWINS_RAW_WORKER") == "1":
        serve()
