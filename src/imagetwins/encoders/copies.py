"""``copies``: the dihedral hash and the CNN propose pairs, geometric verification decides (:mod:`imagetwins.copies`).

The rows are columns (:class:`~imagetwins.copies.CopyRows`): the images' dihedral hashes, their
one-orientation CNN vectors and a reference to each one's local features (about 50 KB) in a feature store;
``rows[i]`` is one image's :class:`~imagetwins.copies.CopyRecord`, which is what the index and the
per-folder cache keep as a blob, so a re-run verifies without decoding again. During a run the features
wait in a scratch file (:mod:`imagetwins.spill`), read back for each pair verified; memory holds the hash
and the vector (512 half floats, 1 KB an image), in two arrays. A match's score is the verification confidence in
[0, 1] (1 for pairs the hash alone is sure of).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

from imagetwins import canvas, copies, hashing, search, verify
from imagetwins.embedding import MODEL_DIR, Embedder, ModelConfig, l2_normalise
from imagetwins.encoders.base import Encoder
from imagetwins.io import decoded_scale, read_packaged_file
from imagetwins.pairscores import PairScores
from imagetwins.scores import CONFIDENCE
from imagetwins.text import counted
from imagetwins.workers import thread_count

__all__ = ["CopiesEncoder", "cnn_threads", "project_vectors"]


def cnn_threads(workers: int | None) -> int:
    """ONNX Runtime threads for the proposer's CNN in a scan on ``workers`` decoding threads (see
    :meth:`CopiesEncoder.for_workers`)."""
    return max(1, thread_count(workers) // 4)


#: rows projected in one product (see :func:`project_vectors`)
_PROJECTED_ROWS = 32


@functools.lru_cache(maxsize=1)
def _projection() -> tuple[np.ndarray, np.ndarray]:
    """The mean and matrix of :data:`imagetwins.copies.CNN_PROJECTION`, float32, read once."""
    with np.load(io.BytesIO(read_packaged_file(MODEL_DIR / copies.CNN_PROJECTION)), allow_pickle=False) as z:
        return z["mean"].astype(np.float32), np.ascontiguousarray(z["P"], dtype=np.float32)


def project_vectors(vectors: np.ndarray) -> np.ndarray:
    """The proposer's vectors from pooled CNN vectors ``(N, 1280)``: ``l2((v - mean) @ P)``, ``(N, 512)`` float32
    (:data:`imagetwins.copies.CNN_PROJECTION`)."""
    mean, matrix = _projection()
    centred = np.asarray(vectors, dtype=np.float32) - mean
    gemm = verify._require_cv2().gemm
    # OpenCV's product, on the calling thread (verify keeps OpenCV to no pool of its own): numpy's OpenBLAS woke its
    # threads for it, and on the busy 2-core machine a batch of 32 took 12.6 CPU ms on the calling thread and 25 in
    # all against 0.9 here. Always _PROJECTED_ROWS rows at once, the last block padded with zeros: OpenCV takes
    # another summation order for some row counts (5 to 9 rows gave other float32 numbers than 1-4 or 16 and more),
    # and an image's vector must not depend on the batch it was encoded in (the same pixels give the same record)
    out = np.empty((len(centred), matrix.shape[1]), dtype=np.float32)
    block = np.zeros((_PROJECTED_ROWS, centred.shape[1]), dtype=np.float32)
    for start in range(0, len(centred), _PROJECTED_ROWS):
        part = centred[start:start + _PROJECTED_ROWS]
        block[:len(part)] = part
        block[len(part):] = 0
        out[start:start + len(part)] = gemm(block, matrix, 1.0, None, 0.0)[:len(part)]
    return l2_normalise(out)


class CopiesEncoder(Encoder):
    """The ``copies`` method (see :mod:`imagetwins.copies`)."""

    name = copies.COPIES_METHOD
    output = "columns"
    fixed_blob_size = False  # a record's blob holds its features: their size varies
    score_kind = CONFIDENCE
    default_threshold = verify.DEFAULT_CONFIDENCE
    batch_size = 32

    def __init__(self, threads: int | None = None) -> None:
        self.embedder = Embedder(ModelConfig(input_size=copies.CNN_SIDE), orientations=1, threads=threads)
        self.dihedral = hashing.HASH_METHODS["dihedral"]
        # local features are extracted with the long side at FEATURE_SIDE; the hash and the CNN need the short
        # side: a 4:3 camera JPEG is decoded at 1/8 (342 x 256 for 7 MP) rather than 1/4
        self.min_side = max(self.embedder.config.input_size, hashing.DECODE_MIN_SIDE)
        self.min_long_side = verify.FEATURE_SIDE
        self._by_threads: dict[int, CopiesEncoder] = {}

    def for_workers(self, workers: int | None) -> CopiesEncoder:
        # the CNN runs on the encoding loop's thread while the `workers` decoding threads prepare the next batch, at
        # about an eighth of their cost an image (9 of ~75 CPU ms for a 5 MP JPEG): a quarter of the threads keeps
        # up with them, and a pool of two on two busy cores only added hand-offs (embedding 64 camera photos at
        # 160 px: 9.5 CPU ms an image on two threads, 8.7-9.1 on one; the same vectors to the bit)
        threads = cnn_threads(workers)
        if threads == self.embedder.threads:
            return self
        if threads not in self._by_threads:
            self._by_threads[threads] = CopiesEncoder(threads=threads)
        return self._by_threads[threads]

    def unavailable(self) -> str | None:
        """Why this method cannot run here (OpenCV missing), or None."""
        return None if verify.opencv_available() else verify.OPENCV_MISSING

    def prepare(self, img: Image.Image):
        # runs on the decoding threads: the feature extraction (the costly part) is parallel there; without
        # OpenCV nothing is extracted and encode_batch stops the run with one message (not one per file)
        # serialised here, on the threads, and spilled by encode_batch: the run holds where they are, not them
        if not verify.opencv_imports():
            return self.dihedral.thumbnail(img), self.embedder.prepare(img), None, None, None, None
        grey = img.convert("L")  # once, for the hash and the features
        extracted = verify.extract(img, grey=grey)
        features = extracted.to_bytes()
        # a picture on a canvas (a rotated copy's grown canvas, a screenshot, a background): the picture cut
        # out and turned upright is encoded too, and proposed and verified as well as the whole image
        picture = canvas.upright_picture(img, extracted.thumbnail)
        alt = alt_votes = None
        if picture is not None:
            # (the picture is cut from the decoded image: its pixels stand for the file's as the image's do)
            picture_features = verify.extract(picture, scale=decoded_scale(img))
            alt = (self.dihedral.thumbnail(picture), self.embedder.prepare(picture), picture_features.to_bytes())
            alt_votes = copies.vote_block(picture_features)
        # the descriptors that vote (copies.vote_lists), made here from the features extracted, not parsed again
        return (self.dihedral.thumbnail(grey), self.embedder.prepare(img), features, alt, copies.capture_of(img),
                (copies.vote_block(extracted), alt_votes))

    def encode_batch(self, prepared: list) -> np.ndarray:
        verify._require_cv2()
        with_alt = [i for i, p in enumerate(prepared) if p[3] is not None]
        thumbs = [p[0] for p in prepared] + [prepared[i][3][0] for i in with_alt]
        inputs = [p[1] for p in prepared] + [prepared[i][3][1] for i in with_alt]
        words = hashing.bits_to_words(self.dihedral.bits(np.stack(thumbs)))
        vectors = project_vectors(self.embedder.embed_arrays(np.stack(inputs))).astype(copies.VECTOR_DTYPE)
        alt = {i: (words[len(prepared) + k], vectors[len(prepared) + k], prepared[i][3][2])
               for k, i in enumerate(with_alt)}
        records = []
        for i, p in enumerate(prepared):
            records.append(copies.CopyRecord.spilled(words[i], vectors[i], p[2], alt.get(i), p[5]))
            records[-1].capture = p[4]
        return copies.CopyRows.of(records)

    def empty(self) -> copies.CopyRows:
        return copies.CopyRows.empty()

    # -- rows are columns, not an array: how they are joined, picked and told apart
    def concat(self, parts: Sequence[copies.CopyRows]) -> copies.CopyRows:
        return copies.CopyRows.concat(parts)

    def filler(self, n: int) -> copies.CopyRowsFiller:
        return copies.CopyRows.filler(n)

    def take(self, rows: copies.CopyRows, index: np.ndarray) -> copies.CopyRows:
        return copies.CopyRows.of(rows).take(index)

    def same_rows(self, rows: copies.CopyRows, digests: Sequence[str]) -> np.ndarray | None:
        # two files encode alike when their bytes are alike: 3,000 copies of one JPEG made 4.5 million candidate
        # pairs (2 GB, growing with the square of the copies); and when their pixels are: one picture saved again with
        # other metadata has other bytes but the very same record (copies.first_of_equal_records: hash and vector
        # compared first, the features read only where those are equal)
        return copies.first_of_equal_records(rows, search.first_of_equal_keys(digests))

    def identity(self) -> dict:
        return {"method": self.name, "hash": "dihedral", "model": self.embedder.config.name, "orientations": 1,
                "cnn_side": copies.CNN_SIDE, "cnn_projection": copies.CNN_PROJECTION,
                "feature_side": verify.FEATURE_SIDE, "max_features": verify.MAX_FEATURES,
                "thumb_side": verify.THUMB_SIDE,
                "colour_side": verify.COLOUR_SIDE, "features_version": verify.FEATURES_VERSION, "version": 6,
                "canvas": [canvas.TOLERANCE, canvas.MIN_FILL, canvas.MIN_CANVAS, canvas.MOSTLY_CANVAS,
                           canvas.FINE_SIDE, canvas.MIN_PICTURE, canvas.MIN_PICTURE_ON_SCREEN, canvas.SCREEN_ASPECT,
                           canvas.SCREEN_PICTURE_ASPECT, canvas.EDGE_SHARE, canvas.EDGE_TRIM]}

    def to_blob(self, row) -> bytes:
        return row.to_bytes()

    def from_blobs(self, blobs: Sequence[bytes]) -> copies.CopyRows:
        return copies.CopyRows.of([copies.CopyRecord.from_bytes(bytes(b)) for b in blobs])

    #: an index reads a record's hash, vector and capture stamp when it loads; its features when a pair is verified
    head_bytes = copies.HEAD_BYTES

    def head_of(self, data: bytes, length: int) -> bytes:
        return copies.row_head(data, length)

    def from_heads(self, heads: Sequence[bytes], keys: Sequence[int], store) -> copies.CopyRows:
        return copies.rows_from_heads(heads, keys, store)

    def stored_part(self, blob: bytes, part: int) -> bytes:
        return copies.features_part(blob, part)

    def check_pair(self, rows: copies.CopyRows, paths: Sequence[str] | None = None) -> verify.Verification:
        """The verification of rows 0 and 1 with its matches: the very check the search makes (the same decode,
        features and, for a picture on a canvas, the picture cut out; with the rows' ``paths``, the look at the files
        where the detail rule leaves the pair to them, :func:`imagetwins.verify.look_at_files`)."""
        v = copies.verify_records(rows[0], rows[1], keep_matches=True)
        with copies.naming(paths):
            return copies.looked_at(rows, rows, 0, 1, v)[0]

    def on_canvas(self, rows: copies.CopyRows) -> np.ndarray:
        """The rows with a picture cut from a canvas (an alternate, :class:`~imagetwins.copies.CopyRows`)."""
        return np.asarray(rows.alt_of) >= 0

    def framed_pictures(self, rows: copies.CopyRows, left: np.ndarray, right: np.ndarray, threshold: float,
                        paths: Sequence[str] | None = None) -> np.ndarray:
        """:func:`imagetwins.copies.framed_pictures`: each pair the search's check calls a copy (the files looked at
        where the features leave it to them) read from checks in full, as ``explain`` checks it."""
        with copies.naming(paths):
            return copies.framed_pictures(rows, left, right, threshold)

    @property
    def framed_version(self) -> str:
        """:attr:`pair_score_version` (verify's and the canvas finder's constants) and :func:`copies.framed_picture`'s
        own: bump the leading number when its rules change."""
        return (f"framed7-{copies.FRAMED_INSIDE}-{copies.FRAMED_PASTED}-{copies.FRAMED_LOOK_SIDE}-"
                f"{copies.FRAMED_ENLARGED_BELOW}-{self.pair_score_version}")

    def shows_more(self, rows: copies.CopyRows, left: int, right: int, threshold: float,
                   paths: Sequence[str] | None = None) -> bool:
        """:func:`imagetwins.copies.shows_more` (one warning and False where the features cannot be used now)."""
        with copies.naming(paths):
            return copies.shows_more_rows(rows, left, right, threshold)

    def score_basis(self, rows: copies.CopyRows) -> str | None:
        """A pair whose dihedral hashes (an image's own or its picture cut from a canvas, in any of the 8
        orientations) are within :data:`~imagetwins.copies.HASH_SURE` bits scores 1: unchecked within
        :data:`~imagetwins.copies.HASH_UNCHECKED`, else checked, the check not seeing another capture (where it
        does, the score is the check's confidence and no basis is asked for)."""
        a, b = rows[0], rows[1]
        mine = np.stack([h for h in (a.hash, a.alt_hash) if h is not None]).astype(np.uint64)
        theirs = np.stack([h for h in (b.hash, b.alt_hash) if h is not None]).astype(np.uint64)
        apart = search.dihedral_variants(mine).reshape(-1, 1, 4) ^ theirs[None]
        bits = int(np.unpackbits(apart.view(np.uint8), axis=-1).sum(axis=-1).min())
        if bits > copies.HASH_SURE:
            return None
        if bits <= copies.HASH_UNCHECKED:
            return (f"hash-sure: their dihedral hashes are {counted(bits, 'bit')} apart (<= "
                    f"{copies.HASH_UNCHECKED}), so the search calls them copies without the check")
        return (f"hash-sure: their dihedral hashes are {counted(bits, 'bit')} apart (<= {copies.HASH_SURE}), so the "
                "search calls them copies unless the check sees another capture (one frame moved off the other, "
                f"confidence <= {copies.HASH_OVERRULE}); it does not here")

    def check_threshold(self, threshold: float) -> float:
        return self.kind.check_threshold(threshold, method=self.name)

    def threshold_caveat(self, threshold: float) -> str | None:
        # the rules that tell a re-shot from a copy (two framings, a shared part, another light, finer detail) cap a
        # confidence at NOT_ONE_CAPTURE and keep the pair a re-shot at any threshold, but only where the calibrated
        # model put it above that: a search measures the frames there alone (verify.Verification.kept_verdict)
        if threshold >= verify.NOT_ONE_CAPTURE:
            return None
        return (f"below {verify.NOT_ONE_CAPTURE:g} the checks that tell a re-shot from a copy (two framings of one "
                "scene, another light, finer detail) are not made: burst frames and other shots of one scene can be "
                "called copies; look at them before removing any")

    def sweep_thresholds(self) -> list[float]:
        return [round(x, 2) for x in np.arange(0.99, 0.04, -0.01)]

    @property
    def pair_score_version(self) -> str:
        """Verification confidences are kept per pair of contents under :func:`imagetwins.verify.verdict_version`."""
        # the canvas constants and how a pair's pictures cut out are checked are part of a kept score too
        canvas_key = (f"canvas{canvas.TOLERANCE}-{canvas.MIN_FILL}-{canvas.MIN_CANVAS}-{canvas.OPEN}"
                      f"-{canvas.MOSTLY_CANVAS}-{canvas.FINE_SIDE}-{canvas.MIN_PICTURE}-{canvas.MIN_PICTURE_ON_SCREEN}"
                      f"-{canvas.SCREEN_ASPECT}-{canvas.SCREEN_PICTURE_ASPECT}-{canvas.EDGE_SHARE}-{canvas.EDGE_TRIM}")
        # and which hash-sure pairs are checked (copies.HASH_UNCHECKED, HASH_OVERRULE, HASH_OVERRULE_COVER), for
        # their marks too (verify.SIGNATURES_DIFFER: a hash-sure pair's marks are kept with its 1); "verdict1": a
        # stored number holds the kept verdict too (scores.stored_score: re-shot 2-3, unrelated 4-5), so a score kept
        # before, which has none, is never read as a copy's: its pair is checked again
        return (f"{verify.verdict_version()}-{canvas_key}-capture1-alt2"
                f"-sure{copies.HASH_UNCHECKED}-{copies.HASH_OVERRULE}-{copies.HASH_OVERRULE_COVER}"
                f"-marks{verify.SIGNATURES_DIFFER}-verdict1")

    def pairs(self, encodings: np.ndarray, threshold: float, workers: int | None = None, progress: bool = False,
              paths: Sequence[str] | None = None, pair_scores: PairScores | None = None) -> search.Pairs:
        if len(encodings) < 2:
            return search.Pairs.empty(np.float32, CONFIDENCE)
        with copies.naming(paths):  # (a warning about a row's damaged features names its file)
            return copies.copy_pairs(encodings, threshold, workers, pair_scores=pair_scores, progress=progress)

    def score_pairs(self, rows: copies.CopyRows, left: np.ndarray, right: np.ndarray, workers: int | None = None,
                    paths: Sequence[str] | None = None, pair_scores: PairScores | None = None) -> search.Pairs:
        """Pairs the search did not propose, checked now as it checks a pair proposed after its first round
        (:func:`imagetwins.copies.check_pairs`): kept confidences reused, new ones kept."""
        with copies.naming(paths):
            return copies.check_pairs(rows, left, right, workers, pair_scores)

    def query(self, queries: np.ndarray, database: np.ndarray, threshold: float, workers: int | None = None,
              query_paths: Sequence[str] | None = None, database_paths: Sequence[str] | None = None,
              pair_scores: PairScores | None = None) -> search.Pairs:
        if not len(queries) or not len(database):
            return search.Pairs.empty(np.float32, CONFIDENCE)
        with copies.naming(query_paths, database_paths):
            return copies.copy_query(queries, database, threshold, workers, pair_scores=pair_scores)


#: registered by :mod:`imagetwins.encoders`
ENCODERS = [CopiesEncoder()]
