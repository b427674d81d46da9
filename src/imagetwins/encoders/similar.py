"""``similar``: re-shots of one scene (burst frames, the same view seconds later, bracketed exposures), for review.

Not copies: two captures of one scene are two photos, and a person decides which to keep (``remove`` only
applies a reviewed plan for this method: :attr:`SimilarEncoder.removal_needs_review`); the keeper suggested
is the best shot (keep rule ``best``, :mod:`imagetwins.shots`).

A row is one vector from the bundled EfficientNet-Lite0 at a larger size than the ``cnn`` method's, its
aspect kept (long side :data:`SIDE`; the model is fully convolutional), pooled over regions of its last
feature map (R-MAC-style: the whole map and square regions at :data:`REGION_LEVELS` scales, each GeM-pooled
and L2-normalised, summed), for the picture upright and turned a quarter (photos taken sideways without an
EXIF tag), summed. A pair's score is the vectors' cosine similarity moved towards 1 by the keypoint matches one
affine map explains (:func:`imagetwins.verify.consistent_matches`), counted for each photo's
:data:`CHECK_NEIGHBOURS` nearest (the files are decoded again at 320 px for it when ``paths`` are given; the
counts are kept as pair scores, so a re-run counts nothing again). Each choice was measured on holidays-half
groups at even positions and is reported on the odd ones (``benchmarks/bench_similar.py``): the ``cnn`` vector
(224 px squashed, 8 orientations) ranks at MAP 0.874 over all 422 photos; regions at 384 px 0.86, with the
quarter turn 0.89, with the matches 0.8998 (queries of the held-out groups 0.908). Alpha query expansion (each
vector plus its nearest neighbour) ranked at 0.91 but was left out: two photos that are each other's nearest
neighbour are pulled together (cosine 0.85 becomes 0.99), so in 200 folders of 12 unrelated holidays photos it
made 134 false pairs (none without it).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from imagetwins import search, verify
from imagetwins.embedding import Embedder, ModelConfig, l2_normalise
from imagetwins.encoders.base import VectorEncoder
from imagetwins.pairscores import PairScores
from imagetwins.scores import SIMILARITY, Verdict
from imagetwins.workers import thread_count

__all__ = ["SIMILAR_METHOD", "SimilarEncoder", "combined_score", "regions"]

#: the method's name
SIMILAR_METHOD = "similar"
#: long side of the picture the model sees (its short side follows the aspect ratio), a multiple of 32
SIDE = 384
#: the model's stride: the input's sides are rounded to it
_STRIDE = 32
#: scales of square regions pooled besides the whole map
REGION_LEVELS = 3
#: GeM exponent of each region
GEM_P = 3.0
#: pairs whose keypoint matches are counted: each photo's CHECK_NEIGHBOURS nearest with a cosine >= CHECK_FROM
CHECK_NEIGHBOURS = 10
CHECK_FROM = 0.70
#: matches that count (fewer: none), the count that moves the score the whole MATCHES_WEIGHT of the way to 1
MATCHES_FROM = 6
MATCHES_FULL = 40
MATCHES_WEIGHT = 0.9
#: cosine similarity above which two photos are offered as re-shots of one scene: the lowest
#: with pair precision >= 0.97 on holidays-half groups at even positions (benchmarks/bench_similar.py)
DEFAULT_SIMILARITY = 0.84


def regions(height: int, width: int, levels: int = REGION_LEVELS) -> list[tuple[int, int, int, int]]:
    """The map itself and, at each level ``l``, square regions of side ``2 * min(h, w) / (l + 1)`` laid over it
    with at least 40 % overlap: ``(top, bottom, left, right)`` in map cells."""
    def starts(n: int, side: int) -> list[int]:
        if n <= side:
            return [0]
        count = int(np.ceil((n - side) / (side * 0.6))) + 1
        return sorted({int(round(x)) for x in np.linspace(0, n - side, count)})

    out = [(0, height, 0, width)]
    for level in range(1, levels + 1):
        side = max(1, int(round(2 * min(height, width) / (level + 1))))
        out += [(y, y + side, x, x + side) for y in starts(height, side) for x in starts(width, side)]
    return out


def _regional(maps: np.ndarray) -> np.ndarray:
    """(N, C, h, w) feature maps -> (N, C): the sum of every region's L2-normalised GeM vector."""
    cubed = np.power(np.clip(maps, 1e-6, None), GEM_P)
    out = np.zeros(maps.shape[:2], np.float32)
    for top, bottom, left, right in regions(maps.shape[2], maps.shape[3]):
        out += l2_normalise(np.power(cubed[:, :, top:bottom, left:right].mean(axis=(2, 3)), 1.0 / GEM_P))
    return out


