"""An attack pass on what happens between a scan and its action, through the command line (the unit cases are in
tests/test_hostile_between.py): a plan of hundreds of whole folders."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CallCount

from imagetwins.cli import main

pytestmark = pytest.mark.cli


def test_a_plan_of_hundreds_of_folders_is_checked_in_linear_time(tmp_path: Path, monkeypatch) -> None:
    """Before whole folders move, each is checked against every folder already let through (does one hold the
    other's copies?) by resolving every copy's path and every folder's again for each pair: 300 folders of 20
    photos were 3.6 million realpath calls. Now each path's folders are taken once."""
    n, per = 120, 3
    folders = []
    for k in range(n):
        photos, backup = tmp_path / "Photos" / f"d{k:03d}", tmp_path / "Backup" / f"d{k:03d}"
        photos.mkdir(parents=True)
        backup.mkdir(parents=True)
        files = {}
        for i in range(per):
            data = f"picture {k} {i}".encode()
            (photos / f"p{i}.jpg").write_bytes(data)
            (backup / f"p{i}.jpg").write_bytes(data)
            digest = hashlib.sha256(data).hexdigest()
            files[f"Backup/d{k:03d}/p{i}.jpg"] = {"sha256": digest, "copy": f"Photos/d{k:03d}/p{i}.jpg",
                                                  "copy_sha256": digest}
        folders.append({"remove": f"Backup/d{k:03d}", "copy_of": f"Photos/d{k:03d}", "files": files})
    plan = tmp_path.parent / f"{tmp_path.name}-plan.json"
    plan.write_text(json.dumps({"imagetwins_plan": 1, "root": str(tmp_path.resolve()), "groups": [],
                                "folders": folders}))
    realpath = CallCount(monkeypatch, os.path, "realpath")
    res = CliRunner().invoke(main, ["remove", str(tmp_path), "--plan", str(plan)])
    monkeypatch.undo()
    assert res.exit_code == 0, res.output
    assert f"dry run: {n} folders would move" in res.output
    assert realpath.calls < 20 * n * per, realpath.calls


def test_the_dry_run_names_only_the_sidecars_that_would_move(tmp_path: Path) -> None:
    """The dry run said "with its XMP sidecar X" for a sidecar that is a symbolic link (to /dev/zero) or a FIFO, which
    ``--apply`` leaves in place (`its XMP sidecar is a symbolic link, not a file`): now only those that move."""
    import shutil

    from conftest import synthetic_photo

    album = tmp_path / "album"
    (album / "a").mkdir(parents=True)
    (album / "b").mkdir()
    synthetic_photo(64, 48, 0).save(album / "a" / "x.png")
    shutil.copy(album / "a" / "x.png", album / "b" / "x.png")
    shutil.copy(album / "a" / "x.png", album / "b" / "y.png")
    (album / "b" / "x.png.xmp").symlink_to("/dev/zero")
    os.mkfifo(album / "b" / "y.png.xmp")
    res = CliRunner().invoke(main, ["remove", str(album), "-r", "-m", "phash", "--no-cache"])
    assert res.exit_code == 0, res.output
    assert "would move" in res.output and "with its XMP sidecar" not in res.output, res.output
