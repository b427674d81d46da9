"""``find --against`` with overlapping folders: a file is never a duplicate of itself."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import EXIT_DUPLICATES, main

pytestmark = pytest.mark.cli


def _photos(tmp_path: Path, datasets: Path, n: int = 8) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:n]:
        shutil.copyfile(p, folder / p.name)
    return folder


def test_a_folder_against_itself_finds_no_duplicate(tmp_path: Path, datasets: Path) -> None:
    photos = _photos(tmp_path, datasets)
    for extra in ([], ["--no-cache"]):
        res = CliRunner().invoke(main, ["find", str(photos), "--against", str(photos), "--fail-on-duplicates",
                                        *extra])
        assert res.exit_code == 0, res.output
        assert "0 of 8 images" in res.output and "(0 bits)" not in res.output
        assert res.output.count("overlap") == 1  # said once


def test_a_byte_copy_and_a_hard_link_in_overlapping_folders(tmp_path: Path, datasets: Path) -> None:
    """find ml -r --against ml/train: a byte copy in ml/test is a leak, and so is a hard link of a train file
    (another name in the test set for a training picture; it was left out as "the same file"); train's own files
    are not duplicates of themselves."""
    src = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:6]
    ml = tmp_path / "ml"
    (ml / "train").mkdir(parents=True)
    (ml / "test").mkdir()
    for p in src[:4]:
        shutil.copyfile(p, ml / "train" / p.name)
    shutil.copyfile(src[4], ml / "test" / "fresh.jpg")
    shutil.copyfile(src[0], ml / "test" / "leak.jpg")  # a byte-identical other file: a real duplicate
    os.link(ml / "train" / src[1].name, ml / "test" / "hardlink.jpg")  # one file, two names: a leak
    out = tmp_path / "r.json"
    res = CliRunner().invoke(main, ["find", str(ml), "-r", "--against", str(ml / "train"), "--json", str(out),
                                    "--fail-on-duplicates"])
    assert res.exit_code == EXIT_DUPLICATES, res.output
    data = json.loads(out.read_text())
    assert {Path(m["query"]).name: [Path(x["path"]).name for x in m["matches"]] for m in data["matches"]} == \
        {"leak.jpg": [src[0].name], "hardlink.jpg": [src[1].name]}
    # the index does the same: a file indexed is not a duplicate of itself
    db = tmp_path / "ml.db"
    assert CliRunner().invoke(main, ["index", "update", str(ml / "train"), "--db", str(db)]).exit_code == 0
    res = CliRunner().invoke(main, ["index", "query", str(ml), "-r", "--db", str(db), "--json", "-"])
    assert res.exit_code == 0, res.output
    indexed = json.loads(res.stdout)
    assert sorted(Path(m["query"]).name for m in indexed["matches"]) == ["hardlink.jpg", "leak.jpg"]
    # index query --json and find --against --json have one shape
    assert indexed.keys() == data.keys() and indexed["matches"][0].keys() == data["matches"][0].keys()


def test_check_finds_a_test_image_hard_linked_from_the_training_set(tmp_path: Path, datasets: Path) -> None:
    """check test --against train: a test image that is a hard link of a training image is a leak (one picture
    in both sets); it passed, exit 0, as "the same file". A test set beside its training set without links
    passes."""
    src = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:5]
    train, test = tmp_path / "train", tmp_path / "test"
    train.mkdir()
    test.mkdir()
    for p in src[:3]:
        shutil.copyfile(p, train / p.name)
    shutil.copyfile(src[3], test / "fresh.jpg")
    assert CliRunner().invoke(main, ["check", str(test), "--against", str(train)]).exit_code == 0
    os.link(train / src[1].name, test / "linked.jpg")
    res = CliRunner().invoke(main, ["check", str(test), "--against", str(train)])
    assert res.exit_code == EXIT_DUPLICATES, res.output
    assert "linked.jpg" in res.output and src[1].name in res.output and "fresh.jpg" not in res.output
