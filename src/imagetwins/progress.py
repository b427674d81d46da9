"""The progress of a long stage, for the person waiting: a tqdm bar where someone watches it (a terminal, a
notebook), plain lines in a log.

Under ``nohup``, cron or a CI job stderr is a file or a pipe: a bar there is hundreds of carriage-return redraws,
and drawing none left an hour-long run without a word. There :func:`progress_bar` gives a :class:`LogProgress`
instead: now and then one plain line on stderr (never stdout), ``encoding: 12,000/100,000 img (12 %), 3 min, about
22 min left``: at most one a minute, sooner for each further tenth done (but not twice within
:data:`LOG_GAP` seconds), none in a stage's first :data:`LOG_FIRST` seconds, so a short run writes nothing. Every
stage makes its bar here; ``progress=False`` (the command line's ``-q``) shows neither. Imports nothing of
imagetwins.
"""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["LogProgress", "progress_bar", "watched"]

#: seconds of a stage before its first line in a log
LOG_FIRST = 60.0
#: at most this many seconds between two lines
LOG_EVERY = 60.0
#: a line for each further tenth done ...
LOG_STEP = 0.1
#: ... but never two lines within this many seconds
LOG_GAP = 10.0


def watched() -> bool:
    """Whether a person watches a bar: stderr is a terminal, or this is a notebook (tqdm draws a widget there)."""
    try:
        on_terminal = sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):  # (a replaced or closed stderr)
        on_terminal = False
    return on_terminal or "ipykernel" in sys.modules


def progress_bar(total: int | None = None, unit: str = "it", desc: str = "", **options: Any) -> Any:
    """A progress bar of ``total`` ``unit`` (``update(n)``, ``close()``, a ``total`` that may grow): tqdm's where
    someone watches (:func:`watched`; ``options`` go to it: ``delay``), else a :class:`LogProgress`."""
    if watched():
        from tqdm.auto import tqdm

        return tqdm(total=total, unit=unit, desc=desc, leave=False, **options)
    return LogProgress(total, unit, desc)


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"


class LogProgress:
    """A stage's progress as plain lines on stderr (see the module's docstring); the part of tqdm's interface the
    stages use: ``update``, ``refresh``, ``close``, ``total``, ``n``, and ``with``."""

    def __init__(self, total: int | None = None, unit: str = "it", desc: str = "") -> None:
        self.total, self.unit, self.desc = total, unit, desc
        self.n = 0
        self._start = self._said_at = time.monotonic()
        self._said_step = 0
        self._said = False
        self._said_n = 0

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self._start < LOG_FIRST or now - self._said_at < LOG_GAP:
            return
        step = int(self.n / self.total / LOG_STEP) if self.total else 0
        if now - self._said_at >= LOG_EVERY or step > self._said_step:
            self._say(now, step)

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def refresh(self) -> None:
        """(a bar redraws; a log line waits for the next update)"""

    def close(self) -> None:
        """The last line, where the stage said anything before (a stage that said nothing stays silent)."""
        if self._said and self._said_n != self.n:
            self._say(time.monotonic(), None)
        self._said = False

    def _say(self, now: float, step: int | None) -> None:
        elapsed = now - self._start
        line = f"{self.desc or 'working'}: {self.n:,}"
        if self.total:
            share = min(self.n / self.total, 1.0)
            line += f"/{self.total:,} {self.unit} ({100 * share:.0f} %), {_duration(elapsed)}"
            if 0 < share < 1:
                line += f", about {_duration(elapsed * (1 - share) / share)} left"
        else:
            line += f" {self.unit}, {_duration(elapsed)}"
        stream = sys.stderr
        if stream is not None:
            try:
                print(line, file=stream, flush=True)
            except (OSError, ValueError):  # (a closed or full log: progress is never worth failing a run for)
                pass
        self._said, self._said_at, self._said_n = True, now, self.n
        if step is not None:
            self._said_step = step
