"""Which shot of a scene is the best: sharpness, exposure and resolution of one photo, as one number.

The keep rule ``best`` (:mod:`imagetwins.keep`; the ``similar`` method's suggestion) keeps the photo of a group
with the highest :func:`shot_score`. Every photo is measured at the same size (long side :data:`SIDE`, a smaller
photo enlarged to it), so a downscaled shot loses fine detail as a blurred one does:

- sharpness: the variance of the Laplacian over the variance of the grey picture (a darker or flatter exposure
  of the same detail scores the same; blur and missing resolution lower it);
- exposure: the share of clipped pixels (highlights >= 250 or shadows <= 5 in the brightest or darkest channel)
  and how far the median brightness is from the middle, in stops.

The weights were fitted on degraded copies of photos-public's first 125 photos and are reported on the others
(``benchmarks/bench_best_shot.py``). Noise raises the Laplacian as detail does: a noisy shot can pass for a
sharp one (measured there too).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

__all__ = ["SIDE", "ShotQuality", "shot_quality", "shot_score"]

#: the long side every shot is measured at
SIDE = 512
#: weight of the clipped share and of the distance of the median brightness from the middle (in stops)
CLIPPED_WEIGHT = 4.0
EXPOSURE_WEIGHT = 0.5
_MIDDLE = 118.0


@dataclass(frozen=True)
class ShotQuality:
    """The measurements of one shot (see the module docstring) and the resolution it was taken at."""

    sharpness: float
    clipped: float
    exposure: float
    pixels: int

    @property
    def score(self) -> float:
        """Higher is better: log sharpness less the exposure penalties."""
        return float(np.log(self.sharpness + 1e-6) - CLIPPED_WEIGHT * self.clipped - EXPOSURE_WEIGHT * self.exposure)


def shot_quality(img: Image.Image, pixels: int | None = None) -> ShotQuality:
    """Measure one upright RGB picture (``pixels``: the file's own pixel count when ``img`` was decoded smaller)."""
    w, h = img.size
    scale = SIDE / max(w, h, 1)
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    rgb = np.asarray(img.convert("RGB").resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    grey = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    lap = (grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4 * grey[1:-1, 1:-1])
    sharpness = float(lap.var() / (grey.var() + 1.0))
    clipped = float(((rgb.max(axis=2) >= 250) | (rgb.min(axis=2) <= 5)).mean())
    exposure = float(abs(np.log2((np.median(grey) + 1.0) / _MIDDLE)))
    return ShotQuality(sharpness, clipped, exposure, int(pixels if pixels is not None else w * h))


def shot_score(path: str | os.PathLike) -> float:
    """:attr:`ShotQuality.score` of one file (decoded upright, at about :data:`SIDE`); ``-inf`` when it cannot be
    read (it is then never suggested)."""
    from imagetwins.io import ImageReadError, open_image

    try:
        img = open_image(path, min_size=1, min_long_side=SIDE)
    except (ImageReadError, OSError, ValueError):
        return float("-inf")
    return shot_quality(img).score
