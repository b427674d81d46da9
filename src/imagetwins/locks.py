"""Folder locks: two runs that move files (``remove --apply``, ``undo``) never act on one folder at once; and one
update of an index file at a time (:func:`hold_file`, :func:`one_update`); and an index file (or a decision store) read
without a file written beside it (:func:`read_only_connection`), never written through a second name
(:func:`several_names`), used through a symbolic link only to a file that holds one (:func:`link_refused`).

A lock is ``flock`` on the folder itself (an open descriptor of the directory, no file created in it), so:

- nothing is left behind, and a run killed by ``kill -9`` or a crash holds nothing: the kernel releases the
  lock with the process (a stale lock is taken over at once, with no pid file to judge);
- the lock is the folder's, not a file someone could plant, replace or link elsewhere: two users changing
  one shared folder exclude each other too;
- a folder changed by a run is locked exclusively and every folder above it shared, so a run on
  ``~/Pictures`` and another on ``~/Pictures/2019`` exclude each other, while runs on two sibling
  folders do not.

Locks are re-entrant within a process (the CLI takes the lock before scanning, :func:`apply_plan` takes it
again). The pid of the run holding a lock is read from ``/proc/locks`` where there is one (Linux); the
message says nothing of a pid elsewhere.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import re
import sqlite3
import stat
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; moves there are not locked
    fcntl = None  # type: ignore[assignment]

__all__ = ["FolderBusy", "beside_refused", "changing", "hold_file", "let_go", "link_refused", "one_update",
           "read_only_connection", "several_names"]

_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_guard = threading.Lock()
_held: dict[tuple[int, int], list] = {}  # (st_dev, st_ino) -> [fd, exclusive, count]


@dataclasses.dataclass
class _IndexFile:
    """One index file held open by :func:`hold_file` (the descriptor :func:`one_update` locks)."""

    fd: int
    stat: os.stat_result
    #: the indexes of it open in this process, and the updates of it running (each keeps ``fd`` open)
    holders: int = 1
    #: this process's turn: threads take turns here, processes on the ``flock``
    turn: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    #: more descriptors of it opened at once by two threads, closed with the last holder
    spare: list[int] = dataclasses.field(default_factory=list)


_index_files: dict[tuple[int, int], _IndexFile] = {}
# (the threads inside the update turn of each index file: the one that took it, and the updates begun inside it, on
# that thread or on a thread it waits for)
_updating: dict[tuple[int, int], set[int]] = {}


class FolderBusy(RuntimeError):
    """Another run is changing the folder (one line: which folder, and that run's pid where known)."""


def _holder_pid(st: os.stat_result) -> int | None:
    """The pid holding a ``flock`` on the file with this stat, from ``/proc/locks`` (Linux); None if unknown."""
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    by_inode = []
    for line in lines:
        fields = line.split()
        if "->" in fields or "FLOCK" not in fields:
            continue  # a waiter, or a POSIX lock (not ours)
        where = next((f for f in fields if re.fullmatch(r"[0-9a-f]+:[0-9a-f]+:\d+", f)), None)
        if where is None:
            continue
        pid = int(fields[fields.index(where) - 1])
        if where == dev:
            return pid
        if where.rsplit(":", 1)[1] == str(st.st_ino):
            by_inode.append(pid)  # some file systems report another device number there
    return by_inode[0] if len(set(by_inode)) == 1 else None


def _take(folder: Path, exclusive: bool, changing: Path) -> tuple[int, int] | None:
    """Lock one folder (re-entrant); its key, or None where it cannot be opened (an ancestor we may not read) or
    locked (a file system without ``flock``: said in one warning, given outside the guard, where a warning handler
    that forks or writes to something slow held up every lock of the process and the fork handler waited for ever)."""
    try:
        fd = os.open(folder, _FLAGS)
    except OSError:
        if folder == changing:
            raise
        return None  # a folder above the one changed that this user cannot open: not lockable, not needed
    unlockable = None
    try:
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino)
        with _guard:
            held = _held.get(key)
            if held is not None and (held[1] or not exclusive):
                held[2] += 1
                return key
            target = held[0] if held is not None else fd
            try:
                fcntl.flock(target, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    if held is not None:
                        raise
                    unlockable = exc  # (ENOLCK, EINVAL, EBADF: a file system without flock) nothing to exclude with
                else:
                    pid = _holder_pid(st)
                    by = f" (pid {pid})" if pid is not None and pid != os.getpid() else ""
                    what = str(changing) if folder == changing else f"{folder}, which holds {changing}"
                    raise FolderBusy(f"another imagetwins run is changing {what}{by}: nothing was changed; "
                                     "try again when it has finished") from None
            else:
                if held is not None:
                    held[1], held[2] = True, held[2] + 1
                    return key
                _held[key] = [fd, exclusive, 1]
                fd = -1  # kept open while held
                return key
    finally:
        if fd >= 0:
            os.close(fd)
    if folder == changing:
        from imagetwins.io import warn_line

        warn_line(f"cannot lock {folder} ({unlockable.strerror}): another run could change it meanwhile")
    return None


def _release(key: tuple[int, int]) -> None:
    with _guard:
        held = _held.get(key)
        if held is None:
            return
        held[2] -= 1
        if held[2] == 0:
            del _held[key]
            os.close(held[0])  # closing the last descriptor releases the flock


@contextlib.contextmanager
def changing(folders: Sequence[str | os.PathLike]) -> Iterator[None]:
    """Hold every folder of ``folders`` exclusively (and the folders above each shared) while the block runs.

    Raises
    ------
    FolderBusy
        Another process holds one of them (or a folder above one exclusively, or a folder inside one).
    OSError
        A folder of ``folders`` cannot be opened.
    """
    if fcntl is None:
        yield
        return
    keys: list[tuple[int, int]] = []
    try:
        for folder in folders:
            real = Path(folder).resolve()
            for above in reversed(real.parents):  # from / down: the order every run takes them in
                key = _take(above, False, real)
                if key is not None:
                    keys.append(key)
            key = _take(real, True, real)
            if key is not None:
                keys.append(key)
        yield
    finally:
        for key in reversed(keys):
            _release(key)



def hold_file(index_file: str | os.PathLike) -> tuple[int, int] | None:
    """Keep a descriptor of an index file open while an :class:`~imagetwins.index.Index` of it is open in this
    process (one descriptor a file, its holders counted; :func:`let_go` when each closes): :func:`one_update`
    locks it. Taken before the index's SQLite connection opens and given back after it closes: closing any
    descriptor of a file drops every POSIX lock the process holds on it, SQLite's on the index among them, so a
    descriptor is never opened and closed while another index of the file is open here. Its key, or None where
    there is no ``flock`` (Windows) or the file cannot be opened."""
    if fcntl is None:
        return None
    try:
        st = os.stat(index_file)
        with _guard:  # (held already: counted, nothing opened)
            held = _index_files.get((st.st_dev, st.st_ino))
            if held is not None:
                held.holders += 1
                return st.st_dev, st.st_ino
        # (never waited on: a FIFO put in the file's place since Index looked at it would block a plain open for ever)
        fd = os.open(index_file, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        return None
    if not stat.S_ISREG(st.st_mode):  # (nothing to lock: SQLite's own open says what it is)
        os.close(fd)
        return None
    key = (st.st_dev, st.st_ino)
    with _guard:
        held = _index_files.get(key)
        if held is None:
            _index_files[key] = _IndexFile(fd, st)
        else:  # (made meanwhile by another thread: this descriptor kept too, given back with the file's last)
            held.holders += 1
            held.spare.append(fd)
    return key


def let_go(key: tuple[int, int] | None) -> None:
    """One holder of :func:`hold_file` gone (its index closed); the descriptors closed with the last."""
    if key is None:
        return
    with _guard:
        held = _index_files.get(key)
        if held is None:
            return
        held.holders -= 1
        if held.holders > 0:
            return
        del _index_files[key]
    for fd in (held.fd, *held.spare):
        os.close(fd)


@contextlib.contextmanager
def one_update(key: tuple[int, int] | None, waiting: Callable[[str], None]) -> Iterator[None]:
    """Let one update of an index file run at a time, across processes and threads: an exclusive ``flock`` on the
    descriptor :func:`hold_file` keeps (``key``), held while the block runs; another run's held, ``waiting`` is told
    once (its pid, where known: ``" (pid N)"`` or ``""``) and the block waits for it to end. Three ``index update``
    runs of one new folder at once each encoded every file and said "18 added"; taking turns, the later ones find
    them stored. An update begun inside the turn (from a hook, a callback or a plug-in of the update running) runs in
    that turn, as before there were turns: on the thread running it, or on a thread it waits for (``Thread.join``,
    an executor's ``Future``; directly or through threads that wait in turn: :func:`_waits_for`), where it waited
    for the turn while the turn's thread waited for it, for ever. No lock without a key, or where ``flock`` is
    refused (a file system without it): the updates then run as before, each storing what it encoded.

    The update holds the file as an open index does (:func:`let_go` at its end): an index closed by another thread
    while its update runs closed the descriptor under the lock, and the unlock at the end went to whatever file
    was given that descriptor's number meanwhile (a folder :func:`changing` holds)."""
    me = threading.get_ident()
    with _guard:
        held = _index_files.get(key) if key is not None else None
        inside = me in _updating.get(key, ())
        if held is not None and not inside:
            held.holders += 1
    if held is None or inside:
        yield
        return
    try:
        if not _take_turn(held, key, me):
            try:  # (inside the turn of an update waiting for this thread)
                yield
            finally:
                with _guard:
                    _updating.get(key, set()).discard(me)
            return
        try:
            with _file_locked(held, key, waiting):
                yield
        finally:
            with _guard:
                _updating.pop(key, None)
            held.turn.release()
    finally:
        let_go(key)


#: how often an update waiting for another thread's turn looks whether that thread waits for it (seconds)
_TURN_LOOK = 0.05


def _take_turn(held: _IndexFile, key: tuple[int, int], me: int) -> bool:
    """Wait for the turn of ``held`` (True: taken, this thread's until released); False where the threads inside
    the turn wait for this one (the update runs inside their turn, which cannot end before it does)."""
    while not held.turn.acquire(timeout=_TURN_LOOK):
        with _guard:
            inside = set(_updating.get(key, ()))
        if _waits_for(inside, me):
            with _guard:
                _updating.setdefault(key, set()).add(me)
            return False
    with _guard:
        _updating[key] = {me}
    return True


@contextlib.contextmanager
def _file_locked(held: _IndexFile, key: tuple[int, int], waiting: Callable[[str], None]) -> Iterator[None]:
    """The ``flock`` of ``held`` while the block runs (another process's waited for, ``waiting`` told once); none
    where the file system has no ``flock``."""
    try:
        fcntl.flock(held.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            yield  # (a file system without flock)
            return
        pid = _holder_pid(held.stat)
        waiting(f" (pid {pid})" if pid is not None and pid != os.getpid() else "")
        fcntl.flock(held.fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        with _guard:  # (a child forked meanwhile closed its copy: the number may be another file's now)
            ours = _index_files.get(key) is held
        if ours:
            fcntl.flock(held.fd, fcntl.LOCK_UN)


def _waits_for(waiters: set[int], thread: int) -> bool:
    """Whether one of the threads ``waiters`` is blocked waiting for ``thread``, directly or through other threads
    that wait in turn: for a thread to end (``Thread.join``), or for a ``concurrent.futures`` future a thread runs
    (``result``, ``wait``, ``as_completed``, an executor's ``map``). Read from the threads' Python frames; other waits
    (an ``Event`` the other thread would set, a future queued behind a busy worker) are not seen."""
    frames = {ident: _frames(frame) for ident, frame in sys._current_frames().items()}
    futures = sys.modules.get("concurrent.futures._base")
    pool = sys.modules.get("concurrent.futures.thread")
    runs: dict[int, int] = {}  # id(future) -> the thread running it
    if futures is not None and pool is not None:
        work = pool._WorkItem.run.__code__
        runs = {id(item.future): ident for ident, stack in frames.items() for f in stack
                if f.f_code is work and (item := f.f_locals.get("self")) is not None}  # (None: its task raised)
    seen, todo = set(waiters), list(waiters)
    while todo:
        for waited in _waited_for(frames.get(todo.pop(), []), futures, runs):
            if waited == thread:
                return True
            if waited not in seen:
                seen.add(waited)
                todo.append(waited)
    return False


def _waited_for(stack: list, futures, runs: dict[int, int]) -> Iterator[int]:
    """The threads the thread of this ``stack`` (its frames, innermost first) is blocked waiting for."""
    for f in stack:
        if f.f_code is _JOIN:
            ident = getattr(f.f_locals.get("self"), "ident", None)
            if ident is not None:
                yield ident
        elif futures is not None:
            if f.f_code is futures.Future.result.__code__:
                waited = [f.f_locals.get("self")]
            elif f.f_code in (futures.wait.__code__, futures.as_completed.__code__):
                waited = list(f.f_locals.get("fs") or ())
            elif f.f_code is getattr(futures, "_result_or_cancel", futures.wait).__code__:
                waited = [f.f_locals.get("fut")]
            else:
                continue
            yield from (runs[id(future)] for future in waited if future is not None and id(future) in runs)


_JOIN = threading.Thread.join.__code__


def _frames(frame) -> list:
    out = []
    while frame is not None:
        out.append(frame)
        frame = frame.f_back
    return out


def _before_fork() -> None:
    _guard.acquire()  # (the tables copied whole, never halfway through a change)


def _after_fork_in_parent() -> None:
    _guard.release()


def _forget_after_fork() -> None:
    """A forked child holds none of its parent's locks. Its copies of the descriptors share the parent's ``flock``s:
    a lock taken on one was had at once while the parent held it (a child's ``changing`` of a folder its parent was
    moving files in went ahead), and an unlock in the child undid the parent's. Closed here (the parent's own stay
    open, so its locks hold), and a turn a thread of the parent held at the fork, or the guard, no longer blocks the
    child for ever: every lock the child takes is taken anew, on a descriptor of its own."""
    global _guard
    _guard = threading.Lock()
    for fd in [held[0] for held in _held.values()] + [
            fd for held in _index_files.values() for fd in (held.fd, *held.spare)]:
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()
    _index_files.clear()
    _updating.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_forget_after_fork)


def link_refused(path: str | os.PathLike) -> str | None:
    """What the symbolic link ``path`` leads to where no index is used through it: ``"nothing"`` (or a loop),
    ``"an empty file"``, ``"something that is not a file"``; None where ``path`` is no link, or a link to a file
    holding something, which is used as that file (a catalogue kept on another disk: :class:`~imagetwins.index.Index`
    opens it, its decisions are its file's, ``cli/decisions.store_for``). Through a link to nothing SQLite would make
    an index wherever it leads, and through one to an empty file write an index into a file that is not one."""
    if not os.path.islink(path):
        return None
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return "nothing"
    if not stat.S_ISREG(st.st_mode):
        return "something that is not a file"
    return "an empty file" if st.st_size == 0 else None


def several_names(st: os.stat_result) -> str | None:
    """Why a file of this stat (an index, a decision store) is never written, where it has more than one name (hard
    links): SQLite keeps the ``-wal`` and ``-shm`` beside the name it opened, and a run writing through one name while
    another had the file open by another damaged it ("database disk image is malformed"). None with one name."""
    if st.st_nlink <= 1:
        return None
    return (f"it has {st.st_nlink} names (hard links), and a write through one name while another run has it open by "
            "another damages it; give it one name (copy it to a new file) to write it")


def beside_refused(path: str | os.PathLike, write: bool = False) -> str | None:
    """Why SQLite may not open the index (or decision store) ``path``: a file it keeps beside it (``-journal``,
    ``-wal``, ``-shm``, beside the file a link leads to) that is no regular file: a FIFO (SQLite's look for a hot
    journal read it and waited for ever, read-only or not), a device, a folder; and, for a run that writes
    (``write``), a symbolic link, which SQLite would write through wherever it leads. None where each is a file or
    not there."""
    from imagetwins.writing import describe_mode

    real = os.path.realpath(path)
    for suffix in ("-journal", "-wal", "-shm"):
        try:
            st = os.lstat(real + suffix)
            if stat.S_ISLNK(st.st_mode) and not write:
                st = os.stat(real + suffix)
        except (OSError, ValueError):  # (not there, or a link to nothing: nothing SQLite would wait on)
            continue
        if not stat.S_ISREG(st.st_mode):
            return f"{os.path.basename(real)}{suffix} beside it is {describe_mode(st.st_mode)}"
    return None


#: how long a read-only open waits for a writer's lock (seconds), as a connection that may write does
_READ_WAIT = 60.0

#: SQLite's codes for "this file cannot be opened to write, or nothing written beside it": CANTOPEN and READONLY (with
#: their extended codes), IOERR_SHMOPEN/SHMSIZE/SHMLOCK/SHMMAP (the WAL index's ``-shm`` beside it)
_CANNOT_OPEN, _READONLY = 14, 8
#: ... but not READONLY_ROLLBACK: a hot journal beside it that only a connection that may write can put back
_READONLY_ROLLBACK = 776
_SHM_ERRORS = frozenset({4618, 4874, 5130, 5386})


def read_only_connection(path: str | os.PathLike, **options) -> sqlite3.Connection:
    """An index file opened to read, never written: ``mode=ro``, or ``immutable=1`` where SQLite cannot keep a WAL
    index's ``-shm`` beside it (a folder no one may write). A file this user cannot write with no ``-wal`` beside it
    (no run writing it) is read ``immutable=1`` too: ``mode=ro`` made an empty ``-wal`` and a ``-shm`` in its folder,
    with the file's mode and this user as owner, and left them there; the index made writable again, its owner's next
    write failed ("attempt to write a readonly database") until they were deleted by hand.

    Only a ``mode=ro`` open refused for that reason reads ``immutable=1``: any other error is the caller's. A file
    another run held locked ("database is locked") was read ``immutable=1``, which reads no ``-wal`` and takes no
    lock: the rows that run had stored were missing, and a read during its checkpoint could find the file damaged."""
    real = Path(path).resolve()
    uri = real.as_uri()
    beside = beside_refused(real)
    if beside is not None:
        raise sqlite3.OperationalError(f"{beside}, left as it is")
    if os.access(real, os.W_OK) or Path(f"{real}-wal").exists():
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=_READ_WAIT, isolation_level=None, **options)
        try:
            return _read_first(db)
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) == _READONLY_ROLLBACK:
                # (immutable=1 read the pages the stopped run had half written: "not an SQLite file", or worse rows)
                raise sqlite3.OperationalError(
                    f"{real.name} was left half-written by a run stopped while writing it (the {real.name}-journal "
                    "beside it holds what was there before): open it once where it may be written, which puts that "
                    "back") from None
            if not _cannot_write_beside(exc):
                raise
    return _read_first(sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None, **options))


def _cannot_write_beside(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite refused a ``mode=ro`` open because it may not open or write the file or a file beside it."""
    code = getattr(exc, "sqlite_errorcode", None)  # (Python 3.11+; its message before)
    if code is not None:
        return (code & 0xFF) in (_CANNOT_OPEN, _READONLY) or code in _SHM_ERRORS
    message = str(exc)
    return "unable to open" in message or "readonly" in message


def _read_first(db: sqlite3.Connection) -> sqlite3.Connection:
    """``db`` once a first read of it worked; closed where it failed (not a database, damaged, a read-only folder),
    so the caller's error leaves no connection, and no descriptor of the file, open."""
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        db.close()
        raise
    return db
