"""The ``similar`` method: re-shots of one scene grouped for review, the best shot suggested, nothing removed
without a person's plan. Real re-shots from holidays-half; ranking numbers are in BENCHMARKS.md
(``benchmarks/bench_similar.py``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import synthetic_photo
from PIL import Image, ImageFilter

import imagetwins
from imagetwins import shots
from imagetwins.encoders import get_encoder
from imagetwins.encoders.similar import regions
from imagetwins.text import shell_word

# a holidays-half scene shot twice (another moment and framing): not a copy, a re-shot
SCENE = "1026"
# photos of other scenes beside it
OTHERS = ("1000", "1004", "1008", "1016", "1020", "1024")


@pytest.fixture(scope="module")
def reshots(tmp_path_factory, datasets: Path) -> tuple[Path, list[str]]:
    """A folder with the scene's photos and one photo of each other scene; the scene's file names."""
    groups = json.loads((datasets / "holidays-half" / "groundtruth_groups.json").read_text())
    folder = tmp_path_factory.mktemp("holidays")
    for g in (SCENE, *OTHERS):
        for name in groups[g] if g == SCENE else groups[g][:1]:
            shutil.copyfile(datasets / "holidays-half" / "images" / name, folder / name)
    return folder, sorted(groups[SCENE])


@pytest.mark.unit
def test_regions_cover_the_map_and_stay_inside():
    for h, w in ((12, 9), (9, 12), (3, 3), (1, 5)):
        boxes = regions(h, w)
        assert boxes[0] == (0, h, 0, w)
        assert all(0 <= t < b <= h and 0 <= left < r <= w for t, b, left, r in boxes)


@pytest.mark.unit
def test_pair_scores_are_cosine_similarities_of_every_pair_once():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(20, 16)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    p = get_encoder("similar").pairs(v, -1.0)
    assert len(p.left) == 20 * 19 // 2  # every pair at the loosest threshold, each once
    assert np.allclose(p.score, (v[p.left] * v[p.right]).sum(axis=1), atol=1e-5)


@pytest.mark.unit
def test_shot_score_prefers_the_sharp_well_exposed_full_size_shot():
    img = synthetic_photo(640, 480, seed=3)
    base = shots.shot_quality(img).score
    assert shots.shot_quality(img.filter(ImageFilter.GaussianBlur(2))).score < base
    dark = Image.fromarray((np.asarray(img, np.float32) * 0.3).astype(np.uint8))
    assert shots.shot_quality(dark).score < base
    bright = Image.fromarray(np.clip(np.asarray(img, np.float32) * 2.5, 0, 255).astype(np.uint8))
    assert shots.shot_quality(bright).score < base
    assert shots.shot_quality(img.resize((240, 180), Image.Resampling.LANCZOS)).score < base


@pytest.mark.integration
def test_a_reshot_scene_is_grouped_by_similar_and_not_by_copies(reshots):
    folder, scene = reshots
    found = imagetwins.find(folder, method="similar", workers=2)
    grouped = [sorted(Path(p).name for p in g.files) for g in found.groups]
    assert scene in grouped, grouped  # the scene, and nothing else with it
    assert len(grouped) == 1  # no photo of another scene joins
    copies = imagetwins.find(folder, method="copies", workers=2)
    assert not any(set(scene) & {Path(p).name for p in g.files} for g in copies.groups)


@pytest.mark.integration
def test_best_shot_is_the_real_photo_of_a_degraded_group(tmp_path, photo):
    img = Image.open(photo).convert("RGB")
    img.save(tmp_path / "c_original.jpg", quality=92)
    img.filter(ImageFilter.GaussianBlur(1.2)).save(tmp_path / "a_blurred.jpg", quality=92)
    dark = np.asarray(img, np.float32) * 0.35
    Image.fromarray(dark.astype(np.uint8)).save(tmp_path / "b_dark.jpg", quality=92)
    result = imagetwins.find(tmp_path, method="similar", keep="best", workers=2)
    assert len(result.groups) == 1 and len(result.groups[0].files) == 3
    (decision,) = result.decisions
    assert Path(decision.keeper).name == "c_original.jpg"


@pytest.mark.cli
def test_remove_with_similar_needs_a_reviewed_plan(reshots):
    from imagetwins.cli import main

    folder, scene = reshots
    before = sorted(p.name for p in folder.iterdir())
    for extra in ([], ["--apply"]):
        out = CliRunner().invoke(main, ["remove", str(folder), "-m", "similar", *extra])
        assert out.exit_code == 2, out.output
        assert "remove needs --plan with this method" in out.output and "person" in out.output
        assert "Traceback" not in out.output
    assert sorted(p.name for p in folder.iterdir()) == before


@pytest.mark.cli
def test_find_similar_suggests_the_best_shot_and_the_plan_applies(reshots, tmp_path):
    from imagetwins.cli import main

    folder, scene = reshots
    work = tmp_path / "photos"
    shutil.copytree(folder, work)
    plan = tmp_path / "plan.json"
    out = CliRunner().invoke(main, ["find", str(work), "-m", "similar", "--json", str(plan), "--no-cache"])
    assert out.exit_code in (0, 1), out.output
    doc = json.loads(plan.read_text())
    (group,) = doc["groups"]
    best = max(scene, key=lambda n: shots.shot_score(work / n))
    assert Path(group["suggested_keep"]).name == best  # the keep rule 'best' by default: a suggestion only
    assert group["keep"] is None and "person" in doc["review_needed"]
    page = tmp_path / "review.html"
    out = CliRunner().invoke(main, ["report", str(work), "-m", "similar", "-o", str(page), "--no-cache"])
    assert out.exit_code == 0, out.output
    assert '"keep_rule":"best"' in page.read_text() and "suggested best shot" in page.read_text()
    out = CliRunner().invoke(main, ["remove", str(work), "--plan", str(plan), "--apply", "--move-to",
                                    str(tmp_path / "q")])  # the plan as find wrote it: nobody chose a keeper
    assert out.exit_code == 0 and "1 group left alone: no keeper until a person picks one" in out.output
    assert all((work / n).exists() for n in scene)
    group["keep"] = group["suggested_keep"]  # a person agrees with the suggestion
    plan.write_text(json.dumps(doc))
    out = CliRunner().invoke(main, ["remove", str(work), "--plan", str(plan), "--apply", "--move-to",
                                    str(tmp_path / "q")])
    assert out.exit_code == 0, out.output
    assert (work / best).exists() and sum((work / n).exists() for n in scene) == 1


@pytest.mark.quality
def test_similar_ranks_and_pairs_the_held_out_holidays_scenes(datasets: Path):
    """holidays-half groups at odd positions of the sorted ids (never tuned on), scanned as one folder: every photo
    ranks its scene's other photos first (MAP), and the pairs at the default are of one scene."""
    from quality_limits import check

    groups = json.loads((datasets / "holidays-half" / "groundtruth_groups.json").read_text())
    held_out = [g for k, g in enumerate(sorted(groups)) if k % 2 == 1]
    files = sorted(datasets / "holidays-half" / "images" / n for g in held_out for n in groups[g])
    scene = {n: g for g in held_out for n in groups[g]}
    labels = np.array([scene[f.name] for f in files])
    enc = get_encoder("similar")
    encoded = enc.encode_files(files, workers=2, warn=False)
    assert not encoded.failures and len(encoded.paths) == len(files)
    p = enc.pairs(encoded.encodings, enc.loosest_threshold(), workers=2, paths=encoded.paths)
    scores = np.full((len(files), len(files)), -np.inf)
    scores[p.left, p.right] = scores[p.right, p.left] = p.score
    aps = []
    for i in range(len(files)):
        order = np.argsort(-scores[i], kind="stable")
        rel = labels[order[order != i]] == labels[i]
        aps.append((np.cumsum(rel) / np.arange(1, len(rel) + 1))[rel].sum() / rel.sum())
    check("similar-holidays-heldout-map", float(np.mean(aps)))
    found = enc.within(p.score, enc.default_threshold)
    same = labels[p.left] == labels[p.right]
    check("similar-holidays-heldout-precision", float((found & same).sum() / found.sum()))


EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"


@pytest.mark.integration
def test_matches_on_a_repeated_texture_do_not_lift_unrelated_pictures():
    """The example pictures share one striped background: ORB matches on stripes fit a degenerate affine map
    (10-15 'inliers' between beach and forest); such maps count nothing, so only real copies group."""
    from imagetwins import verify

    names = ["beach.jpg", "beach_small.jpg", "forest_mirrored.jpg"]
    feats, failures = verify.features_for_files([EXAMPLES / n for n in names])
    assert not failures
    f = [feats[str(EXAMPLES / n)] for n in names]
    assert verify.consistent_matches(f[0], f[2]) == 0
    assert verify.consistent_matches(f[0], f[1]) >= 40
    found = imagetwins.find(EXAMPLES, method="similar", workers=2)
    groups = {frozenset(Path(p).stem.split("_")[0] for p in g.files) for g in found.groups}
    assert groups == {frozenset({"beach"}), frozenset({"city"}), frozenset({"forest"})}, groups


@pytest.mark.integration
def test_the_library_plans_no_removal_from_a_similar_scan(tmp_path):
    """The API's own removal planner refuses a re-shot scan, as the CLI does (the groups are a person's to decide)."""
    from imagetwins.quarantine import plan_removal

    for name in ("beach.jpg", "beach_small.jpg", "city.jpg"):
        shutil.copyfile(EXAMPLES / name, tmp_path / name)
    result = imagetwins.find(tmp_path, method="similar", workers=2)
    assert len(result.groups) == 1
    with pytest.raises(ValueError, match="no removal planned from a scan with this method"):
        plan_removal(result, roots=[tmp_path])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["beach.jpg", "beach_small.jpg", "city.jpg"]


