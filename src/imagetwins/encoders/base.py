"""The :class:`Encoder` interface every method implements, and its two families: bits and vectors.

An encoder is everything the rest of imagetwins knows about a method: its name, what it produces
(``bits``: uint64 words compared by Hamming distance; ``vectors``: float32 rows compared by cosine
similarity; ``columns``: a composite method's own row type, e.g. ``copies``' hashes, vectors and
references to stored features, handled through :meth:`Encoder.concat`, :meth:`Encoder.take`,
:meth:`Encoder.same_rows` and the blobs, never as an array of objects), the kind of score its matches
carry, its default threshold, its identity (stored with an index so encodings made differently are
never mixed), how it turns a decoded image into a row (as a stage of the one encoding loop,
:func:`imagetwins.encoding.encode_files`) and the search it uses, all pairs and query-vs-reference.
The finder, the index, Dask, ``tune``, ``plot``, the report and the imagededup-style classes all ask
the registry (:mod:`imagetwins.encoders`) for one.
"""

from __future__ import annotations

import copy
import functools
import inspect
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from PIL import Image

from imagetwins import search
from imagetwins.encoding import DECODE_TIMEOUT, Stage, encode_files
from imagetwins.io import ReadFailure
from imagetwins.pairscores import PairScores
from imagetwins.scores import DISTANCE, SIMILARITY, ScoreKind

__all__ = ["BitsEncoder", "Encoded", "Encoder", "Rows", "ScoreKind", "VectorEncoder"]

#: a method's rows: an array (bits, vectors) or a composite method's columns (``copies``: ``CopyRows``); only
#: the method's own :meth:`Encoder.concat` / :meth:`Encoder.take` / :meth:`Encoder.same_rows` look inside
Rows = Any


def _dropping_pair_scores(method):
    """``method`` (a plug-in's ``pairs`` or ``query`` without a ``pair_scores`` parameter) taking and ignoring it."""
    @functools.wraps(method)
    def call(self, *args, pair_scores=None, **kwargs):
        return method(self, *args, **kwargs)

    return call


def _dropping_paths(method):
    """``method`` (a plug-in's ``check_pair`` without a ``paths`` parameter) taking and ignoring it."""
    @functools.wraps(method)
    def call(self, rows, paths=None):
        return method(self, rows)

    return call


@dataclass
class Encoded:
    """Files encoded with one method: one row of ``encodings`` per path of ``paths`` (and, when asked for, its
    keep-rule facts, :class:`imagetwins.facts.ImageFacts`, from the same decode)."""

    paths: list[str]
    encodings: Rows
    digests: list[str]
    failures: list[ReadFailure]
    facts: list = field(default_factory=list)


