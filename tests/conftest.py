"""Shared fixtures: the real image datasets beside the repository (read-only)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not DATASETS.is_dir():
        pytest.fail(f"real test images expected at {DATASETS} (the shared datasets folder)")
    return DATASETS


@pytest.fixture(scope="session")
def imagededup_reference() -> dict:
    """imagededup 0.3's own outputs on the datasets (made by tools/make_imagededup_fixture.py)."""
    return json.loads((FIXTURES / "imagededup_hashes.json").read_text())


@pytest.fixture(scope="session")
def camera_exif_rotated(datasets: Path) -> set[str]:
    """Camera photos whose EXIF orientation is not 1 (imagededup ignores EXIF, we apply it)."""
    with open(datasets / "camera-photos" / "images.csv", newline="") as fh:
        return {
            "camera-photos/" + row["file"]
            for row in csv.DictReader(fh)
            if row["exif_orientation"] not in ("", "1")
        }


@pytest.fixture
def photo(datasets: Path) -> Path:
    """One real 481x321 photo."""
    return sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0]


@pytest.fixture(autouse=True)
def _private_cache_dir(tmp_path_factory, monkeypatch):
    """Keep `imagetwins find`'s default cache out of the real user cache directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


class FakeModel:
    """A stand-in for the CNN where the network itself is not under test: 14x14 block means of the
    model-sized image, centred. Resized and recompressed copies stay above 0.95 cosine similarity;
    it costs microseconds per image instead of EfficientNet's ~0.4 GFLOP, and pickles for Dask."""

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        n, h, w, c = batch.shape
        x = batch.astype(np.float32).reshape(n, 14, h // 14, 14, w // 14, c).mean(axis=(2, 4))
        x -= x.mean(axis=(1, 2, 3), keepdims=True)
        return x.reshape(n, -1)


@pytest.fixture
def fake_cnn():
    """The ``cnn`` method with :class:`FakeModel` in place of the bundled network (same name and threshold),
    for tests of the plumbing around vectors: index, cache, Dask, --against, tune. One orientation: summed
    over eight, block means of different photos look alike (the real model's orientations are tested in
    test_cnn.py)."""
    from imagetwins.embedding import Embedder, ModelConfig
    from imagetwins.encoders import get_encoder, register
    from imagetwins.encoders.model import ModelEncoder

    real = get_encoder("cnn")
    fake = ModelEncoder(real.name, Embedder(ModelConfig(name="fake-block-means"), model=FakeModel(),
                                            orientations=1), real.default_threshold)
    register(fake, replace=True)
    yield fake
    register(real, replace=True)
