"""How many threads to use: the one place that asks the operating system."""

from __future__ import annotations

import os

__all__ = ["default_workers", "thread_count"]


def default_workers() -> int:
    """Worker threads to use: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def thread_count(workers: int | None) -> int:
    """Threads for ``workers`` as asked (``None`` or < 1: all CPUs), never more than the CPUs: each
    decoding thread holds an image in memory, and ONNX Runtime slows down badly when oversubscribed
    (``-j 1000`` turned one image into 82 s)."""
    cpus = default_workers()
    return cpus if not workers or workers < 1 else min(int(workers), cpus)
