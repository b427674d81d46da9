"""The update lock of an index file (locks.hold_file / one_update) against the ways a program ends it badly: the
index closed by another thread while its update runs, and a fork while a thread of the parent holds an update and a
folder. Real files, real ``flock``s, a real forked child."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

fcntl = pytest.importorskip("fcntl")

from imagetwins import locks  # noqa: E402

pytestmark = pytest.mark.unit


def locked_elsewhere(path: Path) -> bool:
    """Whether another open of ``path`` (its own open file description: another run) is refused the ``flock``."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_an_index_closed_while_its_update_runs_keeps_the_lock_until_the_update_ends(tmp_path: Path) -> None:
    """The last holder let go inside the update (Index.close from another thread) closed the locked descriptor: the
    lock was gone while the update still ran, and the unlock at its end went to the file given that number next."""
    index_file, other = tmp_path / "a.db", tmp_path / "other"
    index_file.write_bytes(b"")
    other.write_bytes(b"")
    key = locks.hold_file(index_file)
    assert key is not None
    with locks.one_update(key, lambda pid: pytest.fail("nothing else updates it")):
        locks.let_go(key)  # (the index closed meanwhile)
        assert locked_elsewhere(index_file), "the update's lock went with the index's close"
        reused = os.open(other, os.O_RDONLY)  # (the number a closed descriptor frees is the next one given)
        fcntl.flock(reused, fcntl.LOCK_EX)
    try:
        assert locked_elsewhere(other), "the update's unlock undid another file's lock"
        assert not locked_elsewhere(index_file)
        assert key not in locks._index_files  # (its descriptor closed with the update, the last holder)
    finally:
        os.close(reused)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_holds_none_of_its_parents_locks_and_never_waits_on_its_threads(tmp_path: Path) -> None:
    """A child forked while a thread of the parent runs an update and the parent moves files in a folder: the child
    shared the parent's flocks (its own 'changing' of that folder went ahead) and waited for ever on the update's turn
    the other thread held at the fork. Now the folder is busy for it and the update says it waits for the parent."""
    index_file, folder = tmp_path / "a.db", tmp_path / "album"
    index_file.write_bytes(b"")
    folder.mkdir()
    key = locks.hold_file(index_file)
    inside, done = threading.Event(), threading.Event()

    def update() -> None:
        with locks.one_update(key, lambda pid: None):
            inside.set()
            done.wait(60)

    holder = threading.Thread(target=update, daemon=True)
    holder.start()
    assert inside.wait(10)
    try:
        with locks.changing([folder]):
            pid = os.fork()
            if pid == 0:  # the child: says what it found in its exit code, never returns into pytest
                code = 0
                try:
                    try:
                        with locks.changing([folder]):
                            code |= 1  # went ahead while its parent changes the folder
                    except locks.FolderBusy:
                        pass
                    waited = []

                    class Waits(Exception):
                        pass

                    def told(pid_text: str) -> None:
                        waited.append(pid_text)
                        raise Waits

                    mine = locks.hold_file(index_file)
                    try:
                        with locks.one_update(mine, told):
                            code |= 2  # updated while its parent's thread updates
                    except Waits:
                        pass
                    locks.let_go(mine)
                    if waited != [f" (pid {os.getppid()})"]:
                        code |= 4
                finally:
                    os._exit(code)
            deadline = time.monotonic() + 20
            while True:
                ended, status = os.waitpid(pid, os.WNOHANG)
                if ended:
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    pytest.fail("the forked child waited for ever on a lock its parent's thread held at the fork")
                time.sleep(0.05)
            assert os.WEXITSTATUS(status) == 0, f"child: {os.WEXITSTATUS(status)} (1 folder, 2 update, 4 no wait)"
            assert locked_elsewhere(index_file), "the child's unlock undid the parent's update lock"
    finally:
        done.set()
        holder.join(10)
        locks.let_go(key)


