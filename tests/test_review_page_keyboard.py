"""The review page as a person goes through many big groups in a browser: the page's first draw holds about
CARDS_AT_ONCE cards in all (the limit was counted per group: a page of 50 groups of 500 drew 10,000 cards), the keys
bring the card they move to into view and give it the keyboard focus, "Show all" leaves the focus on the first card it
drew, and the decisions made survive a reload (kept in the browser, offered back)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import exported_decisions, save_crowd

from imagetwins.finder import find_duplicate_groups
from imagetwins.report import write_html_report

pytestmark = pytest.mark.integration

COPIES = 150  # each group: this many byte copies of a small picture and its larger original (the keeper)
GROUPS = 3


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, datasets: Path) -> Path:
    root = tmp_path_factory.mktemp("keyboard")
    album = root / "album"
    album.mkdir()
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    for g in range(GROUPS):
        save_crowd(album, photos[10 * g + 3], COPIES, prefix=f"g{g}_")
    out = root / "review.html"
    write_html_report(find_duplicate_groups(album, method="phash"), out, embed=True)
    return out


def _open(browser, page: Path) -> None:
    browser.get(page.as_uri())
    assert browser.execute_script("return data.groups.map(g => g.files.length)") == [COPIES + 1] * GROUPS


def _drawn(browser) -> list[int]:
    return browser.execute_script("return [...document.querySelectorAll('#groups section')].map("
                                  "s => s.querySelectorAll('.file').length)")


def _keys(browser, *keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    for key in keys:
        ActionChains(browser).send_keys(key).perform()


#: where the keyboard focus is: [group, file] of the card or of the card holding the focused element, its class
FOCUS = """const e = document.activeElement, c = e.closest('.file');
return c ? [+c.dataset.group, +c.dataset.file, e.className] : [null, null, e.tagName + '.' + e.className];"""
#: whether the cursor's card lies wholly on the screen
CURSOR_SEEN = """const c = document.querySelector('#group-' + current + ' .file[data-file="' + cursor + '"]');
const r = c.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight;"""


def test_a_page_draws_about_its_card_budget_in_all_not_per_group(page: Path, browser) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, page)
    at_once, at_least = browser.execute_script("return [CARDS_AT_ONCE, CARDS_AT_LEAST]")
    assert (at_once, at_least) == (200, 8)
    # the first group whole (151 cards), the second what is left (49), the third its few (8): 208 cards, not 453
    assert _drawn(browser) == [COPIES + 1, at_once - COPIES - 1, at_least]
    more = browser.find_elements(By.CSS_SELECTOR, "#groups .more")
    assert [m.text.split(" (")[0] for m in more] == ["", f"Showing 49 of {COPIES + 1} files",
                                                     f"Showing 8 of {COPIES + 1} files"]
    # the cards drawn stay drawn across pages; the budget counts them
    browser.execute_script("showMore(2, 100); perPage = 20; render();")
    assert _drawn(browser) == [COPIES + 1, 49, 100]
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_the_keys_bring_the_card_into_view_and_take_the_focus_there(page: Path, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _open(browser, page)
    _keys(browser, *[Keys.ARROW_RIGHT] * 40)  # (a card row is about 5 cards: some 8 rows down, past the screen)
    assert browser.execute_script("return [current, cursor]") == [0, 40]
    assert browser.execute_script(CURSOR_SEEN)
    assert browser.execute_script(FOCUS) == [0, 40, "file dup cursor"]
    _keys(browser, "j")
    assert browser.execute_script(FOCUS)[:2] == [1, 0] and browser.execute_script(CURSOR_SEEN)
    heading = browser.find_element(By.CSS_SELECTOR, "#group-1 h2").rect["y"]
    assert 0 <= heading - browser.execute_script("return scrollY") < 200  # the group's top in view
    # a button of another group focused (Tab, a click): the keys' move takes the focus with it, so Enter no longer
    # decides the group left behind
    button = browser.find_element(By.CSS_SELECTOR, "#group-0 .file[data-file='3'] .keep-btn")
    browser.execute_script("arguments[0].focus();", button)
    keeper = browser.execute_script("return state[0].keep")
    _keys(browser, "j", Keys.ENTER)
    assert browser.execute_script("return [state[0].keep, state[0].touched, current]") == [keeper, False, 2]
    assert browser.execute_script(FOCUS)[:2] == [2, 0]
    # Tab from the focused card reaches its own buttons, and 'e' keeps the card the focus is on
    _keys(browser, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.TAB)
    assert browser.execute_script(FOCUS) == [2, 2, "keep-btn"]
    _keys(browser, Keys.ENTER)
    assert browser.execute_script("return state[2].keep") == 2
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_show_all_leaves_the_focus_on_the_first_card_it_drew(page: Path, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _open(browser, page)
    browser.execute_script("arguments[0].focus();", browser.find_element(By.CSS_SELECTOR, "#group-1 .show-all"))
    _keys(browser, Keys.ENTER)
    assert _drawn(browser)[1] == COPIES + 1
    # the focus was dropped with the button (Tab then went on from the next group's "Skip group")
    assert browser.execute_script(FOCUS) == [1, 49, "file dup cursor"]
    assert browser.execute_script("return [current, cursor]") == [1, 49]
    _keys(browser, Keys.TAB)
    assert browser.execute_script(FOCUS) == [1, 49, "keep-btn"]
    # the last "Show N more" (no button left after it) does the same
    browser.execute_script("arguments[0].focus();", browser.find_element(By.CSS_SELECTOR, "#group-2 .show-more"))
    _keys(browser, Keys.ENTER)
    assert _drawn(browser)[2] == COPIES + 1
    assert browser.execute_script(FOCUS) == [2, 8, "file dup cursor"]
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def _export(browser) -> dict:
    for old in browser.downloads.glob("imagetwins-decisions*.json"):
        old.unlink()
    browser.execute_script("exportPlan();")
    return json.loads(exported_decisions(browser).read_text())


def test_the_decisions_made_survive_a_reload(page: Path, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, page)
    kept = browser.find_element(By.ID, "kept")
    assert not kept.is_displayed()
    browser.find_element(By.CSS_SELECTOR, "#group-0 .file[data-file='3'] .keep-btn").click()
    browser.find_element(By.CSS_SELECTOR, "#group-1 .file[data-file='5'] .notdup-btn").click()
    browser.find_element(By.CSS_SELECTOR, "#group-2 .skip").click()
    browser.find_element(By.ID, "merge-metadata").click()
    made = _export(browser)
    assert [g["reviewed"] for g in made["groups"]] == [True] * GROUPS and made["merge_metadata"]
    browser.refresh()  # (the decisions were in the page only: a reload, or the tab closed, lost them all)
    assert browser.execute_script("return state.filter(s => s.touched).length") == 0
    assert browser.find_element(By.ID, "kept").is_displayed()
    assert browser.find_element(By.ID, "kept").text.startswith("Your decisions on 3 groups of this page (last made ")
    browser.find_element(By.ID, "kept-restore").click()
    assert not browser.find_element(By.ID, "kept").is_displayed()
    assert browser.find_element(By.ID, "notice").text == "Restored your decisions on 3 groups."
    assert _export(browser) == made
    # moving about changes no decision: the offer stands; "Start anew" forgets them
    browser.refresh()
    _keys(browser, "j", "j")
    assert browser.find_element(By.ID, "kept").is_displayed()
    browser.find_element(By.ID, "kept-forget").click()  # (asked first: one click forgot them all)
    assert browser.switch_to.alert.text == "Forget your decisions on 3 groups kept in this browser?"
    browser.switch_to.alert.dismiss()
    assert browser.find_element(By.ID, "kept").is_displayed()
    browser.find_element(By.ID, "kept-forget").click()
    browser.switch_to.alert.accept()
    browser.refresh()
    assert not browser.find_element(By.ID, "kept").is_displayed()
    # the first decision made while they are offered replaces them (the offer is withdrawn)
    browser.find_element(By.CSS_SELECTOR, "#group-0 .skip").click()
    browser.refresh()
    assert browser.find_element(By.ID, "kept").text.startswith("Your decisions on 1 group of this page")
    # another page (the folder scanned again with another threshold) is offered none of them
    other = write_html_report(find_duplicate_groups(page.parent / "album", method="phash", threshold=4),
                              tmp_path / "other.html", embed=True)
    browser.get(other.as_uri())
    assert not browser.find_element(By.ID, "kept").is_displayed()
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


#: fills the browser's store with a string under `key`, as long as it takes (whatever room is left then: none)
FILL = """const key = arguments[0];
let low = 0, high = 64 << 20;
while (high - low > 64) {
  const mid = Math.floor((low + high) / 2);
  try { localStorage.setItem(key, "x".repeat(mid)); low = mid; } catch (e) { high = mid; }
}
localStorage.setItem(key, "x".repeat(low));
try { localStorage.setItem(key + "+", "x".repeat(64)); } catch (e) { return low; }
return -1;"""


def test_a_full_store_lets_go_of_other_pages_decisions_never_anything_else(page: Path, browser) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, page)
    old = "imagetwins-review:" + "0" * 32
    browser.execute_script("localStorage.setItem(arguments[0], JSON.stringify({saved: 1, decisions: {groups: {0: []}}"
                           ", pad: 'x'.repeat(100000)}));", old)
    assert browser.execute_script(FILL, "someone else's") > 0  # (full now)
    browser.find_element(By.CSS_SELECTOR, "#group-0 .skip").click()
    kept = browser.execute_script("return Object.keys(localStorage).sort()")
    assert kept == [browser.execute_script("return keptKey"), "someone else's"]
    assert not browser.find_element(By.ID, "notice").is_displayed()
    # no other page's to let go: one line says to export, and the rest of the store is left as it was
    browser.execute_script("localStorage.clear();")
    assert browser.execute_script(FILL, "someone else's") > 0
    browser.find_element(By.CSS_SELECTOR, "#group-1 .skip").click()
    assert browser.find_element(By.ID, "notice").text == ("This browser could not keep your decisions "
                                                          "(QuotaExceededError): export them before you close or "
                                                          "reload the page.")
    assert browser.execute_script("return Object.keys(localStorage)") == ["someone else's"]
    browser.execute_script("localStorage.clear();")


def test_n_and_a_say_when_no_group_is_open_any_more(page: Path, browser) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, page)
    _keys(browser, "a", "a")
    assert browser.execute_script("return state.filter((s, gi) => isOpen(gi)).length") == 1
    assert not browser.find_element(By.ID, "notice").is_displayed()
    _keys(browser, "a")  # the last open group: accepted, and nothing left to go to
    assert browser.execute_script("return state.filter((s, gi) => isOpen(gi)).length") == 0
    done = "No group is open any more: every group is decided. Export your decisions (x, or Export decisions)."
    assert browser.find_element(By.ID, "notice").text == done
    browser.execute_script("document.getElementById('notice').hidden = true;")
    _keys(browser, "n")
    assert browser.find_element(By.ID, "notice").text == done
