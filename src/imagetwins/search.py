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

#: Query rows per block and database columns per block: 256 x 512 keeps the XOR buffer (1 MiB) and
#: the counts (128 KiB) in cache; measured best of seven shapes on the 2-core AVX2 machine at 20k and
#: 100k hashes (0.17 s and 3.4 s for all pairs, against 0.26 s and 3.5 s for 32 x 8192).
ROW_BLOCK = 256
COL_BLOCK = 512


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


def _validate_threshold(threshold: int, nbits: int = 64) -> int:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)):
        raise TypeError(f"threshold must be an int between 0 and {nbits}")
    if not 0 <= threshold <= nbits:
        raise ValueError(f"threshold must be an int between 0 and {nbits}")
    return int(threshold)


class _Scanner:
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
            ii, jj = np.nonzero(c <= self.threshold)
            gi, gj = ii + r0, jj + c0
            if self.triangle:
                keep = gj > gi // self.group
                ii, jj, gi, gj = ii[keep], jj[keep], gi[keep], gj[keep]
            if len(gi):
                found.append(Pairs(gi.astype(np.int64), gj.astype(np.int64), c[ii, jj].copy()))
        return Pairs.concat(found)

    def run(self, workers: int, progress: bool = False) -> Pairs:
        starts = list(range(0, len(self.rows), ROW_BLOCK))
        return _run_tasks(self.scan_rows, starts, workers, progress)


def _run_tasks(fn, tasks: list, workers: int, progress: bool) -> Pairs:
    """Run ``fn`` over tasks on threads (numpy releases the GIL), with an optional progress bar."""
    bar = None
    if progress and len(tasks) > 1:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), desc="searching", unit="block", leave=False)
    out = []
    try:
        if workers <= 1 or len(tasks) <= 1:
            results = map(fn, tasks)
            for r in results:
                out.append(r)
                if bar is not None:
                    bar.update(1)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for r in pool.map(fn, tasks):
                    out.append(r)
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return Pairs.concat(out)


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
    h = _validate_hashes(hashes, "hashes")
    t = _validate_threshold(threshold, 64 * (1 if h.ndim == 1 else h.shape[1]))
    workers = workers or default_workers()
    if h.ndim == 2:  # wide hashes: blocked only
        return _sorted(_Scanner(h, h, t, triangle=True).run(workers, progress))
    if algorithm not in ("auto", "blocked", "multi-index"):
        raise ValueError(f"algorithm must be 'auto', 'blocked' or 'multi-index', not {algorithm!r}")
    plan = None
    # below ~50k hashes the blocked scan finishes in about a second and multi-index's set-up dominates
    if algorithm == "multi-index" or (algorithm == "auto" and len(h) >= 50_000):
        plan = _plan_multi_index(h, t)
    if plan is not None and (algorithm == "multi-index" or plan.cost < _blocked_cost(len(h))):
        return _sorted(plan.run(workers, progress))
    return _sorted(_Scanner(h, h, t, triangle=True).run(workers, progress))


# Cost model, in nanoseconds, measured on the 2-core AVX2 reference machine (BENCHMARKS.md):
# blocked search ~1.15 ns per pair, multi-index ~25 ns per candidate plus ~10 ns per hash per probe.
_NS_PER_PAIR = 1.15
_NS_PER_CANDIDATE = 25.0
_NS_PER_PROBE_ROW = 10.0


def _blocked_cost(n: int) -> float:
    return n * (n - 1) / 2 * _NS_PER_PAIR


