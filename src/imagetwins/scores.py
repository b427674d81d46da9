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
written in outputs (``"copy"``, ``"re-shot"``, ``"unrelated"``). The verdict a check keeps for a pair whatever the
threshold (:attr:`imagetwins.verify.Verification.kept_verdict`: a rule saying the two are not one capture makes it
re-shot or unrelated; else copy, the confidence then deciding at a threshold) rides with the pair's marks
(:attr:`Verdict.bits`, :meth:`Verdict.of_bits`) and is kept with its score (:func:`stored_score`): a pair whose kept
verdict is not copy is no match at any threshold (:meth:`ScoreKind.within` given the marks), and every output writes
the verdict the marks carry (:meth:`ScoreKind.verdict`).

A copy pair may carry a :class:`Mark`: :data:`Mark.RECOLOURED` (one picture is the other with its colours turned, on
the whole picture or a part: a shop's colour variants of one product shot). It is kept with the pair's score
(:func:`stored_score` / :func:`from_stored`: the pair-score cache and the index keep both in one number), written by
every output, and :class:`ColourVariants` (``--colour-variants``) says whether such pairs are copies (the default) or
kept apart.
"""

from __future__ import annotations

from enum import Enum

import numpy as np

__all__ = ["CONFIDENCE", "DISTANCE", "SIMILARITY", "ColourVariants", "Mark", "ScoreKind", "Verdict", "from_stored",
           "stored_score", "stored_scores", "stored_valid"]


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

    @property
    def code(self) -> int:
        """0 (copy), 1 (re-shot), 2 (unrelated): the verdict's number in its bits and in a stored score."""
        return _VERDICT_CODES[self]

    @property
    def bits(self) -> int:
        """The bits this verdict sets in a pair's marks (``uint8``, beside the :class:`Mark` bits): none for
        :data:`COPY` (a pair nothing rules out as a copy: its confidence decides), so marks made before the verdict
        was kept, and every mark of a hash or vector method, read as copy."""
        return self.code << VERDICT_SHIFT

    @classmethod
    def of_bits(cls, marks) -> Verdict | np.ndarray:
        """The kept verdict a pair's marks carry (one int: a :class:`Verdict`), or each pair's code (an array of
        marks: ``int8`` codes, :attr:`code`). The two bits' fourth value, 3, which nothing writes, reads as
        :data:`UNRELATED` either way (as :meth:`copies_allowed`: no copy)."""
        codes = np.minimum((np.asarray(marks).astype(np.int64) >> VERDICT_SHIFT) & 3, _UNRELATED_CODE)
        if codes.ndim:
            return codes.astype(np.int8)
        return _VERDICTS[int(codes)]

    @staticmethod
    def copies_allowed(marks) -> np.ndarray | bool:
        """Where a pair's kept verdict (in ``marks``) is :data:`COPY`: nothing rules out that it is one."""
        m = np.asarray(marks)
        out = (m.astype(np.int64) & VERDICT_MASK) == 0
        return bool(out) if out.ndim == 0 else out


#: where a pair's kept verdict sits in its marks (:attr:`Verdict.bits`): the two top bits of the ``uint8``
VERDICT_SHIFT = 6
VERDICT_MASK = 3 << VERDICT_SHIFT
_VERDICTS = tuple(Verdict)
_VERDICT_CODES = {verdict: code for code, verdict in enumerate(_VERDICTS)}
_UNRELATED_CODE = _VERDICT_CODES[Verdict.UNRELATED]


class Mark(str, Enum):
    """What a checked pair's comparison needed, said beside its score (a ``str``: its name in outputs).

    Marks of a set of pairs are one ``uint8`` per pair (:attr:`bit` set where the mark is; ``search.Pairs.marks``).
    """

    #: one picture is the other with its colours turned (a hue turn of the whole picture or of a part, e.g. a product
    #: shown in another colour; :attr:`imagetwins.verify.Verification.recoloured`): the pair was compared after
    #: recolouring. A grey or sepia copy is not: its colours were taken away or toned into one, not turned
    RECOLOURED = "recoloured"

    def __str__(self) -> str:
        return self.value

    @property
    def bit(self) -> int:
        """This mark's bit in a pair's marks (``uint8``)."""
        return _MARK_BITS[self]

    def on(self, marks) -> np.ndarray | bool:
        """Where ``marks`` (an array of pairs' marks, or one pair's int) carry this mark."""
        m = np.asarray(marks)
        out = (m.astype(np.int64) & self.bit) != 0
        return bool(out) if out.ndim == 0 else out

    @staticmethod
    def names(marks: int) -> list[str]:
        """The marks set in one pair's ``marks`` (an int), as outputs list them (its kept verdict's bits are no
        mark: :meth:`Verdict.of_bits`)."""
        return [str(m) for m in Mark if int(marks) & m.bit]

    @property
    def explained(self) -> str:
        """What the mark means, for people (``explain``, the review page)."""
        return "compared after recolouring: one picture is the other with its colours turned (a colour variant)"


_MARK_BITS = {mark: 1 << k for k, mark in enumerate(Mark)}
_RECOLOURED_BIT = Mark.RECOLOURED.bit


def stored_score(score: float, marks: int = 0) -> float:
    """How a pair-score store keeps a confidence, its marks and its kept verdict in one number (:func:`from_stored`
    reads it back): the confidence plus twice the verdict's :attr:`~Verdict.code` (copy ``[0, 1]``, re-shot
    ``[2, 3]``, unrelated ``[4, 5]``), negated where :data:`Mark.RECOLOURED` is set (a sign; a copy's confidence of 0
    keeps no mark). A re-shot's or an unrelated pair's number is rounded to float32 (the candidate search keeps scores
    as float32: both read back the same confidence); a copy's confidence is kept as it is. Pair scores of other
    methods have no marks and are kept as they are."""
    score, marks = float(score), int(marks)
    code = min((marks >> VERDICT_SHIFT) & 3, _UNRELATED_CODE)  # (Verdict.of_bits, without NumPy: one pair)
    if code:  # (as stored_scores rounds it)
        score = float(np.float32(score + 2.0 * code))
    return -score if marks & _RECOLOURED_BIT and score > 0 else score


def stored_scores(scores, marks) -> np.ndarray:
    """:func:`stored_score` of arrays of pairs' scores and marks at once (float64; NaN stays). The loop over a search's
    pairs took ~6 CPU s at 1,080,101 pairs (1,000 new pictures among 100,000)."""
    v = np.asarray(scores, np.float64)
    m = np.asarray(marks)
    code = Verdict.of_bits(m) if m.ndim else np.full(v.shape, Verdict.of_bits(m).code, np.int8)
    ruled = code > 0
    if np.any(ruled):
        v = np.where(ruled, (v + 2.0 * code).astype(np.float32).astype(np.float64), v)
    return np.where(Mark.RECOLOURED.on(m) & (v > 0), -v, v)


def stored_valid(values) -> np.ndarray:
    """Which stored numbers are a score :func:`stored_score` can have written (others: a damaged store, scored
    again; NaN: none)."""
    a = np.abs(np.asarray(values, np.float64))
    with np.errstate(invalid="ignore"):
        code = np.floor(a / 2)
        return (a <= 5) & (a - 2 * code <= 1)


def from_stored(values) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, marks)`` of stored values (:func:`stored_score`: the marks carry the kept verdict; NaN stays NaN,
    with no mark)."""
    v = np.asarray(values, np.float64)
    a = np.abs(v)
    with np.errstate(invalid="ignore"):
        code = np.where(np.isnan(a), 0, np.clip(np.floor(a / 2), 0, 2)).astype(np.int64)
    marks = (np.where(v < 0, Mark.RECOLOURED.bit, 0) | (code << VERDICT_SHIFT)).astype(np.uint8)
    return a - 2 * code, marks


class ColourVariants(str, Enum):
    """Whether recoloured pairs (:data:`Mark.RECOLOURED`) are copies: the one option ``--colour-variants`` of find,
    report, remove, check and index query (``colour_variants=`` of the library's verbs), validated by :meth:`of`."""

    #: a colour variant is a copy (made from one capture): grouped, marked ``recoloured`` (the default)
    COPIES = "copies"
    #: colour variants are kept apart (a shop's catalogue: each colour of a product is its own picture); a
    #: recoloured pair is no match
    APART = "apart"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of(cls, name: str | ColourVariants | None) -> ColourVariants:
        """The choice named ``name`` (None: :data:`COPIES`), or ``ValueError`` naming the choices."""
        if name is None:
            return cls.COPIES
        try:
            return cls(name)
        except ValueError:
            raise ValueError(f"colour variants are one of {', '.join(c.value for c in cls)}; not {name!r}") from None

    def keeps(self, marks) -> np.ndarray:
        """Which pairs of ``marks`` (one ``uint8`` each; None: no marks) stay matches under this choice."""
        if marks is None:
            return None
        m = np.asarray(marks)
        if self is ColourVariants.APART:
            return ~Mark.RECOLOURED.on(m) if m.ndim else np.array(not Mark.RECOLOURED.on(m))
        return np.ones(m.shape, bool)


class ScoreKind(str):
    """One kind of score (a ``str``: its name in outputs). Use the three module constants, or :meth:`of`."""

    unit: str  # what a score is called for people
    larger_is_closer: bool
    exact: float  # the score of two byte-identical files
    low: float  # the range of valid thresholds
    high: float
    #: ``low`` itself is no valid threshold: a confidence of 0 would take every pair the search proposes (those the
    #: check turned away score about 0), copies or not; a person asking for it means "the loosest", not that
    low_open: bool
    whole: bool  # scores and thresholds are whole numbers (bits)
    #: what a match of this kind is, where the pictures were checked (a confidence: :data:`Verdict.COPY`); None
    #: for a hash or vector that only says two images look alike
    match_verdict: Verdict | None

    def __new__(cls, name: str, unit: str, larger_is_closer: bool, exact: float, low: float, high: float,
                whole: bool, match_verdict: Verdict | None = None, low_open: bool = False) -> ScoreKind:
        self = super().__new__(cls, name)
        self.unit, self.larger_is_closer, self.exact = unit, larger_is_closer, exact
        self.low, self.high, self.whole, self.low_open = low, high, whole, low_open
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
    def within(self, scores, threshold: float, marks=None):
        """Which ``scores`` count as a match at ``threshold`` (an array of bools, or one bool). Given the pairs'
        ``marks`` (None: not known), a pair whose kept verdict is not a copy (:meth:`Verdict.of_bits`: a re-shot,
        unrelated) is no match at any threshold, where a match of this kind is a copy (:attr:`match_verdict`)."""
        s = np.asarray(scores)
        out = s >= threshold if self.larger_is_closer else s <= threshold
        if marks is not None and self.match_verdict is not None:
            out = out & Verdict.copies_allowed(marks)
        return bool(out) if out.ndim == 0 else out

    def verdict(self, score: float, marks: int, threshold: float | None) -> Verdict | None:
        """The verdict outputs write for one pair at ``threshold``: :attr:`match_verdict` where it matches
        (:meth:`within` with its marks), else its kept verdict where that is not a copy (re-shot, unrelated, whatever
        the threshold); None where this kind says nothing of captures (hashes, vectors), or the pair is no match at
        this threshold with nothing ruled (``explain`` says whether it is a re-shot or unrelated). ``threshold``
        None: a match listed as one (``find --pairs``, ``--against``), its score perhaps rounded for the output: its
        marks alone say its verdict."""
        if self.match_verdict is None:
            return None
        if Verdict.copies_allowed(int(marks)) and (threshold is None or self.within(score, threshold)):
            return self.match_verdict
        kept = Verdict.of_bits(int(marks))
        return None if kept is Verdict.COPY else kept

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
        """The threshold at which every pair matches (``nbits``: a hash's width, for distances); the search's own, a
        confidence's no threshold a person may give (:attr:`low_open`)."""
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
            ok = ok and not (self.low_open and threshold == self.low)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            if self.whole:
                raise ValueError(f"{method} thresholds are whole bits, 0..{nbits}")
            plural = "cosine similarities" if self is SIMILARITY else "verification confidences"
            above = (f", above {self.low:g} ({self.low:g} would take every pair the search proposes, copies or not)"
                     if self.low_open else "")
            raise ValueError(f"{method} thresholds are {plural} in {self.low:g}..{self.high:g}{above}")
        return int(threshold) if self.whole else float(threshold)


#: bits apart of two hashes: smaller is closer
DISTANCE = ScoreKind("distance", "bits", False, 0, 0, 64, True)
#: cosine similarity of two vectors: larger is closer
SIMILARITY = ScoreKind("similarity", "cosine similarity", True, 1.0, -1.0, 1.0, False)
#: a calibrated probability that two files are copies: larger is closer; a match is a copy (the pictures were checked)
CONFIDENCE = ScoreKind("confidence", "confidence", True, 1.0, 0.0, 1.0, False, Verdict.COPY, low_open=True)

_BY_NAME = {str(k): k for k in (DISTANCE, SIMILARITY, CONFIDENCE)}
_BY_UNIT = {k.unit: k for k in (DISTANCE, SIMILARITY, CONFIDENCE)}


def _by_unit(unit: str) -> ScoreKind:
    return _BY_UNIT[unit]

