"""Any image model as a method: an ONNX file or a Python callable that returns one vector per image.

>>> from imagetwins.embedding import Embedder, ModelConfig          # doctest: +SKIP
>>> from imagetwins.encoders import register
>>> from imagetwins.encoders.model import ModelEncoder
>>> register(ModelEncoder("mynet", Embedder(ModelConfig("mynet.onnx", input_size=256)), 0.9))  # doctest: +SKIP

after which ``-m mynet`` works in ``find``, the index, Dask and ``tune``.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from imagetwins.embedding import Embedder
from imagetwins.encoders.base import VectorEncoder

__all__ = ["ModelEncoder"]


class ModelEncoder(VectorEncoder):
    """Vectors from an :class:`~imagetwins.embedding.Embedder`, compared by cosine similarity.

    Parameters
    ----------
    name : str
        The method's name.
    embedder : Embedder
        The model (ONNX or a callable), its input size, pooling and orientations.
    default_threshold : float
        Cosine similarity used when none is given.
    """

    def __init__(self, name: str, embedder: Embedder, default_threshold: float) -> None:
        self.name = name
        self.embedder = embedder
        self.default_threshold = float(default_threshold)
        self.min_side = embedder.config.input_size
        self.batch_size = embedder.batch_size
        self._by_threads: dict[int, ModelEncoder] = {}

    def for_workers(self, workers: int | None) -> ModelEncoder:
        """The same model running on ``workers`` ONNX Runtime threads (one session per thread count)."""
        if not workers or workers == self.embedder.threads:
            return self
        if workers not in self._by_threads:
            e = self.embedder
            self._by_threads[workers] = ModelEncoder(
                self.name, Embedder(e.config, e.model, orientations=e.orientations, threads=workers),
                self.default_threshold)
        twin = self._by_threads[workers]
        if twin.exif_orientation != self.exif_orientation:
            twin = twin.on_stored_pixels()
        return twin

    def prepare(self, img: Image.Image) -> np.ndarray:
        return self.embedder.prepare(img)

    def encode_batch(self, prepared: list[np.ndarray]) -> np.ndarray:
        return self.embedder.embed_arrays(np.stack(prepared))

    def identity(self) -> dict:
        cfg = self.embedder.config
        fn = self.embedder.model
        # an ONNX model by its configured name; a callable by its function's or class's name
        model = cfg.name if fn is None else getattr(fn, "__qualname__", None) or type(fn).__qualname__
        return {"method": self.name, "model": model, "input_size": cfg.input_size, "pooling": cfg.pooling,
                "gem_p": cfg.gem_p, "orientations": self.embedder.orientations, "dtype": "float32", "version": 1,
                **({} if self.exif_orientation else {"exif_orientation": False})}
