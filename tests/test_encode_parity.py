"""The copies encoder made cheaper without changing a byte it stores (issue #25): each part that was rewritten for
speed against the way it was written before, kept here as the reference. A difference here means stored features
would change (an index of them would mix two kinds): bump ``verify.FEATURES_VERSION`` instead of loosening these."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagetwins import embedding, hashing, verify
from imagetwins.io import open_image


def _trim_before(gray: np.ndarray, tolerance: float = 12.0, share: float = 0.97,
                 max_trim: float = 0.35) -> tuple[int, int, int, int]:
    """hashing.trim_uniform_border as it was: the whole picture compared with the border colour."""
    h, w = gray.shape
    ring = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]]).astype(np.float64)
    colour = np.median(ring)
    near = np.abs(gray.astype(np.float64) - colour) <= tolerance
    rows_border = near.mean(axis=1) >= share
    cols_border = near.mean(axis=0) >= share

    def run(flags: np.ndarray, limit: int) -> int:
        n = 0
        while n < limit and flags[n]:
            n += 1
        return n

    top, bottom = run(rows_border, int(h * max_trim)), run(rows_border[::-1], int(h * max_trim))
    left, right = run(cols_border, int(w * max_trim)), run(cols_border[::-1], int(w * max_trim))
    return left, top, w - right, h - bottom


def _spectrum_before(grey: Image.Image, padded: bool = True) -> tuple[np.ndarray, int]:
    """verify.spectrum written plainly: a new array at each step, the bins counted on each call; ``padded``: the
    transform at the padded size (FEATURES_VERSION 5), else at the picture's own (4)."""
    if max(grey.size) > verify.SPECTRUM_SIDE:
        grey = Image.fromarray(verify._scaled(grey, verify.SPECTRUM_SIDE, Image.Resampling.BOX))
    g = np.asarray(grey, dtype=np.float64)
    h, w = g.shape
    size = (verify._fast_side(h), verify._fast_side(w)) if padded else (h, w)
    radius = np.sqrt(np.fft.rfftfreq(size[1])[None, :] ** 2 + np.fft.fftfreq(size[0])[:, None] ** 2)
    which = np.minimum((radius * (2 * verify.SPECTRUM_BINS)).astype(np.int64), verify.SPECTRUM_BINS).ravel()
    f = np.fft.rfft2((g - g.mean()) * np.hanning(h)[:, None] * np.hanning(w)[None, :], s=size)
    power = (f.real ** 2 + f.imag ** 2).ravel()
    inside = which < verify.SPECTRUM_BINS
    total = np.bincount(which[inside], power[inside], verify.SPECTRUM_BINS)
    count = np.bincount(which[inside], None, verify.SPECTRUM_BINS)
    return np.log10(total / np.maximum(count, 1) + 1e-3).astype(np.float16), max(w, h)


def _of_2_3_and_5(n: int) -> bool:
    for p in (2, 3, 5):
        while n % p == 0:
            n //= p
    return n == 1


