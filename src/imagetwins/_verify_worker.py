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
import threading
import time

from imagetwins._pipe_workers import answers_channel, exception_line, read_message, write_message


def _rows(payloads: list) -> list:
    """The rows of a request: a :class:`~imagetwins.copies.CopyRecord` holding its features (parsed here once for all
    the request's pairs), bare features as sent, or why the row cannot be used (a string: its pairs fail)."""
    from imagetwins.copies import CopyRecord
    from imagetwins.verify import ImageFeatures

    out = []
    for kind, *rest in payloads:
        try:
            if kind == "error":  # the parent could not read the row
                out.append(rest[0])
                continue
            if kind == "bare":
                out.append(rest[0])
                continue
            features, alt, capture = rest
            rec = CopyRecord.__new__(CopyRecord)
            rec.hash = rec.vector = rec.alt_vector = None
            rec._spill, rec._offset, rec._length, rec._alt_offset, rec._alt_length = None, 0, 0, 0, 0
            rec._features = ImageFeatures.from_bytes(features) if kind == "bytes" else features
            rec.alt_hash = None if alt is None else True  # (a check reads only whether there is an alternate)
            rec._alt_features = None if alt is None else (ImageFeatures.from_bytes(alt) if kind == "bytes" else alt)
            rec.capture = capture
            out.append(rec)
        except Exception as exc:  # damaged stored bytes: the pairs of this row are not verified
            out.append(exception_line(exc))
    return out


def _answer(rows: list, pairs: list) -> list:
    from imagetwins.copies import answer_of, verify_records

    out = []
    for i, j in pairs:
        a, b = rows[i], rows[j]
        bad = a if isinstance(a, str) else b if isinstance(b, str) else None
        if bad is not None:
            out.append(bad)
            continue
        try:
            # (a pair left to its files answers over 1: copies.LOOK_PENDING)
            out.append(answer_of(verify_records(a, b, confidence_only=True)))
        except Exception as exc:  # cv2.error, ValueError ... on features no extract() made
            out.append(exception_line(exc))
    return out


#: seconds between two looks at whether the parent is still there
PARENT_WATCH = 1.0


def _end_with_parent(parent: int) -> None:
    """Exit when the process that started this one is gone: a parent killed with -9 stops nobody, and a check stuck
    in C code (or in a hostile file's features) would go on for ever, holding a core; a free worker sees its stdin
    close, a busy one does not. (A thread, not prctl's death signal, which follows the parent THREAD that started
    the process, and a Linux-only one.)"""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_WATCH)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def serve() -> None:
    # Ctrl-C goes to the whole foreground process group: the parent says what was done and ends this process
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_parent(os.getppid())
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
