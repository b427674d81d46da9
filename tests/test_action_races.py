"""Runs that move files meet each other, other programs, Ctrl-C, SIGTERM and kill -9 (issue 23: 1, 14, 16).

Each test runs real ``imagetwins`` processes on copies of real photos and checks that every picture is
still somewhere (in its folder or a quarantine), that what the run says matches its journal, and that
``undo`` gives the folder back byte for byte."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from tree_digests import file_digests as _digests

from imagetwins import quarantine as q
from imagetwins.cli import main

#: a real ``imagetwins`` process whose moves (and copies across devices, and restores) take a while
SLOW = """
import os, sys, time
import imagetwins.quarantine as q
delay = float(os.environ.get("SLOW_MOVE", "0.05"))
real_move, real_bytes = q._move, q._copy_bytes
def slow_move(*args, **kwargs):
    time.sleep(delay)
    real_move(*args, **kwargs)
def slow_bytes(fin, fout, stop=None):
    fout.write(fin.read(1000))  # an unfinished copy stands on disk while it waits
    fout.flush()
    time.sleep(float(os.environ.get("SLOW_COPY", "0")))
    real_bytes(fin, fout, stop)
q._move = slow_move
q._copy_bytes = slow_bytes
if os.environ.get("CROSS_DEVICE"):  # the quarantine on another file system, where no real one can be had
    import errno
    real_link, real_rename = os.link, os.rename
    def cross(real):
        def op(src, dst, **kw):
            if kw.get("src_dir_fd") == kw.get("dst_dir_fd") and os.path.dirname(src) == os.path.dirname(dst):
                return real(src, dst, **kw)
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return op
    q.os.link, q.os.rename = cross(real_link), cross(real_rename)
    q._rename_noreplace = lambda *args, **kwargs: False  # (the link path, where those raise EXDEV)
