"""``dihedral``: a 256-bit DCT-sign hash matched in all 8 orientations (mirrors, flips, quarter turns)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from imagetwins import hashing, search
from imagetwins.encoders.hashes import HashEncoder
from imagetwins.pairscores import PairScores

__all__ = ["DihedralEncoder"]


class DihedralEncoder(HashEncoder):
    """One hash is stored per image; the search tries the 8 orientations of each query exactly."""

    def pairs(self, encodings: np.ndarray, threshold: float, workers: int | None = None, progress: bool = False,
              paths: Sequence[str] | None = None, pair_scores: PairScores | None = None) -> search.Pairs:
        return search.dihedral_pairs(encodings, int(threshold), workers, progress=progress)

    def query(self, queries: np.ndarray, database: np.ndarray, threshold: float, workers: int | None = None,
              query_paths: Sequence[str] | None = None, database_paths: Sequence[str] | None = None,
              pair_scores: PairScores | None = None) -> search.Pairs:
        return search.dihedral_query(queries, database, int(threshold), workers)


ENCODERS = [DihedralEncoder(hashing.HASH_METHODS["dihedral"])]
