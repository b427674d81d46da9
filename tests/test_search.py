"""Exactness of the blocked Hamming search (against brute force), groups, and result shapes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagetwins import search
from imagetwins.search import (
    Pairs,
    duplicate_map,
    files_to_remove,
    groups_from_pairs,
    hamming_pairs,
    hamming_query,
)

pytestmark = pytest.mark.unit


def _brute_pairs(h: np.ndarray, t: int) -> set[tuple[int, int, int]]:
    out = set()
    for i in range(len(h)):
        for j in range(i + 1, len(h)):
            d = int(h[i] ^ h[j]).bit_count()
            if d <= t:
                out.add((i, j, d))
    return out


def _as_set(p: Pairs) -> set[tuple[int, int, int]]:
    return set(zip(p.left.tolist(), p.right.tolist(), p.distance.tolist()))


@st.composite
def clustered_hashes(draw):
    """Hashes in clusters (seeds plus few flipped bits), so that many pairs sit near any threshold."""
    seeds = draw(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=6))
    n = draw(st.integers(0, 90))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    out = []
    for _ in range(n):
        h = seeds[rng.integers(len(seeds))]
        for bit in rng.choice(64, size=rng.integers(0, 20), replace=False):
            h ^= 1 << int(bit)
        out.append(h)
    return np.array(out, dtype=np.uint64)


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Small blocks so that short inputs cross many block boundaries."""
    monkeypatch.setattr(search.hamming, "ROW_BLOCK", 4)
    monkeypatch.setattr(search.hamming, "COL_BLOCK", 7)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(h=clustered_hashes(), t=st.integers(0, 64), workers=st.sampled_from([1, 2, 3]),
       algorithm=st.sampled_from(["auto", "blocked", "multi-index"]))
def test_hamming_pairs_equals_brute_force(tiny_blocks, h, t, workers, algorithm) -> None:
    got = hamming_pairs(h, t, workers=workers, algorithm=algorithm)
    assert _as_set(got) == _brute_pairs(h, t)
    assert len(got) == len(_as_set(got))  # no pair twice
    assert np.all(got.left < got.right)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=clustered_hashes(), db=clustered_hashes(), t=st.integers(0, 64),
       algorithm=st.sampled_from(["auto", "blocked", "multi-index"]))
def test_hamming_query_equals_brute_force(tiny_blocks, q, db, t, algorithm) -> None:
    got = hamming_query(q, db, t, workers=2, algorithm=algorithm)
    want = {(i, j, int(q[i] ^ db[j]).bit_count()) for i in range(len(q)) for j in range(len(db))
            if int(q[i] ^ db[j]).bit_count() <= t}
    assert _as_set(got) == want


@pytest.mark.parametrize("t", [0, 3, 10, 16])
def test_multi_index_equals_blocked_on_clustered_real_size_input(t: int) -> None:
    rng = np.random.default_rng(t)
    seeds = rng.integers(0, 2**64 - 1, size=40, dtype=np.uint64)
    h = seeds[rng.integers(0, 40, size=6000)]
    for _ in range(8):  # each hash drifts from its seed by a random number of bits
        flip = np.uint64(1) << rng.integers(0, 64, size=len(h)).astype(np.uint64)
        h = np.where(rng.random(len(h)) < 0.4, h ^ flip, h)
    a = hamming_pairs(h, t, algorithm="blocked")
    b = hamming_pairs(h, t, algorithm="multi-index")
    assert len(a) > 100
    assert np.array_equal(a.left, b.left) and np.array_equal(a.right, b.right)
    assert np.array_equal(a.distance, b.distance)


def test_default_blocks_on_larger_random_input() -> None:
    rng = np.random.default_rng(7)
    base = rng.integers(0, 2**64 - 1, size=300, dtype=np.uint64)
    flips = np.uint64(1) << rng.integers(0, 64, size=300).astype(np.uint64)
    h = np.concatenate([base, base ^ flips, rng.integers(0, 2**64 - 1, size=9000, dtype=np.uint64)])
    got = hamming_pairs(h, 3)
    # every planted pair is found, at distance exactly 1
    planted = {(i, i + 300) for i in range(300)}
    found = set(zip(got.left.tolist(), got.right.tolist()))
    assert planted <= found
    assert all(d == 1 for i, j, d in _as_set(got) if (i, j) in planted)


