"""What attack3 (session 13) found in the file-touching changes of the session: a plan holding an integer of more
digits than Python converts, and a plan naming a file by a name longer than any path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main

pytestmark = pytest.mark.cli

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str):
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res


@pytest.fixture
def planned(tmp_path: Path) -> tuple[Path, Path, dict]:
    """The example pictures and the plan ``find --json`` writes of them."""
    album = tmp_path / "album"
    shutil.copytree(REPO / "examples" / "images", album)
    plan = tmp_path / "plan.json"
    res = _run("find", album, "--json", plan, "-q", "--no-cache", "-m", "phash")
    assert res.exit_code == 0, res.output
    return album, plan, json.loads(plan.read_text())


def test_a_plan_holding_an_integer_of_5000_digits_is_refused_in_one_line(planned) -> None:
    """json.loads raises a ValueError that is no JSONDecodeError past 4,300 digits: ``remove --plan`` and
    ``decisions import`` ended in a traceback ('Exceeds the limit (4300 digits) for integer string conversion')."""
    album, plan, doc = planned
    text = json.dumps(doc)
    plan.write_text(text[:-1] + ', "note": ' + "9" * 5000 + "}")
    res = _run("remove", album, "--plan", plan)
    assert res.exit_code == 1 and f"{plan}: not JSON (a number of too many digits, line 1)" in res.output, res.output
    res = _run("decisions", "import", plan)
    assert res.exit_code != 0 and "a number of too many digits" in res.output, res.output


def test_a_plan_naming_a_file_by_a_name_longer_than_any_path_is_refused_in_one_short_line(planned) -> None:
    """A group's file named by 2 MiB of one letter was refused file by file, each refusal printing the whole name
    (a 120 MiB one: 126 MB on the terminal, 0.9 GB peak). Now the plan is refused in one line, the name cut short."""
    album, plan, doc = planned
    doc["groups"][0]["files"].append("a" * (2 << 20))
    plan.write_text(json.dumps(doc))
    res = _run("remove", album, "--plan", plan)
    assert res.exit_code == 1 and len(res.output) < 1000, res.output[:2000]
    assert "(2,097,152 characters, longer than any path: 32,767) cannot be a file's name" in res.output


def test_an_empty_unfinished_copy_in_the_quarantine_is_cleared_by_undo(tmp_path: Path) -> None:
    """``remove --apply`` into a quarantine on another disk, killed between making ``NAME.partial`` there and writing
    its first byte (met in 1 of 5 kill -9 trials of 130 photos into a tmpfs): since empty files at unfinished copies'
    names are left (a person's download placeholder in the photo folder), every undo left this one in the quarantine
    and said 'nothing to restore', and 'undo FOLDER' named the run as the one left to undo. Our own, in our own
    folder, it goes (a person's empty file at such a name in the photo folder still stays: test_attack_leftovers)."""
    from imagetwins import quarantine as q

    album, quar = tmp_path / "album", tmp_path / "album.imagetwins-quarantine" / "run"
    shutil.copytree(REPO / "examples" / "images", album)
    res = _run("remove", album, "-m", "phash", "--apply", "--move-to", quar, "--no-cache", "-q")
    assert res.exit_code == 0, res.output
    # the state the kill leaves: a move planned and its copy begun (both journalled), the copy empty, the file in place
    stays = album / "forest.jpg"
    data = stays.read_bytes()
    partial = quar / "forest.jpg.partial"
    move = {"op": "move", "from": str(stays), "to": str(quar / "forest.jpg"), "root": str(album.resolve())}
    with open(quar / q.JOURNAL, "ab") as journal:
        key = q._key(quar, create=False)
        q._append(journal, key, {**move, "state": "planned", "bytes": len(data),
                                 "sha256": q.sha256_file(stays), "group": 9, "kept": str(album / "beach.jpg")})
        q._append(journal, key, {**move, "state": "copying", "partial": str(partial)})
    partial.touch(mode=0o600)
    assert q._left_to_undo(quar)
    res = _run("undo", quar)
    assert res.exit_code == 0 and not partial.exists() and stays.read_bytes() == data, res.output
    assert not q._left_to_undo(quar)  # ('undo FOLDER' names no run of this folder as left to undo)


def test_a_journal_ending_in_a_cut_line_longer_than_any_is_looked_at_a_piece_at_a_time(tmp_path: Path,
                                                                                        monkeypatch) -> None:
    """Before a line is appended (remove --apply, undo) a journal's cut last line is ended or taken away: it was read
    whole, and a 200 MiB last line took undo to 460 MB (54 MB with the same line anywhere else, skipped unread). Now
    a line longer than any imagetwins writes is looked at a MiB at a time: zeros or the start of a line of ours taken
    away, anything else kept and ended."""
    import os

    from imagetwins import quarantine as q

    album, quar = tmp_path / "album", tmp_path / "q"
    shutil.copytree(REPO / "examples" / "images", album)
    assert _run("remove", album, "-m", "phash", "--apply", "--move-to", quar, "--no-cache", "-q").exit_code == 0
    journal = quar / q.JOURNAL
    original = journal.read_bytes()
    big = q._JOURNAL_LINE_MAX + 1
    most, real = [0], os.pread

    def pread(fd: int, n: int, at: int) -> bytes:
        most[0] = max(most[0], n)
        return real(fd, n, at)

    for tail, kept in ((b"\0" * big, False), (b'{"op": "' + b"a" * big, False), (b"y" * big, True)):
        journal.write_bytes(original + tail)
        most[0] = 0
        monkeypatch.setattr(q.os, "pread", pread)
        with q._open_journal(quar):
            pass
        monkeypatch.undo()
        assert most[0] <= 1 << 20, most
        assert journal.read_bytes() == (original + tail + b"\n" if kept else original)
    res = _run("undo", quar)
    assert "restored 4 files" in res.output and "journal line longer than 32 MiB" in res.output, res.output


def test_explain_picture_never_replaces_a_photo_saved_at_its_name_while_it_was_made(tmp_path: Path,
                                                                                    monkeypatch) -> None:
    """``explain A B -p why.png``: the name was checked before the work only, so a photo saved there while the two
    files were read and matched was replaced by the PNG (written beside it and renamed over it). It is asked again
    right before the write: the photo stays, one line."""
    from imagetwins import explain
    from imagetwins.writing import OutputRefused

    images = REPO / "examples" / "images"
    why = tmp_path / "why.png"
    real = explain.open_image

    def reading(path, *args, **kwargs):  # (a camera app saves a photo at that name meanwhile)
        if not why.exists():
            shutil.copyfile(images / "forest.jpg", why)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(explain, "open_image", reading)
    with pytest.raises(OutputRefused, match="did not write was put there while the output was made"):
        explain.match_picture(images / "city.jpg", images / "city_recompressed.jpg", why)
    assert why.read_bytes() == (images / "forest.jpg").read_bytes()
    res = _run("explain", images / "city.jpg", images / "city_recompressed.jpg", "-m", "copies", "-p",
               tmp_path / "new.png")
    why.unlink()
    assert res.exit_code == 0 and (tmp_path / "new.png").read_bytes().startswith(b"\x89PNG"), res.output


def test_an_empty_unfinished_copy_back_in_the_photo_folder_is_cleared_while_its_file_is_still_away(
        tmp_path: Path) -> None:
    """``undo`` of a quarantine on another disk killed between making ``IMG.jpg.partial`` beside the file's place and
    writing its first byte (1 of 60 kill -9 trials): the next undo put the file back under another unfinished name
    and left the empty one in the photo folder for good. No copy back of that file had finished (it was still in the
    quarantine, nothing at its place), so nothing had freed that name for another program: it is ours, and goes."""
    from imagetwins import quarantine as q

    album, quar = tmp_path / "album", tmp_path / "q"
    shutil.copytree(REPO / "examples" / "images", album)
    before = {p.name: p.read_bytes() for p in album.iterdir()}
    assert _run("remove", album, "-m", "phash", "--apply", "--move-to", quar, "--no-cache", "-q").exit_code == 0
    moved = next(album / name for name in sorted(before) if not (album / name).exists())
    partial = moved.with_name(moved.name + q.PARTIAL)
    with open(quar / q.JOURNAL, "ab") as journal:
        q._append(journal, q._key(quar, create=False), {"op": "move", "from": str(moved), "to": str(quar / moved.name),
                                                        "state": "copying", "partial": str(partial)})
    partial.touch(mode=0o600)
    res = _run("undo", quar)
    assert res.exit_code == 0, res.output
    assert {p.name: p.read_bytes() for p in album.iterdir()} == before
