"""The exit code of a check that found a leak and could not read everything (stranger4, session 15)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main

pytestmark = pytest.mark.cli


def test_a_leak_found_in_an_incomplete_check_exits_3_in_each_command(tmp_path: Path) -> None:
    """Help and README said 3 on a leak and 1 when the check was incomplete, not which a check with both exits with
    (a newcomer's CI gate reads the code): 3, with the incomplete check's error line, in ``check``, ``find --against
    --fail-on-duplicates`` and ``index query --fail-on-duplicates`` alike (as said now)."""
    beach = Path(__file__).resolve().parents[1] / "examples" / "images" / "beach.jpg"
    ref, query = tmp_path / "ref", tmp_path / "uploads"
    ref.mkdir()
    query.mkdir()
    shutil.copy(beach, ref / "beach.jpg")
    shutil.copy(beach, query / "beach.jpg")
    (query / "broken.jpg").write_bytes(beach.read_bytes()[:1500])
    db = tmp_path / "ref.db"
    assert CliRunner().invoke(main, ["index", "update", str(ref), "--db", str(db), "-m", "phash"]).exit_code == 0
    said = f"error: 1 image of {query} could not be read, so not checked"
    for command in (["check", str(query), "--against", str(db), "-m", "phash"],
                    ["find", str(query), "--against", str(db), "--fail-on-duplicates"],
                    ["index", "query", str(query), "--db", str(db), "--fail-on-duplicates"]):
        res = CliRunner().invoke(main, command)
        assert res.exit_code == 3 and said in res.output.splitlines(), (command, res.output)
