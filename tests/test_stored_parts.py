"""An index loads `copies` rows without their features (~50 KB an image) and reads those when a pair is checked
(issue #25: at 100,000 images the features read, checked and spilled on each run cost minutes)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from index_files import set_file_digest
from PIL import Image

from imagetwins import copies, verify
from imagetwins.finder import find_duplicate_groups
from imagetwins.index import Index

pytest.importorskip("cv2")
pytestmark = pytest.mark.integration


@pytest.fixture
def indexed(tmp_path: Path, datasets: Path) -> tuple[Path, Path]:
    folder = tmp_path / "photos"
    folder.mkdir()
    for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[60:64]:
        shutil.copyfile(p, folder / p.name)
    Image.open(folder / sorted(p.name for p in folder.iterdir())[0]).crop((10, 10, 300, 200)).save(
        folder / "crop.jpg", quality=90)
    db = tmp_path / "photos.db"
    with Index(db, methods=["copies"]) as idx:
        idx.update(folder)
    return folder, db


def _whole(db: Path) -> dict[str, copies.CopyRecord]:
    """Each file's record read whole from its blob (the way a load read it before)."""
    import sqlite3

    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT f.name, e.value FROM encodings e JOIN files f ON f.id = e.file_id").fetchall()
    return {name: copies.CopyRecord.from_bytes(blob) for name, blob in rows}


def test_a_load_reads_no_features_and_a_check_reads_them_from_the_index(indexed, monkeypatch) -> None:
    folder, db = indexed
    read = []
    real = verify.ImageFeatures.from_bytes.__func__
    monkeypatch.setattr(verify.ImageFeatures, "from_bytes",
                        classmethod(lambda cls, data: read.append(1) or real(cls, data)))
    with Index(db, methods=["copies"]) as idx:
        paths, rows = idx.load("copies", folder)
        assert len(rows) == 5 and not read  # hashes, vectors, capture stamps: no features parsed
        whole = _whole(db)
        for p, rec in zip(paths, rows):
            want = whole[Path(p).name]
            np.testing.assert_array_equal(rec.hash, want.hash)
            np.testing.assert_array_equal(rec.vector, want.vector)
            got, exp = rec.features, want.features
            np.testing.assert_array_equal(got.descriptors, exp.descriptors)
            np.testing.assert_array_equal(got.thumbnail, exp.thumbnail)
            assert (rec.alt_features is None) == (want.alt_features is None)
    # the index closed: a record still reads its features (a connection of its own)
    assert rows[0].features.descriptors.shape == whole[Path(paths[0]).name].features.descriptors.shape
    # and the run's answer is the one it was
    with Index(db, methods=["copies"]) as idx:
        groups = find_duplicate_groups(folder, "copies", cache=idx, workers=2, decisions=False).groups
    assert any({"crop.jpg"} < {Path(f).name for f in g.files} for g in groups)


def test_a_file_changed_in_the_index_during_a_run_is_never_read_as_another_picture(indexed) -> None:
    folder, db = indexed
    with Index(db, methods=["copies"]) as idx:
        paths, rows = idx.load("copies", folder)
        k = next(i for i, p in enumerate(paths) if p.endswith("crop.jpg"))
        # another process changes the file and updates the index while this run holds its rows
        Image.open(paths[k]).rotate(90, expand=True).save(paths[k], quality=80)
        with Index(db, methods=["copies"]) as other:
            assert other.update(folder).changed == 1
        with pytest.raises(ValueError, match="changed during the run"):
            _ = rows[k].features
        assert rows[(k + 1) % len(rows)].features is not None  # the others are as they were


def test_a_digest_ending_in_zero_bytes_is_still_its_own(indexed) -> None:
    folder, db = indexed
    set_file_digest(db, "crop.jpg", bytes(range(1, 13)) + b"\0\0\0\0")  # (numpy strips trailing zero bytes)
    with Index(db, methods=["copies"]) as idx:
        paths, rows = idx.load("copies", folder)
        k = next(i for i, p in enumerate(paths) if p.endswith("crop.jpg"))
        assert rows[k].features.descriptors.size
