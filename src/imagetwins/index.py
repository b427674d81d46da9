"""A persistent index of encodings in SQLite, so that re-runs only encode what changed.

One row per file (folder id, name, size, mtime, the first 128 bits of the SHA-256 of its content, or
the reason it could not be read) and one per (file, method) encoding, as a compact blob; folder paths
are stored once, which keeps an image's entry near 100 bytes. ``update`` encodes new and changed
files in bounded transactions, so a run that is interrupted (Ctrl-C, kill -9, power cut) resumes
where it stopped; WAL mode lets other processes read meanwhile. Searches load every encoding of a
method into one numpy array and reuse :mod:`imagetwins.search`.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import itertools
import json
import math
import os
import re
import sqlite3
import stat
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imagetwins import encoding
from imagetwins.digests import Digest
from imagetwins.encoders import Encoder, get_encoder
from imagetwins.encoding import encode_files
from imagetwins.facts import FACTS_VERSION, ImageFacts
from imagetwins.io import (
    CostNotice,
    ImageReadError,
    ReadFailure,
    find_image_paths,
    no_folder_reason,
    read_bytes,
    waits_for_extra,
    warn_line,
    warn_skipped,
)
from imagetwins.locks import (
    beside_refused,
    hold_file,
    let_go,
    link_refused,
    one_update,
    read_only_connection,
    several_names,
)
from imagetwins.raw import CRASHED, is_raw_name
from imagetwins.results import FindResult, colour_variants_apart, groups_from_encodings, query_images
from imagetwins.rowkeys import pair_score_tags, row_key, row_tag, row_tag_ok
from imagetwins.scores import ColourVariants
from imagetwins.text import counted, from_sqlite, loads_json, printable, shell_word, to_sqlite
from imagetwins.userdirs import NoHomeFolder, check_home
from imagetwins.userdirs import cache_folder as user_cache_folder
from imagetwins.writing import describe_mode

SCHEMA_VERSION = 1
#: the header of an SQLite file imagetwins made an index in ("imTW"; ``PRAGMA application_id``): a file holding no
#: table yet is one being made (or begun) only with it, never another program's empty database
APPLICATION_ID = 0x696D5457
#: files listed for encoding at a time (bounded lists of futures)
BATCH = 256
#: files stored per transaction at most: an interruption (Ctrl-C, kill -9, power cut) loses at most this much work
STORE_BATCH = 64


class IndexFileError(RuntimeError):
    """The index file cannot be used: not an index, unreadable, read-only, or its folder is missing.

    The message is one line naming the file and the reason.
    """


class IndexUnwritableError(IndexFileError):
    """The index file is there but cannot be written (a read-only file, folder or file system): ``Index(path)``
    opens it read-only instead (:attr:`Index.unwritable`: ``reason``); ``readonly=False`` refuses it with this line."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class IndexDamagedError(IndexFileError):
    """A field of the index holds what no imagetwins wrote (an edit, a disk error): a per-folder cache is made
    again (:meth:`Index.reset`), an index opened read-only is not used."""


class NoHomeCacheError(IndexFileError):
    """A per-folder cache is not made: it would lie in a home folder that does not exist (``HOME=/nonexistent``).
    ``home_reason`` says so without the cache's name: the same for every folder of a run, said once."""

    def __init__(self, message: str, home_reason: str) -> None:
        super().__init__(message)
        self.home_reason = home_reason


class ForeignCodeError(IndexFileError):
    """The file holds a view, trigger or virtual table that imagetwins does not make (:func:`_foreign_code`): never
    opened further (left untouched); a per-folder cache so changed is made again (:func:`open_folder_cache`)."""


