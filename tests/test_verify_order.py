"""The order the copies' pairs are checked in (``copies.cache_order``): each row's pairs together, so that its
features are read once, with the answers given back in the order asked (issue #25, new photos into an index)."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from conftest import synthetic_photo

from imagetwins import copies, edits, verify

pytestmark = pytest.mark.unit


def test_the_order_is_a_permutation_that_keeps_each_new_rows_pairs_together() -> None:
    rng = np.random.default_rng(0)
    old, new = 1000, 50
    # the pairs of an incremental search: each new row (the last rows) with ~20 old ones, listed by left row
    pairs = {(int(o), old + n) for n in range(new) for o in rng.choice(old, 20, replace=False)}
    left, right = (np.array(x) for x in zip(*sorted(pairs)))
    order = copies.cache_order(left, right)
    assert sorted(order.tolist()) == list(range(len(left)))
    runs = right[order]
    starts = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1]])
    assert len(starts) == new  # one run of pairs for each new row
    assert (np.diff(left[order])[np.diff(runs) == 0] > 0).all()  # and within it, the old rows in order


def test_a_query_counts_its_two_sides_apart() -> None:
    # query row 0 against database rows 0..9, query rows 1..3 against database row 0: row 0 of each side is
    # another image, so neither gathers the other's pairs
    left = np.array([0] * 10 + [1, 2, 3])
    right = np.array(list(range(10)) + [0, 0, 0])
    order = copies.cache_order(left, right, same_rows=False)
    assert left[order][:10].tolist() == [0] * 10  # query 0's ten pairs first, together
    assert (right[order][10:] == 0).all()  # then database row 0's other three, together
    assert copies.cache_order(left[:1], right[:1]).tolist() == [0]
    assert copies.cache_order(left[:0], right[:0]).tolist() == []


class _Row:
    """A row whose features are read back on each access (as a record's from its store), counting the reads."""

    capture = None
    alt_features = None

    def __init__(self, features: verify.ImageFeatures, reads: list) -> None:
        self._features, self._reads = features, reads

    def features_ref(self):
        return self._reads, id(self), 0

    @property
    def features(self) -> verify.ImageFeatures:
        self._reads.append(id(self))
        return verify.ImageFeatures.from_bytes(self._features.to_bytes())


def test_checks_in_cache_order_read_each_row_once_and_answer_in_the_order_asked(monkeypatch) -> None:
    olds = [synthetic_photo(240, 180, seed=s) for s in range(12)]
    news = [edits.EDITS["crop_half"](olds[3], np.random.default_rng(1)), synthetic_photo(240, 180, seed=99)]
    reads: list = []
    rows = [_Row(verify.extract(img), reads) for img in olds + news]
    # each new row against every old one, listed by old row as a search lists them
    left = np.repeat(np.arange(12), 2)
    right = np.tile([12, 13], 12)
    monkeypatch.setattr(copies, "FeaturesCache", functools.partial(copies.FeaturesCache, size=2))
    checked = copies.verify_pairs(rows, rows, left, right, workers=1)
    read_in_order = len(reads)
    plain = [verify.verify_pair(rows[i]._features, rows[j]._features) for i, j in zip(left.tolist(), right.tolist())]
    assert [v.confidence for v in checked] == [v.confidence for v in plain]
    assert checked[6].confidence >= verify.DEFAULT_CONFIDENCE  # (old 3, new 0): the crop, a copy
    assert read_in_order == 2 + 24  # each new row once, each old row once for each of its pairs


def test_a_check_for_its_confidence_alone_gives_the_confidence_of_the_full_check() -> None:
    from PIL import ImageOps

    photo = synthetic_photo(320, 240, seed=5)
    # aligned by 100+ matches on its left, another photo on its right 60 %: compared cell by cell, far from a copy
    pasted = photo.copy()
    pasted.paste(synthetic_photo(320, 240, seed=7).crop((128, 0, 320, 240)), (128, 0))
    pictures = [photo, photo.crop((0, 0, 224, 240)), photo.crop((96, 0, 320, 240)),  # two framings of one photo
                edits.EDITS["crop_half"](photo, np.random.default_rng(2)), ImageOps.mirror(photo),
                photo.resize((200, 150)), synthetic_photo(320, 240, seed=6), pasted]
    features = [verify.extract(p) for p in pictures]
    skipped = measured = 0
    for i in range(len(features)):
        for j in range(len(features)):
            if i == j:
                continue
            full = verify.verify_pair(features[i], features[j])
            alone = verify.verify_pair(features[i], features[j], confidence_only=True)
            assert alone.confidence == full.confidence, (i, j)
            if alone.compared and alone.frame_cover_a == 0 < full.frame_cover_a:
                skipped += 1  # the frames were not measured: they could not change it
            measured += alone.frame_cover_a > 0
    assert measured and skipped  # both ways were taken
    framings = verify.verify_pair(features[1], features[2])  # a calibrated ~0.98 that the frame rules cap
    assert framings.not_one_capture == "part" and framings.confidence == verify.NOT_ONE_CAPTURE
