"""The ``copies`` method: candidates from a hash and a CNN, each confirmed by geometric verification.

Neither stage alone is a copy detector. The dihedral hash is precise but blind to crops and small
rotations; the CNN sees through those but calls different photos of one kind of subject alike. Here
both only *propose* pairs, generously, and :mod:`imagetwins.verify` decides:

- the dihedral hash proposes pairs within :data:`HASH_CANDIDATE` bits; those within :data:`HASH_SURE`
  are copies (the hash is exact about them, and it is what finds flat images that have no features to
  match), checked only beyond :data:`HASH_UNCHECKED` bits, where two shots from nearly the same spot can
  be that near: the check overrules the hash only where it sees another capture; of the others each
  image keeps its :data:`HASH_PER_ROW` closest, so the checks per image do not grow with the library;
- the CNN (one orientation; the hash and the verification handle flips and turns), run at
  :data:`CNN_SIDE` pixels, proposes each image's :data:`TOP_K` nearest neighbours with cosine similarity
  >= :data:`CNN_CANDIDATE`, those after the first :data:`CNN_NEAR` only where the image is in the neighbour's
  own list too (:data:`CNN_MUTUAL`), so a crowd of look-alikes costs at most ``TOP_K`` checks per image;
- every proposed pair is verified; its score is the verification confidence (1.0 for hash-sure pairs the
  check did not overrule).

Each file is decoded once for all three encodings (:class:`CopyRecord`); the registered method is
:class:`imagetwins.encoders.copies.CopiesEncoder`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import hashlib
import json
import math
import os
import queue
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np

from imagetwins import search
from imagetwins._pipe_workers import end_with_parent, exception_line
from imagetwins.candidates import KEY_BYTES, CandidateMemo, closest_hash_pairs, search_rows
from imagetwins.io import CostNotice, ImageReadError, decode_plan, reduced_decode_side, warn_line
from imagetwins.pairscores import PairScores
from imagetwins.scores import CONFIDENCE, Verdict, from_stored, stored_score, stored_scores, stored_valid
from imagetwins.spill import SpillFile, current_spill
from imagetwins.text import loads_json
from imagetwins.timing import stage
from imagetwins.verify import (
    DEFAULT_CONFIDENCE,
    DETAIL_CAP,
    FRAMING_ANGLE,
    LOOK_BYTES_PER_PIXEL,
    LOOK_FLAT_SCALE,
    LOOK_MAX_SIDE,
    LOOK_SIDE,
    MIN_MATCHES,
    NOT_ONE_CAPTURE,
    RECOLOURED_SHARE,
    SIGNATURE_BINS,
    SIGNATURES_DIFFER,
    ImageFeatures,
    QuickLooks,
    Verification,
    colour_signature_of,
    features_keypoints,
    features_length,
    is_page,
    look_at_files,
    off_camera_axes,
    order_key,
    pasted_share,
    scene_around_cut,
    unexplained_detail,
    verify_header_bytes,
    verify_pair,
)
from imagetwins.workers import thread_count

__all__ = [
    "CNN_CANDIDATE",
    "CNN_MUTUAL",
    "CNN_NEAR",
    "CNN_SIDE",
    "COPIES_METHOD",
    "CopyRecord",
    "CopyRows",
    "DEFAULT_CONFIDENCE",
    "HASH_CANDIDATE",
    "HASH_PER_ROW",
    "HASH_OVERRULE",
    "HASH_OVERRULE_COVER",
    "HASH_SURE",
    "HASH_UNCHECKED",
    "TOP_K",
    "VECTOR_DTYPE",
    "candidate_pairs",
    "alternates",
    "capture_of",
    "different_captures",
    "framed_pictures",
    "shows_more",
    "candidate_query",
    "check_pairs",
    "copy_pairs",
    "copy_query",
    "scored_candidates",
    "stack_rows",
    "verify_pairs",
    "VerifyProgress",
    "verify_records",
]

#: the method's name on the command line and in the index
COPIES_METHOD = "copies"
#: dihedral distances (of 256 bits) at or under which a pair is a copy without a check (but see HASH_UNCHECKED)
HASH_SURE = 40
#: hash-sure pairs farther than this are checked too, and the check overrules the hash where it sees another capture:
#: it aligned the two pictures (:attr:`~imagetwins.verify.Verification.same_scene`), gives at most HASH_OVERRULE, and
#: one frame shows part of the scene the other lacks (it covers less than HASH_OVERRULE_COVER of it: the camera moved).
#: Two shots of one scene from nearly the same spot can be that near (ukbench 00061/00062, bottles on a shelf, 38
#: bits: 63 % of the overlap agrees, confidence 0.26, frame cover 0.91; 0.49 and 0.95 against a re-saved copy of
#: 00061: the cover is known to a few hundredths); copies this near keep one frame (the fit split's copies within
#: HASH_SURE: 95 % cover 0.98 or more of each other; those checked at 0.7 or less, two heavy edits stacked such as
#: meme text over a colour shift, 0.99-1.0) (BENCHMARKS.md, "Hash-sure pairs checked"). Where the
#: check cannot align them (flat pictures without features) the hash's word stands; a pair whose images are already
#: joined by nearer pairs (a crowd of near-identical images) is not checked (:func:`_sure_band`)
HASH_UNCHECKED = 30
HASH_OVERRULE = 0.7
HASH_OVERRULE_COVER = 0.975
#: dihedral distances at or under which a pair is proposed for verification
HASH_CANDIDATE = 96
#: hash pairs farther than HASH_SURE kept per image (and per picture cut from a canvas): its closest, a pair staying
#: when it is among the closest of either image (:func:`imagetwins.candidates.closest_hash_pairs`). Within
#: HASH_CANDIDATE bits the pairs of an image grow with the library (1 an image among 1,272 real photos, ~80 at
#: 100,000); look-alikes nearer than a copy at 80 bits are ~2 among 100,000 real photos. Pairs within HASH_SURE are
#: all kept: they are copies without a check, and groups of near-identical images stay whole
HASH_PER_ROW = 8
#: cosine similarity (CNN, one orientation, projected: CNN_PROJECTION) at or above which a neighbour is proposed: the
#: same share of unrelated pairs over it (1.1 % of the family sets' 760,088 pairs) as over 0.5 for the raw 128 px
#: vector (unrelated pairs' median 0.01 here against 0.30 there)
CNN_CANDIDATE = 0.23
#: CNN neighbours proposed per image
TOP_K = 6
#: ... the first CNN_NEAR of them whatever the other image's list; a neighbour after those only where the image is in
#: that neighbour's list too, among its first CNN_MUTUAL (:func:`_first_others`). A copy and its original are near
#: each other from both sides; an image many others list at their 3rd-6th place (a hub: a busy picture, one of a
#: library of look-alike compositions) often lists none of them. The home library's 1,000-photo first scan: 6,468 ->
#: 5,745 checks; the proposer's fit and held-out pools (bench_proposer.py --votes) lose no copy, quality.py every row
#: the same. CNN_MUTUAL 10 or 16 cut more (4,509 / 5,066 checks) but lost copies among look-alikes (held out: 7 and 3
#: of 432): BENCHMARKS.md, "Neighbours from both sides"
CNN_NEAR = 2
CNN_MUTUAL = 32
#: the CNN vectors held in memory for the proposal: half floats (1 KB an image for the 512 projected numbers instead
#: of 2 KB; stored as float32). Measured on the raw 1,280-number vectors (before the projection): on
#: 1,472 photos (photos-public, ukbench, holidays-half and 200 edited copies) the pairs proposed and found are
#: those of float32 vectors (benchmarks/bench_scale.py --check-vectors); similarities differ by < 1e-4
VECTOR_DTYPE = np.float16
#: input side of the CNN here: it only proposes, so it runs at 96 px rather than the ``cnn`` method's 224
#: (128 -> 96 with CNN_PROJECTION, below; 224 -> 160: half the cost; on the fit split 7 of 943 copies found at 224
#: were no longer proposed, held out 1 of 661. 160 -> 128 (issue #25): ~2.5 of ~8.5 CPU ms an image less, and
#: `quality.py --families` found every family cell, precision and negative the same, the descriptor votes and the hash
#: proposing what the CNN no longer ranks first)
CNN_SIDE = 96
#: the proposer's vector is its pooled CNN vector projected by a learned matrix (the "learned whitening" of Radenovic
#: et al.: the directions a copy's edits move the vector shrunk, 1,280 -> 512 dimensions; ``models/`` holds the mean
#: and matrix, learned by benchmarks/probe_cnn_whitening.py --training wide from edits of pictures no measured set
#: holds). At 96 px it ranks more hash-blind copies among an image's TOP_K at 10,000-100,000 images than the raw
#: 128 px vector, for ~1.3 CPU ms an image less (BENCHMARKS.md, "The proposer CNN at 96 px with a projection learned
#: from a wider generator"). Similarities there are centred (unrelated pairs ~0 instead of ~0.3): CNN_CANDIDATE is
#: the bar over which as large a share of unrelated pairs lies as over 0.5 before
CNN_PROJECTION = "copies_projection_96.npz"
#: the descriptor votes (:func:`voted_pairs`): each image's (and each picture cut from a canvas's) strongest
#: VOTE_STRONGEST ORB descriptors vote, and as many of its mirror's are voted for; VOTE_TABLES keys a descriptor
#: (:mod:`imagetwins.search.votes`: 4 of its 32 bytes each); a bucket compared pair by pair up to VOTE_CROWD
#: entries (beyond: each entry against its first VOTE_CROWD, in the order of the images' hashes); an image pair
#: proposed when it has VOTE_LEAST votes or more, each image proposing its VOTE_K most voted partners outside its
#: group (one per group) among its VOTE_DEPTH most voted. Copies far from their original for the CNN (below
#: CNN_CANDIDATE, or behind look-alikes) share descriptors with it all the same (BENCHMARKS.md, "Descriptor votes")
VOTE_STRONGEST = 64
VOTE_TABLES = 8
VOTE_CROWD = 32
#: entry pairs a vote table compares at most, per entry (:func:`imagetwins.search.votes.descriptor_votes`' budget):
#: where more keys collide (a large library: 4,000 mosaics of crops of the shared photos compare 0.59 an entry at a
#: crowd of 32, 1,830 photos and copies 0.12), the crowd is halved, so the search grows linearly
VOTE_BUDGET = 0.5
#: the most images a search votes among: the vote search runs over every row on each run (not kept between runs), and
#: its cost grows faster than the rows (4,000 small mosaics: 1.5 CPU s, 0.8 M image pairs with a vote, doubling
#: ~2.7x); a larger library is proposed without the votes until an incremental vote state keeps it bounded
VOTE_MAX_ROWS = 10_000
VOTE_LEAST = 3
VOTE_K = 2
VOTE_DEPTH = 8
#: bytes of one vote block (:func:`vote_block`): the two counts, then the descriptors and the mirror's, padded
VOTE_WIDTH = 2 + 2 * VOTE_STRONGEST * 32


class CopyRecord:
    """One image encoded for the copies method: its dihedral hash, CNN vector and verification features.

    The features (about 50 KB) are needed only when a proposed pair is verified, so a record made by the
    encoder, read from an index or unpickled keeps them in this process's spill file
    (:func:`imagetwins.spill.current_spill`) and holds only where they are: :attr:`features` reads them
    back on each use. A record made from an :class:`~imagetwins.verify.ImageFeatures` object keeps that
    object; so does one made when no spill file can be written (a warning says so once).

    An image whose picture sits on a canvas (:mod:`imagetwins.canvas`: a rotated copy's grown canvas, a
    screenshot's bars, a picture on a background) also has an *alternate*: the hash, vector and features of
    the picture cut out and turned upright (``alt_hash``, ``alt_vector``, :attr:`alt_features`; None without).
    """

    __slots__ = ("hash", "vector", "_features", "_spill", "_offset", "_length", "alt_hash", "alt_vector",
                 "_alt_features", "_alt_offset", "_alt_length", "capture", "votes", "alt_votes")

    def __init__(self, hash: np.ndarray, vector: np.ndarray, features: ImageFeatures,
                 alt: tuple[np.ndarray, np.ndarray, ImageFeatures] | None = None) -> None:
        self.hash = hash  # (4,) uint64
        self.vector = vector  # (d,) float32, one orientation, L2-normalised
        self._features: ImageFeatures | None = features
        self._spill: SpillFile | None = None
        self._offset = self._length = 0
        self.alt_hash, self.alt_vector, self._alt_features = alt if alt is not None else (None, None, None)
        self._alt_offset = self._alt_length = 0
        self.capture: tuple[str, ...] | None = None  # the camera's capture stamp (capture_of), if any
        # the descriptors that vote (vote_block), of the image and of its picture cut from a canvas
        self.votes = vote_block(features)
        self.alt_votes = None if alt is None else vote_block(alt[2])

    @classmethod
    def spilled(cls, hash: np.ndarray, vector: np.ndarray, features: bytes,
                alt: tuple[np.ndarray, np.ndarray, bytes] | None = None,
                votes: tuple[np.ndarray, np.ndarray | None] | None = None) -> CopyRecord:
        """A record whose features (:meth:`ImageFeatures.to_bytes`, already checked) go to the spill file.
        ``votes``: the image's and the alternate's :func:`vote_block` (made from the features when not given)."""
        rec = cls.__new__(cls)
        rec.hash, rec.vector = hash, vector
        if votes is None:
            votes = (vote_block(ImageFeatures.from_bytes(features)),
                     None if alt is None else vote_block(ImageFeatures.from_bytes(alt[2])))
        rec.votes, rec.alt_votes = votes
        rec._features, rec._spill, rec._offset, rec._length = None, None, 0, len(features)
        rec.alt_hash, rec.alt_vector, rec._alt_features = (None, None, None) if alt is None else (alt[0], alt[1], None)
        rec._alt_offset, rec._alt_length = 0, 0 if alt is None else len(alt[2])
        rec.capture = None
        try:
            spill = current_spill()
            rec._offset = spill.put(features)
            if alt is not None:
                rec._alt_offset = spill.put(alt[2])
            rec._spill = spill
        except OSError as exc:
            _warn_unspilled(exc)
            rec._features = ImageFeatures.from_bytes(features)
            if alt is not None:
                rec._alt_features = ImageFeatures.from_bytes(alt[2])
        return rec

    @property
    def features(self) -> ImageFeatures:
        """The verification features (read back from the spill file when they are kept there)."""
        if self._features is not None:
            return self._features
        return ImageFeatures.from_bytes(self._spill.get(self._offset, self._length))

    @property
    def alt_features(self) -> ImageFeatures | None:
        """The features of the picture cut out of its canvas, or None when the image has no canvas."""
        if self.alt_hash is None:
            return None
        if self._alt_features is not None:
            return self._alt_features
        return ImageFeatures.from_bytes(self._spill.get(self._alt_offset, self._alt_length))

    def colour_thumbnail(self) -> np.ndarray | None:
        """The features' colour thumbnail (:attr:`ImageFeatures.colour`) alone: read back, nothing else of the
        features parsed, the alternate's not read (what :func:`imagetwins.verify.colour_signature` needs)."""
        if self._features is not None:
            return self._features.colour
        return ImageFeatures.colour_from_bytes(self._spill.get(self._offset, self._length))

    def grey_thumbnail(self) -> np.ndarray:
        """The features' grey thumbnail (:attr:`ImageFeatures.thumbnail`) alone: read back, nothing else of the
        features parsed (what :func:`imagetwins.verify.is_page` needs)."""
        if self._features is not None:
            return self._features.thumbnail
        return ImageFeatures.thumbnail_from_bytes(self._spill.get(self._offset, self._length))

    def features_ref(self) -> tuple[Any, int, int]:
        """Where the features are: (the store, and where in it; or the features object held, 0, 0). The same for
        every record of one row (:meth:`CopyRows.record` makes a new view each time)."""
        if self._features is not None:
            return self._features, 0, 0
        return self._spill, self._offset, self._length

    @property
    def in_memory(self) -> bool:
        """Whether this record holds its features in memory (rather than in the spill file)."""
        return self._features is not None

    def features_bytes(self) -> bytes:
        """:meth:`ImageFeatures.to_bytes` of the features."""
        if self._features is not None:
            return self._features.to_bytes()
        return self._spill.get(self._offset, self._length)

    def _alt_bytes(self) -> bytes | None:
        if self.alt_hash is None:
            return None
        if self._alt_features is not None:
            return self._alt_features.to_bytes()
        return self._spill.get(self._alt_offset, self._alt_length)

    def to_bytes(self) -> bytes:
        """Hash, vector length and vector, the alternate when there is one, then the features.

        The vector length's top bit says an alternate follows the vector: its hash, vector (same length),
        the length of its features (uint32) and its features.
        """
        d = len(self.vector)
        alt = self._alt_bytes()
        head = np.ascontiguousarray(self.hash).astype("<u8").tobytes() + np.uint32(
            d | (_ALT_FLAG if alt is not None else 0)).astype("<u4").tobytes()
        parts = [head, np.asarray(self.vector).astype("<f4").tobytes()]
        if self.capture is not None:
            stamp = json.dumps(list(self.capture)).encode()
            parts += [np.uint32(len(stamp)).astype("<u4").tobytes(), stamp]
            parts[0] = head[:32] + np.uint32(d | _CAPTURE_FLAG | (_ALT_FLAG if alt is not None else 0)).astype(
                "<u4").tobytes()
        if alt is not None:
            parts += [np.ascontiguousarray(self.alt_hash).astype("<u8").tobytes(),
                      np.asarray(self.alt_vector).astype("<f4").tobytes(), np.uint32(len(alt)).astype("<u4").tobytes(),
                      alt]
        parts.append(self.features_bytes())
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> CopyRecord:
        """Inverse of :meth:`to_bytes` (``ValueError`` for anything else); the features go to the spill file."""
        head = _parse_head(data)
        alt = None
        if head.alt_hash is not None:
            raw_alt = bytes(data[head.alt_at:head.alt_at + head.alt_length])
            ImageFeatures.from_bytes(raw_alt)  # checks them
            alt = (head.alt_hash, head.alt_vector, raw_alt)
        raw = bytes(data[head.features_at:])
        features = ImageFeatures.from_bytes(raw)  # checks them (and reads the .npz written before)
        if raw[:2] == b"PK":
            raw = features.to_bytes()  # spilled in today's format, read back fast
        rec = cls.spilled(head.hash, head.vector, raw, alt, (vote_block(features), None if alt is None else
                                                               vote_block(ImageFeatures.from_bytes(alt[2]))))
        rec.capture = head.capture
        return rec

    @classmethod
    def from_head(cls, data: bytes, length: int, store, key: int) -> CopyRecord:
        """A record from the start of a stored :meth:`to_bytes` (``data``: at least everything before the
        features, :data:`HEAD_BYTES` do) of ``length`` bytes in all, whose features stay where they are stored:
        ``store.get(key, 0)`` gives them (``store.get(key, 1)`` the alternate's) when a pair is verified. The
        lengths the features' headers declare are checked against ``length`` where the head holds them
        (``ValueError`` for a truncated or odd record)."""
        head = _parse_head(data, length)
        rec = cls.__new__(cls)
        rec.hash, rec.vector, rec.capture = head.hash, head.vector, head.capture
        rec.votes = rec.alt_votes = None  # (read with the features: vote_blocks_of)
        rec._features, rec._spill, rec._offset, rec._length = None, store, key, 0
        rec.alt_hash, rec.alt_vector, rec._alt_features = head.alt_hash, head.alt_vector, None
        rec._alt_offset, rec._alt_length = key, 1
        return rec

    def __getstate__(self) -> tuple:
        # pickled (Dask) with the features themselves: the spill file is this process's alone
        alt = None if self.alt_hash is None else (self.alt_hash, self.alt_vector, self._alt_bytes())
        return self.hash, self.vector, self.features_bytes(), alt, self.capture, vote_blocks_of(self)

    def __setstate__(self, state: tuple) -> None:
        hash, vector, raw = state[:3]
        rec = CopyRecord.spilled(hash, vector, raw, state[3] if len(state) > 3 else None,
                                 state[5] if len(state) > 5 else None)
        self.hash, self.vector, self.capture = rec.hash, rec.vector, state[4] if len(state) > 4 else None
        self.votes, self.alt_votes = rec.votes, rec.alt_votes
        self._features, self._spill, self._offset, self._length = rec._features, rec._spill, rec._offset, rec._length
        self.alt_hash, self.alt_vector, self._alt_features = rec.alt_hash, rec.alt_vector, rec._alt_features
        self._alt_offset, self._alt_length = rec._alt_offset, rec._alt_length

    def __repr__(self) -> str:
        where = "in memory" if self._features is not None else f"spilled, {self._length} bytes"
        alt = ", with the picture cut from its canvas" if self.alt_hash is not None else ""
        return f"CopyRecord(hash={self.hash!r}, vector=<{len(self.vector)} floats>, features {where}{alt})"


def vote_block(features: ImageFeatures | bytes | None) -> np.ndarray:
    """The descriptors of one image (or picture cut from a canvas) that the descriptor votes use, as one block of
    :data:`VOTE_WIDTH` bytes: how many of its strongest descriptors and of its mirror's there are (at most
    :data:`VOTE_STRONGEST` each; 2 bytes), then those descriptors and the mirror's, each padded to
    ``VOTE_STRONGEST * 32`` bytes. Features unknown (None): a block of none."""
    out = np.zeros(VOTE_WIDTH, np.uint8)
    if features is None:
        return out
    if not isinstance(features, ImageFeatures):
        features = ImageFeatures.from_bytes(features)
    at = 2
    for k, d in enumerate((features.descriptors, features.mirror_descriptors)):
        d = np.asarray(d)
        if d.ndim == 2 and d.shape[1] == 32 and d.dtype == np.uint8:
            d = d[:VOTE_STRONGEST]
            out[k] = len(d)
            out[at:at + d.size] = d.ravel()
        at += VOTE_STRONGEST * 32
    return out


def vote_descriptors(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(descriptors (n, 32) uint8, which of them vote (n,) bool) of a :func:`vote_block`: the image's strongest
    vote, its mirror's are only voted for."""
    q, m = int(block[0]), int(block[1])
    body = block[2:].reshape(2, VOTE_STRONGEST, 32)
    return np.concatenate([body[0, :q], body[1, :m]]), np.r_[np.ones(q, bool), np.zeros(m, bool)]


def vote_blocks_of(rec: CopyRecord) -> tuple[np.ndarray, np.ndarray | None]:
    """A record's vote blocks (the image's, the alternate's or None), made from its features where it holds none."""
    votes = rec.votes if rec.votes is not None else vote_block(rec.features)
    alt = rec.alt_votes
    if alt is None and rec.alt_hash is not None:
        alt = vote_block(rec.alt_features)
    return votes, alt


#: the vector length's top bit in :meth:`CopyRecord.to_bytes`: an alternate follows; the next: a capture stamp
_ALT_FLAG = 1 << 31
_CAPTURE_FLAG = 1 << 30

#: bytes at the start of a stored record that hold everything but the features (hash, vector, capture stamp, the
#: alternate's hash and vector) for vectors of up to 1,280 floats and stamps of up to 2 KB: what an index reads
#: of each record when it loads them (the features, ~50 KB, are read when a pair is verified)
HEAD_BYTES = 2 * (36 + 4 * 1280) + 40 + 2048 + verify_header_bytes()


class _Head:
    __slots__ = ("hash", "vector", "capture", "alt_hash", "alt_vector", "alt_at", "alt_length", "features_at")


def _parse_head(data: bytes, length: int | None = None) -> _Head:
    """Where the parts of a stored record lie (:meth:`CopyRecord.to_bytes`); ``data`` may be only its start and
    ``length`` its whole length. ``ValueError`` for anything that is not a record's start."""
    length = len(data) if length is None else length
    if len(data) < 36:
        raise ValueError("not a copies record (too short)")
    out = _Head()
    out.hash = np.frombuffer(data[:32], "<u8").astype(np.uint64)
    d = int(np.frombuffer(data[32:36], "<u4")[0])
    has_alt, has_capture, d = bool(d & _ALT_FLAG), bool(d & _CAPTURE_FLAG), d & ~(_ALT_FLAG | _CAPTURE_FLAG)
    end = 36 + 4 * d
    if len(data) < end:
        raise ValueError("not a copies record (truncated vector)")
    out.vector = _unit_vector(data[36:end]).astype(VECTOR_DTYPE)
    out.capture = None
    if has_capture:
        n = int(np.frombuffer(data[end:end + 4], "<u4")[0]) if len(data) >= end + 4 else -1
        if n < 0 or len(data) < end + 4 + n:
            raise ValueError("not a copies record (damaged capture stamp)")
        try:
            out.capture = tuple(str(x) for x in loads_json(bytes(data[end + 4:end + 4 + n])))
        except (ValueError, TypeError) as exc:
            raise ValueError("not a copies record (damaged capture stamp)") from exc
        end += 4 + n
    out.alt_hash = out.alt_vector = None
    out.alt_at = out.alt_length = 0
    if has_alt:
        at = end + 32 + 4 * d + 4
        if len(data) < at:
            raise ValueError("not a copies record (truncated alternate)")
        out.alt_hash = np.frombuffer(data[end:end + 32], "<u8").astype(np.uint64)
        out.alt_vector = _unit_vector(data[end + 32:end + 32 + 4 * d]).astype(VECTOR_DTYPE)
        out.alt_at, out.alt_length = at, int(np.frombuffer(data[at - 4:at], "<u4")[0])
        _check_features_length(data, at, out.alt_length)
        end = at + out.alt_length
        if length < end:
            raise ValueError("not a copies record (truncated alternate)")
    out.features_at = end
    _check_features_length(data, end, length - end)
    return out


def _check_features_length(data: bytes, at: int, length: int) -> None:
    """Where ``data`` holds the header of the features at ``at``: the length it declares is ``length``."""
    expected = features_length(data[at:at + verify_header_bytes()])
    if expected is not None and expected != length:
        raise ValueError("not a copies record (truncated or damaged features)")


#: the start of a row head (:func:`row_head`): an index holding heads of another layout makes them again (ITH1:
#: before the vote blocks)
ROW_HEAD_MAGIC = b"ITH2"


def row_head(data: bytes, length: int | None = None) -> bytes:
    """What loading a stored record needs, in a fixed layout an index keeps beside the record
    (:meth:`imagetwins.index.Index.load` reads these, never the record's ~50 KB of features): the magic, the
    vector length with the alternate and capture flags (uint32), the hash (4 x uint64), the vector as loaded
    (unit length, :data:`VECTOR_DTYPE`), the :func:`vote_block` of its features, then the alternate's hash, vector
    and vote block if any, then the capture stamp (uint32 length, JSON) if any. ``data``: a whole
    :meth:`CopyRecord.to_bytes` of ``length`` bytes (the vote blocks are made from its features: a start alone is
    a ``ValueError``, and the index reads the whole record); ``ValueError`` as :meth:`CopyRecord.from_head`."""
    head = _parse_head(data, length)
    if len(data) < (len(data) if length is None else length):
        raise ValueError("a row head is made from the whole record (its vote blocks from the features)")
    d = len(head.vector)
    flags = (_ALT_FLAG if head.alt_hash is not None else 0) | (_CAPTURE_FLAG if head.capture is not None else 0)
    parts = [ROW_HEAD_MAGIC, np.uint32(d | flags).astype("<u4").tobytes(), head.hash.astype("<u8").tobytes(),
             head.vector.astype("<f2").tobytes(), vote_block(bytes(data[head.features_at:])).tobytes()]
    if head.alt_hash is not None:
        parts += [head.alt_hash.astype("<u8").tobytes(), head.alt_vector.astype("<f2").tobytes(),
                  vote_block(bytes(data[head.alt_at:head.alt_at + head.alt_length])).tobytes()]
    if head.capture is not None:
        stamp = json.dumps(list(head.capture)).encode()
        parts += [np.uint32(len(stamp)).astype("<u4").tobytes(), stamp]
    return b"".join(parts)


class CopyRowsFiller:
    """:class:`CopyRows` of at most ``n`` rows filled part by part, as an index reads its chunks: the columns are
    allocated once and each part copied in as it comes, so the rows are never held twice (:meth:`CopyRows.concat`
    holds its parts and their join at once: ~250 MB more at 100,000 rows). :meth:`add` the parts, then
    :meth:`rows`; the result is what :meth:`CopyRows.concat` of the same parts gives."""

    def __init__(self, n: int) -> None:
        self._n, self._filled = n, 0
        self._hashes = np.empty((n, 4), np.uint64)
        # the vote blocks, held where the rows are few enough to vote (VOTE_MAX_ROWS: 4 KB a row, 400 MB at 100,000)
        self._votes: np.ndarray | None = np.empty((n, VOTE_WIDTH), np.uint8) if n <= VOTE_MAX_ROWS else None
        self._where = np.empty((n, 3), np.int64)
        self._alt_of = np.full(n, -1, np.int64)
        self._vectors: np.ndarray | None = None  # (n, d), made by the first part (its d and dtype)
        self._stores: list = []
        self._held: list | None = None
        self._captures: list = []
        self._alts: list[CopyRows] = []  # the parts' canvas pictures (few): joined after the images' vectors
        self._alt_count = 0

    def add(self, part: CopyRows) -> None:
        k = len(part)
        if not k:
            return
        at = self._filled
        if at + k > self._n:
            raise ValueError(f"more than the {self._n} rows expected")
        if self._vectors is None:
            self._vectors = np.empty((self._n, part.vectors.shape[1]), part.vectors.dtype)
        self._hashes[at:at + k] = part.hashes
        if self._votes is not None:
            if part.votes is None:
                self._votes = None
            else:
                self._votes[at:at + k] = part.votes
        self._vectors[at:at + k] = part.vectors
        remap = np.full(len(part._stores) + 1, -1, np.int64)  # the last entry: -1 (held in memory) stays -1
        for j, store in enumerate(part._stores):
            i = next((i for i, s in enumerate(self._stores) if s is store), -1)
            if i < 0:
                i = len(self._stores)
                self._stores.append(store)
            remap[j] = i
        self._where[at:at + k] = part._where
        self._where[at:at + k, 0] = remap[part._where[:, 0]]
        if part._held is not None and self._held is None:
            self._held = [None] * at
        if self._held is not None:
            self._held += part._held or [None] * k
        self._alt_of[at:at + k] = np.where(part.alt_of >= 0, part.alt_of + self._alt_count, -1)
        if len(part.alt_hashes):
            self._alts.append(part)
            self._alt_count += len(part.alt_hashes)
        self._captures += part.captures
        self._filled = at + k

    def rows(self) -> CopyRows:
        """The rows added, in order (this filler's columns: it is done)."""
        n, vectors = self._filled, self._vectors
        if vectors is None:
            return CopyRows.empty()
        # the images' vectors, then their canvas pictures', in one array (see CopyRows.of): grown in place (a
        # large array's realloc moves its pages, it does not copy them)
        vectors.resize((n + self._alt_count, vectors.shape[1]), refcheck=False)
        alt_where, alt_held, alt_hashes, alt_votes, at = [], [], [], [], n
        for p in self._alts:
            remap = np.array([next(i for i, s in enumerate(self._stores) if s is store) for store in p._stores]
                             + [-1], np.int64)
            w = p._alt_where.copy()
            w[:, 0] = remap[w[:, 0]]
            alt_where.append(w)
            alt_hashes.append(p.alt_hashes)
            alt_votes.append(p.alt_votes)
            vectors[at:at + len(p.alt_hashes)] = p.alt_vectors
            at += len(p.alt_hashes)
        if any(p._alt_held is not None for p in self._alts):
            alt_held = [x for p in self._alts for x in (p._alt_held or [None] * len(p.alt_hashes))]
        else:
            alt_held = None
        e3 = np.empty((0, 3), np.int64)
        rows = CopyRows(self._hashes[:n], vectors[:n], tuple(self._stores), self._where[:n],
                        self._held, self._alt_of[:n],
                        np.concatenate(alt_hashes) if alt_hashes else np.empty((0, 4), np.uint64), vectors[n:],
                        np.concatenate(alt_where) if alt_where else e3, alt_held, self._captures,
                        None if self._votes is None else self._votes[:n],
                        None if self._votes is None else np.concatenate(alt_votes) if alt_votes
                        else np.empty((0, VOTE_WIDTH), np.uint8))
        self._alts = []
        return rows


def _joined_votes(parts: Sequence[CopyRows], n: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The vote blocks of ``parts`` (``n`` rows in all) joined, or None where a part holds none or the rows are more
    than :data:`VOTE_MAX_ROWS`."""
    if n > VOTE_MAX_ROWS or any(p.votes is None for p in parts):
        return None, None
    return np.concatenate([p.votes for p in parts]), np.concatenate([p.alt_votes for p in parts])


def rows_from_heads(heads: Sequence[bytes], keys: Sequence[int], store) -> CopyRows:
    """Rows from :func:`row_head` heads, their features left where they are stored: ``store.get(key, 0)``
    gives a row's (``store.get(key, 1)`` its alternate's) when a pair is verified. Parsed as columns (no object
    per row: 100,000 heads in well under a second); ``ValueError`` for anything :func:`row_head` did not write."""
    n = len(heads)
    if n == 0:
        return CopyRows.empty()
    first = heads[0]
    if len(first) < 8 or first[:4] != ROW_HEAD_MAGIC:
        raise ValueError("not a copies row head")
    d = int.from_bytes(first[4:8], "little") & ~(_ALT_FLAG | _CAPTURE_FLAG)
    fixed = 40 + 2 * d + VOTE_WIDTH
    alt_end = fixed + 32 + 2 * d + VOTE_WIDTH  # where an alternate's part ends
    block = np.frombuffer(b"".join([h[:fixed] for h in heads]), np.uint8)
    if block.size != n * fixed:
        raise ValueError("copies row heads of different lengths")
    block = block.reshape(n, fixed)
    if (block[:, :4] != np.frombuffer(ROW_HEAD_MAGIC, np.uint8)).any():
        raise ValueError("not a copies row head")
    words = block[:, 4:8].copy().view("<u4").ravel()
    if ((words & ~np.uint32(_ALT_FLAG | _CAPTURE_FLAG)) != d).any():
        raise ValueError("copies row heads of different vector lengths")
    has_alt = (words & np.uint32(_ALT_FLAG)) != 0
    has_capture = (words & np.uint32(_CAPTURE_FLAG)) != 0
    lengths = np.fromiter(map(len, heads), np.int64, n)
    if (lengths[~(has_alt | has_capture)] != fixed).any():
        raise ValueError("copies row heads of damaged lengths")
    with_alt = np.flatnonzero(has_alt)
    both = np.empty((n + len(with_alt), d), VECTOR_DTYPE)  # images' vectors, then their canvas pictures' (see of)
    both[:n] = block[:, 40:40 + 2 * d].copy().view("<f2")
    votes = block[:, 40 + 2 * d:].copy()
    alt_hashes = np.empty((len(with_alt), 4), np.uint64)
    alt_votes = np.empty((len(with_alt), VOTE_WIDTH), np.uint8)
    captures: list = [None] * n
    for k, i in enumerate(with_alt.tolist()):
        h = heads[i]
        if len(h) < alt_end:
            raise ValueError("copies row head with a truncated alternate")
        alt_hashes[k] = np.frombuffer(h[fixed:fixed + 32], "<u8")
        both[n + k] = np.frombuffer(h[fixed + 32:fixed + 32 + 2 * d], "<f2")
        alt_votes[k] = np.frombuffer(h[fixed + 32 + 2 * d:alt_end], np.uint8)
    stamped = np.flatnonzero(has_capture).tolist()
    stamps = []
    for i in stamped:
        h = heads[i]
        at = alt_end if has_alt[i] else fixed
        size = int.from_bytes(h[at:at + 4], "little") if len(h) >= at + 4 else -1
        if size < 0 or len(h) != at + 4 + size:
            raise ValueError("copies row head with a damaged capture stamp")
        stamps.append(h[at + 4:])
    try:  # one JSON text for them all (a parse each was half the cost of a load)
        values = loads_json(b"[" + b",".join(stamps) + b"]") if stamps else []
        if len(values) != len(stamped) or not all(isinstance(v, list) for v in values):
            raise ValueError("not one stamp a row")
    except (ValueError, TypeError) as exc:
        raise ValueError("copies row head with a damaged capture stamp") from exc
    for i, value in zip(stamped, values):
        captures[i] = tuple(map(str, value))
    if (lengths[has_alt & ~has_capture] != alt_end).any():
        raise ValueError("copies row heads of damaged lengths")
    for v in (votes, alt_votes):  # (counts no vote_block can hold: a damaged head)
        if len(v) and (v[:, :2] > VOTE_STRONGEST).any():
            raise ValueError("copies row head with damaged vote blocks")
    # written from a checked record (unit length or all zero); what damage can leave is told by the bits alone (a
    # float16 exponent of all ones: inf or NaN), as a norm would need every vector made float32 (~0.1 s a 5,000)
    if ((both.view(np.uint16) & 0x7C00) == 0x7C00).any():
        raise ValueError("copies row head whose vector is not a number")
    keys = np.asarray(keys, np.int64)
    where = np.stack([np.zeros(n, np.int64), keys, np.zeros(n, np.int64)], axis=1)
    alt_where = np.stack([np.zeros(len(with_alt), np.int64), keys[with_alt], np.ones(len(with_alt), np.int64)],
                         axis=1)
    alt_of = np.full(n, -1, np.int64)
    alt_of[with_alt] = np.arange(len(with_alt))
    return CopyRows(block[:, 8:40].copy().view("<u8").astype(np.uint64), both[:n], (store,), where, None, alt_of,
                    alt_hashes, both[n:], alt_where, None, captures, votes, alt_votes)


def features_part(data: bytes, part: int) -> bytes:
    """The features of a stored record (:meth:`CopyRecord.to_bytes`): ``part`` 0 the image's, 1 its alternate's."""
    head = _parse_head(data)
    if part == 1:
        if head.alt_hash is None:
            raise ValueError("this record has no alternate")
        return bytes(data[head.alt_at:head.alt_at + head.alt_length])
    raw = bytes(data[head.features_at:])
    if raw[:2] == b"PK":  # the .npz written before: read back in today's format
        raw = ImageFeatures.from_bytes(raw).to_bytes()
    return raw


class CopyRows:
    """The rows of the ``copies`` method as columns: what its encoder makes, the index loads and the search takes.

    ``hashes`` (N, 4) uint64 (dihedral), ``vectors`` (N, d) (CNN, one orientation; :data:`VECTOR_DTYPE`), and for the
    verification features a reference into a feature store per row (:mod:`imagetwins.spill`: the store, the
    offset and the length; a row whose features could not be spilled holds them in memory). The pictures cut
    from a canvas are columns of their own: ``alt_of`` (N,) gives each row's alternate (-1: none) in
    ``alt_hashes`` / ``alt_vectors`` (M rows) and their features' references. ``captures`` is each row's camera
    stamp (:func:`capture_of`; None for most). ``votes`` (N, :data:`VOTE_WIDTH`) and ``alt_votes`` (M, ...) uint8:
    the descriptors that vote (:func:`vote_block`; 4 KB a row, so that a search never reads the features for them),
    or None: not held (rows made, loaded or joined to more than :data:`VOTE_MAX_ROWS`, which do not vote). No
    Python object per row: a million rows are a few arrays.

    ``rows[i]`` is the :class:`CopyRecord` of one row (a view: its features stay where they are),
    ``rows[index_array]`` / ``rows[a:b]`` / :meth:`take` a subset, :meth:`concat` joins parts, and iterating
    gives the records. Pickled (Dask) with the features themselves: a spill file is its process's alone.
    """

    __slots__ = ("hashes", "vectors", "_stores", "_where", "_held", "alt_of", "alt_hashes", "alt_vectors",
                 "_alt_where", "_alt_held", "captures", "votes", "alt_votes")

    def __init__(self, hashes: np.ndarray, vectors: np.ndarray, stores: tuple, where: np.ndarray,
                 held: list | None, alt_of: np.ndarray, alt_hashes: np.ndarray, alt_vectors: np.ndarray,
                 alt_where: np.ndarray, alt_held: list | None, captures: list, votes: np.ndarray | None = None,
                 alt_votes: np.ndarray | None = None) -> None:
        self.hashes, self.vectors = hashes, vectors
        self._stores, self._where, self._held = stores, where, held  # where: (store or -1 held, offset, length)
        self.alt_of, self.alt_hashes, self.alt_vectors = alt_of, alt_hashes, alt_vectors
        self._alt_where, self._alt_held = alt_where, alt_held
        self.captures = captures
        self.votes = votes
        self.alt_votes = None if votes is None else (
            np.zeros((len(alt_hashes), VOTE_WIDTH), np.uint8) if alt_votes is None else alt_votes)

    @classmethod
    def empty(cls, dim: int = 0) -> CopyRows:
        e3 = np.empty((0, 3), np.int64)
        return cls(np.empty((0, 4), np.uint64), np.empty((0, dim), VECTOR_DTYPE), (), e3, None,
                   np.empty(0, np.int64), np.empty((0, 4), np.uint64), np.empty((0, dim), VECTOR_DTYPE), e3, None, [],
                   np.empty((0, VOTE_WIDTH), np.uint8), np.empty((0, VOTE_WIDTH), np.uint8))

    @classmethod
    def of(cls, records: CopyRows | Sequence[CopyRecord]) -> CopyRows:
        """``records`` as rows: a :class:`CopyRows` as it is, a sequence of :class:`CopyRecord` stacked."""
        if isinstance(records, CopyRows):
            return records
        records = list(records)
        if not records:
            return cls.empty()
        stores: dict[int, Any] = {}

        def ref(spill, offset, length, held, row, into):
            if spill is None:
                into[row] = held
                return -1, 0, length
            return stores.setdefault(id(spill), (len(stores), spill))[0], offset, length

        held: list = [None] * len(records)
        where = np.array([ref(r._spill if r._features is None else None, r._offset, r._length, r._features, i, held)
                          for i, r in enumerate(records)], np.int64).reshape(-1, 3)
        with_alt = [i for i, r in enumerate(records) if r.alt_hash is not None]
        alt_of = np.full(len(records), -1, np.int64)
        alt_of[with_alt] = np.arange(len(with_alt))
        alt_held: list = [None] * len(with_alt)
        alt_where = np.array([ref(records[i]._spill if records[i]._alt_features is None else None,
                                  records[i]._alt_offset, records[i]._alt_length, records[i]._alt_features, k,
                                  alt_held) for k, i in enumerate(with_alt)], np.int64).reshape(-1, 3)
        # the vectors as held (VECTOR_DTYPE; records made by hand: their own), the images' and then their canvas
        # pictures' in one array, so that the search of both together copies neither (_joined)
        dtype = np.result_type(*{np.asarray(r.vector).dtype for r in records})
        both = np.empty((len(records) + len(with_alt), len(records[0].vector)), dtype)
        for i, r in enumerate(records):
            both[i] = r.vector
        for k, i in enumerate(with_alt):
            both[len(records) + k] = records[i].alt_vector
        vectors = both[:len(records)]
        blocks = [vote_blocks_of(r) for r in records] if len(records) <= VOTE_MAX_ROWS else None
        return cls(np.stack([r.hash for r in records]).astype(np.uint64), vectors,
                   tuple(s for _, s in sorted(stores.values(), key=lambda x: x[0])), where,
                   held if (where[:, 0] < 0).any() else None, alt_of,
                   np.stack([records[i].alt_hash for i in with_alt]).astype(np.uint64) if with_alt
                   else np.empty((0, 4), np.uint64),
                   both[len(records):],
                   alt_where, alt_held if len(alt_where) and (alt_where[:, 0] < 0).any() else None,
                   [r.capture for r in records], None if blocks is None else np.stack([b[0] for b in blocks]),
                   None if blocks is None else np.stack([blocks[i][1] for i in with_alt]) if with_alt
                   else np.empty((0, VOTE_WIDTH), np.uint8))

    def __len__(self) -> int:
        return len(self.hashes)

    @property
    def nbytes(self) -> int:
        """Bytes the columns hold in memory (the spilled features not counted)."""
        return sum(a.nbytes for a in (self.hashes, self.vectors, self._where, self.alt_of, self.alt_hashes,
                                      self.alt_vectors, self._alt_where, self.votes, self.alt_votes) if a is not None)

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return self.record(int(key))
        return self.take(np.arange(len(self))[key] if isinstance(key, slice) else key)

    def __iter__(self):
        return (self.record(i) for i in range(len(self)))

    def record(self, i: int) -> CopyRecord:
        """Row ``i`` as a :class:`CopyRecord` (hash and vector are views; the features stay where they are)."""
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"row {i} of {n}")
        i %= n
        rec = CopyRecord.__new__(CopyRecord)
        rec.hash, rec.vector, rec.capture = self.hashes[i], self.vectors[i], self.captures[i]
        rec.votes = None if self.votes is None else self.votes[i]
        rec._spill, rec._features, rec._offset, rec._length = self._ref(self._where[i], self._held, i)
        a = int(self.alt_of[i])
        if a < 0:
            rec.alt_hash = rec.alt_vector = rec._alt_features = rec.alt_votes = None
            rec._alt_offset = rec._alt_length = 0
        else:
            rec.alt_hash, rec.alt_vector = self.alt_hashes[a], self.alt_vectors[a]
            rec.alt_votes = None if self.alt_votes is None else self.alt_votes[a]
            spill, rec._alt_features, rec._alt_offset, rec._alt_length = self._ref(self._alt_where[a], self._alt_held,
                                                                                   a)
            if rec._spill is None:
                rec._spill = spill
        return rec

    def _ref(self, where: np.ndarray, held: list | None, k: int) -> tuple:
        store, offset, length = (int(x) for x in where)
        if store < 0:
            return None, held[k], 0, length
        return self._stores[store], None, offset, length

    def take(self, index) -> CopyRows:
        """The rows at ``index`` (an integer array or a boolean mask), in that order."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        index = index.astype(np.int64, copy=False)
        alt = self.alt_of[index]
        has = alt >= 0
        alt_rows = alt[has]
        alt_of = np.full(len(index), -1, np.int64)
        alt_of[has] = np.arange(len(alt_rows))
        return CopyRows(self.hashes[index], self.vectors[index], self._stores, self._where[index],
                        None if self._held is None else [self._held[i] for i in index.tolist()], alt_of,
                        self.alt_hashes[alt_rows], self.alt_vectors[alt_rows], self._alt_where[alt_rows],
                        None if self._alt_held is None else [self._alt_held[i] for i in alt_rows.tolist()],
                        [self.captures[i] for i in index.tolist()], None if self.votes is None else self.votes[index],
                        None if self.votes is None else self.alt_votes[alt_rows])

    @classmethod
    def concat(cls, parts: Sequence[CopyRows]) -> CopyRows:
        """The rows of ``parts`` one after the other (their feature stores shared, not copied)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        stores: list = []
        where, alt_where, alt_of = [], [], []
        offset = 0
        for p in parts:
            remap = np.full(len(p._stores) + 1, -1, np.int64)  # the last entry: -1 (held in memory) stays -1
            for j, store in enumerate(p._stores):
                k = next((k for k, s in enumerate(stores) if s is store), -1)
                if k < 0:
                    k = len(stores)
                    stores.append(store)
                remap[j] = k
            for w, into in ((p._where, where), (p._alt_where, alt_where)):
                w = w.copy()
                w[:, 0] = remap[w[:, 0]]
                into.append(w)
            alt_of.append(np.where(p.alt_of >= 0, p.alt_of + offset, -1))
            offset += len(p.alt_hashes)
        held = alt_held = None
        if any(p._held is not None for p in parts):
            held = [x for p in parts for x in (p._held or [None] * len(p))]
        if any(p._alt_held is not None for p in parts):
            alt_held = [x for p in parts for x in (p._alt_held or [None] * len(p.alt_hashes))]
        # images' vectors, then their canvas pictures', in one array (see of)
        n = sum(len(p) for p in parts)
        both = np.concatenate([p.vectors for p in parts] + [p.alt_vectors for p in parts])
        return cls(np.concatenate([p.hashes for p in parts]), both[:n],
                   tuple(stores), np.concatenate(where), held, np.concatenate(alt_of),
                   np.concatenate([p.alt_hashes for p in parts]), both[n:],
                   np.concatenate(alt_where), alt_held, [c for p in parts for c in p.captures],
                   *_joined_votes(parts, n))

    @classmethod
    def filler(cls, n: int) -> CopyRowsFiller:
        """A :class:`CopyRowsFiller` for at most ``n`` rows."""
        return CopyRowsFiller(n)

    def alternates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(owner row, hashes (M, 4), vectors (M, d)) of the pictures cut from a canvas, by owner row."""
        owners = np.flatnonzero(self.alt_of >= 0).astype(np.int64)
        at = self.alt_of[owners]
        if np.array_equal(at, np.arange(len(self.alt_hashes))):  # in owner order (as made and picked): no copy
            return owners, self.alt_hashes, self.alt_vectors
        return owners, self.alt_hashes[at], self.alt_vectors[at]

    def __getstate__(self) -> tuple:
        return list(self)  # records pickle with their features (CopyRecord.__getstate__)

    def __setstate__(self, records: list) -> None:
        rows = CopyRows.of(records)
        CopyRows.__init__(self, rows.hashes, rows.vectors, rows._stores, rows._where, rows._held, rows.alt_of,
                          rows.alt_hashes, rows.alt_vectors, rows._alt_where, rows._alt_held, rows.captures,
                          rows.votes, rows.alt_votes)

    def __repr__(self) -> str:
        return (f"CopyRows({len(self)} rows, {self.vectors.shape[1] if self.vectors.ndim == 2 else 0}-d vectors, "
                f"{len(self.alt_hashes)} pictures cut from a canvas)")

def first_of_equal_records(rows: CopyRows | Sequence[CopyRecord], same_as: np.ndarray | None = None
                           ) -> np.ndarray | None:
    """For each row the first row whose record is the very same: hash, vector, capture stamp, the picture cut from a
    canvas and the features, byte for byte (so every check of the one is the check of the other); None when all
    differ. ``same_as``: rows already known alike (byte-identical files, :func:`imagetwins.search.first_of_equal_keys`
    of their digests), each taken as its first row.

    One picture saved again with other metadata (a shop's "no image" placeholder, a PNG with another text chunk)
    is other bytes but the same pixels: its records are alike, and every two of them are hash-sure, so N of them
    made N(N-1)/2 pairs (2,000: 2 million pairs, 24.5 CPU s and 1.26 GB). Only rows whose hash equals another's are
    looked at further, and the features (~50 KB) are read only where hash, vector, stamp and alternate are equal."""
    rows = CopyRows.of(rows)
    n = len(rows)
    base = np.arange(n, dtype=np.int64) if same_as is None else np.asarray(same_as, np.int64)
    firsts = np.flatnonzero(base == np.arange(n))
    by_hash = search.first_of_equal_rows(rows.hashes[firsts]) if len(firsts) > 1 else None
    if by_hash is None:
        return same_as
    shared = np.flatnonzero(np.bincount(by_hash, minlength=len(firsts))[by_hash] > 1)
    heads: dict[tuple, list[int]] = {}
    for i in firsts[shared].tolist():
        a = int(rows.alt_of[i])
        alt = b"" if a < 0 else rows.alt_hashes[a].tobytes() + np.ascontiguousarray(rows.alt_vectors[a]).tobytes()
        key = (rows.hashes[i].tobytes(), np.ascontiguousarray(rows.vectors[i]).tobytes(), rows.captures[i], alt)
        heads.setdefault(key, []).append(i)
    first_of = np.arange(n, dtype=np.int64)
    for alike in heads.values():
        if len(alike) < 2:
            continue
        by_features: dict[bytes, int] = {}
        for i in alike:  # (in row order: the first row of each record is its smallest)
            rec = rows.record(i)
            try:
                digest = hashlib.sha256(rec.features_bytes())
                digest.update(rec._alt_bytes() or b"")
            except Exception:  # (its stored features changed during the run, another process updated the index, or
                continue  # are damaged: a row of its own, whose checks say so once, as every such row's)
            first_of[i] = by_features.setdefault(digest.digest(), i)
    merged = first_of[base]
    return None if (merged == np.arange(n)).all() else merged


_EXIF_IFD = 0x8769
#: EXIF tags of a capture: Make, Model (IFD0); DateTimeOriginal, SubSecTimeOriginal, BodySerialNumber (Exif IFD)
_MAKE, _MODEL, _DATETIME_ORIGINAL, _SUBSEC_ORIGINAL, _BODY_SERIAL = 0x010F, 0x0110, 0x9003, 0x9291, 0xA431


def capture_of(img) -> tuple[str, ...] | None:
    """The camera's stamp of the moment a photo was taken: (make, model, DateTimeOriginal, SubSecTimeOriginal,
    body serial; '' where absent), or None when the file does not say which camera took it when (no Make,
    Model or DateTimeOriginal: edited exports, screenshots and most copies)."""
    try:
        exif = img.getexif()
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:  # damaged EXIF says nothing
        return None

    def text(value) -> str:
        if isinstance(value, bytes):
            value = value.decode("latin-1", "replace")
        return str(value).strip().strip("\x00").strip() if value is not None else ""

    stamp = (text(exif.get(_MAKE)), text(exif.get(_MODEL)), text(sub.get(_DATETIME_ORIGINAL)),
             text(sub.get(_SUBSEC_ORIGINAL)), text(sub.get(_BODY_SERIAL)))
    return stamp if stamp[0] and stamp[1] and stamp[2] else None


def different_captures(a, b) -> bool:
    """Whether two records are camera originals of two different moments (a re-shot, never a copy): both
    name the same camera (make, model and, where both have one, serial) and their capture times differ
    (to the second, or in the sub-seconds where both have them). A copy keeps its original's stamp or has
    none; a photo of the same scene seconds later, a burst frame or a bracketed exposure has its own."""
    ca, cb = _capture(a), _capture(b)
    if ca is None or cb is None or ca[:2] != cb[:2] or (ca[4] and cb[4] and ca[4] != cb[4]):
        return False
    return ca[2] != cb[2] or bool(ca[3] and cb[3] and ca[3] != cb[3])


#: a flat picture (a solid colour, a blank "no image" card): its grey and colour thumbnails spread (standard deviation)
#: under FLAT_SPREAD levels of 255 and it has fewer keypoints than the check needs (verify.MIN_MATCHES). Its hash
#: says nothing of its colour (a solid red, blue, white and near-black picture hashed 0 bits apart, called copies at
#: 1.0 and removed but one), so two flat pictures hash-sure are copies only where their mean grey and colour levels
#: are within FLAT_TONE_APART of each other (a re-encoded or resized copy moves them a level or two)
FLAT_SPREAD = 6.0
FLAT_TONE_APART = 16.0


def flat_tone(x: CopyRecord | ImageFeatures) -> tuple[float, tuple[float, float] | None] | None:
    """A flat picture's (see :data:`FLAT_SPREAD`) mean grey level and mean colour (None for a grey image); None
    for any other picture. A record's features are read only where their header counts too few keypoints."""
    if isinstance(x, CopyRecord):
        try:  # (the header too: a row another process's index update changed since it was loaded is a ValueError)
            store, offset, length = x.features_ref()
            if not isinstance(store, ImageFeatures):
                n = features_keypoints(store.get(offset, min(length, verify_header_bytes())))
                if n is not None and n >= MIN_MATCHES:
                    return None
            features = x.features
        except (OSError, ValueError):  # damaged features: the check names them
            return None
    else:
        features = x
    if len(features.points) >= MIN_MATCHES:
        return None
    grey = np.asarray(features.thumbnail, np.float32)
    if grey.size == 0 or float(grey.std()) >= FLAT_SPREAD:
        return None
    colour = None
    if features.colour is not None:
        c = np.asarray(features.colour, np.float32).reshape(-1, 2)
        if c.size == 0 or float(c.std(axis=0).max()) >= FLAT_SPREAD:
            return None
        colour = (float(c[:, 0].mean()), float(c[:, 1].mean()))
    return float(grey.mean()), colour


def flat_pictures_apart(ta, tb) -> bool:
    """Whether two :func:`flat_tone` results are two flat pictures of other tones (never copies of each other)."""
    if ta is None or tb is None:
        return False
    if abs(ta[0] - tb[0]) > FLAT_TONE_APART:
        return True
    return ta[1] is not None and tb[1] is not None and max(abs(ta[1][0] - tb[1][0]),
                                                            abs(ta[1][1] - tb[1][1])) > FLAT_TONE_APART


def _capture(x: CopyRecord | ImageFeatures) -> tuple[str, ...] | None:
    """A record's capture stamp; bare features (no file behind them) have none."""
    return x.capture if isinstance(x, CopyRecord) else None


def _unit_vector(data: bytes) -> np.ndarray:
    v = np.frombuffer(data, "<f4").astype(np.float32)
    norm = float(np.dot(v.astype(np.float64), v.astype(np.float64)))
    if not (abs(norm - 1.0) < 1e-3 or norm == 0.0):  # L2-normalised (or all zero); NaN fails too
        raise ValueError("not a copies record (the vector is not of unit length)")
    return v


_warned_unspilled = False


def _warn_unspilled(exc: OSError) -> None:
    global _warned_unspilled
    if not _warned_unspilled:
        _warned_unspilled = True
        warn_line(f"copies: cannot write the scratch file for image features ({exc}); keeping them in memory",
                  CostNotice)


def stack(records: CopyRows | Sequence[CopyRecord]) -> tuple[np.ndarray, np.ndarray, CopyRows]:
    """Rows or records -> (hashes (N, 4) uint64, vectors (N, d) float32, the rows: their features are read on
    demand); the columns of :class:`CopyRows` as they are, no copy."""
    rows = CopyRows.of(records)
    return rows.hashes, rows.vectors, rows


def alternates(records: CopyRows | Sequence[CopyRecord]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows' alternates (the picture cut from its canvas): (owner row, hashes (M, 4), vectors (M, d))."""
    return CopyRows.of(records).alternates()


def _unique(keys: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One entry per key, the smallest distance kept."""
    order = search.lexsort_ints((dist, keys))
    keys, dist = keys[order], dist[order]
    first = np.ones(len(keys), bool)
    first[1:] = keys[1:] != keys[:-1]
    return keys[first], dist[first]


def _extended(hashes: np.ndarray, vectors: np.ndarray, alt) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows and alternates searched together: (hashes, vectors, owner row of each). Vectors that already lie one
    after the other in one array (:func:`stack_rows`) are not copied."""
    owner = np.arange(len(hashes), dtype=np.int64)
    if alt is None or not len(alt[0]):
        return hashes, vectors, owner
    return (np.concatenate([hashes, alt[1]]), _joined(vectors, alt[2]), np.concatenate([owner, alt[0]]))


def _joined(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` and ``b`` one after the other: their common array when they are its two halves, else a new one."""
    base = a.base
    if (base is not None and b.base is base and a.dtype == b.dtype == base.dtype and base.ndim == 2
            and len(base) == len(a) + len(b) and a.flags.c_contiguous and b.flags.c_contiguous
            and a.__array_interface__["data"][0] == base.__array_interface__["data"][0]
            and b.__array_interface__["data"][0] == a.__array_interface__["data"][0] + a.nbytes):
        return base
    return np.concatenate([a, b.astype(a.dtype)])


def stack_rows(records: CopyRows | Sequence[CopyRecord]) -> tuple[np.ndarray, np.ndarray, CopyRows, tuple]:
    """:func:`stack` and :func:`alternates` at once: (hashes, vectors, rows, alternates), the columns of
    :class:`CopyRows` as they are; rows made in one go (:meth:`CopyRows.of`, the encoder, the index) hold the
    vectors of images and of their pictures cut from a canvas in one array, so the search of both together
    copies none of them (:func:`_joined`)."""
    rows = CopyRows.of(records)
    return rows.hashes, rows.vectors, rows, rows.alternates()


def _first_others(owner_of_row: np.ndarray, nb_owner: np.ndarray, sims: np.ndarray, top_k: int,
                  cnn_candidate: float) -> np.ndarray:
    """Mask of each row's first ``top_k`` neighbours that are other images (not the row's own alternate) at
    ``cnn_candidate`` or more, those after the first :data:`CNN_NEAR` only where the row's image is in the
    neighbour's list as well, among its first :data:`CNN_MUTUAL` rows (any of its rows': an image and the picture cut
    from its canvas are one image here; :func:`candidate_pairs` searches lists that deep)."""
    ok = (nb_owner != owner_of_row[:, None]) & (sims >= cnn_candidate)
    place = np.cumsum(ok, axis=1)
    take = ok & (place <= top_k)
    later = take & (place > CNN_NEAR)
    if later.any():
        images = int(max(owner_of_row.max(), nb_owner.max())) + 1
        # (image, neighbour image) as one number: the pairs each image lists within CNN_MUTUAL, against those the
        # later places ask for the other way round
        listed = np.unique((owner_of_row[:, None].astype(np.int64) * images + nb_owner)[ok & (place <= CNN_MUTUAL)])
        asked = nb_owner[later].astype(np.int64) * images + np.broadcast_to(owner_of_row[:, None], later.shape)[later]
        at = np.searchsorted(listed, asked).clip(max=len(listed) - 1)
        take[later] = listed[at] == asked
    return take


def candidate_pairs(hashes: np.ndarray, vectors: np.ndarray, workers: int | None = None,
                    hash_candidate: int = HASH_CANDIDATE, cnn_candidate: float = CNN_CANDIDATE,
                    top_k: int = TOP_K, alt=None, neighbours: int | None = None, memo: CandidateMemo | None = None,
                    hash_per_row: int | None = HASH_PER_ROW, hash_sure: int = HASH_SURE):
    """Pairs ``i < j`` proposed by the hash or the CNN: (left, right, dihedral distance; 256 where unknown).

    The hash pairs farther than ``hash_sure`` are the ``hash_per_row`` closest of each searched row
    (:func:`imagetwins.candidates.closest_hash_pairs`; None: all).

    ``alt``: :func:`alternates` of the records, searched with them (a pair one of whose alternates proposed
    it gets distance 256: it is always verified). ``neighbours``: also return the CNN neighbour lists
    (``(owner of each searched row, neighbour owners (rows, neighbours), similarities)``, ``neighbours`` deep)
    that :func:`copy_pairs` proposes from again when a crowd of copies starved an image. ``memo``
    (:class:`CandidateMemo`): the search of an earlier run over these contents, so that only new rows are
    searched (:mod:`imagetwins.candidates`); this search is kept in it.
    """
    n = len(hashes)
    if n < 2:
        e = np.empty(0, np.int64)
        out = (e, e, np.empty(0, np.int32))
        return out + (None,) if neighbours else out
    eh, ev, owner = _extended(hashes, vectors, alt)
    extra = 1 if len(owner) > n else 0  # an image's own alternate takes a place among its neighbours
    depth = max(top_k + extra, CNN_MUTUAL if top_k > CNN_NEAR else 0, neighbours or 0)
    # everything against everything, or with a memo of an earlier run only the new rows (imagetwins.candidates)
    keys = memo.row_keys(owner, n) if memo is not None else np.zeros(len(owner), f"S{KEY_BYTES}")
    state = memo.state(hash_candidate, depth, hash_per_row, hash_sure) if memo is not None else None
    h_left, h_right, h_dist, idx, sims, counts = search_rows(eh, ev, keys, hash_candidate, depth, workers, state,
                                                             hash_per_row, hash_sure)
    if memo is not None:
        memo.searched(keys, h_left, h_right, h_dist, idx, sims, counts)
    hl, hr = owner[h_left], owner[h_right]
    hd = np.where((h_left >= n) | (h_right >= n), 256, h_dist).astype(np.int32)
    other = hl != hr
    hl, hr, hd = hl[other], hr[other], hd[other]
    nb = owner[idx].astype(np.int32)  # kept for the re-proposal, compactly (32 neighbours: 128 bytes an image)
    del idx
    take = _first_others(owner, nb, sims, top_k, cnn_candidate)
    a, b = np.broadcast_to(owner[:, None], nb.shape)[take], nb[take]
    cl, cr = np.minimum(a, b), np.maximum(a, b)
    keys = np.concatenate([np.minimum(hl, hr) * n + np.maximum(hl, hr), cl * n + cr])
    dist = np.concatenate([hd, np.full(len(cl), 256, np.int32)])
    keys, dist = _unique(keys, dist)
    out = (keys // n, keys % n, dist)
    # the re-proposal only asks whether a neighbour is near enough: a mask, not the similarities
    return out + ((owner, nb, sims >= cnn_candidate),) if neighbours else out


def candidate_query(query_hashes: np.ndarray, query_vectors: np.ndarray, hashes: np.ndarray, vectors: np.ndarray,
                    workers: int | None = None, hash_candidate: int = HASH_CANDIDATE,
                    cnn_candidate: float = CNN_CANDIDATE, top_k: int = TOP_K, query_alt=None, alt=None,
                    hash_per_row: int | None = HASH_PER_ROW, hash_sure: int = HASH_SURE
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(query, database)`` pairs proposed by the hash or the CNN, as :func:`candidate_pairs` (the hash pairs
    bounded as there, each query row and each database row counting as a row)."""
    n, nq = len(hashes), len(query_hashes)
    if not nq or not n:
        e = np.empty(0, np.int64)
        return e, e, np.empty(0, np.int32)
    qh, qv, qown = _extended(query_hashes, query_vectors, query_alt)
    dh, dv, down = _extended(hashes, vectors, alt)
    hp = search.dihedral_query(qh, dh, hash_candidate, workers)
    bound = closest_hash_pairs(hp.left, hp.right + len(qh), hp.distance.astype(np.int32), len(qh) + len(dh),
                               hash_per_row, hash_sure)
    hp = search.Pairs(hp.left[bound], hp.right[bound], hp.distance[bound])
    hd = np.where((hp.left >= nq) | (hp.right >= n), 256, hp.distance).astype(np.int32)
    idx, sims = search.cosine_topk(qv, dv, k=top_k + (1 if len(down) > n else 0))
    nb = down[idx]
    take = sims >= cnn_candidate
    rows = np.broadcast_to(qown[:, None], nb.shape)[take]
    keys = np.concatenate([qown[hp.left] * n + down[hp.right], rows * n + nb[take]])
    dist = np.concatenate([hd, np.full(int(take.sum()), 256, np.int32)])
    keys, dist = _unique(keys, dist)
    return keys // n, keys % n, dist


def _sides(x) -> tuple[ImageFeatures, ImageFeatures | None]:
    """(features, features of the picture cut from its canvas or None) of a record or of bare features."""
    if isinstance(x, ImageFeatures):
        return x, None
    return x.features, x.alt_features


#: records whose features one verification run keeps read (:class:`FeaturesCache`): about 50 KB each
FEATURES_CACHED = 256


class FeaturesCache:
    """The features of the records a run of checks has read lately, kept for the next pair that needs them.

    A record is checked against several candidates (6 CNN neighbours, hash neighbours, re-proposals), and
    each check read its features back from the spill file, parsed them and hashed them for
    :func:`~imagetwins.verify.order_key` again. The last ``size`` records' features stay here (candidate
    pairs come ordered by their left image, so its checks follow each other); memory is bounded by ``size``.
    Thread-safe; a record is known by its identity, so a cache lives no longer than the records it serves.
    """

    def __init__(self, size: int = FEATURES_CACHED) -> None:
        self.size = size
        self._items: OrderedDict[int, tuple[Any, tuple[ImageFeatures, ImageFeatures | None]]] = OrderedDict()
        self._lock = threading.Lock()

    def sides(self, x) -> tuple[ImageFeatures, ImageFeatures | None]:
        """:func:`_sides` of ``x``, from the cache when it holds them."""
        if isinstance(x, ImageFeatures) or self.size <= 0:
            return _sides(x)
        # known by where its features are (every view of one row of CopyRows is a new record object)
        where, a, b = x.features_ref()
        key = (id(where), a, b)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] is where:
                self._items.move_to_end(key)
                return hit[1]
        sides = _sides(x)
        with self._lock:
            self._items[key] = (where, sides)  # the store itself too: its id cannot be another's while it is here
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return sides


def verify_records(a, b, keep_matches: bool = False, cache: FeaturesCache | None = None, *,
                   confidence_only: bool = False, looks: QuickLooks | None = None) -> Verification:
    """The check of a pair of records (or bare features): the whole images and, where that falls short of
    :data:`DEFAULT_CONFIDENCE` and an image is on a canvas, the picture cut out of it (a screenshot's
    picture may be a sixth of the screen): the best of those; ``cut_from_canvas`` says which was used.
    Symmetric, as :func:`~imagetwins.verify.verify_pair`. Two captures (:func:`different_captures`) are 0.
    ``cache``: where the records' features are kept between checks (:class:`FeaturesCache`). ``confidence_only``:
    as :func:`~imagetwins.verify.verify_pair`'s (the same confidence; what it does not need left unmeasured).
    ``looks``: the quick looks of many pairs made together, as :func:`quick_looks` makes them (the same check)."""
    if different_captures(a, b):
        return Verification(different_captures=True)
    fa, aa = _sides(a) if cache is None else cache.sides(a)
    fb, ab = _sides(b) if cache is None else cache.sides(b)
    best = whole = verify_pair(fa, fb, keep_matches, confidence_only=confidence_only, looks=looks)
    # the pictures cut out only where the whole images fall short, stage by stage; each stage is symmetric in
    # a and b, so the answer is too
    for tries in (((aa, fb, (True, False)), (fa, ab, (False, True))), ((aa, ab, (True, True)),)):
        if best.confidence >= DEFAULT_CONFIDENCE or best.pages_differ:  # (a picture cut from a page leaves out
            break  # the content the pages differ by)
        for x, y, cut in tries:
            if x is not None and y is not None:
                v = verify_pair(x, y, keep_matches, confidence_only=confidence_only, looks=looks)
                if v.confidence > best.confidence and not _cut_from_a_scene(v, cut, (fa, aa), (fb, ab), whole):
                    best, v.cut_from_canvas = v, cut
    return best


def _cut_from_a_scene(v: Verification, cut: tuple[bool, bool], a: tuple, b: tuple, whole: Verification) -> bool:
    """Whether ``v``, the check of one image's picture cut from its canvas against the other image whole (``cut``:
    which side was cut; ``a``, ``b``: each side's (features, picture cut from its canvas)), is no check of a picture
    on a canvas: its file shows a scene of its own around the cut where the other file shows more picture
    (:func:`~imagetwins.verify.scene_around_cut`: a tile of a mosaic the canvas finder took for a picture, matched in
    another mosaic holding a tile of the same photo). Looked at only where the cut would make a copy more likely
    than not (over :data:`~imagetwins.verify.NOT_ONE_CAPTURE`), one side cut (two cuts compare two pictures).
    ``whole``: the check of the two whole images (its alignment may place the cut in its file)."""
    if v.confidence <= NOT_ONE_CAPTURE or cut == (True, True):
        return False
    if cut == (True, False):
        return scene_around_cut(a[0], a[1], b[0], v, whole)
    return scene_around_cut(b[0], b[1], a[0], v.swapped(), whole.swapped())


#: what a check answers, for a pair the detail rule leaves to the files (:attr:`Verification.wants_files`), on top of
#: its kept score: a worker process's float then says it, and :func:`_confidences` looks at the pair's files
#: (:func:`looked_at`) before the score is kept anywhere; a kept score lies in [-5, 5]
#: (:func:`~imagetwins.scores.stored_score`), an answer over LOOK_PENDING / 2 is pending
LOOK_PENDING = 20.0


def answer_of(v: Verification) -> float:
    """A check's answer as the confidence-only verification passes it on: :attr:`Verification.kept`, plus
    :data:`LOOK_PENDING` where the pair waits for a look at its files."""
    return v.kept + LOOK_PENDING if v.wants_files else v.kept


def looked_at(features_a: Sequence, features_b: Sequence, i: int, j: int,
               v: Verification | None = None) -> tuple[Verification | None, bool]:
    """The check of ``features_a[i]`` and ``features_b[j]`` (``v``, else made again: the same check) with the detail
    rule decided in the files' own pixels where the features left it undecided
    (:func:`~imagetwins.verify.look_at_files`), and whether it is decided: False where the pair wants its files and
    they are not known here (no paths named, :func:`naming`) or the look failed (a file unreadable, changed since its
    scan, a FIFO, a remote Dask path: None from :func:`~imagetwins.verify.look_at_files`), so its score is not kept: the
    features' score serves this run, and a run that can read the files looks again."""
    if v is None:
        v = _verify_or_none(features_a, features_b, i, j)
    if v is None or not v.wants_files:
        return v, True
    paths_a, paths_b = _names.get()
    if paths_a is None or paths_b is None:
        _left_undecided(i, j, named=False)
        return v, False
    looked = look_at_files(v, _sides(features_a[i])[0], _sides(features_b[j])[0], paths_a[i], paths_b[j])
    if looked is None:
        _left_undecided(i, j, named=True)
        return v, False
    return looked, True


#: the pairs :func:`looked_at` left undecided inside :func:`collecting_undecided` (``(i, j, named)``: ``named`` False
#: where no paths were named, True where the look failed); None outside it
_undecided: ContextVar[list | None] = ContextVar("copies_undecided", default=None)


def _left_undecided(i: int, j: int, named: bool) -> None:
    got = _undecided.get()
    if got is not None:
        got.append((i, j, named))


@contextmanager
def collecting_undecided() -> Iterator[list[tuple[int, int, bool]]]:
    """The pairs the searches made inside leave undecided (:func:`looked_at`: the pair wants its files and no look
    decided it), as ``(i, j, named)``; each is also handed on to a collection around this one. Their features' score
    serves that run alone and is kept nowhere: not in the pair scores, not in a kept candidate search
    (:func:`_scored_candidates`), so that a run naming the files looks."""
    outer = _undecided.get()
    got: list[tuple[int, int, bool]] = []
    token = _undecided.set(got)
    try:
        yield got
    finally:
        _undecided.reset(token)
        if outer is not None:
            outer.extend(got)


class VerifyProgress:
    """The verification's progress, over a whole search: ``progress`` as in
    :func:`imagetwins.encoding.encode_files`. ``True``: a tqdm bar per round of pairs to verify, each with its own
    total ("verifying", then "verifying (round 2)" ...: a round of re-proposals known only once the round before is
    verified, one bar whose total grew went back, 93 % -> 72 %), made at the round's first pair to check and closed
    when the next begins or by :meth:`close`. A caller's tqdm-like bar: one bar, whose ``total`` grows by the pairs
    each round verifies and which is advanced, never closed, here. ``False``: nothing."""

    def __init__(self, progress: bool | Any = False):
        self.progress = progress
        self.bar: Any = None
        self.rounds = 0

    def add(self, n: int) -> None:
        """``n`` more pairs to verify (a round of re-proposals after the first round's)."""
        if not self.progress or not n:
            return
        if self.progress is True:
            from imagetwins.progress import progress_bar

            left = 0  # (pairs of the round before not verified yet: counted in this one's total)
            if self.bar is not None:
                left = max(0, (self.bar.total or 0) - self.bar.n)
                self.bar.close()
            self.rounds += 1
            # made with its total: a bar drawn before it has one reads "verifying: 0pair" (tqdm's count without a
            # total, unit glued on)
            self.bar = progress_bar(total=n + left, unit="pair",
                                    desc="verifying" if self.rounds == 1 else f"verifying (round {self.rounds})")
            return
        self.bar = self.progress
        self.bar.total = (getattr(self.bar, "total", None) or 0) + n
        if hasattr(self.bar, "refresh"):
            self.bar.refresh()

    def update(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None and self.bar is not self.progress:
            self.bar.close()


#: pairs verified between two writes of their scores to the store (a first find of 100,000 images verifies ~1 M
#: pairs, an hour on 2 cores: one stopped keeps what it verified, up to the last chunk)
VERIFY_CHUNK = 4096


def _verified_confidences(features_a: Sequence, features_b: Sequence, left: np.ndarray, right: np.ndarray,
                          workers: int | None, chunk: int | None = None, progress: Any = None,
                          done: Callable[[slice | np.ndarray, np.ndarray], None] | None = None) -> np.ndarray:
    """:func:`verify_pairs`' confidences alone (with their marks, as a store keeps them: :attr:`Verification.kept`),
    ``chunk`` pairs at a time (default :data:`VERIFY_CHUNK`; memory: the
    floats, not the checks); ``done(span, confidences)`` is called as each chunk is verified (to keep its scores;
    ``span``: a slice of the pairs, or their indices). :data:`PROCESS_PAIRS` pairs or more on two CPUs or more
    (``workers`` as for threads) are checked in worker processes (:func:`_verify_in_processes`: the same
    confidences); what they leave (a process that could not start or ended: one line) is checked here. From
    :data:`FORK_PAIRS` pairs up to that, half of them are checked by a forked copy of this process
    (:func:`_verify_with_fork`, :func:`_forks_for`: the same confidences; ``done`` then called once)."""
    chunk = chunk or VERIFY_CHUNK
    out = np.empty(len(left), np.float64)
    rest: np.ndarray | None = None  # None: all of them
    processes = _processes_for(len(left), workers)
    if processes:
        answered = _verify_in_processes(features_a, features_b, left, right, processes, chunk, out, progress, done)
        if answered.all():
            return out
        rest = np.flatnonzero(~answered)
    elif _forks_for(len(left), workers) and _verify_with_fork(features_a, features_b, left, right, out, progress):
        # (fewer pairs than PROCESS_PAIRS: one pair in two checked by a forked copy of this process meanwhile; one
        # chunk, VERIFY_CHUNK > PROCESS_PAIRS, kept once all of it is answered)
        if done is not None:
            done(slice(None), out)
        return out
    for k in range(0, len(left) if rest is None else len(rest), chunk):
        span = slice(k, k + chunk) if rest is None else rest[k:k + chunk]
        out[span] = [np.nan if v is None else answer_of(v)  # None: damaged features (one warning)
                     for v in verify_pairs(features_a, features_b, left[span], right[span], workers, progress,
                                           confidence_only=True)]
        if done is not None:
            done(span, out[span])
    return out


#: pairs from which a verification runs in worker processes (fewer are checked on this process's thread and a forked
#: copy of it, :data:`FORK_PAIRS`: starting a process, which imports numpy, OpenCV and onnxruntime, costs ~0.5 CPU s,
#: and each batch's rows are pickled down a pipe; a first find of 1,000 camera photos, 6,468 checks, verified in 6.2
#: CPU s in two processes and in 4.6 forked, the same confidences)
PROCESS_PAIRS = 10_000
#: pairs sent to a worker process at a time (their rows' features with them: ~50 KB a row)
PROCESS_BATCH = 32
#: seconds between looks for a worker process that stopped answering (verify_processes.ANSWER_TIMEOUT)
ANSWER_WATCH = 5.0


#: pairs from which a verification too short for worker processes (:data:`PROCESS_PAIRS`) is shared with a forked copy
#: of this process (:func:`_verify_with_fork`: a fork costs ~0.02 CPU s, the time of ~20 checks)
FORK_PAIRS = 100
#: the most rows such a verification may name (each read once before the fork and held, ~55 KB a row: ~165 MB)
FORK_ROWS = 3000
#: seconds the forked checker may take past the end of this process's share, beyond twice that share's own time,
#: before it is stopped and its pairs are checked here
FORK_GRACE = 30.0


def _forks_for(pairs: int, workers: int | None) -> bool:
    """Whether a verification of ``pairs`` pairs is shared with a forked copy of this process: on Linux, two CPUs or
    more (``workers`` as for threads), :data:`FORK_PAIRS` to :data:`PROCESS_PAIRS` pairs."""
    return (sys.platform.startswith("linux") and hasattr(os, "fork") and FORK_PAIRS <= pairs < PROCESS_PAIRS
            and thread_count(workers) >= 2)


def request_rows(payloads: list) -> list:
    """The rows of a request: a :class:`CopyRecord` holding its features (parsed here once for all
    the request's pairs), bare features as sent, or why the row cannot be used (a string: its pairs fail)."""
    out = []
    for kind, *rest in payloads:
        try:
            if kind == "error":  # the parent could not read the row
                out.append(rest[0])
                continue
            if kind == "bare":
                out.append(rest[0])
                continue
            features, alt, capture = rest
            rec = CopyRecord.__new__(CopyRecord)
            rec.hash = rec.vector = rec.alt_vector = None
            rec._spill, rec._offset, rec._length, rec._alt_offset, rec._alt_length = None, 0, 0, 0, 0
            rec._features = ImageFeatures.from_bytes(features) if kind == "bytes" else features
            rec.alt_hash = None if alt is None else True  # (a check reads only whether there is an alternate)
            rec._alt_features = None if alt is None else (ImageFeatures.from_bytes(alt) if kind == "bytes" else alt)
            rec.capture = capture
            out.append(rec)
        except Exception as exc:  # damaged stored bytes: the pairs of this row are not verified
            out.append(exception_line(exc))
    return out


def request_answers(rows: list, pairs: list, looks: QuickLooks | None = None) -> list:
    """The answers to a request's ``pairs`` of :func:`request_rows`' rows: :func:`answer_of` each check, or the line
    saying why it could not be made (a damaged row, an exception on features no extract() made). ``looks``: the
    pairs' quick looks (:func:`quick_looks` of these pairs or more), else made here."""
    if looks is None:
        looks = quick_looks(rows, pairs)
    out = []
    for i, j in pairs:
        a, b = rows[i], rows[j]
        bad = a if isinstance(a, str) else b if isinstance(b, str) else None
        if bad is not None:
            out.append(bad)
            continue
        try:
            # (a pair left to its files answers over 1: copies.LOOK_PENDING)
            out.append(answer_of(verify_records(a, b, confidence_only=True, looks=looks)))
        except Exception as exc:  # cv2.error, ValueError ... on features no extract() made
            out.append(exception_line(exc))
    return out


def quick_looks(rows: list, pairs: list) -> QuickLooks:
    """The quick looks of ``pairs`` of :func:`request_rows`' rows made together (:class:`~imagetwins.verify.QuickLooks`:
    each image's against several partners in one product, and a pair every fit of the quick look would turn away
    answered without them): the features of every pair of two usable rows that are not two captures, and the
    pictures cut from a canvas as :func:`verify_records` tries them. The same answers as without."""

    def looked():
        for i, j in pairs:
            a, b = rows[i], rows[j]
            if isinstance(a, str) or isinstance(b, str):
                continue
            try:
                if different_captures(a, b):
                    continue
                (fa, aa), (fb, ab) = _sides(a), _sides(b)
            except Exception:  # (damaged: its check says why)
                continue
            for x, y in ((fa, fb), (aa, fb), (fa, ab), (aa, ab)):
                if x is not None and y is not None:
                    yield x, y

    return QuickLooks(looked())


def _verify_with_fork(features_a: Sequence, features_b: Sequence, left: np.ndarray, right: np.ndarray,
                      out: np.ndarray, progress: Any = None) -> bool:
    """:func:`_verified_confidences`' answers (into ``out``) for a short verification (:func:`_forks_for`) on two
    cores: the pairs in :func:`cache_order`, the second half checked by a forked copy of this process while this one
    checks the first. False, nothing checked: the pairs name more than :data:`FORK_ROWS` rows.

    Why a fork: a worker process (:func:`_verify_in_processes`) imports numpy, OpenCV and onnxruntime first, ~0.3 CPU s,
    and a home library's first scan checks ~1,700 pairs in ~1.7 s, on one core while the other idles (two threads
    fought over the GIL: :func:`verify_pairs`). Every row the pairs name is read here once, before the fork (the child
    reads no store: an index's SQLite connection must not be used across a fork), and both processes check their
    half with a worker process's very code (:func:`imagetwins._verify_worker.serve`'s) on those bytes: the confidences
    of :func:`verify_pairs`, bit for bit. The child sends its answers down a pipe and ends with ``os._exit`` (none of
    this process's exit handlers, buffers or connections touched). What the child does not answer (no fork, it
    ended, garbled its answer, or was not done twice this process's half's time plus :data:`FORK_GRACE` seconds after
    it) is checked here;
    Ctrl-C here stops it (its CPU time is this process's children's, as the worker processes'), and it ends within a
    second of this process killed (:func:`imagetwins._pipe_workers.end_with_parent`, as a worker process)."""
    import pickle

    from imagetwins.matching import session as matching_session

    same = features_a is features_b
    named = len(np.unique(np.concatenate([left, right]))) if same else len(np.unique(left)) + len(np.unique(right))
    if named > FORK_ROWS:
        return False
    order = cache_order(left, right, same)
    payloads, pairs = _batch_request(features_a, features_b, left[order], right[order])
    rows = request_rows(payloads)  # (each row parsed once, for both processes)
    del payloads
    for row in rows:  # each row's order keys made once too (~55 us each): most rows are checked in both halves (its
        # features', and its picture cut from a canvas's, which a pair the whole images leave short checks)
        held = (row,) if isinstance(row, ImageFeatures) else (getattr(row, "_features", None),
                                                               getattr(row, "_alt_features", None))
        for features in held:
            if isinstance(features, ImageFeatures):
                with contextlib.suppress(Exception):  # (features no extract() made: their pairs say why, as before)
                    order_key(features)
    half = len(order) // 2
    names = _names.get()

    def answered(span: np.ndarray, answers: list) -> None:
        _take_answers(features_a, features_b, left, right, span, answers, names, out)
        if progress is not None:
            progress.update(len(span))

    def check_here(start: int, stop: int) -> None:
        looks = quick_looks(rows, pairs[start:stop])  # (this process's half's together; answered a batch at a time)
        for k in range(start, stop, PROCESS_BATCH):
            end = min(k + PROCESS_BATCH, stop)
            answered(order[k:end], request_answers(rows, pairs[k:end], looks))

    matching_session()  # (made here, once: a child that made it would make it again for every fork)
    pid, parent = None, os.getpid()
    # this process's objects out of its collections while the child shares their pages (a collection touches every
    # object it looks at, and each page so touched is copied); not where the program froze its own (a pre-fork
    # server's workers: gc.unfreeze would put them back into every collection, its pages copied in each worker)
    freezing = gc.get_freeze_count() == 0
    if freezing:
        gc.freeze()
    try:
        try:
            read_end, write_end = os.pipe()
            try:
                pid = _fork_quietly()
            except OSError:
                os.close(read_end)
                os.close(write_end)
                raise
            if pid == 0:  # the child: its answers down the pipe, then gone (no cleanup of the parent's state runs here)
                code = 1
                try:
                    os.close(read_end)
                    with contextlib.suppress(ValueError):  # (Ctrl-C: this process stops the child)
                        signal.signal(signal.SIGINT, signal.SIG_IGN)
                    end_with_parent(parent)  # (this process killed with -9: a check stuck in C code ends with it)
                    gc.disable()  # (nothing of the parent's freed here: a collected connection would close its file)
                    answers = request_answers(rows, pairs[half:])
                    data = memoryview(pickle.dumps(answers, protocol=pickle.HIGHEST_PROTOCOL))
                    while data:
                        data = data[os.write(write_end, data):]
                    code = 0
                finally:
                    os._exit(code)
            os.close(write_end)
        except OSError:  # (no fork: too many processes, no memory for one more)
            pid = None
        began = time.monotonic()
        check_here(0, half)
        answers = None
        if pid is not None:
            child, pid = pid, None  # (waited for and its pipe closed there, whatever happens)
            answers = _forked_answers(read_end, child, 2 * (time.monotonic() - began) + FORK_GRACE)
        if answers is not None and len(answers) == len(order) - half:
            answered(order[half:], answers)
        else:
            check_here(half, len(order))
    finally:
        if freezing:
            gc.unfreeze()
        if pid is not None:  # (stopped here: Ctrl-C, or an error of this process's half)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
            with contextlib.suppress(OSError):
                os.close(read_end)
    return True


def _take_answers(features_a: Sequence, features_b: Sequence, left: np.ndarray, right: np.ndarray, span: np.ndarray,
                  answers: list, names: tuple | None, out: np.ndarray) -> None:
    """A worker process's (or the forked checker's) ``answers`` to the pairs ``span`` into ``out``: each confidence
    (:func:`request_answers`), or NaN where the check raised on damaged features (the reason, a
    string: one warning naming the file as this process names it, ``names``: :func:`_unverifiable`)."""
    for k, a in zip(span.tolist(), answers):
        if isinstance(a, str):
            _unverifiable(features_a, features_b, int(left[k]), int(right[k]), names, a)
            out[k] = np.nan
        else:
            out[k] = a


def _fork_quietly() -> int:
    """``os.fork()``, without Python 3.12's DeprecationWarning about forking a process that runs threads (the child
    runs none, and only checks pairs: :func:`_verify_with_fork`)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


def _forked_answers(read_end: int, pid: int, timeout: float) -> list | None:
    """The forked checker's answers (:func:`_verify_with_fork`), read from ``read_end`` (closed here) within ``timeout``
    seconds, the child waited for (stopped first if it did not end in time); None where it did not answer whole."""
    import pickle
    import select

    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    complete = False
    try:
        poll = select.poll()  # (not select(): a descriptor numbered 1,024 or more is refused there)
        poll.register(read_end, select.POLLIN)
        while True:
            left_s = deadline - time.monotonic()
            if left_s <= 0 or not poll.poll(max(1, int(left_s * 1000))):
                break
            data = os.read(read_end, 1 << 16)
            if not data:
                complete = True
                break
            chunks.append(data)
    finally:
        os.close(read_end)
        if not complete:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        try:
            status: int | None = os.waitpid(pid, 0)[1]
        except ChildProcessError:  # (reaped already: a program that ignores SIGCHLD, or waits for any child itself)
            status = None
    # (the child writes its answers whole, then ends: where its status is not known, a pickle read whole is its answer)
    if not complete or (status is not None and (not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0)):
        return None
    try:
        answers = pickle.loads(b"".join(chunks))
    except Exception:
        return None
    return answers if isinstance(answers, list) else None


def _processes_for(pairs: int, workers: int | None) -> int:
    """Worker processes for a verification of ``pairs`` pairs: as many as threads would be used
    (:func:`~imagetwins.workers.thread_count`), or 0 (this process's thread) for one CPU or too few pairs."""
    n = thread_count(workers)
    return n if n >= 2 and pairs >= PROCESS_PAIRS else 0


def _payload(x) -> tuple:
    """What a worker process needs of one row: its features' stored bytes (the very bytes this process would parse),
    the features themselves where they are held in memory, or why they cannot be read."""
    try:
        if isinstance(x, ImageFeatures):
            return ("bare", x)
        if isinstance(x, CopyRecord) and not x.in_memory:
            return ("bytes", x.features_bytes(), x._alt_bytes(), x.capture)
        return ("objects", x.features, x.alt_features, _capture(x))
    except Exception as exc:  # (spill file or index trouble: that row's pairs are not verified, one warning)
        return ("error", exception_line(exc))


def _batch_request(features_a: Sequence, features_b: Sequence, left: np.ndarray, right: np.ndarray,
                   rows_read: _RowsRead | None = None) -> tuple[list, list]:
    """(rows, pairs) of one batch for a worker process: each row named once, pairs as indices into the rows.
    ``rows_read``: where the rows' stored bytes are read (else :func:`_payload` of each)."""
    rows: list = []
    at: dict[tuple[int, int], int] = {}
    b_side = 0 if features_a is features_b else 1

    def row(side: int, seq: Sequence, i: int) -> int:
        k = at.get((side, i))
        if k is None:
            k = at[(side, i)] = len(rows)
            rows.append(_payload(seq[i]) if rows_read is None else rows_read.payload(side, seq, i))
        return k

    pairs = [(row(0, features_a, i), row(b_side, features_b, j)) for i, j in zip(left.tolist(), right.tolist())]
    return rows, pairs


#: the most bytes of rows :class:`_RowsRead` keeps in its scratch file (an incremental find of 1,000 new pictures
#: into 100,000 keeps ~0.3-0.5 GB; a first find names nearly every row again, ~50 KB each)
ROWS_KEPT_BYTES = 1 << 30


class _RowsRead:
    """The payloads (:func:`_payload`) of one verification's rows, each row's stored bytes read from its store once: a
    row named in more than one batch (``uses``: the rows, as ``side * n + i``, named in two batches or more; ``n``
    the size of side 0) is written to a scratch file (:class:`~imagetwins.spill.SpillFile`) at its first read and
    read back from there for its next batches, up to :data:`ROWS_KEPT_BYTES` (the file is freed with this object,
    once the feeding threads are done with it). The very bytes: a row of an index is read from the index file, where
    each read of a ~55 KB features row went down a b-tree comparing the key with whole rows (~0.15-0.2 ms; an
    incremental find of 1,000 new pictures named ~19,000 rows in its batches, ~9,000 of them distinct)."""

    def __init__(self, uses: set[int], n: int) -> None:
        self._uses, self._n = uses, n
        self._kept: dict[int, tuple] = {}  # row -> ("kept", features (offset, length), alternate's or None, capture)
        self._reading: dict[int, threading.Event] = {}  # rows being read by a feeding thread
        self._lock = threading.Lock()
        self._spill: SpillFile | None = None
        self._failed = False

    def payload(self, side: int, seq: Sequence, i: int) -> tuple:
        key = side * self._n + i
        if key not in self._uses:
            return _payload(seq[i])
        with self._lock:  # (two feeding threads asking for one row: the second waits for the first's read)
            kept = self._kept.get(key)
            reading = None if kept is not None else self._reading.get(key)
            if kept is None and reading is None:
                self._reading[key] = threading.Event()
        if reading is not None:
            reading.wait()
            with self._lock:
                kept = self._kept.get(key)
        if kept is not None:
            try:
                spill = self._spill
                _, (at, length), alt, capture = kept
                return ("bytes", spill.get(at, length), None if alt is None else spill.get(*alt), capture)
            except OSError:  # (the scratch file cannot be read back: read from the store again)
                return _payload(seq[i])
        if reading is not None:  # (the first read was not kept: an error, or no room)
            return _payload(seq[i])
        try:
            out = _payload(seq[i])
            if out[0] == "bytes" and not self._failed:
                self._keep(key, out)
            return out
        finally:
            with self._lock:
                done = self._reading.pop(key)
            done.set()

    def _keep(self, key: int, out: tuple) -> None:
        _, features, alt, capture = out
        try:
            with self._lock:
                if self._spill is None:
                    self._spill = SpillFile()
            spill = self._spill
            if spill.size >= ROWS_KEPT_BYTES:  # (a first find names most rows again: the rest are read again)
                self._failed = True
                return
            where = (spill.put(features), len(features))
            alt_where = None if alt is None else (spill.put(alt), len(alt))
        except OSError:  # no room for a scratch file: each batch reads its rows from their store, as before
            self._failed = True
            return
        with self._lock:
            self._kept[key] = ("kept", where, alt_where, capture)


def _rows_named_again(batches: list[np.ndarray], left: np.ndarray, right: np.ndarray, same_rows: bool,
                      n: int) -> set[int]:
    """The rows (``side * n + i``, as :class:`_RowsRead` names them) that the pairs of more than one of ``batches``
    name."""
    if not batches:
        return set()
    which = np.repeat(np.arange(len(batches)), [len(b) for b in batches])
    order = np.concatenate(batches)
    rows = np.concatenate([left[order], right[order] + (0 if same_rows else n)])
    named = np.unique(np.stack([rows, np.concatenate([which, which])], axis=1), axis=0)[:, 0]  # (row, batch) once
    counts = np.bincount(named)
    return set(np.flatnonzero(counts >= 2).tolist())


def _verify_in_processes(features_a: Sequence, features_b: Sequence, left: np.ndarray, right: np.ndarray,
                         processes: int, chunk: int, out: np.ndarray, progress: Any = None,
                         done: Callable[[slice | np.ndarray, np.ndarray], None] | None = None) -> np.ndarray:
    """Check the pairs in ``processes`` worker processes (:mod:`imagetwins.verify_processes`), batches of
    :data:`PROCESS_BATCH` pairs in :func:`cache_order`, each process fed by a thread of this one; the confidences go
    into ``out`` (NaN for a pair whose features cannot be used: one warning naming the file, as in this process), and
    ``done`` gets each chunk of ``chunk`` pairs once all of it is answered. Returns which pairs were answered: where a
    process could not start or ended, one line says so and the rest are left to the caller."""
    from imagetwins.verify_processes import ANSWER_TIMEOUT, Worker, WorkerFailed

    answered = np.zeros(len(left), bool)
    order = cache_order(left, right, features_a is features_b)
    batches = [order[k:k + PROCESS_BATCH] for k in range(0, len(order), PROCESS_BATCH)]
    n = int(left.max()) + 1 if len(left) else 0
    rows_read = _RowsRead(_rows_named_again(batches, left, right, features_a is features_b, n), n)
    waiting = np.bincount(np.arange(len(left)) // chunk)  # pairs of each chunk not answered yet
    names = _names.get()
    pool: list = []
    try:
        try:
            for _ in range(processes):
                pool.append(Worker())
            for w in pool:
                w.wait_ready()
        except WorkerFailed as exc:
            warn_line(f"copies: {exc}; verifying in this process instead", CostNotice)
            return answered
        taken = iter(range(len(batches)))
        take = threading.Lock()
        stop = threading.Event()
        results: queue.SimpleQueue = queue.SimpleQueue()

        def feed(worker) -> None:
            sent = None  # the batch sent and not answered yet
            try:
                while True:
                    b = None
                    if not stop.is_set():
                        with take:
                            b = next(taken, None)
                    if b is not None:  # sent before the last one's answers come: the process need not wait for it
                        idx = batches[b]
                        worker.send(*_batch_request(features_a, features_b, left[idx], right[idx], rows_read))
                    if sent is not None:
                        results.put((sent, worker.answers(more=b is not None)))
                    if b is None:
                        break
                    sent = b
            except BaseException as exc:  # WorkerFailed, or anything else: said (or raised) by the caller's thread
                results.put((None, exc))
            results.put((None, None))

        feeders = [threading.Thread(target=feed, args=(w,), daemon=True) for w in pool]
        for t in feeders:
            t.start()
        running, failed = len(feeders), None
        try:
            while running:
                try:  # (a process that stops answering is stopped: its feeder then says so)
                    b, answers = results.get(timeout=min(ANSWER_WATCH, ANSWER_TIMEOUT))
                except queue.Empty:
                    now = time.monotonic()
                    for w in pool:
                        w.stop_if_silent(now)
                    continue
                if b is None:
                    if answers is None:
                        running -= 1
                    elif failed is None:
                        failed = answers
                        stop.set()
                    continue
                idx = batches[b]
                _take_answers(features_a, features_b, left, right, idx, answers, names, out)
                answered[idx] = True
                if progress is not None:
                    progress.update(len(idx))
                for c in np.unique(idx // chunk).tolist():
                    waiting[c] -= int(np.count_nonzero(idx // chunk == c))
                    if waiting[c] == 0 and done is not None:
                        span = slice(c * chunk, (c + 1) * chunk)
                        done(span, out[span])
        finally:
            stop.set()
        if isinstance(failed, WorkerFailed):
            warn_line(f"copies: {failed}; verifying the {int((~answered).sum()):,} pairs left in this process",
                      CostNotice)
        elif failed is not None:
            raise failed
        return answered
    finally:
        for w in pool:
            w.stop()


def cache_order(left: np.ndarray, right: np.ndarray, same_rows: bool = True) -> np.ndarray:
    """An order of the pairs ``(left[k], right[k])`` in which the pairs of a row follow each other, so that its
    features are read once and served from the :class:`FeaturesCache` to the next of its pairs.

    Each pair goes with the one of its rows that is in more of the pairs (``same_rows``: left and right index one
    set of rows, a search; else two, a query), the left one on a tie; the pairs are sorted by that row, then by
    the other. The pairs of a search come sorted by their left row, and the new pictures of an incremental run
    are their right rows (the last ones): each new picture's ~20 pairs were spread over the whole list, and its
    features read again for nearly every pair (a cache of 256 rows, 1,000 new pictures).
    A check's outcome does not depend on the order (nothing is carried from one pair to the next but the cache
    of features read back), so this changes what is read, not what is found."""
    left = np.asarray(left, np.int64)
    right = np.asarray(right, np.int64)
    if len(left) < 2:
        return np.arange(len(left))
    shift = 0 if same_rows else int(left.max()) + 1
    counts = np.bincount(np.concatenate([left, right + shift]))
    by_left = counts[left] >= counts[right + shift]
    anchor = np.where(by_left, left, right + shift)
    other = np.where(by_left, right + shift, left)
    return np.lexsort((other, anchor))


def verify_pairs(features_a: Sequence, features_b: Sequence, left: np.ndarray, right: np.ndarray,
                 workers: int | None = None, progress: Any = None, *,
                 confidence_only: bool = False) -> list[Verification | None]:
    """Verify ``features_a[left[k]]`` against ``features_b[right[k]]`` for every k (records or bare features:
    :func:`verify_records`), on the calling thread; None for a pair whose features cannot be used (one warning).
    ``progress`` (an object with ``update(n)``, e.g. :class:`VerifyProgress`) is advanced by one as each pair is
    checked. The pairs are checked in :func:`cache_order` (each row's features read once) and answered in the order
    given. ``confidence_only``: only the confidences are wanted (see :func:`~imagetwins.verify.verify_pair`).
    ``workers`` is accepted and not used: parallel checks run in processes (:func:`_verified_confidences`).

    Why one thread: a check is more than half numpy and Python under the GIL, and each of its many OpenCV,
    onnxruntime and numpy calls that let the GIL go handed it to the other thread and back (two futex calls and two
    context switches each). Two threads on two cores checked the home library's ~1,700 first-scan pairs in 2.70 CPU s
    and 2.23 s of wall time, one thread in 2.12 CPU s and 2.03 s (``bench_home.py``, 5 runs each, alternated; the
    same confidences)."""
    left, right = np.asarray(left, np.int64), np.asarray(right, np.int64)
    if not len(left):
        return []
    order = cache_order(left, right, features_a is features_b)
    out: list[Verification | None] = [None] * len(left)
    cache = FeaturesCache()
    names = _names.get()
    for k, i, j in zip(order.tolist(), left[order].tolist(), right[order].tolist()):
        out[k] = _verify_or_none(features_a, features_b, i, j, cache, names, confidence_only)
        if progress is not None:
            progress.update(1)
    return out


_warned_unverifiable = False
#: the files whose damaged features were named in a warning already (one line each, as any unreadable file)
_named_damaged: set[str] = set()
_damaged_lock = threading.Lock()
#: the paths of the rows being searched (``features_a``'s and ``features_b``'s), set by :func:`naming` around a search,
#: so that a warning names the file whose features are damaged
_names: ContextVar[tuple[Sequence[str] | None, Sequence[str] | None]] = ContextVar("copies_names",
                                                                                   default=(None, None))


@contextmanager
def naming(paths_a: Sequence[str] | None, paths_b: Sequence[str] | None = None) -> Iterator[None]:
    """Name the rows of the searches made inside (``paths_b``: a query's database rows; default ``paths_a``), so
    that a pair whose stored features cannot be used is reported with its file, and a pair the stored features leave
    to its files is looked at in them (:func:`looked_at`; with no paths named, such pairs keep their features' score
    for that search alone and one warning says how many)."""
    token = _names.set((paths_a, paths_a if paths_b is None else paths_b))
    try:
        with collecting_undecided() as undecided:
            yield
    finally:
        _names.reset(token)
    unnamed = sum(not named for _, _, named in undecided)
    if unnamed:
        _warn_unlooked(unnamed)


def _warn_unlooked(pairs: int) -> None:
    """One line for a search given no paths that left pairs to their files (:func:`looked_at`)."""
    what = "1 pair whose stored features cannot tell a copy from a re-shot was" if pairs == 1 else (
        f"{pairs} pairs whose stored features cannot tell a copy from a re-shot were")
    warn_line(f"copies: {what} scored on the features alone and kept nowhere (no paths given: the files were not "
              "looked at, and a re-shot may be called a copy); pass the files' paths (paths=, or query_paths= and "
              "database_paths=) to decide them")


def _unusable(row) -> bool:
    """Whether a row's stored features cannot be read back (a record reads them from the spill file or its blob)."""
    try:
        getattr(row, "features", None)
        getattr(row, "alt_features", None)
    except Exception:  # (what from_bytes or the spill file raise on bytes no extract() made)
        return True
    return False


def _verify_or_none(features_a: Sequence, features_b: Sequence, i: int, j: int,
                    cache: FeaturesCache | None = None, names: tuple | None = None,
                    confidence_only: bool = False) -> Verification | None:
    """:func:`verify_records` of one pair, or None when its stored features cannot be used (a damaged or edited
    cache row that still reads back, spill file trouble): that pair is not a copy this run and is not remembered;
    one warning naming the file (:func:`_unverifiable`), never a traceback."""
    try:
        return verify_records(features_a[i], features_b[j], cache=cache, confidence_only=confidence_only)
    except Exception as exc:  # cv2.error, ValueError, ZeroDivisionError ... on features no extract() made
        _unverifiable(features_a, features_b, i, j, names, exception_line(exc))
        return None


def _unverifiable(features_a: Sequence, features_b: Sequence, i: int, j: int, names: tuple | None, why: str) -> None:
    """One warning for a pair whose check failed on its features (``why``), naming the file whose features cannot be
    read back (``names``: the paths of both sides' rows, :func:`naming`; without them one warning per process)."""
    global _warned_unverifiable
    paths_a, paths_b = names or (None, None)
    if paths_a is None or paths_b is None:
        if not _warned_unverifiable:
            _warned_unverifiable = True
            warn_line(f"copies: some pairs could not be verified (damaged image features: {why}); they count "
                      "as not copies. 'imagetwins cache clear' or a fresh 'index update' makes the features again")
        return
    bad = [p for p, row in ((paths_a[i], features_a[i]), (paths_b[j], features_b[j])) if _unusable(row)]
    for path in bad or [f"{paths_a[i]} or {paths_b[j]}"]:  # (the check itself failed: either may be it)
        with _damaged_lock:
            if path in _named_damaged:
                continue
            _named_damaged.add(path)
        warn_line(f"copies: {path}: its pairs could not be verified (damaged image features: {why}); they "
                  "count as not copies. 'imagetwins cache clear' or a fresh 'index update' makes the features "
                  "again")


def _confidences(features_a, features_b, left, right, dist, workers: int | None, hash_sure: int,
                 pair_scores: PairScores | None = None, checks: dict | None = None,
                 bar: VerifyProgress | None = None, prior: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each pair's confidence and marks (:class:`~imagetwins.scores.Mark` bits): 1 for hash-sure pairs, else kept or
    verified now (``checks`` gets each new :class:`Verification` by pair; ``bar`` counts the pairs verified now).
    ``prior``: confidences already known for some pairs (the kept candidate search's, with their marks as a store
    keeps them; NaN where none), taken as they are. A hash-sure pair's marks come from a look at its colours
    (:func:`_sure_marks`)."""
    conf = np.ones(len(left), np.float32)
    marks = np.zeros(len(left), np.uint8)
    need = np.flatnonzero(dist > hash_sure)
    known = np.full(len(need), np.nan) if prior is None or checks is not None else prior[need].astype(np.float64)
    ask = np.flatnonzero(np.isnan(known))
    if pair_scores is not None and len(ask):
        known[ask] = pair_scores.lookup(left[need[ask]], right[need[ask]])
    known[~stored_valid(known)] = np.nan  # not a stored confidence: a damaged store, checked again
    todo = np.isnan(known)
    if bar is not None:
        bar.add(int(todo.sum()))
    todo_l, todo_r = left[need[todo]], right[need[todo]]
    # checked a row's pairs together (cache_order), chunk after chunk; the answers put back in the pairs' order
    order = cache_order(todo_l, todo_r, features_a is features_b)
    todo_l, todo_r = todo_l[order], todo_r[order]
    back = np.empty_like(order)
    back[order] = np.arange(len(order))

    def keep_scores(span: slice | np.ndarray, scores: np.ndarray) -> None:
        # a pair that could not be verified (NaN: damaged features) is not remembered, and is not a copy; one waiting
        # for a look at its files (LOOK_PENDING) is remembered once looked at
        ok = ~np.isnan(scores) & (scores < LOOK_PENDING / 2)
        if pair_scores is not None and ok.any():
            pair_scores.remember(todo_l[span][ok], todo_r[span][ok], scores[ok])

    with stage("verify"):
        if checks is None:  # the confidences alone, a chunk of pairs at a time (a Verification holds ~1 KB), each
            # chunk's scores kept as it is verified: a run stopped during a long verification loses little
            known[todo] = _verified_confidences(features_a, features_b, todo_l, todo_r, workers, progress=bar,
                                                done=keep_scores)[back]
        else:
            checked = verify_pairs(features_a, features_b, todo_l, todo_r, workers, bar)
            decided = np.ones(len(checked), bool)
            for k, v in enumerate(checked):
                if v is not None and v.wants_files:
                    checked[k], decided[k] = looked_at(features_a, features_b, int(todo_l[k]), int(todo_r[k]), v)
            scores = np.array([np.nan if v is None else v.kept for v in checked], np.float64)
            known[todo] = scores[back]  # (an undecided pair's score serves this run: not kept)
            checks.update((k, v) for k, v in zip(zip(todo_l.tolist(), todo_r.tolist()), checked) if v is not None)
            keep_scores(np.flatnonzero(decided), scores[decided])
        pending = np.flatnonzero(todo)[known[todo] > LOOK_PENDING / 2]
        if len(pending):
            known[pending] = _pending_looked_at(features_a, features_b, left[need[pending]], right[need[pending]],
                                                known[pending], pair_scores)
    known[np.isnan(known)] = 0.0
    conf[need], marks[need] = from_stored(known)
    _check_sure_band(features_a, features_b, left, right, dist, conf, marks, workers, hash_sure, pair_scores, checks,
                     bar)
    sure = np.flatnonzero(dist <= hash_sure)
    if len(sure):  # a burst frame can be within the hash's sure distance: two captures are never copies; nor are two
        # flat pictures of other colours, whose hashes say nothing of their colour (each row's tone looked at once)
        tone = _each_row_once(features_a, features_b, flat_tone)
        side_b = 0 if features_a is features_b else 1
        ruled: dict[int, Verdict] = {}  # (the kept verdict: no copy whatever the threshold, as a check's)
        for k in sure.tolist():
            if different_captures(features_a[left[k]], features_b[right[k]]):
                ruled[k] = Verdict.RESHOT
            elif flat_pictures_apart(tone(0, int(left[k])), tone(side_b, int(right[k]))):
                ruled[k] = Verdict.UNRELATED
        other = list(ruled)
        conf[other] = 0.0
        marks[other] = [verdict.bits for verdict in ruled.values()]
        if pair_scores is not None and other:  # (kept so, over the hash's 1 that _sure_marks kept for their marks)
            value = stored_scores(conf[other], marks[other])
            known = pair_scores.lookup(left[other], right[other])
            new = known != value
            if new.any():
                rows = np.array(other, np.int64)[new]
                pair_scores.remember(left[rows], right[rows], value[new])
        # (the band's pairs too: it leaves a pair whose images nearer pairs joined unchecked)
        _pages_apart(features_a, features_b, left, right, np.setdiff1d(sure, other), side_b, conf, marks, workers,
                     pair_scores, bar)
    return conf, marks


def _each_row_once(features_a, features_b, look: Callable[[Any], Any]) -> Callable[[int, int], Any]:
    """``look`` of row ``i`` of side 0 (``features_a``) or 1 (``features_b``) as ``(side, i)``, made once a row: a
    row is in many of the hash-sure pairs looked at (a flat picture's tone, whether a thumbnail is a page)."""
    return functools.cache(lambda side, i: look((features_a, features_b)[side][i]))


def _row_is_page(row) -> bool:
    """Whether a row's grey thumbnail is a page holding small pictures (:func:`imagetwins.verify.is_page`)."""
    try:
        return is_page(row.thumbnail if isinstance(row, ImageFeatures) else row.grey_thumbnail())
    except Exception:  # damaged features: the hash's word stands, as for any hash-sure pair unchecked
        return False


def _pending_looked_at(features_a: Sequence, features_b: Sequence, left: np.ndarray, right: np.ndarray,
                       answers: np.ndarray, pair_scores: PairScores | None) -> np.ndarray:
    """The scores of the pairs a confidence-only check (:func:`answer_of`: a float, from a worker process or this one)
    left waiting for a look at their files (``answers``: kept score + :data:`LOOK_PENDING`): each checked again here
    and looked at, the decided ones kept in ``pair_scores``.
    A pair the files leave undecided (not known here, or the look failed) is scored by the check made here: its very
    kept score, where the answer less LOOK_PENDING is off in the last bits (float64 keeps fewer of them over 20)."""
    out = answers - LOOK_PENDING  # (where the check cannot be made again here: damaged features)
    decided = np.zeros(len(left), bool)
    for k, (i, j) in enumerate(zip(left.tolist(), right.tolist())):
        v, decided[k] = looked_at(features_a, features_b, i, j)
        if v is not None:
            out[k] = v.kept
    if pair_scores is not None and decided.any():
        pair_scores.remember(left[decided], right[decided], out[decided])
    return out


def _pages_apart(features_a, features_b, left: np.ndarray, right: np.ndarray, sure: np.ndarray, side_b: int,
                 conf: np.ndarray, marks: np.ndarray, workers: int | None, pair_scores: PairScores | None,
                 bar: VerifyProgress | None) -> None:
    """Hash-sure pairs of two pages holding small pictures (:func:`imagetwins.verify.is_page`, each row's grey
    thumbnail read once): pages mostly canvas hash alike whatever their pictures (64 px products on 1000 px pages
    16-30 bits apart; a page and the same page signed 0 bits), so such a pair is checked, and where the check sees
    the pages differ (:attr:`~imagetwins.verify.Verification.pages_differ`) its confidence is the check's (in place),
    kept in ``pair_scores`` (a kept confidence under 1 is taken as it is; a pair kept at 1, a copy, is checked
    again)."""
    if not len(sure):
        return
    page = _each_row_once(features_a, features_b, _row_is_page)
    pick = np.array([k for k in sure.tolist() if page(0, int(left[k])) and page(side_b, int(right[k]))], np.int64)
    if pair_scores is not None and len(pick):
        known = pair_scores.lookup(left[pick], right[pick])
        stored, stored_marks = from_stored(known)
        settled = stored_valid(known) & (stored < 1)  # (a stored score: its marks and kept verdict with it)
        conf[pick[settled]], marks[pick[settled]] = stored[settled], stored_marks[settled]
        pick = pick[~settled]
    if not len(pick):
        return
    if bar is not None:
        bar.add(len(pick))
    with stage("verify"):
        checked = verify_pairs(features_a, features_b, left[pick], right[pick], workers, bar, confidence_only=True)
    apart = [(k, v) for k, v in zip(pick.tolist(), checked) if v is not None and v.pages_differ]
    if apart:  # (no copy whatever the threshold: the kept verdict with the confidence)
        rows = np.array([k for k, _ in apart], np.int64)
        kept = np.array([stored_score(v.confidence, v.kept_verdict.bits) for _, v in apart], np.float64)
        conf[rows], marks[rows] = from_stored(kept)
        if pair_scores is not None:
            pair_scores.remember(left[rows], right[rows], kept)


def _unscored(prior: np.ndarray | None, dist: np.ndarray, hash_sure: int) -> int:
    """How many pairs to verify have no kept confidence (the pair scores are not asked)."""
    need = dist > hash_sure
    return int(need.sum()) if prior is None else int(np.isnan(prior[need]).sum())


def _check_sure_band(features_a, features_b, left, right, dist, conf, marks, workers: int | None, hash_sure: int,
                     pair_scores: PairScores | None, checks: dict | None, bar: VerifyProgress | None) -> None:
    """The hash-sure pairs farther than :data:`HASH_UNCHECKED` bits, checked where their images are not joined
    already (:func:`_sure_band`); a check that sees another capture (:func:`_overrules_hash`) replaces the hash's 1
    in ``conf`` (in place). A check the detail rule leaves to the files is looked at first (:func:`looked_at`), as
    on every route. The outcome (1, or the check's confidence, with the check's marks) is kept in ``pair_scores`` as
    any checked pair's, but for a pair left undecided (its files not known, or the look failed): its features'
    outcome serves this run alone; the marks of the hash-sure pairs left unchecked come from
    :func:`_sure_marks` (``marks``, in place)."""
    unchecked = min(HASH_UNCHECKED, hash_sure)
    sure = np.flatnonzero(dist <= hash_sure)
    band = np.flatnonzero((dist <= hash_sure) & (dist > unchecked))
    looked = np.zeros(len(left), bool)  # the hash-sure pairs whose marks are known
    if len(band):
        _check_band(features_a, features_b, left, right, dist, conf, marks, looked, band, unchecked, workers,
                    pair_scores, checks, bar)
    rest = sure[~looked[sure]]
    if len(rest):
        marks[rest] = _sure_marks(features_a, features_b, left[rest], right[rest], workers, pair_scores, bar)


def _check_band(features_a, features_b, left, right, dist, conf, marks, looked, band, unchecked, workers,
                pair_scores, checks, bar) -> None:
    """:func:`_check_sure_band`'s checks of the ``band`` pairs (``looked``: set where a pair's marks are known)."""
    known = pair_scores.lookup(left[band], right[band]) if pair_scores is not None else np.full(len(band), np.nan)
    known[~stored_valid(known)] = np.nan
    has = ~np.isnan(known)
    conf[band[has]], marks[band[has]] = from_stored(known[has])
    looked[band[has]] = True
    # one image set (a search) or two (a query: the database's images after the queries')
    offset = 0 if features_a is features_b else int(left.max()) + 1
    nodes = max(int(left.max()), int(right.max()) + offset) + 1
    joined = _Joined(nodes)
    near = np.flatnonzero(dist <= unchecked)
    for i, j in zip(left[near].tolist(), (right[near] + offset).tolist()):
        joined.union(i, j)
    for k in band[~np.isnan(known)].tolist():  # the outcome known: a copy joins its two images
        if conf[k] > HASH_OVERRULE:
            joined.union(int(left[k]), int(right[k]) + offset)
    todo = band[np.isnan(known)]
    todo = todo[np.lexsort((right[todo], left[todo], dist[todo]))]  # nearest first, in a fixed order
    while len(todo):
        pick, rest = _sure_band(todo, left, right + offset, joined)
        if not len(pick):
            break
        if bar is not None:
            bar.add(len(pick))
        with stage("verify"):
            checked = verify_pairs(features_a, features_b, left[pick], right[pick], workers, bar)
        out = np.ones(len(pick))
        decided = np.ones(len(pick), bool)
        for n, (k, v) in enumerate(zip(pick.tolist(), checked)):
            if v is None:
                continue  # damaged features (one warning): the hash's word stands, not remembered
            if v.wants_files:  # (as every checked pair: looked at where the files are known; undecided, not kept)
                v, decided[n] = looked_at(features_a, features_b, int(left[k]), int(right[k]), v)
            if checks is not None:
                checks[(int(left[k]), int(right[k]))] = v
            if _overrules_hash(v):
                out[n] = v.kept
            else:
                out[n] = stored_score(1.0, v.marks)
                joined.union(int(left[k]), int(right[k]) + offset)
        conf[pick], marks[pick] = from_stored(out)
        ok = np.array([v is not None for v in checked], bool)
        looked[pick[ok]] = True  # (an undecided pair's marks too: this run's, from its features)
        ok &= decided
        if pair_scores is not None and ok.any():
            pair_scores.remember(left[pick[ok]], right[pick[ok]], out[ok])
        todo = rest


def _sure_marks(features_a, features_b, left: np.ndarray, right: np.ndarray, workers: int | None,
                pair_scores: PairScores | None, bar: VerifyProgress | None) -> np.ndarray:
    """The marks of hash-sure pairs no check looked at (their confidence stays the hash's 1): kept ones from
    ``pair_scores``; else where the two images' colours may differ (:func:`imagetwins.verify.colour_signature`, read
    once a row, :data:`imagetwins.verify.SIGNATURES_DIFFER`; neither nearly grey) the pair is checked for its marks
    alone (a hue turned on a product's area barely moves the grey hash); the outcome (1 and the marks) is kept as a
    checked pair's."""
    marks = np.zeros(len(left), np.uint8)
    known = pair_scores.lookup(left, right) if pair_scores is not None else np.full(len(left), np.nan)
    known[~stored_valid(known)] = np.nan
    has = ~np.isnan(known)
    marks[has] = from_stored(known[has])[1]
    todo = np.flatnonzero(~has)
    if not len(todo):
        return marks
    # each row's colour signature read once from its colour thumbnail alone (a grey image's: zeros; NaN: damaged
    # features, such a pair is checked and the check names the damage); the pairs compared in one array
    sides = [(features_a, left[todo])] if features_a is features_b else [(features_a, left[todo]),
                                                                         (features_b, right[todo])]
    signatures = []
    for features, rows in sides:
        want = np.unique(rows) if features_a is not features_b else np.unique(np.r_[left[todo], right[todo]])
        table = np.full((int(want.max()) + 1, SIGNATURE_BINS + 1), np.nan)
        for i in want.tolist():
            try:
                row = features[i]
                table[i] = colour_signature_of(row.colour if isinstance(row, ImageFeatures) else row.colour_thumbnail())
            except Exception:  # damaged features: the verification names them, if it comes to one
                continue
        signatures.append(table)
    sa = signatures[0][left[todo]]
    sb = (signatures[0] if len(signatures) == 1 else signatures[1])[right[todo]]
    apart = np.abs(sa[:, :SIGNATURE_BINS] - sb[:, :SIGNATURE_BINS]).sum(1)
    # a side with little colour (a grey or nearly grey copy) cannot have RECOLOURED_SHARE of its cells turned
    colourless = np.minimum(sa[:, SIGNATURE_BINS], sb[:, SIGNATURE_BINS]) < RECOLOURED_SHARE / 2
    differ = todo[~(apart < SIGNATURES_DIFFER) & ~colourless].tolist()  # (NaN: damaged, checked)
    out = np.full(len(left), np.nan)
    out[todo] = 1.0
    if differ:
        pick = np.array(differ, np.int64)
        if bar is not None:
            bar.add(len(pick))
        with stage("verify"):
            checked = verify_pairs(features_a, features_b, left[pick], right[pick], workers, bar,
                                   confidence_only=True)
        for k, v in zip(pick.tolist(), checked):
            if v is None:
                out[k] = np.nan  # damaged features (one warning): no mark, not remembered
            else:
                marks[k] = v.marks
                out[k] = stored_score(1.0, v.marks)
    keep = np.flatnonzero(~np.isnan(out))
    keep = keep[~has[keep]]
    if pair_scores is not None and len(keep):
        pair_scores.remember(left[keep], right[keep], out[keep])
    return marks


def _overrules_hash(v: Verification) -> bool:
    """Whether a check of a hash-sure pair sees another capture (:data:`HASH_UNCHECKED`), or two different small
    pictures on flat canvases, or two pages that differ (:attr:`~imagetwins.verify.Verification.pages_differ`: pages
    mostly canvas hash alike, 34 and 39 bits apart for two different products among 1,225 pairs of a catalogue's
    pages)."""
    return v.pages_differ or (v.same_scene and v.confidence <= HASH_OVERRULE
                                 and min(v.frame_cover_a, v.frame_cover_b) < HASH_OVERRULE_COVER)


def _sure_band(todo: np.ndarray, left: np.ndarray, right: np.ndarray, joined: _Joined) -> tuple[np.ndarray, np.ndarray]:
    """Of the band pairs ``todo`` (indices, nearest first) those to check now and those left for the next round:
    a pair whose images are joined already is a copy without a check (its 1 stays); the others are taken as a
    spanning forest would take them (each joining two groups not yet joined, as if every pair taken were a copy),
    the rest wait for these checks. A crowd of near-identical images costs at most one check per image."""
    trial = joined.copy()
    pick, rest = [], []
    for k in todo.tolist():
        i, j = int(left[k]), int(right[k])
        if joined.find(i) == joined.find(j):
            continue
        if trial.find(i) != trial.find(j):
            trial.union(i, j)
            pick.append(k)
        else:
            rest.append(k)
    return np.array(pick, np.int64), np.array(rest, np.int64)


class _Joined:
    """Union-find over ``n`` images (path halving)."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def copy(self) -> _Joined:
        out = _Joined(0)
        out.parent = list(self.parent)
        return out

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


class _Known:
    """Pairs ``(i, j)``, ``i < j``, of ``n`` rows already proposed: those of the first proposal as a sorted array
    of keys (8 bytes a pair; a set of tuples took ~150), those added later in a set."""

    def __init__(self, left: np.ndarray, right: np.ndarray, n: int) -> None:
        self.n = max(int(n), 1)
        self.keys = np.sort(np.asarray(left, np.int64) * self.n + np.asarray(right, np.int64))
        self.more: set[int] = set()

    def __contains__(self, pair: tuple[int, int]) -> bool:
        key = pair[0] * self.n + pair[1]
        if key in self.more:
            return True
        at = int(np.searchsorted(self.keys, key))
        return at < len(self.keys) and int(self.keys[at]) == key

    def add(self, pair: tuple[int, int]) -> None:
        self.more.add(pair[0] * self.n + pair[1])


def _starved(labels: np.ndarray, owner: np.ndarray, nb: np.ndarray, sims: np.ndarray, top_k: int,
             cnn_candidate: float, known: _Known | set) -> tuple[np.ndarray, np.ndarray]:
    """Pairs proposed again where copies already grouped filled an image's neighbours: each searched row walks
    its neighbour list and proposes the first member of each *other* group (its own group is skipped: those
    are found already), up to ``top_k`` groups. Only rows with a neighbour in their own group are walked, so
    a crowd of look-alikes (no copies among them) costs nothing here."""
    own = labels[owner]
    nbl = labels[nb]
    near = sims if sims.dtype == bool else sims >= cnn_candidate
    starved = np.flatnonzero(((nbl == own[:, None]) & near & (nb != owner[:, None])).any(axis=1))
    left, right = [], []
    for r in starved.tolist():
        i, seen = int(owner[r]), {int(own[r])}
        for j, lab, ok in zip(nb[r].tolist(), nbl[r].tolist(), near[r].tolist()):
            if not ok:
                break
            if lab in seen:
                continue
            seen.add(lab)
            key = (min(i, j), max(i, j))
            if key not in known:
                known.add(key)
                left.append(key[0])
                right.append(key[1])
            if len(seen) > top_k:
                break
    return np.array(left, np.int64), np.array(right, np.int64)


def _content_priority(hashes: np.ndarray) -> np.ndarray:
    """A number per image drawn from its dihedral hash (the order of a crowded vote bucket, the order of equally
    voted partners): the same for the same content whatever the image's place among the rows."""
    h = np.asarray(hashes, np.uint64)
    mixed = np.zeros(len(h), np.uint64)
    for w, odd in enumerate((0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93)):
        mixed ^= h[:, w] * np.uint64(odd)  # (wraps: a multiplication modulo 2**64)
        mixed ^= mixed >> np.uint64(29)
    return mixed


def vote_entries(rows: CopyRows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows' vote blocks as the entries of :func:`imagetwins.search.descriptor_votes`: (descriptors (E, 32),
    owner image (E,), votes (E,): the strongest descriptors vote, the mirror's do not); each image's entries, then
    the pictures cut from a canvas' (each as its image's)."""
    owners = np.concatenate([np.arange(len(rows), dtype=np.int64), np.flatnonzero(rows.alt_of >= 0)])
    blocks = (rows.votes, rows.alt_votes[rows.alt_of[rows.alt_of >= 0]]) if len(rows.alt_votes) else (rows.votes,)
    desc, owner, query = [], [], []
    at = 0
    for block in blocks:
        body = block[:, 2:].reshape(len(block), 2, VOTE_STRONGEST, 32)
        valid = np.arange(VOTE_STRONGEST)[None, None, :] < block[:, :2, None]  # (rows, side, descriptor)
        desc.append(body[valid])
        owner.append(np.broadcast_to(owners[at:at + len(block), None, None], valid.shape)[valid])
        query.append(np.broadcast_to(np.array([True, False])[None, :, None], valid.shape)[valid])
        at += len(block)
    return np.concatenate(desc), np.concatenate(owner), np.concatenate(query)


def vote_lists(rows: CopyRows | Sequence[CopyRecord], least: int = VOTE_LEAST, depth: int = VOTE_DEPTH
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each image's most voted partners (:mod:`imagetwins.search.votes` over the rows' :func:`vote_block` blocks:
    an image's and its picture cut from a canvas's descriptors vote as the image's): ``(row, partner, votes)``, the
    partners with ``least`` votes or more, at most ``depth`` a row, sorted by row, then most votes first (equal
    votes: by :func:`_content_priority`, so the lists are the same whatever the rows' order)."""
    rows = CopyRows.of(rows)
    n = len(rows)
    e = np.empty(0, np.int64)
    if n < 2 or rows.votes is None:  # (not held: more rows than VOTE_MAX_ROWS)
        return e, e, e
    priority = _content_priority(rows.hashes)
    with stage("votes"):
        left, right, count = search.descriptor_votes(*vote_entries(rows), priority, VOTE_TABLES, VOTE_CROWD,
                                                     budget=VOTE_BUDGET)
    keep = count >= least
    r = np.concatenate([left[keep], right[keep]])
    p = np.concatenate([right[keep], left[keep]])
    v = np.concatenate([count[keep], count[keep]])
    rank = np.empty(n, np.int64)
    rank[np.lexsort((np.arange(n), priority))] = np.arange(n)
    order = np.lexsort((rank[p], -v, r))
    r, p, v = r[order], p[order], v[order]
    keep = search.places_in_runs(r) < depth
    return r[keep], p[keep], v[keep]


def _voted(labels: np.ndarray, row: np.ndarray, partner: np.ndarray, k: int, known: _Known | set
           ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs the descriptor votes propose: each image's first ``k`` partners of :func:`vote_lists` (``row``,
    ``partner``, best first) that lie in groups other than its own (``labels``: the copies found so far), one
    partner per group, the pairs not proposed before. At most ``k`` checks an image; none for an image whose
    voted partners are all grouped with it already (a crowd of copies of one photo)."""
    e = np.empty(0, np.int64)
    if not len(row) or k <= 0:
        return e, e
    other = labels[partner] != labels[row]
    row, partner = row[other], partner[other]
    n = len(labels)
    _, first = np.unique(row * n + labels[partner], return_index=True)  # each row's best of each other group
    first = np.sort(first)
    row, partner = row[first], partner[first]
    first_k = search.places_in_runs(row) < k
    row, partner = row[first_k], partner[first_k]
    out_l, out_r = [], []
    for i, j in zip(np.minimum(row, partner).tolist(), np.maximum(row, partner).tolist()):
        if (i, j) not in known:
            known.add((i, j))
            out_l.append(i)
            out_r.append(j)
    return np.array(out_l, np.int64), np.array(out_r, np.int64)


#: CNN neighbours looked at when copies already grouped crowd an image's first :data:`TOP_K` (see
#: :func:`copy_pairs`); rounds of such proposals
NEIGHBOURS_DEEP = 32
REPROPOSE_ROUNDS = 2


def scored_candidates(records: Sequence, threshold: float = DEFAULT_CONFIDENCE, workers: int | None = None,
                      hash_sure: int = HASH_SURE, pair_scores: PairScores | None = None, checks: dict | None = None,
                      rounds: int = REPROPOSE_ROUNDS, progress: bool | Any = False, vote_k: int | None = None,
                      with_marks: bool = False, **candidates) -> tuple[np.ndarray, ...]:
    """Every proposed pair ``i < j`` of ``records`` with its dihedral distance and confidence: (left, right,
    dist, confidence), and with ``with_marks`` each pair's marks (:class:`~imagetwins.scores.Mark` bits) after them.
    See :func:`copy_pairs`; ``checks`` collects the verifications made; ``vote_k``: the
    partners outside its group each image's descriptor votes propose (default :data:`VOTE_K`; 0: none,
    :func:`_voted`)."""
    vote_k = VOTE_K if vote_k is None else vote_k
    bar = VerifyProgress(progress)
    try:
        with collecting_undecided() as undecided:
            found = _scored_candidates(records, threshold, workers, hash_sure, pair_scores, checks, rounds, bar,
                                       vote_k, undecided, **candidates)
        return found if with_marks else found[:4]
    finally:
        bar.close()


def _scored_candidates(records, threshold, workers, hash_sure, pair_scores, checks, rounds, bar, vote_k, undecided,
                       **candidates):
    if len(records) < 2:  # no pair (one image; a benchmark that found no photos): no search, nothing to check
        e = np.empty(0, np.int64)
        return e, e, np.empty(0, np.int32), np.empty(0, np.float32), np.empty(0, np.uint8)
    hashes, vectors, sides, alt = stack_rows(records)  # (CopyRows: its columns, no copy)
    # the candidate search of an earlier run over these contents, kept with the pair scores: only new rows are
    # searched, and the pairs it scored keep their confidence (imagetwins.candidates)
    memo = CandidateMemo(pair_scores) if pair_scores is not None and pair_scores.searches_itself else None
    left, right, dist, (owner, nb, sims) = candidate_pairs(hashes, vectors, workers, alt=alt,
                                                           neighbours=NEIGHBOURS_DEEP, memo=memo, hash_sure=hash_sure,
                                                           **candidates)
    prior = memo.scores(left, right) if memo is not None else None
    scored_now = prior is None or bool(np.isnan(prior[dist > hash_sure]).any())
    if memo is not None and _unscored(prior, dist, hash_sure) > VERIFY_CHUNK:
        # a long verification ahead (a first find of a large library): the search is kept before it, so a run
        # stopped during it searches nothing again, and finds the pairs verified so far in the pair scores
        memo.keep(left, right, np.full(len(left), np.nan) if prior is None else prior, True)
    conf, marks = _confidences(sides, sides, left, right, dist, workers, hash_sure, pair_scores, checks, bar, prior)
    known = _Known(left, right, len(records))
    top_k = candidates.get("top_k", TOP_K)
    cnn_candidate = candidates.get("cnn_candidate", CNN_CANDIDATE)
    labels: np.ndarray | None = None  # the groups of the matches so far (made again only after more checks)

    def groups() -> np.ndarray:
        nonlocal labels
        if labels is None:
            hit = CONFIDENCE.within(conf, threshold, marks)
            labels = search.connected_components(len(records), left[hit], right[hit])
        return labels

    def check_more(more_l: np.ndarray, more_r: np.ndarray) -> None:
        """Verify pairs proposed after the first search (no hash distance: 256) and add them to the run's."""
        nonlocal left, right, dist, conf, marks, scored_now, labels
        labels = None
        more_d = np.full(len(more_l), 256, np.int32)
        more_p = memo.scores(more_l, more_r) if memo is not None else None
        scored_now = scored_now or more_p is None or bool(np.isnan(more_p).any())
        more_c, more_m = _confidences(sides, sides, more_l, more_r, more_d, workers, hash_sure, pair_scores, checks,
                                      bar, more_p)
        left, right = np.concatenate([left, more_l]), np.concatenate([right, more_r])
        dist, conf = np.concatenate([dist, more_d]), np.concatenate([conf, more_c])
        marks = np.concatenate([marks, more_m])

    if vote_k > 0 and len(records) <= VOTE_MAX_ROWS:
        # copies that neither the hash nor the CNN proposed (far for both, or behind look-alikes) share descriptors
        # with their original: each image's most voted partners outside its group so far (vote_lists, _voted)
        voted_row, voted_partner, _ = vote_lists(sides)
        more_l, more_r = _voted(groups(), voted_row, voted_partner, vote_k, known)
        if len(more_l):
            check_more(more_l, more_r)
    for _ in range(rounds):  # (the votes' groups where they added no pair)
        more_l, more_r = _starved(groups(), owner, nb, sims, top_k, cnn_candidate, known)
        if not len(more_l):
            break
        check_more(more_l, more_r)
    # an image refused by members of a group as not made from them (a crop at the original's pixels beside the
    # original's smaller copies) checked against the picture of that group with the most pixels (_refused_to_largest)
    more_l, more_r = _refused_to_largest(groups(), left, right, conf, sides, hashes, known)
    if len(more_l):
        check_more(more_l, more_r)
    # each copy checked against its group's most central members: in a crowd the copies fill one another's
    # neighbour places, so a copy is often grouped through another copy and never compared with the picture it
    # was made from (_unchecked_to_hubs)
    hit = CONFIDENCE.within(conf, threshold, marks)
    more_l, more_r = _unchecked_to_hubs(vectors, left[hit], right[hit], known, top_k)
    if len(more_l):
        check_more(more_l, more_r)
    if memo is not None:  # (a pair left to its files that no look decided: its features' score is not kept, so a
        # run naming the files checks it again and looks, collecting_undecided)
        memo.keep(left, right, _decided_only(stored_scores(conf, marks), left, right, undecided), scored_now)
    return left, right, dist, conf, marks


def _decided_only(scores: np.ndarray, left: np.ndarray, right: np.ndarray, undecided: list) -> np.ndarray:
    """``scores`` with NaN for the ``undecided`` pairs (:func:`collecting_undecided`) among ``left``/``right``."""
    if not undecided:
        return scores
    out = scores.astype(np.float64)
    got = np.array([(i, j) for i, j, _ in undecided], np.int64)
    lo, hi = got.min(1), got.max(1)
    span = int(max(hi.max(), left.max(initial=0), right.max(initial=0))) + 1  # (one int64 key a pair)
    keys, wanted = left.astype(np.int64) * span + right, np.unique(lo * span + hi)
    out[wanted[np.searchsorted(wanted, keys).clip(max=len(wanted) - 1)] == keys] = np.nan  # (few sought, many kept)
    return out


def _native_side(row) -> float:
    """A row's long side in its file's own pixels (:attr:`~imagetwins.verify.ImageFeatures.native_side`; 0 where its
    features cannot be read back: never chosen over a row whose can)."""
    try:
        return float(row.features.native_side)
    except Exception:  # (damaged stored features: the check of its pairs says so, once)
        return 0.0


def _refused_to_largest(labels: np.ndarray, left: np.ndarray, right: np.ndarray, conf: np.ndarray, rows,
                        hashes: np.ndarray, known: _Known | set) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (image, the picture with the most pixels of another group) for each image whose check against a member
    of that group was capped at :data:`~imagetwins.verify.NOT_ONE_CAPTURE`: the two show one picture, aligned, but
    neither file can be made from the other. Two copies of one larger original are such a pair (the detail rule: a
    crop at the original's pixels and a shrunk whole); in a crowd of the original's smaller copies the crop's
    neighbours are all those copies, each refuses it, and the crop was never compared with the original (nor with
    anything it was made from): it went into no group. The file a group's copies were made from holds the most
    pixels of them (the original, or an enlargement of it), so that one is checked (its file's long side,
    :attr:`~imagetwins.verify.ImageFeatures.native_side`, read for the members of such groups only; ties by content,
    so the answer does not depend on the rows' order). Only images in no group yet, at most one check per image
    and group refusing it; a re-shot refused by an image alone (the framing rules cap the same way) costs
    nothing."""
    e = np.empty(0, np.int64)
    size = np.bincount(labels)
    refused = np.flatnonzero((conf == np.float32(NOT_ONE_CAPTURE)) & (labels[left] != labels[right]))
    # (an image alone, refused by a group of two or more: one in a group already is checked against its keeper
    # when its group is made a star, imagetwins.keep)
    wanted = sorted({(int(i), int(labels[j])) for k in refused.tolist()
                     for i, j in ((left[k], right[k]), (right[k], left[k])) if size[labels[i]] == 1 < size[labels[j]]})
    if not wanted:
        return e, e
    members = np.flatnonzero(np.isin(labels, np.array(sorted({g for _, g in wanted}), np.int64)))
    priority = _content_priority(hashes[members])
    sides = np.array([_native_side(rows[int(i)]) for i in members.tolist()])
    # the largest picture of each group: sorted by group, then side and content priority, the last of each group
    order = np.lexsort((priority, sides, labels[members]))
    last = np.r_[labels[members][order][1:] != labels[members][order][:-1], True]
    largest = {int(labels[m]): int(m) for m in members[order][last].tolist()}
    out_l, out_r = [], []
    for i, g in wanted:
        m = largest.get(g)
        if m is None or m == i:
            continue
        key = (min(i, m), max(i, m))
        if key not in known:
            known.add(key)
            out_l.append(key[0])
            out_r.append(key[1])
    return np.array(out_l, np.int64), np.array(out_r, np.int64)


def _unchecked_to_hubs(vectors: np.ndarray, left: np.ndarray, right: np.ndarray, known: _Known | set, hubs: int
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (member, hub) never checked of each group of copies (the connected ``left``-``right`` matches). The
    hubs are the group's ``hubs`` most central members by CNN vector (the largest sums of similarities to the
    other members): each edit moves a copy away from the picture it was made from in its own direction, so
    that picture sits in the middle of its copies (among the copies that barely changed it: thumbnails,
    re-encodes, hence several hubs). At most ``hubs`` checks per grouped image, none for an image grouped
    with no other."""
    e = np.empty(0, np.int64)
    if not len(left):
        return e, e
    labels = search.connected_components(len(vectors), left, right)
    order = np.argsort(labels, kind="stable")
    starts = np.flatnonzero(np.r_[True, labels[order][1:] != labels[order][:-1]])
    out_l, out_r = [], []
    for members in np.split(order, starts[1:]):
        if len(members) < 3:  # alone, or a pair: its own star
            continue
        v = vectors[members].astype(np.float32)
        # the sum of a member's similarities to all: one product with the members' sum, O(members), not squared
        central = members[np.argsort(-(v @ v.sum(axis=0)), kind="stable")[:hubs]].tolist()
        for h in central:
            for i in members.tolist():
                key = (min(i, h), max(i, h))
                if i != h and key not in known:
                    known.add(key)
                    out_l.append(key[0])
                    out_r.append(key[1])
    return np.array(out_l, np.int64), np.array(out_r, np.int64)


def copy_pairs(records: CopyRows | Sequence[CopyRecord], threshold: float = DEFAULT_CONFIDENCE,
               workers: int | None = None, hash_sure: int = HASH_SURE, pair_scores: PairScores | None = None,
               progress: bool | Any = False, **candidates) -> search.Pairs:
    """Pairs ``i < j`` of copies among encoded images, with their confidence as ``distance`` (larger is closer).

    ``pair_scores`` (:class:`imagetwins.pairscores.PairScores` over these records, version
    :func:`imagetwins.verify.verdict_version`): confidences already known are taken from it, only the other
    candidates are verified, and their confidences are kept there. ``candidates`` go to
    :func:`candidate_pairs` (``hash_candidate``, ``cnn_candidate``, ``top_k``).

    Candidates cannot starve: when an image's first ``top_k`` CNN neighbours are copies already grouped with
    it (13 copies of one photo fill every place), it proposes again from its :data:`NEIGHBOURS_DEEP` nearest,
    one image per *other* group (:func:`_starved`), for up to :data:`REPROPOSE_ROUNDS` rounds. Before those
    rounds, the descriptor votes (:func:`vote_lists`) propose each image's :data:`VOTE_K` most voted partners
    outside its group (:func:`_voted`): copies the hash and the CNN both miss (a heavy edit, a crop, a picture
    behind look-alikes) share ORB descriptors with their original. The votes are searched over every row each
    run (their blocks are kept in the row heads), so an incremental run's answer is a full run's; not above
    :data:`VOTE_MAX_ROWS` images.

    ``progress`` (as in :func:`imagetwins.encoding.encode_files`: ``True`` or a caller's tqdm-like bar) counts
    the pairs verified (:class:`VerifyProgress`).
    """
    left, right, _, conf, marks = scored_candidates(records, threshold, workers, hash_sure, pair_scores,
                                                    progress=progress, with_marks=True, **candidates)
    keep = CONFIDENCE.within(conf, threshold, marks)
    return search.Pairs(left[keep].astype(np.int64), right[keep].astype(np.int64), conf[keep], CONFIDENCE,
                        marks[keep])


def check_pairs(records: CopyRows | Sequence[CopyRecord], left: np.ndarray, right: np.ndarray,
                workers: int | None = None, pair_scores: PairScores | None = None) -> search.Pairs:
    """Pairs ``(left[k], right[k])`` of ``records`` that the search did not propose, each with its confidence and
    marks (every pair, copies or not): checked as the search checks the pairs it proposes after its first round
    (no hash distance: a hash-sure pair is always proposed), confidences kept in ``pair_scores`` reused and new
    ones kept there, so a pair's score is the one a search proposing it gives. The keep stage's check of a grouped
    file against its group's keeper (:mod:`imagetwins.keep`)."""
    left, right = np.asarray(left, np.int64), np.asarray(right, np.int64)
    if not len(left):
        return search.Pairs.empty(np.float32, CONFIDENCE)
    conf, marks = _confidences(records, records, left, right, np.full(len(left), 256, np.int32), workers, HASH_SURE,
                               pair_scores)
    return search.Pairs(left, right, conf, CONFIDENCE, marks)


#: a frame lies inside the other's once aligned when this share of it does, and holds more than the other's picture
#: when at most this share of it does: a picture framed by a canvas, bars or a background
#: (:func:`framed_pictures`; a rotated copy's grown canvas, the least frame there is, leaves 0.78-0.87 of it)
FRAMED_INSIDE = 0.9
#: the share of a picture's edge along which it must look pasted (:func:`~imagetwins.verify.pasted_share`) on a file
#: with a canvas found whose frame beyond it is no padding (a screenshot's bars and caption): on photos-public's family
#: folder, pictures pasted on a screen 0.34-0.97 (median 0.69), on a background 0.48-1.0; crops of an original, the
#: four originals the canvas finder is wrong about included, 0.02-0.41
FRAMED_PASTED = 0.5
#: a picture framed in another file at more than this many of its pixels a side to one of the plain file's is looked
#: at in the files (:func:`_enlarged_area`: is it the plain file enlarged?); at or under it the keep stage counts the
#: plain file as holding the picture near its resolution anyway (:func:`imagetwins.keep.framed_copies`: 0.8 a side),
#: and the look (~0.02-1 CPU s a pair since keepcost2, 0.2-3 before) would change nothing
FRAMED_LOOK_SIDE = 1.25
#: the files' look (:func:`~imagetwins.verify.unexplained_detail`, the framed picture as the finer one) under which a
#: framed picture is the plain file enlarged (:func:`_enlarged_area`): chosen on ``benchmarks/tune_framed_enlarged.py``
#: (photos-public 200-249): screenshots of a photo enlarged 1.3-2x (Lanczos, bicubic, bilinear; JPEG 75-92) 0.05-0.32
#: (123 of 138 measured below; 2 misaligned, over 1), a screenshot of the photo beside its 0.5-0.78x copy 0.33-1.08
#: (none of 150 below). Lower than verify's
#: :data:`~imagetwins.verify.UNEXPLAINED_CAP` (a zoomed re-shot's inner picture): a picture at 1.3x the plain file's
#: side holds little detail past it, and a genuine one must not be taken for an enlargement (the safe side: missed
#: enlargements keep their place, as before)
FRAMED_ENLARGED_BELOW = 0.25


def _picture_area(features: ImageFeatures, share: float = 1.0) -> float:
    """``share`` of the picture of ``features`` in its file's own pixels (0: its size there is not known)."""
    w, h = features.size
    side = float(features.native_side)
    if side <= 0 or w <= 0 or h <= 0:
        return 0.0
    return share * side * side * min(w, h) / max(w, h)


def framed_picture(a, b, threshold: float = DEFAULT_CONFIDENCE, whole: Verification | None = None,
                   sources: tuple[str | os.PathLike | bytes, str | os.PathLike | bytes] | None = None) -> float:
    """How many of ``a``'s file pixels hold ``b``'s whole picture, where ``a`` is ``b``'s picture with a frame of no
    scene around it (a canvas, a background, a screenshot's bars and caption, a grown canvas's corners); 0 where it is
    not, or the pair is no copy at ``threshold``. Read from checks of the pair in full
    (:func:`~imagetwins.verify.verify_pair`; the pair's score is not changed). Where the whole images are copies:
    ``b``'s frame lies inside ``a``'s (:data:`FRAMED_INSIDE` of it or more) and only a part of ``a``'s inside ``b``'s
    (at most :data:`FRAMED_INSIDE`), and what ``a`` shows beyond is padding (one flat colour or gradient the picture
    does not continue, :attr:`~imagetwins.verify.Verification.padded`) or ``b``'s picture is pasted on something else
    along :data:`FRAMED_PASTED` of its edge or more (:func:`~imagetwins.verify.pasted_share`: the scene around a crop
    goes on across its edge; bars, a screen and a background end there), whether or not a canvas was found in ``a``
    (:func:`imagetwins.canvas.upright_picture` misses a background under stickers, a meme's caption bars, a tilted
    copy's grown canvas: such combinations were kept before the original). Where they are not (a screenshot whose
    picture is a sixth of it), ``a``'s picture cut from its canvas must be a copy of ``b`` whole, each frame lying
    inside the other. Where ``a`` shows only a part of ``b``'s scene framed so (a crop, then a screenshot, a background,
    a tilt on a grown canvas) and ``b`` more scene around it (:func:`_less_scene`; read on ``a``'s picture cut from its
    canvas too where the whole images are turned off the axes), ``b``'s whole picture at the scale ``a`` holds that
    part, and no more than ``b``'s own size where that part is ``b``'s enlarged (the detail rule). A crop of ``a`` is
    never found so: it is a copy of ``a`` whole, and more of the scene lies around it there.
    ``whole``: the check of the whole images already made (:func:`verify_pair` of their features, or that
    check with the files looked at: :func:`looked_at`), not made again. ``sources``: the two files (paths or bytes);
    where given and a check finds ``b``'s picture in many more of ``a``'s pixels than ``b`` has, the files are looked
    at (:func:`_enlarged_area`): a picture enlarged into a screenshot or onto a background counts at ``b``'s own size
    (NaN where the look fails: no answer this run)."""
    if different_captures(a, b):
        return 0.0
    fa, alt = _sides(a)
    fb = _sides(b)[0]
    v = verify_pair(fa, fb) if whole is None else whole
    copy = v.verdict(threshold) is Verdict.COPY
    if copy:
        area = _framed_area(v, fa, fb, threshold)
        # (turned off the axes on a grown canvas, the whole frames are read with the canvas's corners: b's scene
        # beyond a's picture falls there, and only the picture cut from the canvas tells a crop turned)
        if area or alt is None or off_camera_axes(v.rotation) < FRAMING_ANGLE:
            return _enlarged_area(v, fa, fb, area, sources)
    if alt is None:
        return 0.0
    w = verify_pair(alt, fb)
    if w.verdict(threshold) is not Verdict.COPY:
        return 0.0
    if copy:
        area = _less_scene_area(w, alt, fb)
    elif min(w.frame_cover_a, w.frame_cover_b) >= FRAMED_INSIDE:
        area = _picture_area(alt, w.frame_cover_a)
    else:  # (the picture cut from the canvas framed itself, or less of b's scene framed)
        area = _framed_area(w, alt, fb, threshold)
    return _enlarged_area(w, fa, fb, area, sources, cut=alt)


def _enlarged_area(v: Verification, fa: ImageFeatures, fb: ImageFeatures, area: float,
                   sources: tuple[str | os.PathLike | bytes, str | os.PathLike | bytes] | None,
                   cut: ImageFeatures | None = None) -> float:
    """``area`` (``b``'s picture framed in ``a``, in ``a``'s file pixels, from ``v``: the check of the whole images), or
    ``b``'s own size where ``area`` is more (:data:`FRAMED_LOOK_SIDE` a side) and ``a``'s picture holds no detail ``b``
    lacks: the files' look of the
    detail rule (:func:`~imagetwins.verify.unexplained_detail` with ``a`` as the finer picture, under
    :data:`FRAMED_ENLARGED_BELOW`), which says a picture is another file enlarged. The features' detail
    rule is not measured where the other file's surround is flat (a screenshot's bars): a portrait photo enlarged to a
    phone screen's width was taken for the picture at more pixels than its original, and kept. NaN where the files
    cannot be read now (no answer this run); ``area`` where no ``sources`` are given, the match is mirrored, the part
    is too small or flat to tell. Looked at as :func:`_look_sides` says: first at the look's usual decode (``b``
    at ``a``'s reduction), then, where ``a``'s decode was reduced and that look found no enlargement, with ``b``
    whole and ``a`` decoded so that its picture holds :data:`~imagetwins.verify.LOOK_FLAT_SCALE` of ``b``'s pixels
    a side or more (up to :data:`~imagetwins.verify.LOOK_MAX_SIDE`; a flat part there is no answer). ``cut``: ``v``
    is the check of ``a``'s picture cut from its canvas (these features) against ``b``; the map from ``a``'s whole
    frame is then that check's after the cut's check against ``a`` whole."""
    if sources is None or not area > FRAMED_LOOK_SIDE ** 2 * _picture_area(fb) > 0 or v.transform is None:
        return area
    ratio = math.sqrt(area / _picture_area(fb))
    reduction, side = _look_sides(sources[0], fa.native_side, ratio)
    if cut is not None:  # (a's frame -> the cut's -> b's)
        inside = verify_pair(cut, fa)
        if inside.transform is None or inside.mirrored or v.mirrored:
            return area
        try:
            to_b = np.vstack([v.transform, [0.0, 0.0, 1.0]]) @ np.linalg.inv(
                np.vstack([inside.transform, [0.0, 0.0, 1.0]]))
        except np.linalg.LinAlgError:
            return area
        v = dataclasses.replace(v, transform=to_b[:2])
    v = dataclasses.replace(v, inner=0)
    usual = int(min(LOOK_SIDE, fa.native_side))
    try:
        # (the look at a's usual decode, b at the same reduction: where it finds a's picture holds nothing past b's
        # pixels so reduced, it holds nothing past b's own; skipped where it holds the picture at fewer than b's)
        left = None
        if ratio >= reduction:
            with _look_held(sources, usual, math.ceil(fb.native_side / reduction)) as made:
                left = unexplained_detail(v, fa, fb, sources[0], sources[1], boxed=True) if made else None
        if ((left is None or left >= FRAMED_ENLARGED_BELOW) and reduction > 1 and side is not None
                and not _same_look(sources[1], fb.native_side, reduction, side == usual)):
            # (a reduced look that found no enlargement could not have seen one: b whole, a so that its picture
            # holds LOOK_FLAT_SCALE of b's pixels a side or more)
            with _look_held(sources, side, int(fb.native_side)) as made:
                if made:
                    left = unexplained_detail(v, fa, fb, sources[0], sources[1], boxed=True, inner_side=side)
    except (ImageReadError, OSError, ValueError, np.linalg.LinAlgError):
        return float("nan")
    return area if left is None or left >= FRAMED_ENLARGED_BELOW else _picture_area(fb)


@contextlib.contextmanager
def _look_held(sources: tuple[str | os.PathLike | bytes, str | os.PathLike | bytes], inner_side: int,
               outer_side: int) -> Iterator[bool]:
    """Whether the files' look at ``sources[0]`` decoded with its long side at ``inner_side`` or more and
    ``sources[1]`` at ``outer_side`` is made (the keep stage's looks, :func:`_enlarged_area`): not where its decodes'
    pixels at :data:`~imagetwins.verify.LOOK_BYTES_PER_PIXEL` would cost more than io's limit on one decode
    (:data:`~imagetwins.io.DEFAULT_MAX_DECODED_BYTES`: a PNG, TIFF or WebP is decoded whole, and a 12,000 x 9,500 PNG
    framing its original took 3.2 GB, its scan 0.8 GB); where it is, that cost is held in
    :data:`~imagetwins.io.DECODE_BUDGET` until the look ends (other threads' decodes wait). A header that cannot be
    read: made, and it fails itself."""
    from imagetwins.io import DECODE_BUDGET, DEFAULT_MAX_DECODED_BYTES

    try:
        pixels = sum(decode_plan(src, 1, side)[0] for src, side in zip(sources, (inner_side, outer_side)))
    except (ImageReadError, OSError, ValueError):
        pixels = 0
    cost = pixels * LOOK_BYTES_PER_PIXEL
    if cost > DEFAULT_MAX_DECODED_BYTES:
        yield False
        return
    with DECODE_BUDGET.keeping():
        with DECODE_BUDGET.hold(cost):  # (kept to the block's end; this thread's decodes in it then never wait)
            pass
        yield True


def _same_look(source: str | os.PathLike | bytes, native_side: float, reduction: float, usual: bool) -> bool:
    """Whether the second look (:func:`_enlarged_area`) would be the first again: ``a`` at its ``usual`` side and
    ``source``, ``b``, decoded whole at ``a``'s ``reduction`` already (a card against a thumbnail)."""
    if not usual:
        return False
    try:
        stored, decoded = reduced_decode_side(source, 1, math.ceil(native_side / reduction))
    except (ImageReadError, OSError, ValueError):
        return False
    return decoded >= stored


def _look_sides(source: str | os.PathLike | bytes, native_side: float, ratio: float) -> tuple[float, int | None]:
    """How the files' look (:func:`~imagetwins.verify.unexplained_detail`) decodes ``source``, the framed file, whose
    picture is ``ratio`` of its own pixels a side to one of the plain file's (io's sizing: a JPEG's reduced-scale
    decode, a JPEG 2000's resolution levels, a HEIF's embedded thumbnail): how many times smaller than its own pixels
    its usual decode is (:data:`~imagetwins.verify.LOOK_SIDE` on the long side; 1 where the header cannot be read:
    the look then fails itself), and the long side a look at the plain file's own pixels decodes it at or over: the
    usual one where that holds the picture at :data:`~imagetwins.verify.LOOK_FLAT_SCALE` or more of them a side,
    else the least side that does (a 1,300 px product card holding the product enlarged 2x is decoded at half, its
    picture then at the product's pixels, where no enlargement can be seen: whole); None where that decode is over
    :data:`~imagetwins.verify.LOOK_MAX_SIDE` (no such look), the usual one included (a JPEG over 16,384 px a side,
    decoded at an eighth: the plain file, then whole, up to that decode's side / LOOK_FLAT_SCALE)."""
    side = int(min(LOOK_SIDE, native_side))
    try:
        stored, decoded = reduced_decode_side(source, 1, side)
        if stored <= 0 or decoded <= 0:
            return 1.0, side
        reduction = max(1.0, stored / decoded)
        if ratio * decoded / stored >= LOOK_FLAT_SCALE:  # (the usual decode: bounded as the larger one is)
            return reduction, (side if decoded <= LOOK_MAX_SIDE else None)
        side = math.ceil(stored * LOOK_FLAT_SCALE / ratio)
        _, decoded = reduced_decode_side(source, 1, side)
    except (ImageReadError, OSError, ValueError):
        return 1.0, side
    return reduction, (side if decoded <= LOOK_MAX_SIDE else None)


def _framed_area(v: Verification, fa: ImageFeatures, fb: ImageFeatures, threshold: float) -> float:
    """:func:`framed_picture` read from ``v``, a copy: ``b``'s whole picture at the scale ``a`` holds it, in ``a``'s
    file pixels, where ``a`` shows nothing beyond it but a frame (:func:`_framed_beyond`), or shows a part of ``b``'s
    scene with a frame around it while ``b`` shows more scene around that part (:func:`_less_scene`: a crop, then a
    screen, a background or a tilt on a grown canvas); 0 where neither."""
    if _framed_beyond(v, fa, fb, threshold):
        return _picture_area(fa, v.frame_cover_a)
    return _less_scene_area(v, fa, fb)


def _less_scene_area(v: Verification, fa: ImageFeatures, fb: ImageFeatures) -> float:
    """Where ``a`` shows less of ``b``'s scene (:func:`_less_scene`), ``b``'s whole picture at the scale ``a`` holds
    the part it shows (no more than ``b``'s own where that part is ``b``'s enlarged); else 0."""
    if not _less_scene(v, fa, fb):
        return 0.0
    return _no_enlargement(v, fb, _picture_area(fa, v.frame_cover_a) / v.frame_cover_b)


def _less_scene(v: Verification, fa: ImageFeatures, fb: ImageFeatures) -> bool:
    """Whether ``a`` shows less of the scene than ``b`` and nothing of its own (``v``: the check of ``a`` against
    ``b``): ``b``'s frame reaches beyond ``a``'s (at most :data:`FRAMED_INSIDE` of it inside) with scene (no padding,
    not pasted on something else: :func:`~imagetwins.verify.pasted_share` of ``a``'s picture in ``b`` under
    :data:`FRAMED_PASTED`), while what ``a`` shows beyond ``b``'s frame is nothing (:data:`FRAMED_INSIDE` of ``a``
    inside ``b``, the two not turned off the axes: :data:`~imagetwins.verify.FRAMING_ANGLE`) or a frame (padding, or
    ``b``'s picture pasted along :data:`FRAMED_PASTED` of its edge). A screenshot of a crop, a crop turned on a grown
    canvas or put on a background: fam-ukbench g0018, fam-camera-photos g0004."""
    if not 0 < v.frame_cover_b < FRAMED_INSIDE or v.padded[1] or v.transform is None:
        return False
    # (turned off the axes, a's frame inside b's says nothing: b's grown canvas holds it, b's scene beyond a's picture
    # black there; a's own frame must be seen)
    seen = v.frame_cover_a >= FRAMED_INSIDE and off_camera_axes(v.rotation) < FRAMING_ANGLE
    if not (seen or v.padded[0] or (pasted_share(v, fa, fb) or 0.0) >= FRAMED_PASTED):
        return False
    try:
        back = np.linalg.inv(np.vstack([v.transform, [0.0, 0.0, 1.0]]))[:2]
    except np.linalg.LinAlgError:
        return False
    seen_from_b = pasted_share(dataclasses.replace(v, transform=back), fb, fa)
    return seen_from_b is not None and seen_from_b < FRAMED_PASTED


def _no_enlargement(v: Verification, fb: ImageFeatures, area: float) -> float:
    """``area`` (``b``'s picture at ``a``'s scale), or ``b``'s own size where it is less and ``v`` says ``a``'s picture
    is ``b``'s enlarged (the detail rule, :data:`~imagetwins.verify.DETAIL_CAP`: ``a``'s picture inside ``b``'s frame,
    more of its pixels to one of ``b``'s, no detail ``b`` lacks): the enlargement adds pixels, not picture (a crop
    enlarged into a phone screen's width)."""
    if v.inner == 0 and v.inner_scale > 1 and math.isfinite(v.inner_detail) and v.inner_detail < DETAIL_CAP:
        return min(area, _picture_area(fb))
    return area


def shows_more(a, b, threshold: float = DEFAULT_CONFIDENCE, whole: Verification | None = None) -> bool:
    """Whether ``a`` shows scene ``b`` lacks: ``b`` is a crop of it. The whole images a copy at ``threshold``, ``b``'s
    frame inside ``a``'s (:data:`FRAMED_INSIDE` of it or more), only a part of ``a``'s inside ``b``'s (at most
    :data:`FRAMED_INSIDE`), and what ``a`` shows beyond is no frame (:func:`framed_picture`'s tests: no padding, not
    pasted on something else). ``whole``: as :func:`framed_picture`'s."""
    if different_captures(a, b):
        return False
    fa, fb = _sides(a)[0], _sides(b)[0]
    return _framed_beyond(verify_pair(fa, fb) if whole is None else whole, fa, fb, threshold) is False


def _framed_beyond(v: Verification, fa: ImageFeatures, fb: ImageFeatures, threshold: float) -> bool | None:
    """What ``a`` shows beyond ``b``'s picture (``v``: the check of the whole images ``fa`` against ``fb``), as
    :func:`framed_picture` and :func:`shows_more` read it: None where the whole images are no copy at ``threshold``, or
    ``b``'s frame does not lie inside ``a``'s (:data:`FRAMED_INSIDE`) with more of ``a``'s beyond; else True where that
    beyond is a frame (padding, or ``b``'s picture pasted on something else along :data:`FRAMED_PASTED` of its edge),
    False where it is scene."""
    if v.verdict(threshold) is not Verdict.COPY or v.frame_cover_b < FRAMED_INSIDE or v.frame_cover_a > FRAMED_INSIDE:
        return None
    return bool(v.padded[0] or (pasted_share(v, fa, fb) or 0.0) >= FRAMED_PASTED)


def _checked_copy(records: CopyRows | Sequence[CopyRecord], i: int, j: int,
                  threshold: float) -> tuple[bool, Verification | None, bool]:
    """Whether the search's check of rows ``i`` and ``j`` calls them copies at ``threshold`` (:func:`verify_records`,
    the files looked at where the features leave the pair to them: :func:`looked_at`, the paths :func:`naming` gives),
    and that check where it is of the whole images (for :func:`framed_picture` / :func:`shows_more`'s ``whole``). The
    keep stage's checks of a pair (framed, shows more) read a pair as a copy only where ``find`` does: on the features
    alone holidays-half 126400/126402, a zoomed re-shot ``find`` reports as one, read as a copy whose larger view
    shows more. Last, whether the check is decided (:func:`looked_at`: False where the pair wants its files and no look
    decided it; its features' answer serves that run alone)."""
    v, decided = looked_at(records, records, i, j)
    if v is None or v.verdict(threshold) is not Verdict.COPY:
        return False, None, decided
    return True, (v if v.cut_from_canvas == (False, False) and not v.different_captures else None), decided


def shows_more_rows(records: CopyRows | Sequence[CopyRecord], i: int, j: int,
                    threshold: float = DEFAULT_CONFIDENCE) -> bool:
    """:func:`shows_more` of rows ``i`` and ``j`` of ``records`` where the search's check calls them copies
    (:func:`_checked_copy`; False where their features cannot be used now: one warning, as a search's check)."""
    try:
        copy, whole, _ = _checked_copy(records, i, j, threshold)  # (undecided: the features' answer, this run's)
        return copy and shows_more(records[i], records[j], threshold, whole)
    except Exception as exc:  # damaged stored features, as _verify_or_none
        _unverifiable(records, records, i, j, _names.get(), exception_line(exc))
        return False


def framed_pictures(records: CopyRows | Sequence[CopyRecord], left: np.ndarray, right: np.ndarray,
                    threshold: float = DEFAULT_CONFIDENCE) -> np.ndarray:
    """:func:`framed_picture` of each pair ``(left[k], right[k])`` of ``records`` the search's check calls copies
    (:func:`_checked_copy`; 0 for others, and for a pair whose features cannot be used now: one warning, as a search's
    check). NaN where the check is undecided (the pair wants its files and no look decided it: no paths named, a file
    unreadable or changed since its scan): no answer, so that none resting on the features alone is kept
    (:class:`imagetwins.keep.Framing` keeps finite answers only) and the pair is not taken for framed that run."""
    out = np.zeros(len(left), np.float64)
    names = _names.get()
    for k, (i, j) in enumerate(zip(np.asarray(left, np.int64).tolist(), np.asarray(right, np.int64).tolist())):
        try:
            copy, whole, decided = _checked_copy(records, i, j, threshold)
            sources = None if names[0] is None or names[1] is None else (names[0][i], names[1][j])
            out[k] = (np.nan if not decided else
                      framed_picture(records[i], records[j], threshold, whole, sources) if copy else 0.0)
        except Exception as exc:  # damaged stored features, as _verify_or_none
            _unverifiable(records, records, i, j, names, exception_line(exc))
    return out


def _voted_query(queries: CopyRows, database: CopyRows, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(query, database)`` pairs the descriptor votes propose: each query's first ``k`` database partners of
    :func:`vote_lists` over both sets together (none above :data:`VOTE_MAX_ROWS` rows in all, or where either set
    holds no vote blocks)."""
    e = np.empty(0, np.int64)
    nq = len(queries)
    if k <= 0 or nq + len(database) > VOTE_MAX_ROWS or queries.votes is None or database.votes is None:
        return e, e
    row, partner, _ = vote_lists(CopyRows.concat([queries, database]))
    keep = (row < nq) & (partner >= nq)
    row, partner = row[keep], partner[keep]
    first_k = search.places_in_runs(row) < k
    return row[first_k], partner[first_k] - nq


def copy_query(queries: CopyRows | Sequence[CopyRecord], database: CopyRows | Sequence[CopyRecord],
               threshold: float = DEFAULT_CONFIDENCE, workers: int | None = None, hash_sure: int = HASH_SURE,
               pair_scores: PairScores | None = None, vote_k: int | None = None, **candidates) -> search.Pairs:
    """``(query, database)`` copies: the same proposal and verification, across two sets; the descriptor votes
    propose each query's ``vote_k`` (default :data:`VOTE_K`) most voted database images too (:func:`_voted_query`)."""
    qh, qv, qf = stack(queries)
    dh, dv, df = stack(database)
    left, right, dist = candidate_query(qh, qv, dh, dv, workers, query_alt=qf.alternates(), alt=df.alternates(),
                                        **candidates)
    more_l, more_r = _voted_query(qf, df, VOTE_K if vote_k is None else vote_k)
    if len(more_l):
        n = len(dh)
        keys, dist = _unique(np.concatenate([left * n + right, more_l * n + more_r]),
                             np.concatenate([dist, np.full(len(more_l), 256, np.int32)]))
        left, right = keys // n, keys % n
    conf, marks = _confidences(qf, df, left, right, dist, workers, hash_sure, pair_scores)
    keep = CONFIDENCE.within(conf, threshold, marks)
    return search.Pairs(left[keep].astype(np.int64), right[keep].astype(np.int64), conf[keep], CONFIDENCE,
                        marks[keep])
