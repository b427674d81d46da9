"""The stranger's small findings (new user, README and docs only): each test failed before its fix."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import imagetwins
from imagetwins.cli import main

SRC = str(Path(imagetwins.__file__).resolve().parents[1])  # (the code under test, in the child process too)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# a second Ctrl-C lands while the first one's exit is under way (its line being printed): it printed a traceback
# (KeyboardInterrupt during the handling of SystemExit) or "Aborted!" with exit 1
_TWO_CTRL_C = """
import os, signal, sys, threading
import imagetwins.cli as cli
first = cli.interrupted_line
def line():
    os.kill(os.getpid(), signal.SIGINT)  # the second Ctrl-C, while the first one's line is being made
    return first()
cli.interrupted_line = line
threading.Timer(float(sys.argv[1]), lambda: os.kill(os.getpid(), signal.SIGINT)).start()
sys.argv = ["imagetwins", *sys.argv[2:]]
cli.main()
"""


@pytest.mark.cli
def test_a_second_ctrl_c_during_the_exit_is_still_one_line_and_130(tmp_path: Path, datasets: Path) -> None:
    pytest.importorskip("cv2")
    photos = tmp_path / "photos"
    photos.mkdir()
    for p in sorted((datasets / "camera-photos" / "images").glob("*.jpg"))[:12]:
        shutil.copy(p, photos / p.name)
    env = {**os.environ, "PYTHONPATH": SRC, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    for after in (0.5, 1.5):
        proc = subprocess.run([sys.executable, "-c", _TWO_CTRL_C, str(after), "find", str(photos), "-m", "copies",
                               "--no-cache", "-q"], env=env, capture_output=True, text=True, timeout=300)
        if proc.returncode == 0:
            continue  # done before the first Ctrl-C (a fast machine)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 130 and "Traceback" not in out and "Aborted" not in out, (after, out)
        [line] = out.strip().splitlines()
        assert line.startswith("interrupted (Ctrl-C)") and line.endswith("was changed"), out


@pytest.mark.cli
def test_follow_symlinks_find_and_remove_keep_the_same_file_and_remove_exits_0(tmp_path: Path, datasets: Path) -> None:
    """fam8/linkdir, a link to a folder outside holding byte copies: 'find --follow-symlinks' kept the copy reached
    through the link, 'remove --follow-symlinks' refused it (15 warnings), kept another and exited 1."""
    fam, outside = tmp_path / "fam8", tmp_path / "outside"
    (fam / "2020" / "summer").mkdir(parents=True)
    (fam / "2019").mkdir()
    outside.mkdir()
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[30:34]
    for p in photos:
        shutil.copy(p, fam / "2020" / "summer" / p.name)
        shutil.copy(p, outside / p.name)
    shutil.copy(photos[0], fam / "2019" / photos[0].name)  # one group with two files inside
    (fam / "linkdir").symlink_to(outside, target_is_directory=True)
    doc = json.loads(run("find", fam, "-r", "--follow-symlinks", "--json", "-").stdout)
    kept = {g["keep"] for g in doc["groups"]}
    assert len(doc["groups"]) == 4 and not any("linkdir" in k for k in kept), kept
    page = tmp_path / "review.html"  # the review page keeps the same files (its keep stage is not run again)
    assert run("report", fam, "-r", "--follow-symlinks", "-o", page).exit_code == 0
    text = page.read_text()
    data = json.loads(text.split('<script id="data" type="application/json">', 1)[1].split("</script>", 1)[0])
    assert not any("linkdir" in g["files"][g["keep"]]["path"] for g in data["groups"]), data["groups"]
    res = run("remove", fam, "-r", "--follow-symlinks")
    assert res.exit_code == 0, res.output
    moving = [ln.split()[2] for ln in res.output.splitlines() if ln.startswith("would move ")]
    keeping = {ln.split("keeping ")[1].rstrip(")") for ln in res.output.splitlines() if ln.startswith("would move ")}
    assert len(moving) == 1 and "linkdir" not in moving[0] and keeping <= kept, res.output
    assert "warning" not in res.output and "error" not in res.output, res.output
    assert "note: 4 files reached through a followed symbolic link stay where they are" in res.output, res.output
    res = run("remove", fam, "-r", "--follow-symlinks", "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 0 and sorted(p.name for p in outside.iterdir()) == sorted(p.name for p in photos)


@pytest.mark.cli
def test_the_best_shot_is_never_an_edited_copy_of_another_file_of_its_group(tmp_path: Path, datasets: Path) -> None:
    """'find -m similar' suggested Edited/x_grey.jpg over its colour original, a crop over the camera original, a PNG
    re-save over the camera JPEG, a quality-85 re-save over the original (the best-shot score saw only sharpness and
    exposure). Copies of one capture are now one candidate, the file the original rule keeps."""
    from PIL import Image, ImageOps

    fam = tmp_path / "family"
    (fam / "2019").mkdir(parents=True)
    (fam / "Edited").mkdir()
    cameras = datasets / "camera-photos" / "images"
    photos = datasets / "photos-public" / "images"
    for src in (cameras / "mei__Canon_PowerShot_A80.jpg", cameras / "mei__Canon_PowerShot_G11.jpg",
                photos / "bsds_104010.jpg", photos / "bsds_105019.jpg",
                datasets / "holidays-half" / "images" / "101401.jpg"):
        shutil.copy(src, fam / "2019" / src.name)
    with Image.open(fam / "2019" / "mei__Canon_PowerShot_A80.jpg") as im:
        up = ImageOps.exif_transpose(im)
        w, h = up.size
        up.crop((w // 8, h // 8, w // 8 + 3 * w // 4, h // 8 + 3 * h // 4)).save(
            fam / "Edited" / "mei__Canon_PowerShot_A80_crop.jpg", quality=92)
        ImageOps.mirror(up).save(fam / "Edited" / "mei__Canon_PowerShot_A80_mirror.jpg", quality=92)
    with Image.open(fam / "2019" / "mei__Canon_PowerShot_G11.jpg") as im:
        im.save(fam / "Edited" / "mei__Canon_PowerShot_G11.png")
    for name in ("bsds_104010", "101401"):
        with Image.open(fam / "2019" / f"{name}.jpg") as im:  # (finer than the original: the grey one won on quality)
            im.convert("L").save(fam / "Edited" / f"{name}_grey.jpg", quality=95)
    with Image.open(fam / "2019" / "bsds_105019.jpg") as im:
        im.save(fam / "Edited" / "bsds_105019_resaved.jpg", quality=85)
    res = run("find", fam, "-r", "-m", "similar", "--json", "-")
    assert res.exit_code == 0, res.output
    groups = json.loads(res.stdout)["groups"]
    suggested = sorted(Path(g["suggested_keep"]).relative_to(fam).as_posix() for g in groups)
    assert len(groups) == 5 and all(s.startswith("2019/") for s in suggested), suggested


@pytest.mark.cli
def test_pairs_with_against_says_one_thing(tmp_path: Path, datasets: Path) -> None:
    """'--pairs' with --against said "give --json too", and with --json "not supported with --against"."""
    folder = tmp_path / "a"
    folder.mkdir()
    shutil.copy(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0], folder / "x.jpg")
    for extra in ([], ["--json", "-"]):
        res = run("find", folder, "--against", folder, "--pairs", *extra)
        assert res.exit_code == 2 and "--pairs is not supported with --against" in res.output, res.output
        assert "give --json too" not in res.output


@pytest.mark.cli
def test_undo_counts_a_refused_journal_line_apart_from_the_file(tmp_path: Path, datasets: Path) -> None:
    """One journal line edited: undo said 'restored 3 files, 2 failed' (the line and the file it names), 1 file."""
    album = tmp_path / "album"
    album.mkdir()
    for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[40:44]:
        shutil.copy(p, album / p.name)
        shutil.copy(p, album / f"copy_{p.name}")
    q = tmp_path / "q"
    assert run("remove", album, "--apply", "--move-to", q).exit_code == 0
    journal = q / "manifest.jsonl"
    first, rest = journal.read_text().split("\n", 1)
    entry = json.loads(first)
    entry["bytes"] += 1  # an edit: the line's signature no longer matches
    journal.write_text(json.dumps(entry) + "\n" + rest)
    res = run("undo", q)
    assert res.exit_code == 1 and res.output.strip().splitlines()[-1] == \
        "restored 3 files, 1 failed, 1 journal line refused", res.output


@pytest.mark.integration
def test_the_review_page_names_unreadable_files_as_it_names_the_groups(tmp_path: Path, datasets: Path,
                                                                       monkeypatch) -> None:
    """Group paths were relative to the scanned folder, unreadable ones to the working folder (family/Phone/x)."""
    from imagetwins.report import report_data

    fam = tmp_path / "family"
    (fam / "Phone").mkdir(parents=True)
    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0]
    shutil.copy(photo, fam / "Phone" / "a.jpg")
    shutil.copy(photo, fam / "Phone" / "b.jpg")
    (fam / "Phone" / "broken.jpg").write_bytes(photo.read_bytes()[:300])
    monkeypatch.chdir(tmp_path)
    result = imagetwins.find(Path("family"), recursive=True, keep="original", cache=False)
    data = report_data(result, root=Path("family"))
    assert {f["path"] for g in data["groups"] for f in g["files"]} == {"Phone/a.jpg", "Phone/b.jpg"}
    assert [u["path"] for u in data["unreadable"]] == ["Phone/broken.jpg"], data["unreadable"]


@pytest.mark.unit
def test_the_plot_shows_a_score_to_three_places() -> None:
    """plot printed 'score 0.9791983366012573' (and a long name ran off the top of the figure)."""
    from imagetwins.report import _plot_score, _wrapped

    assert _plot_score(0.9791983366012573) == "0.979" and _plot_score(3) == "3" and _plot_score(1.0) == "1.000"
    assert _plot_score(np.uint16(12)) == "12" and _plot_score(np.float32(0.5)) == "0.500"
    assert all(len(line) <= 32 for line in _wrapped("x" * 70).splitlines()) and _wrapped("a.jpg") == "a.jpg"


@pytest.mark.cli
def test_no_cache_is_kept_for_a_folder_without_images(tmp_path: Path, datasets: Path) -> None:
    """'find Empty/' made a cache of 0 files that 'cache list' then listed for ever."""
    empty, photos = tmp_path / "Empty", tmp_path / "photos"
    empty.mkdir()
    photos.mkdir()
    shutil.copy(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0], photos / "a.jpg")
    for args in (["find", empty, "-q"], ["find", photos, "-m", "phash", "-q"]):
        assert run(*args).exit_code == 0
    with imagetwins.open_session(empty, ["phash"]) as session:  # the library's own session too
        assert session.index is not None
    listed = run("cache", "list").output
    assert str(photos) in listed and str(empty) not in listed and "1 cache," in listed, listed


@pytest.mark.cli
def test_check_of_a_folder_against_itself_is_a_usage_error(tmp_path: Path, datasets: Path) -> None:
    """'check ml/test --against ml/test -r' printed a note and passed (exit 0): a gate a typo turns green."""
    folder = tmp_path / "test"
    folder.mkdir()
    shutil.copy(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0], folder / "a.jpg")
    for against in (folder, tmp_path / "." / "test"):
        res = run("check", folder, "--against", against, "-r", "-m", "phash")
        assert res.exit_code == 2 and "are the same folder" in res.output, res.output
    assert run("find", folder, "--against", folder, "-m", "phash").exit_code == 0  # (find lists; it is no gate)
