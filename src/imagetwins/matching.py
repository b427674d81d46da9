"""The two nearest binary descriptors by Hamming distance: the ratio test of :mod:`imagetwins.verify`.

Each row of ``query`` (n, 32) uint8 ORB descriptors gets its two smallest Hamming distances to the rows of ``base``
(m, 32) and the index of the nearest, exactly what ``cv2.batchDistance(query, base, cv2.CV_32S,
normType=cv2.NORM_HAMMING, K=2)`` gives, from one 8-bit integer matrix product in onnxruntime (already imagetwins'
engine for the CNN) instead of one OpenCV call per pair of descriptors.

With a query descriptor's 256 bits as -1/+1 (``s = 2q - 1``) and a base descriptor's as 0/1 (``b``),
``s . b = 2 |q & b| - |b|``, so the Hamming distance ``|q| + |b| - 2 |q & b|`` is ``|q| - s . b``: for one query, the
nearest base rows are those of the largest product. One 8-bit integer matrix product gives them all,
``MatMulInteger(query (n, 256) uint8, base (m, 256) int8 transposed)`` with the query as 0/2 and its zero point 1
(``models/hamming_scores.onnx``, built by ``tools/build_hamming_onnx.py``). Integers throughout: the very distances.
The index of the nearest is the first of the smallest distance; where two are equally near the ratio test
(``d1 < RATIO * d2``) refuses the descriptor whichever is named, so the matches a fit sees are OpenCV's.

Measured (``benchmarks/bench_scale.py --matching``, CPU, one thread, a loaded machine): 64 x 256 descriptors (the
quick look) 123 vs 184 us, 128 x 500 (the wider look) 297 vs 782 us, 500 x 500 (the full match) 0.95 vs 2.9 ms,
the two smallest per row included. The first use checks the product against numpy's popcount on a few descriptors;
where onnxruntime cannot run the graph or gives other numbers, OpenCV's batchDistance is used (the same answers,
slower).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["base_form", "nearest_two", "nearest_two_each", "query_form", "session"]

MODEL = Path(__file__).with_name("models") / "hamming_scores.onnx"
_lock = threading.Lock()
_session = None  # an onnxruntime InferenceSession, False where it cannot be used, None before the first use
_LOWEST = np.iinfo(np.int32).min  # (np.iinfo made on each call was ~5 % of a quick look's matching)


def query_form(descriptors: np.ndarray) -> np.ndarray:
    """(n, 256) uint8: the query descriptors' bits as 0/2 (the graph takes 1 off: -1/+1)."""
    bits = np.unpackbits(descriptors, axis=1)
    bits += bits  # (np.left_shift of uint8 took ~5x as long: ~100 of a full match's ~1,000 us)
    return bits


def base_form(descriptors: np.ndarray) -> np.ndarray:
    """(m, 256) int8: the base descriptors' bits as 0/1 (the graph turns them into columns)."""
    return np.unpackbits(descriptors, axis=1).view(np.int8)


def _make_session():
    from imagetwins.embedding import inference_session, onnxruntime

    ort = onnxruntime()
    opts = ort.SessionOptions()
    # one pair is matched on the calling thread (verification runs one pair per thread): no pool of its own
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = inference_session(MODEL, opts)  # (a FIFO in its place: refused, never waited on)
    # the product checked once against numpy's popcount (an onnxruntime that computed it otherwise is not used)
    rng = np.random.default_rng(0)
    q, b = rng.integers(0, 256, (7, 32), dtype=np.uint8), rng.integers(0, 256, (300, 32), dtype=np.uint8)
    b[0] = 255  # the largest bit count, and one descriptor equal to a query's
    b[1] = q[3]
    want = np.bitwise_count(q[:, None, :] ^ b[None, :, :]).sum(-1, dtype=np.int32)
    got = np.bitwise_count(q).sum(1, dtype=np.int32)[:, None] - session.run(
        None, {"query": query_form(q), "base": base_form(b)})[0]
    if not np.array_equal(got, want):
        raise ValueError("onnxruntime's integer product differs")
    return session


def session():
    """The onnxruntime session of the product graph (made and checked on first use), or None where it cannot be
    used (:mod:`imagetwins.search.products` searches wide hashes with it)."""
    return _get_session()


def _get_session():
    global _session
    if _session is None:
        with _lock:
            if _session is None:
                try:
                    _session = _make_session()
                except Exception:  # no onnxruntime, an old one, a damaged graph: OpenCV's matching instead
                    _session = False
    return _session or None


def nearest_two(query: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``query`` (n, 32) uint8 the two smallest Hamming distances to the rows of ``base`` (m >= 2),
    as (n, 2) int32, and the index of the nearest, (n,) int: what ``cv2.batchDistance(..., K=2)`` gives (see the
    module docstring: on a tie for the nearest, the first)."""
    session = _get_session()
    if session is None:
        import cv2

        dist, nearest = cv2.batchDistance(query, base, cv2.CV_32S, normType=cv2.NORM_HAMMING, K=2)
        return dist, nearest[:, 0]
    score = session.run(None, {"query": query_form(query), "base": base_form(base)})[0]  # (n, m)
    return _two_largest(score, np.bitwise_count(query).sum(axis=1, dtype=np.int32))


def nearest_two_each(query: np.ndarray, bases: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`nearest_two` of ``query`` against each of ``bases`` (as many rows each, m >= 2), the very answers, from
    one product against all of them: the quick look of :mod:`imagetwins.verify` matches an image's strongest
    descriptors against the other's and against its mirror's, and each product paid onnxruntime's call and NumPy's
    reading of it again (~40 % of a 64 x 256 match). Bases of unequal lengths are matched one by one."""
    session = _get_session()
    if session is None or len({len(base) for base in bases}) != 1:
        return [nearest_two(query, base) for base in bases]
    n, s, m = len(query), len(bases), len(bases[0])
    score = session.run(None, {"query": query_form(query), "base": base_form(np.concatenate(bases))})[0]  # (n, s * m)
    # each query row against each base is one row of m scores (C order: query row k, base j at row k * s + j)
    ones = np.repeat(np.bitwise_count(query).sum(axis=1, dtype=np.int32), s)
    dist, first = _two_largest(score.reshape(n * s, m), ones)
    dist, first = dist.reshape(n, s, 2), first.reshape(n, s)
    return [(dist[:, j], first[:, j]) for j in range(s)]


def _two_largest(score: np.ndarray, ones: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two smallest distances of each row of ``score`` (the product's, changed here) and the index of the nearest,
    ``ones`` each query row's bit count (see the module docstring)."""
    rows = np.arange(len(score))
    first = score.argmax(axis=1)
    best = score[rows, first]
    score[rows, first] = _LOWEST
    dist = np.empty((len(score), 2), np.int32)
    np.subtract(ones, best, out=dist[:, 0])
    np.subtract(ones, score.max(axis=1), out=dist[:, 1])
    return dist, first
