"""Thousands of byte-identical copies of one photo (a crowd): what ``find`` writes of them grows with the files, not
with their pairs. ``find --json --pairs`` wrote every pair of the set (2,000 copies: ~2 M records, 226 MB of JSON,
16 s): each set of files holding one content is one record now (``byte_identical``), and every other record names the
set's first file (``FindResult.pair_records``). benchmarks/bench_crowd.py measures 500/1,000/2,000."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from imagetwins.cli import main

pytestmark = pytest.mark.cli


@pytest.fixture()
def crowd(datasets: Path, tmp_path: Path) -> Path:
    """40 byte copies of one photo, a half-size copy of it, and 3 byte copies of that half-size copy."""
    folder = tmp_path / "crowd"
    folder.mkdir()
    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[3]
    for k in range(40):
        shutil.copyfile(photo, folder / f"p{k:02d}.jpg")
    with Image.open(photo) as im:
        im.convert("RGB").resize((im.width // 2, im.height // 2)).save(folder / "half0.jpg", quality=90)
    for k in range(1, 4):
        shutil.copyfile(folder / "half0.jpg", folder / f"half{k}.jpg")
    return folder


def _pairs(folder: Path, *method: str) -> list[dict]:
    res = CliRunner().invoke(main, ["find", str(folder), *method, "--no-cache", "--json", "-", "--pairs"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)["pairs"]


@pytest.mark.parametrize("method", [["-m", "phash"], []], ids=["phash", "copies"])
def test_find_pairs_writes_each_byte_identical_set_once(crowd: Path, method: list) -> None:
    pairs = _pairs(crowd, *method)
    sets = sorted(sorted(Path(f).name for f in p["byte_identical"]) for p in pairs if "byte_identical" in p)
    assert sets == [[f"half{k}.jpg" for k in range(4)], [f"p{k:02d}.jpg" for k in range(40)]]
    for p in pairs:
        if "byte_identical" in p:
            assert [p["a"], p["b"]] == p["byte_identical"][:2]
            if not method:
                assert p["verdict"] == "copy" and p["confidence"] == 1.0
            else:
                assert p["distance"] == 0
    # the rest name each set's first file: the photo against its half-size copy, once (was 40 x 4 + 780 + 6)
    rest = [(Path(p["a"]).name, Path(p["b"]).name) for p in pairs if "byte_identical" not in p]
    assert rest == [("half0.jpg", "p00.jpg")] or rest == [("p00.jpg", "half0.jpg")]
    assert len(pairs) == 3


def test_the_text_names_each_byte_copy_s_holder(crowd: Path) -> None:
    """The text's "byte-identical to" of a group of edited copies holding byte copies (DuplicateGroup.byte_copy_sets,
    linear; byte_copies listed every other file per file)."""
    res = CliRunner().invoke(main, ["find", str(crowd), "-m", "phash", "--no-cache"])
    assert res.exit_code == 0, res.output
    lines = [line for line in res.output.splitlines() if line.startswith("  ")]
    assert len(lines) == 44
    said = {line.split()[-1].rstrip(")"): line for line in lines}
    assert sum("(byte-identical to the keeper)" in line for line in lines) == 39
    assert sum("byte-identical to " in line and "half0.jpg" in line.split("byte-identical to ")[1]
               for line in lines) == 3, said
