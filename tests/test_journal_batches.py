"""``remove --apply`` journals its moves in batches: one fsync a batch, not two a file (10,000 moves took 122 s wall
here, 20,000 fsyncs). What must hold whatever the batching: every move's planned line is on disk before that move
begins, and a run killed (kill -9) at any point loses no file and ``undo`` puts every file back."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import moves_by_link
from test_file_safety_leftovers import _ReadSizes

from imagetwins import quarantine as q


def _library(root: Path, pairs: int, size: int = 3000) -> q.Plan:
    """``pairs`` byte-copy pairs (random bytes: nothing is decoded) in a few folders; the plan moving one of each."""
    moves, expected = [], {}
    for i in range(pairs):
        data = random.Random(i).randbytes(size)
        keep = root / "2019" / f"day{i % 7}" / f"IMG_{i:04d}.jpg"
        copy = root / "backup" / f"b{i % 5}" / f"IMG_{i:04d}.jpg"
        for p in (keep, copy):
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        expected[str(keep)], expected[str(copy)] = digest, digest
        moves.append((str(copy), i + 1, str(keep)))
    return q.Plan(moves=moves, keepers=[k for _, _, k in moves], expected=expected)


def _open_files() -> int:
    """How many files this process holds open (Linux; 0 elsewhere)."""
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.unit
def test_each_move_begins_after_its_planned_line_is_synced_and_a_batch_costs_one_fsync(tmp_path: Path,
                                                                                     monkeypatch) -> None:
    """Before: two fsyncs a file (planned, done): 250 moves made 500. Now about one a batch, and still no file is
    linked into the quarantine before the journal's synced part holds its planned line."""
    root = tmp_path / "lib"
    plan = _library(root, 250)
    before = _tree(root)
    quar = tmp_path / "q"
    journal = quar / q.JOURNAL
    synced = {"size": 0, "count": 0}
    real_fsync, real_link, real_rename = os.fsync, os.link, q._rename_noreplace
    early, begun = [], []

    def fsync(fd: int) -> None:
        real_fsync(fd)
        st = os.fstat(fd)
        if journal.exists() and (st.st_dev, st.st_ino) == (journal.stat().st_dev, journal.stat().st_ino):
            synced["size"], synced["count"] = st.st_size, synced["count"] + 1

    def begins(dst) -> None:
        if str(dst).startswith(str(quar)):  # a move into the quarantine begins: its planned line must be on disk
            begun.append(str(dst))
            head = journal.read_bytes()[:synced["size"]].decode("ascii")
            named = [json.loads(line) for line in head.splitlines()]
            if not any(e["state"] == "planned" and e["to"] == str(dst) for e in named):
                early.append(str(dst))

    def link(src, dst, *args, **kwargs):
        begins(dst)
        return real_link(src, dst, *args, **kwargs)

    def rename(src, dst, *args, **kwargs):  # (the move's one step where the system has renameat2)
        begins(dst)
        return real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(q.os, "fsync", fsync)
    monkeypatch.setattr(q.os, "link", link)
    monkeypatch.setattr(q, "_rename_noreplace", rename)
    out = q.apply_plan(plan, root, quar)
    monkeypatch.undo()
    assert len(out.done) == 250 and not out.failed
    assert early == [] and len(set(begun)) == 250
    assert synced["count"] <= 10, synced  # (was 500: two a file)
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sorted(e["state"] for e in lines) == ["done"] * 250 + ["planned"] * 250
    assert not q.undo(quar).failed
    assert _tree(root) == before


@pytest.mark.unit
def test_a_full_disk_in_the_middle_of_a_batchs_planned_lines_moves_none_of_it(tmp_path: Path, monkeypatch) -> None:
    """The journal takes the batch's first 50 planned lines, then the disk is full: the run stops (one line), none
    of the batch's files moved (their lines were not all on disk), no folder left open, and undo has nothing to do."""
    root = tmp_path / "lib"
    plan = _library(root, 120)
    before = _tree(root)
    real_append, calls = q._append, []

    def append(journal, key, entry, sync=True):
        calls.append(entry["state"])
        if len(calls) == 51:
            raise q.JournalError("cannot write the quarantine's journal (No space left on device)")
        return real_append(journal, key, entry, sync=sync)

    monkeypatch.setattr(q, "_append", append)
    open_before = _open_files()
    out = q.apply_plan(plan, root, tmp_path / "q")
    assert _open_files() == open_before
    assert out.stopped == "cannot write the quarantine's journal (No space left on device)"
    assert out.done == [] and out.failed == [] and calls == ["planned"] * 51
    assert _tree(root) == before
    monkeypatch.undo()
    back = q.undo(tmp_path / "q")
    assert not back.failed and not back.done and _tree(root) == before


