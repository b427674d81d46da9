"""``imagetwins explain`` on a copy with stickers: it says the overlays were left out of the comparison."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from imagetwins import edits
from imagetwins.cli import main
from imagetwins.io import open_image

pytestmark = pytest.mark.cli


def test_explain_says_overlays_were_left_out(tmp_path: Path, datasets: Path) -> None:
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    runner = CliRunner()
    shown = []
    for k in (4, 5, 7, 10, 61):
        img = open_image(photos[k])
        original, copy = tmp_path / f"o{k}.jpg", tmp_path / f"o{k}_stickers.jpg"
        img.save(original, quality=92)
        edits.stickers(img, np.random.default_rng([k, 6])).save(copy, quality=90)
        out = runner.invoke(main, ["explain", str(original), str(copy), "-m", "copies", "--json", "-"])
        assert out.exit_code == 0, out.output
        data = json.loads(out.output)
        if data["verification"]["overlay"] > 0:
            text = runner.invoke(main, ["explain", str(original), str(copy), "-m", "copies"]).output
            assert "overlays such as stickers or letters cover" in text, text
            shown.append(data["scores"][0]["duplicate"])
        else:
            text = runner.invoke(main, ["explain", str(original), str(copy), "-m", "copies"]).output
            assert "overlays such as stickers" not in text
    assert shown and all(shown), shown
