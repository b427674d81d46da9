"""imagededup 0.3-compatible hashing classes: same names, arguments, defaults and return shapes.

Differences a user may notice, all deliberate: EXIF orientation is applied before hashing, transparent
pixels count as white rather than black, unreadable files are reported by name with the reason, the
search is exact for every ``search_method`` and runs on threads, and JSON scores are plain ints.
To hash the stored pixels as imagededup does, pass ``ignore_exif_orientation=True``.
"""

from __future__ import annotations

import errno
import json
import os
import warnings
from multiprocessing import cpu_count
from pathlib import Path, PurePath

import numpy as np

from imagetwins import hashing as _hashing
from imagetwins import search as _search
from imagetwins.encoders import get_encoder

# ImageArrayError: arrays are checked in one place, imagetwins.io.image_from_array
from imagetwins.io import (
    ImageArrayError,
    ImageReadError,
    find_images,
    open_image,
    progress_shown,
    quiet_decoder_warnings,
    warn_line,
    warn_skipped,
)
from imagetwins.writing import refuse_image_target

__all__ = ["AHash", "DHash", "DihedralHash", "EncodingMapError", "Hashing", "ImageArrayError", "ImageDirError",
           "PHash", "WHash", "check_encoding_map", "check_image_dir", "image_file_path", "images_in", "no_input_error",
           "save_json"]


class ImageDirError(ValueError, TypeError, AttributeError):
    """``image_dir`` is not a folder. imagededup raised ``ValueError``, or for ``None`` a ``TypeError``
    (hashes) or ``AttributeError`` (CNN); this is all three, so any of those ``except`` clauses catch it."""


class EncodingMapError(ValueError, TypeError, AttributeError):
    """``encoding_map`` is not a dict of file name -> encoding. imagededup raised ``AttributeError`` for a
    non-dict, ``TypeError`` for non-string hashes and ``ValueError`` for bad hex; this is all three."""


def image_file_path(image_file: object) -> Path | None:
    """``image_file`` as an existing path, or None when it is not one (a missing file, a PIL image, an
    array, bytes): imagededup then falls back to ``image_array`` and raises ``ValueError`` without one."""
    if not isinstance(image_file, (str, os.PathLike)) or isinstance(image_file, bytes) or not os.fspath(image_file):
        return None
    path = Path(os.fsdecode(os.fspath(image_file)))
    return path if path.exists() else None


def check_image_dir(image_dir: object) -> Path:
    """``image_dir`` as a folder path, or :class:`ImageDirError`."""
    if isinstance(image_dir, (str, os.PathLike)) and not isinstance(image_dir, bytes) and os.fspath(image_dir) \
            and os.path.isdir(image_dir):
        return Path(os.fsdecode(os.fspath(image_dir)))
    raise ImageDirError("Please provide a valid directory path!")


def images_in(root: Path, recursive: bool) -> list[Path]:
    """The image files an imagededup-style class encodes in ``root`` (:func:`imagetwins.io.find_images`), and a
    warning when there is none: imagededup returned ``{}`` without a word, and a folder whose photos lie in
    sub-folders read without ``recursive=True`` looked like a folder without duplicates."""
    files = find_images(root, recursive=recursive)
    if not files:
        unread = " (its sub-folders are not read: recursive=True reads them)" if not recursive and \
            _has_sub_folder(root) else ""
        warn_line(f"no image files found in {root}{unread}", once=False)
    return files


def _has_sub_folder(root: Path) -> bool:
    try:
        with os.scandir(root) as entries:
            return any(entry.is_dir(follow_symlinks=False) for entry in entries)
    except OSError:
        return False


def no_input_error(encoding_map: object) -> ValueError:
    """The ``ValueError`` (imagededup's type) of a ``find_duplicates`` given neither a folder nor encodings; an empty
    dict of encodings is named as such (imagededup said 'Provide either ...' to a caller who had given them)."""
    if isinstance(encoding_map, dict) and not encoding_map:
        return ValueError("encoding_map is empty: no image to compare (encode_images found none in its folder)")
    return ValueError("Provide either an image directory or encodings!")


def check_encoding_map(encoding_map: object) -> dict:
    """``encoding_map`` if it is a dict (keys: file names), or :class:`EncodingMapError`."""
    if not isinstance(encoding_map, dict):
        raise EncodingMapError(f"encoding_map must be a dict of file name -> encoding, not "
                               f"{type(encoding_map).__name__}")
    for key in encoding_map:
        if not isinstance(key, str):
            raise EncodingMapError(f"encoding_map keys must be file names (str), got {key!r}")
    return encoding_map