@pytest.mark.unit
def test_a_keeper_changed_after_its_batch_was_journalled_keeps_its_copies(tmp_path: Path, monkeypatch) -> None:
    """A batch is checked, then journalled, then moved: a keeper rewritten between its copy's check and its move
    (here: right after the batch's sync) is checked again before the move, and the copy stays, said, its planned
    line closed as failed (nothing for undo to put back)."""
    root = tmp_path / "lib"
    plan = _library(root, 5)
    victim_keeper = Path(plan.moves[3][2])
    _after_each_sync(monkeypatch, lambda: victim_keeper.write_bytes(b"rewritten by another program"))
    out = q.apply_plan(plan, root, tmp_path / "q")
    assert len(out.done) == 4
    assert out.failed == [(plan.moves[3][0], f"not moved: the kept copy {victim_keeper} changed since the scan")]
    assert Path(plan.moves[3][0]).exists()
    entries = [json.loads(line) for line in (tmp_path / "q" / q.JOURNAL).read_text().splitlines()]
    assert [e["state"] for e in entries if e["from"] == plan.moves[3][0]] == ["planned", "failed"]
    monkeypatch.undo()
    assert not q.undo(tmp_path / "q").failed


def _after_each_sync(monkeypatch, action) -> None:
    """``action()`` run each time a batch's journal lines are synced, before its moves are made."""
    real_sync = q._sync

    def sync(journal) -> None:
        real_sync(journal)
        action()

    monkeypatch.setattr(q, "_sync", sync)


def _pair(root: Path, name: str, data: bytes, n: int, plan: q.Plan) -> None:
    """A keeper ``keepN.jpg`` and its byte copy ``backup/NAME`` added to ``plan``."""
    keep, copy = root / f"keep{n}.jpg", root / "backup" / name
    copy.parent.mkdir(parents=True, exist_ok=True)
    keep.write_bytes(data)
    copy.write_bytes(data)
    plan.expected[str(keep)] = plan.expected[str(copy)] = hashlib.sha256(data).hexdigest()
    plan.moves.append((str(copy), n, str(keep)))


@pytest.mark.unit
def test_two_files_whose_quarantine_names_meet_in_one_batch_both_move(tmp_path: Path) -> None:
    """``IMG.jpg`` finds ``IMG.jpg`` taken in the quarantine (an earlier run's) and is promised ``IMG.1.jpg``; the
    batch's next file is ``IMG.1.jpg`` itself. Journalled before either moves, a free name looked for on disk alone
    gave both one name (the second would fail to move): names promised in a batch are not free."""
    root, quar = tmp_path / "lib", tmp_path / "q"
    first = q.Plan(moves=[], keepers=[])
    _pair(root, "IMG.jpg", b"an earlier run's", 1, first)
    assert len(q.apply_plan(first, root, quar).done) == 1
    second = q.Plan(moves=[], keepers=[])
    _pair(root, "IMG.jpg", b"picture 2", 2, second)
    _pair(root, "IMG.1.jpg", b"picture 3", 3, second)
    out = q.apply_plan(second, root, quar)
    assert not out.failed and len(out.done) == 2
    assert (quar / "backup" / "IMG.1.jpg").read_bytes() == b"picture 2"
    assert (quar / "backup" / "IMG.1.1.jpg").read_bytes() == b"picture 3"
    assert (quar / "backup" / "IMG.jpg").read_bytes() == b"an earlier run's"


def _plan_file(root: Path, plan: q.Plan, path: Path) -> Path:
    """``plan`` as ``find --json`` writes it: one group a pair, its keeper kept, both files' SHA-256."""
    groups = [{"files": [keep, copy], "exact": True, "sha256": {keep: plan.expected[keep], copy: plan.expected[copy]},
               "keep": keep, "suggested_keep": keep} for copy, _, keep in plan.moves]
    doc = {"imagetwins_plan": 1, "root": str(root.resolve()), "method": "copies", "threshold": 0.92,
           "score_kind": "confidence", "groups": groups}
    path.write_text(json.dumps(doc))
    return path


