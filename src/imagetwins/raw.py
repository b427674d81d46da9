"""Camera RAW files (.dng .cr2 .nef .arw ...) through rawpy/LibRaw (``pip install "imagetwins[raw]"``).

A RAW file is decoded from its embedded preview when that is big enough for the caller (the
camera's own JPEG, usually full size: fast), else demosaiced by LibRaw at half size. Either way the
result is upright, 8-bit RGB, like every other decoder's output in :mod:`imagetwins.io`.

LibRaw runs in worker processes of its own (:mod:`imagetwins._raw_worker`), never in ours: a malformed file
can make it segfault (byte-flip fuzzing found such DNGs), and then only that worker ends; the file is reported
``decoder crashed`` and a new worker takes the next RAW file. A worker also has the decode time limit: one stuck
in LibRaw is killed. The JPEG preview comes back as bytes and is decoded here by Pillow (at reduced scale, under
the decode memory budget, like any JPEG). Workers start on the first RAW file (about 0.1 s each), are reused, and
are ended and waited for when the run ends (:func:`stop_workers`); other formats never pay for them.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import stat
import sys
from pathlib import Path

from imagetwins._pipe_workers import LiveWorkers, PipeWorker, WorkerEnded, WorkerGarbled, WorkerTimedOut, signal_name

__all__ = ["RAW_EXTENSIONS", "RawDecodeError", "RawUnavailable", "decode_raw", "is_raw_name", "raw_size",
           "stop_workers"]

RAW_EXTENSIONS = frozenset({
    ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".orf", ".rw2", ".raf", ".pef",
    ".srw", ".3fr", ".iiq", ".erf", ".kdc", ".mos", ".mrw", ".x3f", ".raw",
})

class RawUnavailable(RuntimeError):
    """rawpy is not installed."""


class RawDecodeError(ValueError):
    """LibRaw could not give a picture of this file; the message is the reason in a few words. ``transient``: its
    worker ran out of time (it may not next time), rather than LibRaw refusing the file. (A crash is remembered
    by a cache like any reason, and the index tries such a file again on each update: :data:`CRASHED`.)"""

    def __init__(self, reason: str, transient: bool = False) -> None:
        super().__init__(reason)
        self.transient = transient


#: seconds one RAW file may take in LibRaw before its worker is killed (the decode time limit of every file)
RAW_TIMEOUT = 60.0

#: how the reason of a file whose decoder process died begins
CRASHED = "decoder crashed"

_WORKER_FILE = Path(__file__).with_name("_raw_worker.py")


def is_raw_name(name: str | os.PathLike | None) -> bool:
    """Is this file name a camera RAW format's?"""
    return name is not None and os.path.splitext(os.fspath(name))[1].lower() in RAW_EXTENSIONS


#: what a RAW file is said to be when rawpy is not installed (a cache made before that reason was transient kept it)
RAW_EXTRA_MISSING = 'a camera RAW file: pip install "imagetwins[raw]" to read it'


def rawpy_available() -> bool:
    """Whether the [raw] extra (rawpy) is installed, found without importing it."""
    try:
        return importlib.util.find_spec("rawpy") is not None
    except (ImportError, ValueError):
        return False


def _require_rawpy() -> None:
    if not rawpy_available():
        raise RawUnavailable(RAW_EXTRA_MISSING)


