"""A persistent index of encodings in SQLite, so that re-runs only encode what changed.

One row per file (folder id, name, size, mtime, the first 128 bits of the SHA-256 of its content, or
the reason it could not be read) and one per (file, method) encoding, as a compact blob; folder paths
are stored once, which keeps an image's entry near 100 bytes. ``update`` encodes new and changed
files in bounded transactions, so a run that is interrupted (Ctrl-C, kill -9, power cut) resumes
where it stopped; WAL mode lets other processes read meanwhile. Searches load every encoding of a
method into one numpy array and reuse :mod:`imagetwins.search`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imagetwins import hashing, search
from imagetwins.embedding import CNN_DEFAULT_SIMILARITY, cnn_embedder
from imagetwins.embedding import CNN_METHOD as CNN
from imagetwins.io import find_images
from imagetwins.results import FindResult, groups_from_encodings

SCHEMA_VERSION = 1
#: files encoded per transaction: a crash loses at most this much work
BATCH = 256


class IndexMismatchError(RuntimeError):
    """The index cannot be used as asked: made with other encoder parameters, or by a newer schema."""


def encoder_identity(method: str) -> dict:
    """Everything that changes a method's output: stored with the index and checked on open."""
    if method == CNN:
        emb = cnn_embedder()
        cfg = emb.config
        return {"method": CNN, "model": cfg.name, "input_size": cfg.input_size, "pooling": cfg.pooling,
                "gem_p": cfg.gem_p, "orientations": emb.orientations, "dtype": "float32", "version": 1}
    spec = hashing.get_method(method)
    return {"method": spec.name, "nbits": spec.nbits, "size": list(spec.size), "dihedral": spec.dihedral,
            "decode_min_side": hashing.DECODE_MIN_SIDE, "version": 1}


def _method_name(method: str) -> str:
    return CNN if method == CNN else hashing.get_method(method).name


@dataclass
class UpdateStats:
    """What one :meth:`Index.update` did."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    unreadable: int = 0
    seconds: float = 0.0

    @property
    def encoded(self) -> int:
        return self.added + self.changed


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
"""

# schema version -> statements that bring the previous version up to it
_MIGRATIONS: dict[int, list[str]] = {}


