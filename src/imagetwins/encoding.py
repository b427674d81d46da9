"""The one loop that turns files into encodings: read, decode once, prepare, encode in batches.

Every method (hashes, the CNN, a user's model) goes through :func:`encode_files`: files are read and
decoded on threads (Pillow and ONNX Runtime release the GIL), each decoded image is handed to every
requested :class:`Stage` (so one decode serves several methods), and each stage encodes a batch at a
time, so memory is bounded by two batches of prepared inputs. The next batch decodes while this one
is encoded. A file that cannot be read, or takes longer than ``timeout`` seconds to decode, becomes a
:class:`~imagetwins.io.ReadFailure` with its reason; the run goes on.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

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


def _load(path: str, stages: Sequence[Stage], min_side: int, read: Callable[[str], bytes], exif: bool = True,
          facts: bool = False, min_long: int = 0):
    try:
        data = read(path)
        img, header = decode_image(data, min_size=min_side, path_for_messages=path, exif_orientation=exif,
                                   min_long_side=min_long)
        # the keep rules' facts from this very read, decode and header parse: choosing a keeper decodes nothing
        # again, and the file is not opened a second time for its EXIF
        found = image_facts(data, path, img, upright=exif, header=header) if facts else None
        return content_digest(data), [s.prepare(img) for s in stages], found
    except ImageReadError as exc:
        return ReadFailure(str(path), exc.reason, transient=getattr(exc, "transient", False))
    except Exception as exc:  # anything else one odd file provokes (or a network error) must not end the run
        return ReadFailure(str(path), f"cannot process ({type(exc).__name__}: {exc})")


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
        from tqdm.auto import tqdm

        bar = tqdm(total=len(paths), unit="img", desc="encoding", leave=False)
    elif progress:
        bar = progress  # the caller's bar, spanning several calls (the index encodes in chunks)
    batches = [paths[i:i + batch_size] for i in range(0, len(paths), batch_size)]
    pool = DecodePool(workers)

    def submit(batch: list[str]) -> list[Future]:
        return [pool.submit(_load, p, stages, min_side, read, exif_orientation, facts, min_long)
                for p in batch]

    class Part:  # what is decoded and not yet encoded
        def __init__(self) -> None:
            self.out = Encodings() if on_batch is not None else result
            self.prepared: list[list[np.ndarray]] = [[] for _ in stages]
            self.files = 0  # files taken, failures included (the bar's count)

    def encode(part: Part) -> None:
        if on_batch is not None:
            part.out.by_method = {stage.name: stage.encode_batch(slot) if slot else stage.empty()
                                  for stage, slot in zip(stages, part.prepared)}
            on_batch(part.out)
        else:
            for stage, slot in zip(stages, part.prepared):
                if slot:
                    chunks[stage.name].append(stage.encode_batch(slot))
        if bar is not None:
            bar.update(part.files)

    try:
        with quiet_decoder_warnings():
            pending = submit(batches[0]) if batches else []
            handed = time.monotonic()
            for k, batch in enumerate(batches):
                futures = pending
                # decode the next batch while this one is encoded
                pending = submit(batches[k + 1]) if k + 1 < len(batches) else []
                part = Part()
                for path, future in zip(batch, futures):
                    if on_batch is not None and part.out.paths and time.monotonic() - handed >= ON_BATCH_SECONDS:
                        encode(part)  # (what is ready is kept now, not at the batch's end)
                        handed, part = time.monotonic(), Part()
                    part.files += 1
                    try:
                        out = future.result(timeout=timeout)
                    except FutureTimeout:
                        # the decoder thread cannot be killed; it finishes on its own while the run goes on
                        # (transient: says nothing about the file, so no cache may remember it as unreadable)
                        out = ReadFailure(path, f"took longer than {timeout:g} s to decode", transient=True)
                    if isinstance(out, ReadFailure):
                        part.out.failures.append(out)
                        if part.out is not result:
                            result.failures.append(out)
                        if warn:
                            warn_skipped(out.path, out.reason)
                        continue
                    digest, arrays, found = out
                    part.out.paths.append(path)
                    part.out.digests.append(digest)
                    if facts:
                        part.out.facts.append(found)
                    for slot, array in zip(part.prepared, arrays):
                        slot.append(array)
                encode(part)
                handed = time.monotonic()
    finally:
        pool.shutdown()
        if bar is not None and bar is not progress:
            bar.close()
    for stage in stages:
        parts = chunks[stage.name]
        result.by_method[stage.name] = stage.concat(parts)
    return result
