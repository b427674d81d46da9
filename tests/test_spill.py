"""The copies method keeps image features in a scratch file, not in memory: same verdicts, nothing left behind."""

from __future__ import annotations

import gc
import os
import pickle
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagetwins import copies, edits, spill
from imagetwins.copies import CopyRecord, copy_pairs
from imagetwins.encoders import get_encoder
from imagetwins.finder import find_duplicate_groups
from imagetwins.index import Index

pytestmark = pytest.mark.integration

pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def folder(tmp_path_factory, datasets: Path) -> Path:
    """Three photos, each with a copy the hash is not sure of (half crop, tilt, mirrored crop), and two views
    of one ukbench object (a look-alike pair verification must refuse)."""
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[60:63]
    out = tmp_path_factory.mktemp("spill-album")
    for k, (p, edit) in enumerate(zip(photos, ["crop_half", "tilt", "hflip+crop"])):
        img = Image.open(p).convert("RGB")
        img.save(out / f"p{k}.jpg", quality=92)
        edits.EDITS[edit](img, np.random.default_rng(k)).save(out / f"p{k}-{edit}.jpg", quality=90)
    for name in ("ukbench00400.jpg", "ukbench00401.jpg"):
        Image.open(datasets / "ukbench-600" / "images" / name).save(out / name)
    return out


@pytest.fixture
def spill_home(tmp_path: Path, monkeypatch) -> Path:
    """A private user cache folder, and no spill file carried over from another test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(spill, "_current", None)
    return tmp_path / "cache" / "imagetwins"


def _fds_into(folder: Path) -> list[str]:
    """This process's open files that live (or lived, unlinked) in ``folder``."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder) + os.sep):
            out.append(target)
    return out


def _in_memory(records) -> list[CopyRecord]:
    return [CopyRecord(r.hash, r.vector, r.features,
                       None if r.alt_hash is None else (r.alt_hash, r.alt_vector, r.alt_features)) for r in records]


def test_spilled_records_verify_the_same_pairs_with_the_same_confidences(folder: Path, spill_home: Path) -> None:
    enc = get_encoder("copies").encode_files(sorted(folder.glob("*.jpg")), workers=2)
    records = list(enc.encodings)
    assert records and not any(r.in_memory for r in records)
    held = _in_memory(records)
    assert all(r.in_memory for r in held)
    for a, b in zip(records, held):
        assert a.features_bytes() == b.features.to_bytes() and a.to_bytes() == b.to_bytes()
    spilled, kept = copy_pairs(records, 0.0, workers=2), copy_pairs(held, 0.0, workers=2)
    assert len(spilled.left) >= 4  # the three copies and the look-alike were proposed and verified
    assert spilled.left.tolist() == kept.left.tolist() and spilled.right.tolist() == kept.right.tolist()
    assert spilled.score.tolist() == kept.score.tolist()
    names = [Path(p).name for p in enc.paths]
    found = {frozenset((names[i], names[j])) for i, j, s in zip(spilled.left, spilled.right, spilled.score)
             if s >= copies.DEFAULT_CONFIDENCE}
    assert found == {frozenset({"p0.jpg", "p0-crop_half.jpg"}), frozenset({"p1.jpg", "p1-tilt.jpg"}),
                     frozenset({"p2.jpg", "p2-hflip+crop.jpg"})}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
def test_the_spill_file_is_private_nameless_and_gone_after_the_run(folder: Path, spill_home: Path) -> None:
    records = get_encoder("copies").encode_files(sorted(folder.glob("*.jpg")), workers=2).encodings
    # in the user's cache folder (not /tmp, often memory), owner-only, and never with a name to leave behind
    open_now = _fds_into(spill_home)
    assert len(open_now) == 1, open_now
    assert not [p for p in spill_home.iterdir() if "spill" in p.name]
    held = records[0]._spill
    assert held.size >= 20_000 * len(records)
    assert stat.S_IMODE(os.fstat(held._fd).st_mode) & 0o077 == 0
    del records, held
    result = find_duplicate_groups(folder, "copies", workers=2)  # a whole run, then the result dropped
    assert len(result.groups) == 3
    del result
    gc.collect()
    assert _fds_into(spill_home) == []
    assert spill._current is None or spill._current() is None


def test_records_pickle_with_their_features(folder: Path, spill_home: Path) -> None:
    records = get_encoder("copies").encode_files(sorted(folder.glob("p0*.jpg")), workers=1).encodings
    back = pickle.loads(pickle.dumps(records))  # what Dask does between processes
    assert [r.to_bytes() for r in back] == [r.to_bytes() for r in records]
    assert not any(r.in_memory for r in back)
    a, b = copy_pairs(records, 0.0, workers=1), copy_pairs(back, 0.0, workers=1)
    assert a.score.tolist() == b.score.tolist() and len(a.left) == 1


