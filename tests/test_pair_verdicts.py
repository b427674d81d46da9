"""A pair's verdict is kept with its score (``scores.Verdict`` in the pair's marks, ``scores.stored_score``): a pair
the check rules out as one capture (a re-shot) is no copy at any threshold, in the search, the pair-score store, every
output (``find --pairs``, the review page, ``explain``) and ``tune``. Real photos: holidays-half re-shots (two framings
of one scene, a zoomed second shot) and photos-public copies (a crop at the photo's pixels and a shrunk whole, which
the detail rule says are not made from each other)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagetwins import verify
from imagetwins.scores import (
    CONFIDENCE,
    DISTANCE,
    SIMILARITY,
    Mark,
    Verdict,
    from_stored,
    stored_score,
    stored_scores,
    stored_valid,
)

#: holidays-half re-shots the check caps at verify.NOT_ONE_CAPTURE: two framings of one scene (group 1226) and a zoomed
#: second shot (group 1126); both were grouped as copies by ``find -t 0.5``
RESHOTS = [("122601.jpg", "122602.jpg"), ("112600.jpg", "112602.jpg")]


# -- the value: a verdict in a pair's marks and in a stored number -------------------------------------------------
@pytest.mark.unit
def test_a_stored_score_keeps_the_verdict_and_the_mark() -> None:
    confidences = np.array([0.0, 0.013, 0.5, 0.8731, 0.92, 1.0])
    for verdict in Verdict:
        for recoloured in (False, True):
            marks = np.full(len(confidences), verdict.bits | (Mark.RECOLOURED.bit if recoloured else 0), np.uint8)
            kept = stored_scores(confidences, marks)
            assert stored_valid(kept).all()
            back, back_marks = from_stored(kept)
            assert np.allclose(back, confidences, atol=1e-6)
            assert (Verdict.of_bits(back_marks) == verdict.code).all()
            assert [Verdict.of_bits(int(m)) for m in back_marks] == [verdict] * len(confidences)
            # a recoloured mark rides as the sign: where the number is not 0 (a copy's confidence of 0 keeps none)
            assert (Mark.RECOLOURED.on(back_marks) == (recoloured & (kept != 0))).all()
            # the candidate search keeps these numbers as float32: it reads back the very confidence the store does
            assert np.array_equal(from_stored(kept.astype(np.float32))[0].astype(np.float32),
                                  back.astype(np.float32))
            assert stored_score(0.5, int(marks[0])) == float(kept[2])
    # a copy's confidence is kept as it is (exact), as before the verdict was kept
    assert stored_score(0.8731234567891, 0) == 0.8731234567891
    assert from_stored([0.9])[1][0] == 0 and Verdict.of_bits(0) is Verdict.COPY
    # numbers no store writes: a damaged store, checked again
    assert not stored_valid([1.5, -3.5, 6.0, 5.01, np.nan, np.inf]).any()


@pytest.mark.unit
def test_the_fourth_verdict_code_reads_alike_one_pair_or_many() -> None:
    # the two verdict bits' value 3 (nothing writes it: a damaged or hand-made mark) was read as unrelated for one
    # pair and as code 3 for an array, whose stored score then came out 6.5: a number no store can hold
    odd = 3 << 6
    assert Verdict.of_bits(odd) is Verdict.UNRELATED
    assert Verdict.of_bits(np.array([odd, odd | Mark.RECOLOURED.bit], np.uint8)).tolist() == [2, 2]
    kept = stored_scores([0.5, 0.5], np.array([odd, odd | Mark.RECOLOURED.bit], np.uint8))
    assert kept.tolist() == [stored_score(0.5, odd), stored_score(0.5, odd | Mark.RECOLOURED.bit)] == [4.5, -4.5]
    assert not Verdict.copies_allowed(odd) and CONFIDENCE.verdict(0.99, odd, 0.5) is Verdict.UNRELATED


@pytest.mark.unit
def test_each_not_one_capture_rule_is_one_value_with_its_words_and_its_answer() -> None:
    rule = verify.NotOneCapture
    whole = {"cover": 1.0, "rotation": 0.0}
    found = {rule.PART: verify._not_one_capture(verify.PART_COVER / 2, 0.0),
             rule.FRAMING: verify._not_one_capture((verify.PART_COVER + verify.FRAMING_COVER) / 2, 0.0),
             rule.ADDED: verify._not_one_capture(**whole, added=verify.ADDED_CAP),
             rule.DETAIL: verify._not_one_capture(**whole, detail=verify.DETAIL_CAP),
             rule.LIGHT: verify._not_one_capture(**whole, lighting=verify.LIGHTING_CAP)}
    assert all(got is want for want, got in found.items()) and set(found) == set(rule)
    assert verify._not_one_capture(**whole) is None
    # the name every output writes (explain --json's "not_one_capture")
    assert [json.dumps(r) for r in rule] == ['"part"', '"framing"', '"added"', '"detail"', '"light"']
    assert [str(r) for r in rule] == [r.value for r in rule] and rule.DETAIL == "detail"
    # what such a pair is when no copy: the rule's own answer, else whether the two show one scene decides
    assert {r: r.no_copy for r in rule} == {rule.PART: Verdict.UNRELATED, rule.FRAMING: None,
                                            rule.ADDED: Verdict.RESHOT, rule.DETAIL: Verdict.RESHOT, rule.LIGHT: None}
    # its words, one sentence each, in one place (explain's why_not_copies says them)
    from unittest.mock import PropertyMock, patch

    with patch.object(verify.Verification, "calibrated_confidence", new_callable=PropertyMock, return_value=0.9):
        said = [r.why(verify.Verification()) for r in rule]
    assert len(set(said)) == len(said)
    assert all(s.endswith(f"confidence capped at {verify.NOT_ONE_CAPTURE:g})") for s in said), said
    # a pair the model put under the cap already is not said to be capped (a threshold under it can call it a copy)
    under = [r.why(verify.Verification()) for r in rule]
    assert all(s.endswith(f"confidence under the cap of {verify.NOT_ONE_CAPTURE:g} already)") for s in under), under


@pytest.mark.unit
def test_a_pair_kept_as_a_reshot_matches_at_no_threshold() -> None:
    reshot, copy = Verdict.RESHOT.bits, Mark.RECOLOURED.bit
    scores, marks = np.array([0.5, 0.5, 0.95, 0.95]), np.array([0, reshot, reshot | copy, copy], np.uint8)
    assert CONFIDENCE.within(scores, 0.5, marks).tolist() == [True, False, False, True]
    assert CONFIDENCE.within(scores, 0.5).tolist() == [True] * 4  # (marks not known: the score alone)
    assert CONFIDENCE.verdict(0.5, reshot, 0.1) is Verdict.RESHOT
    assert CONFIDENCE.verdict(0.95, copy, 0.92) is Verdict.COPY
    assert CONFIDENCE.verdict(0.5, 0, 0.92) is None  # below the threshold, nothing ruled: explain says which
    # a match listed as one (its score rounded for the output, 0.92005 -> 0.92): its marks alone say its verdict
    assert CONFIDENCE.verdict(0.92, copy, None) is Verdict.COPY
    assert CONFIDENCE.verdict(0.5, reshot, None) is Verdict.RESHOT
    # hashes and vectors say nothing of captures: their marks never keep a pair out
    assert DISTANCE.within([3], 4, [reshot]).tolist() == [True] and DISTANCE.verdict(3, 0, 4) is None
    assert SIMILARITY.verdict(0.9, reshot, 0.8) is None


def _framings(confidence: float = verify.NOT_ONE_CAPTURE, **kw) -> verify.Verification:
    """Two framings of one scene that agree pixel for pixel: the calibrated model calls them a copy, the frame rule
    caps them at NOT_ONE_CAPTURE."""
    base = dict(inliers=300, inlier_ratio=0.9, coverage_a=0.95, coverage_b=0.95, agreement=1.0, strict_agreement=0.99,
                median_ncc=0.97, lighting_residual=0.01, transform=np.array([[1.0, 0, 3], [0, 1.0, 2]]),
                frame_cover_a=0.95, frame_cover_b=0.95, compared=True, confidence=confidence)
    base.update(kw)
    return verify.Verification(**base)


@pytest.mark.unit
def test_a_capped_pair_is_a_reshot_at_every_threshold() -> None:
    v = _framings()
    assert v.not_one_capture == "framing"
    assert float(verify.confidence_from(v.measurements()[:verify.CALIBRATED])) > verify.NOT_ONE_CAPTURE
    assert float(verify.confidence_from(v.measurements())) == verify.NOT_ONE_CAPTURE
    assert v.kept_verdict is v.swapped().kept_verdict is Verdict.RESHOT
    for threshold in (0.92, 0.5, 0.3, 0.01):  # was "copy" at 0.5 and below
        assert v.verdict(threshold) is v.swapped().verdict(threshold) is Verdict.RESHOT
    assert Verdict.of_bits(from_stored([v.kept])[1][0]) is Verdict.RESHOT
    # the same cells in one frame (a crop): nothing rules it out, the confidence decides
    crop = _framings(0.6, frame_cover_a=1.0)
    assert crop.not_one_capture is None and crop.kept_verdict is Verdict.COPY
    assert crop.verdict(0.5) is Verdict.COPY and crop.verdict(0.92) is Verdict.RESHOT
    # a frame rule under a model that says no copy anyway caps nothing: its confidence decides, as a search's check
    # (which does not measure the frames there) decides
    weak = _framings(0.3, agreement=0.2, strict_agreement=0.1, median_ncc=0.1, lighting_residual=0.12)
    assert float(verify.confidence_from(weak.measurements()[:verify.CALIBRATED])) <= verify.NOT_ONE_CAPTURE
    assert weak.kept_verdict is Verdict.COPY
    assert verify.Verification(different_captures=True).kept_verdict is Verdict.RESHOT


# -- real photos: the search, the store, tune ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def library(tmp_path_factory, datasets: Path) -> Path:
    """Two pairs of holidays-half re-shots; a photos-public photo with a crop of its middle at its own pixels and a
    copy shrunk to half (copies of the photo, re-shots of each other by the detail rule)."""
    folder = tmp_path_factory.mktemp("library")
    for pair in RESHOTS:
        for name in pair:
            shutil.copyfile(datasets / "holidays-half" / "images" / name, folder / name)
    photo = Image.open(datasets / "photos-public" / "images" / "bsds_100075.jpg").convert("RGB")
    w, h = photo.size
    photo.save(folder / "photo.jpg", quality=95)
    photo.crop((w // 4, h // 4, w * 3 // 4, h * 3 // 4)).save(folder / "photo_crop.jpg", quality=90)
    photo.resize((w // 2, h // 2), Image.Resampling.LANCZOS).save(folder / "photo_half.jpg", quality=90)
    return folder


def _names(result) -> list[list[str]]:
    return sorted(sorted(Path(f).name for f in g.files) for g in result.groups)


PHOTO_GROUP = ["photo.jpg", "photo_crop.jpg", "photo_half.jpg"]


@pytest.mark.integration
@pytest.mark.parametrize("threshold", [0.5, 0.2])
def test_a_low_threshold_groups_no_reshot(library: Path, threshold: float) -> None:
    from imagetwins.finder import find_duplicate_groups

    result = find_duplicate_groups(library, "copies", threshold=threshold, workers=2)
    assert _names(result) == [PHOTO_GROUP]  # the re-shots were each a group of "copies" at 0.5
    found = {frozenset((Path(r["a"]).name, Path(r["b"]).name)): r for r in result.pair_records()}
    assert frozenset(("photo_crop.jpg", "photo_half.jpg")) not in found  # grouped through the photo only
    assert {r["verdict"] for r in found.values()} == {Verdict.COPY}


@pytest.mark.integration
def test_the_store_keeps_each_pairs_verdict(library: Path, tmp_path: Path) -> None:
    from imagetwins.encoders import get_encoder
    from imagetwins.finder import find_duplicate_groups
    from imagetwins.index import Index, default_cache_path, open_folder_cache

    folder = tmp_path / "photos"
    shutil.copytree(library, folder)
    version = get_encoder("copies").pair_score_version
    with open_folder_cache(folder, ["copies"]) as cache:
        first = find_duplicate_groups(folder, "copies", threshold=0.5, cache=cache, workers=2)
    with Index(default_cache_path(folder), methods=[], readonly=True) as idx:
        rows = idx.pair_scores("copies")
    assert rows and all(r[3] == version for r in rows)
    kept = {frozenset((r[1], r[2])): from_stored([r[4]]) for r in rows}
    verdicts = {Verdict.of_bits(int(m[0])) for _, m in kept.values()}
    assert Verdict.RESHOT in verdicts and Verdict.COPY in verdicts
    reshots = [(float(s[0]), int(m[0])) for s, m in kept.values() if Verdict.of_bits(int(m[0])) is Verdict.RESHOT]
    assert len(reshots) >= 3 and all(s == verify.NOT_ONE_CAPTURE for s, _ in reshots)  # the two pairs + crop-half
    # a warm run reads the verdicts back: the same groups, nothing grouped from a re-shot's 0.5
    with open_folder_cache(folder, ["copies"]) as cache:
        again = find_duplicate_groups(folder, "copies", threshold=0.5, cache=cache, workers=2)
    assert _names(again) == _names(first) == [PHOTO_GROUP]


@pytest.mark.integration
def test_a_score_kept_before_the_verdict_is_checked_again(library: Path, tmp_path: Path) -> None:
    """A pair-score row of the version before (a confidence with no verdict) is never read: a re-shot kept there as a
    copy's 0.97 (what the calibrated model alone said) is checked again and stays out of every group."""
    from imagetwins.encoders import get_encoder
    from imagetwins.finder import find_duplicate_groups
    from imagetwins.index import Index, default_cache_path, open_folder_cache

    folder = tmp_path / "photos"
    shutil.copytree(library, folder)
    with open_folder_cache(folder, ["copies"]) as cache:
        find_duplicate_groups(folder, "copies", cache=cache, workers=2)
    version = get_encoder("copies").pair_score_version
    older = version.removesuffix("-verdict1")
    assert older != version
    with Index(default_cache_path(folder), methods=[]) as idx:
        rows = idx.pair_scores("copies")
        idx.put_pair_scores("copies", older, [(bytes.fromhex(r[1]), bytes.fromhex(r[2]), 0.97) for r in rows])
        assert {r[3] for r in idx.pair_scores("copies")} == {older}
    with open_folder_cache(folder, ["copies"]) as cache:
        result = find_duplicate_groups(folder, "copies", threshold=0.5, cache=cache, workers=2)
    assert _names(result) == [PHOTO_GROUP]


