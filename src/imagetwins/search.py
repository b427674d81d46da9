"""Exact search over 64-bit hashes, and turning pairs into duplicate groups.

The kernel is blocked brute force: XOR a small block of query hashes against a cache-sized block of
database hashes, ``np.bitwise_count`` the result into a reused uint8 buffer, and only look for matches
when the block's minimum distance is within the threshold. It never misses a pair, runs on all
cores (numpy releases the GIL inside the ufuncs), and needs memory for the hashes, the per-thread
buffers and the pairs found: never N x N. At radius 10 on 64 bits this beats multi-index hashing and
BK-trees (see ``../shared/notes/measured-facts.md``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from imagetwins.hashing import default_workers

#: Query rows per block and database columns per block: 32 x 8192 keeps the XOR buffer (2 MiB) and
#: the counts (256 KiB) near the cache, measured best on 2-core x86 with AVX2.
ROW_BLOCK = 32
COL_BLOCK = 8192


@dataclass
class Pairs:
    """Matches as three aligned arrays: ``left[k]`` and ``right[k]`` are at ``distance[k]``."""

    left: np.ndarray
    right: np.ndarray
    distance: np.ndarray

    def __len__(self) -> int:
        return len(self.left)

    @classmethod
    def empty(cls, dist_dtype: type = np.uint8) -> Pairs:
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, dist_dtype))

    @classmethod
    def concat(cls, parts: Sequence[Pairs]) -> Pairs:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("left", "right", "distance")))


def _validate_hashes(hashes: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(hashes)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of uint64 hashes, got shape {arr.shape}")
    if arr.dtype != np.uint64:
        if arr.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integer (uint64) hashes, got dtype {arr.dtype}")
        arr = arr.astype(np.uint64)
    return np.ascontiguousarray(arr)


def _validate_threshold(threshold: int) -> int:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)):
        raise TypeError("threshold must be an int between 0 and 64")
    if not 0 <= threshold <= 64:
        raise ValueError("threshold must be an int between 0 and 64")
    return int(threshold)


class _Scanner:
    """One scan of row blocks against columns, with a buffer pair per thread."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, threshold: int, triangle: bool) -> None:
        self.rows, self.cols, self.threshold, self.triangle = rows, cols, threshold, triangle
        self.local = threading.local()

    def _buffers(self) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(self.local, "xor"):
            self.local.xor = np.empty((ROW_BLOCK, COL_BLOCK), np.uint64)
            self.local.count = np.empty((ROW_BLOCK, COL_BLOCK), np.uint8)
        return self.local.xor, self.local.count

    def scan_rows(self, r0: int) -> Pairs:
        xor_buf, count_buf = self._buffers()
        q = self.rows[r0 : r0 + ROW_BLOCK, None]
        nq = q.shape[0]
        c_start = r0 if self.triangle else 0
        found = []
        for c0 in range(c_start, len(self.cols), COL_BLOCK):
            d = self.cols[None, c0 : c0 + COL_BLOCK]
            x = xor_buf[:nq, : d.shape[1]]
            c = count_buf[:nq, : d.shape[1]]
            np.bitwise_xor(q, d, out=x)
            np.bitwise_count(x, out=c)
            if c.min() > self.threshold:  # the common case: nothing close in this block
                continue
            ii, jj = np.nonzero(c <= self.threshold)
            gi, gj = ii + r0, jj + c0
            if self.triangle:
                keep = gj > gi
                ii, jj, gi, gj = ii[keep], jj[keep], gi[keep], gj[keep]
            if len(gi):
                found.append(Pairs(gi.astype(np.int64), gj.astype(np.int64), c[ii, jj].copy()))
        return Pairs.concat(found)

    def run(self, workers: int) -> Pairs:
        starts = range(0, len(self.rows), ROW_BLOCK)
        if workers <= 1 or len(starts) <= 1:
            return Pairs.concat([self.scan_rows(r0) for r0 in starts])
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return Pairs.concat(list(pool.map(self.scan_rows, starts, chunksize=8)))


def hamming_pairs(hashes: np.ndarray, threshold: int = 10, workers: int | None = None) -> Pairs:
    """All pairs ``i < j`` with ``popcount(hashes[i] ^ hashes[j]) <= threshold``, exactly.

    Parameters
    ----------
    hashes : (N,) uint64 array
    threshold : int
        Largest Hamming distance that counts as a match, 0..64.
    workers : int, optional
        Threads; default all CPUs.

    Returns
    -------
    Pairs
        Sorted by ``(left, right)``.
    """
    h = _validate_hashes(hashes, "hashes")
    t = _validate_threshold(threshold)
    pairs = _Scanner(h, h, t, triangle=True).run(workers or default_workers())
    return _sorted(pairs)