@pytest.mark.cli
def test_explain_calls_a_similar_match_the_same_scene_not_a_duplicate(reshots):
    folder, names = reshots
    from imagetwins.cli import main

    res = CliRunner().invoke(main, ["explain", str(folder / names[0]), str(folder / names[1]), "-m", "similar",
                                    "-m", "phash"])
    assert res.exit_code == 0, res.output
    similar_line = next(line for line in res.output.splitlines() if line.strip().startswith("similar"))
    assert "(same scene if >= " in similar_line and similar_line.rstrip().endswith("SAME SCENE")
    phash_line = next(line for line in res.output.splitlines() if line.strip().startswith("phash"))
    assert "(duplicate if <= " in phash_line
    res = CliRunner().invoke(main, ["explain", str(folder / names[0]), str(folder / names[1]), "-m", "similar",
                                    "--json", "-"])
    assert json.loads(res.output)["scores"][0]["match_name"] == "same scene"


@pytest.mark.cli
def test_find_and_report_call_similar_groups_same_scene_not_duplicates(reshots, tmp_path):
    """A stranger's 'find -m similar' ended "15 duplicate groups holding 33 files" above groups the same run
    calls re-shots, never duplicates: the summary names them as the method does."""
    from imagetwins.cli import main

    folder, scene = reshots
    out = CliRunner().invoke(main, ["find", str(folder), "-m", "similar"])
    assert out.exit_code == 0 and "1 same-scene group holding" in out.output, out.output
    assert "duplicate group" not in out.output
    out = CliRunner().invoke(main, ["report", str(folder), "-m", "similar", "-o", str(tmp_path / "r.html")])
    assert out.exit_code == 0 and "1 same-scene group holding" in out.output, out.output
    out = CliRunner().invoke(main, ["find", str(folder), "-m", "phash", "-t", "0"])
    assert out.exit_code == 0 and "duplicate groups holding" in out.output, out.output


@pytest.mark.cli
@pytest.mark.parametrize("recursive", [True, False])
def test_remove_similar_refusal_names_commands_that_run_as_they_are(tmp_path, recursive):
    # the refusal names the review and plan commands for this folder: with -r where this remove had it (a review
    # of the top folder alone would leave out the sub-folders' groups), never on remove --plan, which refuses -r
    from imagetwins.cli import main

    folder = tmp_path / "My Photos"
    (folder / "2024").mkdir(parents=True)
    args = ["remove", str(folder), "-m", "similar"] + (["-r"] if recursive else [])
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 2, out.output
    text = " ".join(out.output.split())
    quoted = shell_word(str(folder))
    r = " -r" if recursive else ""
    assert f"'imagetwins report {quoted}{r} -m similar'" in text
    assert f"'imagetwins find {quoted}{r} -m similar --json plan.json'" in text
    assert f"'imagetwins remove {quoted} --plan plan.json'" in text
    assert "as here" not in text


@pytest.mark.integration
def test_the_keypoint_matching_of_a_similar_search_shows_its_progress(reshots, monkeypatch):
    # the search re-reads every photo near another one and counts keypoint matches of each near pair (17 ms an
    # image: half an hour of CPU at 100,000 photos), with no bar nor log line between encoding's and keeping's
    from imagetwins import progress

    folder, _ = reshots
    bars = []

    class Recorder:
        def __init__(self, total, unit, desc, **_):
            self.total, self.desc, self.done, self.closed = total, desc, 0, False
            bars.append(self)

        def update(self, n=1):
            self.done += n

        def close(self):
            self.closed = True

    monkeypatch.setattr(progress, "progress_bar", Recorder)
    encoder = get_encoder("similar")
    enc = encoder.encode_files(sorted(str(p) for p in folder.glob("*.jpg")), workers=2)
    found = encoder.pairs(enc.encodings, encoder.default_threshold, workers=2, progress=True, paths=list(enc.paths))
    assert len(found.left)  # (the scene's shots pair up)
    (bar,) = [b for b in bars if b.desc == "matching keypoints"]
    assert bar.total > len(enc.paths) // 2 and bar.done == bar.total and bar.closed
    bars.clear()
    encoder.pairs(enc.encodings, encoder.default_threshold, workers=2, paths=list(enc.paths))
    assert not bars  # (none unless asked: the library's default)
