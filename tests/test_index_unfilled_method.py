"""An index queried with a method none of its files has: ``Index(path)`` opens with ``methods=("phash",)`` and
registers phash in an index ``imagetwins index update`` made (copies, or any other method); its ``query`` then
answered ``[]``, which reads as "no match", for a photo the index holds a copy of."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import synthetic_photo

from imagetwins.index import Index, IndexMismatchError

pytestmark = pytest.mark.unit


def _indexed(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "catalogue"
    folder.mkdir()
    for seed in range(3):
        synthetic_photo(seed=seed).save(folder / f"p{seed}.jpg")
    upload = tmp_path / "upload.jpg"
    synthetic_photo(seed=1).resize((160, 120)).save(upload)
    db = tmp_path / "catalogue.db"
    with Index(db, methods=["dihedral"]) as idx:
        idx.update(folder)
    return db, upload


def test_a_query_with_a_method_no_file_has_is_refused_not_answered_empty(tmp_path: Path) -> None:
    db, upload = _indexed(tmp_path)
    with Index(db) as idx:  # (the default methods: phash, registered, no file encoded with it)
        with pytest.raises(IndexMismatchError, match=r"holds no phash encodings.*it holds: dihedral.*-m phash"):
            idx.query(upload)
        with pytest.raises(IndexMismatchError, match="holds no phash encodings"):
            idx.find_duplicates()
        matches = idx.query(upload, method="dihedral")
    assert [Path(m[1]).name for m in matches] == ["p1.jpg"]


def test_an_index_without_readable_files_answers_empty(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    upload = tmp_path / "upload.jpg"
    synthetic_photo(seed=1).save(upload)
    with Index(db) as idx:
        assert idx.query(upload) == []  # (nothing indexed: "no match" is the truth)
