"""Of byte copies in two folders, find/report/remove keep the side ``imagetwins folders`` keeps: the folder that
is a copy of another loses its files, however shallow it lies or short its path (one rule,
imagetwins.folder_copies)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _photos(datasets: Path, n: int, skip: int = 0) -> list[Path]:
    return sorted((datasets / "photos-public" / "images").glob("*.jpg"))[skip:skip + n]


def _moving(output: str) -> set[str]:
    return {ln.split()[2] for ln in output.splitlines() if ln.startswith("would move ")}


@pytest.mark.cli
def test_a_flat_backup_of_an_album_is_what_goes(tmp_path: Path, datasets: Path) -> None:
    """The stranger's lib/: Photos/2019 holds 5 photos, a flat Backup/ byte copies of 4 of them. 'folders' said
    "Backup is a copy of Photos/2019" while 'remove' kept Backup/ (fewer folders deep) and moved the album's 4."""
    lib = tmp_path / "lib"
    (lib / "Photos" / "2019").mkdir(parents=True)
    (lib / "Backup").mkdir()
    photos = _photos(datasets, 5)
    for p in photos:
        shutil.copy(p, lib / "Photos" / "2019" / p.name)
    for p in photos[:4]:
        shutil.copy(p, lib / "Backup" / p.name)
    res = run("folders", lib, "-r", "--json", "-")
    assert res.exit_code == 0, res.output
    (entry,) = json.loads(res.stdout)["folders"]
    assert (entry["remove"], entry["copy_of"]) == ("Backup", "Photos/2019")
    res = run("remove", lib, "-r")
    assert res.exit_code == 0, res.output
    assert _moving(res.output) == {str(lib / "Backup" / p.name) for p in photos[:4]}, res.output
    doc = json.loads(run("find", lib, "-r", "--json", "-").stdout)
    kept = {g["keep"] for g in doc["groups"]}
    assert kept == {str(lib / "Photos" / "2019" / p.name) for p in photos[:4]}, doc["groups"]


@pytest.mark.cli
def test_a_backup_of_scattered_folders_goes_at_the_same_depth(tmp_path: Path, datasets: Path) -> None:
    """The stranger's family/: 2020/summer/x.jpg and its byte copy Backup/old/x.jpg lie equally deep and the
    backup's path is shorter, so remove kept the backup; Backup (copies of pictures elsewhere) goes now."""
    fam = tmp_path / "family"
    for d in ("2019", "2020/summer", "Backup/old"):
        (fam / d).mkdir(parents=True)
    photos = _photos(datasets, 6, skip=10)
    for p in photos[:3]:
        shutil.copy(p, fam / "2019" / p.name)
    for p in photos[3:]:
        shutil.copy(p, fam / "2020" / "summer" / p.name)
    backed = [photos[0], photos[3], photos[4]]
    for p in backed:
        shutil.copy(p, fam / "Backup" / "old" / p.name)
    res = run("folders", fam, "-r", "--json", "-")
    assert [e["remove"] for e in json.loads(res.stdout)["folders"]] == ["Backup"], res.output
    res = run("remove", fam, "-r")
    assert res.exit_code == 0, res.output
    assert _moving(res.output) == {str(fam / "Backup" / "old" / p.name) for p in backed}, res.output
