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


def test_the_cells_that_disagree_are_said_with_their_threshold() -> None:
    """"82% of the textured overlap agrees closely (NCC >= 0.8) ...; the cells that disagree (1%) are mostly at the
    top left" left a reader asking where the other 17% went (a holidays photo and a third of it, cropped): those
    agree loosely; the cells that disagree are those under NCC 0.5, and the line now says so."""
    import numpy as np

    from imagetwins import explain, verify

    v = verify.Verification(inliers=60, inlier_ratio=0.7, coverage_a=0.9, coverage_b=1.0, agreement=0.99,
                            strict_agreement=0.82, median_ncc=0.85, lighting_residual=0.05,
                            transform=np.eye(2, 3), compared=True, disagreement=(0, "top left", 0.01))
    [why] = explain.why_not_copies(v)
    assert why.startswith("once aligned, 82% of the textured overlap agrees closely (NCC >= 0.8; a copy: 90 % or "
                          "more); the cells that disagree outright (NCC < 0.5: 1%) are mostly at the top left of "
                          "the first image: "), why
