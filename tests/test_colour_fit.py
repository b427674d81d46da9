"""The colour lighting fit (``verify._colour_lighting_residual``) and the colour thumbnail in the features, on
synthetic arrays and images: a colour change of a copy is one linear map of its colours, which the grey fit
cannot follow and the colour fit does; pictures that differ are not absorbed by it.

On real photos: ``tests/test_colour_copies.py``; held-out numbers: BENCHMARKS.md (``quality.py --families``).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from imagetwins import verify

pytestmark = pytest.mark.unit

#: ITU-R 601 luma, as Pillow's "L" conversion makes it
LUMA = np.array([0.299, 0.587, 0.114])


def _ycc(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Luma (n,) and chroma (n, 2) (JPEG's Cb, Cr) of RGB cell means (n, 3)."""
    y = rgb @ LUMA
    return y, np.column_stack([128 + 0.564 * (rgb[:, 2] - y), 128 + 0.713 * (rgb[:, 0] - y)])


def _cells(seed: int, n: int = 300) -> np.ndarray:
    """RGB means of n cells of a colourful picture: a few coloured regions, each with its own shading."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(20, 235, (8, 3))
    return np.clip(base[rng.integers(0, 8, n)] * rng.uniform(0.6, 1.1, (n, 1)) + rng.normal(0, 4, (n, 3)), 0, 255)


#: a hue turn by 120 degrees (R -> G -> B -> R), then a gain and an offset
HUE_TURN = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0]], np.float64)


def test_a_hue_turn_defeats_the_grey_fit_but_not_the_colour_fit() -> None:
    rgb = _cells(0)
    turned = np.clip(0.9 * rgb @ HUE_TURN.T + 12, 0, 255)
    ya, ca = _ycc(rgb)
    yb, cb = _ycc(turned)
    grey = verify._lighting_residual(ya, yb)
    colour = verify._colour_lighting_residual(ya, ca, yb, cb)
    assert grey > 0.2  # each colour's grey level moved its own way
    assert colour < 0.02
    # either image may be the original: both directions are fitted, the smaller kept
    assert verify._colour_lighting_residual(yb, cb, ya, ca) == pytest.approx(colour)


def test_a_sepia_or_grey_copy_is_fitted_from_the_colour_side() -> None:
    rgb = _cells(1)
    ya, ca = _ycc(rgb)
    sepia = np.clip(ya[:, None] * np.array([1.07, 0.74, 0.43]) + np.array([20, 10, 0]), 0, 255)
    yb, cb = _ycc(sepia)
    assert verify._colour_lighting_residual(ya, ca, yb, cb) < 0.02


def test_other_pictures_are_not_absorbed_by_the_four_coefficients() -> None:
    ya, ca = _ycc(_cells(2))
    yb, cb = _ycc(_cells(3))
    assert verify._colour_lighting_residual(ya, ca, yb, cb) > 0.3
    # too few cells to fit four coefficients: no answer
    assert verify._colour_lighting_residual(ya[:6], ca[:6], yb[:6], cb[:6]) == 1.0


def _picture(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A textured, colourful picture: broad colour regions (as a photo's, whose colour changes more slowly than
    its brightness: the colour thumbnail is a quarter of the grey one) shaded by grey texture."""
    rng = np.random.default_rng(seed)
    w, h = size
    colour = Image.fromarray(rng.uniform(0, 255, (4, 5, 3)).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    shade = rng.normal(1.0, 0.12, (h, w))
    for _ in range(200):
        x, y = rng.integers(0, w - 20), rng.integers(0, h - 20)
        shade[y:y + rng.integers(6, 40), x:x + rng.integers(6, 40)] *= rng.uniform(0.3, 1.5)
    return Image.fromarray(np.clip(np.asarray(colour, np.float64) * shade[..., None], 0, 255).astype(np.uint8))


def test_a_channel_swapped_copy_is_a_copy_with_colour_and_not_without() -> None:
    pytest.importorskip("cv2")
    img = _picture(4)
    swapped = Image.fromarray(np.asarray(img)[:, :, [2, 0, 1]])
    a, b = verify.extract(img), verify.extract(swapped)
    assert a.colour is not None and a.colour.shape == (30, 40, 2)
    with_colour = verify.verify_pair(a, b)
    grey_only = verify.verify_pair(verify.ImageFeatures(a.size, a.points, a.descriptors, a.mirror_points,
                                                        a.mirror_descriptors, a.thumbnail), b)
    assert with_colour.lighting_residual < 0.05 < grey_only.lighting_residual
    assert with_colour.confidence >= verify.DEFAULT_CONFIDENCE > grey_only.confidence
    assert verify.verify_pair(b, a).confidence == with_colour.confidence  # symmetric, as every check


def test_a_grey_image_has_no_colour_thumbnail() -> None:
    assert verify.colour_thumbnail(Image.new("L", (400, 300), 90)) is None
    rgb = verify.colour_thumbnail(Image.new("RGB", (400, 100), (200, 30, 30)))
    assert rgb.shape == (10, 40, 2) and rgb.dtype == np.uint8
    assert rgb[..., 1].min() > 200  # red: Cr high


def _features(colour: np.ndarray | None) -> verify.ImageFeatures:
    rng = np.random.default_rng(5)
    points = rng.uniform(0, 300, (20, 2)).astype(np.float16).astype(np.float32)
    descriptors = rng.integers(0, 256, (20, 32), dtype=np.uint8)
    return verify.ImageFeatures((320, 240), points, descriptors, points[::-1].copy(), descriptors[::-1].copy(),
                                rng.integers(0, 256, (120, 160), dtype=np.uint8), colour)


def test_features_round_trip_with_and_without_colour() -> None:
    colour = np.random.default_rng(6).integers(0, 256, (30, 40, 2), dtype=np.uint8)
    for f in (_features(colour), _features(None)):
        raw = f.to_bytes()
        g = verify.ImageFeatures.from_bytes(raw)
        assert (g.colour is None) == (f.colour is None)
        if f.colour is not None:
            assert np.array_equal(g.colour, f.colour)
        assert verify.features_length(raw[:verify.verify_header_bytes()]) == len(raw)
        assert verify.order_key(g) == verify.order_key(f)
        for bad in (raw[:-1], raw + b"\0"):
            with pytest.raises(ValueError):
                verify.ImageFeatures.from_bytes(bad)
    assert verify.order_key(_features(colour)) != verify.order_key(_features(None))


def _version_2_bytes(f: verify.ImageFeatures) -> bytes:
    """What FEATURES_VERSION 2 wrote: the header without the colour thumbnail's shape, and no colour."""
    import struct

    th, tw = f.thumbnail.shape
    head = struct.pack("<4s8I", b"ITF\x00", 2, f.size[0], f.size[1], len(f.points), len(f.mirror_points), 32, th, tw)
    return b"".join([head, f.points.astype("<f2").tobytes(), f.descriptors.tobytes(),
                     f.mirror_points.astype("<f2").tobytes(), f.mirror_descriptors.tobytes(), f.thumbnail.tobytes()])


def test_features_of_the_version_before_are_refused_by_their_version() -> None:
    old = _version_2_bytes(_features(None))
    with pytest.raises(ValueError, match=f"features version 2, expected {verify.FEATURES_VERSION}"):
        verify.ImageFeatures.from_bytes(old)
    # their header says nothing about a length in today's terms (so a stored record is not called truncated)
    assert verify.features_length(old[:verify.verify_header_bytes()]) is None


def test_the_chroma_of_both_images_is_read_at_the_same_places() -> None:
    """The source's colour thumbnail read through the dense check's map lands on the destination's cells: a picture
    and its half-size copy (the map shrinks the picture onto the copy) give the same chroma cell by cell."""
    pytest.importorskip("cv2")
    verify._require_cv2()
    rng = np.random.default_rng(7)
    big = Image.fromarray(rng.uniform(0, 255, (6, 8, 3)).astype(np.uint8)).resize((640, 480), Image.Resampling.BICUBIC)
    small = big.resize((320, 240), Image.Resampling.BOX)
    # the grey thumbnails would be 160 px a side for both; give the big one twice the size, as a crop blown up is
    src_shape, dst_shape = (240, 320), (120, 160)
    colour_src = np.asarray(big.resize((80, 60), Image.Resampling.BOX).convert("YCbCr"))[:, :, 1:]
    colour_dst = verify.colour_thumbnail(small)
    warp = np.array([[0.5, 0.0, -0.25], [0.0, 0.5, -0.25]])  # src grey pixel -> dst grey pixel (pixel centres)
    cells = (dst_shape[0] // verify.CELL, dst_shape[1] // verify.CELL)
    src, dst = verify._chroma_cells(colour_src, colour_dst, src_shape, dst_shape, cells, warp)
    assert src.shape == dst.shape == (*cells, 2)
    error = np.abs(src - dst)
    assert error.mean() < 1.5 and error.max() < 8  # levels of chroma, of 255 (a source cell is 4 of its colour
    # pixels, read at one place: a little off the destination's mean of 2 x 2)
    shifted = warp + np.array([[0.0, 0.0, 2.0], [0.0, 0.0, 0.0]])  # two grey pixels to the right
    assert np.abs(verify._chroma_cells(colour_src, colour_dst, src_shape, dst_shape, cells, shifted)[0]
                  - dst).mean() > 1.5 * error.mean()


def _hsv_turned(rgb: np.ndarray, degrees: float, saturation: float, gamma: float) -> np.ndarray:
    """RGB cell means through the families' colour shift (``edits.colour_shift``): the hue turned in HSV, the
    saturation scaled, each channel through a gamma."""
    import colorsys

    out = [colorsys.hsv_to_rgb((h + degrees / 360) % 1, min(1.0, s * saturation), v)
           for h, s, v in (colorsys.rgb_to_hsv(*c) for c in rgb / 255)]
    return 255 * np.array(out) ** gamma


@pytest.mark.parametrize("seed", range(4))
def test_a_colour_edit_moves_the_colours_and_another_light_does_not(seed: int) -> None:
    """verify._colour_change, the gate of the quadratic fit and the recoloured comparison (COLOUR_CHANGE): a hue turn
    of 30 degrees or more moves the cells' colours past it, a white balance (one shift of every colour, noise on top)
    or light of another strength in each cell does not; the same either way round."""
    rng = np.random.default_rng(seed)
    rgb = _cells(seed)
    _, ca = _ycc(rgb)
    for degrees in (30, 90, 150):
        _, cb = _ycc(_hsv_turned(rgb, degrees, 1.0, 1.0))
        assert verify._colour_change(ca, cb) >= verify.COLOUR_CHANGE
        assert verify._colour_change(cb, ca) == pytest.approx(verify._colour_change(ca, cb))
    white_balance = ca + np.array([6.0, -9.0]) + rng.normal(0, 2, ca.shape)
    _, shaded = _ycc(rgb * rng.uniform(0.7, 1.2, (len(rgb), 1)))
    assert verify._colour_change(ca, white_balance) < verify.COLOUR_CHANGE / 3
    assert verify._colour_change(ca, shaded) < verify.COLOUR_CHANGE / 2


@pytest.mark.parametrize("seed", range(4))
def test_the_quadratic_colour_fit_follows_a_hue_turn_in_hsv(seed: int) -> None:
    """A hue turned in HSV, with saturation and gamma, is no linear map of the colours: the quadratic fit leaves less
    of it than the linear one; other pictures it does not absorb either."""
    rgb = _cells(seed)
    ya, ca = _ycc(rgb)
    for degrees, saturation, gamma in ((150, 1.6, 1.4), (90, 0.5, 0.7)):
        yb, cb = _ycc(_hsv_turned(rgb, degrees, saturation, gamma))
        linear = verify._colour_lighting_residual(ya, ca, yb, cb)
        assert verify._colour_lighting_residual(ya, ca, yb, cb, quadratic=True) < 0.8 * linear
    yb, cb = _ycc(_cells(seed + 10))
    assert verify._colour_lighting_residual(ya, ca, yb, cb, quadratic=True) > 0.3
