"""The pixel alignment of plain crops (``verify._pixel_alignment``, VERDICT_VERSION 36) on synthetic thumbnails.

``tests/test_plain_crops.py`` checks it on real photos, to 1.5 px of the feature frame: a map half a thumbnail pixel
off (one frame pixel) passes there. Here a crop cut at a known place and scale of a smooth random picture is placed
to a twentieth of a pixel, both ways; thumbnails no search can use (1 px, 2 px wide, flat) give no map, no error and no
NaN; each picture's kept coarse look (``verify._coarse_look``) is never another picture's and keeps no picture alive.
"""

from __future__ import annotations

import gc
import warnings
import weakref

import numpy as np
import pytest

from imagetwins import verify

pytestmark = pytest.mark.unit

cv2 = verify._require_cv2()

#: the source picture's size and the thumbnails' (the feature frame twice the thumbnail, as verify.extract makes them)
BIG, THUMB, FRAME = (640, 480), (160, 120), (320, 240)


def _features(thumbnail: np.ndarray, frame: tuple[int, int] = FRAME) -> verify.ImageFeatures:
    """Features holding a grey thumbnail and no keypoint (what the pixel alignment reads: the thumbnail, the frame)."""
    points, descriptors = np.zeros((0, 2), np.float16), np.zeros((0, 32), np.uint8)
    return verify.ImageFeatures(frame, points, descriptors, points, descriptors,
                                np.ascontiguousarray(np.round(thumbnail), np.uint8))


@pytest.fixture(scope="module")
def big() -> np.ndarray:
    """A smooth random picture (blobs some 20 px across at 640 x 480: detail a 40 x 30 reduction still sees)."""
    noise = np.random.default_rng(1).uniform(0, 255, BIG[::-1]).astype(np.float32)
    return cv2.normalize(cv2.GaussianBlur(noise, (0, 0), 10), None, 0, 255, cv2.NORM_MINMAX)


def _thumbnail(picture: np.ndarray) -> np.ndarray:
    return cv2.resize(picture, THUMB, interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("x0, y0, side", [(160, 120, 320), (130, 100, 320), (0, 0, 384), (256, 192, 384),
                                          (100, 50, 448), (200, 140, 352)])
def test_a_crop_is_placed_to_a_twentieth_of_a_pixel_both_ways(big: np.ndarray, x0: int, y0: int, side: int) -> None:
    """A crop of ``side`` x 3/4 ``side`` pixels at (``x0``, ``y0``) of the 640 x 480 picture (half to 70 % of each side,
    centred, in a corner, at odd places), both thumbnailed to 160 x 120 and framed at 320 x 240: the crop's frame maps
    onto the picture's as the cut says, keypoints at pixel centres (frame x -> ((x + 0.5) side / 320 + x0) / 2 - 0.5).
    Without the half pixels (the thumbnails' pixel edges taken for their centres) the map is 0.15-0.25 px off."""
    height = side * 3 // 4
    photo = _features(_thumbnail(big))
    crop = _features(_thumbnail(big[y0:y0 + height, x0:x0 + side]))
    gx, gy = side / FRAME[0] / 2, height / FRAME[1] / 2
    expected = np.array([[gx, 0.0, x0 / 2 + 0.5 * gx - 0.5], [0.0, gy, y0 / 2 + 0.5 * gy - 0.5]])
    points = np.array([[0, 0], [FRAME[0] - 1, FRAME[1] - 1], [FRAME[0] / 2, FRAME[1] / 2]], np.float64)
    forward, backward = verify._pixel_alignment(crop, photo), verify._pixel_alignment(photo, crop)
    assert forward is not None and backward is not None
    placed = points @ forward[:, :2].T + forward[:, 2]
    assert np.abs(placed - (points @ expected[:, :2].T + expected[:, 2])).max() < 0.05, forward
    inverse = cv2.invertAffineTransform(expected)
    placed = points @ backward[:, :2].T + backward[:, 2]
    assert np.abs(placed - (points @ inverse[:, :2].T + inverse[:, 2])).max() < 0.1, backward  # (magnified 1.4-2x)


#: thumbnails no search can use: 1 x 1, one or two pixels wide or high (an extreme panorama), flat, tiny, textured
EDGE = {"1x1": np.full((1, 1), 9), "2 high": np.random.default_rng(2).integers(0, 256, (2, 160)),
        "1 wide": np.random.default_rng(3).integers(0, 256, (160, 1)), "flat": np.full((120, 160), 77),
        "7x7": np.random.default_rng(4).integers(0, 256, (7, 7)),
        "textured": np.random.default_rng(6).integers(0, 256, (120, 160))}


@pytest.mark.parametrize("name", [n for n in EDGE if n != "textured"])
def test_thumbnails_no_search_can_use_give_no_map_no_error_and_no_nan(name: str) -> None:
    """Each against itself and against a textured thumbnail, both ways: no map, no exception, no warning (a division by
    zero, a NaN from a flat window), and a check with zero keypoints answers a finite confidence."""
    for other in (name, "textured"):
        a, b = _features(EDGE[name]), _features(EDGE[other])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert verify._pixel_alignment(a, b) is None
            assert verify._pixel_alignment(b, a) is None
            v = verify.verify_pair(a, b)
        assert np.isfinite(v.confidence) and 0.0 <= v.confidence < verify.DEFAULT_CONFIDENCE, (name, other)


def test_a_kept_coarse_look_is_never_another_pictures_made_at_its_address() -> None:
    """The looks are kept by the pictures' ``id``, which Python gives a new object once the old one is gone: a kept
    look whose picture is not the one asked about (here its entry moved under the new one's id, as an address reused
    would leave it) is made again from the new picture's thumbnail, never handed over."""
    first = _features(EDGE["textured"])
    second = _features(EDGE["textured"][::-1].copy())
    look = verify._coarse_look(first)
    kept = verify._per_thread.coarse_looks
    kept[id(second)] = kept.pop(id(first))  # (first's entry where an object made at its address would find it)
    made = verify._coarse_look(second)
    assert made is not look
    assert np.array_equal(made.coarse, verify._CoarseLook(second.thumbnail).coarse)
    assert verify._coarse_look(second) is made  # (kept now, under its own picture)


def test_the_kept_coarse_looks_hold_no_picture_and_at_most_their_number() -> None:
    """A picture whose check is done is freed though its look is kept (weakly referenced), and a thread keeps the
    looks of its last PIXEL_LOOKS_KEPT pictures, the latest asked for among them."""
    picture = _features(EDGE["textured"])
    verify._coarse_look(picture)
    gone = weakref.ref(picture)
    del picture
    gc.collect()
    assert gone() is None
    pictures = [_features(EDGE["textured"]) for _ in range(verify.PIXEL_LOOKS_KEPT + 8)]
    looks = [verify._coarse_look(p) for p in pictures]
    kept = verify._per_thread.coarse_looks
    assert len(kept) <= verify.PIXEL_LOOKS_KEPT
    assert verify._coarse_look(pictures[-1]) is looks[-1]
    assert verify._coarse_look(pictures[0]) is not looks[0]  # (the oldest made again)
