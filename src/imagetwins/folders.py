"""Folders that are copies of folders: ``Backup/old/Photos/2019`` holding a copy of every picture of
``Photos/2019``, so that one folder goes instead of 3,000 groups reviewed one by one.

A folder counts with everything below it (a folder moved moves its sub-folders too). Folder ``R`` is
*covered* by folder ``O`` when every image under ``R`` (unreadable files count, with no copy) has a copy
under ``O`` that lies outside ``R``: byte-identical content first (SHA-256), then a match of the user's
method. :func:`find_duplicate_folders` lists pairs where at least ``min_share`` (default 95 %) of ``R``'s
images have such a copy, largest reclaimable size first; only pairs where *all* have one can be moved
(``remove --plan``), in one journalled step (:func:`imagetwins.quarantine.apply_folder_moves`).

Which folder of an identical pair goes: the one deeper in the tree (a backup is usually filed further
down), then the longer path, so ``Backup/old/Photos/2019`` goes and ``Photos/2019`` stays. Folders that
hold each other (``A`` and ``A/copy``): only the inner one can go, since moving ``A`` would move its copy
too. A symbolic link to a folder is never scanned (:mod:`imagetwins.io`), so a folder is never "a copy" of
itself through a link, and a folder reached through a link is never moved.
"""

from __future__ import annotations

import math
import os
import stat
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from imagetwins.io import skipped_link
from imagetwins.keep import place_order

__all__ = ["FolderPair", "find_duplicate_folders", "folders_document", "FolderMove", "load_folder_plan",
           "check_folder_plan", "MIN_SHARE"]

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
    for r, os_ in candidates_of.items():  # most copies; of those the narrowest, then the shallowest, then by name
        most = max(len(qualified[(r, o)]) for o in os_)
        best = [o for o in os_ if len(qualified[(r, o)]) == most]
        wider = {a for o2 in best if o2 for a in _ancestors(o2)}  # a folder holding another of them (was N^2)
        best = [o for o in best if o not in wider]
        chosen[r] = min(best, key=lambda o: (o.count("/"), o))
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


def folders_document(pairs: Sequence[FolderPair], result, root: str | os.PathLike) -> dict:
    """The plan ``imagetwins folders --json`` writes (:mod:`imagetwins.plan` format, ``"folders"`` added, paths
    relative to the scanned folder): ``remove --plan`` moves each complete folder, ``"skip": true`` keeps it."""
    from imagetwins.digests import Digest
    from imagetwins.plan import PLAN_VERSION
    from imagetwins.quarantine import sha256_file

    base = Path(root).resolve()

    def full(rel: str, digest: str) -> str:  # whole SHA-256s, as find --json (the cache keeps 32 hex digits)
        return str(Digest(digest).completed(base / rel, sha256_file)) if digest else digest

    return {"imagetwins_plan": PLAN_VERSION, "root": str(Path(root).resolve()), "scanned_as": os.path.abspath(root),
            "base": str(Path(root).resolve()), "method": result.method, "threshold": result.threshold, "groups": [],
            "folders": [{"remove": p.redundant, "copy_of": p.copy_of, "images": p.images, "copied": p.copied,
                         "share": round(p.share, 4), "identical": p.identical, "byte_identical": p.byte_identical,
                         "reclaimable_bytes": p.reclaimable, "skip": not p.complete,
                         "files": {f: {"sha256": full(f, d), "copy": c, "copy_sha256": full(c, cd)}
                                   for f, (d, c, cd) in p.files.items()},
                         "without_copy": p.without_copy} for p in pairs]}


# -- moving a folder: the plan's entries checked again right before --------------------------------------------
@dataclass
class FolderMove:
    """A folder that may move as a whole: ``folder`` (absolute, real), its files (absolute) -> SHA-256 checked
    just now (its images and their XMP sidecars), and the copies its images leave behind."""

    folder: str
    copy_of: str
    files: dict[str, str]
    copies: dict[str, str]


class FolderPlanError(ValueError):
    """A plan's ``folders`` that cannot be used at all (one line)."""


def _relative(value, what: str, source: str) -> str:
    if not isinstance(value, str) or not value or os.path.isabs(value) or "\0" in value or \
            any(part in ("..", ".", "") for part in value.split("/")):  # one spelling per file: "./A/x" is A/x
        raise FolderPlanError(f"{source}: {what} must be a path inside the scanned folder, relative to it")
    return value


