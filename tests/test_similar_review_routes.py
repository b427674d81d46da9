"""Re-shots (-m similar) never move without a person's decision, by any route: the review page's export leaves a
group nobody decided alone (it exported it as suggested, so its re-shots moved); ``find --json``'s plan names the
suggested shot but no keeper (applied unedited, it moved them). The CLI route is in test_similar.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from imagetwins.finder import find_duplicate_groups
from imagetwins.plan import check_plan, load_plan, plan_document
from imagetwins.report import report_data

PAGE = Path(__file__).resolve().parents[1] / "src" / "imagetwins" / "report_page.html"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"


@pytest.fixture(scope="module")
def scanned(tmp_path_factory) -> tuple[Path, object]:
    album = tmp_path_factory.mktemp("album")
    for p in EXAMPLES.iterdir():
        shutil.copy(p, album / p.name)
    result = find_duplicate_groups(album, "similar")
    assert len(result.groups) >= 2
    return album, result


@pytest.mark.integration
def test_an_unedited_find_plan_of_reshots_moves_nothing(scanned, tmp_path: Path) -> None:
    from imagetwins.keep import decide_keepers

    album, result = scanned
    result = decide_keepers(result, rule="best")
    doc = plan_document(result, result.decisions, album)
    assert doc["review_needed"] and all(g["keep"] is None and g["suggested_keep"] in g["files"]
                                        for g in doc["groups"])
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(doc))
    checked = check_plan(album, load_plan(plan, folder=album)[1])
    # left alone as groups awaiting a person, not refused file by file (a plan nobody edited dry-runs quietly)
    assert checked.moves == [] and checked.refused == [] and checked.awaiting_groups == len(doc["groups"])


@pytest.mark.integration
def test_the_page_exports_an_open_reshot_group_as_left_alone(scanned, tmp_path: Path, browser) -> None:
    from selenium.webdriver.common.by import By

    album, result = scanned
    data = report_data(result, root=album, keep_rule="best")
    assert data["review_needed"]
    page = tmp_path / "review.html"
    head, _, tail = PAGE.read_text(encoding="utf-8").partition("__DATA__")
    payload = json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    page.write_text(head.replace("__TITLE__", "reshots") + payload + tail, encoding="utf-8")
    browser.get(page.as_uri())
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("n")
    body.send_keys("a")  # a person accepts one group as suggested; the others stay open
    plan = json.loads(browser.execute_script("exportPlan(); return window.imagetwinsExport;"))
    decided = [g for g in plan["groups"] if not g["skip"]]
    assert len(decided) == 1 and decided[0]["keep"] in decided[0]["files"]
    # only the group a person accepted says it was decided (remove --plan --apply remembers only that one)
    assert decided[0]["reviewed"] is True and [g["reviewed"] for g in plan["groups"]].count(True) == 1
    left = [g for g in plan["groups"] if g["skip"]]
    assert len(left) == len(data["groups"]) - 1 and all(g["keep"] is None for g in left)
    exported = tmp_path / "decisions.json"
    exported.write_text(json.dumps(plan))
    checked = check_plan(album, load_plan(exported, folder=album)[1])
    moved = {Path(f).name for f, _, _, _ in checked.moves}
    # (nobody reviewed them: left alone, counted apart from groups a person skipped)
    assert moved and moved <= {Path(f).name for f in decided[0]["files"]} and checked.unreviewed_groups == len(left)


@pytest.mark.cli
def test_no_folder_moves_by_a_similar_scan(tmp_path: Path) -> None:
    """``folders -m similar`` listed a folder of other shots of the same scenes as "a copy of" another, and
    ``remove --plan`` of its --json moved that folder whole (14 holidays-half re-shots, in a trial): a re-shot
    folder is other photos. Now the command is a usage error and such a plan moves no folder."""
    from click.testing import CliRunner

    from imagetwins.cli import main
    from imagetwins.folders import find_duplicate_folders, folders_document

    lib = tmp_path / "lib"
    for folder, names in (("A", ("beach.jpg", "city.jpg", "forest.jpg")),
                          ("B", ("beach_small.jpg", "city_brighter.png", "forest_mirrored.jpg"))):
        (lib / folder).mkdir(parents=True)
        for n in names:
            shutil.copy(EXAMPLES / n, lib / folder / n)
    res = CliRunner().invoke(main, ["folders", str(lib), "-r", "-m", "similar"])
    assert res.exit_code == 2 and "re-shots" in res.output
    result = find_duplicate_groups(lib, "similar", recursive=True)
    pairs = find_duplicate_folders(result, lib)
    assert pairs  # (the scan itself does pair the folders)
    plan = tmp_path / "folders.json"
    plan.write_text(json.dumps(folders_document(pairs, result, lib)))
    res = CliRunner().invoke(main, ["remove", str(lib), "--plan", str(plan), "--apply", "--move-to",
                                    str(tmp_path / "q")])
    assert res.exit_code == 1 and "re-shots" in res.output and "Traceback" not in res.output
    assert len(list(lib.rglob("*.*"))) == 6
