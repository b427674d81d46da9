"""The run's stages and value types: ScoreKind (score semantics in one place), Digest (full SHA-256 or the
index's prefix), frozen results that no stage changes, and the keep policy decided once per run."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from imagetwins.digests import Digest
from imagetwins.results import NOT_DECIDED, FindResult, Scan, result_from_pairs, search_scan
from imagetwins.scores import CONFIDENCE, DISTANCE, SIMILARITY, ScoreKind
from imagetwins.search import Pairs

pytestmark = pytest.mark.unit


def test_score_kinds_answer_every_question_about_scores() -> None:
    scores = np.array([0, 3, 10, 11])
    assert DISTANCE.within(scores, 10).tolist() == [True, True, True, False]
    assert SIMILARITY.within(np.array([0.9, 0.8]), 0.85).tolist() == [True, False]
    assert np.argsort(DISTANCE.best_first([5, 1, 3])).tolist() == [1, 2, 0]
    assert np.argsort(SIMILARITY.best_first([0.5, 0.9, 0.7])).tolist() == [1, 2, 0]
    assert DISTANCE.closer(2, 3) and SIMILARITY.closer(0.9, 0.8) and not CONFIDENCE.closer(0.1, 0.2)
    assert (DISTANCE.exact, SIMILARITY.exact, CONFIDENCE.exact) == (0, 1.0, 1.0)
    assert (DISTANCE.loosest(256), SIMILARITY.loosest(), CONFIDENCE.loosest()) == (256, -1.0, 0.0)
    assert DISTANCE.weakest([1, 7, 3]) == 7 and SIMILARITY.weakest([0.9, 0.85]) == 0.85
    assert (DISTANCE.format(1), DISTANCE.format(3)) == ("1 bit", "3 bits")
    assert SIMILARITY.format(0.95312) == "similarity 0.953" and CONFIDENCE.format(0.97) == "confidence 0.970"
    assert DISTANCE.value(np.uint16(3)) == 3 and type(DISTANCE.value(np.uint16(3))) is int
    assert SIMILARITY.value(np.float32(0.953125)) == 0.9531
    assert (DISTANCE.weakest_field, SIMILARITY.weakest_field, CONFIDENCE.weakest_field) == \
        ("max_distance", "min_similarity", "min_confidence")
    # validation in one place, one line saying what is allowed
    assert DISTANCE.check_threshold(10.0, 64, "phash") == 10
    for kind, bad, message in ((DISTANCE, 65, "whole bits, 0..64"), (DISTANCE, 2.5, "whole bits"),
                               (DISTANCE, True, "whole bits"), (SIMILARITY, 1.5, "cosine similarities in -1..1"),
                               (CONFIDENCE, -0.1, "verification confidences in 0..1"), (SIMILARITY, "x", "-1..1")):
        with pytest.raises(ValueError, match=message):
            kind.check_threshold(bad)


def test_a_confidence_threshold_of_zero_is_refused_in_every_door(tmp_path: Path) -> None:
    """A confidence floor of 0 took every pair the search proposed (the check turns pairs away at about 0): ``find
    -m copies -t 0`` grouped unrelated photos. 0 is refused, in the one check every door goes through; a hash's 0
    (the strictest) and a cosine of 0 stay valid, as in imagededup."""
    import imagetwins
    from imagetwins.methods import CNN, PHash
    from imagetwins.methods.copies import Copies

    for zero in (0, 0.0, -0.0):
        with pytest.raises(ValueError, match=r"in 0\.\.1, above 0 \(0 would take every pair the search proposes"):
            CONFIDENCE.check_threshold(zero, method="copies")
    assert CONFIDENCE.check_threshold(1e-6) == 1e-6 and CONFIDENCE.check_threshold(1) == 1.0
    assert DISTANCE.check_threshold(0) == 0 and SIMILARITY.check_threshold(0) == 0.0
    assert CONFIDENCE.never == 0 and not CONFIDENCE.within(CONFIDENCE.never, 1e-6)
    (tmp_path / "empty").mkdir()
    for call in (lambda: imagetwins.find(tmp_path / "empty", "copies", 0),
                 lambda: imagetwins.find_against(tmp_path / "empty", tmp_path / "empty", "copies", 0.0),
                 lambda: Copies().find_duplicates(tmp_path / "empty", min_similarity_threshold=0.0)):
        with pytest.raises(ValueError, match="above 0"):
            call()
    with pytest.raises(TypeError, match="Threshold must be a float"):
        Copies().find_duplicates(tmp_path / "empty", min_similarity_threshold=1)
    PHash._check_hamming_distance_bounds(0)  # imagededup's classes keep their ranges
    CNN._check_threshold_bounds(0.0)


def test_a_score_kind_is_the_name_outputs_write() -> None:
    """Programs compare kinds with strings and JSON holds their names: one name per kind (a confidence was written
    as a similarity in JSON and as a confidence in CSV)."""
    assert DISTANCE == "distance" and SIMILARITY == "similarity" and CONFIDENCE == "confidence"
    assert CONFIDENCE != SIMILARITY and ScoreKind.of("confidence") is CONFIDENCE
    assert json.dumps({"score_kind": CONFIDENCE, DISTANCE: 3}) == '{"score_kind": "confidence", "distance": 3}'
    assert ScoreKind.of("distance") is DISTANCE and ScoreKind.of(CONFIDENCE) is CONFIDENCE
    assert CONFIDENCE.unit == "confidence" and SIMILARITY.unit == "cosine similarity"
    with pytest.raises(ValueError, match="distance, similarity, confidence"):
        ScoreKind.of("bits")
    assert Pairs.empty(kind="similarity").kind is SIMILARITY
    import pickle

    assert pickle.loads(pickle.dumps(CONFIDENCE)) is CONFIDENCE
    # an empty part of another kind joins (it holds no score); two kinds of scores never do
    with pytest.raises(ValueError, match="different score kinds"):
        Pairs.concat([Pairs(np.array([0]), np.array([1]), np.array([0.9], np.float32), CONFIDENCE),
                      Pairs(np.array([0]), np.array([2]), np.array([0.8], np.float32), SIMILARITY)])
    joined = Pairs.concat([Pairs(np.array([0]), np.array([1]), np.array([0.9], np.float32), CONFIDENCE),
                           Pairs.empty(np.float32, SIMILARITY)])
    assert joined.kind is CONFIDENCE


def test_a_digest_knows_a_full_sha256_from_the_index_prefix() -> None:
    full = Digest.of_bytes(b"picture")
    prefix = Digest(full[:32])
    assert full.is_full and not full.is_prefix and prefix.is_prefix and not prefix.is_full
    assert full.same_content(prefix) and prefix.same_content(full) and full.same_content(str(full))
    other = Digest.of_bytes(b"another picture")
    assert not other.same_content(prefix) and not full.same_content(other)
    assert not Digest().same_content(Digest()) and not Digest().known  # unknown vouches for nothing
    assert not Digest(full[:40]).same_content(full)  # only the index's 128-bit prefix stands for a full digest
    assert full.key == prefix.key == bytes.fromhex(full[:32]) and Digest().key is None and Digest("ab").key is None
    assert prefix.prefix == prefix and full.prefix == prefix
    assert json.dumps([full]) == f'["{full}"]'
    reads = []

    def sha256(path):
        reads.append(path)
        return str(full)

    assert prefix.completed("x.jpg", sha256) == full and full.completed("x.jpg", sha256) == full
    assert reads == ["x.jpg"]  # a full digest is not read again
    assert prefix.completed("y.jpg", lambda p: str(other)) == prefix  # changed since the scan: kept as scanned


def _result() -> FindResult:
    pairs = Pairs(np.array([0, 1, 3]), np.array([1, 2, 4]), np.array([3, 7, 0], np.uint8))
    return result_from_pairs([f"{k}.jpg" for k in range(6)], np.zeros(6, np.uint64), ["a", "b", "c", "d", "d", "e"],
                             pairs, "phash", 8)


def test_results_are_frozen_and_each_stage_makes_a_new_one(tmp_path: Path) -> None:
    from imagetwins.keep import decide_keepers

    r = _result()
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.groups = []  # type: ignore[misc]
    for k in range(6):
        (tmp_path / f"{k}.jpg").write_bytes(b"")
    r = dataclasses.replace(r, files=[str(tmp_path / f) for f in r.files],
                            groups=[dataclasses.replace(g, files=[str(tmp_path / f) for f in g.files])
                                    for g in r.groups])
    before = [list(g.files) for g in r.groups]
    decided = decide_keepers(r)
    assert decided is not r and r.decisions is NOT_DECIDED and decided.decisions
    assert [list(g.files) for g in r.groups] == before and r.components is None  # the input is unchanged
    assert decided.components == r.groups and len(decided.decisions) == len(decided.groups)
    # 0-1 and 1-2 match, 0-2 do not: the keeper's star is split (a file joins only a keeper it matches)
    assert all(len(g.files) == len(g.scores) for g in decided.groups)
    assert decide_keepers(decided) is decided  # the same policy again: decided once, nothing re-read
    assert decide_keepers(decided, rule="largest") is not decided


def test_a_scan_is_one_row_per_file_and_is_searched_without_being_changed() -> None:
    with pytest.raises(ValueError, match="one encoding and one digest per file"):
        Scan("phash", ["a", "b"], np.zeros(1, np.uint64), ["", ""])
    scan = Scan("phash", ["a", "b", "c"], np.array([0, 1, 2**40 - 1], np.uint64), ["", "", ""])
    r = search_scan(scan, threshold=2)
    assert [g.files for g in r.groups] == [["a", "b"]] and r.scan.files == scan.files and r.encodings is scan.encodings
    assert isinstance(r.digests[0], Digest) and r.score_kind is DISTANCE
