"""Pairs of files checked as ``find``'s search checks them (the tilted and screenshot copy tests share it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from imagetwins import copies
from imagetwins.encoders import get_encoder
from imagetwins.scores import CONFIDENCE


def checked(files: list[Path], pairs: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Each pair's confidence and whether it is a copy at the default, as the search checks it."""
    encoder = get_encoder("copies")
    enc = encoder.encode_files(files, workers=2, warn=False)
    assert not enc.failures
    left, right = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    with copies.naming(enc.paths):
        got = copies.check_pairs(enc.encodings, left, right, workers=2)
    return got.score, CONFIDENCE.within(got.score, encoder.default_threshold, got.mark_bits)
