"""Worker processes of ours fed through pipes: LibRaw's (:mod:`imagetwins.raw`) and the verification's
(:mod:`imagetwins.verify_processes`).

Messages both ways are length-prefixed pickles (an 8-byte little-endian length, then the pickle; both ends are
ours: nothing else writes to these pipes). :class:`PipeWorker` is the parent's end of one process: it writes a
request, reads an answer within a time limit (``poll``: ``select`` cannot watch a descriptor numbered past 1,024,
which a run holding many files may reach), and stops the process (killed: a worker keeps nothing to save) and
waits for it. :class:`LiveWorkers` keeps every process of one kind started and not stopped, so that none outlives
the run: all of them are stopped at exit (one ``atexit``), and a forked child (Dask, multiprocessing) starts with
none (they are its parent's). The child's end is :func:`read_message` and :func:`write_message` (the LibRaw worker
keeps its own copy of those few lines: it is a script that imports nothing of imagetwins).
"""

from __future__ import annotations

import atexit
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
import weakref
from typing import BinaryIO

LENGTH = struct.Struct("<Q")
#: no message of ours comes near this many bytes (a batch of features, a RAW file's pixels): a longer length is not
#: ours (eight bytes of text read as a length are at least 2 x 10^18)
MAX_MESSAGE = 1 << 40


