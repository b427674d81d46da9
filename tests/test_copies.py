"""The copies method end to end: find, --against, the index, tune, the imagededup-style class and explain."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from imagetwins import edits
from imagetwins.cli import main
from imagetwins.copies import CopyRecord
from imagetwins.encoders import get_encoder
from imagetwins.evaluation import sweep
from imagetwins.finder import find_duplicate_groups
from imagetwins.index import Index
from imagetwins.methods import Copies


@pytest.fixture(scope="module")
def album(tmp_path_factory, datasets: Path) -> Path:
    """Three photos with copies the hashes miss (half crop, tilt, mirrored crop), one with none, and
    two views of one ukbench object (look-alikes, not copies)."""
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[40:44]
    folder = tmp_path_factory.mktemp("copies-album")
    for k, (p, edit) in enumerate(zip(photos, ["crop_half", "tilt", "hflip+crop", None])):
        img = Image.open(p).convert("RGB")
        (folder / f"g{k}").mkdir()
        img.save(folder / f"g{k}" / "original.jpg", quality=92)
        if edit:
            edits.EDITS[edit](img, np.random.default_rng(k)).save(folder / f"g{k}" / f"{edit}.jpg", quality=90)
    uk = datasets / "ukbench-600" / "images"
    (folder / "object").mkdir()
    for name in ("ukbench00400.jpg", "ukbench00401.jpg"):
        Image.open(uk / name).save(folder / "object" / name)
    return folder


EXPECTED = {frozenset({"g0/original.jpg", "g0/crop_half.jpg"}), frozenset({"g1/original.jpg", "g1/tilt.jpg"}),
            frozenset({"g2/original.jpg", "g2/hflip+crop.jpg"})}


def _groups(result) -> set[frozenset[str]]:
    return {frozenset(Path(f).parent.name + "/" + Path(f).name for f in g.files) for g in result.groups}


@pytest.mark.integration
def test_copies_finds_copies_the_hashes_miss_and_not_look_alikes(album: Path) -> None:
    result = find_duplicate_groups(album, method="copies", recursive=True, workers=2)
    assert result.method == "copies" and result.threshold == get_encoder("copies").default_threshold
    assert _groups(result) == EXPECTED
    assert all(0.5 <= s <= 1.0 for s in result.pairs.score.tolist())
    # the dihedral hash alone finds none of them
    assert not find_duplicate_groups(album, method="dihedral", recursive=True).groups


class _CallersBar:
    """A caller's progress bar (tqdm-like): what the verification says its total is and how far it advances."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.n = 0
        self.closed = False

    def update(self, n: int) -> None:
        self.n += n

    def close(self) -> None:
        self.closed = True


@pytest.mark.integration
def test_verification_reports_its_total_and_advances_to_it(album: Path) -> None:
    encoder = get_encoder("copies")
    enc = encoder.encode_files(sorted(album.rglob("*.jpg")), workers=2)
    quiet = encoder.pairs(enc.encodings, encoder.threshold_or_default(None), workers=2)
    bar = _CallersBar()
    pairs = encoder.pairs(enc.encodings, encoder.threshold_or_default(None), workers=2, progress=bar)
    # the half crop, the tilt and the mirrored crop are beyond the hash's sure distance: each pair is verified
    assert bar.total is not None and bar.total >= 3
    assert bar.n == bar.total and not bar.closed  # the caller's bar: advanced to its total, left to the caller
    assert (pairs.left.tolist(), pairs.right.tolist()) == (quiet.left.tolist(), quiet.right.tolist())


@pytest.mark.integration
def test_find_shows_a_verification_bar_with_progress_only(album: Path, capsys, monkeypatch) -> None:
    from imagetwins import progress

    monkeypatch.setattr(progress, "watched", lambda: True)  # (the bar on a terminal; in a log: plain lines)
    found = find_duplicate_groups(album, "copies", recursive=True, workers=2, progress=True)
    shown = capsys.readouterr().err
    assert "verifying" in shown and "encoding" in shown
    assert _groups(found) == EXPECTED
    find_duplicate_groups(album, "copies", recursive=True, workers=2, progress=False)
    assert "verifying" not in capsys.readouterr().err


@pytest.mark.integration
def test_records_round_trip(album: Path) -> None:
    enc = get_encoder("copies").encode_files([album / "g0" / "original.jpg"], workers=1)
    rec = enc.encodings[0]
    back = CopyRecord.from_bytes(rec.to_bytes())
    assert np.array_equal(back.hash, rec.hash) and np.allclose(back.vector, rec.vector)
    with pytest.raises(ValueError):
        CopyRecord.from_bytes(b"\x00" * 40)


