"""The review page in a real browser: decide with clicks and keys, export, apply with remove --plan, undo.

Run with ``IMAGETWINS_DOC_SHOTS=1`` to refresh the walkthrough's screenshots in docs/images/.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image
from tree_digests import name_digests as _digests

from imagetwins import report as report_module
from imagetwins.cli import main

DOC_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
HOSTILE = "<img src=x onerror=alert(1)>.jpg"


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    """10 real photos. A: #0, a half-size copy, a PNG re-save. B: #1 and a byte copy in a sub-folder.
    C: #2 and a recompressed copy under a hostile name."""
    root = tmp_path / "album"
    (root / "phone").mkdir(parents=True)
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:10]
    for p in photos:
        shutil.copy(p, root / p.name)
    with Image.open(photos[0]) as im:
        im.reduce(2).save(root / "phone" / "a_half.jpg", quality=90)
        im.save(root / "a_resave.png")
    shutil.copy(photos[1], root / "phone" / "b_copy.jpg")
    later = (root / photos[1].name).stat().st_mtime + 3600
    os.utime(root / "phone" / "b_copy.jpg", (later, later))
    with Image.open(photos[2]) as im:
        im.save(root / HOSTILE, quality=60)
    return root


def _group_box(driver, member: str):
    from selenium.webdriver.common.by import By

    for box in driver.find_elements(By.CSS_SELECTOR, "section.group"):
        if any(e.text == member for e in box.find_elements(By.CSS_SELECTOR, ".name")):
            return box
    raise AssertionError(f"no group shows {member}")


def _card(driver, member: str):
    from selenium.webdriver.common.by import By

    box = _group_box(driver, member)
    return next(c for c in box.find_elements(By.CSS_SELECTOR, ".file")
                if c.find_element(By.CSS_SELECTOR, ".name").text == member)


def _shot(driver, tmp_path: Path, name: str) -> Path:
    target = DOC_IMAGES / name if os.environ.get("IMAGETWINS_DOC_SHOTS") else tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(target))
    with Image.open(target) as im:  # 256 colours: a fraction of the bytes for the docs, still sharp text
        im.convert("RGB").quantize(256).save(target, optimize=True)
    return target


@pytest.mark.cli
def test_review_clicks_export_apply_undo(tmp_path: Path, album: Path, browser) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    before = _digests(album)
    page = tmp_path / "review.html"
    res = CliRunner().invoke(main, ["report", str(album), "-r", "--no-cache", "-o", str(page)])
    assert res.exit_code == 0, res.output
    browser.get(page.as_uri())
    assert len(browser.find_elements(By.CSS_SELECTOR, "section.group")) == 3
    photo0, photo1 = sorted(p.name for p in album.glob("bsds_*.jpg"))[:2]
    # the default keeper of A is the full-size original; each file shows its score against it
    assert "keep" in _card(browser, photo0).get_attribute("class").split()
    score = _card(browser, "a_half.jpg").find_element(By.CSS_SELECTOR, ".score").text
    assert "confidence" in score and "to the keeper" in score  # copies, the default method: a verified copy
    _shot(browser, tmp_path, "review-page.png")

    # A: a person keeps the half-size copy (a real click on its picture) and says the PNG is not a duplicate
    _card(browser, "a_half.jpg").find_element(By.CSS_SELECTOR, "img").click()
    assert "keep" in _card(browser, "a_half.jpg").get_attribute("class").split()
    assert "keep" not in _card(browser, photo0).get_attribute("class").split()
    _card(browser, "a_resave.png").find_element(By.CSS_SELECTOR, ".notdup-btn").click()
    assert "notdup" in _card(browser, "a_resave.png").get_attribute("class").split()
    # B: skipped
    _group_box(browser, "b_copy.jpg").find_element(By.CSS_SELECTOR, "button.skip").click()
    assert "skipped" in _group_box(browser, "b_copy.jpg").get_attribute("class").split()
    # C: by keyboard: go to the group with j/k, keep its second file with "2"
    boxes = browser.find_elements(By.CSS_SELECTOR, "section.group")
    ids = [b.get_attribute("id") for b in boxes]
    c_index = ids.index(_group_box(browser, HOSTILE).get_attribute("id"))
    b_index = ids.index(_group_box(browser, "b_copy.jpg").get_attribute("id"))
    keys = ActionChains(browser)
    for _ in range(abs(c_index - b_index)):
        keys.send_keys("j" if c_index > b_index else "k")
    keys.send_keys("2").perform()
    c_box = _group_box(browser, HOSTILE)
    assert "current" in c_box.get_attribute("class").split()
    c_cards = c_box.find_elements(By.CSS_SELECTOR, ".file")
    c_kept = c_cards[1].find_element(By.CSS_SELECTOR, ".name").text
    c_moved = c_cards[0].find_element(By.CSS_SELECTOR, ".name").text
    assert "keep" in c_cards[1].get_attribute("class").split()
    # names are text, never HTML
    assert HOSTILE in [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".file .name")]
    assert browser.execute_script("return document.querySelectorAll('.name img, .path img').length") == 0
    _shot(browser, tmp_path, "review-decided.png")

    browser.find_element(By.ID, "export").click()
    exported = browser.downloads / "imagetwins-decisions.json"
    for _ in range(100):
        if exported.exists() and exported.stat().st_size:
            break
        time.sleep(0.05)
    plan = json.loads(exported.read_text())
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    assert plan["imagetwins_plan"] == 1 and Path(plan["root"]) == album.resolve()

    q = tmp_path / "q"
    res = CliRunner().invoke(main, ["remove", str(album), "--plan", str(exported), "--apply", "--move-to", str(q)])
    assert res.exit_code == 0, res.output
    moved = sorted(n for n in _digests(q) if not n.startswith("manifest."))
    assert moved == sorted([photo0, c_moved])  # A's former keeper and C's other file; nothing of B
    assert (album / "phone" / "a_half.jpg").exists() and (album / "a_resave.png").exists()
    assert (album / photo1).exists() and (album / "phone" / "b_copy.jpg").exists()
    assert (album / c_kept).exists()
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 0, res.output
    assert _digests(album) == before


