"""The people's workflow, end to end on real images: find --against, report in a real browser, remove, undo."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from tree_digests import name_digests as _digests

from imagetwins.cli import EXIT_DUPLICATES, main


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    """12 real photos; a downscaled copy of #0 (lower resolution, so #0 is kept), a byte copy of #1 in a
    sub-folder made an hour later (so #1 is kept), a recompressed copy of #2 under a hostile name."""
    root = tmp_path / "album"
    (root / "trip").mkdir(parents=True)
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:12]
    for p in photos:
        shutil.copy(p, root / p.name)
    Image.open(photos[0]).resize((240, 160)).save(root / "trip" / "small.jpg", quality=90)
    shutil.copy(photos[1], root / "trip" / "copy.jpg")
    later = (root / photos[1].name).stat().st_mtime + 3600
    os.utime(root / "trip" / "copy.jpg", (later, later))
    Image.open(photos[2]).save(root / "<img src=x onerror=alert(1)>.jpg", quality=60)
    return root


@pytest.mark.cli
def test_against_reports_leaks_and_can_fail_a_pipeline(tmp_path: Path, album: Path, datasets: Path) -> None:
    test_set = tmp_path / "test"
    test_set.mkdir()
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    Image.open(photos[3]).resize((300, 200)).save(test_set / "leak.jpg")
    shutil.copy(photos[200], test_set / "clean.jpg")
    runner = CliRunner()
    res = runner.invoke(main, ["find", str(test_set), "--against", str(album), "-r", "--json", "-"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["with_duplicates"] == 1 and data["images"] == 2
    assert data["matches"][0]["query"].endswith("leak.jpg")
    assert data["matches"][0]["matches"][0]["path"].endswith(photos[3].name)
    failing = runner.invoke(main, ["find", str(test_set), "--against", str(album), "-r", "--fail-on-duplicates"])
    assert failing.exit_code == EXIT_DUPLICATES and "1 of 2 images" in failing.output
    (test_set / "leak.jpg").unlink()
    assert runner.invoke(main, ["find", str(test_set), "--against", str(album), "--fail-on-duplicates"]).exit_code == 0
    # against an index file
    db = tmp_path / "album.db"
    runner.invoke(main, ["index", "update", str(album), "--db", str(db)])
    shutil.copy(photos[1], test_set / "again.jpg")
    res = runner.invoke(main, ["find", str(test_set), "--against", str(db), "--json", "-"])
    assert json.loads(res.output)["with_duplicates"] == 1


@pytest.mark.cli
def test_find_marks_the_keeper(album: Path) -> None:
    res = CliRunner().invoke(main, ["find", str(album), "-r", "--json", "-"])
    groups = json.loads(res.output)["groups"]
    assert len(groups) == 3
    small = next(g for g in groups if any(f.endswith("small.jpg") for f in g["files"]))
    assert not small["keep"].endswith("small.jpg")  # the full-resolution original is kept


@pytest.mark.cli
def test_remove_dry_run_touches_nothing_then_apply_and_undo(tmp_path: Path, album: Path) -> None:
    before = _digests(album)
    runner = CliRunner()
    dry = runner.invoke(main, ["remove", str(album), "-r"])
    assert dry.exit_code == 0 and "dry run: 3 files would move" in dry.output
    # the default quarantine is named by the time of --apply: the dry run names no folder --apply will not use
    assert (f"would move into {album.resolve()}.imagetwins-quarantine/<a new folder named by the time of --apply>"
            in dry.output), dry.output
    assert _digests(album) == before
    quarantine = tmp_path / "q"
    dry = runner.invoke(main, ["remove", str(album), "-r", "--move-to", str(quarantine)])
    assert dry.exit_code == 0 and f"dry run: 3 files would move to {quarantine};" in dry.output, dry.output
    assert _digests(album) == before and not quarantine.exists()
    res = runner.invoke(main, ["remove", str(album), "-r", "--apply", "--move-to", str(quarantine)])
    assert res.exit_code == 0, res.output
    after = _digests(album)
    assert len(after) == len(before) - 3
    assert "trip/small.jpg" not in after  # lower resolution copy moved, original stays
    moved = _digests(quarantine)
    assert "trip/small.jpg" in moved  # relative path kept
    manifest = json.loads((quarantine / "manifest.json").read_text())
    assert len(manifest["files"]) == 3 and all(len(f["sha256"]) == 64 for f in manifest["files"])
    # every group still has a file in the album
    assert sum(1 for k in after if k in before) == len(after)
    res = runner.invoke(main, ["undo", str(quarantine / "manifest.jsonl")])
    assert res.exit_code == 0 and "restored 3 files" in res.output
    assert _digests(album) == before


@pytest.mark.cli
def test_remove_never_takes_the_last_copy_and_handles_name_clashes(tmp_path: Path, album: Path) -> None:
    quarantine = tmp_path / "q"
    (quarantine / "trip").mkdir(parents=True)
    (quarantine / "trip" / "copy.jpg").write_bytes(b"already here")
    (quarantine / "manifest.jsonl").touch()  # (an earlier run's quarantine: a folder of other files is refused)
    runner = CliRunner()
    res = runner.invoke(main, ["remove", str(album), "-r", "--apply", "--move-to", str(quarantine)])
    assert res.exit_code == 0, res.output
    assert (quarantine / "trip" / "copy.1.jpg").exists()  # no overwrite
    assert (quarantine / "trip" / "copy.jpg").read_bytes() == b"already here"
    res = runner.invoke(main, ["remove", str(album), "-r", "--apply", "--move-to", str(quarantine)])
    assert "nothing to move" in res.output


@pytest.mark.integration
def test_undo_after_a_crash_mid_remove(tmp_path: Path, album: Path) -> None:
    """Simulate kill -9 between the journal's 'planned' line and the move, and after the move."""
    from imagetwins.finder import find_duplicate_groups
    from imagetwins.quarantine import _sign, apply_plan, plan_removal, undo

    before = _digests(album)
    result = find_duplicate_groups(album, recursive=True)
    plan = plan_removal(result, [album])
    quarantine = tmp_path / "q"
    apply_plan(plan, album, quarantine)
    journal = (quarantine / "manifest.jsonl").read_text().splitlines()
    # drop the last 'done' line (crash right after a move) and add a 'planned' line for a move that never ran
    stay = next(p for p in sorted(album.glob("*.jpg")))
    ghost = {"op": "move", "state": "planned", "from": str(stay.resolve()), "to": str(quarantine / "ghost.jpg"),
             "root": str(album.resolve()), "bytes": stay.stat().st_size,
             "sha256": hashlib.sha256(stay.read_bytes()).hexdigest(), "group": 9, "kept": "x"}
    ghost = _sign((quarantine / "manifest.key").read_bytes(), ghost)  # as the crashed run would have written it
    (quarantine / "manifest.jsonl").write_text("\n".join(journal[:-1] + [json.dumps(ghost), '{"op": "mo']) + "\n")
    out = undo(quarantine)
    assert not out.failed and len(out.done) == 3
    assert _digests(album) == before


@pytest.mark.cli
@pytest.mark.skipif(shutil.which("chromedriver") is None, reason="needs chromium-driver (.ci/run installs it)")
def test_report_in_headless_chromium(tmp_path: Path, album: Path) -> None:
    pytest.importorskip("selenium")
    from selenium import webdriver
    from selenium.webdriver.common.by import By

    page = tmp_path / "report.html"
    res = CliRunner().invoke(main, ["report", str(album), "-r", "-o", str(page)])
    assert res.exit_code == 0, res.output
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,1000"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser:
        opts.binary_location = browser
    # the system driver, so selenium never tries to download one
    driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(shutil.which("chromedriver")))
    try:
        driver.get(page.as_uri())
        groups = driver.find_elements(By.CSS_SELECTOR, "section.group")
        assert len(groups) == 3
        assert len(driver.find_elements(By.CSS_SELECTOR, ".file.keep")) == 3
        names = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".file .name")]
        assert "<img src=x onerror=alert(1)>.jpg" in names  # shown as text, not run as HTML
        assert driver.execute_script("return document.querySelectorAll('.name img').length") == 0
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        thumbs = driver.execute_script(
            "return [...document.images].filter(i => i.complete && i.naturalWidth > 0).length")
        assert thumbs == 6
        shot = tmp_path / "report.png"
        driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    img = Image.open(shot).convert("L")
    extrema = img.getextrema()
    assert extrema[1] - extrema[0] > 100  # not a blank page
    assert len(np.unique(np.asarray(img.resize((64, 64))))) > 50


