"""The pieces every writer uses: what is written (:class:`Groups`, :class:`Matches`), where (:class:`Target`), and
the description of a format (:class:`Format`). Writers import these from here, never from the package, so the
package importing its writers makes no cycle."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from imagetwins.keep import Decision
    from imagetwins.results import FindResult, QueryResult


class OutputError(Exception):
    """An output file could not be written: one line naming it and why."""


@dataclass(frozen=True)
class Groups:
    """Groups of duplicates with their keep decisions, as ``find``, ``report`` and ``remove`` write them.

    ``decisions`` are those :func:`imagetwins.keep.decide_keepers` made, one per group of ``result`` (groups are
    stars around their keepers). ``root`` is the folder scanned (a plan may change only that folder).
    ``pairs``: the JSON also lists every matching pair (streamed). The ``keep_*``, ``raw_sidecars``,
    ``workers`` and ``progress`` fields are what the review page needs to show the same keepers;
    ``decided_earlier`` marks the groups decided in an earlier plan.
    """

    result: FindResult
    decisions: Sequence[Decision]
    root: str | os.PathLike
    pairs: bool = False
    keep_in: Sequence[str | os.PathLike] = ()
    keep_rule: str = "original"
    raw_sidecars: bool = True
    workers: int | None = None
    progress: bool = False
    #: per group, whether a person decided it in an earlier plan (:mod:`imagetwins.decisions`)
    decided_earlier: Sequence[bool] = ()
    #: the run's :class:`imagetwins.session.Session` (its index keeps the page's pair scores), or None
    session: object | None = None


@dataclass(frozen=True)
class Matches:
    """New images checked against a reference: each image's matches (``check``, ``find --against``,
    ``index query``)."""

    result: QueryResult


class Target:
    """Where one output goes: a file, or standard output for ``-``."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    @property
    def is_stdout(self) -> bool:
        return str(self.path) == "-"

    @contextmanager
    def open(self) -> Iterator[TextIO]:
        """A text stream: UTF-8, names that are not UTF-8 written as their own bytes, ``\\n`` line ends."""
        if self.is_stdout:
            buffer = getattr(sys.stdout, "buffer", None)
            if buffer is None:  # a stdout without bytes underneath (a test's StringIO)
                yield sys.stdout
                return
            sys.stdout.flush()
            fh = io.TextIOWrapper(buffer, encoding="utf-8", errors="surrogateescape", newline="")
            try:
                yield fh
                fh.flush()
            finally:
                fh.detach()  # stdout stays open
            return
        from imagetwins.writing import open_output

        try:  # (never through a link planted at the name: a new file renamed over it)
            with open_output(self.path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
                yield fh
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from None


Writer = Callable[..., None]


@dataclass(frozen=True)
class Format:
    """One output format.

    ``groups`` / ``matches``: ``writer(what, target)`` for :class:`Groups` / :class:`Matches`, or None when
    the format cannot hold that. ``option``: the command-line option (``--NAME``; None: not offered as
    one, e.g. the text on the terminal). ``stdout``: whether ``-`` (standard output) is allowed.
    ``groups_help`` / ``matches_help``: what the file holds, for ``--help``. ``check``: what the format checks of
    its file's name before any work (``check(path)`` raises ``OSError`` whose ``strerror`` says why: the review
    page's ``<page>_files/`` folder), None when the name alone decides.
    """

    name: str
    groups: Writer | None = None
    matches: Writer | None = None
    option: str | None = None
    stdout: bool = True
    groups_help: str = ""
    matches_help: str = ""
    check: Callable[[Path], None] | None = None