class _MultiIndexPlan:
    """Pigeonhole search: split the 64 bits into ``m`` chunks; a pair within ``t`` bits is within
    ``t // m`` bits on at least one chunk, so only pairs whose chunk keys differ by such a pattern
    ("probe") are compared. Each pair is reported from the first chunk that finds it.

    Without ``queries`` it is a self-join (pairs ``i < j`` of ``h``); with them, every query is
    probed against ``h`` as the database.
    """

    def __init__(self, h: np.ndarray, t: int, m: int, queries: np.ndarray | None = None) -> None:
        self.h, self.t, self.m = h, t, m
        self.q = queries
        edges = np.linspace(0, 64, m + 1).round().astype(int)
        self.chunks = [(int(a), int(b - a)) for a, b in zip(edges[:-1], edges[1:])]  # (shift, bits)
        self.radius = t // m
        self.tables = []
        cost = 0.0
        rows = h if queries is None else queries
        for shift, bits in self.chunks:
            key = self._key(h, shift, bits)
            counts = np.bincount(key, minlength=1 << bits)
            row_counts = counts if queries is None else np.bincount(self._key(rows, shift, bits), minlength=1 << bits)
            probes = _patterns(bits, self.radius)
            # exact number of candidate pairs this chunk will generate, from bucket sizes alone
            idx = np.arange(1 << bits)
            candidates = sum(float(row_counts @ counts[idx ^ p]) for p in probes)
            cost += candidates * _NS_PER_CANDIDATE + len(probes) * len(rows) * _NS_PER_PROBE_ROW
            self.tables.append((key, counts, probes))
        self.cost = cost

    @staticmethod
    def _key(h: np.ndarray, shift: int, bits: int) -> np.ndarray:
        return ((h >> np.uint64(shift)) & np.uint64((1 << bits) - 1)).astype(np.int64)

    def _chunk_pairs(self, k: int, probes: np.ndarray) -> Pairs:
        shift, bits = self.chunks[k]
        key, counts, _ = self.tables[k]
        order = np.argsort(key, kind="stable")
        sorted_h = self.h[order]
        start = np.concatenate([[0], np.cumsum(counts)])
        if self.q is None:  # rows in the same sorted order as the columns, for locality
            row_key, row_h, row_ids = key[order], sorted_h, order
        else:
            row_key, row_h, row_ids = self._key(self.q, shift, bits), self.q, np.arange(len(self.q))
        found = []
        for p in probes.tolist():
            target = row_key ^ p
            lengths = counts[target]
            ends = np.cumsum(lengths)
            total = int(ends[-1]) if len(ends) else 0
            if total == 0:
                continue
            # materialise candidates in slabs of rows so memory stays bounded
            slab_rows = np.searchsorted(ends, np.arange(_SLAB, total + _SLAB, _SLAB), side="left")
            r0 = 0
            for r1 in np.unique(np.minimum(slab_rows + 1, len(ends))).tolist():
                if r1 <= r0:
                    continue
                ln = lengths[r0:r1]
                rows = np.repeat(np.arange(r0, r1), ln)
                if len(rows) == 0:
                    r0 = r1
                    continue
                first = np.repeat(start[target[r0:r1]] - (np.cumsum(ln) - ln), ln)
                cols = first + np.arange(len(rows))
                d = np.bitwise_count(row_h[rows] ^ sorted_h[cols])
                keep = d <= self.t
                i, j, d = row_ids[rows[keep]], order[cols[keep]], d[keep]
                if self.q is None:
                    keep = i < j
                    i, j, d = i[keep], j[keep], d[keep]
                xi = self.h[i] if self.q is None else self.q[i]
                for s2, b2 in self.chunks[:k]:  # reported by an earlier chunk already
                    if len(i) == 0:
                        break
                    x = (xi ^ self.h[j]) >> np.uint64(s2) & np.uint64((1 << b2) - 1)
                    keep = np.bitwise_count(x) > self.radius
                    i, j, d, xi = i[keep], j[keep], d[keep], xi[keep]
                if len(i):
                    found.append(Pairs(i.astype(np.int64), j.astype(np.int64), d.astype(np.uint8)))
                r0 = r1
        return Pairs.concat(found)

    def run(self, workers: int, progress: bool = False) -> Pairs:
        # a few jobs per thread and chunk: each job sorts its chunk's keys once, so not too many
        jobs = [(k, part) for k, (_, _, probes) in enumerate(self.tables)
                for part in np.array_split(probes, max(1, min(len(probes), 4 * workers)))]
        return _run_tasks(lambda job: self._chunk_pairs(*job), jobs, workers, progress)


