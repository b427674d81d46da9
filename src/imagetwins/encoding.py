"""The one loop that turns files into encodings: read, decode once, prepare, encode in batches.

Every method (hashes, the CNN, a user's model) goes through :func:`encode_files`: files are read and
decoded on threads (Pillow and ONNX Runtime release the GIL), each decoded image is handed to every
requested :class:`Stage` (so one decode serves several methods), and each stage encodes a batch at a
time, so memory is bounded by two batches of prepared inputs. The next batch decodes while this one
is encoded. A file that cannot be read, or takes longer than ``timeout`` seconds to decode, becomes a
:class:`~imagetwins.io.ReadFailure` with its reason; the run goes on. Each content (SHA-256) is decoded once per
call: a byte copy of a file decoded already takes its rows, facts or reason for failing (1,000 copies of a photo
are one decode, not 1,000).
"""

from __future__ import annotations

import functools
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from imagetwins import io
from imagetwins.facts import ImageFacts, image_facts
from imagetwins.io import (
    ImageReadError,
    ReadFailure,
    content_digest,
    decode_image,
    quiet_decoder_warnings,
    read_bytes,
    warn_skipped,
)
from imagetwins.raw import is_raw_name
from imagetwins.workers import thread_count

__all__ = ["DECODE_TIMEOUT", "Encodings", "Stage", "encode_files"]

#: seconds one file may take to read and decode before it is reported and skipped
DECODE_TIMEOUT = 60.0
#: with ``on_batch``, the files ready are handed over at least this often, even mid-batch: a batch of a slow method
#: (32 files of ``copies`` on a busy machine) took longer than a user waits before Ctrl-C, and nothing was kept
ON_BATCH_SECONDS = 1.0


class Stage:
    """What :func:`encode_files` needs from a method: a name, a decode size, and two steps (the base of every
    encoder, of the hash stages and of the CNN's embedder).

    ``prepare`` runs on the decoding threads (one upright RGB image -> a small array, e.g. a
    thumbnail); ``encode_batch`` turns a list of prepared arrays into one row each; :meth:`concat` joins
    the batches' rows.
    """

    name: str
    #: smallest side the decoder must keep (JPEGs are decoded at the smallest DCT scale above it)
    min_side: int = 0
    #: smallest long side the decoder must keep (0: ``min_side`` says all), for a stage that scales by the long side
    min_long_side: int = 0
    #: files per batch this stage prefers (the loop takes the smallest of the stages asked for)
    batch_size: int = 256
    #: turn each picture upright by its EXIF orientation first (every stage of one decode must agree)
    exif_orientation: bool = True

    def prepare(self, img: Image.Image) -> Any:
        raise NotImplementedError

    def encode_batch(self, prepared: list) -> Any:
        raise NotImplementedError

    def empty(self) -> Any:
        raise NotImplementedError

    def concat(self, parts: Sequence) -> Any:
        """The rows of ``parts`` one after another."""
        return np.concatenate(parts) if len(parts) else self.empty()

    def take(self, rows: Any, index: np.ndarray) -> Any:
        """The rows at ``index`` (integer positions), in that order (a file whose bytes were encoded already in this
        run takes that row)."""
        return np.asarray(rows)[index]


@dataclass
class Encodings:
    """What :func:`encode_files` produced.

    ``paths`` are the files that decoded, in input order; ``by_method[name]`` holds one row per path;
    ``digests`` their SHA-256 content digests; ``failures`` the files skipped, with the reason; ``facts``
    (when asked for) each path's :class:`~imagetwins.facts.ImageFacts`, from the same read and decode.
    """

    paths: list[str] = field(default_factory=list)
    by_method: dict[str, np.ndarray] = field(default_factory=dict)
    digests: list[str] = field(default_factory=list)
    failures: list[ReadFailure] = field(default_factory=list)
    facts: list[ImageFacts | None] = field(default_factory=list)