def load_folder_plan(path: str | os.PathLike, folder: str | os.PathLike) -> list[dict]:
    """The ``folders`` entries of a plan (none: an empty list), checked for shape; the plan's ``root`` must be
    ``folder`` (:func:`imagetwins.plan.load_plan` checks it, and the groups)."""
    from imagetwins.plan import load_plan

    load_plan(path, folder=folder)
    source = str(path)
    from imagetwins.io import read_json_file

    try:
        doc = read_json_file(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # (changed since load_plan read it)
        raise FolderPlanError(f"{source}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    if not isinstance(doc, dict):
        raise FolderPlanError(f"{source}: not an imagetwins plan")
    entries = doc.get("folders") or []
    if not isinstance(entries, list):
        raise FolderPlanError(f"{source}: 'folders' must be a list")
    from imagetwins.plan import needs_review

    if entries and isinstance(doc.get("method"), str) and needs_review(doc["method"]):
        raise FolderPlanError(f"{source}: its folders were found with -m {doc['method']}, whose matches are "
                              "re-shots (other photos), not copies: no folder moves by it")
    out = []
    for n, e in enumerate(entries, 1):
        if not isinstance(e, dict) or not isinstance(e.get("files"), dict):
            raise FolderPlanError(f"{source}: folder {n} must be an object with 'files'")
        files = {}
        for f, v in e["files"].items():
            if not isinstance(v, dict) or not all(isinstance(v.get(k), str) for k in ("sha256", "copy", "copy_sha256")):
                raise FolderPlanError(f"{source}: folder {n}'s file {f!r} needs sha256, copy and copy_sha256")
            files[_relative(f, f"folder {n}'s files", source)] = (v["sha256"], _relative(v["copy"], "a copy", source),
                                                                v["copy_sha256"])
        out.append({"remove": _relative(e.get("remove"), f"folder {n}'s 'remove'", source),
                    "copy_of": _relative(e.get("copy_of"), f"folder {n}'s 'copy_of'", source)
                    if e.get("copy_of") != "" else "",
                    "skip": bool(e.get("skip", False)), "files": files, "number": n})
    return out


def _real_folder(root: Path, rel: str) -> str | None:
    """None when ``root/rel`` is a real folder reached from ``root`` without any link, else why not."""
    folder = root
    for part in rel.split("/"):
        folder = folder / part
        try:
            st = os.lstat(folder)
        except OSError as exc:
            return f"cannot reach it ({exc.strerror or exc})"
        if stat.S_ISLNK(st.st_mode):
            return f"{folder} is a symbolic link: a folder reached through a link never moves"
        if not stat.S_ISDIR(st.st_mode):
            return f"{folder} is not a folder"
    return None


def _lies_in(path: str, folder: str, root: Path) -> bool:
    """Whether ``path`` lies inside ``folder``, by the identity (device, inode) of each folder above it up to
    ``root``, not by how it is spelt (``A/./x``, ``a/x`` on a case-insensitive file system)."""
    try:
        want = os.lstat(folder)
    except OSError:
        return False
    here, top = os.path.dirname(path), str(root)
    while len(here) >= len(top):
        try:
            st = os.lstat(here)
        except OSError:
            return False
        if (st.st_dev, st.st_ino) == (want.st_dev, want.st_ino):
            return True
        if here == top or here == os.path.dirname(here):
            return False
        here = os.path.dirname(here)
    return False


def _sidecar_of_listed(path: str, listed: dict) -> bool:
    """Is ``path`` an XMP sidecar (``IMG.jpg.xmp``, ``IMG.xmp``; any case of ``.xmp``) of a file in ``listed``?"""
    base, ext = os.path.splitext(path)
    if ext.lower() != ".xmp":
        return False
    if base in listed:  # IMG.jpg.xmp
        return True
    folder = os.path.dirname(path)
    stem = os.path.basename(base)
    return any(os.path.dirname(f) == folder and os.path.splitext(os.path.basename(f))[0] == stem for f in listed)


def check_folder_plan(root: str | os.PathLike,
                      entries: Sequence[dict]) -> tuple[list[FolderMove], list[tuple[str, str]]]:
    """Which folders of a plan may move now: (moves, refused (folder, why)).

    A folder moves only when it is a real folder inside ``root`` (not ``root``) reached without links, holds
    nothing but regular files the plan lists (and folders) and the XMP sidecars of those (``IMG.jpg.xmp`` or
    ``IMG.xmp`` beside ``IMG.jpg``: darktable, digiKam and Lightroom write one beside each photo; they move
    with the folder, read now, checked again before the move), each still has the SHA-256 the plan recorded,
    and each has its copy outside the folder, inside ``root`` without links, with the copy's recorded SHA-256.
    """
    from imagetwins.plan import _unchanged  # (the plan's own check of one file: digest, link, gone)
    from imagetwins.quarantine import sha256_file, why_not_movable

    real_root = Path(root).resolve()
    moves, refused = [], []
    for e in entries:
        name = str(real_root / e["remove"])
        if e["skip"]:
            continue
        why = _real_folder(real_root, e["remove"])
        listed = {str(real_root / f): v for f, v in e["files"].items()}
        if why is None:
            why = next((f"{name}'s file {f} is not inside it" for f in listed if not _under(
                os.path.relpath(f, real_root).replace(os.sep, "/"), e["remove"])), None)
        sidecars: dict[str, str] = {}
        if why is None:
            for dirpath, dirnames, filenames in os.walk(name, followlinks=False):
                for d in dirnames:
                    if os.path.islink(os.path.join(dirpath, d)):
                        why = f"it holds a symbolic link, {os.path.join(dirpath, d)}"
                for f in filenames:
                    full = os.path.join(dirpath, f)
                    if full in listed:
                        continue
                    if _sidecar_of_listed(full, listed):
                        try:
                            sidecars[full] = sha256_file(full)  # (a link or FIFO there: refused by the read)
                            continue
                        except OSError as exc:
                            why = why or f"its sidecar {full} cannot be read ({exc.strerror or exc})"
                    why = why or (f"it holds {full}, which the plan does not list as an image with a copy "
                                  "elsewhere: move or remove that first")
                if why:
                    break
        files, copies = {}, {}
        if why is None:
            for f, (digest, copy_rel, copy_digest) in listed.items():
                copy = str(real_root / copy_rel)
                if _under(copy_rel, e["remove"]) or _lies_in(copy, name, real_root):
                    why = f"the copy of {f} lies inside the folder itself"
                elif (w := why_not_movable(f, [real_root]) or _unchanged(f, {f: digest})) is not None:
                    why = f"{f}: {w}"
                elif (w := why_not_movable(copy, [real_root]) or _unchanged(copy, {copy: copy_digest})) is not None:
                    why = f"the copy of {f}, {copy}: {w}"
                if why:
                    break
                files[f] = digest
                copies[f] = copy
        if why is None and not files:
            why = "the plan lists no image in it"
        if why is None:
            moves.append(FolderMove(name, str(real_root / e["copy_of"]), {**files, **sidecars}, copies))
        else:
            refused.append((name, why))
    return moves, refused