#: candidate pairs materialised at once by the multi-index search (bounds its memory to ~100 MB)
_SLAB = 2_000_000


def _patterns(bits: int, radius: int) -> np.ndarray:
    """Every ``bits``-bit value with at most ``radius`` bits set."""
    from itertools import combinations

    out = [sum(1 << b for b in combo) for r in range(radius + 1) for combo in combinations(range(bits), r)]
    return np.array(out, dtype=np.int64)


def _plan_multi_index(h: np.ndarray, t: int, queries: np.ndarray | None = None) -> _MultiIndexPlan | None:
    """The cheapest multi-index plan for these hashes, or None for thresholds too large for one."""
    best = None
    for m in (4, 5, 6, 8, 11):
        bits = 64 // m + (64 % m > 0)
        if bits > 16 or t // m > 4:
            continue
        from math import comb

        if sum(comb(bits, r) for r in range(t // m + 1)) > 20_000:
            continue
        plan = _MultiIndexPlan(h, t, m, queries)
        if best is None or plan.cost < best.cost:
            best = plan
    return best


def hamming_query(
    queries: np.ndarray, database: np.ndarray, threshold: int = 10, workers: int | None = None,
    algorithm: str = "auto",
) -> Pairs:
    """All ``(query index, database index)`` pairs within ``threshold``, exactly; sorted by query.

    ``algorithm`` as in :func:`hamming_pairs`: ``auto`` takes multi-index when its exact candidate
    count says it is cheaper (large query sets against large databases).
    """
    q = _validate_hashes(queries, "queries")
    db = _validate_hashes(database, "database")
    if q.ndim != db.ndim or (q.ndim == 2 and q.shape[1] != db.shape[1]):
        raise ValueError(f"queries {q.shape[1:]} and database {db.shape[1:]} hashes differ in width")
    t = _validate_threshold(threshold, 64 * (1 if q.ndim == 1 else q.shape[1]))
    workers = workers or default_workers()
    if algorithm not in ("auto", "blocked", "multi-index"):
        raise ValueError(f"algorithm must be 'auto', 'blocked' or 'multi-index', not {algorithm!r}")
    big = len(q) * len(db) >= 2_500_000_000  # about a second of blocked work or more
    if q.ndim == 1 and (algorithm == "multi-index" or (algorithm == "auto" and big)):
        plan = _plan_multi_index(db, t, queries=q)
        if plan is not None and (algorithm == "multi-index" or plan.cost < len(q) * len(db) * _NS_PER_PAIR):
            return _sorted(plan.run(workers))
    return _sorted(_Scanner(q, db, t, triangle=False).run(workers))


def dihedral_pairs(hashes: np.ndarray, threshold: int, workers: int | None = None, progress: bool = False) -> Pairs:
    """All pairs ``i < j`` whose 256-bit dihedral hashes are within ``threshold`` in some orientation.

    The distance of a pair is the smallest over the 8 orientations of the first hash; orientations
    act on the bits exactly (see :func:`imagetwins.hashing.dihedral_variants`), so it is symmetric.
    """
    from imagetwins.hashing import dihedral_variants

    h = _validate_hashes(hashes, "hashes")
    if h.ndim != 2 or h.shape[1] != 4:
        raise ValueError(f"dihedral hashes are (N, 4) uint64 words, got shape {h.shape}")
    t = _validate_threshold(threshold, 256)
    variants = dihedral_variants(h).reshape(-1, 4)
    raw = _Scanner(variants, h, t, triangle=True, group=8).run(workers or default_workers(), progress)
    return _closest_per_pair(Pairs(raw.left // 8, raw.right, raw.distance))


def dihedral_query(queries: np.ndarray, database: np.ndarray, threshold: int, workers: int | None = None) -> Pairs:
    """``(query, database)`` pairs within ``threshold`` in some orientation of the query."""
    from imagetwins.hashing import dihedral_variants

    q = _validate_hashes(queries, "queries")
    db = _validate_hashes(database, "database")
    t = _validate_threshold(threshold, 256)
    raw = _Scanner(dihedral_variants(q).reshape(-1, 4), db, t, triangle=False).run(workers or default_workers())
    return _closest_per_pair(Pairs(raw.left // 8, raw.right, raw.distance))


def _closest_per_pair(pairs: Pairs) -> Pairs:
    order = np.lexsort((pairs.distance, pairs.right, pairs.left))
    left, right, dist = pairs.left[order], pairs.right[order], pairs.distance[order]
    first = np.ones(len(left), dtype=bool)
    first[1:] = (left[1:] != left[:-1]) | (right[1:] != right[:-1])
    return Pairs(left[first], right[first], dist[first])


def method_pairs(hashes: np.ndarray, method: str, threshold: int, workers: int | None = None,
                 progress: bool = False) -> Pairs:
    """All matching pairs for the hashes of a named method (dihedral methods match all orientations)."""
    from imagetwins.hashing import get_method

    if get_method(method).dihedral:
        return dihedral_pairs(hashes, threshold, workers, progress=progress)
    return hamming_pairs(hashes, threshold, workers, progress=progress)


def method_query(queries: np.ndarray, database: np.ndarray, method: str, threshold: int,
                 workers: int | None = None) -> Pairs:
    """``(query, database)`` matches for the hashes of a named method."""
    from imagetwins.hashing import get_method

    if get_method(method).dihedral:
        return dihedral_query(queries, database, threshold, workers)
    return hamming_query(queries, database, threshold, workers)


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


#: rows of the similarity block computed at once: memory is O(N·d + COSINE_BLOCK x N_block)
COSINE_BLOCK = 1024


def _validate_vectors(x: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (N, d) array of vectors, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _validate_similarity(threshold: float) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (float, int, np.floating)):
        raise TypeError("threshold must be a float between -1.0 and 1.0")
    if not -1.0 <= threshold <= 1.0:
        raise ValueError("threshold must be a float between -1.0 and 1.0")
    return float(threshold)


def cosine_pairs(vectors: np.ndarray, threshold: float = 0.9, progress: bool = False) -> Pairs:
    """All pairs ``i < j`` with cosine similarity ``>= threshold`` (vectors L2-normalised), exactly.

    Blocked ``X[a:b] @ X[a:].T`` products (float32 BLAS, which uses all cores), so memory is the
    vectors plus one ``COSINE_BLOCK x N`` block, never N x N. ``distance`` holds the similarity.
    """
    x = _validate_vectors(vectors, "vectors")
    t = _validate_similarity(threshold)
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
                                   sim[ii[keep], jj[keep]].astype(np.float32)))
    return _sorted(Pairs.concat(found)) if found else Pairs.empty(np.float32)


def cosine_query(queries: np.ndarray, database: np.ndarray, threshold: float = 0.9) -> Pairs:
    """``(query, database)`` pairs with cosine similarity ``>= threshold``, exactly, in blocks."""
    q = _validate_vectors(queries, "queries")
    db = _validate_vectors(database, "database")
    t = _validate_similarity(threshold)
    found = []
    for a in range(0, len(q), COSINE_BLOCK):
        for c in range(0, len(db), 8 * COSINE_BLOCK):
            sim = q[a:a + COSINE_BLOCK] @ db[c:c + 8 * COSINE_BLOCK].T
            ii, jj = np.nonzero(sim >= t)
            if len(ii):
                found.append(Pairs((ii + a).astype(np.int64), (jj + c).astype(np.int64),
                                   sim[ii, jj].astype(np.float32)))
    return _sorted(Pairs.concat(found)) if found else Pairs.empty(np.float32)


def cosine_topk(queries: np.ndarray, database: np.ndarray, k: int = 10,
                exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most similar database vectors for each query: (indices, similarities), best first.

    With ``exclude_self`` (queries are the database), each vector's own row is skipped.
    """
    q = _validate_vectors(queries, "queries")
    db = _validate_vectors(database, "database")
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
    q = _validate_vectors(queries, "queries")
    db = _validate_vectors(database, "database")
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
