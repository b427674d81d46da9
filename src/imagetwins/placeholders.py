"""Copies ``remove --link clone`` left in moved files' places are handled already: never duplicates again.

``remove --apply --link`` (``clone``, the default kind) moves a duplicate into the quarantine and puts a copy of
its keeper in its place (copy-on-write where the file system can, else a real byte copy). Such a placeholder has
the keeper's bytes, so without this module the next ``find`` would group it with its keeper and the next
``remove --link`` would move it and copy again, on every run. Hard links and symbolic links need no record (one
inode: :mod:`imagetwins.hardlinks`; links are never scanned as copies); a clone is a file of its own, so each
one made is recorded (:class:`PlaceholderStore`, ``placeholders.db`` in the user data folder, beside the
remembered decisions, so clearing the cache keeps it) with what identifies it: its real path, device, inode,
size, modification time (ns) and the keeper's SHA-256 and path.

A file of a group is taken for a placeholder (:func:`split_placeholders`) only while all of that still holds and
its scanned content is the keeper's recorded SHA-256, and another file of its group has that content too (the
keeper, or a byte copy of it, is there). It then leaves the group as an already-linked name does (the result's
``placeholders`` lists it after the file it copies). A placeholder edited since (other bytes, size or time) or
replaced (another inode) is an ordinary file again. The store is the user's own and could be forged, but a
forged entry can only leave a file out of its group: a file left out is never moved, and a byte copy of it stays
in the group, so a forged entry makes imagetwins keep more, never move more.

Why a record and not a user xattr on the file: the record works on every file system (FAT and exFAT cards,
SMB and some NFS shares have no user xattrs; tmpfs has them only since Linux 6.6), is not copied onto real files
by ``cp -a``, ``rsync -X`` or backup tools (an xattr is, and its copy would then have to be told apart by inode
anyway), and writes nothing into the user's files' metadata. Its one cost: a placeholder renamed by hand is not
recognised any more (it is offered as a duplicate again, as before).
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from imagetwins.digests import Digest
from imagetwins.text import from_sqlite, to_sqlite
from imagetwins.userdirs import check_home, data_folder

if TYPE_CHECKING:
    from imagetwins.results import DuplicateGroup

__all__ = ["Placeholder", "PlaceholderStore", "default_store_path", "split_placeholders"]

_TABLE = "placeholders"


def default_store_path() -> Path:
    """``placeholders.db`` in the user data folder (e.g. ``~/.local/share/imagetwins``), never the cache folder."""
    return data_folder() / "placeholders.db"


@dataclass(frozen=True)
class Placeholder:
    """One copy of a keeper that ``remove --link clone`` made, as it was when made."""

    path: str  # real, absolute
    dev: int
    ino: int
    size: int
    mtime_ns: int
    keeper_sha256: str
    keeper: str

    def holds_now(self, st: os.stat_result) -> bool:
        """Is ``st`` (an ``lstat`` of :attr:`path`) still this very file, unchanged?"""
        return (stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
                == (self.dev, self.ino, self.size, self.mtime_ns))


class PlaceholderStore:
    """The record of placeholders made (SQLite). Reading a missing, damaged or foreign store finds nothing: it is
    a convenience, and without it placeholders are merely offered as duplicates again."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()

    def _connect(self, write: bool) -> sqlite3.Connection | None:
        from imagetwins.locks import beside_refused

        if os.path.islink(self.path) or (self.path.exists() and not self.path.is_file()):
            return None  # never written through a link, nor read from a FIFO or device
        if beside_refused(self.path, write=write) is not None:
            return None  # (a FIFO at its -journal: SQLite's look for a hot journal waited on it for ever)
        if not write and not self.path.exists():
            return None
        try:
            if write:
                check_home(self.path.parent)
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                db.execute(f"CREATE TABLE IF NOT EXISTS {_TABLE} (path TEXT PRIMARY KEY, dev INTEGER, ino INTEGER, "
                           "size INTEGER, mtime_ns INTEGER, keeper_sha256 TEXT, keeper TEXT)")
                os.chmod(self.path, 0o600)
            else:
                db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=30,
                                     isolation_level=None)
            return db
        except (OSError, sqlite3.Error):
            return None

    def add(self, made: Iterable[Placeholder]) -> bool:
        """Record placeholders (a newer one at a path replaces the older); False when the store cannot be written."""
        rows = [(to_sqlite(p.path), p.dev, p.ino, p.size, p.mtime_ns, p.keeper_sha256, to_sqlite(p.keeper))
                for p in made]  # (names that are not UTF-8 too: SQLite text cannot hold them as Python has them)
        if not rows:
            return True
        db = self._connect(write=True)
        if db is None:
            return False
        try:
            with db:
                db.executemany(f"INSERT OR REPLACE INTO {_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            return True
        except sqlite3.Error:
            return False
        finally:
            db.close()

    def forget(self, paths: Iterable[str]) -> None:
        """Drop the records of these paths (``undo`` took the placeholders away)."""
        paths = [(to_sqlite(p),) for p in paths]
        if not paths or (db := self._connect(write=True)) is None:
            return
        try:
            with db:
                db.executemany(f"DELETE FROM {_TABLE} WHERE path = ?", paths)
        except sqlite3.Error:
            pass
        finally:
            db.close()

    def lookup(self, paths: Sequence[str]) -> dict[str, Placeholder]:
        """The records of these real paths (those that have one)."""
        if not paths or (db := self._connect(write=False)) is None:
            return {}
        out: dict[str, Placeholder] = {}
        try:
            for i in range(0, len(paths), 500):
                chunk = [to_sqlite(p) for p in paths[i:i + 500]]
                rows = db.execute(f"SELECT path, dev, ino, size, mtime_ns, keeper_sha256, keeper FROM {_TABLE} "
                                  f"WHERE path IN ({','.join('?' * len(chunk))})", chunk).fetchall()
                for r in rows:
                    path = from_sqlite(str(r[0]))
                    out[path] = Placeholder(path, int(r[1]), int(r[2]), int(r[3]), int(r[4]), str(r[5]),
                                            from_sqlite(str(r[6])))
        except (sqlite3.Error, TypeError, ValueError):
            return {}
        finally:
            db.close()
        return out


def split_placeholders(groups: Sequence[DuplicateGroup], store: PlaceholderStore | None = None
                       ) -> tuple[list[DuplicateGroup], list[list[str]]]:
    """Groups without the placeholders imagetwins made (see the module docstring), a group left with one file gone.
    Returns (groups, for each file whose placeholders left its group: [that file, its placeholders...]).

    Only files whose scanned content another file of the group shares are looked up (a placeholder is a byte copy
    of its keeper), so a folder without any costs no lookup."""
    candidates: list[tuple[int, int]] = []
    for gi, g in enumerate(groups):
        if not g.digests:
            continue
        keys = [Digest(d).key if d else None for d in g.digests]
        counts: dict[bytes, int] = {}
        for k in keys:
            if k is not None:
                counts[k] = counts.get(k, 0) + 1
        candidates += [(gi, i) for i, k in enumerate(keys) if k is not None and counts[k] > 1]
    if not candidates:
        return list(groups), []
    real = {(gi, i): os.path.realpath(groups[gi].files[i]) for gi, i in candidates}
    found = (store or PlaceholderStore()).lookup(sorted(set(real.values())))
    if not found:
        return list(groups), []
    placeholders: dict[int, set[int]] = {}
    for (gi, i), path in real.items():
        record = found.get(path)
        if record is None or not Digest(groups[gi].digests[i]).same_content(record.keeper_sha256):
            continue
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if record.holds_now(st):
            placeholders.setdefault(gi, set()).add(i)
    out: list[DuplicateGroup] = []
    handled: list[list[str]] = []
    for gi, g in enumerate(groups):
        gone = placeholders.get(gi, set())
        if not gone:
            out.append(g)
            continue
        stay = [i for i in range(len(g.files)) if i not in gone]
        by_key: dict[bytes, list[int]] = {}
        for i in stay:
            by_key.setdefault(Digest(g.digests[i]).key, []).append(i)
        for i in sorted(gone):  # each placeholder listed after a file of the group holding its bytes
            same = by_key.get(Digest(g.digests[i]).key)
            if not same:  # (every file with these bytes is a placeholder: the first stays, as the copy kept)
                stay.append(i)
                stay.sort()
                by_key[Digest(g.digests[i]).key] = [i]
                continue
            entry = next((h for h in handled if h[0] == g.files[same[0]]), None)
            if entry is None:
                handled.append([g.files[same[0]], g.files[i]])
            else:
                entry.append(g.files[i])
        if len(stay) < 2:
            continue
        digests = [g.digests[i] for i in stay]
        out.append(replace(g, files=[g.files[i] for i in stay], digests=digests,
                           scores=[g.scores[i] for i in stay] if g.scores else [],
                           exact=bool(digests) and len(set(digests)) == 1 and bool(digests[0])))
    return out, handled