def framed(message: object) -> bytes:
    """``message`` as it goes down a pipe: its pickle's length, then the pickle."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return LENGTH.pack(len(body)) + body


def _read_exact(fh: BinaryIO, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = fh.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_message(fh: BinaryIO) -> object | None:
    """The next message on ``fh`` (the child's stdin), or None when the pipe is closed."""
    head = _read_exact(fh, LENGTH.size)
    body = None if head is None else _read_exact(fh, LENGTH.unpack(head)[0])
    return None if body is None else pickle.loads(body)  # (from our own parent)


def answers_channel() -> BinaryIO:
    """The child's end of its answers: the pipe to the parent, moved off file descriptor 1, which then goes where
    stderr goes (nowhere), so that nothing printed there, by Python (``sys.stdout``) or by C code (OpenCV,
    onnxruntime, a plug-in: ``printf``), lands among the answers: the parent took such a line for the length of
    the next answer and waited for ever for its 10^18 bytes."""
    sys.stdout.flush()
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def write_message(fh: BinaryIO, message: object) -> bool:
    """Send ``message`` on ``fh`` (the child's stdout); False when the parent is gone."""
    try:
        fh.write(framed(message))
        fh.flush()
    except (BrokenPipeError, OSError):
        return False
    return True


class WorkerEnded(Exception):
    """The process closed its end of a pipe (it ended, or was stopped)."""


class WorkerStopped(WorkerEnded):
    """The process was stopped (by another thread: :meth:`LiveWorkers.stop_all`) before the read."""


class WorkerTimedOut(Exception):
    """No answer within the time limit."""


class WorkerGarbled(Exception):
    """The process wrote something that is not a message of ours (it is stopped: what follows cannot be trusted)."""


class LiveWorkers:
    """Every process of one kind started and not stopped; ``idle`` holds those free for the next request (a pool
    that reuses them). ``lock`` guards both."""

    def __init__(self) -> None:
        self.workers: set[PipeWorker] = set()
        self.idle: list[PipeWorker] = []
        self.lock = threading.Lock()
        _every.add(self)

    def __len__(self) -> int:
        return len(self.workers)

    def add(self, worker: PipeWorker) -> None:
        with self.lock:
            self.workers.add(worker)

    def discard(self, worker: PipeWorker) -> None:
        with self.lock:
            self.workers.discard(worker)

    def take_idle(self) -> PipeWorker | None:
        with self.lock:
            return self.idle.pop() if self.idle else None

    def put_idle(self, worker: PipeWorker) -> None:
        with self.lock:
            self.idle.append(worker)

    def stop_all(self) -> None:
        """Stop every process and wait for it (idle or busy for a thread)."""
        with self.lock:
            workers, self.idle[:] = list(self.workers), []
        for w in workers:
            w.stop()

    def _forget(self) -> None:  # in a forked child: the processes are its parent's
        self.workers.clear()
        self.idle.clear()
        self.lock = threading.Lock()


_every: weakref.WeakSet[LiveWorkers] = weakref.WeakSet()


def _forget_after_fork() -> None:
    for live in list(_every):
        live._forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


@atexit.register
def _stop_at_exit() -> None:
    for live in list(_every):
        live.stop_all()


class PipeWorker:
    """The parent's end of one worker process: requests on its stdin, answers on its stdout."""

    def __init__(self, argv: list[str], env: dict[str, str], live: LiveWorkers) -> None:
        # (stderr to nowhere: what a library prints about a damaged file is not an answer; each gets one reason)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env, close_fds=True)
        self._live = live
        live.add(self)

    def write(self, message: object) -> None:
        """Send one request (:class:`WorkerEnded` if the process has closed its end)."""
        try:
            self.proc.stdin.write(framed(message))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise WorkerEnded from None

    def read(self, timeout: float | None) -> object:
        """The next answer, within ``timeout`` seconds (None: no limit): :class:`WorkerTimedOut` past it,
        :class:`WorkerEnded` if the process has closed its end, :class:`WorkerGarbled` (the process stopped) if what
        came is not a message."""
        deadline = None if timeout is None else time.monotonic() + timeout
        length = LENGTH.unpack(self._read(LENGTH.size, deadline))[0]
        if length > MAX_MESSAGE:
            self.stop()
            raise WorkerGarbled
        body = self._read(length, deadline)
        try:
            return pickle.loads(body)  # our own worker's answer
        except Exception:  # (UnpicklingError, EOFError, ... : bytes that are no pickle)
            self.stop()
            raise WorkerGarbled from None

    def _read(self, n: int, deadline: float | None) -> bytes:
        try:
            fd = self.proc.stdout.fileno()
        except ValueError:  # closed: stopped meanwhile
            raise WorkerStopped from None
        chunks = []
        while n:
            # (where there is no poll, a plain read waits)
            if deadline is not None and hasattr(select, "poll"):
                wait = deadline - time.monotonic()
                if wait <= 0:
                    raise WorkerTimedOut
                poller = select.poll()
                poller.register(fd, select.POLLIN)
                if not poller.poll(wait * 1000):
                    raise WorkerTimedOut
            chunk = os.read(fd, min(n, 1 << 20))
            if not chunk:
                raise WorkerEnded
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def exit_code(self, timeout: float) -> int | None:
        """The process's exit code (negative: the signal that ended it), waiting up to ``timeout`` seconds for it
        to end; None if it is still running."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """End the process (killed: it keeps nothing to save) and wait for it."""
        self._live.discard(self)
        # killed before its pipes are closed: a thread blocked writing to a process that stopped reading (stuck in
        # a check) holds the pipe's lock, and closing it first waited for that thread, for ever (Ctrl-C hung)
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for fh in (self.proc.stdin, self.proc.stdout):
            try:
                fh.close()
            except (OSError, ValueError):
                pass


def exception_line(exc: BaseException) -> str:
    """An exception in one line (its type, then the first line of its message, at most 120 characters): what a worker
    answers when a request fails, worded as the parent words the same failure on its own threads."""
    text = str(exc)
    return f"{type(exc).__name__}: {text.splitlines()[0][:120]}" if text else type(exc).__name__


def signal_name(code: int) -> str:
    """How a negative exit code (the signal that ended a process) is said: ``SIGKILL``, or ``signal 99``."""
    import signal

    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


#: seconds between two looks at whether the parent is still there
PARENT_WATCH = 1.0


def end_with_parent(parent: int) -> None:
    """Exit when the process that started this one is gone: a parent killed with -9 stops nobody, and a check stuck
    in C code (or in a hostile file's features) would go on for ever, holding a core; a free worker sees its stdin
    close, a busy one does not. (A thread, not prctl's death signal, which follows the parent THREAD that started
    the process, and a Linux-only one.)"""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_WATCH)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
