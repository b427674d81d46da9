"""A hostile pass on the day's file-touching changes, each on the scenario that showed it: the default review page's
name claimed on a full disk, and in a folder that cannot be written in; the checks ``remove --plan`` makes, said kept
in an index that could not keep them."""

from __future__ import annotations

import json
import os
import resource
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import moves_by_link

from imagetwins import writing

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.unit
def test_a_default_page_name_claimed_on_a_full_disk_leaves_no_empty_file(tmp_path: Path) -> None:
    """``report`` without -o on a full disk (a 2 MB tmpfs): the placeholder's name was made (``O_EXCL``) and its
    write failed, leaving an empty ``report.html``; that file is no page of ours, so every later run kept it as the
    user's and wrote to ``report-1.html``. The write failing (here past a file-size limit, EFBIG as ENOSPC) takes the
    empty name back."""
    page = tmp_path / "report.html"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))  # (Python ignores SIGXFSZ: the write fails with EFBIG)
    try:
        with pytest.raises(OSError):
            writing.claim_page_name(page)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert not os.path.lexists(page)
    assert writing.claim_page_name(page) == (page, True)  # (the next run takes the name itself)


@pytest.mark.unit
def test_a_default_page_in_a_folder_that_cannot_be_written_is_refused_as_such(tmp_path: Path,
                                                                               monkeypatch) -> None:
    """``report`` without -o in a read-only folder (a file system mounted read-only) said "report.html and 100 names
    after it hold files imagetwins did not write" where no file stood: each name's thumbnails folder was refused
    for the folder. Now one line says the folder is not writable, before the scan."""
    folder = tmp_path / "ro"
    folder.mkdir()
    real_access = os.access
    # (as root a mode cannot make a folder read-only; a read-only mount answers access() so)
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == folder and mode & os.W_OK
                        else real_access(p, mode, **kw))
    with pytest.raises(writing.OutputRefused, match="ro is not writable: nothing written there") as refused:
        writing.free_page_name(folder / "report.html")
    assert "hold files imagetwins did not write" not in str(refused.value)
    assert not os.listdir(folder)


@pytest.mark.cli
def test_checks_an_index_could_not_keep_are_not_said_kept_there(tmp_path: Path, monkeypatch) -> None:
    """``remove --plan`` whose index is locked by another run past SQLite's wait (60 s: a ``find --db`` writing, a
    ``BEGIN EXCLUSIVE`` held 75 s): "warning: pair scores not kept in x.db (database is locked)", then "note: checked 2
    files ... kept in x.db for the next run". The note now says they were not kept there."""
    from click.testing import CliRunner

    from imagetwins.cli import main
    from imagetwins.index import Index

    album = tmp_path / "album"
    shutil.copytree(REPO / "examples" / "images", album)
    db = tmp_path / "photos.db"
    made = CliRunner().invoke(main, ["index", "update", str(album), "--db", str(db), "-m", "copies", "-q"])
    assert made.exit_code == 0, made.output
    plan = tmp_path / "plan.json"
    made = CliRunner().invoke(main, ["find", str(album), "--json", str(plan), "-q", "--no-cache"])
    assert made.exit_code == 0, made.output
    doc = json.loads(plan.read_text())
    with Index(db, methods=[], readonly=True) as opened:
        doc["index"] = {"path": str(db), "created": opened.created(), "id": opened.identity()}
    plan.write_text(json.dumps(doc))

    def locked(self):  # (what another run's write lock held past the wait gives)
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(Index, "_transaction", locked)
    run = CliRunner().invoke(main, ["remove", str(album), "--plan", str(plan)])
    assert run.exit_code == 0 and "5 files would move" in run.stdout, run.output
    assert f"pair scores not kept in {db} (database is locked)" in run.stderr, run.stderr
    assert f"kept in {db} for the next run" not in run.stderr, run.stderr
    assert f"not kept in {db} (see the warning), so the next run checks them again" in run.stderr, run.stderr


