"""imagetwins: find exact and near-duplicate images.

The front door: the library's verbs, each loaded on first use (``import imagetwins`` itself loads
neither numpy nor Pillow nor any model)::

    import imagetwins

    result = imagetwins.find("photos/", keep="original")       # groups, keepers decided
    with imagetwins.open_session("photos/", workers=4) as s:     # one run's index, pair scores, workers
        result = imagetwins.find("photos/", "dihedral", session=s)
    leaks = imagetwins.check("test/", against="train/")          # test images duplicating training ones
    imagetwins.register_method(MyEncoder())                      # a method of your own, by name everywhere

imagededup 0.3's API is :mod:`imagetwins.methods`::

    from imagetwins.methods import PHash
    duplicates = PHash().find_duplicates(image_dir="photos/")
"""

from __future__ import annotations

import importlib
import sys
import types

__version__ = "0.1.0"

#: the front door: name -> (module, attribute), imported on first use
_VERBS = {
    "find": ("imagetwins.finder", "find"),
    "find_against": ("imagetwins.finder", "find_against"),
    "encode": ("imagetwins.finder", "encode"),
    "check": ("imagetwins.check", "check"),
    "open_session": ("imagetwins.session", "open_session"),
    "Session": ("imagetwins.session", "Session"),
    "Index": ("imagetwins.index", "Index"),
    "register_method": ("imagetwins.encoders", "register"),
    "get_method": ("imagetwins.encoders", "get_encoder"),
    "method_names": ("imagetwins.encoders", "encoder_names"),
    "FindResult": ("imagetwins.results", "FindResult"),
    "ScoreKind": ("imagetwins.scores", "ScoreKind"),
    "Verdict": ("imagetwins.scores", "Verdict"),
    "SkippedFileWarning": ("imagetwins.io", "SkippedFileWarning"),
    "Digest": ("imagetwins.digests", "Digest"),
}

__all__ = ["__version__", *_VERBS]


def _verb(name: str):
    module, attribute = _VERBS[name]
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError):
        raise AttributeError(f"imagetwins.{name} is not available in this installation ({module} has no "
                             f"{attribute})") from None


class _FrontDoor(types.ModuleType):
    """The package's module type: each verb a read-only attribute resolved on first use. A verb named like a
    module of the package (``check`` and ``imagetwins.check``) stays the verb when that module is imported
    (the import system's attempt to set the module there is ignored)."""

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(_VERBS))


def _property(name: str) -> property:
    def get(module):
        value = module.__dict__.get(f"_verb_{name}")
        if value is None:
            value = _verb(name)
            module.__dict__[f"_verb_{name}"] = value
        return value

    def set_(module, value):
        if not isinstance(value, types.ModuleType):  # (a submodule of the same name being imported: ignored)
            module.__dict__[f"_verb_{name}"] = value

    return property(get, set_, doc=f"imagetwins.{name}, loaded on first use")


for _name in _VERBS:
    setattr(_FrontDoor, _name, _property(_name))
del _name
sys.modules[__name__].__class__ = _FrontDoor