class DecodePool:
    """Decoding threads that never keep the process alive.

    ``concurrent.futures.ThreadPoolExecutor`` joins its threads when Python exits, so one decode
    stuck past the time limit would keep ``imagetwins`` from ever exiting. These threads are daemons:
    a file over the limit is reported, and the process ends when its work is done.
    """

    def __init__(self, workers: int) -> None:
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, daemon=True, name=f"imagetwins-decode-{k}")
                         for k in range(max(1, workers))]
        for t in self._threads:
            t.start()

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            future, fn, args = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to the caller through the future
                future.set_exception(exc)

    def submit(self, fn: Callable, *args) -> Future:
        future: Future = Future()
        self._tasks.put((future, fn, args))
        return future

    def shutdown(self) -> None:
        """Cancel what has not started; each thread ends after its current file."""
        while True:
            try:
                task = self._tasks.get_nowait()
            except queue.Empty:
                break
            if task is not None:
                task[0].cancel()
        for _ in self._threads:
            self._tasks.put(None)


@dataclass(frozen=True)
class _Decoded:
    """A file decoded and prepared (the first of its content in the run, :class:`_Claims`)."""

    key: tuple[str, bool]
    digest: str
    arrays: list
    facts: ImageFacts | None


@dataclass(frozen=True)
class _Failed:
    """A file read whose bytes could not be decoded: every file of the same bytes gets the same reason."""

    key: tuple[str, bool]
    failure: ReadFailure


@dataclass(frozen=True)
class _SameBytes:
    """A file whose bytes another file of the run, at position ``first``, was claimed to decode: not decoded."""

    key: tuple[str, bool]
    digest: str
    first: int


class _Claims:
    """Which file of a run decodes each content: its key (the SHA-256, and whether the name asks for the raw
    decoder, which the name picks) -> the position of the first file read with it. Byte copies are decoded once."""

    def __init__(self) -> None:
        self._first: dict[tuple[str, bool], int] = {}
        self._lock = threading.Lock()

    def claim(self, key: tuple[str, bool], position: int) -> int:
        with self._lock:
            return self._first.setdefault(key, position)


def _size_on_disk(path: str) -> int:
    """A local file's size (0 for anything else: a URL a Dask reader fetches, a file gone)."""
    try:
        return os.stat(path).st_size
    except (OSError, ValueError, TypeError):
        return 0


def file_state(path: str) -> tuple | None:
    """What changes whenever a file's bytes do (device, inode, size, mtime and ctime in ns: a write moves the ctime,
    which no program sets back), of the file ``path`` leads to; None where it cannot be had."""
    try:
        st = os.stat(path)
    except (OSError, ValueError, TypeError):
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _load(path: str, stages: Sequence[Stage], min_side: int, read: Callable[[str], bytes], exif: bool = True,
          facts: bool = False, min_long: int = 0, claims: _Claims | None = None, position: int = 0,
          known: tuple[str, tuple] | None = None):
    # the file's bytes are held from the read to the end of its decode: counted in the budget the threads share, and
    # a local file read no further than that (one swapped for a larger one since, or growing, is refused)
    size = _size_on_disk(path)
    with io.READ_BUDGET.hold(size):
        if read is read_bytes:
            read = functools.partial(read_bytes, counted=size)
        return _load_held(path, stages, min_side, read, exif, facts, min_long, claims, position, known)


