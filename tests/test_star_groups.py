"""Groups are stars around their keeper: a file is only proposed for removal if it matches the keeper itself.

Matches are not transitive: connected components of the match graph chained dozens of different photos
into one group (``find -m whash`` on photos-public + ukbench), and ``remove`` would have moved them.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from imagetwins.cli import main
from imagetwins.encoders import get_encoder
from imagetwins.search import groups_from_pairs
from imagetwins.search.pairs import Pairs

pytestmark = pytest.mark.cli

THRESHOLD = 10


def _photos(datasets: Path) -> list[Path]:
    return (sorted((datasets / "photos-public" / "images").iterdir())[:60]
            + sorted((datasets / "ukbench-600" / "images").iterdir())[:40])


def _distances(files: list[Path]) -> np.ndarray:
    """whash distance of every pair, computed here independently of the search."""
    enc = get_encoder("whash").encode_files(files, warn=False)
    assert len(enc.paths) == len(files)
    bits = np.unpackbits(np.ascontiguousarray(enc.encodings).view(np.uint8).reshape(len(files), -1), axis=1)
    return (bits[:, None, :] != bits[None, :, :]).sum(axis=2)


def test_whash_groups_hold_no_member_beyond_the_threshold_from_the_keeper(tmp_path: Path, datasets: Path) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    files = []
    for p in _photos(datasets):
        files.append(folder / f"{p.parent.parent.name}_{p.name}")
        shutil.copyfile(p, files[-1])
    dist = _distances(files)
    # the data does chain: some connected set of matches holds two files farther apart than the threshold
    close = np.argwhere(np.triu(dist <= THRESHOLD, 1))
    components = groups_from_pairs(len(files), Pairs(close[:, 0], close[:, 1], np.zeros(len(close), np.uint8)))
    assert max(dist[np.ix_(c, c)].max() for c in components) > THRESHOLD
    out = tmp_path / "r.json"
    res = CliRunner().invoke(main, ["find", str(folder), "-m", "whash", "-t", str(THRESHOLD), "--no-cache",
                                    "--json", str(out), "--csv", str(tmp_path / "r.csv")])
    assert res.exit_code == 0, res.output
    where = {str(f): k for k, f in enumerate(files)}
    groups = json.loads(out.read_text())["groups"]
    assert groups
    lines = res.output.splitlines()
    for n, g in enumerate(groups, 1):
        keeper = where[g["keep"]]
        assert g["files"][0] == g["keep"]  # the keeper first
        spread = max(int(dist[keeper, where[f]]) for f in g["files"])
        assert spread <= THRESHOLD, g
        assert g["max_distance"] == spread  # the header's figure is the real spread vs the keeper
        header = next(line for line in lines if line.startswith(f"group {n}:"))
        assert header.endswith(f"up to {spread} bits from the keeper") or spread == 0, header
        assert lines[lines.index(header) + 1].startswith("  keep  ")
    # each CSV row carries its own file's distance to its keeper
    with (tmp_path / "r.csv").open(newline="") as f:
        header, *rows = csv.reader(f)
    assert rows and header[:4] == ["group", "path", "exact", "distance"], header
    keepers = {n: where[g["keep"]] for n, g in enumerate(groups, 1)}
    for gi, path, _exact, score, *_ in rows:
        assert int(score) == dist[keepers[int(gi)], where[path]]
    # and remove moves nothing that is not within the threshold of the file it keeps
    res = CliRunner().invoke(main, ["remove", str(folder), "-m", "whash", "-t", str(THRESHOLD), "--no-cache"])
    assert res.exit_code == 0, res.output
    moves = [line.split() for line in res.output.splitlines() if line.startswith("would move ")]
    assert moves
    for words in moves:
        src, keeper = words[2], words[-1].rstrip(")")
        assert dist[where[src], where[keeper]] <= THRESHOLD


def test_a_chain_does_not_put_c_in_the_group_of_a(tmp_path: Path, datasets: Path) -> None:
    """A ~ B ~ C with A and C far apart, A kept (reference folder): C is not proposed as A's copy."""
    photos = _photos(datasets)
    dist = _distances(photos)
    n = len(photos)
    chain = next((a, b, c) for b in range(n) for a in range(n) for c in range(n)
                 if len({a, b, c}) == 3 and dist[a, b] <= THRESHOLD and dist[b, c] <= THRESHOLD
                 and dist[a, c] > THRESHOLD)
    a, b, c = (photos[k] for k in chain)
    (tmp_path / "ref").mkdir()
    shutil.copyfile(a, tmp_path / "ref" / "a.jpg")
    shutil.copyfile(b, tmp_path / "b.jpg")
    shutil.copyfile(c, tmp_path / "c.jpg")
    out = tmp_path / "r.json"
    res = CliRunner().invoke(main, ["find", str(tmp_path), "-r", "-m", "whash", "-t", str(THRESHOLD), "--no-cache",
                                    "--keep-in", str(tmp_path / "ref"), "--json", str(out)])
    assert res.exit_code == 0, res.output
    groups = json.loads(out.read_text())["groups"]
    assert [(Path(g["keep"]).name, sorted(Path(f).name for f in g["files"])) for g in groups] == \
        [("a.jpg", ["a.jpg", "b.jpg"])]
    res = CliRunner().invoke(main, ["remove", str(tmp_path), "-r", "-m", "whash", "-t", str(THRESHOLD),
                                    "--no-cache", "--keep-in", str(tmp_path / "ref")])
    assert "c.jpg" not in res.output and "1 file would move" in res.output, res.output
    # the review page shows the same star, its thumbnails on the right cards
    page = tmp_path / "page.html"
    res = CliRunner().invoke(main, ["report", str(tmp_path), "-r", "-m", "whash", "-t", str(THRESHOLD), "--no-cache",
                                    "--keep-in", str(tmp_path / "ref"), "-o", str(page)])
    assert res.exit_code == 0, res.output
    text = page.read_text()
    data = json.loads(text[text.index('type="application/json">') + 24:text.index("</script>")])
    [group] = data["groups"]
    assert [Path(c["path"]).name for c in group["files"]] == ["a.jpg", "b.jpg"] and group["keep"] == 0
    assert all(c["thumb"] for c in group["files"])
