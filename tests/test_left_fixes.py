"""Small user-facing defects found by a new user's run (coord/stranger-report.md) and fixed one by one: each test
failed before its fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main

REPO = Path(__file__).resolve().parents[1]


def run(*args, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


@pytest.fixture
def album(tmp_path: Path) -> Path:
    root = tmp_path / "album"
    shutil.copytree(REPO / "examples" / "images", root)
    return root


@pytest.fixture
def no_home(tmp_path: Path, monkeypatch) -> Path:
    """HOME names a folder that does not exist (a service account's ``HOME=/nonexistent``), no XDG folders set."""
    home = tmp_path / "nonexistent"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    return home


@pytest.mark.cli
def test_no_home_folder_means_no_cache_said_in_one_line_and_no_home_made(album: Path, no_home: Path) -> None:
    res = run("find", album)
    assert res.exit_code == 0, res.output
    said = [line for line in res.output.splitlines() if "home folder" in line]
    assert len(said) == 1 and said[0].startswith("warning: no cache this time") and str(no_home) in said[0], res.output
    assert "3 duplicate groups" in res.output
    plan = album.parent / "plan.json"
    assert run("find", album, "--json", plan).exit_code == 0
    doc = json.loads(plan.read_text())
    group = doc["groups"][0]
    group["keep"] = group["files"][1]  # a person's choice: remembered when the plan is applied
    plan.write_text(json.dumps(doc))
    res = run("remove", album, "--plan", plan, "--apply")
    assert res.exit_code == 1 and "no usable home folder" in res.output and "nothing moved" in res.output, res.output
    assert "Traceback" not in res.output
    assert not no_home.exists()


@pytest.mark.unit
def test_no_home_folder_library_runs_without_a_cache_and_makes_no_home(tmp_path: Path, no_home: Path) -> None:
    from conftest import synthetic_photo

    import imagetwins
    from imagetwins.spill import SpillFile

    folder = tmp_path / "pics"
    folder.mkdir()
    synthetic_photo(seed=1).save(folder / "a.jpg")
    shutil.copy(folder / "a.jpg", folder / "b.jpg")
    with pytest.warns(UserWarning, match="no usable home folder"):
        result = imagetwins.find(folder, "phash")
    assert len(result.groups) == 1
    spill = SpillFile()  # in the system's temporary folder instead
    assert spill.get(spill.put(b"spilled"), 7) == b"spilled"
    spill.close()
    assert not no_home.exists()
