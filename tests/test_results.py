"""Results: pairs become groups whose score keeps its kind, and the one query step."""

from __future__ import annotations

import numpy as np
import pytest

from imagetwins.encoders import get_encoder
from imagetwins.results import match_query, result_from_pairs
from imagetwins.search import Pairs

pytestmark = pytest.mark.unit


def test_distance_groups_carry_their_largest_distance() -> None:
    pairs = Pairs(np.array([0, 1, 3]), np.array([1, 2, 4]), np.array([3, 7, 0], np.uint8))
    digests = ["a", "b", "c", "d", "d"]
    r = result_from_pairs([f"{k}.jpg" for k in range(6)], np.zeros(6, np.uint64), digests + ["e"], pairs, "phash", 8)
    assert r.score_kind == "distance" and [g.files for g in r.groups] == [["0.jpg", "1.jpg", "2.jpg"],
                                                                          ["3.jpg", "4.jpg"]]
    weak, exact = r.groups
    assert (weak.score, weak.max_distance, weak.min_similarity, weak.exact) == (7, 7, None, False)
    assert exact.exact and exact.describe() == "byte-identical files"
    assert weak.describe() == "up to 7 bits apart"
    data = r.to_dict()
    group = data["groups"][0]
    assert (group["files"], group["exact"], group["max_distance"]) == (["0.jpg", "1.jpg", "2.jpg"], False, 7)
    assert "min_similarity" not in group
    assert data["pairs"][1] == {"a": "1.jpg", "b": "2.jpg", "distance": 7}


def test_similarity_groups_carry_their_smallest_similarity() -> None:
    pairs = Pairs(np.array([0, 1]), np.array([1, 2]), np.array([0.97, 0.85], np.float32), "similarity")
    r = result_from_pairs(["a", "b", "c", "d", "e"], np.zeros((5, 3), np.float32), ["1", "2", "3", "4", "4"], pairs,
                          "cnn", 0.82)
    assert r.score_kind == "similarity" and len(r.groups) == 2
    g = r.groups[0]
    assert g.min_similarity == pytest.approx(0.85) and g.max_distance is None
    assert g.describe() == "cosine similarity >= 0.850"
    # byte-identical files join at similarity 1, never "distance 0"
    assert r.groups[1].exact and r.groups[1].score == 1.0
    data = r.to_dict()
    assert data["score_kind"] == "similarity"
    assert data["groups"][0]["min_similarity"] == pytest.approx(0.85) and "max_distance" not in data["groups"][0]
    assert [p["similarity"] for p in data["pairs"]] == [pytest.approx(0.97), pytest.approx(0.85), 1.0]


def test_pairs_of_the_wrong_kind_for_the_method_are_refused() -> None:
    pairs = Pairs(np.array([0]), np.array([1]), np.array([3], np.uint8))
    with pytest.raises(ValueError, match="scores by similarity"):
        result_from_pairs(["a", "b"], np.zeros((2, 3)), ["", ""], pairs, "cnn", 0.8)
    with pytest.raises(TypeError, match="use .score"):
        _ = Pairs(np.array([0]), np.array([1]), np.array([0.9]), "similarity").distance


def test_match_query_orders_each_query_closest_first() -> None:
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 2**64 - 1, size=50, dtype=np.uint64)
    queries = np.array([ref[7] ^ np.uint64(0b111), ref[3], ref[3] ^ np.uint64(1)], np.uint64)
    ref[9] = ref[3] ^ np.uint64(0b11)
    found = match_query("phash", ["q0", "q1", "q2"], queries, [f"r{k}" for k in range(50)], ref)
    assert found == {"q0": [("r7", 3)], "q1": [("r3", 0), ("r9", 2)], "q2": [("r3", 1), ("r9", 1)]}
    vec = get_encoder("cnn")
    x = np.eye(3, dtype=np.float32)
    q = np.array([[0.9, 0.1, 0.0], [0.0, 0.0, 1.0]], np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    assert match_query(vec, ["a", "b"], q, ["x", "y", "z"], x, 0.5) == {"a": [("x", 0.9939)], "b": [("z", 1.0)]}
    assert match_query("phash", [], ref[:0], ["r"], ref[:1]) == {}
