"""What a new user met first, driven through the command line on real images."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from click.testing import CliRunner

from imagetwins.cli import main


def test_csv_dash_goes_to_stdout(tmp_path: Path, datasets: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    src = datasets / "imagededup-testdata" / "mixed_images"
    res = CliRunner().invoke(main, ["find", str(src), "--no-cache", "--csv", "-"])
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "-").exists()
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == ["group", "path", "exact", "distance", "keep"]
    assert [Path(r[1]).name for r in rows[1:]] == ["ukbench00120.jpg", "ukbench00120_resize.jpg"]
    assert [r[3] for r in rows[1:]] == ["0", "2"]  # each file's own distance to the keeper (listed first)
    both = CliRunner().invoke(main, ["find", str(src), "--no-cache", "--csv", "-", "--json", "-"])
    assert both.exit_code == 2 and "stdout" in both.output
    against = CliRunner().invoke(main, ["find", str(src), "--no-cache", "--against", str(src), "--csv", "-"])
    assert against.exit_code == 0 and against.stdout.splitlines()[0] == "query,match,distance", against.output


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
                                                                   str(tmp_path / "r.html")],
                 ["find", str(folder), "--against", str(folder)]):
        res = CliRunner().invoke(main, [*args, "-q", "--no-cache"])
        assert res.exit_code == 0 and res.output == "", (args, res.output)
    res = CliRunner().invoke(main, ["find", str(folder), "-q", "--no-cache", "--fail-on-duplicates"])
    assert res.exit_code == 3  # the exit code still tells
    assert "per-file warnings" in CliRunner().invoke(main, ["find", "--help"]).output
