"""The main job, end to end: folder -> decoded images -> hashes -> pairs -> duplicate groups.

This is what the CLI runs and what a program calls when it wants groups rather than imagededup's
per-file dictionaries.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from imagetwins import search
from imagetwins.encoders import Encoded, Encoder, get_encoder
from imagetwins.io import ReadFailure, find_images
from imagetwins.results import DuplicateGroup, FindResult, groups_from_encodings, result_from_pairs

__all__ = ["DuplicateGroup", "Encoded", "FindResult", "encode", "find_duplicate_groups", "find_duplicates_map",
           "groups_from_encodings", "result_from_pairs"]

if TYPE_CHECKING:
    from imagetwins.index import Index


def find_duplicate_groups(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    method: str | Encoder = "phash",
    threshold: float | None = None,
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
    method : str or Encoder
        A registered method (:func:`imagetwins.encoders.encoder_names`): ``phash``, ``ahash``, ``dhash``,
        ``whash``, ``dihedral`` (256 bits, matches flipped and rotated copies), or the CNN (8 orientations,
        cosine similarity, about 10x slower, also finds crops and small rotations).
    threshold : int or float, optional
        Largest Hamming distance (hashes) or smallest cosine similarity (vectors) that counts as a
        duplicate; default: the method's.
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


def encode(files: Sequence[str | os.PathLike], method: str | Encoder = "phash", workers: int | None = None,
           progress: bool = False) -> Encoded:
    """Encode files with a registered method (see :mod:`imagetwins.encoders`) on ``workers`` threads."""
    return get_encoder(method).encode_files(files, workers=workers, progress=progress, warn=False)


def find_duplicates_map(image_dir: str | os.PathLike, method: str | Encoder = "phash", threshold: float | None = None,
                        recursive: bool = False, workers: int | None = None) -> dict[str, list[tuple[str, float]]]:
    """imagededup's shape for any registered method: every file -> ``[(match, score), ...]``, closest first.

    Names are relative to ``image_dir`` (what :func:`imagetwins.report.plot_duplicates` takes).
    """
    encoder = get_encoder(method)
    result = find_duplicate_groups(image_dir, encoder, threshold, recursive=recursive, workers=workers)
    names = [os.path.relpath(p, image_dir) for p in result.files]
    return search.duplicate_map(names, result.pairs, scores=True)
