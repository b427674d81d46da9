"""Perceptual hashes: PHash, AHash, DHash and WHash, 64 bits each, as imagededup 0.3 defines them.

Each hash is a short numpy function from a stack of grey thumbnails ``(..., H, W)`` to bits
``(..., 64)``, so one call hashes one image or ten thousand. Hashes are held as ``uint64`` (bit 63 =
first bit of the hex string) and shown as 16-character hex strings, exactly as imagededup shows them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image

from imagetwins.encoding import DECODE_TIMEOUT, Stage, encode_files
from imagetwins.io import ReadFailure, image_from_array
from imagetwins.search.dihedral import dihedral_variants  # noqa: F401  (re-exported: its old home)

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


def trim_uniform_border(gray: np.ndarray, tolerance: float = 12.0, share: float = 0.97,
                        max_trim: float = 0.35) -> tuple[int, int, int, int]:
    """Box ``(left, top, right, bottom)`` without the uniform border a padded copy carries.

    A row or column is border when at least ``share`` of its pixels are within ``tolerance`` grey
    levels of the border colour (the median of the outermost ring). At most ``max_trim`` of each
    dimension goes per side, so a photo of a white wall is not cut to nothing.
    """
    h, w = gray.shape
    ring = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]]).astype(np.float64)
    colour = np.median(ring)

    def run(lines: np.ndarray, limit: int) -> int:
        # the border lines from the edge inwards, looked at a few at a time (a photo's first line is rarely
        # border: the whole picture was compared before, for the same answer)
        n, step = 0, 4
        while n < limit:
            chunk = lines[n:min(limit, n + step)]
            near = (np.abs(chunk.astype(np.float64) - colour) <= tolerance).mean(axis=1) >= share
            if not near.all():
                return n + int(np.argmin(near))
            n += len(chunk)
            step *= 4
        return limit

    top, bottom = run(gray, int(h * max_trim)), run(gray[::-1], int(h * max_trim))
    left, right = run(gray.T, int(w * max_trim)), run(gray.T[::-1], int(w * max_trim))
    return left, top, w - right, h - bottom


def dihedral_thumbnail(img: Image.Image, size: int = 64) -> np.ndarray:
    """Grey, uniform borders trimmed, squashed to ``size`` x ``size`` (aspect changes do not matter)."""
    grey = img if img.mode == "L" else img.convert("L")
    probe = grey if max(grey.size) <= 512 else grey.reduce(max(1, max(grey.size) // 256))
    box = trim_uniform_border(np.asarray(probe))
    sx, sy = grey.width / probe.width, grey.height / probe.height
    crop_box = (round(box[0] * sx), round(box[1] * sy), round(box[2] * sx), round(box[3] * sy))
    return np.asarray(grey.crop(crop_box).resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)


def dihedral_bits(gray: np.ndarray) -> np.ndarray:
    """Signs of the 16x16 lowest non-constant DCT frequencies (1..16 on each axis) of a 64x64 image.

    Signs, not a median, so that flips and 90-degree rotations act on the hash itself: a mirror
    negates the odd horizontal frequencies (flips those bits), a transpose swaps the two axes.
    """
    d = _dct_matrix(gray.shape[-1], 17)[1:]
    coef = d @ gray.astype(np.float64) @ d.T
    return (coef > 0).reshape(*coef.shape[:-2], 256)


@dataclass(frozen=True)
class HashMethod:
    """A hash: how to make its thumbnail from an image, and the function from thumbnails to bits.

    ``size`` is the classic thumbnail (width, height); ``prepare`` overrides it for hashes that need
    more than a resize. ``dihedral`` hashes match in all 8 orientations (flips, 90-degree turns).
    """

    name: str
    size: tuple[int, int]
    bits: Callable[[np.ndarray], np.ndarray]
    nbits: int = 64
    default_threshold: int = 10
    dihedral: bool = False
    prepare: Callable[[Image.Image], np.ndarray] | None = None

    def thumbnail(self, img: Image.Image) -> np.ndarray:
        return self.prepare(img) if self.prepare is not None else gray_thumbnail(img, self.size)

    @property
    def words(self) -> int:
        return self.nbits // 64


HASH_METHODS: dict[str, HashMethod] = {
    "phash": HashMethod("phash", (32, 32), phash_bits),
    "ahash": HashMethod("ahash", (8, 8), ahash_bits),
    "dhash": HashMethod("dhash", (9, 8), dhash_bits),
    "whash": HashMethod("whash", (256, 256), whash_bits),
    "dihedral": HashMethod("dihedral", (64, 64), dihedral_bits, nbits=256, default_threshold=72,
                           dihedral=True, prepare=dihedral_thumbnail),
}

#: the four hashes defined as imagededup 0.3 defines them
CLASSIC_METHODS = ("phash", "ahash", "dhash", "whash")


def get_method(name: str) -> HashMethod:
    """Look a hash method up by name (case-insensitive), with a helpful error."""
    try:
        return HASH_METHODS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown hash method {name!r}; choose one of {', '.join(HASH_METHODS)}") from None


def bits_to_words(bits: np.ndarray) -> np.ndarray:
    """Pack ``(..., 64*W)`` booleans into ``(..., W)`` uint64 words, first bit most significant."""
    packed = np.packbits(np.asarray(bits, dtype=bool), axis=-1)
    return np.ascontiguousarray(packed).view(">u8").astype(np.uint64)


def bits_to_uint64(bits: np.ndarray) -> np.ndarray:
    """Pack ``(..., 64)`` booleans into uint64, first bit most significant."""
    return bits_to_words(bits)[..., 0]


def to_hex(hashes: np.ndarray | int) -> str | list[str]:
    """Hash(es) as lower-case hex: 16 characters per 64-bit word (imagededup's format for one word).

    A 1-D array is a list of 64-bit hashes; a 2-D ``(N, W)`` array a list of ``64*W``-bit hashes.
    """
    arr = np.asarray(hashes, dtype=np.uint64)
    if arr.ndim == 0:
        return format(int(arr), "016x")
    if arr.ndim == 1:
        return [format(int(h), "016x") for h in arr]
    return ["".join(format(int(w), "016x") for w in row) for row in arr]


def from_hex(hex_hashes: str | Sequence[str]) -> np.uint64 | np.ndarray:
    """Parse hex hash(es): 16 characters give uint64, longer ones ``(N, W)`` words."""
    if isinstance(hex_hashes, str):
        if len(hex_hashes) <= 16:
            return np.uint64(int(hex_hashes, 16))
        return from_hex([hex_hashes])[0]
    hexes = list(hex_hashes)
    width = max((len(h) for h in hexes), default=16)
    if width <= 16:
        return np.array([int(h, 16) for h in hexes], dtype=np.uint64)
    words = -(-width // 16)
    return np.array([[int(h.zfill(16 * words)[16 * k: 16 * k + 16], 16) for k in range(words)] for h in hexes],
                    dtype=np.uint64).reshape(len(hexes), words)


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def hashes_from_map(encoding_map: Mapping[str, str], nbits: int = 64) -> np.ndarray:
    """The hashes of an ``{name: hex hash}`` map as uint64 (``(N, nbits // 64)`` words when wider).

    Every value must be a string of exactly ``nbits // 4`` hex digits; anything else (another width,
    ``'-1'``, not text) is a ``ValueError`` naming its key.
    """
    digits = nbits // 4
    for key, value in encoding_map.items():
        if not isinstance(value, str) or len(value) != digits or not _HEX_DIGITS.issuperset(value):
            raise ValueError(f"encoding_map[{key!r}] = {value!r}: not a {nbits}-bit hash ({digits} hex digits)")
    return from_hex(list(encoding_map.values())) if encoding_map else np.empty(0, np.uint64)


def gray_thumbnail(img: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """Resize (Lanczos, in RGB) then convert to grey, in imagededup's order, as a uint8 array."""
    return np.asarray(img.resize(size, Image.Resampling.LANCZOS).convert("L"), dtype=np.uint8)


def hash_image(img: Image.Image | np.ndarray, method: str = "phash") -> np.uint64 | np.ndarray:
    """Hash one decoded image (a Pillow image or an ``HxW`` / ``HxWx3`` uint8 array)."""
    m = get_method(method)
    if isinstance(img, np.ndarray):
        img = image_from_array(img)
    if img.mode != "RGB":
        img = img.convert("RGB")
    words = bits_to_words(m.bits(m.thumbnail(img)))
    return words[0] if m.words == 1 else words


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


def hash_files(
    paths: Sequence[str | os.PathLike],
    methods: Sequence[str] = ("phash",),
    workers: int | None = None,
    progress: bool = False,
    batch_size: int = 256,
    warn: bool = True,
    timeout: float | None = DECODE_TIMEOUT,
    exif_orientation: bool = True,
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
    timeout : float, optional
        Seconds one file may take to read and decode before it is reported and skipped, so a
        pathological file cannot stall the run (``None``: no limit).
    exif_orientation : bool
        Turn pictures upright by their EXIF orientation first (default); ``False`` hashes the stored
        pixels, as imagededup 0.3 does.

    Returns
    -------
    EncodeResult
    """
    stages = [HashStage(get_method(m), batch_size, exif_orientation) for m in methods]
    out = encode_files(paths, stages, workers=workers, progress=progress, warn=warn, timeout=timeout)
    return EncodeResult(out.paths, out.by_method, out.digests, out.failures)


class HashStage(Stage):
    """A hash as a stage of :func:`imagetwins.encoding.encode_files`: thumbnail, then bits as uint64 words."""

    def __init__(self, method: HashMethod, batch_size: int = 256, exif_orientation: bool = True) -> None:
        self.method = method
        self.exif_orientation = exif_orientation
        self.name = method.name
        self.batch_size = batch_size
        self.min_side = max(DECODE_MIN_SIDE, *method.size)

    def prepare(self, img: Image.Image) -> np.ndarray:
        return self.method.thumbnail(img)

    def encode_batch(self, prepared: list[np.ndarray]) -> np.ndarray:
        words = bits_to_words(self.method.bits(np.stack(prepared)))
        return words[:, 0] if self.method.words == 1 else words

    def empty(self) -> np.ndarray:
        return np.empty((0,) if self.method.words == 1 else (0, self.method.words), dtype=np.uint64)