#: the command line, killed at the N-th call (N > 0) of a call that changes files (``os.link``, ``unlink``, ``rename``,
#: ``write``, ``fsync``, ``ftruncate``, ``mkdir``), before it (N odd) or right after it (N even), as kill -9 there
#: would: ``os._exit`` runs nothing more (no handler, no clean-up, no buffer flushed). N = 0: run whole, and print how
#: many such calls it made.
_KILLED_AT = """
import os, sys
n, calls = int(sys.argv[1]), [0]
def killing(call):
    def wrapped(*args, **kwargs):
        calls[0] += 1
        if calls[0] == n and n % 2:
            os._exit(137)
        result = call(*args, **kwargs)
        if calls[0] == n:
            os._exit(137)
        return result
    return wrapped
for name in ("link", "unlink", "rename", "write", "fsync", "ftruncate", "mkdir"):
    setattr(os, name, killing(getattr(os, name)))
from imagetwins.cli import main
try:
    main.main(sys.argv[2:])  # (not main(): it ends the process at once, os._exit)
finally:
    print("calls", calls[0], file=sys.stderr)
"""


def killed_run(command: list[str], env: dict, kill_at: int = 0) -> int:
    """Run the command line ``command`` killed at its ``kill_at``-th call that changes files (:data:`_KILLED_AT`; 0:
    whole, and then how many such calls it made)."""
    proc = subprocess.run([sys.executable, "-c", _KILLED_AT, str(kill_at), *command], env=env,
                          capture_output=True, text=True, timeout=300)
    if kill_at:  # (a run after a killed one may make fewer calls, and end before the kill: an undo with less to do)
        assert proc.returncode in (0, 137) and "Traceback" not in proc.stderr, proc.stderr
        return 0
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return int(proc.stderr.split("calls ")[-1])


@pytest.mark.cli
def test_kill_9_at_random_points_of_remove_and_undo_loses_nothing(tmp_path: Path) -> None:
    """``remove --plan --apply`` of 150 files (two batches) killed at a random one of the calls that change files
    (link, unlink, journal writes, fsyncs...), then its undo killed at a random one of its own, then undone to the end:
    every file is back byte for byte, and the quarantine holds nothing but its own files."""
    root, quar = tmp_path / "lib", tmp_path / "q"
    plan = _library(root, 150)
    moved_when_killed = kill_rounds(tmp_path, root, quar, plan, _tree(root), _tree, rounds=5, seed=9)
    assert sum(0 < n < 150 for n in moved_when_killed) >= 2, moved_when_killed  # (most kills land among the moves)


def kill_rounds(tmp_path: Path, root: Path, quar: Path, plan: q.Plan, before: dict, tree, rounds: int, seed: int,
                how: tuple[str, ...] = (), env: dict | None = None, also=lambda: None) -> list[int]:
    """``remove ROOT --plan --apply --move-to QUAR *how`` of ``plan`` killed ``rounds`` times at a random one of its
    calls that change files, each time its undo killed likewise, then undone to the end: ``tree(root)`` is ``before``
    again, the quarantine holds its own files alone, and ``also()`` holds. Returns how many of the plan's files had
    left their places (moved, or replaced by a link) when each run was killed."""
    plan_file = _plan_file(root, plan, tmp_path / "plan.json")
    env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join([str(Path(q.__file__).parents[1]),
                                                                       os.environ.get("PYTHONPATH", "")])}
    commands = {"apply": ["remove", str(root), "--plan", str(plan_file), "--apply", "-q", "--no-cache",
                          "--move-to", str(quar), *how],
                "undo": ["undo", str(quar), "-q"]}

    def run(what: str, kill_at: int = 0) -> int:
        return killed_run(commands[what], env, kill_at)

    def whole_again() -> None:
        assert tree(root) == before
        left = [p.relative_to(quar).as_posix() for p in quar.rglob("*") if p.is_file()]
        assert all(name.startswith("manifest.") for name in left), left[:5]
        also()

    run("apply")  # (the first run makes the quarantine, its key and journal: the later ones make fewer calls)
    run("undo")
    whole_again()
    calls = {"apply": run("apply"), "undo": run("undo")}  # (how many calls each makes whole: the kills land within)
    whole_again()
    rng = random.Random(seed)
    moved_when_killed = []
    for _ in range(rounds):
        run("apply", rng.randint(1, calls["apply"]))
        moved_when_killed.append(sum(not Path(copy).is_file() or Path(copy).is_symlink() for copy, _, _ in plan.moves))
        if moved_when_killed[-1]:
            run("undo", rng.randint(1, calls["undo"]))
        run("undo")
        whole_again()
    return moved_when_killed