def _load_held(path: str, stages: Sequence[Stage], min_side: int, read: Callable[[str], bytes], exif: bool = True,
               facts: bool = False, min_long: int = 0, claims: _Claims | None = None, position: int = 0,
               known: tuple[str, tuple] | None = None):
    key = None
    try:
        before = file_state(path) if known is not None else None
        data = read(path)
        # a digest taken of this file before (known: it, and the file's state then) stands while the file's state
        # is that one on both sides of this read: its bytes are not hashed again
        same = known is not None and before == known[1] and file_state(path) == known[1]
        digest = known[0] if same else content_digest(data)
        key = (digest, is_raw_name(path))
        if claims is not None:
            first = claims.claim(key, position)
            if first != position:  # another file of these very bytes is decoded: its encoding is taken
                return _SameBytes(key, digest, first)
        # the decoded image stays counted in the shared budget until every stage prepared it: each thread held its
        # own outside the budget meanwhile (io.DecodeBudget.keeping)
        with io.DECODE_BUDGET.keeping():
            img, header = decode_image(data, min_size=min_side, path_for_messages=path, exif_orientation=exif,
                                       min_long_side=min_long)
            # the keep rules' facts from this very read, decode and header parse: choosing a keeper decodes nothing
            # again, and the file is not opened a second time for its EXIF
            found = image_facts(data, path, img, upright=exif, header=header) if facts else None
            arrays = [s.prepare(img) for s in stages]
            del img  # (gone before the block gives its room in the budget back to the next decode)
        return _Decoded(key, digest, arrays, found)
    except ImageReadError as exc:
        failure = ReadFailure(str(path), exc.reason, transient=getattr(exc, "transient", False))
    except Exception as exc:  # anything else one odd file provokes (or a network error) must not end the run
        failure = ReadFailure(str(path), f"cannot process ({type(exc).__name__}: {exc})")
    return failure if key is None or failure.transient else _Failed(key, failure)