def _explained(method):
    """An SQLite error raised while ``method`` reads the file (a damaged page: "database disk image is malformed"; a
    disk error) comes out as one :class:`IndexFileError` line naming the index, as its opening does, never as
    SQLite's own exception from deep inside a query (a traceback at the command line)."""
    @functools.wraps(method)
    def explained(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise self._explain(exc) from None

    return explained


def _schema_number(value: object) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 1 << 31 else None


def _shown(row: tuple | None) -> str:
    return "missing" if row is None else repr(row[0])[:40]


def _text(data: bytes) -> str:
    """SQLite text as str, whatever bytes an edit left there (undecodable bytes kept as escapes, not an error)."""
    return data.decode("utf-8", "surrogateescape")


def _digest_hex(value: object) -> str:
    """A stored content digest (16 bytes) as hex; anything else is no digest ("")."""
    return value.hex() if isinstance(value, bytes) and len(value) == 16 else ""


class IndexMismatchError(IndexFileError):
    """The index cannot be used as asked: made with other encoder parameters, by a newer schema, or
    without the method asked for."""


def encoder_identity(method: str | Encoder) -> dict:
    """Everything that changes a method's output: stored with the index and checked on open."""
    return get_encoder(method).identity()


# File names that are not UTF-8 (lone surrogates in Python) are kept as SQLite text through imagetwins.text
_to_db, _from_db = to_sqlite, from_sqlite


def _newer(stored: str, want: str) -> str | None:
    """Which version number of a method's stored identity (JSON) is above this imagetwins's (``want``), as
    ``version 2 > 1``: rows a newer imagetwins made; None when none is (an older imagetwins's, other parameters, or
    an identity that is not one)."""
    try:
        theirs, ours = json.loads(stored), json.loads(want)
    except ValueError:
        return None
    if not isinstance(theirs, dict) or not isinstance(ours, dict):
        return None
    for key in sorted(ours):
        old, new = theirs.get(key), ours[key]
        if (key == "version" or key.endswith("_version")) and type(old) is int and type(new) is int and old > new:
            return f"{key} {old} > {new}"
    return None


def _method_name(method: str | Encoder) -> str:
    return get_encoder(method).name


def _root_how(value: object) -> tuple[bool, bool]:
    """(recursive, follow symbolic links) of a ``root:`` meta record's value, the way the update of that folder
    went; (False, False) for a value no imagetwins wrote."""
    try:
        how = loads_json(value)
        return bool(how.get("recursive")), bool(how.get("follow", False))
    except (ValueError, TypeError, AttributeError):
        return False, False


def _updated_roots(meta: dict[str, str]) -> list[tuple[str, bool, bool]]:
    """The folders an index was updated from, by its ``root:`` records among ``meta`` (key -> value): (folder, with
    its sub-folders, following links), sorted; a folder updated on its own and again with a folder above it (-r) is
    left out, as part of that one."""
    roots = sorted((_from_db(k.removeprefix("root:")), *_root_how(v)) for k, v in meta.items() if k.startswith("root:"))
    return [(root, below, follow) for root, below, follow in roots
            if not any(above != root and takes and Path(root).is_relative_to(above) for above, takes, _ in roots)]


#: a file's state as the index compares it: size, mtime, ctime (ns) and inode
FileState = tuple[int, int, int, int]
_NO_STATE: FileState = (-1, -1, -1, -1)


def _chunks_by_size(paths: list[str], on_disk: dict, size: int) -> Iterator[list[str]]:
    """``paths`` in chunks of about ``size`` files (one ``encode_files`` call each: bounded lists of futures), byte
    copies in one chunk: ``encode_files`` decodes a content once per call, and copies 4,096 files apart were decoded
    again. Files of one size (every byte copy of a content has its size) go to one chunk, up to twice ``size`` (a
    folder of thousands of same-size files is still cut); each chunk keeps the folder order of its files."""
    position = {p: i for i, p in enumerate(paths)}
    by_size = sorted(paths, key=lambda p: (on_disk.get(p, (-1,))[0], position[p]))
    start = 0
    while start < len(by_size):
        end = min(start + size, len(by_size))
        while end < len(by_size) and end < start + 2 * size and \
                on_disk.get(by_size[end], (-1,))[0] == on_disk.get(by_size[end - 1], (-1,))[0]:
            end += 1  # (to the end of a run of one size)
        yield sorted(by_size[start:end], key=position.__getitem__)
        start = end


def file_state(st: os.stat_result) -> FileState:
    """What says a file may have changed: size and mtime, which an edit can keep (``exiftool -P``, ``touch -r``,
    ``os.utime``), and ctime and inode, which it cannot (the kernel sets ctime on every write or utime; a
    replaced file is a new inode)."""
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def changed_since(stored: tuple, now: FileState) -> bool:
    """Whether a file differs from what the index recorded; a row from before ctime and inode were kept
    (NULL there) is compared by size and mtime only."""
    if (stored[0], stored[1]) != now[:2]:
        return True
    return any(old is not None and old != new for old, new in zip(stored[2:], now[2:]))


def read_again(path: str, error: str | None) -> bool:
    """Whether a file unchanged since the index recorded it unreadable (``error``) is read again all the same:
    LibRaw's crashes were intermittent (a file whose decoder died is tried again on each update), and a file
    recorded as waiting for an extra installed since is read now. One rule for :meth:`Index.update` and a read-only
    index's ``find`` (:func:`imagetwins.finder._through_read_only_index`)."""
    return error is not None and (error.startswith(CRASHED) or waits_for_extra(path, error))


def _same_bytes_moved(path: str, old: tuple, now: FileState) -> bool:
    """Whether a file whose size and mtime are what the index recorded, but not its ctime or inode, still holds the
    recorded bytes: its SHA-256 read again (a read, no decode) against the stored digest. A file ``remove`` moved
    and ``undo`` put back keeps its size and mtime and gets a new ctime (a new inode across devices): its row is
    good. Changed bytes never match: the file is read and encoded again."""
    stored, error, digest = old[1], old[2], old[4]
    if digest is None or error is not None or (stored[0], stored[1]) != now[:2] or now[0] < 0:
        return False
    try:
        data = read_bytes(path)
    except ImageReadError:
        return False
    return hashlib.sha256(data).digest()[:len(digest)] == bytes(digest)


@dataclass
class UpdateStats:
    """What one :meth:`Index.update` did."""

    #: new files encoded and stored (a new file that could not be read is counted in ``unreadable`` instead)
    added: int = 0
    #: changed files encoded again and stored (one that could not be read now: in ``unreadable``)
    changed: int = 0
    #: indexed files gone from the folder (a file the index knew only as unreadable, or a link it never read, is
    #: forgotten uncounted: it was none of its images)
    removed: int = 0
    #: readable files not changed since the last update (not read)
    unchanged: int = 0
    #: files found unreadable in this run: new, changed, or read again (with the reason, in ``failures``)
    unreadable: int = 0
    #: unchanged files the index already knew to be unreadable: not read again (their reasons: :meth:`Index.errors`)
    known_unreadable: int = 0
    #: unchanged files that were encoded with a method they lacked
    completed: int = 0
    #: unchanged files whose encodings an older imagetwins made were made again (an upgrade: ``Index(upgrade=True)``)
    remade: int = 0
    #: new or changed files (counted in ``added`` / ``changed``) whose bytes a stored row holds (a file renamed,
    #: moved to another folder, or put back by ``undo``): that row's encodings taken, nothing decoded
    reused: int = 0
    seconds: float = 0.0
    #: files that could not be read in this run, with the reason
    failures: list[ReadFailure] = field(default_factory=list)

    @property
    def encoded(self) -> int:
        return self.added + self.changed - self.reused


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS encoders (method TEXT PRIMARY KEY, identity TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dirs (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    dir_id INTEGER NOT NULL REFERENCES dirs(id),
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    digest BLOB,
    error TEXT,
    ctime_ns INTEGER,
    inode INTEGER,
    UNIQUE (dir_id, name)
);
CREATE VIEW IF NOT EXISTS file_paths AS
    SELECT f.id AS id, d.path || '/' || f.name AS path, d.path AS dir, f.size AS size,
           f.mtime_ns AS mtime_ns, f.digest AS digest, f.error AS error
    FROM files f JOIN dirs d ON d.id = f.dir_id;
CREATE TABLE IF NOT EXISTS encodings (
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (file_id, method)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS encodings_held ON encodings (file_id, method);
CREATE TABLE IF NOT EXISTS stale_encodings (
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    PRIMARY KEY (file_id, method)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pair_scores (
    method TEXT NOT NULL,
    a BLOB NOT NULL,
    b BLOB NOT NULL,
    version TEXT NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (method, a, b)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS candidates (
    method TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS facts (
    digest BLOB PRIMARY KEY,
    version TEXT NOT NULL,
    value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS encoding_heads (
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    value BLOB NOT NULL,
    UNIQUE (file_id, method)
);
CREATE TRIGGER IF NOT EXISTS encoding_heads_stale_on_insert AFTER INSERT ON encodings BEGIN
    DELETE FROM encoding_heads WHERE file_id = NEW.file_id AND method = NEW.method; END;
CREATE TRIGGER IF NOT EXISTS encoding_heads_stale_on_update AFTER UPDATE ON encodings BEGIN
    DELETE FROM encoding_heads
    WHERE file_id IN (OLD.file_id, NEW.file_id) AND method IN (OLD.method, NEW.method); END;
CREATE TRIGGER IF NOT EXISTS encoding_heads_stale_on_delete AFTER DELETE ON encodings BEGIN
    DELETE FROM encoding_heads WHERE file_id = OLD.file_id AND method = OLD.method; END;
"""

def _normal_sql(sql: object) -> str:
    """A CREATE statement as ``sqlite_master`` keeps it (without ``IF NOT EXISTS``), its white space made one."""
    return " ".join(str(sql).replace(" IF NOT EXISTS", "").split()).rstrip(";")


#: the views and triggers imagetwins makes: (type, name) -> their SQL (:func:`_normal_sql`)
_OWN_CODE = {(kind.lower(), name): _normal_sql(stmt)
             for stmt in _SCHEMA.strip().split(";\n")
             for kind, name in [stmt.split()[1:2] + stmt.split()[5:6]] if kind in ("VIEW", "TRIGGER")}


def _foreign_code(db: sqlite3.Connection) -> str | None:
    """A view, trigger or virtual table of the file ``db`` that imagetwins does not make ('view NAME'), else None.
    Their SQL runs inside ours (a view in every query that names it, a trigger on every write, a virtual table's
    module on every read): an index someone else made, with a view that never ends or a trigger that empties a table,
    hangs or changes each run that opens it."""
    for kind, name, sql in db.execute("SELECT type, name, sql FROM sqlite_master WHERE type IN ('view', 'trigger') "
                                      "OR (type = 'table' AND sql LIKE 'CREATE VIRTUAL %')"):
        if kind == "table" or _OWN_CODE.get((kind, name)) != _normal_sql(sql):
            return f"{'virtual table' if kind == 'table' else kind} {name}"
    return None


# ``encodings_held``: which methods a file has, without reading the encodings' rows (a ``copies`` row is ~58 KB, one
# b-tree leaf each: the update's "what does each file hold" read 20,000 of them, 7.6 s on a cold cache; with the
# index 2,000 files took 0.017 s instead of 1.36 s). Made by any writable open of a file made before.
# ``encoding_heads``: what loading a row needs (``Encoder.head_of``: ``copies``' hash, vector, capture stamp, without
# the ~50 KB of features that follow them in its blob), one small row per (file, method) whose encoder has heads, so
# that ``load`` never reads a features blob (reading the heads out of the blobs cost ~1 CPU s a 5,000 rows, most of
# it SQLite reading each ~55 KB blob whole). A derived copy: written with each encoding; the triggers drop a head
# whenever its encoding is written or deleted by anyone (an older imagetwins too, which knows no heads), and
# ``load`` makes the heads that are missing from the blobs (once, kept when the index is writable: the migration of
# an index made before). No new version: older readers ignore the table, a read-only open of an older file reads
# the heads out of the blobs as before.
# ``stale_encodings``: the rows of a method an older imagetwins encoded with other parameters that an upgrade
# (``index update --db``, :meth:`Index.update` of an index opened with ``upgrade``) has still to make again. Marked
# in one transaction when the upgrade starts (meta ``upgrade:METHOD`` holds the identity it upgrades to), each
# marker dropped with the transaction that stores its row's new encoding, the encoder's identity switched only
# once none is left: an upgrade cut short (Ctrl-C, a full disk) keeps every old row it has not replaced, and the
# next update goes on with those alone. Until then every other use refuses the file, as before the upgrade.
# Columns added the same way (no new version): ``files.ctime_ns`` and ``files.inode`` (change detection that does
# not trust size + mtime alone). A writable open adds them to a file made before; its rows hold NULL there until
# the next update records them (such a row is trusted once by size and mtime, as before).
# ``pair_scores.tag`` and ``candidates.tag``: each row's signature (:mod:`imagetwins.rowkeys`): a row without the right
# tag is no score (checked again), so a hand edit of a stored score (a re-shot's 2.5 made 0.99) moves nothing. The rows
# a file made before holds are signed once, by the writable open that adds the column (as ``files`` rows without a
# ctime are trusted once; meta ``signed:TABLE`` says it was done, so a column dropped by hand and added again signs
# nothing); a read-only open of such a file trusts none of them.
_ADDED_COLUMNS = {"files": [("ctime_ns", "INTEGER"), ("inode", "INTEGER")], "pair_scores": [("tag", "BLOB")],
                  "candidates": [("tag", "BLOB")]}
#: how the rows a file made before holds are signed when the tag column is added (see ``_ADDED_COLUMNS``)
# (each field as a blob: a text's UTF-8 is what :func:`rowkeys.row_tag` signs of it, and a text that is not UTF-8, or a
# number in a blob column, reached Python as an exception that refused the whole index; NULL: no tag)
_SIGN_ROWS = {"pair_scores": "UPDATE pair_scores SET tag = imagetwins_row_tag(CAST(method AS BLOB), "
                             "CAST(version AS BLOB), CAST(a AS BLOB), CAST(b AS BLOB), score) "
                             "WHERE typeof(score) = 'real' AND method IS NOT NULL AND version IS NOT NULL "
                             "AND a IS NOT NULL AND b IS NOT NULL",
              "candidates": "UPDATE candidates SET tag = imagetwins_row_tag(CAST(method AS BLOB), "
                            "CAST(version AS BLOB), value) "
                            "WHERE typeof(value) = 'blob' AND method IS NOT NULL AND version IS NOT NULL"}

# schema version -> statements that bring the previous version up to it. Tables added without changing
# what older versions read (``pair_scores``, a cache of costly pair scores; ``facts``, the keep rules' facts
# of each content, :mod:`imagetwins.facts`) need no new version: every
# writable open creates what is missing, and readers treat a missing one as empty, so an index made
# before still opens read-only and an older imagetwins still opens a newer file.
_MIGRATIONS: dict[int, list[str]] = {}


@functools.cache
def _schema_objects() -> frozenset[tuple[str, str]]:
    """(type, name) of every table, view, index and trigger :data:`_SCHEMA` makes, as ``sqlite_master`` lists them."""
    return frozenset(re.findall(r"CREATE (TABLE|VIEW|INDEX|TRIGGER) IF NOT EXISTS (\w+)", _SCHEMA))


@functools.cache
def _own_columns() -> dict[str, frozenset[str]]:
    """Each table imagetwins makes -> the columns every imagetwins that made it wrote (those added later,
    ``_ADDED_COLUMNS``, left out: a file made before lacks them until a writable open adds them)."""
    with closing(sqlite3.connect(":memory:")) as db:
        db.executescript(_SCHEMA)
        added = {(t, c) for t, cols in _ADDED_COLUMNS.items() for c, _ in cols}
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: frozenset(r[1] for r in db.execute(f"PRAGMA table_info({t})") if (t, r[1]) not in added)
                for t in tables}


def _altered_table(db: sqlite3.Connection, tables: set[str]) -> str | None:
    """What was done to a table of ours in the file ``db`` (holding ``tables``) that no imagetwins does, else None:
    the ``meta`` table dropped while others of ours remain, a table of ours without a column every imagetwins
    writes (dropped and made again another shape, a column dropped). Tables missing altogether are not damage
    (a file made before they existed: a writable open makes them)."""
    own = _own_columns()
    if "meta" not in tables:
        return "its table meta is missing" if tables & own.keys() else None
    for table in sorted(tables & own.keys()):
        have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        missing = sorted(own[table] - have)
        if missing:
            return f"its table {table} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
    return None


#: rows read from the database at a time by :meth:`Index.load`
_LOAD_CHUNK = 512


class StoredParts:
    """The bulky parts of one method's stored rows (``copies``' features), read from the index file when a row
    needs them (:attr:`imagetwins.encoders.Encoder.head_bytes`): ``get(file id, part)``.

    Reads go through read-only connections of their own, one per thread at a time (verification runs on
    threads), closed with the index (:meth:`close`; a read after that opens one for itself). A row whose file's
    content changed in the index since it was loaded (another process updated it) is a ``ValueError``, never
    another image's parts."""

    def __init__(self, index: Index, encoder: Encoder) -> None:
        self.path, self.encoder = index.path, encoder
        self._ids = np.empty(0, np.int64)
        self._digests = np.empty(0, "S16")
        self._pool: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def expect(self, ids: Sequence[int], digests: Sequence[bytes]) -> None:
        """The content digest each file id had when its row was loaded."""
        order = np.argsort(np.asarray(ids, np.int64), kind="stable")
        self._ids = np.asarray(ids, np.int64)[order]
        self._digests = np.asarray(digests, "S16")[order] if len(digests) else np.empty(0, "S16")

    def _connect(self) -> sqlite3.Connection:
        return read_only_connection(self.path, check_same_thread=False)  # (as Index opens it read-only)

    def get(self, key: int, part: int) -> bytes:
        with self._lock:
            db = self._pool.pop() if self._pool else None
        if db is None:
            db = self._connect()
        try:
            row = db.execute("SELECT e.value, f.digest FROM encodings e JOIN files f ON f.id = e.file_id "
                             "WHERE e.file_id = ? AND e.method = ?", (key, self.encoder.name)).fetchone()
        finally:
            with self._lock:
                if self._closed:
                    db.close()
                else:
                    self._pool.append(db)
        at = int(np.searchsorted(self._ids, key))
        expected = self._digests[at] if at < len(self._ids) and self._ids[at] == key else b""
        # (numpy's "S16" drops a digest's trailing zero bytes: one file in 256 has one, and its features were
        # refused as changed, its pairs counted as no copies)
        if row is None or not isinstance(row[0], bytes) or (
                expected and (row[1].rstrip(b"\0") if isinstance(row[1], bytes) else row[1]) != expected):
            raise ValueError(f"the stored {self.encoder.name} encoding changed during the run")
        return self.encoder.stored_part(row[0], part)

    def close(self) -> None:
        """Close the connections kept for reading (a later read opens one for itself)."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, []
        for db in pool:
            db.close()

    def __repr__(self) -> str:
        return f"<StoredParts of {self.encoder.name} in {self.path}>"


class Index:
    """Encodings of a collection, kept on disk between runs.

    Parameters
    ----------
    path : path
        The SQLite file (created if missing, in a folder that must exist). A file that is not an
        imagetwins index (text, corrupt, someone else's SQLite database) is refused and left untouched.
    methods : sequence of str
        Methods this index keeps. An index made with other parameters for the same method name is
        refused rather than silently mixed. A new index is made with them; opening an index already made
        writes nothing (a method new to it is registered by the :meth:`update` that stores it).
    readonly : bool or None
        True: open for reading only (``query``, ``load``, ``stats``): nothing is ever written, and a
        read-only file or folder works. None (the default): read and write, or read-only where the index
        file is there but cannot be written (a read-only file, folder or file system; :attr:`unwritable`
        says why, and :meth:`update` refuses in one line). False: read and write, or
        :class:`IndexUnwritableError`.
    create_folder : bool
        Create the file's folder if missing (the per-folder caches do; an explicit ``--db`` does not).
    rebuild_stale : bool
        Drop the encodings (and pair scores) of a method stored with other parameters and make them
        again on the next :meth:`update`, instead of refusing the file: for a cache, which holds nothing
        that cannot be made again (the per-folder caches; an explicit ``--db`` is refused instead).
    upgrade : bool
        Let :meth:`update` make again, in place, the encodings of a method stored with other parameters (an
        older imagetwins): only those rows, each old one kept until its new one is stored, so an upgrade cut
        short loses nothing and the next update goes on with what is left (``index update --db``). Every other
        use of such a method is refused until no old row is left (:meth:`outdated`, :meth:`update_commands`).

    Raises
    ------
    IndexFileError
        One line naming the file and the reason; :class:`IndexMismatchError` (a subclass) for other
        encoder parameters, a newer schema, or a method the index does not hold.

    Examples
    --------
    >>> idx = Index("photos.db", methods=["phash"])            # doctest: +SKIP
    >>> idx.update("photos/")                                 # doctest: +SKIP
    >>> result = idx.find_duplicates("phash", threshold=10)   # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, methods: Sequence[str | Encoder] = ("phash",),
                 readonly: bool | None = None, create_folder: bool = False, rebuild_stale: bool = False,
                 upgrade: bool = False) -> None:
        self.path = Path(path)
        self.readonly = bool(readonly)
        #: why an index opened with ``readonly=None`` was opened read-only: its file cannot be written (None: it can)
        self.unwritable: str | None = None
        self.rebuild_stale = rebuild_stale and not readonly
        self.upgrade = upgrade and not readonly
        #: method -> the identity an upgrade of this index makes its old rows again with (:attr:`upgrade`)
        self._upgrading: dict[str, str] = {}
        #: method -> rows an update left with an older imagetwins's encoding (not under the folder it updated)
        self.upgrade_left: dict[str, int] = {}
        #: (path, reason) of files whose stored encoding could not be read back and was not made again
        self.damaged: dict[str, str] = {}
        #: files stored by :meth:`update` since the index was opened (said when an update is interrupted)
        self.stored = 0
        self.methods = [_method_name(m) for m in methods]
        self._cache: dict[str, tuple[list[str], np.ndarray]] = {}
        #: heads made by a load could not be kept (a full disk, another writer holding the file): not tried again
        self._heads_not_kept = False
        #: (method, version) whose scores of other versions this connection has dropped (put_pair_scores)
        self._pair_versions_kept: set[tuple[str, str]] = set()
        #: the content digests read with the rows a load gave (path -> digest): :meth:`digests` of them reads nothing
        self._loaded_digests: dict[str, Digest] = {}
        self._verified: set[str] = set()
        self._stores: weakref.WeakSet[StoredParts] = weakref.WeakSet()  # closed with the index
        #: caches of folders above this one's (a per-folder cache's: :func:`open_folder_cache`), read-only: a file
        #: new here takes its row from one of them when its size, mtime, ctime and inode are the ones recorded there
        self.donors: list[Path] = []
        self.db: sqlite3.Connection | None = None
        #: the index file held open while the index is (locks.hold_file): its updates take turns on it
        self._held: tuple[int, int] | None = None
        #: whether a ``-wal`` file holding something was beside the index file when it was opened to write (see
        #: _init_schema)
        self._wal_beside = False
        try:
            self._open(create_folder)
        except IndexUnwritableError as exc:
            if readonly is not None:
                raise
            # (an index on a read-only disk, a backup's copy, a file another user shares: read as it is)
            self.unwritable = exc.reason
            self.readonly, self.rebuild_stale, self.upgrade = True, False, False
            self._open(create_folder)

    def _open(self, create_folder: bool) -> None:
        try:
            self.db = self._connect(create_folder)
            made = self._init_schema()
            # (a new index is made with its methods; an index already there is not written by opening it)
            self._check_encoders(self.methods, upgrade=self.upgrade, begin=False, register=made)
        except sqlite3.Error as exc:
            self.close()
            raise self._explain(exc) from None
        except BaseException:  # (an IndexFileError, a file gone meanwhile, Ctrl-C: an index not opened holds nothing:
            self.close()  # its connection and the file's descriptor kept for the update lock given back)
            raise

    def __repr__(self) -> str:
        # (a notebook or a log shows the index: its file, what it holds, how many files; two small reads, no
        # load of encodings and nothing written)
        flags = " read-only" if self.readonly else ""
        if self.db is None:
            return f"<Index {str(self.path)!r}{flags}, closed>"
        try:
            held = [r[0] for r in self.db.execute("SELECT method FROM encoders ORDER BY method")]
            files = self.db.execute("SELECT count(*) FROM files").fetchone()[0]
        except sqlite3.Error as exc:  # (a repr never raises: a file deleted or damaged meanwhile)
            return f"<Index {str(self.path)!r}{flags}: cannot be read ({exc})>"
        opened = [m for m in self.methods if m not in held]
        # (a file someone else made or edited holds any name, or a BLOB: shown escaped, never raw to the terminal)
        methods = ", ".join(printable(m if isinstance(m, str) else repr(m)) for m in held) or "no method yet"
        if opened:
            methods += f" (opened for {', '.join(opened)}: stored by the next update)"
        return f"<Index {str(self.path)!r}{flags}: {counted(files, 'file')}, {methods}>"

    def _explain(self, exc: sqlite3.Error) -> IndexFileError:
        """One line for a SQLite error: which file, and what it means for the user."""
        msg = str(exc)
        if "malformed" in msg:  # (a per-folder cache so damaged is made again: open_folder_cache, finder)
            return IndexDamagedError(f"cannot use the index {self.path}: {msg} (the file is damaged)")
        if "not a database" in msg:
            return IndexFileError(f"{self.path} is not an imagetwins index (not an SQLite file)")
        if "readonly" in msg or "read-only" in msg:
            return self._unwritable(f"cannot write to the index {self.path}: {msg}", msg)
        if "unable to open" in msg and not self.readonly:
            return self._unwritable(f"cannot write to the index {self.path} or its folder ({msg})", msg)
        return IndexFileError(f"cannot use the index {self.path}: {msg}")

    def _unwritable(self, message: str, reason: str) -> IndexFileError:
        """``message`` as :class:`IndexUnwritableError` where an index is there to be read (a file holding
        something, opened to write), else as :class:`IndexFileError`."""
        try:
            there = not self.readonly and self.path.is_file() and self.path.stat().st_size > 0
        except OSError:
            there = False
        return IndexUnwritableError(message, reason) if there else IndexFileError(message)

    def _connect(self, create_folder: bool) -> sqlite3.Connection:
        try:  # through links, as SQLite opens it; a FIFO or device there is named, not opened (or waited on)
            st = os.stat(self.path)
        except OSError:
            st = None
        mode = None if st is None else st.st_mode
        if mode is not None and not stat.S_ISREG(mode):
            raise IndexFileError(f"{self.path} is {describe_mode(mode)}, not an index file")
        if self.readonly:
            if not self.path.is_file():
                raise IndexFileError(f"no index at {self.path}; make one with 'imagetwins index update DIR "
                                     f"--db {shell_word(self.path)}'")
            # mode=ro never writes; immutable=1 reads a WAL index whose folder we may not write to either
            self._held = hold_file(self.path)
            db = read_only_connection(self.path)
            db.text_factory = _text
            return db
        beside = beside_refused(self.path, write=True)  # (SQLite refuses a link there, in words that blame the index
        if beside is not None:  # or its folder, and waits for ever on a FIFO)
            raise IndexFileError(f"cannot write to the index {self.path}: {beside}, left as it is")
        leads_to = link_refused(self.path)
        if leads_to is not None:
            raise IndexFileError(f"{self.path} is a symbolic link to {leads_to}, not to an index: no index is made "
                                 "through it")
        parent = self.path.parent
        if not parent.is_dir():
            if not create_folder:
                raise IndexFileError(f"cannot create the index {self.path}: {no_folder_reason(parent)}")
            try:
                check_home(parent)  # (HOME=/nonexistent: no cache, rather than a home folder made for it)
                parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # (its files' names say which folders)
            except NoHomeFolder as exc:
                raise NoHomeCacheError(f"cannot create the index {self.path}: {exc.strerror}", exc.strerror) from None
            except OSError as exc:
                raise IndexFileError(f"cannot create the folder of the index {self.path}: "
                                     f"{exc.strerror or exc}") from None
        if self.path.exists():
            try:
                with open(self.path, "r+b") as fh:
                    reason = several_names(os.fstat(fh.fileno()))
                if reason is not None:
                    raise self._unwritable(f"cannot write to the index {self.path}: {reason}", reason)
            except OSError as exc:
                line = f"cannot write to the index {self.path}: {exc.strerror or exc}"
                if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                    raise self._unwritable(line, exc.strerror or str(exc)) from None
                raise IndexFileError(line) from None
        else:  # a new index holds the paths of a person's photos: the owner's alone (SQLite gives its -wal and
            # -shm the same mode), as the decision store and the quarantine's journal
            try:
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                                 0o600))
            except FileExistsError:
                pass
            except OSError as exc:
                raise IndexFileError(f"cannot write the index {self.path} ({exc.strerror or exc})") from None
        self._held = hold_file(self.path)
        try:  # (before SQLite makes one; an empty one is what a read-only open leaves, no run's contents)
            self._wal_beside = os.path.getsize(f"{os.path.realpath(self.path)}-wal") > 0
        except OSError:
            self._wal_beside = False
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        db.text_factory = _text
        return db

    # -- schema ---------------------------------------------------------------------------------
    def _init_schema(self) -> bool:
        """Check the file is an index of ours (and make or migrate its schema where it may be written); whether the
        file was no index yet (made now)."""
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        altered = _altered_table(self.db, tables) if tables else None
        if altered is not None:  # (an index of ours changed by hand or by another program: a cache is made again)
            raise IndexDamagedError(f"{self.path} is damaged ({altered}); it is left untouched")
        if tables and "meta" not in tables:
            raise IndexFileError(f"{self.path} is an SQLite file but not an imagetwins index; "
                                 "it is left untouched")
        foreign = _foreign_code(self.db)
        if foreign is not None:
            raise ForeignCodeError(f"{self.path} is not an imagetwins index: its {foreign} is none imagetwins makes "
                                   "(SQL that would run inside every read or write of it); it is left untouched")
        if self.readonly:
            if not tables:
                raise self._holds_no_table()
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None or _schema_number(row[0]) is None:
                raise IndexDamagedError(f"{self.path} is damaged (its schema version is {_shown(row)}); "
                                        "make it again with 'imagetwins index update'")
            number = _schema_number(row[0])
            if number > SCHEMA_VERSION:  # (what the line of an index opened to write says, read-only too)
                raise IndexMismatchError(f"{self.path} was written by a newer imagetwins (schema {number} > "
                                         f"{SCHEMA_VERSION}); upgrade imagetwins")
            if number != SCHEMA_VERSION:
                raise IndexMismatchError(f"{self.path} has index schema {row[0]}; this imagetwins reads schema "
                                         f"{SCHEMA_VERSION}: 'imagetwins index update' on it (where it may be written) "
                                         "brings it up to date")
            return False
        version = self._stored_schema() if tables else None
        # only now that the file is known to be ours (or empty) may it be changed, and only where it must be: an index
        # of this schema is opened without a write (a backup's copy, a file another reader holds)
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        if version == SCHEMA_VERSION and self._schema_complete():
            if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self.db.execute("PRAGMA journal_mode=WAL")
            return False
        if not tables and os.stat(self.path).st_size > 0:
            ours = self._marked_ours()
            if ours and self.db.execute("SELECT 1 FROM sqlite_master WHERE type='table'").fetchone():
                return self._init_schema()  # (made by another run meanwhile: its mark and tables come in one commit)
            if not ours or not self._wal_beside:
                # an SQLite file holding no table that no imagetwins began (another program's empty database), or one
                # an older imagetwins marked and kept the tables of in its -wal a while, with no -wal beside it: a
                # copy made while that run held it (it was made again, empty, as if new): never written into
                raise self._holds_no_table()
        # (a new index: its mark, tables and version in one commit to the file itself, WAL after, so no copy of it and
        # no other run ever finds it marked ours without its tables; a first run that waited for another's lock finds
        # its index there and makes nothing)
        with self._transaction():
            # (looked at again under the lock: another process may have made the index since, two first runs at once)
            version = self._stored_schema()
            for stmt in _SCHEMA.strip().split(";\n"):
                if stmt.strip():
                    self.db.execute(stmt)
            for table, columns in _ADDED_COLUMNS.items():
                have = {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}
                for column, kind in columns:
                    if column not in have:
                        self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                        if column == "tag" and self.db.execute(  # (once: a column dropped by hand signs nothing)
                                "SELECT 1 FROM meta WHERE key = ?", (f"signed:{table}",)).fetchone() is None:
                            # (the key found once: row_key() on each row was 15 of its 17 us, 17 s for 1 M rows)
                            self.db.create_function("imagetwins_row_tag", -1,
                                                    functools.partial(row_tag, key=row_key()), deterministic=True)
                            self.db.execute(_SIGN_ROWS[table])
                            self.db.execute("INSERT INTO meta VALUES (?, '1')", (f"signed:{table}",))
            if version is None:
                self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                self.db.execute("INSERT INTO meta VALUES ('created', ?)", (time.strftime("%Y-%m-%dT%H:%M:%S"),))
                # (what tells this index from another made in the same second: a plan records it, plan.index_record)
                self.db.execute("INSERT INTO meta VALUES ('id', ?)", (os.urandom(16).hex(),))
            else:
                for v in range(version + 1, SCHEMA_VERSION + 1):
                    for stmt in _MIGRATIONS.get(v, []):
                        self.db.execute(stmt)
                if version != SCHEMA_VERSION:
                    self.db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))
        self.db.execute("PRAGMA journal_mode=WAL")
        return version is None

    def _holds_no_table(self) -> IndexFileError:
        """Why a file holds no table: empty (opened read-only), or an SQLite file whose tables never reached it (an
        index copied while a run held its contents in the ``-wal`` file beside it, a copy cut short, an index still
        being made)."""
        try:
            empty = self.path.stat().st_size == 0
        except OSError:
            empty = False
        if empty:
            return IndexFileError(f"{self.path} is an empty file, not an imagetwins index")
        if self._marked_ours():
            return IndexDamagedError(
                f"{self.path} is an index copied without its {self.path.name}-wal file, where the run that made it "
                "still kept its tables: it holds none; it is left untouched: copy it again with its -wal once no run "
                "writes it, or delete it and make it again with 'imagetwins index update'")
        return IndexDamagedError(
            f"{self.path} is an incomplete index or another program's empty database (an SQLite file holding no "
            f"table): copied without its {self.path.name}-wal file, where a run still kept its contents, or cut "
            "short; it is left untouched: copy it again with its -wal once no run writes it, or delete it and make it "
            "again with 'imagetwins index update'")

    def _marked_ours(self) -> bool:
        """Whether the file's header carries imagetwins's mark (:data:`APPLICATION_ID`), which a new index gets in the
        commit that makes its tables (an older imagetwins wrote it first, and kept the tables in the -wal a while)."""
        try:
            return self.db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        except sqlite3.Error:
            return False

    def _stored_schema(self) -> int | None:
        """The schema version the file records (None: no index made in it yet); a damaged or newer one refused."""
        if self.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone() is None:
            return None
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        version = None if row is None else _schema_number(row[0])
        if row is not None and version is None:
            raise IndexDamagedError(f"{self.path} is damaged (its schema version is {_shown(row)})")
        if version is not None and version > SCHEMA_VERSION:
            raise IndexMismatchError(f"{self.path} was written by a newer imagetwins (schema {version} > "
                                     f"{SCHEMA_VERSION}); upgrade imagetwins")
        return version

    def _schema_complete(self) -> bool:
        """Whether the file holds every table, index, view, trigger and column of :data:`_SCHEMA` (an index an older
        imagetwins of this schema made may lack one added since: made on open)."""
        held = set(self.db.execute("SELECT upper(type), name FROM sqlite_master"))
        if not _schema_objects() <= held:
            return False
        return all({r[1] for r in self.db.execute(f"PRAGMA table_info({table})")} >= {c for c, _ in columns}
                   for table, columns in _ADDED_COLUMNS.items())

    @_explained
    def stored_methods(self) -> list[str]:
        """The methods this index holds encodings for (its registered encoders)."""
        return sorted(r[0] for r in self.db.execute("SELECT method FROM encoders"))

    def _check_encoders(self, methods: Sequence[str], upgrade: bool = False, begin: bool = True,
                        register: bool = True) -> None:
        """Refuse methods stored with other parameters (with ``upgrade``, on an index opened with :attr:`upgrade`:
        mark their rows to be made again instead, :meth:`_begin_upgrade`, when ``begin``, else leave them to the
        update that does); register new ones (unless read-only, or not ``register``: opening an index writes
        nothing, a method new to it is registered by the update that stores its encodings)."""
        todo = [m for m in methods if m not in self._verified]
        if not todo:
            return
        stored = dict(self.db.execute("SELECT method, identity FROM encoders").fetchall())
        upgrades = dict(self.db.execute("SELECT substr(key, 9), value FROM meta WHERE substr(key, 1, 8) = 'upgrade:'"))
        old: set[str] = set()  # (to make again: checked again once that is done)
        for m in todo:
            want = json.dumps(encoder_identity(m), sort_keys=True)
            if m in stored and stored[m] == want and upgrades.get(m, want) != want:
                self._other_upgrade(m, upgrades[m])
                stored.pop(m)  # (a cache: the method made again, as new)
            if m in stored and stored[m] != want:
                self._refuse_newer(m, stored[m], want)
            if m in stored and stored[m] != want and upgrade and self.upgrade:
                if begin:
                    self._begin_upgrade(m, want)
                old.add(m)
                continue
            if m in stored and stored[m] != want and self.rebuild_stale:
                with self._transaction() as db:  # a cache: what it held for m is made again by the next update
                    db.execute("DELETE FROM encodings WHERE method = ?", (m,))
                    db.execute("DELETE FROM pair_scores WHERE method = ?", (m,))
                    db.execute("DELETE FROM candidates WHERE method = ?", (m,))
                    db.execute("UPDATE encoders SET identity = ? WHERE method = ?", (want, m))
                stored[m] = want
            if m in stored and stored[m] != want:
                raise IndexMismatchError(self._outdated_line(m, stored[m], want))
        new = [m for m in todo if m not in stored]
        registered = register and not self.readonly
        if new and registered:
            with self._transaction():
                self.db.executemany("INSERT OR IGNORE INTO encoders VALUES (?, ?)",
                                    [(m, json.dumps(encoder_identity(m), sort_keys=True)) for m in new])
        self._verified.update(m for m in todo if m not in old and (m in stored or registered))

    def _other_upgrade(self, method: str, other: str) -> None:
        """``method``'s rows are this imagetwins's identity, but another imagetwins (making ``other``) began an upgrade
        of them and left it unfinished: the rows it made again are its own, not this one's. Refused (a cache: the
        method's rows are dropped, to be made again as a method new to it)."""
        if self.rebuild_stale:
            with self._transaction() as db:
                for table in ("encodings", "stale_encodings", "pair_scores", "candidates", "encoders"):
                    db.execute(f"DELETE FROM {table} WHERE method = ?", (method,))
                db.execute("DELETE FROM meta WHERE key = ?", (f"upgrade:{method}",))
            return
        made = self.db.execute("SELECT (SELECT count(*) FROM encodings WHERE method = ?) - (SELECT count(*) FROM "
                               "stale_encodings WHERE method = ?)", (method, method)).fetchone()[0]
        run = " and ".join(f"'{c}'" for c in self.update_commands())
        raise IndexMismatchError(f"{self.path}: another imagetwins's upgrade of its {method} encodings is unfinished "
                                 f"({made:,} made again by it, {other}): this imagetwins cannot use them; finish it "
                                 f"with that imagetwins ({run}), or use another --db")

    def _refuse_newer(self, method: str, stored: str, want: str) -> None:
        """Refuse ``method``'s rows a newer imagetwins made (:func:`_newer`), unless the index is a cache (made
        again, as any other): an upgrade in place would make them older, and the newer imagetwins would make them
        again in turn, for ever."""
        newer = None if self.rebuild_stale else _newer(stored, want)
        if newer:
            raise IndexMismatchError(f"{self.path} holds {method} encodings a newer imagetwins made ({newer}): this "
                                     "imagetwins cannot use them and leaves them as they are; upgrade imagetwins, or "
                                     "use another --db")

    def _outdated_line(self, method: str, stored: str, want: str) -> str:
        """The one line refusing ``method``'s rows made with other parameters (``stored``), naming the commands that
        make them again (an upgrade begun and cut short: how many rows it has left)."""
        run = " and ".join(f"'{c}'" for c in self.update_commands())
        try:
            begun = self.db.execute("SELECT value FROM meta WHERE key = ?", (f"upgrade:{method}",)).fetchone()
            left = self.db.execute("SELECT count(*) FROM stale_encodings WHERE method = ?", (method,)).fetchone()[0]
        except sqlite3.Error:  # (a file made before the table, opened read-only: no upgrade begun)
            begun, left = None, 0
        if begun is not None and begun[0] == want:
            return (f"{self.path}: the upgrade of its {method} encodings to this imagetwins is unfinished ({left:,} "
                    f"still an older imagetwins's: cut short, or in folders not updated since); {run} goes on with "
                    "them (the ones made again are kept)")
        if self.unwritable is not None:  # ('index update' cannot make them again in a file it may not write)
            return (f"{self.path} holds {method} encodings made by an older imagetwins or with other parameters "
                    f"({stored}); this imagetwins makes {want}, and the index cannot be written ({self.unwritable}) "
                    f"to make them again: use --no-cache, or another --db (a copy of it you may write, then {run} "
                    "with that copy's name)")
        return (f"{self.path} holds {method} encodings made by an older imagetwins or with other parameters "
                f"({stored}); this imagetwins makes {want}. {run} makes them again in place (each old one kept until "
                "its new one is stored, with the index's other methods and decisions), or use another --db.")

    def _begin_upgrade(self, method: str, want: str) -> None:
        """Mark every row of ``method`` to be made again with the identity ``want`` (once: an upgrade cut short
        goes on with the rows it left marked); the identity stays the old one until none is left."""
        with self._transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (f"upgrade:{method}",)).fetchone()
            if row is None or row[0] != want:  # (another upgrade cut short: its rows are not this one's either)
                db.execute("DELETE FROM stale_encodings WHERE method = ?", (method,))
                db.execute("INSERT INTO stale_encodings SELECT file_id, method FROM encodings WHERE method = ?",
                           (method,))
                db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"upgrade:{method}", want))
        self._upgrading[method] = want

    def _finish_upgrades(self) -> None:
        """Switch each method upgraded whose every old row was made again to this imagetwins's identity (its pair
        scores and kept candidate search, made from the old rows, dropped); count the rows left of the others."""
        for method, want in list(self._upgrading.items()):
            with self._transaction() as db:
                left = db.execute("SELECT count(*) FROM stale_encodings WHERE method = ?", (method,)).fetchone()[0]
                if not left:
                    db.execute("DELETE FROM pair_scores WHERE method = ?", (method,))
                    db.execute("DELETE FROM candidates WHERE method = ?", (method,))
                    db.execute("UPDATE encoders SET identity = ? WHERE method = ?", (want, method))
                    db.execute("DELETE FROM meta WHERE key = ?", (f"upgrade:{method}",))
            if left:
                self.upgrade_left[method] = left
            else:
                self.upgrade_left.pop(method, None)
                del self._upgrading[method]
                self._verified.add(method)

    @_explained
    def outdated(self, methods: Sequence[str | Encoder] = ()) -> dict[str, int]:
        """Method -> how many of its rows an older imagetwins (or other parameters) made, which an upgrade
        (:attr:`upgrade`, ``index update --db``) makes again: every method the index holds, and ``methods``."""
        stored = dict(self.db.execute("SELECT method, identity FROM encoders").fetchall())
        out = {}
        for m in sorted({*stored, *map(_method_name, methods)} & stored.keys()):
            want = json.dumps(encoder_identity(m), sort_keys=True)
            if stored[m] == want:
                continue
            self._refuse_newer(m, stored[m], want)
            begun = self.db.execute("SELECT value FROM meta WHERE key = ?", (f"upgrade:{m}",)).fetchone()
            if begun is not None and begun[0] == want:
                out[m] = self.db.execute("SELECT count(*) FROM stale_encodings WHERE method = ?", (m,)).fetchone()[0]
            else:
                out[m] = self.db.execute("SELECT count(*) FROM encodings WHERE method = ?", (m,)).fetchone()[0]
        return out

    def update_commands(self) -> list[str]:
        """The ``imagetwins index update`` command lines that bring this index up to date: one per folder it was
        updated from (``root:`` records; with -r where that update took the sub-folders, a folder inside one
        taken so left out); the ``DIR`` placeholder when it records none."""
        try:
            roots = _updated_roots(dict(self.db.execute("SELECT key, value FROM meta WHERE key LIKE 'root:%'")))
        except sqlite3.Error:
            roots = []
        db = shell_word(self.path)
        return [f"imagetwins index update {shell_word(r)}{' -r' if below else ''} --db {db}" for r, below, _ in roots
                ] or [f"imagetwins index update DIR --db {db}"]

    def adding_commands(self, method: str) -> str:
        """The quoted ``index update`` command lines (of :meth:`update_commands`) that add ``method``'s encodings."""
        return " and ".join(f"'{command} -m {method}'" for command in self.update_commands())

    def require(self, method: str) -> str:
        """The stored name of ``method``; :class:`IndexMismatchError` naming the methods held if it is not held."""
        name = _method_name(method)
        held = self.stored_methods()
        if name not in held:
            has = ", ".join(held) if held else "no encodings yet"
            raise IndexMismatchError(
                f"{self.path} holds no {name} encodings (it holds: {has}); add them with "
                f"{self.adding_commands(name)}, or ask for one of those methods")
        self._check_encoders([name])
        return name

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, exc_type, exc, tb) -> None:
            if exc_type is None:
                self.db.execute("COMMIT")
            elif self.db.in_transaction:  # SQLite ends it by itself on some errors (a full disk): "cannot
                self.db.execute("ROLLBACK")  # rollback - no transaction is active" hid the real reason

    def _transaction(self) -> Index._Tx:
        return Index._Tx(self.db)

    def close(self) -> None:
        for store in self._stores:
            store.close()
        if self.db is not None:
            self.db.close()
            self.db = None
        let_go(self._held)  # (after the connection: see locks.hold_file)
        self._held = None

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------------
    def update(self, root: str | os.PathLike, recursive: bool = True, workers: int | None = None,
               progress: bool = False, methods: Sequence[str] | None = None,
               follow_symlinks: bool = False, forget_below: bool = False,
               progress_label: str = "indexing") -> UpdateStats:
        """Bring the index in line with the files under ``root``: encode new and changed files, forget
        deleted ones. Unchanged files are not read; unreadable files are remembered with their reason
        (and retried once they change).

        Parameters
        ----------
        recursive : bool
            Take ``root``'s sub-folders too. Without them only ``root``'s own files are brought up to date, and what
            the index holds of its sub-folders is kept as it is (a run without ``-r`` once, then with it again,
            reads nothing twice), unless ``forget_below``.
        forget_below : bool
            With ``recursive`` False: forget the files the index holds in ``root``'s sub-folders
            (``index update --no-recursive``).
        follow_symlinks : bool
            Follow symbolic links that lead out of ``root`` (see :func:`imagetwins.io.find_images`);
            by default each is remembered as skipped.
        progress_label : str
            What the progress bar calls the work: ``indexing`` (``index update``); a find that brings its cache or
            ``--db`` up to date says ``encoding``, as a find without one does.
        methods : sequence of str, optional
            Methods to bring up to date. Default: every method the index holds plus those it was
            opened with (``phash`` for a new index opened with none), so no stored method is left
            stale. A file's encodings of other methods are dropped when the file changes (they would
            be stale); they are made again when asked for.
        """
        if self.readonly:
            raise IndexFileError(f"cannot write to the index {self.path}: {self.unwritable} (opened read-only)"
                                 if self.unwritable else f"{self.path} was opened read-only")
        start = time.perf_counter()
        try:
            # (one update of the index at a time: updates of one folder at once each encoded every new file, and
            # each said it added them all)
            with one_update(self._held, lambda pid: warn_line(f"another run is updating the index {self.path}{pid}: "
                                                             "waiting for it to end")):
                wanted = [_method_name(m) for m in methods] if methods is not None else sorted(
                    {*self.methods, *self.stored_methods()}) or ["phash"]
                self._check_encoders(wanted, upgrade=True)
                stats = self._update(Path(root).resolve(), recursive, workers, progress, wanted, follow_symlinks,
                                     forget_below, progress_label)
        except sqlite3.Error as exc:
            raise self._explain(exc) from None
        self._cache.clear()
        self._loaded_digests.clear()
        stats.seconds = time.perf_counter() - start
        return stats

    def _update(self, root: Path, recursive: bool, workers: int | None, progress: bool,
                wanted: list[str], follow_symlinks: bool = False, forget_below: bool = False,
                progress_label: str = "indexing") -> UpdateStats:
        stats = UpdateStats()
        on_disk: dict[str, tuple[int, int, int, int]] = {}
        skipped: list[ReadFailure] = []
        found = find_image_paths(root, recursive=recursive, skipped=skipped, follow_symlinks=follow_symlinks)
        not_read = {f.path: f.reason for f in skipped}
        for path in not_read:  # links, FIFOs, devices: remembered with the reason, never read
            try:
                on_disk[path] = file_state(os.lstat(path))
            except OSError:
                on_disk[path] = _NO_STATE
        for path in found:
            try:
                on_disk[path] = file_state(os.stat(path))
            except OSError:
                on_disk[path] = _NO_STATE  # a broken link or a vanished file: recorded with its reason
        # without the sub-folders, what is held of them is theirs to keep unless asked to forget it
        keep_below = not recursive and not forget_below
        where, args = self._under(root, recursive=not keep_below)
        # (a row an upgrade has still to make again counts as missing: :meth:`_begin_upgrade`)
        stale = "(SELECT group_concat(s.method) FROM stale_encodings s WHERE s.file_id=f.id)" if self._upgrading \
            else "NULL"
        known = {
            _from_db(path): (fid, (size, mtime, ctime, inode), error,
                             (set(held.split(",")) if held else set()) - (set(old.split(",")) if old else set()),
                             digest)
            for fid, path, size, mtime, ctime, inode, error, held, old, digest in self.db.execute(
                "SELECT f.id, f.path, f.size, f.mtime_ns, x.ctime_ns, x.inode, f.error, "
                f"(SELECT group_concat(e.method) FROM encodings e WHERE e.file_id=f.id), {stale}, f.digest "
                f"FROM file_paths f JOIN files x ON x.id = f.id WHERE {where}", args)
        }
        gone = {fid: path for path, (fid, *_rest) in known.items() if path not in on_disk}
        # (a row a moved file takes is one of them: its file is gone from that path; a file the index only knew as
        # unreadable, or a link it never read, was never one of its images: its row goes, uncounted)
        stats.removed = sum(not known[path][2] for path in gone.values())
        # (methods to encode) -> files; a new or changed file gets every wanted method, an unchanged
        # one only those it lacks
        todo: dict[tuple[str, ...], list[str]] = {}
        fresh: set[str] = set()
        # the count each file to read was put in ("added", "changed", ...): one it cannot read moves to the unreadable
        counted: dict[str, str] = {}

        def unreadable(paths) -> None:
            for p in paths:
                which = counted.pop(p, None)
                if which is not None:
                    setattr(stats, which, getattr(stats, which) - 1)
                if which == "unchanged":  # a file recorded unreadable read again (a crashed decoder): still it
                    stats.known_unreadable += 1
                else:
                    stats.unreadable += 1
        first_seen: list[tuple[int, int, int]] = []  # rows made before ctime and inode were kept: recorded now
        for path, state in on_disk.items():
            old = known.get(path)
            changed = old is None or changed_since(old[1], state)
            if old is not None and changed and _same_bytes_moved(path, old, state):
                # moved away and back (remove, then undo), copied back with its dates: the same bytes under a new
                # ctime or inode (the SHA-256 read again says so): the row stands, with the file's new state
                first_seen.append((state[2], state[3], old[0]))
                old = (old[0], state, *old[2:])
                changed = False
            if changed:
                todo.setdefault(tuple(wanted), []).append(path)
                fresh.add(path)
                if old is None:
                    stats.added += 1
                    counted[path] = "added"
                else:
                    stats.changed += 1
                    counted[path] = "changed"
                continue
            if old[1][2] is None or old[1][3] is None:
                first_seen.append((state[2], state[3], old[0]))
            if read_again(path, None if old[2] is None else str(old[2])):
                todo.setdefault(tuple(wanted), []).append(path)
                fresh.add(path)
                stats.unchanged += 1
                counted[path] = "unchanged"
                continue
            missing = tuple(m for m in wanted if m not in old[3])
            if missing and old[2] is None:
                todo.setdefault(missing, []).append(path)
                counted[path] = "remade" if self._upgrading.keys() & set(missing) else "completed"
                setattr(stats, counted[path], getattr(stats, counted[path]) + 1)
            elif old[2] is not None:
                stats.known_unreadable += 1
            else:
                stats.unchanged += 1
        hashed: dict[str, tuple[str, tuple]] = {}  # (files read for that and not taken: their SHA-256 known)
        if tuple(wanted) in todo:  # (before the rows of files gone are deleted: a moved file's row is one of them)
            free = dict(gone)  # (a new file takes the row of a file gone with its bytes whole: no copy)
            moved, hashed = self._reuse_contents([p for p in todo[tuple(wanted)] if p in fresh and p not in not_read],
                                                 wanted, on_disk, fresh, free,
                                                 {path: row[0] for path, row in known.items()})
            gone = {fid: path for fid, path in gone.items() if fid in free}
            if moved:
                stats.reused += len(moved)
                todo[tuple(wanted)] = [p for p in todo[tuple(wanted)] if p not in moved]
                if not todo[tuple(wanted)]:
                    del todo[tuple(wanted)]
        # (a row still at the path that is gone: another update of this index may have given it to a moved file)
        gone_rows = [(fid, *os.path.split(_to_db(path))) for fid, path in gone.items()]
        for i in range(0, len(gone_rows), 900):
            with self._transaction() as db:
                db.executemany("DELETE FROM files WHERE id = ? AND dir_id = (SELECT id FROM dirs WHERE path = ?) "
                               "AND name = ?", gone_rows[i:i + 900])
        if first_seen:
            with self._transaction() as db:
                db.executemany("UPDATE files SET ctime_ns = ?, inode = ? WHERE id = ?", first_seen)
        if forget_below and not recursive:
            # the sub-folders' files were forgotten: so are the updates of those sub-folders (their folders stayed in
            # the index's record, and it said "N added" and "half-built" of them for ever after)
            below = _to_db(str(root).rstrip(os.sep) + os.sep)
            with self._transaction() as db:
                for kind in ("root:", "updating:"):
                    db.execute("DELETE FROM meta WHERE substr(key, 1, ?) = ?", (len(kind + below), kind + below))
        total = sum(len(v) for v in todo.values())
        bar = None
        if progress and total:
            from imagetwins.progress import progress_bar

            bar = progress_bar(total=total, unit="img", desc=progress_label)
        # what this update is for, kept until it ends: an update cut short (Ctrl-C, kill -9, a full disk) leaves its
        # marker, so a query can say the index is half-built (what was stored so far is kept and used)
        # (an update that kept the sub-folders' files leaves a record that takes them in as it was: they are held)
        took_below = recursive or (keep_below and self._took_below(root))
        self._set_meta(f"root:{_to_db(str(root))}", json.dumps({"recursive": took_below, "follow": follow_symlinks}))
        if total:
            self._set_meta(f"updating:{_to_db(str(root))}", json.dumps({"files": total, "methods": wanted,
                                                                        "started": time.time()}))

        def keep(part: encoding.Encodings) -> None:
            """Store one decoding batch at once (its own transaction): an interrupted update keeps it."""
            values, digests, failures, retry = self._collect(part, encoders)
            unreadable([*failures, *(f.path for f in retry)])
            stats.failures += [ReadFailure(p, r) for p, r in failures.items()] + retry
            # a timeout says nothing about the file: not remembered, so the next run tries it again
            self._store([*part.paths, *failures], on_disk, values, digests, failures, fresh)
            self.stored += len(part.paths) + len(failures)

        if self.donors and tuple(wanted) in todo:
            new = [p for p in todo[tuple(wanted)] if p not in not_read]
            adopted = self._adopt(new, wanted, on_disk, fresh)
            if adopted:
                todo[tuple(wanted)] = [p for p in todo[tuple(wanted)] if p not in adopted]
                if bar is not None:
                    bar.update(len(adopted))
        for which, paths in todo.items():
            refused = [p for p in paths if p in not_read]
            if refused:
                unreadable(refused)
                stats.failures += [ReadFailure(p, not_read[p]) for p in refused]
                self._store(refused, on_disk, {}, {}, not_read, fresh)
                self.stored += len(refused)
                if bar is not None:
                    bar.update(len(refused))
            paths = [p for p in paths if p not in not_read]
            encoders = [get_encoder(m).for_workers(workers) for m in which]
            size = min([STORE_BATCH, *(e.batch_size for e in encoders)])
            for chunk in _chunks_by_size(paths, on_disk, BATCH * 16):  # (bounded; stored batch by batch)
                encode_files(chunk, encoders, workers=workers, warn=False,
                             timeout=encoding.DECODE_TIMEOUT, progress=bar or False, on_batch=keep, batch_size=size,
                             facts=True, known_digests=hashed)
        if bar is not None:
            bar.close()
        if gone or stats.changed:
            self._forget_pair_scores()
        if total:
            with self._transaction() as db:
                db.execute("DELETE FROM meta WHERE key = ?", (f"updating:{_to_db(str(root))}",))
        self._finish_upgrades()
        return stats

    def _adopt(self, paths: list[str], methods: list[str], on_disk: dict, fresh: set[str]) -> set[str]:
        """Store, without reading them, the files of ``paths`` that a cache in :attr:`donors` (opened read-only)
        holds with every one of ``methods`` made with the same parameters, and whose size, mtime, ctime and inode
        are the ones recorded there (the rule this cache applies to its own rows); returns those paths. The
        donor's pair scores of two contents taken so are taken too (:meth:`_adopt_pair_scores`): a ``--db`` run
        beside a folder's cache verified every pair again."""
        adopted: set[str] = set()
        want = {m: json.dumps(encoder_identity(m), sort_keys=True) for m in methods}
        for donor in self.donors:
            taken: set[bytes] = set()  # (the contents taken from this donor: its pair scores of them are taken too)
            left = [p for p in paths if p not in adopted]
            if not left:
                break
            try:
                db = read_only_connection(donor)  # (never waits on a FIFO beside it, nor leaves a -wal there)
            except (sqlite3.Error, OSError, ValueError):
                continue
            try:
                if _foreign_code(db) is not None:
                    continue  # (SQL of someone else's would run inside the reads below)
                schema = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                theirs = dict(db.execute("SELECT method, identity FROM encoders").fetchall())
                if schema != (str(SCHEMA_VERSION),) or any(theirs.get(m) != w for m, w in want.items()):
                    continue  # other parameters: its rows are not ours
                for i in range(0, len(left), STORE_BATCH):
                    values: dict[str, dict[str, bytes]] = {}
                    digests: dict[str, str] = {}
                    facts: list[tuple] = []
                    for path in left[i:i + STORE_BATCH]:
                        folder, name = os.path.split(_to_db(path))  # (through the unique keys: no table scan)
                        row = db.execute("SELECT x.id, x.size, x.mtime_ns, x.ctime_ns, x.inode, x.digest, x.error "
                                         "FROM dirs d JOIN files x ON x.dir_id = d.id WHERE d.path = ? AND x.name = ?",
                                         (folder, name)).fetchone()
                        if row is None or row[6] is not None or row[5] is None or tuple(row[1:5]) != on_disk[path]:
                            continue
                        blobs = dict(db.execute(
                            f"SELECT method, value FROM encodings WHERE file_id = ? AND method IN "
                            f"({','.join('?' * len(methods))})", (row[0], *methods)).fetchall())
                        if len(blobs) != len(methods):
                            continue
                        values[path], digests[path] = blobs, bytes(row[5]).hex()
                        facts += db.execute("SELECT digest, version, value FROM facts WHERE digest = ? AND version = ?",
                                            (row[5], FACTS_VERSION)).fetchall()
                    if values:
                        self._store(list(values), on_disk, values, digests, {}, fresh)
                        with self._transaction() as own:
                            own.executemany("INSERT OR IGNORE INTO facts VALUES (?, ?, ?)", facts)
                        self.stored += len(values)
                        adopted.update(values)
                        taken.update(bytes.fromhex(d) for d in digests.values())
                self._adopt_pair_scores(db, taken)
            except sqlite3.Error:
                continue  # a cache that cannot be read is only not used
            finally:
                db.close()
        return adopted

    def _reuse_contents(self, paths: list[str], methods: list[str], on_disk: dict, fresh: set[str],
                        free: dict[int, str] | None = None, held: Mapping[str, int] | None = None
                        ) -> tuple[set[str], dict[str, tuple[str, tuple]]]:
        """Store, without decoding them, the files of ``paths`` (new or changed) whose bytes a row of this index
        already holds with every one of ``methods`` (not stale: made with the identity the index holds now): that
        row's encodings are copied, and its facts and pair scores, kept by content digest, are theirs already.
        Returns those paths, and the SHA-256 (hex) of each file read and not so stored with its
        :func:`encoding.file_state` then (``encode_files``' ``known_digests``: it is not hashed twice). A file is
        read and its SHA-256 taken only where a stored row of its size exists (a first scan reads nothing more); the
        bytes decide (a file of that size but other bytes is encoded).

        ``free``: the rows of files gone (deleted after this), with their paths; a file with no row yet (not in
        ``held``, path -> its row) takes one of them holding its bytes as it is, renamed, which leaves ``free``: a
        reorganised library's rows are moved, not copied (copied, the index file grew by all it held, and SQLite
        keeps the pages freed after). A file whose own row holds its bytes (a new mtime, a hard link to the same
        bytes) only gives that row its new state."""
        free = {} if free is None else free
        held = {} if held is None else held
        row_sets: dict[tuple[bytes, bool], set[int]] = {}  # (a content's rows, as a set: is a file's own one of them)
        reused: set[str] = set()
        hashed: dict[str, tuple[str, tuple]] = {}
        by_size: dict[int, list[str]] = {}
        for path in paths:
            if on_disk[path][0] >= 0:
                by_size.setdefault(on_disk[path][0], []).append(path)
        sizes = sorted(by_size)
        # size -> (digest, RAW name) -> file ids: a content is decoded as RAW or not by its name (as encode_files
        # keys its byte copies), so a .jpg renamed .dng is decoded again
        stored: dict[int, dict[tuple[bytes, bool], list[int]]] = {}
        for i in range(0, len(sizes), 900):
            chunk = sizes[i:i + 900]
            for fid, name, size, digest in self.db.execute(
                    f"SELECT id, name, size, digest FROM files WHERE error IS NULL AND digest IS NOT NULL "
                    f"AND size IN ({','.join('?' * len(chunk))})", chunk):
                if isinstance(digest, bytes) and len(digest) == 16 and isinstance(name, str):
                    stored.setdefault(size, {}).setdefault((digest, is_raw_name(name)), []).append(fid)
        candidates = [p for size in stored for p in by_size[size]]
        position = {p: i for i, p in enumerate(paths)}
        candidates.sort(key=position.__getitem__)
        stale = ("AND NOT EXISTS (SELECT 1 FROM stale_encodings s WHERE s.file_id = e.file_id "
                 "AND s.method = e.method)") if self._upgrading else ""
        # rows this loop has rewritten with another content (a changed file's own row, kept by its path): names
        # shifted along a sequence (1 -> 2, 2 -> 3 ...) rewrite a row a later batch would copy as its old content's
        rewritten: set[int] = set()
        spare: dict[tuple[bytes, bool], list[int]] = {}  # (a content's rows of files gone, not yet taken)
        for i in range(0, len(candidates), STORE_BATCH):
            # path -> (digest, the row of a file gone it takes whole, or None; a few rows to copy instead)
            source: dict[str, tuple[bytes, int | None, list[int]]] = {}
            for path in candidates[i:i + STORE_BATCH]:
                try:
                    state = encoding.file_state(path)
                    full = hashlib.sha256(read_bytes(path)).hexdigest()
                except ImageReadError:
                    continue  # (encoded as any new file: its reason is recorded there)
                if state is not None and encoding.file_state(path) == state:  # (not written to while read)
                    hashed[path] = (full, state)
                digest = bytes.fromhex(full)[:16]
                key = (digest, is_raw_name(path))
                rows = stored[on_disk[path][0]].get(key, ())
                own = None
                if rows and path in held:  # (its own row, if it holds these bytes: given the file's new state)
                    if key not in row_sets:
                        row_sets[key] = set(rows)
                    own = held[path] if held[path] in row_sets[key] and held[path] not in rewritten else None
                elif rows:  # (a file with no row yet: one of a file gone is renamed its)
                    if key not in spare:
                        spare[key] = [fid for fid in rows if fid in free]
                    while spare[key] and own is None:
                        fid = spare[key].pop()
                        own = fid if fid in free and fid not in rewritten else None
                # (a few rows of that content, not every one: thousands of byte copies read no more blobs)
                ids = list(itertools.islice((fid for fid in rows if fid not in rewritten), 3))
                if ids:
                    source[path] = (digest, own, ids)
            owned = {own: digest for digest, own, _ in source.values() if own is not None}
            whole = {fid for fid, held_methods in self._blobs_holding(owned, methods, stale, values=False).items()
                     if len(held_methods) == len(methods)}
            renamed = [(path, own, on_disk[path], digest, free.get(own, path))
                       for path, (digest, own, _) in source.items() if own in whole]
            done = self._rename_rows(renamed)
            for path, own, *_ in renamed:
                if path in done:
                    free.pop(own, None)
            reused.update(done)
            self.stored += len(done)
            # the others copy a row of their content (the blobs read for them only)
            holds = {fid: digest for path, (digest, _, ids) in source.items() if path not in done for fid in ids}
            blobs = self._blobs_holding(holds, methods, stale)
            values: dict[str, dict[str, bytes]] = {}
            digests: dict[str, str] = {}
            for path, (digest, _own, ids) in source.items():
                if path in done:
                    continue
                fid = next((fid for fid in ids if len(blobs.get(fid, ())) == len(methods)), None)
                if fid is not None:
                    values[path], digests[path] = dict(blobs[fid]), digest.hex()
            if values:
                rewritten.update(self._store(list(values), on_disk, values, digests, {}, fresh))
                self.stored += len(values)
                reused.update(values)
        return reused, {p: h for p, h in hashed.items() if p not in reused}

    def _blobs_holding(self, holds: dict[int, bytes], methods: list[str], stale: str, values: bool = True
                       ) -> dict[int, dict[str, bytes]]:
        """Row id -> method -> blob (``values`` False: None) of the rows ``holds`` maps to a digest, for each row
        that still holds that digest (read with its encodings, in one read: another update of this index may have
        rewritten it since); ``stale``: the condition leaving out encodings an upgrade has still to make again."""
        out: dict[int, dict[str, bytes]] = {}
        ids = sorted(holds)
        for j in range(0, len(ids), 900):
            chunk = ids[j:j + 900]
            for fid, method, value, digest in self.db.execute(
                    f"SELECT e.file_id, e.method, {'e.value' if values else 'NULL'}, f.digest FROM encodings e "
                    f"JOIN files f ON f.id = e.file_id WHERE e.file_id IN ({','.join('?' * len(chunk))}) AND "
                    f"e.method IN ({','.join('?' * len(methods))}) {stale}", (*chunk, *methods)):
                if (isinstance(value, bytes) or not values) and digest == holds[fid]:
                    out.setdefault(fid, {})[method] = value
        return out

    def _rename_rows(self, renamed: list[tuple[str, int, FileState, bytes, str]]) -> set[str]:
        """Give each row ``fid`` of ``renamed`` (a file gone, at ``old``) to ``path``, a file with no row holding the
        same bytes (``digest``), with its ``state``; its encodings, heads and marks stay. Returns the paths done: not
        one whose row holds other bytes now, is no longer at ``old``, or whose name has a row (another update of this
        index meanwhile)."""
        done: set[str] = set()
        if not renamed:
            return done
        with self._transaction() as db:
            for path, fid, state, digest, old in renamed:
                folder, name = os.path.split(_to_db(path))
                try:
                    if db.execute("UPDATE files SET dir_id = ?, name = ?, size = ?, mtime_ns = ?, ctime_ns = ?, "
                                  "inode = ? WHERE id = ? AND digest = ? AND error IS NULL AND dir_id = (SELECT id "
                                  "FROM dirs WHERE path = ?) AND name = ?",
                                  (self._dir_id(db, folder), name, *state, fid, digest,
                                   *os.path.split(_to_db(old)))).rowcount == 1:
                        done.add(path)
                except sqlite3.IntegrityError:  # (a row of that name made meanwhile: this statement alone undone)
                    pass
        return done

    def _adopt_pair_scores(self, donor: sqlite3.Connection, contents: set[bytes]) -> None:
        """Copy the ``donor``'s pair scores (every method's, under their versions: a lookup asks for its own
        version) of pairs whose two contents are both in ``contents``, the digests of rows taken from it: a score
        belongs to the two contents, not to a file. Rows that are not a score (an edited cache) are left out."""
        if not contents or self.readonly:
            return
        firsts = sorted(contents)
        rows = []
        key = row_key()
        for i in range(0, len(firsts), 500):
            chunk = firsts[i:i + 500]
            try:
                rows += [(m, a, b, v, s, t) for m, a, b, v, s, t in donor.execute(
                    "SELECT method, a, b, version, score, tag FROM pair_scores WHERE a IN "
                    f"({','.join('?' * len(chunk))})", chunk)
                    if b in contents and isinstance(m, str) and isinstance(v, str) and isinstance(s, float)
                    and math.isfinite(s) and row_tag_ok(t, m, v, a, b, s, key=key)]
            except sqlite3.OperationalError:  # a donor made before rows were signed: none of its rows is taken
                return
        if rows:
            with self._transaction() as own:
                own.executemany("INSERT OR IGNORE INTO pair_scores (method, a, b, version, score, tag) "
                                "VALUES (?, ?, ?, ?, ?, ?)", rows)

    def _set_meta(self, key: str, value: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def _took_below(self, root: Path) -> bool:
        """Whether the last update of ``root`` took its sub-folders in (its ``root:`` record)."""
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", (f"root:{_to_db(str(root))}",)).fetchone()
        except sqlite3.Error:
            return False
        return row is not None and _root_how(row[0])[0]

    def holds_below(self, root: str | os.PathLike) -> bool:
        """Whether the index holds files in sub-folders of ``root`` (an update of ``root`` without its sub-folders
        forgets them: ``index update`` asks the user to say which)."""
        prefix = _to_db(str(Path(root).resolve()).rstrip(os.sep) + os.sep)
        try:
            return self.db.execute("SELECT 1 FROM file_paths WHERE substr(dir, 1, ?) = ? LIMIT 1",
                                   (len(prefix), prefix)).fetchone() is not None
        except sqlite3.Error:
            return False

    @staticmethod
    def _under(root: str | os.PathLike, recursive: bool = True) -> tuple[str, list]:
        """SQL condition (on ``file_paths``) for files in ``root`` or below it (``recursive`` False: in ``root``)."""
        real = str(Path(root).resolve()).rstrip(os.sep) or os.sep
        prefix = real.rstrip(os.sep) + os.sep
        real, prefix = _to_db(real), _to_db(prefix)
        if not recursive:
            return "(dir = ?)", [real]
        return "(dir = ? OR substr(dir, 1, ?) = ?)", [real, len(prefix), prefix]

    def _dir_id(self, db: sqlite3.Connection, folder: str) -> int:
        row = db.execute("SELECT id FROM dirs WHERE path=?", (folder,)).fetchone()
        if row is None:
            return db.execute("INSERT INTO dirs (path) VALUES (?) RETURNING id", (folder,)).fetchone()[0]
        return row[0]

    def _encode(self, paths: list[str], methods: list[str], workers: int | None, bar=None
                ) -> tuple[dict, dict, dict, list[ReadFailure]]:
        """path -> {method: blob}, path -> digest, path -> reason it could not be read, and the files
        that failed only this time (over the decode time limit). The keep rules' facts of each file, taken
        from the same decode, are kept too (:meth:`facts`)."""
        encoders = [get_encoder(m).for_workers(workers) for m in methods]
        # one decode per file for every method encoded, and for the keep rules' facts
        enc = encode_files(paths, encoders, workers=workers, warn=False, timeout=encoding.DECODE_TIMEOUT,
                           progress=bar or False, facts=True)
        return self._collect(enc, encoders)

    def _collect(self, enc: encoding.Encodings, encoders: Sequence[Encoder]
                 ) -> tuple[dict, dict, dict, list[ReadFailure]]:
        values: dict[str, dict[str, bytes]] = {}
        digests: dict[str, str] = {}
        failures: dict[str, str] = {}
        facts = []
        for i, p in enumerate(enc.paths):
            digests[p] = enc.digests[i]
            values[p] = {e.name: e.to_blob(enc.by_method[e.name][i]) for e in encoders}
            if enc.facts[i] is not None:
                facts.append((enc.digests[i], enc.facts[i]))
        self.put_facts(facts)
        failures.update((f.path, f.reason) for f in enc.failures if not f.transient)
        return values, digests, failures, [f for f in enc.failures if f.transient]

    def _store(self, batch: list[str], stat_of: dict, values: dict, digests: dict, failures: dict,
               fresh: set[str]) -> list[int]:
        """Write a batch. A ``fresh`` (new or changed) file loses its old encodings of every method;
        another only gains the methods encoded now. Returns the ids of the rows written."""
        written: list[int] = []
        with self._transaction() as db:
            dir_ids: dict[str, int] = {}
            for path in batch:
                size, mtime, ctime, inode = stat_of[path]
                ok = path in values
                digest = bytes.fromhex(digests[path])[:16] if ok else None
                error = None if ok else _to_db(failures.get(path, "not encoded"))
                folder, name = os.path.split(_to_db(path))
                if folder not in dir_ids:
                    dir_ids[folder] = self._dir_id(db, folder)
                row = db.execute(
                    "INSERT INTO files (dir_id, name, size, mtime_ns, digest, error, ctime_ns, inode) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(dir_id, name) DO UPDATE SET size=excluded.size, mtime_ns=excluded.mtime_ns, "
                    "digest=excluded.digest, error=excluded.error, ctime_ns=excluded.ctime_ns, "
                    "inode=excluded.inode RETURNING id",
                    (dir_ids[folder], name, size, mtime, digest, error, ctime, inode)).fetchone()
                fid = row[0]
                written.append(fid)
                if path in fresh or not ok:
                    db.execute("DELETE FROM encodings WHERE file_id=?", (fid,))
                    if self._upgrading:
                        db.execute("DELETE FROM stale_encodings WHERE file_id=?", (fid,))
                if ok:
                    if self._upgrading:  # (its old row, if any, replaced in this transaction: no longer to make)
                        db.executemany("DELETE FROM stale_encodings WHERE file_id=? AND method=?",
                                       [(fid, m) for m in values[path]])
                    db.executemany("INSERT OR REPLACE INTO encodings VALUES (?, ?, ?)",
                                   [(fid, m, blob) for m, blob in values[path].items()])
                    heads = [(fid, m, head) for m, blob in values[path].items()
                             if (head := self._head_of(m, blob, len(blob))) is not None]
                    if heads:  # (after the encodings: their trigger drops the head each write makes stale)
                        db.executemany("INSERT OR REPLACE INTO encoding_heads VALUES (?, ?, ?)", heads)
        return written

    @staticmethod
    def _head_of(method: str, data: object, length: int) -> bytes | None:
        """The head the index keeps of a stored blob (:attr:`Encoder.head_bytes`), or None: the method keeps
        none, or the blob is damaged (its load reads it whole and goes the way of :meth:`_load_damaged`)."""
        encoder = get_encoder(method)
        if not encoder.head_bytes or not isinstance(data, bytes):
            return None
        try:
            return encoder.head_of(data, length)
        except ValueError:
            return None

    # -- reading --------------------------------------------------------------------------------
    @_explained
    def load(self, method: str | Encoder, root: str | os.PathLike | None = None,
             recursive: bool = True) -> tuple[list[str], np.ndarray]:
        """All paths with an encoding of ``method`` (optionally under ``root``; ``recursive`` False: in ``root``
        itself, not its sub-folders) and their encodings: hashes (``(N,)`` or ``(N, words)`` uint64) or vectors
        (``(N, d)`` float32).

        Raises
        ------
        IndexMismatchError
            The index holds no encodings of ``method`` (naming those it holds), rather than an empty
            answer that would read as "no duplicates"; also where the method is registered but none of the
            index's readable files has its encoding (a method registered by an update that stored none of its
            encodings: a query of it answered ``[]``, "no match", without a word).
        """
        name = self.require(method)
        key = f"{name}|{root}|{recursive}"
        paths, encodings = self._cache[key] if key in self._cache else self._load(name, key, root, recursive)
        if root is None and not paths:
            self._refuse_unfilled(name)
        return paths, encodings

    def _refuse_unfilled(self, name: str) -> None:
        """:class:`IndexMismatchError` when the index holds readable files but none with ``name``'s encoding (asked
        only of an empty load, so a load that finds rows costs nothing more)."""
        if not self.db.execute("SELECT EXISTS (SELECT 1 FROM files WHERE error IS NULL)").fetchone()[0]:
            return  # (no file, or none readable: the empty answer is the true one)
        others = [m for m in self.stored_methods() if m != name]  # (the encoders table: no scan of the encodings)
        has = ", ".join(others) if others else "no other method"
        raise IndexMismatchError(
            f"{self.path} holds no {name} encodings: none of its files has one (it holds: {has}); add them with "
            f"{self.adding_commands(name)}, or ask for one of those methods")

    def _load(self, name: str, key: str, root: str | os.PathLike | None,
              recursive: bool) -> tuple[list[str], np.ndarray]:
        encoder = get_encoder(name)
        if encoder.head_bytes:
            out = self._load_heads(encoder, root, recursive)
            self._cache[key] = out
            return out
        sql = ("SELECT f.path, e.value FROM encodings e JOIN file_paths f ON f.id = e.file_id "
               "WHERE e.method = ?")
        args: list = [name]
        if root is not None:
            where, more = self._under(root, recursive)
            sql += " AND " + where
            args += more
        cursor = self.db.execute(sql + " ORDER BY f.path", args)
        # a chunk of blobs at a time: copies' records are ~50 KB each and go to the spill file as they are read,
        # so holding every blob at once made the peak grow by ~60 KB an image (4,000 images: 311 MB)
        paths: list[str] = []
        parts: list[np.ndarray] = []
        while rows := cursor.fetchmany(_LOAD_CHUNK):
            try:
                part = encoder.from_blobs([r[1] for r in rows])
                names = [_from_db(r[0]) for r in rows]
                if len(part) != len(rows):  # a blob of another length (an edit) shifts every row after it
                    raise ValueError("stored encodings of different lengths")
            except Exception:  # a damaged blob (a disk error, an edited file): find it, make it again or leave it out
                names, part = self._load_damaged(encoder, rows)
            paths += names
            if len(part):
                parts.append(part)
        hashes = encoder.concat(parts)
        self._cache[key] = (paths, hashes)
        return paths, hashes

    def _load_heads(self, encoder: Encoder, root: str | os.PathLike | None,
                    recursive: bool = True) -> tuple[list[str], np.ndarray]:
        """:meth:`load` of a method whose blobs end in bulky parts (:attr:`Encoder.head_bytes`: ``copies``' features):
        only the heads kept beside the blobs are read (table ``encoding_heads``), never a blob; the parts are read
        from here when needed (:class:`StoredParts`). Heads missing (an index made before they were kept, or
        written by an older imagetwins since) are made from the blobs' starts and kept (:meth:`_heads`). A chunk
        with a damaged head is read whole and goes the way of :meth:`_load_damaged`."""
        store = StoredParts(self, encoder)
        self._stores.add(store)
        sql = ("SELECT f.id, f.path, f.digest FROM file_paths f WHERE EXISTS (SELECT 1 FROM encodings e {} "
               "WHERE e.file_id = f.id AND e.method = ?)")
        args: list = [encoder.name]
        if root is not None:
            where, more = self._under(root, recursive)
            sql += " AND " + where
            args += more
        # the files in path order first (small rows), then their heads by id: an ORDER BY over the heads
        # themselves would carry every head through SQLite's sorter. Which files hold the method is asked of the
        # index encodings_held: SQLite's own choice, the encodings' key, seeks into the ~55 KB rows (0.34 CPU s
        # for 5,000 files against 0.02)
        try:
            listed = self.db.execute(sql.format("INDEXED BY encodings_held") + " ORDER BY f.path", args).fetchall()
        except sqlite3.OperationalError:  # no such index: an index made before it, opened read-only
            listed = self.db.execute(sql.format("") + " ORDER BY f.path", args).fetchall()
        paths: list[str] = []
        # the rows go into columns made once for them all (at 100,000: ~250 MB held once, not twice while joined)
        rows_of = encoder.filler(len(listed))
        ids: list[int] = []
        digests: list[bytes] = []
        for at in range(0, len(listed), _LOAD_CHUNK):
            rows = listed[at:at + _LOAD_CHUNK]
            keys = [r[0] for r in rows]
            try:
                try:
                    part = self._rows_from_heads(encoder, keys, store, remake=False)
                except Exception:  # a kept head damaged (an edit, a disk error): made again from the blobs
                    part = self._rows_from_heads(encoder, keys, store, remake=True)
                names = [_from_db(r[1]) for r in rows]
                ids += keys
                digests += [r[2] if isinstance(r[2], bytes) else b"" for r in rows]
                self._loaded_digests.update(zip(names, (Digest(_digest_hex(r[2])) for r in rows)))
            except Exception:  # a damaged head or blob: the chunk read whole, a damaged blob made again or left out
                names, part = self._load_damaged(encoder, self._chunk_whole(encoder, rows))
            paths += names
            rows_of.add(part)
        store.expect(ids, digests)
        return paths, rows_of.rows()

    def _chunk_whole(self, encoder: Encoder, rows: list) -> list[tuple[str, object]]:
        """(path, blob) of each listed row ``(id, path, digest)`` of a chunk whose heads could not all be read; a row
        another update deleted or gave other bytes since it was listed (its file gone, changed) is left out, not
        taken for a damaged one (find --db said 'its stored copies encoding is damaged' of a file deleted meanwhile)."""
        whole = []
        for fid, path, digest in rows:
            blob = self.db.execute("SELECT value FROM encodings WHERE file_id = ? AND method = ?",
                                   (fid, encoder.name)).fetchone()
            if blob is None and self.db.execute("SELECT 1 FROM files WHERE id = ? AND digest IS ?",
                                                (fid, digest)).fetchone() is None:
                continue
            whole.append((path, None if blob is None else blob[0]))
        return whole

    def _rows_from_heads(self, encoder: Encoder, keys: list[int], store: StoredParts, remake: bool) -> np.ndarray:
        heads = self._heads(encoder, keys, remake)
        if len(heads) != len(keys):
            raise ValueError("a damaged stored encoding")
        part = encoder.from_heads([heads[k] for k in keys], keys, store)
        if len(part) != len(keys):
            raise ValueError("stored encodings of different lengths")
        return part

    def _heads(self, encoder: Encoder, keys: list[int], remake: bool = False) -> dict[int, bytes]:
        """The kept heads of ``encoder``'s encodings of the files ``keys``; those missing (all with ``remake``) are
        made from the blobs' starts (:meth:`Encoder.head_of`) and kept when the index is writable, in one transaction
        with the read (no other writer changes a blob between the two). A file whose blob is damaged has none."""
        marks = ",".join("?" * len(keys))
        try:
            found = {k: v for k, v in self.db.execute(
                f"SELECT file_id, value FROM encoding_heads WHERE method = ? AND file_id IN ({marks})",
                [encoder.name, *keys]) if isinstance(v, bytes)}
            kept = True
        except sqlite3.OperationalError:  # no such table: an index made before heads were kept, opened read-only
            found, kept = {}, False
        if remake:
            found = {}
        missing = [k for k in keys if k not in found]
        if not missing:
            return found

        def make(db: sqlite3.Connection) -> dict[int, bytes]:
            out = {}
            marks = ",".join("?" * len(missing))
            for key, data, length in db.execute(
                    f"SELECT file_id, substr(value, 1, ?), length(value) FROM encodings WHERE method = ? AND "
                    f"file_id IN ({marks})", [encoder.head_bytes, encoder.name, *missing]):
                head = self._head_of(encoder.name, data, length) if isinstance(length, int) else None
                if head is None and isinstance(length, int) and length > encoder.head_bytes:  # a longer head
                    whole = db.execute("SELECT value FROM encodings WHERE method = ? AND file_id = ?",
                                       (encoder.name, key)).fetchone()
                    head = self._head_of(encoder.name, whole[0], length) if whole else None
                if head is not None:
                    out[key] = head
            return out

        if kept and not self.readonly and not self._heads_not_kept:
            try:
                with self._transaction() as db:
                    made = make(db)
                    db.executemany("INSERT OR REPLACE INTO encoding_heads VALUES (?, ?, ?)",
                                   [(k, encoder.name, h) for k, h in made.items()])
            except sqlite3.Error:  # not kept (a full disk, locked too long): made again next time; not tried again
                self._heads_not_kept = True  # while this index is open (each chunk would wait for the lock again)
                made = make(self.db)
        else:
            made = make(self.db)
        found.update(made)
        return found

    def _load_damaged(self, encoder: Encoder, rows: list) -> tuple[list[str], np.ndarray]:
        """Rows decoded one by one: a file whose blob cannot be read back is encoded again (writable index) or
        left out and listed in :attr:`damaged` (and so among :meth:`errors`)."""
        good: list[tuple[str, object]] = []
        bad: list[str] = []
        made_again: set[str] = set()
        lengths = Counter(len(b) for _, b in rows if isinstance(b, bytes))
        usual = lengths.most_common(1)[0][0] if lengths and encoder.fixed_blob_size else None
        for stored_path, blob in rows:
            try:
                if not isinstance(blob, bytes) or (usual is not None and len(blob) != usual):
                    raise ValueError("not the length of this method's encodings")
                row = encoder.from_blobs([blob])
                if len(row) != 1:
                    raise ValueError("not one encoding")
                good.append((stored_path, row[0]))
            except Exception:
                bad.append(_from_db(stored_path))
        if bad and not self.readonly:
            on_disk = {}
            for p in bad:
                try:
                    st = os.stat(p, follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):  # anything else now (a link, a FIFO) waits for update() to see it
                    on_disk[p] = file_state(st)
            values, digests, failures, retry = self._encode(list(on_disk), [encoder.name], None)
            self._store([p for p in on_disk if p not in {f.path for f in retry}], on_disk, values, digests, failures,
                        set())
            for p in list(bad):
                if p in failures:  # unreadable now: stored with its reason, so among errors()
                    bad.remove(p)
                    continue
                try:
                    good.append((_to_db(p), encoder.from_blobs([values[p][encoder.name]])[0]))
                    bad.remove(p)
                    made_again.add(p)
                except Exception:  # not encoded (gone, over the time limit), or not readable back
                    continue
        self.damaged.update((p, f"its stored {encoder.name} encoding is damaged; 'imagetwins index update' "
                                "makes it again") for p in bad)
        if made_again:
            warn_line(f"{len(made_again):,} damaged {encoder.name} encodings in {self.path} were made again from "
                      "their files", CostNotice)

        good.sort(key=lambda g: g[0])
        paths = [_from_db(p) for p, _ in good]
        out = encoder.empty() if not good else encoder.from_blobs([encoder.to_blob(v) for _, v in good])
        return paths, out

    @_explained
    def recorded(self, root: str | os.PathLike, recursive: bool = True) -> dict[str, tuple[tuple, str | None]]:
        """What the index recorded of each file under ``root`` (a real path; ``recursive`` False: in ``root``
        itself): path -> (its state then, :data:`FileState`, ctime and inode None in a row made before they were
        kept; the reason it could not be read, or None). A read: what :meth:`update` compares the folder with."""
        where, args = self._under(root, recursive)
        return {_from_db(path): ((size, mtime, ctime, inode), None if error is None else _from_db(error))
                for path, size, mtime, ctime, inode, error in self.db.execute(
                    "SELECT f.path, f.size, f.mtime_ns, x.ctime_ns, x.inode, f.error FROM file_paths f "
                    f"JOIN files x ON x.id = f.id WHERE {where}", args)}

    @_explained
    def digests(self, paths: Sequence[str]) -> list[Digest]:
        """Content digests of indexed paths, in the given order: the first 128 bits of each SHA-256
        (:class:`~imagetwins.digests.Digest` prefixes; '' where unknown)."""
        if paths and all(p in self._loaded_digests for p in paths):  # read with the rows: as they were loaded
            return [self._loaded_digests[p] for p in paths]
        wanted = {_to_db(p) for p in paths}
        found = {_from_db(p): Digest(_digest_hex(d))  # (a blob that is no 16-byte digest: unknown)
                 for p, d in self.db.execute("SELECT path, digest FROM file_paths WHERE digest IS NOT NULL")
                 if p in wanted}
        return [found.get(p, Digest()) for p in paths]

    # -- keep-rule facts per content (imagetwins.facts) ---------------------------------------------
    @_explained
    def facts(self, digests: Sequence[str]) -> dict[str, ImageFacts]:
        """Stored :class:`~imagetwins.facts.ImageFacts` of contents (hex digests, as :meth:`digests` gives them)
        under today's :data:`~imagetwins.facts.FACTS_VERSION`; those without any are left out (an index made
        before facts were kept has none; a damaged row is left out, never an error)."""
        keys = sorted({bytes.fromhex(d)[:16] for d in digests if d})
        out: dict[bytes, ImageFacts] = {}
        try:
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                rows = [(bytes(key), value) for key, version, value in self.db.execute(
                        f"SELECT digest, version, value FROM facts WHERE digest IN ({','.join('?' * len(chunk))})",
                        chunk) if version == FACTS_VERSION]
                try:  # one JSON text for the chunk (a parse of each row's was most of the cost: 100,000 at a load)
                    fields = loads_json(b"[" + b",".join(value for _, value in rows) + b"]")
                    if len(fields) != len(rows):
                        raise ValueError("not one value a row")
                except (ValueError, TypeError):  # a damaged row (or one that is no blob): each row on its own
                    fields = [value for _, value in rows]
                for (key, _), value in zip(rows, fields):
                    try:
                        out[key] = ImageFacts.from_fields(value) if isinstance(value, list) else \
                            ImageFacts.from_bytes(value)
                    except ValueError:
                        continue
        except sqlite3.OperationalError:  # no such table (an index made before, opened read-only)
            return {}
        return {d: out[k] for d in digests if d and (k := bytes.fromhex(d)[:16]) in out}

    def put_facts(self, items: Sequence[tuple[str, ImageFacts]]) -> None:
        """Keep facts (``(hex digest, ImageFacts)``) of contents. Nothing happens on an index opened read-only;
        a store that fails only warns: the facts are a cache."""
        if self.readonly or not items:
            return
        try:
            with self._transaction() as db:
                db.executemany("INSERT OR REPLACE INTO facts VALUES (?, ?, ?)",
                               [(bytes.fromhex(d)[:16], FACTS_VERSION, f.to_bytes()) for d, f in items])
        except sqlite3.Error as exc:
            warn_line(f"image facts not kept in {self.path} ({exc}); they are read again next time", CostNotice)

    # -- pair scores (imagetwins.pairscores.PairScoreStore) -----------------------------------------
    @_explained
    def get_pair_scores(self, method: str, version: str, keys: Sequence[tuple[bytes, bytes]]
                        ) -> dict[tuple[bytes, bytes], float]:
        """Stored scores of the pairs of content digests ``keys`` under ``version`` (see :mod:`imagetwins.pairscores`).

        An index made before pair scores were kept has none; a damaged row is left out, never an error.
        """
        wanted = set(keys)
        firsts = sorted({a for a, _ in wanted})
        out: dict[tuple[bytes, bytes], float] = {}
        tag_of = pair_score_tags(method, version)
        try:
            for i in range(0, len(firsts), 500):
                chunk = firsts[i:i + 500]
                for a, b, v, score, tag in self.db.execute(
                        "SELECT a, b, version, score, tag FROM pair_scores WHERE method = ? AND a IN "
                        f"({','.join('?' * len(chunk))})", [method, *chunk]):
                    if (v == version and (a, b) in wanted and isinstance(score, float) and isinstance(a, bytes)
                            and isinstance(b, bytes) and tag == tag_of(a, b, score)):
                        out[(a, b)] = score
        except sqlite3.OperationalError:  # no such table or tag column (an index made before, opened read-only)
            return {}
        return out

    def put_pair_scores(self, method: str, version: str, items: Sequence[tuple[bytes, bytes, float]]) -> None:
        """Keep pair scores (``(a digest, b digest, score)``) of ``method`` under ``version``, dropping its scores
        of other versions. Nothing happens on an index opened read-only; a store that fails (disk full,
        locked too long) only warns: the scores are a cache."""
        if self.readonly or not items:
            return
        try:
            with self._transaction() as db:
                if (method, version) not in self._pair_versions_kept:  # once: a search keeps its scores chunk by
                    # chunk, and each delete reads all of the method's rows (~1 M after a first find of 100,000)
                    db.execute("DELETE FROM pair_scores WHERE method = ? AND version != ?", (method, version))
                tag_of = pair_score_tags(method, version)
                db.executemany("INSERT OR REPLACE INTO pair_scores (method, a, b, version, score, tag) "
                               "VALUES (?, ?, ?, ?, ?, ?)",
                               [(method, a, b, version, float(s), tag_of(a, b, float(s))) for a, b, s in items])
            self._pair_versions_kept.add((method, version))
        except sqlite3.Error as exc:
            warn_line(f"pair scores not kept in {self.path} ({exc}); they are computed again next time", CostNotice)

    # -- the candidate search kept between runs (imagetwins.candidates; pairscores.CandidateStore) ---------------
    @_explained
    def get_candidate_state(self, method: str) -> tuple[str, bytes] | None:
        """``(version, state)`` of ``method``'s last candidate search over this index, or None."""
        try:
            row = self.db.execute("SELECT version, value, tag FROM candidates WHERE method = ?", (method,)).fetchone()
        except sqlite3.OperationalError:  # no such table or tag column (an index made before, opened read-only)
            return None
        if row is None or not isinstance(row[0], str) or not isinstance(row[1], bytes):
            return None
        if not row_tag_ok(row[2], method, row[0], row[1]):  # (it keeps pair confidences too: an edit is no state)
            return None
        return row[0], row[1]

    def put_candidate_state(self, method: str, version: str, state: bytes) -> None:
        """Keep ``method``'s candidate search (nothing on an index opened read-only; a failure only warns)."""
        if self.readonly:
            return
        try:
            with self._transaction() as db:
                db.execute("INSERT OR REPLACE INTO candidates (method, version, value, tag) VALUES (?, ?, ?, ?)",
                           (method, version, state, row_tag(method, version, state)))
        except sqlite3.Error as exc:
            warn_line(f"the candidate search was not kept in {self.path} ({exc}); it is made in full next time",
                      CostNotice)

    @_explained
    def pair_scores(self, method: str | None = None) -> list[tuple[str, str, str, str, object]]:
        """Every kept pair score (of ``method``, or all), to inspect what the index holds: ``(method, a, b,
        version, score)`` with the two content digests in hex, ordered by method, a, b. A row is given as
        stored (a damaged score is not a float); an index made before pair scores were kept has none."""
        sql, args = "SELECT method, a, b, version, score FROM pair_scores", []
        if method is not None:
            sql, args = sql + " WHERE method = ?", [method]
        try:
            rows = self.db.execute(sql + " ORDER BY method, a, b", args).fetchall()
        except sqlite3.OperationalError:  # no such table (an index made before, opened read-only)
            return []
        def hex_of(key: object) -> str:
            return key.hex() if isinstance(key, bytes) else str(key)

        return [(m, hex_of(a), hex_of(b), v, score) for m, a, b, v, score in rows]

    def _forget_pair_scores(self) -> None:
        """Drop pair scores that name a content no indexed file has any more (its file changed or went)."""
        with self._transaction() as db:
            db.execute("DELETE FROM facts WHERE digest NOT IN (SELECT digest FROM files WHERE digest IS NOT NULL)")
            db.execute("DELETE FROM pair_scores WHERE a NOT IN (SELECT digest FROM files WHERE digest IS NOT NULL) "
                       "OR b NOT IN (SELECT digest FROM files WHERE digest IS NOT NULL)")

    @_explained
    def errors(self, root: str | os.PathLike | None = None, recursive: bool = True) -> list[tuple[str, str]]:
        """(path, reason) of every indexed file that could not be read (optionally under ``root``; ``recursive``
        False: in ``root`` itself)."""
        sql, args = "SELECT path, error FROM file_paths WHERE error IS NOT NULL", []
        if root is not None:
            where, args = self._under(root, recursive)
            sql += " AND " + where
        found = [(_from_db(p), _from_db(e)) for p, e in self.db.execute(sql + " ORDER BY path", args)]
        if self.damaged:
            real = str(Path(root).resolve()).rstrip(os.sep) + os.sep if root is not None else ""
            found = sorted(found + [(p, r) for p, r in self.damaged.items() if p.startswith(real) and (
                recursive or root is None or os.path.dirname(p) == real.rstrip(os.sep))])
        return found

    @_explained
    def find_duplicates(self, method: str | Encoder = "phash", threshold: float | None = None,
                        root: str | os.PathLike | None = None, workers: int | None = None,
                        colour_variants: str | None = None) -> FindResult:
        """Duplicate groups among the indexed files (optionally those under ``root``); ``colour_variants``
        (:class:`imagetwins.scores.ColourVariants`): ``"apart"`` leaves the recoloured matches out."""
        choice = ColourVariants.of(colour_variants)
        paths, hashes = self.load(method, root)
        result = groups_from_encodings(paths, hashes, self.digests(paths), method, threshold, workers, score_store=self)
        return colour_variants_apart(result, choice).replace(index_path=str(self.path))

    @_explained
    def query(self, images: Sequence[str | os.PathLike] | str | os.PathLike, method: str | Encoder = "phash",
              threshold: float | None = None, workers: int | None = None,
              colour_variants: str | None = None) -> list[tuple[str, str, float]]:
        """Indexed files that match new images (which are encoded but not stored); ``colour_variants``
        (:class:`imagetwins.scores.ColourVariants`): ``"apart"`` leaves out the recoloured matches.

        Returns
        -------
        list of (query path, indexed path, score)
            Sorted by query, then closest first: bits apart for hashes (an int), cosine similarity
            for vector methods (a float).
        """
        paths, stored = self.load(method)
        found, enc, skipped = query_images(method, images, paths, stored, threshold, workers, score_store=self,
                                           reference_digests=self.digests(paths), colour_variants=colour_variants)
        for f in skipped + enc.failures:  # links, FIFOs, devices left alone, as find --against does; unreadable
            warn_skipped(f.path, f.reason)
        return [(q, r, score) for q, ms in found.items() for r, score in ms]

    @_explained
    def created(self) -> str | None:
        """When this index was made (its ``created`` stamp, to the second; None where it has none or it cannot be
        read): what a plan records beside the index's path (:func:`imagetwins.plan.plan_document`), so that an index
        made again in its place is told apart."""
        return self._meta_text("created")

    def identity(self) -> str | None:
        """The random name this index was given when it was made (None: made before imagetwins gave one): with
        :meth:`created`, what a plan records, so that another index made in the same second is told apart too."""
        return self._meta_text("id")

    def _meta_text(self, key: str) -> str | None:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row is not None and isinstance(row[0], str) else None

    def stats(self) -> dict:
        """Counts, size on disk, the unreadable files with their reasons, and per method how many
        readable files lack its encoding (stale until the next ``update``)."""
        files = self.db.execute("SELECT count(*) FROM files").fetchone()[0]
        errors = self.errors()
        per_method = dict(self.db.execute("SELECT method, count(*) FROM encodings GROUP BY method").fetchall())
        readable = files - len(errors)
        if not self.readonly:
            self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        size = sum(_size_on_disk(q) for q in (self.path, Path(f"{self.path}-wal")))
        return {"path": str(self.path), "files": files, "unreadable": len(errors),
                "encodings": {m: per_method.get(m, 0) for m in self.stored_methods()},
                "missing_encodings": {m: readable - per_method.get(m, 0) for m in self.stored_methods()
                                      if per_method.get(m, 0) < readable},
                "unreadable_files": [{"path": p, "reason": r} for p, r in errors],
                "bytes": size, "bytes_per_file": round(size / files, 1) if files else 0.0,
                "schema_version": SCHEMA_VERSION}

    def health(self, method: str | Encoder | None = None) -> list[str]:
        """One line for each way this index may answer wrongly, with how to fix it (empty when none): an update
        cut short (half-built), and files changed, deleted or added in its folders since its last update.

        Costs a ``stat`` per indexed file and a listing of each folder it was updated from (no file is read).
        """
        lines: list[str] = []
        try:
            meta = dict(self.db.execute("SELECT key, value FROM meta WHERE key LIKE 'updating:%' "
                                        "OR key LIKE 'root:%'").fetchall())
        except (sqlite3.Error, ValueError) as exc:
            return [f"cannot tell whether {self.path} is up to date ({exc})"]
        def fix(root: str) -> str:  # (with -r where the folder's last update took its sub-folders)
            below = _root_how(meta.get(f"root:{_to_db(root)}"))[0]
            return f"'imagetwins index update {shell_word(root)}{' -r' if below else ''} --db {shell_word(self.path)}'"

        for key, value in sorted(meta.items()):
            if not key.startswith("updating:"):
                continue
            root = _from_db(key.removeprefix("updating:"))
            try:
                todo = int(loads_json(value).get("files", 0))
            except (ValueError, TypeError, AttributeError):
                todo = 0
            lines.append(f"{self.path} was left half-built: an update of {root} was interrupted with up to "
                         f"{todo:,} files still to encode, so matches among them are missing; finish it with "
                         + fix(root))
        if method is not None:
            name = _method_name(method)
            try:
                readable, have = self.db.execute(
                    "SELECT count(*), (SELECT count(*) FROM encodings WHERE method = ?) FROM files "
                    "WHERE error IS NULL", (name,)).fetchone()
            except sqlite3.Error:
                readable = have = 0
            # (a method the index does not hold at all is require()'s one error, not this warning too)
            if have < readable and not lines and name in self.stored_methods():
                lines.append(f"{self.path}: {readable - have:,} of {readable:,} readable files have no {name} "
                             f"encoding, so matches among them are missing; add them with "
                             + self.adding_commands(name))
        changed = gone = added = 0
        roots = _updated_roots(meta)
        try:
            rows = self.db.execute("SELECT f.path, f.size, f.mtime_ns, x.ctime_ns, x.inode FROM file_paths f "
                                   "JOIN files x ON x.id = f.id").fetchall()
        except sqlite3.OperationalError:  # an index made before ctime and inode were kept, opened read-only
            try:
                rows = [(*r, None, None) for r in self.db.execute("SELECT path, size, mtime_ns FROM file_paths")]
            except sqlite3.Error as exc:
                return [*lines, f"cannot tell whether {self.path} is up to date ({exc})"]
        except sqlite3.Error as exc:  # (a damaged page: not "every file added since")
            return [*lines, f"cannot tell whether {self.path} is up to date ({exc})"]
        indexed = set()
        for path, size, mtime, ctime, inode in rows:
            path = _from_db(path)
            indexed.add(path)
            try:
                st = os.lstat(path) if size == -1 else os.stat(path)
            except OSError:
                gone += 1
                continue
            if size != -1 and changed_since((size, mtime, ctime, inode), file_state(st)):
                changed += 1
        new: set[str] = set()
        for root, below, follow in roots:
            try:
                listed: list[ReadFailure] = []
                found = find_image_paths(root, recursive=below, skipped=listed, follow_symlinks=follow)
            except (OSError, ValueError):
                continue  # the folder is gone: its files count as deleted above
            new.update(p for p in [*found, *(f.path for f in listed)] if p not in indexed)
        added = len(new)
        if lines and any("half-built" in line for line in lines):
            return lines  # finishing the update also brings it up to date
        if changed or gone or added:
            where = roots[0][0] if len(roots) == 1 else "DIR"
            parts = [f"{n:,} {what}" for n, what in ((changed, "changed"), (gone, "deleted"), (added, "added"))
                     if n]
            lines.append(f"{self.path} is older than its folder: {', '.join(parts)} since its last update, so "
                         f"answers about them are stale or missing; run " + fix(where))
        return lines

    def reset(self) -> None:
        """Delete a damaged cache and start an empty one in its place (only a per-folder cache, opened with
        ``rebuild_stale``: it holds nothing that cannot be made again)."""
        if not self.rebuild_stale:
            raise IndexFileError(f"{self.path} is not a cache; it is left as it is")
        self.close()
        for q in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
            try:
                q.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise IndexFileError(f"cannot delete the damaged cache {q}: {exc.strerror or exc}") from None
        self._cache.clear()
        self._loaded_digests.clear()
        self._verified.clear()
        self.damaged.clear()
        try:
            self.db = self._connect(False)
            self._init_schema()
            self._check_encoders(self.methods)
        except sqlite3.Error as exc:
            self.close()
            raise self._explain(exc) from None

    def integrity_check(self) -> str:
        """SQLite's own ``PRAGMA integrity_check`` ('ok' when the file is sound)."""
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]