@pytest.mark.cli
def test_big_reports_link_thumbnails_beside_the_page(tmp_path: Path, album: Path, browser,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from selenium.webdriver.common.by import By

    monkeypatch.setattr(report_module, "EMBED_MAX_GROUPS", 2)  # 3 groups: as if it were a big library
    page = tmp_path / "my review.html"
    res = CliRunner().invoke(main, ["report", str(album), "-r", "--no-cache", "-o", str(page)])
    assert res.exit_code == 0, res.output
    thumbs = sorted((tmp_path / "my review_files").glob("*.jpg"))
    assert len(thumbs) == 6  # one per content: #1 and its byte copy share one
    assert "data:image" not in page.read_text()
    browser.set_window_size(1400, 4000)  # every card in view: lazy images all load
    browser.get(page.as_uri())
    time.sleep(0.5)
    loaded = browser.execute_script(
        "return [...document.images].filter(i => i.complete && i.naturalWidth > 0).length")
    assert loaded == 7
    # displayed dimensions and capture dates are on every card
    dims = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".file .dims")]
    assert len(dims) == 7 and all("\u00d7" in d for d in dims)
    assert all(e.text.startswith(("taken ", "modified ")) for e in browser.find_elements(By.CSS_SELECTOR, ".when"))


@pytest.mark.integration
def test_cards_show_upright_size_and_capture_date(tmp_path: Path, datasets: Path) -> None:
    from imagetwins.finder import find_duplicate_groups
    from imagetwins.report import report_data

    src = datasets / "camera-photos" / "images" / "cartridgeocr__PXL_20210515_181305750.jpg"  # 4032x3024, turned
    shutil.copy(src, tmp_path / "portrait.jpg")
    with Image.open(src) as im:
        im.reduce(4).save(tmp_path / "small.jpg", exif=im.getexif())
    data = report_data(find_duplicate_groups(tmp_path))
    [group] = data["groups"]
    big = next(f for f in group["files"] if f["path"].endswith("portrait.jpg"))
    assert (big["width"], big["height"]) == (3024, 4032)
    assert big["taken"] and time.strftime("%Y-%m-%d", time.localtime(big["time"])) == "2021-05-15"
    assert big["path"] == "portrait.jpg" and data["base"] == data["root"] == str(tmp_path.resolve())
    assert group["scores"][0][1] is not None and group["scores"][0][1] == group["scores"][1][0]


@pytest.mark.integration
def test_scores_say_what_they_are(tmp_path: Path) -> None:
    """Every pair of a group is scored (not only the matches that joined it), in the method's unit."""
    from imagetwins.finder import find_duplicate_groups
    from imagetwins.report import report_data

    examples = Path(__file__).resolve().parents[1] / "examples" / "images"
    shutil.copytree(examples, tmp_path / "images")
    data = report_data(find_duplicate_groups(tmp_path / "images", method="dihedral"))
    assert data["score_unit"] == "bits"
    for g in data["groups"]:
        n = len(g["files"])
        assert all(g["scores"][i][j] == g["scores"][j][i] and isinstance(g["scores"][i][j], int)
                   for i in range(n) for j in range(n) if i != j)
        # each file matched some other file of its group within the threshold
        assert all(min(x for x in row if x is not None) <= data["threshold"] for row in g["scores"])
    copies = report_data(find_duplicate_groups(tmp_path / "images", method="copies"))
    assert copies["score_unit"] == "confidence"
    assert all(0 <= v <= 1 for g in copies["groups"] for row in g["scores"] for v in row if v is not None)


@pytest.mark.cli
def test_the_page_counts_in_the_singular_too(tmp_path: Path, datasets: Path, browser) -> None:
    # a stranger's family folder read "1 folders are copies of other folders" above the groups
    from selenium.webdriver.common.by import By

    lib = tmp_path / "lib"
    (lib / "Photos").mkdir(parents=True)
    (lib / "Backup").mkdir()
    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0]
    for folder in ("Photos", "Backup"):  # one picture four times: one group, and Backup a copy of Photos
        for name in ("a.jpg", "b.jpg"):
            shutil.copy(photo, lib / folder / name)
    (lib / "broken.jpg").write_bytes(photo.read_bytes()[:2000])
    page = tmp_path / "review.html"
    res = CliRunner().invoke(main, ["report", str(lib), "-r", "-m", "phash", "--no-cache", "-o", str(page)])
    assert res.exit_code == 0, res.output
    browser.get(page.as_uri())
    summary = browser.find_element(By.ID, "summary").text
    assert summary.startswith("4 images, 1 duplicate group holding 4 files \u00b7 phash"), summary
    folders = browser.find_element(By.CSS_SELECTOR, "#folders summary").get_attribute("textContent")
    assert folders.startswith("1 folder is a copy of another folder ("), folders
    # (it explained "Each of these folders holds copies of (nearly) all the pictures of another": the other way round,
    # a folder of 4 crops of a 23-photo folder was listed; it is each listed folder's own pictures that have copies)
    said = " ".join(browser.find_element(By.CSS_SELECTOR, "#folders p").get_attribute("textContent").split())
    assert said.startswith("All (or nearly all) of the pictures in each of these folders have a copy in another "
                           "folder"), said
    assert browser.find_element(By.CSS_SELECTOR, "#unreadable summary").get_attribute("textContent") == \
        "1 unreadable file"
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
