"""``remove --apply --link sym|hard``, ``--to-trash`` and the XMP sidecars that follow moved files journal in batches,
as plain moves do: each move's planned line synced with its batch before the move, nothing synced a line. Before: an
fsync a link (2,000 links, 2,000 fsyncs), two a file sent to the trash, two a sidecar. With a link, the move's planned
line says which link will stand in the file's place, so undo knows that link for its own even where a power cut lost
the ``linked`` line written after it (before, a cut between a link and its synced line left the file in the
quarantine, its place 'taken by a symbolic link')."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import pytest

from imagetwins import quarantine as q


class _PowerCut(BaseException):
    """The machine stopped: nothing after this point happens, and the journal keeps only what was synced."""


def _library(root: Path, pairs: int, sidecars: bool = False) -> q.Plan:
    """``pairs`` byte-copy pairs (random bytes) in a few folders; the plan moving the backup's copy of each
    (``sidecars``: each copy with its own XMP sidecar, and every third one with a second, ``IMG.xmp``)."""
    moves, expected = [], {}
    for i in range(pairs):
        data = random.Random(i).randbytes(1500)
        keep = root / "2019" / f"day{i % 4}" / f"IMG_{i:04d}.jpg"
        copy = root / "backup" / f"b{i % 3}" / f"IMG_{i:04d}.jpg"
        for p in (keep, copy):
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        if sidecars:
            copy.with_name(copy.name + ".xmp").write_bytes(b"<x:xmpmeta own/>" + data[:50])
            if i % 3 == 0:
                copy.with_suffix(".xmp").write_bytes(b"<x:xmpmeta stem/>" + data[:50])
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


@pytest.mark.unit
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


@pytest.mark.unit
@pytest.mark.parametrize("kind", ["sym", "hard"])
@pytest.mark.parametrize("cut_after", [1, 37, 100, 101, 250])
def test_a_power_cut_right_after_a_link_is_made_loses_no_file_and_undo_puts_all_back(
        tmp_path: Path, kind: str, cut_after: int) -> None:
    """The machine stops right after the ``cut_after``-th link is made, before its ``linked`` line is written, and the
    journal keeps only what was synced (the rest of it lost). Undo takes the links away (its own: the planned lines
    say which) and puts every file back. Before, the place was 'taken by a symbolic link' (or 'by a file': a hard
    link) and the file stayed in the quarantine."""
    root, quar = tmp_path / "lib", tmp_path / "q"
    plan = _library(root, 250)
    before = _tree(root)
    linked_now = []

    def before_undo() -> None:
        linked_now.append(sum(Path(copy).is_symlink() or Path(copy).stat().st_nlink == 2 for copy, _, _ in plan.moves))

    undone = _cut_and_undo(tmp_path, plan, root, lambda e: e["state"] == "linked", cut_after, before_undo,
                           link=kind)
    assert linked_now == [cut_after]
    assert not undone.failed, undone.failed[:3]
    assert _tree(root) == before
    assert not [p for p in quar.rglob("*") if p.is_file() and not p.name.startswith("manifest.")]


@pytest.mark.unit
def test_a_link_replaced_by_a_file_of_the_person_after_a_power_cut_stays(tmp_path: Path) -> None:
    """Undo takes away only the link the planned line promised: where a power cut lost the ``linked`` line and a person
    then put a file of their own at the place, that file stays and so does the original, in the quarantine, said."""
    root, quar = tmp_path / "lib", tmp_path / "q"
    plan = _library(root, 3)
    place = Path(plan.moves[0][0])

    def person_writes() -> None:
        place.unlink()
        place.write_bytes(b"the person's own file")

    undone = _cut_and_undo(tmp_path, plan, root, lambda e: e["state"] == "linked", 1, person_writes, link="sym")
    assert [p for p, _ in undone.failed] == [str(place)]
    assert undone.failed[0][1] == "its original place is taken by a file: left alone"
    assert place.read_bytes() == b"the person's own file"
    assert len([p for p in quar.rglob("IMG_*")]) == 1


def _cut_and_undo(tmp_path: Path, plan: q.Plan, root: Path, cut_at, cut_after: int, meanwhile=None,
                  **how) -> q.Outcome:
    """``apply_plan(plan, **how)`` stopped by a power cut right before the ``cut_after``-th journal line for which
    ``cut_at(entry)`` holds is written, the journal cut to what was synced; ``meanwhile()`` called; then undone."""
    quar = tmp_path / "q"
    journal = quar / q.JOURNAL
    real_append, seen, kept = q._append, [0], {}
    with pytest.MonkeyPatch.context() as mp:
        synced = _journal_syncs(mp, journal)

        def append(fh, key, entry, sync=True):
            if cut_at(entry):
                seen[0] += 1
                if seen[0] == cut_after:
                    kept["size"] = synced["size"]
                    raise _PowerCut
            return real_append(fh, key, entry, sync=sync)

        mp.setattr(q, "_append", append)
        with pytest.raises(_PowerCut):
            q.apply_plan(plan, root, quar, **how)
    with open(journal, "r+b") as fh:  # (what was not synced is lost)
        fh.truncate(kept["size"])
    if meanwhile is not None:
        meanwhile()
    return q.undo(quar)


@pytest.mark.unit
@pytest.mark.parametrize("cut_after", [1, 50, 100, 150])
def test_a_power_cut_while_files_go_to_the_trash_loses_none(tmp_path: Path, home_trash: Path,
                                                            cut_after: int) -> None:
    """The machine stops right after the ``cut_after``-th file went into the trash, before its ``done`` line: undo
    puts every file back and the trash holds nothing of the run (the names reserved for files that never went given
    back)."""
    root = tmp_path / "lib"
    plan = _library(root, 150)
    before = _tree(root)
    undone = _cut_and_undo(tmp_path, plan, root, lambda e: e["state"] == "done", cut_after, to_trash=True)
    assert not undone.failed, undone.failed[:3]
    assert _tree(root) == before
    assert list((home_trash / "files").iterdir()) == [] and list((home_trash / "info").iterdir()) == []


@pytest.mark.unit
@pytest.mark.parametrize("cut_after", [1, 40, 101])
def test_a_power_cut_while_sidecars_follow_their_files_loses_none(tmp_path: Path, cut_after: int) -> None:
    """The machine stops right after the ``cut_after``-th XMP sidecar moved, before its ``done`` line: undo puts every
    file and sidecar back."""
    root = tmp_path / "lib"
    plan = _library(root, 120, sidecars=True)
    before = _tree(root)
    undone = _cut_and_undo(tmp_path, plan, root, lambda e: e["state"] == "done" and e["from"].endswith(".xmp"),
                           cut_after)
    assert not undone.failed, undone.failed[:3]
    assert _tree(root) == before


@pytest.mark.unit
@pytest.mark.parametrize("how", ["to_trash", "sidecars"])
def test_the_trash_and_sidecars_cost_no_journal_fsync_a_line(tmp_path: Path, home_trash: Path, how: str) -> None:
    """250 files sent to the trash, or moved with 334 sidecars: a few journal fsyncs a batch (were two a file or
    sidecar: 500 and 1,168), every file where it should be, and undo puts all back."""
    root, quar = tmp_path / "lib", tmp_path / "q"
    plan = _library(root, 250, sidecars=how == "sidecars")
    before = _tree(root)
    with pytest.MonkeyPatch.context() as mp:
        synced = _journal_syncs(mp, quar / q.JOURNAL)
        out = q.apply_plan(plan, root, quar, to_trash=how == "to_trash")
    assert len(out.done) == 250 and not out.failed
    assert len(out.sidecars) == (334 if how == "sidecars" else 0)
    assert synced["count"] <= 10, synced
    if how == "to_trash":
        assert len(list((home_trash / "files").iterdir())) == 250
    undone = q.undo(quar)
    assert not undone.failed and len(undone.done) == (584 if how == "sidecars" else 250)
    assert _tree(root) == before



@pytest.mark.cli
@pytest.mark.parametrize("how", [["--to-trash"], ["--link", "sym"], []])
def test_kill_9_at_random_points_of_trash_link_and_sidecar_moves_loses_nothing(tmp_path: Path, how: list[str]) -> None:
    """``remove --plan --apply`` of 120 files with sidecars (two batches), sent to the trash, replaced by links, or
    moved with their sidecars, killed at a random one of the calls that change files (link, unlink, rename, journal
    writes, fsyncs...), then its undo killed at a random one of its own, then undone to the end: every file and
    sidecar is back byte for byte, the quarantine holds nothing but its own files and the trash nothing."""
    from test_journal_batches import kill_rounds

    root, quar, share = tmp_path / "lib", tmp_path / "q", tmp_path / "share"
    plan = _library(root, 120, sidecars=True)

    def trash_empty() -> None:
        assert not [p for p in (share / "Trash").rglob("*") if p.is_file()]

    moved_when_killed = kill_rounds(tmp_path, root, quar, plan, _tree(root), _tree, rounds=4, seed=11, how=tuple(how),
                                    env={"XDG_DATA_HOME": str(share)}, also=trash_empty)
    assert sum(0 < n < 120 for n in moved_when_killed) >= 2, moved_when_killed


@pytest.mark.unit
@pytest.mark.parametrize("nth", [1, 2, 5])
def test_a_run_killed_as_a_trash_record_is_written_leaves_no_record_undo_cannot_name(tmp_path: Path, home_trash: Path,
                                                                                     nth: int) -> None:
    """The run stops while the ``nth`` file's (or sidecar's) ``.trashinfo`` is being written: the record was made before
    its journal line, so no undo could name it, and the trash listed a file it did not hold. Now the line comes
    first: undo gives the record back, and the trash holds nothing of the run."""
    root, quar = tmp_path / "lib", tmp_path / "q"
    plan = _library(root, 4, sidecars=True)
    before = _tree(root)
    real_fsync, seen = os.fsync, [0]

    def fsync(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".trashinfo"):
            seen[0] += 1
            if seen[0] == nth:
                raise _PowerCut
        real_fsync(fd)

    with pytest.MonkeyPatch.context() as mp, pytest.raises(_PowerCut):
        mp.setattr(os, "fsync", fsync)
        q.apply_plan(plan, root, quar, to_trash=True)
    assert list((home_trash / "info").iterdir())  # (the one being written; those before it given back on the way out)
    undone = q.undo(quar)
    assert not undone.failed, undone.failed
    assert _tree(root) == before
    assert list((home_trash / "files").iterdir()) == [] and list((home_trash / "info").iterdir()) == []


@pytest.mark.unit
def test_an_undo_killed_between_a_file_back_and_its_trash_record_gone_leaves_no_record(tmp_path: Path,
                                                                                    home_trash: Path) -> None:
    """Undo put a file back from the trash and was killed before it took its ``.trashinfo`` away: the next undo saw
    the file restored and left the record, a file the trash listed and did not hold. Now it takes it away."""
    root, quar = tmp_path / "lib", tmp_path / "q"
    plan = _library(root, 3)
    before = _tree(root)
    assert len(q.apply_plan(plan, root, quar, to_trash=True).done) == 3
    real_unlink = Path.unlink

    def unlink(self, *args, **kwargs):
        if self.name.endswith(".trashinfo"):
            raise _PowerCut
        return real_unlink(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp, pytest.raises(_PowerCut):
        mp.setattr(Path, "unlink", unlink)
        q.undo(quar)
    assert len(list((home_trash / "info").iterdir())) == 3
    undone = q.undo(quar)
    assert not undone.failed, undone.failed
    assert _tree(root) == before
    assert list((home_trash / "files").iterdir()) == [] and list((home_trash / "info").iterdir()) == []


@pytest.mark.unit
@pytest.mark.parametrize("sidecars", [False, True])
def test_a_power_cut_before_a_trash_batch_is_synced_leaves_no_record_of_a_file_never_trashed(
        tmp_path: Path, home_trash: Path, sidecars: bool) -> None:
    """The machine stops right before a batch's journal lines are synced: every ``.trashinfo`` the batch reserved was
    synced as it was made, before its line, so the records stayed and the lines did not (20 records in the trash of
    20 files that never went there, no line for undo to give them back by). Now a record is synced after its line,
    right before its file goes: what a power cut keeps of the trash (what was synced) is named by the journal."""
    root, quar = tmp_path / "lib", tmp_path / "q"
    plan = _library(root, 20, sidecars=sidecars)
    before = _tree(root)
    from imagetwins import trash

    real_fsync, real_sync, real_release = os.fsync, q._sync, trash.release
    synced_records: set[str] = set()
    cut: dict = {}

    def fsync(fd: int) -> None:
        real_fsync(fd)
        if not cut:
            where = os.readlink(f"/proc/self/fd/{fd}")
            if where.endswith(".trashinfo"):
                synced_records.add(where)
            elif where == str(quar / q.JOURNAL):
                cut["journal"] = os.fstat(fd).st_size

    def sync(journal) -> None:
        if cut:
            return real_sync(journal)
        cut["at"] = True  # (the first batch's sync: the machine stops; nothing after this happens)
        raise _PowerCut

    with pytest.MonkeyPatch.context() as mp, pytest.raises(_PowerCut):
        mp.setattr(os, "fsync", fsync)
        mp.setattr(q, "_sync", sync)
        mp.setattr(trash, "release", lambda info: None if cut else real_release(info))
        q.apply_plan(plan, root, quar, to_trash=True)
    with open(quar / q.JOURNAL, "r+b") as fh:  # (what was not synced is lost: the journal's lines and the records)
        fh.truncate(cut.get("journal", 0))
    made = list((home_trash / "info").iterdir())
    assert made  # (the batch's records were made)
    for info in made:
        if str(info) not in synced_records:
            info.unlink()
    undone = q.undo(quar)
    assert not undone.failed, undone.failed[:3]
    assert _tree(root) == before
    assert list((home_trash / "files").iterdir()) == [] and list((home_trash / "info").iterdir()) == []


@pytest.mark.unit
def test_a_fifo_put_in_a_trash_records_place_before_its_file_goes_neither_hangs_nor_moves_it(
        tmp_path: Path, home_trash: Path) -> None:
    """A ``.trashinfo`` the batch reserved is synced right before its file goes: a FIFO put at its name meanwhile was
    opened to be synced and waited on for a writer forever. Now it is opened without waiting: that file stays, the
    others go, undo puts them back."""
    import signal

    from imagetwins import trash

    root, quar = tmp_path / "lib", tmp_path / "q"
    plan = _library(root, 3)
    before = _tree(root)
    real_reserve = trash.TrashFolder.reserve

    def reserve(self, *args, **kwargs):
        dst, info = real_reserve(self, *args, **kwargs)
        if dst.name == "IMG_0001.jpg":
            info.unlink()
            os.mkfifo(info)
        return dst, info

    def hung(*_) -> None:
        raise _PowerCut("waited on the FIFO")  # (no OSError: the run would take it for the file's failure)

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(trash.TrashFolder, "reserve", reserve)
            out = q.apply_plan(plan, root, quar, to_trash=True)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert len(out.done) == 2 and [Path(f).name for f, _ in out.failed] == ["IMG_0001.jpg"], out.failed
    assert (root / "backup" / "b1" / "IMG_0001.jpg").is_file()
    undone = q.undo(quar)
    assert not undone.failed, undone.failed
    assert _tree(root) == before
