"""The index keeps each ``copies`` row's head (hash, vector, capture stamp, alternate) beside its blob, so a load never
reads a blob's ~50 KB of features (issue #25: 100,000 rows cost seconds to load). An index written before heads were
kept (``fixtures/index_before_heads.db``, written by the code of d59b68f) opens read-only as it is and is migrated by
its first writable load, its decisions kept; an older imagetwins writing into a migrated file never leaves a stale
head; a damaged head is read around, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from features_versions import record_from_version_2
from index_files import (
    encoding_of,
    rewrite_encodings,
    rewrite_identity,
    row_heads,
    set_row_head,
    store_as_older_imagetwins,
    tables,
)

from imagetwins import copies
from imagetwins.decisions import DecisionStore
from imagetwins.encoders import get_encoder
from imagetwins.index import Index

pytest.importorskip("cv2")
pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).parent / "fixtures" / "index_before_heads.db"
NAMES = {"crop.jpg", "screenshot.png", "camera.jpg"}


@pytest.fixture
def before(tmp_path: Path) -> Path:
    """A copy of the index written before heads were kept, under today's ``copies`` parameters (the storage layout
    is under test here, not a change of parameters, which is refused or rebuilt as before)."""
    db = tmp_path / "before.db"
    shutil.copyfile(FIXTURE, db)
    rewrite_identity(db, "copies", lambda _: get_encoder("copies").identity())
    rewrite_encodings(db, "copies", record_from_version_2)  # its features, written before they held colour
    return db


def _whole(db: Path, paths: list[str]) -> list[copies.CopyRecord]:
    """Each row read whole from its blob (the way a load read it before heads were kept)."""
    return [copies.CopyRecord.from_bytes(encoding_of(db, Path(p).name, "copies")) for p in paths]


def _same_rows(rows, records: list[copies.CopyRecord]) -> None:
    assert len(rows) == len(records)
    for got, want in zip(rows, records):
        np.testing.assert_array_equal(got.hash, want.hash)
        np.testing.assert_array_equal(got.vector, want.vector)
        assert got.capture == want.capture
        assert (got.alt_hash is None) == (want.alt_hash is None)
        if want.alt_hash is not None:
            np.testing.assert_array_equal(got.alt_hash, want.alt_hash)
            np.testing.assert_array_equal(got.alt_vector, want.alt_vector)
            np.testing.assert_array_equal(got.alt_features.descriptors, want.alt_features.descriptors)
        np.testing.assert_array_equal(got.features.descriptors, want.features.descriptors)


def _blob_reads(idx: Index) -> list[str]:
    """Statements of this connection that read an encoding's value (not only which files hold one)."""
    seen: list[str] = []
    idx.db.set_trace_callback(seen.append)
    return seen


def test_an_index_written_before_heads_opens_read_only_as_it_is_and_migrates_on_a_writable_load(before) -> None:
    assert "encoding_heads" not in tables(before)
    size = before.stat().st_size
    with Index(before, methods=["copies"], readonly=True) as idx:
        paths, rows = idx.load("copies")
    assert {Path(p).name for p in paths} >= NAMES and len(paths) == 5
    _same_rows(rows, _whole(before, paths))
    assert any(r.alt_hash is not None for r in rows) and any(r.capture is not None for r in rows)
    assert "encoding_heads" not in tables(before) and before.stat().st_size == size  # nothing written

    with Index(before, methods=["copies"]) as idx:
        paths, rows = idx.load("copies")
        _same_rows(rows, _whole(before, paths))
        result = idx.find_duplicates("copies")
    assert set(row_heads(before, "copies")) == {Path(p).name for p in paths}  # migrated: every head kept
    # the same groups as the code that wrote it finds (the crop and the screenshot of the first photo)
    assert any({"crop.jpg", "screenshot.png"} < {Path(f).name for f in g.files} for g in result.groups)
    # the decision kept in the index file is still there
    [decision] = DecisionStore(before).records()
    assert decision.verdict == "not_duplicate" and {decision.a_name, decision.b_name} >= {"crop.jpg"}

    with Index(before, methods=["copies"]) as idx:  # from now on a load reads heads only, never a blob
        statements = _blob_reads(idx)
        again, rows_again = idx.load("copies")
    assert again == paths and not [s for s in statements if "value" in s and "FROM encodings" in s], statements
    _same_rows(rows_again, _whole(before, paths))


