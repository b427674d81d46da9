"""The system trash, for ``imagetwins remove --to-trash``.

On Linux and the other freedesktop systems imagetwins keeps the trash itself, as the freedesktop.org
Trash specification 1.0 says, so that it knows exactly where each file went (no guessing after the fact):

- the trash of a file is the home trash (``$XDG_DATA_HOME/Trash``, default ``~/.local/share/Trash``) when
  the file is on the same device, else the trash at the top of the file's mount: ``$topdir/.Trash/$uid``
  where ``$topdir/.Trash`` is a real folder with the sticky bit, else ``$topdir/.Trash-$uid``; where no
  such trash can be made (a read-only top folder), the home trash, the file then copied across devices
  (verified, as every move of ``remove``);
- a trash folder we make is owner-only (0700); one that exists must be a real folder, owned by the user
  and writable by nobody else (:mod:`imagetwins.ownfolders`), else it is refused with one line: a
  ``.Trash-UID`` another user made on a shared tmpfs would let them read and delete what is trashed;
- a name is reserved by creating its ``info/NAME.trashinfo`` with ``O_EXCL`` first (``NAME``, then
  ``STEM 1.EXT``, ``STEM 2.EXT``...: the names other trash tools use), then the file is moved to
  ``files/NAME`` by :mod:`imagetwins.quarantine` (journalled, never overwriting).

On macOS and Windows the file goes through send2trash (extra ``trash``); that trash does not say where a
file went, so undo asks you to use the trash's own "put back".
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes

from imagetwins.ownfolders import UnsafeFolder, check_own, make_own_dirs
from imagetwins.userdirs import check_home, home_folder

__all__ = ["FREEDESKTOP", "TrashFolder", "TrashUnavailable", "send_to_trash", "trash_folder_for", "trash_info"]

#: whether this platform's trash is a freedesktop trash folder (kept by imagetwins itself)
FREEDESKTOP = not sys.platform.startswith(("darwin", "win32", "cygwin"))

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class TrashUnavailable(RuntimeError):
    """send2trash is not installed (macOS, Windows)."""


@dataclass(frozen=True)
class TrashFolder:
    """One freedesktop trash: ``folder`` holds ``files/`` and ``info/``; ``topdir`` is the folder the original
    paths of its ``.trashinfo`` records are written relative to (None: absolute, the home trash)."""

    folder: Path
    topdir: Path | None
    #: name wanted -> the counter to try first for it (this run's last one taken, plus one): a run trashing 2,000
    #: files named IMG_0001.JPG (each camera folder has one) tried every name taken before each (28 CPU s)
    _next: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def files(self) -> Path:
        return self.folder / "files"

    @property
    def info(self) -> Path:
        return self.folder / "info"

    def check(self) -> None:
        """The trash and its two folders are still the user's own (:class:`UnsafeFolder` if not)."""
        check_own(self.folder, "the trash folder")
        check_own(self.files, "the trash folder")
        check_own(self.info, "the trash folder")

    def reserve(self, original: Path, name: str | None = None,
                announce: Callable[[Path, Path], None] | None = None,
                withdraw: Callable[[Path, Path], None] | None = None, sync: bool = True,
                record: bytes | None = None) -> tuple[Path, Path]:
        """A free name for ``original`` in ``files/``: its ``.trashinfo`` is created first (``O_EXCL``, as the
        specification asks, so two programs never take one name) and holds the original path. ``name``: the name
        wanted in the trash (default: the original's; an XMP sidecar takes its image's trashed name, ``IMG 1.jpg``
        -> ``IMG 1.jpg.xmp``), ``STEM 1.EXT``... after it when taken. Returns (where the file is to go, its
        ``.trashinfo``); :func:`release` it if the file does not go.

        ``announce(file, info)`` is called right before each name's ``.trashinfo`` is made (the journal's line for it:
        a run killed then leaves no record that no line names), and ``withdraw(file, info)`` where that name was
        then not taken (made meanwhile by another program, or the record could not be written). ``sync``: the record
        is on disk when this returns (fsync); else :func:`settle` it after its journal line is synced and before the
        file goes (a record synced before its line, a power cut left a record of a file that never went, and no line
        for undo to give it back by: a batch's worth, 100). ``record``: the ``.trashinfo``'s bytes, made by
        :meth:`record` beforehand (the caller's journal keeps their SHA-256, so that undo deletes that record alone:
        :func:`is_record_of`); default, made now."""
        wanted = original.name if name is None else name
        record = self.record(original) if record is None else record
        info_fd = os.open(self.info, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | _CLOEXEC)
        first = self._next.get(wanted, 0)
        try:
            for counter in range(first, first + 100_000):
                name = trashed_name(wanted, counter)
                if os.path.lexists(self.files / name) or os.path.lexists(self.info / (name + ".trashinfo")):
                    continue
                here = (self.files / name, self.info / (name + ".trashinfo"))
                if announce is not None:
                    announce(*here)
                try:
                    fd = os.open(name + ".trashinfo", os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
                                 0o600, dir_fd=info_fd)
                except OSError as exc:
                    if withdraw is not None:
                        withdraw(*here)
                    if isinstance(exc, FileExistsError):
                        continue
                    raise
                try:
                    with open(fd, "wb") as fh:
                        fh.write(record)
                        fh.flush()
                        if sync:
                            os.fsync(fh.fileno())
                except OSError:  # (a full disk: no record of no file left behind in the trash)
                    with contextlib.suppress(OSError):
                        os.unlink(name + ".trashinfo", dir_fd=info_fd)
                    if withdraw is not None:
                        withdraw(*here)
                    raise
                if os.path.lexists(self.files / name):  # taken meanwhile by a tool that does not reserve first
                    os.unlink(name + ".trashinfo", dir_fd=info_fd)
                    if withdraw is not None:
                        withdraw(*here)
                    continue
                self._next[wanted] = counter + 1
                return self.files / name, self.info / (name + ".trashinfo")
        finally:
            os.close(info_fd)
        raise FileExistsError(errno.EEXIST, f"no free name for {wanted} in the trash {self.folder}")

    def record(self, original: Path) -> bytes:
        """The ``.trashinfo`` record of ``original`` trashed now (its path, relative to ``topdir`` where there is one,
        and the time)."""
        path = os.fsencode(original)
        if self.topdir is not None:
            top = os.fsencode(self.topdir)
            if path.startswith(top.rstrip(b"/") + b"/"):
                path = os.path.relpath(path, top)  # relative to the top of the mount: the disk may move
        return (b"[Trash Info]\nPath=" + quote(path, safe="/").encode("ascii")
                + b"\nDeletionDate=" + time.strftime("%Y-%m-%dT%H:%M:%S").encode("ascii") + b"\n")


