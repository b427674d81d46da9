"""Hash-sure pairs far enough from each other are checked (issue 24): the dihedral hash within ``HASH_SURE`` bits is
no proof of a copy when two shots of one scene are taken from nearly the same spot. Real photos: ukbench views of
one shelf without their camera stamps (so pixels alone decide), a photos-public photo with a caption over it, and a
crowd of captioned versions of one photo (a meme template) that must not cost a check per pair."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from imagetwins import copies, edits, hashing, search, verify  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402
from imagetwins.finder import find_duplicate_groups  # noqa: E402
from imagetwins.scores import Verdict  # noqa: E402

pytestmark = pytest.mark.integration


def _distance(a: copies.CopyRecord, b: copies.CopyRecord) -> int:
    variants = hashing.dihedral_variants(np.stack([a.hash]))
    return min(sum(int(np.bitwise_count(variants[0, o, w] ^ b.hash[w])) for w in range(4)) for o in range(8))


def _encode(files: list[Path]) -> dict[str, copies.CopyRecord]:
    enc = get_encoder(copies.COPIES_METHOD).encode_files(files, workers=2, warn=False)
    assert not enc.failures
    return {Path(p).stem: r for p, r in zip(enc.paths, enc.encodings)}


def test_two_shots_of_one_shelf_within_the_sure_distance_are_not_copies(tmp_path: Path, datasets: Path) -> None:
    """ukbench 00061/00062 (bottles on a shelf, the camera moved a little): 38 bits apart, so called copies without a
    check before; the check aligns them and 63 % of the overlap agrees. A copy of 00061 (re-saved) stays a copy."""
    import quality

    src = datasets / "ukbench-600" / "images"
    for n in (61, 62):
        (tmp_path / f"v{n}.jpg").write_bytes(quality.without_capture_stamp((src / f"ukbench{n:05d}.jpg").read_bytes()))
    Image.open(tmp_path / "v61.jpg").save(tmp_path / "v61_copy.jpg", quality=80)
    rec = _encode(sorted(tmp_path.glob("*.jpg")))
    assert copies.HASH_UNCHECKED < _distance(rec["v61"], rec["v62"]) <= copies.HASH_SURE  # the premise
    v = copies.verify_records(rec["v61"], rec["v62"])
    assert v.same_scene and v.confidence <= copies.HASH_OVERRULE and v.verdict() is Verdict.RESHOT
    assert min(v.frame_cover_a, v.frame_cover_b) < copies.HASH_OVERRULE_COVER  # the camera moved
    result = find_duplicate_groups(tmp_path, copies.COPIES_METHOD)
    assert [sorted(Path(f).stem for f in g.files) for g in result.groups] == [["v61", "v61_copy"]]


def test_a_captioned_copy_in_the_band_stays_a_copy(tmp_path: Path, datasets: Path) -> None:
    """A photo and its meme-captioned copy, 36 bits apart: the check alone says 0.85 (the letters hide part of the
    picture), under the default, but it does not overrule the hash: still a copy, at 1. (Most captioned copies of
    these photos are checked 0.98 since overlays are looked for off the colour fit too; this one is not.)"""
    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[234]
    img = Image.open(photo).convert("RGB")
    img.save(tmp_path / "orig.jpg", quality=92)
    edits.FAMILIES["meme_text"](img, np.random.default_rng(236)).convert("RGB").save(tmp_path / "meme.jpg", quality=90)
    rec = _encode([tmp_path / "orig.jpg", tmp_path / "meme.jpg"])
    assert copies.HASH_UNCHECKED < _distance(rec["orig"], rec["meme"]) <= copies.HASH_SURE
    v = copies.verify_records(rec["orig"], rec["meme"])
    assert copies.HASH_OVERRULE < v.confidence < verify.DEFAULT_CONFIDENCE  # checked, not overruled
    pairs = copies.copy_pairs([rec["orig"], rec["meme"]])
    assert pairs.score.tolist() == [1.0]


def test_two_heavily_edited_copies_checked_low_keep_the_hash(tmp_path: Path, datasets: Path) -> None:
    """Two copies of one photo, a meme caption and a thumbnail, 37 bits apart: the check gives them 0.42 (the caption
    over a picture of a few dozen pixels), but they keep one frame (each covers the other): not another capture, so
    the hash's word stands and they are copies. (Photo 242's colour shift and meme caption, the pair this test used
    until VERDICT_VERSION 14, is checked 0.97 since the recoloured comparison: verify._recoloured.)"""
    img = Image.open(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[200]).convert("RGB")
    for name in ("meme_text", "thumbnail"):
        edits.FAMILIES[name](img, np.random.default_rng(1201)).convert("RGB").save(tmp_path / f"{name}.jpg",
                                                                                  quality=90)
    rec = _encode([tmp_path / "meme_text.jpg", tmp_path / "thumbnail.jpg"])
    a, b = rec["meme_text"], rec["thumbnail"]
    assert copies.HASH_UNCHECKED < _distance(a, b) <= copies.HASH_SURE
    v = copies.verify_records(a, b)
    assert v.same_scene and v.confidence <= copies.HASH_OVERRULE  # the check alone would call them a re-shot
    assert min(v.frame_cover_a, v.frame_cover_b) >= copies.HASH_OVERRULE_COVER
    assert copies.copy_pairs([a, b]).score.tolist() == [1.0]


def test_a_crowd_of_captioned_copies_costs_a_check_per_image_not_per_pair(tmp_path: Path, datasets: Path) -> None:
    """30 captioned versions of one photo (a meme template) and the photo: every pair within the sure distance but
    beyond the unchecked band is a check only where its images are not joined already, so the checks of hash-sure
    pairs are fewer than the images; all 31 are one group."""
    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[213]
    img = Image.open(photo).convert("RGB")
    img.thumbnail((320, 320))
    img.save(tmp_path / "orig.jpg", quality=92)
    for k in range(30):
        edits.FAMILIES["meme_text"](img, np.random.default_rng(k)).convert("RGB").save(tmp_path / f"m{k:02d}.jpg",
                                                                                       quality=85)
    records = list(_encode(sorted(tmp_path.glob("*.jpg"))).values())
    checks: dict = {}
    left, right, dist, conf = copies.scored_candidates(records, workers=2, checks=checks)
    band = (dist > copies.HASH_UNCHECKED) & (dist <= copies.HASH_SURE)
    checked = [k for k, d in zip(zip(left.tolist(), right.tolist()), dist.tolist())
               if copies.HASH_UNCHECKED < d <= copies.HASH_SURE and k in checks]
    assert band.sum() > len(records)  # the premise: more band pairs than images
    assert len(checked) < len(records)
    hit = conf >= verify.DEFAULT_CONFIDENCE
    labels = search.connected_components(len(records), left[hit], right[hit])
    assert len(set(labels.tolist())) == 1


def test_a_query_checks_the_band_too(tmp_path: Path, datasets: Path) -> None:
    """``check``/``find --against`` (copy_query) give the two shots of one shelf the same answer as a search."""
    import quality

    src = datasets / "ukbench-600" / "images"
    for n in (61, 62):
        (tmp_path / f"v{n}.jpg").write_bytes(quality.without_capture_stamp((src / f"ukbench{n:05d}.jpg").read_bytes()))
    rec = _encode([tmp_path / "v61.jpg", tmp_path / "v62.jpg"])
    assert len(copies.copy_query([rec["v61"]], [rec["v62"]]).left) == 0
    shutil.copy(tmp_path / "v61.jpg", tmp_path / "v61_same.jpg")  # byte-identical: one content, still found
    same = _encode([tmp_path / "v61_same.jpg"])
    assert copies.copy_query([rec["v61"]], [same["v61_same"]]).score.tolist() == [1.0]


def test_explain_says_what_the_band_check_decided(tmp_path: Path, datasets: Path) -> None:
    """``explain`` on a band pair: the captioned copy scores 1 and says the check did not see another capture; the
    two shots of the shelf score the check's own confidence (one number, no basis)."""
    import quality

    from imagetwins.explain import explain

    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[213]
    img = Image.open(photo).convert("RGB")
    img.save(tmp_path / "orig.jpg", quality=92)
    edits.FAMILIES["meme_text"](img, np.random.default_rng(213)).convert("RGB").save(tmp_path / "meme.jpg", quality=90)
    copy = explain(tmp_path / "orig.jpg", tmp_path / "meme.jpg", methods=[copies.COPIES_METHOD])
    assert copy.verified_score == 1.0 and "another capture" in copy.score_basis
    src = datasets / "ukbench-600" / "images"
    for n in (61, 62):
        (tmp_path / f"v{n}.jpg").write_bytes(quality.without_capture_stamp((src / f"ukbench{n:05d}.jpg").read_bytes()))
    shots = explain(tmp_path / "v61.jpg", tmp_path / "v62.jpg", methods=[copies.COPIES_METHOD])
    assert shots.verified_score == round(shots.verification.confidence, 4) < verify.DEFAULT_CONFIDENCE
    assert shots.score_basis is None and shots.verification.verdict() is Verdict.RESHOT
