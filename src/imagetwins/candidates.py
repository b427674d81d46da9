"""The candidate search of ``copies`` kept between runs, so a re-run searches only what is new.

``copies`` proposes pairs from two searches over all its rows (each image and each picture cut from a
canvas): the dihedral hashes within :data:`imagetwins.copies.HASH_CANDIDATE` bits, all pairs, and each
row's nearest CNN vectors. Both grow with the square of the library: at 100,000 images they cost minutes
on every run. Their answers for rows already searched do not change when rows are added:

- a hash pair of two old rows is still a hash pair (the distance is the pair's own);
- an old row's nearest neighbours among all rows are the nearest of its old list (the nearest among the
  old rows, kept) and of its nearest among the new rows (searched now), merged;
- a pair's verification confidence is kept with the pair, with its marks (the same as the pair score store's).

The hash pairs are bounded per row (``hash_per_row``): pairs within the sure distance (copies without a
check, so free) are all kept, and of the others only each row's closest ``hash_per_row`` (a pair stays when it
is among the closest of either of its rows, :func:`closest_hash_pairs`). Within a fixed number of bits the
pairs of a row grow with the library (on real photos 1 pair an image at 1,300 images within 96 bits, so ~80 at
100,000), and each of them is a verification. The bound keeps the same exactness: an old row's closest among all
are the closest of its kept pairs and of its pairs with the new rows, and a row that had a kept pair with a row
now gone is searched again against all (its closest may have had a hole).

So a :class:`CandidateState` keeps, per row (keyed by content digest: a renamed or moved file keeps its
place), its neighbour list and the hash pairs and scored pairs among the rows; :func:`search_rows` then compares
only the new rows against all rows and old rows against the new ones. A row whose list named a row that is
gone is searched again in full (its list has a hole), so the answer is that of a search over everything, up
to the order of exactly equal similarities. :func:`search_rows` counts the row pairs it compared
(:class:`SearchCounts`), which is what the tests hold it to.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from imagetwins import search
from imagetwins.io import load_stored_npz
from imagetwins.pairscores import PairScores

__all__ = ["CandidateMemo", "CandidateState", "SearchCounts", "closest_hash_pairs", "row_keys", "search_rows"]

#: changes whenever what a kept state means changes (2: similarities of half-float vectors; 3: hash pairs bounded
#: per row)
STATE_VERSION = 3
#: bytes of a row key: the content's 16-byte digest key, then 0 for the image, 1 for the picture cut from its canvas
KEY_BYTES = 17


@dataclass
class SearchCounts:
    """Row pairs one candidate search compared: by hash and by CNN vector, and how many rows were new
    (searched against all) or searched again (their kept neighbour list named a row that is gone)."""

    hash_compared: int = 0
    cnn_compared: int = 0
    rows: int = 0
    new_rows: int = 0
    searched_again: int = 0


def row_keys(content_keys: list[bytes | None], owner: np.ndarray, alternate: np.ndarray) -> np.ndarray:
    """Keys of searched rows: their owner's content key and whether the row is the picture cut from a canvas.
    A row whose content is unknown gets an empty key: it is always new and never kept."""
    out = np.zeros(len(owner), dtype=f"S{KEY_BYTES}")
    for r, (o, a) in enumerate(zip(owner.tolist(), alternate.tolist())):
        k = content_keys[o]
        if k is not None and len(k) == KEY_BYTES - 1:
            out[r] = k + (b"\x01" if a else b"\x00")
    return out


class CandidateState:
    """What one candidate search over a set of rows found (see the module docstring).

    Attributes
    ----------
    keys : (R,) bytes
        Each row's key (:func:`row_keys`).
    hash_left, hash_right, hash_dist : (H,) arrays
        Row pairs ``left < right`` within the hash threshold, and their distance.
    nb_idx, nb_sim : (R, depth) arrays
        Each row's nearest rows (itself left out) and their cosine similarities, best first.
    pair_left, pair_right, pair_conf : (P,) arrays
        Image pairs scored (rows of images, i.e. of keys ending in 0) and their confidence, with its marks as the
        pair score store keeps them (:func:`imagetwins.scores.stored_score`: negative where recoloured).
    """

    def __init__(self, keys, hash_left, hash_right, hash_dist, nb_idx, nb_sim, pair_left=None, pair_right=None,
                 pair_conf=None) -> None:
        self.keys = np.asarray(keys, dtype=f"S{KEY_BYTES}")
        self.hash_left = np.asarray(hash_left, np.int64)
        self.hash_right = np.asarray(hash_right, np.int64)
        self.hash_dist = np.asarray(hash_dist, np.int32)
        self.nb_idx = np.asarray(nb_idx, np.int64)
        self.nb_sim = np.asarray(nb_sim, np.float32)
        e = np.empty(0, np.int64)
        self.pair_left = e if pair_left is None else np.asarray(pair_left, np.int64)
        self.pair_right = e if pair_right is None else np.asarray(pair_right, np.int64)
        self.pair_conf = np.empty(0, np.float32) if pair_conf is None else np.asarray(pair_conf, np.float32)

    @property
    def depth(self) -> int:
        return self.nb_idx.shape[1] if self.nb_idx.ndim == 2 else 0

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, keys=self.keys, hash_left=self.hash_left.astype(np.int32),
                 hash_right=self.hash_right.astype(np.int32), hash_dist=self.hash_dist.astype(np.int16),
                 nb_idx=self.nb_idx.astype(np.int32), nb_sim=self.nb_sim, pair_left=self.pair_left.astype(np.int32),
                 pair_right=self.pair_right.astype(np.int32), pair_conf=self.pair_conf)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> CandidateState:
        """Inverse of :meth:`to_bytes`; ``ValueError`` for anything that is not a consistent state."""
        try:
            with load_stored_npz(data) as z:  # (an edited row cannot unpack to gigabytes)
                state = cls(*(z[name] for name in ("keys", "hash_left", "hash_right", "hash_dist", "nb_idx",
                                                   "nb_sim", "pair_left", "pair_right", "pair_conf")))
        except Exception as exc:  # a damaged or edited row: the search is made in full again
            raise ValueError(f"not a candidate state ({type(exc).__name__})") from None
        r = len(state.keys)
        ok = (state.nb_idx.ndim == 2 and len(state.nb_idx) == r and state.nb_sim.shape == state.nb_idx.shape
              and len(state.hash_left) == len(state.hash_right) == len(state.hash_dist)
              and len(state.pair_left) == len(state.pair_right) == len(state.pair_conf))
        for idx in (state.nb_idx, state.hash_left, state.hash_right, state.pair_left, state.pair_right):
            ok = ok and (not idx.size or (idx.min() >= 0 and idx.max() < r))
        if not ok:
            raise ValueError("not a candidate state (inconsistent arrays)")
        return state

    def scores(self, keys: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """The kept confidence of each image pair (``left[k]``, ``right[k]``) of rows with ``keys``; NaN where
        none is kept."""
        out = np.full(len(left), np.nan)
        if not len(left) or not len(self.pair_left):
            return out
        pos = _positions(self.keys, keys)
        n = len(self.keys)
        a, b = pos[left], pos[right]
        have = (a >= 0) & (b >= 0)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        want = lo * n + hi
        kept = np.minimum(self.pair_left, self.pair_right) * n + np.maximum(self.pair_left, self.pair_right)
        order = np.argsort(kept, kind="stable")
        kept = kept[order]
        at = np.searchsorted(kept, want)
        found = have & (at < len(kept))
        found[found] = kept[at[found]] == want[found]
        out[found] = self.pair_conf[order][at[found]]
        return out


def _positions(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each of ``wanted``, its index in ``keys`` (-1 where absent or empty)."""
    out = np.full(len(wanted), -1, np.int64)
    if not len(keys) or not len(wanted):
        return out
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    at = np.searchsorted(sk, wanted)
    at_ok = at < len(sk)
    hit = at_ok.copy()
    hit[at_ok] = sk[at[at_ok]] == wanted[at_ok]
    hit &= wanted != b""
    out[hit] = order[at[hit]]
    return out


