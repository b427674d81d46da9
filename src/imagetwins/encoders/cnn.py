"""``cnn``: the bundled EfficientNet-Lite0 (ONNX, no torch), GeM pooling, vectors summed over 8 orientations."""

from __future__ import annotations

from imagetwins.embedding import CNN_DEFAULT_SIMILARITY, CNN_ORIENTATIONS, Embedder
from imagetwins.encoders.model import ModelEncoder

__all__ = ["CNN_METHOD", "cnn_encoder"]

#: the method's name
CNN_METHOD = "cnn"


def cnn_encoder(threads: int | None = None) -> ModelEncoder:
    """The ``cnn`` method (``threads``: ONNX Runtime's intra-op threads, default all CPUs)."""
    return ModelEncoder(CNN_METHOD, Embedder(orientations=CNN_ORIENTATIONS, threads=threads), CNN_DEFAULT_SIMILARITY)


ENCODERS = [cnn_encoder()]
