"""What a new user met (second batch): outputs imagetwins writes, pipes, caches, driven on real images."""

from __future__ import annotations

import shutil
from itertools import chain
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CallCount

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
    # one thumbnail for a.jpg and its byte copy (named by its content's SHA-256 digits)
    assert len([p for p in (folder / "review_files").iterdir() if p.suffix == ".jpg"]) == 1
    assert find_images(folder, recursive=True) == before  # the thumbnails are ours, not photos
    from imagetwins.io import OUTPUT_MARKER
    from imagetwins.writing import OUTPUT_FOLDER_MARK

    assert OUTPUT_MARKER == OUTPUT_FOLDER_MARK  # the mark the writer leaves is the one the scan skips
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


@pytest.mark.integration
def test_files_moved_away_and_back_keep_their_cached_rows(tmp_path: Path, datasets: Path) -> None:
    """remove --apply then undo: the same bytes, size and mtime, a new ctime (a new inode across devices). The
    rows stand (no decode); a file whose bytes changed under the same size and mtime is read again."""
    import os

    from imagetwins.index import Index

    folder = _photos(tmp_path, datasets, n=4)
    with Index(tmp_path / "i.db", ["phash"]) as index:
        assert index.update(folder).added == 5
        away = tmp_path / "away"
        away.mkdir()
        names = sorted(p.name for p in folder.glob("*.jpg"))
        for name in names:  # renamed away and back: a new ctime
            os.rename(folder / name, away / name)
            os.rename(away / name, folder / name)
        copied = folder / "other0.jpg"  # a copy put back with its dates: a new inode too
        st = copied.stat()
        data = copied.read_bytes()
        copied.unlink()
        copied.write_bytes(data)
        os.utime(copied, ns=(st.st_atime_ns, st.st_mtime_ns))
        stats = index.update(folder)
        assert (stats.unchanged, stats.changed, stats.added) == (5, 0, 0)
        edited = folder / "other1.jpg"  # same size and mtime, other bytes: never trusted
        st = edited.stat()
        data = bytearray(edited.read_bytes())
        data[len(data) // 2] ^= 0xFF
        edited.write_bytes(bytes(data))
        os.utime(edited, ns=(st.st_atime_ns, st.st_mtime_ns))
        stats = index.update(folder)
        assert (stats.unchanged, stats.changed) == (4, 1)
        assert index.update(folder).unchanged == 5  # its new row trusted from then on


@pytest.mark.integration
def test_a_sub_folder_takes_its_rows_from_the_parent_folders_cache(tmp_path: Path, datasets: Path,
                                                                   monkeypatch) -> None:
    """`find big -r` then `find big/a`: big/a's files are not read again; a file changed since is."""
    import os

    import numpy as np

    from imagetwins import index as index_module
    from imagetwins.index import open_folder_cache

    folder = _photos(tmp_path, datasets, n=4)
    sub = folder / "sub"
    for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[10:13]:
        shutil.copyfile(p, sub / p.name)
    with open_folder_cache(folder, ["phash"]) as parent:
        assert parent.update(folder, recursive=True).added == 8
        want = parent.load("phash")
    edited = sub / sorted(p.name for p in sub.glob("bsds*"))[0]
    os.utime(edited, ns=(0, 10**18))  # changed since the parent's scan: read again
    encoded = CallCount(monkeypatch, index_module, "encode_files")
    with open_folder_cache(sub, ["phash"]) as child:
        assert child.update(sub, recursive=True).added == 4
        got = child.load("phash")
    assert [*chain.from_iterable(encoded.firsts)] == [str(edited)]
    rows = dict(zip(want[0], want[1]))
    for path, row in zip(*got):
        assert np.array_equal(row, rows[path])


@pytest.mark.cli
def test_every_plan_names_the_whole_sha256_also_through_the_cache(tmp_path: Path, datasets: Path) -> None:
    """find --json wrote 64 hex digits; folders --json and the review page's plan the cache's 32."""
    import json
    import re

    folder = tmp_path / "lib"
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:2]
    for sub in ("a", "b"):
        (folder / sub).mkdir(parents=True)
        for p in photos:
            shutil.copyfile(p, folder / sub / p.name)
    args = [str(folder), "-r", "-m", "phash"]
    assert CliRunner().invoke(main, ["find", *args, "-q"]).exit_code == 0  # the cache holds 32 digits now
    res = CliRunner().invoke(main, ["folders", *args, "--json", str(tmp_path / "f.json"), "-q"])
    assert res.exit_code == 0, res.output
    plan = json.loads((tmp_path / "f.json").read_text())
    digests = [d for f in plan["folders"] for v in f["files"].values() for d in (v["sha256"], v["copy_sha256"])]
    assert len(digests) == 4 and all(re.fullmatch("[0-9a-f]{64}", d) for d in digests), digests
    res = CliRunner().invoke(main, ["report", *args, "-o", str(tmp_path / "r.html"), "-q"])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "r.html").read_text()
    shown = re.findall(r'"sha256":"([0-9a-f]*)"', page)
    assert len(shown) == 4 and all(len(d) == 64 for d in shown), shown


@pytest.mark.cli
def test_csv_names_copies_scores_confidence(tmp_path: Path, datasets: Path) -> None:
    folder = _photos(tmp_path, datasets)
    res = CliRunner().invoke(main, ["find", str(folder), "-r", "--no-cache", "--csv", "-", "-q"])
    header = "group,path,exact,confidence,keep,suggested_keep,left_alone,sha256,recoloured"  # (copies' mark last)
    assert res.exit_code == 0 and res.stdout.splitlines()[0] == header, res.output
    res = CliRunner().invoke(main, ["check", str(folder / "sub"), "--against", str(folder), "--no-cache", "--csv",
                                    "-", "-q"])
    assert res.stdout.splitlines()[0] == "query,match,confidence,verdict,recoloured,exact", res.output


@pytest.mark.cli
def test_explain_says_same_file_and_byte_identical(tmp_path: Path, datasets: Path) -> None:
    import json

    folder = _photos(tmp_path, datasets)
    a, copy, other = folder / "a.jpg", folder / "sub" / "a copy.jpg", folder / "other0.jpg"
    res = CliRunner().invoke(main, ["explain", str(a), str(a), "-m", "phash"])
    assert res.exit_code == 0 and "the same file: both names lead to one file" in res.output, res.output
    assert "DUPLICATE" not in res.output and "phash" not in res.output, res.output  # (it went on: "duplicate")
    res = CliRunner().invoke(main, ["explain", str(a), str(copy), "-m", "phash", "--json", "-"])
    assert res.exit_code == 0 and json.loads(res.stdout)["identical"] == "byte-identical", res.output
    res = CliRunner().invoke(main, ["explain", str(a), str(other), "-m", "phash"])
    assert res.exit_code == 0 and "same file" not in res.output and "byte-identical" not in res.output, res.output
