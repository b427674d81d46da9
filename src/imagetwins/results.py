"""What a search found, as groups: :class:`FindResult` and the step from matched pairs to groups.

Shared by the finder, the index and Dask, so none of them imports another for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from imagetwins import search
from imagetwins.encoders import Encoder, get_encoder
from imagetwins.io import ReadFailure

__all__ = ["WEAKEST_MATCH", "DuplicateGroup", "FindResult", "QueryResult", "groups_from_encodings", "match_query",
           "result_from_pairs"]


#: how each score kind names a group's weakest match in every output (JSON, CSV, report)
WEAKEST_MATCH = {"distance": "max_distance", "similarity": "min_similarity"}


@dataclass
class DuplicateGroup:
    """Files that are duplicates of each other (connected by matches within the threshold).

    ``score`` is the group's weakest match: the largest distance (bits apart) for ``score_kind``
    ``"distance"``, the smallest similarity for ``"similarity"``.
    """

    files: list[str]
    score: float
    exact: bool  # every file in the group is byte-identical
    score_kind: str = "distance"
    digests: list[str] = field(default_factory=list)  # SHA-256 of each file as scanned ('' if unknown)

    @property
    def max_distance(self) -> int | None:
        """The largest distance of a match in the group (None for similarity groups)."""
        return int(self.score) if self.score_kind == "distance" else None

    @property
    def min_similarity(self) -> float | None:
        """The smallest similarity of a match in the group (None for distance groups)."""
        return float(self.score) if self.score_kind == "similarity" else None

    def score_field(self) -> tuple[str, float]:
        """``(name, value)`` of the weakest match as outputs write it: ``max_distance`` or ``min_similarity``."""
        value = int(self.score) if self.score_kind == "distance" else round(float(self.score), 4)
        return WEAKEST_MATCH[self.score_kind], value

    def describe(self) -> str:
        """One phrase for people: how close the files are."""
        if self.exact:
            return "byte-identical files"
        if self.score_kind == "similarity":
            return f"cosine similarity >= {self.score:.3f}"
        return "identical hashes" if self.score == 0 else f"up to {int(self.score)} bits apart"


@dataclass
class FindResult:
    """Outcome of :func:`imagetwins.finder.find_duplicate_groups`.

    ``threshold`` and every score are in the method's terms (:attr:`score_kind`): bits apart
    (an int) or a cosine similarity (a float).
    """

    method: str
    threshold: float
    files: list[str]
    hashes: np.ndarray
    pairs: search.Pairs
    groups: list[DuplicateGroup]
    failures: list[ReadFailure] = field(default_factory=list)
    seconds: float = 0.0
    digests: list[str] = field(default_factory=list)  # SHA-256 (hex) of each of ``files`` as read; "" if unknown

    @property
    def score_kind(self) -> str:
        return self.pairs.kind

    @property
    def files_in_groups(self) -> int:
        return sum(len(g.files) for g in self.groups)

    def pair_records(self) -> list[dict]:
        """Each match as ``{"a", "b", <score kind>: score}``."""
        kind = self.score_kind
        as_score = (lambda x: int(x)) if kind == "distance" else (lambda x: round(float(x), 4))
        return [{"a": self.files[i], "b": self.files[j], kind: as_score(d)}
                for i, j, d in zip(self.pairs.left.tolist(), self.pairs.right.tolist(), self.pairs.score.tolist())]

    def to_dict(self) -> dict:
        """Plain data for JSON output; scores are written under their kind's name."""
        return {
            "method": self.method,
            "threshold": self.threshold,
            "score_kind": self.score_kind,
            "images": len(self.files),
            "unreadable": [{"path": f.path, "reason": f.reason} for f in self.failures],
            "groups": [{"files": g.files, "exact": g.exact, **dict([g.score_field()]),
                        "sha256": dict(zip(g.files, g.digests))} for g in self.groups],
            "pairs": self.pair_records(),
            "seconds": round(self.seconds, 3),
        }