@pytest.mark.unit
def test_a_signed_looking_journal_line_over_32_mib_is_not_read(tmp_path: Path) -> None:
    """A line shaped as one of ours (``{"`` first, a signature last) was read whole and parsed up to 256 MiB: a
    174 MiB folder line took 1.5 GB and 35 s before its signature was found wrong. The bound is 32 MiB (a folder of
    ~250,000 files): a longer line is measured a MiB at a time and skipped unread; one under it is still read."""
    def signed(size: int) -> bytes:
        return b'{"op": "folder", "files": "' + b"f" * size + b'", "mac": "' + b"0123456789abcdef" * 4 + b'"}\n'

    journal = tmp_path / q.JOURNAL
    under, over = signed(30 << 20), signed(33 << 20)
    journal.write_bytes(under + over + b'{"op": "move"}\n')
    with open(journal, "rb") as raw:
        fh = _ReadSizes(raw)
        lines = list(q._journal_lines(fh))
    assert [n for n, _ in lines] == [1, 2, 3]
    assert lines[0][1] == under and lines[1][1] is None and lines[2][1] == b'{"op": "move"}\n'
    assert fh.most == len(under)  # (the long one never held whole)


@pytest.mark.unit
def test_a_folder_too_large_for_one_journal_line_is_not_moved(tmp_path: Path, monkeypatch) -> None:
    """The writer keeps to the reader's bound: a folder whose planned line (every file with its digest) would pass it
    stays where it is, said in one line, rather than move under a line undo would skip (the folder then never put
    back). Here the bound is lowered to 4 KB and the folder holds 60 files (~6 KB of line); one of 10 still moves."""
    from imagetwins.folders import check_folder_plan

    monkeypatch.setattr(q, "_JOURNAL_LINE_MAX", 4 << 10)
    entries = []
    for name, count in (("Backup", 60), ("Small", 10)):
        files = {}
        for k in range(count):
            data = f"{name} picture {k}".encode()
            for folder in (name, f"{name}-original"):
                (tmp_path / folder).mkdir(exist_ok=True)
                (tmp_path / folder / f"p{k}.jpg").write_bytes(data)
            digest = hashlib.sha256(data).hexdigest()
            files[f"{name}/p{k}.jpg"] = (digest, f"{name}-original/p{k}.jpg", digest)
        entries.append({"remove": name, "copy_of": f"{name}-original", "skip": False, "files": files,
                        "number": len(entries) + 1})
    moves, refused = check_folder_plan(tmp_path, entries)
    assert len(moves) == 2 and not refused
    quar = tmp_path.parent / f"{tmp_path.name}-q"
    out = q.apply_folder_moves(moves, tmp_path, quar)
    assert [f for f, _ in out.failed] == [str(tmp_path / "Backup")]
    assert out.failed[0][1].startswith("not moved: it holds 60 files, too many to journal in one line (its journal "
                                       "line would be ")
    assert out.failed[0][1].endswith(" MiB undo reads back): move its sub-folders instead")
    assert len(list((tmp_path / "Backup").iterdir())) == 60 and not (tmp_path / "Small").exists()
    assert not q.undo(quar).failed and len(list((tmp_path / "Small").iterdir())) == 10