@pytest.mark.integration
def test_the_review_page_says_which_pairs_are_reshots(library: Path) -> None:
    from imagetwins.finder import find_duplicate_groups
    from imagetwins.report import report_data

    result = find_duplicate_groups(library, "copies", threshold=0.5, workers=2)
    data = report_data(result, workers=2, root=library)
    (group,) = data["groups"]
    names = [Path(c["path"]).name for c in group["files"]]
    crop, half = names.index("photo_crop.jpg"), names.index("photo_half.jpg")
    # a person who picks the crop as the keeper is told the shrunk copy is no copy of it, with its score
    assert sorted(map(tuple, group["verdicts"])) == sorted([(crop, half, "re-shot"), (half, crop, "re-shot")])
    assert group["scores"][crop][half] == group["scores"][half][crop] == verify.NOT_ONE_CAPTURE


# -- tune scores what find groups ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def labelled(tmp_path_factory, datasets: Path) -> Path:
    """A shop-like labelled sample: 6 photos-public photos each with 6 copies (everyday edits, imagetwins.edits) in
    one ground-truth group, and three pairs of holidays-half re-shots, each photo unique in the ground truth."""
    from imagetwins import edits

    folder = tmp_path_factory.mktemp("labelled")
    rng = np.random.default_rng(7)
    families = ["crop", "jpeg", "text_overlay", "keystone", "screenshot", "meme_text", "on_background", "rotate_any",
                "combo", "crop_small", "stickers", "blur_noise"]
    truth: dict[str, list[str]] = {}
    for k, path in enumerate(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:6]):
        img = Image.open(path).convert("RGB")
        names = [f"c{k}_orig.jpg"]
        img.save(folder / names[0], quality=92)
        for e in range(6):
            family = families[(k + e * 5) % len(families)]
            names.append(f"c{k}_{e}_{family}.jpg")
            getattr(edits, family)(img, rng).convert("RGB").save(folder / names[-1], quality=88)
        truth.update({n: [m for m in names if m != n] for n in names})
    for pair in [*RESHOTS, ("119604.jpg", "119605.jpg")]:
        for name in pair:
            shutil.copyfile(datasets / "holidays-half" / "images" / name, folder / f"h{name}")
            truth[f"h{name}"] = []
    (folder / "truth.json").write_text(json.dumps(truth))
    return folder


