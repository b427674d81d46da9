"""Pairs into duplicate groups: byte-identical keys, connected components, groups largest first."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from imagetwins.search.pairs import Pairs

__all__ = ["connected_components", "equal_key_pairs", "first_of_equal_keys", "first_of_equal_rows",
           "groups_from_labels", "groups_from_pairs", "lexsort_ints", "places_in_runs"]


def first_of_equal_rows(rows: np.ndarray) -> np.ndarray | None:
    """For each row of an array, the index of the first row with exactly the same bytes; None when all differ."""
    arr = np.ascontiguousarray(rows)
    if len(arr) < 2:
        return None
    flat = arr.reshape(len(arr), -1)
    keys = flat.view(np.dtype((np.void, flat.dtype.itemsize * flat.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    if len(first) == len(arr):
        return None
    return first[inverse.ravel()].astype(np.int64)


def first_of_equal_keys(keys: Sequence[str]) -> np.ndarray | None:
    """:func:`first_of_equal_rows` by key (e.g. content digests; an empty key is like no other); None when all
    differ."""
    first: dict[str, int] = {}
    same_as = np.array([first.setdefault(k, i) if k else i for i, k in enumerate(keys)], np.int64)
    return None if len(first) == len(same_as) or (same_as == np.arange(len(same_as))).all() else same_as


def equal_key_pairs(keys: Sequence[str]) -> Pairs:
    """Pairs ``i < j`` whose keys are equal (e.g. content digests: byte-identical files), ``i`` the first of its
    key; an empty key (None, "": not known) is like no other."""
    first: dict[str, int] = {}
    left, right = [], []
    for j, k in enumerate(keys):
        if not k:
            continue
        i = first.setdefault(k, j)
        if i != j:
            left.append(i)
            right.append(j)
    n = len(left)
    return Pairs(np.array(left, np.int64), np.array(right, np.int64), np.zeros(n, np.uint8))


def places_in_runs(keys: np.ndarray) -> np.ndarray:
    """Each entry's place in its run of equal ``keys`` (sorted, or grouped: 0 for a run's first entry, then 1, 2 ...),
    e.g. to keep each row's first ``k`` entries: ``entries[places_in_runs(rows) < k]``."""
    if not len(keys):
        return np.zeros(0, np.int64)
    start = np.r_[0, np.flatnonzero(keys[1:] != keys[:-1]) + 1]
    return np.arange(len(keys)) - np.repeat(start, np.diff(np.r_[start, len(keys)]))


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
    # (only the runs of two or more cut out: np.split made an array of each of 100,000 single nodes, ~0.4 CPU s)
    starts, ends = np.r_[0, cuts], np.r_[cuts, len(order)]
    groups = [order[a:b] for a, b in zip(starts.tolist(), ends.tolist()) if b - a > 1]
    groups.sort(key=lambda g: (-len(g), g[0]))
    return groups


def lexsort_ints(keys: tuple[np.ndarray, ...]) -> np.ndarray:
    """``np.lexsort(keys)`` (the last key first) of integer keys, through one int64 key where they are all
    non-negative and their bits fit in 63: the same order (a stable sort of keys that are equal only where every key
    is), ~3.5x faster (1,080,101 hash pairs at 101,000 + 1,000 new: 0.75 -> 0.21 CPU s a sort, two a search)."""
    n = len(keys[0])
    if not n or any(np.asarray(k).dtype.kind not in "iub" for k in keys):
        return np.lexsort(keys)
    if any(int(k.min()) < 0 for k in keys):
        return np.lexsort(keys)
    widths = [int(k.max()).bit_length() for k in keys]
    if sum(widths) > 63:
        return np.lexsort(keys)
    packed = np.zeros(n, np.int64)
    for k, w in zip(reversed(keys), reversed(widths)):  # (the first sort key in the highest bits)
        packed <<= w
        packed |= k.astype(np.int64)
    return np.argsort(packed, kind="stable")