from imagetwins.cli import main
main(sys.argv[1:])
"""


#: the method of the runs on ``copies``: its groups are byte copies, which every method finds, and the races are in
#: the moves; a hash's scan of the 60 photos is 0.9 CPU s, the default method's 2.9 (each test runs 2-5 of them)
PHASH = ("-m", "phash")


def _spawn(*args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SLOW, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **env})


def _journal(quarantine: Path) -> list[dict]:
    path = quarantine / "manifest.jsonl"
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip().endswith("}")]


def _wait_for(quarantine: Path, state: str, count: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if sum(e["state"] == state for e in _journal(quarantine)) >= count:
            return
        if proc.poll() is not None:
            raise AssertionError(f"the run ended first: {proc.communicate()}")
        time.sleep(0.01)
    raise AssertionError(f"no {count} '{state}' lines in {quarantine} after {timeout} s")


@pytest.fixture
def copies(tmp_path: Path, datasets: Path) -> Path:
    """Two real photos, 30 byte copies of each (mtimes 1 s apart: oldest and newest differ), one sub-folder."""
    album = tmp_path / "album"
    (album / "sub").mkdir(parents=True)
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:2]
    for p in photos:
        for k in range(30):
            dst = album / ("sub" if k % 3 == 0 else "") / f"{p.stem}_{k:02d}.jpg"
            shutil.copy(p, dst)
            os.utime(dst, (1_600_000_000 + k, 1_600_000_000 + k))
    return album


def _pictures(folder: Path) -> set[str]:
    return set(_digests(folder).values())


@pytest.mark.cli
def test_a_second_remove_waits_for_no_one_and_moves_nothing(tmp_path: Path, copies: Path) -> None:
    before = _digests(copies)
    qa, qb = tmp_path / "qa", tmp_path / "qb"
    a = _spawn("remove", str(copies), "-r", "--apply", "--no-cache", *PHASH, "--keep", "oldest", "--move-to", str(qa))
    _wait_for(qa, "done", 3, a)
    for folder in (copies, copies / "sub"):  # the same folder, and a folder inside it
        res = CliRunner().invoke(main, ["remove", str(folder), "-r", "--apply", "--no-cache", *PHASH, "--keep",
                                        "newest", "--move-to", str(qb)])
        assert res.exit_code == 1, res.output
        assert f"another imagetwins run is changing {copies.resolve()}" in res.output
        assert f"(pid {a.pid})" in res.output and "nothing was changed" in res.output
        assert not (qb / "manifest.jsonl").exists()
        res = CliRunner().invoke(main, ["undo", str(qa)])  # undo of the quarantine being filled waits too
        assert res.exit_code == 1 and "another imagetwins run is changing" in res.output
    out, err = a.communicate(timeout=120)
    assert a.returncode == 0, err
    assert _pictures(copies) == set(before.values())  # each picture still in the folder
    # a dry run meanwhile is not locked out (it changes nothing)
    res = CliRunner().invoke(main, ["remove", str(copies), "-r", "--no-cache", *PHASH])
    assert res.exit_code == 0 and "dry run: 0 files" in res.output
    assert CliRunner().invoke(main, ["undo", str(qa)]).exit_code == 0
    assert _digests(copies) == before


@pytest.mark.cli
def test_a_lock_left_by_a_killed_run_is_taken_over_and_nothing_is_lost(tmp_path: Path, copies: Path) -> None:
    """kill -9 in the middle of 'remove --keep oldest', then at once 'remove --keep newest': the second run
    goes ahead (the kernel released the lock with the process) and never moves the last copy of a picture."""
    before = _digests(copies)
    qa, qb = tmp_path / "qa", tmp_path / "qb"
    a = _spawn("remove", str(copies), "-r", "--apply", "--no-cache", *PHASH, "--keep", "oldest", "--move-to", str(qa))
    _wait_for(qa, "done", 10, a)
    os.kill(a.pid, signal.SIGKILL)
    a.wait()
    res = CliRunner().invoke(main, ["remove", str(copies), "-r", "--apply", "--no-cache", *PHASH, "--keep", "newest",
                                    "--move-to", str(qb)])
    assert res.exit_code == 0, res.output
    assert _pictures(copies) == set(before.values())
    assert len(_digests(copies)) == 2  # one of each
    for quarantine in (qa, qb):
        res = CliRunner().invoke(main, ["undo", str(quarantine)])
        assert res.exit_code == 0 and "error" not in res.output, res.output
    assert _digests(copies) == before


def _plan(copies: Path) -> q.Plan:
    from imagetwins.finder import find_duplicate_groups

    return q.plan_removal(find_duplicate_groups(copies, recursive=True), [copies], rule="oldest")


@pytest.mark.integration
@pytest.mark.parametrize("change", ["rewritten", "moved away", "same size and mtime"])
def test_the_keeper_is_checked_before_every_move(tmp_path: Path, copies: Path, monkeypatch, change: str) -> None:
    """Another program changes the kept file after the run's first move: no later move of its group happens."""
    plan = _plan(copies)
    keeper = Path(plan.moves[0][2])
    real_move, moved = q._move, []

    def move_then_change_the_keeper(*args, **kwargs):
        real_move(*args, **kwargs)
        moved.append(args[0])
        if len(moved) == 1:
            st = keeper.stat()
            if change == "moved away":
                keeper.rename(tmp_path / "elsewhere.jpg")
            else:
                data = keeper.read_bytes()
                keeper.write_bytes(data[:-10] + b"x" * 10 if change != "rewritten" else data[:1000])
                if change == "same size and mtime":
                    os.utime(keeper, ns=(st.st_atime_ns, st.st_mtime_ns))

    monkeypatch.setattr(q, "_move", move_then_change_the_keeper)
    out = q.apply_plan(plan, copies, tmp_path / "q")
    group = [m for m in plan.moves if m[2] == str(keeper)]
    assert len(out.done) == 1 + (len(plan.moves) - len(group))  # the rest of that group stayed
    refused = [why for _, why in out.failed]
    assert len(refused) == len(group) - 1
    assert all(("changed since the scan" if change != "moved away" else "cannot read it now") in w for w in refused)


