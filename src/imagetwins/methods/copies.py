"""``Copies``: an imagededup-style class for "the copies, not the look-alikes".

Same calls as ``imagededup.methods.CNN`` (``encode_images``, ``find_duplicates``,
``find_duplicates_to_remove``), but a pair is a duplicate only when geometric verification confirms
it (:mod:`imagetwins.copies`, :mod:`imagetwins.verify`); ``min_similarity_threshold`` is that
verification's calibrated confidence, and the scores returned are that confidence.
"""

from __future__ import annotations

import os
from multiprocessing import cpu_count
from pathlib import Path

import numpy as np

from imagetwins import search as _search
from imagetwins.copies import COPIES_METHOD, CopyRecord, CopyRows
from imagetwins.encoders import get_encoder
from imagetwins.io import progress_shown
from imagetwins.methods.hashing import check_outfile, images_in, no_input_error, save_json
from imagetwins.scores import CONFIDENCE
from imagetwins.verify import DEFAULT_CONFIDENCE


class Copies:
    """Find copies (crops, resizes, padding, mirrors, turns, small rotations, grey, captions) of images.

    Parameters
    ----------
    verbose : bool
        Show progress bars (as imagededup), where a person watches them: on a terminal or in a notebook, not in a
        log (:func:`imagetwins.io.progress_shown`).
    """

    def __init__(self, verbose: bool = True) -> None:
        self.verbose = verbose
        self.results: dict | None = None

    #: confidence at or above which a pair is a copy (``imagetwins.verify.DEFAULT_CONFIDENCE``)
    default_threshold = DEFAULT_CONFIDENCE

    def _encode_dir(self, image_dir, recursive: bool, num_enc_workers: int
                    ) -> tuple[list[str], np.ndarray, list[str]]:
        """The files' names (relative to ``image_dir``), their records and their paths."""
        if image_dir is None or not os.path.isdir(image_dir):
            raise ValueError("Please provide a valid directory path!")
        root = Path(image_dir)
        files = images_in(root, recursive)
        enc = get_encoder(COPIES_METHOD).encode_files(files, workers=num_enc_workers or None,
                                                      progress=progress_shown(self.verbose))
        return [str(Path(p).relative_to(root)) for p in enc.paths], enc.encodings, list(enc.paths)

    def encode_images(self, image_dir=None, recursive: bool = False, num_enc_workers: int = cpu_count()) -> dict:
        """File name -> its :class:`imagetwins.copies.CopyRecord` (hash, CNN vector, features); unreadable
        files left out (with a warning naming each). Pass the result back as ``encoding_map``."""
        names, records, _ = self._encode_dir(image_dir, recursive, num_enc_workers)
        return dict(zip(names, records))

    @staticmethod
    def _check_threshold(thresh: float) -> None:
        if not isinstance(thresh, float):
            raise TypeError("Threshold must be a float above 0.0, at most 1.0")
        CONFIDENCE.check_threshold(thresh, method="Copies")  # the one check of a confidence (0 refused)

    def find_duplicates(self, image_dir=None, encoding_map: dict | None = None,
                        min_similarity_threshold: float | None = None, scores: bool = False,
                        outfile: str | None = None, recursive: bool | None = False,
                        num_enc_workers: int = 0, num_sim_workers: int = cpu_count()) -> dict:
        """Every file -> its verified copies, most confident first.

        Parameters
        ----------
        image_dir, encoding_map
            The folder, or the records :meth:`encode_images` made. With ``encoding_map`` alone the files are not
            known here: a pair whose stored features cannot tell a copy from a re-shot (about one per 1,000 images)
            keeps the features' answer, which may call a re-shot a copy, and one warning says how many; with
            ``image_dir`` such a pair is looked at in its files.
        min_similarity_threshold : float, optional
            Verification confidence in (0, 1] a pair needs; default :attr:`default_threshold`. 0 is refused: it would
            take every pair the search proposes, copies or not.
        scores : bool
            Return ``(name, confidence)`` tuples.

        Returns
        -------
        dict
            ``{'a.jpg': ['b.jpg', ...]}`` or with scores ``{'a.jpg': [('b.jpg', 0.98), ...]}``.
        """
        if min_similarity_threshold is None:
            min_similarity_threshold = self.default_threshold
        self._check_threshold(min_similarity_threshold)
        check_outfile(outfile)
        paths = None  # (the files, where known: a pair the stored features leave undecided is looked at in them)
        if image_dir:
            names, records, paths = self._encode_dir(image_dir, recursive, num_enc_workers)
        elif encoding_map:
            names = list(encoding_map)
            records = list(encoding_map.values())
            if not all(isinstance(r, CopyRecord) for r in records):
                raise ValueError("encoding_map values must come from Copies.encode_images")
        else:
            raise no_input_error(encoding_map)
        pairs = get_encoder(COPIES_METHOD).pairs(CopyRows.of(records), min_similarity_threshold,
                                                 workers=num_sim_workers or None, paths=paths)
        self.results = _search.duplicate_map(names, pairs, scores=scores, larger_is_closer=True)
        if outfile:
            save_json(self.results, outfile)
        return self.results

    def find_duplicates_to_remove(self, image_dir=None, encoding_map: dict | None = None,
                                  min_similarity_threshold: float | None = None, outfile: str | None = None,
                                  recursive: bool | None = False, num_enc_workers: int = 0,
                                  num_sim_workers: int = cpu_count()) -> list:
        """Files to remove so that one of each set of copies remains (nothing is deleted here)."""
        check_outfile(outfile)
        result = self.find_duplicates(image_dir=image_dir, encoding_map=encoding_map,
                                      min_similarity_threshold=min_similarity_threshold, scores=False,
                                      recursive=recursive, num_enc_workers=num_enc_workers,
                                      num_sim_workers=num_sim_workers)
        to_remove = _search.files_to_remove(result)
        if outfile:
            save_json(to_remove, outfile)
        return to_remove
