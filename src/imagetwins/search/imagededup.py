"""imagededup's result shapes: ``{name: [matches]}`` and its rule for the files to remove."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from imagetwins.search.pairs import Pairs

__all__ = ["duplicate_map", "files_to_remove"]


def duplicate_map(
    names: Sequence[str], pairs: Pairs, scores: bool = False, larger_is_closer: bool | None = None
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
    larger_is_closer : bool, optional
        Sort scores descending (similarities); default from ``pairs.kind``.

    Returns
    -------
    dict
        Ties keep the input order of ``names``.
    """
    if larger_is_closer is None:
        larger_is_closer = pairs.kind.larger_is_closer
    n = len(names)
    src = np.concatenate([pairs.left, pairs.right])
    dst = np.concatenate([pairs.right, pairs.left])
    dist = np.concatenate([pairs.score, pairs.score])
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