def _detect_before(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """verify._detect as it was: the responses and points read through Python lists."""
    keypoints, descriptors = verify._orb().detectAndCompute(gray, None)
    order = np.argsort([-k.response for k in keypoints], kind="stable")
    points = np.array([k.pt for k in keypoints], dtype=np.float32)[order].astype(np.float16).astype(np.float32)
    return points, descriptors[order]


def _mirror_detect_before(gray: np.ndarray, keypoints) -> tuple[np.ndarray, np.ndarray]:
    """verify._mirror_detect as it was: a new KeyPoint made for each one turned (the given ones left as they were)."""
    import cv2

    mirrored = np.ascontiguousarray(gray[:, ::-1])
    if not len(keypoints):
        return verify._detect(mirrored)
    level_scale = verify._orb().getScaleFactor()
    scales = [level_scale ** level for level in range(verify._orb().getNLevels())]
    last = [round(gray.shape[1] / scale) - 1 for scale in scales]
    turned = []
    for k in keypoints:
        level = k.octave
        scale = scales[level]
        x, y = k.pt
        turned.append(cv2.KeyPoint((last[level] - x / scale) * scale, y, k.size, (180.0 - k.angle) % 360.0,
                                   k.response, level))
    described, descriptors = verify._orb().compute(mirrored, turned)
    if descriptors is None or len(described) != len(keypoints):
        return verify._detect(mirrored)
    return verify._ordered(described, descriptors)


def _photos_of_each_source(datasets: Path, each: int) -> list[Path]:
    """The first ``each`` JPEGs of every dataset of photos."""
    files = []
    for folder in ("camera-photos/images", "photos-public/images", "holidays-half/images", "ukbench-600/images",
                   "imagededup-testdata/base_images"):
        files += sorted((datasets / folder).glob("*.jp*g"))[:each]
    return files


def _bordered(rng: np.random.Generator, h: int, w: int, sides: tuple[int, int, int, int], colour: int) -> np.ndarray:
    inside = rng.integers(0, 256, (h, w)).astype(np.uint8)
    top, bottom, left, right = sides
    out = np.full((h + top + bottom, w + left + right), colour, np.uint8)
    out += rng.integers(-9, 10, out.shape).astype(np.uint8)  # a border near, not at, one colour
    out[top:top + h, left:left + w] = inside
    return out


@pytest.mark.unit
def test_trim_uniform_border_is_the_whole_picture_answer() -> None:
    rng = np.random.default_rng(25)
    cases = [_bordered(rng, 40, 60, tuple(rng.integers(0, 30, 4)), int(rng.integers(10, 245))) for _ in range(60)]
    cases += [np.full((50, 70), 200, np.uint8),  # all border: each side stops at its limit
              np.zeros((1, 9), np.uint8), np.zeros((9, 1), np.uint8),
              _bordered(rng, 5, 5, (40, 0, 0, 40), 0),  # more border than a side may lose
              rng.integers(0, 256, (64, 48)).astype(np.uint8)]  # no border
    for k, gray in enumerate(cases):
        assert hashing.trim_uniform_border(gray) == _trim_before(gray), k
        assert hashing.trim_uniform_border(gray, tolerance=3.5, share=0.5, max_trim=0.2) == _trim_before(
            gray, tolerance=3.5, share=0.5, max_trim=0.2), k


@pytest.mark.unit
def test_spectrum_is_the_same_to_the_bit() -> None:
    rng = np.random.default_rng(7)
    # sides with large prime factors (as the scaled decodes of a camera library have), and one over SPECTRUM_SIDE
    for h, w in [(259, 345), (277, 369), (271, 361), (384, 512), (431, 574), (700, 523), (17, 3), (1, 40)]:
        smooth = np.cumsum(np.cumsum(rng.normal(0, 1, (h, w)), 0), 1)
        grey = Image.fromarray(np.clip(128 + smooth * 100 / max(np.abs(smooth).max(), 1), 0, 255).astype(np.uint8))
        for _ in range(2):  # the second time from the cached grid
            got, side = verify.spectrum(grey)
            want, want_side = _spectrum_before(grey)
            assert side == want_side and got.dtype == want.dtype
            assert got.tobytes() == want.tobytes(), (h, w)


@pytest.mark.unit
def test_spectrum_from_opencvs_packed_transform_is_numpys_on_every_kind_of_side() -> None:
    """verify._half_power reads OpenCV's packed ('CCS') transform: its columns 0 and N/2 (N even) and its rows 0 and
    M/2 (M even) are laid out apart from the rest, so each parity of each side, and sides of 1 and 2, are checked."""
    rng = np.random.default_rng(11)
    sides = [1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 45, 64, 77, 97]
    for h in sides:
        for w in sides:
            grey = Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8))
            got, side = verify.spectrum(grey)
            want, want_side = _spectrum_before(grey)
            assert side == want_side and got.tobytes() == want.tobytes(), (h, w)
    flat = Image.fromarray(np.full((48, 36), 77, np.uint8))  # no power at all but the floor
    assert verify.spectrum(flat)[0].tobytes() == _spectrum_before(flat)[0].tobytes()


