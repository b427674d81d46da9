"""Where the stored features leave the detail rule undecided, the check looks at the two files
(``verify.look_at_files``): holidays-half 126400/126402, a zoomed re-shot of a dark sunset whose spectrum past the
other file's resolution reads as a blown-up crop's (-0.63, the cap -0.55), was the last re-shot ``copies`` called a
copy (0.971, issue 24). In the files' own pixels its inner picture holds detail no filter of the other file and JPEG
save makes; a crop of a real photo blown up (then sharpened, or re-saved at JPEG 20) holds none."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from imagetwins import copies, verify
from imagetwins.encoders import get_encoder
from imagetwins.explain import explain
from imagetwins.pairscores import MemoryPairScores, PairScores
from imagetwins.scores import Verdict, from_stored

pytestmark = pytest.mark.integration

#: holidays-half group 1264 (a tuning group: even position): the second shot zoomed in x1.83
OUTER, INNER = "126400.jpg", "126402.jpg"


def _store(n: int = 2) -> PairScores:
    version = get_encoder(copies.COPIES_METHOD).pair_score_version
    return PairScores(MemoryPairScores(), "copies", version, [f"{k:064x}" for k in range(n)])


def _encoded(paths):
    enc = get_encoder("copies").encode_files(paths, workers=2, warn=False)
    assert not enc.failures
    return enc


@pytest.fixture(scope="module")
def reshot(datasets: Path, tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("sunset")
    for name in (OUTER, INNER):
        shutil.copyfile(datasets / "holidays-half" / "images" / name, folder / name)
    return [folder / OUTER, folder / INNER]


def test_the_reshot_the_spectrum_left_undecided_is_looked_at_and_is_no_copy(reshot) -> None:
    enc = _encoded(reshot)
    a, b = enc.encodings[0], enc.encodings[1]
    v = copies.verify_records(a, b)
    # the stored features alone: a blown-up crop's spectrum, called a copy
    assert verify.DETAIL_LOOK <= v.inner_detail < verify.DETAIL_CAP and v.wants_files
    assert v.confidence >= verify.DEFAULT_CONFIDENCE
    looked = verify.look_at_files(v, a.features, b.features, reshot[0], reshot[1])
    back = verify.look_at_files(copies.verify_records(b, a), b.features, a.features, reshot[1], reshot[0])
    assert looked.unexplained == back.unexplained >= verify.UNEXPLAINED_CAP  # symmetric, exactly
    assert looked.confidence == back.confidence == verify.NOT_ONE_CAPTURE
    assert looked.not_one_capture == "detail" and looked.verdict() is back.verdict() is Verdict.RESHOT
    assert not looked.wants_files
    # the search names the files: no copy; without them (no paths) the features' answer, and nothing kept
    with copies.naming(enc.paths):
        assert len(copies.copy_pairs(enc.encodings, workers=1)) == 0
    store = _store()
    assert len(copies.copy_pairs(enc.encodings, workers=1, pair_scores=store)) == 1
    assert np.isnan(store.lookup(np.array([0]), np.array([1]))).all()
    with copies.naming(enc.paths):
        copies.copy_pairs(enc.encodings, workers=1, pair_scores=store)
    conf, marks = from_stored(store.lookup(np.array([0]), np.array([1])))
    assert conf[0] == verify.NOT_ONE_CAPTURE and Verdict.of_bits(marks[0]) is Verdict.RESHOT  # (kept as a re-shot)


def test_worker_processes_leave_the_look_to_the_caller(reshot, monkeypatch) -> None:
    """A long verification runs in worker processes, which know no files: they answer the pair as pending
    (copies.LOOK_PENDING) and the caller looks at it."""
    monkeypatch.setattr(copies, "PROCESS_PAIRS", 1)
    enc = _encoded(reshot)
    store = _store()
    with copies.naming(enc.paths):
        got = copies.check_pairs(enc.encodings, np.array([0]), np.array([1]), workers=2, pair_scores=store)
    assert float(got.score[0]) == verify.NOT_ONE_CAPTURE
    conf, marks = from_stored(store.lookup(np.array([0]), np.array([1])))
    assert conf[0] == verify.NOT_ONE_CAPTURE and Verdict.of_bits(marks[0]) is Verdict.RESHOT


def test_a_pair_left_waiting_is_scored_by_its_very_check_where_the_files_are_not_known(reshot) -> None:
    """A pair a confidence-only check leaves to its files answers its kept score + LOOK_PENDING; where no look
    decides it (no paths named), its score for the run is the check's own kept score, not the answer less
    LOOK_PENDING (off in the last bits: float64 keeps fewer of them over 20), and nothing is kept."""
    enc = _encoded(reshot)
    v = copies.verify_records(enc.encodings[0], enc.encodings[1], confidence_only=True)
    assert v.wants_files and (copies.answer_of(v) - copies.LOOK_PENDING) != v.kept  # (this pair: 2e-15 off)
    store = _store()
    got = copies._pending_looked_at(enc.encodings, enc.encodings, np.array([0]), np.array([1]),
                                    np.array([copies.answer_of(v)]), store)
    assert got[0] == v.kept
    assert np.isnan(store.lookup(np.array([0]), np.array([1]))).all()
    # a search collecting its checks leaves such a pair undecided too: the check's score, nothing kept
    checks: dict = {}
    left, right, _, conf = copies.scored_candidates(enc.encodings, workers=1, pair_scores=store, checks=checks)
    assert (left.tolist(), right.tolist()) == ([0], [1]) and checks[(0, 1)].wants_files
    assert conf[0] == np.float32(checks[(0, 1)].kept)
    assert np.isnan(store.lookup(np.array([0]), np.array([1]))).all()


def test_explain_and_find_say_re_shot(reshot) -> None:
    import imagetwins

    found = explain(reshot[0], reshot[1], ["copies"])
    assert found.verification.verdict() is Verdict.RESHOT
    assert found.scores[0].score == verify.NOT_ONE_CAPTURE and not found.scores[0].duplicate
    assert imagetwins.find(reshot[0].parent, cache=False).groups == []


def _blown_up(photo: Path, folder: Path, share: float, sharpen: bool, low_quality: int | None) -> Path:
    img = Image.open(photo).convert("RGB")
    w, h = img.size
    cw, ch = int(w * share), int(h * share)
    up = img.crop(((w - cw) // 3, (h - ch) // 2, (w - cw) // 3 + cw, (h - ch) // 2 + ch)).resize((w, h),
                                                                                                  Image.BICUBIC)
    if sharpen:
        up = up.filter(ImageFilter.UnsharpMask(radius=2, percent=150, threshold=2))
    if low_quality is not None:  # re-saved at a low quality after the enlargement, then saved again at 90
        up.save(folder / "low.jpg", quality=low_quality)
        up = Image.open(folder / "low.jpg").convert("RGB")
    out = folder / f"{photo.stem}-{share}-{sharpen}-{low_quality}.jpg"
    up.save(out, quality=90)
    return out


@pytest.mark.parametrize(("source", "share", "sharpen", "low_quality"), [
    ("photos-public/images/bsds_101027.jpg", 0.75, True, None),
    ("imagededup-testdata/base_images/ukbench00120.jpg", 0.7, False, 20),
    ("holidays-half/images/103000.jpg", 0.78, True, 25),
])
def test_a_blown_up_crop_of_a_real_photo_is_explained_by_a_filter_and_a_save(
        datasets: Path, tmp_path: Path, source: str, share: float, sharpen: bool, low_quality: int | None) -> None:
    photo = tmp_path / "original.jpg"
    Image.open(datasets / source).convert("RGB").save(photo, quality=95)
    crop = _blown_up(photo, tmp_path, share, sharpen, low_quality)
    enc = _encoded([photo, crop])
    a, b = enc.encodings[0], enc.encodings[1]
    v = copies.verify_records(a, b)
    assert v.inner == 1 and v.inner_scale >= verify.DETAIL_MIN_SCALE
    u = verify.unexplained_detail(v, a.features, b.features, photo, crop)
    assert u is not None and u < verify.UNEXPLAINED_CAP
    with copies.naming(enc.paths):
        assert float(copies.check_pairs(enc.encodings, np.array([0]), np.array([1]), workers=1).score[0]) \
            == pytest.approx(v.confidence, abs=1e-6)


def test_a_plug_in_check_pair_without_paths_takes_and_drops_them(reshot) -> None:
    """``explain`` hands ``check_pair`` the rows' paths; a plug-in written before that takes them and drops them."""
    from imagetwins.encoders.copies import CopiesEncoder

    class OldCopies(CopiesEncoder):
        def check_pair(self, rows):  # (the signature before paths)
            return copies.verify_records(rows[0], rows[1], keep_matches=True)

    enc = _encoded(reshot)
    v = OldCopies().check_pair(enc.encodings, paths=enc.paths)
    assert v.wants_files and v.confidence >= verify.DEFAULT_CONFIDENCE  # (its own check: the features' answer)
    assert CopiesEncoder().check_pair(enc.encodings, paths=enc.paths).verdict() is Verdict.RESHOT


