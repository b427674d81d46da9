"""The index and --against from the command line: bad index files, read-only indexes, methods an index
does not hold, and keeping every stored method and the per-folder cache complete. Real images."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from index_files import older_imagetwins_making, read_only, someone_elses_database

from imagetwins.cli import main
from imagetwins.index import Index, default_cache_path

pytestmark = pytest.mark.cli


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_clear_line(res, *words: str) -> None:
    """Exit 1, no traceback, and an 'Error:' line holding ``words``."""
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output
    line = [x for x in res.output.splitlines() if x.startswith("Error:")]
    assert len(line) == 1, res.output
    for w in words:
        assert w in line[0], line[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    """imagededup's mixed images (a photo, its resize, hflip and rotation, another photo, a corrupt file)."""
    root = tmp_path / "album"
    shutil.copytree(datasets / "imagededup-testdata" / "mixed_images", root)
    return root


@pytest.fixture
def phash_db(tmp_path: Path, album: Path) -> Path:
    db = tmp_path / "idx" / "phash.db"
    db.parent.mkdir()
    assert run("index", "update", album, "--db", db, "-m", "phash").exit_code == 0
    return db


def test_files_that_are_not_indexes_get_one_line(tmp_path: Path, album: Path, phash_db: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("not a database\n")
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(phash_db.read_bytes()[:100] + os.urandom(4000))
    empty = tmp_path / "empty.db"
    empty.touch()
    photo = album / "ukbench00120.jpg"
    other_sqlite = someone_elses_database(tmp_path / "other.sqlite")
    for bad in (text, corrupt, photo, empty, other_sqlite):
        before = digest(bad)
        for args in (["index", "query", album, "--db", bad], ["index", "stats", "--db", bad],
                     ["find", album, "--against", bad]):
            one_clear_line(run(*args), str(bad))
        if bad is not empty:
            one_clear_line(run("index", "update", album, "--db", bad), str(bad))
        assert digest(bad) == before, f"{bad} was modified"
    assert "not an imagetwins index" in run("index", "stats", "--db", text).output
    assert "empty file" in run("find", album, "--against", empty).output


def test_update_refuses_a_missing_folder_and_creates_nothing(tmp_path: Path, album: Path) -> None:
    one_clear_line(run("index", "update", album, "--db", tmp_path / "no" / "such" / "x.db"), "does not exist")
    assert not (tmp_path / "no").exists()
    one_clear_line(run("find", album, "--db", tmp_path / "no" / "x.db"), "does not exist")
    assert not (tmp_path / "no").exists()
    res = run("index", "update", album, "--db", tmp_path)
    assert res.exit_code == 2 and "is a directory" in res.output


def test_read_only_index_is_read_but_never_written(album: Path, phash_db: Path) -> None:
    before = digest(phash_db)
    with read_only(phash_db, phash_db.parent):
        one_clear_line(run("index", "update", album, "--db", phash_db), "cannot write", str(phash_db))
        res = run("index", "query", album / "ukbench00120_resize.jpg", "--db", phash_db, "--json", "-")
        assert res.exit_code == 0, res.output
        # the indexed file itself is not its own duplicate
        assert {m["path"].rsplit("/", 1)[1] for q in json.loads(res.stdout)["matches"] for m in q["matches"]} == {
            "ukbench00120.jpg"}
        assert json.loads(run("index", "stats", "--db", phash_db, "--json", "-").stdout)["encodings"] == {"phash": 5}
        res = run("find", album, "--against", phash_db, "--fail-on-duplicates")
        assert res.exit_code == 3, res.output
        # find --db reads it: the folder's new encodings are made for the run, not stored (test_index_sharing)
        res = run("find", album, "--db", phash_db, "-m", "phash")
        assert res.exit_code == 0 and "Error" not in res.output, res.output
    assert digest(phash_db) == before


def test_query_exit_code_tells_a_match_only_when_asked_as_find_against_does(tmp_path: Path, datasets: Path,
                                                                           album: Path, phash_db: Path) -> None:
    """``index query`` answers (0, matches or not) unless --fail-on-duplicates asks a script's gate: then 3 on a
    match, as ``check`` and ``find --against --fail-on-duplicates`` (there was no way to read a match from its code)."""
    match = album / "ukbench00120_resize.jpg"
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(datasets / "ukbench-600" / "images" / "ukbench00000.jpg", alone / "other.jpg")
    assert run("index", "query", match, "--db", phash_db).exit_code == 0
    res = run("index", "query", match, "--db", phash_db, "--fail-on-duplicates")
    assert res.exit_code == 3, res.output
    assert "ukbench00120.jpg" in res.output
    assert run("check", match, "--against", phash_db).exit_code == 3
    res = run("index", "query", alone, "--db", phash_db, "--fail-on-duplicates")
    assert res.exit_code == 0 and "0 matches" in res.output, res.output
    empty = tmp_path / "empty"
    empty.mkdir()
    res = run("index", "query", empty, "--db", phash_db, "--fail-on-duplicates")
    assert res.exit_code == 1 and "no image read" in res.output, res.output


def test_new_index_in_a_folder_that_cannot_be_written(tmp_path: Path, album: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    with read_only(locked):
        one_clear_line(run("index", "update", album, "--db", locked / "new.db"), "cannot write", "new.db")
        one_clear_line(run("find", album, "--db", locked / "new.db"), "new.db")
    assert list(locked.iterdir()) == []


def test_methods_the_index_does_not_hold_stop_with_an_error(album: Path, phash_db: Path) -> None:
    """A leakage gate must not pass because the index holds another method."""
    before = digest(phash_db)
    for method in ("dihedral", "whash", "cnn"):
        one_clear_line(run("index", "query", album, "--db", phash_db, "-m", method),
                       f"holds no {method} encodings", "it holds: phash")
        one_clear_line(run("find", album, "--against", phash_db, "-m", method, "--fail-on-duplicates"),
                       f"holds no {method} encodings", "it holds: phash")
    assert digest(phash_db) == before
    with Index(phash_db, readonly=True) as idx:
        assert idx.stored_methods() == ["phash"]


def test_query_adds_no_rows(tmp_path: Path, datasets: Path, album: Path, phash_db: Path) -> None:
    before = json.loads(run("index", "stats", "--db", phash_db, "--json", "-").stdout)
    others = datasets / "ukbench-600" / "images"
    res = run("index", "query", others, "--db", phash_db)
    assert res.exit_code == 0, res.output
    assert json.loads(run("index", "stats", "--db", phash_db, "--json", "-").stdout) == before


def test_update_keeps_every_stored_method_up_to_date(tmp_path: Path, datasets: Path, album: Path) -> None:
    db = tmp_path / "both.db"
    assert run("index", "update", album, "--db", db, "-m", "phash", "-m", "dihedral").exit_code == 0
    for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:6]:
        shutil.copy(p, album / p.name)
    shutil.copy(album / "ukbench09268.jpg", album / "ukbench00120.jpg")  # changed content
    res = run("index", "update", album, "--db", db)  # default methods
    assert res.exit_code == 0 and "6 added, 1 changed" in res.output and "dihedral, phash" in res.output
    stats = json.loads(run("index", "stats", "--db", db, "--json", "-").stdout)
    assert stats["encodings"] == {"dihedral": 11, "phash": 11} and stats["missing_encodings"] == {}
    # a method added later is given to the files already there
    res = run("index", "update", album, "--db", db, "-m", "whash")
    assert "11 given the methods they lacked" in res.output
    stats = json.loads(run("index", "stats", "--db", db, "--json", "-").stdout)
    assert stats["encodings"] == {"dihedral": 11, "phash": 11, "whash": 11}


def test_update_and_stats_name_unreadable_files(tmp_path: Path, album: Path) -> None:
    (album / "empty.jpg").touch()
    db = tmp_path / "u.db"
    res = run("index", "update", album, "--db", db)
    assert res.exit_code == 0
    warned = sorted(x for x in res.output.splitlines() if x.startswith("warning:"))
    assert len(warned) == 2
    assert str(album / "empty.jpg") in warned[0] and "empty file" in warned[0]
    assert str(album / "ukbench09268_corrupt.jpg") in warned[1] and "not an image" in warned[1]
    assert "2 unreadable" in res.output
    stats = json.loads(run("index", "stats", "--db", db, "--json", "-").stdout)
    assert {(u["path"], u["reason"].split(" (")[0]) for u in stats["unreadable_files"]} == {
        (str(album / "empty.jpg"), "empty file"),
        (str(album / "ukbench09268_corrupt.jpg"), "not an image, or a format Pillow cannot read")}


def test_folder_cache_keeps_every_method_used(album: Path, fake_cnn) -> None:
    """phash -> cnn -> phash: the cnn vectors survive, so a later cnn run embeds nothing."""
    outs = [re.sub(r"\(\d+\.\d s,", "(s,", run("find", album, "-m", m).output) for m in ("phash", "cnn", "phash")]
    assert outs[0] == outs[2]  # the same answer (the timing aside)
    with Index(default_cache_path(album), readonly=True) as idx:
        assert idx.stored_methods() == ["cnn", "phash"]
        assert len(idx.load("cnn")[0]) == 5 and len(idx.load("phash")[0]) == 5


def test_a_match_to_a_file_deleted_since_indexing_is_flagged(tmp_path: Path, album: Path, phash_db: Path) -> None:
    """The index still holds a file deleted since: the match is reported (a moved file may still be in the
    reference) with a warning that the index is stale, instead of quietly naming a file that is gone."""
    query = tmp_path / "query"
    query.mkdir()
    shutil.copy(album / "ukbench00120_resize.jpg", query / "new.jpg")
    res = run("find", query, "--against", phash_db)
    assert res.exit_code == 0 and "no longer exist" not in res.output, res.output
    (album / "ukbench00120_resize.jpg").unlink()
    res = run("find", query, "--against", phash_db)
    assert res.exit_code == 0, res.output
    assert "ukbench00120_resize.jpg" in res.output  # still reported
    assert "warning: 1 matched file of" in res.output and "index update" in res.output


@pytest.mark.parametrize("command", [["check", "{q}", "--against", "{db}"],
                                     ["index", "query", "{q}/beach.jpg", "--db", "{db}"],
                                     ["index", "update", "{q}", "--db", "{db}", "-m", "phash"]])
def test_a_fifo_named_as_the_index_is_named_as_such(tmp_path: Path, command: list[str]) -> None:
    """A FIFO given as the index said "no index at" (read) or "not seekable" (update); it is never opened."""
    q, db = tmp_path / "q", tmp_path / "ref.db"
    q.mkdir()
    shutil.copy(Path(__file__).resolve().parents[1] / "examples" / "images" / "beach.jpg", q / "beach.jpg")
    os.mkfifo(db)
    res = run(*(part.format(q=q, db=db) for part in command))
    assert res.exit_code == 1, res.output
    one_clear_line(res, "is a FIFO, not an index file")


def test_update_says_a_renamed_file_and_a_byte_copy_were_not_decoded_again(tmp_path: Path, album: Path) -> None:
    # a file renamed and a byte copy of another are counted as added; the note after the counts says how many of
    # those were taken from rows the index held under another name (it said "moved or renamed" of a byte copy too)
    db = tmp_path / "moves.db"
    assert run("index", "update", album, "--db", db, "-m", "phash").exit_code == 0
    (album / "ukbench00120.jpg").rename(album / "renamed.jpg")
    shutil.copy(album / "ukbench09268.jpg", album / "copy of 09268.jpg")
    res = run("index", "update", album, "--db", db)
    assert res.exit_code == 0, res.output
    assert "2 added, 0 changed (2 of them already indexed under another name: not decoded again), 1 removed" \
        in res.output, res.output


def test_adding_a_method_to_every_indexed_image_does_not_say_there_are_none(tmp_path: Path) -> None:
    # an update that gives every image the method it lacked (-m added to an index of readable images) counts them
    # as "given the methods they lacked", not as unchanged: it then also said "note: no image files found in DIR"
    from conftest import synthetic_photo

    folder = tmp_path / "photos"
    folder.mkdir()
    for seed in range(3):
        synthetic_photo(seed=seed).save(folder / f"p{seed}.jpg")
    db = tmp_path / "x.db"
    assert run("index", "update", folder, "--db", db, "-m", "phash").exit_code == 0
    res = run("index", "update", folder, "--db", db, "-m", "dihedral")
    assert res.exit_code == 0, res.output
    assert "3 given the methods they lacked" in res.output and "no image files found" not in res.output, res.output


def test_index_update_names_unreadable_files_as_the_folder_was_named(tmp_path: Path, datasets: Path,
                                                                     monkeypatch) -> None:
    """A newcomer's 'index update shop -r --db cat.db' warned 'unreadable /tmp/.../shop/broken.jpg' (the index's
    resolved path) where find, check and find --against name the same file 'shop/broken.jpg'."""
    shop = tmp_path / "shop" / "sub"
    shop.mkdir(parents=True)
    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0]
    shutil.copy(photo, shop.parent / "a.jpg")
    (shop / "broken.jpg").write_bytes(photo.read_bytes()[:2000])
    monkeypatch.chdir(tmp_path)
    for _ in range(2):  # the first update reads it, the second finds it recorded
        res = run("index", "update", "shop", "-r", "--db", "cat.db", "-m", "phash")
        assert res.exit_code == 0, res.output
        warnings = [line for line in res.output.splitlines() if line.startswith("warning:")]
        assert warnings == [f"warning: unreadable {os.path.join('shop', 'sub', 'broken.jpg')}: truncated or "
                            "incomplete image data"], res.output


