"""Perceptual hashes: PHash, AHash, DHash and WHash, 64 bits each, as imagededup 0.3 defines them.

Each hash is a short numpy function from a stack of grey thumbnails ``(..., H, W)`` to bits
``(..., 64)``, so one call hashes one image or ten thousand. Hashes are held as ``uint64`` (bit 63 =
first bit of the hex string) and shown as 16-character hex strings, exactly as imagededup shows them.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image

from imagetwins.io import ImageReadError, ReadFailure, content_digest, open_image, read_bytes

#: JPEGs are decoded at the smallest DCT scale that keeps at least this many pixels per side. Smaller
#: (the hash's own 8 or 32 px) is faster but moves AHash/DHash bits away from imagededup's full decode
#: (at 128: 98.9 % of DHashes within 2 bits); at 192 all 878 upright dataset photos hash within 2 bits
#: of imagededup with all four methods, and 2-16 MP camera JPEGs decode at 1/8 scale.
DECODE_MIN_SIDE = 192


@lru_cache(maxsize=4)
def _dct_matrix(n: int, keep: int) -> np.ndarray:
    """First ``keep`` rows of the unnormalised DCT-II matrix (scipy's ``dct(type=2, norm=None)``)."""
    k = np.arange(keep)[:, None]
    x = np.arange(n)[None, :]
    return 2.0 * np.cos(np.pi * k * (2 * x + 1) / (2 * n))


def phash_bits(gray: np.ndarray) -> np.ndarray:
    """Perceptual hash: 8x8 lowest DCT frequencies of a 32x32 image, >= their median (DC excluded)."""
    d = _dct_matrix(gray.shape[-1], 8)
    coef = d @ gray.astype(np.float64) @ d.T
    flat = coef.reshape(*coef.shape[:-2], 64)
    median = np.median(flat[..., 1:], axis=-1, keepdims=True)
    return flat >= median


def ahash_bits(gray: np.ndarray) -> np.ndarray:
    """Average hash: each pixel of an 8x8 image >= the mean."""
    g = gray.astype(np.float64).reshape(*gray.shape[:-2], 64)
    return g >= g.mean(axis=-1, keepdims=True)


def dhash_bits(gray: np.ndarray) -> np.ndarray:
    """Difference hash: each pixel of a 9x8 (w x h) image brighter than its left neighbour."""
    return (gray[..., :, 1:] > gray[..., :, :-1]).reshape(*gray.shape[:-2], 64)


def whash_bits(gray: np.ndarray) -> np.ndarray:
    """Wavelet hash: Haar LL band at level 5 of a 256x256 image (32x32 block means), >= its median."""
    g = gray.astype(np.float64) / 255.0
    *lead, h, w = g.shape
    ll = g.reshape(*lead, 8, h // 8, 8, w // 8).mean(axis=(-3, -1))
    flat = ll.reshape(*lead, 64)
    return flat >= np.median(flat, axis=-1, keepdims=True)


@dataclass(frozen=True)
class HashMethod:
    """A hash: the thumbnail size it needs (width, height) and the function from thumbnails to bits."""

    name: str
    size: tuple[int, int]
    bits: Callable[[np.ndarray], np.ndarray]


HASH_METHODS: dict[str, HashMethod] = {
    "phash": HashMethod("phash", (32, 32), phash_bits),
    "ahash": HashMethod("ahash", (8, 8), ahash_bits),
    "dhash": HashMethod("dhash", (9, 8), dhash_bits),
    "whash": HashMethod("whash", (256, 256), whash_bits),
}


def get_method(name: str) -> HashMethod:
    """Look a hash method up by name (case-insensitive), with a helpful error."""
    try:
        return HASH_METHODS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown hash method {name!r}; choose one of {', '.join(HASH_METHODS)}") from None


def bits_to_uint64(bits: np.ndarray) -> np.ndarray:
    """Pack ``(..., 64)`` booleans into uint64, first bit most significant."""
    packed = np.packbits(np.asarray(bits, dtype=bool), axis=-1)
    return np.ascontiguousarray(packed).view(">u8")[..., 0].astype(np.uint64)


def to_hex(hashes: np.ndarray | int) -> str | list[str]:
    """uint64 hash(es) as 16-character lower-case hex, imagededup's format."""
    if np.ndim(hashes) == 0:
        return format(int(hashes), "016x")
    return [format(int(h), "016x") for h in np.asarray(hashes).ravel()]


def from_hex(hex_hashes: str | Sequence[str]) -> np.uint64 | np.ndarray:
    """Parse 16-character hex hash(es) into uint64."""
    if isinstance(hex_hashes, str):
        return np.uint64(int(hex_hashes, 16))
    return np.array([int(h, 16) for h in hex_hashes], dtype=np.uint64)


def gray_thumbnail(img: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """Resize (Lanczos, in RGB) then convert to grey, in imagededup's order, as a uint8 array."""
    return np.asarray(img.resize(size, Image.Resampling.LANCZOS).convert("L"), dtype=np.uint8)


def hash_image(img: Image.Image | np.ndarray, method: str = "phash") -> np.uint64:
    """Hash one decoded image (a Pillow image or an ``HxW`` / ``HxWx3`` uint8 array)."""
    m = get_method(method)
    if isinstance(img, np.ndarray):
        img = Image.fromarray(img.astype(np.uint8))
    if img.mode != "RGB":
        img = img.convert("RGB")
    return bits_to_uint64(m.bits(gray_thumbnail(img, m.size)))


@dataclass
class EncodeResult:
    """What :func:`hash_files` produced.

    ``paths`` are the files that decoded, in input order; ``hashes[method]`` holds their uint64 hashes
    in the same order; ``digests`` their SHA-256 content digests; ``failures`` the files skipped.
    """

    paths: list[str] = field(default_factory=list)
    hashes: dict[str, np.ndarray] = field(default_factory=dict)
    digests: list[str] = field(default_factory=list)
    failures: list[ReadFailure] = field(default_factory=list)


def default_workers() -> int:
    """Worker threads to use: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _thumbnails(path: str, methods: Sequence[HashMethod]) -> tuple[str, list[np.ndarray]] | ReadFailure:
    try:
        data = read_bytes(path)
        need = max(DECODE_MIN_SIDE, *(max(m.size) for m in methods))
        img = open_image(data, min_size=need, path_for_messages=path)
        return content_digest(data), [gray_thumbnail(img, m.size) for m in methods]
    except ImageReadError as exc:
        return ReadFailure(str(path), exc.reason)


def hash_files(
    paths: Sequence[str | os.PathLike],
    methods: Sequence[str] = ("phash",),
    workers: int | None = None,
    progress: bool = False,
    batch_size: int = 256,
    warn: bool = True,
) -> EncodeResult:
    """Decode files on all cores and hash them with one or more methods (one decode per file).

    Parameters
    ----------
    paths : sequence of path
        Files to encode.
    methods : sequence of str
        Hash names from :data:`HASH_METHODS`.
    workers : int, optional
        Decoding threads (Pillow releases the GIL while decoding); default: all CPUs.
    progress : bool
        Show a progress bar.
    batch_size : int
        Files decoded per batch; memory is bounded by one batch of thumbnails.
    warn : bool
        Emit one warning per unreadable file, naming the file and the reason.

    Returns
    -------
    EncodeResult
    """
    ms = [get_method(m) for m in methods]
    workers = default_workers() if not workers or workers < 1 else workers
    result = EncodeResult()
    chunks: dict[str, list[np.ndarray]] = {m.name: [] for m in ms}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(paths), unit="img", desc="encoding", leave=False)
    paths = [os.fspath(p) for p in paths]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(paths), batch_size):
            batch = paths[start : start + batch_size]
            thumbs: dict[str, list[np.ndarray]] = {m.name: [] for m in ms}
            for path, out in zip(batch, pool.map(lambda p: _thumbnails(p, ms), batch)):
                if isinstance(out, ReadFailure):
                    result.failures.append(out)
                    if warn:
                        warnings.warn(f"skipped {out.path}: {out.reason}", stacklevel=2)
                    continue
                digest, grays = out
                result.paths.append(path)
                result.digests.append(digest)
                for m, g in zip(ms, grays):
                    thumbs[m.name].append(g)
            for m in ms:
                if thumbs[m.name]:
                    chunks[m.name].append(bits_to_uint64(m.bits(np.stack(thumbs[m.name]))))
            if bar is not None:
                bar.update(len(batch))
    if bar is not None:
        bar.close()
    for m in ms:
        parts = chunks[m.name]
        result.hashes[m.name] = np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)
    return result