def test_a_failed_look_is_not_kept_and_the_next_run_looks_again(reshot, monkeypatch) -> None:
    """A look that fails (a file unreadable for a while, changed since its scan, a FIFO, a remote Dask path) leaves
    the pair's features' score for this run alone: kept, it made the re-shot a copy for good."""
    enc = _encoded(reshot)
    store = _store()

    def unreadable(*args, **kwargs):
        raise OSError("Permission denied")

    with monkeypatch.context() as m:
        m.setattr(verify, "open_image", unreadable)
        v = copies.verify_records(enc.encodings[0], enc.encodings[1])
        assert v.wants_files and verify.look_at_files(v, enc.encodings[0].features, enc.encodings[1].features,
                                                      *enc.paths) is None  # (failed: undecided, not v)
        with copies.naming(enc.paths):  # (this run: the features' answer, a copy)
            assert len(copies.copy_pairs(enc.encodings, workers=1, pair_scores=store)) == 1
    assert np.isnan(store.lookup(np.array([0]), np.array([1]))).all()
    with copies.naming(enc.paths):  # the files readable again: looked at, a re-shot, and kept so
        assert len(copies.copy_pairs(enc.encodings, workers=1, pair_scores=store)) == 0
    conf, marks = from_stored(store.lookup(np.array([0]), np.array([1])))
    assert conf[0] == verify.NOT_ONE_CAPTURE and Verdict.of_bits(marks[0]) is Verdict.RESHOT


