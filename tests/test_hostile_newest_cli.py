"""An attack pass on the newest code that touches files, through the command line (the library's cases are in
tests/test_hostile_newest.py): an index damaged on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import indexed_album, synthetic_photo
from index_files import damage_table

from imagetwins.cli import main

pytestmark = pytest.mark.cli


def test_a_damaged_index_is_one_line_in_every_command_that_reads_it(tmp_path: Path) -> None:
    """index stats, index query and check --against a .db whose files table a disk error damaged: each printed
    SQLite's traceback ("sqlite3.DatabaseError: database disk image is malformed"); now one line naming the file,
    exit 1, and no claim that every file was added since the last update."""
    album, db = indexed_album(tmp_path)
    damage_table(db, "files")
    runner = CliRunner()
    for args in (["index", "stats", "--db", str(db)], ["index", "query", str(album / "p0.png"), "--db", str(db)],
                 ["check", str(album / "p0.png"), "--against", str(db), "-m", "phash"]):
        res = runner.invoke(main, args)
        assert res.exit_code == 1, (args, res.output)
        assert res.exception is None or isinstance(res.exception, SystemExit), (args, res.exception)
        assert "Traceback" not in res.output and f"{db}: database disk image is malformed" in res.output, res.output
        assert "added since" not in res.output, res.output


def test_the_hint_after_an_interrupted_update_of_a_folder_named_like_an_option_can_be_pasted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C during 'index update -- -r --db x.db' (a folder named '-r', given after '--'): the hint said
    'imagetwins index update -r --db x.db', which takes '-r' for --recursive and names no folder. Now './-r'."""
    import shlex

    from imagetwins import encoding

    folder = tmp_path / "-r"
    folder.mkdir()
    for k in range(3):
        synthetic_photo(64, 48, k).save(folder / f"p{k}.png")
    monkeypatch.chdir(tmp_path)
    load = encoding._load

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(encoding, "_load", interrupted)
    res = CliRunner().invoke(main, ["index", "update", "-m", "phash", "--db", "x.db", "--", "-r"])
    assert res.exit_code == 130, res.output
    hint = res.output.split("'imagetwins ")[1].split("'")[0]
    assert hint == "index update ./-r --db x.db", res.output
    monkeypatch.setattr(encoding, "_load", load)
    res = CliRunner().invoke(main, shlex.split(hint))
    assert res.exit_code == 0 and "3 added" in res.output, res.output


def test_remove_refuses_to_make_its_quarantine_in_a_folder_of_other_files(tmp_path: Path) -> None:
    """remove DIR --apply --move-to ~/Documents: the quarantine's journal went among the person's files, every later
    scan above skipped that folder, and undo listed each of their files as one it could not put back. Now a usage
    error (exit 2) before the scan; nothing moves."""
    album = tmp_path / "album"
    album.mkdir()
    synthetic_photo(96, 72, 1).save(album / "a.png")
    (album / "b.png").write_bytes((album / "a.png").read_bytes())
    documents = tmp_path / "Documents"
    (documents / "taxes").mkdir(parents=True)
    (documents / "notes.txt").write_text("mine")
    res = CliRunner().invoke(main, ["remove", str(album), "-m", "phash", "--no-cache", "--apply",
                                    "--move-to", str(documents)])
    assert res.exit_code == 2, res.output
    assert "already holds other files (notes.txt, taxes)" in res.output and "Traceback" not in res.output
    assert sorted(p.name for p in album.iterdir()) == ["a.png", "b.png"]
    assert sorted(p.name for p in documents.iterdir()) == ["notes.txt", "taxes"]


def test_no_output_replaces_a_photo(tmp_path: Path) -> None:
    """--json / --csv / report -o / decisions export naming a photo without an image's name (IMG_0001, 'holiday':
    found by its first bytes, read by the very scan) replaced it with the document: the photo was gone. explain A B
    -p A replaced the photo it explained with the picture of the matches. Each is now a usage error (exit 2), before
    any work; nothing is written."""
    from tree_digests import file_digests

    album = tmp_path / "album"
    album.mkdir()
    synthetic_photo(96, 72, 1).save(album / "a.png")
    (album / "IMG_0001").write_bytes((album / "a.png").read_bytes())
    synthetic_photo(96, 72, 2).save(album / "holiday", "JPEG")  # a unique photo, no extension
    before = file_digests(album)
    runner = CliRunner()
    for args in (["find", str(album), "-m", "phash", "--no-cache", "--json", str(album / "holiday")],
                 ["find", str(album), "-m", "phash", "--no-cache", "--csv", str(album / "IMG_0001")],
                 ["report", str(album), "-m", "phash", "--no-cache", "-o", str(album / "holiday")],
                 ["decisions", "export", str(album / "holiday")],
                 ["explain", str(album / "a.png"), str(album / "holiday"), "-p", str(album / "a.png")],
                 ["explain", str(album / "IMG_0001"), str(album / "holiday"), "-p", str(album / "holiday")]):
        res = runner.invoke(main, args)
        assert res.exit_code == 2, (args, res.output)
        assert "would replace it: give a new file name" in res.output, (args, res.output)
    assert file_digests(album) == before
    out = tmp_path / "plan.json"
    for _ in range(2):  # an earlier output of the same name is replaced as before
        res = runner.invoke(main, ["find", str(album), "-m", "phash", "--no-cache", "--json", str(out)])
        assert res.exit_code == 0, res.output
