"""``remove --apply --link sym|hard`` journals its links without an fsync each: the move's planned line (synced with its
batch, before the move) says which link will stand in the file's place, so undo knows that link for its own even where
a power cut lost the ``linked`` line written after it. Before: one fsync a link (2,000 links, 2,000 fsyncs), and a cut
between a link and its synced line left the file in the quarantine, its place 'taken by a symbolic link'."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import pytest

from imagetwins import quarantine as q

pytestmark = pytest.mark.unit


class _PowerCut(BaseException):
    """The machine stopped: nothing after this point happens, and the journal keeps only what was synced."""


def _library(root: Path, pairs: int) -> q.Plan:
    """``pairs`` byte-copy pairs (random bytes) in a few folders; the plan moving the backup's copy of each."""
    moves, expected = [], {}
    for i in range(pairs):
        data = random.Random(i).randbytes(1500)
        keep = root / "2019" / f"day{i % 4}" / f"IMG_{i:04d}.jpg"
        copy = root / "backup" / f"b{i % 3}" / f"IMG_{i:04d}.jpg"
        for p in (keep, copy):
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        expected[str(keep)] = expected[str(copy)] = hashlib.sha256(data).hexdigest()
        moves.append((str(copy), i + 1, str(keep)))
    return q.Plan(moves=moves, keepers=[k for _, _, k in moves], expected=expected)


def _tree(root: Path) -> dict[str, str]:
    """Every name under ``root``: a file's SHA-256, or what a link points at."""
    return {p.relative_to(root).as_posix(): ("link " + os.readlink(p)) if p.is_symlink()
            else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_symlink() or p.is_file()}


def _journal_syncs(monkeypatch, journal: Path) -> dict:
    """Count the fsyncs of ``journal`` and keep the size it had at the last (what a power cut leaves of it)."""
    synced = {"size": 0, "count": 0}
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        st = os.fstat(fd)
        if journal.exists() and (st.st_dev, st.st_ino) == (journal.stat().st_dev, journal.stat().st_ino):
            synced["size"], synced["count"] = st.st_size, synced["count"] + 1

    monkeypatch.setattr(q.os, "fsync", fsync)
    return synced


@pytest.mark.parametrize("kind", ["sym", "hard"])
def test_links_in_the_moved_files_places_cost_no_fsync_each(tmp_path: Path, monkeypatch, kind: str) -> None:
    """250 moves with a link in each place: one fsync a batch of 100 and one at the end (was one more a link:
    253), every link in place, and undo puts every file back."""
    root, quar = tmp_path / "lib", tmp_path / "q"
    plan = _library(root, 250)
    before = _tree(root)
    synced = _journal_syncs(monkeypatch, quar / q.JOURNAL)
    out = q.apply_plan(plan, root, quar, link=kind)
    monkeypatch.undo()
    assert len(out.done) == 250 and len(out.linked) == 250 and not out.failed
    assert synced["count"] <= 10, synced
    assert all(Path(copy).is_symlink() == (kind == "sym") and Path(copy).read_bytes() == Path(keep).read_bytes()
               for copy, _, keep in plan.moves)
    undone = q.undo(quar)
    assert not undone.failed and len(undone.done) == 250
    assert _tree(root) == before


@pytest.mark.parametrize("kind", ["sym", "hard"])
@pytest.mark.parametrize("cut_after", [1, 37, 100, 101, 250])
def test_a_power_cut_right_after_a_link_is_made_loses_no_file_and_undo_puts_all_back(
        tmp_path: Path, monkeypatch, kind: str, cut_after: int) -> None:
    """The machine stops right after the ``cut_after``-th link is made, before its ``linked`` line is written, and the
    journal keeps only what was synced (the rest of it lost). Undo takes the links away (its own: the planned lines
    say which) and puts every file back. Before, the place was 'taken by a symbolic link' (or 'by a file': a hard
    link) and the file stayed in the quarantine."""
    root, quar = tmp_path / "lib", tmp_path / "q"
    plan = _library(root, 250)
    before = _tree(root)
    journal = quar / q.JOURNAL
    synced = _journal_syncs(monkeypatch, journal)
    real_append, links, kept = q._append, [0], {}

    def append(fh, key, entry, sync=True):
        if entry.get("state") == "linked":
            links[0] += 1
            if links[0] == cut_after:
                kept["size"] = synced["size"]
                raise _PowerCut
        return real_append(fh, key, entry, sync=sync)

    monkeypatch.setattr(q, "_append", append)
    with pytest.raises(_PowerCut):
        q.apply_plan(plan, root, quar, link=kind)
    monkeypatch.undo()
    with open(journal, "r+b") as fh:  # (what was not synced is lost)
        fh.truncate(kept["size"])
    assert sum(Path(copy).is_symlink() or Path(copy).stat().st_nlink == 2 for copy, _, _ in plan.moves) == cut_after
    undone = q.undo(quar)
    assert not undone.failed, undone.failed[:3]
    assert _tree(root) == before
    assert not [p for p in quar.rglob("*") if p.is_file() and not p.name.startswith("manifest.")]


def test_a_link_replaced_by_a_file_of_the_person_after_a_power_cut_stays(tmp_path: Path, monkeypatch) -> None:
    """Undo takes away only the link the planned line promised: where a power cut lost the ``linked`` line and a person
    then put a file of their own at the place, that file stays and so does the original, in the quarantine, said."""
    root, quar = tmp_path / "lib", tmp_path / "q"
    plan = _library(root, 3)
    journal = quar / q.JOURNAL
    synced = _journal_syncs(monkeypatch, journal)
    real_append, kept = q._append, {}

    def append(fh, key, entry, sync=True):
        if entry.get("state") == "linked":
            kept["size"] = synced["size"]
            raise _PowerCut
        return real_append(fh, key, entry, sync=sync)

    monkeypatch.setattr(q, "_append", append)
    with pytest.raises(_PowerCut):
        q.apply_plan(plan, root, quar, link="sym")
    monkeypatch.undo()
    with open(journal, "r+b") as fh:
        fh.truncate(kept["size"])
    place = Path(plan.moves[0][0])
    place.unlink()
    place.write_bytes(b"the person's own file")
    undone = q.undo(quar)
    assert [p for p, _ in undone.failed] == [str(place)]
    assert "holds something other than the sym link imagetwins made: left alone" in undone.failed[0][1]
    assert place.read_bytes() == b"the person's own file"
    assert len([p for p in quar.rglob("IMG_*")]) == 1