def hamming_query(
    queries: np.ndarray, database: np.ndarray, threshold: int = 10, workers: int | None = None
) -> Pairs:
    """All ``(query index, database index)`` pairs within ``threshold``, exactly; sorted by query."""
    q = _validate_hashes(queries, "queries")
    db = _validate_hashes(database, "database")
    t = _validate_threshold(threshold)
    return _sorted(_Scanner(q, db, t, triangle=False).run(workers or default_workers()))


def _sorted(pairs: Pairs) -> Pairs:
    order = np.lexsort((pairs.right, pairs.left))
    return Pairs(pairs.left[order], pairs.right[order], pairs.distance[order])


def equal_key_pairs(keys: Sequence[str]) -> Pairs:
    """Pairs ``i < j`` whose keys are equal (e.g. content digests: byte-identical files)."""
    first: dict[str, int] = {}
    left, right = [], []
    for j, k in enumerate(keys):
        i = first.setdefault(k, j)
        if i != j:
            left.append(i)
            right.append(j)
    n = len(left)
    return Pairs(np.array(left, np.int64), np.array(right, np.int64), np.zeros(n, np.uint8))


def connected_components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component label of each of ``n`` nodes given edges; a label is the smallest node index in it."""
    labels = np.arange(n, dtype=np.int64)
    left = np.asarray(left, np.int64)
    right = np.asarray(right, np.int64)
    if len(left) == 0:
        return labels
    while True:
        low = np.minimum(labels[left], labels[right])
        before = labels.copy()
        np.minimum.at(labels, left, low)
        np.minimum.at(labels, right, low)
        # pointer jumping: follow labels to their roots so long chains collapse in log steps
        while True:
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
        if np.array_equal(labels, before):
            return labels


def groups_from_pairs(n: int, pairs: Pairs) -> list[np.ndarray]:
    """Duplicate groups (connected components with two or more members), largest first.

    Each group is a sorted array of node indices; groups of equal size are ordered by first member.
    """
    return groups_from_labels(connected_components(n, pairs.left, pairs.right))


def groups_from_labels(labels: np.ndarray) -> list[np.ndarray]:
    """Groups of two or more nodes sharing a component label, largest first (see :func:`groups_from_pairs`)."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    cuts = np.flatnonzero(np.diff(sorted_labels)) + 1
    groups = [g for g in np.split(order, cuts) if len(g) > 1]
    groups.sort(key=lambda g: (-len(g), g[0]))
    return groups


def duplicate_map(
    names: Sequence[str], pairs: Pairs, scores: bool = False, larger_is_closer: bool = False
) -> dict[str, list]:
    """imagededup's result shape: every name -> its matches, closest first.

    Parameters
    ----------
    names : sequence of str
        Name of each node; every name gets a key, with an empty list when it has no match.
    pairs : Pairs
        Matches between node indices (each unordered pair once).
    scores : bool
        Give ``(name, score)`` tuples instead of names.
    larger_is_closer : bool
        Scores are similarities (sort descending) rather than distances.

    Returns
    -------
    dict
        Ties keep the input order of ``names``.
    """
    n = len(names)
    src = np.concatenate([pairs.left, pairs.right])
    dst = np.concatenate([pairs.right, pairs.left])
    dist = np.concatenate([pairs.distance, pairs.distance])
    key = -dist.astype(np.float64) if larger_is_closer else dist
    order = np.lexsort((dst, key, src))
    src, dst, dist = src[order], dst[order], dist[order]
    bounds = np.searchsorted(src, np.arange(n + 1))
    as_score = float if dist.dtype.kind == "f" else int
    out: dict[str, list] = {}
    dst_list, dist_list = dst.tolist(), dist.tolist()
    for i, name in enumerate(names):
        lo, hi = bounds[i], bounds[i + 1]
        if scores:
            out[name] = [(names[j], as_score(s)) for j, s in zip(dst_list[lo:hi], dist_list[lo:hi])]
        else:
            out[name] = [names[j] for j in dst_list[lo:hi]]
    return out


def files_to_remove(duplicates: dict[str, list]) -> list[str]:
    """imagededup's rule: walk the keys in order; a key not yet marked keeps itself, marks its matches."""
    marked: set[str] = set()
    ordered: list[str] = []
    for key, matches in duplicates.items():
        if key in marked:
            continue
        for m in matches:
            name = m[0] if isinstance(m, tuple) else m
            if name not in marked:
                marked.add(name)
                ordered.append(name)
    return ordered
