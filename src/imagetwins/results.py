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

__all__ = ["DuplicateGroup", "FindResult", "groups_from_encodings", "result_from_pairs"]


@dataclass
class DuplicateGroup:
    """Files that are duplicates of each other (connected by matches within the threshold)."""

    files: list[str]
    max_distance: int  # largest Hamming distance of a match in the group (0 for CNN groups)
    exact: bool  # every file in the group is byte-identical
    min_similarity: float | None = None  # CNN groups: lowest cosine similarity of a match


@dataclass
class FindResult:
    """Outcome of :func:`find_duplicate_groups`."""

    method: str
    threshold: int
    files: list[str]
    hashes: np.ndarray
    pairs: search.Pairs
    groups: list[DuplicateGroup]
    failures: list[ReadFailure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def files_in_groups(self) -> int:
        return sum(len(g.files) for g in self.groups)

    def to_dict(self) -> dict:
        """Plain data for JSON output."""
        return {
            "method": self.method,
            "threshold": self.threshold,
            "images": len(self.files),
            "unreadable": [{"path": f.path, "reason": f.reason} for f in self.failures],
            "groups": [
                {"files": g.files, "max_distance": g.max_distance, "exact": g.exact,
                 **({"min_similarity": round(g.min_similarity, 4)} if g.min_similarity is not None else {})}
                for g in self.groups
            ],
            "pairs": [
                {"a": self.files[i], "b": self.files[j], "distance": int(d)}
                for i, j, d in zip(self.pairs.left.tolist(), self.pairs.right.tolist(),
                                   self.pairs.distance.tolist())
            ],
            "seconds": round(self.seconds, 3),
        }


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
    similarity = encoder.score_kind == "similarity"
    paths = list(paths)
    # Byte-identical files hash alike, so they are already among the pairs; the digest pass adds the
    # "exact" label and keeps them grouped even at threshold 0 under any future hash.
    exact = search.equal_key_pairs([d or f"unknown:{i}" for i, d in enumerate(digests)])
    exact = search.Pairs(exact.left, exact.right, np.full(len(exact), encoder.exact_score, pairs.distance.dtype))
    merged = search.union_pairs(pairs, exact)
    n = len(paths)
    labels = search.connected_components(n, merged.left, merged.right)
    # the weakest match inside each group (not its diameter, which may be weaker)
    if similarity:
        group_score = np.ones(n, dtype=np.float64)
        np.minimum.at(group_score, labels[merged.left], merged.distance.astype(np.float64))
    else:
        group_score = np.zeros(n, dtype=np.float64)
        np.maximum.at(group_score, labels[merged.left], merged.distance.astype(np.float64))
    groups = []
    for members in search.groups_from_labels(labels):
        same_bytes = len({digests[i] for i in members}) == 1 and bool(digests[members[0]])
        score = float(group_score[labels[members[0]]])
        groups.append(DuplicateGroup([paths[i] for i in members], 0 if similarity else int(score), same_bytes,
                                     score if similarity else None))
    return FindResult(encoder.name, threshold, paths, encodings, merged, groups)