def check_outfile(filename: str | os.PathLike | None) -> None:
    """Refuse an ``outfile`` that cannot be written before any image is read: the error ``open`` gives (as
    imagededup's, at the end of the run), given before the encoding it would throw away (a stranger's
    ``find_duplicates(image_dir=..., outfile="/no/such/x.json")`` encoded a whole folder, then failed)."""
    if not filename:
        return
    path = Path(filename)  # (TypeError for a list or a number, as open() says it)
    if not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"cannot write outfile: the folder {path.parent} does not exist",
                                os.fspath(filename))
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "cannot write outfile: it is a folder", os.fspath(filename))
    refuse_image_target(path, "outfile")  # (imagededup replaced the photo: ReplacesImage, nothing read or written)


def save_json(results: dict | list, filename: str | os.PathLike) -> None:
    """Write results as imagededup does (indent 2, sorted keys)."""
    with open(filename, "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=2, sort_keys=True)


class Hashing:
    """Find duplicates with a 64-bit perceptual hash; subclasses choose the hash.

    Parameters
    ----------
    verbose : bool
        Show progress bars (as imagededup), where a person watches them: on a terminal or in a notebook, not in a
        log (:func:`imagetwins.io.progress_shown`).
    ignore_exif_orientation : bool
        Hash the pixels as stored, ignoring the EXIF orientation tag, as imagededup 0.3 does: hashes
        of sideways-stored camera photos then equal imagededup's. Default ``False``: pictures are
        turned upright first, so a rotated copy and its original hash alike.
    """

    method = "phash"

    def __init__(self, verbose: bool = True, ignore_exif_orientation: bool = False) -> None:
        self.verbose = verbose
        self.ignore_exif_orientation = bool(ignore_exif_orientation)
        self.target_size = _hashing.get_method(self.method).size
        self.results: dict | None = None

    @staticmethod
    def hamming_distance(hash1: str, hash2: str) -> int:
        """Number of differing bits between two hex hashes."""
        return int(bin(int(hash1, 16) ^ int(hash2, 16)).count("1"))

    def encode_image(self, image_file=None, image_array: np.ndarray | None = None) -> str | None:
        """Hash one image given by path or by array; ``None`` (with a warning) if the file is unreadable.

        Parameters
        ----------
        image_file : path, optional
            Image file.
        image_array : numpy.ndarray, optional
            ``HxW`` or ``HxWx3`` image, used when ``image_file`` is not an existing file.

        Returns
        -------
        str or None
            16-character hex hash.

        Raises
        ------
        ValueError
            Neither an existing file path nor an array (e.g. a PIL image), as imagededup.
        """
        path = image_file_path(image_file)
        if path is not None:
            try:
                with quiet_decoder_warnings():
                    img = open_image(path, min_size=_hashing.DECODE_MIN_SIDE,
                                     exif_orientation=not self.ignore_exif_orientation)
            except ImageReadError as exc:
                warn_skipped(exc.path, exc.reason)
                return None
            return _hashing.to_hex(_hashing.hash_image(img, self.method))
        if isinstance(image_array, np.ndarray):
            return _hashing.to_hex(_hashing.hash_image(image_array, self.method))
        raise ValueError("Please provide either image file path or image array!")

    def encode_images(self, image_dir=None, recursive: bool = False, num_enc_workers: int = cpu_count()) -> dict:
        """Hash every image in a folder.

        Returns
        -------
        dict
            File name (relative path when ``recursive``) -> hex hash; unreadable files are left out.
        """
        names, result = self._encode_dir(image_dir, recursive, num_enc_workers)
        return dict(zip(names, _hashing.to_hex(result.hashes[self.method])))

    def _encode_dir(self, image_dir, recursive: bool, num_enc_workers: int):
        root = check_image_dir(image_dir)
        # the one file list of the command line and the library (io.IMAGE_EXTENSIONS, and a file named otherwise whose
        # bytes are an image's: a photo saved without its extension still counts, as in imagededup)
        files = images_in(root, recursive)
        result = _hashing.hash_files(
            files, methods=(self.method,), workers=num_enc_workers, progress=progress_shown(self.verbose),
            exif_orientation=not self.ignore_exif_orientation,
        )
        names = [str(Path(p).relative_to(root)) for p in result.paths]
        return names, result

    @staticmethod
    def _check_hamming_distance_bounds(thresh: int, nbits: int = 64) -> None:
        if not isinstance(thresh, int) or isinstance(thresh, bool):
            raise TypeError(f"Threshold must be an int between 0 and {nbits}")
        if thresh < 0 or thresh > nbits:
            raise ValueError(f"Threshold must be an int between 0 and {nbits}")

    def find_duplicates(
        self,
        image_dir: PurePath | str | None = None,
        encoding_map: dict[str, str] | None = None,
        max_distance_threshold: int | None = 10,
        scores: bool = False,
        outfile: str | None = None,
        search_method: str = "brute_force_cython",
        recursive: bool | None = False,
        num_enc_workers: int | None = None,
        num_dist_workers: int = cpu_count(),
    ) -> dict:
        """Every file -> its duplicates within ``max_distance_threshold`` bits, closest first.

        Parameters
        ----------
        image_dir : path, optional
            Folder of images to encode and search.
        encoding_map : dict, optional
            File name -> hex hash (from :meth:`encode_images`), used instead of ``image_dir``.
        max_distance_threshold : int or None
            Largest Hamming distance (0..64; 0..256 for :class:`DihedralHash`) that counts as a
            duplicate; ``None`` takes the method's default.
        scores : bool
            Return ``(name, distance)`` tuples instead of names.
        outfile : str, optional
            Also write the result as JSON.
        search_method : str
            Accepted for compatibility; the search is always exact.
        recursive : bool
            Look into sub-folders (with ``image_dir``).
        num_enc_workers, num_dist_workers : int
            Threads for decoding (default: all CPUs; with ``encoding_map`` a value is unused, and a
            RuntimeWarning says so) and for the search (0 means one).

        Returns
        -------
        dict
            ``{'a.jpg': ['b.jpg', ...], ...}`` or with scores ``{'a.jpg': [('b.jpg', 3), ...], ...}``.
        """
        encoder = get_encoder(self.method)
        if max_distance_threshold is None:
            max_distance_threshold = encoder.default_threshold
        self._check_hamming_distance_bounds(max_distance_threshold, encoder.nbits)
        check_outfile(outfile)
        if image_dir:
            names, result = self._encode_dir(image_dir, recursive,
                                             cpu_count() if num_enc_workers is None else num_enc_workers)
            hashes = result.hashes[self.method]
        elif encoding_map:
            if recursive:
                warnings.warn("recursive parameter is irrelevant when using encodings.", SyntaxWarning,
                              stacklevel=2)
            if num_enc_workers is not None:  # said only to a caller who set it (imagededup says it always)
                warnings.warn("Parameter num_enc_workers has no effect since encodings are already provided",
                              RuntimeWarning, stacklevel=2)
            names = list(check_encoding_map(encoding_map))
            try:
                hashes = _hashing.hashes_from_map(encoding_map, encoder.nbits)
            except ValueError as exc:
                raise EncodingMapError(str(exc)) from None
        else:
            raise no_input_error(encoding_map)
        pairs = encoder.pairs(hashes, max_distance_threshold, workers=max(1, num_dist_workers))
        self.results = _search.duplicate_map(names, pairs, scores=scores)
        if outfile:
            save_json(self.results, outfile)
        return self.results

    def find_duplicates_to_remove(
        self,
        image_dir: PurePath | str | None = None,
        encoding_map: dict[str, str] | None = None,
        max_distance_threshold: int | None = 10,
        outfile: str | None = None,
        recursive: bool | None = False,
        num_enc_workers: int | None = None,
        num_dist_workers: int = cpu_count(),
    ) -> list:
        """Files to remove so that one image of each duplicate set remains (nothing is deleted here)."""
        check_outfile(outfile)
        result = self.find_duplicates(
            image_dir=image_dir,
            encoding_map=encoding_map,
            max_distance_threshold=max_distance_threshold,
            scores=False,
            recursive=recursive,
            num_enc_workers=num_enc_workers,
            num_dist_workers=num_dist_workers,
        )
        to_remove = _search.files_to_remove(result)
        if outfile:
            save_json(to_remove, outfile)
        return to_remove


class PHash(Hashing):
    """Perceptual hash: 8x8 low DCT frequencies of a 32x32 grey image vs their median."""

    method = "phash"


class AHash(Hashing):
    """Average hash: 8x8 grey image vs its mean."""

    method = "ahash"


class DHash(Hashing):
    """Difference hash: horizontal gradient signs of a 9x8 grey image."""

    method = "dhash"


class WHash(Hashing):
    """Wavelet hash: Haar LL band (8x8) of a 256x256 grey image vs its median."""

    method = "whash"


class DihedralHash(Hashing):
    """256-bit DCT-sign hash of the border-trimmed, squared image, matched in all 8 orientations.

    Finds mirrored, flipped and 90/180/270-degree rotated copies, padded copies and copies resized
    to another aspect ratio, which the classic hashes miss. Hashes are 64 hex characters; the
    default threshold is 72 of 256 bits (chosen with ``benchmarks/quality.py``).
    """

    method = "dihedral"

    def find_duplicates(self, image_dir=None, encoding_map=None, max_distance_threshold: int | None = None,
                        **kwargs) -> dict:
        return super().find_duplicates(image_dir=image_dir, encoding_map=encoding_map,
                                       max_distance_threshold=max_distance_threshold, **kwargs)

    def find_duplicates_to_remove(self, image_dir=None, encoding_map=None,
                                  max_distance_threshold: int | None = None, **kwargs) -> list:
        return super().find_duplicates_to_remove(image_dir=image_dir, encoding_map=encoding_map,
                                                 max_distance_threshold=max_distance_threshold, **kwargs)