def _size_on_disk(path: Path) -> int:
    """Bytes of ``path``; 0 where there is none (the -wal of an index no one writes, deleted by the last connection to
    close it, another process's, between a look and a stat; an index file deleted while open)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def cache_folder() -> Path:
    """The user cache directory where ``imagetwins find`` keeps one cache file per scanned folder."""
    return user_cache_folder()


def default_cache_path(folder: str | os.PathLike) -> Path:
    """Where ``imagetwins find`` keeps its cache for a folder: the user cache dir, one file per folder."""
    import hashlib

    real = Path(folder).resolve()
    key = hashlib.sha256(os.fsencode(real)).hexdigest()[:16]  # (a name that is not UTF-8: its own bytes)
    name = real.name or "root"
    while len(os.fsencode(name)) > _CACHE_NAME_BYTES:  # the cache's name and its -wal must fit in 255 bytes
        name = name[:-1]
    return cache_folder() / f"{name}-{key}.db"


#: how much of the folder's name a cache's file name keeps (-KEY.db-wal takes 24 more of the 255 bytes)
_CACHE_NAME_BYTES = 200


#: the missing home folders already said in this process (Python's own once-only registry of warnings is emptied
#: whenever a filter changes, and reading an image changes them)
_NO_HOME_SAID: set[str] = set()


def no_cache_line(exc: Exception, folder: str | os.PathLike | None = None) -> str | None:
    """The warning said when a folder's cache cannot be used and the run goes on without it; None where it was said.

    A missing home folder is said without the cache's or the folder's name, once: one line for the run, not one per
    folder (``check``: the test set's and the reference's)."""
    if isinstance(exc, NoHomeCacheError):
        if exc.home_reason in _NO_HOME_SAID:
            return None
        _NO_HOME_SAID.add(exc.home_reason)
        return f"no cache this time ({exc.home_reason}); every image is decoded"
    of = f" of {os.fspath(folder)}" if folder is not None else ""
    return f"no cache this time ({exc}); every image{of} is decoded"


def warn_no_cache(exc: Exception, folder: str | os.PathLike | None = None) -> None:
    """Warn (:func:`no_cache_line`) that ``folder`` is searched without its cache."""
    line = no_cache_line(exc, folder)
    if line is not None:
        warn_line(line, CostNotice)


def open_folder_cache(folder: str | os.PathLike, methods: Sequence[str | Encoder]) -> Index:
    """The per-folder cache of ``folder`` (made if missing), which remembers the folder it is for. A cache damaged
    beyond use (a field no imagetwins wrote, SQLite's "malformed") is deleted and made again, with one warning."""
    path = default_cache_path(folder)
    for q in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):  # SQLite would write through a link (an empty file
        if q.is_symlink():  # it points at became a cache; a missing one was made), wherever it leads
            raise IndexFileError(f"the cache {q} is a symbolic link, not a file imagetwins made: left as it is and "
                                 "not written through")
    for q, what in ((path.parent, "cache folder"), (path, "cache"), (Path(f"{path}-wal"), "cache's journal"),
                    (Path(f"{path}-shm"), "cache's journal")):
        # another user's cache folder (a shared XDG_CACHE_HOME=/tmp) could swap our caches for forged ones, and one
        # of theirs would be read as ours; a root run in a user's cache folder left files its user cannot open
        owner = _owner_if_other(q)
        if owner is not None:
            raise IndexFileError(f"the {what} {q} belongs to another user (uid {owner}): left as it is")
    try:
        idx = Index(path, methods=methods, readonly=False, create_folder=True, rebuild_stale=True)
    except IndexMismatchError:
        raise
    except IndexFileError as exc:
        damaged = isinstance(exc, (IndexDamagedError, ForeignCodeError)) or "malformed" in str(exc)
        if not damaged or path.is_symlink() or not path.is_file():
            raise
        warn_line(f"{str(exc).removesuffix('; it is left untouched')}; the cache is made again", CostNotice)
        for q in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            try:
                q.unlink()
            except FileNotFoundError:
                continue
            except OSError as err:
                raise IndexFileError(f"cannot delete the damaged cache {q}: {err.strerror or err}") from None
        idx = Index(path, methods=methods, readonly=False, create_folder=True, rebuild_stale=True)
    _owner_only(path)  # (a cache made before it was private: made so)
    idx.donors = folder_cache_donors(folder, own=False)
    try:
        with idx._transaction():
            idx.db.execute("INSERT OR IGNORE INTO meta VALUES ('folder', ?)", (_to_db(str(Path(folder).resolve())),))
    except sqlite3.Error as exc:
        idx.close()
        raise idx._explain(exc) from None
    return idx


