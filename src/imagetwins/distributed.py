"""Scale out on a Dask cluster: encode partitions of the file list on the workers, search in blocks.

The file listing is cut into partitions of ``partition_size`` files. Each worker encodes whole
partitions, reading files where they are (local paths, or any fsspec URL such as ``s3://``). The
search then runs as one task per pair of partitions (i <= j): each task holds at most two blocks of
encodings, so no worker ever needs all of them; the pairs come back to the client, which forms the
groups. Results equal a single-machine run (``tests/test_distributed.py``). A task whose worker dies
is re-run elsewhere by Dask.

Install with ``pip install "imagetwins[dask]"``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from imagetwins import search
from imagetwins.encoders import Encoder, get_encoder
from imagetwins.encoding import encode_files
from imagetwins.io import DEFAULT_MAX_BYTES, ImageReadError, ReadFailure, read_bytes

if TYPE_CHECKING:
    from imagetwins.session import Session


def _is_url(path: str) -> bool:
    return "://" in path


def list_files(root: str | os.PathLike, recursive: bool = True, skipped: list | None = None) -> list[str]:
    """Image files under a local folder or an fsspec URL (``s3://bucket/photos``), sorted; local links,
    FIFOs and devices not listed go to ``skipped`` (see :func:`imagetwins.io.find_images`)."""
    root = os.fspath(root)
    if not _is_url(root):
        from imagetwins.io import find_images

        return [str(p) for p in find_images(root, recursive=recursive, skipped=skipped)]
    import fsspec

    from imagetwins.io import IMAGE_EXTENSIONS

    fs, _, (base,) = fsspec.get_fs_token_paths(root)
    found = fs.find(base) if recursive else fs.ls(base, detail=False)
    protocol = root.split("://", 1)[0]
    def wanted(p: str) -> bool:  # image suffix, and nothing hidden on the way (as find_images)
        rel = p[len(base):].lstrip("/")
        return (os.path.splitext(p)[1].lower() in IMAGE_EXTENSIONS
                and not any(part.startswith(".") for part in rel.split("/")))

    return sorted(f"{protocol}://{p}" if not str(p).startswith(protocol) else str(p) for p in map(str, found)
                  if wanted(p))


def _read(path: str) -> bytes:
    """Bytes of a local file (size-limited, as everywhere) or of an fsspec URL."""
    if not _is_url(path):
        return read_bytes(path)
    import fsspec

    with fsspec.open(path, "rb") as fh:
        data = fh.read(DEFAULT_MAX_BYTES + 1)
    if len(data) > DEFAULT_MAX_BYTES:
        raise ImageReadError(path, f"file too large (> limit {DEFAULT_MAX_BYTES:,} bytes)")
    return data


def encode_partition(paths: Sequence[str], method: str | Encoder) -> dict:
    """Encode one partition on a worker; unreadable files come back as failures, never as errors.

    Local paths and fsspec URLs alike go through the one encoding loop, on one thread: a worker
    process per core does the parallelism.
    """
    encoder = get_encoder(method).for_workers(1)
    enc = encode_files(paths, [encoder], workers=1, warn=False, read=_read)
    return {"paths": enc.paths, "encodings": enc.by_method[encoder.name], "digests": enc.digests,
            "failures": [(f.path, f.reason) for f in enc.failures]}


def _rows_of(part: dict | None, encoder: Encoder, rows: np.ndarray | None) -> dict | None:
    """The partition's rows at ``rows`` (local positions), or the partition itself (``rows`` None)."""
    if part is None or rows is None:
        return part
    paths = part.get("paths")
    return {"encodings": encoder.take(part["encodings"], rows),
            "paths": None if paths is None else [paths[i] for i in rows.tolist()]}


def search_block(a: dict, b: dict | None, method: str | Encoder, threshold: float, offset_a: int,
                 offset_b: int, rows_a: np.ndarray | None = None, rows_b: np.ndarray | None = None) -> tuple:
    """Pairs within one partition (``b`` None) or between two, in global indices: (left, right, score, marks), the
    marks None where the method gives none (:attr:`imagetwins.search.Pairs.marks`).

    A partition is :func:`encode_partition`'s dict, or a bare array of encodings. ``rows_a`` / ``rows_b``: the
    positions in each partition to search (the first file of each encoding; None: all).
    """
    encoder = get_encoder(method)
    a = a if isinstance(a, dict) else {"encodings": a}
    b = b if b is None or isinstance(b, dict) else {"encodings": b}
    a, b = _rows_of(a, encoder, rows_a), _rows_of(b, encoder, rows_b)
    if b is None:
        pairs = encoder.pairs(a["encodings"], threshold, workers=1, paths=a.get("paths"))
    else:
        pairs = encoder.query(a["encodings"], b["encodings"], threshold, workers=1, query_paths=a.get("paths"),
                              database_paths=b.get("paths"))
    left, right = pairs.left, pairs.right
    if rows_a is not None:
        left = rows_a[left]
        right = rows_a[right] if b is None else right
    if rows_b is not None and b is not None:
        right = rows_b[right]
    other = offset_a if b is None else offset_b
    return left + offset_a, right + other, pairs.score, pairs.marks


def _search_blocks(client, encoded: list, offsets: np.ndarray, method: str | Encoder, threshold: float,
                   rows: list | None = None) -> list:
    """One task per pair of partitions i <= j; each holds at most two blocks of encodings. ``rows``: per partition
    the positions to search (None: all)."""
    rows = rows or [None] * len(encoded)
    blocks = []
    for i in range(len(encoded)):
        for j in range(i, len(encoded)):
            if rows[i] is not None and not len(rows[i]) or rows[j] is not None and not len(rows[j]):
                continue  # (a partition whose files all share earlier files' encodings)
            blocks.append(client.submit(search_block, encoded[i], None if i == j else encoded[j], method,
                                        threshold, int(offsets[i]), int(offsets[j]), rows[i],
                                        None if i == j else rows[j], pure=False))
    return client.gather(blocks)


def pairs_dask(encodings: np.ndarray, method: str | Encoder = "phash", threshold: float | None = None, client=None,
               partition_size: int = 250_000) -> search.Pairs:
    """All matching pairs of encodings already made (hashes or vectors), searched in blocks on the cluster."""
    from distributed import get_client

    client = client or get_client()
    encoder = get_encoder(method)
    threshold = encoder.threshold_or_default(threshold)
    parts = [encodings[i:i + partition_size] for i in range(0, len(encodings), partition_size)]
    encoded = client.scatter(parts)
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(int)
    return _gather_pairs(_search_blocks(client, encoded, offsets, encoder, threshold), encoder)


def _gather_pairs(results: list, encoder: Encoder) -> search.Pairs:
    """The blocks' pairs as one sorted :class:`~imagetwins.search.Pairs` (scores as floats or bit counts)."""
    kind = encoder.kind
    dtype = kind.dtype
    pairs = search.Pairs.concat([search.Pairs(np.asarray(a, np.int64), np.asarray(b, np.int64),
                                              np.asarray(d).astype(dtype), kind, m) for a, b, d, m in results])
    return pairs.sorted() if len(pairs) else search.Pairs.empty(dtype, kind)


def find_duplicates_dask(
    root: str | os.PathLike | Sequence[str],
    method: str | Encoder = "phash",
    threshold: float | None = None,
    client=None,
    partition_size: int = 2000,
    recursive: bool = True,
    session: Session | None = None,
):
    """Find duplicate groups with the encoding and the search spread over a Dask cluster.

    Parameters
    ----------
    root : path, URL, or list of them
        A folder or fsspec URL (scanned for images), or explicit files.
    method : str or Encoder
        A registered method (:mod:`imagetwins.encoders`). The encoder itself is sent to the workers,
        so a method registered only in this process works there too.
    threshold : number, optional
        Hamming distance for hashes, cosine similarity for vector methods; default the method's.
    client : distributed.Client, optional
        Default: the current client (``distributed.get_client()``).
    partition_size : int
        Files per partition (one encoding task; the search holds two partitions per task).
    session : Session, optional
        The run's session (:func:`imagetwins.open_session`): its progress (``True``, or a caller's tqdm-like
        bar: advanced by the files of each partition as it is encoded on the cluster), and, when there is no
        ``client`` and no current one, its workers as the processes of a local cluster made for this run.

    Returns
    -------
    imagetwins.finder.FindResult
    """
    from distributed import get_client

    start = time.perf_counter()
    own = None
    if client is None and session is not None:
        try:
            client = get_client()
        except ValueError:  # no cluster yet: one on this machine, the session's workers as its processes
            client = own = local_client(session.workers or 2)
    try:
        return _find_on(client or get_client(), root, method, threshold, partition_size, recursive, session, start)
    finally:
        if own is not None:
            own.close()
            own.cluster.close()


def _find_on(client, root, method, threshold, partition_size, recursive, session, start):
    from imagetwins.results import result_from_pairs

    encoder = get_encoder(method)
    threshold = encoder.threshold_or_default(threshold)
    skipped: list[ReadFailure] = []
    files = (list_files(root, recursive, skipped) if isinstance(root, (str, os.PathLike))
             else [os.fspath(p) for p in root])
    parts = [files[i:i + partition_size] for i in range(0, len(files), partition_size)]
    encoded = client.map(encode_partition, parts, method=encoder, pure=False)
    # sizes are needed for global offsets; the encodings themselves stay on the workers
    counted = client.map(lambda e: len(e["paths"]), encoded)
    _follow(counted, [len(p) for p in parts], session.progress if session is not None else False)
    sizes = client.gather(counted)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    meta = client.gather(client.map(lambda e: (e["paths"], e["digests"], e["failures"], e["encodings"]), encoded))
    paths = [p for m in meta for p in m[0]]
    digests = [d for m in meta for d in m[1]]
    failures = [ReadFailure(p, r) for m in meta for p, r in m[2]]
    # the encodings come back too, so the result is the one a local run gives (the review page's score table
    # re-scores every pair of a group from them)
    encodings = encoder.concat([m[3] for m in meta if len(m[3])])
    # files encoded alike (byte copies; for copies the same pixels saved with other bytes) are searched once, as a
    # local run searches them (2,000 of them were 2 million pairs gathered to the client), joined as a star
    same_as = encoder.same_rows(encodings, digests) if len(paths) else None
    rows = None
    if same_as is not None:
        first = same_as == np.arange(len(paths))
        rows = [np.flatnonzero(first[offsets[i]:offsets[i + 1]]) for i in range(len(encoded))]
    results = _search_blocks(client, encoded, offsets, encoder, threshold, rows)
    result = result_from_pairs(paths, encodings, digests, _gather_pairs(results, encoder), encoder, threshold,
                               same_as=same_as)
    return result.replace(failures=sorted(skipped + failures, key=lambda f: f.path),
                          seconds=time.perf_counter() - start)  # the whole run, as find_duplicate_groups reports


def _follow(futures: list, files: list[int], progress) -> None:
    """Advance ``progress`` (``True``: a bar of its own; or a caller's tqdm-like bar) by each partition's files as
    its encoding finishes on the cluster."""
    if not progress or not futures:
        return
    from distributed import as_completed

    bar = progress
    if progress is True:
        from imagetwins.progress import progress_bar

        bar = progress_bar(total=sum(files), unit="img", desc="encoding (Dask)")
    size = {f.key: n for f, n in zip(futures, files)}
    try:
        for future in as_completed(futures):
            bar.update(size[future.key])
    finally:
        if bar is not progress:
            bar.close()


def local_client(n_workers: int = 2):
    """A LocalCluster of worker processes (one thread each) and its client, for one machine."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)
    return Client(cluster)