@pytest.mark.unit
def test_a_default_page_name_another_run_is_writing_is_passed_over(tmp_path: Path) -> None:
    """Two ``report`` runs without -o at once in one folder both took ``report.html`` (the first's placeholder is a
    page of ours) and its ``report_files/``: one page lost, the other's thumbnails mixed in. A placeholder a live run
    holds is passed over now; one no run holds (a run killed while writing) is taken again."""
    page = tmp_path / "report.html"
    first, made = writing.claim_page_name(page)
    assert (first, made) == (page, True)
    try:
        second, made = writing.claim_page_name(page)  # (another run, meanwhile)
        assert (second, made) == (tmp_path / "report-1.html", True)
        writing.release_page_name(second)
    finally:
        writing.release_page_name(first)
    assert page.read_bytes() == writing.PLACEHOLDER_PAGE  # (the first run killed: its placeholder left, let go)
    assert writing.claim_page_name(page) == (page, False)
    writing.release_page_name(page)


@pytest.mark.unit
def test_an_earlier_page_another_run_is_replacing_is_passed_over(tmp_path: Path) -> None:
    """The everyday case of two ``report`` runs without -o at once: report.html is a page an earlier run wrote, and
    both took it as it stood (no placeholder, no lock), writing one page and one ``report_files/``. The run replacing
    it holds it now; the other goes to report-1.html; once let go, the page is taken again (a re-run refreshes it)."""
    page = tmp_path / "report.html"
    earlier = (b'<!DOCTYPE html>\n<html><head>' + writing.PAGE_GENERATOR
               + b'</head><body>an earlier page</body></html>\n')
    page.write_bytes(earlier)
    first = writing.claim_page_name(page)
    try:
        assert first == (page, False)
        second = writing.claim_page_name(page)  # (another run, meanwhile)
        writing.release_page_name(second[0])
        assert second == (tmp_path / "report-1.html", True)
    finally:
        writing.release_page_name(page)
    assert page.read_bytes() == earlier
    assert writing.claim_page_name(page) == (page, False)
    writing.release_page_name(page)


@pytest.mark.unit
def test_making_a_quarantine_key_removes_no_moved_photo_named_as_a_leftover(tmp_path: Path) -> None:
    """A key made where none is removes the settled ``manifest.key.PID.HEX`` files a killed run left; a quarantine
    holds the files it moved at its top, so a photo named so (a name with any bytes is a name) moved there, then
    ``--move-to`` that quarantine once its key was gone, was deleted for good. Only a file no larger than a key is a
    leftover."""
    from imagetwins.ownfolders import KEY_BYTES, make_key

    photo = tmp_path / "manifest.key.1234.deadbeef"
    photo.write_bytes(synthetic_jpeg())
    leftover = tmp_path / "manifest.key.99.0123abcd"
    leftover.write_bytes(os.urandom(KEY_BYTES))
    old = os.stat(photo).st_mtime - 3600  # (settled: a photo keeps its time when moved)
    for p in (photo, leftover):
        os.utime(p, (old, old))
    make_key(tmp_path / "manifest.key")
    assert photo.read_bytes() == synthetic_jpeg()
    assert not leftover.exists()
    assert (tmp_path / "manifest.key").stat().st_size == KEY_BYTES


def _byte_copies(tmp_path: Path) -> tuple[Path, bytes]:
    """``tmp_path/album`` holding x.jpg and y.jpg, one JPEG's bytes twice; and those bytes."""
    album = tmp_path / "album"
    album.mkdir()
    photo = synthetic_jpeg()
    for name in ("x.jpg", "y.jpg"):
        (album / name).write_bytes(photo)
    return album, photo


def synthetic_jpeg() -> bytes:
    """A small JPEG's bytes (the same each call)."""
    import io

    from conftest import synthetic_photo

    out = io.BytesIO()
    synthetic_photo(64, 48).save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.mark.cli
def test_a_photo_named_as_a_quarantine_s_own_file_is_moved_and_put_back(tmp_path: Path) -> None:
    """A copy named ``manifest.json.tmp`` (a JPEG: taken by its bytes) moved to the quarantine's top under that name,
    and the summary written after the moves removed it as a leftover: deleted for good ('undo': "refused: not a file
    of this quarantine"). A file at a quarantine's top never takes a name of its own files now; undo puts it back."""
    from click.testing import CliRunner

    from imagetwins.cli import main

    folder = tmp_path / "album"
    folder.mkdir()
    photo = synthetic_jpeg()
    names = ["keep.jpg", "manifest.json.tmp", "manifest.decisions.json.tmp", "manifest.key.77.0123abcd"]
    for name in names:
        (folder / name).write_bytes(photo)
    quarantine = tmp_path / "q"
    run = CliRunner().invoke(main, ["remove", str(folder), "--apply", "--no-cache", "--move-to", str(quarantine)])
    assert run.exit_code == 0 and "moved 3 files" in run.stdout, run.output
    held = {p.name for p in quarantine.iterdir()} - {"manifest.jsonl", "manifest.json", "manifest.key"}
    assert held == {"manifest.json.1.tmp", "manifest.decisions.json.1.tmp", "manifest.key.77.1.0123abcd"}, held
    undo = CliRunner().invoke(main, ["undo", str(quarantine / "manifest.jsonl")])
    assert undo.exit_code == 0, undo.output
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)
    assert all((folder / n).read_bytes() == photo for n in names)


