"""What a new user met on a first afternoon with imagetwins (README only, a fresh venv): each test failed before its
fix."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import synthetic_photo


def _cached_files(folder: Path) -> int:
    from imagetwins.index import Index, default_cache_path

    with Index(default_cache_path(folder), readonly=True) as idx:
        return idx.stats()["files"]


def _album_with_a_sub_folder(tmp_path: Path) -> Path:
    """``album/top.png`` and, one folder down, ``album/sub/a.png`` with its byte copy ``a copy.png``."""
    album = tmp_path / "album"
    (album / "sub").mkdir(parents=True)
    synthetic_photo(96, 72, 0).save(album / "top.png")
    synthetic_photo(96, 72, 1).save(album / "sub" / "a.png")
    (album / "sub" / "a copy.png").write_bytes((album / "sub" / "a.png").read_bytes())
    return album


@pytest.mark.unit
def test_a_run_without_recursive_keeps_what_the_cache_knows_of_sub_folders(tmp_path: Path) -> None:
    """``imagetwins find ~/Pictures`` once without -r (a slip) forgot every sub-folder's encodings in the folder's
    cache, so the next ``-r`` run decoded the whole library again (hours at 100,000 photos). A run without -r now
    reads and shows the folder's own images only, and leaves what the cache holds of its sub-folders alone."""
    import imagetwins

    album = _album_with_a_sub_folder(tmp_path)
    first = imagetwins.find(album, "phash", recursive=True)
    assert [len(g.files) for g in first.groups] == [2]
    flat = imagetwins.find(album, "phash")
    assert flat.files == [str(album / "top.png")] and flat.groups == []
    assert _cached_files(album) == 3, "the run without -r forgot the sub-folder's encodings"
    again = imagetwins.find(album, "phash", recursive=True)
    assert sorted(again.files) == sorted(first.files) and [len(g.files) for g in again.groups] == [2]


@pytest.mark.unit
def test_a_check_without_recursive_keeps_the_reference_cache_of_sub_folders(tmp_path: Path) -> None:
    """``imagetwins check test/ --against train/`` without -r (class sub-folders: "try --recursive") emptied
    train/'s and test/'s caches, so the -r check that followed decoded both sets again."""
    import imagetwins

    train = _album_with_a_sub_folder(tmp_path)
    test = tmp_path / "test"
    (test / "cls").mkdir(parents=True)
    (test / "cls" / "leak.png").write_bytes((train / "sub" / "a.png").read_bytes())
    assert len(imagetwins.find_against(test, train, "phash", recursive=True).matches) == 1
    flat = imagetwins.find_against(test, train, "phash")
    assert not flat.matches
    assert (_cached_files(train), _cached_files(test)) == (3, 1), "the check without -r forgot the sub-folders"
    again = imagetwins.find_against(test, train, "phash", recursive=True)
    assert len(again.matches) == 1


@pytest.mark.cli
def test_find_without_recursive_does_not_empty_an_index_file(tmp_path: Path) -> None:
    """``imagetwins find DIR --db FILE`` without -r deleted every image of DIR's sub-folders from the index file
    (``index update DIR --db FILE`` refuses to: "add -r ... or --no-recursive to forget them")."""
    import json

    from click.testing import CliRunner

    from imagetwins.cli import main

    album = _album_with_a_sub_folder(tmp_path)
    db = tmp_path / "album.db"
    run = CliRunner().invoke(main, ["index", "update", str(album), "-r", "--db", str(db), "-m", "phash"])
    assert run.exit_code == 0, run.output
    flat = CliRunner().invoke(main, ["find", str(album), "--db", str(db), "-m", "phash", "--json", "-"])
    assert flat.exit_code == 0, flat.output
    assert json.loads(flat.output)["images"] == 1
    stats = CliRunner().invoke(main, ["index", "stats", "--db", str(db), "--json", "-"])
    assert json.loads(stats.output)["files"] == 3, stats.output
    update = CliRunner().invoke(main, ["index", "update", str(album), "-r", "--db", str(db)])
    assert "0 added, 0 changed, 0 removed, 3 unchanged" in update.output, update.output


@pytest.mark.cli
def test_the_review_page_of_re_shots_calls_them_same_scene_groups(tmp_path: Path, browser) -> None:
    """``report -m similar`` printed "19 same-scene groups holding 41 files -> similar.html", and the page it wrote
    was headed "imagetwins: duplicate review" with "19 duplicate groups holding 41 files": re-shots are not
    duplicates (remove refuses them without a person's plan)."""
    from click.testing import CliRunner
    from selenium.webdriver.common.by import By

    from imagetwins.cli import main

    album = _album_with_a_sub_folder(tmp_path)
    page = tmp_path / "shots.html"
    res = CliRunner().invoke(main, ["report", str(album), "-r", "-m", "similar", "-o", str(page)])
    assert res.exit_code == 0, res.output
    # "3 images read, 0 unreadable, 1 same-scene group holding N files (...)": the page says the same
    said = res.output.split(" unreadable, ")[1].split(" (")[0]
    assert said.startswith("1 same-scene group holding "), res.output
    browser.get(page.as_uri())
    summary = browser.find_element(By.ID, "summary").text
    assert summary.startswith(f"3 images, {said} \u00b7 similar"), summary
    assert browser.find_element(By.CSS_SELECTOR, "header h1").text == "imagetwins: same-scene review"
    copies = tmp_path / "copies.html"  # (the page of copies stays as it was)
    assert CliRunner().invoke(main, ["report", str(album), "-r", "-m", "phash", "-o", str(copies)]).exit_code == 0
    browser.get(copies.as_uri())
    assert browser.find_element(By.ID, "summary").text.startswith("3 images, 1 duplicate group holding 2 files")
    assert browser.find_element(By.CSS_SELECTOR, "header h1").text == "imagetwins: duplicate review"
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


@pytest.mark.unit
def test_the_keep_stage_shows_its_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``find -r --keep best`` on 74 family photos spent 16 s of its 30 in the keep stage (each shot scored) with no
    progress bar on the terminal, after the encoding's and verification's bars had gone: the stage now has its
    own ("keeping", over the grouped files), counted to the end."""
    import tqdm.auto

    import imagetwins
    from imagetwins import progress
    from imagetwins.keep import decide_keepers
    from imagetwins.session import Session

    bars: list = []

    class Recorded(tqdm.auto.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, disable=True, **kwargs)
            self.seen = 0
            bars.append((kwargs.get("desc"), kwargs.get("total"), self))

        def update(self, n=1):
            self.seen += n
            return super().update(n)

    album = _album_with_a_sub_folder(tmp_path)
    synthetic_photo(96, 72, 0).resize((48, 36)).save(album / "top small.png")
    found = imagetwins.find(album, "phash", recursive=True)
    assert sorted(len(g.files) for g in found.groups) == [2, 2]
    monkeypatch.setattr(tqdm.auto, "tqdm", Recorded)
    monkeypatch.setattr(progress, "watched", lambda: True)  # (a terminal's bar; in a log: plain lines)
    decided = decide_keepers(found, rule="best", session=Session(progress=True))
    keeping = [(total, bar.seen) for desc, total, bar in bars if desc == "keeping"]
    assert keeping == [(4, 4)], bars
    bars.clear()
    assert decide_keepers(found, rule="best", session=Session(progress=False)).decisions == decided.decisions
    assert not [b for b in bars if b[0] == "keeping"]
