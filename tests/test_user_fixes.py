"""What a new user met first, driven through the command line on real images."""

from __future__ import annotations

import csv
import io
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
