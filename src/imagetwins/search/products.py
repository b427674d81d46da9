"""Exact Hamming search of wide hashes (256-bit dihedral hashes) through an 8-bit integer matrix product.

The query hashes' bits as -1/+1 times the database hashes' bits as 0/1 give, for each pair, minus their Hamming
distance up to a constant of the query row (:mod:`imagetwins.matching`, whose onnxruntime graph computes the product
for the ratio test): a pair is within ``threshold`` where the product is at least that row's bit count less the
threshold. Integers throughout, so the pairs and distances are those of the XOR and popcount scan
(:class:`~imagetwins.search.hamming.BlockScanner`), found in a fraction of its time: the search of 1,000 new rows' 8
orientations against 20,000 random hashes 3.0 -> 1.3 CPU s on the 2-core machine under load. Where onnxruntime
cannot run the graph, :func:`within_by_products` answers None and the caller scans.
"""

from __future__ import annotations

import numpy as np

from imagetwins import matching
from imagetwins.search.pairs import Pairs, cells, run_blocks

__all__ = ["PRODUCT_MIN", "within_by_products"]

#: query rows and database rows of one product: 512 x 4,096 int32 scores (8 MB a thread)
ROWS, COLUMNS = 512, 4096
#: pairs to compare below which the scan is used (the product's set-up, ~1 ms, is not worth it)
PRODUCT_MIN = 1 << 20


def _as_bytes(words: np.ndarray) -> np.ndarray:
    """(N, W) uint64 -> (N, 8 W) uint8: the same bits (a Hamming distance does not depend on their order)."""
    return np.ascontiguousarray(words).view(np.uint8).reshape(len(words), -1)


def within_by_products(rows: np.ndarray, cols: np.ndarray, threshold: int, workers: int,
                       group: int | None = None, progress: bool = False) -> Pairs | None:
    """Every ``(row, col)`` whose hashes (``(N, 4)`` uint64 words each) are within ``threshold`` bits, with the
    distance (uint16, as the scan gives it), in no particular order; None where onnxruntime cannot compute it.
    ``group``: rows and columns are one set, row ``r`` being column ``r // group`` in one of ``group`` forms, and only
    the pairs with a later column are wanted (each unordered pair once, as the scan's ``triangle``)."""
    session = matching.session()
    if session is None:
        return None
    query = _as_bytes(rows)
    base = _as_bytes(cols)
    if query.shape[1] != 32 or base.shape[1] != 32:  # (the graph's width: 256 bits)
        return None
    # a row's pairs: product >= its bit count - threshold
    need = (np.bitwise_count(query).sum(axis=1, dtype=np.int32) - np.int32(threshold))[:, None]

    def scan(c0: int) -> Pairs:
        columns = matching.base_form(base[c0:c0 + COLUMNS])
        found = []
        # (with ``group``, rows whose column is at or after this block's last have no pair in it)
        last = len(query) if group is None else min(len(query), (c0 + len(columns) - 1) * group)
        for r0 in range(0, last, ROWS):
            # (the bits of a block of rows unpacked here, not all at once: memory stays a block's, whatever the rows)
            score = session.run(None, {"query": matching.query_form(query[r0:r0 + ROWS]), "base": columns})[0]
            near = score >= need[r0:r0 + ROWS]
            if not near.any():  # the common case: nothing close in this block
                continue
            ii, jj = cells(near)
            if group is not None:
                later = jj + c0 > (ii + r0) // group
                ii, jj = ii[later], jj[later]
            dist = (need[r0 + ii, 0] + np.int32(threshold) - score[ii, jj]).astype(np.uint16)
            found.append(Pairs((ii + r0).astype(np.int64), (jj + c0).astype(np.int64), dist))
        return Pairs.concat(found)

    return run_blocks(scan, list(range(0, len(base), COLUMNS)), workers, progress)
