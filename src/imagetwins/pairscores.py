"""Pair scores kept between runs, for methods whose score of a pair is costly to compute.

Most methods score a pair by comparing two rows of numbers, which costs nothing worth keeping. A
method with a verification stage (``copies``: matching local features, fitting a transform) spends
milliseconds per candidate pair, so a re-run over unchanged files would spend most of its time
checking the same pairs again. Such a method names the definition of its score
(:attr:`imagetwins.encoders.Encoder.pair_score_version`) and its ``pairs`` / ``query`` accept a
:class:`PairScores`: the scores already known, looked up by the two files' *content* digests, so a
renamed or moved file keeps its scores and a changed one gets none.

A store is anything with :meth:`PairScoreStore.get_pair_scores` and
:meth:`PairScoreStore.put_pair_scores`: the index and the per-folder cache
(:class:`imagetwins.index.Index`, table ``pair_scores``), or :class:`MemoryPairScores` for a program
that searches several times in one process.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from imagetwins.digests import PREFIX_BYTES, Digest
from imagetwins.scores import from_stored, stored_valid

__all__ = ["CandidateStore", "DIGEST_BYTES", "MemoryPairScores", "PairScoreStore", "PairScores", "checks_of",
           "digest_key", "for_method"]

#: bytes of a content digest (SHA-256) that key a pair score: the 128 bits the index keeps per file
DIGEST_BYTES = PREFIX_BYTES


def digest_key(digest: str | bytes | None) -> bytes | None:
    """The key of one file's content: the first :data:`DIGEST_BYTES` bytes of its digest (hex or raw), or
    None when the digest is unknown or not a digest (:attr:`imagetwins.digests.Digest.key`)."""
    return Digest(digest).key


@runtime_checkable
class PairScoreStore(Protocol):
    """Where pair scores live: one score per (method, version, digest of a, digest of b)."""

    def get_pair_scores(self, method: str, version: str, keys: Sequence[tuple[bytes, bytes]]
                        ) -> dict[tuple[bytes, bytes], float]:
        """The stored scores of those of ``keys`` that have one under ``version`` (others are left out)."""

    def put_pair_scores(self, method: str, version: str, items: Sequence[tuple[bytes, bytes, float]]) -> None:
        """Keep ``(a, b, score)`` under ``version``; scores of ``method`` under other versions may be dropped."""


@runtime_checkable
class CandidateStore(Protocol):
    """A store that also keeps one method's candidate search between runs (:mod:`imagetwins.candidates`): one
    opaque state per method, with the version it was made under."""

    def get_candidate_state(self, method: str) -> tuple[str, bytes] | None:
        """``(version, state)`` kept for ``method``, or None."""

    def put_candidate_state(self, method: str, version: str, state: bytes) -> None:
        """Keep ``state`` for ``method`` (replacing the one before)."""


class MemoryPairScores:
    """A :class:`PairScoreStore` (and :class:`CandidateStore`) in a dict, for the life of the object."""

    def __init__(self) -> None:
        self.scores: dict[tuple[str, str, bytes, bytes], float] = {}
        self.candidate_states: dict[str, tuple[str, bytes]] = {}

    def get_candidate_state(self, method: str) -> tuple[str, bytes] | None:
        return self.candidate_states.get(method)

    def put_candidate_state(self, method: str, version: str, state: bytes) -> None:
        self.candidate_states[method] = (version, state)

    def get_pair_scores(self, method: str, version: str, keys: Sequence[tuple[bytes, bytes]]
                        ) -> dict[tuple[bytes, bytes], float]:
        out = {}
        for a, b in keys:
            s = self.scores.get((method, version, a, b))
            if s is not None:
                out[(a, b)] = s
        return out

    def put_pair_scores(self, method: str, version: str, items: Sequence[tuple[bytes, bytes, float]]) -> None:
        stale = [k for k in self.scores if k[0] == method and k[1] != version]
        for k in stale:
            del self.scores[k]
        self.scores.update(((method, version, a, b), float(s)) for a, b, s in items)


def _finite(x: object) -> float | None:
    """A stored score as a float, or None for anything that is not a finite number (a damaged row)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


class PairScores:
    """A store seen through the rows of one search: row numbers -> content digests -> stored scores.

    Parameters
    ----------
    store : PairScoreStore
        Where the scores are kept.
    method, version : str
        The method and the definition of its score (:attr:`~imagetwins.encoders.Encoder.pair_score_version`):
        scores stored under another version are never returned.
    left_digests : sequence of str
        Content digests (hex) of the rows a pair's ``left`` indexes (all rows, for ``pairs``; the queries,
        for ``query``). An empty digest means unknown: that row's pairs are neither looked up nor kept.
    right_digests : sequence of str, optional
        The database's digests, for ``query``; by default ``left_digests``.

    Notes
    -----
    A key is the pair's two digests in sorted order: a kept score is a score of the pair, whichever way
    round it is met (``copies``' check is symmetric since its verdict version 4: ``verify_pair(a, b)`` and
    ``verify_pair(b, a)`` give the same confidence).
    """

    def __init__(self, store: PairScoreStore, method: str, version: str, left_digests: Sequence[str],
                 right_digests: Sequence[str] | None = None) -> None:
        self.store = store
        self.method = method
        self.version = version
        self.left_keys = [digest_key(d) for d in left_digests]
        self.right_keys = self.left_keys if right_digests is None else [digest_key(d) for d in right_digests]

    @property
    def searches_itself(self) -> bool:
        """Whether this binds one set of rows searched against itself (``pairs``), not queries to a database."""
        return self.right_keys is self.left_keys

    def candidate_state(self) -> tuple[str, bytes] | None:
        """The method's candidate search kept by the store (``(version, state)``), or None (none kept, or a store
        that keeps none, or one that cannot be read: the search is made in full)."""
        if not isinstance(self.store, CandidateStore):
            return None
        try:
            return self.store.get_candidate_state(self.method)
        except Exception:  # a cache: any trouble reading it means searching in full
            return None

    def keep_candidate_state(self, version: str, state: bytes) -> None:
        """Keep the method's candidate search in the store (where it keeps one)."""
        if isinstance(self.store, CandidateStore):
            self.store.put_candidate_state(self.method, version, state)

    def _keys(self, left: np.ndarray, right: np.ndarray) -> Iterable[tuple[bytes | None, bytes | None]]:
        for i, j in zip(np.asarray(left).tolist(), np.asarray(right).tolist()):
            a, b = self.left_keys[i], self.right_keys[j]
            yield (b, a) if a is not None and b is not None and b < a else (a, b)

    def lookup(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """The stored score of each pair ``(left[k], right[k])`` (float64), NaN where none is known."""
        keys = list(self._keys(left, right))
        wanted = [k for k in keys if k[0] is not None and k[1] is not None]
        found = self.store.get_pair_scores(self.method, self.version, wanted) if wanted else {}
        out = np.full(len(keys), np.nan)
        for n, k in enumerate(keys):
            s = _finite(found.get(k))
            if s is not None:
                out[n] = s
        return out

    def kept_checks(self, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The pairs ``(left[k], right[k])`` whose check is kept: which (a bool mask), then the scores and marks of
        those (:func:`imagetwins.scores.from_stored`: the marks carry the kept verdict). A search leaves a pair that
        is no match at any threshold (a re-shot) out of its answer; the review page's score table and ``explain``
        show it from here."""
        stored = self.lookup(left, right)
        kept = stored_valid(stored)  # (NaN: none; a number no store writes, e.g. 7.5 or -1.5: none either)
        scores, marks = from_stored(stored[kept])
        return kept, scores, marks

    def remember(self, left: np.ndarray, right: np.ndarray, scores: np.ndarray) -> None:
        """Keep the score of each pair ``(left[k], right[k])`` (pairs of rows without a digest are skipped)."""
        items = [(a, b, float(s)) for (a, b), s in zip(self._keys(left, right), np.asarray(scores).tolist())
                 if a is not None and b is not None and math.isfinite(s)]
        if items:
            self.store.put_pair_scores(self.method, self.version, items)


def for_method(encoder, store: PairScoreStore | None, left_digests: Sequence[str] | None,
               right_digests: Sequence[str] | None = None) -> PairScores | None:
    """What ``encoder.pairs`` / ``encoder.query`` get as ``pair_scores``: a :class:`PairScores` for a method that
    keeps its pair scores (its ``pair_score_version`` is set) when there is a store and digests, else None."""
    version = encoder.pair_score_version
    if store is None or version is None or not left_digests:
        return None
    return PairScores(store, encoder.name, version, left_digests, right_digests)


def checks_of(encoder, store: PairScoreStore | None, digests: Sequence[str], left: np.ndarray, right: np.ndarray,
              encode: Callable[[list[int]], tuple[object, list[int], list[str], list[str]]] | None = None,
              workers: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The check of each pair ``(left[k], right[k])`` of rows whose contents are ``digests`` (hex), for a method whose
    checks give verdicts: ``(found, scores, marks)``, a bool mask, then the scores and marks of the pairs found in
    order (:func:`imagetwins.scores.from_stored`: the marks carry each pair's kept verdict).

    First the check ``store`` keeps (:meth:`PairScores.kept_checks`: a value no store writes is none). Where none is
    kept and ``encode`` is given, the pair is checked now: ``encode(rows)`` gives ``(encodings, rows encoded, their
    paths, their digests)`` of those of ``rows`` it could read (a file that cannot be decoded is left out: its pairs
    stay not found), and ``encoder.score_pairs`` scores them, keeping the new checks in ``store`` under the digests
    read. The one lookup the review page's score table and ``remove --plan``'s check of a plan's keepers share."""
    left, right = np.asarray(left, np.int64), np.asarray(right, np.int64)
    found = np.zeros(len(left), bool)
    scores, marks = np.full(len(left), np.nan), np.zeros(len(left), np.uint8)
    kept = for_method(encoder, store, digests)
    if kept is not None and len(left):
        found, kept_scores, kept_marks = kept.kept_checks(left, right)
        scores[found], marks[found] = kept_scores, kept_marks
    rest = np.flatnonzero(~found)
    if encode is not None and len(rest):
        rows, done, paths, read = encode(sorted(set(left[rest].tolist()) | set(right[rest].tolist())))
        at = {r: k for k, r in enumerate(done)}
        rest = rest[[left[k] in at and right[k] in at for k in rest.tolist()]] if len(at) else rest[:0]
        ends = [(at[int(left[k])], at[int(right[k])]) for k in rest.tolist()]
        got = encoder.score_pairs(rows, np.array([min(e) for e in ends], np.int64),
                                  np.array([max(e) for e in ends], np.int64), workers=workers, paths=paths,
                                  pair_scores=for_method(encoder, store, read)) if ends else None
        if got is not None:
            scored = {(a, b): (float(s), int(m)) for a, b, s, m in zip(got.left.tolist(), got.right.tolist(),
                                                                      got.score.tolist(), got.mark_bits.tolist())}
            for k, (a, b) in zip(rest.tolist(), ends):
                hit = scored.get((min(a, b), max(a, b)))
                if hit is not None:
                    found[k], scores[k], marks[k] = True, hit[0], hit[1]
    return found, scores[found], marks[found]
