"""What a match's score means, in one place: :class:`ScoreKind`.

Every method scores a pair one of three ways:

- :data:`DISTANCE`: bits apart of two hashes, smaller is closer, a match is ``score <= threshold``;
- :data:`SIMILARITY`: cosine similarity of two vectors, larger is closer, a match is ``score >= threshold``;
- :data:`CONFIDENCE`: a calibrated probability that two files are copies (``copies``), larger is closer.

A kind answers every question the rest of imagetwins asks about scores: is this score within the
threshold (:meth:`ScoreKind.within`), which match is closer (:meth:`ScoreKind.best_first`,
:meth:`ScoreKind.closer`), the score of two identical files (:attr:`ScoreKind.exact`), the threshold at
which every pair matches (:meth:`ScoreKind.loosest`), a group's weakest match (:meth:`ScoreKind.weakest`),
how a score is written in JSON/CSV (:meth:`ScoreKind.value`) and for people (:meth:`ScoreKind.format`),
and which thresholds are valid (:meth:`ScoreKind.check_threshold`).

A kind *is* the one name every output writes for it (``"distance"``, ``"similarity"``, ``"confidence"``: JSON's
``score_kind``, its group field ``max_distance`` / ``min_similarity`` / ``min_confidence`` and match keys, the CSV
column, the text), so ``kind == "distance"``, ``{kind: score}`` and ``json.dumps(kind)`` work. (A confidence was
written as a similarity in JSON and as a confidence in CSV before 0.1.0.)

A pair the pictures were checked for (``copies``' verification) also gets one of three answers, a
:class:`Verdict`: :data:`Verdict.COPY` (made from one capture: safe to remove), :data:`Verdict.RESHOT`
(the same scene, another capture: a person picks) or :data:`Verdict.UNRELATED`. A verdict *is* the string
written in outputs (``"copy"``, ``"re-shot"``, ``"unrelated"``).
"""

from __future__ import annotations

from enum import Enum

import numpy as np

__all__ = ["CONFIDENCE", "DISTANCE", "SIMILARITY", "ScoreKind", "Verdict"]


class Verdict(str, Enum):
    """The three answers for a checked pair (a ``str``: its name in outputs, ``json.dumps`` writes it so).

    Given by :meth:`imagetwins.verify.Verification.verdict`; the reason in words by
    :func:`imagetwins.explain.verdict_reason`.
    """

    #: made from one capture (crops, frames, overlays, re-encodes, edits): ``copies`` groups it, safe to remove
    COPY = "copy"
    #: the same scene, another capture (burst frames, the same view seconds later, bracketed exposures): never a
    #: copy; grouped for review only by a re-shot method, the keeper chosen by a person
    RESHOT = "re-shot"
    #: different pictures (look-alikes included)
    UNRELATED = "unrelated"

    def __str__(self) -> str:
        return self.value

    @property
    def removable(self) -> bool:
        """Whether a pair with this verdict may be offered for removal without a person looking (copies only)."""
        return self is Verdict.COPY

    @classmethod
    def of(cls, name: str) -> Verdict:
        """The verdict named ``name`` (``"copy"``, ``"re-shot"``, ``"unrelated"``; a verdict itself)."""
        try:
            return cls(name)
        except ValueError:
            raise ValueError(f"a verdict is one of copy, re-shot, unrelated; not {name!r}") from None