class Index:
    """Encodings of a collection, kept on disk between runs.

    Parameters
    ----------
    path : path
        The SQLite file (created if missing).
    methods : sequence of str
        Methods this index keeps. An index made with other parameters for the same method name is
        refused rather than silently mixed.

    Examples
    --------
    >>> idx = Index("photos.db", methods=["phash"])            # doctest: +SKIP
    >>> idx.update("photos/")                                 # doctest: +SKIP
    >>> result = idx.find_duplicates("phash", threshold=10)   # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, methods: Sequence[str] = ("phash",)) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.methods = [_method_name(m) for m in methods]
        self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._init_schema()
        self._check_encoders()
        self._cache: dict[str, tuple[list[str], np.ndarray]] = {}

    # -- schema ---------------------------------------------------------------------------------
    def _init_schema(self) -> None:
        with self._transaction():
            for stmt in _SCHEMA.strip().split(";\n"):
                if stmt.strip():
                    self.db.execute(stmt)
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                self.db.execute("INSERT INTO meta VALUES ('created', ?)", (time.strftime("%Y-%m-%dT%H:%M:%S"),))
                return
            version = int(row[0])
            if version > SCHEMA_VERSION:
                raise IndexMismatchError(f"{self.path} was written by a newer imagetwins (schema {version} > "
                                  f"{SCHEMA_VERSION}); upgrade imagetwins")
            for v in range(version + 1, SCHEMA_VERSION + 1):
                for stmt in _MIGRATIONS.get(v, []):
                    self.db.execute(stmt)
            self.db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))

    def _check_encoders(self) -> None:
        with self._transaction():
            for m in self.methods:
                want = json.dumps(encoder_identity(m), sort_keys=True)
                row = self.db.execute("SELECT identity FROM encoders WHERE method=?", (m,)).fetchone()
                if row is None:
                    self.db.execute("INSERT INTO encoders VALUES (?, ?)", (m, want))
                elif row[0] != want:
                    raise IndexMismatchError(
                        f"{self.path} holds {m} encodings made with other parameters ({row[0]}); this "
                        f"imagetwins makes {want}. Use another --db, or delete this one to rebuild it."
                    )

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, exc_type, exc, tb) -> None:
            self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")

    def _transaction(self) -> Index._Tx:
        return Index._Tx(self.db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------------
    def update(self, root: str | os.PathLike, recursive: bool = True, workers: int | None = None,
               progress: bool = False) -> UpdateStats:
        """Bring the index in line with the files under ``root``: encode new and changed files, forget
        deleted ones. Unchanged files are not read; unreadable files are remembered with their reason
        (and retried once they change)."""
        start = time.perf_counter()
        root = Path(root).resolve()
        stats = UpdateStats()
        on_disk: dict[str, tuple[int, int]] = {}
        for p in find_images(root, recursive=recursive):
            try:
                st = p.stat()
                on_disk[str(p)] = (st.st_size, st.st_mtime_ns)
            except OSError:
                on_disk[str(p)] = (-1, -1)  # a broken link or a vanished file: recorded with its reason
        where, args = self._under(root)
        known = {
            path: (fid, size, mtime, n_enc)
            for fid, path, size, mtime, n_enc in self.db.execute(
                "SELECT f.id, f.path, f.size, f.mtime_ns, "
                f"(SELECT count(*) FROM encodings e WHERE e.file_id=f.id AND e.method IN ({self._marks()})) "
                f"FROM file_paths f WHERE {where}", (*self.methods, *args))
        }
        gone = [fid for path, (fid, *_rest) in known.items() if path not in on_disk]
        todo: list[str] = []
        for path, (size, mtime) in on_disk.items():
            old = known.get(path)
            if old is None:
                todo.append(path)
                stats.added += 1
            elif (old[1], old[2]) != (size, mtime):
                todo.append(path)
                stats.changed += 1
            elif old[3] < len(self.methods) and not self._is_error(old[0]):
                todo.append(path)  # a method added since: encode it for this file too
                stats.changed += 1
            else:
                stats.unchanged += 1
        for i in range(0, len(gone), 900):
            with self._transaction():
                chunk = gone[i:i + 900]
                self.db.execute(f"DELETE FROM files WHERE id IN ({','.join('?' * len(chunk))})", chunk)
        stats.removed = len(gone)
        bar = None
        if progress and todo:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), unit="img", desc="indexing", leave=False)
        for i in range(0, len(todo), BATCH):
            batch = todo[i:i + BATCH]
            values, digests, failures = self._encode(batch, workers)
            stats.unreadable += len(failures)
            self._store(batch, on_disk, values, digests, failures)
            if bar is not None:
                bar.update(len(batch))
        if bar is not None:
            bar.close()
        self._cache.clear()
        stats.seconds = time.perf_counter() - start
        return stats

    def _is_error(self, fid: int) -> bool:
        return self.db.execute("SELECT error IS NOT NULL FROM files WHERE id=?", (fid,)).fetchone()[0] == 1

    def _marks(self) -> str:
        return ",".join("?" * len(self.methods))

    @staticmethod
    def _under(root: str | os.PathLike) -> tuple[str, list]:
        """SQL condition (on ``file_paths``) for files in ``root`` or below it."""
        real = str(Path(root).resolve()).rstrip(os.sep) or os.sep
        prefix = real.rstrip(os.sep) + os.sep
        return "(dir = ? OR substr(dir, 1, ?) = ?)", [real, len(prefix), prefix]

    def _dir_id(self, db: sqlite3.Connection, folder: str) -> int:
        row = db.execute("SELECT id FROM dirs WHERE path=?", (folder,)).fetchone()
        if row is None:
            return db.execute("INSERT INTO dirs (path) VALUES (?) RETURNING id", (folder,)).fetchone()[0]
        return row[0]

    def _encode(self, paths: list[str], workers: int | None) -> tuple[dict, dict, dict]:
        """path -> {method: blob}, path -> digest, path -> reason it could not be read."""
        values: dict[str, dict[str, bytes]] = {}
        digests: dict[str, str] = {}
        failures: dict[str, str] = {}
        hash_methods = [m for m in self.methods if m != CNN]
        if hash_methods:
            enc = hashing.hash_files(paths, methods=hash_methods, workers=workers, warn=False)
            for i, p in enumerate(enc.paths):
                digests[p] = enc.digests[i]
                values[p] = {m: np.ascontiguousarray(enc.hashes[m][i]).astype("<u8").tobytes() for m in hash_methods}
            failures.update((f.path, f.reason) for f in enc.failures)
        if CNN in self.methods:
            emb = cnn_embedder(threads=workers).embed_files(paths, workers=workers, warn=False)
            for i, p in enumerate(emb.paths):
                digests[p] = emb.digests[i]
                values.setdefault(p, {})[CNN] = emb.vectors[i].astype("<f4").tobytes()
            failures.update((f.path, f.reason) for f in emb.failures if f.path not in values)
        return values, digests, failures

    def _store(self, batch: list[str], stat_of: dict, values: dict, digests: dict, failures: dict) -> None:
        with self._transaction() as db:
            dir_ids: dict[str, int] = {}
            for path in batch:
                size, mtime = stat_of[path]
                ok = path in values
                digest = bytes.fromhex(digests[path])[:16] if ok else None
                error = None if ok else failures.get(path, "not encoded")
                folder, name = os.path.split(path)
                if folder not in dir_ids:
                    dir_ids[folder] = self._dir_id(db, folder)
                row = db.execute(
                    "INSERT INTO files (dir_id, name, size, mtime_ns, digest, error) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(dir_id, name) DO UPDATE SET size=excluded.size, mtime_ns=excluded.mtime_ns, "
                    "digest=excluded.digest, error=excluded.error RETURNING id",
                    (dir_ids[folder], name, size, mtime, digest, error)).fetchone()
                fid = row[0]
                db.execute("DELETE FROM encodings WHERE file_id=?", (fid,))
                if ok:
                    db.executemany("INSERT INTO encodings VALUES (?, ?, ?)",
                                   [(fid, m, blob) for m, blob in values[path].items()])

    # -- reading --------------------------------------------------------------------------------
    def load(self, method: str, root: str | os.PathLike | None = None) -> tuple[list[str], np.ndarray]:
        """All paths with an encoding of ``method`` (optionally under ``root``) and their hashes
        (``(N,)`` or ``(N, words)`` uint64), or their vectors (``(N, d)`` float32) for ``cnn``."""
        name = _method_name(method)
        key = f"{name}|{root}"
        if key in self._cache:
            return self._cache[key]
        sql = ("SELECT f.path, e.value FROM encodings e JOIN file_paths f ON f.id = e.file_id "
               "WHERE e.method = ?")
        args: list = [name]
        if root is not None:
            where, more = self._under(root)
            sql += " AND " + where
            args += more
        rows = self.db.execute(sql + " ORDER BY f.path", args).fetchall()
        paths = [r[0] for r in rows]
        if name == CNN:
            dim = len(rows[0][1]) // 4 if rows else 0
            hashes = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").astype(np.float32).reshape(-1, dim)
        else:
            words = hashing.get_method(name).words
            flat = np.frombuffer(b"".join(r[1] for r in rows), dtype="<u8").astype(np.uint64)
            hashes = flat if words == 1 else flat.reshape(-1, words)
        self._cache[key] = (paths, hashes)
        return paths, hashes

    def digests(self, paths: Sequence[str]) -> list[str]:
        """Content digests (hex) of indexed paths, in the given order."""
        wanted = set(paths)
        found = {p: (d.hex() if d is not None else "")
                 for p, d in self.db.execute("SELECT path, digest FROM file_paths WHERE digest IS NOT NULL")
                 if p in wanted}
        return [found.get(p, "") for p in paths]

    def errors(self, root: str | os.PathLike | None = None) -> list[tuple[str, str]]:
        """(path, reason) of every indexed file that could not be read."""
        sql, args = "SELECT path, error FROM file_paths WHERE error IS NOT NULL", []
        if root is not None:
            where, args = self._under(root)
            sql += " AND " + where
        return self.db.execute(sql + " ORDER BY path", args).fetchall()

    def find_duplicates(self, method: str = "phash", threshold: int | None = None,
                        root: str | os.PathLike | None = None, workers: int | None = None) -> FindResult:
        """Duplicate groups among the indexed files (optionally those under ``root``)."""
        paths, hashes = self.load(method, root)
        return groups_from_encodings(paths, hashes, self.digests(paths), method, threshold, workers)

    def query(self, images: Sequence[str | os.PathLike] | str | os.PathLike, method: str = "phash",
              threshold: int | None = None, workers: int | None = None) -> list[tuple[str, str, int]]:
        """Indexed files that match new images (which are encoded but not stored).

        Returns
        -------
        list of (query path, indexed path, distance)
            Sorted by query, then distance; for ``cnn`` the score is the cosine similarity, highest first.
        """
        name = _method_name(method)
        if isinstance(images, (str, os.PathLike)):
            p = Path(images)
            images = find_images(p, recursive=True) if p.is_dir() else [p]
        paths, stored = self.load(name)
        if name == CNN:
            threshold = CNN_DEFAULT_SIMILARITY if threshold is None else threshold
            emb = cnn_embedder(threads=workers).embed_files(list(images), workers=workers, warn=True)
            if not len(emb.paths) or not len(paths):
                return []
            pairs = search.cosine_query(emb.vectors, stored, threshold)
            order = np.lexsort((-pairs.distance, pairs.left))
            return [(emb.paths[pairs.left[k]], paths[pairs.right[k]], float(pairs.distance[k])) for k in order]
        spec = hashing.get_method(name)
        threshold = spec.default_threshold if threshold is None else threshold
        enc = hashing.hash_files(list(images), methods=(name,), workers=workers, warn=True)
        if not len(enc.paths) or not len(paths):
            return []
        pairs = search.method_query(enc.hashes[name], stored, name, threshold, workers)
        order = np.lexsort((pairs.distance, pairs.left))
        return [(enc.paths[pairs.left[k]], paths[pairs.right[k]], int(pairs.distance[k])) for k in order]

    def stats(self) -> dict:
        """Counts and size on disk."""
        files = self.db.execute("SELECT count(*) FROM files").fetchone()[0]
        errors = self.db.execute("SELECT count(*) FROM files WHERE error IS NOT NULL").fetchone()[0]
        per_method = dict(self.db.execute("SELECT method, count(*) FROM encodings GROUP BY method").fetchall())
        self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        size = self.path.stat().st_size + sum(
            Path(str(self.path) + s).stat().st_size for s in ("-wal",) if Path(str(self.path) + s).exists())
        return {"path": str(self.path), "files": files, "unreadable": errors, "encodings": per_method,
                "bytes": size, "bytes_per_file": round(size / files, 1) if files else 0.0,
                "schema_version": SCHEMA_VERSION}

    def integrity_check(self) -> str:
        """SQLite's own ``PRAGMA integrity_check`` ('ok' when the file is sound)."""
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]


def default_cache_path(folder: str | os.PathLike) -> Path:
    """Where ``imagetwins find`` keeps its cache for a folder: the user cache dir, one file per folder."""
    import hashlib

    try:
        from platformdirs import user_cache_dir

        base = Path(user_cache_dir("imagetwins"))
    except ImportError:  # platformdirs is a dependency; this only guards odd installs
        base = Path.home() / ".cache" / "imagetwins"
    key = hashlib.sha256(str(Path(folder).resolve()).encode()).hexdigest()[:16]
    return base / f"{Path(folder).resolve().name or 'root'}-{key}.db"
