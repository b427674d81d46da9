"""Verification confidences kept per pair of contents: a re-run verifies only pairs it has not seen."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from index_files import drop_pair_scores_table, set_candidate_state, set_pair_score, tables
from PIL import Image

import imagetwins.copies as copies_module
from imagetwins import edits, verify
from imagetwins.encoders import get_encoder
from imagetwins.finder import find_against, find_duplicate_groups
from imagetwins.index import Index, default_cache_path, open_folder_cache
from imagetwins.pairscores import MemoryPairScores, PairScores, digest_key
from imagetwins.scores import stored_valid

pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def album(tmp_path_factory, datasets: Path) -> Path:
    """Two photos with copies the hash is not sure of (half crop, tilt), one photo alone, and two views of one
    ukbench object (look-alikes): every candidate pair among them needs a verification."""
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[40:43]
    folder = tmp_path_factory.mktemp("pair-scores-album")
    for k, (p, edit) in enumerate(zip(photos, ["crop_half", "tilt", None])):
        img = Image.open(p).convert("RGB")
        img.save(folder / f"o{k}.jpg", quality=92)
        if edit:
            edits.EDITS[edit](img, np.random.default_rng(k)).save(folder / f"o{k}_{edit}.jpg", quality=90)
    for name in ("ukbench00400.jpg", "ukbench00401.jpg"):
        shutil.copyfile(datasets / "ukbench-600" / "images" / name, folder / name)
    return folder


EXPECTED = {frozenset({"o0.jpg", "o0_crop_half.jpg"}), frozenset({"o1.jpg", "o1_tilt.jpg"})}


def _groups(result) -> set[frozenset[str]]:
    return {frozenset(Path(f).name for f in g.files) for g in result.groups}


class Calls:
    """The check of one pair as the copies pipeline calls it (``verify_records``), counted (or refused)."""

    def __init__(self, monkeypatch, refuse: bool = False) -> None:
        self.pairs: list = []
        real = copies_module.verify_records

        def counted(a, b, *args, **kwargs):
            if refuse:  # (pytest's failure, a BaseException: the verification's own handlers do not catch it)
                pytest.fail("verified again", pytrace=False)
            self.pairs.append((getattr(a, "features", a), getattr(b, "features", b)))
            return real(a, b, *args, **kwargs)

        monkeypatch.setattr(copies_module, "verify_records", counted)


def _find(folder: Path, workers: int = 2):
    with open_folder_cache(folder, ["copies"]) as cache:
        return find_duplicate_groups(folder, "copies", cache=cache, workers=workers)


def _rows(folder: Path) -> list[tuple]:
    with Index(default_cache_path(folder), methods=[], readonly=True) as idx:
        return idx.pair_scores()


@pytest.mark.integration
def test_a_rerun_reuses_every_verdict(album: Path, tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "photos"
    shutil.copytree(album, folder)
    with monkeypatch.context() as m:
        first = Calls(m)
        assert _groups(_find(folder)) == EXPECTED
    assert first.pairs, "nothing was verified: the album no longer tests the verdict cache"
    rows = _rows(folder)
    assert len(rows) == len(first.pairs)
    assert all(r[0] == "copies" and r[3] == get_encoder("copies").pair_score_version for r in rows)
    assert stored_valid([r[4] for r in rows]).all()  # a confidence with its kept verdict (scores.stored_score)
    Calls(monkeypatch, refuse=True)
    result = _find(folder)
    assert _groups(result) == EXPECTED
    # the same files under other names: the verdicts follow the contents
    (folder / "o0.jpg").rename(folder / "renamed.jpg")
    (folder / "renamed.jpg").rename(folder / "o0.jpg")
    assert _groups(_find(folder)) == EXPECTED


@pytest.mark.integration
def test_a_changed_file_is_verified_again_and_only_its_pairs(album: Path, tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "photos"
    shutil.copytree(album, folder)
    with monkeypatch.context() as m:
        first = Calls(m)
        _find(folder)
    # the crop saved again at another quality: new bytes, new content digest, still a copy
    changed = folder / "o0_crop_half.jpg"
    before = verify.features_for_files([changed], workers=1)[0][str(changed)]

    def changed_in(a, b) -> bool:
        return np.array_equal(before.thumbnail, a.thumbnail) or np.array_equal(before.thumbnail, b.thumbnail)

    Image.open(changed).save(changed, quality=80)
    fresh = verify.features_for_files([changed], workers=1)[0][str(changed)]
    again = Calls(monkeypatch)
    assert _groups(_find(folder)) == EXPECTED
    assert again.pairs and len(again.pairs) < len(first.pairs)
    assert all(np.array_equal(fresh.thumbnail, a.thumbnail) or np.array_equal(fresh.thumbnail, b.thumbnail)
               for a, b in again.pairs)
    # the old content's verdicts are gone, the new ones kept: every row names two files as they are now
    with Index(default_cache_path(folder), methods=[], readonly=True) as idx:
        current = set(idx.digests(idx.load("copies")[0]))
    rows = _rows(folder)
    assert all(r[1] in current and r[2] in current for r in rows)
    assert len(rows) == len(first.pairs) - sum(1 for a, b in first.pairs if changed_in(a, b)) + len(again.pairs)


@pytest.mark.integration
def test_a_new_verdict_version_verifies_again(album: Path, tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "photos"
    shutil.copytree(album, folder)
    with monkeypatch.context() as m:
        first = Calls(m)
        _find(folder)
    old = verify.verdict_version()
    monkeypatch.setattr(verify, "VERDICT_VERSION", verify.VERDICT_VERSION + 1)
    assert verify.verdict_version() != old
    again = Calls(monkeypatch)
    assert _groups(_find(folder)) == EXPECTED
    assert len(again.pairs) == len(first.pairs)
    # the old version's rows are dropped
    assert {r[3] for r in _rows(folder)} == {get_encoder("copies").pair_score_version}
    # so does a new calibration, without anyone remembering to bump the version
    monkeypatch.setattr(verify, "CALIBRATION", tuple(verify.CALIBRATION[:-1]) + (verify.CALIBRATION[-1] - 1.0,))
    again = Calls(monkeypatch)
    _find(folder)
    assert len(again.pairs) == len(first.pairs)


@pytest.mark.integration
def test_damaged_verdict_rows_are_verified_again_without_an_error(album: Path, tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "photos"
    shutil.copytree(album, folder)
    with monkeypatch.context() as m:
        first = Calls(m)
        _find(folder)
    assert len(first.pairs) >= 3
    cache = default_cache_path(folder)
    keys = [(a, b) for _, a, b, _, _ in _rows(folder)]
    set_pair_score(cache, "copies", *keys[0], "not a number")
    set_pair_score(cache, "copies", *keys[1], 7.5)  # not a confidence
    set_pair_score(cache, "copies", *keys[2], -1.5)  # (-0.5 is a kept 0.5 marked recoloured: scores.stored_score)
    # a row that names no file
    set_pair_score(cache, "copies", "00", "0102", 0.5, version=get_encoder("copies").pair_score_version)
    # the kept candidate search holds the confidences too (imagetwins.candidates): without it, the store is read
    set_candidate_state(cache, "copies", None)
    again = Calls(monkeypatch)
    assert _groups(_find(folder)) == EXPECTED
    assert len(again.pairs) == 3


@pytest.mark.integration
def test_against_a_folder_and_an_index_reuse_their_verdicts(album: Path, tmp_path: Path, monkeypatch) -> None:
    ref = tmp_path / "ref"
    new = tmp_path / "new"
    ref.mkdir()
    new.mkdir()
    for name in ("o0.jpg", "o1.jpg", "o2.jpg", "ukbench00400.jpg"):
        shutil.copyfile(album / name, ref / name)
    for name in ("o0_crop_half.jpg", "o1_tilt.jpg", "ukbench00401.jpg"):
        shutil.copyfile(album / name, new / name)
    want = {"o0_crop_half.jpg": ["o0.jpg"], "o1_tilt.jpg": ["o1.jpg"]}

    def found(result) -> dict[str, list[str]]:
        return {Path(q).name: [Path(r).name for r, _ in ms] for q, ms in result.matches.items()}

    with monkeypatch.context() as m:
        first = Calls(m)
        assert found(find_against(new, ref, "copies", workers=2)) == want
    assert first.pairs
    with monkeypatch.context() as m:
        Calls(m, refuse=True)
        assert found(find_against(new, ref, "copies", workers=2)) == want
    # an index: `index query` keeps what it verified; the same index opened read-only (--against x.db) uses it
    db = tmp_path / "ref.db"
    with Index(db, methods=["copies"]) as idx:
        idx.update(ref)
        with monkeypatch.context() as m:
            Calls(m)
            assert {(Path(q).name, Path(r).name) for q, r, _ in idx.query(new, "copies")} == {
                ("o0_crop_half.jpg", "o0.jpg"), ("o1_tilt.jpg", "o1.jpg")}
    Calls(monkeypatch, refuse=True)
    with Index(db, methods=["copies"]) as idx:
        assert len(idx.query(new, "copies")) == 2
    assert found(find_against(new, db, "copies", workers=2)) == want


@pytest.mark.integration
def test_an_index_made_before_verdicts_were_kept_still_opens(album: Path, tmp_path: Path, monkeypatch) -> None:
    """An index written by imagetwins before the pair_scores table: read-only use works (nothing is kept),
    the first writable open adds the table."""
    db = tmp_path / "old.db"
    with Index(db, methods=["copies"]) as idx:
        idx.update(album)
    drop_pair_scores_table(db)
    with Index(db, methods=[], readonly=True) as idx:
        assert _groups(idx.find_duplicates("copies")) == EXPECTED
        assert idx.pair_scores() == []
    assert "pair_scores" not in tables(db)
    with Index(db, methods=["copies"]) as idx:
        assert _groups(idx.find_duplicates("copies")) == EXPECTED
    Calls(monkeypatch, refuse=True)
    with Index(db, methods=["copies"]) as idx:
        assert _groups(idx.find_duplicates("copies")) == EXPECTED


@pytest.mark.unit
def test_pair_scores_in_memory_follow_contents_either_way_round() -> None:
    store = MemoryPairScores()
    scores = PairScores(store, "m", "v1", ["aa" * 32, "bb" * 32, ""])
    scores.remember(np.array([0, 0]), np.array([1, 2]), np.array([0.25, 0.5]))  # row 2 has no digest: not kept
    assert len(store.scores) == 1
    again = PairScores(store, "m", "v1", ["bb" * 32, "aa" * 32])
    got = again.lookup(np.array([1, 0]), np.array([0, 1]))
    assert got.tolist() == [0.25, 0.25]  # a score of the pair, whichever way round (the check is symmetric)
    assert np.isnan(PairScores(store, "m", "v2", ["aa" * 32, "bb" * 32]).lookup(np.array([0]), np.array([1]))[0])
    assert digest_key("zz") is None and digest_key("ab") is None and digest_key(bytes(16)) == bytes(16)


@pytest.mark.integration
def test_copy_pairs_with_a_store_verifies_each_pair_once(album: Path, monkeypatch) -> None:
    enc = get_encoder("copies").encode_files(sorted(album.glob("*.jpg")), workers=2)
    store = MemoryPairScores()
    with monkeypatch.context() as m:
        first = Calls(m)
        a = copies_module.copy_pairs(list(enc.encodings), workers=2,
                                     pair_scores=PairScores(store, "copies", "v", enc.digests))
    Calls(monkeypatch, refuse=True)
    b = copies_module.copy_pairs(list(enc.encodings), workers=2,
                                 pair_scores=PairScores(store, "copies", "v", enc.digests))
    assert first.pairs and len(store.scores) == len(first.pairs)
    assert np.array_equal(a.left, b.left) and np.array_equal(a.right, b.right) and np.allclose(a.score, b.score)


@pytest.mark.integration
def test_the_review_page_keeps_and_reuses_its_scores(album: Path, tmp_path: Path, monkeypatch) -> None:
    """The page's table scores every file of a group against every other, both ways: the search's kept scores
    serve both directions (the check is symmetric), and the table agrees with itself and with the group."""
    from imagetwins.report import report_data

    folder = tmp_path / "photos"
    shutil.copytree(album, folder)
    result = _find(folder)
    assert result.index_path == str(default_cache_path(folder))
    with monkeypatch.context() as m:
        # the page checks only the pairs the search did not (a pair within the hash's sure distance is a copy
        # without a check): at most one a group of two
        first = Calls(m)
        data = report_data(result, root=folder)
        tables = [g["scores"] for g in data["groups"]]
    assert data["groups"] and all(len(g["files"]) == 2 for g in data["groups"])
    assert len(first.pairs) <= len(data["groups"])
    assert all(t[0][1] is not None and t[0][1] == t[1][0] for t in tables)
    assert all(g["scores"][0][1] == g["min_confidence"] for g in data["groups"] if len(g["files"]) == 2)
    # again: every score of the page was kept, nothing is checked again (a refused check would be said as damaged
    # features in a warning and count as no copy: the warnings are errors here)
    Calls(monkeypatch, refuse=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = [g["scores"] for g in report_data(_find(folder), root=folder)["groups"]]
    assert again == tables


@pytest.mark.integration
def test_a_find_stopped_while_verifying_keeps_its_search_and_the_pairs_verified(album: Path, tmp_path: Path,
                                                                                   monkeypatch) -> None:
    """A first find of a large library verifies for an hour: stopped (Ctrl-C) during it, the next run searches
    nothing again and verifies only the pairs not yet verified (each chunk's scores are kept as it ends)."""
    from imagetwins import candidates

    monkeypatch.setattr(copies_module, "VERIFY_CHUNK", 1)
    with monkeypatch.context() as m:
        everything = Calls(m)
        shutil.copytree(album, tmp_path / "counted")
        _find(tmp_path / "counted")
    folder = tmp_path / "photos"
    shutil.copytree(album, folder)
    assert len(everything.pairs) > 2, "too few pairs to stop the verification half way"
    real = copies_module.verify_records
    checked = []

    def stopped_after_two(a, b, *args, **kwargs):
        if len(checked) >= 2:
            raise KeyboardInterrupt
        checked.append(a)
        return real(a, b, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(copies_module, "verify_records", stopped_after_two)
        with pytest.raises(KeyboardInterrupt):
            _find(folder, workers=1)
    kept = _rows(folder)
    assert len(kept) == 2  # two chunks of one pair; the third was stopped
    with Index(default_cache_path(folder), methods=[], readonly=True) as idx:
        assert idx.get_candidate_state("copies") is not None

    def searched_in_full(*args, **kwargs):
        pytest.fail("the kept search was not used", pytrace=False)

    monkeypatch.setattr(candidates.search, "dihedral_pairs", searched_in_full)
    again = Calls(monkeypatch)
    assert _groups(_find(folder)) == EXPECTED
    assert len(again.pairs) == len(everything.pairs) - 2
    assert len(_rows(folder)) == len(everything.pairs)


@pytest.mark.unit
def test_kept_checks_leave_out_numbers_no_store_writes() -> None:
    """The review page's score table read a pair the search left out from the store with no range check: 7.5 came
    back an unrelated pair scored 3.5, -1.5 a recoloured copy scored 1.5. Only what ``stored_score`` writes is a
    check (0-1 copy, 2-3 re-shot, 4-5 unrelated, negated where recoloured)."""
    store = MemoryPairScores()
    digests = [f"{k:02x}".ljust(64, "0") for k in range(6)]
    kept = PairScores(store, "copies", "v", digests)
    values = [0.5, 2.5, 7.5, -1.5, -0.25, 4.0]
    kept.remember(np.zeros(5, np.int64), np.arange(1, 6), np.array(values[:5]))
    found, scores, marks = kept.kept_checks(np.zeros(5, np.int64), np.arange(1, 6))
    assert found.tolist() == [True, True, False, False, True]
    assert scores.tolist() == [0.5, 0.5, 0.25]