class _Worker(PipeWorker):
    """One LibRaw process: requests on its stdin, answers on its stdout."""

    def __init__(self) -> None:
        if not stat.S_ISREG(os.stat(_WORKER_FILE).st_mode):  # a FIFO in its place would have the worker wait for ever
            raise OSError(errno.EINVAL, f"{_WORKER_FILE} is not a regular file; reinstall imagetwins")
        # run as a script with the current folder off the path: a scanned folder holding 'rawpy.py' or 'numpy.py'
        # must not be imported, and nothing of imagetwins is needed there. Nothing is imported before the path is
        # cleaned but sys (built in): 'import runpy' first read a 'runpy.py' there where runpy is not frozen (3.10)
        code = ("import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; import runpy; "
                f"runpy.run_path({str(_WORKER_FILE)!r}, run_name='__main__')")
        env = {**os.environ, "IMAGETWINS_RAW_WORKER": "1"}
        super().__init__([sys.executable, "-c", code], env, _live)

    def ask(self, op: str, args: tuple, timeout: float | None) -> tuple:
        self.write((op, args))
        return self.read(timeout)

    def how_it_ended(self) -> str:
        code = self.exit_code(2)
        if code is None:
            return CRASHED
        if code < 0:
            return f"{CRASHED}: {signal_name(code)}"
        return f"{CRASHED}: exit code {code}"


_live = LiveWorkers()  # every worker started and not stopped: idle, or decoding for a thread


def stop_workers() -> None:
    """End every LibRaw worker process and wait for it, so that none outlives the run and their CPU time is this
    process's children's (``resource.RUSAGE_CHILDREN``). Killed, idle or not: a worker keeps nothing to save, and
    one told to finish took 70-200 ms (its interpreter's shutdown) where a kill takes a few. The next RAW file
    starts a new worker. Called at exit (:mod:`imagetwins._pipe_workers`), and by the command line before it ends
    (without Python's shutdown, so without ``atexit``)."""
    _live.stop_all()


def _ask(op: str, args: tuple, timeout: float | None) -> tuple:
    """Run one request on an idle worker (a new one when none is idle); a worker that dies or runs past
    ``timeout`` is ended, and the request's file gets the reason."""
    _require_rawpy()
    worker = _live.take_idle()
    if worker is None or worker.proc.poll() is not None:
        if worker is not None:  # (ended while idle: reaped)
            worker.stop()
        try:
            worker = _Worker()
        except OSError as exc:
            raise RawDecodeError(f"cannot start the RAW decoder ({exc.strerror or exc})") from None
    try:
        answer = worker.ask(op, args, timeout)
    except WorkerEnded:
        reason = worker.how_it_ended()
        worker.stop()
        raise RawDecodeError(reason) from None
    except WorkerGarbled:
        raise RawDecodeError(f"{CRASHED}: it answered with bytes that are no answer (stopped)") from None
    except WorkerTimedOut:
        worker.stop()
        raise RawDecodeError(f"took longer than {timeout:g} s to decode (decoder stopped)", transient=True) from None
    except BaseException:  # Ctrl-C while waiting: the worker may be mid-answer; it is not reused
        worker.stop()
        raise
    _live.put_idle(worker)
    if answer[0] == "error":
        raise RawDecodeError(answer[1])
    return answer


def raw_size(data: bytes, timeout: float | None = RAW_TIMEOUT) -> tuple[int, int]:
    """Displayed (upright) width and height of a RAW file's picture."""
    return tuple(_ask("size", (data,), timeout)[1])


def decode_raw(data: bytes, min_size: int | None = None, max_pixels: int | None = None,
               max_decoded_bytes: int | None = None, timeout: float | None = RAW_TIMEOUT) -> tuple:
    """What a RAW file's picture is made from, found by LibRaw in a worker process: ``("jpeg", bytes, flip, size)``
    (the embedded preview has ``min_size`` pixels a side, or full size when ``min_size`` is None: the caller decodes
    it), or ``("pixels", array, flip, size)`` (a bitmap preview, or LibRaw's half-size demosaic, upright: flip None).
    ``flip`` is LibRaw's ``sizes.flip`` (3: 180°, 5: 90° counter-clockwise, 6: 90° clockwise); ``size`` is
    :func:`raw_size`'s answer, so a scan sends a file's bytes (7-25 MB a DNG, pickled) to the worker once, not twice.

    Raises
    ------
    RawUnavailable
        rawpy is not installed.
    RawDecodeError
        LibRaw refused the file, crashed on it, or ran past ``timeout``.
    """
    return _ask("decode", (data, min_size, max_pixels, max_decoded_bytes), timeout)
