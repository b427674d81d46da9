"""The 256-bit dihedral hash search through an integer matrix product (``imagetwins.search.products``): the very
pairs and distances of the XOR and popcount scan, so a search does not depend on which found them (issue #25: the
hash search of 1,000 new rows against 100,000 was ~11 CPU s of an incremental find)."""

from __future__ import annotations

import numpy as np
import pytest

from imagetwins import matching
from imagetwins.search import dihedral_pairs, dihedral_query, dihedral_variants, products
from imagetwins.search.dihedral import closest_per_pair
from imagetwins.search.hamming import BlockScanner
from imagetwins.search.pairs import Pairs

pytestmark = pytest.mark.unit


def _scanned(queries: np.ndarray, database: np.ndarray, threshold: int) -> Pairs:
    raw = BlockScanner(dihedral_variants(queries).reshape(-1, 4), database, threshold, triangle=False).run(2)
    return closest_per_pair(Pairs(raw.left // 8, raw.right, raw.score))


def _same(a: Pairs, b: Pairs) -> None:
    for name in ("left", "right", "score"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert getattr(a, name).dtype == getattr(b, name).dtype


def _hashes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2**63, (n, 4), dtype=np.int64).astype(np.uint64) ^ (
        rng.integers(0, 2, (n, 4), dtype=np.int64).astype(np.uint64) << np.uint64(63))


def test_the_product_finds_the_scans_pairs_and_distances() -> None:
    assert matching.session() is not None  # onnxruntime is a dependency: the product is the path tested
    rng = np.random.default_rng(0)
    # more rows and columns than one product takes (products.ROWS, COLUMNS), neither a multiple of them
    database = _hashes(rng, products.COLUMNS + 1234)
    queries = database[rng.choice(len(database), 90, replace=False)].copy()
    queries[:40] ^= np.uint64(1) << rng.integers(0, 64, (40, 4)).astype(np.uint64)  # near copies
    queries[40:50] = dihedral_variants(queries[40:50])[:, 5]  # turned copies: found in another orientation
    queries[50] = 0
    queries[51] = np.iinfo(np.uint64).max  # all bits: the largest bit count
    database[7] = queries[50]
    assert len(queries) * 8 * len(database) >= products.PRODUCT_MIN  # dihedral_query takes the product
    for threshold in (0, 4, 96, 104):
        want = _scanned(queries, database, threshold)
        assert len(want) > 0
        _same(dihedral_query(queries, database, threshold, 2), want)


def test_without_onnxruntime_the_scan_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    database = _hashes(rng, 3000)
    queries = database[:200] ^ np.uint64(3)
    want = _scanned(queries, database, 40)
    monkeypatch.setattr(matching, "_session", False)  # as where onnxruntime cannot run the graph
    assert products.within_by_products(dihedral_variants(queries).reshape(-1, 4), database, 40, 2) is None
    _same(dihedral_query(queries, database, 40, 2), want)


def test_all_pairs_of_one_set_through_the_product_are_the_scans() -> None:
    rng = np.random.default_rng(2)
    hashes = _hashes(rng, products.COLUMNS + 300)
    near = rng.choice(len(hashes), 120, replace=False)
    hashes[near[:60]] = hashes[near[60:]] ^ (np.uint64(1) << rng.integers(0, 64, (60, 4)).astype(np.uint64))
    hashes[near[100:110]] = dihedral_variants(hashes[near[110:120]])[:, 3]  # turned copies, later and earlier
    hashes[5] = hashes[4000] = 0
    assert 8 * len(hashes) * len(hashes) // 2 >= products.PRODUCT_MIN  # dihedral_pairs takes the product
    for threshold in (4, 96):
        raw = BlockScanner(dihedral_variants(hashes).reshape(-1, 4), hashes, threshold, triangle=True, group=8).run(2)
        want = closest_per_pair(Pairs(raw.left // 8, raw.right, raw.score))
        assert len(want) > 0
        _same(dihedral_pairs(hashes, threshold, 2), want)