def test_an_index_whose_opening_is_interrupted_holds_nothing(tmp_path: Path, monkeypatch) -> None:
    """Ctrl-C (or a file gone meanwhile: an OSError) while an Index is being opened, after it took the file's
    descriptor for the update lock: only SQLite's and imagetwins's own errors closed it, so the descriptor and the
    connection stayed open for the life of the process."""
    from imagetwins.index import Index

    db = tmp_path / "a.db"
    Index(db, methods=["phash"]).close()
    fds = sorted(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").is_dir() else None

    def interrupted(self) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(Index, "_init_schema", interrupted)
    for _ in range(3):
        with pytest.raises(KeyboardInterrupt):
            Index(db, methods=["phash"])
    st = db.stat()  # (another test's Index left to the garbage collector may be held: only this file's counts)
    assert (st.st_dev, st.st_ino) not in locks._index_files, "the lock descriptor kept by an index never opened"
    if fds is not None:  # (none opened since; one of another test's collected meanwhile may be gone)
        assert set(os.listdir("/proc/self/fd")) <= set(fds)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to count descriptors")
def test_a_file_read_as_an_index_that_is_none_leaves_no_descriptor_open(tmp_path: Path) -> None:
    """read_only_connection of a file that is no SQLite database: the connection whose first read failed ('file is
    not a database') was left open (only a read-only folder's error closed it), a descriptor a file until collected."""
    import gc
    import sqlite3

    not_one = tmp_path / "notes.db"
    not_one.write_bytes(b"these are not the pages of an SQLite file" * 200)
    gc.disable()  # (a dropped connection is closed by the collector too: count what the code itself closes)
    try:
        before = len(os.listdir("/proc/self/fd"))
        for _ in range(3):
            with pytest.raises(sqlite3.DatabaseError):
                locks.read_only_connection(not_one)
        left = len(os.listdir("/proc/self/fd")) - before
    finally:
        gc.enable()
    assert left == 0, f"{left} descriptors of {not_one.name} left open"


def _run_nested(index_file: Path, wait_for_it) -> tuple[list[str], bool]:
    """An update of ``index_file`` on a thread that starts a second update of it on another thread and waits for
    that one with ``wait_for_it(function)``; what happened, in order, and whether the first thread ended within
    20 s (a daemon thread: a deadlock fails the test instead of hanging it)."""
    key = locks.hold_file(index_file)
    assert key is not None
    said: list[str] = []

    def inner() -> None:
        with locks.one_update(key, lambda pid: said.append("waited for another run")):
            said.append("inner" + (" locked" if locked_elsewhere(index_file) else " unlocked"))

    def outer() -> None:
        with locks.one_update(key, lambda pid: said.append("waited for another run")):
            said.append("outer")
            wait_for_it(inner)
            said.append("outer again")
        said.append("ended")

    first = threading.Thread(target=outer, daemon=True)
    first.start()
    first.join(20)
    try:
        return said, not first.is_alive()
    finally:
        if not first.is_alive():
            locks.let_go(key)


def test_an_update_begun_on_a_thread_the_update_running_joins_runs_in_its_turn(tmp_path: Path) -> None:
    """An update (from a hook or a plug-in of the update running) begun on a new thread that the running update
    joined: the new thread waited for the turn, the turn's thread waited for it, for ever. It runs inside the turn
    (the file's lock still held), and the outer update goes on after it."""
    index_file = tmp_path / "a.db"
    index_file.write_bytes(b"")

    def joined(function) -> None:
        thread = threading.Thread(target=function, daemon=True)
        thread.start()
        thread.join()

    said, ended = _run_nested(index_file, joined)
    assert ended, f"deadlock: the update waited for a thread waiting for its turn ({said})"
    assert said == ["outer", "inner locked", "outer again", "ended"]
    assert not locked_elsewhere(index_file)


def test_an_update_begun_in_an_executor_the_update_running_waits_for_runs_in_its_turn(tmp_path: Path) -> None:
    """The same through a thread pool: ``submit(...).result()`` and ``map`` from inside an update."""
    from concurrent.futures import ThreadPoolExecutor

    for how in ("result", "map"):
        index_file = tmp_path / f"{how}.db"
        index_file.write_bytes(b"")

        def waited(function, how=how) -> None:
            with ThreadPoolExecutor(1) as pool:
                if how == "result":
                    pool.submit(function).result()
                else:
                    list(pool.map(lambda _: function(), [0]))

        said, ended = _run_nested(index_file, waited)
        assert ended, f"deadlock through an executor's {how} ({said})"
        assert said == ["outer", "inner locked", "outer again", "ended"], how


def test_an_update_begun_on_a_thread_the_update_waits_for_through_another_runs_in_its_turn(tmp_path: Path) -> None:
    """The update's thread joins a thread that waits, through a thread pool, for the one that updates: a chain of
    waits the update's thread never sees end. It runs in the turn as a direct wait does."""
    from concurrent.futures import ThreadPoolExecutor

    index_file = tmp_path / "a.db"
    index_file.write_bytes(b"")

    def through_another(function) -> None:
        def middle() -> None:
            with ThreadPoolExecutor(1) as pool:
                pool.submit(function).result()

        thread = threading.Thread(target=middle, daemon=True)
        thread.start()
        thread.join()

    said, ended = _run_nested(index_file, through_another)
    assert ended, f"deadlock through a chain of waits ({said})"
    assert said == ["outer", "inner locked", "outer again", "ended"]


def test_an_update_on_a_thread_the_running_update_does_not_wait_for_takes_its_turn(tmp_path: Path) -> None:
    """Threads that update one index file on their own still take turns: the second begins when the first ends."""
    index_file = tmp_path / "a.db"
    index_file.write_bytes(b"")
    key = locks.hold_file(index_file)
    said: list[str] = []
    go = threading.Event()

    def first() -> None:
        with locks.one_update(key, lambda pid: None):
            said.append("first")
            go.wait(20)
            said.append("first ends")

    def second() -> None:
        with locks.one_update(key, lambda pid: None):
            said.append("second")

    threads = [threading.Thread(target=first, daemon=True), threading.Thread(target=second, daemon=True)]
    threads[0].start()
    while not said:
        time.sleep(0.01)
    threads[1].start()
    time.sleep(0.5)  # (ten looks at whether the first waits for it)
    assert said == ["first"]
    go.set()
    for thread in threads:
        thread.join(20)
    locks.let_go(key)
    assert said == ["first", "first ends", "second"]
    assert key not in locks._index_files


def test_an_update_waiting_for_its_turn_while_a_pool_task_ends_in_an_error_waits_on(tmp_path: Path) -> None:
    """An update waiting for another thread's turn looks at every thread's frames for whom it waits; a pool worker
    whose task had raised sets its ``self`` to None before it returns (``_WorkItem.run``: "break a reference cycle"),
    and the look at it raised ``AttributeError`` in the waiting update, a traceback out of ``index update``. Such a
    worker runs nothing: the update waits on and takes its turn."""
    from concurrent.futures import ThreadPoolExecutor
    from concurrent.futures.thread import _WorkItem

    index_file = tmp_path / "a.db"
    index_file.write_bytes(b"")
    key = locks.hold_file(index_file)
    parked, unpark, first_in, first_out = (threading.Event() for _ in range(4))
    said: list[str] = []

    def tracer(frame, event, arg):  # (the worker held where its task has raised and its ``self`` is None)
        if frame.f_code is not _WorkItem.run.__code__:
            return None

        def at_return(frame, event, arg):
            if event == "return" and frame.f_locals.get("self") is None:
                parked.set()
                unpark.wait(20)
            return at_return
        return at_return

    def fails() -> None:
        raise ValueError("a task that fails")

    def first() -> None:
        with locks.one_update(key, lambda pid: None):
            first_in.set()
            first_out.wait(20)

    def second() -> None:
        try:
            with locks.one_update(key, lambda pid: None):
                said.append("second")
        except Exception as exc:  # (what reached the update's caller)
            said.append(repr(exc))

    threading.settrace(tracer)
    try:
        pool = ThreadPoolExecutor(1)
        pool.submit(fails)
    finally:
        threading.settrace(None)
    threads = [threading.Thread(target=first, daemon=True), threading.Thread(target=second, daemon=True)]
    try:
        assert parked.wait(20)
        threads[0].start()
        assert first_in.wait(20)
        threads[1].start()
        time.sleep(0.3)  # (several looks at the parked worker)
        first_out.set()
        for thread in threads:
            thread.join(20)
    finally:
        first_out.set()
        unpark.set()
        pool.shutdown()
        locks.let_go(key)
    assert said == ["second"]


_FORKING_WARNING_HANDLER = """
import errno, os, sys, threading, warnings
from imagetwins import locks

def no_flock(fd, operation):
    raise OSError(errno.ENOLCK, "No locks available")

locks.fcntl.flock = no_flock  # (a file system without flock)
parent, seen = os.getpid(), []

def forking_handler(message, *args, **kwargs):
    if os.getpid() == parent:
        seen.append(("guard held " if locks._guard.locked() else "") + str(message))
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)

warnings.simplefilter("always")
warnings.showwarning = forking_handler

def change():
    with locks.changing([sys.argv[1]]):
        seen.append("changed")

thread = threading.Thread(target=change, daemon=True)
thread.start()
thread.join(20)
print(repr(seen), "hung" if thread.is_alive() else "ended", flush=True)
os._exit(0)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_the_warning_that_a_folder_cannot_be_locked_is_given_outside_the_guard(tmp_path: Path) -> None:
    """A file system without ``flock``: 'cannot lock FOLDER' was warned while the guard every lock (and the fork
    handler) takes was held, so a warning handler that forks (or logs to something slow) waited on it for ever. (In
    a process of its own: a hung guard there would hang every later lock of this one.)"""
    import subprocess
    import sys

    import imagetwins

    folder = tmp_path / "album"
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": str(Path(imagetwins.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", _FORKING_WARNING_HANDLER, str(folder)], env=env, capture_output=True,
                         text=True, timeout=120).stdout
    message = f"cannot lock {folder.resolve()} (No locks available): another run could change it meanwhile"
    assert "ended" in out, f"the fork handler waited for the guard the warning was given under: {out}"
    assert out.strip() == f"{[message, 'changed']!r} ended"


def test_an_index_update_a_plug_in_runs_on_a_thread_it_joins_stores_its_files(tmp_path: Path, monkeypatch) -> None:
    """The whole way through Index: code run inside an update of an index (a plug-in's encoder, here the encoding
    step itself) updates the same index file from another folder on a new thread and joins it. It hung (the
    thread waited for the update's turn); both updates now store their files."""
    from conftest import synthetic_photo

    import imagetwins.index as index_module

    for folder, seeds in (("a", (1, 2)), ("b", (3, 4))):
        (tmp_path / folder).mkdir()
        for seed in seeds:
            synthetic_photo(seed=seed).save(tmp_path / folder / f"{seed}.jpg")
    db = tmp_path / "x.db"
    encode_files, said = index_module.encode_files, []

    def plug_in(*args, **kwargs):
        if not said:
            said.append("plug-in")

            def inner() -> None:
                with index_module.Index(db, methods=["phash"]) as other:
                    said.append(f"inner added {other.update(tmp_path / 'b').added}")

            thread = threading.Thread(target=inner, daemon=True)
            thread.start()
            thread.join()
        return encode_files(*args, **kwargs)

    monkeypatch.setattr(index_module, "encode_files", plug_in)

    def outer() -> None:
        with index_module.Index(db, methods=["phash"]) as idx:
            said.append(f"outer added {idx.update(tmp_path / 'a').added}")
            said.append(f"files {idx.stats()['files']}")

    thread = threading.Thread(target=outer, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), f"the update waited for a thread waiting for its turn ({said})"
    assert said == ["plug-in", "inner added 2", "outer added 2", "files 4"]
