"""The copies ``remove --apply --link`` (clone) leaves in moved files' places are handled already: the next
``find`` does not group them with their keeper and the next ``remove --link`` moves nothing (it used to move
each placeholder into a new quarantine and copy again, on every run). A placeholder edited or replaced since is
an ordinary file again; ``undo`` still puts everything back. Real camera photos copied into a temporary folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, ImageOps
from tree_digests import name_digests as _digests

from imagetwins.cli import main
from imagetwins.placeholders import Placeholder, PlaceholderStore, default_store_path

pytestmark = pytest.mark.cli


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    """A camera photo, a byte copy of it and a re-encode of it (newer); another photo and its byte copy."""
    root = tmp_path / "album"
    (root / "sub").mkdir(parents=True)
    photos = sorted((datasets / "camera-photos" / "images").glob("mei__*.jpg"))[:2]
    shutil.copy(photos[0], root / "IMG_0001.jpg")
    shutil.copy(photos[0], root / "sub" / "IMG_0001 (1).jpg")
    with Image.open(photos[0]) as im:
        ImageOps.exif_transpose(im).save(root / "shared.jpg", quality=80)
    shutil.copy(photos[1], root / "IMG_0002.jpg")
    shutil.copy(photos[1], root / "IMG_0002 copy.jpg")
    for p in root.rglob("*.jpg"):
        os.utime(p, (1_600_000_000, 1_600_000_000))
    os.utime(root / "shared.jpg", (1_700_000_000, 1_700_000_000))
    return root


def _find(album: Path) -> dict:
    res = CliRunner().invoke(main, ["find", str(album), "-r", "-m", "phash", "--json", "-"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def _remove(album: Path, q: Path, *more: str):
    return CliRunner().invoke(main, ["remove", str(album), "-r", "-m", "phash", "--apply", "--move-to", str(q),
                                     *more])


@pytest.mark.parametrize("cache", [True, False])
def test_a_second_remove_link_moves_nothing_and_undo_restores(tmp_path: Path, album: Path, cache: bool) -> None:
    before = _digests(album)
    extra = () if cache else ("--no-cache",)
    res = _remove(album, tmp_path / "q1", "--link", *extra)
    assert res.exit_code == 0, res.output
    moved = sorted(p.relative_to(tmp_path / "q1").as_posix() for p in (tmp_path / "q1").rglob("*.jpg"))
    assert moved == ["IMG_0002 copy.jpg", "shared.jpg", "sub/IMG_0001 (1).jpg"]
    assert all((album / m).is_file() for m in moved)  # a copy of its keeper in each place
    assert (album / "shared.jpg").read_bytes() == (album / "IMG_0001.jpg").read_bytes()

    found = _find(album)
    assert found["groups"] == []
    assert sorted(sorted(Path(p).name for p in names) for names in found["placeholders"]) == [
        ["IMG_0001 (1).jpg", "IMG_0001.jpg", "shared.jpg"], ["IMG_0002 copy.jpg", "IMG_0002.jpg"]]
    res = CliRunner().invoke(main, ["find", str(album), "-r", "-m", "phash"])
    assert "3 files are copies that 'remove --link' left in moved files' places" in res.output, res.output

    res = _remove(album, tmp_path / "q2", "--link", *extra)
    assert res.exit_code == 0, res.output
    assert not list((tmp_path / "q2").rglob("*.jpg"))  # nothing moved, nothing copied again

    res = CliRunner().invoke(main, ["undo", str(tmp_path / "q1")])
    assert res.exit_code == 0 and "restored 3 files" in res.output, res.output
    assert _digests(album) == before
    with sqlite3.connect(default_store_path()) as db:  # undo forgot them
        assert db.execute("SELECT count(*) FROM placeholders").fetchone()[0] == 0


def test_an_edited_or_replaced_placeholder_is_a_file_again(tmp_path: Path, album: Path) -> None:
    assert _remove(album, tmp_path / "q1", "--link").exit_code == 0
    keeper = album / "IMG_0001.jpg"
    with Image.open(keeper) as im:  # edited: other bytes
        ImageOps.exif_transpose(im).save(album / "shared.jpg", quality=70)
    replaced = album / "sub" / "IMG_0001 (1).jpg"  # replaced: the keeper's very bytes and time, another file
    shutil.copy(keeper, tmp_path / "new.jpg")
    os.utime(tmp_path / "new.jpg", ns=(keeper.stat().st_atime_ns, keeper.stat().st_mtime_ns))
    os.replace(tmp_path / "new.jpg", replaced)
    found = _find(album)
    [group] = found["groups"]
    assert sorted(Path(p).name for p in group["files"]) == ["IMG_0001 (1).jpg", "IMG_0001.jpg", "shared.jpg"]
    assert [sorted(Path(p).name for p in names) for names in found["placeholders"]] == [
        ["IMG_0002 copy.jpg", "IMG_0002.jpg"]]


def test_a_forged_record_only_keeps_more(tmp_path: Path, album: Path) -> None:
    """The store is the user's, and could be forged: entries naming real duplicates as placeholders leave them in
    place (a byte copy always stays in the group), and nothing else moves for it."""
    forged = []
    for name in ("sub/IMG_0001 (1).jpg", "IMG_0002.jpg", "IMG_0002 copy.jpg"):
        st = (album / name).stat()
        forged.append(Placeholder(str((album / name).resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
                                  hashlib.sha256((album / name).read_bytes()).hexdigest(), "anything"))
    assert PlaceholderStore().add(forged)
    res = _remove(album, tmp_path / "q1", "--no-cache")
    assert res.exit_code == 0, res.output
    moved = sorted(p.relative_to(tmp_path / "q1").as_posix() for p in (tmp_path / "q1").rglob("*.jpg"))
    assert moved == ["shared.jpg"]  # (without the forged entries: IMG_0002 copy.jpg and sub/IMG_0001 (1).jpg too)
    assert all((album / n).is_file() for n in ("IMG_0001.jpg", "sub/IMG_0001 (1).jpg", "IMG_0002.jpg",
                                               "IMG_0002 copy.jpg"))


def test_a_store_planted_as_a_link_is_never_written_through(tmp_path: Path, album: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("private")
    store = default_store_path()
    store.parent.mkdir(parents=True, exist_ok=True)
    store.symlink_to(victim)
    res = _remove(album, tmp_path / "q1", "--link")
    assert res.exit_code == 1 and victim.read_text() == "private" and store.is_symlink()
    assert "could not be recorded: the next find will offer them as duplicates again" in res.output, res.output
    assert (tmp_path / "q1" / "shared.jpg").is_file() and (album / "shared.jpg").is_file()  # moved, copy left
    undone = CliRunner().invoke(main, ["undo", str(tmp_path / "q1")])
    assert undone.exit_code == 0 and "restored 3 files" in undone.output, undone.output


def test_a_fifo_beside_the_placeholder_store_is_never_waited_on(tmp_path: Path) -> None:
    """The store of placeholders made is SQLite's open of a file in the data folder: a FIFO at its ``-journal`` was read
    by SQLite's look for a hot journal, and every add and lookup waited for ever. The store is then not used (it is a
    convenience: placeholders are offered as duplicates again), as a link or FIFO in its own place."""
    import threading

    store = PlaceholderStore(tmp_path / "placeholders.db")
    made = Placeholder(path=str(tmp_path / "a.jpg"), dev=1, ino=2, size=3, mtime_ns=4, keeper_sha256="0" * 64,
                       keeper=str(tmp_path / "b.jpg"))
    assert store.add([made])
    os.mkfifo(f"{store.path}-journal")
    said: list[object] = []
    thread = threading.Thread(target=lambda: said.extend([store.add([made]), store.lookup([made.path])]), daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), "the store waited on the FIFO beside it"
    assert said == [False, {}]
