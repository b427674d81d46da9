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

import atexit
import errno
import importlib.util
import os
import pickle
import select
import stat
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

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
_LEN = struct.Struct("<Q")


def is_raw_name(name: str | os.PathLike | None) -> bool:
    """Is this file name a camera RAW format's?"""
    return name is not None and os.path.splitext(os.fspath(name))[1].lower() in RAW_EXTENSIONS


def _require_rawpy() -> None:
    if importlib.util.find_spec("rawpy") is None:
        raise RawUnavailable('a camera RAW file: pip install "imagetwins[raw]" to read it')


class _Worker:
    """One LibRaw process: requests on its stdin, answers on its stdout."""

    def __init__(self) -> None:
        if not stat.S_ISREG(os.stat(_WORKER_FILE).st_mode):  # a FIFO in its place would have the worker wait for ever
            raise OSError(errno.EINVAL, f"{_WORKER_FILE} is not a regular file; reinstall imagetwins")
        # run as a script with the current folder off the path: a scanned folder holding 'rawpy.py' or 'numpy.py'
        # must not be imported, and nothing of imagetwins is needed there
        code = ("import runpy, sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
                f"runpy.run_path({str(_WORKER_FILE)!r}, run_name='__main__')")
        env = {**os.environ, "IMAGETWINS_RAW_WORKER": "1"}
        # (LibRaw prints its complaints about damaged files on stderr: each file gets one reason from us instead)
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env, close_fds=True)
        with _lock:
            _live.add(self)

    def ask(self, op: str, args: tuple, timeout: float | None) -> tuple:
        body = pickle.dumps((op, args), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.proc.stdin.write(_LEN.pack(len(body)) + body)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise _WorkerDied from exc
        deadline = None if timeout is None else time.monotonic() + timeout
        head = self._read(_LEN.size, deadline)
        return pickle.loads(self._read(_LEN.unpack(head)[0], deadline))  # our own worker's answer

    def _read(self, n: int, deadline: float | None) -> bytes:
        fd = self.proc.stdout.fileno()
        chunks = []
        while n:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                raise _WorkerTimeout
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                raise _WorkerTimeout
            chunk = os.read(fd, min(n, 1 << 20))
            if not chunk:
                raise _WorkerDied
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def stop(self) -> None:
        """End the process (killed) and wait for it."""
        with _lock:
            _live.discard(self)
        for fh in (self.proc.stdin, self.proc.stdout):
            try:
                fh.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def how_it_ended(self) -> str:
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return CRASHED
        if code < 0:
            try:
                import signal

                return f"{CRASHED}: {signal.Signals(-code).name}"
            except ValueError:
                return f"{CRASHED}: signal {-code}"
        return f"{CRASHED}: exit code {code}"


class _WorkerDied(Exception):
    pass


class _WorkerTimeout(Exception):
    pass


_idle: list[_Worker] = []
_live: set[_Worker] = set()  # every worker started and not stopped: idle, or decoding for a thread
_lock = threading.Lock()


def _reset_after_fork() -> None:  # a forked child (Dask, multiprocessing) starts its own workers
    global _lock
    _idle.clear()
    _live.clear()
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


@atexit.register
def stop_workers() -> None:
    """End every LibRaw worker process and wait for it, so that none outlives the run and their CPU time is this
    process's children's (``resource.RUSAGE_CHILDREN``). Killed, idle or not: a worker keeps nothing to save, and
    one told to finish took 70-200 ms (its interpreter's shutdown) where a kill takes a few. The next RAW file
    starts a new worker. The command line calls this before it ends (without Python's shutdown, so without
    ``atexit``)."""
    with _lock:
        workers, _idle[:] = list(_live), []
    for w in workers:
        w.stop()


def _ask(op: str, args: tuple, timeout: float | None) -> tuple:
    """Run one request on an idle worker (a new one when none is idle); a worker that dies or runs past
    ``timeout`` is ended, and the request's file gets the reason."""
    _require_rawpy()
    with _lock:
        worker = _idle.pop() if _idle else None
    if worker is None or worker.proc.poll() is not None:
        if worker is not None:  # (ended while idle: reaped)
            worker.stop()
        try:
            worker = _Worker()
        except OSError as exc:
            raise RawDecodeError(f"cannot start the RAW decoder ({exc.strerror or exc})") from None
    try:
        answer = worker.ask(op, args, timeout)
    except _WorkerDied:
        reason = worker.how_it_ended()
        worker.stop()
        raise RawDecodeError(reason) from None
    except _WorkerTimeout:
        worker.stop()
        raise RawDecodeError(f"took longer than {timeout:g} s to decode (decoder stopped)", transient=True) from None
    except BaseException:  # Ctrl-C while waiting: the worker may be mid-answer; it is not reused
        worker.stop()
        raise
    with _lock:
        _idle.append(worker)
    if answer[0] == "error":
        raise RawDecodeError(answer[1])
    return answer


def raw_size(data: bytes, timeout: float | None = RAW_TIMEOUT) -> tuple[int, int]:
    """Displayed (upright) width and height of a RAW file's picture."""
    return tuple(_ask("size", (data,), timeout)[1])


def decode_raw(data: bytes, min_size: int | None = None, max_pixels: int | None = None,
               max_decoded_bytes: int | None = None, timeout: float | None = RAW_TIMEOUT) -> tuple:
    """What a RAW file's picture is made from, found by LibRaw in a worker process: ``("jpeg", bytes, flip)`` (the
    embedded preview has ``min_size`` pixels a side, or full size when ``min_size`` is None: the caller decodes it),
    or ``("pixels", array, flip)`` (a bitmap preview, or LibRaw's half-size demosaic, upright: flip None).
    ``flip`` is LibRaw's ``sizes.flip`` (3: 180°, 5: 90° counter-clockwise, 6: 90° clockwise).

    Raises
    ------
    RawUnavailable
        rawpy is not installed.
    RawDecodeError
        LibRaw refused the file, crashed on it, or ran past ``timeout``.
    """
    return _ask("decode", (data, min_size, max_pixels, max_decoded_bytes), timeout)
