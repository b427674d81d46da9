"""Hard links of one file are one file (issue 23: 13): 'already linked', never duplicates to remove.

After ``remove --link hard`` the next ``find`` used to report the tool's own hard links as duplicate groups and
a ``remove`` dry run exited 1; any folder with hard links (backups, ``cp -al``) met the same."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from tree_digests import file_digests as _digests

from imagetwins.cli import main
from imagetwins.finder import find_duplicate_groups

pytestmark = pytest.mark.cli


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    """Eight real photos, a byte copy of each in a sub-folder (newer)."""
    root = tmp_path / "album"
    (root / "copies").mkdir(parents=True)
    for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:8]:
        shutil.copy(p, root / p.name)
        os.utime(root / p.name, (1_600_000_000, 1_600_000_000))
        shutil.copy(p, root / "copies" / p.name)
    return root


@pytest.mark.parametrize("cache", [[], ["--no-cache"]])
def test_after_remove_link_hard_nothing_is_a_duplicate_any_more(tmp_path: Path, album: Path, cache: list) -> None:
    q = tmp_path / "q"
    res = CliRunner().invoke(main, ["remove", str(album), "-r", "--apply", "--keep", "oldest", "--link", "hard",
                                    "--move-to", str(q), *cache])
    assert res.exit_code == 0 and "(8 made)" in res.output, res.output
    res = CliRunner().invoke(main, ["find", str(album), "-r", *cache])
    assert res.exit_code == 0, res.output
    assert "0 duplicate groups" in res.output or "no duplicates" in res.output.lower(), res.output
    assert "note: 8 file names are hard links to another name of the same file: already linked" in res.output
    res = CliRunner().invoke(main, ["remove", str(album), "-r", *cache])  # the dry run
    assert res.exit_code == 0 and "dry run: 0 files would move" in res.output, res.output
    assert "frees nothing" not in res.output
    data = json.loads(CliRunner().invoke(main, ["find", str(album), "-r", "--json", "-", *cache]).stdout)
    assert data["groups"] == [] and len(data["already_linked"]) == 8
    assert all(len(names) == 2 and os.path.samefile(*names) for names in data["already_linked"])
    res = CliRunner().invoke(main, ["report", str(album), "-r", "-o", str(tmp_path / "r.html"), *cache])
    assert res.exit_code == 0 and "already linked" in res.output, res.output


def test_a_file_with_two_names_beside_a_real_copy(tmp_path: Path, album: Path) -> None:
    """a.jpg and a2.jpg are one file, b.jpg a copy of it: one group of two files, not three; when the copy is
    kept both names of the other file move (moving one name would free nothing), and undo links them again."""
    photo = sorted(album.glob("*.jpg"))[0]
    os.link(photo, album / "second-name.jpg")
    result = find_duplicate_groups(album, recursive=True)
    (group,) = [g for g in result.groups if photo.name in {Path(f).name for f in g.files}]
    assert sorted(Path(f).name for f in group.files) == [photo.name, photo.name]  # the original, the copy
    assert [sorted(Path(f).name for f in names) for names in result.already_linked] == \
        [sorted([photo.name, "second-name.jpg"])]
    before = _digests(album)
    q = tmp_path / "q"
    res = CliRunner().invoke(main, ["remove", str(album), "-r", "--no-cache", "--keep", "newest", "--apply",
                                    "--move-to", str(q)])
    assert res.exit_code == 0, res.output
    assert not photo.exists() and not (album / "second-name.jpg").exists()  # both names went: space freed
    assert (album / "copies" / photo.name).exists()
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 0, res.output
    assert _digests(album) == before and os.path.samefile(photo, album / "second-name.jpg")
    res = CliRunner().invoke(main, ["remove", str(album), "-r", "--no-cache", "--keep", "oldest"])
    assert res.exit_code == 0 and "second-name.jpg" not in res.output, res.output  # kept file's other name stays


def test_a_plan_moves_every_name_of_a_file_and_no_forged_name(tmp_path: Path, album: Path, datasets: Path) -> None:
    """find --json lists the other names (already_linked); remove --plan moves them with their file, but only
    names that are still that very file: an edited plan cannot pass another file off as one."""
    photo = sorted(album.glob("*.jpg"))[0]
    os.link(photo, album / "second-name.jpg")
    other = album / "unique.jpg"  # a photo with no copy
    shutil.copy(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[40], other)
    plan = tmp_path / "plan.json"
    res = CliRunner().invoke(main, ["find", str(album), "-r", "--no-cache", "--keep", "newest", "--json", str(plan)])
    assert res.exit_code == 0, res.output
    doc = json.loads(plan.read_text())
    (names,) = [n for n in doc["already_linked"] if str(photo) in n]
    names.append(str(other))  # forged: another photo listed as a name of this file
    plan.write_text(json.dumps(doc))
    before = _digests(album)
    q = tmp_path / "q"
    res = CliRunner().invoke(main, ["remove", str(album), "--plan", str(plan), "--apply", "--move-to", str(q)])
    assert res.exit_code == 0, res.output
    assert not photo.exists() and not (album / "second-name.jpg").exists() and other.exists()
    assert CliRunner().invoke(main, ["undo", str(q)]).exit_code == 0
    assert _digests(album) == before and os.path.samefile(photo, album / "second-name.jpg")


def test_a_link_beside_its_file_or_one_file_named_twice_in_a_list_is_one_file(tmp_path: Path, datasets: Path) -> None:
    """``imagetwins.find`` of a program's list of files (``glob`` lists symbolic links too): a link beside the file it
    leads to was grouped with it, and the decision kept the link (the shorter name) and removed its file; one file
    named twice (relative and absolute) was grouped with itself, one of its names to remove. A program deleting
    ``decision.remove`` lost the photo. Now they are one file (``already_linked``, the file's own name kept), and a
    real copy beside them is still decided against that name."""
    import imagetwins
    from imagetwins import quarantine

    src = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0]
    album = tmp_path / "album"
    album.mkdir()
    shutil.copy(src, album / "photo_0001.jpg")
    os.symlink("photo_0001.jpg", album / "fav.jpg")
    shutil.copy(src, album / "photo_0001 copy.jpg")  # a real byte copy
    photo, link, copy = (str(album / n) for n in ("photo_0001.jpg", "fav.jpg", "photo_0001 copy.jpg"))
    before = _digests(album)
    for method in ("phash", "copies"):
        for files in ([photo, link], [link, photo], [photo, os.path.relpath(photo)]):
            result = imagetwins.find(files, method, keep="original", cache=False, decisions=False)
            assert result.groups == [] and len(result.already_linked) == 1, (files, result.decisions)
            assert result.already_linked[0][0] == photo  # the file itself, not the link, is the name kept
        result = imagetwins.find([link, photo, copy, os.path.relpath(copy)], method, keep="original", cache=False,
                                 decisions=False)
        [decision] = result.decisions
        assert decision.keeper == photo and decision.remove == [copy], decision
    plan = quarantine.plan_removal(result, [album])
    assert plan.moves == [(copy, 1, photo)], plan.moves  # the copy once, not again under its other name
    out = quarantine.apply_plan(plan, album, tmp_path / "q")
    assert not out.failed and sorted(os.listdir(album)) == ["fav.jpg", "photo_0001.jpg"]
    quarantine.undo(tmp_path / "q")
    assert _digests(album) == before
