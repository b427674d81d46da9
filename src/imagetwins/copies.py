"""The ``copies`` method: candidates from a hash and a CNN, each confirmed by geometric verification.

Neither stage alone is a copy detector. The dihedral hash is precise but blind to crops and small
rotations; the CNN sees through those but calls different photos of one kind of subject alike. Here
both only *propose* pairs, generously, and :mod:`imagetwins.verify` decides:

- the dihedral hash proposes pairs within :data:`HASH_CANDIDATE` bits; those within :data:`HASH_SURE`
  are copies without a check (the hash is exact about them, and it is what finds flat images that
  have no features to match);
- the CNN (one orientation; the hash and the verification handle flips and turns), run at
  :data:`CNN_SIDE` pixels, proposes each image's :data:`TOP_K` nearest neighbours with cosine similarity
  >= :data:`CNN_CANDIDATE`, so a crowd of look-alikes costs at most ``TOP_K`` checks per image;
- every proposed pair is verified; its score is the verification confidence (1.0 for hash-sure pairs).

Each file is decoded once for all three encodings (:class:`CopyRecord`); the registered method is
:class:`imagetwins.encoders.copies.CopiesEncoder`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from imagetwins import search
from imagetwins.pairscores import PairScores
from imagetwins.spill import SpillFile, current_spill
from imagetwins.timing import stage
from imagetwins.verify import DEFAULT_CONFIDENCE, ImageFeatures, Verification, verify_pair
from imagetwins.workers import default_workers

__all__ = [
    "CNN_CANDIDATE",
    "CNN_SIDE",
    "COPIES_METHOD",
    "CopyRecord",
    "DEFAULT_CONFIDENCE",
    "HASH_CANDIDATE",
    "HASH_SURE",
    "TOP_K",
    "candidate_pairs",
    "candidate_query",
    "copy_pairs",
    "copy_query",
    "verify_pairs",
]

#: the method's name on the command line and in the index
COPIES_METHOD = "copies"
#: dihedral distances (of 256 bits) at or under which a pair is a copy without a check
HASH_SURE = 40
#: dihedral distances at or under which a pair is proposed for verification
HASH_CANDIDATE = 96
#: cosine similarity (CNN, one orientation) at or above which a neighbour is proposed
CNN_CANDIDATE = 0.5
#: CNN neighbours proposed per image
TOP_K = 6
#: input side of the CNN here: it only proposes, so it runs at 160 px rather than the ``cnn`` method's 224
#: (half the cost; on the fit split 7 of 943 copies found at 224 were no longer proposed, held out 1 of 661)
CNN_SIDE = 160


class CopyRecord:
    """One image encoded for the copies method: its dihedral hash, CNN vector and verification features.

    The features (about 50 KB) are needed only when a proposed pair is verified, so a record made by the
    encoder, read from an index or unpickled keeps them in this process's spill file
    (:func:`imagetwins.spill.current_spill`) and holds only where they are: :attr:`features` reads them
    back on each use. A record made from an :class:`~imagetwins.verify.ImageFeatures` object keeps that
    object; so does one made when no spill file can be written (a warning says so once).
    """

    __slots__ = ("hash", "vector", "_features", "_spill", "_offset", "_length")

    def __init__(self, hash: np.ndarray, vector: np.ndarray, features: ImageFeatures) -> None:
        self.hash = hash  # (4,) uint64
        self.vector = vector  # (d,) float32, one orientation, L2-normalised
        self._features: ImageFeatures | None = features
        self._spill: SpillFile | None = None
        self._offset = self._length = 0

    @classmethod
    def spilled(cls, hash: np.ndarray, vector: np.ndarray, features: bytes) -> CopyRecord:
        """A record whose features (:meth:`ImageFeatures.to_bytes`, already checked) go to the spill file."""
        rec = cls.__new__(cls)
        rec.hash, rec.vector = hash, vector
        rec._features, rec._spill, rec._offset, rec._length = None, None, 0, len(features)
        try:
            spill = current_spill()
            rec._offset, rec._spill = spill.put(features), spill
        except OSError as exc:
            _warn_unspilled(exc)
            rec._features = ImageFeatures.from_bytes(features)
        return rec

    @property
    def features(self) -> ImageFeatures:
        """The verification features (read back from the spill file when they are kept there)."""
        if self._features is not None:
            return self._features
        return ImageFeatures.from_bytes(self._spill.get(self._offset, self._length))

    @property
    def in_memory(self) -> bool:
        """Whether this record holds its features in memory (rather than in the spill file)."""
        return self._features is not None

    def features_bytes(self) -> bytes:
        """:meth:`ImageFeatures.to_bytes` of the features."""
        if self._features is not None:
            return self._features.to_bytes()
        return self._spill.get(self._offset, self._length)

    def to_bytes(self) -> bytes:
        """Hash, vector length and vector, then the features (:meth:`ImageFeatures.to_bytes`)."""
        head = np.ascontiguousarray(self.hash).astype("<u8").tobytes() + np.uint32(len(self.vector)).astype(
            "<u4").tobytes()
        return head + np.asarray(self.vector).astype("<f4").tobytes() + self.features_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> CopyRecord:
        """Inverse of :meth:`to_bytes` (``ValueError`` for anything else); the features go to the spill file."""
        if len(data) < 36:
            raise ValueError("not a copies record (too short)")
        h = np.frombuffer(data[:32], "<u8").astype(np.uint64)
        d = int(np.frombuffer(data[32:36], "<u4")[0])
        end = 36 + 4 * d
        if len(data) < end:
            raise ValueError("not a copies record (truncated vector)")
        v = np.frombuffer(data[36:end], "<f4").astype(np.float32)
        norm = float(np.dot(v.astype(np.float64), v.astype(np.float64)))
        if not (abs(norm - 1.0) < 1e-3 or norm == 0.0):  # L2-normalised (or all zero); NaN fails too
            raise ValueError("not a copies record (the vector is not of unit length)")
        raw = bytes(data[end:])
        features = ImageFeatures.from_bytes(raw)  # checks them (and reads the .npz written before)
        if raw[:2] == b"PK":
            raw = features.to_bytes()  # spilled in today's format, read back fast
        return cls.spilled(h, v, raw)

    def __getstate__(self) -> tuple:
        # pickled (Dask) with the features themselves: the spill file is this process's alone
        return self.hash, self.vector, self.features_bytes()

    def __setstate__(self, state: tuple) -> None:
        hash, vector, raw = state
        rec = CopyRecord.spilled(hash, vector, raw)
        for name in self.__slots__:
            setattr(self, name, getattr(rec, name))

    def __repr__(self) -> str:
        where = "in memory" if self._features is not None else f"spilled, {self._length} bytes"
        return f"CopyRecord(hash={self.hash!r}, vector=<{len(self.vector)} floats>, features {where})"


_warned_unspilled = False


def _warn_unspilled(exc: OSError) -> None:
    global _warned_unspilled
    if not _warned_unspilled:
        _warned_unspilled = True
        warnings.warn(f"copies: cannot write the scratch file for image features ({exc}); keeping them in memory",
                      UserWarning, stacklevel=3)


class _Features(Sequence):
    """The records' features, each read (from the spill file) when it is asked for."""

    def __init__(self, records: Sequence[CopyRecord]) -> None:
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, i):
        return self._records[i].features


