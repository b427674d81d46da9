"""A file that a symbolic link in the folder leads to is not moved from under it.

An album of symbolic links (``album/fav.jpg -> ../photos/IMG_2.jpg``), or the links an earlier ``remove --link sym``
left in moved files' places, must keep leading to a picture: ``remove`` without ``--link`` (or ``--to-trash``) once
moved the file a link led to and left the link leading nowhere, saying only "symbolic links skipped"."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main

pytestmark = pytest.mark.cli


@pytest.fixture
def linked(tmp_path: Path, datasets: Path) -> Path:
    """photos/: two real photos and a newer byte copy of the first; album/fav.jpg: a link to that copy."""
    root = tmp_path / "lib"
    (root / "photos").mkdir(parents=True)
    (root / "album").mkdir()
    a, b = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:2]
    shutil.copy(a, root / "photos" / "a.jpg")
    shutil.copy(b, root / "photos" / "b.jpg")
    shutil.copy(a, root / "photos" / "a_again.jpg")
    for name, t in (("a.jpg", 1_600_000_000), ("b.jpg", 1_600_000_000), ("a_again.jpg", 1_700_000_000)):
        os.utime(root / "photos" / name, (t, t))
    os.symlink("../photos/a_again.jpg", root / "album" / "fav.jpg")
    return root


def _remove(root: Path, q: Path, *args: str):
    return CliRunner().invoke(main, ["remove", str(root), "-r", "--no-cache", "--keep", "oldest", "--move-to", str(q),
                                     *args])


def test_a_file_a_link_in_the_folder_leads_to_stays_and_is_named(tmp_path: Path, linked: Path) -> None:
    fav = linked / "album" / "fav.jpg"
    dry = _remove(linked, tmp_path / "q", "-q")
    assert dry.exit_code == 1, dry.output
    res = _remove(linked, tmp_path / "q", "--apply")
    assert res.exit_code == 1, res.output
    assert fav.is_file() and (linked / "photos" / "a_again.jpg").is_file()  # the link still leads to the picture
    said = [line for line in res.output.splitlines() if "a_again.jpg" in line]
    assert len(said) == 1 and "not moving" in said[0] and "album/fav.jpg" in said[0], res.output
    assert "--link" in said[0], said  # what moves it and keeps the link working


def test_with_link_the_file_moves_and_the_link_still_leads_to_a_picture(tmp_path: Path, linked: Path) -> None:
    fav = linked / "album" / "fav.jpg"
    res = _remove(linked, tmp_path / "q", "--apply", "--link")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "q" / "photos" / "a_again.jpg").is_file()
    assert fav.read_bytes() == (linked / "photos" / "a.jpg").read_bytes()


def test_a_plan_moves_no_file_a_link_leads_to(tmp_path: Path, linked: Path) -> None:
    plan = tmp_path / "plan.json"
    made = CliRunner().invoke(main, ["find", str(linked), "-r", "--no-cache", "--keep", "oldest", "--json", str(plan)])
    assert made.exit_code == 0, made.output
    res = CliRunner().invoke(main, ["remove", str(linked), "--plan", str(plan), "--apply", "--ignore-decisions",
                                    "--move-to", str(tmp_path / "q")])
    assert res.exit_code == 1, res.output
    assert (linked / "album" / "fav.jpg").is_file()
    assert "album/fav.jpg" in res.output, res.output


def test_a_second_remove_keeps_the_links_an_earlier_link_sym_left(tmp_path: Path, linked: Path) -> None:
    """Run 1 leaves photos/a_again.jpg -> a.jpg; run 2's plan keeps another byte copy: a.jpg stays for the link."""
    first = _remove(linked, tmp_path / "q1", "--apply", "--link", "sym")
    assert first.exit_code == 0, first.output  # (a link takes a_again.jpg's place: fav.jpg still leads to a picture)
    assert (linked / "photos" / "a_again.jpg").is_symlink()
    shutil.copy(linked / "photos" / "a.jpg", linked / "photos" / "a_new.jpg")
    plan = tmp_path / "plan.json"
    assert CliRunner().invoke(main, ["find", str(linked), "-r", "--no-cache", "--json", str(plan)]).exit_code == 0
    doc = json.loads(plan.read_text())
    group = next(g for g in doc["groups"] if any(f.endswith("a_new.jpg") for f in g["files"]))
    group["keep"] = next(f for f in group["files"] if f.endswith("a_new.jpg"))
    plan.write_text(json.dumps(doc))
    res = CliRunner().invoke(main, ["remove", str(linked), "--plan", str(plan), "--apply", "--ignore-decisions",
                                    "--move-to", str(tmp_path / "q2")])
    assert (linked / "photos" / "a.jpg").is_file(), res.output
    assert (linked / "album" / "fav.jpg").is_file()


def test_a_folder_a_link_leads_into_stays(tmp_path: Path, datasets: Path) -> None:
    root = tmp_path / "lib"
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:3]
    (root / "X").mkdir(parents=True)
    for p in photos:
        shutil.copy(p, root / "X" / p.name)
    shutil.copytree(root / "X", root / "Y")  # (a folder copy of X)
    (root / "album").mkdir()
    os.symlink(f"../X/{photos[0].name}", root / "album" / "fav.jpg")
    os.symlink(f"../Y/{photos[0].name}", root / "album" / "fav2.jpg")
    plan = tmp_path / "folders.json"
    made = CliRunner().invoke(main, ["folders", str(root), "-r", "--no-cache", "-m", "phash", "--json", str(plan)])
    assert made.exit_code == 0, made.output
    res = CliRunner().invoke(main, ["remove", str(root), "--plan", str(plan), "--apply", "--move-to",
                                    str(tmp_path / "q")])
    assert res.exit_code == 1, res.output
    assert (root / "album" / "fav.jpg").is_file() and (root / "album" / "fav2.jpg").is_file()
    assert "leads to" in res.output, res.output


def test_a_folder_a_link_leads_to_stays(tmp_path: Path, datasets: Path) -> None:
    """A link to the folder itself (``fav -> X``), or to a folder inside it, would lead nowhere once it moved."""
    root = tmp_path / "lib"
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:3]
    (root / "X" / "sub").mkdir(parents=True)
    for p in photos:
        shutil.copy(p, root / "X" / "sub" / p.name)
    shutil.copytree(root / "X", root / "Y")  # (a folder copy of X)
    (root / "album").mkdir()
    os.symlink("../X", root / "album" / "fav")
    os.symlink("../Y/sub", root / "album" / "fav2")
    plan = tmp_path / "folders.json"
    made = CliRunner().invoke(main, ["folders", str(root), "-r", "--no-cache", "-m", "phash", "--json", str(plan)])
    assert made.exit_code == 0, made.output
    res = CliRunner().invoke(main, ["remove", str(root), "--plan", str(plan), "--apply", "--move-to",
                                    str(tmp_path / "q")])
    assert (root / "album" / "fav").is_dir() and (root / "album" / "fav2").is_dir(), res.output
    assert res.exit_code == 1 and "album/fav" in res.output and "would lead nowhere" in res.output, res.output
