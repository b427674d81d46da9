"""Defects a new user met and earlier sessions left alone: each test failed before its fix."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_photo
from PIL import Image

from imagetwins.encoders import BitsEncoder, registered
from imagetwins.index import Index


class SlowHash(BitsEncoder):
    """A 64-bit mean hash whose preparation takes 0.15 s a picture (a slow method: ``copies`` on a busy machine),
    and which encodes 32 pictures a batch, as ``copies`` does."""

    name = "slowhash"
    nbits = 64
    default_threshold = 4
    min_side = 8
    batch_size = 32

    def __init__(self, interrupt_at: int = 0, ready=None) -> None:
        self.prepared = 0
        self.interrupt_at = interrupt_at
        self.ready = ready

    def prepare(self, img: Image.Image) -> np.ndarray:
        self.prepared += 1
        if self.prepared == self.interrupt_at:  # Ctrl-C, once the run had time to keep something (or 5 s passed)
            deadline = time.monotonic() + 5
            while not self.ready() and time.monotonic() < deadline:
                time.sleep(0.02)
            raise KeyboardInterrupt  # (handed to the main thread by the decoding pool, as a Ctrl-C meets it there)
        time.sleep(0.15)
        return np.asarray(img.convert("L").resize((8, 8)), dtype=np.float32)

    def encode_batch(self, prepared: list[np.ndarray]) -> np.ndarray:
        bits = np.stack([p.ravel() > p.mean() for p in prepared])
        return np.packbits(bits, axis=1).view(">u8")[:, 0].astype(np.uint64)

    def identity(self) -> dict:
        return {"method": self.name, "version": 1}


@pytest.mark.unit
def test_an_update_interrupted_in_its_first_batch_keeps_what_was_encoded(tmp_path: Path) -> None:
    """``index update`` stopped with Ctrl-C 4 s in kept 0 files: a slow method's first batch (32 files) was not done
    yet. What is ready is now stored at least every second, and the next update encodes only the rest."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for k in range(20):
        synthetic_photo(96, 64, seed=k).save(folder / f"p{k:02}.png")
    db = tmp_path / "photos.db"
    slow = SlowHash(interrupt_at=14)
    with registered(slow), Index(db, methods=["slowhash"]) as idx:
        slow.ready = lambda: idx.stored > 0
        with pytest.raises(KeyboardInterrupt):
            idx.update(folder, workers=1)
        kept = idx.stored
    assert 1 <= kept < 20
    with registered(SlowHash()), Index(db, methods=["slowhash"]) as idx:
        assert len(idx.load("slowhash")[0]) == kept
        again = idx.update(folder, workers=1)
    assert (again.added, again.unchanged) == (20 - kept, kept)
