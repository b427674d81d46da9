"""Where a run's time goes: wall seconds per stage, each second counted in exactly one stage.

A caller opens a :class:`Timings` (``with Timings() as t:``); code anywhere below it marks its work with
``with stage("verify"):``. Stages nest: an inner stage's seconds are taken out of the stage around it,
so the stages add up to the time the :class:`Timings` was open (what is in no stage is ``other``). With no
:class:`Timings` open, :func:`stage` costs a context-variable lookup and records nothing.
"""

from __future__ import annotations

import contextvars
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Timings", "stage", "whole_run"]

_current: contextvars.ContextVar[Timings | None] = contextvars.ContextVar("imagetwins_timings", default=None)


class Timings:
    """Wall seconds per stage of one run (see the module docstring); ``seconds``: while it was open."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        #: CPU seconds of this process (all threads) and of the child processes it waited for (the verification's
        #: worker processes) per stage, inner stages taken out as for wall time
        self.cpu: dict[str, float] = {}
        #: the process's peak resident memory (MB) when each stage last ended (what it had reached by then)
        self.peak_mb: dict[str, float] = {}
        self._stack: list[list] = []  # [name, start, seconds of inner stages, cpu start, cpu of inner stages]
        self._start = self._end = None
        self._token = None

    def __enter__(self) -> Timings:
        self._start = time.perf_counter()
        self._token = _current.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self._end = time.perf_counter()
        _current.reset(self._token)

    @property
    def seconds(self) -> float:
        """Wall seconds from opening to closing (to now while open)."""
        if self._start is None:
            return 0.0
        return (self._end if self._end is not None else time.perf_counter()) - self._start

    def add(self, name: str, seconds: float) -> None:
        self.stages[name] = self.stages.get(name, 0.0) + seconds

    def split(self) -> dict[str, float]:
        """The stages in the order first met, plus ``other`` (time in none of them); they add up to :attr:`seconds`."""
        out = dict(self.stages)
        rest = self.seconds - sum(out.values())
        if rest > 0.0005:
            out["other"] = rest
        return out

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        frame = [name, time.perf_counter(), 0.0, _cpu(), 0.0]
        self.stages.setdefault(name, 0.0)  # (met when entered: an outer stage is said before the ones inside it)
        self._stack.append(frame)
        try:
            yield
        finally:
            self._stack.pop()
            spent, cpu = time.perf_counter() - frame[1], _cpu() - frame[3]
            self.add(name, spent - frame[2])
            self.cpu[name] = self.cpu.get(name, 0.0) + cpu - frame[4]
            self.peak_mb[name] = _peak_mb()
            if self._stack:
                self._stack[-1][2] += spent
                self._stack[-1][4] += cpu


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Count the time inside in stage ``name`` of the open :class:`Timings`, if any."""
    t = _current.get()
    if t is None:
        yield
        return
    with t.stage(name):
        yield


def current() -> Timings | None:
    """The :class:`Timings` open in this context, if any."""
    return _current.get()


def whole_run() -> tuple[float, float]:
    """CPU seconds of this process since it started (user + sys, with the child processes it waited for) and its
    peak resident memory in MB: what ``time`` says of a command, for the last line of ``--timings``."""
    return _cpu(), _peak_mb()


def _cpu() -> float:
    """CPU seconds of this process and of its child processes that ended and were waited for."""
    cpu = time.process_time()
    try:
        import resource
    except ImportError:  # Windows: this process alone
        return cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return cpu + children.ru_utime + children.ru_stime


def _peak_mb() -> float:
    """Peak resident memory of this process so far, in MB (0 where the platform does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024
