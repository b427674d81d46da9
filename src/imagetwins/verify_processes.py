"""Worker processes for the checks of ``copies``' candidate pairs (:func:`imagetwins.copies.verify_pairs` runs them
on threads; a long verification runs here, :func:`imagetwins.copies._verified_confidences`).

Why processes: OpenCV and onnxruntime release the GIL, but the numpy and Python around them do not; two threads
kept ~1.6 of 2 cores busy (an incremental find at 100,000: 105.8 CPU s in 68 s of wall). Each process here checks
its own pairs with the very function the threads run, on the very bytes of the rows' features, so the confidences
are the same, bit for bit.

How: each process is ``python -c`` running :func:`imagetwins._verify_worker.serve` (a fresh interpreter: no fork of
a process holding onnxruntime's or OpenCV's threads, and nothing of the caller's ``__main__`` run again), fed by one
thread of this process that reads a batch's rows (the features' bytes), sends them with the batch's pairs and waits
for the answers (a pipe read: no GIL held), the next batch sent before the answers come, so the process does not
wait for this one to read rows. Memory: two batches in flight a process. The processes of one
verification are ended and waited for when it ends, so their CPU time is this process's children's
(:mod:`imagetwins.timing` counts it in the stage). A process that cannot start, or ends, is one :class:`WorkerFailed`
with the reason; the caller checks what is left in this process.
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
from pathlib import Path

__all__ = ["WorkerFailed", "Worker", "stop_workers"]

_LEN = struct.Struct("<Q")
#: the folder holding the imagetwins package this process runs: the workers import that one, whatever the path
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])
#: seconds a new process may take to import OpenCV, numpy and onnxruntime and say it is ready
START_TIMEOUT = 120.0


class WorkerFailed(Exception):
    """A worker process could not start or ended (the reason in one line)."""


def _child_code() -> str:
    # the current folder off the path (a scanned folder holding 'numpy.py' must not be imported), this package first
    return ("import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
            f"sys.path.insert(0, {_PACKAGE_ROOT!r}); "
            "from imagetwins._verify_worker import serve; serve()")


_live: set[Worker] = set()
_lock = threading.Lock()


class Worker:
    """One checking process: :meth:`send` sends a batch, :meth:`answers` waits for the answers (a batch may be sent
    before the last one is answered: the process reads it as soon as it is free)."""

    def __init__(self) -> None:
        # one thread each: the processes are the parallelism (oversubscribed BLAS or OpenCV pools only contend)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        try:
            self.proc = subprocess.Popen([sys.executable, "-c", _child_code()], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, close_fds=True)
        except OSError as exc:
            raise WorkerFailed(f"cannot start a verification process ({exc.strerror or exc})") from None
        with _lock:
            _live.add(self)
        self.started = False

    def wait_ready(self) -> None:
        """Wait until the process has imported what a check needs (:class:`WorkerFailed` if it cannot)."""
        answer = self._receive(START_TIMEOUT)
        if answer[0] != "ready":
            self.stop()
            raise WorkerFailed(f"a verification process could not start ({answer[1]})")
        self.started = True

    def send(self, payloads: list, pairs: list) -> None:
        """Send a batch: ``pairs`` as indices into ``payloads`` (the rows); :meth:`answers` gives its answers."""
        body = pickle.dumps(("verify", payloads, pairs), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.proc.stdin.write(_LEN.pack(len(body)) + body)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise WorkerFailed(self.how_it_ended()) from None

    def answers(self) -> list:
        """The answers to the oldest batch sent and not answered: a confidence or a reason, one a pair."""
        return self._receive(None)[1]

    def _receive(self, timeout: float | None) -> tuple:
        head = self._read(_LEN.size, timeout)
        return pickle.loads(self._read(_LEN.unpack(head)[0], timeout))  # our own worker's answer

    def _read(self, n: int, timeout: float | None) -> bytes:
        try:
            fd = self.proc.stdout.fileno()
        except ValueError:  # closed: stopped meanwhile
            raise WorkerFailed("a verification process was stopped") from None
        chunks = []
        while n:
            # a time limit only for the start (poll: select cannot watch a descriptor numbered past 1,024, which a
            # run holding many files may reach; where there is no poll, a plain read waits)
            if timeout is not None and hasattr(select, "poll"):
                poller = select.poll()
                poller.register(fd, select.POLLIN)
                ready = poller.poll(timeout * 1000)
            else:
                ready = [fd]
            if not ready:
                self.stop()
                raise WorkerFailed(f"a verification process did not start within {timeout:g} s")
            chunk = os.read(fd, min(n, 1 << 20))
            if not chunk:
                raise WorkerFailed(self.how_it_ended())
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def how_it_ended(self) -> str:
        """One line: how the process ended (it is waited for)."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "a verification process stopped answering"
        self.stop()
        if code < 0:
            import signal

            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"a verification process ended ({name})"
        return f"a verification process ended (exit code {code})"

    def stop(self) -> None:
        """End the process (killed: it keeps nothing to save) and wait for it."""
        with _lock:
            _live.discard(self)
        for fh in (self.proc.stdin, self.proc.stdout):
            try:
                fh.close()
            except (OSError, ValueError):
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def _reset_after_fork() -> None:  # a forked child (Dask, multiprocessing) has none of these processes
    global _lock
    _live.clear()
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


@atexit.register
def stop_workers() -> None:
    """End every verification process still running (a verification stopped by Ctrl-C or an error) and wait for
    it. The command line calls this before it ends without Python's shutdown."""
    with _lock:
        workers = list(_live)
    for w in workers:
        w.stop()
