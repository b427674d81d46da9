"""The main job, end to end: folder -> decoded images -> hashes -> pairs -> duplicate groups.

This is what the CLI runs and what a program calls when it wants groups rather than imagededup's
per-file dictionaries.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from imagetwins import hashing
from imagetwins.embedding import CNN_METHOD, cnn_embedder
from imagetwins.io import ReadFailure, find_images
from imagetwins.results import DuplicateGroup, FindResult, groups_from_encodings, result_from_pairs

__all__ = ["CNN_METHOD", "DuplicateGroup", "Encoded", "FindResult", "encode", "find_duplicate_groups",
           "groups_from_encodings", "result_from_pairs"]

if TYPE_CHECKING:
    from imagetwins.index import Index


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
        cache.update(paths, recursive=recursive, workers=workers, progress=progress, methods=[method])
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


