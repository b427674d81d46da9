"""The three answers (copy / re-shot / unrelated) as a value type: rules, symmetry, outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from imagetwins.scores import CONFIDENCE, DISTANCE, SIMILARITY, ScoreKind, Verdict
from imagetwins.verify import DEFAULT_CONFIDENCE, SCENE_COVERAGE, SCENE_INLIERS, Verification

pytestmark = pytest.mark.unit


def test_a_verdict_is_the_string_outputs_write() -> None:
    assert [str(v) for v in Verdict] == ["copy", "re-shot", "unrelated"]
    assert json.dumps({"verdict": Verdict.RESHOT}) == '{"verdict": "re-shot"}'
    assert Verdict.of("re-shot") is Verdict.RESHOT and Verdict.of(Verdict.COPY) is Verdict.COPY
    with pytest.raises(ValueError, match="one of copy, re-shot, unrelated"):
        Verdict.of("duplicate")
    assert Verdict.COPY.removable and not Verdict.RESHOT.removable and not Verdict.UNRELATED.removable


def test_only_a_checked_match_is_a_copy() -> None:
    assert CONFIDENCE.match_verdict is Verdict.COPY
    assert DISTANCE.match_verdict is None and SIMILARITY.match_verdict is None
    assert ScoreKind.of("similarity").match_verdict is None  # a cosine says "looks alike", nothing more


def _scene(**kw) -> Verification:
    base = dict(inliers=SCENE_INLIERS + 40, inlier_ratio=0.9, coverage_a=0.8, coverage_b=0.7, agreement=0.9,
                strict_agreement=0.6, confidence=0.4, transform=np.array([[1.0, 0, 3], [0, 1.0, 2]]))
    base.update(kw)
    return Verification(**base)


def test_the_rules() -> None:
    assert _scene(confidence=DEFAULT_CONFIDENCE).verdict() is Verdict.COPY
    assert _scene(confidence=DEFAULT_CONFIDENCE).verdict(threshold=0.99) is Verdict.RESHOT
    assert _scene().verdict() is Verdict.RESHOT  # one scene in one arrangement, not one capture
    assert _scene(inliers=SCENE_INLIERS - 1).verdict() is Verdict.UNRELATED
    assert _scene(coverage_b=SCENE_COVERAGE / 2).verdict() is Verdict.UNRELATED  # a shared logo, a caption
    assert Verification().verdict() is Verdict.UNRELATED
    # two camera originals of different moments: a re-shot whatever the pictures show
    assert Verification(different_captures=True).verdict() is Verdict.RESHOT
    assert _scene(confidence=0.99, different_captures=True).verdict() is Verdict.RESHOT


@pytest.mark.parametrize("confidence", [0.1, 0.95])
def test_a_verdict_is_the_same_either_way_round(confidence: float) -> None:
    v = _scene(confidence=confidence, coverage_a=0.9, coverage_b=SCENE_COVERAGE)
    assert v.verdict() is v.swapped().verdict()
    assert v.to_dict()["verdict"] == v.swapped().to_dict()["verdict"] == v.verdict()
