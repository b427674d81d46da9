"""A shop's colour variants (issue 24, left alone before): copies whose colours were turned, on the whole picture or on
a product's area, carry the mark ``recoloured`` (``scores.Mark.RECOLOURED``, ``verify.RECOLOURED_SHARE``), kept with
the pair's score in the pair-score store, said by every output, and ``--colour-variants apart`` keeps them apart.

The photos are photos-public's (the fit split: the rule's thresholds were chosen on such copies); the hue turns are
those of the brief: 170 degrees on the whole picture, 85 degrees on an ellipse over the middle (28 % of the picture:
a product's area). A JPEG re-encode, a crop, a grey and a sepia copy are copies that are not recoloured (a grey or sepia
copy has its colours taken away or toned into one, not turned: no colour variant).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

import imagetwins
from imagetwins import copies, verify
from imagetwins.cli import main
from imagetwins.encoders import get_encoder
from imagetwins.io import open_image
from imagetwins.pairscores import MemoryPairScores, PairScores
from imagetwins.scores import ColourVariants, Mark, from_stored, stored_score
from imagetwins.search import Pairs

pytest.importorskip("cv2")

#: photos-public photos (sorted order) whose middle holds colour, so a hue turned there turns a fifth of the picture
PHOTOS = (56, 90)
VARIANTS = ("h170", "a85")  # recoloured
PLAIN = ("q60", "crop", "grey", "sepia")  # copies, not recoloured


def _hue_turned(img: Image.Image, degrees: float, where: np.ndarray | None = None) -> Image.Image:
    hsv = np.asarray(img.convert("HSV"), dtype=np.float32)
    hsv[..., 0] = (hsv[..., 0] + degrees / 360 * 256) % 256
    out = np.asarray(Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB"))
    if where is not None:
        out = np.where(where[..., None], out, np.asarray(img))
    return Image.fromarray(out.astype(np.uint8))


def _product_area(img: Image.Image) -> np.ndarray:
    """An ellipse over the middle 60 % of each side (28 % of the picture), as a product sits in a catalogue photo."""
    w, h = img.size
    mask = Image.new("L", img.size, 0)
    ImageDraw.Draw(mask).ellipse([w * 0.2, h * 0.2, w * 0.8, h * 0.8], fill=255)
    return np.asarray(mask) > 0


def _make(folder: Path, photo: Path, k: int) -> None:
    img = open_image(photo)
    img.save(folder / f"p{k}.jpg", quality=95)
    _hue_turned(img, 170).save(folder / f"p{k}_h170.jpg", quality=95)
    _hue_turned(img, 85, _product_area(img)).save(folder / f"p{k}_a85.jpg", quality=95)
    img.save(folder / f"p{k}_q60.jpg", quality=60)
    w, h = img.size
    img.crop((w // 10, h // 10, w - w // 10, h - h // 10)).save(folder / f"p{k}_crop.jpg", quality=95)
    img.convert("L").convert("RGB").save(folder / f"p{k}_grey.jpg", quality=95)
    grey = np.asarray(img.convert("L"), dtype=np.float32)[..., None]
    sepia = np.clip(grey * np.array([1.07, 0.74, 0.43]) + np.array([20, 10, 0]), 0, 255).astype(np.uint8)
    Image.fromarray(sepia).save(folder / f"p{k}_sepia.jpg", quality=95)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, datasets: Path) -> Path:
    out = tmp_path_factory.mktemp("variants")
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    for k in PHOTOS:
        _make(out, photos[k], k)
    return out


@pytest.fixture(scope="module")
def records(folder: Path) -> dict[str, copies.CopyRecord]:
    enc = get_encoder(copies.COPIES_METHOD).encode_files(sorted(folder.glob("*.jpg")), workers=2, warn=False)
    assert not enc.failures
    return {Path(p).stem: r for p, r in zip(enc.paths, enc.encodings)}


@pytest.mark.integration
@pytest.mark.parametrize("k", PHOTOS)
def test_hue_turned_copies_are_marked_and_plain_copies_are_not(records, k: int) -> None:
    """Each is a copy (one capture); the two hue turns are marked recoloured, either way round, with the same share of
    turned cells; the re-encode, the crop, the grey and the sepia copy are not."""
    for edit in VARIANTS + PLAIN:
        v = copies.verify_records(records[f"p{k}"], records[f"p{k}_{edit}"])
        w = copies.verify_records(records[f"p{k}_{edit}"], records[f"p{k}"])
        assert v.confidence >= verify.DEFAULT_CONFIDENCE or edit == "a85", (edit, v.to_dict())
        assert v.confidence == w.confidence and v.turned == w.turned and v.recoloured == w.recoloured, edit
        assert v.recoloured is (edit in VARIANTS), (edit, v.turned)
        assert v.marks == (Mark.RECOLOURED.bit if edit in VARIANTS else 0)
        assert v.to_dict()["recoloured"] is v.recoloured


@pytest.mark.integration
def test_the_mark_changes_no_confidence(records, monkeypatch) -> None:
    """The mark is read beside the confidence, never by it: with the measurement left out, the same confidences."""
    pairs = [(f"p{k}", f"p{k}_{e}") for k in PHOTOS for e in VARIANTS + PLAIN]
    marked = [copies.verify_records(records[a], records[b]).confidence for a, b in pairs]
    monkeypatch.setattr(verify, "_turned_share", lambda *args: 0.0)
    assert [copies.verify_records(records[a], records[b]).confidence for a, b in pairs] == marked


@pytest.mark.integration
def test_hash_sure_variants_are_marked_and_the_marks_are_kept(records) -> None:
    """The product-area recolour barely moves the grey hash: a hash-sure pair, confidence 1 without a check; its
    colours are looked at all the same (the colour signatures differ), so it is marked; the mark is kept in the
    pair-score store with the 1 (a negative kept score) and comes back from it, whichever way round."""
    names = sorted(n for n in records if n.startswith("p90"))
    rows = [records[n] for n in names]
    store = MemoryPairScores()
    version = get_encoder(copies.COPIES_METHOD).pair_score_version
    digests = [hashlib.sha256(n.encode()).hexdigest() for n in names]  # (the store keys pairs by content)
    left, right, dist, conf, marks = copies.scored_candidates(
        rows, workers=2, with_marks=True, pair_scores=PairScores(store, "copies", version, digests))
    found = {(names[i], names[j]): (d, c, m) for i, j, d, c, m in zip(left.tolist(), right.tolist(), dist.tolist(),
                                                                       conf.tolist(), marks.tolist())}
    d, c, m = found[("p90", "p90_a85")]
    assert d <= copies.HASH_SURE and c == 1.0 and Mark.RECOLOURED.on(m)
    assert not Mark.RECOLOURED.on(found[("p90", "p90_q60")][2])
    assert not Mark.RECOLOURED.on(found[("p90", "p90_grey")][2])
    kept = PairScores(store, "copies", version, digests)
    a, b = names.index("p90"), names.index("p90_a85")
    assert kept.lookup(np.array([a]), np.array([b]))[0] == kept.lookup(np.array([b]), np.array([a]))[0] == -1.0
    again = copies.scored_candidates(rows, workers=2, with_marks=True, pair_scores=kept)
    assert again[4].tolist() == marks.tolist() and again[3].tolist() == conf.tolist()


@pytest.mark.integration
def test_find_marks_the_variants_and_apart_keeps_them_apart(folder: Path, tmp_path: Path) -> None:
    """``find``: one group of the original and its copies, the variants marked against the keeper, which is never a
    variant; ``colour_variants="apart"``: the variants leave the original's group (the grey copy, which has no colour
    to turn, stays a copy of each). Through an index, the second run reads the marks back."""
    files = sorted(p for p in folder.glob("p90*.jpg"))
    for p in files:
        (tmp_path / p.name).write_bytes(p.read_bytes())
    result = imagetwins.find(tmp_path, keep="original", cache=False, decisions=False)
    assert len(result.groups) == 1
    g = result.groups[0]
    assert Path(g.files[0]).name == "p90.jpg"
    assert sorted(Path(f).name for f in g.recoloured) == ["p90_a85.jpg", "p90_h170.jpg"]
    data = result.to_dict()
    assert sorted(Path(f).name for f in data["groups"][0]["recoloured"]) == ["p90_a85.jpg", "p90_h170.jpg"]
    records = {(Path(r["a"]).name, Path(r["b"]).name): r for r in result.pair_records()}
    assert records[("p90.jpg", "p90_a85.jpg")]["marks"] == ["recoloured"]
    assert "marks" not in records[("p90.jpg", "p90_q60.jpg")]

    apart = imagetwins.find(tmp_path, keep="original", cache=False, decisions=False, colour_variants="apart")
    main_group = next(g for g in apart.groups if Path(g.files[0]).name == "p90.jpg")
    assert not {"p90_a85.jpg", "p90_h170.jpg"} & {Path(f).name for f in main_group.files}
    assert {"p90_q60.jpg", "p90_crop.jpg", "p90_grey.jpg", "p90_sepia.jpg"} <= {Path(f).name for f in main_group.files}
    assert not any(g.recoloured for g in apart.groups)

    db = tmp_path / "index.db"
    with imagetwins.open_session(tmp_path, ["copies"], db=db) as s:
        first = imagetwins.find(tmp_path, keep="original", session=s, decisions=False)
    with imagetwins.open_session(tmp_path, ["copies"], db=db) as s:
        second = imagetwins.find(tmp_path, keep="original", session=s, decisions=False)
    assert [g.recoloured for g in first.groups] == [g.recoloured for g in second.groups] == [g.recoloured]
    with pytest.raises(ValueError, match="colour variants are one of copies, apart"):
        imagetwins.find(tmp_path, cache=False, colour_variants="separate")


@pytest.mark.integration
def test_the_keeper_is_not_a_variant(folder: Path, tmp_path: Path) -> None:
    """A variant larger than the original (the keep rule ``original`` prefers the larger file) is still not the
    keeper while a member that is not a colour variant exists: every one of its matches in the group is
    recoloured."""
    img = open_image(folder / "p90_h170.jpg")
    img.resize((img.width * 2, img.height * 2), Image.Resampling.LANCZOS).save(tmp_path / "big_h170.jpg", quality=95)
    for name in ("p90.jpg", "p90_q60.jpg"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    result = imagetwins.find(tmp_path, keep="original", cache=False, decisions=False)
    assert len(result.groups) == 1
    assert Path(result.groups[0].files[0]).name == "p90.jpg"
    assert [Path(f).name for f in result.groups[0].recoloured] == ["big_h170.jpg"]


@pytest.mark.cli
def test_every_output_says_recoloured_and_explain_says_why(folder: Path, tmp_path: Path) -> None:
    """The text, CSV and JSON of find, remove's dry run, check's CSV and JSON, explain; ``--colour-variants apart``
    (through the folder's cache: the first run verifies, the others read the pair scores and their marks)."""
    for name in ("p90.jpg", "p90_a85.jpg", "p90_q60.jpg"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    run = CliRunner().invoke
    text = run(main, ["find", str(tmp_path), "--ignore-decisions"])
    assert text.exit_code == 0, text.output
    line = next(x for x in text.output.splitlines() if "p90_a85.jpg" in x)
    assert "(recoloured: colours turned from the keeper's)" in line
    assert "recoloured" not in next(x for x in text.output.splitlines() if "p90_q60.jpg" in x)
    csv = run(main, ["find", str(tmp_path), "--ignore-decisions", "--csv", "-"])
    rows = [r.split(",") for r in csv.output.strip().splitlines()]
    assert rows[0][-1] == "recoloured"
    assert {Path(r[1]).name: r[-1] for r in rows[1:]} == {"p90.jpg": "0", "p90_a85.jpg": "1", "p90_q60.jpg": "0"}
    doc = json.loads(run(main, ["find", str(tmp_path), "--ignore-decisions", "--json", "-"]).output)
    assert [Path(f).name for f in doc["groups"][0]["recoloured"]] == ["p90_a85.jpg"]
    apart = json.loads(run(main, ["find", str(tmp_path), "--ignore-decisions", "--colour-variants",
                                  "apart", "--json", "-"]).output)
    assert [sorted(Path(f).name for f in g["files"]) for g in apart["groups"]] == [["p90.jpg", "p90_q60.jpg"]]
    bad = run(main, ["find", str(tmp_path), "--colour-variants", "separate"])
    assert bad.exit_code == 2 and "'separate' is not one of 'copies', 'apart'" in bad.output
    dry = run(main, ["remove", str(tmp_path), "--ignore-decisions"])
    assert dry.exit_code == 0, dry.output
    moves = {Path(x.split()[2]).name: x for x in dry.output.splitlines() if x.startswith("would move")}
    assert moves["p90_a85.jpg"].endswith("recoloured: a colour variant of it)") and "recoloured" not in moves[
        "p90_q60.jpg"]
    kept_apart = run(main, ["remove", str(tmp_path), "--ignore-decisions", "--colour-variants", "apart"])
    assert [x.split()[2] for x in kept_apart.output.splitlines() if x.startswith("would move")] == [
        str(tmp_path / "p90_q60.jpg")]
    explained = run(main, ["explain", str(tmp_path / "p90.jpg"), str(tmp_path / "p90_a85.jpg")])
    assert "compared after recolouring:" in explained.output, explained.output
    plain = run(main, ["explain", str(tmp_path / "p90.jpg"), str(tmp_path / "p90_q60.jpg")])
    assert "compared after recolouring" not in plain.output
    ref, test = tmp_path / "ref", tmp_path / "test"
    ref.mkdir()
    test.mkdir()
    (ref / "p90.jpg").write_bytes((folder / "p90.jpg").read_bytes())
    for name in ("p90_a85.jpg", "p90_q60.jpg"):
        (test / name).write_bytes((folder / name).read_bytes())
    checked = run(main, ["check", str(test), "--against", str(ref), "--csv", "-"])
    assert checked.exit_code == 3, checked.output
    got = {Path(r.split(",")[0]).name: r.split(",")[-2] for r in checked.output.strip().splitlines()[1:]}
    assert got == {"p90_a85.jpg": "1", "p90_q60.jpg": "0"}
    kept_apart = run(main, ["check", str(test), "--against", str(ref), "--colour-variants", "apart",
                            "--json", "-"])
    assert [Path(m["query"]).name for m in json.loads(kept_apart.output)["matches"]] == ["p90_q60.jpg"]


@pytest.mark.unit
def test_a_kept_score_holds_its_mark_exactly() -> None:
    """The store keeps a confidence and its marks in one number: the sign (exact); a 0 keeps none."""
    for score in (1.0, 0.9741, 1e-30, float(np.float32(0.123456789))):
        for marks in (0, Mark.RECOLOURED.bit):
            s, m = from_stored([stored_score(score, marks)])
            assert s[0] == score and m[0] == marks
    assert stored_score(0.0, Mark.RECOLOURED.bit) == 0.0 and from_stored([0.0])[1][0] == 0
    assert np.isnan(from_stored([np.nan])[0][0]) and from_stored([np.nan])[1][0] == 0


@pytest.mark.unit
def test_colour_variants_is_checked_in_one_place_and_pairs_keep_their_marks() -> None:
    assert ColourVariants.of(None) is ColourVariants.COPIES and ColourVariants.of("apart") is ColourVariants.APART
    with pytest.raises(ValueError, match="one of copies, apart"):
        ColourVariants.of("separate")
    marks = np.array([0, Mark.RECOLOURED.bit, 0], np.uint8)
    assert ColourVariants.APART.keeps(marks).tolist() == [True, False, True]
    assert ColourVariants.COPIES.keeps(marks).tolist() == [True, True, True]
    p = Pairs(np.array([2, 0, 1]), np.array([3, 1, 2]), np.array([0.95, 0.99, 1.0], np.float32), "confidence", marks)
    assert p.sorted().marks.tolist() == [Mark.RECOLOURED.bit, 0, 0]
    joined = Pairs.concat([p, Pairs(np.array([5]), np.array([6]), np.array([1.0], np.float32), "confidence")])
    assert joined.marks.tolist() == [0, Mark.RECOLOURED.bit, 0, 0]
    assert Mark.names(Mark.RECOLOURED.bit) == ["recoloured"] and Mark.names(0) == []


@pytest.mark.cli
def test_remove_plan_lines_say_recoloured_as_the_plan_says(folder: Path, tmp_path: Path, browser) -> None:
    """``remove --plan``'s dry run said nothing of a colour variant where the scan's dry run and the review page say
    'recoloured'. Now a plan carries them (find --json's group ``recoloured``; the review page's export, of the keeper
    picked) and its lines say so; a keep edited away from the one they were written against says nothing."""
    from selenium.webdriver.common.by import By

    album = tmp_path / "album"
    album.mkdir()
    for name in ("p90.jpg", "p90_a85.jpg", "p90_q60.jpg"):
        (album / name).write_bytes((folder / name).read_bytes())
    run = CliRunner().invoke

    def lines(plan: Path) -> dict[str, str]:
        dry = run(main, ["remove", str(album), "--plan", str(plan), "--ignore-decisions"])
        assert dry.exit_code == 0, dry.output
        return {Path(x.split()[2]).name: x for x in dry.output.splitlines() if x.startswith("would move")}

    found = run(main, ["find", str(album), "--ignore-decisions", "--json", str(tmp_path / "plan.json")])
    assert found.exit_code == 0, found.output
    moves = lines(tmp_path / "plan.json")
    assert moves["p90_a85.jpg"].endswith("keeping " + str(album / "p90.jpg") + ", recoloured: a colour variant of it)")
    assert "recoloured" not in moves["p90_q60.jpg"]
    doc = json.loads((tmp_path / "plan.json").read_text())
    doc["groups"][0]["keep"] = next(f for f in doc["groups"][0]["files"] if f.endswith("p90_q60.jpg"))
    (tmp_path / "edited.json").write_text(json.dumps(doc))
    assert not any("recoloured" in x for x in lines(tmp_path / "edited.json").values())

    page = tmp_path / "review.html"
    assert run(main, ["report", str(album), "--ignore-decisions", "-o", str(page)]).exit_code == 0
    browser.get(page.as_uri())
    browser.find_element(By.TAG_NAME, "body").send_keys("a")  # accepted as suggested
    exported = json.loads(browser.execute_script("exportPlan(); return window.imagetwinsExport;"))
    assert [Path(f).name for f in exported["groups"][0]["recoloured"]] == ["p90_a85.jpg"]
    (tmp_path / "page.json").write_text(json.dumps(exported))
    moves = lines(tmp_path / "page.json")
    assert moves["p90_a85.jpg"].endswith("recoloured: a colour variant of it)")
    assert "recoloured" not in moves["p90_q60.jpg"]


@pytest.mark.integration
def test_the_hash_sure_colour_look_reads_colour_thumbnails_alone(records, monkeypatch) -> None:
    """``_sure_marks`` parsed each hash-sure row's whole features (and its alternate's) to read its colour thumbnail,
    and a pair it then checked parsed them again. Now the look reads the colour thumbnail alone: the features are
    parsed only for the pairs checked, and the marks are those of before."""
    from conftest import CallCount

    rows = [records[name] for name in ("p90", "p90_q60", "p90_h170", "p56", "p56_q60")]
    left, right = np.array([0, 0, 3]), np.array([1, 2, 4])  # a plain copy, a colour variant, another plain copy
    parsed = CallCount(monkeypatch, verify.ImageFeatures, "from_bytes")
    marks = copies._sure_marks(rows, rows, left, right, 1, None, None)
    assert [Mark.RECOLOURED.on(m) for m in marks] == [False, True, False]
    assert parsed.calls == 2  # p90's and p90_h170's, for their check alone
