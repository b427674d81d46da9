"""The bundled CNN: equal to the torch reference, robust edits match, search exact, imagededup's API."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from quality_limits import check

from imagetwins import edits
from imagetwins.embedding import Embedder, ModelConfig
from imagetwins.methods import CNN
from imagetwins.search import cosine_pairs, cosine_query, cosine_topk

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.integration
def test_onnx_graph_equals_the_torch_reference(datasets: Path) -> None:
    ref = json.loads((FIXTURES / "cnn_reference.json").read_text())
    raw = Embedder(ModelConfig(pooling="avg"))
    for rel, want in ref.items():
        img = Image.open(datasets / rel).convert("RGB").resize((224, 224), Image.Resampling.BILINEAR)
        got = raw._run(np.asarray(img, dtype=np.uint8)[None])[0]
        assert np.abs(got - np.array(want["avg_features"])).max() < 1e-4, rel


@pytest.mark.integration
def test_embeddings_are_normalised_float32(datasets: Path) -> None:
    files = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:5]
    res = Embedder().embed_files(files, warn=False)
    assert res.vectors.shape == (5, 1280) and res.vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(res.vectors, axis=1), 1, atol=1e-5)


@pytest.fixture(scope="module")
def eight(datasets: Path):
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:8]
    return [Image.open(p).convert("RGB") for p in photos]


@pytest.mark.quality
def test_edited_copies_match_and_unrelated_photos_do_not(eight) -> None:
    emb = Embedder(orientations=8)
    base = np.stack([emb.embed_image(b) for b in eight])
    rng = np.random.default_rng(0)
    for name in ("downscale", "jpeg", "crop", "hflip", "rot90"):
        for i, img in enumerate(eight):
            check("cnn-copy-min-similarity", float(emb.embed_image(edits.EDITS[name](img, rng)) @ base[i]))
    sims = base @ base.T
    np.fill_diagonal(sims, 0)
    check("cnn-unrelated-max-similarity", float(sims.max()))


@pytest.mark.integration
def test_plain_embedding_matches_a_mirrored_copy_but_not_a_quarter_turn(eight) -> None:
    emb = Embedder(orientations=1)
    rng = np.random.default_rng(0)
    a = emb.embed_image(eight[0])
    assert emb.embed_image(edits.hflip(eight[0], rng)) @ a > 0.9
    assert emb.embed_image(edits.rot90(eight[0], rng)) @ a < 0.8


def _unit(rng, n, d=32):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.unit
@pytest.mark.parametrize("seed", range(5))
def test_cosine_search_equals_brute_force(seed: int, monkeypatch) -> None:
    import imagetwins.search as search

    monkeypatch.setattr(search.cosine, "COSINE_BLOCK", 37)  # many block edges
    rng = np.random.default_rng(seed)
    x = _unit(rng, 400)
    x[200:260] = x[:60] + 0.2 * _unit(rng, 60)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    t = float(rng.uniform(0.3, 0.95))
    sim = x @ x.T
    want = {(i, j) for i in range(400) for j in range(i + 1, 400) if sim[i, j] >= t}
    got = cosine_pairs(x, t)
    assert set(zip(got.left.tolist(), got.right.tolist())) == want
    q = cosine_query(x[:50], x, t)
    assert set(zip(q.left.tolist(), q.right.tolist())) == {(i, j) for i in range(50) for j in range(400)
                                                           if sim[i, j] >= t}
    idx, s = cosine_topk(x, x, k=7, exclude_self=True)
    np.fill_diagonal(sim, -np.inf)
    assert np.allclose(s, -np.sort(-sim, axis=1)[:, :7], atol=1e-6)


@pytest.mark.integration
def test_cnn_facade_like_imagededup(datasets: Path, tmp_path: Path) -> None:
    cnn = CNN(verbose=False)
    folder = datasets / "imagededup-testdata" / "mixed_images"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        enc = cnn.encode_images(folder)
    assert set(enc) == {"ukbench00120.jpg", "ukbench00120_hflip.jpg", "ukbench00120_resize.jpg",
                        "ukbench00120_rotation.jpg", "ukbench09268.jpg"}
    assert all(v.shape == (1280,) for v in enc.values())
    single = cnn.encode_image(image_file=folder / "ukbench00120.jpg")
    assert single.shape == (1, 1280) and np.allclose(single[0], enc["ukbench00120.jpg"], atol=1e-5)
    arr = np.asarray(Image.open(folder / "ukbench00120.jpg").convert("RGB"))
    assert cnn.encode_image(image_array=arr).shape == (1, 1280)
    out = tmp_path / "r.json"
    with warnings.catch_warnings():  # num_enc_workers not set: no warning about it
        warnings.simplefilter("error", RuntimeWarning)
        res = cnn.find_duplicates(encoding_map=enc, scores=True, outfile=str(out))
    resized = res["ukbench00120.jpg"]
    assert resized[0][0] == "ukbench00120_resize.jpg" and isinstance(resized[0][1], float)
    assert [s for _, s in resized] == sorted((s for _, s in resized), reverse=True)  # sorted, unlike imagededup
    assert json.loads(out.read_text())["ukbench00120.jpg"][0][0] == "ukbench00120_resize.jpg"
    with warnings.catch_warnings():  # num_enc_workers not set: no warning about it
        warnings.simplefilter("error", RuntimeWarning)
        assert "ukbench00120_resize.jpg" in cnn.find_duplicates_to_remove(encoding_map=enc)
    with pytest.raises(TypeError, match="float"):
        cnn.find_duplicates(encoding_map=enc, min_similarity_threshold=1)
    with pytest.raises(ValueError, match="between -1.0 and 1.0"):
        cnn.find_duplicates(encoding_map=enc, min_similarity_threshold=1.5)
    with pytest.raises(ValueError, match="Provide either"):
        cnn.find_duplicates()
    with pytest.raises(ValueError, match="Please provide either image file path or image array!"):
        cnn.encode_image(image_file="missing.jpg")


@pytest.mark.integration
def test_custom_model_callable(datasets: Path) -> None:
    def colour_histogram(batch: np.ndarray) -> np.ndarray:
        return np.stack([np.histogram(b, bins=16, range=(0, 256))[0] for b in batch]).astype(np.float32)

    cnn = CNN(verbose=False, model_config=colour_histogram)
    enc = cnn.encode_images(datasets / "imagededup-testdata" / "base_images")
    assert all(v.shape == (16,) for v in enc.values())


@pytest.mark.integration
def test_custom_onnx_model_config(datasets: Path) -> None:
    cfg = ModelConfig(pooling="max", input_size=224)
    v = CNN(verbose=False, model_config=cfg).encode_image(
        image_file=datasets / "imagededup-testdata/base_images/ukbench00120.jpg")
    assert v.shape == (1, 1280)


@pytest.mark.quality
def test_approximate_topk_has_the_same_interface_and_high_recall() -> None:
    pytest.importorskip("faiss")
    from imagetwins.search import approximate_topk

    rng = np.random.default_rng(3)
    x = _unit(rng, 5000, d=64)
    exact_idx, exact_sims = cosine_topk(x[:200], x, k=10, exclude_self=True)
    idx, sims = approximate_topk(x[:200], x, k=10, exclude_self=True)
    assert idx.shape == exact_idx.shape == (200, 10) and sims.dtype == np.float32
    assert not (idx == np.arange(200)[:, None]).any()
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(idx.tolist(), exact_idx.tolist())])
    check("approximate-topk-recall", float(recall))
    assert np.all(np.diff(sims, axis=1) <= 1e-6)  # best first


@pytest.mark.unit
def test_imagededup_style_encoding_map_with_small_vectors() -> None:
    # as imagededup's own tests do: hand-made feature vectors through the public API
    enc = {"ukbench00002.jpg": np.array([1, 0, 0, 1]), "ukbench00003.jpg": np.array([1, 1, 0, 1]),
           "ukbench00002_dup.jpg": np.array([1, 0, 0, 1])}
    with warnings.catch_warnings():  # num_enc_workers not set: no warning about it
        warnings.simplefilter("error", RuntimeWarning)
        got = CNN(verbose=False).find_duplicates(encoding_map=enc, min_similarity_threshold=0.9, scores=True)
    assert [n for n, _ in got["ukbench00002.jpg"]] == ["ukbench00002_dup.jpg"]
    assert got["ukbench00002.jpg"][0][1] == pytest.approx(1.0)
    assert got["ukbench00003.jpg"] == []
    with warnings.catch_warnings():  # num_enc_workers not set: no warning about it
        warnings.simplefilter("error", RuntimeWarning)
        names = CNN(verbose=False).find_duplicates(encoding_map=enc, min_similarity_threshold=0.8)
    assert set(names["ukbench00003.jpg"]) == {"ukbench00002.jpg", "ukbench00002_dup.jpg"}  # cos = 0.866
