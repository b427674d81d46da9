"""How many threads to use: the one place that asks the operating system."""

from __future__ import annotations

import os

__all__ = ["default_workers"]


def default_workers() -> int:
    """Worker threads to use: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
