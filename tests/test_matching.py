"""The ratio test's descriptor matching (``imagetwins.matching.nearest_two``): onnxruntime's integer product gives
OpenCV's ``batchDistance`` numbers, so a check's answer does not depend on which computed them (issue #25: the
matching was more than half of a verification's time)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import synthetic_photo
from PIL import Image

from imagetwins import edits, matching, verify

pytestmark = pytest.mark.unit


def _opencv(query: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dist, nearest = cv2.batchDistance(query, base, cv2.CV_32S, normType=cv2.NORM_HAMMING, K=2)
    return dist, nearest[:, 0]


def _same_matches(query: np.ndarray, base: np.ndarray) -> None:
    dist, nearest = matching.nearest_two(query, base)
    want, want_nearest = _opencv(query, base)
    assert dist.dtype == np.int32 and dist.shape == (len(query), 2)
    np.testing.assert_array_equal(dist, want)
    # the nearest is the same wherever it is the only one that near (a tie fails the ratio test either way)
    alone = dist[:, 0] < dist[:, 1]
    np.testing.assert_array_equal(nearest[alone], want_nearest[alone])
    good = dist[:, 0] < verify.RATIO * dist[:, 1]
    np.testing.assert_array_equal(nearest[good], want_nearest[good])


def test_the_integer_product_gives_opencvs_distances_on_random_and_extreme_descriptors() -> None:
    assert matching._get_session() is not None  # onnxruntime is a dependency: the fast path is the one tested
    rng = np.random.default_rng(0)
    for n, m in ((1, 2), (2, 2), (64, 256), (128, 500), (500, 500), (37, 3)):
        query = rng.integers(0, 256, (n, 32), dtype=np.uint8)
        base = rng.integers(0, 256, (m, 32), dtype=np.uint8)
        _same_matches(query, base)
    # all bits set and none (the largest and smallest bit counts), equal descriptors (distance 0), exact ties
    base = rng.integers(0, 256, (50, 32), dtype=np.uint8)
    base[0], base[1], base[7] = 255, 0, base[5]
    query = np.vstack([np.full(32, 255, np.uint8), np.zeros(32, np.uint8), base[5], base[9] ^ 1,
                       rng.integers(0, 256, (20, 32), dtype=np.uint8)])
    _same_matches(query, base)
    dist, nearest = matching.nearest_two(query[2:3], base)
    assert dist.tolist() == [[0, 0]]  # base 5 and base 7: a tie, which the ratio test refuses
    assert not dist[0, 0] < verify.RATIO * dist[0, 1]


def test_real_keypoints_match_as_opencv_matches_them_and_checks_give_the_same_answers() -> None:
    photo = synthetic_photo(320, 240, seed=3)
    pictures = [photo, edits.EDITS["crop_half"](photo, np.random.default_rng(1)),
                edits.EDITS["tilt"](photo, np.random.default_rng(2)), synthetic_photo(320, 240, seed=4)]
    features = [verify.extract(p) for p in pictures]
    for a in features:
        for b in features:
            for da, db in ((a.descriptors, b.descriptors), (a.descriptors[:64], b.mirror_descriptors[:256])):
                _same_matches(da, db)
    checks = [verify.verify_pair(a, b).confidence for a in features for b in features]
    session = matching._session
    try:
        matching._session = False  # OpenCV's batchDistance, as where onnxruntime cannot run the graph
        assert [verify.verify_pair(a, b).confidence for a in features for b in features] == checks
    finally:
        matching._session = session
    assert checks[1] >= verify.DEFAULT_CONFIDENCE  # the crop is a copy, the other photo is not
    assert checks[3] < verify.DEFAULT_CONFIDENCE


def test_matches_at_two_places_are_what_opencvs_ransac_fits_nothing_to() -> None:
    """verify._fit answers None without RANSAC where the matched keypoints of one side lie at two places or fewer
    (several keypoints matched to one; ~1.7 ms of draws each): OpenCV's RANSAC refuses every sample of such points
    and fits nothing, and fits where there are three places."""
    rng = np.random.default_rng(5)
    for trial in range(200):
        n = int(rng.integers(4, 14))
        spread = rng.uniform(0, 320, (n, 2)).astype(np.float32)
        places = rng.uniform(0, 320, (2, 2)).astype(np.float32)
        at_two = places[rng.integers(0, 1 if trial % 7 == 0 else 2, n)]  # (one place, now and then)
        for src, dst in ((spread, at_two), (at_two, spread)):
            assert verify._two_places_at_most(at_two) and not verify._two_places_at_most(spread)
            matrix, _ = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=verify.RANSAC_PIXELS,
                                             maxIters=500, confidence=0.99)
            assert matrix is None, trial
        three = at_two.copy()
        three[int(rng.integers(0, n))] = rng.uniform(0, 320, 2).astype(np.float32)  # a third place
        if len({tuple(p) for p in three.tolist()}) == 3:
            assert not verify._two_places_at_most(three)
            matrix, _ = cv2.estimateAffine2D(spread, three, method=cv2.RANSAC,
                                             ransacReprojThreshold=verify.RANSAC_PIXELS, maxIters=500, confidence=0.99)
            assert matrix is not None, trial


def test_a_fit_with_and_without_ransacs_draws_at_two_places_is_the_same(monkeypatch) -> None:
    photo = synthetic_photo(320, 240, seed=7)
    features = [verify.extract(p) for p in (photo, edits.EDITS["crop_half"](photo, np.random.default_rng(1)),
                                            synthetic_photo(320, 240, seed=8))]
    checks = [verify.verify_pair(a, b).to_dict() for a in features for b in features]
    monkeypatch.setattr(verify, "_two_places_at_most", lambda points: False)  # RANSAC asked every time
    assert [verify.verify_pair(a, b).to_dict() for a in features for b in features] == checks


def test_one_product_against_several_bases_gives_each_bases_own_answers() -> None:
    """matching.nearest_two_each (the quick look: an image's strongest against the other's and its mirror's at once)
    gives nearest_two's very arrays for each base: distances, the nearest, and the first of a tie for the nearest."""
    rng = np.random.default_rng(7)
    for n, m, s in ((64, 256, 2), (1, 2, 2), (5, 3, 3), (64, 256, 1)):
        query = rng.integers(0, 256, (n, 32), dtype=np.uint8)
        bases = [rng.integers(0, 256, (m, 32), dtype=np.uint8) for _ in range(s)]
        bases[0][0] = query[0]  # distance 0
        if m > 2:
            bases[-1][1] = bases[-1][2] = query[-1]  # a tie for the nearest: the first named
        for (dist, nearest), base in zip(matching.nearest_two_each(query, bases), bases):
            want, want_nearest = matching.nearest_two(query, base)
            np.testing.assert_array_equal(dist, want)
            np.testing.assert_array_equal(nearest, want_nearest)
    # bases of unequal lengths, each matched on its own
    query = rng.integers(0, 256, (9, 32), dtype=np.uint8)
    bases = [rng.integers(0, 256, (m, 32), dtype=np.uint8) for m in (7, 4)]
    for (dist, nearest), base in zip(matching.nearest_two_each(query, bases), bases):
        want, want_nearest = matching.nearest_two(query, base)
        np.testing.assert_array_equal(dist, want)
        np.testing.assert_array_equal(nearest, want_nearest)


def test_the_quick_look_from_one_product_an_image_answers_as_one_product_a_direction(monkeypatch) -> None:
    photo = synthetic_photo(320, 240, seed=3)
    pictures = [photo, edits.EDITS["crop_half"](photo, np.random.default_rng(1)),
                edits.EDITS["hflip"](photo, np.random.default_rng(2)), synthetic_photo(320, 240, seed=4)]
    features = [verify.extract(p) for p in pictures]
    checks = [verify.verify_pair(a, b).to_dict() for a in features for b in features]
    monkeypatch.setattr(verify._QuickLook, "nearest", lambda self, *asked: None)  # each direction on its own
    assert [verify.verify_pair(a, b).to_dict() for a in features for b in features] == checks


def test_the_quick_looks_product_serves_only_the_look_it_was_made_for() -> None:
    """A _QuickLook passed to the wider look (QUICK_WIDE_A x QUICK_WIDE_B) is not read there: its product is of the
    64 x 256 strongest, and the wider look's ratio test would read those rows as its own."""
    photo = synthetic_photo(480, 360, seed=5)
    pictures = [photo, edits.EDITS["crop_half"](photo, np.random.default_rng(3)), synthetic_photo(480, 360, seed=6)]
    features = [verify.extract(p) for p in pictures]
    for a in features:
        for b in features:
            for mirrored in (False, True):
                look = verify._QuickLook(a, b)
                want = verify._quick_fit(a, b, mirrored, verify.QUICK_WIDE_A, verify.QUICK_WIDE_B,
                                         verify.QUICK_WIDE_INLIERS)
                assert verify._quick_fit(a, b, mirrored, verify.QUICK_WIDE_A, verify.QUICK_WIDE_B,
                                         verify.QUICK_WIDE_INLIERS, look) == want


def _look_pictures() -> list:
    """Features of copies (a crop, a mirror, a smaller copy, a tilt), unrelated photos and small pictures on a flat
    canvas with fewer keypoints than QUICK_A and than QUICK_B: the quick look's every case between them."""
    photo = synthetic_photo(400, 300, seed=11)
    rng = np.random.default_rng(5)
    pictures = [photo, edits.EDITS["crop_half"](photo, rng), edits.EDITS["hflip"](photo, rng),
                edits.EDITS["downscale"](photo, rng), edits.EDITS["tilt"](photo, rng),
                *(synthetic_photo(360, 270, seed=20 + k) for k in range(5))]
    for side in (14, 30):
        canvas = Image.new("RGB", (300, 220), (128, 128, 128))
        canvas.paste(synthetic_photo(side, side, seed=side), (100, 80))
        pictures.append(canvas)
    features = [verify.extract(p) for p in pictures]
    fewest = sorted(len(f.descriptors) for f in features)
    assert fewest[0] < verify.QUICK_A <= fewest[1] < verify.QUICK_B
    return features


def test_quick_looks_made_together_give_every_pair_the_check_it_gets_alone(monkeypatch) -> None:
    """verify.QuickLooks (each image's bases against several partners' strongest descriptors in one product, and the
    pairs every quick fit would refuse turned away without a fit) changes no check: every pair's whole check, both
    ways round, confidence-only and full, is the one made without it, whatever the partners' chunks."""
    features = _look_pictures()
    pairs = [(a, b) for k, a in enumerate(features) for b in features[k + 1:]]
    alone = [(verify.verify_pair(a, b).to_dict(), verify.verify_pair(b, a, confidence_only=True).kept)
             for a, b in pairs]
    for partners in (1, 3, verify.QUICK_PARTNERS):
        monkeypatch.setattr(verify, "QUICK_PARTNERS", partners)
        looks = verify.QuickLooks(pairs)
        assert [(verify.verify_pair(a, b, looks=looks).to_dict(),
                 verify.verify_pair(b, a, confidence_only=True, looks=looks).kept) for a, b in pairs] == alone
    turned = [looks.of(a, b).turned_away() for a, b in pairs]
    assert any(turned) and not all(turned)
    # the copies of the photo are never turned away; a pair outside the looks is looked at as before
    assert not any(looks.of(features[0], copy).turned_away() for copy in features[1:5])
    assert not verify.QuickLooks(pairs[:1]).of(*pairs[-1]).turned_away()


def test_a_pair_turned_away_is_one_every_quick_fit_refuses() -> None:
    """_QuickLook.turned_away answers True exactly where each of the quick look's four matchings (both ways, both
    orientations; nearest_two made here on its own) has fewer than QUICK_INLIERS ratio-test matches: _fit then draws
    no RANSAC, and the quick look finds nothing in either orientation."""
    features = _look_pictures()
    pairs = [(a, b) for k, a in enumerate(features) for b in features[k + 1:]]
    looks = verify.QuickLooks(pairs)
    for a, b in pairs:
        good = []
        for x, y in ((a, b), (b, a)):
            for base in (y.descriptors, y.mirror_descriptors):
                dist, _ = matching.nearest_two(x.descriptors[:verify.QUICK_A], base[:verify.QUICK_B])
                good.append(int((dist[:, 0] < verify.RATIO * dist[:, 1]).sum()))
        assert looks.of(a, b).turned_away() == (max(good) < verify.QUICK_INLIERS)
        if max(good) < verify.QUICK_INLIERS:
            assert [verify._quick_inliers(a, b, mirrored) for mirrored in (False, True)] == [0, 0]
