"""``imagetwins explain``'s words for a distance of one bit: "dihedral  1 bits" and "their dihedral hashes are 1 bits
apart" (a shop photo and its copy at half size, found following the README as a new user)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from imagetwins.cli import main

pytestmark = pytest.mark.cli


def test_a_distance_of_one_bit_is_said_1_bit(tmp_path: Path, datasets: Path) -> None:
    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0]
    half = tmp_path / "resized.jpg"
    with Image.open(photo) as im:
        im.resize((im.width // 2, im.height // 2)).save(half, quality=85)
    res = CliRunner().invoke(main, ["explain", str(photo), str(half)])
    assert res.exit_code == 0, res.output
    # (this pair's dihedral hashes are 1 bit apart, close enough for copies' hash-sure band: both places say it)
    assert re.search(r"^  dihedral  1 bit +\(duplicate if <= 72\)", res.output, re.M), res.output
    assert "their dihedral hashes are 1 bit apart (<= " in res.output, res.output
    assert not re.search(r"\b1 bits\b", res.output), res.output
    assert re.search(r"^  phash     \d+ bits? ", res.output, re.M), res.output
