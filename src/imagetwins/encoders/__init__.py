"""The registry of methods: every way imagetwins can encode and compare images, looked up by name.

Built in: ``phash``, ``ahash``, ``dhash``, ``whash`` (:mod:`.hashes`), ``dihedral`` (:mod:`.dihedral`),
``cnn`` (:mod:`.cnn`), ``copies`` (:mod:`.copies`: hash and CNN candidates confirmed by geometric
verification), ``similar`` (:mod:`.similar`: re-shots of one scene, for review); a user's ONNX model or
callable plugs in through :class:`.model.ModelEncoder`.
Adding a method is one module with an :class:`Encoder` subclass and one :func:`register` call (see
ARCHITECTURE.md, "How to add a method").

>>> from imagetwins.encoders import get_encoder
>>> get_encoder("phash").score_kind, get_encoder("phash").default_threshold
('distance', 10)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from imagetwins.encoders.base import BitsEncoder, Encoded, Encoder, Rows, ScoreKind, VectorEncoder
from imagetwins.search import Pairs

__all__ = ["DEFAULT_METHOD", "BitsEncoder", "Encoded", "Encoder", "Rows", "ScoreKind", "VectorEncoder", "encoder_names",
           "get_encoder", "method_pairs", "method_query", "register", "registered", "unregister"]

#: the method used where none is named: by the front door's ``find``, ``find_against`` and ``check`` and by the
#: CLI's find, report, remove, check and index update (copies confirmed on the pictures, never look-alikes)
DEFAULT_METHOD = "copies"

_REGISTRY: dict[str, Encoder] = {}


def register(encoder: Encoder, replace: bool = False) -> Encoder:
    """Make ``encoder`` available by its name everywhere a method is named; returns it.

    Raises ``ValueError`` when the name is taken (unless ``replace``) or not a plain lower-case word.
    """
    name = encoder.name
    if not name or name != name.strip().lower() or any(c in name for c in " ,/\\|"):
        raise ValueError(f"a method name is a lower-case word without spaces or separators, not {name!r}")
    if name in _REGISTRY and not replace:
        raise ValueError(f"a method named {name!r} is registered already")
    _REGISTRY[name] = encoder
    return encoder


def unregister(name: str) -> None:
    """Remove a method (tests, plug-ins that are unloaded)."""
    _REGISTRY.pop(name, None)


@contextmanager
def registered(encoder: Encoder, replace: bool = False) -> Iterator[Encoder]:
    """Make ``encoder`` available by its name inside a ``with`` block only; the registry is as it was after.

    With ``replace`` an existing method of the same name is swapped out for the block and put back
    (in its place in :func:`encoder_names`) afterwards, also when the block raises; tests use this to put
    a stand-in where a real method is, instead of mutating the global registry.

    >>> import copy
    >>> from imagetwins.encoders import get_encoder, registered
    >>> phash = get_encoder("phash")
    >>> with registered(copy.copy(phash), replace=True) as stand_in:
    ...     get_encoder("phash") is stand_in
    True
    >>> get_encoder("phash") is phash
    True
    """
    previous = _REGISTRY.get(encoder.name)
    register(encoder, replace=replace)
    try:
        yield encoder
    finally:
        if previous is None:
            _REGISTRY.pop(encoder.name, None)
        else:
            _REGISTRY[encoder.name] = previous


def get_encoder(name: str | Encoder) -> Encoder:
    """The method called ``name`` (case-insensitive), or ``ValueError`` listing the known ones.

    An :class:`Encoder` is returned as it is, so functions accept either.
    """
    if isinstance(name, Encoder):
        return name
    try:
        return _REGISTRY[str(name).lower()]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(encoder_names())}") from None


def encoder_names(output: str | None = None) -> list[str]:
    """Names of the registered methods in registration order (optionally only ``'bits'`` or ``'vectors'`` ones)."""
    return [n for n, e in _REGISTRY.items() if output is None or e.output == output]


def method_pairs(hashes: np.ndarray, method: str, threshold: int, workers: int | None = None,
                 progress: bool = False) -> Pairs:
    """All matching pairs for the encodings of a named method: ``get_encoder(method).pairs(...)``.

    Kept for code written against earlier versions (as ``imagetwins.search.method_pairs``).
    """
    return get_encoder(method).pairs(hashes, threshold, workers, progress=progress)


def method_query(queries: np.ndarray, database: np.ndarray, method: str, threshold: int,
                 workers: int | None = None) -> Pairs:
    """``(query, database)`` matches for the encodings of a named method (``get_encoder(method).query``)."""
    return get_encoder(method).query(queries, database, threshold, workers)


def _register_builtins() -> None:
    from imagetwins.encoders import cnn, copies, dihedral, hashes, similar

    for module in (hashes, dihedral, cnn, copies, similar):
        for encoder in module.ENCODERS:
            register(encoder)


_register_builtins()
