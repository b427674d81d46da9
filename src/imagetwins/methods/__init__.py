"""imagededup-compatible duplicate finders: change ``imagededup.methods`` to ``imagetwins.methods``."""

from imagetwins.methods.hashing import AHash, DHash, DihedralHash, Hashing, PHash, WHash

__all__ = ["AHash", "DHash", "DihedralHash", "Hashing", "PHash", "WHash"]
