"""The copies proposer's vector: the pooled CNN vector at ``copies.CNN_SIDE`` px projected by a learned matrix
(``copies.CNN_PROJECTION``, shipped in ``imagetwins/models``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imagetwins import copies, edits
from imagetwins.embedding import MODEL_DIR
from imagetwins.encoders import get_encoder
from imagetwins.encoders.copies import project_vectors
from imagetwins.io import open_image


def _vectors(images) -> np.ndarray:
    enc = get_encoder("copies")
    rows = enc.encode_batch([enc.prepare(i) for i in images])
    return np.asarray(rows.vectors, dtype=np.float32)


@pytest.mark.unit
def test_the_projection_ships_with_the_package_and_names_itself_in_the_identity() -> None:
    assert (MODEL_DIR / copies.CNN_PROJECTION).is_file()
    identity = get_encoder("copies").identity()
    assert identity["cnn_projection"] == copies.CNN_PROJECTION and identity["cnn_side"] == copies.CNN_SIDE
    assert identity["version"] == 6


def _pooled(rows: int, seed: int) -> np.ndarray:
    """Unit rows shaped as pooled CNN vectors (non-negative, 1,280 numbers)."""
    pooled = np.abs(np.random.default_rng(seed).normal(size=(rows, 1280))).astype(np.float32)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


@pytest.mark.unit
def test_projected_vectors_are_unit_rows_of_fewer_dimensions() -> None:
    pooled = _pooled(5, 0)
    out = project_vectors(pooled)
    assert out.shape == (5, 512) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)
    assert np.allclose(project_vectors(pooled[2:3]), out[2:3], atol=1e-6)


@pytest.mark.unit
def test_a_vector_is_projected_to_the_same_bits_whatever_batch_holds_it() -> None:
    # the same pixels must give the same stored record whether encoded alone, in a short batch or a long one (byte
    # copies and re-saved files are matched by equal records); OpenCV's product took another summation order for
    # batches of 5 to 9 rows than for 1-4 or 16 and more
    pooled = _pooled(70, 1)
    whole = project_vectors(pooled)
    for size in (1, 3, 5, 7, 9, 31, 33):
        parts = np.concatenate([project_vectors(pooled[s:s + size]) for s in range(0, len(pooled), size)])
        assert np.array_equal(parts, whole), size
    order = np.random.default_rng(2).permutation(len(pooled))
    assert np.array_equal(project_vectors(pooled[order]), whole[order])


@pytest.mark.integration
def test_unrelated_photos_are_centred_and_a_heavy_crop_stays_nearest_its_original(datasets: Path) -> None:
    # photos no projection was learned from (holidays-half; it was learned from photos-public's files 201 on)
    files = sorted((datasets / "holidays-half" / "images").glob("*.jpg"))[::12][:30]
    photos = [open_image(p, min_size=192) for p in files]
    rng = np.random.default_rng(7)
    copies_of = [edits.FAMILIES["crop_small"](photos[i], rng) for i in range(0, 30, 6)]
    v = _vectors(photos + copies_of)
    assert v.shape[1] == 512
    sims = v[:30] @ v[:30].T
    unrelated = sims[np.triu_indices(30, 1)]
    # the raw pooled vectors of unrelated photos sit at ~0.3; projected, at ~0
    assert abs(float(np.median(unrelated))) < 0.1
    for k, i in enumerate(range(0, 30, 6)):
        to_copy = v[30 + k] @ v[:30].T
        assert int(np.argmax(to_copy)) == i and to_copy[i] >= copies.CNN_CANDIDATE
