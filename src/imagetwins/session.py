"""A run's session: what every stage of one run shares, opened once and passed along.

A :class:`Session` owns the run's stores -- the index or per-folder cache the encodings are kept in, the
store of costly pair scores (that index, else one in memory for the session's life), the scratch file
image features wait in (:mod:`imagetwins.spill`) -- and the run's workers and progress. The stages take
the session instead of a ``workers``, a ``progress`` and an index path each::

    with imagetwins.open_session("photos/", workers=4) as session:
        result = imagetwins.find("photos/", session=session, keep="original")
        write_html_report(result, "review.html", session=session)

so the index travels as an object: the keep policy and the review page use the very store the search
used, rather than opening its file again by name. The older keyword arguments (``workers=``,
``progress=``, ``cache=``) keep working where there is no session.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from imagetwins.encoders import Encoder, get_encoder
from imagetwins.index import (
    Index,
    IndexFileError,
    UpdateStats,
    default_cache_path,
    folder_cache_donors,
    open_folder_cache,
    warn_no_cache,
)
from imagetwins.io import path_text
from imagetwins.pairscores import MemoryPairScores, PairScoreStore

__all__ = ["Session", "open_session"]


class Session:
    """The stores, workers and progress of one run (see the module docstring). Close it, or use ``with``.

    Attributes
    ----------
    workers : int or None
        Threads for decoding, search and models (None: every CPU this process may use).
    progress : bool
        Show progress bars.
    index : Index or None
        The index or per-folder cache the run keeps its encodings in; None for a run without one.
    pair_scores : PairScoreStore
        Where costly pair scores (the ``copies`` verification, the keep rule's enlargement check) are kept:
        the index, else a store in memory for the session's life (a program that searches several times).
    """

    def __init__(self, index: Index | None = None, workers: int | None = None, progress: bool = False,
                 owns_index: bool = False, made_cache: bool = False) -> None:
        self.index = index
        self.workers = workers
        self.progress = progress
        self.pair_scores: PairScoreStore = index if index is not None else MemoryPairScores()
        self._owns_index = owns_index
        self._spill = None
        #: a per-folder cache this session made: deleted on close if it holds no file (an empty folder's cache
        #: was kept, and 'cache list' listed caches of 0 files)
        self._made_cache = made_cache and owns_index

    @property
    def spill(self):
        """The scratch file image features wait in during this run (:class:`imagetwins.spill.SpillFile`),
        made on first use and held while the session is open."""
        if self._spill is None:
            from imagetwins.spill import current_spill

            self._spill = current_spill()
        return self._spill

    def update(self, folder: str | os.PathLike, methods: Sequence[str | Encoder] | None = None,
               recursive: bool = True, follow_symlinks: bool = False, forget_below: bool = False) -> UpdateStats:
        """The index update stage: bring the session's index in line with ``folder`` on the session's workers,
        with its progress (:meth:`imagetwins.index.Index.update`; ``methods`` adds methods to the index; without
        ``recursive``, ``forget_below`` forgets what the index holds of the folder's sub-folders).

        Raises
        ------
        ValueError
            The session has no index (opened with ``cache=False``, or its cache could not be opened).
        """
        if self.index is None:
            raise ValueError("this session keeps no index to update (opened without a cache or db)")
        names = None if methods is None else [get_encoder(m).name for m in methods]
        return self.index.update(folder, recursive=recursive, workers=self.workers, progress=self.progress,
                                 methods=names, follow_symlinks=follow_symlinks, forget_below=forget_below)

    def close(self) -> None:
        """Close what the session opened (an index it was handed is left open); safe to call twice."""
        if self._owns_index and self.index is not None:
            empty = self._made_cache and self._holds_no_file()
            self.index.close()
            if empty:
                for q in (self.index.path, Path(f"{self.index.path}-wal"), Path(f"{self.index.path}-shm")):
                    try:
                        q.unlink()
                    except OSError:  # (gone already, or not ours to delete: a cache, left as it is)
                        pass
        self._owns_index = False
        self._spill = None

    def _holds_no_file(self) -> bool:
        try:
            return self.index.db.execute("SELECT count(*) FROM files").fetchone()[0] == 0
        except (sqlite3.Error, AttributeError):
            return False

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.index.path if self.index is not None else "no index"
        return f"<Session {where}, workers={self.workers}, progress={self.progress}>"


def open_session(folder: str | os.PathLike | None = None, methods: Sequence[str | Encoder] = ("phash",), *,
                 db: str | os.PathLike | Index | None = None, cache: bool = True, workers: int | None = None,
                 progress: bool = False, readonly: bool = False) -> Session:
    """Open the stores of one run.

    Parameters
    ----------
    folder : path, optional
        The folder the run scans: with ``cache`` (default) its per-folder cache is opened (made if
        missing); where it cannot be, the run goes on without one, with one warning.
    methods : sequence of str or Encoder
        The methods the run uses (the index checks it holds them made with the same parameters).
    db : path or Index, optional
        An index file to keep the encodings in instead of the folder's cache (an error in one line,
        :class:`~imagetwins.index.IndexFileError`, if it cannot be used), or an open :class:`Index`
        (left open when the session closes).
    cache : bool
        Use the folder's per-folder cache; ``False``: no index at all (every image decoded).
    workers, progress
        The run's threads and progress bars.
    readonly : bool
        Open ``db`` for reading only (``find --against`` a reference index).

    Returns
    -------
    Session
    """
    names = [get_encoder(m).name for m in methods]
    folder = path_text(folder) if folder is not None else None  # (bytes, os.PathLike: str from here on)
    if isinstance(db, Index):
        return Session(db, workers, progress, owns_index=False)
    if db is not None:
        index = Index(db, methods=[] if readonly else names, readonly=readonly)
        if folder is not None and not readonly:  # the folder's cache (or one above it) lends its rows
            index.donors = folder_cache_donors(folder, besides=db)
        return Session(index, workers, progress, owns_index=True)
    if folder is not None and cache and Path(folder).is_dir():
        made = not default_cache_path(folder).exists()
        try:
            return Session(open_folder_cache(folder, methods=names), workers, progress, owns_index=True,
                           made_cache=made)
        except (IndexFileError, OSError, sqlite3.Error) as exc:
            warn_no_cache(exc, folder)
    return Session(None, workers, progress)