def folder_cache_donors(folder: str | os.PathLike, own: bool = True, besides: str | os.PathLike | None = None
                        ) -> list[Path]:
    """The per-folder caches an index of ``folder`` may take rows from (:attr:`Index.donors`: read-only, a row only
    where the file is unchanged since and the method's parameters are the same): ``folder``'s own cache (``own``:
    for an index file, ``find DIR --db FILE`` after a plain ``find DIR``) and its parent folders', nearest first.
    Only regular files of this user, never a link; never ``besides`` (the index itself)."""
    real = Path(folder).resolve()

    def itself(cache: Path) -> bool:
        try:
            return besides is not None and os.path.samefile(cache, besides)
        except OSError:  # (the index not made yet: not this cache)
            return False

    return [cache for cache in map(default_cache_path, [real, *real.parents] if own else real.parents)
            if cache.is_file() and not cache.is_symlink() and _owner_if_other(cache) is None
            and _owner_if_other(cache.parent) is None and not itself(cache)]


def _owner_if_other(path: Path) -> int | None:
    """The owner of ``path`` (links followed: a cache folder linked elsewhere is judged by where it leads) when it is
    not this process's user; None when it is, when nothing is there, or on a system without owners."""
    if not hasattr(os, "geteuid"):
        return None
    try:
        uid = os.stat(path).st_uid
    except OSError:
        return None
    return None if uid == os.geteuid() else uid