@pytest.mark.integration
def test_copies_through_the_index_without_decoding_again(album: Path, tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "copies.db"
    with Index(db, methods=["copies"]) as idx:
        assert idx.update(album, recursive=True).added == 9
    # a re-run verifies from the stored features: no file is decoded again
    import imagetwins.encoding as encoding

    def no_decode(*args, **kwargs):
        pytest.fail("decoded again", pytrace=False)

    monkeypatch.setattr(encoding, "decode_image", no_decode)
    with Index(db, methods=["copies"]) as idx:
        assert idx.update(album, recursive=True).added == 0
        assert _groups(idx.find_duplicates("copies")) == EXPECTED


@pytest.mark.cli
def test_cli_find_against_and_explain(album: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["find", str(album), "-r", "-m", "copies", "--no-cache", "--json", "-", "--pairs"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert len(data["groups"]) == 3 and all(0.5 <= p["confidence"] <= 1 for p in data["pairs"])
    assert all(p["verdict"] == "copy" for p in data["pairs"])  # the pictures were checked: each pair is a copy
    # the text output names the score for what it is: a verification confidence, not a cosine
    text = runner.invoke(main, ["find", str(album), "-r", "-m", "copies", "--no-cache"]).output
    headers = [line for line in text.splitlines() if line.startswith("group ")]
    assert len(headers) == 3 and all("confidence >= " in h and "cosine" not in h for h in headers), text
    # --against: the originals are the reference, the copies are checked against them
    ref = tmp_path / "ref"
    new = tmp_path / "new"
    ref.mkdir()
    new.mkdir()
    for k in range(3):
        (ref / f"o{k}.jpg").write_bytes((album / f"g{k}" / "original.jpg").read_bytes())
    for p in album.glob("g*/*.jpg"):
        if p.name != "original.jpg":
            (new / p.name).write_bytes(p.read_bytes())
    (new / "unrelated.jpg").write_bytes((album / "g3" / "original.jpg").read_bytes())
    out = runner.invoke(main, ["find", str(new), "--against", str(ref), "-m", "copies", "--no-cache", "--json", "-"])
    assert out.exit_code == 0, out.output
    matched = {Path(m["query"]).name for m in json.loads(out.output)["matches"]}
    assert matched == {"crop_half.jpg", "tilt.jpg", "hflip+crop.jpg"}
    png = tmp_path / "why.png"
    out = runner.invoke(main, ["explain", str(album / "g2" / "original.jpg"), str(album / "g2" / "hflip+crop.jpg"),
                               "-m", "dihedral", "-m", "copies", "-p", str(png)])
    assert out.exit_code == 0, out.output
    assert "copies" in out.output and "DUPLICATE" in out.output and "mirrored" in out.output
    assert out.output.splitlines()[:2] == [str(album / "g2" / "original.jpg"), str(album / "g2" / "hflip+crop.jpg")]
    assert Image.open(png).size[0] > 400
    out = runner.invoke(main, ["explain", str(album / "g0" / "original.jpg"), str(tmp_path / "missing.jpg")])
    assert out.exit_code == 2 and "missing.jpg" in out.output


@pytest.mark.cli
def test_explain_reports_an_unreadable_file_in_one_line(album: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff not really")
    out = CliRunner().invoke(main, ["explain", str(album / "g0" / "original.jpg"), str(bad), "-m", "phash"])
    assert out.exit_code == 1 and "bad.jpg" in out.output and "Traceback" not in out.output


@pytest.mark.integration
def test_tune_sweeps_the_confidence(album: Path) -> None:
    swept = sweep(album, album, methods=["copies"], target_precision=0.99)
    assert {p.method for p in swept.points} == {"copies"}
    # the folders are the truth, so object/'s two views count as duplicates there: at the default
    # confidence copies finds the three copied pairs and refuses the look-alikes
    default = get_encoder("copies").default_threshold
    at_default = next(p for p in swept.points if abs(p.threshold - default) < 1e-9)
    assert (at_default.correct, at_default.retrieved, swept.positives) == (3, 3, 4)


@pytest.mark.integration
def test_imagededup_style_class(album: Path) -> None:
    found = Copies(verbose=False).find_duplicates(image_dir=album, recursive=True, scores=True)
    assert [n for n, _ in found["g0/original.jpg"]] == ["g0/crop_half.jpg"]
    assert found["object/ukbench00400.jpg"] == [] and found["g3/original.jpg"] == []
    assert all(0.5 <= s <= 1.0 for matches in found.values() for _, s in matches)
    # encodings can be made once and reused; the threshold is the confidence
    c = Copies(verbose=False)
    enc = c.encode_images(album, recursive=True)
    strict = c.find_duplicates(encoding_map=enc, min_similarity_threshold=1.0)
    assert sum(len(v) for v in strict.values()) <= sum(len(v) for v in found.values())
    with pytest.raises(TypeError):
        c.find_duplicates(encoding_map=enc, min_similarity_threshold=1)
    # imagededup's rule: the first name of each set (in the map's order) stays
    assert sorted(c.find_duplicates_to_remove(encoding_map=enc)) == ["g0/original.jpg", "g1/tilt.jpg",
                                                                      "g2/original.jpg"]


@pytest.mark.cli
def test_without_opencv_the_method_is_one_clear_line(album: Path, monkeypatch) -> None:
    import sys

    import imagetwins.verify as verify

    monkeypatch.setattr(verify, "cv2", None)  # not imported yet, and not importable
    monkeypatch.setitem(sys.modules, "cv2", None)
    out = CliRunner().invoke(main, ["find", str(album), "-m", "copies", "--no-cache"])
    assert out.exit_code == 2 and "pip install opencv-python-headless" in out.output and "Traceback" not in out.output
    with pytest.raises(ImportError, match="opencv-python-headless"):
        get_encoder("copies").encode_files([album / "g0" / "original.jpg"], workers=1)
    # explaining a hash needs no OpenCV (it failed: explain always ran the verification); copies says why not
    pair = [str(album / "g0" / "original.jpg"), str(album / "g1" / "tilt.jpg")]
    out = CliRunner().invoke(main, ["explain", *pair, "-m", "phash"])
    assert out.exit_code == 0 and "phash" in out.output and "verification" not in out.output, out.output
    out = CliRunner().invoke(main, ["explain", *pair, "-m", "copies"])
    assert out.exit_code == 2 and "opencv-python-headless" in out.output and "Traceback" not in out.output


@pytest.mark.integration
def test_explain_asks_each_method_and_loads_no_verification_for_a_hash(album: Path) -> None:
    """``explain`` with a hash gives the hash's score alone: neither OpenCV nor the CNN is loaded (it always ran
    the copies encoder: 0.68 CPU s and 151 MB for ``explain -m phash`` on two photos, now 0.45 s and 54 MB)."""
    import subprocess
    import sys

    a, b = album / "g2" / "original.jpg", album / "g2" / "hflip+crop.jpg"
    code = ("import sys; from imagetwins.explain import explain; e = explain(sys.argv[1], sys.argv[2], ['phash']); "
            "print(e.verification is None, e.verified_by, [s.method for s in e.scores], "
            "[m for m in ('cv2', 'onnxruntime') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code, str(a), str(b)], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"), "PATH": "/usr/bin:/bin"})
    assert out.stdout.split("\n")[0] == "True None ['phash'] []", out.stdout + out.stderr
    from imagetwins.explain import explain

    found = explain(a, b, ["dihedral", "copies"])
    assert found.verified_by == "copies" and len(found.rows) == 2
    assert found.verification.confidence >= 0.9 and found.verified_score == found.scores[1].score


@pytest.mark.unit
def test_fewer_than_two_images_have_no_pairs_in_every_door(tmp_path: Path) -> None:
    """``copies.scored_candidates`` / ``copy_pairs`` (what the benchmarks call) unpacked the candidate search's
    missing neighbour lists for fewer than two rows (a TypeError traceback from ``benchmarks/quality.py`` run where
    it found no photos); the search answers no pair, as ``find`` of one image does."""
    from conftest import synthetic_photo

    from imagetwins import copies

    synthetic_photo(seed=3).save(tmp_path / "one.jpg")
    rows = get_encoder("copies").encode_files([tmp_path / "one.jpg"]).encodings
    for records in ([], rows, list(rows)):
        found = copies.scored_candidates(records, with_marks=True)
        assert [(len(a), a.dtype) for a in found] == [(0, np.int64), (0, np.int64), (0, np.int32), (0, np.float32),
                                                      (0, np.uint8)]
        assert len(copies.copy_pairs(records)) == 0
    assert find_duplicate_groups(tmp_path, "copies").groups == []
    assert Copies(verbose=False).find_duplicates(tmp_path) == {"one.jpg": []}
