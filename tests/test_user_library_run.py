"""What a README-only user met cleaning a library of camera photos with a backup folder, through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, ImageOps

from imagetwins.cli import main

pytestmark = pytest.mark.cli


def _camera_photos(datasets: Path, n: int) -> list[Path]:
    return sorted((datasets / "camera-photos" / "images").glob("*.jpg"))[:n]


def _train_and_leak(tmp_path: Path, datasets: Path, n: int, leaked: int, size: tuple[int, int], quality: int,
                    name: str) -> tuple[Path, Path, list[Path]]:
    """``train/`` with the first ``n`` photos-public photos and ``test/`` with a shrunk, re-encoded copy of the
    ``leaked``-th of them named ``name``: the folders and the photos."""
    train, test = tmp_path / "train", tmp_path / "test"
    train.mkdir()
    test.mkdir()
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:n]
    for p in photos:
        shutil.copy(p, train / p.name)
    with Image.open(photos[leaked]) as im:
        im.thumbnail(size)
        im.save(test / name, quality=quality)
    return train, test, photos


def _run(*args: str):
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res


def test_a_group_of_byte_identical_files_is_new_not_decided_earlier(tmp_path: Path, datasets: Path) -> None:
    """Once any decision was remembered, every group of byte-identical files was shown as "(decided earlier)"
    (and put after the new groups on the review page) although nobody decided anything about it."""
    lib = tmp_path / "lib"
    lib.mkdir()
    a, b = _camera_photos(datasets, 2)
    shutil.copy2(a, lib / "IMG_0001.jpg")
    shutil.copy2(a, lib / "IMG_0001 (1).jpg")
    shutil.copy2(b, lib / "IMG_0002.jpg")
    with Image.open(b) as im:
        up = ImageOps.exif_transpose(im).convert("RGB")  # an export: upright, a third of the size
        up.resize((up.width // 3, up.height // 3)).save(lib / "IMG_0002_small.jpg", quality=85)
    plan = tmp_path / "plan.json"
    _run("find", lib, "--no-cache", "--json", plan, "-q")
    # a person accepts the plan's groups and imports it: the keeper of IMG_0002 over its copy
    doc = json.loads(plan.read_text())
    for g in doc["groups"]:
        g["reviewed"] = True
    plan.write_text(json.dumps(doc))
    res = _run("decisions", "import", plan)
    assert "remembered 1 decision" in res.output, res.output

    res = _run("find", lib, "--no-cache")
    lines = [ln for ln in res.output.splitlines() if ln.startswith("group ")]
    assert len(lines) == 2, res.output
    identical = next(ln for ln in lines if "byte-identical" in ln)
    resized = next(ln for ln in lines if "byte-identical" not in ln)
    assert "decided earlier" not in identical, res.output
    assert "decided earlier" in resized, res.output
    assert "1 group decided earlier" in res.output, res.output

    doc = json.loads(_run("find", lib, "--no-cache", "--json", "-", "-q").stdout)
    remembered = {len(set(g["sha256"].values())): g.get("remembered") for g in doc["groups"]}
    assert remembered == {1: None, 2: "decided"}, doc["groups"]


def test_the_keeper_of_byte_identical_copies_is_not_the_one_in_the_backup_folder(tmp_path: Path,
                                                                                  datasets: Path) -> None:
    """Of Photos/2019/IMG.jpg and its byte copy Backup/old/2019/IMG.jpg (same name, same file time) 'find' kept
    the backup ('Backup' sorts first) and 'remove' would have moved every original out of Photos/2019, while
    'imagetwins folders' says the backup is the copy to go."""
    lib = tmp_path / "lib"
    photos, backup = lib / "Photos" / "2019", lib / "Backup" / "old" / "2019"
    photos.mkdir(parents=True)
    backup.mkdir(parents=True)
    for i, src in enumerate(_camera_photos(datasets, 3), 1):
        shutil.copy2(src, photos / f"IMG_{i:04d}.jpg")
        shutil.copy2(photos / f"IMG_{i:04d}.jpg", backup / f"IMG_{i:04d}.jpg")  # a backup keeps the file time

    doc = json.loads(_run("find", lib, "-r", "--no-cache", "--json", "-", "-q").stdout)
    assert len(doc["groups"]) == 3
    for g in doc["groups"]:
        assert g["exact"] and Path(g["keep"]).parent == photos, g

    res = _run("remove", lib, "-r", "--no-cache")
    moving = [ln for ln in res.output.splitlines() if ln.startswith("would move ")]
    assert len(moving) == 3 and all(f"{backup}{'/'}" in ln.split("(")[0] for ln in moving), res.output

    res = _run("folders", lib, "-r", "--no-cache")
    assert res.output.startswith("Backup  is a copy of  Photos/2019"), res.output  # the two commands agree


def test_copies_scores_are_called_confidences_when_checking_a_test_set(tmp_path: Path, datasets: Path) -> None:
    """'check -m copies' and 'index query -m copies' printed a verification confidence as "similarity 0.970",
    while 'find' and 'explain' call it a confidence."""
    pytest.importorskip("cv2")
    train, test, photos = _train_and_leak(tmp_path, datasets, 3, 0, (200, 200), 70, "leak_small.jpg")
    shutil.copy(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[10], test / "unique.jpg")

    res = CliRunner().invoke(main, ["check", str(test), "--against", str(train), "-m", "copies", "--no-cache"])
    assert res.exit_code == 3, res.output
    assert f"= {train / photos[0].name}  (confidence " in res.output, res.output
    assert "similarity" not in res.output

    db = tmp_path / "train.db"
    _run("index", "update", train, "--db", db, "-m", "copies", "-m", "phash")
    res = _run("index", "query", test, "--db", db, "-m", "copies")
    assert "(confidence " in res.output and "similarity" not in res.output, res.output
    res = _run("index", "query", test, "--db", db, "-m", "phash")  # a hash: bits, as before
    assert " bits)" in res.output and "confidence" not in res.output, res.output


def test_undo_of_a_folder_move_says_folder_not_one_file(tmp_path: Path, datasets: Path) -> None:
    """'undo' of 'remove --plan folders.json --apply' said "restored 1 file" for a backup folder of 3 photos."""
    lib = tmp_path / "lib"
    photos, backup = lib / "Photos" / "2019", lib / "Backup" / "old" / "2019"
    photos.mkdir(parents=True)
    backup.mkdir(parents=True)
    for i, src in enumerate(_camera_photos(datasets, 3), 1):
        shutil.copy2(src, photos / f"IMG_{i:04d}.jpg")
        shutil.copy2(src, backup / f"IMG_{i:04d}.jpg")
    plan = tmp_path / "folders.json"
    _run("folders", lib, "-r", "-m", "phash", "--no-cache", "--json", plan)
    res = _run("remove", lib, "--plan", plan, "--apply")
    assert "moved 1 folder to " in res.output and "0 files" not in res.output, res.output
    assert not (lib / "Backup").exists()
    quarantine = res.output.split(" to ", 1)[1].split(";", 1)[0]
    res = _run("undo", quarantine)
    assert res.output.strip().split(";")[0] == "restored 1 folder", res.output
    assert sorted(p.name for p in backup.iterdir()) == ["IMG_0001.jpg", "IMG_0002.jpg", "IMG_0003.jpg"]


def test_index_update_makes_again_what_an_older_imagetwins_encoded_differently(tmp_path: Path,
                                                                                 datasets: Path) -> None:
    """After an upgrade changed how 'copies' encodes, every command refused the index, 'index update' too, and
    the only way offered was to delete it (with its other methods and the team's decisions)."""
    import sqlite3

    train, test, photos = _train_and_leak(tmp_path, datasets, 4, 1, (240, 240), 75, "upload.jpg")
    db = tmp_path / "catalogue.db"
    _run("index", "update", train, "--db", db, "-m", "copies", "-m", "phash")
    with sqlite3.connect(db) as con:  # what an older imagetwins wrote: another encoder identity for copies
        (identity,) = con.execute("SELECT identity FROM encoders WHERE method = 'copies'").fetchone()
        old = json.loads(identity)
        old["version"] = -1
        con.execute("UPDATE encoders SET identity = ? WHERE method = 'copies'", (json.dumps(old, sort_keys=True),))
        phash_rows = con.execute("SELECT count(*) FROM encodings WHERE method = 'phash'").fetchone()[0]
    con.close()

    res = CliRunner().invoke(main, ["check", str(test), "--against", str(db), "-m", "copies"])
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    assert f"imagetwins index update {train} --db {db}" in res.output and "delete" not in res.output, res.output

    res = _run("index", "update", train, "--db", db)
    assert "4 made again for this imagetwins" in res.output, res.output
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM encodings WHERE method = 'phash'").fetchone()[0] == phash_rows
    con.close()
    res = CliRunner().invoke(main, ["check", str(test), "--against", str(db), "-m", "copies"])
    assert res.exit_code == 3 and f"= {train / photos[1].name}  (confidence" in res.output, res.output


def test_plot_names_a_file_it_cannot_plot_before_searching(tmp_path: Path, datasets: Path) -> None:
    """'imagetwins plot LIB IMG_0001.jpg' for a photo in LIB/Photos/2019 searched the whole library, then said
    "Error: 'IMG_0001.jpg' is not a key of duplicate_map"."""
    pytest.importorskip("matplotlib")
    lib = tmp_path / "lib"
    photos = lib / "Photos" / "2019"
    photos.mkdir(parents=True)
    a = _camera_photos(datasets, 1)[0]
    shutil.copy2(a, photos / "IMG_0001.jpg")
    shutil.copy2(a, photos / "IMG_0001 (1).jpg")
    (lib / "notes.jpg").write_text("not a picture")
    out = tmp_path / "p.png"

    def plot(*args: object):
        return CliRunner().invoke(main, ["plot", str(lib), *map(str, args), "-m", "phash", "-o", str(out)])

    res = plot("IMG_0001.jpg")
    assert res.exit_code == 2 and "no file IMG_0001.jpg in " in res.output, res.output
    res = plot("Photos/2019/IMG_0001.jpg")
    assert res.exit_code == 2 and "add -r" in res.output, res.output
    res = plot("notes.jpg")
    assert res.exit_code == 1 and "notes.jpg in " in res.output and "not an image" in res.output, res.output
    assert "duplicate_map" not in res.output and "Traceback" not in res.output
    assert not out.exists()
    for name in ("Photos/2019/IMG_0001.jpg", photos / "IMG_0001.jpg"):  # relative to LIB, or a full path
        res = plot(name, "-r")
        assert res.exit_code == 0 and "1 duplicate of Photos/2019/IMG_0001.jpg" in res.output, res.output
    assert out.stat().st_size > 1000


def test_tune_measures_the_default_method_too(tmp_path: Path, datasets: Path) -> None:
    """'tune' recommended '--method dihedral' on a labelled sample without a word that copies, the method every
    other command uses by default (and which found more of the sample's copies), was never tried; then a note said
    so. Now copies is always in the table (its cost: 450 ukbench images 2.2 -> 7.5 CPU s), -m copies adds nothing."""
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    labelled = tmp_path / "labelled"
    for i, p in enumerate(photos[100:103]):
        (labelled / f"set{i}").mkdir(parents=True)
        shutil.copy(p, labelled / f"set{i}" / p.name)
        with Image.open(p) as im:
            ImageOps.mirror(im).save(labelled / f"set{i}" / "mirrored.jpg", quality=90)
    for p in photos[110:118]:
        shutil.copy(p, labelled / p.name)
    pytest.importorskip("cv2")
    res = _run("tune", labelled)
    assert "recommended: --method" in res.output and "\ncopies " in res.output, res.output
    assert "note: copies" not in res.output and "not tried" not in res.output, res.output
    assert _run("tune", labelled, "-m", "copies").output == res.output


def test_to_trash_says_how_to_undo_it(tmp_path: Path, datasets: Path, monkeypatch) -> None:
    """'remove --apply --to-trash' ended with "journal in DIR" only, while a move to the quarantine ends with
    the undo command (and on Linux 'imagetwins undo' does put trashed files back)."""
    from imagetwins.trash import FREEDESKTOP

    if not FREEDESKTOP:
        pytest.skip("this platform's trash is not the freedesktop folder")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    lib = tmp_path / "lib"
    lib.mkdir()
    a = _camera_photos(datasets, 1)[0]
    shutil.copy2(a, lib / "IMG_0001.jpg")
    shutil.copy2(a, lib / "IMG_0001 (1).jpg")
    res = _run("remove", lib, "--apply", "--to-trash", "-m", "phash", "--no-cache")
    summary = res.output.strip().splitlines()[-1]
    assert summary.startswith("sent 1 file to the system trash; journal in "), res.output
    assert "; undo with: imagetwins undo " in summary, res.output
    assert not (lib / "IMG_0001 (1).jpg").exists()
    res = _run(*summary.split("undo with: imagetwins ", 1)[1].split(" ", 1))
    assert "restored 1 file" in res.output and (lib / "IMG_0001 (1).jpg").read_bytes() == a.read_bytes()


def test_link_summary_counts_one_copy_in_the_singular(tmp_path: Path, datasets: Path) -> None:
    """'remove --apply --link' of one file said "(1 real copies: ...)"."""
    lib = tmp_path / "lib"
    lib.mkdir()
    a = _camera_photos(datasets, 1)[0]
    shutil.copy2(a, lib / "IMG_0001.jpg")
    shutil.copy2(a, lib / "IMG_0001 (1).jpg")
    res = _run("remove", lib, "--apply", "--link", "-m", "phash", "--no-cache")
    assert "1 real copies" not in res.output, res.output
    assert "(1 real copy: this file system cannot share blocks" in res.output or \
        "copy-on-write clone of the kept file (1 made)" in res.output, res.output
    assert (lib / "IMG_0001 (1).jpg").read_bytes() == a.read_bytes()