@pytest.mark.unit
def test_a_file_rewritten_in_place_after_its_batch_was_checked_stays_where_it_is(tmp_path: Path,
                                                                               monkeypatch) -> None:
    """A batch's files are read, journalled, then moved once the batch is synced: a file written in place between
    its check and its move, its size and mtime put back (``exiftool -P -overwrite_original_in_place``), was moved
    (the check after the move looks at size and mtime only) and undo refused it: 'changed in quarantine (checksum
    differs)', the edit left in the quarantine. Its change time (ctime) says it was written: it stays, said."""
    root = tmp_path / "lib"
    plan = _library(root, 5)
    victim = Path(plan.moves[2][0])
    edited = {}

    def rewrite() -> None:
        st = victim.stat()
        data = bytearray(victim.read_bytes())
        data[0] ^= 0xFF
        with open(victim, "r+b") as fh:
            fh.write(data)
        os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
        edited[victim.name] = hashlib.sha256(data).hexdigest()

    _after_each_sync(monkeypatch, rewrite)
    out = q.apply_plan(plan, root, tmp_path / "q")
    monkeypatch.undo()
    assert len(out.done) == 4
    assert out.failed == [(plan.moves[2][0], "not moved: written to since it was checked (no longer the bytes "
                                             "checked): left in place")]
    assert hashlib.sha256(victim.read_bytes()).hexdigest() == edited[victim.name]
    entries = [json.loads(line) for line in (tmp_path / "q" / q.JOURNAL).read_text().splitlines()]
    assert [e["state"] for e in entries if e["from"] == plan.moves[2][0]] == ["planned", "failed"]
    back = q.undo(tmp_path / "q")
    assert not back.failed and len(back.done) == 4


@pytest.mark.unit
def test_a_file_whose_change_time_moved_but_not_its_bytes_still_moves(tmp_path: Path, monkeypatch) -> None:
    """Its mode changed after its batch was checked (ctime moved, the bytes did not): read again, it moves."""
    root = tmp_path / "lib"
    plan = _library(root, 3)
    victim = Path(plan.moves[1][0])
    _after_each_sync(monkeypatch, lambda: victim.chmod(0o600))
    out = q.apply_plan(plan, root, tmp_path / "q")
    assert len(out.done) == 3 and not out.failed


@pytest.mark.unit
def test_a_quarantine_on_another_disk_is_not_filled_past_the_room_undo_needs(tmp_path: Path, monkeypatch) -> None:
    """A quarantine on another device (a USB stick) that the run filled could not be undone: undo writes a journal
    line there before it copies each file back, and every undo stopped at the first ('cannot write the quarantine's
    journal (No space left on device)': 130 photos into a 1-9 MiB tmpfs, all four sizes). A copy that would leave
    less than UNDO_ROOM free is not begun: the run stops, said, and undo puts every file back."""
    root, quar = tmp_path / "lib", tmp_path / "q"
    plan = _library(root, 6)
    before = _tree(root)
    real_link, real_statvfs = os.link, os.statvfs

    def link(src, dst, *args, **kwargs):  # (the quarantine on another device: a copy, not a link)
        if str(dst).startswith(str(quar)):
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        return real_link(src, dst, *args, **kwargs)

    def statvfs(path):  # (a disk with room for two of the files, past the room undo needs)
        fs = real_statvfs(path)
        if not str(path).startswith(str(quar)):
            return fs
        held = sum(p.stat().st_size for p in quar.rglob("*.jpg"))
        free = q.UNDO_ROOM + 7000 - held
        return os.statvfs_result((fs.f_bsize, 1, fs.f_blocks, free, free, *tuple(fs)[5:]))

    moves_by_link(monkeypatch)
    monkeypatch.setattr(q.os, "link", link)
    monkeypatch.setattr(q.os, "statvfs", statvfs)
    out = q.apply_plan(plan, root, quar)
    assert len(out.done) == 2 and not out.failed
    assert out.stopped is not None and out.stopped.startswith("the quarantine's disk is nearly full (1.0 MiB free")
    assert all(Path(copy).exists() for copy, _, _ in plan.moves[2:])
    back = q.undo(quar)
    assert not back.failed and len(back.done) == 2
    assert _tree(root) == before


@pytest.mark.unit
def test_a_folder_renamed_and_a_link_put_at_its_name_after_its_batch_was_checked_moves_nothing_of_it(
        tmp_path: Path, monkeypatch) -> None:
    """A batch holds each file's folder open from its check to its move: a folder renamed in between, and a link to
    elsewhere put at its name, sent its files from the renamed folder into the quarantine journalled as from the link,
    where undo refused to put them back ('reached through a link'). Each folder is looked up again right before its
    files move: they stay, said; undo has nothing to put back and says nothing of them."""
    root = tmp_path / "lib"
    plan = _library(root, 6)
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = Path(plan.moves[0][0]).parent  # (backup/b0: the copies 0 and 5)

    def swap() -> None:
        folder.rename(folder.with_name("renamed"))
        folder.symlink_to(outside)

    _after_each_sync(monkeypatch, swap)
    out = q.apply_plan(plan, root, tmp_path / "q")
    monkeypatch.undo()
    assert sorted(out.failed) == sorted((copy, "not moved: a folder on its way was replaced since the check")
                                        for copy, _, _ in plan.moves if Path(copy).parent == folder)
    assert len(out.done) == 4 and sorted(p.name for p in (root / "backup" / "renamed").iterdir()) == [
        "IMG_0000.jpg", "IMG_0005.jpg"]
    assert list(outside.iterdir()) == []
    back = q.undo(tmp_path / "q")
    assert back.failed == [] and len(back.done) == 4


