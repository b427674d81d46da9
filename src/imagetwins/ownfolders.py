"""Folders that hold what ``remove`` took away (quarantines, the journal's key, trash folders) are the user's own.

Whoever can write into a quarantine can read the photos moved there, rewrite the journal, and make the
user's own ``undo`` put their file into the user's folder. So every such folder is created by us with
owner-only permissions (0700), one level at a time, and any that already exists must be

- a real folder (not a symbolic link),
- owned by the user running imagetwins,
- writable by nobody else (no group or world write bit),

else it is refused with one line (:class:`UnsafeFolder`) before anything is written into it. The folder
*above* one we use may be shared (``/tmp``, a tmpfs) if others cannot rename or delete what we put there:
owned by us or by root, and if group/world-writable then with the sticky bit.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from pathlib import Path

__all__ = ["KEY_BYTES", "UnsafeFolder", "check_own", "check_own_file", "check_parent", "make_key", "make_own_dirs",
           "read_key"]

#: bytes of a secret key this user keeps in a file (a quarantine's journal key, the key of stored rows)
KEY_BYTES = 32

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
#: what os.link raises where a file system holds no hard links (FAT on a USB stick, some network shares)
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK}


class UnsafeFolder(OSError):
    """A folder (or key/journal file) that another user could read or change: refused, one line."""


def _uid() -> int:
    return os.geteuid() if hasattr(os, "geteuid") else -1


def check_own(folder: str | os.PathLike, what: str) -> os.stat_result:
    """``folder`` itself must be a real folder, owned by this user, writable by nobody else; its lstat."""
    folder = Path(folder)
    st = os.lstat(folder)
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeFolder(errno.EPERM, f"{what} {folder} is a symbolic link: refused")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeFolder(errno.ENOTDIR, f"{what} {folder} is not a folder: refused")
    if hasattr(os, "geteuid") and st.st_uid != _uid():
        raise UnsafeFolder(errno.EPERM, f"{what} {folder} belongs to another user (uid {st.st_uid}): refused; "
                                        "choose a folder of your own")
    if st.st_mode & 0o022:
        raise UnsafeFolder(errno.EPERM, f"{what} {folder} can be changed by other users (mode "
                                        f"{stat.S_IMODE(st.st_mode):04o}): refused; 'chmod go-w' it if it is yours")
    return st


def check_own_file(path: str | os.PathLike, what: str, secret: bool = False) -> None:
    """``path`` itself must be a regular file owned by this user and writable by nobody else (``secret``:
    readable by nobody else either)."""
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeFolder(errno.EPERM, f"{what} {path} is not a regular file: refused")
    if hasattr(os, "geteuid") and st.st_uid != _uid():
        raise UnsafeFolder(errno.EPERM, f"{what} {path} belongs to another user (uid {st.st_uid}): refused")
    if st.st_mode & (0o077 if secret else 0o022):
        raise UnsafeFolder(errno.EPERM, f"{what} {path} can be {'read' if secret else 'changed'} by other users "
                                        f"(mode {stat.S_IMODE(st.st_mode):04o}): refused")


def check_parent(folder: str | os.PathLike, what: str) -> None:
    """The folder holding one of ours: a real folder owned by us or root, and if others may write into it, with
    the sticky bit (as ``/tmp``), so nobody else can rename or delete what we keep there."""
    folder = Path(folder)
    st = os.lstat(folder)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise UnsafeFolder(errno.EPERM, f"{what} {folder} is not a real folder (a symbolic link?): refused")
    if hasattr(os, "geteuid") and st.st_uid not in (_uid(), 0):
        raise UnsafeFolder(errno.EPERM, f"{what} {folder} belongs to another user (uid {st.st_uid}): refused; "
                                        "choose a folder of your own")
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        raise UnsafeFolder(errno.EPERM, f"{what} {folder} can be changed by other users (mode "
                                        f"{stat.S_IMODE(st.st_mode):04o}, no sticky bit): refused")


def make_own_dirs(folder: str | os.PathLike, what: str, parents: bool = True) -> Path:
    """Create ``folder`` (and, with ``parents``, the missing folders above it) one at a time with mode 0700, or
    check the one that stands there (:func:`check_own`); the folder above the first one created (or above
    ``folder``) is checked with :func:`check_parent`. Returns ``folder`` as an absolute path."""
    folder = Path(os.path.abspath(folder))
    missing = []
    at = folder
    while not os.path.lexists(at):
        missing.append(at)
        if at.parent == at or not parents and at != folder:
            break
        at = at.parent
    # the folder that will hold what we make is checked first: nothing is made inside someone else's
    check_parent(missing[-1].parent if missing else folder.parent, f"the folder holding the {what}")
    for made in reversed(missing):
        try:
            os.mkdir(made, 0o700)
        except FileExistsError:
            pass  # made meanwhile (by whom: checked below)
        else:
            os.chmod(made, 0o700)  # (whatever the umask)
    for made in reversed(missing):
        check_own(made, f"the {what}")
    if not missing:
        check_own(folder, f"the {what}")
    return folder


def _write_key(path: str) -> None:
    """A new file at ``path`` (none may be there), readable by its owner alone, holding a new key, synced; nothing
    is left at ``path`` when it cannot be written whole (a full disk: no half key for a later run to sign with)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600)
    try:
        with open(fd, "wb") as fh:
            fh.write(secrets.token_bytes(KEY_BYTES))
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


#: seconds a key file must have stood unchanged before one of the wrong length is taken for what a crash left (a run
#: writing it in place takes milliseconds)
_SETTLED = 60


