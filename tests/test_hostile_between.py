"""An attack pass on what happens between a scan and its action, and on the journal afterwards: a journal whose last
line a crash cut short, a file written to while it moves, a sidecar swapped for a huge file before it is written, a
folder of thousands of photos with their XMP sidecars (docs/reliability.md, "Hostile ground")."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import synthetic_photo
from tree_digests import file_digests

from imagetwins import quarantine
from imagetwins.quarantine import Plan, apply_plan, undo

pytestmark = pytest.mark.unit


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pair(folder: Path, name: str, seed: int = 0) -> tuple[Path, Path]:
    """``keep/NAME`` and its byte copy ``copy/NAME`` in ``folder``."""
    (folder / "keep").mkdir(parents=True, exist_ok=True)
    (folder / "copy").mkdir(parents=True, exist_ok=True)
    keeper, copy = folder / "keep" / name, folder / "copy" / name
    synthetic_photo(64, 48, seed).save(keeper)
    copy.write_bytes(keeper.read_bytes())
    return keeper, copy


def _plan(*pairs: tuple[Path, Path]) -> Plan:
    """A plan moving each pair's copy, keeping its keeper (as plan_removal would make it)."""
    return Plan([(str(c), n, str(k)) for n, (k, c) in enumerate(pairs, 1)], [str(k) for k, _ in pairs],
                expected={str(p): _sha(p) for pair in pairs for p in pair})


def test_a_journal_whose_last_line_a_crash_cut_short_still_records_the_next_run(tmp_path: Path) -> None:
    """A crash (power cut) can leave the journal's last line half written, without its newline; undo skips that line.
    The next run into the same quarantine (--move-to, or undo itself) appended its first line right after those
    bytes: glued to them, that line could not be read either, so the file it named stayed in the quarantine ("no
    journal line undo can use names it") and a second undo listed a malformed line for ever."""
    root = tmp_path / "album"
    first = _pair(root, "a.png", 0)
    q = tmp_path / "q"
    assert not apply_plan(_plan(first), root, q).failed
    journal = q / quarantine.JOURNAL
    data = journal.read_bytes()
    last = data.rstrip(b"\n").rfind(b"\n")
    journal.write_bytes(data[:last + 1 + 40])  # the "done" line of the move cut after 40 bytes
    second = _pair(root, "b.png", 1)
    before = file_digests(root)
    out = apply_plan(_plan(second), root, q)
    assert not out.failed and len(out.done) == 1
    back = undo(q)
    assert not back.failed, back.failed
    assert len(back.done) == 2
    assert file_digests(root) == {**before, "copy/a.png": _sha(first[0])}
    assert not undo(q).failed  # and nothing malformed to report the next time