def _owner_only(cache: Path) -> None:
    """A per-folder cache, its -wal and -shm, readable by their owner alone, and the cache folder listable by them
    alone (caches made before they were private were 0644 in a 0755 folder); nothing else is touched: each is
    changed through a descriptor opened without following a link (a name that became a link after it was looked
    at is not followed to the file it points at), and only a regular file or folder of this user's."""
    nofollow = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    for path in (cache.parent, cache, Path(f"{cache}-wal"), Path(f"{cache}-shm")):
        try:
            st = os.lstat(path)
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):  # (a link, FIFO or device: never opened)
                continue
            fd = os.open(path, nofollow)
        except OSError:  # (gone, or a link by now)
            continue
        try:
            st = os.fstat(fd)
            if (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)) and st.st_uid == os.getuid() \
                    and stat.S_IMODE(st.st_mode) & 0o077:
                os.fchmod(fd, stat.S_IMODE(st.st_mode) & ~0o077)
        except (OSError, AttributeError):  # (a system without owners or fchmod: Windows)
            pass
        finally:
            os.close(fd)


#: a cache file's name: the folder's name (any characters, a newline too), 16 hex digits of the SHA-256 of its path, .db
_CACHE_NAME = re.compile(r".+-[0-9a-f]{16}\.db", re.DOTALL)


