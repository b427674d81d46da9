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
from imagetwins.embedding import CNN_DEFAULT_SIMILARITY, cnn_embedder
from imagetwins.io import ReadFailure, find_images

#: the CNN method's name where a method name is expected (see ``embedding.cnn_embedder``)
CNN_METHOD = "cnn"

if TYPE_CHECKING:
    from imagetwins.index import Index


@dataclass
class DuplicateGroup:
    """Files that are duplicates of each other (connected by matches within the threshold)."""

    files: list[str]
    max_distance: int  # largest Hamming distance of a match in the group (0 for CNN groups)
    exact: bool  # every file in the group is byte-identical
    min_similarity: float | None = None  # CNN groups: lowest cosine similarity of a match


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
                {"files": g.files, "max_distance": g.max_distance, "exact": g.exact,
                 **({"min_similarity": round(g.min_similarity, 4)} if g.min_similarity is not None else {})}
                for g in self.groups
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
        flipped and rotated copies); or ``cnn`` for CNN embeddings (8 orientations, cosine similarity,
        about 10x slower, also finds crops and small rotations).
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
        result = groups_from_encodings(shown, hashes, cache.digests(names), method, threshold, workers, progress)
        result.failures = [ReadFailure(os.path.join(os.fspath(paths), os.path.relpath(p, real)), r)
                           for p, r in cache.errors(paths)]
    else:
        files = find_images(Path(paths), recursive=recursive) if is_folder else [Path(p) for p in paths]
        enc = encode(files, method, workers=workers, progress=progress)
        result = groups_from_encodings(enc.paths, enc.encodings, enc.digests, method, threshold, workers, progress)
        result.failures = enc.failures
    result.seconds = time.perf_counter() - start
    return result


@dataclass
class Encoded:
    """Files encoded with one method: hashes (uint64) or CNN vectors (float32), in ``paths`` order."""

    paths: list[str]
    encodings: np.ndarray
    digests: list[str]
    failures: list[ReadFailure]


def encode(files: Sequence[str | os.PathLike], method: str = "phash", workers: int | None = None,
           progress: bool = False) -> Encoded:
    """Encode files with a hash method, or with the CNN (``'cnn'``: 8 orientations), on ``workers`` threads."""
    if method == CNN_METHOD:
        emb = cnn_embedder(threads=workers).embed_files(files, workers=workers, progress=progress, warn=False)
        return Encoded(emb.paths, emb.vectors, emb.digests, emb.failures)
    enc = hashing.hash_files(files, methods=(method,), workers=workers, progress=progress, warn=False)
    return Encoded(enc.paths, enc.hashes[method], enc.digests, enc.failures)


def groups_from_encodings(
    paths: Sequence[str],
    hashes: np.ndarray,
    digests: Sequence[str],
    method: str = "phash",
    threshold: int | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> FindResult:
    """Search encodings already made (by :func:`imagetwins.hashing.hash_files` or an index) for groups.

    Byte-identical files (equal ``digests``) are always grouped, whatever the threshold.
    """
    is_cnn = method == CNN_METHOD
    if threshold is None:
        threshold = CNN_DEFAULT_SIMILARITY if is_cnn else hashing.get_method(method).default_threshold
    paths = list(paths)
    if is_cnn:
        pairs = (search.cosine_pairs(hashes, threshold, progress=progress) if len(paths)
                 else search.Pairs.empty(np.float32))
    else:
        pairs = search.method_pairs(hashes, method, threshold, workers=workers, progress=progress)
    return result_from_pairs(paths, hashes, digests, pairs, method, threshold)


def result_from_pairs(paths: Sequence[str], encodings: np.ndarray, digests: Sequence[str], pairs: search.Pairs,
                      method: str, threshold: float) -> FindResult:
    """Groups from matches found on one machine or on a cluster, byte-identical files added."""
    is_cnn = method == CNN_METHOD
    paths = list(paths)
    # Byte-identical files hash alike, so they are already among the pairs; the digest pass adds the
    # "exact" label and keeps them grouped even at threshold 0 under any future hash.
    exact = search.equal_key_pairs([d or f"unknown:{i}" for i, d in enumerate(digests)])
    if is_cnn:
        exact = search.Pairs(exact.left, exact.right, np.ones(len(exact), np.float32))
    merged = _union_pairs(pairs, exact)
    n = len(paths)
    labels = search.connected_components(n, merged.left, merged.right)
    # the weakest match inside each group (not its diameter, which may be weaker)
    if is_cnn:
        group_score = np.ones(n, dtype=np.float64)
        np.minimum.at(group_score, labels[merged.left], merged.distance.astype(np.float64))
    else:
        group_score = np.zeros(n, dtype=np.float64)
        np.maximum.at(group_score, labels[merged.left], merged.distance.astype(np.float64))
    groups = []
    for members in search.groups_from_labels(labels):
        same_bytes = len({digests[i] for i in members}) == 1 and bool(digests[members[0]])
        score = float(group_score[labels[members[0]]])
        groups.append(DuplicateGroup([paths[i] for i in members], 0 if is_cnn else int(score), same_bytes,
                                     score if is_cnn else None))
    return FindResult(method, threshold, paths, encodings, merged, groups)


def _union_pairs(a: search.Pairs, b: search.Pairs) -> search.Pairs:
    if not len(b):
        return a
    both = search.Pairs.concat([a, b])
    key = both.left * (int(both.right.max(initial=0)) + 1) + both.right
    _, first = np.unique(key, return_index=True)
    return search.Pairs(both.left[first], both.right[first], both.distance[first])
