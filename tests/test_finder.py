"""The finder's jobs as a program calls them: groups, and new images against a reference."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from imagetwins.finder import find_against, find_duplicate_groups, find_duplicates_map
from imagetwins.index import Index, IndexFileError

pytestmark = pytest.mark.integration


@pytest.fixture
def reference(tmp_path: Path, datasets: Path) -> Path:
    folder = tmp_path / "train"
    (folder / "sub").mkdir(parents=True)
    for k, p in enumerate(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:12]):
        shutil.copy(p, folder / ("sub" if k % 2 else ".") / p.name)
    return folder


@pytest.fixture
def new_images(tmp_path: Path, reference: Path) -> Path:
    folder = tmp_path / "test"
    folder.mkdir()
    leaked = sorted(reference.rglob("*.jpg"))[3]
    Image.open(leaked).resize((240, 160)).save(folder / "leaked_small.jpg", quality=85)
    shutil.copy(next(reference.glob("*.jpg")), folder / "leaked_copy.jpg")
    return folder


def test_find_against_a_folder_with_and_without_its_cache(reference: Path, new_images: Path, tmp_path: Path,
                                                          monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # paths as the caller names them, relative here
    cached = find_against("test", "train", "phash", recursive=True)
    fresh = find_against("test", "train", "phash", recursive=True, cache=False)
    assert cached.matches == fresh.matches and len(cached.matches) == 2
    assert all(r.startswith("train" + os.sep) for _, r, _ in cached.rows())  # not the cache's absolute paths
    assert {Path(q).name for q in cached.matches} == {"leaked_small.jpg", "leaked_copy.jpg"}
    assert cached.score_kind == "distance" and cached.reference_images == 12 and len(cached.images) == 2
    copy = cached.matches[os.path.join("test", "leaked_copy.jpg")]
    assert copy[0][1] == 0  # closest first, bits apart
    assert cached.to_dict()["matches"][0]["matches"][0].keys() == {"path", "distance", "exact"}


def test_find_against_an_index_file_or_object(reference: Path, new_images: Path, tmp_path: Path) -> None:
    db = tmp_path / "train.db"
    with Index(db, methods=["phash", "dihedral"]) as idx:
        idx.update(reference)
        by_object = find_against(new_images, idx, "dihedral")
    by_file = find_against(new_images, db, "dihedral")
    assert by_object.matches == by_file.matches and len(by_file.matches) == 2
    assert by_file.threshold == 72 and by_file.reference == str(db)
    with pytest.raises(IndexFileError, match="holds no whash"):
        find_against(new_images, db, "whash")
    (tmp_path / "notes.txt").write_text("not an index")
    with pytest.raises(IndexFileError, match="not an imagetwins index"):
        find_against(new_images, tmp_path / "notes.txt")


def test_groups_and_imagededup_map_agree(reference: Path) -> None:
    shutil.copy(next(reference.glob("*.jpg")), reference / "sub" / "again.jpg")
    result = find_duplicate_groups(reference, recursive=True)
    found = find_duplicates_map(reference, recursive=True)
    assert len(found) == 13 and len(result.groups) == 1
    a, b = (os.path.relpath(f, reference) for f in result.groups[0].files)
    assert found[a] == [(b, 0)] and found[b] == [(a, 0)]


def test_results_print_as_a_summary_not_every_file(reference: Path, new_images: Path, tmp_path: Path,
                                                   monkeypatch) -> None:
    # print(result) in a notebook gave the generated repr: every file, digest, encoding row and file fact
    # (tens of kilobytes for 12 photos, megabytes for a library)
    import imagetwins

    monkeypatch.chdir(tmp_path)
    found = imagetwins.find("train", "phash", recursive=True, cache=False)
    assert repr(found).startswith("<FindResult phash, threshold 10: 12 files, 0 groups holding 0 files")
    checked = imagetwins.check("test", "train", "phash", recursive=True, cache=False)
    assert repr(checked) == ("<CheckResult leaks: 2 of 2 images of test duplicate images of train, 0 unreadable>")
    assert repr(checked.query).startswith("<QueryResult phash, threshold 10: 2 of 2 images with a duplicate among "
                                          "the 12 of train, 0 unreadable, ")
    for text in (repr(found), repr(checked), repr(checked.query)):
        assert len(text) < 200 and "sub" not in text  # no file named


def test_a_summary_of_one_says_one_not_ones(tmp_path: Path) -> None:
    # "1 groups holding 1 files" (attack2 on b646285's summaries)
    from PIL import Image

    import imagetwins

    Image.new("RGB", (64, 48), (200, 30, 30)).save(tmp_path / "a.png")
    found = imagetwins.find(tmp_path, "phash", cache=False)
    assert repr(found).startswith("<FindResult phash, threshold 10: 1 file, 0 groups holding 0 files")
    Image.new("RGB", (64, 48), (200, 30, 30)).save(tmp_path / "b.png")
    found = imagetwins.find(tmp_path, "phash", cache=False)
    assert repr(found).startswith("<FindResult phash, threshold 10: 2 files, 1 group holding 2 files")