def stack(records: Sequence[CopyRecord]) -> tuple[np.ndarray, np.ndarray, Sequence[ImageFeatures]]:
    """Records -> (hashes (N, 4) uint64, vectors (N, d) float32, features read on demand)."""
    if not len(records):
        return np.empty((0, 4), np.uint64), np.empty((0, 0), np.float32), []
    return (np.stack([r.hash for r in records]), np.stack([r.vector for r in records]),
            _Features(list(records)))


def _unique(keys: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One entry per key, the smallest distance kept."""
    order = np.lexsort((dist, keys))
    keys, dist = keys[order], dist[order]
    first = np.ones(len(keys), bool)
    first[1:] = keys[1:] != keys[:-1]
    return keys[first], dist[first]


def candidate_pairs(hashes: np.ndarray, vectors: np.ndarray, workers: int | None = None,
                    hash_candidate: int = HASH_CANDIDATE, cnn_candidate: float = CNN_CANDIDATE,
                    top_k: int = TOP_K) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``i < j`` proposed by the hash or the CNN: (left, right, dihedral distance; 256 where unknown)."""
    n = len(hashes)
    if n < 2:
        e = np.empty(0, np.int64)
        return e, e, np.empty(0, np.int32)
    hp = search.dihedral_pairs(hashes, hash_candidate, workers)
    idx, sims = search.cosine_topk(vectors, vectors, k=top_k, exclude_self=True)
    rows = np.repeat(np.arange(n), idx.shape[1])
    keep = sims.ravel() >= cnn_candidate
    a, b = rows[keep], idx.ravel()[keep]
    cl, cr = np.minimum(a, b), np.maximum(a, b)
    keys = np.concatenate([hp.left.astype(np.int64) * n + hp.right, cl * n + cr])
    dist = np.concatenate([hp.distance.astype(np.int32), np.full(len(cl), 256, np.int32)])
    keys, dist = _unique(keys, dist)
    return keys // n, keys % n, dist


def candidate_query(query_hashes: np.ndarray, query_vectors: np.ndarray, hashes: np.ndarray, vectors: np.ndarray,
                    workers: int | None = None, hash_candidate: int = HASH_CANDIDATE,
                    cnn_candidate: float = CNN_CANDIDATE, top_k: int = TOP_K
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(query, database)`` pairs proposed by the hash or the CNN, as :func:`candidate_pairs`."""
    n = len(hashes)
    if not len(query_hashes) or not n:
        e = np.empty(0, np.int64)
        return e, e, np.empty(0, np.int32)
    hp = search.dihedral_query(query_hashes, hashes, hash_candidate, workers)
    idx, sims = search.cosine_topk(query_vectors, vectors, k=top_k)
    rows = np.repeat(np.arange(len(query_hashes)), idx.shape[1])
    keep = sims.ravel() >= cnn_candidate
    keys = np.concatenate([hp.left.astype(np.int64) * n + hp.right, rows[keep] * n + idx.ravel()[keep]])
    dist = np.concatenate([hp.distance.astype(np.int32), np.full(int(keep.sum()), 256, np.int32)])
    keys, dist = _unique(keys, dist)
    return keys // n, keys % n, dist


def verify_pairs(features_a: Sequence[ImageFeatures], features_b: Sequence[ImageFeatures], left: np.ndarray,
                 right: np.ndarray, workers: int | None = None) -> list[Verification]:
    """Verify ``features_a[left[k]]`` against ``features_b[right[k]]`` for every k, on threads (OpenCV
    releases the GIL)."""
    workers = default_workers() if not workers or workers < 1 else workers
    jobs = list(zip(np.asarray(left).tolist(), np.asarray(right).tolist()))
    if not jobs:
        return []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda ij: verify_pair(features_a[ij[0]], features_b[ij[1]]), jobs))


def _score(features_a, features_b, left, right, dist, threshold: float, workers: int | None,
           hash_sure: int, pair_scores: PairScores | None = None) -> search.Pairs:
    conf = np.ones(len(left), np.float32)
    need = np.flatnonzero(dist > hash_sure)
    known = np.full(len(need), np.nan) if pair_scores is None else pair_scores.lookup(left[need], right[need])
    known[(known < 0) | (known > 1)] = np.nan  # not a confidence: a damaged store, checked again
    todo = np.isnan(known)
    with stage("verify"):
        checked = verify_pairs(features_a, features_b, left[need[todo]], right[need[todo]], workers)
    known[todo] = [v.confidence for v in checked]
    if pair_scores is not None and todo.any():
        pair_scores.remember(left[need[todo]], right[need[todo]], known[todo])
    conf[need] = known
    keep = conf >= threshold
    return search.Pairs(left[keep].astype(np.int64), right[keep].astype(np.int64), conf[keep], "similarity")


def copy_pairs(records: Sequence[CopyRecord], threshold: float = DEFAULT_CONFIDENCE, workers: int | None = None,
               hash_sure: int = HASH_SURE, pair_scores: PairScores | None = None, **candidates) -> search.Pairs:
    """Pairs ``i < j`` of copies among encoded images, with their confidence as ``distance`` (larger is closer).

    ``pair_scores`` (:class:`imagetwins.pairscores.PairScores` over these records, version
    :func:`imagetwins.verify.verdict_version`): confidences already known are taken from it, only the other
    candidates are verified, and their confidences are kept there. ``candidates`` go to
    :func:`candidate_pairs` (``hash_candidate``, ``cnn_candidate``, ``top_k``).
    """
    hashes, vectors, features = stack(records)
    left, right, dist = candidate_pairs(hashes, vectors, workers, **candidates)
    return _score(features, features, left, right, dist, threshold, workers, hash_sure, pair_scores)


def copy_query(queries: Sequence[CopyRecord], database: Sequence[CopyRecord], threshold: float = DEFAULT_CONFIDENCE,
               workers: int | None = None, hash_sure: int = HASH_SURE, pair_scores: PairScores | None = None,
               **candidates) -> search.Pairs:
    """``(query, database)`` copies: the same proposal and verification, across two sets."""
    qh, qv, qf = stack(queries)
    dh, dv, df = stack(database)
    left, right, dist = candidate_query(qh, qv, dh, dv, workers, **candidates)
    return _score(qf, df, left, right, dist, threshold, workers, hash_sure, pair_scores)