@dataclass
class CacheInfo:
    """One per-folder cache file, as :func:`list_caches` sees it."""

    path: Path
    folder: str | None  # None when the cache does not say (made before it did) or cannot be read
    files: int
    methods: list[str]
    bytes: int
    problem: str | None = None


def _cache_files() -> list[Path]:
    base = cache_folder()
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if _CACHE_NAME.fullmatch(p.name) and p.is_file() and not p.is_symlink())


def list_caches() -> list[CacheInfo]:
    """Every per-folder cache: its folder, how many files and which methods it holds, its size."""
    out = []
    for path in _cache_files():
        size = sum(q.stat().st_size for q in (path, Path(f"{path}-wal")) if q.exists())
        try:
            with Index(path, methods=[], readonly=True) as idx:
                row = idx.db.execute("SELECT value FROM meta WHERE key='folder'").fetchone()
                files = idx.db.execute("SELECT count(*) FROM files").fetchone()[0]
                out.append(CacheInfo(path, _from_db(row[0]) if row else None, files, idx.stored_methods(), size))
        except IndexFileError as exc:
            out.append(CacheInfo(path, None, 0, [], size, str(exc)))
    return out


def clear_caches(folders: Sequence[str | os.PathLike] | None = None,
                 failed: list[tuple[Path, str]] | None = None) -> list[Path]:
    """Delete the per-folder caches of ``folders`` (all caches when None); returns the files deleted.

    Only cache files are touched (names made by :func:`default_cache_path`, with their SQLite -wal and
    -shm companions); the scanned folders are never touched. A file that cannot be deleted (a folder at a
    companion's name, a cache folder that is not writable) is left, with the reason in ``failed`` (path, why), and
    the others are deleted.
    """
    if folders is None:
        targets = _cache_files()
    else:
        targets = [p for p in (default_cache_path(f) for f in folders) if p.is_file()]
    gone = []
    for path in targets:
        for q in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            try:
                q.unlink()
                gone.append(q)
            except FileNotFoundError:
                continue
            except OSError as exc:
                if failed is not None:
                    failed.append((q, exc.strerror or str(exc)))
    return gone
