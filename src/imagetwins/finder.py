"""The main job, end to end: folder -> decoded images -> hashes -> pairs -> duplicate groups.

This is what the CLI runs and what a program calls when it wants groups rather than imagededup's
per-file dictionaries.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from imagetwins import hashing, search
from imagetwins.io import ReadFailure, find_images

if TYPE_CHECKING:
    from imagetwins.index import Index


@dataclass
class DuplicateGroup:
    """Files that are duplicates of each other (connected by matches within the threshold)."""

    files: list[str]
    max_distance: int
    exact: bool  # every file in the group is byte-identical


@dataclass
class FindResult:
    """Outcome of :func:`find_duplicate_groups`."""

    method: str
    threshold: int
    files: list[str]
    hashes: np.ndarray
    pairs: search.Pairs
    groups: list[DuplicateGroup]
    failures: list[ReadFailure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def files_in_groups(self) -> int:
        return sum(len(g.files) for g in self.groups)

    def to_dict(self) -> dict:
        """Plain data for JSON output."""
        return {
            "method": self.method,
            "threshold": self.threshold,
            "images": len(self.files),
            "unreadable": [{"path": f.path, "reason": f.reason} for f in self.failures],
            "groups": [
                {"files": g.files, "max_distance": g.max_distance, "exact": g.exact} for g in self.groups
            ],
            "pairs": [
                {"a": self.files[i], "b": self.files[j], "distance": int(d)}
                for i, j, d in zip(self.pairs.left.tolist(), self.pairs.right.tolist(),
                                   self.pairs.distance.tolist())
            ],
            "seconds": round(self.seconds, 3),
        }


def find_duplicate_groups(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    method: str = "phash",
    threshold: int | None = None,
    recursive: bool = False,
    workers: int | None = None,
    progress: bool = False,
    cache: Index | None = None,
) -> FindResult:
    """Find groups of duplicate images in a folder or a list of files.

    Parameters
    ----------
    paths : path or sequence of paths
        A folder (scanned for image files) or explicit files.
    method : str
        Hash to use: ``phash``, ``ahash``, ``dhash``, ``whash`` or ``dihedral`` (256 bits, matches
        flipped and rotated copies).
    threshold : int, optional
        Largest Hamming distance that counts as a duplicate; default: the method's (10 for the 64-bit
        hashes).
    recursive : bool
        Scan sub-folders too.
    workers : int, optional
        Threads for decoding and search; default all CPUs.
    progress : bool
        Show progress bars.
    cache : imagetwins.index.Index, optional
        Keep encodings there: only new and changed files are decoded, then the search runs over the
        cached encodings of the folder.

    Returns
    -------
    FindResult
        Byte-identical files are always grouped, whatever the threshold.
    """
    start = time.perf_counter()
    is_folder = isinstance(paths, (str, os.PathLike))
    if cache is not None:
        if not is_folder:
            raise ValueError("a cache works on a folder; pass the folder rather than a list of files")
        cache.update(paths, recursive=recursive, workers=workers, progress=progress)
        names, hashes = cache.load(method, root=paths)
        # the index keeps resolved absolute paths; show them under the folder as the caller named it
        real = str(Path(paths).resolve())
        shown = [os.path.join(os.fspath(paths), os.path.relpath(n, real)) for n in names]
        result = groups_from_encodings(shown, hashes, cache.digests(names), method, threshold, workers)
        result.failures = [ReadFailure(os.path.join(os.fspath(paths), os.path.relpath(p, real)), r)
                           for p, r in cache.errors(paths)]
    else:
        files = find_images(Path(paths), recursive=recursive) if is_folder else [Path(p) for p in paths]
        enc = hashing.hash_files(files, methods=(method,), workers=workers, progress=progress, warn=False)
        result = groups_from_encodings(enc.paths, enc.hashes[method], enc.digests, method, threshold, workers)
        result.failures = enc.failures
    result.seconds = time.perf_counter() - start
    return result


def groups_from_encodings(
    paths: Sequence[str],
    hashes: np.ndarray,
    digests: Sequence[str],
    method: str = "phash",
    threshold: int | None = None,
    workers: int | None = None,
) -> FindResult:
    """Search encodings already made (by :func:`imagetwins.hashing.hash_files` or an index) for groups.

    Byte-identical files (equal ``digests``) are always grouped, whatever the threshold.
    """
    if threshold is None:
        threshold = hashing.get_method(method).default_threshold
    paths = list(paths)
    pairs = search.method_pairs(hashes, method, threshold, workers=workers)
    # Byte-identical files hash alike, so they are already among the pairs; the digest pass adds the
    # "exact" label and keeps them grouped even at threshold 0 under any future hash.
    merged = _union_pairs(pairs, search.equal_key_pairs([d or f"unknown:{i}" for i, d in enumerate(digests)]))
    n = len(paths)
    labels = search.connected_components(n, merged.left, merged.right)
    # the largest distance of a match inside each group (not its diameter, which may exceed it)
    group_max = np.zeros(n, dtype=np.int64)
    np.maximum.at(group_max, labels[merged.left], merged.distance.astype(np.int64))
    groups = []
    for members in search.groups_from_labels(labels):
        same_bytes = len({digests[i] for i in members}) == 1 and bool(digests[members[0]])
        groups.append(DuplicateGroup([paths[i] for i in members], int(group_max[labels[members[0]]]), same_bytes))
    return FindResult(method, threshold, paths, hashes, merged, groups)


def _union_pairs(a: search.Pairs, b: search.Pairs) -> search.Pairs:
    if not len(b):
        return a
    both = search.Pairs.concat([a, b])
    key = both.left * (int(both.right.max(initial=0)) + 1) + both.right
    _, first = np.unique(key, return_index=True)
    return search.Pairs(both.left[first], both.right[first], both.distance[first])
