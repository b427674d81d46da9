"""What attack3 (session 13) found in the file-touching changes of the session: a plan holding an integer of more
digits than Python converts, and a plan naming a file by a name longer than any path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main

pytestmark = pytest.mark.cli

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str):
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res


@pytest.fixture
def planned(tmp_path: Path) -> tuple[Path, Path, dict]:
    """The example pictures and the plan ``find --json`` writes of them."""
    album = tmp_path / "album"
    shutil.copytree(REPO / "examples" / "images", album)
    plan = tmp_path / "plan.json"
    res = _run("find", album, "--json", plan, "-q", "--no-cache", "-m", "phash")
    assert res.exit_code == 0, res.output
    return album, plan, json.loads(plan.read_text())


def test_a_plan_holding_an_integer_of_5000_digits_is_refused_in_one_line(planned) -> None:
    """json.loads raises a ValueError that is no JSONDecodeError past 4,300 digits: ``remove --plan`` and
    ``decisions import`` ended in a traceback ('Exceeds the limit (4300 digits) for integer string conversion')."""
    album, plan, doc = planned
    text = json.dumps(doc)
    plan.write_text(text[:-1] + ', "note": ' + "9" * 5000 + "}")
    res = _run("remove", album, "--plan", plan)
    assert res.exit_code == 1 and f"{plan}: not JSON (a number of too many digits, line 1)" in res.output, res.output
    res = _run("decisions", "import", plan)
    assert res.exit_code != 0 and "a number of too many digits" in res.output, res.output


def test_a_plan_naming_a_file_by_a_name_longer_than_any_path_is_refused_in_one_short_line(planned) -> None:
    """A group's file named by 2 MiB of one letter was refused file by file, each refusal printing the whole name
    (a 120 MiB one: 126 MB on the terminal, 0.9 GB peak). Now the plan is refused in one line, the name cut short."""
    album, plan, doc = planned
    doc["groups"][0]["files"].append("a" * (2 << 20))
    plan.write_text(json.dumps(doc))
    res = _run("remove", album, "--plan", plan)
    assert res.exit_code == 1 and len(res.output) < 1000, res.output[:2000]
    assert "(2,097,152 characters, longer than any path: 32,767) cannot be a file's name" in res.output