@pytest.mark.integration
def test_tune_scores_the_groups_find_makes(labelled: Path) -> None:
    from imagetwins.evaluation import load_ground_truth, sweep
    from imagetwins.finder import find_duplicate_groups
    from imagetwins.session import open_session

    truth = load_ground_truth(labelled / "truth.json")
    with open_session(labelled, ["copies"], workers=2) as session:
        swept = sweep(truth, labelled, methods=["copies"], target_precision=0.97, session=session)
        point = {float(p.threshold): p for p in swept.points}
        for threshold in (0.92, 0.5, 0.2):
            groups = find_duplicate_groups(labelled, "copies", threshold=threshold, session=session).groups
            named = [[Path(f).name for f in g.files] for g in groups]
            # no re-shot in any group, at any threshold
            assert not [g for g in named if any(n.startswith("h") for n in g)], (threshold, named)
            grouped = sum(len(g) * (len(g) - 1) // 2 for g in named)
            true = sum(1 for g in named for a in g for b in g if a < b and b in truth[a])
            # what tune counts at a threshold is what find groups there: every pair of files in one group
            assert (point[threshold].retrieved, point[threshold].correct) == (grouped, true), threshold
            assert point[threshold].precision == 1.0
        rec = swept.recommendation
        assert rec is not None
        named = [[Path(f).name for f in g.files]
                 for g in find_duplicate_groups(labelled, "copies", threshold=rec.threshold, session=session).groups]
    assert not [g for g in named if any(n.startswith("h") for n in g)]


# -- the command line: find --pairs and explain say one verdict for one pair, either way round ----------------------
@pytest.mark.cli
def test_find_pairs_and_explain_agree_on_each_pair(library: Path) -> None:
    from click.testing import CliRunner

    from imagetwins.cli import main

    runner = CliRunner()
    out = runner.invoke(main, ["find", str(library), "-m", "copies", "-t", "0.5", "--no-cache", "--pairs",
                               "--json", "-"])
    assert out.exit_code == 0, out.output
    pairs = {frozenset((Path(p["a"]).name, Path(p["b"]).name)): p["verdict"] for p in json.loads(out.output)["pairs"]}
    # (the re-shots were here, each "verdict": "copy")
    assert pairs == {frozenset(("photo.jpg", "photo_crop.jpg")): "copy",
                     frozenset(("photo.jpg", "photo_half.jpg")): "copy"}

    def explained(a: str, b: str) -> dict:
        got = runner.invoke(main, ["explain", str(library / a), str(library / b), "-m", "copies", "--json", "-"])
        assert got.exit_code == 0, got.output
        return json.loads(got.output)

    for a, b in [*RESHOTS, ("photo_crop.jpg", "photo_half.jpg")]:
        for x, y in ((a, b), (b, a)):
            e = explained(x, y)
            (score,) = e["scores"]
            assert e["verdict"] == score["verdict"] == "re-shot", (x, y, e["verdict_reason"])
            assert score["score"] == verify.NOT_ONE_CAPTURE and not score["duplicate"]
    for x, y in (("photo.jpg", "photo_crop.jpg"), ("photo_half.jpg", "photo.jpg")):
        e = explained(x, y)
        assert e["verdict"] == e["scores"][0]["verdict"] == pairs[frozenset((x, y))] == "copy"


def _open_review_page(library: Path, tmp_path: Path, browser):
    """The library's review page (copies, -t 0.5) open in the browser; a function giving the card of a file name."""
    from click.testing import CliRunner
    from selenium.webdriver.common.by import By

    from imagetwins.cli import main

    page = tmp_path / "review.html"
    res = CliRunner().invoke(main, ["report", str(library), "--no-cache", "-t", "0.5", "-o", str(page)])
    assert res.exit_code == 0, res.output
    browser.get(page.as_uri())

    def card(name: str):
        return next(c for c in browser.find_elements(By.CSS_SELECTOR, ".file")
                    if c.find_element(By.CSS_SELECTOR, ".name").text == name)

    return card


@pytest.mark.cli
def test_the_review_page_says_a_reshot_of_the_keeper_picked(library: Path, tmp_path: Path, browser) -> None:
    """In the browser: a person who keeps the crop instead of the photo reads that the shrunk copy is a re-shot of it
    (its score 0.500 and the verdict), not a copy to move."""
    from selenium.webdriver.common.by import By

    card = _open_review_page(library, tmp_path, browser)

    assert len(browser.find_elements(By.CSS_SELECTOR, "section.group")) == 1  # the re-shots: in no group
    assert "re-shot" not in card("photo_half.jpg").find_element(By.CSS_SELECTOR, ".score").text  # a copy of the photo
    card("photo_crop.jpg").find_element(By.CSS_SELECTOR, "img").click()
    assert "keep" in card("photo_crop.jpg").get_attribute("class").split()
    text = card("photo_half.jpg").find_element(By.CSS_SELECTOR, ".score").text
    assert text == "confidence 0.500 to the keeper: re-shot, not a copy", text
    assert "re-shot" not in card("photo.jpg").find_element(By.CSS_SELECTOR, ".score").text
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


@pytest.mark.cli
def test_the_review_page_leaves_a_reshot_of_the_keeper_picked_unless_moved(library: Path, tmp_path: Path,
                                                                           browser) -> None:
    """A person who keeps the crop instead of the photo: the shrunk copy, a re-shot of the crop by its check, stays
    where it is in the exported plan (listed in also_keep; 'remove --plan' moves only the photo) unless the person
    presses "Move anyway" on it. The export planned to move it: in a group whose re-shot is joined only through a copy
    (two shots and a copy of one), keeping one shot moved the other capture and every copy of it out of the folder."""
    from click.testing import CliRunner
    from selenium.webdriver.common.by import By

    from imagetwins.cli import main

    card = _open_review_page(library, tmp_path, browser)

    def exported() -> dict:
        browser.execute_script("exportPlan()")
        (group,) = json.loads(browser.execute_script("return window.imagetwinsExport"))["groups"]
        return {Path(f).name: f for f in group["also_keep"]} | {"keep": Path(group["keep"]).name}

    assert not card("photo_half.jpg").find_elements(By.CSS_SELECTOR, ".move-btn")  # a copy of the suggested keeper
    card("photo_crop.jpg").find_element(By.CSS_SELECTOR, "img").click()
    half = card("photo_half.jpg")
    assert half.find_element(By.CSS_SELECTOR, ".badge").text == "stays: a re-shot of the keeper, not a copy"
    assert card("photo.jpg").find_element(By.CSS_SELECTOR, ".badge").text == "duplicate: moves"
    plan = exported()
    assert plan["keep"] == "photo_crop.jpg" and "photo_half.jpg" in plan and "photo.jpg" not in plan
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(browser.execute_script("return window.imagetwinsExport"))
    dry = CliRunner().invoke(main, ["remove", str(library), "--plan", str(plan_file)])
    assert dry.exit_code == 0, dry.output
    moving = [Path(line.split()[2]).name for line in dry.output.splitlines() if line.startswith("would move ")]
    assert moving == ["photo.jpg"], dry.output
    # the person moves it anyway: then it moves, and the page says so
    half.find_element(By.CSS_SELECTOR, ".move-btn").click()
    assert card("photo_half.jpg").find_element(By.CSS_SELECTOR, ".badge").text == "duplicate: moves"
    assert "photo_half.jpg" not in exported()
    (group,) = json.loads(browser.execute_script("return window.imagetwinsExport"))["groups"]
    assert [Path(f).name for f in group["move_anyway"]] == ["photo_half.jpg"]  # (what remove --plan honours)
    # another keeper, then the crop again: the "Move anyway" said before is not carried over
    card("photo.jpg").find_element(By.CSS_SELECTOR, "img").click()
    card("photo_crop.jpg").find_element(By.CSS_SELECTOR, "img").click()
    assert card("photo_half.jpg").find_element(By.CSS_SELECTOR, ".badge").text == \
        "stays: a re-shot of the keeper, not a copy"
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


@pytest.mark.cli
@pytest.mark.parametrize("cache", [[], ["--no-cache"]], ids=["checks-kept", "checked-now"])
def test_remove_plan_leaves_a_reshot_of_a_keeper_edited_by_hand(library: Path, tmp_path: Path, cache: list) -> None:
    """A find --json plan whose keep is edited by hand from the photo to its crop: 'remove --plan' moved the shrunk
    copy with the photo, though its check says it is a re-shot of the crop (the crop cannot be made into the whole
    picture): the photo's only other capture-sized copy left the folder with nothing kept of it but a crop. It stays
    now, named in one note line with its verdict, unless the plan lists it in the group's move_anyway (as the review
    page's export leaves it unless the person presses "Move anyway"); the plan as written moves as before. The pair's
    verdict is read where the scan's cache kept it, else checked then."""
    from click.testing import CliRunner

    from imagetwins.cli import main

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in PHOTO_GROUP:
        shutil.copyfile(library / name, folder / name)
    plan_file = tmp_path / "plan.json"
    runner = CliRunner()
    res = runner.invoke(main, ["find", str(folder), "-m", "copies", "-t", "0.5", "--json", str(plan_file),
                                *cache])
    assert res.exit_code == 0, res.output
    doc = json.loads(plan_file.read_text())
    (group,) = doc["groups"]
    assert Path(group["keep"]).name == "photo.jpg", group

    def moving(*extra: str):
        plan_file.write_text(json.dumps(doc))
        out = runner.invoke(main, ["remove", str(folder), "--plan", str(plan_file), *extra])
        assert out.exit_code == 0, out.output
        return sorted(Path(line.split()[2]).name for line in out.output.splitlines()
                      if line.startswith("would move ")), out.output

    assert moving()[0] == ["photo_crop.jpg", "photo_half.jpg"]  # the keeper it was built around: as before
    group["keep"] = next(f for f in group["files"] if Path(f).name == "photo_crop.jpg")
    moves, output = moving()
    assert moves == ["photo.jpg"], output
    (note,) = [line for line in output.splitlines() if "photo_half.jpg" in line]
    assert note.startswith("note: leaving ") and "re-shot of the keeper" in note and "photo_crop.jpg" in note, note
    group["move_anyway"] = [next(f for f in group["files"] if Path(f).name == "photo_half.jpg")]
    assert moving()[0] == ["photo.jpg", "photo_half.jpg"]
    del group["move_anyway"]
    moves, output = moving("--apply", "--ignore-decisions")
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".jpg") == ["photo_crop.jpg", "photo_half.jpg"], \
        output


