"""imagededup-compatible duplicate finders: change ``imagededup.methods`` to ``imagetwins.methods``."""

from imagetwins.methods.cnn import CNN
from imagetwins.methods.copies import Copies
from imagetwins.methods.hashing import AHash, DHash, DihedralHash, Hashing, PHash, WHash

__all__ = ["AHash", "CNN", "Copies", "DHash", "DihedralHash", "Hashing", "PHash", "WHash"]
