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


@pytest.fixture()
def resaved(datasets: Path, tmp_path: Path) -> Path:
    """30 saves of one photo's very pixels with other metadata (a comment after the picture: other bytes, one
    encoding), 3 byte copies of the first save, and a 0.6-size copy of the photo."""
    folder = tmp_path / "resaved"
    folder.mkdir()
    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[3]
    data = photo.read_bytes()
    for k in range(30):
        (folder / f"v{k:02d}.jpg").write_bytes(data + f"saved by tool {k}".encode())
    for k in range(1, 4):
        shutil.copyfile(folder / "v00.jpg", folder / f"v00 copy {k}.jpg")
    with Image.open(photo) as im:
        im.convert("RGB").resize((im.width * 3 // 5, im.height * 3 // 5)).save(folder / "small.jpg", quality=85)
    return folder


def _expanded(records: list[dict]) -> set[frozenset]:
    """Every pair the records stand for, as the docstring of FindResult.pair_records says to list them."""
    byte = {r["byte_identical"][0]: r["byte_identical"] for r in records if "byte_identical" in r}
    enc = {r["same_encoding"][0]: r["same_encoding"] for r in records if "same_encoding" in r}

    def files(name: str) -> list[str]:
        return [f for e in enc.get(name, [name]) for f in byte.get(e, [e])]

    pairs = set()
    for r in records:
        listed = r.get("byte_identical") or [f for e in r.get("same_encoding", []) for f in byte.get(e, [e])]
        if listed:
            pairs |= {frozenset((x, y)) for i, x in enumerate(listed) for y in listed[i + 1:]}
        else:
            pairs |= {frozenset((x, y)) for x in files(r["a"]) for y in files(r["b"])}
    return pairs


@pytest.mark.parametrize("method", ["phash", "copies"])
def test_find_pairs_writes_each_same_encoding_set_once(resaved: Path, method: str) -> None:
    """One picture saved with other metadata, many times: N(N-1)/2 records before (30 saves + 3 byte copies: 528 of
    them), one now (``same_encoding``); expanded as documented, the records are every pair the result holds."""
    import imagetwins

    result = imagetwins.find(resaved, method, cache=False)
    records = list(result.pair_records())
    assert len(result.pairs) >= 528
    [enc] = [r for r in records if "same_encoding" in r]
    [byte] = [r for r in records if "byte_identical" in r]
    assert sorted(Path(f).name for f in byte["byte_identical"]) == ["v00 copy 1.jpg", "v00 copy 2.jpg",
                                                                     "v00 copy 3.jpg", "v00.jpg"]
    listed = enc["same_encoding"]
    assert listed == sorted(listed, key=result.files.index)  # in the files' order
    names = {Path(f).name for f in listed}
    assert {f"v{k:02d}.jpg" for k in range(1, 30)} <= names and byte["a"] in listed  # the byte set by its first
    assert not {n for n in names if n.startswith("v00")} - {Path(byte["a"]).name}
    assert [enc["a"], enc["b"]] == listed[:2]
    assert enc[str(result.score_kind)] == result.score_kind.value(result.score_kind.exact)
    hidden = set(listed[1:]) | set(byte["byte_identical"][1:])
    for r in records:  # every other record names only a set's first file
        if "same_encoding" not in r and "byte_identical" not in r:
            assert not {r["a"], r["b"]} & hidden
    assert len(records) <= 3
    assert _expanded(records) == {frozenset((result.files[i], result.files[j]))
                                  for i, j in zip(result.pairs.left.tolist(), result.pairs.right.tolist())}


def test_find_pairs_json_names_same_encoding_sets(resaved: Path) -> None:
    pairs = _pairs(resaved, "-m", "phash")
    assert sum("same_encoding" in p for p in pairs) == 1 and len(pairs) <= 3


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