def _plan_of_photo_group(library: Path, tmp_path: Path, *cache: str):
    """The photo group (photo, crop, half-size copy) in a folder of its own, its find --json plan, and a runner of
    ``remove --plan`` giving the files it would move and its output."""
    from click.testing import CliRunner

    from imagetwins.cli import main

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in PHOTO_GROUP:
        shutil.copyfile(library / name, folder / name)
    plan_file = tmp_path / "plan.json"
    res = CliRunner().invoke(main, ["find", str(folder), "-m", "copies", "-t", "0.5", "--json", str(plan_file),
                                    *cache])
    assert res.exit_code == 0, res.output
    doc = json.loads(plan_file.read_text())

    def moving(*extra: str, code: int = 0):
        plan_file.write_text(json.dumps(doc))
        out = CliRunner().invoke(main, ["remove", str(folder), "--plan", str(plan_file), *extra])
        assert out.exit_code == code, out.output
        return sorted(Path(line.split()[2]).name for line in out.output.splitlines()
                      if line.startswith("would move ")), out.output

    return folder, doc, moving


def _named(group: dict, name: str) -> str:
    return next(f for f in group["files"] if Path(f).name == name)


@pytest.mark.cli
@pytest.mark.parametrize("edit", ["no suggested_keep", "suggested_keep edited too", "no method",
                                  "a review page's export edited"])
