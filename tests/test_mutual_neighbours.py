"""The CNN proposal's later places (``copies.CNN_NEAR``, ``copies.CNN_MUTUAL``): an image's first neighbours are
proposed whatever their own lists say, the places after those only where the two are near from both sides (no
datasets: vectors made here)."""

from __future__ import annotations

import numpy as np
import pytest

from imagetwins import copies

pytestmark = pytest.mark.unit

DIM = copies.CNN_MUTUAL + 16


def _axis(k: int) -> np.ndarray:
    v = np.zeros(DIM)
    v[k] = 1.0
    return v


def _mixed(similarity: float, towards: np.ndarray, own: int) -> np.ndarray:
    """A unit vector at ``similarity`` to the unit vector ``towards``, the rest along axis ``own``."""
    return similarity * towards + np.sqrt(1 - similarity ** 2) * _axis(own)


def _library(look_alikes: int) -> tuple[np.ndarray, dict[str, int]]:
    """An original O with ``look_alikes`` images at 0.5 to it, a weak copy C of O (0.3: O is C's nearest, C is far
    down O's list), and an image Y whose two nearest are Z1 and Z2 (0.6) and whose third is O (0.35)."""
    o = _axis(0)
    rows = {"O": o}
    for k in range(look_alikes):
        rows[f"L{k}"] = _mixed(0.5, o, 1 + k)
    free = DIM - 4  # (axes of their own, after the look-alikes')
    rows["C"] = _mixed(0.3, o, free)
    y = _mixed(0.35, o, free + 1)
    rows["Y"] = y
    rows["Z1"] = _mixed(0.6, y, free + 2)
    rows["Z2"] = _mixed(0.6, y, free + 3)
    names = list(rows)
    vectors = np.stack([rows[n] for n in names]).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), {n: i for i, n in enumerate(names)}


def _proposed(vectors: np.ndarray) -> set[tuple[int, int]]:
    # hashes far apart (every pair beyond HASH_CANDIDATE): the CNN alone proposes
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2 ** 63, size=(len(vectors), 4), dtype=np.uint64)
    left, right, _ = copies.candidate_pairs(hashes, vectors, workers=1, hash_candidate=0)
    return set(zip(left.tolist(), right.tolist()))


def _pair(at: dict[str, int], a: str, b: str) -> tuple[int, int]:
    return min(at[a], at[b]), max(at[a], at[b])


def test_a_one_sided_later_place_is_not_proposed_and_a_copys_first_place_is() -> None:
    vectors, at = _library(look_alikes=copies.CNN_MUTUAL + 1)
    pairs = _proposed(vectors)
    # C lists O first: proposed, though O lists all its look-alikes and Y before it
    assert _pair(at, "O", "C") in pairs
    # Y lists O third; O does not list Y among its first CNN_MUTUAL (the look-alikes come first): not proposed
    assert copies.CNN_NEAR < 3 <= copies.TOP_K
    assert _pair(at, "O", "Y") not in pairs
    # Y's first places are proposed whatever Z1's and Z2's lists
    assert {_pair(at, "Y", "Z1"), _pair(at, "Y", "Z2")} <= pairs


def test_a_later_place_near_from_both_sides_is_proposed() -> None:
    # three look-alikes: O lists them, then Y, within CNN_MUTUAL; Y lists O third
    vectors, at = _library(look_alikes=3)
    assert _pair(at, "O", "Y") in _proposed(vectors)


def test_first_others_takes_later_places_only_from_both_sides() -> None:
    # row i is image i; lists of other images, similarities all over the bar
    lists = {0: [1, 2, 3, 4, 5, 6], 3: [7, 0, 8, 9, 10, 11], 4: [7, 8, 9, 10, 11, 12], 1: [9, 10, 11, 12, 13, 14],
             2: [13, 14, 9, 10, 11, 12]}
    rows = sorted(lists)
    owner = np.array(rows, np.int64)
    nb = np.array([lists[r] for r in rows], np.int32)
    sims = np.full(nb.shape, 0.5, np.float32)
    take = copies._first_others(owner, nb, sims, top_k=6, cnn_candidate=0.23)
    taken = {(int(owner[r]), int(nb[r, c])) for r, c in zip(*np.nonzero(take))}
    assert {(0, 1), (0, 2)} <= taken  # first places: whatever 1's and 2's lists say
    assert (0, 3) in taken  # 3 lists 0 second
    assert (0, 4) not in taken and (0, 5) not in taken  # 4 does not list 0; 5 has no list here
    assert (3, 0) in taken  # 0 lists 3 third: near from both sides
    # nothing under the bar, and no more than top_k a row
    sims[0, 1] = 0.1
    take = copies._first_others(owner, nb, sims, top_k=6, cnn_candidate=0.23)
    assert not take[0, 1] and take.sum(axis=1).max() <= 6