def _cut_short(path: str) -> bool:
    """Is ``path`` a key file a crash cut short: a regular file of ours, unchanged for :data:`_SETTLED` seconds,
    shorter than a key or a key's length of zeros (its size written, not its bytes)? Nothing was signed with it:
    :func:`read_key` refuses it."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_size > KEY_BYTES or time.time() - st.st_mtime < _SETTLED or \
            hasattr(os, "geteuid") and st.st_uid != _uid():
        return False
    if st.st_size < KEY_BYTES:
        return True
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode) and os.read(fd, KEY_BYTES + 1) == bytes(KEY_BYTES)
    finally:
        os.close(fd)


def _link_unnamed(path: str) -> bool:
    """Write a new key into an unnamed file of ``path``'s folder (Linux's ``O_TMPFILE``) and link it at ``path``:
    a run killed meanwhile leaves no file behind. False where the system or file system cannot (none made)."""
    unnamed = getattr(os, "O_TMPFILE", 0)
    if not unnamed or not os.path.isdir("/proc/self/fd"):
        return False
    folder, name = os.path.split(path)
    try:
        dir_fd = os.open(folder or ".", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC)
    except OSError:  # (a folder we may write in but not list: the named route)
        return False
    try:
        try:
            fd = os.open(".", unnamed | os.O_WRONLY | _CLOEXEC, 0o600, dir_fd=dir_fd)
        except OSError:  # (a file system without it: EOPNOTSUPP; an older kernel: EISDIR)
            return False
        try:
            with open(fd, "wb", closefd=False) as fh:
                fh.write(secrets.token_bytes(KEY_BYTES))
                fh.flush()
                os.fsync(fd)
            try:  # (linkat following the descriptor's link: the open file itself gets the name)
                os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=dir_fd, follow_symlinks=True)
            except FileExistsError:  # (another run made it first: theirs is the key)
                pass
            except OSError:  # (no links there, no /proc of ours: the named route, which says what fails)
                return False
        finally:
            os.close(fd)
    finally:
        os.close(dir_fd)
    return True


def _drop_leftovers(path: str) -> None:
    """Remove the files ``path.PID.HEX`` a run killed while making the key ``path`` left (ours, settled, no larger
    than a key)."""
    folder, name = os.path.split(path)
    leftover = re.compile(re.escape(name) + r"\.\d+\.[0-9a-f]{8}")
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder or "."):
            if leftover.fullmatch(entry.name):
                st = entry.stat(follow_symlinks=False)
                # (no larger than a key: a quarantine holds moved files at its top, and a photo named so is no
                # leftover; nor is anything of another owner or changed within the last minute)
                if stat.S_ISREG(st.st_mode) and st.st_size <= KEY_BYTES and \
                        time.time() - st.st_mtime >= _SETTLED and (not hasattr(os, "geteuid") or st.st_uid == _uid()):
                    os.unlink(entry.path)


def make_key(path: str | os.PathLike) -> None:
    """Make the key file ``path`` where there is none (or one a crash cut short: :func:`_cut_short`, nothing signed
    with it). Written whole in an unnamed file, or under another name, then linked into place, so a run reading it
    meanwhile never reads half a key, and of two runs making it at once both use the first's; a run killed
    meanwhile leaves no file (the other name, where the system has no unnamed files, is removed by the next run
    making a key there). (Written in place where the file system holds no hard links.) The caller reads it with
    :func:`read_key`.

    Raises
    ------
    OSError
        It cannot be written (a folder that may not be written in, a full disk).
    """
    path = os.fspath(path)
    if not os.path.lexists(path):
        _new_key(path)
        return
    if not _cut_short(path):
        return
    try:
        import fcntl

        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    except (ImportError, OSError):
        return
    try:  # two runs finding it cut short: the one holding it makes it again, the other then finds that one's
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            held, now = os.fstat(fd), os.lstat(path)
            if (held.st_dev, held.st_ino) != (now.st_dev, now.st_ino) or not _cut_short(path):
                return
            os.unlink(path)
        except OSError:  # (gone meanwhile, or a file system without locks: left as it is, refused as before)
            return
        _new_key(path)
    finally:
        os.close(fd)


def _new_key(path: str) -> None:
    """A new key at ``path``, where none was (see :func:`make_key`)."""
    _drop_leftovers(path)
    if _link_unnamed(path):
        return
    tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
    _write_key(tmp)
    try:
        os.link(tmp, path)
    except FileExistsError:  # (another run made it first: theirs is the key)
        pass
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        with contextlib.suppress(FileExistsError):
            _write_key(path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def read_key(path: str | os.PathLike, what: str) -> bytes:
    """The key kept in ``path`` (``what`` names it in a refusal): a regular file of this user's that nobody else can
    read or write (whoever reads it can sign what it guards), of :data:`KEY_BYTES` bytes.

    Raises
    ------
    UnsafeFolder
        It is not such a file (a link, another user's, readable by others, of another length, zeros).
    OSError
        It cannot be read.
    """
    from imagetwins.io import open_regular_file

    check_own_file(path, what, secret=True)
    with open_regular_file(path, follow_symlinks=False) as fh:  # (a FIFO swapped in since the check: refused, no wait)
        key = fh.read(2 * KEY_BYTES)
    if len(key) != KEY_BYTES:
        raise UnsafeFolder(errno.EINVAL, f"{path}: not {what} (a key is {KEY_BYTES} bytes)")
    if key == bytes(KEY_BYTES):  # (never signed with, so the next run making the key may replace it: make_key)
        raise UnsafeFolder(errno.EINVAL, f"{path}: not {what} (zeros: what a crash while it was written leaves)")
    return key
