"""Files a plan leaves where they are without a decision (:class:`imagetwins.leftalone.LeftAlone`): every writer and
the review page say the same of them as ``remove`` does."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import exported_decisions

from imagetwins.leftalone import GroupLeftAlone, LeftAlone
from imagetwins.plan import NO_KEEPER_YET, PlannedGroup, check_plan


def _run(*args):
    from click.testing import CliRunner

    from imagetwins.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.unit
def test_each_reason_says_what_remove_said_of_it() -> None:
    """One entry per reason: its sentence, its plan field, and ``remove``'s line, word for word as before."""
    assert NO_KEEPER_YET == LeftAlone.AWAITING_KEEPER.sentence == "no keeper until a person picks one"
    assert LeftAlone.AWAITING_KEEPER.summary(2) == (
        "2 groups left alone: no keeper until a person picks one (set a group's 'keep' in the plan, or review "
        "them with 'imagetwins report')")
    assert LeftAlone.UNREVIEWED.summary(1).startswith(
        "1 group nobody reviewed on the review page left alone, and not remembered (to move them as suggested")
    assert LeftAlone.THROUGH_LINK.summary(1, "a/b.jpg") == (
        "note: 1 file reached through a followed symbolic link stays where it is (remove never moves a file through "
        "a link, nor keeps one in place of another), e.g. a/b.jpg")
    assert LeftAlone.THROUGH_LINK.summary(3, "x").startswith(
        "note: 3 files reached through a followed symbolic link stay where they are (")
    assert [why.note for why in LeftAlone] == [False, False, True]
    assert [why.plan_field for why in LeftAlone] == [None, "unreviewed", "through_links"]
    assert LeftAlone.THROUGH_LINK.label == "stays: reached through a followed symbolic link"
    assert LeftAlone.THROUGH_LINK.keeper_refusal and not LeftAlone.AWAITING_KEEPER.keeper_refusal
    stays = GroupLeftAlone(None, {"b": LeftAlone.THROUGH_LINK, "c": LeftAlone.THROUGH_LINK})
    assert stays.of("a") is None and stays.of("b") is LeftAlone.THROUGH_LINK
    assert stays.listed() == {LeftAlone.THROUGH_LINK: ["b", "c"]}
    assert GroupLeftAlone(LeftAlone.AWAITING_KEEPER, dict(stays.files)).of("a") is LeftAlone.AWAITING_KEEPER


@pytest.mark.unit
def test_a_group_whose_files_all_lie_through_a_link_is_said_to_stay(tmp_path: Path) -> None:
    """``find --json`` lists every file of a group reached only through a followed link in ``through_links``, its
    keeper too: ``remove --plan`` moved nothing of it and said nothing (``remove --follow-symlinks`` names them)."""
    root, outside = tmp_path / "album", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    for name in ("a.jpg", "b.jpg"):
        (outside / name).write_bytes(b"same bytes")
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    files = [str(root / "linkdir" / n) for n in ("a.jpg", "b.jpg")]
    digest = "0" * 64
    group = PlannedGroup(1, files, files[0], [], False, {f: digest for f in files},
                         left_alone={LeftAlone.THROUGH_LINK: list(files)})
    assert group.to_move == [] and group.through_links == files
    checked = check_plan(root, [group])
    assert checked.moves == [] and checked.through_links == files
    assert checked.to_removal().through_links == files


@pytest.mark.cli
def test_csv_and_text_say_the_files_reached_through_a_followed_link_stay(tmp_path: Path,
                                                                       linked_album: Path) -> None:
    """The CSV wrote keep=0 for the files reached through a followed link (which stay: the JSON plan's through_links,
    remove's note), and the text showed them as the other files of a group, which move."""
    res = _run("find", linked_album, "-r", "--follow-symlinks", "-m", "phash", "--no-cache", "--csv", "-",
               "--json", tmp_path / "plan.json")
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    doc = json.loads((tmp_path / "plan.json").read_text())
    staying = {f for g in doc["groups"] for f in g["through_links"]}
    assert len(rows) == 6 and len(staying) == 3
    assert all(r["keep"] == "1" for r in rows), rows  # the keepers and the 3 files through the link: all stay
    assert {r["path"] for r in rows if r["suggested_keep"] == "1"} == {g["keep"] for g in doc["groups"]}
    res = _run("find", linked_album, "-r", "--follow-symlinks", "-m", "phash", "--no-cache")
    lines = [ln for ln in res.output.splitlines() if "linkdir" in ln]
    assert len(lines) == 3 and all(ln.startswith("  stays  ") and ln.endswith(
        "  (reached through a followed symbolic link)") for ln in lines), res.output


@pytest.mark.cli
def test_the_review_page_refuses_a_file_reached_through_a_link_as_the_keeper(tmp_path: Path, linked_album: Path,
                                                                           browser) -> None:
    """On the review page a file reached through a followed link could be picked as the keeper; the export kept it,
    and ``remove --plan`` refused the group ("its keeper ... cannot be trusted: reached through a symbolic link").
    The page now says so the moment it is picked, and the keeper stays as it was."""
    from selenium.webdriver.common.by import By

    page = tmp_path / "review.html"
    assert _run("report", linked_album, "-r", "--follow-symlinks", "-m", "phash", "--no-cache", "-o",
                page).exit_code == 0
    browser.get(page.as_uri())
    badges = lambda: [c.find_element(By.CLASS_NAME, "badge").text  # noqa: E731
                      for c in browser.find_elements(By.CSS_SELECTOR, "#group-0 .file")]
    cards = browser.find_elements(By.CSS_SELECTOR, "#group-0 .file")
    linked = next(k for k, c in enumerate(cards) if "linkdir" in c.text)
    before = badges()
    assert before[linked] == "stays: reached through a followed symbolic link" and "KEEP" in before
    cards[linked].click()  # by mouse
    notice = browser.find_element(By.ID, "notice")
    assert notice.is_displayed() and "reached through a followed symbolic link" in notice.text, notice.text
    assert "cannot be this group's keeper" in notice.text, notice.text
    assert badges() == before
    browser.find_element(By.TAG_NAME, "body").send_keys(str(linked + 1))  # by key: the same
    assert badges() == before
    browser.find_element(By.ID, "bulk-exact").click()  # accept the 3 groups of byte copies
    browser.find_element(By.ID, "export").click()
    found = [exported_decisions(browser)]
    doc = json.loads(found[0].read_text())
    assert all("linkdir" not in g["keep"] and g["through_links"] == [f for f in g["files"] if "linkdir" in f]
               for g in doc["groups"]), doc["groups"]
    res = _run("remove", linked_album, "--plan", found[0])
    assert res.exit_code == 0 and "warning" not in res.output, res.output
    assert "note: 3 files reached through a followed symbolic link stay where they are" in res.output
