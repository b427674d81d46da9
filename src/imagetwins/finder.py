"""The main job, end to end: folder -> decoded images -> hashes -> pairs -> duplicate groups.

This is what the CLI runs and what a program calls when it wants groups rather than imagededup's
per-file dictionaries.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from collections.abc import Sequence
from contextlib import ExitStack, nullcontext
from pathlib import Path

import numpy as np

from imagetwins import search, timing
from imagetwins.encoders import DEFAULT_METHOD, Encoded, Encoder, get_encoder
from imagetwins.index import (
    Index,
    IndexDamagedError,
    IndexFileError,
    changed_since,
    file_state,
    open_folder_cache,
    read_again,
    warn_no_cache,
)
from imagetwins.io import (
    CostNotice,
    ReadFailure,
    find_image_paths,
    find_images,
    given_paths,
    path_text,
    warn_line,
)
from imagetwins.results import (
    DuplicateGroup,
    FindResult,
    QueryResult,
    Scan,
    groups_from_encodings,
    match_query,
    query_images,
    result_from_pairs,
    search_scan,
)
from imagetwins.scores import ColourVariants
from imagetwins.session import Session
from imagetwins.text import counted
from imagetwins.timing import Timings, stage

__all__ = ["DuplicateGroup", "Encoded", "FindResult", "QueryResult", "encode", "find", "find_against",
           "find_duplicate_groups",
           "find_duplicates_map",
           "groups_from_encodings", "result_from_pairs"]



def colour_variants_for(method: str | Encoder, colour_variants: str | None) -> ColourVariants:
    """``colour_variants`` validated (:meth:`ColourVariants.of`), and ``"apart"`` refused with a method that never
    marks a pair recoloured (a hash, ``cnn``, ``similar``: only a method that checks the pictures, ``copies``, does),
    where it would change nothing (``imagetwins.find(..., "phash", colour_variants="apart")`` ran as without it)."""
    choice = ColourVariants.of(colour_variants)
    unmarked = get_encoder(method).marks_no_recolouring
    if choice is ColourVariants.APART and unmarked is not None:
        raise ValueError(f"colour_variants='apart' sets apart the pairs copies compared after recolouring; {unmarked} "
                         "(use the copies method, or leave colour_variants out)")
    return choice


def find_duplicate_groups(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    method: str | Encoder = "phash",
    threshold: float | None = None,
    recursive: bool = False,
    workers: int | None = None,
    progress: bool = False,
    cache: Index | None = None,
    follow_symlinks: bool = False,
    decisions=True,
    session: Session | None = None,
    colour_variants: str | None = None,
) -> FindResult:
    """Find groups of duplicate images in a folder or a list of files.

    Symbolic links in the folder are reported and skipped; with ``follow_symlinks`` those leading out
    of it are followed (files reached so are still never moved by ``remove``).

    Parameters
    ----------
    paths : path or sequence of paths
        A folder (scanned for image files) or explicit files.
    method : str or Encoder
        A registered method (:func:`imagetwins.encoders.encoder_names`): ``phash``, ``ahash``, ``dhash``,
        ``whash``, ``dihedral`` (256 bits, matches flipped and rotated copies), or the CNN (8 orientations,
        cosine similarity, about 10x slower, also finds crops and small rotations).
    threshold : int or float, optional
        Largest Hamming distance (hashes) or smallest cosine similarity (vectors) that counts as a
        duplicate; default: the method's.
    recursive : bool
        Scan sub-folders too.
    workers : int, optional
        Threads for decoding and search; default all CPUs.
    progress : bool
        Show progress bars.
    cache : imagetwins.index.Index, optional
        Keep encodings there: only new and changed files are decoded, then the search runs over the
        cached encodings of the folder.
    decisions : bool, path, DecisionStore or Remembered
        Decisions remembered earlier (:mod:`imagetwins.decisions`): True (default) those of the user's store,
        a path or store another store's (an index given with ``--db`` carries its own), False none. Two
        contents said to be no duplicates are never grouped; the keepers chosen and the pairs left alone
        are honoured when keepers are decided (``result.decided``).
    session : imagetwins.session.Session, optional
        The run's stores, workers and progress (:func:`imagetwins.open_session`): its index is the cache,
        its workers and progress are used where ``workers`` / ``progress`` are not given.
    colour_variants : {"copies", "apart"}, optional
        Whether pairs compared after recolouring (``copies``' mark ``recoloured``: a colour variant of one picture,
        :class:`imagetwins.scores.ColourVariants`) are copies (``"copies"``, the default) or kept apart (``"apart"``:
        a shop's colour variants of a product).

    Returns
    -------
    FindResult
        Byte-identical files are always grouped, whatever the threshold.
    """
    from imagetwins.decisions import apply_decisions, remembered_from
    from imagetwins.results import colour_variants_apart

    colour_variants = colour_variants_for(method, colour_variants)  # (a bad name: ValueError before any work)
    paths = given_paths(paths)  # (bytes, os.PathLike: str from here on)
    if session is not None:
        workers = session.workers if workers is None else workers
        progress = progress or session.progress
        cache = session.index if cache is None else cache
    remembered = remembered_from(decisions)
    outer = timing.current()
    with Timings() if outer is None else nullcontext(outer) as clock:
        before = dict(clock.stages)
        start = time.perf_counter()
        result = _find_groups(paths, method, threshold, recursive, workers, progress, cache, follow_symlinks)
        result = apply_decisions(colour_variants_apart(result, colour_variants), remembered)
        timings = {k: v - before.get(k, 0.0) for k, v in clock.stages.items() if v > before.get(k, 0.0)}
        return result.replace(seconds=time.perf_counter() - start, timings=timings)


def _find_groups(paths, method, threshold, recursive, workers, progress, cache, follow_symlinks) -> FindResult:
    is_folder = isinstance(paths, (str, os.PathLike))
    if cache is not None and not is_folder:
        raise ValueError("a cache works on a folder; pass the folder rather than a list of files")
    if cache is not None:
        result = _through_cache(paths, method, threshold, recursive, workers, progress, cache, follow_symlinks)
        if result is not None:
            return result
    # no cache, or one that could not be used (a warning said so)
    skipped: list[ReadFailure] = []
    with stage("scan"):
        files = (find_images(Path(paths), recursive=recursive, skipped=skipped, follow_symlinks=follow_symlinks)
                 if is_folder
                 else [Path(p) for p in paths])
        enc = get_encoder(method).encode_files(files, workers=workers, progress=progress, warn=False, facts=True)
    scan = Scan(get_encoder(method).name, enc.paths, enc.encodings, enc.digests,
                sorted(skipped + enc.failures, key=lambda f: f.path),
                facts={d: f for d, f in zip(enc.digests, enc.facts) if f is not None})
    with stage("search"):
        return search_scan(scan, method, threshold, workers, progress)


def find(paths: str | os.PathLike | Sequence[str | os.PathLike], method: str | Encoder = DEFAULT_METHOD,
         threshold: float | None = None, *, recursive: bool = False, keep: str | None = None,
         keep_in: str | os.PathLike | Sequence[str | os.PathLike] = (), session: Session | None = None,
         workers: int | None = None, progress: bool = False, follow_symlinks: bool = False, decisions=True,
         cache: bool = True, colour_variants: str | None = None) -> FindResult:
    """The library's ``find``: duplicate groups in a folder or among files, and with ``keep`` the keepers.

    :func:`find_duplicate_groups` through the ``session``'s stores, then with ``keep`` (a rule of
    :data:`imagetwins.keep.KEEP_RULES`) the keep stage (:func:`imagetwins.keep.decide_keepers`): the result's
    groups are stars around their keepers and ``result.decisions`` says what to keep (without ``keep`` it is
    :data:`imagetwins.results.NOT_DECIDED`: false, and iterating it raises a ``TypeError`` saying to pass ``keep``;
    the groups are then the connected sets of the matches; ``keep_in``: reference folders, one or several, whose files
    are always kept: each must be a folder, a ``ValueError`` otherwise, as is ``keep_in`` without ``keep``).
    ``method`` defaults to :data:`imagetwins.encoders.DEFAULT_METHOD` (``copies``, as the CLI's ``find``;
    :func:`find_duplicate_groups` keeps ``phash``). Other parameters (``decisions``: the remembered ones;
    ``colour_variants``) as in :func:`find_duplicate_groups`.

    The cache: without a ``session``, a folder is scanned through its per-folder cache, the one the command
    line keeps (in the user's cache folder, :func:`imagetwins.userdirs.cache_folder`; made on the first run):
    a second call reads only new and changed files (1,000 camera photos with ``copies``: 0.45 CPU s instead of
    about a minute). ``cache=False`` decodes every image and keeps nothing (as ``--no-cache``); a list of files
    and a method given as an :class:`~imagetwins.encoders.Encoder` object rather than by name go without one.
    ``copies`` keeps about 75 KB an image there (7.5 GB at 100,000 photos); ``imagetwins cache clear`` removes
    it. With a ``session`` (:func:`imagetwins.open_session`: its folder's cache, an index file as ``db=``, or
    ``cache=False``) the session decides, and several calls share it.

    Examples
    --------
    >>> import imagetwins                                                  # doctest: +SKIP
    >>> result = imagetwins.find("photos/", keep="original")   # its cache: fast the 2nd time  # doctest: +SKIP
    >>> with imagetwins.open_session("photos/", ["copies"]) as s:            # doctest: +SKIP
    ...     result = imagetwins.find("photos/", keep="original", session=s)
    """
    paths = given_paths(paths)
    if keep is not None:  # (checked before any work: a reference folder mistyped or given as one string)
        from imagetwins.keep import reference_folders

        keep_in = reference_folders(keep_in, must_exist=True)
    elif keep_in not in ((), [], None, ""):  # reference folders are the keep stage's: without it they did nothing
        raise ValueError("keep_in names reference folders whose files the keep stage keeps: give keep= too "
                         "(keep='original'); without it the groups come without keepers and keep_in does nothing")
    if session is None and cache and isinstance(method, str) and isinstance(paths, str) and Path(paths).is_dir():
        from imagetwins.session import open_session

        with open_session(paths, [method], workers=workers, progress=progress) as own:
            return find(paths, method, threshold, recursive=recursive, keep=keep, keep_in=keep_in, session=own,
                        follow_symlinks=follow_symlinks, decisions=decisions, colour_variants=colour_variants)
    result = find_duplicate_groups(paths, method, threshold, recursive=recursive, workers=workers, progress=progress,
                                   follow_symlinks=follow_symlinks, session=session, decisions=decisions,
                                   colour_variants=colour_variants)
    if keep is None:
        return result
    from imagetwins.keep import decide_keepers

    return decide_keepers(result, keep_in, keep, workers=workers if session is None else session.workers,
                          session=session)


#: what a damaged or full cache can raise while it is read or written (anything else is not the cache's doing)
_CACHE_TROUBLE = (IndexFileError, sqlite3.Error, ValueError, TypeError, OverflowError, UnicodeError, KeyError)


def _through_cache(folder: str | os.PathLike, method: str | Encoder, threshold: float | None, recursive: bool,
                   workers: int | None, progress: bool, cache: Index, follow_symlinks: bool) -> FindResult | None:
    """Groups through the cache; a damaged per-folder cache is made again once (one warning); when the cache still
    cannot be used (a full disk, a damaged ``--db`` index) the run goes on without it (None; one warning)."""
    if cache.readonly:
        return _through_read_only_index(folder, method, threshold, recursive, workers, progress, cache,
                                        follow_symlinks)
    for attempt in (1, 2):
        try:
            with stage("scan"):
                stats = cache.update(folder, recursive=recursive, workers=workers, progress=progress,
                                     methods=[method], follow_symlinks=follow_symlinks, progress_label="encoding")
            with stage("load"):
                names, hashes = cache.load(method, root=folder, recursive=recursive)
                digests = cache.digests(names)
            failed = cache.errors(folder, recursive) + [(f.path, f.reason) for f in stats.failures if f.transient]
            break
        except _CACHE_TROUBLE as exc:
            if not _cache_did_it(exc):
                raise
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if attempt == 1 and cache.rebuild_stale and _damage(exc):
                warn_line(f"the cache {cache.path} is damaged ({reason}); it is made again", CostNotice)
                try:
                    cache.reset()
                    continue
                except IndexFileError as again:
                    reason = str(again)
            what = "the cache" if cache.rebuild_stale else "the index"
            warn_line(f"going on without {what} {cache.path} ({reason}); every image is decoded this time",
                      CostNotice)
            return None
    # the index keeps resolved absolute paths; show them under the folder as the caller named it
    real = str(Path(folder).resolve())
    shown = shown_under(folder, real, names)
    failures = _failures_under(folder, real, failed)
    scan = Scan(get_encoder(method).name, shown, hashes, digests, failures, str(cache.path), {})
    with stage("search"):
        result = search_scan(scan, method, threshold, workers, progress, score_store=cache)
    # the keep rules' facts of the grouped files only (the keep stage's; remembered decisions only shrink groups):
    # those of every file were ~1.3 CPU s of a find's load at 101,000 files, for a few hundred grouped
    with stage("load"):
        try:
            facts = cache.facts([d for g in result.groups for d in g.digests])
        except _CACHE_TROUBLE as exc:  # (facts are a cache: without them the keep stage reads the files)
            if not _cache_did_it(exc):
                raise
            facts = {}
    return result.replace(facts=facts)


def _through_read_only_index(folder: str | os.PathLike, method: str | Encoder, threshold: float | None,
                             recursive: bool, workers: int | None, progress: bool, cache: Index,
                             follow_symlinks: bool) -> FindResult | None:
    """Groups through an index that cannot be written (``find --db`` of a read-only file, folder or disk): the
    stored row of each file unchanged since the index recorded it (as :meth:`Index.update` judges it), the new and
    changed files encoded for this run and never stored (one warning says how many). None where the index cannot
    be read (one warning): the run goes on without it."""
    encoder = get_encoder(method)
    root = Path(folder).resolve()
    skipped: list[ReadFailure] = []
    try:
        with stage("scan"):
            found = find_image_paths(root, recursive=recursive, skipped=skipped, follow_symlinks=follow_symlinks)
            recorded = cache.recorded(root, recursive)
            unchanged: set[str] = set()
            failed: list[tuple[str, str]] = []
            todo: list[str] = []
            for path in found:
                try:
                    now = file_state(os.stat(path))
                except OSError:
                    todo.append(path)  # (gone meanwhile: its reading says so)
                    continue
                old = recorded.get(path)
                if old is None or changed_since(old[0], now) or read_again(path, old[1]):
                    todo.append(path)  # (new, changed, or one an update would read again)
                elif old[1] is not None:
                    failed.append((path, old[1]))
                else:
                    unchanged.add(path)
        with stage("load"):
            names, rows = cache.load(encoder, root=root, recursive=recursive) \
                if encoder.name in cache.stored_methods() else ([], encoder.empty())
            kept = [i for i, name in enumerate(names) if name in unchanged]
            names = [names[i] for i in kept]
            rows = encoder.take(rows, np.asarray(kept, np.int64))
            digests = list(cache.digests(names))
    except _CACHE_TROUBLE as exc:
        if not _cache_did_it(exc):
            raise
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        warn_line(f"going on without the index {cache.path} ({reason}); every image is decoded this time",
                  CostNotice)
        return None
    todo += sorted(unchanged.difference(names))  # (unchanged, but without this method's row)
    if todo:
        warn_line(f"the index {cache.path} cannot be written ({cache.unwritable or 'opened read-only'}): "
                  f"{counted(len(todo), 'image')} it does not hold as {'it is' if len(todo) == 1 else 'they are'} "
                  f"now (new, changed, or no {encoder.name} row) encoded for this run, not stored", CostNotice)
    with stage("scan"):
        new = encoder.encode_files(sorted(todo), workers=workers, progress=progress, warn=False, facts=True)
    files = names + list(new.paths)
    order = np.asarray(sorted(range(len(files)), key=files.__getitem__), np.int64)
    rows = encoder.take(encoder.concat([rows, new.encodings]), order)
    every = digests + list(new.digests)
    digests = [every[i] for i in order]
    files = [files[i] for i in order]
    failed += [(f.path, f.reason) for f in [*skipped, *new.failures]]
    real = str(root)
    scan = Scan(encoder.name, shown_under(folder, real, files), rows, digests, _failures_under(folder, real, failed),
                str(cache.path), {})
    with stage("search"):
        result = search_scan(scan, method, threshold, workers, progress, score_store=cache)
    facts = {d: f for d, f in zip(new.digests, new.facts) if f is not None}  # (the decode's, as a scan's)
    with stage("load"):
        try:
            facts.update(cache.facts([d for g in result.groups for d in g.digests]))
        except _CACHE_TROUBLE as exc:
            if not _cache_did_it(exc):
                raise
    return result.replace(facts=facts)


def shown_under(folder: str | os.PathLike, real: str, names: list[str]) -> list[str]:
    """``names`` (resolved paths under ``real``, the folder resolved) as paths under ``folder`` as the caller named it:
    ``os.path.join(folder, os.path.relpath(name, real))``, with the relative part cut off the name's own string where
    it plainly is one (no ``.`` part, no empty part: os.path.relpath made both paths absolute and normal again for each
    name, ~1 CPU s at 100,000)."""
    base = os.fspath(folder)
    head = real.rstrip(os.sep) + os.sep
    out = []
    for name in names:
        rest = name[len(head):] if name.startswith(head) else ""
        if not rest or rest.startswith((".", os.sep)) or rest.endswith(os.sep) or os.sep + "." in rest \
                or os.sep + os.sep in rest:
            rest = os.path.relpath(name, real)
        out.append(os.path.join(base, rest))
    return out


def _failures_under(folder: str | os.PathLike, real: str, failed: list[tuple[str, str]]) -> list[ReadFailure]:
    """The failures an index recorded (resolved path, reason), once each, sorted, their paths shown under ``folder``
    as :func:`shown_under` shows the files."""
    listed = sorted(set(failed))
    return [ReadFailure(shown, reason)
            for shown, (_, reason) in zip(shown_under(folder, real, [path for path, _ in listed]), listed)]


def _cache_did_it(exc: BaseException) -> bool:
    """Whether the cache raised ``exc`` (an SQLite error, or a value read from it), not an encoder or a file."""
    if isinstance(exc, (IndexFileError, sqlite3.Error)):
        return True
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and os.path.basename(tb.tb_frame.f_code.co_filename) == "index.py"


def _damage(exc: BaseException) -> bool:
    """Whether the cache holds what no imagetwins wrote (made again), rather than being full, locked by another
    run or not writable (making it again would not help; the run goes on without it)."""
    if isinstance(exc, IndexDamagedError) or not isinstance(exc, (IndexFileError, sqlite3.Error)):
        return True
    text = str(exc).lower()
    return any(word in text for word in ("malformed", "not a database", "no such", "mismatch", "constraint",
                                         "decode"))


def encode(files: str | os.PathLike | Sequence[str | os.PathLike], method: str | Encoder = "phash",
           workers: int | None = None, progress: bool = False, session: Session | None = None, *,
           recursive: bool = False) -> Encoded:
    """Encode files with a registered method (see :mod:`imagetwins.encoders`) on ``workers`` threads (default: the
    ``session``'s).

    ``files`` is one file, a list of files, or a folder: its images are encoded as :func:`find` finds them
    (``recursive`` walks its sub-folders too), links and special files left alone; a folder was taken for one
    unreadable file."""
    if session is not None:
        workers = session.workers if workers is None else workers
        progress = progress or session.progress
    files = given_paths(files)
    if isinstance(files, str):
        files = find_images(Path(files), recursive=recursive) if os.path.isdir(files) else [files]
    return get_encoder(method).encode_files(files, workers=workers, progress=progress, warn=False)


def find_duplicates_map(image_dir: str | os.PathLike, method: str | Encoder = "phash", threshold: float | None = None,
                        recursive: bool = False, workers: int | None = None) -> dict[str, list[tuple[str, float]]]:
    """imagededup's shape for any registered method: every file -> ``[(match, score), ...]``, closest first.

    Names are relative to ``image_dir`` (what :func:`imagetwins.report.plot_duplicates` takes).
    """
    encoder = get_encoder(method)
    result = find_duplicate_groups(image_dir, encoder, threshold, recursive=recursive, workers=workers)
    names = [os.path.relpath(p, image_dir) for p in result.files]
    return search.duplicate_map(names, result.pairs, scores=True)


def _folder_cache_or_none(folder: str | os.PathLike, encoder: Encoder) -> Index | None:
    """The folder's cache, or None (with a warning) where it cannot be made: the run goes on without."""
    try:
        return open_folder_cache(folder, methods=[encoder])
    except IndexFileError as exc:
        warn_no_cache(exc, folder)
        return None


def _named_from_here(paths: list[str]) -> list[str]:
    """An index's paths (real and absolute) as a person names them from the working folder: relative to it where
    they lie beneath it (``ref/x.jpg``, as ``--against ref`` shows the folder's files), else as they are."""
    try:
        here = os.getcwd().rstrip(os.sep) + os.sep
    except OSError:  # (the working folder was deleted)
        return paths
    if here == os.sep:  # (from the root every path lies beneath: as they are)
        return paths
    return [p[len(here):] if p.startswith(here) and len(p) > len(here) else p for p in paths]


def _from_here(path: str) -> str:
    return _named_from_here([path])[0]


def _reference(reference: str | os.PathLike | Index, encoder: Encoder, recursive: bool, workers: int | None,
               progress: bool, cache: bool, stack: ExitStack, session_index: Index | None = None
               ) -> tuple[list[str], np.ndarray, list[str] | None, list[ReadFailure], str, Index | None]:
    """A reference's paths, encodings, digests, unreadable files, name, and the index it came from (kept open
    on ``stack`` for the query), for :func:`find_against`; a reference folder's cache is ``session_index`` when
    the run has one (a session's, left open)."""
    # reference images that could not be read: a leak among them would go unseen, so they are reported
    if isinstance(reference, Index):
        _warn_unhealthy(reference, encoder)
        ref_paths, ref_encodings = reference.load(encoder)
        return (_named_from_here(ref_paths), ref_encodings, reference.digests(ref_paths),
                [ReadFailure(_from_here(p), r) for p, r in reference.errors()], str(reference.path), reference)
    if not Path(reference).is_dir():
        idx = stack.enter_context(Index(reference, methods=[], readonly=True))
        ref_paths, ref_encodings = idx.load(encoder)
        _warn_unhealthy(idx, encoder)
        return (_named_from_here(ref_paths), ref_encodings, idx.digests(ref_paths),
                [ReadFailure(_from_here(p), r) for p, r in idx.errors()], os.fspath(reference), idx)
    idx = None
    if session_index is not None:
        idx = session_index
    elif cache and (idx := _folder_cache_or_none(reference, encoder)) is not None:
        stack.enter_context(idx)
    if idx is not None:
        stats = idx.update(reference, recursive=recursive, workers=workers, progress=progress,
                           methods=[encoder.name], progress_label="encoding")
        names, ref_encodings = idx.load(encoder, root=reference, recursive=recursive)
        failed = idx.errors(reference, recursive) + [(f.path, f.reason) for f in stats.failures if f.transient]
        # the cache keeps resolved absolute paths; show them under the folder as the caller named it
        real = str(Path(reference).resolve())
        ref_paths = shown_under(reference, real, names)
        ref_failures = _failures_under(reference, real, failed)
        return ref_paths, ref_encodings, idx.digests(names), ref_failures, os.fspath(reference), idx
    ref_skipped: list[ReadFailure] = []
    enc = encoder.encode_files(find_images(Path(reference), recursive=recursive, skipped=ref_skipped),
                               workers=workers, progress=progress, warn=False)
    return (enc.paths, enc.encodings, enc.digests, sorted(ref_skipped + enc.failures, key=lambda f: f.path),
            os.fspath(reference), None)


def _query_through_cache(images, reference, encoder: Encoder, recursive: bool, workers: int | None, progress: bool,
                         stack: ExitStack, reference_store: Index | None) -> Encoded | None:
    """The images of ``find_against`` when they are a folder: through that folder's cache (the one ``find`` keeps;
    the reference's own when both are one folder), so an image whose file and digest the cache knows is not decoded
    again. None (the images are then encoded, never stored) for files rather than a folder, or a cache that cannot
    be used (one warning said so)."""
    if not isinstance(images, (str, os.PathLike)) or not Path(images).is_dir():
        return None
    same = (reference_store is not None and isinstance(reference, (str, os.PathLike)) and
            Path(reference).is_dir() and Path(reference).resolve() == Path(images).resolve())
    idx = reference_store if same else _folder_cache_or_none(images, encoder)
    if idx is None:
        return None
    if not same:
        stack.enter_context(idx)
    try:
        stats = idx.update(images, recursive=recursive, workers=workers, progress=progress, methods=[encoder.name],
                           progress_label="encoding")
        names, encodings = idx.load(encoder, root=images, recursive=recursive)
        digests = idx.digests(names)
        failed = idx.errors(images, recursive) + [(f.path, f.reason) for f in stats.failures if f.transient]
    except _CACHE_TROUBLE as exc:
        if not _cache_did_it(exc):
            raise
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        warn_line(f"going on without the cache {idx.path} ({reason}); every image of {os.fspath(images)} is "
                  "decoded this time", CostNotice)
        return None
    # the cache keeps resolved absolute paths; show them under the folder as the caller named it
    real = str(Path(images).resolve())
    paths = shown_under(images, real, names)
    failures = _failures_under(images, real, failed)
    return Encoded(paths, encodings, list(digests), failures)


def _warn_unhealthy(index: Index, encoder: Encoder) -> None:
    """One warning for each way a reference index may answer wrongly (half-built, older than its folder)."""
    for line in index.health(encoder):
        warn_line(line)


def find_against(
    images: str | os.PathLike | Sequence[str | os.PathLike],
    reference: str | os.PathLike | Index,
    method: str | Encoder = DEFAULT_METHOD,
    threshold: float | None = None,
    recursive: bool = False,
    workers: int | None = None,
    progress: bool = False,
    cache: bool = True,
    decisions=True,
    session: Session | None = None,
    colour_variants: str | None = None,
) -> QueryResult:
    """Which of ``images`` duplicate something in ``reference`` (e.g. test images leaking from training)?

    Parameters
    ----------
    images : path or sequence of paths
        A folder (scanned; ``recursive`` for sub-folders), one image file, or explicit files. A folder's
        encodings are kept in its per-folder cache (as :func:`find_duplicate_groups` keeps them) unless
        ``cache`` is False or a ``session`` is given, so a second check decodes only what changed; files are
        encoded, never stored.
    reference : path or Index
        A folder, an index file (opened read-only: nothing is added to it) or an open
        :class:`~imagetwins.index.Index`. A folder's files are named under the folder as given; an index's
        (which keeps real absolute paths) relative to the working folder where they lie beneath it, else as kept.
    method : str or Encoder
        A registered method; default :data:`imagetwins.encoders.DEFAULT_METHOD` (``copies``, as ``imagetwins
        check``).
    threshold, workers, progress
        As in :func:`find_duplicate_groups`.
    recursive : bool
        Scan sub-folders of ``images`` and of a reference folder.
    cache : bool
        Keep a reference folder's encodings, and those of a folder of ``images``, in their per-folder caches
        (:func:`imagetwins.index.default_cache_path`), so the next check only encodes what changed there.
    session : imagetwins.session.Session, optional
        The run's stores and workers (:func:`imagetwins.open_session` on the reference folder): its index is
        the reference folder's cache (used, not opened again), its workers and progress are used where not given.
    decisions : bool, path, DecisionStore or Remembered
        As in :func:`find_duplicate_groups`: a match between two contents remembered as no duplicates is
        left out.
    colour_variants : {"copies", "apart"}, optional
        As in :func:`find_duplicate_groups`: ``"apart"`` leaves out the recoloured matches (colour variants).

    Returns
    -------
    QueryResult

    Raises
    ------
    imagetwins.index.IndexFileError
        The reference index cannot be used (not an index, lacks ``method``, ...), in one line.
    FileNotFoundError
        ``reference``, or ``images`` given as one path, does not exist (a mistyped folder).
    """
    from imagetwins.decisions import content_key, remembered_from

    colour_variants = colour_variants_for(method, colour_variants)  # (a bad name: ValueError before any work)
    images = given_paths(images)
    reference = reference if isinstance(reference, Index) else path_text(reference)
    # a mistyped path says so, as find's does: a missing reference is not "no index at trian; make one with
    # 'imagetwins index update DIR --db trian'", nor a missing folder of images "0 of 0 images, 1 unreadable"
    if not isinstance(reference, Index) and not os.path.lexists(reference):
        raise FileNotFoundError(errno.ENOENT, "no such folder or index", reference)
    if isinstance(images, str) and not os.path.lexists(images):
        raise FileNotFoundError(errno.ENOENT, "no such folder or image", images)
    start = time.perf_counter()
    if session is not None:
        workers = session.workers if workers is None else workers
        progress = progress or session.progress
    remembered = remembered_from(decisions)
    encoder = get_encoder(method)
    threshold = encoder.threshold_or_default(threshold)
    with ExitStack() as stack:
        ref_paths, ref_encodings, ref_digests, ref_failures, ref_name, store = _reference(
            reference, encoder, recursive, workers, progress, cache, stack,
            session.index if session is not None and cache else None)
        # a folder of images goes through its own cache, as find's scan does: a second check decodes nothing (a
        # session's run opens no store but the session's, which holds the reference)
        cached = _query_through_cache(images, reference, encoder, recursive, workers, progress, stack,
                                      store) if cache and session is None else None
        if cached is not None:
            enc, skipped = cached, []
            matches = match_query(encoder, enc.paths, enc.encodings, ref_paths, ref_encodings, threshold, workers,
                                  score_store=store, query_digests=enc.digests, reference_digests=ref_digests,
                                  colour_variants=colour_variants)
        else:
            # the one query step (index query too); skipped: links, FIFOs, devices among the images, reported,
            # never read; the reference's index (or cache) also keeps the costly pair scores of a method that
            # verifies
            matches, enc, skipped = query_images(encoder, images, ref_paths, ref_encodings, threshold, workers,
                                                 progress, recursive, score_store=store,
                                                 reference_digests=ref_digests, colour_variants=colour_variants)
    if remembered:
        qkey = {p: content_key(d) for p, d in zip(enc.paths, enc.digests)}
        rkey = {p: content_key(d) for p, d in zip(ref_paths, ref_digests or [])}
        remembered = remembered.for_keys({*qkey.values(), *rkey.values()})
    set_aside = 0
    marks = dict(getattr(matches, "marks", {}))
    if remembered:
        before = sum(len(ms) for ms in matches.values())
        matches = {q: kept for q, ms in matches.items()
                   if (kept := [(r, s) for r, s in ms if not remembered.not_duplicate(qkey.get(q), rkey.get(r))])}
        set_aside = before - sum(len(ms) for ms in matches.values())  # said, so that a check never hides one
    # byte copies said as such: a copy's confidence (or a hash's 0 bits) is 1.0 for an edited copy too. Content keys
    # (an index keeps 128 bits of each SHA-256, a folder's encoding the whole) of the matched files only: a query of
    # one photo against a million indexed ones makes no million keys
    matched = {r for ms in matches.values() for r, _ in ms}
    query_key = {p: content_key(d) for p, d in zip(enc.paths, enc.digests) if p in matches}
    match_key = {p: content_key(d) for p, d in zip(ref_paths, ref_digests or []) if p in matched}
    identical = {(q, r) for q, ms in matches.items() for r, _ in ms
                 if query_key.get(q) is not None and query_key.get(q) == match_key.get(r)}
    return QueryResult(encoder.name, threshold, encoder.score_kind, enc.paths, ref_name, len(ref_paths), matches,
                       sorted(skipped + enc.failures, key=lambda f: f.path), time.perf_counter() - start,
                       ref_failures, set_aside, {k: m for k, m in marks.items() if k[0] in matches}, identical)
