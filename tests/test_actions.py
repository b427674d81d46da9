"""remove --link hard|sym: each duplicate's place gets a link to its keeper; undo takes the link away and
puts the file back byte for byte."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from imagetwins import quarantine
from imagetwins.cli import main


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    """6 real photos; a half-size copy of #0 in a sub-folder, a byte copy of #1 made later."""
    root = tmp_path / "album"
    (root / "sub").mkdir(parents=True)
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:6]
    for p in photos:
        shutil.copy(p, root / p.name)
    with Image.open(photos[0]) as im:
        im.reduce(2).save(root / "sub" / "half.jpg", quality=90)
    shutil.copy(photos[1], root / "sub" / "copy.jpg")
    later = (root / photos[1].name).stat().st_mtime + 3600
    os.utime(root / "sub" / "copy.jpg", (later, later))
    return root


def _remove(album: Path, q: Path, *args: str):
    return CliRunner().invoke(main, ["remove", str(album), "--no-cache", "-r", "--apply", "--move-to", str(q), *args])


@pytest.mark.parametrize("kind", ["sym", "hard"])
def test_link_then_undo(tmp_path: Path, album: Path, kind: str) -> None:
    before = _digests(album)
    photos = sorted(p.name for p in album.glob("bsds_*.jpg"))
    q = tmp_path / "q"
    res = _remove(album, q, "--link", kind)
    assert res.exit_code == 0, res.output
    assert f"each replaced by a {kind} link" in res.output and "(2 made)" in res.output
    for place, keeper in ((album / "sub" / "half.jpg", album / photos[0]), (album / "sub" / "copy.jpg",
                                                                           album / photos[1])):
        assert os.path.samefile(place, keeper)  # the place now shows the kept picture
        if kind == "sym":
            assert place.is_symlink() and not os.path.isabs(os.readlink(place))  # relative: the folder may move
        else:
            assert not place.is_symlink() and place.stat().st_nlink == 2
    assert (q / "sub" / "half.jpg").exists() and (q / "sub" / "copy.jpg").exists()  # the files themselves
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 0 and "restored 2 files" in res.output, res.output
    assert _digests(album) == before
    assert not any(p.is_symlink() for p in album.rglob("*"))
    assert all(p.stat().st_nlink == 1 for p in album.rglob("*") if p.is_file())


def test_undo_leaves_alone_what_replaced_the_link(tmp_path: Path, album: Path) -> None:
    q = tmp_path / "q"
    assert _remove(album, q, "--link", "sym").exit_code == 0
    place = album / "sub" / "half.jpg"
    place.unlink()
    place.write_bytes(b"a new picture the owner saved here")
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 1 and "other than the sym link" in res.output
    assert place.read_bytes() == b"a new picture the owner saved here"
    assert (q / "sub" / "half.jpg").exists()  # still safe in quarantine
    assert not (album / "sub" / "copy.jpg").is_symlink()  # the other entry was restored


def test_hard_links_never_cross_devices(tmp_path: Path, album: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _digests(album)
    monkeypatch.setattr(quarantine, "_same_device", lambda a, b: False)
    res = _remove(album, tmp_path / "q", "--link", "hard")
    assert res.exit_code == 1 and res.output.count("another device") == 2
    assert _digests(album) == before


def test_a_plan_with_links(tmp_path: Path, album: Path) -> None:
    plan = tmp_path / "plan.json"
    assert CliRunner().invoke(main, ["find", str(album), "-r", "--no-cache", "--json", str(plan)]).exit_code == 0
    res = CliRunner().invoke(main, ["remove", "--plan", str(plan), "--apply", "--move-to", str(tmp_path / "q"),
                                    "--link", "sym"])
    assert res.exit_code == 0 and "(2 made)" in res.output, res.output
    assert (album / "sub" / "copy.jpg").is_symlink()