@pytest.mark.cli
def test_a_second_undo_deletes_no_file_of_the_person_s_named_as_an_unfinished_copy(tmp_path: Path,
                                                                                   monkeypatch) -> None:
    """Across devices a move and an undo copy each file under ``NAME.partial`` and rename it into place; the journal
    keeps that name, and every later undo of the journal removed whatever stood there once a whole copy was found: a
    person's own ``album/y.jpg.partial`` (a download manager's name) was deleted by a second ``undo``, which said
    "nothing to restore". Only a file holding the start of the whole copy's bytes (a copy cut short) is removed: not an
    empty file either (it holds no byte to compare)."""
    from click.testing import CliRunner
    from test_faults import _cross_device

    from imagetwins.cli import main

    album, photo = _byte_copies(tmp_path)
    quarantine = tmp_path / "q"
    moves_by_link(monkeypatch)
    monkeypatch.setattr(os, "link", _cross_device(os.link))
    monkeypatch.setattr(os, "rename", _cross_device(os.rename))
    run = CliRunner().invoke(main, ["remove", str(album), "--apply", "--no-cache", "--move-to", str(quarantine)])
    assert run.exit_code == 0 and "moved 1 file" in run.stdout, run.output
    journal = str(quarantine / "manifest.jsonl")
    assert "y.jpg.partial" in Path(journal).read_text() or "x.jpg.partial" in Path(journal).read_text()
    assert CliRunner().invoke(main, ["undo", journal]).exit_code == 0
    moved = "x.jpg" if "x.jpg.partial" in Path(journal).read_text() else "y.jpg"
    mine = album / f"{moved}.partial"
    for own in (b"my own notes", b""):  # (an empty file holds no byte of the copy either: a download's placeholder)
        mine.write_bytes(own)
        again = CliRunner().invoke(main, ["undo", journal])
        assert again.exit_code == 0, again.output
        assert mine.read_bytes() == own
    cut = album / f"{moved}.partial"  # (a copy cut short is still cleared)
    cut.write_bytes(photo[:1000])
    assert CliRunner().invoke(main, ["undo", journal]).exit_code == 0
    assert not cut.exists()


@pytest.mark.cli
def test_a_refused_plan_remembers_none_of_its_decisions(tmp_path: Path) -> None:
    """``remove --plan --apply`` with a plan refused as malformed ('folders' must be a list), or a ``--move-to``
    refused (a folder of other files), moved nothing yet remembered its groups' decisions: later scans showed the
    groups as "decided earlier". The plan's folders and the quarantine are refused before anything is remembered."""
    from click.testing import CliRunner

    from imagetwins.cli import main

    album = tmp_path / "album"
    shutil.copytree(REPO / "examples" / "images", album)
    plan = tmp_path / "plan.json"
    assert CliRunner().invoke(main, ["find", str(album), "--json", str(plan), "-q", "--no-cache"]).exit_code == 0
    doc = json.loads(plan.read_text())
    for g in doc["groups"]:  # (a person's choice: another keeper)
        g["keep"] = next(f for f in g["files"] if f != g["keep"])
    plan.write_text(json.dumps(doc))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**doc, "folders": "x"}))
    others = tmp_path / "Documents"
    others.mkdir()
    (others / "letter.txt").write_text("mine")
    for args in (["--plan", str(bad)], ["--plan", str(plan), "--move-to", str(others)]):
        run = CliRunner().invoke(main, ["remove", str(album), "--apply", "--no-cache", *args])
        assert run.exit_code != 0 and "remembered" not in run.output, run.output
    after = CliRunner().invoke(main, ["find", str(album), "--no-cache"])
    assert after.exit_code == 0 and "decided earlier" not in after.output, after.output