class SimilarEncoder(VectorEncoder):
    """The ``similar`` method (see the module docstring)."""

    name = SIMILAR_METHOD
    score_kind = SIMILARITY
    default_threshold = DEFAULT_SIMILARITY
    min_long_side = SIDE
    batch_size = 16
    keep_rule = "best"
    match_name = "same scene"
    removal_needs_review = (f"-m similar groups re-shots of one scene (verdict '{Verdict.RESHOT}': different photos, "
                            "not copies): "
                            "nothing is removed without a person's choice. Review them with 'imagetwins report DIR "
                            "-m similar' (or 'imagetwins find DIR -m similar --json plan.json' and set each group's "
                            "keep), then apply that plan with 'imagetwins remove DIR --plan plan.json'. Copies of one "
                            "photo, byte-identical backups too, are what the default method removes: 'imagetwins "
                            "remove DIR'")

    def __init__(self, threads: int | None = None) -> None:
        self.embedder = Embedder(ModelConfig(input_size=SIDE), orientations=1, threads=threads)
        self._by_threads: dict[int, SimilarEncoder] = {}

    def for_workers(self, workers: int | None) -> SimilarEncoder:
        if not workers or workers == self.embedder.threads:
            return self
        if workers not in self._by_threads:
            self._by_threads[workers] = SimilarEncoder(threads=workers)
        twin = self._by_threads[workers]
        return twin.on_stored_pixels() if twin.exif_orientation != self.exif_orientation else twin

    def prepare(self, img: Image.Image) -> np.ndarray:
        """The picture with its long side at :data:`SIDE`, both sides multiples of the model's stride."""
        w, h = img.size
        scale = SIDE / max(w, h, 1)
        size = (max(_STRIDE, round(w * scale / _STRIDE) * _STRIDE), max(_STRIDE, round(h * scale / _STRIDE) * _STRIDE))
        rgb = img if img.mode == "RGB" else img.convert("RGB")  # (convert copies an RGB image: 680 MB at 170 MP)
        return np.asarray(rgb.resize(size, Image.Resampling.BILINEAR), dtype=np.uint8)

    def encode_batch(self, prepared: list[np.ndarray]) -> np.ndarray:
        out = np.empty((len(prepared), 0), np.float32)
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, p in enumerate(prepared):
            by_shape.setdefault(p.shape, []).append(i)
        for rows in by_shape.values():
            batch = np.stack([prepared[i] for i in rows])
            turned = np.ascontiguousarray(np.rot90(batch, 1, axes=(1, 2)))  # a photo taken sideways
            vectors = l2_normalise(_regional(self.embedder.feature_maps(batch))
                                   + _regional(self.embedder.feature_maps(turned)))
            if not out.shape[1]:
                out = np.empty((len(prepared), vectors.shape[1]), np.float32)
            out[rows] = vectors
        return out

    def identity(self) -> dict:
        return {"method": self.name, "model": self.embedder.config.name, "side": SIDE, "turns": [0, 90],
                "regions": REGION_LEVELS, "gem_p": GEM_P, "dtype": "float32", "version": 1,
                **({} if self.exif_orientation else {"exif_orientation": False})}

    @property
    def pair_score_version(self) -> str:
        """What is kept per pair of contents: the count of consistent keypoint matches (the costly part of a pair's
        score; the similarity is recomputed from the vectors), under the features' and OpenCV's version."""
        return f"similar-matches1-{verify.verdict_version()}"

    def pairs(self, encodings: np.ndarray, threshold: float, workers: int | None = None, progress: bool = False,
              paths: Sequence[str] | None = None, pair_scores: PairScores | None = None) -> search.Pairs:
        if len(encodings) < 2:
            return search.Pairs.empty(np.float32, SIMILARITY)
        vectors = np.ascontiguousarray(encodings, dtype=np.float32)
        found = search.cosine_pairs(vectors, threshold, progress=progress)
        idx, sims = search.cosine_topk(vectors, vectors, CHECK_NEIGHBOURS, exclude_self=True)
        rows = np.repeat(np.arange(len(vectors)), idx.shape[1])
        near = _candidates(rows, idx.ravel(), sims.ravel(), symmetric=True)
        return self._scored(found, near, threshold, workers, paths, paths, pair_scores, progress)

    def query(self, queries: np.ndarray, database: np.ndarray, threshold: float, workers: int | None = None,
              query_paths: Sequence[str] | None = None, database_paths: Sequence[str] | None = None,
              pair_scores: PairScores | None = None) -> search.Pairs:
        if not len(queries) or not len(database):
            return search.Pairs.empty(np.float32, SIMILARITY)
        q = np.ascontiguousarray(queries, dtype=np.float32)
        db = np.ascontiguousarray(database, dtype=np.float32)
        found = search.cosine_query(q, db, threshold)
        to_db, s_db = search.cosine_topk(q, db, CHECK_NEIGHBOURS)
        to_q, s_q = search.cosine_topk(db, q, CHECK_NEIGHBOURS)
        near = _candidates(np.concatenate([np.repeat(np.arange(len(q)), to_db.shape[1]), to_q.ravel()]),
                           np.concatenate([to_db.ravel(), np.repeat(np.arange(len(db)), to_q.shape[1])]),
                           np.concatenate([s_db.ravel(), s_q.ravel()]), symmetric=False)
        return self._scored(found, near, threshold, workers, query_paths, database_paths, pair_scores)

    def _scored(self, found: search.Pairs, near: tuple[np.ndarray, np.ndarray, np.ndarray], threshold: float,
                workers: int | None, left_paths: Sequence[str] | None, right_paths: Sequence[str] | None,
                pair_scores: PairScores | None, progress: bool = False) -> search.Pairs:
        """The pairs within ``threshold`` by their vectors (``found``) and the near pairs whose keypoint matches are
        counted (``near``: each photo's :data:`CHECK_NEIGHBOURS` nearest with a cosine >= :data:`CHECK_FROM`),
        scored with those matches (:func:`combined_score`): the search never holds more pairs than those (a
        library's pairs above CHECK_FROM alone can be a few per cent of all its pairs)."""
        left = np.concatenate([found.left, near[0]]).astype(np.int64)
        right = np.concatenate([found.right, near[1]]).astype(np.int64)
        cos = np.concatenate([found.score, near[2]]).astype(np.float32)
        check = np.concatenate([np.zeros(len(found.left), bool), np.ones(len(near[0]), bool)])
        # one row per pair (a near pair is often found too): the pair keys sorted, checks first
        key = left * (max(int(right.max(initial=0)), 0) + 1) + right
        order = np.lexsort((~check, key))
        first = np.ones(len(order), bool)
        first[1:] = key[order][1:] != key[order][:-1]
        keep = order[first]
        left, right, cos, check = left[keep], right[keep], cos[keep], check[keep]
        matches = np.zeros(len(left), np.float64)
        todo_rows = np.flatnonzero(check & (cos < 1.0))
        if len(todo_rows):
            known = np.full(len(todo_rows), np.nan) if pair_scores is None else \
                pair_scores.lookup(left[todo_rows], right[todo_rows])
            todo = np.flatnonzero(np.isnan(known))
            if len(todo) and left_paths is not None and right_paths is not None:
                known[todo] = _count_matches([left_paths[i] for i in left[todo_rows[todo]]],
                                             [right_paths[j] for j in right[todo_rows[todo]]], workers, progress)
                if pair_scores is not None:
                    done = todo[~np.isnan(known[todo])]
                    pair_scores.remember(left[todo_rows[done]], right[todo_rows[done]], known[done])
            matches[todo_rows] = np.nan_to_num(known, nan=0.0)
        score = combined_score(cos, matches)
        within = score >= threshold
        return search.Pairs(left[within], right[within], score[within], SIMILARITY)


