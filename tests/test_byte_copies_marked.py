"""Byte copies inside a group of edited copies (an original, its resized copy, and the original copied again byte for
byte): the text said "byte-identical to" and the JSON plan's sha256 were equal, but the CSV had no sha256 column and
the review page marked nothing. Now the CSV writes each file's sha256 (as the JSON plan), and the page's cards say
which card holds the same bytes (the keeper's named first, following the keeper a person picks)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from imagetwins.cli import main


@pytest.fixture
def mixed(tmp_path: Path, datasets: Path) -> Path:
    """An original photo, its copy at half size (a re-save: other bytes), the original byte for byte under another
    name, and an unrelated photo."""
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copyfile(photos[0], folder / "a_original.jpg")
    shutil.copyfile(photos[0], folder / "b_backup.jpg")
    with Image.open(photos[0]) as im:
        im.resize((im.width // 2, im.height // 2)).save(folder / "c_half.jpg", quality=90)
    shutil.copyfile(photos[5], folder / "d_other.jpg")
    return folder


def _csv_rows(folder: Path) -> list[dict]:
    res = CliRunner().invoke(main, ["find", str(folder), "-m", "phash", "--csv", "-", "-q"])
    assert res.exit_code == 0, res.output
    return list(csv.DictReader(io.StringIO(res.stdout)))


@pytest.mark.cli
def test_the_csv_writes_each_files_sha256_as_the_json_plan_does(mixed: Path) -> None:
    for run in ("first", "from the cache"):  # (the cache keeps 128 bits: completed from the file, as JSON does)
        rows = _csv_rows(mixed)
        assert list(rows[0]) == ["group", "path", "exact", "distance", "keep", "suggested_keep", "left_alone",
                                 "sha256"], run
        sha = {Path(r["path"]).name: r["sha256"] for r in rows}
        assert set(sha) == {"a_original.jpg", "b_backup.jpg", "c_half.jpg"} and {r["exact"] for r in rows} == {"0"}
        assert sha["a_original.jpg"] == sha["b_backup.jpg"] != sha["c_half.jpg"], (run, sha)
        assert all(len(d) == 64 for d in sha.values()), (run, sha)
        res = CliRunner().invoke(main, ["find", str(mixed), "-m", "phash", "--json", "-", "-q"])
        [group] = json.loads(res.stdout)["groups"]
        assert {Path(p).name: d for p, d in group["sha256"].items()} == sha


@pytest.mark.cli
def test_the_review_page_marks_the_byte_copies_of_a_group_of_edited_copies(mixed: Path, tmp_path: Path,
                                                                          browser) -> None:
    from selenium.webdriver.common.by import By

    page = tmp_path / "review.html"
    res = CliRunner().invoke(main, ["report", str(mixed), "-m", "phash", "-o", str(page), "-q"])
    assert res.exit_code == 0, res.output
    browser.get(page.as_uri())

    def marks() -> dict[str, str]:
        out = {}
        for c in browser.find_elements(By.CSS_SELECTOR, ".file"):
            same = c.find_elements(By.CSS_SELECTOR, ".same-bytes")
            out[c.find_element(By.CSS_SELECTOR, ".name").text] = same[0].text if same else ""
        return out

    keeper = next(c.find_element(By.CSS_SELECTOR, ".name").text
                  for c in browser.find_elements(By.CSS_SELECTOR, ".file.keep"))
    assert keeper in ("a_original.jpg", "b_backup.jpg")  # (the larger picture is kept)
    other = ({"a_original.jpg", "b_backup.jpg"} - {keeper}).pop()
    # (before: no card said so; the page's data held each card's sha256 only)
    assert marks() == {keeper: f"byte-identical to {other}", other: "byte-identical to the keeper", "c_half.jpg": ""}
    half = next(c for c in browser.find_elements(By.CSS_SELECTOR, ".file")
                if c.find_element(By.CSS_SELECTOR, ".name").text == "c_half.jpg")
    half.find_element(By.CSS_SELECTOR, "img").click()  # a person keeps the half-size copy instead
    assert marks() == {"a_original.jpg": "byte-identical to b_backup.jpg",
                       "b_backup.jpg": "byte-identical to a_original.jpg", "c_half.jpg": ""}
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


@pytest.mark.cli
def test_a_byte_copy_named_as_its_original_is_named_by_its_path_on_the_review_page(tmp_path: Path, datasets: Path,
                                                                                 browser) -> None:
    """A backup's byte copy keeps its original's file name: the keeper's card said "byte-identical to IMG_1.jpg"
    under its own name IMG_1.jpg (found using the review page on a library with a Backup folder)."""
    from selenium.webdriver.common.by import By

    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0]
    folder = tmp_path / "library"
    (folder / "2019").mkdir(parents=True)
    (folder / "Backup").mkdir()
    shutil.copyfile(photo, folder / "2019" / "IMG_1.jpg")
    shutil.copyfile(photo, folder / "Backup" / "IMG_1.jpg")
    with Image.open(photo) as im:
        im.resize((im.width // 2, im.height // 2)).save(folder / "2019" / "IMG_1_half.jpg", quality=90)
    page = tmp_path / "review.html"
    res = CliRunner().invoke(main, ["report", str(folder), "-r", "-m", "phash", "-o", str(page), "-q"])
    assert res.exit_code == 0, res.output
    browser.get(page.as_uri())
    marks = {c.find_element(By.CSS_SELECTOR, ".path").get_attribute("title"):
             [e.text for e in c.find_elements(By.CSS_SELECTOR, ".same-bytes")]
             for c in browser.find_elements(By.CSS_SELECTOR, ".file")}
    keeper = next(c.find_element(By.CSS_SELECTOR, ".path").get_attribute("title")
                  for c in browser.find_elements(By.CSS_SELECTOR, ".file.keep"))
    other = ({"2019/IMG_1.jpg", "Backup/IMG_1.jpg"} - {keeper}).pop()
    assert marks == {keeper: [f"byte-identical to {other}"], other: ["byte-identical to the keeper"],
                     "2019/IMG_1_half.jpg": []}, marks
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


@pytest.mark.integration
def test_the_review_page_lists_a_groups_byte_copies_once_not_each_card_the_others(tmp_path: Path,
                                                                                  datasets: Path) -> None:
    """Thousands of byte copies and one resized copy (a group of edited copies): each card listed every other
    card with its bytes, n^2 numbers (an 18 MB page for 2,000 copies). Now the group lists each content's cards
    once and a card names that list: the numbers are linear (counted here on 40 copies, not timed)."""
    from imagetwins.finder import find_duplicate_groups
    from imagetwins.report import report_data

    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0]
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):
        shutil.copyfile(photo, folder / f"copy_{i:02}.jpg")  # (real copies: hard links are another case)
    with Image.open(photo) as im:
        im.resize((im.width // 2, im.height // 2)).save(folder / "z_half.jpg", quality=90)
    [group] = report_data(find_duplicate_groups(folder, method="phash"))["groups"]
    assert len(group["files"]) == 41 and not group["exact"]
    listed = sum(len(c["same_bytes"]) if isinstance(c.get("same_bytes"), list) else 0 for c in group["files"])
    listed += sum(len(s) for s in group.get("byte_sets", []))
    assert listed <= 41, listed  # (before: 40 * 39 = 1560)
    [copies] = group["byte_sets"]
    assert sorted(group["files"][i]["path"] for i in copies) == [f"copy_{i:02}.jpg" for i in range(40)]
    assert [c.get("same_bytes") for c in group["files"]].count(0) == 40
