"""The verification's shortcuts skip only work that cannot change a check: each is held against the work it skips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imagetwins import verify
from imagetwins.io import open_image
from imagetwins.verify import PADDING_FLAT, PADDING_SPREAD, extract


def _plane_share(thumb: np.ndarray, where: np.ndarray) -> float:
    """:func:`verify._padding_beyond`'s gradient test: the share of the pixels within the spread of the plane fitted."""
    values = thumb[where].astype(np.float64)
    return float((np.abs(values - verify._gradient(thumb, where)(where)) <= PADDING_SPREAD).mean())


def _regions(shape: tuple[int, int], rng: np.random.Generator):
    """Masks like :func:`verify._outside`'s: beyond a random line across the thumbnail, and a random band."""
    h, w = shape
    ys, xs = np.mgrid[:h, :w]
    for _ in range(4):
        angle = rng.uniform(0, 2 * np.pi)
        cut = rng.uniform(-0.3, 0.3) * max(h, w)
        yield (xs - w / 2) * np.cos(angle) + (ys - h / 2) * np.sin(angle) > cut
    top = int(rng.integers(0, h // 2))
    band = np.zeros(shape, bool)
    band[top:top + int(rng.integers(4, h // 2))] = True
    yield band


@pytest.mark.integration
def test_no_plane_holds_only_where_the_fitted_plane_does_not(datasets: Path) -> None:
    rng = np.random.default_rng(0)
    thumbs = [extract(open_image(f)).thumbnail
              for f in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:12]]
    refused = held = 0
    for thumb in thumbs:
        h, w = thumb.shape
        ys, xs = np.mgrid[:h, :w]
        # the photo itself (textured), and planes of grey levels with noise near the spread and a share of pixels off
        # them around PADDING_FLAT's
        cases = [thumb]
        for _ in range(6):
            plane = 128 + rng.uniform(-1.5, 1.5) * (xs - w / 2) + rng.uniform(-1.5, 1.5) * (ys - h / 2)
            spread = rng.uniform(1, PADDING_SPREAD + 1)
            noisy = plane + rng.uniform(-spread, spread, plane.shape)
            off = rng.random(plane.shape) < rng.uniform(0.0, 0.1)
            noisy[off] = rng.uniform(0, 255, int(off.sum()))
            cases.append(np.clip(np.round(noisy), 0, 255).astype(np.uint8))
        for grey in cases:
            for where in _regions(grey.shape, rng):
                n = int(where.sum())
                if n < verify.PADDING_MIN_PIXELS:
                    continue
                share = _plane_share(grey, where)
                if verify._no_plane_holds(grey, where, n):
                    refused += 1
                    assert share < PADDING_FLAT, share  # (a refusal where the fit holds would change a check)
                elif share >= PADDING_FLAT:
                    held += 1
    # it refuses the textured photos and lets the planes that hold through
    assert refused >= 40 and held >= 20, (refused, held)


@pytest.mark.unit
def test_no_plane_holds_on_thumbnails_narrower_than_its_offsets() -> None:
    """A thumbnail 3 px on a side (an offset of 4 reaches past it: numpy's negative slice end took rows from the other
    end, and the two halves of the pairs did not broadcast) answers as any other, refusing only what the fit refuses."""
    rng = np.random.default_rng(5)
    for h, w in [(3, 200), (200, 3), (1, 300), (2, 150), (3, 3), (4, 90), (5, 80)]:
        ys, xs = np.mgrid[:h, :w]
        ramp = np.round(40 + 0.5 * xs + 0.5 * ys).astype(np.uint8)
        noise = rng.integers(0, 256, (h, w), dtype=np.uint8)
        for grey in (ramp, noise):
            where = np.ones((h, w), bool)
            if verify._no_plane_holds(grey, where, h * w):
                assert _plane_share(grey, where) < PADDING_FLAT, (h, w)
