"""imagededup 0.3-compatible ``CNN``: same arguments and shapes, but a bundled model, no torch, no download.

Differences a user may notice: the model is EfficientNet-Lite0 (1280-d vectors, GeM pooling) running
on ONNX Runtime; results are sorted by similarity (imagededup leaves them unsorted); the search is
blocked, so 100k images do not need an N x N matrix; ``model_config`` takes an ONNX file
(:class:`imagetwins.embedding.ModelConfig`) or a callable instead of a torch module.
"""

from __future__ import annotations

import warnings
from multiprocessing import cpu_count
from pathlib import Path, PurePath

import numpy as np

from imagetwins import search as _search
from imagetwins.embedding import CNN_DEFAULT_SIMILARITY, Embedder, ModelConfig, vectors_from_map
from imagetwins.encoders.model import ModelEncoder
from imagetwins.io import (
    ImageReadError,
    open_image,
    progress_shown,
    quiet_decoder_warnings,
    warn_skipped,
)
from imagetwins.methods.hashing import (
    EncodingMapError,
    check_encoding_map,
    check_image_dir,
    check_outfile,
    images_in,
    no_input_error,
    save_json,
)


class CNN:
    """Find duplicates with CNN embeddings and cosine similarity.

    Parameters
    ----------
    verbose : bool
        Show progress bars (as imagededup), where a person watches them: on a terminal or in a notebook, not in a
        log (:func:`imagetwins.io.progress_shown`).
    model_config : ModelConfig or callable, optional
        An ONNX model description, or ``f((N, H, W, 3) uint8) -> (N, d)``. Default: bundled EfficientNet-Lite0.
    orientations : {1, 2, 4, 8}
        Embed each image in this many orientations and sum (8: flipped and rotated copies match; 8x
        the compute). On the transformed-photo benchmark: 1 finds 65 % of true pairs at 99.5 %
        precision, 8 finds 96 % (BENCHMARKS.md).
    """

    def __init__(self, verbose: bool = True, model_config=None, orientations: int = 1) -> None:
        self.verbose = verbose
        if model_config is None or isinstance(model_config, ModelConfig):
            self.embedder = Embedder(model_config, orientations=orientations)
        elif callable(model_config):
            self.embedder = Embedder(model=model_config, orientations=orientations)
        else:
            raise ValueError("model_config must be an imagetwins.embedding.ModelConfig or a callable")
        self.results: dict | None = None

    @property
    def default_threshold(self) -> float:
        """imagededup's 0.9 with one orientation (its default, and the safer one: on ukbench-600 the CNN puts
        78 pairs of different photos at >= 0.9 and 742 at >= 0.75, which ``find_duplicates_to_remove`` would
        turn into removals); :data:`~imagetwins.embedding.CNN_DEFAULT_SIMILARITY` with 4 or 8."""
        return CNN_DEFAULT_SIMILARITY if self.embedder.orientations >= 4 else 0.9

    def encode_image(self, image_file=None, image_array: np.ndarray | None = None) -> np.ndarray | None:
        """The embedding of one image, shape ``(1, d)`` as imagededup returns it (None if unreadable)."""
        if isinstance(image_file, (str, PurePath)):
            if not Path(image_file).is_file():
                raise ValueError("Please provide either image file path or image array!")
            try:
                with quiet_decoder_warnings():
                    img = open_image(image_file, min_size=self.embedder.config.input_size)
            except ImageReadError as exc:
                warn_skipped(exc.path, exc.reason)
                return None
            return self.embedder.embed_image(img)[None]
        if isinstance(image_array, np.ndarray):  # checked by imagetwins.io.image_from_array
            return self.embedder.embed_image(image_array)[None]
        raise ValueError("Please provide either image file path or image array!")

    def _encode_dir(self, image_dir, recursive: bool, num_enc_workers: int):
        root = check_image_dir(image_dir)
        files = images_in(root, recursive)
        result = self.embedder.embed_files(files, workers=num_enc_workers or None,
                                           progress=progress_shown(self.verbose))
        return [str(Path(p).relative_to(root)) for p in result.paths], result.vectors

    def encode_images(self, image_dir=None, recursive: bool = False, num_enc_workers: int = cpu_count()) -> dict:
        """File name (relative path when ``recursive``) -> 1-D embedding; unreadable files left out."""
        names, vectors = self._encode_dir(image_dir, recursive, num_enc_workers)
        return dict(zip(names, vectors))

    @staticmethod
    def _check_threshold_bounds(thresh: float) -> None:
        if not isinstance(thresh, float):
            raise TypeError("Threshold must be a float between -1.0 and 1.0")
        if thresh < -1.0 or thresh > 1.0:
            raise ValueError("Threshold must be a float between -1.0 and 1.0")

    def find_duplicates(self, image_dir=None, encoding_map: dict | None = None,
                        min_similarity_threshold: float | None = None, scores: bool = False,
                        outfile: str | None = None, recursive: bool | None = False,
                        num_enc_workers: int | None = None, num_sim_workers: int = cpu_count()) -> dict:
        """Every file -> its duplicates with cosine similarity >= ``min_similarity_threshold``, most similar first.

        ``min_similarity_threshold`` None (the default) takes :attr:`default_threshold` (imagededup's 0.9
        with one orientation, 0.88 with 8).

        Returns
        -------
        dict
            ``{'a.jpg': ['b.jpg', ...]}`` or with scores ``{'a.jpg': [('b.jpg', 0.97), ...]}``.
        """
        if min_similarity_threshold is None:
            min_similarity_threshold = self.default_threshold
        self._check_threshold_bounds(min_similarity_threshold)
        check_outfile(outfile)
        if image_dir:
            names, vectors = self._encode_dir(image_dir, recursive, num_enc_workers or 0)
        elif encoding_map:
            if recursive:
                warnings.warn("recursive parameter is irrelevant when using encodings.", SyntaxWarning, stacklevel=2)
            if num_enc_workers is not None:  # said only to a caller who set it (imagededup says it always)
                warnings.warn("Parameter num_enc_workers has no effect since encodings are already provided",
                              RuntimeWarning, stacklevel=2)
            names = list(check_encoding_map(encoding_map))
            try:
                vectors = vectors_from_map(encoding_map)
            except ValueError as exc:
                raise EncodingMapError(str(exc)) from None
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.maximum(norms, 1e-12)
        else:
            raise no_input_error(encoding_map)
        encoder = ModelEncoder("imagededup-model", self.embedder, self.default_threshold)
        pairs = encoder.pairs(vectors, min_similarity_threshold, workers=num_sim_workers)
        self.results = _search.duplicate_map(names, pairs, scores=scores)
        if outfile:
            save_json(self.results, outfile)
        return self.results

    def find_duplicates_to_remove(self, image_dir=None, encoding_map: dict | None = None,
                                  min_similarity_threshold: float | None = None, outfile: str | None = None,
                                  recursive: bool | None = False, num_enc_workers: int | None = None,
                                  num_sim_workers: int = cpu_count()) -> list:
        """Files to remove so that one of each duplicate set remains (nothing is deleted here)."""
        check_outfile(outfile)
        result = self.find_duplicates(image_dir=image_dir, encoding_map=encoding_map,
                                      min_similarity_threshold=min_similarity_threshold, scores=False,
                                      recursive=recursive, num_enc_workers=num_enc_workers,
                                      num_sim_workers=num_sim_workers)
        to_remove = _search.files_to_remove(result)
        if outfile:
            save_json(to_remove, outfile)
        return to_remove
