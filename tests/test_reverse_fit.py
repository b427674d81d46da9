"""The full match both ways (issue 24, ``verify.REVERSE_FIT``): the ratio test keeps the matches of one image's
descriptors that are clearly nearest to one of the other's, and a crop blown up, overlays or a colour edit on one side
leave other matches clear from the other side; the quick look looked both ways, the full match only from the first
image of the canonical order. Where that leaves the pair short of the default with few inliers, the fit from the
other side is checked too and kept where it is a copy's alignment (one frame inside the other) and scores higher.

The copies are random combinations of photos-public photos (the fit split: the rule was chosen on such pairs,
``benchmarks/probe_combo_fit.py``), drawn as ``quality.py --families`` draws them; the re-shot is a holidays-half pair
of an even (tuning) group. Held-out numbers: BENCHMARKS.md ("The full match both ways").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import save_combos

from imagetwins import copies, edits, verify
from imagetwins.encoders import get_encoder
from imagetwins.scores import Verdict

pytestmark = pytest.mark.integration

#: (photos-public photo, what edits.combo draws for it with the seed [4242, photo - 40])
COMBOS = {
    44: ("blur_noise", "crop_small"),
    53: ("stickers", "crop_small", "meme_text"),
    138: ("crop_small", "colour_shift", "rotate_crop_inside"),
}


@pytest.fixture(scope="module")
def records(tmp_path_factory, datasets: Path) -> dict[str, copies.CopyRecord]:
    folder = tmp_path_factory.mktemp("reverse")
    save_combos(folder, datasets, COMBOS)
    for name in ("112403", "112408"):  # holidays-half, an even (tuning) group: no EXIF
        (folder / f"h{name}.jpg").write_bytes((datasets / "holidays-half" / "images" / f"{name}.jpg").read_bytes())
    enc = get_encoder(copies.COPIES_METHOD).encode_files(sorted(folder.glob("*.jpg")), workers=2, warn=False)
    assert not enc.failures
    return {Path(p).stem: r for p, r in zip(enc.paths, enc.encodings)}


def test_the_full_match_both_ways_is_off_by_default() -> None:
    assert verify.REVERSE_FIT is False


def test_the_combinations_are_the_ones_named() -> None:
    for k, recipe in COMBOS.items():
        assert edits.combo_recipe(np.random.default_rng([4242, k - 40])) == recipe


@pytest.mark.parametrize("k", sorted(COMBOS))
def test_a_copy_matched_from_the_other_side(records, k: int, monkeypatch) -> None:
    """With ``REVERSE_FIT`` on (off by default: no held-out gain for its cost), a crop (blurred and noisy; with
    stickers and meme letters; recoloured and turned): found, the same either way round; with the full match from the
    first image alone it is not."""
    monkeypatch.setattr(verify, "REVERSE_FIT", True)
    v = copies.verify_records(records[f"p{k}"], records[f"p{k}_combo"])
    assert v.confidence >= verify.DEFAULT_CONFIDENCE and v.verdict() is Verdict.COPY, v.to_dict()
    assert v.frame_cover >= verify.FRAMING_COVER
    assert copies.verify_records(records[f"p{k}_combo"], records[f"p{k}"]).confidence == v.confidence
    with pytest.MonkeyPatch.context() as m:
        m.setattr(verify, "REVERSE_FIT", False)
        one_way = copies.verify_records(records[f"p{k}"], records[f"p{k}_combo"])
    assert one_way.confidence < verify.DEFAULT_CONFIDENCE, one_way.to_dict()


def test_a_reshot_aligned_from_the_other_side_is_no_copy(records, monkeypatch) -> None:
    """Two holidays-half shots of one lake and its mountains from two places: the fit from the second photo aligns the
    mountains (the lake and the meadow, which differ, taken for overlays) and scores as a copy, but neither frame lies
    inside the other, as a copy's does: the other side's fit is not kept (``REVERSE_FIT`` on)."""
    monkeypatch.setattr(verify, "REVERSE_FIT", True)
    checks = []
    checked = verify._checked
    monkeypatch.setattr(verify, "_checked", lambda *args: checks.append(checked(*args)) or checks[-1])
    v = copies.verify_records(records["h112403"], records["h112408"])
    assert v.confidence < verify.DEFAULT_CONFIDENCE and v.verdict() is not Verdict.COPY, v.to_dict()
    assert len(checks) == 2, "the other side's fit not tried"
    other = checks[1]
    assert other.confidence >= verify.DEFAULT_CONFIDENCE and other.overlay > 0, other.to_dict()
    assert other.frame_cover < verify.FRAMING_COVER and other.rotation >= verify.FRAMING_ANGLE
