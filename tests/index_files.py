"""What other writers and damage do to an index file, for the hostile tests: the one place tests touch the
index's SQL. Everything else reads an index through its API (``Index.stats``, ``load``, ``digests``,
``pair_scores``, ``errors``); these functions stand for what no API should offer: an index written by an
imagetwins with other parameters or a newer schema, one made before a table existed, a damaged row; and an index
no one may write (:func:`read_only`).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest


@contextmanager
def _file(db: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(db, timeout=30)) as con, con:
        yield con


def someone_elses_database(path: Path) -> Path:
    """An SQLite file that is not an imagetwins index (another program's database); returns ``path``."""
    with _file(path) as con:
        con.execute("CREATE TABLE t (x)")
    return path


def rewrite_identity(db: Path, method: str, change: Callable[[dict], dict]) -> None:
    """As if ``method`` had been stored by an imagetwins whose encoder parameters differ: ``change`` maps the
    stored identity to the one written in its place."""
    with _file(db) as con:
        [stored] = con.execute("SELECT identity FROM encoders WHERE method = ?", (method,)).fetchone()
        con.execute("UPDATE encoders SET identity = ? WHERE method = ?",
                    (json.dumps(change(json.loads(stored)), sort_keys=True), method))


def set_schema_version(db: Path, version: int) -> None:
    """As if the file had been written by an imagetwins with another index schema."""
    with _file(db) as con:
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))


def drop_pair_scores_table(db: Path) -> None:
    """As if the index had been made before pair scores were kept."""
    with _file(db) as con:
        con.execute("DROP TABLE pair_scores")


def set_candidate_state(db: Path, method: str, value: object) -> None:
    """Replace the kept candidate search of ``method`` by ``value`` (any SQLite value: damage), or drop it (None)."""
    with _file(db) as con:
        row = con.execute("SELECT version FROM candidates WHERE method = ?", (method,)).fetchone()
        con.execute("DELETE FROM candidates WHERE method = ?", (method,))
        if value is not None:
            con.execute("INSERT INTO candidates (method, version, value) VALUES (?, ?, ?)",
                        (method, row[0] if row else "?", value))


def set_file_digest(db: Path, file_name: str, digest: bytes) -> None:
    """Give the file called ``file_name`` another stored content digest (16 bytes)."""
    with _file(db) as con:
        con.execute("UPDATE files SET digest = ? WHERE name = ?", (digest, file_name))


def tables(db: Path) -> set[str]:
    """The tables in the file (read without opening it as an index, which could add what is missing)."""
    with _file(db) as con:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def set_pair_score(db: Path, method: str, a_hex: str, b_hex: str, score: object, version: str | None = None) -> None:
    """Write a pair score row as it lies on disk (``score`` any SQLite value: a damaged row); a new row when
    the pair has none (then ``version`` is needed)."""
    with _file(db) as con:
        key = (method, bytes.fromhex(a_hex), bytes.fromhex(b_hex))
        if con.execute("UPDATE pair_scores SET score = ? WHERE method = ? AND a = ? AND b = ?",
                       (score, *key)).rowcount == 0:
            con.execute("INSERT INTO pair_scores (method, a, b, version, score) VALUES (?, ?, ?, ?, ?)",
                        (*key, version, score))


def damage_encoding(db: Path, file_name: str, method: str, damage: Callable[[bytes], bytes]) -> None:
    """Replace the stored ``method`` encoding of the file called ``file_name`` by ``damage(stored bytes)``."""
    with _file(db) as con:
        fid, blob = con.execute("SELECT e.file_id, e.value FROM encodings e JOIN files f ON f.id = e.file_id "
                                "WHERE f.name = ? AND e.method = ?", (file_name, method)).fetchone()
        con.execute("UPDATE encodings SET value = ? WHERE file_id = ? AND method = ?", (damage(blob), fid, method))


def rewrite_encodings(db: Path, method: str, change: Callable[[bytes], bytes]) -> None:
    """Replace every stored ``method`` encoding by ``change(stored bytes)`` (as another imagetwins would store it)."""
    with _file(db) as con:
        rows = con.execute("SELECT file_id, value FROM encodings WHERE method = ?", (method,)).fetchall()
        con.executemany("UPDATE encodings SET value = ? WHERE file_id = ? AND method = ?",
                        [(change(blob), fid, method) for fid, blob in rows])


def encoding_of(db: Path, file_name: str, method: str) -> bytes:
    """The stored ``method`` blob of the file called ``file_name``."""
    with _file(db) as con:
        return con.execute("SELECT e.value FROM encodings e JOIN files f ON f.id = e.file_id WHERE f.name = ? AND "
                           "e.method = ?", (file_name, method)).fetchone()[0]


def store_as_older_imagetwins(db: Path, file_name: str, method: str, blob: bytes | None) -> None:
    """What an imagetwins that keeps no row heads does to a file's encoding: replace it (``INSERT OR REPLACE``, as its
    update stores a changed file) or, with None, delete it."""
    with _file(db) as con:
        [fid] = con.execute("SELECT id FROM files WHERE name = ?", (file_name,)).fetchone()
        if blob is None:
            con.execute("DELETE FROM encodings WHERE file_id = ? AND method = ?", (fid, method))
        else:
            con.execute("INSERT OR REPLACE INTO encodings VALUES (?, ?, ?)", (fid, method, blob))