def _candidates(left: np.ndarray, right: np.ndarray, cosine: np.ndarray, symmetric: bool
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Near pairs (``cosine >= CHECK_FROM``) as ``(left, right, cosine)``; ``symmetric``: rows of one collection, each
    pair once as ``left < right``."""
    near = cosine >= CHECK_FROM
    left, right, cosine = left[near], right[near], cosine[near]
    if symmetric:
        left, right = np.minimum(left, right), np.maximum(left, right)
    return left, right, cosine


def combined_score(cosine: np.ndarray, matches: np.ndarray) -> np.ndarray:
    """The similarity of a pair: the vectors' cosine, moved towards 1 by the share of :data:`MATCHES_FULL` keypoint
    matches that one affine map explains (none below :data:`MATCHES_FROM`), at most :data:`MATCHES_WEIGHT` of the
    way; in [cosine, 1)."""
    share = np.where(matches >= MATCHES_FROM, np.minimum(matches, MATCHES_FULL) / MATCHES_FULL, 0.0)
    cosine = np.asarray(cosine, np.float32)
    return (cosine + (1.0 - cosine) * MATCHES_WEIGHT * share).astype(np.float32)


def _count_matches(left: list[str], right: list[str], workers: int | None, progress: bool = False) -> np.ndarray:
    """Consistent keypoint matches of each pair of files (NaN where a file cannot be read: never kept); ``progress``:
    a bar over the files read again (the most of it: 17 ms an image) and then the pairs (at 100,000 photos half an
    hour of CPU, which went without a word between the encoding's bar and the keeping's)."""
    files = sorted(set(left) | set(right))
    bar = None
    if progress:
        from imagetwins.progress import progress_bar

        bar = progress_bar(total=len(files) + len(left), unit="step", desc="matching keypoints")
    try:
        features, _ = verify.features_for_files(files, workers, on_done=bar.update if bar is not None else None)
        out = np.full(len(left), np.nan)
        pairs = [(k, features.get(a), features.get(b)) for k, (a, b) in enumerate(zip(left, right))]
        readable = [p for p in pairs if p[1] is not None and p[2] is not None]
        if bar is not None:
            bar.update(len(pairs) - len(readable))
        with ThreadPoolExecutor(max_workers=thread_count(workers)) as pool:
            for (k, _a, _b), n in zip(readable, pool.map(lambda p: verify.consistent_matches(p[1], p[2]), readable)):
                out[k] = n
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return out


#: registered by :mod:`imagetwins.encoders`
ENCODERS = [SimilarEncoder()]
