"""The leak check: do any images of a test set duplicate a reference (training) set, and did the check run?

A pipeline must not read "no leaks" from a check that looked at nothing, so :func:`check` says whether it
was complete as well as what leaked. ``imagetwins check TEST --against TRAIN`` (and its alias
``imagetwins find TEST --against TRAIN``) is this function plus printing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from imagetwins.encoders import DEFAULT_METHOD, Encoder
from imagetwins.finder import find_against
from imagetwins.index import Index
from imagetwins.io import given_paths, path_text, recursive_hint, skipped_link
from imagetwins.results import QueryResult
from imagetwins.text import counted

__all__ = ["CheckResult", "check"]


@dataclass(frozen=True, repr=False)
class CheckResult:
    """What a leak check found, and whether it could look at everything it was given.

    Attributes
    ----------
    query : QueryResult
        The matches (test image -> its reference matches, closest first), the images read, the failures.
    test, against : str
        The test set and the reference as named.
    reasons_incomplete : tuple of str
        Why the check is incomplete, one phrase each: no image read in the test set or in the reference
        (with a "(try --recursive)" hint where sub-folders were not scanned), or test images that could
        not be read (so were not checked). Empty when the check is complete.
    """

    query: QueryResult
    test: str
    against: str
    reasons_incomplete: tuple[str, ...]

    def __repr__(self) -> str:
        # a summary, as QueryResult's (the generated one listed every test image)
        state = ", ".join([w for w, on in (("leaks", bool(self.leaks)), ("incomplete", not self.complete)) if on]
                          or ["passed"])
        images = counted(len(self.query.images), "image")
        return (f"<CheckResult {state}: {len(self.leaks):,} of {images} of {self.test} "
                f"duplicate images of {self.against}, {self.unreadable:,} unreadable>")

    def __bool__(self) -> bool:
        # (was: always true, as any object: ``assert check(test, train)`` and ``if check(...):`` passed with leaks)
        raise TypeError("a CheckResult is neither true nor false: ask .passed (complete and no leak), .leaks (the test "
                        "images that duplicate reference images) or .complete")

    @property
    def complete(self) -> bool:
        """Whether every test image was read and compared with a reference that held at least one image."""
        return not self.reasons_incomplete

    @property
    def leaks(self) -> dict[str, list[tuple[str, float]]]:
        """Each test image that duplicates a reference image -> its matches ``(path, score)``, closest first."""
        return self.query.matches

    @property
    def passed(self) -> bool:
        """Complete and no leak: what a pipeline gate asks."""
        return self.complete and not self.leaks

    @property
    def unreadable(self) -> int:
        """Test images that could not be read (symbolic links left alone are not counted)."""
        return sum(not skipped_link(f) for f in self.query.failures)


def check(test: str | os.PathLike | Sequence[str | os.PathLike], against: str | os.PathLike | Index,
          method: str | Encoder = DEFAULT_METHOD, threshold: float | None = None, recursive: bool = False,
          workers: int | None = None, progress: bool = False, cache: bool = True, decisions=True,
          colour_variants: str | None = None) -> CheckResult:
    """Check whether images of ``test`` duplicate images of ``against`` (e.g. test images leaking from training).

    Parameters
    ----------
    test : path or sequence of paths
        A folder (sub-folders with ``recursive``), one image file, or explicit image files: the images checked.
    against : path or Index
        The reference: a folder, an index file (opened read-only) or an open :class:`~imagetwins.index.Index`.
    method, threshold, workers, progress, cache, decisions, colour_variants
        As in :func:`imagetwins.finder.find_against` (``method``: ``copies`` unless named, as the CLI's ``check``;
        ``decisions``: the pairs a person said are not duplicates
        are not leaks; False ignores them).
    recursive : bool
        Scan sub-folders of ``test`` and of a reference folder (class sub-folders need it).

    Returns
    -------
    CheckResult
        ``.leaks`` (test image -> matches), ``.complete`` and ``.reasons_incomplete``; ``.passed`` is the gate.

    Raises
    ------
    imagetwins.index.IndexFileError
        The reference index cannot be used, in one line.
    FileNotFoundError
        ``against``, or ``test`` given as one path, does not exist (a mistyped folder).

    Examples
    --------
    >>> result = check("data/test", "data/train", method="dihedral", recursive=True)  # doctest: +SKIP
    >>> if not result.passed:  # doctest: +SKIP
    ...     raise SystemExit(f"leaks: {len(result.leaks)}; incomplete: {result.reasons_incomplete}")
    """
    test = given_paths(test)  # (bytes, os.PathLike: str from here on, for the names said too)
    against = against if isinstance(against, Index) else path_text(against)
    query = find_against(test, against, method, threshold, recursive=recursive, workers=workers,
                         progress=progress, cache=cache, decisions=decisions, colour_variants=colour_variants)
    test_name = str(test) if isinstance(test, (str, os.PathLike)) else f"the {len(test)} files given"
    against_name = getattr(against, "path", against)
    reference_is_folder = isinstance(against_name, (str, os.PathLike)) and Path(against_name).is_dir()
    against_name = str(against_name)
    unreadable = sum(not skipped_link(f) for f in query.failures)
    why: list[str] = []
    if not query.images:
        hint = recursive_hint(test, recursive) if isinstance(test, str) else ""
        why.append(f"no image read in {test_name}" + (f" ({unreadable} unreadable)" if unreadable else hint))
    if not query.reference_images:
        why.append(f"no image read in {against_name}"
                   + (recursive_hint(against_name, recursive) if reference_is_folder else ""))
    if unreadable and query.images:
        why.append(f"{unreadable} image{'' if unreadable == 1 else 's'} of {test_name} could not be read, "
                   "so not checked")
    return CheckResult(query, test_name, against_name, tuple(why))
