"""The copies method's group completion (``copies._unchecked_to_hubs``): which pairs a group of copies adds to the
checks, and that its cost stays bounded (no datasets: vectors made here)."""

from __future__ import annotations

import numpy as np
import pytest

from imagetwins import copies

pytestmark = pytest.mark.unit


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_each_copy_is_paired_with_the_groups_centre_and_nothing_else_is_added() -> None:
    rng = np.random.default_rng(0)
    centre = rng.normal(size=(1, 64))
    # row 0: the picture; rows 1-9: copies, each moved away from it in its own direction; 10-11: a pair; 12: alone
    group = centre + np.vstack([np.zeros((1, 64)), rng.normal(scale=0.6, size=(9, 64))])
    vectors = _unit(np.vstack([group[[3, 1, 2, 0, 4, 5, 6, 7, 8, 9]], rng.normal(size=(3, 64))]))
    # matches found: a chain through the copies (row 3 holds the picture), and the pair 10-11
    left = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 10])
    right = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 11])
    known = set(zip(left.tolist(), right.tolist()))
    before = set(known)
    more_l, more_r = copies._unchecked_to_hubs(vectors, left, right, known, hubs=1)
    pairs = set(zip(more_l.tolist(), more_r.tolist()))
    assert all(3 in p for p in pairs)  # the centre of the group is its picture
    assert {i for p in pairs for i in p} | {2, 4} == set(range(10))  # every copy not yet checked against it
    assert not pairs & before and pairs <= known  # nothing checked twice; the new pairs are now known
    assert all(a < b for a, b in pairs)
    # more hubs: at most that many checks per grouped image, none for the pair or the image alone
    known = set(before)
    more_l, more_r = copies._unchecked_to_hubs(vectors, left, right, known, hubs=copies.TOP_K)
    assert len(more_l) <= copies.TOP_K * 10
    assert not ({10, 11, 12} & (set(more_l.tolist()) | set(more_r.tolist())))


def test_no_matches_add_no_checks() -> None:
    vectors = _unit(np.random.default_rng(1).normal(size=(5, 16)))
    e = np.empty(0, np.int64)
    more_l, more_r = copies._unchecked_to_hubs(vectors, e, e, set(), hubs=copies.TOP_K)
    assert len(more_l) == len(more_r) == 0
