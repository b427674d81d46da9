"""A review page's group of one file's bytes larger than the score table (stranger3, session 14): 2,000 byte copies of
one photo, a backup's, said "not compared with the keeper" on every card, under the heading "byte-identical files"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from imagetwins.finder import find_duplicate_groups
from imagetwins.keep import decide_keepers
from imagetwins.report import SCORE_TABLE_MAX_FILES, write_html_report

pytestmark = pytest.mark.integration

SCORES = "return [...document.querySelectorAll('#group-0 .file .score')].map(c => c.textContent)"


def test_a_crowd_of_byte_copies_says_byte_identical_on_each_card(tmp_path: Path, datasets: Path, browser) -> None:
    album = tmp_path / "album"
    album.mkdir()
    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[3]
    for k in range(SCORE_TABLE_MAX_FILES + 1):
        shutil.copy(photo, album / f"copy{k:03d}.jpg")
    result = decide_keepers(find_duplicate_groups(album, method="phash"), rule="original")
    assert result.groups[0].exact and len(result.groups[0].files) > SCORE_TABLE_MAX_FILES
    out = tmp_path / "review.html"
    write_html_report(result, out, embed=False)
    from selenium.webdriver.common.by import By

    browser.get(out.as_uri())
    browser.find_element(By.CSS_SELECTOR, "#group-0 .file")
    scores = browser.execute_script(SCORES)
    assert scores[0] == "the keeper"
    assert set(scores[1:]) == {"byte-identical to the keeper"}, set(scores[1:])
