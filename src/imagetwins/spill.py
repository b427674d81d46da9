"""A scratch file for bytes a run needs again only now and then (the ``copies`` method's image features).

:class:`SpillFile` appends byte strings to an anonymous temporary file and reads one back by its
(offset, length) with ``os.pread``, which is safe from many threads at once. The file has no name from
the start (``tempfile.TemporaryFile``: created with owner-only permissions and unlinked at once, or
``O_TMPFILE``), so nothing is left behind however the run ends, Ctrl-C and ``kill -9`` included; its space
is freed when the last object holding it goes.

It is made in the user's cache folder (where the per-folder caches live), because ``/tmp`` is often a
``tmpfs``, i.e. memory, which is what spilling is meant to spare; where that folder cannot be used, in
the system's temporary folder.
"""

from __future__ import annotations

import os
import tempfile
import threading
import weakref
from pathlib import Path

from imagetwins.userdirs import cache_folder, check_home

__all__ = ["SpillFile", "current_spill", "spill_folder"]


def spill_folder() -> Path:
    """The user's cache folder (``platformdirs.user_cache_dir("imagetwins")``), where spill files are made."""
    return cache_folder()


def _open_scratch(folder: str | os.PathLike | None):
    if folder is None:
        folder = spill_folder()
        try:
            check_home(folder)  # (no home folder: the system's temporary folder, never a home made for it)
            Path(folder).mkdir(parents=True, exist_ok=True, mode=0o700)
            return tempfile.TemporaryFile(dir=folder, prefix=".imagetwins-spill-")
        except OSError:
            return tempfile.TemporaryFile(prefix="imagetwins-spill-")
    return tempfile.TemporaryFile(dir=folder, prefix=".imagetwins-spill-")


class SpillFile:
    """Append-only scratch file of byte strings, read back by ``(offset, length)`` from any thread.

    Parameters
    ----------
    folder : path, optional
        Where to make the file; default :func:`spill_folder`, else the system's temporary folder.
    """

    def __init__(self, folder: str | os.PathLike | None = None) -> None:
        self._file = _open_scratch(folder)
        self._fd = self._file.fileno()
        # a run's records hold the spill file and nothing closes it when they go (current_spill); closed when it is
        # collected, so its space is freed without an "unclosed file" ResourceWarning
        weakref.finalize(self, self._file.close)
        self._size = 0
        self._lock = threading.Lock()
        self.pid = os.getpid()  # a forked child shares the file's blocks: it reads them, but writes its own file

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._size

    def put(self, data: bytes) -> int:
        """Append ``data``; its offset (``OSError`` when the disk is full)."""
        view = memoryview(data)
        with self._lock:
            at = self._size
            self._size += len(view)
        done = 0
        while done < len(view):
            if hasattr(os, "pwrite"):
                n = os.pwrite(self._fd, view[done:], at + done)
            else:  # no pwrite (Windows): one writer at a time
                with self._lock:
                    os.lseek(self._fd, at + done, os.SEEK_SET)
                    n = os.write(self._fd, view[done:])
            if n <= 0:
                raise OSError("the spill file could not be written")
            done += n
        return at

    def get(self, offset: int, length: int) -> bytes:
        """The ``length`` bytes written at ``offset``."""
        if hasattr(os, "pread"):
            data = os.pread(self._fd, length, offset)
        else:
            with self._lock:
                os.lseek(self._fd, offset, os.SEEK_SET)
                data = os.read(self._fd, length)
        if len(data) != length:
            raise OSError(f"the spill file gave {len(data)} of {length} bytes at {offset}")
        return data

    def close(self) -> None:
        """Close (and so free) the file; reading afterwards fails."""
        self._file.close()


_current: weakref.ref | None = None
_current_lock = threading.Lock()


def current_spill() -> SpillFile:
    """The spill file this process is writing to: the same while anything still holds it, else a new one.

    So a run's features share one file, and once the run's records are gone its space is freed and the
    next run starts an empty file.
    """
    global _current
    with _current_lock:
        spill = _current() if _current is not None else None
        if spill is None or spill.pid != os.getpid():
            spill = SpillFile()
            _current = weakref.ref(spill)
        return spill