class ScoreKind(str):
    """One kind of score (a ``str``: its name in outputs). Use the three module constants, or :meth:`of`."""

    unit: str  # what a score is called for people
    larger_is_closer: bool
    exact: float  # the score of two byte-identical files
    low: float  # the range of valid thresholds
    high: float
    whole: bool  # scores and thresholds are whole numbers (bits)
    #: what a match of this kind is, where the pictures were checked (a confidence: :data:`Verdict.COPY`); None
    #: for a hash or vector that only says two images look alike
    match_verdict: Verdict | None

    def __new__(cls, name: str, unit: str, larger_is_closer: bool, exact: float, low: float, high: float,
                whole: bool, match_verdict: Verdict | None = None) -> ScoreKind:
        self = super().__new__(cls, name)
        self.unit, self.larger_is_closer, self.exact = unit, larger_is_closer, exact
        self.low, self.high, self.whole = low, high, whole
        self.match_verdict = match_verdict
        return self

    def __reduce__(self):  # pickled (Dask) as the constant of its unit, never as a copy
        return _by_unit, (self.unit,)

    def __repr__(self) -> str:
        return f"ScoreKind({self.unit!r})"

    @classmethod
    def of(cls, kind: str) -> ScoreKind:
        """The kind named ``kind`` (``"distance"``, ``"similarity"``, ``"confidence"``, or a kind itself)."""
        if isinstance(kind, ScoreKind):
            return kind
        try:
            return _BY_NAME[kind]
        except (KeyError, TypeError):
            raise ValueError(f"a score kind is one of distance, similarity, confidence; not {kind!r}") from None

    # -- comparing -----------------------------------------------------------------------------------------
    def within(self, scores, threshold: float):
        """Which ``scores`` count as a match at ``threshold`` (an array of bools, or one bool)."""
        s = np.asarray(scores)
        out = s >= threshold if self.larger_is_closer else s <= threshold
        return bool(out) if out.ndim == 0 else out

    def closer(self, a: float, b: float) -> bool:
        """Is score ``a`` a strictly closer match than ``b``?"""
        return a > b if self.larger_is_closer else a < b

    def best_first(self, scores) -> np.ndarray:
        """A sort key (float64) that puts the closest match first (for ``np.argsort`` / ``np.lexsort``)."""
        s = np.asarray(scores, np.float64)
        return -s if self.larger_is_closer else s

    @property
    def weaker(self) -> np.ufunc:
        """The ufunc that keeps the weaker of two scores (``np.minimum`` for similarities); ``.at`` for groups."""
        return np.minimum if self.larger_is_closer else np.maximum

    def weakest(self, scores) -> float:
        """The weakest of ``scores`` (the exact score when there are none)."""
        s = np.asarray(scores, np.float64)
        if not s.size:
            return self.exact
        return float(s.min() if self.larger_is_closer else s.max())

    def loosest(self, nbits: int = 64) -> float:
        """The threshold at which every pair matches (``nbits``: a hash's width, for distances)."""
        if self.whole:
            return nbits
        return self.low

    @property
    def never(self) -> float:
        """A score no threshold accepts as a match (a pair that was not even proposed)."""
        return self.low if self.larger_is_closer else float("inf")

    # -- writing -------------------------------------------------------------------------------------------
    @property
    def weakest_field(self) -> str:
        """The name under which outputs write a group's weakest match: ``max_distance`` / ``min_similarity``."""
        return f"min_{self}" if self.larger_is_closer else f"max_{self}"

    @property
    def dtype(self) -> type:
        """The dtype a search gives scores of this kind."""
        return np.uint16 if self.whole else np.float32

    def value(self, score: float) -> float:
        """``score`` as outputs write it (JSON, CSV, the review page): an int of bits, or rounded to 4 places."""
        return int(score) if self.whole else round(float(score), 4)

    def format(self, score: float) -> str:
        """``score`` for people: ``3 bits``, ``1 bit``, ``similarity 0.953``, ``confidence 0.970``."""
        if self.whole:
            n = int(score)
            return "1 bit" if n == 1 else f"{n} bits"
        return f"{self} {float(score):.3f}"

    # -- validating ----------------------------------------------------------------------------------------
    def check_threshold(self, threshold: float, nbits: int = 64, method: str = "this method") -> float:
        """``threshold`` in this kind's terms (an int of bits), or ``ValueError`` saying what is allowed."""
        high = nbits if self.whole else self.high
        try:
            ok = not isinstance(threshold, bool) and self.low <= threshold <= high
            ok = ok and (not self.whole or threshold == int(threshold))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            if self.whole:
                raise ValueError(f"{method} thresholds are whole bits, 0..{nbits}")
            plural = "cosine similarities" if self is SIMILARITY else "verification confidences"
            raise ValueError(f"{method} thresholds are {plural} in {self.low:g}..{self.high:g}")
        return int(threshold) if self.whole else float(threshold)


#: bits apart of two hashes: smaller is closer
DISTANCE = ScoreKind("distance", "bits", False, 0, 0, 64, True)
#: cosine similarity of two vectors: larger is closer
SIMILARITY = ScoreKind("similarity", "cosine similarity", True, 1.0, -1.0, 1.0, False)
#: a calibrated probability that two files are copies: larger is closer; a match is a copy (the pictures were checked)
CONFIDENCE = ScoreKind("confidence", "confidence", True, 1.0, 0.0, 1.0, False, Verdict.COPY)

_BY_NAME = {str(k): k for k in (DISTANCE, SIMILARITY, CONFIDENCE)}
_BY_UNIT = {k.unit: k for k in (DISTANCE, SIMILARITY, CONFIDENCE)}


def _by_unit(unit: str) -> ScoreKind:
    return _BY_UNIT[unit]