def encode_files(
    paths: Sequence[str | os.PathLike],
    stages: Sequence[Stage],
    workers: int | None = None,
    progress: bool | Any = False,
    warn: bool = True,
    timeout: float | None = DECODE_TIMEOUT,
    batch_size: int | None = None,
    read: Callable[[str], bytes] = read_bytes,
    facts: bool = False,
    on_batch: Callable[[Encodings], None] | None = None,
    known_digests: Mapping[str, tuple[str, tuple]] | None = None,
) -> Encodings:
    """Decode each file once and encode it with every stage, in batches, on ``workers`` threads.

    Parameters
    ----------
    paths : sequence of path
        Files to encode (or URLs, with a ``read`` that fetches them).
    stages : sequence of Stage
        The methods to encode with (usually :class:`imagetwins.encoders.Encoder` objects).
    workers : int, optional
        Decoding threads; default all CPUs.
    progress : bool or tqdm-like
        Show a progress bar; or an object with ``update(n)`` (a caller's bar) to advance batch by batch.
    warn : bool
        Emit one warning per unreadable file, naming the file and the reason.
    timeout : float, optional
        Seconds one file may take to read and decode before it is reported and skipped, so a
        pathological file cannot stall the run (``None``: no limit).
    batch_size : int, optional
        Files per batch; default the smallest the stages prefer.
    read : callable
        ``path -> bytes``; default :func:`imagetwins.io.read_bytes` (local files, size-limited).
    facts : bool
        Also take each file's :class:`~imagetwins.facts.ImageFacts` (size, EXIF date, border: what the keep
        rules weigh) from the same read and decode (``Encodings.facts``).
    on_batch : callable, optional
        Called with each batch's :class:`Encodings` as soon as it is encoded (the index stores it then, so an
        interrupted run keeps what was done), and with the files ready so far whenever ``ON_BATCH_SECONDS``
        passed since the last call (an interruption then loses about that much work). The returned value then
        holds only the failures.
    known_digests : mapping, optional
        path -> (its SHA-256 as hex, :func:`file_state` when that was taken): the digest of a file read for it
        already (the index's look for a stored row of its bytes); used where the file's state is still that one
        before and after this read, else the bytes are hashed as any file's.

    Returns
    -------
    Encodings
    """
    paths = [os.fspath(p) for p in paths]
    stages = list(stages)
    workers = thread_count(workers)
    batch_size = batch_size or min((s.batch_size for s in stages), default=256)
    min_side = max((s.min_side for s in stages), default=0)
    min_long = max((s.min_long_side for s in stages), default=0)
    # one decode serves every stage, so they must agree on turning pictures upright (the default)
    exif = {s.exif_orientation for s in stages}
    if len(exif) > 1:
        raise ValueError("stages that apply EXIF orientation and stages that ignore it cannot share a decode")
    exif_orientation = exif.pop() if exif else True
    result = Encodings()
    chunks: dict[str, list[np.ndarray]] = {s.name: [] for s in stages}
    bar = None
    if progress is True:
        from imagetwins.progress import progress_bar

        bar = progress_bar(total=len(paths), unit="img", desc="encoding")
    elif progress:
        bar = progress  # the caller's bar, spanning several calls (the index encodes in chunks)
    batches = [paths[i:i + batch_size] for i in range(0, len(paths), batch_size)]
    pool = DecodePool(workers)
    # byte copies are decoded once: the first file read with a content decodes it, the others take its rows. What
    # is kept for that: each content's rows object and row (rows are small; a run without on_batch keeps them all
    # anyway), the reason of contents that could not be decoded, and the futures of the batches in flight
    claims = _Claims()
    encoded: dict[tuple[str, bool], tuple[dict[str, Any], int, ImageFacts | None]] = {}
    failed: dict[tuple[str, bool], ReadFailure] = {}
    gave_up: dict[int, ReadFailure] = {}  # (by position: a failure read before its content was known, or transient)
    in_flight: dict[int, Future] = {}
    starts = list(range(0, len(paths), batch_size))

    def submit(k: int) -> list[Future]:
        futures = [pool.submit(_load, p, stages, min_side, read, exif_orientation, facts, min_long, claims,
                               starts[k] + i, known_digests.get(p) if known_digests else None)
                   for i, p in enumerate(batches[k])]
        in_flight.update(zip(range(starts[k], starts[k] + len(futures)), futures))
        return futures

    class Part:  # what is decoded and not yet encoded
        def __init__(self) -> None:
            self.out = Encodings() if on_batch is not None else result
            self.prepared: list[list[np.ndarray]] = [[] for _ in stages]
            self.slot: dict[tuple[str, bool], int] = {}  # each content new in this part: its prepared slot
            self.keys: list[tuple[str, bool]] = []  # ... and the content of each slot
            self.rows: list[tuple[str, Any]] = []  # each file's row: ("new", slot) or ("old", content key)
            self.found: list[ImageFacts | None] = []  # each file's facts
            self.slot_found: dict[tuple[str, bool], ImageFacts | None] = {}  # each new content's
            self.files = 0  # files taken, failures included (the bar's count)

        def add(self, path: str, decoded: _Decoded, found: ImageFacts | None) -> None:
            """``path`` with the rows of ``decoded``'s content: an earlier part's row, or a slot of this part."""
            key = decoded.key
            if key in encoded:
                self.rows.append(("old", key))
            else:
                if key not in self.slot:
                    self.slot[key] = len(self.keys)
                    self.slot_found[key] = found
                    self.keys.append(key)
                    for slot, array in zip(self.prepared, decoded.arrays):
                        slot.append(array)
                self.rows.append(("new", self.slot[key]))
            self.found.append(found)
            self.out.paths.append(path)
            self.out.digests.append(decoded.digest)
            if facts:
                self.out.facts.append(found)

    def rows_of(part: Part, s: int) -> Any:
        """The part's rows for ``stages[s]``, one per file: its new contents encoded once, the others taken."""
        stage = stages[s]
        new = stage.encode_batch(part.prepared[s]) if part.keys else stage.empty()
        if part.rows == [("new", j) for j in range(len(part.keys))]:
            return new  # (every file a content of its own, as in most runs)
        pieces, where, taken = [new], [], {}
        for kind, ref in part.rows:
            if kind == "new":
                where.append(ref)
                continue
            rows, at, _ = encoded[ref]
            group = taken.setdefault(id(rows[stage.name]), (rows[stage.name], []))
            where.append((id(rows[stage.name]), len(group[1])))
            group[1].append(at)
        offsets, total = {}, len(part.keys)
        for ident, (rows, ats) in taken.items():  # (one take per earlier rows object)
            offsets[ident] = total
            pieces.append(stage.take(rows, np.asarray(ats, np.int64)))
            total += len(ats)
        order = np.asarray([w if isinstance(w, int) else offsets[w[0]] + w[1] for w in where], np.int64)
        return stage.take(stage.concat(pieces), order)

    def encode(part: Part) -> None:
        by_method = {stage.name: rows_of(part, s) for s, stage in enumerate(stages)}
        for i, (kind, ref) in enumerate(part.rows):
            key = part.keys[ref] if kind == "new" else ref
            if key not in encoded:  # (a later file of this content takes this row)
                encoded[key] = (by_method, i, part.found[i])
        if on_batch is not None:
            part.out.by_method = by_method
            on_batch(part.out)
        else:
            for stage in stages:
                if part.rows:
                    chunks[stage.name].append(by_method[stage.name])
        if bar is not None:
            bar.update(part.files)

    def facts_of(decoded: _Decoded, part: Part) -> ImageFacts | None:
        """The facts of a file of ``decoded``'s content: its own decode's, or those of the content's first file."""
        if decoded.key in encoded:
            return encoded[decoded.key][2]
        if decoded.key in part.slot:
            return part.slot_found[decoded.key]
        return decoded.facts

    def same_bytes(out: _SameBytes, path: str, part: Part) -> _Decoded | _Failed | ReadFailure:
        """What a file whose content another file decodes gets: that content's rows (known, or coming: the first
        file may lie later in the order, read first by another thread), or its reason for failing."""
        if out.key in failed:
            return _Failed(out.key, ReadFailure(path, failed[out.key].reason))
        if out.key in encoded or out.key in part.slot:
            return _Decoded(out.key, out.digest, [], None)  # (its rows are known: taken)
        first = in_flight.get(out.first)
        got = outcome(first, path) if first is not None else gave_up.get(out.first)
        if isinstance(got, _Decoded):
            return got
        if isinstance(got, _Failed):
            return _Failed(out.key, ReadFailure(path, got.failure.reason))
        # the first file gave up for a reason that says nothing of the bytes (a time limit): so does this one
        reason = got.reason if isinstance(got, ReadFailure) else f"took longer than {timeout:g} s to decode"
        return ReadFailure(path, reason, transient=True)

    def outcome(future: Future, path: str):
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            # the decoder thread cannot be killed; it finishes on its own while the run goes on
            # (transient: says nothing about the file, so no cache may remember it as unreadable)
            return ReadFailure(path, f"took longer than {timeout:g} s to decode", transient=True)

    try:
        with quiet_decoder_warnings():
            pending = submit(0) if batches else []
            handed = time.monotonic()
            for k, batch in enumerate(batches):
                futures = pending
                # decode the next batch while this one is encoded
                pending = submit(k + 1) if k + 1 < len(batches) else []
                part = Part()
                for i, (path, future) in enumerate(zip(batch, futures)):
                    if on_batch is not None and part.out.paths and time.monotonic() - handed >= ON_BATCH_SECONDS:
                        encode(part)  # (what is ready is kept now, not at the batch's end)
                        handed, part = time.monotonic(), Part()
                    part.files += 1
                    out = outcome(future, path)
                    if isinstance(out, _SameBytes):  # the bytes of a file decoded (or being decoded) for the run
                        out = same_bytes(out, path, part)
                    if isinstance(out, _Failed):
                        failed.setdefault(out.key, out.failure)
                        out = ReadFailure(path, out.failure.reason, out.failure.transient)
                    if isinstance(out, ReadFailure):
                        gave_up[starts[k] + i] = out
                        part.out.failures.append(out)
                        if part.out is not result:
                            result.failures.append(out)
                        if warn:
                            warn_skipped(out.path, out.reason)
                        continue
                    part.add(path, out, facts_of(out, part))
                encode(part)
                for i in range(starts[k], starts[k] + len(batch)):  # (its results are in the rows now)
                    in_flight.pop(i, None)
                handed = time.monotonic()
    finally:
        pool.shutdown()
        if bar is not None and bar is not progress:
            bar.close()
    for stage in stages:
        parts = chunks[stage.name]
        result.by_method[stage.name] = stage.concat(parts)
    return result
