"""The user's own folders for imagetwins: the cache (index caches, spill files: safe to clear) and the data
folder (remembered decisions, the placeholders ``remove --link`` left: what a person decided, kept when the
cache is cleared)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["cache_folder", "data_folder"]


def cache_folder() -> Path:
    """``platformdirs.user_cache_dir("imagetwins")`` (e.g. ``~/.cache/imagetwins``)."""
    try:
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("imagetwins"))
    except ImportError:  # platformdirs is a dependency; this only guards odd installs
        return Path.home() / ".cache" / "imagetwins"


def data_folder() -> Path:
    """``platformdirs.user_data_dir("imagetwins")`` (e.g. ``~/.local/share/imagetwins``), never the cache folder."""
    try:
        from platformdirs import user_data_dir

        return Path(user_data_dir("imagetwins"))
    except ImportError:  # platformdirs is a dependency; this only guards odd installs
        return Path.home() / ".local" / "share" / "imagetwins"
