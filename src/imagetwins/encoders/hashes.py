"""The four 64-bit perceptual hashes as imagededup 0.3 defines them: ``phash``, ``ahash``, ``dhash``, ``whash``."""

from __future__ import annotations

import numpy as np
from PIL import Image

from imagetwins import hashing
from imagetwins.encoders.base import BitsEncoder

__all__ = ["HashEncoder"]


class HashEncoder(BitsEncoder):
    """A hash of :data:`imagetwins.hashing.HASH_METHODS` as an encoder (thumbnail, then bits)."""

    def __init__(self, method: hashing.HashMethod) -> None:
        self.method = method
        self.stage = hashing.HashStage(method)  # the same steps hashing.hash_files runs
        self.name = method.name
        self.nbits = method.nbits
        self.default_threshold = method.default_threshold
        self.min_side = self.stage.min_side

    def prepare(self, img: Image.Image) -> np.ndarray:
        return self.stage.prepare(img)

    def encode_batch(self, prepared: list[np.ndarray]) -> np.ndarray:
        return self.stage.encode_batch(prepared)

    def identity(self) -> dict:
        m = self.method
        ident = {"method": m.name, "nbits": m.nbits, "size": list(m.size), "dihedral": m.dihedral,
                 "decode_min_side": hashing.DECODE_MIN_SIDE, "version": 1}
        if not self.exif_orientation:
            ident["exif_orientation"] = False
        return ident


#: registered by :mod:`imagetwins.encoders`
ENCODERS = [HashEncoder(hashing.HASH_METHODS[name]) for name in hashing.CLASSIC_METHODS]