#: pairs-per-row entries :func:`closest_hash_pairs` sorts at a time (a block of rows; ~70 MB of arrays)
BOUND_HALF_PAIRS = 1 << 21


def closest_hash_pairs(left: np.ndarray, right: np.ndarray, dist: np.ndarray, rows: int, per_row: int | None,
                       sure: int, rank: np.ndarray | None = None) -> np.ndarray:
    """Mask of the hash pairs kept under the bound: every pair within ``sure`` bits, and each other pair that is
    among the ``per_row`` closest (not sure) pairs of its left or of its right row. Equal distances are ordered by
    ``rank`` of the other row (e.g. its content key's rank: the same order whatever the rows' positions), then by
    position. ``per_row`` None: all kept."""
    keep = np.ones(len(left), bool)
    if per_row is None or not len(left):
        return keep
    free = dist <= sure
    cand = np.flatnonzero(~free)
    if not len(cand):
        return keep
    keep[cand] = False
    cl, cr, cd = left[cand], right[cand], dist[cand]
    # each pair counts for both its rows; the rows are taken a block at a time (each row's order is its own): the
    # sort over all pairs twice over held ~1.3 GB for the ~11 M hash pairs of 100,000 pictures (bench_scale.py)
    step = max(1, int(rows) * BOUND_HALF_PAIRS // (2 * len(cand)) + 1)
    for a in range(0, int(rows), step):
        on_l = np.flatnonzero((cl >= a) & (cl < a + step))
        on_r = np.flatnonzero((cr >= a) & (cr < a + step))
        pid = np.concatenate([on_l, on_r])
        row = np.concatenate([cl[on_l], cr[on_r]])
        other = np.concatenate([cr[on_l], cl[on_r]])
        d = np.concatenate([cd[on_l], cd[on_r]])
        tie = other if rank is None else rank[other]
        order = search.lexsort_ints((other, tie, d, row))
        row = row[order]
        keep[cand[pid[order][search.places_in_runs(row) < per_row]]] = True
    return keep


def _key_rank(keys: np.ndarray) -> np.ndarray:
    """Each row's place in the order of the keys (equal keys, e.g. empty ones, share it)."""
    return np.unique(keys, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _topk_excluding(queries: np.ndarray, rows: np.ndarray, database: np.ndarray, depth: int,
                    each_block=None) -> tuple[np.ndarray, np.ndarray]:
    """Each query's ``depth`` nearest database rows, its own row (``rows``) left out, best first
    (``each_block``: as :func:`imagetwins.search.cosine_topk`'s)."""
    k = min(depth + 1, len(database))
    idx, sims = search.cosine_topk(queries, database, k=k, each_block=each_block)
    own = idx == rows[:, None]
    drop = np.where(own.any(axis=1), own.argmax(axis=1), k - 1)
    keep = np.ones(idx.shape, bool)
    keep[np.arange(len(idx)), drop] = False
    width = k - 1
    return idx[keep].reshape(len(idx), width), sims[keep].reshape(len(idx), width)


def _closest_per_row(row: np.ndarray, other: np.ndarray, sim: np.ndarray, depth: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of the entries ``(row, other, sim)``, each row's ``depth`` most similar (equal similarities: the lower
    ``other`` first), sorted by row, then best first."""
    order = np.lexsort((other, -sim, row))
    row, other, sim = row[order], other[order], sim[order]
    keep = search.places_in_runs(row) < depth
    return row[keep], other[keep], sim[keep]


#: similarities :class:`_NewAboveFloor` holds before it keeps only each kept row's best so far (~6 MB)
HITS_HELD = 1 << 19


class _NewAboveFloor:
    """Collects, from the products of the fresh rows' search (:func:`_topk_excluding`'s ``each_block``), each kept
    row's similarities to the new rows that beat its weakest kept neighbour (``floor``): the only new rows that
    can enter its list. The kept rows' nearest among the new rows were a second product of every kept row with
    every new one (at 100,000 rows and 1,000 new: 11 CPU s, a third of the incremental search); the fresh rows'
    search computes the same products (new row by all rows), so they are read from it."""

    def __init__(self, fresh: np.ndarray, is_new: np.ndarray, kept: np.ndarray, floor: np.ndarray, depth: int):
        self.fresh, self.depth = fresh, depth
        self.new_of_fresh = is_new[fresh]
        self.floor = np.full(len(is_new), np.inf, np.float32)  # by row: +inf where no kept row (never beaten)
        self.floor[kept] = floor
        self.kept_at = np.full(len(is_new), -1, np.int64)
        self.kept_at[kept] = np.arange(len(kept))
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.held = 0

    def __call__(self, a: int, c: int, sim: np.ndarray) -> None:
        rows = slice(a, a + sim.shape[0])
        beats = sim > self.floor[c:c + sim.shape[1]]
        beats &= self.new_of_fresh[rows, None]
        qi, ci = search.cells(beats)
        if not len(qi):
            return
        part = _closest_per_row(self.kept_at[c + ci], self.fresh[a + qi], sim[qi, ci], self.depth)
        self.parts.append(part)
        self.held += len(part[0])
        if self.held > HITS_HELD:  # (bounded: each kept row's best so far, not every hit)
            self.parts = [self.closest()]
            self.held = len(self.parts[0][0])

    def closest(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(kept position, new row, similarity): each kept row's ``depth`` best new rows above its floor."""
        if not self.parts:
            e = np.zeros(0, np.int64)
            return e, e, np.zeros(0, np.float32)
        return _closest_per_row(*(np.concatenate(x) for x in zip(*self.parts)), self.depth)


def _merge(idx_a, sim_a, idx_b, sim_b, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Two neighbour lists of the same rows merged: the ``depth`` best, best first."""
    idx = np.concatenate([idx_a, idx_b], axis=1)
    sim = np.concatenate([sim_a, sim_b], axis=1)
    order = np.argsort(-sim, axis=1, kind="stable")[:, :depth]
    return np.take_along_axis(idx, order, axis=1), np.take_along_axis(sim, order, axis=1)


def search_rows(hashes: np.ndarray, vectors: np.ndarray, keys: np.ndarray, hash_candidate: int, depth: int,
                workers: int | None = None, state: CandidateState | None = None, hash_per_row: int | None = None,
                hash_sure: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, SearchCounts]:
    """The hash pairs and neighbour lists of all rows: ``(hash left, hash right, hash distance, neighbour
    rows (R, depth'), similarities, counts)``, with ``depth' = min(depth, R - 1)``.

    With ``state`` (the search of an earlier set of rows, with the same ``depth`` and bound), only new rows are
    searched against all and old rows against the new ones; without, everything against everything.
    ``hash_per_row``: the hash pairs farther than ``hash_sure`` bits kept per row (:func:`closest_hash_pairs`;
    None: all).
    """
    r = len(hashes)
    depth = min(depth, r - 1)
    counts = SearchCounts(rows=r)
    pos = _positions(state.keys, keys) if state is not None and state.depth >= depth else None
    rank = _key_rank(keys) if hash_per_row is not None else None
    if pos is None or not (pos >= 0).any():
        hp = search.dihedral_pairs(hashes, hash_candidate, workers)
        dist = hp.distance.astype(np.int32)
        keep = closest_hash_pairs(hp.left, hp.right, dist, r, hash_per_row, hash_sure, rank)
        idx, sims = search.cosine_topk(vectors, vectors, k=depth, exclude_self=True)
        counts.hash_compared = r * (r - 1) // 2
        counts.cnn_compared = r * r
        counts.new_rows = r
        return hp.left[keep], hp.right[keep], dist[keep], idx, sims, counts
    # stored row -> current row (-1: gone); current rows that are old
    old_now = np.full(len(state.keys), -1, np.int64)
    old_now[pos[pos >= 0]] = np.flatnonzero(pos >= 0)
    is_old = pos >= 0
    new = np.flatnonzero(~is_old)
    # an old row's list as current rows; a row whose list named a gone row is searched again in full
    listed = old_now[state.nb_idx[:, :depth]]
    holes = (listed < 0).any(axis=1)
    again = np.zeros(r, bool)
    old_rows = np.flatnonzero(is_old)
    again[old_rows[holes[pos[old_rows]]]] = True
    fresh = np.flatnonzero(~is_old | again)  # searched against all
    kept = np.flatnonzero(is_old & ~again)  # their kept lists merged with the new rows
    counts.new_rows, counts.searched_again = len(new), int(again.sum())
    idx = np.empty((r, depth), np.int64)
    sims = np.empty((r, depth), np.float32)
    old_idx = listed[pos[kept]]
    old_sim = state.nb_sim[pos[kept], :depth]
    # the kept rows' nearest among the new rows, read off the fresh rows' products (the new rows are among them)
    above = _NewAboveFloor(fresh, ~is_old, kept, old_sim[:, depth - 1], depth) if len(kept) and len(new) and depth \
        else None
    if len(fresh) and depth:
        idx[fresh], sims[fresh] = _topk_excluding(vectors[fresh], fresh, vectors, depth, above)
        counts.cnn_compared += len(fresh) * r
    if len(kept) and depth:
        idx[kept], sims[kept] = old_idx, old_sim
        if above is not None:
            at, ni, ns = above.closest()
            rows = np.unique(at)
            if len(rows):
                # each such kept row's list merged with its new rows above the floor (at most depth of them)
                width = np.zeros(len(kept), np.int64)
                np.add.at(width, at, 1)
                start = np.r_[0, np.cumsum(width[rows])[:-1]]
                place = np.arange(len(at)) - np.repeat(start, width[rows])
                slot = np.searchsorted(rows, at)
                pad_i = np.full((len(rows), depth), -1, np.int64)
                pad_s = np.full((len(rows), depth), -np.inf, np.float32)
                pad_i[slot, place], pad_s[slot, place] = ni, ns
                idx[kept[rows]], sims[kept[rows]] = _merge(old_idx[rows], old_sim[rows], pad_i, pad_s, depth)
    # hash pairs: old x old as kept, new x all searched now; under a bound, an old row that had a kept pair with
    # a row now gone is searched against all again (its closest pairs may have had a hole)
    hl, hr = old_now[state.hash_left], old_now[state.hash_right]
    stay = (hl >= 0) & (hr >= 0)
    query = ~is_old
    if hash_per_row is not None:
        torn = np.zeros(r, bool)
        torn[hl[(hl >= 0) & (hr < 0)]] = True
        torn[hr[(hr >= 0) & (hl < 0)]] = True
        counts.searched_again += int((torn & ~again).sum())
        query |= torn
    parts_l, parts_r, parts_d = [hl[stay]], [hr[stay]], [state.hash_dist[stay]]
    asked = np.flatnonzero(query)
    if len(asked):
        hp = search.dihedral_query(hashes[asked], hashes, hash_candidate, workers)
        counts.hash_compared += len(asked) * r
        a, b = asked[hp.left], hp.right
        other = a != b
        parts_l.append(a[other])
        parts_r.append(b[other])
        parts_d.append(hp.distance[other].astype(np.int32))
    left, right, dist = np.concatenate(parts_l), np.concatenate(parts_r), np.concatenate(parts_d).astype(np.int32)
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    pair = lo * r + hi
    order = search.lexsort_ints((dist, pair))
    pair, dist = pair[order], dist[order]
    first = np.ones(len(pair), bool)
    first[1:] = pair[1:] != pair[:-1]
    pair, dist = pair[first], dist[first]
    left, right = pair // r, pair % r
    keep = closest_hash_pairs(left, right, dist, r, hash_per_row, hash_sure, rank)
    return left[keep], right[keep], dist[keep], idx, sims, counts


class CandidateMemo:
    """One search's link to the state an earlier run kept (through its
    :class:`~imagetwins.pairscores.PairScores`: the rows' content keys and the store): the state is read once,
    and what this search found is kept at its end (:meth:`keep`), when it differs."""

    def __init__(self, pair_scores: PairScores) -> None:
        self.pair_scores = pair_scores
        self._read: tuple[str, bytes] | None | bool = False
        self._state: CandidateState | None = None
        self._version = ""
        self._found: tuple | None = None
        self.counts: SearchCounts | None = None

    def row_keys(self, owner: np.ndarray, images: int) -> np.ndarray:
        """Keys of the searched rows: the first ``images`` are the images, the others pictures cut from canvases."""
        return row_keys(self.pair_scores.left_keys, owner, np.arange(len(owner)) >= images)

    def state(self, hash_candidate: int, depth: int, hash_per_row: int | None = None, hash_sure: int = 0
              ) -> CandidateState | None:
        """The kept state of a search with these parameters, or None (none kept, other parameters, damaged)."""
        self._version = (f"{self.pair_scores.version}|state{STATE_VERSION}|hash{int(hash_candidate)}|depth{int(depth)}"
                         f"|per_row{hash_per_row}|sure{int(hash_sure)}")
        if self._read is False:
            self._read = self.pair_scores.candidate_state()
        self._state = None
        if self._read and self._read[0] == self._version:
            try:
                self._state = CandidateState.from_bytes(self._read[1])
            except ValueError:
                self._state = None
        return self._state

    def searched(self, keys, hash_left, hash_right, hash_dist, idx, sims, counts: SearchCounts) -> None:
        self._found = (keys, hash_left, hash_right, hash_dist, idx, sims)
        self.counts = counts

    def scores(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Confidences the kept state holds for image pairs (NaN where none)."""
        if self._state is None or self._found is None:
            return np.full(len(left), np.nan)
        return self._state.scores(self._found[0], left, right)

    def keep(self, left: np.ndarray, right: np.ndarray, conf: np.ndarray, scored_now: bool) -> None:
        """Keep this search (its rows, hash pairs, neighbour lists) and the image pairs scored, unless nothing
        differs from the state read (a re-run with nothing new: nothing is written)."""
        if self._found is None or not self._version:
            return
        keys, hl, hr, hd, idx, sims = self._found
        same = (self._state is not None and not scored_now and self.counts is not None and not self.counts.new_rows
                and not self.counts.searched_again and len(self._state.keys) == len(keys)
                and len(self._state.pair_left) == len(left))
        if same:
            return
        done = ~np.isnan(conf)
        state = CandidateState(keys, hl, hr, hd, idx, sims, left[done], right[done], conf[done])
        self.pair_scores.keep_candidate_state(self._version, state.to_bytes())
