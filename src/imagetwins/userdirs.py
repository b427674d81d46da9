"""The user's own folders for imagetwins: the cache (index caches, spill files: safe to clear) and the data
folder (remembered decisions, the placeholders ``remove --link`` left: what a person decided, kept when the
cache is cleared)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

__all__ = ["NO_HOME", "NoHomeFolder", "cache_folder", "check_home", "data_folder", "home_folder"]


class NoHomeFolder(OSError):
    """A folder of ours lies in a home folder that does not exist (``HOME=/nonexistent``): imagetwins makes no
    home folder, so that folder is not made (no cache, no decision store there)."""


#: The home folder of a user who has none that can be told (no ``HOME``, no password entry: a container's made-up user
#: id, a service started with an empty environment): the name Debian gives accounts without a home. The folders of
#: ours in it are never made (:func:`check_home`), as under ``HOME=/nonexistent``: a run goes on without a cache or a
#: decision store (platformdirs' RuntimeError was a traceback, ``find`` and ``decisions list`` included).
NO_HOME = Path("/nonexistent")


def home_folder() -> Path:
    """``Path.home()``, or :data:`NO_HOME` where no home folder can be told (every folder of ours found from the home
    asks here: the trash's ``Path.home()`` was a traceback from ``remove --to-trash``)."""
    return _told_home() or NO_HOME


def _told_home() -> Path | None:
    try:
        return Path.home()
    except (RuntimeError, KeyError):
        return None


def check_home(folder: str | os.PathLike) -> None:
    """Raise :class:`NoHomeFolder` when making ``folder`` would make the user's home folder itself: it lies
    inside ``Path.home()``, which does not exist (a service account's ``HOME=/nonexistent``), or inside
    :data:`NO_HOME` where no home can be told (whether or not that exists). A folder outside the home
    (``XDG_CACHE_HOME=/var/cache/me``) and one in an existing home pass."""
    told = _told_home()
    if told is not None and os.path.isdir(told):
        return
    home = NO_HOME if told is None else told
    folder = Path(os.path.abspath(folder))
    if folder == home or home in folder.parents:
        why = (f"HOME is not set and user {os.getuid()} has no password entry (set HOME, or XDG_CACHE_HOME and "
               "XDG_DATA_HOME)" if told is None else f"{os.fspath(home)} does not exist")
        raise NoHomeFolder(errno.ENOENT, f"no usable home folder: {why}, and imagetwins makes none")


def cache_folder() -> Path:
    """``platformdirs.user_cache_dir("imagetwins")`` (e.g. ``~/.cache/imagetwins``)."""
    try:
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("imagetwins"))
    except ImportError:  # platformdirs is a dependency; this only guards odd installs
        return home_folder() / ".cache" / "imagetwins"
    except RuntimeError:  # (no home can be told: never made there)
        return NO_HOME / ".cache" / "imagetwins"


def data_folder() -> Path:
    """``platformdirs.user_data_dir("imagetwins")`` (e.g. ``~/.local/share/imagetwins``), never the cache folder."""
    try:
        from platformdirs import user_data_dir

        return Path(user_data_dir("imagetwins"))
    except ImportError:  # platformdirs is a dependency; this only guards odd installs
        return home_folder() / ".local" / "share" / "imagetwins"
    except RuntimeError:  # (no home can be told: never made there)
        return NO_HOME / ".local" / "share" / "imagetwins"
