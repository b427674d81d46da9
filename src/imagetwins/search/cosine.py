"""Exact cosine-similarity search for L2-normalised float32 vectors, in blocks; top-k; faiss HNSW top-k."""

from __future__ import annotations

import numpy as np

from imagetwins.scores import SIMILARITY
from imagetwins.search.pairs import Pairs

__all__ = ["COSINE_BLOCK", "approximate_topk", "as_vectors", "cosine_pairs", "cosine_query", "cosine_topk",
           "similarity_threshold"]

#: rows of the similarity block computed at once: memory is O(N·d + COSINE_BLOCK x N_block)
COSINE_BLOCK = 1024


def as_vectors(x: np.ndarray, name: str) -> np.ndarray:
    """Vectors as a contiguous ``(N, d)`` float32 array, or a clear error."""
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (N, d) array of vectors, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def similarity_threshold(threshold: float) -> float:
    """A similarity threshold as a float in ``-1..1``, or a clear error."""
    if isinstance(threshold, bool) or not isinstance(threshold, (float, int, np.floating)):
        raise TypeError("threshold must be a float between -1.0 and 1.0")
    if not -1.0 <= threshold <= 1.0:
        raise ValueError("threshold must be a float between -1.0 and 1.0")
    return float(threshold)


def cosine_pairs(vectors: np.ndarray, threshold: float = 0.9, progress: bool = False) -> Pairs:
    """All pairs ``i < j`` with cosine similarity ``>= threshold`` (vectors L2-normalised), exactly.

    Blocked ``X[a:b] @ X[a:].T`` products (float32 BLAS, which uses all cores), so memory is the
    vectors plus one ``COSINE_BLOCK x N`` block, never N x N. Scores are similarities.
    """
    x = as_vectors(vectors, "vectors")
    t = similarity_threshold(threshold)
    found = []
    starts = range(0, len(x), COSINE_BLOCK)
    if progress and len(starts) > 1:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="searching", unit="block", leave=False)
    for a in starts:
        for c in range(a, len(x), 8 * COSINE_BLOCK):
            sim = x[a:a + COSINE_BLOCK] @ x[c:c + 8 * COSINE_BLOCK].T
            ii, jj = np.nonzero(sim >= t)
            gi, gj = ii + a, jj + c
            keep = gj > gi
            if keep.any():
                found.append(Pairs(gi[keep].astype(np.int64), gj[keep].astype(np.int64),
                                   sim[ii[keep], jj[keep]].astype(np.float32), SIMILARITY))
    return Pairs.concat(found).sorted() if found else Pairs.empty(np.float32, SIMILARITY)


def cosine_query(queries: np.ndarray, database: np.ndarray, threshold: float = 0.9) -> Pairs:
    """``(query, database)`` pairs with cosine similarity ``>= threshold``, exactly, in blocks."""
    q = as_vectors(queries, "queries")
    db = as_vectors(database, "database")
    t = similarity_threshold(threshold)
    found = []
    for a in range(0, len(q), COSINE_BLOCK):
        for c in range(0, len(db), 8 * COSINE_BLOCK):
            sim = q[a:a + COSINE_BLOCK] @ db[c:c + 8 * COSINE_BLOCK].T
            ii, jj = np.nonzero(sim >= t)
            if len(ii):
                found.append(Pairs((ii + a).astype(np.int64), (jj + c).astype(np.int64),
                                   sim[ii, jj].astype(np.float32), SIMILARITY))
    return Pairs.concat(found).sorted() if found else Pairs.empty(np.float32, SIMILARITY)


def cosine_topk(queries: np.ndarray, database: np.ndarray, k: int = 10,
                exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most similar database vectors for each query: (indices, similarities), best first.

    With ``exclude_self`` (queries are the database), each vector's own row is skipped.
    """
    q = as_vectors(queries, "queries")
    db = as_vectors(database, "database")
    k = min(k, len(db) - (1 if exclude_self else 0))
    idx = np.empty((len(q), max(k, 0)), np.int64)
    sims = np.empty((len(q), max(k, 0)), np.float32)
    if k <= 0:
        return idx, sims
    rows_per_block, cols_per_block = 256, 65536  # one block of similarities: 64 MiB
    for a in range(0, len(q), rows_per_block):
        qa = q[a:a + rows_per_block]
        best_idx = np.empty((len(qa), 0), np.int64)
        best_sim = np.empty((len(qa), 0), np.float32)
        for c in range(0, len(db), cols_per_block):
            sim = qa @ db[c:c + cols_per_block].T
            if exclude_self:
                rows = np.arange(len(qa))
                own = rows + a - c
                inside = (own >= 0) & (own < sim.shape[1])
                sim[rows[inside], own[inside]] = -np.inf
            cand_idx = np.concatenate([best_idx, np.broadcast_to(np.arange(c, c + sim.shape[1]), sim.shape)], axis=1)
            cand_sim = np.concatenate([best_sim, sim], axis=1)
            kk = min(k, cand_sim.shape[1])
            part = np.argpartition(-cand_sim, kk - 1, axis=1)[:, :kk]
            best_idx = np.take_along_axis(cand_idx, part, axis=1)
            best_sim = np.take_along_axis(cand_sim, part, axis=1)
        order = np.argsort(-best_sim, axis=1, kind="stable")
        idx[a:a + len(qa)] = np.take_along_axis(best_idx, order, axis=1)
        sims[a:a + len(qa)] = np.take_along_axis(best_sim, order, axis=1)
    return idx, sims


def approximate_topk(queries: np.ndarray, database: np.ndarray, k: int = 10, exclude_self: bool = False,
                     m: int = 32, ef_search: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`cosine_topk`, approximately, with a faiss HNSW graph (``pip install "imagetwins[faiss]"``).

    For databases beyond a few million vectors, where the exact blocked product takes hours; the
    results interface is the same (indices and similarities, best first). Raise ``ef_search`` for
    better recall at the cost of speed.
    """
    try:
        import faiss
    except ImportError:
        raise ImportError('approximate search needs faiss: pip install "imagetwins[faiss]"') from None
    q = as_vectors(queries, "queries")
    db = as_vectors(database, "database")
    index = faiss.IndexHNSWFlat(db.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efSearch = max(ef_search, k + 1)
    index.add(db)
    sims, idx = index.search(q, k + (1 if exclude_self else 0))
    if exclude_self:
        own = idx == np.arange(len(q))[:, None]
        # drop each query's own row where found, else its last (weakest) neighbour
        drop = np.where(own.any(axis=1), own.argmax(axis=1), k)
        keep = np.ones(idx.shape, dtype=bool)
        keep[np.arange(len(q)), drop] = False
        idx, sims = idx[keep].reshape(len(q), k), sims[keep].reshape(len(q), k)
    return idx.astype(np.int64), sims.astype(np.float32)
