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

import os
import sys
import time
from pathlib import Path

from imagetwins._pipe_workers import (
    LiveWorkers,
    PipeWorker,
    WorkerEnded,
    WorkerGarbled,
    WorkerStopped,
    WorkerTimedOut,
    signal_name,
)

__all__ = ["WorkerFailed", "Worker", "stop_workers"]

#: the folder holding the imagetwins package this process runs: the workers import that one, whatever the path
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])
#: seconds a new process may take to import OpenCV, numpy and onnxruntime and say it is ready
START_TIMEOUT = 120.0
#: seconds a process may go without answering while it holds a batch (~32 checks, well under a second each even on
#: a loaded machine): past it, it is stuck (or stopped: kill -STOP) and is stopped, so the run goes on
ANSWER_TIMEOUT = 600.0


class WorkerFailed(Exception):
    """A worker process could not start or ended (the reason in one line)."""


def _child_code() -> str:
    # the current folder off the path (a scanned folder holding 'numpy.py' must not be imported), this package first
    return ("import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
            f"sys.path.insert(0, {_PACKAGE_ROOT!r}); "
            "from imagetwins._verify_worker import serve; serve()")


_live = LiveWorkers()


class Worker(PipeWorker):
    """One checking process: :meth:`send` sends a batch, :meth:`answers` waits for the answers (a batch may be sent
    before the last one is answered: the process reads it as soon as it is free)."""

    def __init__(self) -> None:
        # one thread each: the processes are the parallelism (oversubscribed BLAS or OpenCV pools only contend)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        try:
            super().__init__([sys.executable, "-c", _child_code()], env, _live)
        except OSError as exc:
            raise WorkerFailed(f"cannot start a verification process ({exc.strerror or exc})") from None
        self.started = False
        #: when the process last answered (or became ready) while a batch was out; None: it holds none
        self.heard: float | None = None
        self.silent = False

    def wait_ready(self) -> None:
        """Wait until the process has imported what a check needs (:class:`WorkerFailed` if it cannot)."""
        try:
            answer = self._receive(START_TIMEOUT)
        except WorkerTimedOut:
            self.stop()
            raise WorkerFailed(f"a verification process did not start within {START_TIMEOUT:g} s") from None
        if answer[0] != "ready":
            self.stop()
            raise WorkerFailed(f"a verification process could not start ({answer[1]})")
        self.started = True
        self.heard = time.monotonic()

    def stop_if_silent(self, now: float) -> bool:
        """Stop the process if it has not answered for :data:`ANSWER_TIMEOUT` seconds while it holds a batch
        (its feeding thread then gets a :class:`WorkerFailed` saying so); whether it was stopped."""
        if self.heard is None or now - self.heard <= ANSWER_TIMEOUT:
            return False
        self.silent = True
        self.stop()
        return True

    def send(self, payloads: list, pairs: list) -> None:
        """Send a batch: ``pairs`` as indices into ``payloads`` (the rows); :meth:`answers` gives its answers."""
        try:
            self.write(("verify", payloads, pairs))
        except WorkerEnded:
            raise WorkerFailed(self.how_it_ended()) from None

    def answers(self, more: bool = False) -> list:
        """The answers to the oldest batch sent and not answered: a confidence or a reason, one a pair. ``more``:
        another batch is still out (its wait for an answer starts now)."""
        answer = self._receive(None)[1]
        self.heard = time.monotonic() if more else None
        return answer

    def _receive(self, timeout: float | None) -> tuple:
        # (a time limit only for the start)
        try:
            return self.read(timeout)
        except WorkerStopped:
            raise WorkerFailed("a verification process was stopped") from None
        except WorkerGarbled:
            raise WorkerFailed("a verification process answered with bytes that are no answer (stopped)") from None
        except WorkerEnded:
            raise WorkerFailed(self.how_it_ended()) from None

    def how_it_ended(self) -> str:
        """One line: how the process ended (it is waited for)."""
        code = self.exit_code(5)
        if self.silent:
            return f"a verification process gave no answer in {ANSWER_TIMEOUT:g} s (stopped)"
        if code is None:
            return "a verification process stopped answering"
        self.stop()
        if code < 0:
            return f"a verification process ended ({signal_name(code)})"
        return f"a verification process ended (exit code {code})"


def stop_workers() -> None:
    """End every verification process still running (a verification stopped by Ctrl-C or an error) and wait for
    it. Called at exit (:mod:`imagetwins._pipe_workers`), and by the command line before it ends without Python's
    shutdown."""
    _live.stop_all()
