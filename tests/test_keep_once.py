"""find --report decides the keepers once per run: each file's keep information is read once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.cli

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"


def test_find_report_reads_each_files_keep_information_once(tmp_path: Path, monkeypatch) -> None:
    """find --report decides the keepers once: each file in a group has its keep information looked up once
    (from the scan's facts, or read by file_info where there are none); it was twice: 12 for the 6 files of
    examples/images."""
    from click.testing import CliRunner

    import imagetwins.keep as keep
    from imagetwins.cli import main

    folder = tmp_path / "images"
    shutil.copytree(EXAMPLES, folder)
    reads: list[str] = []
    real_read, real_facts = keep.file_info, keep._info_from_facts

    def read(path):
        reads.append(str(path))
        return real_read(path)

    def from_facts(path, facts):
        reads.append(str(path))
        return real_facts(path, facts)

    monkeypatch.setattr(keep, "file_info", read)
    monkeypatch.setattr(keep, "_info_from_facts", from_facts)
    res = CliRunner().invoke(main, ["find", str(folder), "-m", "phash", "--no-cache",
                                    "--report", str(tmp_path / "r.html"), "--json", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "r.json").read_text())
    in_groups = [f for g in data["groups"] for f in g["files"]]
    assert len(in_groups) == 6 and sorted(reads) == sorted(in_groups), reads
    assert (tmp_path / "r.html").stat().st_size > 0