# -- the public routes: a score made without the look is never kept as final (issue 24's last step) ------------


def _no_copy_pairs(found) -> list:
    return [(int(a), int(b)) for a, b in zip(found.left, found.right)]


def test_encoder_pairs_without_paths_says_so_and_keeps_nothing_a_later_run_with_paths_reads(reshot, tmp_path) -> None:
    """A library caller of ``Encoder.pairs`` with an index's pair scores and no paths gets the features' answer (a
    copy) and one warning saying so; the index's kept candidate search did keep that score, and every later run
    read it from there and never looked (``Index.find_duplicates``, ``find --db``: the re-shot a copy for good). Now
    it is kept nowhere: ``Index.find_duplicates`` looks and says re-shot, and keeps that (``find --db``:
    test_files_look_cli.py)."""
    from imagetwins.index import Index
    from imagetwins.pairscores import for_method

    db = tmp_path / "i.db"
    encoder = get_encoder("copies")
    with Index(db, methods=["copies"]) as idx:
        idx.update(reshot[0].parent, methods=["copies"])
        paths, rows = idx.load("copies")
        store = for_method(encoder, idx, [str(d) for d in idx.digests(paths)])
        with pytest.warns(UserWarning, match=r"1 pair whose stored features cannot tell a copy from a re-shot was "
                                             r"scored on the features alone and kept nowhere \(no paths given"):
            found = encoder.pairs(rows, encoder.default_threshold, workers=1, pair_scores=store)
        assert _no_copy_pairs(found) == [(0, 1)]  # (this call: the features' answer)
        assert np.isnan(store.lookup(np.array([0]), np.array([1]))).all()
        assert idx.find_duplicates("copies").groups == []  # looked at in the files: a re-shot
    with Index(db) as idx:  # and the re-shot is what the index keeps now
        paths, rows = idx.load("copies")
        store = for_method(encoder, idx, [str(d) for d in idx.digests(paths)])
        conf, marks = from_stored(store.lookup(np.array([0]), np.array([1])))
        assert conf[0] == verify.NOT_ONE_CAPTURE and Verdict.of_bits(marks[0]) is Verdict.RESHOT
        assert len(encoder.pairs(rows, encoder.default_threshold, workers=1, pair_scores=store)) == 0