def row_heads(db: Path, method: str) -> dict[str, bytes]:
    """The row heads kept for ``method``, by file name (none in a file made before they were kept)."""
    with _file(db) as con:
        if "encoding_heads" not in {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}:
            return {}
        return dict(con.execute("SELECT f.name, h.value FROM encoding_heads h JOIN files f ON f.id = h.file_id "
                                "WHERE h.method = ?", (method,)).fetchall())


def set_row_head(db: Path, file_name: str, method: str, value: object) -> None:
    """Replace the kept row head of the file called ``file_name`` by ``value`` (any SQLite value: damage)."""
    with _file(db) as con:
        con.execute("UPDATE encoding_heads SET value = ? WHERE method = ? AND file_id = "
                    "(SELECT id FROM files WHERE name = ?)", (value, method, file_name))


def damage_table(db: Path, table: str) -> None:
    """Overwrite the first bytes of ``table``'s root page with garbage (a disk error, a crash of the disk's cache):
    SQLite opens the file, and any read of that table says "database disk image is malformed"."""
    with _file(db) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = con.execute("PRAGMA page_size").fetchone()[0]
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    with open(db, "r+b") as fh:
        fh.seek((root - 1) * size)
        fh.write(b"\xff" * 64)


def replace_view_with_one_that_never_ends(db: Path) -> None:
    """As if someone had handed over an index whose ``file_paths`` view joins every row with a recursive count that
    never stops: any query naming the view runs for ever."""
    with _file(db) as con:
        con.executescript("""
            DROP VIEW file_paths;
            CREATE VIEW file_paths AS
                WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)
                SELECT f.id AS id, d.path || '/' || f.name AS path, d.path AS dir, f.size AS size,
                       f.mtime_ns AS mtime_ns, f.digest AS digest, f.error AS error
                FROM files f JOIN dirs d ON d.id = f.dir_id, c;
            """)


def add_trigger(db: Path, name: str, table: str, body: str) -> None:
    """A trigger of someone else's in the index: ``body`` runs after every insert into ``table``."""
    with _file(db) as con:
        con.execute(f"CREATE TRIGGER {name} AFTER INSERT ON {table} BEGIN {body}; END")


def drop_table(db: Path, table: str) -> None:
    """Drop ``table`` (``meta``: what says the file is an index) as another program or a hand edit could."""
    with _file(db) as con:
        con.execute(f"DROP TABLE {table}")


def reshape_table(db: Path, table: str) -> None:
    """Make ``table`` again with one column of another name (its rows gone): a table no imagetwins wrote."""
    with _file(db) as con:
        con.execute(f"DROP TABLE {table}")
        con.execute(f"CREATE TABLE {table} (x)")


def set_json_values(db: Path, value: bytes) -> None:
    """Every stored JSON text (each file's facts, each scanned folder's ``root:`` record) replaced by ``value``: an
    edit or damage that leaves text no imagetwins wrote."""
    with _file(db) as con:
        con.execute("UPDATE facts SET value = ?", (value,))
        con.execute("UPDATE meta SET value = ? WHERE key LIKE 'root:%'", (value.decode(),))


def rewrite_root_records(db: Path, change: Callable[[dict], dict]) -> None:
    """Replace the value of every ``root:`` record (how each folder's last update went: ``recursive``, ``follow``) by
    ``change(its value)``, as a hand edit or another program could."""
    with _file(db) as con:
        for key, value in con.execute("SELECT key, value FROM meta WHERE key LIKE 'root:%'").fetchall():
            con.execute("UPDATE meta SET value = ? WHERE key = ?", (json.dumps(change(json.loads(value))), key))


def store_as_unreadable(db: Path, file_name: str, reason: str) -> None:
    """What an older imagetwins kept of a file it could not read: its reason, no digest, no encoding (a cache made
    before f97b9e3 so kept a RAW or HEIC file whose extra was not installed)."""
    with _file(db) as con:
        [fid] = con.execute("SELECT id FROM files WHERE name = ?", (file_name,)).fetchone()
        con.execute("DELETE FROM encodings WHERE file_id = ?", (fid,))
        con.execute("UPDATE files SET error = ?, digest = NULL WHERE id = ?", (reason, fid))


@contextmanager
def held_by_a_writer(db: Path) -> Iterator[None]:
    """As if another imagetwins were storing into ``db`` (an update under way): its write lock held meanwhile."""
    con = sqlite3.connect(db, isolation_level=None, timeout=30)
    try:
        con.execute("BEGIN IMMEDIATE")
        yield
    finally:
        if con.in_transaction:
            con.execute("ROLLBACK")
        con.close()


@contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """Make files and folders unwritable, even for root (chattr +i), and undo it afterwards."""
    if os.geteuid() != 0:
        modes = [p.stat().st_mode for p in paths]
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield
        finally:
            for p, m in zip(paths, modes):
                p.chmod(m)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", *map(str, paths)],
                                                        capture_output=True).returncode:
        pytest.skip("running as root on a file system without chattr +i: cannot make a file read-only")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], check=True)


def older_imagetwins_making(db: Path, tables: bool = True) -> sqlite3.Connection:
    """A new index as an imagetwins before this change made it, still open: the mark written into the file first,
    then WAL, then (``tables``) the tables kept in the ``-wal`` (until a checkpoint). The connection holds them
    there."""
    from imagetwins.index import APPLICATION_ID

    con = sqlite3.connect(db, isolation_level=None)
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("SELECT count(*) FROM sqlite_master").fetchone()  # (its -wal opened)
    if not tables:
        return con
    con.execute("BEGIN IMMEDIATE")
    con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute("COMMIT")
    return con
