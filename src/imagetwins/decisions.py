"""Decisions a person made about duplicates, remembered by content so that they stick.

A decision is about two *contents* (the first 128 bits of each file's SHA-256, as the index and the
folder cache keep them), never about names, so it survives re-scans, renames, moves, another method and
a rebuilt cache. Three verdicts:

``not_duplicate``
    these two contents are never grouped again, by any method (the match between them is dropped
    before groups are made, so a group held together only by it falls apart);
``skip``
    the person looked and left the pair alone: both are kept, and a group made only of decided pairs is
    shown as *decided*, not as new. A skip of a content *with itself* (``a == b``) keeps every byte-identical
    copy of it: a skipped group that held two files with the same bytes ("keep every file of it") would
    otherwise lose one of them to the next ``remove``, since a pair of one content has nothing to tell apart;
``keep``
    the person chose which of the two to keep (``keeper``): every later ``remove`` keeps that content,
    whatever the keep rule says.

Where they come from: ``imagetwins remove --plan --apply`` remembers what a person decided in the plan (the
review page's export: the groups changed or accepted there, ``reviewed``; an edited ``find --json``: the groups
whose keep, skip or not_duplicate differ from what was written; the tool's own suggestions are not remembered; a
dry run remembers nothing) and ``imagetwins decisions import`` takes a plan (the same groups) or an export.
``imagetwins undo`` forgets what the run it undoes remembered. Where they live: one small SQLite file in the
user's *data* folder
(:func:`default_store_path`; not the cache folder, so ``imagetwins cache clear`` keeps them), or, with
an explicit index (``--db``), a table inside that index file, so a shared index carries its own.

**Older stores.** A store written before a skip kept byte copies (no table ``remembered_decisions_format``) cannot
say which skipped groups held byte-identical copies: a content's copy beside the group's keeper left no row at all.
It is brought up to date when it is opened (:data:`FORMAT`): every content of a ``skip`` row is also left alone with
itself, so each byte copy of it is kept (the safe side: more is kept, never less; ``decisions list`` shows these
rows, ``decisions forget`` takes them away). A store that cannot be written gets the same rows in memory.

A decision can only make ``remove`` keep more, never move more: a verdict read from a row edited into
nonsense (an unknown verdict, a keeper that is neither content) counts as ``skip`` (both kept); a store
that cannot be read stops ``remove`` with one line (``--ignore-decisions`` goes on without it), while
``find`` and ``report`` say so in one line and show everything.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from imagetwins.userdirs import check_home, data_folder

__all__ = ["VERDICTS", "DecisionStoreError", "Record", "Remembered", "DecisionStore", "default_store_path",
           "content_key", "records_from_plan", "apply_decisions", "EXPORT_VERSION", "FORMAT"]

#: the verdicts a pair of contents can have
VERDICTS = ("not_duplicate", "skip", "keep")
#: the format version of ``imagetwins decisions export``
EXPORT_VERSION = 1
_TABLE = "remembered_decisions"
#: the store's format, kept in its table ``remembered_decisions_format``: 2 since a skip of a content with itself keeps
#: its byte copies; a store without that table was written before (it is brought up to date when opened)
FORMAT = 2
_FORMAT_TABLE = f"{_TABLE}_format"
_KEY = re.compile(r"^[0-9a-f]{32}$")
#: contents asked of the store in one ``IN (...)`` (SQLite allows 32,766 parameters; fewer keep a query small)
_BATCH = 500
# ``forget`` deletes by either content of a pair: ``a`` is found through the primary key, ``b`` through this
_B_INDEX = f"CREATE INDEX IF NOT EXISTS {_TABLE}_b ON {_TABLE} (b)"


class DecisionStoreError(Exception):
    """The decision store cannot be read or written (one line: which file and why)."""


def default_store_path() -> Path:
    """The user's decision store: ``decisions.db`` in the user data folder (e.g. ``~/.local/share/imagetwins``),
    never the cache folder, so clearing the cache keeps what a person decided."""
    return data_folder() / "decisions.db"


def content_key(digest: str | None) -> str | None:
    """The key of one content: the first 32 hex digits of its SHA-256 (lower case), or None if unknown."""
    if not isinstance(digest, str) or len(digest) < 32:
        return None
    key = digest[:32].lower()
    return key if _KEY.match(key) else None


@dataclass(frozen=True)
class Record:
    """One remembered decision about contents ``a`` and ``b`` (keys, ``a < b``); ``keeper`` is ``a`` or ``b`` for
    ``keep``; ``a_name``/``b_name``: the paths they had when it was made (shown, never trusted)."""

    a: str
    b: str
    verdict: str
    keeper: str | None = None
    a_name: str = ""
    b_name: str = ""
    made: float = 0.0

    @classmethod
    def of(cls, x: str, y: str, verdict: str, keeper: str | None = None, x_name: str = "", y_name: str = "",
           made: float | None = None) -> Record:
        """The record of ``x`` and ``y`` in either order."""
        if x > y:
            x, y, x_name, y_name = y, x, y_name, x_name
        return cls(x, y, verdict, keeper, x_name, y_name, time.time() if made is None else made)

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "verdict": self.verdict, "keeper": self.keeper, "a_name": self.a_name,
                "b_name": self.b_name, "made": round(self.made, 3)}


@dataclass
class Remembered:
    """The decisions of a store, in memory: ``pairs[(a, b)] = (verdict, keeper)`` with ``a < b``.

    ``unsure``: rows that made no sense (edited by hand) and were taken as ``skip``; ``source``: where they
    came from (for messages).

    *Pending* (``store`` set, :meth:`DecisionStore.pending`): nothing read yet; a scan reads only the decisions
    about the contents it found (:meth:`for_keys`), not a store of a million decisions whole. ``on_error`` turns
    a store that fails then into what the caller does with one (None: a warning, nothing applied); ``on_loaded``
    is told what was read (the CLI's note about rows that make no sense).
    """

    pairs: dict[tuple[str, str], tuple[str, str | None]] = field(default_factory=dict)
    unsure: int = 0
    source: str = ""
    store: DecisionStore | None = field(default=None, repr=False, compare=False)
    on_error: Callable[[DecisionStoreError], Remembered | None] | None = field(default=None, repr=False,
                                                                              compare=False)
    on_loaded: Callable[[Remembered], None] | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.pairs)

    def __bool__(self) -> bool:
        return self.store is not None or bool(self.pairs)

    def for_keys(self, keys: Iterable[str | None]) -> Remembered | None:
        """The decisions about two of these contents: read from the store when pending (only those rows), else
        these. A store that fails now goes to ``on_error`` (None: a one-line warning and nothing applied)."""
        if self.store is None:
            return self
        try:
            out = self.store.load(keys)
        except DecisionStoreError as exc:
            if self.on_error is not None:
                return self.on_error(exc)
            from imagetwins.io import warn_line

            warn_line(f"{exc}; remembered decisions are not applied this time")
            return None
        if self.on_loaded is not None:
            self.on_loaded(out)
        return out

    def verdict(self, x: str | None, y: str | None) -> tuple[str, str | None] | None:
        """What was decided about contents ``x`` and ``y`` (``x == y``: a ``skip`` that keeps every byte copy of
        the content, or None)."""
        if not x or not y:
            return None
        return self.pairs.get((x, y) if x < y else (y, x))

    def not_duplicate(self, x: str | None, y: str | None) -> bool:
        v = self.verdict(x, y)
        return v is not None and v[0] == "not_duplicate"

    def keys(self) -> set[str]:
        return {k for pair in self.pairs for k in pair}

    # -- what the keep policy asks (imagetwins.keep) ------------------------------------------------------
    def chosen(self, paths: Sequence[str], key_of: Mapping[str, str | None]) -> set[str]:
        """The files of a group whose content a person chose to keep over another content of the group."""
        keys = {key_of.get(p) for p in paths} - {None}
        won = set()
        if len(keys) * len(keys) > 2 * len(self.pairs):  # (a crowd of contents: the decisions, not every two)
            twos = [(x, y) for x, y in self.pairs if x in keys and y in keys]
        else:
            twos = [(x, y) for x in keys for y in keys if x < y]
        for x, y in twos:
            v = self.verdict(x, y)
            if v is not None and v[0] == "keep" and v[1] in (x, y):
                won.add(v[1])
        return {p for p in paths if key_of.get(p) in won}

    def kept_beside(self, keeper: str, paths: Sequence[str], key_of: Mapping[str, str | None]) -> list[str]:
        """Files of a group kept as well as ``keeper``: a pair with it left alone (``skip``, or ``not_duplicate``
        where the search still joined them), or a content chosen as keeper in some decision of the group."""
        k = key_of.get(keeper)
        chosen = self.chosen(paths, key_of)
        out = []
        for p in paths:
            if p == keeper:
                continue
            v = self.verdict(k, key_of.get(p))
            if p in chosen or (v is not None and v[0] in ("skip", "not_duplicate")) or \
                    (v is not None and v[0] == "keep" and v[1] == key_of.get(p)):
                out.append(p)
        return out

    def status(self, paths: Sequence[str], key_of: Mapping[str, str | None]) -> str | None:
        """``"skip"`` when every file of a group (keeper first) was left alone with the keeper, ``"decided"`` when
        every file has a decision with the keeper, else None (new)."""
        if len(paths) < 2:
            return None
        k = key_of.get(paths[0])
        verdicts = []
        for p in paths[1:]:
            kp = key_of.get(p)
            v = self.verdict(k, kp)
            if v is None and kp == k and k is not None:
                continue  # a byte-identical copy of the keeper, never kept by a skip: nothing to decide about it
            if v is None:
                return None
            verdicts.append(v[0])
        if not verdicts:
            return None  # only byte-identical copies, never decided on: new
        return "skip" if all(v == "skip" for v in verdicts) else "decided"


def _valid(a, b, verdict, keeper) -> tuple[str, str, str, str | None] | None:
    """A row as (a, b, verdict, keeper) in order, a row that makes no sense as ``skip``; None when its contents
    cannot be read at all (it can concern no file). A content with itself can only be ``skip`` (keep every byte
    copy of it)."""
    a, b = content_key(a), content_key(b)
    if a is None or b is None:
        return None
    if a == b:
        return a, b, "skip", None
    if a > b:
        a, b = b, a
    keeper = content_key(keeper) if keeper is not None else None
    if verdict == "keep" and keeper in (a, b):
        return a, b, verdict, keeper
    if verdict in ("not_duplicate", "skip"):
        return a, b, verdict, None
    return a, b, "skip", None  # nonsense: keep both (a decision can only make us keep more)


def _storable(name) -> str:
    """A name as the store keeps it (shown, never trusted): text SQLite can hold. A file name with bytes that are
    not UTF-8 (``b'\\xff.jpg'``, held by Python as ``'\\udcff.jpg'``) is kept as it is shown, ``\\xff.jpg``; it was
    a ``UnicodeEncodeError`` traceback that stopped every ``remove --plan`` of such a folder."""
    name = str(name or "")
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that is no escape of a byte (an edited export)
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


class DecisionStore:
    """The decisions kept in one SQLite file (the user's store, or an index given with ``--db``).

    Opening never creates anything; :meth:`remember` creates the file (and its folder) when needed.
    Every failure is a :class:`DecisionStoreError` with one line.
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        #: an older store that could not be brought up to date (read-only): its byte-copy rows are made in memory
        self.legacy = False
        self._opened = False

    def _connect(self, write: bool) -> sqlite3.Connection | None:
        if not write and not self.path.exists():
            return None
        if os.path.islink(self.path):
            raise DecisionStoreError(f"the decision store {self.path} is a symbolic link; it is left alone")
        if self.path.exists() and not self.path.is_file():
            raise DecisionStoreError(f"the decision store {self.path} is not a file")
        try:
            if write:
                check_home(self.path.parent)  # (HOME=/nonexistent: said, never a home folder made)
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                if not self.path.exists():  # (the paths of a person's photos: the owner's alone, as the caches)
                    try:
                        os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
                    except FileExistsError:
                        pass
                from imagetwins.locks import beside_refused, several_names

                # (as Index: never written through one of two names, nor with a FIFO or a link beside it)
                reason = several_names(os.stat(self.path)) or beside_refused(self.path, write=True)
                if reason is not None:
                    raise DecisionStoreError(f"cannot write to the decision store {self.path}: {reason}; nothing was "
                                             "written")
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            else:
                from imagetwins.locks import read_only_connection

                # (a WAL store, an index, in a folder no one may write, or a file we may not write: as Index reads it)
                db = read_only_connection(self.path)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except (OSError, sqlite3.Error) as exc:
            raise DecisionStoreError(self._why(exc)) from None
        return db

    def unwritable(self) -> str | None:
        """Why :meth:`remember` would fail to write this store, found without writing anything (a dry run says what
        ``--apply`` would do, and ``--apply`` moves nothing where the decisions cannot be remembered), else None: no
        usable home folder, a folder on the way that is a file or may not be written in, a store with two names or a
        link, FIFO or folder SQLite would use beside it, a file that may not be written."""
        from imagetwins.locks import beside_refused, several_names

        try:
            check_home(self.path.parent)
        except OSError as exc:
            return exc.strerror or str(exc)
        try:
            st = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            st = None
        except OSError as exc:
            return exc.strerror or str(exc)
        if st is None:  # (made by remember, and its folders: the nearest folder there must take them)
            there = self.path.parent
            while not os.path.lexists(there) and there != there.parent:
                there = there.parent
            if not there.is_dir():
                return f"{there} is not a folder, so the store cannot be made in it"
            return None if os.access(there, os.W_OK | os.X_OK) else f"{there} may not be written in"
        reason = several_names(st) or beside_refused(self.path, write=True)
        if reason is None and not os.access(self.path, os.W_OK):
            reason = "the file may not be written"
        return reason

    def _why(self, exc: BaseException) -> str:
        text = getattr(exc, "strerror", None) or str(exc)
        if isinstance(exc, sqlite3.DatabaseError) and "not a database" in text:
            return f"the decision store {self.path} is not a database (damaged?): {text}"
        return f"the decision store {self.path} cannot be used: {text}"

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        """The store opened for reading, or None when there is no store or no decision table yet; a SQLite error
        meanwhile is one line (:class:`DecisionStoreError`), and the store is closed after. An older store is brought
        up to date first (:meth:`_upgrade_on_open`)."""
        self._upgrade_on_open()
        db = self._connect(write=False)
        if db is None:
            yield None
            return
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            yield db if _TABLE in tables else None
        except sqlite3.Error as exc:
            raise DecisionStoreError(self._why(exc)) from None
        finally:
            db.close()

    def _upgrade_on_open(self) -> None:
        """Bring a store written before :data:`FORMAT` up to date, once per object (:meth:`_upgrade`); one that
        cannot be written is marked :attr:`legacy` (its byte-copy rows are then made in memory when it is read)."""
        if self._opened:
            return
        self._opened = True
        db = self._connect(write=False)
        if db is None:
            return
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            current = _TABLE not in tables or _format_of(db) >= FORMAT
        except sqlite3.Error as exc:
            raise DecisionStoreError(self._why(exc)) from None
        finally:
            db.close()
        if current:
            return
        try:
            db = self._connect(write=True)
            try:
                with db:
                    db.execute("BEGIN IMMEDIATE")
                    self._upgrade(db)
            finally:
                db.close()
        except (DecisionStoreError, sqlite3.Error):  # a read-only file or folder: the same rows, in memory
            self.legacy = True

    @staticmethod
    def _upgrade(db: sqlite3.Connection) -> int:
        """In a transaction: a store without its format table gets :func:`_byte_copy_rows` (a row already there is
        kept) and the table, saying :data:`FORMAT`; how many rows were added."""
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if _format_of(db) >= FORMAT:
            return 0
        added = []
        if _TABLE in tables:
            added = _byte_copy_rows(db.execute(f"SELECT a, b, verdict, keeper, a_name, b_name, made FROM {_TABLE}"))
            db.executemany(f"INSERT OR IGNORE INTO {_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)", added)
        db.execute(f"CREATE TABLE IF NOT EXISTS {_FORMAT_TABLE} (version INTEGER NOT NULL)")
        db.execute(f"DELETE FROM {_FORMAT_TABLE}")
        db.execute(f"INSERT INTO {_FORMAT_TABLE} VALUES (?)", (FORMAT,))
        return len(added)

    def _rows(self, columns: str) -> list[tuple]:
        """Every row's ``columns``, oldest first (none when there is no store or no table yet)."""
        with self._reading() as db:
            return [] if db is None else db.execute(f"SELECT {columns} FROM {_TABLE} ORDER BY made").fetchall()

    def pending(self) -> Remembered | None:
        """This store, checked (it opens, and is a database) but not read: a :class:`Remembered` whose
        :meth:`~Remembered.for_keys` reads only the decisions about a scan's contents; None when there is no store
        or no decision table yet (nothing to apply). Raises :class:`DecisionStoreError` (one line)."""
        with self._reading() as db:
            return None if db is None else Remembered(source=str(self.path), store=self)

    def _rows_about(self, keys: Iterable[str | None]) -> list[tuple]:
        """The rows (a, b, verdict, keeper) about two of ``keys``, oldest first: looked up through the primary key
        (a, b) by ``a`` in batches and kept when ``b`` is one too (a decision matters only when both contents were
        scanned, so ``b`` needs no index of its own). A row is found by its keys as the store writes them (32
        lower-case hex digits); one edited by hand into another spelling (upper case, a whole SHA-256) is listed and
        exported but no scan finds it: looking for those would read the whole store again."""
        wanted = {k for k in keys if k is not None}
        if not wanted:
            return []
        found: list[tuple] = []
        with self._reading() as db:
            if db is None:
                return []
            ordered = sorted(wanted)
            for i in range(0, len(ordered), _BATCH):
                batch = ordered[i:i + _BATCH]
                found += [row for row in db.execute(
                    f"SELECT a, b, verdict, keeper, made FROM {_TABLE} WHERE a IN ({','.join('?' * len(batch))})",
                    batch) if content_key(row[1]) in wanted]
        found.sort(key=lambda row: _made(row[4], 0.0))
        return [row[:4] for row in found]

    def load(self, keys: Iterable[str | None] | None = None) -> Remembered:
        """The remembered decisions (an empty set when there is no store yet): every one, or with ``keys`` only
        those about two of these contents (what a scan of them can use)."""
        out = Remembered(source=str(self.path))
        wanted = None if keys is None else {k for k in keys if k is not None}
        self._upgrade_on_open()  # (first: whether it is a legacy store is known after)
        if self.legacy:  # (its byte-copy rows, made from every row: a row about a content may name one not scanned)
            stored = self._rows("a, b, verdict, keeper, a_name, b_name, made")
            rows = [row[:4] for row in stored + _byte_copy_rows(stored)]
        else:
            rows = self._rows("a, b, verdict, keeper") if wanted is None else self._rows_about(wanted)
        for a, b, verdict, keeper in rows:
            row = _valid(a, b, verdict, keeper)
            if row is None or (wanted is not None and (row[0] not in wanted or row[1] not in wanted)):
                continue
            if row[2] != verdict or (verdict == "keep" and row[3] is None):
                out.unsure += 1
            out.pairs[(row[0], row[1])] = (row[2], row[3])
        return out

    def records(self) -> list[Record]:
        """Every row, as stored (for ``decisions list`` and ``export``), oldest first."""
        self._upgrade_on_open()
        rows = self._rows("a, b, verdict, keeper, a_name, b_name, made")
        if self.legacy:
            rows += _byte_copy_rows(rows)
        return [Record(str(a), str(b), str(v), k, str(an or ""), str(bn or ""), _made(m, 0.0)) for a, b, v, k, an, bn, m
                in rows]

    def remember(self, records: Iterable[Record]) -> int:
        """Keep these decisions (a later decision about the same two contents replaces the earlier one)."""
        rows = []
        for r in records:
            ok = _valid(r.a, r.b, r.verdict, r.keeper)
            if ok is None or ok[2] != r.verdict:
                raise ValueError(f"not a decision: {r}")
            rows.append((*ok, _storable(r.a_name), _storable(r.b_name), r.made))
        if not rows:
            return 0
        db = self._connect(write=True)
        try:
            self._ours(db)
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.execute(f"CREATE TABLE IF NOT EXISTS {_TABLE} (a TEXT NOT NULL, b TEXT NOT NULL, verdict TEXT NOT "
                           "NULL, keeper TEXT, a_name TEXT, b_name TEXT, made REAL, PRIMARY KEY (a, b))")
                db.execute(_B_INDEX)
                self._upgrade(db)  # (an older store first; a new one is marked as of this format)
                db.executemany(f"INSERT OR REPLACE INTO {_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            raise DecisionStoreError(self._why(exc)) from None
        finally:
            db.close()
        return len(rows)

    def remember_undoably(self, records: Sequence[Record]) -> Remembering:
        """:meth:`remember`, and what it replaced: the rows these pairs had before (``undo`` puts them back,
        :meth:`take_back`)."""
        records = list(records)
        before: list[Record] = []
        if records:
            pairs = {(r.a, r.b) for r in records}
            keys = {k for pair in pairs for k in pair}
            with self._reading() as db:
                if db is not None:
                    ordered = sorted(keys)
                    for i in range(0, len(ordered), _BATCH):
                        batch = ordered[i:i + _BATCH]
                        before += [Record(str(a), str(b), str(v), k, str(an or ""), str(bn or ""), _made(m, 0.0))
                                   for a, b, v, k, an, bn, m in db.execute(
                                       f"SELECT a, b, verdict, keeper, a_name, b_name, made FROM {_TABLE} WHERE a IN "
                                       f"({','.join('?' * len(batch))})", batch) if (a, b) in pairs]
        self.remember(records)
        return Remembering(str(self.path), records, before)

    def _open_to_change(self) -> sqlite3.Connection | None:
        """A writable connection to a store that holds decisions; None where there is none (nothing is made: forgetting
        or taking back creates no file)."""
        db = self._connect(write=False)
        if db is None:
            return None
        db.close()
        db = self._connect(write=True)
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.Error as exc:
            db.close()
            raise DecisionStoreError(self._why(exc)) from None
        if _TABLE not in tables:
            db.close()
            return None
        return db

    def take_back(self, done: Remembering) -> int:
        """Forget what one :meth:`remember_undoably` wrote (a row since replaced by a later decision stays) and put
        back the rows it replaced; how many of its rows went."""
        db = self._open_to_change()
        if db is None:
            return 0
        try:
            gone = 0
            with db:
                db.execute("BEGIN IMMEDIATE")
                for r in done.written:
                    cur = db.execute(f"DELETE FROM {_TABLE} WHERE a = ? AND b = ? AND verdict = ? AND keeper IS ? "
                                     "AND abs(made - ?) < 0.001", (r.a, r.b, r.verdict, r.keeper, r.made))
                    gone += cur.rowcount
                    if cur.rowcount:
                        for old in done.before:
                            if (old.a, old.b) == (r.a, r.b):
                                db.execute(f"INSERT OR REPLACE INTO {_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
                                           (old.a, old.b, old.verdict, old.keeper, old.a_name, old.b_name, old.made))
            return gone
        except sqlite3.Error as exc:
            raise DecisionStoreError(self._why(exc)) from None
        finally:
            db.close()

    def _ours(self, db: sqlite3.Connection) -> None:
        """Refuse to add a table to another program's database: the file must be empty, a decision store, or an
        imagetwins index (table ``meta``)."""
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and _TABLE not in tables and "meta" not in tables:
            raise DecisionStoreError(f"{self.path} is an SQLite file but neither an imagetwins index nor a decision "
                                     "store; it is left untouched")

    def forget(self, keys: Iterable[str] | None = None) -> int:
        """Forget the decisions about these contents (every decision when ``keys`` is None); how many went."""
        db = self._open_to_change()
        if db is None:
            return 0
        try:
            with db:
                db.execute("BEGIN IMMEDIATE")
                self._upgrade(db)  # (an older store's byte-copy rows first: forgetting a content forgets them too)
                if keys is None:
                    return db.execute(f"DELETE FROM {_TABLE}").rowcount
                db.execute(_B_INDEX)  # (a store made before the index: made now, once)
                gone = 0
                for k in set(keys):  # each through an index: a by the primary key, b by its own
                    gone += db.execute(f"DELETE FROM {_TABLE} WHERE a = ?", (k,)).rowcount
                    gone += db.execute(f"DELETE FROM {_TABLE} WHERE b = ?", (k,)).rowcount
                return gone
        except sqlite3.Error as exc:
            raise DecisionStoreError(self._why(exc)) from None
        finally:
            db.close()


@dataclass
class Remembering:
    """What one ``remove --plan --apply`` remembered (``written``) and the rows of those pairs it replaced
    (``before``), kept beside the run's journal so that ``undo`` forgets them (:meth:`DecisionStore.take_back`)."""

    store: str
    written: list[Record]
    before: list[Record]

    def to_dict(self) -> dict:
        return {"imagetwins_remembered": 1, "store": self.store, "written": [r.to_dict() for r in self.written],
                "before": [r.to_dict() for r in self.before]}

    @classmethod
    def from_dict(cls, doc) -> Remembering:
        """ValueError when ``doc`` is not one (an edited file)."""
        if not isinstance(doc, dict) or doc.get("imagetwins_remembered") != 1 or not isinstance(doc.get("store"), str):
            raise ValueError("not a record of remembered decisions")
        lists = []
        for name in ("written", "before"):
            rows = doc.get(name)
            if not isinstance(rows, list) or not all(isinstance(d, dict) for d in rows):
                raise ValueError("not a record of remembered decisions")
            lists.append([Record(str(d.get("a")), str(d.get("b")), str(d.get("verdict")),
                                 d.get("keeper") if isinstance(d.get("keeper"), str) else None,
                                 str(d.get("a_name") or ""), str(d.get("b_name") or ""), _made(d.get("made"), 0.0))
                          for d in rows])
        return cls(doc["store"], *lists)


def _format_of(db: sqlite3.Connection) -> int:
    """The format a store says it has (:data:`FORMAT`): 1 without a format table (written before it), 0 for one
    edited into something that is not a format (brought up to date again: that can only keep more)."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (_FORMAT_TABLE,)).fetchone():
        return 1
    rows = db.execute(f"SELECT version FROM {_FORMAT_TABLE}").fetchall()
    version = rows[0][0] if len(rows) == 1 else None
    return version if isinstance(version, int) and not isinstance(version, bool) else 0


def _byte_copy_rows(rows: Iterable[tuple]) -> list[tuple]:
    """For a store written before :data:`FORMAT`: ``(k, k, "skip", None, name, name, made)`` for each content ``k`` of
    a row that counts as ``skip`` (:func:`_valid`) and has no such row yet: each of its byte copies is kept. ``rows``:
    ``(a, b, verdict, keeper, a_name, b_name, made)`` as stored."""
    rows = list(rows)
    have = {content_key(a) for a, b, *_ in rows if content_key(a) is not None and content_key(a) == content_key(b)}
    out: dict[str, tuple] = {}
    for a, b, verdict, keeper, a_name, b_name, made in rows:
        row = _valid(a, b, verdict, keeper)
        if row is None or row[2] != "skip" or row[0] == row[1]:
            continue
        for k, name in ((content_key(a), a_name), (content_key(b), b_name)):
            if k not in have and k not in out:
                out[k] = (k, k, "skip", None, _storable(name), _storable(name), _made(made, 0.0))
    return list(out.values())


def records_from_plan(groups, moves: Iterable[tuple[str, int, str, str]] | None = None) -> list[Record]:
    """The decisions a plan states (:func:`imagetwins.plan.load_plan`'s groups).

    ``skip`` groups: every file left alone with the group's keeper (or first file), and every content that has
    byte-identical copies in the group left alone with itself (so no later ``remove`` moves one of them);
    ``not_duplicate``: each with the keeper; ``also_keep``: each left alone with the keeper (``skip``; a byte copy
    of the keeper: the keeper's content with itself); the chosen keeper over each file that moves. ``moves`` (from
    :func:`imagetwins.plan.check_plan`) limits the keeper decisions to files proven to be the bytes the plan
    names (a keeper decision changes which file moves; the others can only keep more); None takes the plan
    as it stands (``decisions import`` of a plan a person chose to trust).
    """
    verified = None if moves is None else {(f, n) for f, n, _, _ in moves}
    now = time.time()
    out: list[Record] = []
    for g in groups:
        if getattr(g, "decided", None) is False:  # the tool's suggestion, which no person decided: not remembered
            continue
        anchor = g.keep if g.keep is not None else (g.files[0] if g.files else None)
        ka = content_key(g.sha256.get(anchor)) if anchor else None
        if ka is None:
            continue

        said: list[tuple[str, str, str | None]] = []  # (file, verdict, keeper) each with the anchor
        if g.skip:
            said = [(f, "skip", None) for f in g.files if f != anchor]
        elif g.keep is not None:
            said = [(f, "not_duplicate", None) for f in getattr(g, "not_duplicate", ())]
            # ``also_keep``: kept beside the keeper (a reference folder's file, or one a person added): left alone
            # with it, so that a later remove without the plan keeps it too
            apart = set(getattr(g, "not_duplicate", ()))
            said += [(f, "skip", None) for f in getattr(g, "leave", ()) if f not in apart]
            said += [(f, "keep", ka) for f in g.to_move if verified is None or (f, g.number) in verified]
        selves: dict[str, tuple[str, str]] = {}  # content -> two of its files, kept both
        if g.skip:
            first: dict[str, str] = {}
            for f in g.files:
                kf = content_key(g.sha256.get(f))
                if kf is not None and kf in first:
                    selves.setdefault(kf, (first[kf], f))
                elif kf is not None:
                    first[kf] = f
        for f, verdict, keeper in said:
            kf = content_key(g.sha256.get(f))
            if kf is not None and kf != ka:
                out.append(Record.of(ka, kf, verdict, keeper, anchor, f, now))
            elif kf == ka and verdict in ("skip", "not_duplicate"):
                # a byte copy of the keeper said to be no duplicate: one content cannot be told apart from itself,
                # so every byte copy of it is kept (a skip of the content with itself), never moved for the other
                selves.setdefault(ka, (anchor, f))
        out += [Record.of(k, k, "skip", None, x, y, now) for k, (x, y) in selves.items()]
    unique: dict[tuple[str, str], Record] = {}  # (two groups naming one pair of contents: one row, the later)
    for r in out:
        unique.pop((r.a, r.b), None)
        unique[(r.a, r.b)] = r
    return list(unique.values())


#: the latest time a decision can have been made (the year 3000): a later one, or NaN, is an edit
_LATEST = 32503680000.0


def _made(value, otherwise: float) -> float:
    """When a decision was made, from a store row or an export (edited by hand: a string, NaN, 1e999, a date no
    clock can show): a number of seconds from 1970 to the year 3000, else ``otherwise``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= _LATEST:
        return otherwise
    return float(value)


#: What an export may cost to read, as a plan (:data:`imagetwins.plan.PLAN_MAX_BYTES`, ...): bounded only by the 256 MiB
#: a file a person names may be, 256 MiB of ``[[],[],...]`` parsed into 85 million lists (~5 GB) before it was found
#: to be no export. ``decisions export`` writes ~270 bytes and 8 JSON values a decision (two 32-digit contents, the
#: verdict, keeper, both names, the time): 500,000 decisions (a library of a million photos decided pair by pair)
#: are 136 MB and read in 590 MB. Past :data:`EXPORT_MAX_BYTES` or :data:`EXPORT_MAX_VALUES` (counted before it is
#: parsed), or :data:`EXPORT_MAX_DECISIONS` once parsed, an export is refused in one line.
EXPORT_MAX_BYTES = 160 << 20
EXPORT_MAX_VALUES = 5_000_000
EXPORT_MAX_DECISIONS = 500_000


def looks_like_export(path: str | os.PathLike) -> bool:
    """Whether the file at ``path`` begins as ``decisions export`` writes one (``{"imagetwins_decisions": ``): told
    from a plan before either is parsed (an export of 400,000 decisions holds more JSON values than a plan may)."""
    from imagetwins.io import open_regular_file

    try:
        with open_regular_file(path) as fh:
            head = fh.read(64)
    except OSError:
        return False
    return re.match(rb'\s*\{\s*"imagetwins_decisions"', head) is not None


def load_export(path: str | os.PathLike) -> list[Record]:
    """The records of an ``imagetwins decisions export`` file (ValueError with one line if it is not one, or is over
    what an export may cost to read: :data:`EXPORT_MAX_BYTES`, ...)."""
    from imagetwins.io import json_values, read_user_file
    from imagetwins.text import loads_json

    too_large = f"{path}: too large a decisions export (%s, more than the %s an import reads): refused"
    try:
        text = read_user_file(path, max_bytes=EXPORT_MAX_BYTES)
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    values = json_values(text)
    if values > EXPORT_MAX_VALUES:
        raise ValueError(too_large % (f"{values:,} JSON values", f"{EXPORT_MAX_VALUES:,}"))
    try:
        doc = loads_json(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: cannot read it ({exc})") from None
    del text
    if not isinstance(doc, dict) or doc.get("imagetwins_decisions") != EXPORT_VERSION or \
            not isinstance(doc.get("decisions"), list):
        raise ValueError(f"{path}: not an imagetwins decisions export or plan")
    if len(doc["decisions"]) > EXPORT_MAX_DECISIONS:
        raise ValueError(too_large % (f"{len(doc['decisions']):,} decisions", f"{EXPORT_MAX_DECISIONS:,}"))
    out = []
    for n, d in enumerate(doc["decisions"], 1):
        if not isinstance(d, dict):
            raise ValueError(f"{path}: decision {n} is not an object")
        row = _valid(d.get("a"), d.get("b"), d.get("verdict"), d.get("keeper"))
        if row is None:
            raise ValueError(f"{path}: decision {n} does not name two contents (32 hex digits each)")
        out.append(Record(*row, str(d.get("a_name") or ""), str(d.get("b_name") or ""),
                          _made(d.get("made"), time.time())))
    return out


def export_document(records: Sequence[Record], source: str) -> dict:
    return {"imagetwins_decisions": EXPORT_VERSION, "store": source, "decisions": [r.to_dict() for r in records]}


def apply_decisions(result, remembered: Remembered | None):
    """``result`` (a :class:`~imagetwins.results.FindResult`) with what was decided: matches between two contents
    said to be ``not_duplicate`` dropped and the groups made again; ``result.decided`` set so that the keep
    policy keeps the chosen keepers and the pairs left alone. Returns the result (a new one when regrouped)."""
    if remembered is None:
        return result
    remembered = remembered.for_keys(content_key(d) for d in result.digests or [])
    if remembered is None:
        return result
    result = result.replace(decided=remembered)  # (a result is frozen: a new one carries the decisions)
    if not remembered.pairs or not result.digests:
        return result
    keys = [content_key(d) for d in result.digests]
    involved = remembered.keys()
    if not any(k in involved for k in keys):
        return result
    import numpy as np

    from imagetwins.results import result_from_pairs

    same_as = result.same_as
    matches = result.matches
    if same_as is not None and any(v[0] == "not_duplicate" for v in remembered.pairs.values()):
        # a file said apart from another is joined to it through its class of one encoding (the class's first file
        # holds its matches): files said apart from anything become classes of their own, matched explicitly,
        # the rest of each class stays one node
        matches, same_as = _apart_pairs(result, keys, remembered)
    drop = np.array([remembered.not_duplicate(keys[i], keys[j])
                     for i, j in zip(matches.left.tolist(), matches.right.tolist())], dtype=bool)
    if not drop.any():
        return result
    kept = matches.take(~drop)
    new = result_from_pairs(result.files, result.hashes, result.digests, kept, result.method, result.threshold,
                            same_as=same_as)
    return new.replace(failures=result.failures, seconds=result.seconds, index_path=result.index_path,
                       decided=remembered, facts=result.facts, timings=result.timings,
                       colour_variants=result.colour_variants)


def _apart_pairs(result, keys: list[str | None], remembered: Remembered):
    """``result``'s matches with the files whose content has a ``not_duplicate`` decision taken out of their class of
    one encoding (``same_as``) and matched explicitly: each class split into nodes, one per set of contents its files
    were said apart from (the rest: none), each node matched with its class's others and with every node its class
    matched. The same matches as :attr:`FindResult.pairs` lists, up to files the decisions cannot tell apart, so a
    class of thousands of files with one encoding costs pairs in proportion to the different sets of decisions, not
    the square of the class. Returns (matches, new ``same_as``)."""
    import numpy as np

    from imagetwins import search

    partners: dict[str, set[str]] = {}  # a content -> the contents it was said to be no duplicate of
    for (x, y), v in remembered.pairs.items():
        if v[0] == "not_duplicate":
            partners.setdefault(x, set()).add(y)
            partners.setdefault(y, set()).add(x)
    said_apart = {k: frozenset(p) for k, p in partners.items()}
    old = np.asarray(result.same_as, np.int64)
    n = len(old)
    apart = np.array([k in said_apart for k in keys], dtype=bool)
    new = old.copy()
    nodes: dict[int, list[int]] = {}  # an old class -> its nodes now, each its first file
    order = np.argsort(old, kind="stable")
    cuts = np.flatnonzero(np.diff(old[order])) + 1
    none: frozenset[str] = frozenset()
    for members in np.split(order, cuts) if n else []:
        if not apart[members].any():
            continue
        # one node per set of contents its files were said apart from (the rest of the class: none): files alike in
        # that are told apart from nothing by any decision (byte copies; the others of a group each said "not a
        # duplicate" of its keeper), so they join the node's first file. A class of thousands was a node a file said
        # apart, each matched with every other (4.5 million pairs for 3,000); a few nodes now.
        first_of: dict[frozenset[str], int] = {}
        for i in members.tolist():
            new[i] = first_of.setdefault(said_apart.get(keys[i], none), i)
        nodes[int(old[members[0]])] = list(first_of.values())
    m = result.matches
    kind = m.kind
    exact = kind.exact
    left: list[int] = []
    right: list[int] = []
    score: list[float] = []
    marks: list[int] = []
    for firsts in nodes.values():  # inside a class: every two of its nodes match exactly
        for a in range(len(firsts)):
            for b in range(a + 1, len(firsts)):
                left.append(firsts[a])
                right.append(firsts[b])
                score.append(exact)
                marks.append(0)
    ca, cb = old[np.asarray(m.left, np.int64)], old[np.asarray(m.right, np.int64)]
    seen: set[tuple[int, int]] = set()
    for a, b, sc, mk in zip(ca.tolist(), cb.tolist(), m.score.tolist(), m.mark_bits.tolist()):
        if a == b:
            continue  # (a class's own star and byte copies: made again above and by result_from_pairs)
        if (min(a, b), max(a, b)) in seen:
            continue
        seen.add((min(a, b), max(a, b)))
        for x in nodes.get(a, [a]):  # the classes' every node matches as their first files did
            for y in nodes.get(b, [b]):
                left.append(min(x, y))
                right.append(max(x, y))
                score.append(sc)
                marks.append(mk)
    pairs = search.Pairs(np.asarray(left, np.int64), np.asarray(right, np.int64),
                         np.asarray(score, m.score.dtype), kind,
                         None if m.marks is None else np.asarray(marks, np.uint8))
    return pairs, new


def key_map(result) -> dict[str, str | None]:
    """path -> content key, for a :class:`~imagetwins.results.FindResult`."""
    return {p: content_key(d) for p, d in zip(result.files, result.digests or [])}


def remembered_from(decisions, strict: bool = False) -> Remembered | None:
    """What the ``decisions=`` argument of the finder names, loaded: True the user's store, False/None nothing, a
    path that store, a :class:`DecisionStore` or :class:`Remembered` itself. A store is checked here and read
    later, only for the contents a scan found (:meth:`Remembered.for_keys`). A store that cannot be read raises
    :class:`DecisionStoreError` when ``strict``; otherwise it gives a warning (one line) and nothing is applied
    (so everything is shown)."""
    if decisions is None or decisions is False:
        return None
    if isinstance(decisions, Remembered):
        return decisions
    store = decisions if isinstance(decisions, DecisionStore) else \
        DecisionStore(None if decisions is True else decisions)
    try:
        return store.pending()
    except DecisionStoreError as exc:
        if strict:
            raise
        from imagetwins.io import warn_line

        warn_line(f"{exc}; remembered decisions are not applied this time")
        return None