@pytest.mark.integration
def test_undo_says_nothing_of_moves_that_never_happened(tmp_path: Path, copies: Path, monkeypatch) -> None:
    """A file taken by another run between the check and the move (journal 'planned', then 'failed' or, from an
    older version, nothing): undo restores the rest with no error line for it."""
    before = _digests(copies)
    plan = _plan(copies)
    taken = Path(plan.moves[3][0])
    real_move = q._move

    def another_run_takes_it(src, dst, *args, **kwargs):
        if str(src) == taken.name:
            shutil.move(taken, tmp_path / "taken.jpg")  # another program took it first
        return real_move(src, dst, *args, **kwargs)

    monkeypatch.setattr(q, "_move", another_run_takes_it)
    quarantine = tmp_path / "q"
    out = q.apply_plan(plan, copies, quarantine)
    assert [p for p, _ in out.failed] == [str(taken)]
    journal = quarantine / "manifest.jsonl"
    assert '"failed"' in journal.read_text()
    monkeypatch.undo()
    lines = journal.read_text().splitlines(keepends=True)  # an older journal: no 'failed' line
    journal.write_text("".join(x for x in lines if '"failed"' not in x))
    res = CliRunner().invoke(main, ["undo", str(quarantine)])
    assert res.exit_code == 0 and "error" not in res.output, res.output
    assert f"restored {len(plan.moves) - 1} files" in res.output
    shutil.move(tmp_path / "taken.jpg", taken)
    assert _digests(copies) == before


@pytest.mark.cli
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_remove_interrupted_says_what_it_did(tmp_path: Path, copies: Path, sig: int) -> None:
    before = _digests(copies)
    quarantine = tmp_path / "q"
    a = _spawn("remove", str(copies), "-r", "--apply", "--no-cache", *PHASH, "--move-to", str(quarantine))
    _wait_for(quarantine, "done", 5, a)
    a.send_signal(sig)
    out, err = a.communicate(timeout=60)
    assert a.returncode == 128 + sig, err
    done = sum(e["state"] == "done" for e in _journal(quarantine))
    assert 5 <= done < 58
    name = "Ctrl-C" if sig == signal.SIGINT else "SIGTERM"
    assert f"interrupted ({name}): moved {done} of 58 files to {quarantine} before stopping; undo with: " \
           f"imagetwins undo {quarantine / 'manifest.jsonl'}" in err, err
    assert "Aborted" not in err and "Traceback" not in err
    assert len(_digests(copies)) + done == len(before)  # each file in one place: moved whole or not at all
    # the summary was written: the quarantine lists what it holds
    assert len(json.loads((quarantine / "manifest.json").read_text())["files"]) >= done
    res = CliRunner().invoke(main, ["undo", str(quarantine)])
    assert res.exit_code == 0 and f"restored {done} files" in res.output, res.output
    assert _digests(copies) == before


@pytest.mark.cli
def test_undo_interrupted_says_what_it_did_and_a_second_undo_finishes(tmp_path: Path, copies: Path) -> None:
    before = _digests(copies)
    quarantine = tmp_path / "q"
    assert CliRunner().invoke(main, ["remove", str(copies), "-r", "--apply", "--no-cache", *PHASH,
                                     "--move-to", str(quarantine)]).exit_code == 0
    a = _spawn("undo", str(quarantine))
    _wait_for(quarantine, "restored", 5, a)
    a.send_signal(signal.SIGINT)
    out, err = a.communicate(timeout=60)
    assert a.returncode == 130, err
    restored = sum(e["state"] == "restored" for e in _journal(quarantine))
    assert f"interrupted (Ctrl-C): restored {restored} of 58 files before stopping" in err, err
    res = CliRunner().invoke(main, ["undo", str(quarantine)])
    assert res.exit_code == 0 and f"restored {58 - restored} files" in res.output, res.output
    assert _digests(copies) == before