def test_remove_plan_checks_every_keeper_not_only_one_edited_from_the_suggested(library: Path, tmp_path: Path,
                                                                               edit: str) -> None:
    """The check of a hand-edited keeper asked only groups whose keep differs from suggested_keep: a plan written
    before that field (or a review page's export, or a plan whose suggested_keep was edited with its keep, or with
    its method taken out) moved the half-size copy, a re-shot of the crop, with the photo. Every group is asked now."""
    _, doc, moving = _plan_of_photo_group(library, tmp_path)
    (group,) = doc["groups"]
    group["keep"] = _named(group, "photo_crop.jpg")
    if edit == "no suggested_keep":
        del group["suggested_keep"]
    elif edit == "suggested_keep edited too":
        group["suggested_keep"] = group["keep"]
    elif edit == "a review page's export edited":  # (a group a person accepted on the page, its keep edited after)
        doc["source"], group["reviewed"], group["suggested_keep"] = "review page", True, group["keep"]
    else:
        del doc["method"]
    moves, output = moving()
    assert moves == ["photo.jpg"], output
    (note,) = [line for line in output.splitlines() if "photo_half.jpg" in line]
    assert "re-shot of the keeper" in note, note


@pytest.mark.cli
def test_remove_plan_leaves_a_file_no_check_can_be_made_of(library: Path, tmp_path: Path) -> None:
    """A file that cannot be decoded has no verdict: a plan listing it (its SHA-256 right, so check_plan lets it) moved
    it as a copy of the keeper. It stays now, one note line saying why; move_anyway moves it."""
    folder, doc, moving = _plan_of_photo_group(library, tmp_path)
    (group,) = doc["groups"]
    broken = folder / "photo_broken.jpg"
    broken.write_bytes((library / "photo.jpg").read_bytes()[:600])  # a JPEG cut short: no picture in it
    import hashlib

    group["files"].append(str(broken))
    group["sha256"][str(broken)] = hashlib.sha256(broken.read_bytes()).hexdigest()
    moves, output = moving()
    assert moves == ["photo_crop.jpg", "photo_half.jpg"], output
    (note,) = [line for line in output.splitlines() if "photo_broken.jpg" in line]
    assert note.startswith("note: leaving ") and "could not be checked" in note, note
    group["move_anyway"] = [str(broken)]
    assert moving()[0] == ["photo_broken.jpg", "photo_crop.jpg", "photo_half.jpg"]


