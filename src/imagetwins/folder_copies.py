"""Which folders of a search are copies of others: the finding behind ``imagetwins folders`` (:mod:`imagetwins.folders`
adds its plan and the checks before a folder moves) and behind the keep rules' last terms (:mod:`imagetwins.keep`):
one rule decides which of two copies alike in everything else goes, for whole folders and for files.

A folder counts with everything below it (a folder moved moves its sub-folders too). Folder ``R`` is
*covered* by folder ``O`` when every image under ``R`` (unreadable files count, with no copy) has a copy
under ``O`` that lies outside ``R``: byte-identical content first (SHA-256), then a match of the user's
method. :func:`find_duplicate_folders` lists pairs where at least ``min_share`` (default 95 %) of ``R``'s
images have such a copy, largest reclaimable size first.

Which folder of an identical pair goes: the one deeper in the tree (a backup is usually filed further
down), then the longer path, so ``Backup/old/Photos/2019`` goes and ``Photos/2019`` stays. Folders that
hold each other (``A`` and ``A/copy``): only the inner one can go, since moving ``A`` would move its copy
too. A symbolic link to a folder is never scanned (:mod:`imagetwins.io`), so a folder is never "a copy" of
itself through a link.

Files (:class:`CopiedFolders`): of two copies of one picture alike in every term of the keep rule before
their places, the one inside a folder listed as a copy of another goes (``Backup/x.jpg`` beside
``Photos/2019/x.jpg`` when ``Backup`` holds only copies of ``Photos/2019``'s pictures, however shallow it
lies), then :func:`place_order` (the deeper, then the longer path).
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from imagetwins.io import skipped_link

__all__ = ["FolderPair", "find_duplicate_folders", "MIN_SHARE", "CopiedFolders", "place_order"]

#: the least share of a folder's images that must have a copy in the other folder for the pair to be listed
MIN_SHARE = 0.95


@dataclass
class FolderPair:
    """Folder ``redundant`` (relative to the scanned folder) has copies of ``copied`` of its ``images`` in
    ``copy_of``. ``byte_identical``: how many of those copies are byte for byte the same file;
    ``identical``: both folders hold the same pictures, each with a byte-identical copy in the other;
    ``reclaimable``: bytes of the copied images (hard links of their copy not counted: moving them frees
    nothing); ``files``: each copied image -> (its SHA-256, its copy, the copy's SHA-256);
    ``without_copy``: the images with none."""

    redundant: str
    copy_of: str
    images: int
    copied: int
    byte_identical: int
    identical: bool
    reclaimable: int
    files: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    without_copy: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.copied / self.images if self.images else 0.0

    @property
    def complete(self) -> bool:
        """Every image of the folder has a copy in the other: the folder can be moved as a whole."""
        return self.copied == self.images

    def describe(self) -> str:
        if self.identical:
            how = "identical"
        elif self.complete:
            how = "all images copied"
        else:
            how = f"{100 * self.share:.1f} % of its images copied"
        return f"{how} ({self.copied} of {self.images}, {self.byte_identical} byte-identical)"


def _ancestors(rel: str) -> list[str]:
    """The folders holding ``rel`` (relative, '/'-separated), innermost first, the scanned folder itself as ''."""
    parts = rel.split("/")[:-1]
    return ["/".join(parts[:k]) for k in range(len(parts), -1, -1)]


def _under(path: str, folder: str) -> bool:
    return folder == "" or path == folder or path.startswith(folder + "/")


def find_duplicate_folders(result, root: str | os.PathLike, min_share: float = MIN_SHARE,
                           min_images: int = 2) -> list[FolderPair]:
    """Pairs of folders under ``root`` where one holds copies of (nearly) all the other's images.

    Parameters
    ----------
    result : FindResult
        A search of ``root`` (recursive) with any method: its pairs are the copies, its digests the
        byte-identical ones.
    root : path
        The scanned folder; folders are named relative to it.
    min_share : float
        The least share of a folder's images that must have a copy in the other (0.95: 95 %).
    min_images : int
        Folders with fewer images are left to the file-level groups.

    Returns
    -------
    list of FolderPair
        Largest reclaimable size first. Each folder appears at most once as redundant (with the
        narrowest folder holding its copies), and a pair inside a pair already listed is left out.
    """
    if not 0 < min_share <= 1:
        raise ValueError("min_share must be in (0, 1]")
    given = os.path.abspath(root)
    real = os.path.realpath(root)

    def rel(p: str) -> str | None:
        full = os.path.abspath(p)
        for base in (given, real):
            if full.startswith(base.rstrip(os.sep) + os.sep):
                return os.path.relpath(full, base).replace(os.sep, "/")
        return None

    files = [rel(p) for p in result.files]
    digests = list(result.digests) if result.digests else [""] * len(files)
    images: dict[str, int] = defaultdict(int)
    failed = [x for f in result.failures if not skipped_link(f) and (x := rel(f.path)) is not None]
    for r in files + failed:
        if r is not None:
            for a in _ancestors(r):
                images[a] += 1
    copies = _Copies(result, files, digests)
    above = [_ancestors(f) if f is not None else [] for f in files]  # each file's folders, innermost first
    members: dict[str, list[int]] = defaultdict(list)  # folder -> the files under it (with a copy somewhere)
    for i in range(len(files)):
        if i in copies:
            for r in above[i][:-1]:  # (the scanned folder itself is never redundant)
                members[r].append(i)

    def coverage(r: str, among: Sequence[int], only: set[str] | None = None) -> dict[str, dict[int, int]]:
        """Folder -> each file of ``among`` (under ``r``) -> its best copy in that folder, outside ``r``
        (byte-identical first); with ``only``, those folders alone."""
        got: dict[str, dict[int, int]] = defaultdict(dict)
        parent = r.rpartition("/")[0]
        for i in among:
            for j in copies[i]:
                fj = files[j]
                if fj is None or _under(fj, r):
                    continue  # a copy inside the folder itself goes with it
                exact = bool(digests[i]) and digests[i] == digests[j]
                for o in above[j]:
                    if only is not None and o not in only:
                        continue
                    if _under(o, r) or (_under(r, o) and o != parent):
                        continue  # O inside R goes with it; O holding R: only R's own parent (a backup inside it)
                    best = got[o].get(i)
                    if best is None or (exact and digests[best] != digests[i]):
                        got[o][i] = j
        return got

    # Folder R is covered by O when O holds a copy of at least min_share of R's images. Listing every (R, O)
    # with one copy grew with the square of the folders (a logo in each of 1,500 folders: 2.25 million pairs,
    # 0.93 GB): R is looked at alone, and only with the folders that can reach the share. Any such folder
    # covers at least one of any (images - needed + 1) of R's files, so the files with the fewest copies name
    # the candidates (in a folder whose own picture has no copy anywhere, the logo's copies name none).
    qualified: dict[tuple[str, str], dict[int, int]] = {}
    for r, among in members.items():
        if images[r] < min_images:
            continue
        needed = math.ceil(min_share * images[r])
        if len(among) < needed:
            continue  # too many of its images have no copy anywhere
        # of the files with a copy somewhere, len(among) - needed may go without one in O
        rarest = sorted(among, key=copies.count)[:len(among) - needed + 1]
        candidates = set(coverage(r, rarest))
        if not candidates:
            continue
        for o, got in coverage(r, among, candidates).items():
            if len(got) >= min_share * images[r]:
                qualified[(r, o)] = got
    sizes: dict[int, tuple[int, tuple[int, int] | None]] = {}

    def size(i: int) -> tuple[int, tuple[int, int] | None]:
        if i not in sizes:
            try:
                st = os.stat(result.files[i], follow_symlinks=False)
                sizes[i] = (st.st_size, (st.st_dev, st.st_ino))
            except OSError:
                sizes[i] = (0, None)
        return sizes[i]

    # the narrowest folder holding the copies (a parent of it holds them too), and no pair inside a listed one
    candidates_of: dict[str, list[str]] = defaultdict(list)
    for r, o in qualified:
        candidates_of[r].append(o)
    chosen: dict[str, str] = {}
    for r, os_ in candidates_of.items():  # most copies; of those the narrowest, then the one that stays by place
        most = max(len(qualified[(r, o)]) for o in os_)
        best = [o for o in os_ if len(qualified[(r, o)]) == most]
        wider = {a for o2 in best if o2 for a in _ancestors(o2)}  # a folder holding another of them (was N^2)
        best = [o for o in best if o not in wider]
        # (place_order, as two identical folders are told apart below: chosen by name, three identical folders
        # made a chain, 'Zed is a copy of Album 2019' while 'Album 2019 is a copy of Pics', and remove kept two)
        chosen[r] = min(best, key=place_order)
    pairs = []
    index = {f: k for k, f in enumerate(files) if f is not None}
    # a folder inside one listed already goes with it (a pair whose copies are anywhere in the scanned folder
    # names no folder, and hides no narrower pair)
    holding = {r for r, o in chosen.items() if o != ""}
    failed_under: dict[str, list[str]] = defaultdict(list)
    for x in failed:
        for a in _ancestors(x)[:-1]:
            failed_under[a].append(x)
    for r, o in chosen.items():
        if any(a in holding for a in _ancestors(r)):
            continue
        got = qualified[(r, o)]
        exact = sum(bool(digests[i]) and digests[i] == digests[j] for i, j in got.items())
        reclaim = sum(size(i)[0] for i, j in got.items() if size(i)[1] is None or size(i)[1] != size(j)[1])
        back = coverage(o, members.get(o, []), {r}).get(r, {}) if o else {}
        identical = (len(got) == images[r] == images[o] == len(back) and exact == len(got))
        members_r = sorted(f for f in files if f is not None and _under(f, r)) if images[r] > len(got) else []
        pairs.append(FolderPair(
            r, o, images[r], len(got), exact, identical, reclaim,
            {files[i]: (digests[i], files[j], digests[j]) for i, j in sorted(got.items(), key=lambda x: files[x[0]])},
            [f for f in members_r if index[f] not in got] + sorted(failed_under.get(r, ()))))
    # two folders holding each other's copies: list one, never both (moving both would move every copy). The
    # one whose files lie deeper goes (a backup is filed further down), then the longer path
    def depth(p: FolderPair) -> float:
        return sum(f.count("/") for f in p.files) / max(1, len(p.files))

    # two identical folders (byte for byte) at one depth: the one 'remove' would empty goes, by the rule remove
    # decides two files alike with (keep.place_order: the longer path, then the later name goes); 'folders' named
    # a/ of two identical a/ and b/, and remove kept a/ and moved b/
    mirror = {(p.redundant, p.copy_of): p for p in pairs}
    pairs = [p for p in pairs if not (p.identical and (m := mirror.get((p.copy_of, p.redundant))) is not None
                                      and m.identical and depth(m) == depth(p)
                                      and place_order(p.redundant) < place_order(m.redundant))]
    out: list[FolderPair] = []
    for p in sorted(pairs, key=lambda p: (-depth(p), -len(p.redundant), p.redundant)):
        if any(_overlap(p.redundant, q.copy_of) and _overlap(q.redundant, p.copy_of) for q in out):
            continue
        out.append(p)
    return sorted(out, key=lambda p: (-p.reclaimable, p.redundant))


class _Copies:
    """Each file's copies (indices), as ``result.iter_pairs()`` pairs them, without listing every pair: files with
    one encoding (``result.same_as``) copy each other, and a match between two such classes makes every file of
    one a copy of every file of the other. Files of one class in one folder are interchangeable as copies here
    (same folders above them), so in each folder one is named: one with the file's own bytes where there is one.
    6,000 identical images in two folders: 18 million pairs were put in sets (4.5 GB, 2 CPU minutes); 6,000 with
    one hash but other bytes: 37 CPU s; now a few copies a file. A file's copies are named when asked for
    (``copies[i]``), not for every file at once: a logo in each of 10,000 folders has 10,000 copies a file, and
    the folders it lies in are rarely asked about (see :func:`find_duplicate_folders`)."""

    def __init__(self, result, files: list[str | None], digests: list) -> None:
        import numpy as np

        n = len(files)
        same_as = np.asarray(result.same_as) if result.same_as is not None else np.arange(n)
        self.linked: dict[int, set[int]] = defaultdict(set)
        m = result.matches
        for a, b in zip(same_as[m.left].tolist(), same_as[m.right].tolist()):
            if a != b:
                self.linked[a].add(b)
                self.linked[b].add(a)
        self.classes = same_as.tolist()
        self.digests = digests
        # class -> folder -> two of its files; class -> (folder, content) -> two of its files with those bytes
        self.anyone: dict[int, dict[str | None, list[int]]] = defaultdict(dict)
        self.exact: dict[int, dict[tuple, list[int]]] = defaultdict(dict)
        self.members: dict[int, int] = defaultdict(int)
        for i, c in enumerate(self.classes):
            folder = files[i].rpartition("/")[0] if files[i] is not None else None
            self.members[c] += 1
            for bucket in (self.anyone[c].setdefault(folder, []), self.exact[c].setdefault((folder, digests[i]), [])):
                if len(bucket) < 2:
                    bucket.append(i)

    def __contains__(self, i: int) -> bool:
        """Has file ``i`` any copy?"""
        c = self.classes[i]
        return self.members[c] > 1 or bool(self.linked.get(c))

    def count(self, i: int) -> int:
        """About how many copies ``copies[i]`` names (within a factor of two), without naming them."""
        return sum(2 * len(self.anyone[k]) for k in (self.classes[i], *self.linked.get(self.classes[i], ())))

    def __getitem__(self, i: int) -> list[int]:
        c, digest, mates = self.classes[i], self.digests[i], []
        for k in (c, *self.linked.get(c, ())):
            for folder, some in self.anyone[k].items():  # in each folder: a file with i's bytes if one is there
                same = [j for j in self.exact[k].get((folder, digest), ()) if j != i] if digest else []
                mates += same or [j for j in some if j != i]
        return mates


def _overlap(a: str, b: str) -> bool:
    return _under(a, b) or _under(b, a)



def _depth(path: str) -> int:
    """How many folders deep a file lies: of byte-identical copies, the one filed further down goes (a backup
    is usually filed further down, ``Backup/old/2019/x.jpg`` beside ``2019/x.jpg``)."""
    return os.path.normpath(path).count(os.sep)


def place_order(path: str) -> tuple:
    """Of two copies alike in everything else (and in folders neither of which :class:`CopiedFolders` names a
    copy), the one whose key is smaller stays and the other goes: the shallower, then the shorter path, then the
    earlier name. The one rule for files (the keep rules' last terms) and for whole folders (of two identical
    folders at one depth, the one that ``remove`` would empty is the one listed as the copy), so the two
    commands never pick opposite sides."""
    return _depth(path), len(path), path


class CopiedFolders:
    """The folders of one search that ``imagetwins folders`` lists as copies of another (:func:`find_duplicate_folders`
    with its defaults), asked for by the keep rule when two files alike in everything else lie in different
    folders: found once, on the first question (a search whose ties never reach the place pays nothing).

    ``order(path)``: the place terms of the keep rule: inside a listed copy (1) after outside (0), then
    :func:`place_order`. The folders are found relative to the folder holding every file of the search (the
    scanned folder itself is never a copy), which lists the same folders as the scanned folder would.
    """

    def __init__(self, result) -> None:
        self._result = result
        self._copies: list[str] | None = None

    def _found(self) -> list[str]:
        if self._copies is None:
            self._copies = []
            result = self._result
            names = [os.path.abspath(p) for p in result.files]
            names += [os.path.abspath(f.path) for f in result.failures if not skipped_link(f)]
            try:
                base = os.path.commonpath([os.path.dirname(p) for p in names]) if names else ""
            except ValueError:  # (different drives)
                base = ""
            if base:
                self._copies = [os.path.join(base, *p.redundant.split("/"))
                                for p in find_duplicate_folders(result, base)]
        return self._copies

    def inside_a_copy(self, path: str) -> bool:
        """Does ``path`` lie inside a folder listed as a copy of another?"""
        full = os.path.abspath(path)
        return any(full.startswith(folder + os.sep) for folder in self._found())

    def order(self, path: str) -> tuple:
        return (self.inside_a_copy(path), *place_order(path))
