"""What a third newcomer met following the README alone in a fresh venv (a family library, a shop, a leak check):
each test failed before its fix."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from imagetwins.cli import main

pytestmark = pytest.mark.cli


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _photos(datasets: Path, n: int) -> list[Path]:
    return sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:n]


def test_check_takes_fail_on_duplicates_as_find_against_does(tmp_path: Path, datasets: Path) -> None:
    """``find test/ --against train/ --fail-on-duplicates`` is in find's --help; the same words to ``check`` (the
    command the README names for a leak check) stopped with "No such option '--fail-on-duplicates'"."""
    train, test = tmp_path / "train", tmp_path / "test"
    train.mkdir(), test.mkdir()
    photos = _photos(datasets, 3)
    for p in photos:
        shutil.copy(p, train)
    with Image.open(photos[0]) as im:
        im.resize((im.width // 2, im.height // 2)).save(test / "leak.jpg", quality=85)
    res = run("check", test, "--against", train, "-m", "phash", "--fail-on-duplicates")
    assert res.exit_code == 3, res.output
    assert "leak.jpg" in res.output
    (test / "leak.jpg").unlink()
    shutil.copy(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[10], test / "new.jpg")
    res = run("check", test, "--against", train, "-m", "phash", "--fail-on-duplicates")
    assert res.exit_code == 0, res.output
    assert "--fail-on-duplicates" in run("check", "--help").output
