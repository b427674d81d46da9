"""What a new user met first, driven through the command line on real images."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main

pytestmark = pytest.mark.cli


def test_csv_dash_goes_to_stdout(tmp_path: Path, datasets: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    src = datasets / "imagededup-testdata" / "mixed_images"
    res = CliRunner().invoke(main, ["find", str(src), "-m", "phash", "--no-cache", "--csv", "-"])
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "-").exists()
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == ["group", "path", "exact", "distance", "keep", "suggested_keep", "left_alone", "sha256"]
    assert [Path(r[1]).name for r in rows[1:]] == ["ukbench00120.jpg", "ukbench00120_resize.jpg"]
    assert [r[3] for r in rows[1:]] == ["0", "2"]  # each file's own distance to the keeper (listed first)
    both = CliRunner().invoke(main, ["find", str(src), "-m", "phash", "--no-cache", "--csv", "-", "--json", "-"])
    assert both.exit_code == 2 and "stdout" in both.output
    against = CliRunner().invoke(main, ["find", str(src), "-m", "phash", "--no-cache", "--against", str(src),
                                        "--csv", "-"])
    # the folder holds a damaged JPEG, so the query is incomplete: exit 1 and one error line on stderr (4950e36), the
    # rows still on stdout
    assert against.exit_code == 1 and against.stdout.splitlines()[0] == "query,match,distance,exact", against.output
    assert "could not be read, so not checked" in against.stderr and "error" not in against.stdout


def _three_copies_and_junk(tmp_path: Path, datasets: Path) -> Path:
    folder = tmp_path / "p"
    folder.mkdir()
    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0]
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        shutil.copyfile(photo, folder / name)
    (folder / "bad.jpg").write_text("not a picture")
    return folder


def test_links_left_by_remove_link_sym_are_skipped_links_not_unreadable(tmp_path: Path, datasets: Path) -> None:
    folder = _three_copies_and_junk(tmp_path, datasets)
    res = CliRunner().invoke(main, ["remove", str(folder), "--apply", "--link", "sym", "--no-cache"])
    assert res.exit_code == 0 and "(2 made)" in res.output, res.output
    assert sum(p.is_symlink() for p in folder.iterdir()) == 2
    res = CliRunner().invoke(main, ["find", str(folder), "--no-cache"])
    assert res.exit_code == 0, res.output
    assert "1 image read, 1 unreadable" in res.output  # bad.jpg only
    assert res.output.count("2 symbolic links skipped") == 1
    assert "warning: skipped" in res.output and res.output.count("warning: skipped") == 1  # bad.jpg


def test_quiet_prints_no_per_file_warning(tmp_path: Path, datasets: Path) -> None:
    folder = _three_copies_and_junk(tmp_path, datasets)
    for args in (["find", str(folder)], ["remove", str(folder)], ["report", str(folder), "-o",
                                                                   str(tmp_path / "r.html")]):
        res = CliRunner().invoke(main, [*args, "-q", "--no-cache"])
        assert res.exit_code == 0 and res.output == "", (args, res.output)
    # a query with an unreadable image is incomplete (4950e36): under -q that is one error line, no per-file warning
    res = CliRunner().invoke(main, ["find", str(folder), "--against", str(folder), "-q", "--no-cache"])
    assert res.exit_code == 1 and res.output == f"error: 1 image of {folder} could not be read, so not checked\n", \
        res.output
    res = CliRunner().invoke(main, ["find", str(folder), "-q", "--no-cache", "--fail-on-duplicates"])
    assert res.exit_code == 3  # the exit code still tells
    assert "per-file warnings" in " ".join(CliRunner().invoke(main, ["find", "--help"]).output.split())


def test_a_folder_of_sub_folders_gets_the_same_hint_everywhere(tmp_path: Path, datasets: Path) -> None:
    top = tmp_path / "top"
    top.mkdir()
    _three_copies_and_junk(top, datasets)  # top/p/...: images only in a sub-folder
    for args in (["find", str(top)], ["remove", str(top)], ["report", str(top), "-o", str(tmp_path / "r.html")]):
        res = CliRunner().invoke(main, [*args, "--no-cache"])
        assert res.exit_code == 0 and f"note: no image files found in {top} (try --recursive)" in res.output, \
            (args, res.output)
        res = CliRunner().invoke(main, [*args, "--no-cache", "-r"])
        assert "no image files found" not in res.output, (args, res.output)


def test_tune_on_a_flat_folder_says_the_layout_it_expects(tmp_path: Path, datasets: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:3]:
        shutil.copyfile(p, folder / p.name)
    res = CliRunner().invoke(main, ["tune", str(folder), "-m", "dhash"])
    assert res.exit_code == 2 and "its own sub-folder" in res.output and "--truth" in res.output, res.output


def test_one_bit_is_singular(tmp_path: Path, datasets: Path) -> None:
    """A copy one bit from its original (found by editing a real photo until its dHash moves by 1)."""
    from PIL import Image

    from imagetwins.encoders import get_encoder

    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0]
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copyfile(photo, folder / "a.jpg")
    enc = get_encoder("dhash")
    original = enc.encode_files([folder / "a.jpg"], warn=False).encodings[0]
    with Image.open(photo) as im:
        im = im.convert("RGB")
    for quality in (95, 90, 85, 80, 75, 70, 60, 50, 40, 30, 20, 15, 10, 5):
        im.save(folder / "b.jpg", quality=quality)
        got = enc.encode_files([folder / "b.jpg"], warn=False).encodings[0]
        if bin(int(original) ^ int(got)).count("1") == 1:
            break
    else:
        raise AssertionError("no re-save one bit away")
    res = CliRunner().invoke(main, ["find", str(folder), "-m", "dhash", "--no-cache"])
    assert "up to 1 bit from the keeper" in res.output, res.output
    query = tmp_path / "query"
    query.mkdir()
    (folder / "b.jpg").rename(query / "b.jpg")
    res = CliRunner().invoke(main, ["find", str(query), "-m", "dhash", "--no-cache", "--against", str(folder)])
    assert "(1 bit)" in res.output, res.output


def test_plan_sha256_is_the_full_sha256_even_through_the_cache(tmp_path: Path, datasets: Path, monkeypatch) -> None:
    import hashlib
    import json

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = _three_copies_and_junk(tmp_path, datasets)
    for run in range(2):  # the second run takes the digests from the cache
        out = tmp_path / f"plan{run}.json"
        res = CliRunner().invoke(main, ["find", str(folder), "--json", str(out)])
        assert res.exit_code == 0, res.output
        [group] = json.loads(out.read_text())["groups"]
        assert group["sha256"] == {f: hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in group["files"]}
        res = CliRunner().invoke(main, ["remove", str(folder), "--plan", str(out)])
        assert res.exit_code == 0 and "2 files would move" in res.output, res.output
