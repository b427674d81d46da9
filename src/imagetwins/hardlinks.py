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
    """Positions in ``paths`` that name one file, each cluster in the order given but its names that are files of
    their own (not symbolic links) first: the one a group keeps (only clusters of two or more; paths that cannot
    be ``stat``-ed here, such as remote URLs, are left out).

    A symbolic link beside the file it leads to, or one file named twice (``photos/a.jpg`` and its absolute path),
    as a program's list of files gives them (``glob`` lists links too), are one file as well: grouped with itself, the
    file a link leads to was offered for removal with the link kept (``imagetwins.find([...], keep=...)``'s
    decisions). Links alone (two links to one file outside a scanned folder, followed) are left as they were: the
    stages that follow links say what they do with them."""
    by_inode: dict[tuple[int, int], list[tuple[bool, int]]] = {}
    for i, path in enumerate(paths):
        try:
            st = os.lstat(path)
            link = stat.S_ISLNK(st.st_mode)
            if link:
                st = os.stat(path)
        except (OSError, ValueError):
            continue
        if stat.S_ISREG(st.st_mode):
            by_inode.setdefault((st.st_dev, st.st_ino), []).append((link, i))
    return [[i for _, i in sorted(names, key=lambda name: name[0])] for names in by_inode.values()
            if len(names) > 1 and not all(link for link, _ in names)]
