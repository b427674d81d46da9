"""Flat pictures (a shop's colour swatches, blank cards): their dihedral hashes say nothing of their colour, so a
solid red, blue, white, grey and near-black picture of one size were 0 bits apart, hash-sure, called copies at 1.0
and ``remove`` kept one of them (:func:`imagetwins.copies.flat_pictures_apart`). A re-encoded or resized copy of a
swatch is still its copy."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

import imagetwins
from imagetwins.explain import explain

SWATCHES = {"red": (200, 30, 30), "blue": (30, 40, 190), "white": (255, 255, 255), "grey": (128, 128, 128),
            "near_black": (1, 1, 1), "navy": (20, 20, 90)}


@pytest.fixture(scope="module")
def swatches(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("swatches")
    for name, colour in SWATCHES.items():
        Image.new("RGB", (300, 200), colour).save(folder / f"{name}.png")
    Image.new("RGB", (300, 200), SWATCHES["red"]).save(folder / "red_copy.jpg", quality=80)
    Image.new("RGB", (150, 100), SWATCHES["red"]).save(folder / "red_small.png")
    Image.new("RGB", (300, 200), (253, 253, 253)).save(folder / "white_copy.jpg", quality=70)
    return folder


@pytest.mark.integration
def test_swatches_of_other_colours_are_not_copies_but_their_copies_are(swatches: Path) -> None:
    result = imagetwins.find(swatches, cache=False, decisions=False)
    groups = sorted(sorted(Path(f).name for f in g.files) for g in result.groups)
    assert groups == [["red.png", "red_copy.jpg", "red_small.png"], ["white.png", "white_copy.jpg"]]


@pytest.mark.integration
def test_explain_of_two_swatches_says_they_are_not_copies(swatches: Path) -> None:
    scores = {s.method: s for s in explain(swatches / "red.png", swatches / "white.png", ["copies"]).scores}
    assert not scores["copies"].duplicate
    scores = {s.method: s for s in explain(swatches / "red.png", swatches / "red_copy.jpg", ["copies"]).scores}
    assert scores["copies"].duplicate
