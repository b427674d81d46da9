"""One file under several names (hard links) is one file: never a duplicate of itself.

``remove --link hard`` leaves hard links behind, and so do backup tools, ``cp -al`` and photo managers; a
second name of the same inode frees nothing when moved and must not be offered for removal. Groups are
built from content, so the names of one inode land in one group: :func:`same_file` finds them there by
``(st_dev, st_ino)`` and the library keeps one name per file in the group (``FindResult.already_linked``
lists the others), so ``find``, ``report`` and ``remove`` agree.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

__all__ = ["same_file"]


def same_file(paths: Sequence[str]) -> list[list[int]]:
    """Positions in ``paths`` that name one file, each cluster in the order given (only clusters of two or more;
    paths that cannot be ``lstat``-ed here, such as remote URLs, are left out)."""
    by_inode: dict[tuple[int, int], list[int]] = {}
    for i, path in enumerate(paths):
        try:
            st = os.lstat(path)
        except (OSError, ValueError):
            continue
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            by_inode.setdefault((st.st_dev, st.st_ino), []).append(i)
    return [names for names in by_inode.values() if len(names) > 1]