def test_the_imagededup_style_class_looks_at_the_files_of_its_folder(reshot, recwarn) -> None:
    """``Copies().find_duplicates(image_dir=...)`` knows the files and looks (it called the re-shot a copy); from an
    ``encoding_map`` alone it cannot, and says so."""
    from imagetwins.methods import Copies

    finder = Copies(verbose=False)
    assert finder.find_duplicates(image_dir=reshot[0].parent) == {OUTER: [], INNER: []}
    assert not [w for w in recwarn if "no paths given" in str(w.message)]
    encodings = finder.encode_images(image_dir=reshot[0].parent)
    with pytest.warns(UserWarning, match="no paths given"):
        assert finder.find_duplicates(encoding_map=encodings) == {OUTER: [INNER], INNER: [OUTER]}


def test_a_kept_candidate_search_keeps_no_score_a_failed_look_left(reshot, monkeypatch) -> None:
    """A store that keeps the candidate search (an index, a folder's cache) kept the score of a pair whose look
    failed with the search: the next run read it there and never looked again."""
    enc = _encoded(reshot)
    version = get_encoder(copies.COPIES_METHOD).pair_score_version
    memory = MemoryPairScores()

    def store() -> PairScores:
        return PairScores(memory, "copies", version, [str(d) for d in enc.digests])

    with monkeypatch.context() as m:
        m.setattr(verify, "open_image", lambda *a, **k: (_ for _ in ()).throw(OSError("Permission denied")))
        with copies.naming(enc.paths):
            assert len(copies.copy_pairs(enc.encodings, workers=1, pair_scores=store())) == 1
    assert memory.candidate_states  # (the search was kept)
    with copies.naming(enc.paths):
        assert len(copies.copy_pairs(enc.encodings, workers=1, pair_scores=store())) == 0


