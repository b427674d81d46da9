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

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from imagetwins.folder_copies import (  # noqa: F401  (found there; importable from here as before)
    MIN_SHARE,
    FolderPair,
    _ancestors,
    _Copies,
    _overlap,
    _under,
    find_duplicate_folders,
)

if TYPE_CHECKING:
    from imagetwins.plan import PlanFile

__all__ = ["FolderPair", "find_duplicate_folders", "folders_document", "FolderMove", "load_folder_plan",
           "check_folder_plan", "MIN_SHARE"]


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
    just now (its images and their XMP sidecars), and the copies its images leave behind; ``copy_digests``: each
    copy's SHA-256 as checked, with its identity, size and times then (``copy_states``), so that the move can tell
    a copy changed since (read again only then)."""

    folder: str
    copy_of: str
    files: dict[str, str]
    copies: dict[str, str]
    copy_digests: dict[str, str] = field(default_factory=dict)
    copy_states: dict[str, tuple] = field(default_factory=dict)


class FolderPlanError(ValueError):
    """A plan's ``folders`` that cannot be used at all (one line)."""


def _relative(value, what: str, source: str) -> str:
    if not isinstance(value, str) or not value or os.path.isabs(value) or "\0" in value or \
            any(part in ("..", ".", "") for part in value.split("/")):  # one spelling per file: "./A/x" is A/x
        raise FolderPlanError(f"{source}: {what} must be a path inside the scanned folder, relative to it")
    return value


def load_folder_plan(path: str | os.PathLike | PlanFile, folder: str | os.PathLike) -> list[dict]:
    """The ``folders`` entries of a plan (none: an empty list), checked for shape; the plan's ``root`` must be
    ``folder``. ``path``: the plan file, read and its groups checked (:func:`imagetwins.plan.load_plan`), or the
    :class:`imagetwins.plan.PlanFile` already read, whose groups the caller loaded: the file is not read again."""
    from imagetwins.plan import PlanFile, load_plan, read_plan

    if isinstance(path, PlanFile):
        plan = path
        plan.check_made_for(folder)
    else:
        plan = read_plan(path)
        load_plan(plan, folder=folder)
    source, doc = str(plan.source), plan.doc
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


def _sidecar_of_listed(path: str, listed: dict, stems: set[str] | None = None) -> bool:
    """Is ``path`` an XMP sidecar (``IMG.jpg.xmp``, ``IMG.xmp``; any case of ``.xmp``) of a file in ``listed``?
    ``stems``: :func:`_listed_stems` of ``listed`` (made once for a folder: comparing each ``IMG.xmp`` with every
    listed file was quadratic in the folder's size)."""
    base, ext = os.path.splitext(path)
    if ext.lower() != ".xmp":
        return False
    if base in listed:  # IMG.jpg.xmp
        return True
    return base in (stems if stems is not None else _listed_stems(listed))  # IMG.xmp


def _listed_stems(listed: dict) -> set[str]:
    """Each listed file's path without its extension (``A/IMG`` of ``A/IMG.jpg``)."""
    return {os.path.splitext(f)[0] for f in listed}


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
    from imagetwins.quarantine import _state_of, sha256_file, why_not_movable

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
        stems = _listed_stems(listed)
        if why is None:
            for dirpath, dirnames, filenames in os.walk(name, followlinks=False):
                for d in dirnames:
                    if os.path.islink(os.path.join(dirpath, d)):
                        why = f"it holds a symbolic link, {os.path.join(dirpath, d)}"
                for f in filenames:
                    full = os.path.join(dirpath, f)
                    if full in listed:
                        continue
                    if _sidecar_of_listed(full, listed, stems):
                        try:
                            sidecars[full] = sha256_file(full)  # (a link or FIFO there: refused by the read)
                            continue
                        except OSError as exc:
                            why = why or f"its sidecar {full} cannot be read ({exc.strerror or exc})"
                    why = why or (f"it holds {full}, which the plan does not list as an image with a copy "
                                  "elsewhere: move or remove that first")
                if why:
                    break
        files, copies, copy_digests, copy_states = {}, {}, {}, {}
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
                copy_digests[copy] = copy_digest
                copy_states[copy] = _state_of(copy)
        if why is None and not files:
            why = "the plan lists no image in it"
        if why is None:
            moves.append(FolderMove(name, str(real_root / e["copy_of"]), {**files, **sidecars}, copies, copy_digests,
                                    copy_states))
        else:
            refused.append((name, why))
    return moves, refused