@pytest.mark.cli
def test_remove_interrupted_while_scanning(tmp_path: Path, copies: Path) -> None:
    before = _digests(copies)
    script = ("import sys, time\nimport imagetwins.cli.remove as r\nreal = r.scan\n"
              "def slow(*a, **k):\n    print('scanning', flush=True)\n    time.sleep(30)\n    return real(*a, **k)\n"
              "r.scan = slow\nfrom imagetwins.cli import main\nmain(sys.argv[1:])")
    a = subprocess.Popen([sys.executable, "-c", script,
                          "remove", str(copies), "--apply", "--no-cache", "--move-to", str(tmp_path / "q")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert a.stdout.readline().strip() == "scanning"
    a.send_signal(signal.SIGTERM)
    out, err = a.communicate(timeout=60)
    assert a.returncode == 130 and "interrupted: nothing moved" in err, err
    assert _digests(copies) == before


def _other_device(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A folder on another file system than tmp_path (a real one: /dev/shm where it is a tmpfs), else a folder
    of tmp_path with links and renames across it failing as across devices (CROSS_DEVICE)."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shm.stat().st_dev != tmp_path.stat().st_dev:
        return Path(__import__("tempfile").mkdtemp(dir=shm, prefix="imagetwins-test-")), {}
    return tmp_path / "other-device", {"CROSS_DEVICE": "1"}


@pytest.mark.cli
def test_a_copy_across_devices_killed_midway_leaves_no_partial_after_undo(tmp_path: Path, copies: Path) -> None:
    before = _digests(copies)
    other, env = _other_device(tmp_path)
    try:
        quarantine = other / "q"
        a = _spawn("remove", str(copies), "-r", "--apply", "--no-cache", *PHASH, "--move-to", str(quarantine),
                   SLOW_MOVE="0", SLOW_COPY="30", **env)
        _wait_for(quarantine, "copying", 1, a)
        partial = Path(_journal(quarantine)[-1]["partial"])
        deadline = time.time() + 30
        while not partial.exists() and time.time() < deadline:
            time.sleep(0.01)
        os.kill(a.pid, signal.SIGKILL)
        a.wait()
        assert partial.exists() and partial.name.endswith(".partial")  # what kill -9 leaves
        res = CliRunner().invoke(main, ["undo", str(quarantine)])
        assert res.exit_code == 0 and "error" not in res.output, res.output
        assert not partial.exists()
        assert not [p for p in quarantine.rglob("*") if p.is_file() and not p.name.startswith("manifest.")]
        assert _digests(copies) == before
        # Ctrl-C during a copy across devices: the copy is abandoned at once and removed, the original stays
        a = _spawn("remove", str(copies), "-r", "--apply", "--no-cache", *PHASH, "--move-to", str(other / "q2"),
                   SLOW_MOVE="0", SLOW_COPY="2", **env)
        _wait_for(other / "q2", "copying", 1, a)
        a.send_signal(signal.SIGINT)
        out, err = a.communicate(timeout=60)
        assert a.returncode == 130 and "interrupted (Ctrl-C): moved 0 of 58 files" in err, err
        assert not list((other / "q2").rglob("*.partial")) and _digests(copies) == before
    finally:
        shutil.rmtree(other, ignore_errors=True)


@pytest.mark.cli
def test_an_undo_across_devices_killed_midway_leaves_no_partial_in_the_folder(tmp_path: Path, copies: Path) -> None:
    before = _digests(copies)
    other, env = _other_device(tmp_path)
    try:
        quarantine = other / "q"
        a = _spawn("remove", str(copies), "-r", "--apply", "--no-cache", *PHASH, "--move-to", str(quarantine),
                   SLOW_MOVE="0", **env)
        assert a.wait(timeout=120) == 0, a.communicate()
        a = _spawn("undo", str(quarantine), SLOW_MOVE="0", SLOW_COPY="30", **env)
        _wait_for(quarantine, "copying", 59, a)  # 58 from the remove, then the undo's first
        partial = Path(_journal(quarantine)[-1]["partial"])
        assert partial.parent.is_relative_to(copies.resolve())
        deadline = time.time() + 30
        while not partial.exists() and time.time() < deadline:
            time.sleep(0.01)
        os.kill(a.pid, signal.SIGKILL)
        a.wait()
        assert partial.exists()  # an unfinished copy in the photo folder
        res = CliRunner().invoke(main, ["undo", str(quarantine)])
        assert res.exit_code == 0 and "error" not in res.output, res.output
        assert not partial.exists() and _digests(copies) == before
    finally:
        shutil.rmtree(other, ignore_errors=True)


SLOW_FOLDER = """
import sys, time
import imagetwins.quarantine as q
real = q._move_folder
def slow(*args, **kwargs):
    print("moving", flush=True)
    time.sleep(3)
    return real(*args, **kwargs)
q._move_folder = slow
from imagetwins.cli import main
main(sys.argv[1:])
"""


@pytest.mark.cli
def test_remove_of_a_folder_plan_interrupted_says_the_folder_moved(tmp_path: Path, datasets: Path) -> None:
    """Ctrl-C while a whole folder moves (remove --plan from 'imagetwins folders'): it finishes its one rename,
    then the line says so (it said 'Aborted!', or would have said 'nothing moved')."""
    lib = tmp_path / "lib"
    for d in ("Photos", "Backup/Photos"):
        (lib / d).mkdir(parents=True)
    for i, p in enumerate(sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:6]):
        shutil.copy(p, lib / "Photos" / f"img{i}.jpg")
        shutil.copy(p, lib / "Backup" / "Photos" / f"img{i}.jpg")
    before = _digests(lib)
    plan, quarantine = tmp_path / "folders.json", tmp_path / "q"
    assert CliRunner().invoke(main, ["folders", str(lib), "-r", "--json", str(plan)]).exit_code == 0
    a = subprocess.Popen([sys.executable, "-c", SLOW_FOLDER, "remove", str(lib), "--plan", str(plan), "--apply",
                          "--move-to", str(quarantine)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert a.stdout.readline().strip() == "moving"
    a.send_signal(signal.SIGINT)
    out, err = a.communicate(timeout=60)
    assert a.returncode == 130, err
    assert f"interrupted (Ctrl-C): moved 1 of 1 folder to {quarantine} before stopping; undo with: " in err, err
    assert not (lib / "Backup").exists()
    assert CliRunner().invoke(main, ["undo", str(quarantine)]).exit_code == 0
    assert _digests(lib) == before


@pytest.mark.cli
def test_remove_interrupted_after_the_moves_names_the_undo(tmp_path: Path, copies: Path) -> None:
    """Ctrl-C once every file moved (while the summary is made): not 'nothing moved', but the undo command."""
    script = ("import sys, time\nimport imagetwins.cli.remove as r\n"
              "def slow(*a, **k):\n    print('after', flush=True)\n    time.sleep(30)\n"
              "r._exit_if_refused = slow\nfrom imagetwins.cli import main\nmain(sys.argv[1:])")
    quarantine = tmp_path / "q"
    a = subprocess.Popen([sys.executable, "-c", script, "remove", str(copies), "-r", "--apply", "--no-cache", *PHASH,
                          "-q", "--move-to", str(quarantine)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    assert a.stdout.readline().strip() == "after"
    a.send_signal(signal.SIGINT)
    out, err = a.communicate(timeout=60)
    assert a.returncode == 130, err
    assert f"interrupted after the moves; undo with: imagetwins undo {quarantine / 'manifest.jsonl'}" in err, err