#: the longest name of one file most file systems take (bytes), ``NAME.trashinfo`` included
NAME_MAX = 255
_INFO_SUFFIX = ".trashinfo"


def trashed_name(wanted: str, counter: int = 0) -> str:
    """The name a file goes under in ``files/``: ``wanted``, or ``STEM COUNTER.EXT`` when that is taken; its stem
    shortened (and marked ``~``) where ``NAME.trashinfo`` would pass :data:`NAME_MAX` bytes (a photo named with 250
    bytes could not be trashed: "File name too long"). The specification lets the name differ from the original's:
    the ``.trashinfo`` holds the original path, whole, and undo and the trash's "put back" go by it."""
    stem, ext = os.path.splitext(wanted)
    if len(os.fsencode(ext)) > 32:  # (no extension worth keeping)
        stem, ext = wanted, ""
    tail = f" {counter}" if counter else ""
    name = f"{stem}{tail}{ext}"
    if len(os.fsencode(name + _INFO_SUFFIX)) <= NAME_MAX:
        return name
    while stem and len(os.fsencode(f"{stem}~{tail}{ext}{_INFO_SUFFIX}")) > NAME_MAX:
        stem = stem[:-1]
    return f"{stem}~{tail}{ext}"


def settle(info: Path) -> None:
    """The ``.trashinfo`` record :meth:`TrashFolder.reserve` made unsynced put on disk (fsync), before its file goes to
    the trash (``OSError`` where it cannot be: the file must not go)."""
    fd = os.open(info, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0))  # (a FIFO: not waited on)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, f"its record {info} in the trash is no longer a file")
        os.fsync(fd)
    finally:
        os.close(fd)


def release(info: Path) -> None:
    """Give back a name :meth:`TrashFolder.reserve` took (the file did not go to the trash)."""
    try:
        os.unlink(info)
    except FileNotFoundError:
        pass


def _home_trash() -> Path:
    data = os.environ.get("XDG_DATA_HOME") or ""
    base = Path(data) if os.path.isabs(data) else home_folder() / ".local" / "share"
    return base / "Trash"


def _device(path: Path) -> int:
    """The device of ``path``, or of the nearest folder above it that exists."""
    while True:
        try:
            return os.stat(path).st_dev
        except FileNotFoundError:
            if path.parent == path:
                raise
            path = path.parent


def _mount_point(path: Path) -> Path:
    """The top folder of the mount holding ``path`` (a real path)."""
    dev = os.lstat(path).st_dev
    while path.parent != path and os.lstat(path.parent).st_dev == dev:
        path = path.parent
    return path