def test_an_index_made_today_keeps_heads_as_it_stores(tmp_path: Path, datasets: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[60:63]:
        shutil.copyfile(p, folder / p.name)
    db = tmp_path / "x.db"
    with Index(db, methods=["copies"]) as idx:
        idx.update(folder)
    assert set(row_heads(db, "copies")) == {p.name for p in folder.iterdir()}
    with Index(db, methods=["copies"]) as idx:
        statements = _blob_reads(idx)
        paths, rows = idx.load("copies", folder)
    assert len(rows) == 3 and not [s for s in statements if "value" in s and "FROM encodings" in s], statements
    _same_rows(rows, _whole(db, paths))
    # a file that changes gets a new head with its new encoding
    Image = pytest.importorskip("PIL.Image")
    first = folder / sorted(p.name for p in folder.iterdir())[0]
    Image.open(first).rotate(90, expand=True).save(first, quality=80)
    old = row_heads(db, "copies")[first.name]
    with Index(db, methods=["copies"]) as idx:
        assert idx.update(folder).changed == 1
        paths, rows = idx.load("copies", folder)
    assert row_heads(db, "copies")[first.name] != old
    _same_rows(rows, _whole(db, paths))


def test_an_older_imagetwins_writing_a_migrated_index_never_leaves_a_stale_head(before) -> None:
    with Index(before, methods=["copies"]) as idx:
        idx.load("copies")  # migrated
    # an imagetwins that keeps no heads stores the camera photo's file anew (it changed: another picture's row)
    store_as_older_imagetwins(before, "camera.jpg", "copies", encoding_of(before, "crop.jpg", "copies"))
    store_as_older_imagetwins(before, "screenshot.png", "copies", None)  # and forgets another
    assert "camera.jpg" not in row_heads(before, "copies") and "screenshot.png" not in row_heads(before, "copies")
    with Index(before, methods=["copies"]) as idx:
        paths, rows = idx.load("copies")
    names = [Path(p).name for p in paths]
    assert "screenshot.png" not in names and len(paths) == 4
    _same_rows(rows, _whole(before, paths))  # the camera photo's row is the one stored last, not the old head
    np.testing.assert_array_equal(rows[names.index("camera.jpg")].hash, rows[names.index("crop.jpg")].hash)
    assert set(row_heads(before, "copies")) == set(names)  # its head made again from the new blob


@pytest.mark.parametrize("damage", [b"junk", b"", "text", 7, "nan"])
def test_a_damaged_head_is_read_around_never_a_traceback(before, damage) -> None:
    with Index(before, methods=["copies"]) as idx:
        paths, _ = idx.load("copies")
    head = row_heads(before, "copies")["camera.jpg"]
    if damage == "nan":  # a vector that is no number
        damage = head[:40] + b"\xff\x7f" * 8 + head[56:]
    set_row_head(before, "camera.jpg", "copies", damage)
    with Index(before, methods=["copies"]) as idx:
        again, rows = idx.load("copies")
    assert again == paths and not idx.damaged
    _same_rows(rows, _whole(before, paths))
    assert row_heads(before, "copies")["camera.jpg"] == head  # made again from its blob


def test_heads_that_cannot_be_kept_are_read_anyway_and_not_waited_for_again(before, monkeypatch) -> None:
    import sqlite3

    from imagetwins import index

    monkeypatch.setattr(index, "_LOAD_CHUNK", 2)  # three chunks of the five rows
    with Index(before, methods=["copies"]) as idx:  # (the table made; no head yet)
        other = sqlite3.connect(before, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the file for the whole load
        try:
            idx.db.execute("PRAGMA busy_timeout = 50")
            calls = []
            idx.db.set_trace_callback(lambda sql: calls.append(sql) if sql.startswith("BEGIN") else None)
            paths, rows = idx.load("copies")
        finally:
            other.execute("ROLLBACK")
            other.close()
    assert len(calls) == 1, calls  # tried once, not once a chunk
    assert row_heads(before, "copies") == {}
    _same_rows(rows, _whole(before, paths))
    with Index(before, methods=["copies"]) as idx:  # the file free again: kept by the next load
        idx.load("copies")
    assert set(row_heads(before, "copies")) == {Path(p).name for p in paths}