@pytest.mark.cli
def test_plot_duplicates_like_imagededup(tmp_path: Path, album: Path) -> None:
    from imagetwins.methods import PHash
    from imagetwins.utils import plot_duplicates

    found = PHash(verbose=False).find_duplicates(image_dir=album, scores=True)
    key = next(k for k, v in found.items() if v)
    out = tmp_path / "plot.png"
    plot_duplicates(album, found, key, outfile=out)
    assert Image.open(out).size[0] > 300
    res = CliRunner().invoke(main, ["plot", str(album), key, "-o", str(tmp_path / "cli.png")])
    assert res.exit_code == 0 and (tmp_path / "cli.png").exists()
    with pytest.raises(ValueError, match="no duplicates"):
        plot_duplicates(album, {"a.jpg": []}, "a.jpg", outfile=out)


@pytest.mark.integration
def test_plot_duplicates_without_matplotlib_names_the_extra(tmp_path: Path, album: Path, monkeypatch) -> None:
    # an imagededup user calling plot_duplicates without the [plot] extra got a bare "No module named
    # 'matplotlib'" from inside imagetwins; the error says what to install, as 'imagetwins plot' does
    from imagetwins.methods import PHash
    from imagetwins.utils import plot_duplicates

    found = PHash(verbose=False).find_duplicates(image_dir=album, scores=True)
    key = next(k for k, v in found.items() if v)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(ModuleNotFoundError, match=r'pip install "imagetwins\[plot\]"') as err:
        plot_duplicates(album, found, key, outfile=tmp_path / "plot.png")
    assert err.value.name == "matplotlib" and not (tmp_path / "plot.png").exists()


@pytest.mark.cli
def test_against_with_a_vector_method_reports_similarities(tmp_path: Path, album: Path, datasets: Path,
                                                             fake_cnn) -> None:
    test_set = tmp_path / "test"
    test_set.mkdir()
    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[4]
    Image.open(photo).resize((240, 160)).save(test_set / "small.jpg", quality=80)
    res = CliRunner().invoke(main, ["find", str(test_set), "--against", str(album), "-m", "cnn", "--json", "-"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["with_duplicates"] == 1 and data["score_kind"] == "similarity"
    best = data["matches"][0]["matches"][0]
    assert best["path"].endswith(photo.name) and 0.82 <= best["similarity"] <= 1.0