@dataclass
class QueryResult:
    """Outcome of checking new images against a reference (:func:`imagetwins.finder.find_against`).

    ``matches`` maps each query image that has a duplicate to its reference matches, closest first,
    each ``(reference path, score)``; scores are in the method's terms (:attr:`score_kind`).
    """

    method: str
    threshold: float
    score_kind: str
    images: list[str]
    reference: str
    reference_images: int
    matches: dict[str, list[tuple[str, float]]]
    failures: list[ReadFailure] = field(default_factory=list)
    seconds: float = 0.0

    def rows(self) -> list[tuple[str, str, float]]:
        """``(query, reference match, score)`` rows, by query, closest first."""
        return [(q, r, score) for q, ms in self.matches.items() for r, score in ms]

    def to_dict(self) -> dict:
        """Plain data for JSON output; scores under their kind's name."""
        return {"method": self.method, "threshold": self.threshold, "score_kind": self.score_kind,
                "images": len(self.images), "reference": self.reference, "reference_images": self.reference_images,
                "with_duplicates": len(self.matches),
                "unreadable": [{"path": f.path, "reason": f.reason} for f in self.failures],
                "matches": [{"query": q, "matches": [{"path": r, self.score_kind: score} for r, score in ms]}
                            for q, ms in self.matches.items()],
                "seconds": round(self.seconds, 3)}


def match_query(encoder: str | Encoder, query_paths: Sequence[str], queries: np.ndarray, reference_paths: Sequence[str],
                reference: np.ndarray, threshold: float | None = None,
                workers: int | None = None) -> dict[str, list[tuple[str, float]]]:
    """The one query step: each query that matches the reference -> its matches, closest first.

    Used by :meth:`imagetwins.index.Index.query`, :func:`imagetwins.finder.find_against` and so by
    ``find --against`` and ``index query``. Scores are ints (bits apart) or floats (similarities,
    rounded to 4 places).
    """
    encoder = get_encoder(encoder)
    threshold = encoder.threshold_or_default(threshold)
    out: dict[str, list[tuple[str, float]]] = {}
    if not len(query_paths) or not len(reference_paths):
        return out
    pairs = encoder.query(queries, reference, threshold, workers, query_paths=list(query_paths),
                          database_paths=list(reference_paths))
    as_score = (lambda x: int(x)) if pairs.kind == "distance" else (lambda x: round(float(x), 4))
    for k in np.lexsort((encoder.best_first(pairs.score), pairs.left)).tolist():
        out.setdefault(query_paths[pairs.left[k]], []).append((reference_paths[pairs.right[k]],
                                                               as_score(pairs.score[k])))
    return out


def groups_from_encodings(
    paths: Sequence[str],
    hashes: np.ndarray,
    digests: Sequence[str],
    method: str | Encoder = "phash",
    threshold: float | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> FindResult:
    """Search encodings already made (by an encoder or an index) for groups.

    Byte-identical files (equal ``digests``) are always grouped, whatever the threshold.
    """
    encoder = get_encoder(method)
    threshold = encoder.threshold_or_default(threshold)
    paths = list(paths)
    pairs = encoder.pairs(hashes, threshold, workers=workers, progress=progress, paths=paths)
    return result_from_pairs(paths, hashes, digests, pairs, encoder, threshold)


def result_from_pairs(paths: Sequence[str], encodings: np.ndarray, digests: Sequence[str], pairs: search.Pairs,
                      method: str | Encoder, threshold: float) -> FindResult:
    """Groups from matches found on one machine or on a cluster, byte-identical files added."""
    encoder = get_encoder(method)
    kind = pairs.kind
    if kind != encoder.score_kind:
        raise ValueError(f"{encoder.name} scores by {encoder.score_kind}, but its search gave {kind} pairs")
    similarity = kind == "similarity"
    paths = list(paths)
    # Byte-identical files hash alike, so they are already among the pairs; the digest pass adds the
    # "exact" label and keeps them grouped even at threshold 0 under any future hash.
    exact = search.equal_key_pairs([d or f"unknown:{i}" for i, d in enumerate(digests)])
    exact = search.Pairs(exact.left, exact.right, np.full(len(exact), encoder.exact_score, pairs.score.dtype), kind)
    merged = search.union_pairs(pairs, exact)
    n = len(paths)
    labels = search.connected_components(n, merged.left, merged.right)
    # the weakest match inside each group (not its diameter, which may be weaker)
    if similarity:
        group_score = np.ones(n, dtype=np.float64)
        np.minimum.at(group_score, labels[merged.left], merged.score.astype(np.float64))
    else:
        group_score = np.zeros(n, dtype=np.float64)
        np.maximum.at(group_score, labels[merged.left], merged.score.astype(np.float64))
    groups = []
    for members in search.groups_from_labels(labels):
        same_bytes = len({digests[i] for i in members}) == 1 and bool(digests[members[0]])
        score = float(group_score[labels[members[0]]])
        groups.append(DuplicateGroup([paths[i] for i in members], score if similarity else int(score), same_bytes,
                                     kind, [digests[i] or "" for i in members]))
    return FindResult(encoder.name, threshold, paths, encodings, merged, groups, digests=list(digests))
