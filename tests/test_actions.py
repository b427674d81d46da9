"""remove --link hard|sym: each duplicate's place gets a link to its keeper; undo takes the link away and
puts the file back byte for byte."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image
from tree_digests import file_digests as _digests

from imagetwins import quarantine
from imagetwins.cli import main

pytestmark = pytest.mark.cli


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
    res = CliRunner().invoke(main, ["remove", str(album), "--plan", str(plan), "--apply",
                                    "--move-to", str(tmp_path / "q"), "--link", "sym"])
    assert res.exit_code == 0 and "(2 made)" in res.output, res.output
    assert (album / "sub" / "copy.jpg").is_symlink()


@pytest.fixture
def trash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home trash of our own: $XDG_DATA_HOME in tmp_path (the album's device, so the home trash is used)."""
    from imagetwins import trash

    if not trash.FREEDESKTOP:
        pytest.skip("this platform's trash is not the freedesktop folder")
    data_home = tmp_path / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    return data_home / "Trash"


def test_to_trash_then_undo(tmp_path: Path, album: Path, trash: Path) -> None:
    before = _digests(album)
    (trash / "files").mkdir(parents=True)
    (trash / "info").mkdir()
    (trash / "files" / "half.jpg").write_bytes(b"an older half.jpg the owner trashed")  # a name clash in the trash
    (trash / "info" / "half.jpg.trashinfo").write_text("[Trash Info]\nPath=/elsewhere/half.jpg\n")
    q = tmp_path / "journal"
    dry = CliRunner().invoke(main, ["remove", str(album), "--no-cache", "-r", "--to-trash"])
    assert "dry run: 2 files would go to the system trash" in dry.output and _digests(album) == before
    res = _remove(album, q, "--to-trash")
    assert res.exit_code == 0 and "sent 2 files to the system trash" in res.output, res.output
    assert not (album / "sub" / "half.jpg").exists() and not (album / "sub" / "copy.jpg").exists()
    assert (trash / "files" / "half 1.jpg").exists() and (trash / "files" / "copy.jpg").exists()
    assert not any(p.is_file() and not p.name.startswith("manifest.") for p in q.rglob("*"))  # only the journal
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 0 and "restored 2 files" in res.output, res.output
    assert _digests(album) == before
    assert sorted(p.name for p in (trash / "files").iterdir()) == ["half.jpg"]  # the owner's own file stays
    assert sorted(p.name for p in (trash / "info").iterdir()) == ["half.jpg.trashinfo"]


def test_undo_after_the_trash_was_emptied(tmp_path: Path, album: Path, trash: Path) -> None:
    q = tmp_path / "journal"
    assert _remove(album, q, "--to-trash").exit_code == 0
    shutil.rmtree(trash)
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 1 and res.output.count("no longer in the trash") == 2


def test_trash_and_link_do_not_mix(tmp_path: Path, album: Path) -> None:
    res = _remove(album, tmp_path / "q", "--to-trash", "--link", "sym")
    assert res.exit_code == 2 and "do not go together" in res.output


def test_undo_keeps_the_quarantined_file_when_an_identical_one_was_put_back(tmp_path: Path, album: Path) -> None:
    q = tmp_path / "q"
    res = _remove(album, q)
    assert res.exit_code == 0, res.output
    moved = album / "sub" / "copy.jpg"
    assert not moved.exists() and (q / "sub" / "copy.jpg").exists()
    shutil.copy(q / "sub" / "copy.jpg", moved)  # the user puts a copy back by hand: same bytes, another file
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 1, res.output
    assert "an identical file already stands there: the quarantined copy stays at" in res.output
    # nothing deleted: the quarantined file is still there, beside the one the user put back
    assert (q / "sub" / "copy.jpg").exists() and moved.exists()
    assert (q / "sub" / "copy.jpg").read_bytes() == moved.read_bytes()


def test_undo_into_a_folder_turned_into_a_file_names_the_file(tmp_path: Path, album: Path) -> None:
    """undo said 'refused: not inside the scanned folder ALBUM, or reached through a link' where the file's folder
    (inside the scanned folder, no link) had become a file since: the refusal names the real reason now (as
    io.no_folder_reason does for --db), and a link there is called a link. The quarantined files stay."""
    q = tmp_path / "q"
    res = _remove(album, q)
    assert res.exit_code == 0, res.output
    moved = sorted(p.relative_to(q) for p in q.rglob("*.jpg"))
    assert moved and all(p.parts[0] == "sub" for p in moved), moved
    shutil.rmtree(album / "sub")
    (album / "sub").write_text("notes, not a folder\n")
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 1, res.output
    assert f"refused: {album / 'sub'} is a file, not a folder; the file stays in the quarantine" in res.output
    assert "not inside the scanned folder" not in res.output
    (album / "sub").unlink()
    (album / "sub").symlink_to(tmp_path)
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 1 and f"refused: reached through a link ({album / 'sub'} is a symbolic link" in res.output
    assert sorted(p.relative_to(q) for p in q.rglob("*.jpg")) == moved and not list(tmp_path.glob("*.jpg"))
    (album / "sub").unlink()
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 0, res.output
    assert sorted(p.relative_to(album) for p in (album / "sub").glob("*.jpg")) == moved


def test_a_trash_run_that_moved_nothing_offers_no_undo(tmp_path: Path, album: Path, trash: Path) -> None:
    """Every file refused by the trash (a link planted as the trash folder): "sent 0 files ...; undo with: imagetwins
    undo Q" offered an undo of nothing; now it says nothing was sent, and no undo."""
    before = _digests(album)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    trash.parent.mkdir(parents=True)
    trash.symlink_to(elsewhere)
    res = _remove(album, tmp_path / "q", "--to-trash")
    assert res.exit_code == 1 and res.output.count("not trashed:") == 2, res.output
    assert "undo with" not in res.output and "sent nothing to the system trash" in res.output, res.output
    assert _digests(album) == before and not any(elsewhere.iterdir())