@pytest.mark.cli
@pytest.mark.parametrize("cache", [[], ["--no-cache"]], ids=["checks-kept", "checked-now"])
def test_remove_plan_as_find_wrote_it_reads_every_check_from_the_cache(library: Path, tmp_path: Path, monkeypatch,
                                                                       cache: list) -> None:
    """Asking every group costs a plan as find wrote it nothing but lookups: the keep stage kept each file's check
    against its keeper in the folder's cache; nothing is decoded again (with --no-cache, each pair is checked then)."""
    from imagetwins.encoders.base import Encoder

    _, _, moving = _plan_of_photo_group(library, tmp_path, *cache)
    decoded: list = []
    real = Encoder.encode_files

    def counting(self, paths, *args, **kwargs):
        decoded.extend(paths)
        return real(self, paths, *args, **kwargs)

    monkeypatch.setattr(Encoder, "encode_files", counting)
    assert moving()[0] == ["photo_crop.jpg", "photo_half.jpg"]
    assert sorted(Path(p).name for p in decoded) == ([] if not cache else PHOTO_GROUP)


@pytest.mark.cli
@pytest.mark.parametrize("digits", [64, 32])
def test_a_plan_claiming_a_reshot_holds_the_keeper_s_bytes_moves_nothing_of_it(library: Path, tmp_path: Path,
                                                                                digits: int) -> None:
    """A byte copy of the keeper needs no check: a plan whose sha256 for the re-shot is edited to the keeper's (whole,
    or the 32 digits an index keeps) skips the check, and check_plan refuses the file (its bytes are not those)."""
    _, doc, moving = _plan_of_photo_group(library, tmp_path)
    (group,) = doc["groups"]
    group["keep"] = _named(group, "photo_crop.jpg")
    group["sha256"][_named(group, "photo_half.jpg")] = group["sha256"][group["keep"]][:digits]
    moves, output = moving(code=1)  # (a file refused: exit 1)
    assert moves == ["photo.jpg"] and "photo_half.jpg: it changed since the scan" in output, output