@pytest.mark.integration
def test_spectrum_of_real_photos_at_a_scans_decode_is_the_same_to_the_bit(datasets: Path) -> None:
    """Real photos of every source at the size a ``copies`` scan decodes them: the stored float16 spectrum is the
    one numpy's ``rfft2`` gave (the sums differ in their last bits of a double at most; 1,933 photos measured)."""
    files = _photos_of_each_source(datasets, 12)
    assert len(files) >= 50
    for f in files:
        grey = open_image(f, min_size=192, min_long_side=verify.FEATURE_SIDE).convert("L")
        for g in (grey, grey.crop((0, 0, grey.width - 1, grey.height - 3))):  # (odd sides as well as even)
            got, side = verify.spectrum(g)
            want, want_side = _spectrum_before(g)
            assert side == want_side and got.tobytes() == want.tobytes(), f.name


def _windowed_before(g: np.ndarray) -> np.ndarray:
    """verify._windowed as it was: numpy's mean, the window on a view into the zeros, in place."""
    h, w = g.shape
    padded = np.zeros((verify._fast_side(h), verify._fast_side(w)))
    inside = padded[:h, :w]
    np.subtract(g, g.mean(), out=inside)
    inside *= np.hanning(h)[:, None]
    inside *= np.hanning(w)[None, :]
    return padded


@pytest.mark.unit
def test_windowed_picture_is_numpys_to_the_last_bit_on_every_side() -> None:
    """The array the spectrum transforms (float64) is the same to the last bit, not only the float16 spectrum stored
    from it: every side from 1 px (padded or not), flat and noisy pictures."""
    rng = np.random.default_rng(25)
    sides = list(range(1, 34)) + [45, 97, 255, 256, 257, 383, 384, 511, 512]
    for h in sides:
        for w in sides:
            noise = rng.integers(0, 256, (h, w), dtype=np.uint8)
            flat = np.full((h, w), int(rng.integers(0, 256)), np.uint8)
            ramp = np.clip(np.cumsum(rng.integers(-3, 4, (h, w)), axis=1) + 128, 0, 255).astype(np.uint8)
            for g in (noise, flat, ramp):
                got, want = verify._windowed(g), _windowed_before(g)
                assert got.shape == want.shape and got.dtype == want.dtype, (h, w)
                assert got.tobytes() == want.tobytes(), (h, w)


@pytest.mark.integration
def test_windowed_real_photos_are_numpys_to_the_last_bit(datasets: Path) -> None:
    """Every dataset photo at the size a ``copies`` scan decodes it (and cropped to other sides): the float64 array the
    spectrum transforms is the same to the last bit (7,811 pictures measured, the home library's among them)."""
    files = _photos_of_each_source(datasets, 40)
    assert len(files) >= 150
    for f in files:
        grey = open_image(f, min_size=192, min_long_side=verify.FEATURE_SIDE).convert("L")
        if max(grey.size) > verify.SPECTRUM_SIDE:
            grey = Image.fromarray(verify._scaled(grey, verify.SPECTRUM_SIDE, Image.Resampling.BOX))
        g = np.asarray(grey)
        for part in (g, np.ascontiguousarray(g[1:, 3:])):
            assert verify._windowed(part).tobytes() == _windowed_before(part).tobytes(), f.name


@pytest.mark.unit
def test_fast_side_is_the_least_of_2_3_and_5() -> None:
    for n in range(1, 1100):
        m = verify._fast_side(n)
        assert m >= n and _of_2_3_and_5(m) and not any(_of_2_3_and_5(k) for k in range(n, m)), n


