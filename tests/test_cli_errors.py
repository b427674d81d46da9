"""Bad requests from the command line end with one clear line and a non-zero exit, never a traceback,
and before any work is done. Real images."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_clear_line(res, *words: str, code: int = 1) -> None:
    assert res.exit_code == code, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    errors = [x for x in res.output.splitlines() if x.startswith("Error:")]
    assert len(errors) == 1, res.output
    for w in words:
        assert w in errors[0], errors[0]


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    root = tmp_path / "album"
    shutil.copytree(datasets / "imagededup-testdata" / "mixed_images", root)
    return root


def test_outputs_into_a_missing_folder(tmp_path: Path, album: Path) -> None:
    missing = tmp_path / "no" / "such"
    cases = [
        (["find", album, "--json", missing / "d.json"], "--json"),
        (["find", album, "--csv", missing / "d.csv"], "--csv"),
        (["find", album, "--report", missing / "r.html"], "--report"),
        (["find", album, "--against", album, "--json", missing / "a.json"], "--json"),
        (["report", album, "-o", missing / "r.html"], "--output"),
        (["plot", album, "ukbench00120.jpg", "-o", missing / "p.png"], "--output"),
        (["tune", album, "--json", missing / "t.json"], "--json"),
        (["tune", album, "--plot", missing / "t.png"], "--plot"),
    ]
    for args, option in cases:
        one_clear_line(run(*args), option, str(missing), "does not exist")
    assert not (tmp_path / "no").exists()


def test_plots_without_matplotlib_name_the_extra(tmp_path: Path, album: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    for args in (["plot", album, "ukbench00120.jpg", "-o", tmp_path / "p.png"],
                 ["tune", album, "--truth", _truth(tmp_path), "--plot", tmp_path / "pr.png"]):
        one_clear_line(run(*args), "matplotlib", "imagetwins[plot]")
    assert not (tmp_path / "p.png").exists() and not (tmp_path / "pr.png").exists()


def _truth(tmp_path: Path, data: object = None) -> Path:
    path = tmp_path / "truth.json"
    if data is None:
        data = [["ukbench00120.jpg", "ukbench00120_resize.jpg", "ukbench00120_hflip.jpg"]]
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


@pytest.mark.parametrize(("truth", "words"), [
    ("{not json", ["not valid JSON", "line 1"]),
    ({"ukbench00120.jpg": "ukbench00120_resize.jpg"}, ["must map to a list of file names"]),
    ([["/abs/ukbench00120.jpg", "ukbench00120_resize.jpg"]], ["absolute path", "/abs/ukbench00120.jpg"]),
    ({"ukbench00120.jpg": [1, 2]}, ["must be strings", "1 (int)"]),
    ([[3, "ukbench00120.jpg"]], ["must be strings"]),
    ({"g1": "ukbench00120.jpg"}, ["must map to a list"]),
    ("\"just a string\"", ["must be a map", "or a list of groups"]),
])
def test_tune_refuses_a_malformed_ground_truth(tmp_path: Path, album: Path, truth, words) -> None:
    path = _truth(tmp_path, truth)
    one_clear_line(run("tune", album, "--truth", path), str(path), *words)


def test_tune_accepts_a_good_ground_truth_with_plot(tmp_path: Path, album: Path) -> None:
    pytest.importorskip("matplotlib")
    res = run("tune", album, "--truth", _truth(tmp_path), "-m", "phash", "--plot", tmp_path / "pr.png",
              "--json", tmp_path / "t.json")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "pr.png").stat().st_size > 1000
    assert json.loads((tmp_path / "t.json").read_text())["positives"] == 3


def test_plot_threshold_out_of_range_is_a_usage_error(album: Path) -> None:
    one_clear_line(run("plot", album, "ukbench00120.jpg", "-t", "100"), "0..64", code=2)
    one_clear_line(run("plot", album, "ukbench00120.jpg", "-m", "cnn", "-t", "2"), "-1..1", code=2)


def test_plot_takes_recursive_and_cnn_like_find(tmp_path: Path, album: Path, fake_cnn) -> None:
    pytest.importorskip("matplotlib")
    nested = tmp_path / "nested"
    (nested / "sub").mkdir(parents=True)
    shutil.copy(album / "ukbench00120.jpg", nested / "a.jpg")
    shutil.copy(album / "ukbench00120_resize.jpg", nested / "sub" / "a_small.jpg")
    out = tmp_path / "p.png"
    res = run("plot", nested, "a.jpg", "-r", "-m", "cnn", "-o", out)
    assert res.exit_code == 0, res.output
    assert "1 duplicate of a.jpg" in res.output and out.stat().st_size > 1000
    one_clear_line(run("plot", nested, "a.jpg", "-m", "cnn", "-o", out), "no duplicates")  # without -r