@pytest.mark.cli
def test_byte_copies_of_a_file_to_check_are_checked_once(library: Path, tmp_path: Path, monkeypatch) -> None:
    """Five byte copies of the half-size copy in the group, the keep edited to the crop, no cache: the check is made
    once for their one content (each path was decoded and checked: 6 pairs), and all six stay, one note each."""
    import hashlib

    from imagetwins.encoders.base import Encoder

    folder, doc, moving = _plan_of_photo_group(library, tmp_path, "--no-cache")
    (group,) = doc["groups"]
    half = folder / "photo_half.jpg"
    for k in range(5):
        shutil.copyfile(half, folder / f"photo_half{k}.jpg")
        group["files"].append(str(folder / f"photo_half{k}.jpg"))
        group["sha256"][str(folder / f"photo_half{k}.jpg")] = hashlib.sha256(half.read_bytes()).hexdigest()
    group["keep"] = _named(group, "photo_crop.jpg")
    decoded: list = []
    real = Encoder.encode_files

    def counting(self, paths, *args, **kwargs):
        decoded.extend(Path(p).name for p in paths)
        return real(self, paths, *args, **kwargs)

    monkeypatch.setattr(Encoder, "encode_files", counting)
    moves, output = moving()
    assert moves == ["photo.jpg"], output
    assert sorted(decoded) == PHOTO_GROUP
    assert sum(line.startswith("note: leaving ") and "re-shot" in line for line in output.splitlines()) == 6


