"""Which shot of a scene is the best: sharpness, exposure and resolution of one photo, as one number.

The keep rule ``best`` (:mod:`imagetwins.keep`; the ``similar`` method's suggestion) keeps the photo of a group
with the highest :func:`shot_score`. The photos of a group are measured at one size, the long side of the largest
(at most :data:`MAX_SIDE`; a smaller photo is enlarged to it), so a downscaled shot loses fine detail as a blurred
one does:

- sharpness: the variance of the Laplacian over the variance of the grey picture (a darker or flatter exposure
  of the same detail scores the same; blur and missing resolution lower it);
- exposure: the share of clipped pixels (highlights >= 250 or shadows <= 5 in the brightest or darkest channel)
  and how far the median brightness is from the middle, in stops;
- noise: sensor noise raises the Laplacian as detail does, but evenly: its median absolute value (robust noise
  level, over the picture's contrast) is a penalty, and how heavy-tailed it is (edges: a few large values) a bonus.

A group of re-shots may hold copies of one capture too (a grey, cropped, mirrored or re-saved copy beside its
original): the score chooses only among different captures (:func:`captures`), each represented by the file the
``original`` rule keeps of it, so an edited copy never outranks its original.

The weights were fitted on degraded copies of photos-public's first 125 photos (the mean share right over blur,
under- and over-exposure, downscale and noise) and are reported on the others (``benchmarks/bench_best_shot.py``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

__all__ = ["CAPTURE_LINKS", "SHOT_SCORES", "SIDE", "CaptureLinks", "ShotQuality", "capture_links", "capture_version",
           "captures", "linked_groups", "measured_side", "shot_method", "shot_quality", "shot_score"]

#: the long side a shot is measured at when no other is asked, and the most a group's shots are measured at
SIDE = 512
MAX_SIDE = 1024
#: weights of the clipped share, of the distance of the median brightness from the middle (in stops), of the log
#: noise level and of the log tail weight of the Laplacian
CLIPPED_WEIGHT = 8.0
EXPOSURE_WEIGHT = 1.0
NOISE_WEIGHT = 0.5
TAIL_WEIGHT = 0.5
_MIDDLE = 118.0


@dataclass(frozen=True)
class ShotQuality:
    """The measurements of one shot (see the module docstring) and the resolution it was taken at."""

    sharpness: float
    clipped: float
    exposure: float
    noise: float
    tail: float
    pixels: int

    @property
    def score(self) -> float:
        """Higher is better: log sharpness less the exposure and noise penalties."""
        return float(np.log(self.sharpness + 1e-6) - CLIPPED_WEIGHT * self.clipped - EXPOSURE_WEIGHT * self.exposure
                     - NOISE_WEIGHT * np.log(self.noise + 1e-4) + TAIL_WEIGHT * np.log(self.tail + 1e-6))


def shot_quality(img: Image.Image, pixels: int | None = None, side: int = SIDE) -> ShotQuality:
    """Measure one upright RGB picture at long side ``side`` (``pixels``: the file's own pixel count when ``img``
    was decoded smaller)."""
    w, h = img.size
    scale = side / max(w, h, 1)
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    rgb = np.asarray(img.convert("RGB").resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    grey = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    lap = (grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4 * grey[1:-1, 1:-1])
    sharpness = float(lap.var() / (grey.var() + 1.0))
    clipped = float(((rgb.max(axis=2) >= 250) | (rgb.min(axis=2) <= 5)).mean())
    exposure = float(abs(np.log2((np.median(grey) + 1.0) / _MIDDLE)))
    mad = 1.4826 * float(np.median(np.abs(lap - np.median(lap))))  # the Laplacian's spread where it is flat
    noise = mad / (float(grey.std()) + 1.0)
    tail = float(lap.var()) / (mad * mad + 1e-6)
    return ShotQuality(sharpness, clipped, exposure, noise, tail, int(pixels if pixels is not None else w * h))


def shot_score(path: str | os.PathLike, side: int = SIDE, data: bytes | None = None) -> float:
    """:attr:`ShotQuality.score` of one file (of its bytes ``data`` when they were read already), decoded upright
    and measured at long side ``side`` (the largest long side of the shots compared, at most :data:`MAX_SIDE`);
    ``-inf`` when it cannot be read (it is then never suggested)."""
    side = measured_side(side)
    if data is not None:
        return _measured(data, os.fspath(path), side)
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return float("-inf")
    # the keep stage asks again for each star it splits a group into: one decode per file, size and version
    return _score(os.fspath(path), side, st.st_size, st.st_mtime_ns, st.st_ino)


@functools.lru_cache(maxsize=4096)
def _score(path: str, side: int, size: int, mtime_ns: int, inode: int) -> float:
    return _measured(path, path, side)


def _measured(source: str | bytes, path: str, side: int) -> float:
    from imagetwins.io import ImageReadError, open_image

    try:
        img = open_image(source, min_size=1, min_long_side=side, path_for_messages=path)
    except (ImageReadError, OSError, ValueError):
        return float("-inf")
    return shot_quality(img, side=side).score


def measured_side(side: int) -> int:
    """The long side a shot is measured at when the largest of its group is ``side``: at least 8, at most
    :data:`MAX_SIDE`."""
    return max(8, min(int(side), MAX_SIDE))


#: the names under which the keep stage keeps its measurements in a pair-score store (the index or folder cache,
#: :mod:`imagetwins.pairscores`), keyed by the files' content digests: a file's shot score (its digest twice; one
#: name per measuring side) and whether the ``copies`` method links two files as copies of one capture
SHOT_SCORES = "keep:shot"
CAPTURE_LINKS = "keep:capture"
#: bump when shot_quality or the score's weights change
SHOT_VERSION = f"1-{CLIPPED_WEIGHT}-{EXPOSURE_WEIGHT}-{NOISE_WEIGHT}-{TAIL_WEIGHT}-{_MIDDLE}"


def shot_method(side: int) -> str:
    """The store's name for shot scores measured at long side ``side`` (:func:`measured_side`)."""
    return f"{SHOT_SCORES}@{measured_side(side)}"


