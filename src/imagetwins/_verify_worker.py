"""The process that checks candidate pairs of ``copies`` for :mod:`imagetwins.verify_processes` (never imported by
imagetwins itself: started as ``python -c "... serve()"``).

A check is OpenCV and onnxruntime calls glued by numpy and Python; in threads the Python parts hold the GIL, so two
threads kept ~1.6 of 2 cores busy. Here each process checks its own pairs. Requests and answers are length-prefixed
pickles on stdin and stdout (both ends ours). A request is ``("verify", rows, pairs)``: the rows' features as the
parent read them (the stored bytes, or the objects where the parent held them in memory) and pairs of indices
into ``rows``; the answer is one item a pair, the confidence (with its marks, as a store keeps them:
:attr:`imagetwins.verify.Verification.kept`) of
:func:`imagetwins.copies.verify_records(confidence_only=True) <imagetwins.copies.verify_records>` or, where the
check raised, the reason as a string. The very function the threads run, on the very bytes: the same confidences.
"""

from __future__ import annotations

import os
import signal
import sys

from imagetwins._pipe_workers import answers_channel, end_with_parent, exception_line, read_message, write_message


def _rows(payloads: list) -> list:
    """:func:`imagetwins.copies.request_rows` (a name of this module's, that tests replace in a worker)."""
    from imagetwins.copies import request_rows

    return request_rows(payloads)


def _answer(rows: list, pairs: list) -> list:
    """:func:`imagetwins.copies.request_answers` (a name of this module's, that tests replace in a worker)."""
    from imagetwins.copies import request_answers

    return request_answers(rows, pairs)


def serve() -> None:
    # Ctrl-C goes to the whole foreground process group: the parent says what was done and ends this process
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    end_with_parent(os.getppid())
    stdin, stdout = sys.stdin.buffer, answers_channel()  # nothing printed by a library may land in the answers

    def send(answer) -> bool:
        return write_message(stdout, answer)

    try:
        from imagetwins.verify import _require_cv2

        _require_cv2()
    except Exception as exc:
        send(("error", exception_line(exc)))
        return
    if not send(("ready", os.getpid())):
        return
    while True:
        request = read_message(stdin)
        if request is None:
            return
        _, payloads, pairs = request
        if not send(("done", _answer(_rows(payloads), pairs))):
            return
