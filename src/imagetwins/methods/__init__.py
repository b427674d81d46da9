"""imagededup-compatible duplicate finders: change ``imagededup.methods`` to ``imagetwins.methods``."""

from imagetwins.methods.hashing import AHash, DHash, Hashing, PHash, WHash

__all__ = ["AHash", "DHash", "Hashing", "PHash", "WHash"]
