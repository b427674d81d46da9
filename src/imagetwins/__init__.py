"""imagetwins: find exact and near-duplicate images.

Quick start::

    from imagetwins.methods import PHash
    duplicates = PHash().find_duplicates(image_dir="photos/")
"""

__version__ = "0.1.0"
