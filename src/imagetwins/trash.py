"""The system trash, for ``imagetwins remove --to-trash`` (needs ``imagetwins[trash]``: send2trash).

On Linux and other freedesktop systems the trash is a folder (``files/`` beside ``info/*.trashinfo``
records of where each file came from), so after sending a file there :func:`send_to_trash` finds it
again and the quarantine journal records where it lies: ``imagetwins undo`` can put it back. On
macOS and Windows the trash does not say where a file went; undo then asks you to use the trash's
own "put back".
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote

__all__ = ["TrashUnavailable", "send_to_trash", "trash_info"]


class TrashUnavailable(RuntimeError):
    """send2trash is not installed."""


def _send2trash():
    try:
        from send2trash import send2trash
    except ImportError:
        raise TrashUnavailable('--to-trash needs send2trash: pip install "imagetwins[trash]"') from None
    return send2trash


def _trash_roots(path: Path) -> list[tuple[Path, Path]]:
    """(trash folder, the folder its .trashinfo paths are relative to) where ``path`` may have gone."""
    roots = []
    try:
        from send2trash import plat_other

        home = Path(os.fsdecode(plat_other.HOMETRASH_B))
    except (ImportError, AttributeError):
        home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "Trash"
    roots.append((home, home.parent))
    mount = Path(os.path.realpath(path.parent))
    while not os.path.ismount(mount) and mount != mount.parent:
        mount = mount.parent
    uid = str(os.getuid()) if hasattr(os, "getuid") else ""
    roots += [(mount / ".Trash" / uid, mount), (mount / f".Trash-{uid}", mount)]
    return roots


def trash_info(trashed: Path) -> Path | None:
    """The ``.trashinfo`` record of a file lying in a freedesktop trash's ``files/`` folder (None: not one)."""
    if trashed.parent.name != "files":
        return None
    info = trashed.parent.parent / "info" / (trashed.name + ".trashinfo")
    return info if info.is_file() and not info.is_symlink() else None


def _recorded_path(info: Path, topdir: Path) -> str | None:
    try:
        for line in info.read_text(encoding="utf-8", errors="surrogateescape").splitlines():
            if line.startswith("Path="):
                return os.path.normpath(os.path.join(topdir, unquote(line[5:], errors="surrogateescape")))
    except OSError:
        return None
    return None


def send_to_trash(path: str | os.PathLike) -> Path | None:
    """Send one file to the system trash; where it lies now, or None where the platform does not say."""
    src = Path(os.path.abspath(path))
    _send2trash()(str(src))
    stem, ext = os.path.splitext(src.name)
    found = None
    for trash, topdir in _trash_roots(src):
        files = trash / "files"
        for counter in range(10_000):  # the names send2trash tries, in its order
            name = src.name if counter == 0 else f"{stem} {counter}{ext}"
            candidate = files / name
            if not os.path.lexists(candidate) and not (trash / "info" / (name + ".trashinfo")).exists():
                break
            info = trash_info(candidate)
            if info is not None and _recorded_path(info, topdir) == str(src):
                found = candidate  # the last one recorded for this path is this one
        if found is not None:
            return found
    return None
