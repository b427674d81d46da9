"""Exact Hamming search over 64-bit (or wider) hashes: blocked brute force, all pairs or query vs database.

The kernel XORs a small block of query hashes against a cache-sized block of database hashes,
``np.bitwise_count``s the result into a reused uint8 buffer, and only looks for matches when the
block's minimum distance is within the threshold. It never misses a pair, runs on all cores (numpy
releases the GIL inside the ufuncs), and needs memory for the hashes, the per-thread buffers and the
pairs found: never N x N. At radius 10 on 64 bits this beats multi-index hashing and BK-trees (see
``../shared/notes/measured-facts.md``); for large, spread-out sets :mod:`.multi_index` takes over.
"""

from __future__ import annotations

import threading

import numpy as np

from imagetwins.search.multi_index import NS_PER_PAIR, blocked_cost, plan_multi_index
from imagetwins.search.pairs import Pairs, cells, run_blocks
from imagetwins.workers import thread_count

__all__ = ["COL_BLOCK", "ROW_BLOCK", "BlockScanner", "as_hashes", "bits_threshold", "hamming_pairs", "hamming_query"]

#: Query rows per block and database columns per block: 256 x 512 keeps the XOR buffer (1 MiB) and
#: the counts (128 KiB) in cache; measured best of seven shapes on the 2-core AVX2 machine at 20k and
#: 100k hashes (0.17 s and 3.4 s for all pairs, against 0.26 s and 3.5 s for 32 x 8192).
ROW_BLOCK = 256
COL_BLOCK = 512


