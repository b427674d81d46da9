"""Multi-index (pigeonhole) Hamming search for 64-bit hashes, with an exact cost planner.

Split the 64 bits into ``m`` chunks; a pair within ``t`` bits agrees within ``t // m`` bits on at
least one chunk, so only pairs whose chunk keys differ by such a pattern are compared. The planner
counts, from bucket sizes alone, exactly how many candidates a plan would verify, so callers pick it
only when it is cheaper than the blocked scan (:mod:`.hamming`).
"""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np

from imagetwins.search.pairs import Pairs, run_blocks

__all__ = ["NS_PER_PAIR", "MultiIndexPlan", "blocked_cost", "plan_multi_index"]

# Cost model, in nanoseconds, measured on the 2-core AVX2 reference machine (BENCHMARKS.md):
# blocked search ~1.15 ns per pair, multi-index ~25 ns per candidate plus ~10 ns per hash per probe.
NS_PER_PAIR = 1.15
NS_PER_CANDIDATE = 25.0
NS_PER_PROBE_ROW = 10.0


def blocked_cost(n: int) -> float:
    """Estimated nanoseconds of a blocked all-pairs scan of ``n`` hashes."""
    return n * (n - 1) / 2 * NS_PER_PAIR


class MultiIndexPlan:
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
            candidates = float(row_counts.astype(np.float64) @ _xor_sums(counts, probes).astype(np.float64))
            cost += candidates * NS_PER_CANDIDATE + len(probes) * len(rows) * NS_PER_PROBE_ROW
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
        return run_blocks(lambda job: self._chunk_pairs(*job), jobs, workers, progress)


#: candidate pairs materialised at once by the multi-index search (bounds its memory to ~100 MB)
_SLAB = 2_000_000


def _xor_sums(counts: np.ndarray, probes: np.ndarray) -> np.ndarray:
    """``out[x] = sum(counts[x ^ p] for p in probes)``: the candidates a row with key ``x`` meets, for every key at
    once. An XOR convolution, so three Walsh-Hadamard transforms of ``2**bits`` values instead of one gather per
    probe (up to 20,000 of 65,536 values each: seconds for a threshold of 16); exact in int64 (below 2**63 for
    2**16 keys, 20,000 probes and 7 * 10**9 hashes)."""
    bits = len(counts).bit_length() - 1
    if len(probes) <= 3 * bits:  # few probes (radius 0 or 1): the gathers cost less than the transforms' 3 * bits
        idx = np.arange(len(counts))
        return sum((counts[idx ^ p] for p in probes.tolist()), np.zeros(len(counts), np.int64))
    indicator = np.zeros(len(counts), np.int64)
    indicator[probes] = 1
    return _walsh_hadamard(_walsh_hadamard(counts) * _walsh_hadamard(indicator)) // len(counts)


def _walsh_hadamard(values: np.ndarray) -> np.ndarray:
    """The (unnormalised) Walsh-Hadamard transform of ``values`` (length a power of two), in int64."""
    out = values.astype(np.int64)
    half = 1
    while half < len(out):
        pairs = out.reshape(-1, 2, half)
        out = np.stack((pairs[:, 0] + pairs[:, 1], pairs[:, 0] - pairs[:, 1]), axis=1).reshape(-1)
        half *= 2
    return out


def _patterns(bits: int, radius: int) -> np.ndarray:
    """Every ``bits``-bit value with at most ``radius`` bits set."""
    out = [sum(1 << b for b in combo) for r in range(radius + 1) for combo in combinations(range(bits), r)]
    return np.array(out, dtype=np.int64)


def plan_multi_index(h: np.ndarray, t: int, queries: np.ndarray | None = None) -> MultiIndexPlan | None:
    """The cheapest multi-index plan for these hashes, or None for thresholds too large for one."""
    best = None
    for m in (4, 5, 6, 8, 11):
        bits = 64 // m + (64 % m > 0)
        if bits > 16 or t // m > 4:
            continue
        if sum(comb(bits, r) for r in range(t // m + 1)) > 20_000:
            continue
        plan = MultiIndexPlan(h, t, m, queries)
        if best is None or plan.cost < best.cost:
            best = plan
    return best
