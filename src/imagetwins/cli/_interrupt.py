"""Ctrl-C anywhere: exit 130 after one line that says what was done (and, where something was, how to go on).

A command that does work worth naming when it is cut short says so with :func:`on_interrupt` around that work;
every other command says that no file was changed. The process then ends at once (``os._exit`` after the output
is flushed): letting Python finish normally while decoding threads are inside ONNX Runtime or OpenCV made glibc
abort with "FATAL: exception not rethrown" (exit 134) in 2 of 5 interrupted ``find -m copies`` runs. Nothing is
lost by not finishing normally: index and cache batches are committed as they are made (an open SQLite transaction
is rolled back on the next open), the scratch file has no name, and RAW decoder processes end when their pipe
closes.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator

#: the exit status of a command stopped by Ctrl-C (128 + SIGINT, what shells report)
EXIT_INTERRUPTED = 130

_said: list[str] = []


@contextlib.contextmanager
def on_interrupt(note: Callable[[], str]) -> Iterator[None]:
    """While inside, Ctrl-C prints ``note()`` (one line: what was done, how to finish or undo it); the innermost
    note is taken, when the interruption leaves it."""
    try:
        yield
    except KeyboardInterrupt:
        if not _said:
            try:
                _said.append(note())
            except Exception:  # a note must never hide the interruption itself
                pass
        raise


def interrupted_line() -> str:
    """The line for the interruption: what the innermost :func:`on_interrupt` said, else that no file was changed."""
    return _said.pop() if _said else "interrupted (Ctrl-C): stopped before any file was changed"


def exit_now(code: int) -> None:
    """End the process with ``code`` without Python's shutdown (see the module docstring); output flushed first,
    LibRaw's and the verification's worker processes (if any are running) ended and waited for: none outlives the
    run, and their CPU time is counted as this process's children's."""
    for name in ("imagetwins.raw", "imagetwins.verify_processes"):  # LibRaw's, the verification's
        module = sys.modules.get(name)
        if module is not None:
            try:
                module.stop_workers()
            except Exception:  # (ending anyway)
                pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
