"""The review page's export never moves a group nobody reviewed, and leaving open groups alone is not remembered
(the stranger's report: "Export decisions" after "Accept exact duplicates" set every open group to move; "Leave
every open group alone" then made them permanent 'left alone' decisions, against docs/review.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import exported_decisions
from PIL import Image

from imagetwins.cli import main
from imagetwins.decisions import DecisionStore
from imagetwins.plan import check_plan, load_plan


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    """Two byte-identical pairs and two resized copies: 2 exact groups, 2 open ones."""
    root = tmp_path / "album"
    (root / "old").mkdir(parents=True)
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[20:26]
    for p in photos:
        shutil.copy(p, root / p.name)
    for p in photos[:2]:
        shutil.copy(p, root / "old" / p.name)
    for p in photos[2:4]:
        with Image.open(p) as im:
            im.reduce(2).save(root / "old" / f"small_{p.name}", quality=90)
    return root


def _export(browser, press) -> dict:
    from selenium.webdriver.common.by import By

    for old in browser.downloads.glob("*.json"):
        old.unlink()
    press()
    found = exported_decisions(browser)
    notice = browser.find_element(By.ID, "notice").text
    return {"plan": json.loads(found.read_text()), "path": found, "notice": notice}


def _moving(output: str) -> list[str]:
    return [ln.split()[2] for ln in output.splitlines() if ln.startswith("would move ")]


@pytest.mark.cli
def test_a_stray_x_moves_no_group_nobody_reviewed(tmp_path: Path, album: Path, browser) -> None:
    from selenium.webdriver.common.by import By

    page = tmp_path / "review.html"
    assert run("report", album, "-r", "-o", page).exit_code == 0
    browser.get(page.as_uri())
    assert browser.find_element(By.ID, "open").text.startswith("4 of 4")
    browser.find_element(By.ID, "bulk-exact").click()
    assert browser.find_element(By.ID, "open").text.startswith("2 of 4")
    body = browser.find_element(By.TAG_NAME, "body")
    got = _export(browser, lambda: body.send_keys("x"))
    groups = got["plan"]["groups"]
    assert sum(g["unreviewed"] for g in groups) == 2 and sum(g["reviewed"] for g in groups) == 2
    assert all(g["skip"] and g["keep"] is None and g["suggested_keep"] for g in groups if g["unreviewed"])
    assert "2 groups nobody reviewed left alone" in got["notice"], got["notice"]
    res = run("remove", album, "--plan", got["path"])
    assert res.exit_code == 0, res.output
    assert sorted(Path(p).name for p in _moving(res.output)) == sorted(p.name for p in (album / "old").glob("bsds*"))
    assert "2 groups nobody reviewed on the review page left alone, and not remembered" in res.output, res.output

    # leave the open ones alone for now, apply: only the accepted groups are remembered
    browser.find_element(By.ID, "bulk-rest").click()
    assert browser.find_element(By.ID, "open").text.startswith("0 of 4")
    got = _export(browser, lambda: browser.find_element(By.ID, "export").click())
    assert sum(g["unreviewed"] for g in got["plan"]["groups"]) == 2
    res = run("remove", album, "--plan", got["path"], "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 0 and len(list((tmp_path / "q").rglob("bsds*"))) == 2, res.output
    # (byte copies accepted as shown leave no decision: one content; and nothing 'left alone')
    assert [r for r in DecisionStore().records() if r.verdict == "skip"] == []
    assert "decided earlier" not in run("find", album, "-r").output
    doc = json.loads(run("find", album, "-r", "--json", "-").stdout)
    assert len(doc["groups"]) == 2 and not any(g.get("remembered") for g in doc["groups"]), doc["groups"]


@pytest.mark.cli
def test_an_older_page_export_of_an_unreviewed_group_moves_nothing(tmp_path: Path, album: Path) -> None:
    """An export written before 'unreviewed': an open group was "reviewed": false with its suggested keeper and
    "skip": false, and remove --plan moved it."""
    doc = json.loads(run("find", album, "-r", "--json", "-").stdout)
    doc["source"] = "review page"
    for g in doc["groups"]:
        g["reviewed"] = False
        for k in ("suggested_keep", "suggested_also_keep"):
            g.pop(k, None)
    plan = tmp_path / "old-export.json"
    plan.write_text(json.dumps(doc))
    _, groups = load_plan(plan, folder=album)
    checked = check_plan(album, groups)
    assert checked.moves == [] and checked.unreviewed_groups == 4
    res = run("remove", album, "--plan", plan, "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 0 and "4 groups nobody reviewed" in res.output, res.output
    assert len(list(album.rglob("*.jpg"))) == 10 and DecisionStore().records() == []


@pytest.mark.cli
def test_the_export_says_it_is_in_the_download_folder_and_the_command_to_apply_it(tmp_path: Path, album: Path,
                                                                                   browser) -> None:
    """The page's export lands in the browser's download folder, while the README and the page said
    'remove ~/Pictures --plan imagetwins-decisions.json' as if it were in the current folder (no such file there).
    The notice says where it went and the command; every documented command names the download folder."""
    from selenium.webdriver.common.by import By

    page = tmp_path / "review.html"
    assert run("report", album, "-r", "-o", page).exit_code == 0
    browser.get(page.as_uri())
    got = _export(browser, lambda: browser.find_element(By.ID, "export").click())
    assert got["path"].parent == browser.downloads and got["path"].parent != page.parent  # (the premise)
    assert "saved it in its download folder" in got["notice"], got["notice"]
    assert f"imagetwins remove {album.resolve()} --plan ~/Downloads/imagetwins-decisions.json" in got["notice"]
    repo = Path(__file__).resolve().parents[1]
    for doc in ("README.md", "docs/review.md", "docs/cli.md"):
        for line in (repo / doc).read_text(encoding="utf-8").splitlines():
            if "imagetwins-decisions.json" in line and line.lstrip().startswith("imagetwins "):
                assert "~/Downloads/imagetwins-decisions.json" in line, (doc, line)
