"""What a new user met (second batch): outputs imagetwins writes, pipes, caches, driven on real images."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main


def _photos(tmp_path: Path, datasets: Path, n: int = 3) -> Path:
    folder = tmp_path / "lib"
    (folder / "sub").mkdir(parents=True)
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:n]
    shutil.copyfile(photos[0], folder / "a.jpg")
    shutil.copyfile(photos[0], folder / "sub" / "a copy.jpg")
    for k, p in enumerate(photos[1:]):
        shutil.copyfile(p, folder / f"other{k}.jpg")
    return folder


@pytest.mark.cli
def test_review_page_thumbnails_are_never_scanned_as_photos(tmp_path: Path, datasets: Path) -> None:
    import imagetwins
    from imagetwins.io import find_images
    from imagetwins.report import write_html_report

    folder = _photos(tmp_path, datasets)
    before = find_images(folder, recursive=True)
    result = imagetwins.find(folder, recursive=True, method="phash", keep="original")
    assert len(result.groups) == 1
    write_html_report(result, folder / "review.html", embed=False)  # thumbnails in folder/review_files/
    assert sorted(p.name for p in (folder / "review_files").iterdir() if p.suffix == ".jpg") == ["0.jpg", "1.jpg"]
    assert find_images(folder, recursive=True) == before  # the thumbnails are ours, not photos
    res = CliRunner().invoke(main, ["find", str(folder), "-r", "-m", "phash", "--no-cache"])
    assert res.exit_code == 0 and "4 images read" in res.output, res.output


@pytest.mark.cli
@pytest.mark.parametrize("extra", [[], ["--csv", "-", "-q"]])
def test_stdout_closed_by_its_reader_stops_quietly(tmp_path: Path, datasets: Path, extra: list[str]) -> None:
    """`imagetwins find DIR | head`: the reader goes away; no traceback, no error line, exit 141 (as SIGPIPE)."""
    import os
    import subprocess
    import sys

    folder = _photos(tmp_path, datasets)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1] / "src"))
    proc = subprocess.Popen([sys.executable, "-m", "imagetwins", "find", str(folder), "-r", "-m", "phash",
                             "--no-cache", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert "Traceback" not in err and "Broken pipe" not in err and "error" not in err, err


@pytest.mark.cli
def test_two_outputs_naming_one_file_is_a_usage_error(tmp_path: Path, datasets: Path, monkeypatch) -> None:
    folder = _photos(tmp_path, datasets)
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["find", str(folder), "-r", "-m", "phash", "--no-cache", "--csv", "out.csv",
                                    "--json", str(tmp_path / "out.csv"), "-q"])
    line = res.output.strip().splitlines()[-1]
    assert res.exit_code == 2 and "--csv" in line and "--json" in line and "both write" in line, res.output
    assert not (tmp_path / "out.csv").exists()
    res = CliRunner().invoke(main, ["report", str(folder), "-r", "-m", "phash", "--no-cache", "-o", "r.html",
                                    "--json", "r.html"])
    assert res.exit_code == 2 and "--output and --json both write" in res.output, res.output
    res = CliRunner().invoke(main, ["find", str(folder), "-r", "-m", "phash", "--no-cache", "--csv", "a.csv",
                                    "--json", "a.json", "-q"])
    assert res.exit_code == 0 and (tmp_path / "a.csv").exists() and (tmp_path / "a.json").exists(), res.output