def trash_folder_for(path: str | os.PathLike, device: int | None = None) -> TrashFolder:
    """The trash a file at ``path`` (a real path; ``device``: its ``st_dev``) goes to, made or checked.

    Raises
    ------
    imagetwins.ownfolders.UnsafeFolder
        That trash exists but is not the user's own (a link, another user's, writable by others).
    """
    path = Path(os.path.abspath(path))
    device = os.lstat(path).st_dev if device is None else device
    home = _home_trash()
    uid = os.getuid()
    if _device(home) != device:
        top = _mount_point(path)
        admin = top / ".Trash"
        try:
            st = os.lstat(admin)
        except OSError:
            st = None
        candidates = []
        if st is not None and stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX:  # (not a link: lstat)
            candidates.append(admin / str(uid))  # the administrator's shared trash, one folder per user
        candidates.append(top / f".Trash-{uid}")
        for folder in candidates:
            try:
                trash = TrashFolder(make_own_dirs(folder, "trash folder", parents=False), top)
                make_own_dirs(trash.files, "trash folder", parents=False)
                make_own_dirs(trash.info, "trash folder", parents=False)
                return trash
            except UnsafeFolder:
                if folder is not candidates[-1]:
                    continue  # the shared .Trash (or our folder in it) is not safe: the specification's fallback
                raise
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT):
                    raise
        # no trash can be made on that device: the home trash, the file copied there
    check_home(home)  # (HOME=/nonexistent: no home trash, rather than a home folder made for it)
    trash = TrashFolder(make_own_dirs(home, "trash folder"), None)
    make_own_dirs(trash.files, "trash folder", parents=False)
    make_own_dirs(trash.info, "trash folder", parents=False)
    return trash


#: the largest ``.trashinfo`` :func:`is_record_of` reads (ours hold a path and a date)
_MAX_RECORD = 64 << 10


def record_sha256(record: bytes) -> str:
    """What a journal keeps of a ``.trashinfo`` record it reserved (:func:`is_record_of` compares it)."""
    return hashlib.sha256(record).hexdigest()


def is_record_of(info: str | os.PathLike, original: str | os.PathLike, sha256: str | None) -> bool:
    """Whether the ``.trashinfo`` at ``info`` is the record :meth:`TrashFolder.reserve` wrote: its bytes' SHA-256 is
    ``sha256`` (:func:`record_sha256`, kept in the journal); where the journal kept none (written before it did), a
    record naming ``original`` (absolute, or relative to the trash's top folder). False for a link, a FIFO, a
    folder, anything larger than a record, unreadable or gone: the name's record is then another program's (a
    file manager trashing a file of that name takes a free name's record first, then moves the file), and undo
    leaves it alone."""
    from imagetwins.io import open_regular_file

    try:
        with open_regular_file(info, follow_symlinks=False) as fh:
            data = fh.read(_MAX_RECORD + 1)
    except OSError:
        return False
    if len(data) > _MAX_RECORD:
        return False
    if sha256 is not None:
        return record_sha256(data) == sha256
    lines = data.split(b"\n")
    if not lines or lines[0].strip() != b"[Trash Info]":
        return False
    named = [unquote_to_bytes(line[5:].strip()) for line in lines if line.startswith(b"Path=")]
    if len(named) != 1:
        return False
    wanted, path = os.fsencode(os.path.normpath(original)), named[0]
    if path.startswith(b"/"):
        return os.path.normpath(path) == wanted
    trash = Path(info).parent.parent  # (TOP/.Trash-UID or TOP/.Trash/UID: relative to TOP)
    return any(os.path.normpath(os.path.join(os.fsencode(top), path)) == wanted for top in (trash.parent,
                                                                                           trash.parent.parent))


def trash_info(trashed: Path) -> Path | None:
    """The ``.trashinfo`` record of a file lying in a freedesktop trash's ``files/`` folder (None: not one)."""
    if trashed.parent.name != "files":
        return None
    info = trashed.parent.parent / "info" / (trashed.name + ".trashinfo")
    return info if info.is_file() and not info.is_symlink() else None


def _send2trash():
    try:
        from send2trash import send2trash
    except ImportError:
        raise TrashUnavailable('--to-trash needs send2trash here: pip install "imagetwins[trash]"') from None
    return send2trash


def send_to_trash(path: str | os.PathLike) -> None:
    """Send one file to the system trash through send2trash (macOS, Windows: the trash does not say where it
    went). On freedesktop systems :mod:`imagetwins.quarantine` moves files into :func:`trash_folder_for`."""
    _send2trash()(os.fspath(path))


def check_trash_usable() -> None:
    """Raise :class:`TrashUnavailable` where ``--to-trash`` cannot work (no send2trash off freedesktop)."""
    if not FREEDESKTOP:
        _send2trash()