@pytest.mark.integration
def test_features_of_real_photos_are_the_same_to_the_bit(datasets: Path) -> None:
    files = sorted((datasets / "camera-photos" / "images").glob("*.jpg"))[:4]
    assert len(files) == 4
    for f in files:
        img = open_image(f, min_size=192, min_long_side=verify.FEATURE_SIDE)
        gray = verify._scaled(img.convert("L"), verify.FEATURE_SIDE, Image.Resampling.BILINEAR)
        for g in (gray, np.ascontiguousarray(gray[:, ::-1])):
            points, descriptors = verify._detect(g)
            want_points, want_descriptors = _detect_before(g)
            assert len(points) > 100
            assert points.tobytes() == want_points.tobytes() and descriptors.tobytes() == want_descriptors.tobytes()
        # the mirror's features from the picture's keypoints mirrored (FEATURES_VERSION 5) against a detection of the
        # mirror: the same points in the same order; a descriptor may differ in a bit or two where ORB's angle of the
        # mirrored point rounds another way (one descriptor in ~1 % of pictures)
        points, descriptors = verify._mirror_detect(gray, verify._keypoints(gray)[0])
        want_points, want_descriptors = _detect_before(np.ascontiguousarray(gray[:, ::-1]))
        assert points.tobytes() == want_points.tobytes()
        apart = np.unpackbits(descriptors ^ want_descriptors, axis=1).sum(axis=1)
        assert (apart > 0).sum() <= 2 and apart.max() <= 4
        got, _ = verify.spectrum(img.convert("L"))
        assert got.tobytes() == _spectrum_before(img.convert("L"))[0].tobytes()
        # padding with zeros samples the same power more finely: a photo's bins stay within ~25 % of the unpadded ones
        unpadded, _ = _spectrum_before(img.convert("L"), padded=False)
        assert np.abs(got.astype(np.float64) - unpadded).max() < 0.1
        grey = np.asarray(img.convert("L"))
        assert hashing.trim_uniform_border(grey) == _trim_before(grey)


@pytest.mark.unit
def test_model_input_is_the_plain_expressions_to_the_bit() -> None:
    """The CNN's input normalised in place: the very float32 numbers ``(batch - mean) / std`` made (one mean and std,
    as the bundled model's, or one a channel)."""
    rng = np.random.default_rng(3)
    batch = rng.integers(0, 256, (5, 17, 23, 3), dtype=np.uint8)
    batch[1].reshape(-1)[:256] = np.arange(256, dtype=np.uint8)  # (every grey level)
    for mean, std in ((127.5, 127.5), ((123.675, 116.28, 103.53), (58.395, 57.12, 57.375)), (0.0, 1.0)):
        want = (batch.transpose(0, 3, 1, 2).astype(np.float32) - np.asarray(mean, np.float32).reshape(1, -1, 1, 1)) \
            / np.asarray(std, np.float32).reshape(1, -1, 1, 1)
        got = embedding._normalised(batch, mean, std)
        assert got.shape == want.shape and got.dtype == want.dtype
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), mean


@pytest.mark.integration
def test_mirror_features_are_those_of_new_keypoints_to_the_bit(datasets: Path) -> None:
    """The mirror's features from the picture's keypoints turned in place are those a new KeyPoint for each gave: the
    same points and descriptors, on real photos of every source at a scan's 320 px (and at other sides, odd and even,
    whose pyramid levels round otherwise)."""
    files = _photos_of_each_source(datasets, 16)
    assert len(files) >= 60
    described = 0
    for k, f in enumerate(files):
        grey = open_image(f, min_size=192, min_long_side=verify.FEATURE_SIDE).convert("L")
        side = (verify.FEATURE_SIDE, 97, 211, 333, 451)[k % 5]
        gray = verify._scaled(grey, side, Image.Resampling.BILINEAR)
        want = _mirror_detect_before(gray, verify._keypoints(gray)[0])
        got = verify._mirror_detect(gray, verify._keypoints(gray)[0])
        assert len(got[0]) == len(want[0]), f.name
        assert got[0].tobytes() == want[0].tobytes() and got[1].tobytes() == want[1].tobytes(), f.name
        described += len(got[0]) > 100
    assert described >= 50