@pytest.mark.unit
def test_a_fifo_put_at_a_checked_file_s_name_is_not_moved_into_the_quarantine(tmp_path: Path, monkeypatch) -> None:
    """The file deleted and a FIFO made at its name after its batch was checked: the FIFO often takes the freed inode
    number, so the move's (device, inode) check passed and the FIFO went into the quarantine as the file (undo: 'a
    FIFO stands in quarantine instead of the file'). Now it stays where it is, said."""
    root = tmp_path / "lib"
    plan = _library(root, 3)
    victim = Path(plan.moves[1][0])

    def swap() -> None:
        victim.unlink()
        os.mkfifo(victim)

    _after_each_sync(monkeypatch, swap)
    out = q.apply_plan(plan, root, tmp_path / "q")
    monkeypatch.undo()
    assert len(out.done) == 2 and len(out.failed) == 1
    assert out.failed[0][1] in ("not moved: a FIFO stands at its name since it was checked: left there",
                                "replaced by another file while being moved: left in place")
    assert [p for p in (tmp_path / "q").rglob("*") if not p.is_dir() and not p.is_file()] == []
    assert not q.undo(tmp_path / "q").failed


def _moved_across(root: Path, quar: Path, monkeypatch) -> tuple[q.Plan, dict[str, str]]:
    """Three byte-copy pairs, one of each moved into ``quar`` as into a quarantine on another device (copies); and the
    library's files before."""
    plan = _library(root, 3)
    before = _tree(root)
    real_link = os.link

    def link(src, dst, *args, **kwargs):
        if str(dst).startswith(str(quar)):
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        return real_link(src, dst, *args, **kwargs)

    moves_by_link(monkeypatch)
    monkeypatch.setattr(q.os, "link", link)
    out = q.apply_plan(plan, root, quar)
    monkeypatch.undo()
    assert len(out.done) == 3
    return plan, before


@pytest.mark.unit
@pytest.mark.parametrize("killed", ["remove", "undo", "neither: put back by hand"])
def test_a_copy_across_devices_killed_before_its_original_went_is_undone(tmp_path: Path, monkeypatch,
                                                                         killed: str) -> None:
    """A copy across devices is whole and named before its original's name goes: killed in between (remove's copy
    into the quarantine, never confirmed; or undo's copy back), both places held the file, byte for byte, and every
    undo said 'an identical file already stands there: the quarantined copy stays' and exited 1. The quarantine's
    copy goes then, as the extra name of a hard link does on one device. A file put back by hand stays beside it."""
    root, quar = tmp_path / "lib", tmp_path / "q"
    plan, before = _moved_across(root, quar, monkeypatch)
    copy = Path(plan.moves[1][0])
    held = quar / copy.relative_to(root)
    shutil.copy2(held, copy)  # (the state the kill left: the file at both places)
    journal = quar / q.JOURNAL
    key = q._key(quar, create=False)
    move = {"op": "move", "from": str(copy), "to": str(held)}
    if killed == "remove":  # (its done line never written)
        lines = [(line, json.loads(line)) for line in journal.read_text().splitlines()]
        journal.write_text("".join(f"{line}\n" for line, e in lines if (e["state"], e["from"]) != ("done", str(copy))))
    elif killed == "undo":  # (undo journalled its copy back, beside the file's place)
        with open(journal, "ab") as fh:
            q._append(fh, key, {**move, "state": "copying", "partial": str(copy) + q.PARTIAL})
    back = q.undo(quar)
    assert _tree(root) == before
    if killed.startswith("neither"):
        assert back.failed == [(str(copy), f"an identical file already stands there: the quarantined copy stays at "
                                           f"{held}")]
        assert held.exists()
    else:
        assert back.failed == [] and not held.exists()
        assert not q.undo(quar).failed