class Encoder(Stage, ABC):
    """One duplicate-finding method. Subclass :class:`BitsEncoder` or :class:`VectorEncoder`, not this.

    Attributes
    ----------
    name : str
        What users type (``-m NAME``); the key in the registry and in an index.
    output : {'bits', 'vectors', 'columns'}
        What a row is: uint64 words, float32 values, or a composite method's columns (its own row type: only
        the encoder joins, picks and compares its rows).
    score_kind : ScoreKind
        What a match's score means (:mod:`imagetwins.scores`: ``DISTANCE``, ``SIMILARITY``, ``CONFIDENCE``;
        a plug-in may give its name, ``"distance"`` or ``"similarity"``).
    score_unit : str
        What a score is called in messages and on the review page (``bits``, ``cosine similarity``,
        ``confidence``): the kind's unit.
    default_threshold : int or float
        The threshold used when none is given.
    min_side : int
        Smallest image side the decoder must keep for :meth:`prepare`.
    batch_size : int
        Files per batch of :meth:`encode_batch`.
    """

    name: str
    output: Literal["bits", "vectors", "columns"]
    score_kind: ScoreKind
    default_threshold: float
    min_side: int = 0
    #: smallest long side the decoder must keep (0: ``min_side`` says all); a method that scales pictures by
    #: their long side (``copies``' local features) sets it and keeps ``min_side`` for the short side
    min_long_side: int = 0
    batch_size: int = 256
    #: turn each picture upright by its EXIF orientation before encoding (see :meth:`on_stored_pixels`)
    exif_orientation: bool = True
    #: None for a method whose pair scores cost nothing worth keeping (every built-in but ``copies``).
    #: A method that spends real time per pair (a verification stage) names the definition of its score
    #: here, changed whenever its scores would change; its :meth:`pairs` and :meth:`query` then get a
    #: :class:`imagetwins.pairscores.PairScores` (scores kept by the index or the per-folder cache under
    #: this version) as ``pair_scores`` from the finder and the index; other methods get None there.
    pair_score_version: str | None = None
    #: the keep rule (:data:`imagetwins.keep.KEEP_RULES`) that picks a group's keeper when the user names none:
    #: ``original`` for copies; ``best`` (the sharpest, best exposed, largest shot) for a method of re-shots
    keep_rule: str = "original"
    #: None for a method whose groups ``remove`` may act on from a scan (copies of one picture). A method whose
    #: groups are different photos for a person to choose among (re-shots) says why here, in one line: ``remove``
    #: then refuses to plan from a scan, a dry run too, and only applies a plan a person made or reviewed (``--plan``);
    #: the word DIR in it stands for the folder (the command line names the user's own there)
    removal_needs_review: str | None = None
    #: what a pair within the threshold is called where one pair is explained (``explain``): a "duplicate", or for
    #: a method of re-shots "same scene"
    match_name: str = "duplicate"
    #: every row's blob has the same length (bits, vectors): a blob of another length in an index is damage
    fixed_blob_size: bool = True

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        # a plug-in written before ``pair_scores`` was part of every signature: it takes it, and drops it
        for name in ("pairs", "query"):
            method = cls.__dict__.get(name)
            if method is not None and "pair_scores" not in inspect.signature(method).parameters:
                setattr(cls, name, _dropping_pair_scores(method))
        # ... and before ``check_pair`` was given the rows' ``paths``
        method = cls.__dict__.get("check_pair")
        if method is not None and "paths" not in inspect.signature(method).parameters:
            cls.check_pair = _dropping_paths(method)

    def unavailable(self) -> str | None:
        """Why this method cannot run here (an optional dependency missing), or None."""
        return None

    def on_stored_pixels(self) -> Encoder:
        """This method on the pixels as stored, ignoring the EXIF orientation tag, as imagededup 0.3 does.

        A photo whose camera stored it sideways (orientation 5-8) then hashes as imagededup hashed it,
        so hashes kept from imagededup stay comparable; a rotated and an upright copy of one photo no
        longer match. The identity records it, so an index never mixes the two.
        """
        twin = copy.copy(self)
        twin.exif_orientation = False
        return twin

    # -- encoding: a stage of imagetwins.encoding.encode_files -----------------------------------------------
    @abstractmethod
    def prepare(self, img: Image.Image) -> np.ndarray:
        """One upright RGB image -> what :meth:`encode_batch` needs (runs on the decoding threads)."""

    @abstractmethod
    def encode_batch(self, prepared: list[np.ndarray]) -> np.ndarray:
        """Prepared images -> one row each."""

    @abstractmethod
    def empty(self) -> Rows:
        """Zero rows of the right shape and dtype."""

    # -- rows: what encode_batch makes, the index loads and the search takes (arrays, unless output is 'columns')
    def concat(self, parts: Sequence[Rows]) -> Rows:
        """The rows of ``parts`` one after another (batches, index chunks, Dask partitions)."""
        return np.concatenate(parts) if len(parts) else self.empty()

    def filler(self, n: int):
        """Somewhere to put at most ``n`` rows part by part (an index's chunks as it reads them): ``add(part)``
        each, then ``rows()``, what :meth:`concat` of the parts gives. This one keeps the parts and joins them at
        the end; a method whose rows are large fills its columns as they come (``copies``)."""
        return _JoinAtEnd(self.concat)

    def take(self, rows: Rows, index: np.ndarray) -> Rows:
        """The rows at ``index`` (integer positions), in that order."""
        return np.asarray(rows)[index]

    def same_rows(self, rows: Rows, digests: Sequence[str]) -> np.ndarray | None:
        """For each row the first row encoded exactly alike (so the search runs once per encoding), or None
        when all differ. ``digests``: the files' content digests (a method whose rows cannot be compared
        byte for byte may go by them: byte-identical files encode alike)."""
        return search.first_of_equal_rows(rows)

    @abstractmethod
    def identity(self) -> dict:
        """Everything that changes this method's output (stored with an index, checked on open)."""

    def for_workers(self, workers: int | None) -> Encoder:
        """This encoder set up to use ``workers`` threads for its own compute (a model's); default itself."""
        return self

    def encode_files(self, paths: Sequence[str | os.PathLike], workers: int | None = None, progress: bool = False,
                     warn: bool = True, timeout: float | None = DECODE_TIMEOUT, facts: bool = False) -> Encoded:
        """Encode files with this method alone (several methods at once: :func:`imagetwins.encoding.encode_files`);
        ``facts``: also each file's keep-rule facts from the same decode."""
        enc = self.for_workers(workers)
        out = encode_files(paths, [enc], workers=workers, progress=progress, warn=warn, timeout=timeout, facts=facts)
        return Encoded(out.paths, out.by_method[self.name], out.digests, out.failures, out.facts)

    # -- storage (the index keeps one blob per file and method) ---------------------------------------------
    @abstractmethod
    def to_blob(self, row: np.ndarray) -> bytes:
        """One row as bytes, independent of the machine's byte order."""

    @abstractmethod
    def from_blobs(self, blobs: Sequence[bytes]) -> np.ndarray:
        """Rows back from :meth:`to_blob`'s bytes."""

    #: None for a method whose stored rows are read whole (every built-in but ``copies``). A method whose blobs
    #: end in bulky parts needed only now and then (``copies``' features, ~50 KB, needed when a pair is
    #: verified) gives how many leading bytes of a blob hold the rest: the index keeps each blob's
    #: :meth:`head_of` beside it and a load reads only those (:meth:`from_heads`), the bulky parts on demand
    #: (:meth:`stored_part`).
    head_bytes: int | None = None

    def head_of(self, data: bytes, length: int) -> bytes:
        """The head the index keeps of a stored blob: what :meth:`from_heads` needs, from the blob's first
        :attr:`head_bytes` (or all of it; ``length``: its whole length). ``ValueError`` for a damaged blob."""
        raise NotImplementedError(f"{self.name} reads its stored rows whole")

    def from_heads(self, heads: Sequence[bytes], keys: Sequence[int], store) -> np.ndarray:
        """Rows from :meth:`head_of` heads; the bulky parts stay stored, ``store.get(key, part)`` reads one back.
        ``ValueError`` for a damaged head."""
        raise NotImplementedError(f"{self.name} reads its stored rows whole")

    def stored_part(self, blob: bytes, part: int) -> bytes:
        """The bulky part ``part`` of a stored blob (see :attr:`head_bytes`)."""
        raise NotImplementedError(f"{self.name} reads its stored rows whole")

    # -- scores and thresholds ----------------------------------------------------------------------------
    @abstractmethod
    def check_threshold(self, threshold: float) -> float:
        """The threshold in this method's terms (an int for bits), or ``ValueError`` saying what is allowed."""

    def threshold_or_default(self, threshold: float | None) -> float:
        return self.default_threshold if threshold is None else self.check_threshold(threshold)

    def threshold_caveat(self, threshold: float) -> str | None:
        """What a (valid) ``threshold`` gives up that people expect of this method, in one line; None when
        nothing (every method but ``copies``)."""
        return None

    @property
    def kind(self) -> ScoreKind:
        """:attr:`score_kind` as a :class:`~imagetwins.scores.ScoreKind` (a plug-in may have given its name)."""
        return ScoreKind.of(self.score_kind)

    @property
    def marks_no_recolouring(self) -> str | None:
        """Why the colour-variants choice (:class:`~imagetwins.scores.ColourVariants`: ``--colour-variants``,
        ``colour_variants=``) changes nothing for this method, in words that follow "sets apart the pairs copies
        compared after recolouring; ": it never marks a pair recoloured, comparing no pictures (a hash, ``cnn``,
        ``similar``); None for a method that does (its kind gives a match a verdict: ``copies``). The one test the
        library's ``ValueError`` and the command line's usage error share."""
        if self.kind.match_verdict is not None:
            return None
        return f"{self.name} does not compare the pictures and marks no pair recoloured"

    @property
    def score_unit(self) -> str:
        """What a score is called for people: the kind's unit."""
        return self.kind.unit

    def within(self, scores: np.ndarray, threshold: float, marks: np.ndarray | None = None) -> np.ndarray:
        """Which scores count as a match at ``threshold`` (given the pairs' ``marks``, a pair whose kept verdict is no
        copy is none: :meth:`imagetwins.scores.ScoreKind.within`)."""
        return self.kind.within(scores, threshold, marks)

    def best_first(self, scores: np.ndarray) -> np.ndarray:
        """A sort key that puts the closest match first (for ``np.lexsort``)."""
        return self.kind.best_first(scores)

    @property
    def exact_score(self) -> float:
        """The score of two byte-identical files."""
        return self.kind.exact

    def loosest_threshold(self) -> float:
        """The threshold at which every pair matches, so that any pair's score comes back."""
        return self.kind.loosest(64)

    @abstractmethod
    def sweep_thresholds(self) -> list[float]:
        """Thresholds ``imagetwins tune`` tries, loosest last."""

    # -- search ---------------------------------------------------------------------------------------------
    @abstractmethod
    def pairs(self, encodings: Rows, threshold: float, workers: int | None = None, progress: bool = False,
              paths: Sequence[str] | None = None, pair_scores: PairScores | None = None) -> search.Pairs:
        """All matching pairs ``i < j`` of ``encodings``, each with its score.

        ``paths`` (the files the rows came from, when known) lets a method re-score candidate pairs
        by looking at the images again (a verification stage): ``copies`` looks at the files of the pairs its stored
        features cannot decide (about one per 1,000 images); without ``paths`` those keep the features' score (a
        re-shot may be called a copy), for this call alone (kept nowhere: a call with ``paths`` looks), and one
        warning says how many. The hash and CNN methods do not need it.
        ``pair_scores`` is None unless the method has a :attr:`pair_score_version`: then the scores already
        known for pairs of these rows (``lookup(left, right)``, NaN where unknown), and where to keep
        new ones (``remember(left, right, scores)``; only scores made with all the method could look at).
        """

    @abstractmethod
    def query(self, queries: Rows, database: Rows, threshold: float, workers: int | None = None,
              query_paths: Sequence[str] | None = None, database_paths: Sequence[str] | None = None,
              pair_scores: PairScores | None = None) -> search.Pairs:
        """All matching ``(query row, database row)`` pairs, each with its score (``pair_scores``: as in
        :meth:`pairs`, ``left`` indexing the queries and ``right`` the database)."""

    def score_pairs(self, rows: Rows, left: np.ndarray, right: np.ndarray, workers: int | None = None,
                    paths: Sequence[str] | None = None, pair_scores: PairScores | None = None
                    ) -> search.Pairs | None:
        """The scores of pairs ``(left[k], right[k])`` of ``rows`` that :meth:`pairs` did not return, for a stage
        after the search that needs them (the keep stage: a grouped file against its group's keeper), or None: this
        method's search returns every pair within the threshold (a hash's, a vector's), so a pair it did not return
        is no match (every built-in but ``copies``, whose search proposes candidates and checks only those: a pair
        never proposed is unknown until checked). Scores as :meth:`pairs` gives them, every pair returned (within
        the threshold or not); ``pair_scores``, ``paths`` and ``workers`` as there."""
        return None

    def check_pair(self, rows: Rows, paths: Sequence[str] | None = None) -> Any | None:
        """The look at the pictures behind this method's score of rows 0 and 1 (``imagetwins explain``): a
        :class:`imagetwins.verify.Verification` with its matches for a method that verifies, None for one that
        compares encodings alone (every built-in but ``copies``). ``paths``: the rows' files, for a check that may
        read them (as the search, given its ``paths``, does)."""
        return None

    def on_canvas(self, rows: Rows) -> np.ndarray | None:
        """Which rows hold a picture this method found on a canvas (cut out of a background, a screenshot's bars, a
        rotated copy's grown canvas: ``copies``' alternates), one bool a row; None for a method that looks for
        none (every built-in but ``copies``). The keep stage asks :meth:`framed_pictures` of those rows only."""
        return None

    def framed_pictures(self, rows: Rows, left: np.ndarray, right: np.ndarray, threshold: float,
                        paths: Sequence[str] | None = None) -> np.ndarray | None:
        """For each pair ``(left[k], right[k])`` of ``rows``, how many of row ``left[k]``'s file pixels hold row
        ``right[k]``'s whole picture, where ``left[k]`` is that picture with a frame of no scene around it (a canvas,
        a background, a screenshot's bars and caption), or a part of its scene so framed while ``right[k]`` shows more
        scene around that part (then ``right[k]``'s picture at the scale ``left[k]`` holds the part; at ``right[k]``'s
        own size where ``left[k]``'s picture is ``right[k]``'s enlarged, as ``copies`` reads in the files); 0 where it
        is not (a crop of it holds more of the scene around it), or the two are no copy at ``threshold``; NaN where the
        check cannot answer this run (``copies``: the pair wants its files and no look at them decided it), an answer
        the keep stage keeps nowhere. The keep stage ranks such a file after the one whose whole frame is the picture.
        None: this method does not look at the pictures (every built-in but ``copies``); ``paths`` name the rows in
        warnings (``copies``: and are the files it looks at)."""
        return None

    @property
    def framed_version(self) -> str | None:
        """What :meth:`framed_pictures`' answers depend on beyond the rows' contents (the keep stage keeps them by it,
        between runs, where it is not None); None by default: they are not kept."""
        return None

    def shows_more(self, rows: Rows, left: int, right: int, threshold: float,
                   paths: Sequence[str] | None = None) -> bool | None:
        """Whether row ``left``'s file shows scene row ``right``'s lacks (``right`` is a crop of it, no frame added),
        the two copies at ``threshold``: the keep stage keeps such a file beside a crop kept in a reference folder.
        None: this method does not look at the pictures (every built-in but ``copies``)."""
        return None

    def score_basis(self, rows: Rows) -> str | None:
        """Why this method's search scores rows 0 and 1 without the look :meth:`check_pair` takes, in words
        (``copies``: a pair whose hashes are close enough to be sure is a copy unchecked), or None: the score is
        the look's own (``imagetwins explain`` then shows one number for the pair)."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: {self.output}, {self.score_kind}, t={self.default_threshold}>"


class BitsEncoder(Encoder):
    """A method whose rows are ``nbits``-bit hashes (uint64 words) compared by Hamming distance.

    Subclasses give :meth:`prepare` and :meth:`encode_batch` (returning ``(N,)`` uint64 for 64 bits,
    ``(N, nbits // 64)`` otherwise) and :meth:`identity`.
    """

    output = "bits"
    score_kind = DISTANCE
    nbits: int = 64

    @property
    def words(self) -> int:
        return self.nbits // 64

    def empty(self) -> np.ndarray:
        return np.empty((0,) if self.words == 1 else (0, self.words), dtype=np.uint64)

    def to_blob(self, row: np.ndarray) -> bytes:
        return np.ascontiguousarray(row).astype("<u8").tobytes()

    def from_blobs(self, blobs: Sequence[bytes]) -> np.ndarray:
        flat = np.frombuffer(b"".join(blobs), dtype="<u8").astype(np.uint64)
        return flat if self.words == 1 else flat.reshape(-1, self.words)

    def check_threshold(self, threshold: float) -> int:
        return self.kind.check_threshold(threshold, self.nbits, self.name)

    def loosest_threshold(self) -> int:
        return self.kind.loosest(self.nbits)

    def sweep_thresholds(self) -> list[int]:
        # 0..24 of 64 bits; the same share (in steps of 1/64 of the width) for wider hashes
        if self.nbits == 64:
            return list(range(25))
        return list(range(0, int(self.nbits * 0.47) + 1, self.words))

    def pairs(self, encodings: np.ndarray, threshold: float, workers: int | None = None, progress: bool = False,
              paths: Sequence[str] | None = None, pair_scores: PairScores | None = None) -> search.Pairs:
        return search.hamming_pairs(encodings, int(threshold), workers, progress=progress)

    def query(self, queries: np.ndarray, database: np.ndarray, threshold: float, workers: int | None = None,
              query_paths: Sequence[str] | None = None, database_paths: Sequence[str] | None = None,
              pair_scores: PairScores | None = None) -> search.Pairs:
        return search.hamming_query(queries, database, int(threshold), workers)


class VectorEncoder(Encoder):
    """A method whose rows are L2-normalised float32 vectors compared by cosine similarity."""

    output = "vectors"
    score_kind = SIMILARITY
    batch_size = 32

    def empty(self) -> np.ndarray:
        return np.empty((0, 0), np.float32)

    def concat(self, parts: Sequence[np.ndarray]) -> np.ndarray:
        # zero rows join any others: empty() cannot know the model's width, and a batch whose files all hold contents
        # encoded before (a backup folder's byte copies, 32 or more after their originals) encodes no row of its own
        filled = [p for p in parts if len(p)]
        return np.concatenate(filled) if filled else (parts[0] if len(parts) else self.empty())

    def to_blob(self, row: np.ndarray) -> bytes:
        return np.asarray(row).astype("<f4").tobytes()

    def from_blobs(self, blobs: Sequence[bytes]) -> np.ndarray:
        dim = len(blobs[0]) // 4 if blobs else 0
        return np.frombuffer(b"".join(blobs), dtype="<f4").astype(np.float32).reshape(-1, dim)

    def check_threshold(self, threshold: float) -> float:
        return self.kind.check_threshold(threshold, method=self.name)

    def sweep_thresholds(self) -> list[float]:
        return [round(x, 2) for x in np.arange(0.99, 0.59, -0.01)]

    def pairs(self, encodings: np.ndarray, threshold: float, workers: int | None = None, progress: bool = False,
              paths: Sequence[str] | None = None, pair_scores: PairScores | None = None) -> search.Pairs:
        if not len(encodings):
            return search.Pairs.empty(np.float32, SIMILARITY)
        return search.cosine_pairs(encodings, threshold, progress=progress)

    def query(self, queries: np.ndarray, database: np.ndarray, threshold: float, workers: int | None = None,
              query_paths: Sequence[str] | None = None, database_paths: Sequence[str] | None = None,
              pair_scores: PairScores | None = None) -> search.Pairs:
        if not len(queries) or not len(database):
            return search.Pairs.empty(np.float32, SIMILARITY)
        return search.cosine_query(queries, database, threshold)


class _JoinAtEnd:
    """:meth:`Encoder.filler`'s default: the parts kept, joined by ``concat`` when the rows are asked for."""

    def __init__(self, concat) -> None:
        self._concat, self._parts = concat, []

    def add(self, part) -> None:
        if len(part):
            self._parts.append(part)

    def rows(self):
        return self._concat(self._parts)
