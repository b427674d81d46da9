"""Reading a quarantine's journal back (``undo``): one line at a time, a line over the bound skipped unread."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_hostile_between import _pair, _plan

from imagetwins import quarantine
from imagetwins.quarantine import apply_plan, undo

pytestmark = pytest.mark.integration


def test_a_junk_line_over_the_bound_is_one_line_and_the_rest_is_undone(tmp_path: Path, monkeypatch) -> None:
    """A journal line was read with the whole journal into memory (a 300 MB junk line: 665 MB at its peak). Lines
    are read one at a time; one over the bound is passed over without being held, said in one line; the lines
    around it are undone. A junk line under the bound is still "malformed"."""
    monkeypatch.setattr(quarantine, "_JOURNAL_PIECE", 1 << 10)
    monkeypatch.setattr(quarantine, "_JOURNAL_LINE_MAX", 8 << 10)
    root, q = tmp_path / "album", tmp_path / "q"
    assert not apply_plan(_plan(_pair(root, "a.png", 0)), root, q).failed
    with open(q / quarantine.JOURNAL, "ab") as fh:
        fh.write(b"x" * (20 << 10) + b"\n" + b"y" * (4 << 10) + b"\n")
    assert not apply_plan(_plan(_pair(root, "b.png", 1)), root, q).failed
    back = undo(q)
    assert len(back.done) == 2
    whys = [why for _, why in back.failed]
    assert whys[0].startswith("journal line longer than") and whys[1:] == ["malformed journal line: skipped"]
    assert [where.rsplit(" ", 1)[1] for where, _ in back.failed] == ["3", "4"]
    assert (root / "copy" / "a.png").exists() and (root / "copy" / "b.png").exists()


def test_lines_longer_than_a_piece_are_read_whole(tmp_path: Path, monkeypatch) -> None:
    """Every line longer than the piece read at a time (a folder's line lists all its files) is measured, then read
    whole: with a piece of 64 bytes every line of the journal goes that way and the run is undone as before."""
    monkeypatch.setattr(quarantine, "_JOURNAL_PIECE", 64)
    root, q = tmp_path / "album", tmp_path / "q"
    assert not apply_plan(_plan(_pair(root, "a.png", 0)), root, q).failed
    assert not apply_plan(_plan(_pair(root, "b.png", 1)), root, q).failed
    with open(q / quarantine.JOURNAL, "ab") as fh:
        fh.write(b'{"op": "move", "fr')  # a last line cut short by a crash: skipped, not said
    back = undo(q)
    assert len(back.done) == 2 and not back.failed


def test_a_run_that_moved_nothing_leaves_no_empty_journal(tmp_path: Path) -> None:
    """Every move refused (the copy edited since the scan): the run left an empty journal, a key and a summary in a
    new quarantine folder, for ``undo`` to restore nothing from. Now the folders it made go too; a folder given
    that stood there already stays (empty), and a quarantine holding an earlier run keeps its journal whole."""
    root = tmp_path / "album"
    keeper, copy = _pair(root, "a.png", 0)
    plan = _plan((keeper, copy))
    copy.write_bytes(copy.read_bytes() + b"edited")
    runs = tmp_path / "album.imagetwins-quarantine"
    out = apply_plan(plan, root, runs / "20240101-120000")
    assert not out.done and len(out.failed) == 1
    assert not runs.exists()
    given = tmp_path / "given"
    given.mkdir()
    assert not apply_plan(plan, root, given).done and list(given.iterdir()) == []
    earlier = tmp_path / "q"
    assert not apply_plan(_plan(_pair(root, "b.png", 1)), root, earlier).failed
    lines = (earlier / quarantine.JOURNAL).read_bytes()
    assert not apply_plan(plan, root, earlier).done
    assert (earlier / quarantine.JOURNAL).read_bytes() == lines and len(undo(earlier).done) == 1
