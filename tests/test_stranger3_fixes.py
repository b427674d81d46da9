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


def test_the_report_help_example_with_a_reference_sub_folder_finds_its_copies(tmp_path: Path,
                                                                                   datasets: Path) -> None:
    """``imagetwins report shop/ --method dihedral --keep-in shop/master`` (report --help) wrote an empty page: the
    reference folder is a sub-folder of shop/, which is scanned only with -r ("no image files found ... (try
    --recursive)")."""
    example = next(line.split("#")[0].split() for line in run("report", "--help").output.splitlines()
                   if "--keep-in shop/master" in line)
    shop = tmp_path / "shop"
    (shop / "master").mkdir(parents=True)
    (shop / "uploads").mkdir()
    photo = _photos(datasets, 1)[0]
    shutil.copy(photo, shop / "master" / "shirt.jpg")
    with Image.open(photo) as im:
        im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(shop / "uploads" / "shirt_flipped.jpg", quality=90)
    args = [a.replace("shop/", f"{shop}/") for a in example[1:]]  # (after "imagetwins")
    page = tmp_path / "shop.html"
    res = run(*args, "-o", page)
    assert res.exit_code == 0, res.output
    assert "1 duplicate group holding 2 files" in res.output, (example, res.output)
    assert "no image files found" not in res.output
