"""Exact cosine-similarity search for L2-normalised float32 vectors, in blocks; top-k; faiss HNSW top-k."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from imagetwins.scores import SIMILARITY
from imagetwins.search.groups import places_in_runs
from imagetwins.search.pairs import Pairs, cells

__all__ = ["COSINE_BLOCK", "TOPK_COLS", "TOPK_ROWS", "approximate_topk", "as_vectors", "cosine_pairs", "cosine_query",
           "cosine_topk",
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
    bar = None
    if progress and len(starts) > 1:
        from imagetwins.progress import progress_bar

        bar = progress_bar(total=len(starts), desc="searching", unit="block")
    for a in starts:
        if bar is not None and a:
            bar.update(1)
        for c in range(a, len(x), 8 * COSINE_BLOCK):
            sim = x[a:a + COSINE_BLOCK] @ x[c:c + 8 * COSINE_BLOCK].T
            ii, jj = cells(sim >= t)
            gi, gj = ii + a, jj + c
            keep = gj > gi
            if keep.any():
                found.append(Pairs(gi[keep].astype(np.int64), gj[keep].astype(np.int64),
                                   sim[ii[keep], jj[keep]].astype(np.float32), SIMILARITY))
    if bar is not None:
        bar.update(1)
        bar.close()
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
            ii, jj = cells(sim >= t)
            if len(ii):
                found.append(Pairs((ii + a).astype(np.int64), (jj + c).astype(np.int64),
                                   sim[ii, jj].astype(np.float32), SIMILARITY))
    return Pairs.concat(found).sorted() if found else Pairs.empty(np.float32, SIMILARITY)


_HALF_TABLE: np.ndarray | None = None


def _as_float32(x: np.ndarray) -> np.ndarray:
    """A block of vectors as contiguous float32; float16 through a table of all 65,536 halves (exact, NaN and
    infinities included): numpy's cast of half floats branches on each value, and CNN vectors are ~29 % zeros
    (ReLU): 0.55 against 1.01 CPU s for 25 blocks of 4,096 x 1,280."""
    global _HALF_TABLE
    if x.dtype != np.float16:
        return np.ascontiguousarray(x, dtype=np.float32)
    if _HALF_TABLE is None:
        _HALF_TABLE = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float32)
    return _HALF_TABLE[np.ascontiguousarray(x).view(np.uint16)]


def _as_search_vectors(x: np.ndarray, name: str) -> np.ndarray:
    """Vectors for :func:`cosine_topk`: float16 kept as it is (half the memory; converted a block at a time),
    anything else as :func:`as_vectors`."""
    arr = np.asarray(x)
    if arr.dtype == np.float16 and arr.ndim == 2:
        return arr
    return as_vectors(arr, name)


#: rows and columns of one block of :func:`cosine_topk`'s similarities (8 MiB of float32); each block of database
#: vectors is made float32 once (float16 vectors: 21 MB for 4,096 of 1,280 floats). The blocks of 256 x 65,536 before
#: took ~300 MB at the peak of a search of 2,000 vectors; 512 x 4,096 was the fastest of five shapes on 6,000 vectors
#: (1.65 CPU s against 1.67 before; 256 x 4,096: 2.27)
TOPK_ROWS, TOPK_COLS = 512, 4096
#: bytes of float32 queries made once for the whole search (beyond: a block of them at a time, for each block of
#: the database)
QUERIES_HELD = 64 << 20


def _merge_best(best_idx: np.ndarray, best_sim: np.ndarray, rows: np.ndarray, idx: np.ndarray, sim: np.ndarray
                ) -> None:
    """Entries (``rows``, ``idx``, ``sim``) merged into the lists ``best_*`` (each row's ``k`` best, sorted by
    similarity, then lower index first), in place."""
    k = best_idx.shape[1]
    touched = np.unique(rows)
    r = np.concatenate([np.repeat(touched, k), rows])
    j = np.concatenate([best_idx[touched].ravel(), idx])
    v = np.concatenate([best_sim[touched].ravel(), sim])
    # (a place not yet filled, index -1, goes after every entry of its similarity, -inf)
    order = np.lexsort((np.where(j < 0, np.iinfo(np.int64).max, j), -v, r))
    first = places_in_runs(r[order]) < k
    best_idx[touched] = j[order][first].reshape(-1, k)
    best_sim[touched] = v[order][first].reshape(-1, k)


def cosine_topk(queries: np.ndarray, database: np.ndarray, k: int = 10,
                exclude_self: bool = False,
                each_block: Callable[[int, int, np.ndarray], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most similar database vectors for each query: (indices, similarities), best first (equal
    similarities: the lower index first).

    With ``exclude_self`` (queries are the database), each vector's own row is skipped. Vectors may be
    float32 or float16 (kept as they are: each block is made float32 as it is used, so the search holds no
    float32 copy of them all); memory beyond the vectors is the (queries, ``k``) best so far and one block.
    ``each_block(first query, first database row, similarities)`` is shown each block of similarities as it is
    computed (before ``exclude_self`` touches it; not to be changed), for a caller that wants more from the same
    products (the other direction's nearest).

    A block's similarities are looked at only where they beat the query's ``k``-th best so far (one comparison
    each): after the first blocks few do, and only those are sorted into the lists. A selection
    (``argpartition``) of every block cost as much as a fifth of the products (1,000 queries among 101,000
    vectors: ~1 of ~5 CPU s).
    """
    q = _as_search_vectors(queries, "queries")
    db = _as_search_vectors(database, "database")
    k = min(k, len(db) - (1 if exclude_self else 0))
    if k <= 0:
        return np.empty((len(q), max(k, 0)), np.int64), np.empty((len(q), max(k, 0)), np.float32)
    best_idx = np.full((len(q), k), -1, np.int64)
    best_sim = np.full((len(q), k), -np.inf, np.float32)
    held = q.dtype == np.float32 or q.size * 4 <= QUERIES_HELD
    q32 = _as_float32(q) if held else None
    for c in range(0, len(db), TOPK_COLS):
        block = _as_float32(db[c:c + TOPK_COLS])
        for a in range(0, len(q), TOPK_ROWS):
            qa = q32[a:a + TOPK_ROWS] if held else _as_float32(q[a:a + TOPK_ROWS])
            sim = qa @ block.T
            if each_block is not None:
                each_block(a, c, sim)
            if exclude_self:
                rows = np.arange(len(qa))
                own = rows + a - c
                inside = (own >= 0) & (own < sim.shape[1])
                sim[rows[inside], own[inside]] = -np.inf
            floor = best_sim[a:a + len(qa), k - 1]
            if k < sim.shape[1] and np.isneginf(floor).any():
                # (a list not yet full, as at the first block: only the block's k best can enter it, ties
                # included; its k-th similarity from a partial sort)
                floor = np.maximum(floor, np.partition(sim, sim.shape[1] - k, axis=1)[:, sim.shape[1] - k])
                ii, jj = cells(sim >= floor[:, None])
            else:  # (equal to the k-th best: a later index, not taken)
                ii, jj = cells(sim > floor[:, None])
            if len(ii):
                _merge_best(best_idx, best_sim, ii + a, jj + c, sim[ii, jj])
    unfilled = np.flatnonzero(best_idx[:, -1] < 0)  # (only vectors that are not finite: NaN similarities, last)
    db32 = db.astype(np.float32) if len(unfilled) else None  # (made once, not once a row)
    for r in unfilled:
        sim = db32 @ np.asarray(q[r], np.float32)
        sim[np.isnan(sim)] = -np.inf
        if exclude_self:
            sim[r] = np.nan
        order = np.argsort(-sim, kind="stable")[:k]
        best_idx[r], best_sim[r] = order, sim[order]
    return best_idx, best_sim


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