@pytest.mark.cli
def test_a_review_page_export_of_a_group_past_its_score_table_leaves_a_reshot_of_the_keeper_picked(
        library: Path, tmp_path: Path) -> None:
    """The review page leaves a re-shot of the keeper a person picks only for pairs it has scores for, and its score
    table stops at 300 files: the export of a larger group (no suggested_keep, reviewed, nothing in also_keep) names the
    crop as keeper and lists the half-size copy, a re-shot of it, to move. remove --plan checks every group's files
    against the keeper (e118571), so it stays; the photo and its 320 byte copies move (one check for their content)."""
    import hashlib

    folder, doc, moving = _plan_of_photo_group(library, tmp_path)
    (group,) = doc["groups"]
    photo = folder / "photo.jpg"
    digest = hashlib.sha256(photo.read_bytes()).hexdigest()
    for k in range(320):
        copy = folder / f"photo_{k:03d}.jpg"
        shutil.copyfile(photo, copy)
        group["files"].append(str(copy))
        group["sha256"][str(copy)] = digest
    assert len(group["files"]) > 300
    doc["source"] = "review page"
    group.pop("suggested_keep", None)
    group.update(keep=_named(group, "photo_crop.jpg"), also_keep=[], reviewed=True, unreviewed=False)
    moves, output = moving()
    assert len(moves) == 321 and "photo_half.jpg" not in moves and "photo_crop.jpg" not in moves, output
    (note,) = [line for line in output.splitlines() if "photo_half.jpg" in line]
    assert note.startswith("note: leaving ") and "re-shot of the keeper" in note, note
