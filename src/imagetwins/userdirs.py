"""The user's own folders for imagetwins: the cache (index caches, spill files: safe to clear) and the data
folder (remembered decisions, the placeholders ``remove --link`` left: what a person decided, kept when the
cache is cleared)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

__all__ = ["NoHomeFolder", "cache_folder", "check_home", "data_folder"]


class NoHomeFolder(OSError):
    """A folder of ours lies in a home folder that does not exist (``HOME=/nonexistent``): imagetwins makes no
    home folder, so that folder is not made (no cache, no decision store there)."""


def check_home(folder: str | os.PathLike) -> None:
    """Raise :class:`NoHomeFolder` when making ``folder`` would make the user's home folder itself: it lies
    inside ``Path.home()``, which does not exist (a service account's ``HOME=/nonexistent``). A folder outside
    the home (``XDG_CACHE_HOME=/var/cache/me``) and one in an existing home pass."""
    try:
        home = Path.home()
    except (RuntimeError, KeyError):  # no HOME and no password entry: nothing of ours can be in it
        return
    if os.path.isdir(home):
        return
    folder = Path(os.path.abspath(folder))
    if folder == home or home in folder.parents:
        raise NoHomeFolder(errno.ENOENT, f"no usable home folder: {os.fspath(home)} does not exist, and imagetwins "
                                         "makes none")


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