def test_a_file_only_ever_unreadable_is_not_counted_removed(tmp_path: Path, album: Path) -> None:
    """'index update' said '1 removed' when a corrupt file the index had only recorded as unreadable (never one of
    its images) was deleted; a broken link the same. Only indexed files gone count as removed."""
    (album / "gone.jpg").symlink_to(tmp_path / "nothing.jpg")
    db = tmp_path / "i.db"
    res = run("index", "update", album, "-m", "phash", "--db", db)
    assert res.exit_code == 0 and "5 added" in res.output and "2 unreadable" in res.output, res.output
    (album / "ukbench09268_corrupt.jpg").unlink()
    (album / "gone.jpg").unlink()
    res = run("index", "update", album, "-m", "phash", "--db", db)
    assert res.exit_code == 0 and "0 removed, 5 unchanged, 0 unreadable" in res.output, res.output
    (album / "ukbench00120_resize.jpg").unlink()
    res = run("index", "update", album, "-m", "phash", "--db", db)
    assert res.exit_code == 0 and "1 removed, 4 unchanged" in res.output, res.output
    assert json.loads(run("index", "stats", "--db", db, "--json", "-").stdout)["files"] == 4


def test_an_index_copied_without_its_wal_is_called_incomplete_not_empty(tmp_path: Path, album: Path) -> None:
    """An index copied while a run held it (its tables still in the -wal beside it, as an imagetwins before their
    mark and tables came in one commit kept them) said 'is an empty file, not an imagetwins index': it is an SQLite
    file holding no table, and the line says how that comes about."""
    holder = older_imagetwins_making(tmp_path / "live.db")
    try:
        shutil.copy(tmp_path / "live.db", tmp_path / "copy.db")  # (the -wal left behind)
    finally:
        holder.close()
    copy = tmp_path / "copy.db"
    assert copy.stat().st_size > 0
    before = digest(copy)
    for args in (["index", "stats", "--db", copy], ["find", album, "--against", copy],
                 ["index", "query", album, "--db", copy], ["index", "update", album, "--db", copy]):
        one_clear_line(run(*args), f"{copy} is an index copied without its copy.db-wal", "index update")
    assert digest(copy) == before
    empty = tmp_path / "empty.db"
    empty.touch()
    one_clear_line(run("index", "stats", "--db", empty), f"{empty} is an empty file")