def capture_version() -> str:
    """What the kept capture links depend on: the ``copies`` method's identity, pair-score version and threshold
    (a new ``copies`` may link other files)."""
    import hashlib
    import json

    from imagetwins.encoders import get_encoder

    encoder = get_encoder("copies")
    text = json.dumps([encoder.identity(), encoder.pair_score_version, encoder.default_threshold], sort_keys=True,
                      default=str)
    return "1-" + hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CaptureLinks:
    """What :func:`capture_links` found: each path's content digest as read (None: unreadable now) and the pairs
    of positions ``(i, j)``, ``i < j``, the ``copies`` method links directly (a match, or the same bytes)."""

    digests: list[str | None]
    links: frozenset[tuple[int, int]]


def capture_links(paths: Sequence[str], workers: int | None = None) -> CaptureLinks:
    """The files encoded and searched as the ``copies`` method does (its decode, hash, CNN and check): which of
    them it links as copies of one capture (see :func:`captures`)."""
    from imagetwins import search
    from imagetwins.encoders import get_encoder

    encoder = get_encoder("copies")
    enc = encoder.encode_files(list(paths), workers=workers, warn=False)
    at = {str(p): i for i, p in enumerate(paths)}
    rows = [at[str(p)] for p in enc.paths]
    digests: list[str | None] = [None] * len(paths)
    for i, d in zip(rows, enc.digests):
        digests[i] = d or None
    links: set[tuple[int, int]] = set()
    if len(rows) > 1:
        found = encoder.pairs(enc.encodings, encoder.default_threshold, workers=workers, paths=list(enc.paths))
        for a, b in zip(np.asarray(found.left).tolist(), np.asarray(found.right).tolist()):
            i, j = rows[a], rows[b]
            if i != j:
                links.add((min(i, j), max(i, j)))
    exact = search.equal_key_pairs(digests)  # (byte copies: one capture, whatever the search pairs)
    links.update(zip(exact.left.tolist(), exact.right.tolist()))
    return CaptureLinks(digests, frozenset(links))



def linked_groups(paths: Sequence[str], links: Iterable[tuple[int, int]]) -> list[list[str]]:
    """``paths`` split into the sets ``links`` (pairs of positions) join through any chain, each in the order
    given, the sets in the order of their first file."""
    parent = list(range(len(paths)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in links:
        parent[root(a)] = root(b)
    out: dict[int, list[str]] = {}
    for i, p in enumerate(paths):
        out.setdefault(root(i), []).append(p)
    return list(out.values())


def captures(paths: Sequence[str], workers: int | None = None) -> list[list[str]]:
    """``paths`` split into captures: files the ``copies`` method calls copies of one another (a grey, cropped,
    mirrored, re-saved or resized copy and its original; joined through any chain of copies), each a list in the
    order given; a file that cannot be read is a capture of its own. The files are encoded and verified as the
    ``copies`` method does (its decode, hash, CNN and check), so the re-shots it tells from copies stay apart.
    The keep stage keeps the links it found (:data:`CAPTURE_LINKS`), so a re-run encodes nothing again."""
    if len(paths) < 2:
        return [list(paths)]
    return linked_groups(paths, capture_links(paths, workers).links)