def as_hashes(hashes: np.ndarray, name: str) -> np.ndarray:
    """Hashes as a contiguous ``(N,)`` or ``(N, words)`` uint64 array, or a clear error."""
    arr = np.asarray(hashes)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be a 1-D array of uint64 hashes (or (N, words) for wider ones), "
                         f"got shape {arr.shape}")
    if arr.dtype != np.uint64:
        if arr.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integer (uint64) hashes, got dtype {arr.dtype}")
        arr = arr.astype(np.uint64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    return np.ascontiguousarray(arr)


def bits_threshold(threshold: int, nbits: int = 64) -> int:
    """A Hamming threshold as an int in ``0..nbits``, or a clear error."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)):
        raise TypeError(f"threshold must be an int between 0 and {nbits}")
    if not 0 <= threshold <= nbits:
        raise ValueError(f"threshold must be an int between 0 and {nbits}")
    return int(threshold)


class BlockScanner:
    """One scan of row blocks against columns, with buffers per thread.

    Hashes are ``(N,)`` uint64 or ``(N, W)`` words. With ``triangle``, row ``r`` belongs to item
    ``r // group`` and only columns after that item are compared (each unordered pair once; ``group``
    rows per item when each item is queried in several orientations).
    """

    def __init__(self, rows: np.ndarray, cols: np.ndarray, threshold: int, triangle: bool, group: int = 1) -> None:
        self.rows, self.cols, self.threshold, self.triangle, self.group = rows, cols, threshold, triangle, group
        self.words = 1 if rows.ndim == 1 else rows.shape[1]
        self.local = threading.local()

    def _buffers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not hasattr(self.local, "xor"):
            self.local.xor = np.empty((ROW_BLOCK, COL_BLOCK), np.uint64)
            self.local.count = np.empty((ROW_BLOCK, COL_BLOCK), np.uint8)
            self.local.total = np.empty((ROW_BLOCK, COL_BLOCK), np.uint16) if self.words > 1 else None
        return self.local.xor, self.local.count, self.local.total

    def _distances(self, q: np.ndarray, d: np.ndarray) -> np.ndarray:
        xor_buf, count_buf, total_buf = self._buffers()
        nq, nd = len(q), len(d)
        x, c = xor_buf[:nq, :nd], count_buf[:nq, :nd]
        if self.words == 1:
            np.bitwise_xor(q[:, None], d[None, :], out=x)
            return np.bitwise_count(x, out=c)
        total = total_buf[:nq, :nd]
        total.fill(0)
        for w in range(self.words):
            np.bitwise_xor(q[:, w, None], d[None, :, w], out=x)
            np.add(total, np.bitwise_count(x, out=c), out=total)
        return total

    def scan_rows(self, r0: int) -> Pairs:
        q = self.rows[r0 : r0 + ROW_BLOCK]
        c_start = r0 // self.group if self.triangle else 0
        found = []
        for c0 in range(c_start, len(self.cols), COL_BLOCK):
            c = self._distances(q, self.cols[c0 : c0 + COL_BLOCK])
            if c.min() > self.threshold:  # the common case: nothing close in this block
                continue
            ii, jj = cells(c <= self.threshold)
            gi, gj = ii + r0, jj + c0
            if self.triangle:
                keep = gj > gi // self.group
                ii, jj, gi, gj = ii[keep], jj[keep], gi[keep], gj[keep]
            if len(gi):
                found.append(Pairs(gi.astype(np.int64), gj.astype(np.int64), c[ii, jj].copy()))
        return Pairs.concat(found)

    def run(self, workers: int, progress: bool = False) -> Pairs:
        starts = list(range(0, len(self.rows), ROW_BLOCK))
        return run_blocks(self.scan_rows, starts, workers, progress)


def hamming_pairs(
    hashes: np.ndarray, threshold: int = 10, workers: int | None = None, algorithm: str = "auto",
    progress: bool = False,
) -> Pairs:
    """All pairs ``i < j`` with ``popcount(hashes[i] ^ hashes[j]) <= threshold``, exactly.

    Parameters
    ----------
    hashes : (N,) uint64 array
    threshold : int
        Largest Hamming distance that counts as a match, 0..64.
    workers : int, optional
        Threads; default all CPUs.
    algorithm : {'auto', 'blocked', 'multi-index'}
        ``blocked`` compares every pair; ``multi-index`` only pairs that agree within
        ``threshold // m`` bits on one of ``m`` chunks (pigeonhole: no pair is missed). ``auto``
        counts, before any work, how many candidate pairs multi-index would check on these very
        hashes and picks the cheaper one, so clustered hashes never make it slower than blocked.

    Returns
    -------
    Pairs
        Sorted by ``(left, right)``.
    """
    h = as_hashes(hashes, "hashes")
    t = bits_threshold(threshold, 64 * (1 if h.ndim == 1 else h.shape[1]))
    workers = thread_count(workers)
    if h.ndim == 2:  # wide hashes: blocked only
        return BlockScanner(h, h, t, triangle=True).run(workers, progress).sorted()
    if algorithm not in ("auto", "blocked", "multi-index"):
        raise ValueError(f"algorithm must be 'auto', 'blocked' or 'multi-index', not {algorithm!r}")
    plan = None
    # below ~50k hashes the blocked scan finishes in about a second and multi-index's set-up dominates
    if algorithm == "multi-index" or (algorithm == "auto" and len(h) >= 50_000):
        plan = plan_multi_index(h, t)
    if plan is not None and (algorithm == "multi-index" or plan.cost < blocked_cost(len(h))):
        return plan.run(workers, progress).sorted()
    return BlockScanner(h, h, t, triangle=True).run(workers, progress).sorted()


def hamming_query(
    queries: np.ndarray, database: np.ndarray, threshold: int = 10, workers: int | None = None,
    algorithm: str = "auto",
) -> Pairs:
    """All ``(query index, database index)`` pairs within ``threshold``, exactly; sorted by query.

    ``algorithm`` as in :func:`hamming_pairs`: ``auto`` takes multi-index when its exact candidate
    count says it is cheaper (large query sets against large databases).
    """
    q = as_hashes(queries, "queries")
    db = as_hashes(database, "database")
    if q.ndim != db.ndim or (q.ndim == 2 and q.shape[1] != db.shape[1]):
        raise ValueError(f"queries {q.shape[1:]} and database {db.shape[1:]} hashes differ in width")
    t = bits_threshold(threshold, 64 * (1 if q.ndim == 1 else q.shape[1]))
    workers = thread_count(workers)
    if algorithm not in ("auto", "blocked", "multi-index"):
        raise ValueError(f"algorithm must be 'auto', 'blocked' or 'multi-index', not {algorithm!r}")
    big = len(q) * len(db) >= 2_500_000_000  # about a second of blocked work or more
    if q.ndim == 1 and (algorithm == "multi-index" or (algorithm == "auto" and big)):
        plan = plan_multi_index(db, t, queries=q)
        if plan is not None and (algorithm == "multi-index" or plan.cost < len(q) * len(db) * NS_PER_PAIR):
            return plan.run(workers).sorted()
    return BlockScanner(q, db, t, triangle=False).run(workers).sorted()
