"""``find --db`` after a library call that scored holidays-half 126400/126402 (a re-shot the stored features cannot
tell from a copy) without the files: the index kept that call's copy with its candidate search, and ``find --db``
read it there and never looked at the files (test_files_look.py has the library's routes)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main
from imagetwins.encoders import get_encoder
from imagetwins.index import Index
from imagetwins.pairscores import for_method

pytestmark = pytest.mark.cli


def test_find_db_looks_at_a_pair_a_call_without_paths_scored(datasets: Path, tmp_path: Path) -> None:
    folder = tmp_path / "sunset"
    folder.mkdir()
    for name in ("126400.jpg", "126402.jpg"):
        shutil.copyfile(datasets / "holidays-half" / "images" / name, folder / name)
    db = tmp_path / "i.db"
    encoder = get_encoder("copies")
    with Index(db, methods=["copies"]) as idx:
        idx.update(folder, methods=["copies"])
        paths, rows = idx.load("copies")
        store = for_method(encoder, idx, [str(d) for d in idx.digests(paths)])
        with pytest.warns(UserWarning, match="no paths given"):
            assert len(encoder.pairs(rows, encoder.default_threshold, workers=1, pair_scores=store)) == 1
    for _ in range(2):  # (and again: the re-shot the first run kept)
        res = CliRunner().invoke(main, ["find", str(folder), "--db", str(db), "--json", "-", "-q"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["groups"] == []
