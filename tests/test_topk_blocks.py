"""cosine_topk's blocked selection (only a block's similarities beating a list's k-th best are sorted in) against a
brute-force top-k over the same products, ties included; search.cells against np.nonzero; scores.stored_scores
against stored_score pair by pair."""

from __future__ import annotations

import numpy as np
import pytest

from imagetwins import search
from imagetwins.scores import stored_score, stored_scores
from imagetwins.search import cosine

pytestmark = pytest.mark.unit


def _brute_topk(q: np.ndarray, db: np.ndarray, k: int, exclude_self: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each query's k best by similarity, then lower index, from the products made in the search's own blocks (a
    product's last bit depends on its shape)."""
    q32, d32 = np.asarray(q, np.float32), np.asarray(db, np.float32)
    sim = np.empty((len(q), len(db)), np.float32)
    for c in range(0, len(db), cosine.TOPK_COLS):
        block = np.ascontiguousarray(d32[c:c + cosine.TOPK_COLS])
        for a in range(0, len(q), cosine.TOPK_ROWS):
            sim[a:a + cosine.TOPK_ROWS, c:c + cosine.TOPK_COLS] = q32[a:a + cosine.TOPK_ROWS] @ block.T
    if exclude_self:
        np.fill_diagonal(sim, -np.inf)
    order = np.lexsort((np.broadcast_to(np.arange(len(db)), sim.shape), -sim), axis=1)[:, :k]
    return order, np.take_along_axis(sim, order, axis=1)


@pytest.mark.parametrize("blocks", [(512, 4096), (5, 7), (3, 64)])
def test_topk_equals_brute_force_ties_included(monkeypatch, blocks) -> None:
    monkeypatch.setattr(cosine, "TOPK_ROWS", blocks[0])
    monkeypatch.setattr(cosine, "TOPK_COLS", blocks[1])
    rng = np.random.default_rng(7)
    for trial in range(24):
        n, d, k = int(rng.integers(2, 400)), int(rng.integers(1, 24)), int(rng.integers(1, 40))
        x = rng.standard_normal((n, d)).astype(np.float32)
        if trial % 3 == 0:
            x = np.round(x)  # many equal similarities
        if trial % 2:
            x = x.astype(np.float16)
        exclude = trial % 4 == 1
        q = x if exclude else x[rng.integers(0, n, int(rng.integers(1, 300)))]
        seen: list[int] = []
        idx, sims = cosine.cosine_topk(q, x, k, exclude_self=exclude,
                                       each_block=lambda a, c, s, seen=seen: seen.append(s.size))
        want_idx, want_sims = _brute_topk(q, x, min(k, n - exclude), exclude)
        np.testing.assert_array_equal(sims, want_sims)
        np.testing.assert_array_equal(idx, want_idx)
        assert sum(seen) == len(q) * n  # every product shown to each_block once


def test_topk_not_finite_vectors_last() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 8)).astype(np.float32)
    x[3] = np.nan
    idx, sims = cosine.cosine_topk(x, x, 5, exclude_self=True)
    assert (idx >= 0).all() and (idx != np.arange(50)[:, None]).all()
    assert 3 not in idx[0] and np.isfinite(sims[0]).all()


def test_cells_are_nonzero() -> None:
    rng = np.random.default_rng(2)
    for shape in [(0, 5), (5, 0), (1, 1), (37, 91), (512, 4096)]:
        mask = rng.random(shape) < 0.01
        for got, want in zip(search.cells(mask), np.nonzero(mask)):
            np.testing.assert_array_equal(got, want)


def test_stored_scores_as_stored_score() -> None:
    rng = np.random.default_rng(3)
    conf = rng.choice([np.nan, 0.0, -0.0, 0.3, 1.0, 0.92], 5000)
    marks = rng.integers(0, 4, 5000).astype(np.uint8)
    want = np.array([stored_score(c, m) for c, m in zip(conf.tolist(), marks.tolist())])
    got = stored_scores(conf, marks)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def test_packed_lexsort_is_lexsort() -> None:
    _lexsort = search.lexsort_ints
    rng = np.random.default_rng(4)
    for _ in range(100):
        n = int(rng.integers(0, 2000))
        keys = tuple(rng.integers(0, int(rng.choice([2, 7, 100, 5000])), n) for _ in range(4))
        np.testing.assert_array_equal(_lexsort(keys), np.lexsort(keys))
    wide = tuple(rng.integers(0, 2**40, 500) for _ in range(3))  # (bits that do not fit: np.lexsort itself)
    np.testing.assert_array_equal(_lexsort(wide), np.lexsort(wide))
    signed = (rng.integers(-5, 5, 300), rng.integers(0, 5, 300))
    np.testing.assert_array_equal(_lexsort(signed), np.lexsort(signed))