@pytest.mark.parametrize("bad", [-1, 65])
def test_threshold_range(bad: int) -> None:
    with pytest.raises(ValueError):
        hamming_pairs(np.zeros(3, np.uint64), bad)
    with pytest.raises(TypeError):
        hamming_pairs(np.zeros(3, np.uint64), 2.5)


def _components_reference(n: int, edges: list[tuple[int, int]]) -> set[frozenset[int]]:
    adj = {i: set() for i in range(n)}
    for a, b in edges:
        adj[a].add(b)
        adj[b].add(a)
    seen, comps = set(), set()
    for s in range(n):
        if s in seen:
            continue
        stack, comp = [s], set()
        while stack:
            x = stack.pop()
            if x not in comp:
                comp.add(x)
                stack.extend(adj[x] - comp)
        seen |= comp
        if len(comp) > 1:
            comps.add(frozenset(comp))
    return comps


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 60), data=st.data())
def test_groups_equal_connected_components(n, data) -> None:
    edges = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=80))
    edges = [(a, b) for a, b in edges if a != b]
    pairs = Pairs(np.array([a for a, _ in edges], np.int64), np.array([b for _, b in edges], np.int64),
                  np.zeros(len(edges), np.uint8))
    groups = groups_from_pairs(n, pairs)
    assert {frozenset(g.tolist()) for g in groups} == _components_reference(n, edges)
    assert [len(g) for g in groups] == sorted((len(g) for g in groups), reverse=True)


def test_long_chain_is_one_group() -> None:
    n = 5000
    pairs = Pairs(np.arange(n - 1)[::-1].copy(), np.arange(1, n)[::-1].copy(), np.ones(n - 1, np.uint8))
    groups = groups_from_pairs(n, pairs)
    assert len(groups) == 1 and len(groups[0]) == n


def test_duplicate_map_shape_and_order() -> None:
    names = ["a", "b", "c", "d"]
    pairs = Pairs(np.array([0, 0, 1]), np.array([1, 2, 2]), np.array([5, 2, 5], np.uint8))
    got = duplicate_map(names, pairs, scores=True)
    assert got == {"a": [("c", 2), ("b", 5)], "b": [("a", 5), ("c", 5)], "c": [("a", 2), ("b", 5)], "d": []}
    assert duplicate_map(names, pairs) == {"a": ["c", "b"], "b": ["a", "c"], "c": ["a", "b"], "d": []}
    assert files_to_remove(got) == ["c", "b"]


def test_equal_key_pairs() -> None:
    p = search.equal_key_pairs(["x", "y", "x", "x", "z"])
    assert _as_set(p) == {(0, 2, 0), (0, 3, 0)}
    # a key not known (None, empty: a file whose digest was not read) is like no other
    assert _as_set(search.equal_key_pairs([None, "x", None, "", "x", ""])) == {(1, 4, 0)}


def test_places_in_runs() -> None:
    assert search.places_in_runs(np.array([3, 3, 5, 7, 7, 7])).tolist() == [0, 1, 0, 0, 1, 2]
    assert search.places_in_runs(np.zeros(0, np.int64)).tolist() == []


@pytest.mark.parametrize("bits, radius", [(3, 0), (8, 1), (8, 3), (11, 2), (16, 1), (16, 2)])
def test_the_planners_candidate_count_is_the_sum_over_probes(bits: int, radius: int) -> None:
    """The planner counts a chunk's candidates through an XOR convolution (few probes: one gather each);
    either way, each key's count is the sum of its buckets' sizes over the probes, written out here."""
    from imagetwins.search.multi_index import _patterns, _xor_sums

    rng = np.random.default_rng(bits * 10 + radius)
    counts = rng.integers(0, 1000, 1 << bits) * (rng.random(1 << bits) < 0.3)
    probes = _patterns(bits, radius)
    idx = np.arange(1 << bits)
    want = np.zeros(1 << bits, np.int64)
    for p in probes.tolist():
        want += counts[idx ^ p]
    assert np.array_equal(_xor_sums(counts, probes), want)