def test_a_colour_shifted_enlarged_crop_is_not_left_to_the_grey_look(datasets: Path, tmp_path: Path) -> None:
    """The look compares grey levels: a hue turn bends them pixel by pixel, which no filter of the other file's grey
    makes. holidays-half 107000 (held out) cropped to 67 % and enlarged, its hue turned 153 degrees, saturation
    x1.92, gamma 1.33, then saved at JPEG 20 and again at 80 (a draw of ``benchmarks/probe_look_margin.py``): its
    spectrum left it to the files, where it measured 0.77 and was capped, a lost copy. Its colours moved as an edit
    moves them: it is not left to the files, and stays a copy."""
    from imagetwins.io import open_image

    img = open_image(datasets / "holidays-half" / "images" / "107000.jpg")
    assert img.size == (400, 300)
    original = tmp_path / "original.jpg"
    img.save(original, quality=95)
    up = img.crop((112, 93, 112 + 268, 93 + 201)).resize((400, 300), Image.Resampling.BILINEAR)
    hsv = np.asarray(up.convert("HSV"), dtype=np.float32)
    hsv[..., 0] = (hsv[..., 0] - 152.836 / 360 * 256) % 256
    hsv[..., 1] = np.clip(hsv[..., 1] * 1.921, 0, 255)
    shifted = 255 * (np.asarray(Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB"), np.float32) / 255) ** 1.33
    Image.fromarray(np.clip(shifted, 0, 255).astype(np.uint8)).save(tmp_path / "low.jpg", quality=20)
    copy = tmp_path / "copy.jpg"
    Image.open(tmp_path / "low.jpg").convert("RGB").save(copy, quality=80)
    enc = _encoded([original, copy])
    a, b = enc.encodings[0], enc.encodings[1]
    v = copies.verify_records(a, b)
    assert verify.DETAIL_LOOK <= v.inner_detail < verify.DETAIL_CAP and v.confidence >= verify.DEFAULT_CONFIDENCE
    with copies.naming(enc.paths):  # (the search names the files)
        got = copies.check_pairs(enc.encodings, np.array([0]), np.array([1]), workers=1)
    assert float(got.score[0]) == pytest.approx(v.confidence, abs=1e-6)  # (was capped at 0.5)
    assert v.colour_moved >= verify.COLOUR_CHANGE and not v.wants_files
    # (what the grey look measures of it: over the cap)
    assert verify.unexplained_detail(v, a.features, b.features, original, copy) >= verify.UNEXPLAINED_CAP


def test_a_file_turned_into_a_fifo_after_its_scan_is_no_look_and_no_hang(reshot, tmp_path: Path) -> None:
    """A file replaced by a FIFO between the scan and the look (nothing writes to it) is refused at once: the look
    fails (None), the run keeps the features' answer and keeps nothing, and a later run with the file back looks."""
    import os
    import time

    folder = tmp_path / "fifo"
    folder.mkdir()
    paths = [folder / OUTER, folder / INNER]
    for src, dst in zip(reshot, paths):
        shutil.copyfile(src, dst)
    enc = _encoded(paths)
    paths[1].unlink()
    os.mkfifo(paths[1])
    v = copies.verify_records(enc.encodings[0], enc.encodings[1])
    started = time.monotonic()
    assert verify.look_at_files(v, enc.encodings[0].features, enc.encodings[1].features, *enc.paths) is None
    store = _store()
    with copies.naming(enc.paths):
        assert len(copies.copy_pairs(enc.encodings, workers=1, pair_scores=store)) == 1  # (the features' answer)
    assert time.monotonic() - started < 30  # (never waited on the FIFO)
    assert np.isnan(store.lookup(np.array([0]), np.array([1]))).all()
    paths[1].unlink()
    shutil.copyfile(reshot[1], paths[1])
    with copies.naming(enc.paths):
        assert len(copies.copy_pairs(enc.encodings, workers=1, pair_scores=store)) == 0


def test_a_hash_sure_pair_checked_in_the_band_is_looked_at_too(reshot, monkeypatch) -> None:
    """Hash-sure pairs farther than HASH_UNCHECKED bits are checked (``copies._check_sure_band``); that check never
    looked at the files: a pair the detail rule leaves to them was kept at the hash's 1 (the check did not overrule
    it), a copy for good. The re-shot's hash distance put in that band: looked at where the files are known (a
    re-shot, kept so), its features' answer for the run alone where they are not (kept nowhere)."""
    enc = _encoded(reshot)
    dist = int(copies.scored_candidates(enc.encodings, workers=1, hash_sure=256)[2][0])
    monkeypatch.setattr(copies, "HASH_UNCHECKED", dist - 1)  # (the band: dist - 1 < dist <= hash_sure)
    store = _store()
    assert len(copies.copy_pairs(enc.encodings, workers=1, pair_scores=store, hash_sure=dist)) == 1
    assert np.isnan(store.lookup(np.array([0]), np.array([1]))).all()
    checks: dict = {}
    with copies.naming(enc.paths):
        left, right, _, conf = copies.scored_candidates(enc.encodings, workers=1, pair_scores=store,
                                                        checks=checks, hash_sure=dist)
    assert (left.tolist(), right.tolist()) == ([0], [1]) and conf[0] == verify.NOT_ONE_CAPTURE
    assert checks[(0, 1)].not_one_capture == "detail"
    conf, marks = from_stored(store.lookup(np.array([0]), np.array([1])))
    assert conf[0] == verify.NOT_ONE_CAPTURE and Verdict.of_bits(marks[0]) is Verdict.RESHOT
    with copies.naming(enc.paths):
        assert len(copies.copy_pairs(enc.encodings, workers=1, pair_scores=store, hash_sure=dist)) == 0


def test_the_keep_stage_reads_the_reshot_as_find_does(reshot) -> None:
    """The keep stage's checks of a pair (``Encoder.shows_more``: the larger view shows scene the other lacks, which
    keeps a file beside a reference-folder keeper and ranks padded copies; ``framed_pictures``) read the features'
    verdict alone: the zoomed re-shot ``find`` reports as a re-shot (looked at in its files) was read as a copy whose
    wider view shows more. They read a pair as a copy only where ``find``'s check does now."""
    enc = _encoded(reshot)
    rows, paths = enc.encodings, [str(p) for p in reshot]
    encoder = get_encoder("copies")
    threshold = copies.DEFAULT_CONFIDENCE
    with copies.naming(paths):
        found, _ = copies.looked_at(rows, rows, 0, 1)
    assert found.verdict(threshold) is Verdict.RESHOT  # what find reports of the pair
    assert copies.shows_more(rows[0], rows[1], threshold)  # the features alone: a copy, the wider view shows more
    assert not encoder.shows_more(rows, 0, 1, threshold, paths=paths)
    assert not encoder.shows_more(rows, 1, 0, threshold, paths=paths)
    assert encoder.framed_pictures(rows, np.array([0, 1]), np.array([1, 0]), threshold, paths=paths).tolist() == [0, 0]


def test_a_framed_answer_is_not_kept_where_the_look_failed(reshot, monkeypatch) -> None:
    """Where the pair wants its files and the look fails (unreadable, changed since its scan), the keep stage's framed
    check answers nothing (NaN) rather than an answer resting on the features alone, which its store kept for every
    later run (as look2 found for pair scores); ``keep.Framing`` keeps finite answers only."""
    import math

    from imagetwins.keep import Framing

    enc = _encoded(reshot)
    rows, paths = enc.encodings, [str(p) for p in reshot]
    monkeypatch.setattr(copies, "look_at_files", lambda *a, **k: None)
    got = get_encoder("copies").framed_pictures(rows, np.array([0]), np.array([1]), copies.DEFAULT_CONFIDENCE,
                                                paths=paths)
    assert math.isnan(got[0])

    class Store:
        keys = {"a": b"a" * 16, "b": b"b" * 16}
        kept: list = []

        def _lookup(self, method, version, keys):
            return {}

        def _keep(self, method, version, items):
            self.kept.extend(items)

    class Info:
        def __init__(self, path):
            self.path = path

    store = Store()
    framing = Framing(lambda f: True, lambda big, small: float(got[0]), version="v").keep_in(store)
    assert math.isnan(framing.picture(Info("a"), Info("b")))
    assert store.kept == []


def test_an_opencv_failure_in_the_look_is_said_as_what_it_is(reshot, monkeypatch, recwarn) -> None:
    """OpenCV failing inside the look at the files (its own error: out of memory, an assertion on a file's pixels) was
    not a failed look: ``find`` ended in a traceback, and the keep stage warned "damaged image features" and said to
    clear the cache, which holds nothing wrong. It is a failed look now (undecided: the features' answer serves this
    run, nothing kept), said in one line naming both files and OpenCV's reason."""
    import math

    cv2 = verify._require_cv2()
    enc = _encoded(reshot)
    rows, paths = enc.encodings, [str(p) for p in reshot]
    v = copies.verify_records(rows[0], rows[1])
    assert v.wants_files

    def out_of_memory(*args, **kwargs):
        raise cv2.error("OpenCV(5.1.0) /io/opencv/modules/core/src/alloc.cpp:73: error: (-4:Insufficient memory) "
                        "Failed to allocate 4000000000 bytes in function 'OutOfMemoryError'\n")

    monkeypatch.setattr(cv2, "warpPerspective", out_of_memory)
    recwarn.clear()
    assert verify.look_at_files(v, rows[0].features, rows[1].features, *paths) is None
    store = _store()
    with copies.naming(paths):  # (the search: the features' answer this run, kept nowhere)
        assert len(copies.copy_pairs(rows, workers=1, pair_scores=store)) == 1
    assert np.isnan(store.lookup(np.array([0]), np.array([1]))).all()
    got = get_encoder("copies").framed_pictures(rows, np.array([0]), np.array([1]), copies.DEFAULT_CONFIDENCE,
                                                paths=paths)
    assert math.isnan(got[0])  # (no answer this run, as any failed look)
    said = [str(w.message) for w in recwarn]
    assert not [w for w in said if "damaged" in w], said
    assert said and all(w.count("\n") == 0 and paths[0] in w and paths[1] in w and
                        "OpenCV: (-4:Insufficient memory) Failed to allocate 4000000000 bytes" in w for w in said), said
    assert len(set(said)) == 1, said  # (one line for the pair, however often it is looked at)
