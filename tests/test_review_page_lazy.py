"""The review page of a big group draws its first cards and the rest on request ("Show N more", "Show all"): a crowd
of 20,000 byte copies took 9 s to appear when every card was drawn at once (bench_page_crowd.py). Every decision,
bulk button and the export covers the files not drawn yet, as if every card were drawn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import exported_decisions, save_crowd

from imagetwins.finder import find_duplicate_groups
from imagetwins.report import write_html_report

pytestmark = pytest.mark.integration

COPIES = 450  # more than two screens of CARDS_AT_ONCE (200)
DRAWN = "return [...document.querySelectorAll('#group-0 .file')].map(c => +c.dataset.file)"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, datasets: Path) -> Path:
    """One group: COPIES byte copies of a 48x32 photo (copy000 ...) and its 96x64 original named last (zz_big.jpg),
    the keeper by size (its card the group's first)."""
    root = tmp_path_factory.mktemp("lazy")
    album = root / "album"
    album.mkdir()
    save_crowd(album, sorted((datasets / "photos-public" / "images").glob("*.jpg"))[3], COPIES)
    out = root / "review.html"
    write_html_report(find_duplicate_groups(album, method="phash"), out, embed=True)
    return out


def _open(browser, page: Path) -> dict:
    browser.get(page.as_uri())
    return browser.execute_script("return {n: data.groups[0].files.length, keep: data.groups[0].keep,"
                                  " names: data.groups[0].files.map(f => f.path.split('/').pop()), at: CARDS_AT_ONCE}")


def _export(browser) -> dict:
    for old in browser.downloads.glob("imagetwins-decisions*.json"):
        old.unlink()
    browser.execute_script("exportPlan();")
    return json.loads(exported_decisions(browser).read_text())


def test_a_big_group_draws_its_first_cards_and_shows_more_on_request(page: Path, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    g = _open(browser, page)
    assert len(g["names"]) == COPIES + 1 and g["names"][g["keep"]] == "zz_big.jpg" and g["keep"] == 0
    assert g["at"] == 200
    assert browser.execute_script(DRAWN) == list(range(200))  # the keeper's card (the first) among them
    more = browser.find_element(By.CSS_SELECTOR, "#group-0 .more")
    assert more.text.startswith(f"Showing 200 of {COPIES + 1} files (a decision on this group covers them all)")
    button = more.find_element(By.CLASS_NAME, "show-more")
    assert button.text == "Show 200 more"
    # the keyboard reaches it: Enter on the focused button draws the next 200, and the focus stays on it
    browser.execute_script("arguments[0].focus();", button)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    assert browser.execute_script(DRAWN) == list(range(400))
    focused = browser.switch_to.active_element
    assert focused.get_attribute("class") == "show-more" and focused.text == f"Show {COPIES + 1 - 400} more"
    focused.send_keys(Keys.ENTER)
    assert sorted(browser.execute_script(DRAWN)) == list(range(COPIES + 1))  # every card once
    assert browser.find_element(By.CSS_SELECTOR, "#group-0 .more").text == ""
    # "Show all" draws the rest at once; the arrow keys draw the card they move to
    _open(browser, page)
    browser.find_element(By.CSS_SELECTOR, "#group-0 .show-all").click()
    assert sorted(browser.execute_script(DRAWN)) == list(range(COPIES + 1))
    _open(browser, page)
    browser.execute_script("show(0, 199);")
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
    card = browser.find_element(By.CSS_SELECTOR, "#group-0 .file[data-file='200']")
    assert "cursor" in card.get_attribute("class")
    assert len(browser.execute_script(DRAWN)) == 400
    # a keeper past the cards drawn (one decided earlier, say) is drawn first, and once
    browser.execute_script("data.groups[0].keep = state[0].keep = 300; drawn[0] = 200; render();")
    assert browser.execute_script(DRAWN) == [300, *range(200)]
    assert browser.find_element(By.CSS_SELECTOR, "#group-0 .more").text.startswith(f"Showing 201 of {COPIES + 1}")
    browser.find_element(By.CSS_SELECTOR, "#group-0 .show-more").click()
    assert browser.execute_script(DRAWN) == [300, *range(300), *range(301, 400)]
    assert browser.find_element(By.CSS_SELECTOR, "#group-0 .show-more").text == f"Show {COPIES + 1 - 400} more"
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_the_export_of_a_group_drawn_in_part_is_the_export_of_it_drawn_whole(page: Path, browser) -> None:
    from selenium.webdriver.common.by import By

    exports = []
    for whole in (False, True):
        g = _open(browser, page)
        if whole:
            browser.find_element(By.CSS_SELECTOR, "#group-0 .show-all").click()
        assert len(browser.execute_script(DRAWN)) == (COPIES + 1 if whole else 200)
        # "Keep this" on a drawn card, and "Not a duplicate" on another
        browser.find_element(By.CSS_SELECTOR, "#group-0 .file[data-file='5'] .keep-btn").click()
        browser.find_element(By.CSS_SELECTOR, "#group-0 .file[data-file='7'] .notdup-btn").click()
        exports.append(_export(browser))
    assert exports[0] == exports[1]
    (group,) = exports[0]["groups"]
    names = g["names"]
    assert len(group["files"]) == COPIES + 1 and sorted(Path(p).name for p in group["files"]) == sorted(names)
    assert Path(group["keep"]).name == names[5] and [Path(p).name for p in group["not_duplicate"]] == [names[7]]
    assert group["reviewed"] and not group["unreviewed"] and not group["skip"]
    assert len(group["sha256"]) == COPIES + 1


def test_decisions_on_cards_not_drawn_yet_survive_their_drawing(page: Path, browser) -> None:
    from selenium.webdriver.common.by import By

    g = _open(browser, page)
    names = g["names"]
    # decisions kept for cards 300 and 420 before they are drawn (the page's state, not its cards, holds them)
    browser.execute_script("setKeep(0, 420); toggleNotDup(0, 300);")
    assert len(browser.execute_script(DRAWN)) == 200
    browser.execute_script("render();")  # another page's draw and back: the cards drawn stay drawn
    browser.find_element(By.CSS_SELECTOR, "#group-0 .show-all").click()
    badge = "#group-0 .file[data-file='{}'] .badge"
    assert browser.find_element(By.CSS_SELECTOR, badge.format(420)).text == "KEEP"
    assert browser.find_element(By.CSS_SELECTOR, badge.format(300)).text == "not a duplicate"
    assert browser.find_element(By.CSS_SELECTOR, badge.format(g["keep"])).text == "duplicate: moves"
    assert browser.find_element(By.CSS_SELECTOR, badge.format(450 if g["keep"] != 450 else 449)).text == \
        "duplicate: moves"
    (group,) = _export(browser)["groups"]
    assert Path(group["keep"]).name == names[420] and [Path(p).name for p in group["not_duplicate"]] == [names[300]]
    # a bulk button on a group drawn in part: the group accepted as shown, the files not drawn too
    _open(browser, page)
    browser.find_element(By.ID, "bulk-score").send_keys("64")
    browser.find_element(By.ID, "bulk-accept").click()
    (group,) = _export(browser)["groups"]
    assert group["reviewed"] and Path(group["keep"]).name == "zz_big.jpg" and len(group["files"]) == COPIES + 1
    assert not group["not_duplicate"] and not group["also_keep"] and not group["skip"]
    # "Skip group": every file stays, drawn or not
    browser.find_element(By.CSS_SELECTOR, "#group-0 .skip").click()
    (group,) = _export(browser)["groups"]
    assert group["skip"] and len(group["files"]) == COPIES + 1
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
