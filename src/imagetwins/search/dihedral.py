"""Search 256-bit dihedral hashes in all 8 orientations (flips and quarter turns) of the query."""

from __future__ import annotations

import numpy as np

from imagetwins.search.hamming import BlockScanner, as_hashes, bits_threshold
from imagetwins.search.pairs import Pairs
from imagetwins.search.products import PRODUCT_MIN, within_by_products
from imagetwins.workers import thread_count

__all__ = ["closest_per_pair", "dihedral_pairs", "dihedral_query", "dihedral_variants"]


def dihedral_variants(hashes: np.ndarray) -> np.ndarray:
    """The 8 orientations of 256-bit dihedral hashes: ``(N, 4)`` uint64 -> ``(N, 8, 4)``.

    The hash holds the signs of DCT frequencies 1..16 on each axis (:func:`imagetwins.hashing.dihedral_bits`).
    Order: as is, mirrored, flipped, turned 180, then the same four transposed. Each is exactly the
    hash of the correspondingly transformed image (up to coefficients that are exactly zero).
    """
    h = np.ascontiguousarray(np.asarray(hashes, dtype=np.uint64)).reshape(-1, 4)
    bits = np.unpackbits(h.astype(">u8").view(np.uint8), axis=-1).reshape(-1, 16, 16).astype(bool)
    freq = np.arange(1, 17)
    odd_h = np.broadcast_to(freq[None, :] % 2 == 1, (16, 16))  # odd horizontal frequency
    odd_v = odd_h.T
    flips = [bits, bits ^ odd_h, bits ^ odd_v, bits ^ odd_h ^ odd_v]
    variants = np.stack(flips + [np.swapaxes(b, -1, -2) for b in flips], axis=1)
    packed = np.packbits(variants.reshape(len(h), 8, 256), axis=-1)
    return np.ascontiguousarray(packed).view(">u8").astype(np.uint64)


def dihedral_pairs(hashes: np.ndarray, threshold: int, workers: int | None = None, progress: bool = False) -> Pairs:
    """All pairs ``i < j`` whose 256-bit dihedral hashes are within ``threshold`` in some orientation.

    The distance of a pair is the smallest over the 8 orientations of the first hash; orientations
    act on the bits exactly (see :func:`dihedral_variants`), so it is symmetric.
    """
    h = as_hashes(hashes, "hashes")
    if h.ndim != 2 or h.shape[1] != 4:
        raise ValueError(f"dihedral hashes are (N, 4) uint64 words, got shape {h.shape}")
    t = bits_threshold(threshold, 256)
    variants = dihedral_variants(h).reshape(-1, 4)
    raw = None
    if len(variants) * len(h) // 2 >= PRODUCT_MIN:
        # the same pairs and distances from an integer matrix product (search.products), several times faster
        raw = within_by_products(variants, h, t, thread_count(workers), group=8, progress=progress)
    if raw is None:
        raw = BlockScanner(variants, h, t, triangle=True, group=8).run(thread_count(workers), progress)
    return closest_per_pair(Pairs(raw.left // 8, raw.right, raw.score))


def dihedral_query(queries: np.ndarray, database: np.ndarray, threshold: int, workers: int | None = None) -> Pairs:
    """``(query, database)`` pairs within ``threshold`` in some orientation of the query."""
    q = as_hashes(queries, "queries")
    db = as_hashes(database, "database")
    t = bits_threshold(threshold, 256)
    variants = dihedral_variants(q).reshape(-1, 4)
    raw = None
    if len(variants) * len(db) >= PRODUCT_MIN:
        # the same pairs and distances from an integer matrix product (search.products), several times faster;
        # None (the scan then) where the database's hashes are not 256 bits wide or onnxruntime cannot run it
        raw = within_by_products(variants, db, t, thread_count(workers))
    if raw is None:
        raw = BlockScanner(variants, db, t, triangle=False).run(thread_count(workers))
    return closest_per_pair(Pairs(raw.left // 8, raw.right, raw.score))


def closest_per_pair(pairs: Pairs) -> Pairs:
    """Each ``(left, right)`` once, at its smallest distance."""
    order = np.lexsort((pairs.score, pairs.right, pairs.left))
    left, right, dist = pairs.left[order], pairs.right[order], pairs.score[order]
    first = np.ones(len(left), dtype=bool)
    first[1:] = (left[1:] != left[:-1]) | (right[1:] != right[:-1])
    return Pairs(left[first], right[first], dist[first])