def test_records_loaded_from_the_index_stay_on_disk_and_verify(folder: Path, tmp_path: Path, spill_home: Path
                                                               ) -> None:
    fresh = get_encoder("copies").encode_files(sorted(folder.glob("*.jpg")), workers=2)
    want = copy_pairs(fresh.encodings, 0.0, workers=2)
    db = tmp_path / "copies.db"
    with Index(db, methods=["copies"]) as idx:
        idx.update(folder)
    with Index(db, methods=["copies"]) as idx:
        paths, loaded = idx.load("copies")
    assert sorted(paths) == sorted(fresh.paths) and not any(r.in_memory for r in loaded)
    order = [paths.index(p) for p in fresh.paths]
    got = copy_pairs([loaded[k] for k in order], 0.0, workers=2)
    assert got.left.tolist() == want.left.tolist() and got.score.tolist() == want.score.tolist()


def test_without_a_usable_cache_folder_the_system_temp_folder_is_used(folder: Path, tmp_path: Path,
                                                                      monkeypatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    monkeypatch.setattr(spill, "_current", None)
    records = get_encoder("copies").encode_files(sorted(folder.glob("p0*.jpg")), workers=1).encodings
    assert not any(r.in_memory for r in records) and blocker.read_bytes() == b"x"
    assert len(copy_pairs(records, 0.0, workers=1).left) == 1


def test_a_full_disk_keeps_the_features_in_memory_with_one_warning(folder: Path, spill_home: Path,
                                                                   monkeypatch) -> None:
    def full(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spill.SpillFile, "put", full)
    monkeypatch.setattr(copies, "_warned_unspilled", False)
    with pytest.warns(UserWarning, match="No space left") as caught:
        records = get_encoder("copies").encode_files(sorted(folder.glob("p1*.jpg")), workers=1).encodings
    assert len([w for w in caught if "scratch file" in str(w.message)]) == 1
    assert all(r.in_memory for r in records)
    assert len(copy_pairs(records, 0.0, workers=1).left) == 1


def test_copies_rows_are_columns_with_feature_references(folder: Path, tmp_path: Path, spill_home: Path) -> None:
    """copies' rows are arrays (hashes, vectors) and references into the feature store, not an array of objects:
    picking, joining, pickling and loading them keep every row's bytes, and the search gives the same pairs."""
    from imagetwins import edits as edit_module
    from imagetwins.copies import CopyRows

    photo = Image.open(folder / "p0.jpg").convert("RGB")
    edit_module.on_background(photo, np.random.default_rng(5)).save(tmp_path / "p0-on_background.jpg", quality=90)
    files = sorted(folder.glob("*.jpg")) + [tmp_path / "p0-on_background.jpg"]
    enc = get_encoder("copies").encode_files(files, workers=2)
    rows = enc.encodings
    assert isinstance(rows, CopyRows) and not isinstance(rows, np.ndarray) and len(rows) == len(files)
    assert rows.hashes.dtype == np.uint64 and rows.hashes.shape == (len(files), 4)
    assert rows.vectors.dtype == copies.VECTOR_DTYPE and rows.vectors.shape[0] == len(files)
    with_canvas = np.flatnonzero(rows.alt_of >= 0).tolist()
    assert len(files) - 1 in with_canvas  # the picture on a background has its picture cut out as columns too
    blobs = [r.to_bytes() for r in rows]
    order = np.array([7, 0, 3, 7])
    assert [r.to_bytes() for r in rows.take(order)] == [blobs[i] for i in order]
    assert [r.to_bytes() for r in rows[2:5]] == blobs[2:5]
    joined = CopyRows.concat([rows[:3], rows[3:]])
    assert [r.to_bytes() for r in joined] == blobs and joined.alt_of.tolist() == rows.alt_of.tolist()
    for made in (rows, joined):  # images' and canvas pictures' vectors in one array: searched together, no copy
        _, searched, _ = copies._extended(made.hashes, made.vectors, made.alternates())
        assert np.shares_memory(searched, made.vectors) and len(searched) == len(made) + len(made.alt_hashes)
    back = pickle.loads(pickle.dumps(rows))
    assert isinstance(back, CopyRows) and [r.to_bytes() for r in back] == blobs
    stacked = CopyRows.of(list(rows))  # records (imagededup-style encoding maps) stack into the same columns
    want = copy_pairs(rows, 0.0, workers=2)
    for other in (joined, back, stacked):
        got = copy_pairs(other, 0.0, workers=2)
        assert got.left.tolist() == want.left.tolist() and got.score.tolist() == want.score.tolist()
    # the index keeps one blob per row and loads columns back
    db = tmp_path / "rows.db"
    with Index(db, methods=["copies"]) as idx:
        idx.update(folder)
        idx.update(tmp_path)
        paths, loaded = idx.load("copies")
    assert isinstance(loaded, CopyRows) and sorted(r.to_bytes() for r in loaded) == sorted(blobs)


def test_a_spill_file_nobody_holds_is_closed_without_a_resource_warning(spill_home: Path) -> None:
    import warnings

    f = spill.SpillFile()
    f.put(b"features")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)  # an unclosed file would be reported on collection
        unraisable = []
        old_hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
        try:
            del f
            gc.collect()
        finally:
            sys.unraisablehook = old_hook
    assert unraisable == []