@pytest.mark.cli
def test_a_second_undo_deletes_no_file_of_the_person_s_named_as_an_unfinished_clone(tmp_path: Path) -> None:
    """``--link clone`` makes each clone under ``.NAME.imagetwins-clone`` and renames it into place; the journal keeps
    that name, and every later undo removed any regular file standing there: a person's own file of that name was
    deleted by a second ``undo``. Only a file holding the start of the kept copy's bytes (a clone cut short) is."""
    from click.testing import CliRunner

    from imagetwins.cli import main

    album, photo = _byte_copies(tmp_path)
    quarantine = tmp_path / "q"
    run = CliRunner().invoke(main, ["remove", str(album), "--apply", "--no-cache", "--move-to", str(quarantine),
                                    "--link", "clone"])
    assert run.exit_code == 0 and "moved 1 file" in run.stdout, run.output
    journal = quarantine / "manifest.jsonl"
    tmp = json.loads(next(line for line in journal.read_text().splitlines() if '"linking"' in line))["tmp"]
    assert CliRunner().invoke(main, ["undo", str(journal)]).exit_code == 0
    mine = Path(tmp)
    mine.write_bytes(b"my own notes")
    assert CliRunner().invoke(main, ["undo", str(journal)]).exit_code == 0
    assert mine.read_bytes() == b"my own notes"
    mine.write_bytes(photo[:1000])  # (a clone cut short is still cleared)
    assert CliRunner().invoke(main, ["undo", str(journal)]).exit_code == 0
    assert not mine.exists()


@pytest.mark.unit
def test_a_journal_of_blank_and_junk_lines_is_refused_in_few_entries(tmp_path: Path) -> None:
    """A journal edited into 20 MB of newlines was read as 20 million blank line numbers, each then refused on its
    own (4.1 GB, 203 s); 5 million junk lines, 5 million refusals (870 MB), each said by undo. A run of blank lines
    is one refusal now, and past the first thousand the refusals are counted in one more (48 MB, 13 s and 38 s);
    every line is still counted."""
    from imagetwins import quarantine

    qdir = tmp_path / "q"
    qdir.mkdir()
    (qdir / quarantine.JOURNAL).write_bytes(b'{"x": 1}\n' + b"\n" * 50_000 + b"junk\n" * 3_000 + b'{"x": 1}\n')
    entries, refused = quarantine._read_journal(qdir, bytes(range(32)))
    assert entries == []
    assert refused[1] == (f"{qdir / quarantine.JOURNAL}, lines 2-50001", "50,000 blank lines: skipped")
    assert len(refused) == quarantine._REFUSALS_SAID + 1, len(refused)
    assert refused[-1] == (str(qdir / quarantine.JOURNAL), "2,002 more lines refused as those above (not each said)")
    assert refused.lines == 1 + 50_000 + 3_000


@pytest.mark.unit
@pytest.mark.parametrize("own", [b"my own notes", b""])
def test_a_file_put_at_an_unfinished_copy_s_name_leaves_no_run_to_undo(tmp_path: Path, own: bytes) -> None:
    """A --link clone run undone in full, then a person's own file at the clone's journalled name: undo leaves that
    file (it is not a clone cut short), so ``undo FOLDER`` no longer names the run as the one left to undo, whose
    undo then said "nothing to restore". An empty file too: it holds no byte of the clone (it counted as its start,
    and was removed)."""
    from test_hostile_between import _pair, _plan

    from imagetwins import quarantine
    from imagetwins.quarantine import QuarantineError, apply_plan, undo

    root, runs = tmp_path / "album", tmp_path / "album.imagetwins-quarantine"
    run = runs / "20240101-120000"
    assert not apply_plan(_plan(_pair(root, "a.png", 0)), root, run, link="clone").failed
    assert not undo(run).failed
    entries, _ = quarantine._read_journal(run, quarantine._key(run, create=False))
    Path(entries[0]["clone_tmp"]).write_bytes(own)
    with pytest.raises(QuarantineError, match="the quarantine of one run, undone already: nothing in it is left"):
        undo(root)
    assert not undo(run).failed
    assert Path(entries[0]["clone_tmp"]).read_bytes() == own
