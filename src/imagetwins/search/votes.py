"""Image pairs that share binary descriptors: a vote search over hash tables of descriptor bits.

Each image contributes entries (binary descriptors, 32 bytes); some of them are *queries*. The 32 bytes of a
descriptor are cut into ``tables`` keys of ``32 / tables`` bytes (a fixed random partition, so a pair of
descriptors within ``tables - 1`` bits of each other shares a key in at least one table). A query entry *votes* for
another image when one of its keys equals a key of one of that image's entries (a vote per query entry and image,
however many tables agree); an image pair's count is the votes either image's queries gave the other.

A bucket (entries sharing a key in a table) is compared pair by pair only up to ``crowd`` entries: in a larger one
(a crowd of look-alikes, a texture that every photo has) each entry is compared with the bucket's first ``crowd``
entries only, the bucket ordered by the images' ``priority`` (a number the caller derives from the image's
content). So a bucket of ``s`` entries costs at most ``s * crowd`` comparisons, not ``s * s``, and the votes that a
crowd sends go to the same few images of it in every bucket (the answer depends on the set of images, never on
their order: a search of the same images in another order gives the same counts).

Nothing here knows about methods, files or images: callers pass arrays.
"""

from __future__ import annotations

import numpy as np

__all__ = ["descriptor_votes", "table_keys"]


def table_keys(descriptors: np.ndarray, tables: int = 8, seed: int = 7) -> np.ndarray:
    """(E, tables) uint32 keys of (E, 32) uint8 descriptors: each table's bytes of a fixed random partition of the
    32 bytes (``seed``), ``32 // tables`` bytes a key (8 tables: 32 bits each; 8, 16 or 32 tables)."""
    descriptors = np.ascontiguousarray(descriptors, np.uint8)
    if descriptors.ndim != 2 or descriptors.shape[1] != 32:
        raise ValueError("descriptors must be (E, 32) uint8")
    if tables not in (8, 16, 32):
        raise ValueError(f"{tables} tables of a 256-bit descriptor: 8, 16 or 32")
    perm = np.random.default_rng(seed).permutation(32)
    shuffled = np.ascontiguousarray(descriptors[:, perm])
    return shuffled.view({8: "<u4", 16: "<u2", 32: "u1"}[tables]).astype(np.uint32)


def descriptor_votes(descriptors: np.ndarray, owner: np.ndarray, is_query: np.ndarray, priority: np.ndarray,
                     tables: int = 8, crowd: int = 32, seed: int = 7, budget: float | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image pairs with a vote and their counts (see the module docstring): ``(left, right, count)``, ``left <
    right``, sorted by ``left * images + right``.

    Parameters
    ----------
    descriptors : (E, 32) uint8
        The entries.
    owner : (E,) int
        The image of each entry (0 ... images - 1).
    is_query : (E,) bool
        Whether an entry votes (others are only voted for).
    priority : (images,) uint64
        The order of images within a crowded bucket (lowest first; ties by image number): derived from each
        image's content, so that the images compared in a crowd are the same whatever the images' order.
    tables, crowd, seed
        Keys per descriptor, the most entries of a bucket compared pair by pair, the partition of the bits.
    budget
        The most entry pairs a table compares, per entry (None: no limit): where ``crowd`` would compare more, the
        table's crowd is halved until it does not (down to 1: each entry against its bucket's first, at most one
        comparison an entry). So the cost grows linearly with the entries however many collide; the crowd each
        table takes is a function of the set of keys alone (the answer still does not depend on the order).
    """
    owner = np.asarray(owner, np.int64)
    is_query = np.asarray(is_query, bool)
    priority = np.asarray(priority, np.uint64)
    e = np.empty(0, np.int64)
    images = len(priority)
    if len(owner) < 2 or images < 2:
        return e, e, e
    keys = table_keys(descriptors, tables, seed)
    # within a bucket, entries by their image's priority, then image, then entry: a stable order of the content
    rank = np.empty(images, np.int64)
    rank[np.lexsort((np.arange(images), priority))] = np.arange(images)
    entry_rank = rank[owner]
    votes = []
    for t in range(tables):
        order = np.argsort((keys[:, t].astype(np.int64) << 32) | entry_rank, kind="stable")
        k = keys[order, t]
        new = np.r_[True, k[1:] != k[:-1]]
        start = np.flatnonzero(new)
        size = np.diff(np.r_[start, len(k)])
        place = np.arange(len(k)) - np.repeat(start, size)  # an entry's place in its bucket
        # each entry against the entries before it in its bucket, at most the first `c` of them
        c = _table_crowd(size, crowd, None if budget is None else budget * len(k))
        width = np.minimum(place, c)
        total = int(width.sum())
        if not total:
            continue
        a = np.repeat(np.arange(len(k)), width)  # (sorted positions)
        c = np.repeat(np.repeat(start, size), width) + (np.arange(total) - np.repeat(np.cumsum(width) - width, width))
        a, c = order[a], order[c]
        other = owner[a] != owner[c]
        a, c = a[other], c[other]
        qa, qc = is_query[a], is_query[c]
        # a vote: (query entry, the other image)
        votes.append(_distinct(np.concatenate([a[qa] * images + owner[c[qa]], c[qc] * images + owner[a[qc]]])))
    if not votes:
        return e, e, e
    unique = _distinct(np.concatenate(votes))  # a query entry votes for an image once, however many tables agree
    i, j = owner[unique // images], unique % images
    pairs = np.sort(np.minimum(i, j) * images + np.maximum(i, j))
    start = np.flatnonzero(np.r_[True, pairs[1:] != pairs[:-1]]) if len(pairs) else e
    count = np.diff(np.r_[start, len(pairs)])
    pairs = pairs[start]
    return pairs // images, pairs % images, count.astype(np.int64)


def _table_crowd(size: np.ndarray, crowd: int, most: float | None) -> int:
    """The largest of ``crowd``, ``crowd // 2``, ... 1 whose comparisons in buckets of ``size`` entries are at most
    ``most`` (None: ``crowd``)."""
    size = size.astype(np.int64)
    c = max(1, int(crowd))
    while most is not None and c > 1:
        compared = int(np.where(size > c, c * (c - 1) // 2 + (size - c) * c, size * (size - 1) // 2).sum())
        if compared <= most:
            break
        c //= 2
    return c


def _distinct(keys: np.ndarray) -> np.ndarray:
    """The distinct values of ``keys``, sorted (by sorting: numpy's hashed unique took minutes on the regular keys
    of a crowd, ``entry * images + image``)."""
    keys = np.sort(keys)
    return keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys
