"""Safe removal: move duplicates into a quarantine folder with a journal, and undo it byte for byte.

Nothing is deleted. Each move is written to the journal (``manifest.jsonl``: size and SHA-256)
before it happens and confirmed after; the journal is on disk (fsync) before each move begins, once
for a batch of moves journalled together (:func:`_apply_moves`); a move across devices is a verified
copy then an unlink. So an interrupted run (kill -9, full disk, a machine stopped) leaves each file
either in place or in quarantine and listed, and ``undo`` puts everything back (a planned line whose
move never began, or a file back whose ``restored`` line was lost, is nothing to undo).

Hostile ground (shared folders, files changed after the scan, edited journals) is handled by rules,
each checked right before it matters:

- A symbolic link is never a copy of its target: a file reached through a link (the file itself or a
  folder on its way) is never moved and never counts as the copy that is kept.
- A file is moved only if its content is still what was scanned (SHA-256 equal to the scan's), and
  so is the file kept in its place; otherwise it is left alone and reported.
- Moves never overwrite (a hard link then an unlink; the name must be free).
- The quarantine folder is never a symbolic link nor inside the scanned folder; the journal is
  opened without following links. Every journal line is signed (HMAC-SHA256) with a key kept beside
  it (``manifest.key``, readable by its owner only), so ``undo`` refuses edited or foreign entries.
- ``undo`` only moves files out of its own quarantine folder, back into the folder that was scanned
  (through real folders, never a link), never onto anything that stands there, and goes on with the
  other entries whatever one entry meets.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import hashlib
import hmac
import json
import os
import re
import signal
import stat
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from imagetwins.digests import Digest
from imagetwins.io import DEFAULT_MAX_BYTES, QUARANTINE_SUFFIX, content_digest, no_folder_reason, open_regular_file
from imagetwins.keep import Decision, decide_keepers, decide_result
from imagetwins.leftalone import LeftAlone
from imagetwins.ownfolders import UnsafeFolder, check_own, check_parent, make_key, make_own_dirs, read_key
from imagetwins.results import NOT_DECIDED, FindResult
from imagetwins.text import loads_json, shell_word
from imagetwins.writing import describe_mode

__all__ = ["JOURNAL", "KEY", "LINK_KINDS", "SUMMARY", "FolderListings", "Interrupted", "Outcome", "Plan",
           "QuarantineError", "apply_folder_moves", "apply_plan", "write_sidecars", "check_quarantine",
           "default_quarantine", "keep_link_targets", "links_leading_to", "names_elsewhere", "plan_removal",
           "sha256_file", "undo", "why_not_movable"]

JOURNAL = "manifest.jsonl"
SUMMARY = "manifest.json"
KEY = "manifest.key"
#: what a ``remove --plan --apply`` remembered (:class:`imagetwins.decisions.Remembering`), signed: undo forgets it
DECISIONS = "manifest.decisions.json"
_OWN_FILES = (JOURNAL, SUMMARY, KEY, SUMMARY + ".tmp", DECISIONS, DECISIONS + ".tmp")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class QuarantineError(ValueError):
    """A quarantine folder that cannot be used safely, or something that is not a quarantine."""


class JournalError(QuarantineError):
    """The quarantine's journal cannot be written (a full disk): nothing more may move, since a move the journal
    does not record could not be undone. ``apply_plan``, ``apply_folder_moves`` and ``undo`` stop and say so in
    ``Outcome.stopped``."""


@dataclass
class Plan:
    """What ``remove`` would do: (source, group number, kept file) per file to move.

    ``expected`` holds the SHA-256 (hex, or its first 32 digits when the scan came from an index) each
    file to move and each keeper had when it was scanned; :func:`apply_plan` moves nothing whose
    content differs now, nor anything whose keeper's differs.
    """

    moves: list[tuple[str, int, str]]
    keepers: list[str]
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    expected: dict[str, str] = field(default_factory=dict)  # path -> SHA-256 it must still have (moves, keepers)
    #: files left where they are without a decision, by reason (:class:`imagetwins.leftalone.LeftAlone`): said
    #: in one line each, not refused
    left_alone: dict[LeftAlone, list[str]] = field(default_factory=dict)

    @property
    def through_links(self) -> list[str]:
        """Files reached through a symbolic link the scan was asked to follow: left where they are, as asked."""
        return self.left_alone.get(LeftAlone.THROUGH_LINK, [])


@dataclass
class Outcome:
    """What ``apply_plan`` or ``undo`` did."""

    done: list[tuple[str, str]] = field(default_factory=list)  # (from, to)
    linked: list[tuple[str, str]] = field(default_factory=list)  # (place, keeper it now links to / is a clone of)
    copied: int = 0  # of the clones: how many are real copies (the file system shares no blocks)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    manifest: Path | None = None
    folders: int = 0  # of ``done``: how many are whole folders (imagetwins.folders), not files
    #: XMP sidecars moved with their image, not counted in ``done`` (by undo: put back, counted in ``done`` too):
    #: (the image's place, sidecar from, to; ``to`` is
    #: "the system trash" where that trash does not say where)
    sidecars: list[tuple[str, str, str]] = field(default_factory=list)
    #: XMP sidecars of a moved image left in place because another file there uses them too (``IMG.xmp`` of
    #: ``IMG.jpg`` beside ``IMG.dng``): (the image's place, the sidecar); ``--merge-metadata`` reads them as well
    shared_sidecars: list[tuple[str, str]] = field(default_factory=list)
    #: of ``failed``: the XMP sidecars that stayed behind their moved image (a link, a FIFO, unreadable, replaced)
    sidecars_left: list[str] = field(default_factory=list)
    #: of ``failed``: what went wrong after a file moved, not a file left unmoved: a moved file with no link or copy
    #: made in its place (``link=``: a full disk), the record of the copies made (:mod:`imagetwins.placeholders`)
    after_move: list[str] = field(default_factory=list)
    #: of ``after_move``: the moved files with nothing in their place
    no_link: list[str] = field(default_factory=list)
    #: of ``failed`` (``undo``): the journal lines refused (edited, malformed), each as ``failed`` names it
    #: (``"<journal>, line N"``): lines, not files
    refused_lines: list[str] = field(default_factory=list)
    #: how many journal lines ``refused_lines`` names in all (a run of blank lines is one entry; past the first
    #: thousand, one entry says how many more)
    lines_refused: int = 0
    #: the clones (``link="clone"``) made, recorded when the run ends (:mod:`imagetwins.placeholders`)
    placeholders: list = field(default_factory=list)
    #: the real paths of the files to move that had names the run leaves before it moved them
    #: (:func:`names_elsewhere`, ``apply_plan``): across devices a move is a copy, whose one name says nothing
    names_left: set[str] = field(default_factory=set)
    #: why the run stopped before the end (:class:`JournalError`: the journal could not be written); None: it did not
    stopped: str | None = None
    #: (``undo``) the ``.trashinfo`` records at the names a run reserved in a trash that are not the ones it wrote
    #: (another program's, for a file of that name): left alone, said in one line each
    records_left: list[str] = field(default_factory=list)

    def sidecars_now(self, image: str) -> list[str]:
        """Where the XMP sidecars of the moved ``image`` (its place, as in ``done``) lie now: those that moved with
        it, and a shared one left in place for another file (or, when that file moved later, where it took it)."""
        return self.sidecars_by_image().get(image, [])

    def sidecars_by_image(self) -> dict[str, list[str]]:
        """:meth:`sidecars_now` of every moved image at once (asked of each image in turn, it read every sidecar of
        the run for each: quadratic, 5,000 moves 3.3 CPU s)."""
        moved_to = {side: to for _, side, to in self.sidecars}
        now: dict[str, list[str]] = {}
        for img, _, to in self.sidecars:
            now.setdefault(img, []).append(to)
        for img, side in self.shared_sidecars:
            now.setdefault(img, []).append(moved_to.get(side, side))
        return {img: [p for p in places if os.path.isabs(p)] for img, places in now.items()}

    def names_elsewhere(self) -> list[tuple[str, str]]:
        """(place, where it lies now) of each moved file that has other names (hard links) than those the run moved:
        its bytes stay on disk under them, no space freed (:func:`names_elsewhere`, where it lies now or, before the
        move, where it lay: ``names_left``)."""
        place_of = {to: frm for frm, to in self.done if os.path.isabs(to)}
        now = set(names_elsewhere(place_of))
        return [(frm, to) for to, frm in place_of.items() if to in now or frm in self.names_left]


def names_elsewhere(paths: Iterable[str]) -> list[str]:
    """Of ``paths`` (the files a run moves, or where they lie once moved), those whose file has other names (hard
    links) than the ones ``paths`` holds: a name outside the scanned folder, or one the run leaves. Moving them frees
    no space; their bytes stay under those names. Only names in ``paths`` are known: where the others are is not
    looked for (``find / -xdev -samefile FILE`` lists them). A path that cannot be looked at is not among them."""
    looked: dict[str, tuple[int, int, int]] = {}
    for path in paths:
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            looked[path] = (st.st_dev, st.st_ino, st.st_nlink)
    held = Counter((dev, ino) for dev, ino, _ in looked.values())
    return [path for path, (dev, ino, names) in looked.items() if names > held[dev, ino]]


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a regular file; links are not followed and FIFOs/devices refused (``OSError``)."""
    return _digest_and_identity(path)[0]


def _digest_and_identity(path: str | os.PathLike, dir_fd: int | None = None) -> tuple[str, tuple[int, int], int]:
    """SHA-256, (device, inode) and size of the regular file at ``path`` itself (no link followed; relative to
    the open folder ``dir_fd`` if given)."""
    h = hashlib.sha256()
    with open_regular_file(path, follow_symlinks=False, dir_fd=dir_fd) as fh:
        st = os.fstat(fh.fileno())
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest(), (st.st_dev, st.st_ino), st.st_size


def _same_content(full: str, scanned: str | None) -> bool:
    """Does a fresh SHA-256 match the scan's digest (full, or the first 32 hex digits an index keeps)?"""
    return Digest(full).is_full and Digest(full).same_content(scanned)


#: why_not_movable's reasons for a file reached through a symbolic link (to it, or to a folder above it)
A_LINK = "a symbolic link: never moved, never kept as the copy of its target"
THROUGH_A_FOLDER_LINK = "reached through a symbolic link to a folder: never moved, never kept as a copy"


def why_not_movable(path: str | os.PathLike, roots: Sequence[str | os.PathLike]) -> str | None:
    """Why ``path`` may be neither moved nor kept in place of others (None: it may): it must be a regular file
    inside one of ``roots`` (each as named, maybe a link to the folder, or its real path) reached from there
    without any symbolic link."""
    p = Path(os.path.abspath(path))
    try:
        st = os.lstat(p)
        real = p.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        return f"cannot read it now ({getattr(exc, 'strerror', None) or exc})"
    if stat.S_ISLNK(st.st_mode):
        return A_LINK
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file now"
    for root in roots:
        given, resolved = Path(os.path.abspath(root)), Path(root).resolve()
        for base in (given, resolved):
            if p.is_relative_to(base):
                if real == resolved / p.relative_to(base):
                    return None
                return THROUGH_A_FOLDER_LINK
    return "outside the scanned folders"


def plan_removal(result: FindResult, roots: Sequence[str | os.PathLike],
                 keep_in: Sequence[str | os.PathLike] = (), rule: str = "original",
                 decisions: Sequence[Decision] | None = None, raw_sidecars: bool = True,
                 followed_links: bool = False) -> Plan:
    """List the files to move: each group's non-kept files (see :mod:`imagetwins.keep`).

    Only regular files inside ``roots``, reached without a symbolic link, take part: the others are
    refused (with the reason) and never count as the copy that is kept. A hard link of the kept file
    is not moved either (it frees nothing). ``decisions`` (from :func:`imagetwins.keep.decide_result`)
    are used where they were made among such files only, and made again otherwise. ``followed_links``: the scan
    followed symbolic links, as asked: a file reached through one is left where it is (``Plan.through_links``),
    not refused, and the keepers are chosen among the others (as :func:`imagetwins.keep.decide_keepers` with
    ``roots`` chooses them for ``find``).

    Raises ``ValueError`` for a result of a method whose groups a person must review (its encoder's
    ``removal_needs_review``: re-shots, ``similar``): their removal is planned by a person (:mod:`imagetwins.plan`,
    ``remove --plan``), never from a scan.
    """
    from imagetwins.encoders import get_encoder

    try:
        why = get_encoder(result.method).removal_needs_review
    except ValueError:  # a method not registered here (a result made elsewhere): nothing known against it
        why = None
    if why:
        raise ValueError(f"no removal planned from a scan with this method: {why}")
    scanned = dict(zip(result.files, result.digests)) if result.digests else {}
    if decisions is None or decisions is NOT_DECIDED:  # keepers decided once, each group a star around its keeper
        result = decide_keepers(result, keep_in=keep_in, rule=rule, raw_sidecars=raw_sidecars,
                                roots=roots if followed_links else ())
        decisions = result.decisions
    refused: list[tuple[str, str]] = []
    through: list[str] = []
    final: list[Decision] = []
    for group, d in zip(result.groups, decisions):
        ok = []
        for f in group.files:
            why = why_not_movable(f, roots)
            if why is None:
                ok.append(f)
            elif followed_links and why in (A_LINK, THROUGH_A_FOLDER_LINK):
                through.append(f)
            else:
                refused.append((f, why))
        if len(ok) == len(group.files):
            final.append(d)
        else:  # decided again among the files that may take part, split again around the new keeper(s)
            final += decide_result(result, keep_in=keep_in, rule=rule, groups=[ok], raw_sidecars=raw_sidecars)
    decisions = final
    moves, keepers = [], []
    digests: dict[str, str] = {}
    # a file with other names (hard links) in the folder frees space only when every name goes: they move with it
    other_names = {names[0]: names[1:] for names in getattr(result, "already_linked", ())}
    for gi, d in enumerate(decisions, 1):
        refused += d.unreadable
        if d.keeper is None:
            continue  # never remove the last copy
        keepers.append(d.keeper)
        digests[d.keeper] = scanned.get(d.keeper, "")
        kept_inode = _inode(d.keeper)
        for path in d.remove:
            if kept_inode is not None and _inode(path) == kept_inode:
                refused.append((path, f"a hard link of the kept file {d.keeper}: moving it frees nothing"))
                continue
            moves.append((path, gi, d.keeper))
            digests[path] = scanned.get(path, "")
            for other in other_names.get(path, ()):
                if why_not_movable(other, roots) is None and os.path.realpath(other) != os.path.realpath(path):
                    moves.append((other, gi, d.keeper))
                    digests[other] = digests[path]  # (the same file)
    return Plan(moves, keepers, refused, expected=digests,
                left_alone={LeftAlone.THROUGH_LINK: through} if through else {})


def _inode(path: str) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def links_leading_to(roots: Sequence[str | os.PathLike], paths: Sequence[str]) -> dict[str, str]:
    """``{path: link}`` for each of ``paths`` that a symbolic link somewhere under ``roots`` leads to (directly or
    through other links): an album of links, or the links an earlier ``remove --link sym`` left. The folders are
    walked once without following a link; a folder that cannot be listed is passed over."""
    wanted: dict[str, list[str]] = {}
    for p in paths:
        wanted.setdefault(os.path.realpath(p), []).append(p)
    found: dict[str, str] = {}
    if not wanted:
        return found
    stack = [os.fspath(r) for r in roots]  # (links named under each root as it was given, as the files are shown)
    seen: set[tuple[int, int]] = set()
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_symlink():
                        for p in wanted.get(os.path.realpath(entry.path), ()):
                            found.setdefault(p, entry.path)
                    elif entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        except OSError:
            continue
    return found


def keep_link_targets(plan: Plan, roots: Sequence[str | os.PathLike], link: str | None) -> Plan:
    """``plan`` without the moves of files a symbolic link under ``roots`` leads to (:func:`links_leading_to`),
    refused with that link's name: moved, the link would lead nowhere. With ``link`` the moved file's place gets
    the keeper (a clone or link), so every link still leads to a picture: the plan stands."""
    if link is not None:
        return plan
    linked = links_leading_to(roots, [src for src, _, _ in plan.moves])
    if not linked:
        return plan
    refused = [(src, f"the symbolic link {linked[src]} leads to it and would lead nowhere (--link puts the kept "
                     "picture in its place)") for src, _, _ in plan.moves if src in linked]
    return replace(plan, moves=[m for m in plan.moves if m[0] not in linked], refused=plan.refused + refused)


def default_quarantine(root: str | os.PathLike) -> Path:
    """``<folder>.imagetwins-quarantine/<timestamp>`` beside the scanned folder."""
    root = Path(root).resolve()
    return root.parent / f"{root.name}{QUARANTINE_SUFFIX}" / time.strftime("%Y%m%d-%H%M%S")


def check_quarantine(quarantine: str | os.PathLike, roots: Sequence[str | os.PathLike]) -> Path:
    """The quarantine folder as an absolute path, or :class:`QuarantineError` if it may not be used.

    Refused: a quarantine (or its parent) that is a symbolic link, one inside a scanned folder (a later
    recursive run would quarantine the quarantine), or one that contains a scanned folder.
    """
    q = Path(os.path.abspath(quarantine))
    for part in (q, q.parent):
        if part.is_symlink():
            raise QuarantineError(f"{part} is a symbolic link: refusing to quarantine through it")
    real = q.resolve()
    for root in roots:
        r = Path(root).resolve()
        if real == r or real.is_relative_to(r):
            raise QuarantineError(f"the quarantine {q} is inside the scanned folder {root}: choose a folder "
                                  "outside it (a later run would find the quarantined files again)")
        if r.is_relative_to(real):
            raise QuarantineError(f"the quarantine {q} contains the scanned folder {root}")
    _refuse_someone_elses_folder(q)
    try:  # the quarantine if it exists, else the folder it will be made in, must be the user's own
        existing = next(p for p in (q, *q.parents) if os.path.lexists(p))
        if existing == q:
            check_own(q, "the quarantine")
        else:
            check_parent(existing, "the folder holding the quarantine")
    except UnsafeFolder as exc:
        raise QuarantineError(exc.strerror) from None
    return q


#: what a file manager leaves in a folder it showed (an empty folder made in the Finder holds .DS_Store): still empty
_FOLDER_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", ".directory", ".localized"})


def _refuse_someone_elses_folder(q: Path) -> None:
    """:class:`QuarantineError` where ``q`` is a folder that holds anything and is no quarantine (none of a
    quarantine's own files, ``manifest.*``; not named ``*.imagetwins-quarantine``): ``--move-to ~/Documents``. Made
    a quarantine there, the person's own files would be hidden from every later scan of a folder above it (a
    quarantine is skipped), and undo would call each of them a file of the run it cannot put back."""
    try:
        names = os.listdir(q) if q.is_dir() and not q.is_symlink() else []
    except OSError:
        return  # (cannot be listed: the checks below and the move itself say why)
    names = [n for n in names if n not in _FOLDER_LITTER]
    if not names or q.name.endswith(QUARANTINE_SUFFIX) or any(m in names for m in _OWN_FILES):
        return
    shown = ", ".join(sorted(names)[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    raise QuarantineError(f"the quarantine {q} is a folder that already holds other files ({shown}): "
                          "choose a new or empty folder (a quarantine is skipped by later scans, and undo would take "
                          "those files for its own)")


def _make_dirs(base: Path, rel: Path) -> Path:
    """Create ``base/rel`` one real folder at a time; a link or file in the way is an error."""
    folder = base
    for part in rel.parts:
        folder = folder / part
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        st = os.lstat(folder)
        if not stat.S_ISDIR(st.st_mode):
            raise OSError(errno.ENOTDIR, f"{folder} is not a real folder (a symbolic link or a file stands there)")
    return folder


def _own_quarantine(qdir: Path) -> Path:
    """The quarantine folder made owner-only (0700, its parent too where made), or the one standing there checked
    to be the user's own (:mod:`imagetwins.ownfolders`); else :class:`QuarantineError` with one line."""
    try:
        return make_own_dirs(qdir, "quarantine")
    except UnsafeFolder as exc:
        raise QuarantineError(exc.strerror) from None
    except OSError as exc:
        raise QuarantineError(f"cannot make the quarantine folder {qdir}: {exc.strerror or exc}") from None


def _made_now(qdir: Path) -> list[Path]:
    """The quarantine folder and the folder above it, those not there yet (a run about to make them), innermost
    first: :func:`_drop_unused` takes them away again when the run journals nothing."""
    return [p for p in (qdir, qdir.parent) if not os.path.lexists(p)]


def _drop_unused(qdir: Path, made: list[Path]) -> None:
    """A run that journaled nothing (every move refused before it began) leaves no quarantine behind: its empty
    journal, its summary and key, and the folders it made for them (``undo`` of it restored nothing, and
    ``undo FOLDER`` counted it among the runs). A quarantine holding anything else is left as it is."""
    try:
        if os.lstat(qdir / JOURNAL).st_size or not set(os.listdir(qdir)) <= {JOURNAL, SUMMARY, KEY}:
            return
        for name in (JOURNAL, SUMMARY, KEY):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(qdir / name)
    except OSError:
        return
    for folder in made:
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def _key(qdir: Path, create: bool) -> bytes:
    path = qdir / KEY
    anew = 0
    if create:
        if not os.path.lexists(path):
            anew = _say_key_made_anew(qdir)
        try:
            make_key(path)
        except OSError as exc:  # an empty folder given as --move-to that may not be written in (0555, immutable)
            raise QuarantineError(f"{path}: cannot write the quarantine's key ({exc.strerror or exc}); nothing "
                                  "was moved") from None
    try:
        key = read_key(path, "the quarantine's key")  # whoever can read it can sign journal lines
    except UnsafeFolder as exc:
        raise QuarantineError(exc.strerror) from None
    except FileNotFoundError:  # (undo: what it means for the files, and what to do, not only what is missing)
        raise QuarantineError(f"{path}: the quarantine's key is gone (deleted?), so undo cannot check the journal it "
                              f"signed and puts nothing back: the moved files stay in {qdir}, each under the path it "
                              f"had in the scanned folder ({SUMMARY} there lists where each came from); put them back "
                              "by hand") from None
    except OSError as exc:
        raise QuarantineError(f"{path}: cannot read the quarantine's key ({exc.strerror or exc}); a quarantine made "
                              "by this version of imagetwins has one") from None
    if anew:  # (said in the journal, signed with the new key: undo then says why the lines before fail their check)
        with _open_journal(qdir) as journal:
            _append(journal, key, {"op": "key", "state": _KEY_MADE_ANEW, "from": "", "to": "", "lines_before": anew})
    return key


#: the state of the journal line a run writes where it made the quarantine's key anew, the key that signed the
#: journal's lines before it deleted
_KEY_MADE_ANEW = "made anew"


def _say_key_made_anew(qdir: Path) -> int:
    """One warning where a run into ``qdir`` makes its key though its journal holds lines already: the key that
    signed them was deleted, so undo can check none of them (it refuses each, saying the key that signed it is gone)
    and leaves their files in the quarantine. The run goes on: its own lines are signed with the new key. Returns
    how many lines the journal holds (0: none, nothing said)."""
    try:
        st = os.lstat(qdir / JOURNAL)
        if not stat.S_ISREG(st.st_mode) or not st.st_size:
            return 0
        lines = 0
        with open_regular_file(qdir / JOURNAL, follow_symlinks=False) as fh:
            while chunk := fh.read(1 << 20):
                lines += chunk.count(b"\n")
    except OSError:
        return 0
    from imagetwins.io import warn_line

    held = "a line" if lines <= 1 else f"{lines:,} lines"
    warn_line(f"the quarantine's key {qdir / KEY} is gone (deleted?) and its journal holds {held} signed with it: a "
              f"new key is made for this run's lines, and undo cannot check the earlier ones: it refuses them and "
              f"leaves their files in {qdir} (put those back by hand)")
    return max(lines, 1)


def _sign(key: bytes, entry: dict) -> dict:
    body = {k: v for k, v in entry.items() if k != "mac"}
    mac = hmac.new(key, json.dumps(body, sort_keys=True).encode("ascii"), hashlib.sha256).hexdigest()
    return {**body, "mac": mac}


def _signed_ok(key: bytes, entry: dict) -> bool:
    mac = entry.get("mac")
    return isinstance(mac, str) and hmac.compare_digest(_sign(key, entry)["mac"], mac)


def _open_journal(qdir: Path):
    try:
        fd = os.open(qdir / JOURNAL, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _CLOEXEC
                     | getattr(os, "O_NONBLOCK", 0), 0o600)  # (O_NONBLOCK: a FIFO there is refused, not waited on)
    except OSError as exc:  # ELOOP: a symbolic link planted as the journal
        raise QuarantineError(f"{qdir / JOURNAL}: cannot open the journal safely ({exc.strerror or exc})") from None
    st = os.fstat(fd)
    why = ("is not a regular file" if not stat.S_ISREG(st.st_mode) else
           f"belongs to another user (uid {st.st_uid})" if hasattr(os, "geteuid") and st.st_uid != os.geteuid() else
           f"can be changed by other users (mode {stat.S_IMODE(st.st_mode):04o})" if st.st_mode & 0o022 else None)
    if why is not None:
        os.close(fd)
        raise QuarantineError(f"{qdir / JOURNAL} {why}: refused")
    try:
        _end_cut_line(qdir / JOURNAL, fd, st)
    except OSError as exc:
        os.close(fd)
        raise JournalError(f"cannot write the quarantine's journal ({exc.strerror or exc})") from None
    return open(fd, "w", encoding="ascii")


def _end_cut_line(path: Path, fd: int, st: os.stat_result) -> None:
    """Make the journal end with a whole line before anything is appended. A crash can cut the last line short
    (``_read_journal`` skips it, as the last line): the next line appended right after its bytes was glued to it,
    unreadable too, and the move it recorded could not be undone. A cut line of ours that is not JSON is taken away
    (it was being written when the run stopped: its move had not begun, and no line of it can be checked); a whole
    line that only lacks its newline (an edit), or bytes that are no line of ours, get one. ``fd``: the journal
    open for appending (``st``: its stat); it is read through a second descriptor of the same file."""
    size = st.st_size
    if size == 0:
        return
    rfd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    try:
        now = os.fstat(rfd)
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            raise OSError(errno.EAGAIN, "the journal was replaced while it was opened")
        _end_cut_line_read(rfd, fd, size)
    finally:
        os.close(rfd)


def _end_cut_line_read(rfd: int, fd: int, size: int) -> None:
    if os.pread(rfd, 1, size - 1) == b"\n":
        return
    start = size
    while start > 0:  # back to the newline before the last line (a folder's line may be long)
        step = min(start, 1 << 16)
        chunk = os.pread(rfd, step, start - step)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            start = start - step + cut + 1
            break
        start -= step
    if size - start > _JOURNAL_LINE_MAX:  # (no line of ours, whole: read a piece at a time, as undo reads it)
        whole = False
        ours = os.pread(rfd, 8, start) == b'{"op": "' or _zeros(rfd, start, size)
    else:
        tail = os.pread(rfd, size - start, start)
        try:
            whole = isinstance(loads_json(tail), dict)
        except ValueError:
            whole = False
        ours = tail.startswith(b'{"op": "') or not tail.strip(b"\0")
    # only the start of a line of ours (every one begins {"op": ...), or the zeros a crash can leave, is taken away:
    # bytes of anything else (a file of another program at that name) are kept, ended with a newline
    if whole or not ours:
        os.write(fd, b"\n")
    else:
        os.ftruncate(fd, start)
    os.fsync(fd)


def _zeros(fd: int, start: int, end: int) -> bool:
    """Whether the bytes ``start:end`` of the open file ``fd`` are all zeros, read a MiB at a time."""
    while start < end:
        chunk = os.pread(fd, min(end - start, _JOURNAL_PIECE), start)
        if not chunk or chunk.strip(b"\0"):
            return False
        start += len(chunk)
    return True


def _append(journal, key: bytes, entry: dict, sync: bool = True) -> None:
    """One signed line, whole or not at all: a write the disk cuts short (full) is taken back, so no half line
    stays for the next line to be glued onto, and :class:`JournalError` stops the run. ``sync``: the journal is on
    disk when this returns (fsync); else the line waits for the next :func:`_sync` (a batch of moves journalled
    before any of them is made: :func:`_apply_moves`)."""
    line = (json.dumps(_sign(key, entry)) + "\n").encode("ascii")  # ASCII: odd bytes in names become \\udcXX escapes
    if len(line) > _JOURNAL_LINE_MAX:  # (undo would skip it unread: its move could not be undone)
        raise LineTooLong(len(line))
    fd = journal.fileno()
    end = os.lseek(fd, 0, os.SEEK_END)
    try:
        if os.write(fd, line) != len(line):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        if sync:
            os.fsync(fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, end)
        raise JournalError(f"cannot write the quarantine's journal ({exc.strerror or exc})") from None


class LineTooLong(OSError):
    """A journal line longer than :data:`_JOURNAL_LINE_MAX`, what undo reads back (a folder of too many files): not
    written, and its move not made."""

    def __init__(self, size: int) -> None:
        super().__init__(errno.EFBIG, f"its journal line would be {size:,} bytes, more than the "
                                      f"{_JOURNAL_LINE_MAX >> 20} MiB undo reads back")
        self.size = size


def _sync(journal) -> None:
    """The journal's lines written so far on disk (fsync), else :class:`JournalError`: what makes a batch's planned
    lines durable before the first of its moves begins."""
    try:
        os.fsync(journal.fileno())
    except OSError as exc:
        raise JournalError(f"cannot write the quarantine's journal ({exc.strerror or exc})") from None


#: the longest name of one file most file systems take (bytes)
NAME_MAX = 255


def _fitting(prefix: str, name: str, suffix: str, room: int = 0) -> str:
    """``prefix + name + suffix``, the name's stem shortened (and marked ``~``) where the whole would pass
    :data:`NAME_MAX` less ``room`` bytes: a photo named with 250 bytes (85 CJK characters) could not be moved
    across devices (``NAME.partial``), get a clone (``.NAME.imagetwins-clone``) or a free name (``NAME.1``)."""
    full = prefix + name + suffix
    if len(os.fsencode(full)) <= NAME_MAX - room:
        return full
    stem, ext = os.path.splitext(name)
    if len(os.fsencode(ext)) > 32:
        stem, ext = name, ""
    while stem and len(os.fsencode(f"{prefix}{stem}~{ext}{suffix}")) > NAME_MAX - room:
        stem = stem[:-1]
    return f"{prefix}{stem}~{ext}{suffix}"


_CLONE = ".imagetwins-clone"


def _clone_tmp_name(name: str) -> str:
    """The hidden name a clone is made under beside the place ``name`` before it is renamed there."""
    return _fitting(".", name, _CLONE, room=8)


def _free_name(target: Path, dir_fd: int | None = None, top: bool = False,
               taken: set[Path] | None = None) -> Path:
    """``target``, or the first of ``stem.1.suffix``, ``stem.2.suffix``... where nothing stands. ``top``: ``target``
    is at the top of a quarantine, where a name its own files take (:func:`_own_name`) is never free. ``taken``:
    names promised to moves journalled and not made yet (a batch's), not free either."""
    def free(name: Path) -> bool:
        return not _lexists(name, dir_fd) and not (top and _own_name(name.name)) and not (taken and name in taken)

    if free(target):
        return target
    for k in range(1, 10_000):
        candidate = target.with_name(_fitting("", target.stem, f".{k}{target.suffix}"))
        if free(candidate):
            return candidate
    raise FileExistsError(target)


#: the names a key's leftovers take (:func:`imagetwins.ownfolders.make_key`: ``manifest.key.PID.HEX``)
_KEY_LEFTOVER = re.compile(re.escape(KEY) + r"\.\d+\.[0-9a-f]{8}")


def _own_name(name: str) -> bool:
    """Is ``name``, at a quarantine's top, one its own files take (the journal, summary, key, decisions, their
    ``.tmp`` names, a key's leftovers)? A photo moved there under it was deleted for good: ``manifest.json.tmp`` is
    removed as a leftover when the summary is written."""
    return name in _OWN_FILES or _KEY_LEFTOVER.fullmatch(name) is not None


def _lexists(path: str | os.PathLike, dir_fd: int | None = None) -> bool:
    """Does anything stand at ``path`` itself (relative to the open folder ``dir_fd`` if given)?"""
    try:
        os.stat(path, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _move(src: Path, dst: Path, digest: str, identity: tuple[int, int] | None = None,
          dir_fd: int | None = None, dst_dir_fd: int | None = None, stop: _Stop | None = None,
          on_partial=None, keep_free: int = 0, set_aside: bool = False) -> None:
    """Move without ever overwriting: one rename that cannot replace (:func:`_rename_noreplace`; where the system
    has none, a hard link then an unlink), or across devices a verified copy.

    ``identity`` (device, inode) is the file that was verified: if another file was put at ``src``
    since, nothing moves. The source stays until its new name exists. ``dir_fd`` (``dst_dir_fd``): ``src``
    (``dst``) is a name in that open folder, so no folder swapped for a link on its way since it was opened
    can redirect the move. Across devices, ``on_partial(name)`` is called with the name of the unfinished
    copy (beside ``dst``) before it is made (to journal it), ``stop`` (Ctrl-C) abandons the copy, and a copy that
    would leave less than ``keep_free`` bytes free on ``dst``'s disk is not begun (:class:`QuarantineFull`), and
    ``set_aside`` (a file of the person's folder) has the original's name taken away as :func:`_copy_across` says.
    """
    try:  # one atomic step where the system has it: the name goes with the file it holds at that instant
        renamed = _rename_noreplace(src, dst, dir_fd, dst_dir_fd)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        _copy_across(src, dst, digest, identity, dir_fd, dst_dir_fd, stop, on_partial, keep_free, set_aside)
        return
    if renamed:
        if identity is not None:
            st = os.stat(dst, dir_fd=dst_dir_fd, follow_symlinks=False)
            if (st.st_dev, st.st_ino) != identity:  # another file put at src since it was checked: it goes back
                _put_back(dst, src, dst_dir_fd, dir_fd)
                raise OSError(errno.EAGAIN, "replaced by another file while being moved: left in place")
        return
    try:  # fails if dst exists: never overwrites
        os.link(src, dst, src_dir_fd=dir_fd, dst_dir_fd=dst_dir_fd, follow_symlinks=False)
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            _copy_across(src, dst, digest, identity, dir_fd, dst_dir_fd, stop, on_partial, keep_free, set_aside)
            return
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
            raise
        # a file system without hard links: rename, the name having been checked free just before
        if _lexists(dst, dst_dir_fd):
            raise FileExistsError(errno.EEXIST, "destination exists", str(dst)) from None
        os.rename(src, dst, src_dir_fd=dir_fd, dst_dir_fd=dst_dir_fd)
        return
    if identity is not None:
        st = os.stat(dst, dir_fd=dst_dir_fd, follow_symlinks=False)
        if (st.st_dev, st.st_ino) != identity:
            os.unlink(dst, dir_fd=dst_dir_fd)
            raise OSError(errno.EAGAIN, "replaced by another file while being moved: left in place")
    _unlink_original(src, dst, identity, dir_fd, dst_dir_fd)


#: renameat2's flag that makes a rename fail (EEXIST) rather than replace the file at the new name (Linux 3.15)
_RENAME_NOREPLACE = 1
#: "relative to the working folder" for the *at system calls (Linux)
_AT_FDCWD = -100


@functools.cache
def _renameat2():
    """libc's ``renameat2`` (Linux, glibc 2.28 or later), or None where this system has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        call = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    call.restype = ctypes.c_int
    return call


def _rename_noreplace(src: str | os.PathLike, dst: str | os.PathLike, src_dir_fd: int | None = None,
                      dst_dir_fd: int | None = None) -> bool:
    """Rename ``src`` to ``dst`` in one step that never replaces a file at ``dst`` (``FileExistsError``); the names
    relative to the open folders given. False where this system or file system cannot (no ``renameat2``, or a file
    system that refuses its flag): the caller links and unlinks instead.

    Why one step: a hard link then an unlink of the old name unlinks whatever the name holds by then. A program that
    saves over the name in that instant (a new file renamed over it: an editor's or a sync tool's atomic save) lost
    its new file: the unlink took it, the quarantine held the old one."""
    call = _renameat2()
    if call is None:
        return False
    here = _AT_FDCWD if src_dir_fd is None else src_dir_fd
    there = _AT_FDCWD if dst_dir_fd is None else dst_dir_fd
    old, new = os.fsencode(src), os.fsencode(dst)
    if b"\0" in old or b"\0" in new:  # (as os.rename: C reads a name up to its NUL, 'a.jpg\0x' renamed 'a.jpg')
        raise ValueError("embedded null byte")
    if call(here, old, there, new, _RENAME_NOREPLACE) == 0:
        return True
    err = ctypes.get_errno()
    # (EPERM too: a seccomp filter of an older container runtime answers renameat2 so, and where the file or folder
    # truly refuses it, the link and unlink refuse it as well)
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), os.fspath(src))


def _put_back(moved: Path, place: Path, moved_dir_fd: int | None, place_dir_fd: int | None) -> None:
    """A file :func:`_move` took from ``place`` that was not the one checked (put there since) given back its name,
    never over anything; where that name was taken again meanwhile it stays at ``moved``, said."""
    try:
        if _rename_noreplace(moved, place, moved_dir_fd, place_dir_fd):
            return
        os.link(moved, place, src_dir_fd=moved_dir_fd, dst_dir_fd=place_dir_fd, follow_symlinks=False)
    except OSError as exc:
        raise OSError(errno.EAGAIN, f"replaced by another file while being moved, and that file could not be put "
                                    f"back ({exc.strerror or exc}): it stays at {moved}") from None
    os.unlink(moved, dir_fd=moved_dir_fd)


def _unlink_original(src: Path, dst: Path, identity: tuple[int, int] | None, dir_fd: int | None,
                     dst_dir_fd: int | None) -> None:
    """The last step of a move: the original's name goes. Where it cannot (a folder others own, an immutable
    file), the original stays whole and so the new name or copy at ``dst`` is taken back, not left in the
    quarantine as a second copy journalled 'failed'; unless the original is no longer there (then ``dst``
    holds the only copy)."""
    try:
        os.unlink(src, dir_fd=dir_fd)
    except OSError:
        try:
            st = os.stat(src, dir_fd=dir_fd, follow_symlinks=False)
            if identity is not None and (st.st_dev, st.st_ino) == identity:
                os.unlink(dst, dir_fd=dst_dir_fd)
        except OSError:
            pass
        raise


#: the name an unfinished copy across devices has beside its destination
PARTIAL = ".partial"
#: after ``.`` and the folder's name: an unfinished copy of a whole folder across devices, beside its destination
FOLDER_PARTIAL = ".imagetwins-partial"


def _copy_across(src: Path, dst: Path, digest: str, identity: tuple[int, int] | None = None,
                 dir_fd: int | None = None, dst_dir_fd: int | None = None, stop: _Stop | None = None,
                 on_partial=None, keep_free: int = 0, set_aside: bool = False) -> None:
    """A verified copy to ``dst`` (never overwriting, fsynced), then ``src`` unlinked; on any failure or a stop
    the copy is removed and ``src`` stays. ``keep_free``: bytes the copy must leave free on ``dst``'s disk, else it
    is not begun (:class:`QuarantineFull`). ``set_aside`` (``src`` a file of the person's folder): the original is
    set aside under a hidden name beside it in one rename (:func:`_rename_noreplace`), checked there and unlinked,
    so a file saved over its name after the last look is never the one unlinked; a run killed in between leaves it
    set aside, which undo removes once the copy is back at its place (:func:`_drop_set_aside`)."""
    if keep_free:
        _check_room(src, dst, dir_fd, dst_dir_fd, keep_free)
    partial = _free_name(dst.with_name(_fitting("", dst.name, PARTIAL, room=8)), dst_dir_fd)
    if on_partial is not None:
        on_partial(partial.name)
    try:
        out_fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600, dir_fd=dst_dir_fd)
        with open_regular_file(src, follow_symlinks=False, dir_fd=dir_fd) as fin, open(out_fd, "wb") as fout:
            st = os.fstat(fin.fileno())
            if identity is not None and (st.st_dev, st.st_ino) != identity:
                raise OSError(errno.EAGAIN, "replaced by another file while being moved: left in place")
            _copy_bytes(fin, fout, stop)
            os.fchmod(fout.fileno(), stat.S_IMODE(st.st_mode))
            fout.flush()
            os.utime(fout.fileno(), ns=(st.st_atime_ns, st.st_mtime_ns))
            os.fsync(fout.fileno())  # on disk before the original goes
        if _digest_and_identity(partial, dst_dir_fd)[0] != digest:
            raise OSError(errno.EIO, "copy does not match the original")
        try:  # a new name that cannot overwrite (fails if dst exists)
            os.link(partial, dst, src_dir_fd=dst_dir_fd, dst_dir_fd=dst_dir_fd, follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV):
                raise
            if _lexists(dst, dst_dir_fd):  # (a file system without hard links: checked, then renamed)
                raise FileExistsError(errno.EEXIST, "destination exists", str(dst)) from None
            os.rename(partial, dst, src_dir_fd=dst_dir_fd, dst_dir_fd=dst_dir_fd)
    finally:
        if _lexists(partial, dst_dir_fd):
            os.unlink(partial, dir_fd=dst_dir_fd)
    if identity is not None:  # the file copied is still the one at src: only then does src go
        aside = _set_aside(src, dir_fd) if set_aside else None
        now = os.stat(src if aside is None else aside, dir_fd=dir_fd, follow_symlinks=False)
        changed = None
        if (now.st_dev, now.st_ino) != identity:  # the copy stays: it holds the verified bytes
            changed = OSError(errno.EAGAIN, f"replaced by another file while being copied: that file left in place, "
                                            f"the copy of the checked one kept at {dst}")
        elif (now.st_size, now.st_mtime_ns) != (st.st_size, st.st_mtime_ns):  # (the edit would go with the original)
            os.unlink(dst, dir_fd=dst_dir_fd)
            changed = OSError(errno.EAGAIN, "written to while it was copied (no longer the bytes checked): left in "
                                            "place")
        if changed is not None:
            if aside is not None:
                _put_back(aside, src, dir_fd, dir_fd)
            raise changed
        if aside is not None:
            try:
                os.unlink(aside, dir_fd=dir_fd)
            except OSError:  # (as _unlink_original: the original stays whole, at its name again, and the copy goes)
                with contextlib.suppress(OSError):
                    _put_back(aside, src, dir_fd, dir_fd)
                    os.unlink(dst, dir_fd=dst_dir_fd)
                raise
            return
    _unlink_original(src, dst, identity, dir_fd, dst_dir_fd)


def _set_aside(name: Path, dir_fd: int | None) -> Path | None:
    """``name`` (in the open folder ``dir_fd``) renamed in one step to its hidden :func:`_aside_name` beside it, never
    over anything; None where it was not (no ``renameat2``, that name taken, or refused: then it is looked at where
    it is, as before)."""
    aside = _aside_name(name)
    try:
        return aside if _rename_noreplace(name, aside, dir_fd, dir_fd) else None
    except OSError:
        return None


def _foreign_set_aside(dst: Path, src: Path, sha: str, size: int) -> str | None:
    """Before a file goes back to its free place ``dst``: a regular file under the hidden name beside it that is not
    the original a ``remove`` across devices set aside (those bytes, ``sha`` and ``size``: removed once the copy is
    back, :func:`_drop_set_aside`) is another program's, saved over the place as that run set the name aside and
    killed before giving it back; it gets its name back (:func:`_name_back`), and why the original stays is returned.
    It lay hidden, unsaid, the original put back at its name."""
    aside = _aside_name(dst)
    try:
        st = os.lstat(aside)
        if not stat.S_ISREG(st.st_mode) or st.st_size == size and _digest_and_identity(aside)[0] == sha:
            return None
    except OSError:
        return None
    return _name_back(aside, dst, src)


def _drop_set_aside(place: Path, folder_fd: int, sha: str, size: int) -> None:
    """The original a ``remove`` killed as it moved across devices left set aside beside ``place`` (the name in the
    open folder ``folder_fd``; :func:`_copy_across`), removed once its copy is back at the place: only a regular
    file holding exactly those bytes (``sha``, ``size``), which stand at the place now."""
    aside = _aside_name(place)
    if _holds_at(aside, sha, size, folder_fd):
        with contextlib.suppress(OSError):
            os.unlink(aside, dir_fd=folder_fd)


class QuarantineFull(JournalError):
    """A copy into the quarantine across devices would leave its disk with less room than undo needs for its journal
    (:data:`UNDO_ROOM`): the run stops there, as where its journal cannot be written."""


#: the room a move into a quarantine on another device leaves free there: undo writes a journal line before it copies
#: each file back (the unfinished copy's name, ~0.5 KB) and one after, in that quarantine, so a run that filled its
#: disk could never be undone (each undo stopped at its first line: 'cannot write the quarantine's journal (No space
#: left on device)') until something else on that disk was deleted: a USB stick holding only the quarantine
UNDO_ROOM = 1 << 20


def _check_room(src: Path, dst: Path, dir_fd: int | None, dst_dir_fd: int | None, keep_free: int) -> None:
    """:class:`QuarantineFull` where copying ``src`` to ``dst`` would leave less than ``keep_free`` bytes free there."""
    try:
        size = os.stat(src, dir_fd=dir_fd, follow_symlinks=False).st_size
        fs = os.fstatvfs(dst_dir_fd) if dst_dir_fd is not None else os.statvfs(dst.parent)
    except OSError:
        return  # (the copy says what is wrong)
    free = fs.f_bavail * fs.f_frsize
    if free - size < keep_free:
        raise QuarantineFull(f"the quarantine's disk is nearly full ({free / (1 << 20):.1f} MiB free, {size:,} bytes "
                             f"to copy; undo needs {keep_free >> 20} MiB there to write its journal)")


def _copy_bytes(fin, fout, stop: _Stop | None = None) -> None:
    """Copy a file's bytes 1 MiB at a time, stopping between two chunks on Ctrl-C (``InterruptedError``)."""
    for chunk in iter(lambda: fin.read(1 << 20), b""):
        if stop is not None:
            stop.check()
        fout.write(chunk)


def _folder_fd(root: Path, rel: Path) -> int:
    """An open descriptor of the folder ``root / rel``, reached from ``root`` one real folder at a time: a
    folder on the way that is (now) a symbolic link, or not a folder, raises ``OSError`` (ELOOP, ENOTDIR)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | _CLOEXEC
    fd = os.open(root, flags)
    try:
        for part in rel.parts:
            inner = os.open(part, flags, dir_fd=fd)
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


#: what ``apply_plan(link=...)`` accepts: put a copy-on-write clone of the keeper (a real copy where the file
#: system has none), a hard link or a symbolic link to it where each file was
LINK_KINDS = ("clone", "hard", "sym")


def apply_plan(plan: Plan, root: str | os.PathLike, quarantine: str | os.PathLike,
               link: str | None = None, to_trash: bool = False, progress: bool = False) -> Outcome:
    """Move the planned files into ``quarantine`` (relative paths under ``root`` preserved).

    The folder and the quarantine are locked for the run (:mod:`imagetwins.locks`): another run that
    would change either stops with :class:`~imagetwins.locks.FolderBusy` before anything moves.

    Right before each move, the file and its kept copy are checked again: each must still be a regular
    file inside ``root`` reached without links, with the content that was scanned (the keeper is read
    in full the first time and again whenever its size, times or inode changed since). Anything else
    is left in place and listed in ``Outcome.failed`` with the reason.

    With ``link="hard"`` or ``"sym"`` each moved file's place then gets a link to its keeper (a
    symbolic link is relative, so the folder can move); the file itself stays in quarantine, so
    ``undo`` removes the link and puts the file back. A hard link across devices is refused before
    anything moves.

    With ``to_trash`` the files go to the system trash instead (:mod:`imagetwins.trash`); the
    quarantine folder then holds only the journal, which records where each file lies in the trash
    so that ``undo`` can put it back (where the platform says; on freedesktop systems it does).

    Ctrl-C or SIGTERM (in the main thread) lets the file being moved finish (a copy across devices is
    abandoned, its original untouched) and then raises :class:`Interrupted`, which says what was done.

    ``progress``: a bar over the planned files ('moving', on stderr, drawn after a second).

    Raises
    ------
    QuarantineError
        The quarantine folder may not be used (see :func:`check_quarantine`).
    imagetwins.locks.FolderBusy
        Another run is changing the folder or the quarantine.
    Interrupted
        Ctrl-C or SIGTERM: the journal and summary are written first.
    """
    from imagetwins.locks import changing

    if link is not None and link not in LINK_KINDS:
        raise ValueError(f"link must be one of {', '.join(LINK_KINDS)}, not {link!r}")
    if link is not None and to_trash:
        raise ValueError("a file sent to the trash gets no link in its place: choose link or to_trash")
    given = Path(os.path.abspath(root))  # the folder as named (maybe a link to it): files under it are inside it
    root = given.resolve()
    qdir = check_quarantine(quarantine, [root])
    with changing([root]):
        made = _made_now(qdir)
        qdir = _own_quarantine(qdir)
        with changing([qdir]), _deferred_signals() as stop:
            key = _key(qdir, create=True)
            out = Outcome(manifest=qdir / JOURNAL)
            out.names_left = {os.path.realpath(p) for p in names_elsewhere(src for src, _, _ in plan.moves)}
            with _open_journal(qdir) as journal:
                try:
                    with _bar(len(plan.moves), "moving", progress) as bar:
                        _apply_moves(plan, given, root, qdir, link, to_trash, journal, key, out, stop, bar)
                except JournalError as exc:
                    out.stopped = str(exc)
                finally:
                    _write_summary(qdir, root, key)
                    _record_placeholders(out)
            _drop_unused(qdir, made)
    if stop.signum:
        raise Interrupted(out, len(plan.moves), stop.signum)
    return out


def _bar(total: int, desc: str, shown: bool):
    """A progress bar over ``total`` files (moves, restores) where ``shown``, drawn after a second (a quick run
    shows none) and cleared at the end, plain lines now and then in a log (:func:`imagetwins.progress.progress_bar`);
    else a bar that draws nothing. Advanced with ``update(1)``."""
    if shown and total:
        from imagetwins.progress import progress_bar

        return progress_bar(total=total, unit="file", desc=desc, delay=1.0)
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="file", desc=desc, leave=False, disable=True)


#: how many moves are checked (the file's SHA-256 read) and journalled before the journal is made durable, once, and
#: they are made: one fsync a batch instead of two a file (10,000 moves: 72-104 -> 17-24 s wall here,
#: ``benchmarks/bench_remove_plans.py``). A batch is bounded in bytes read too, so a file checked first does not wait
#: for gigabytes of others before it moves (each is checked again right before its move: its keeper, and its own
#: identity, size and mtime).
_BATCH_MOVES = 100
_BATCH_BYTES = 64 << 20


@dataclass
class _Journalled:
    """A move checked and journalled (its planned line written, maybe not yet on disk), to be made by
    :func:`_make_move` once the journal is synced: the file ``rel.name`` in the open folder ``folder_fd``."""

    src_s: str
    rel: Path
    folder_fd: int
    group: int
    keeper: str
    before: os.stat_result  # (its stat before its bytes were read: a write since shows after the move)
    digest: str
    identity: tuple[int, int]
    dst: Path
    planned: dict
    trash: Any = None  # (the imagetwins.trash.TrashFolder it goes to, with --to-trash)
    info: Path | None = None  # (its .trashinfo, reserved in that trash)

    def abandon(self) -> None:
        """Not moved: its folder closed, the name reserved in the trash given back."""
        os.close(self.folder_fd)
        self.release()

    def release(self) -> None:
        if self.info is not None and not os.path.lexists(self.dst):
            from imagetwins.trash import release

            release(self.info)


class _Batch(list):
    """The moves journalled and not yet made (:class:`_Journalled`), with the quarantine names they were promised
    and the bytes read for them; its folders are closed by :meth:`close` whatever happens."""

    def __init__(self) -> None:
        super().__init__()
        self.taken: set[Path] = set()
        self.bytes = 0

    def full(self) -> bool:
        return len(self) >= _BATCH_MOVES or self.bytes >= _BATCH_BYTES

    def take(self) -> list[_Journalled]:
        items = list(self)
        self.clear()
        self.taken.clear()
        self.bytes = 0
        return items

    def close(self) -> None:
        for item in self.take():
            item.abandon()


def _apply_moves(plan: Plan, given: Path, root: Path, qdir: Path, link: str | None, to_trash: bool, journal,
                 key: bytes, out: Outcome, stop: _Stop, bar) -> None:
    """Each planned move checked, journalled and made. Into the quarantine they go in batches (:data:`_BATCH_MOVES`):
    each file of a batch is checked and its planned line written, the journal synced once, then each is made (its
    keeper checked again first). Every move's planned line is on disk before the move begins, as with a sync a
    line: a run killed or a machine stopped at any point leaves each file in place or in the quarantine named by a
    line undo reads (a planned line whose move never began is nothing to undo)."""
    from imagetwins.trash import FREEDESKTOP

    keepers = _Keepers(given, plan.expected)
    trashes: dict = {}  # device -> its trash folder (or why it may not be used)
    listings = FolderListings()  # each folder's names, for the sidecars' question "does another IMG.* use IMG.xmp?"
    batch = _Batch()
    try:
        for src_s, group, keeper in plan.moves:
            if stop.signum:
                return
            bar.update(1)  # (counted as it is begun: a file refused or failed is done with too)
            try:
                why = why_not_movable(src_s, [given]) or keepers.why_not(keeper, src_s)
                if why is not None:
                    out.failed.append((src_s, f"not moved: {why}"))
                    continue
                src = Path(os.path.abspath(src_s))
                if link == "hard" and not _same_device(keeper, src.parent):
                    out.failed.append((src_s, f"not moved: a hard link cannot reach {keeper} on another device"))
                    continue
                # from here on the file is reached from the real folder through the real folders just checked,
                # opened one at a time without following links: a folder swapped for a link to elsewhere since
                # the check (a race) cannot send the move outside the folder
                rel = src.relative_to(given) if src.is_relative_to(given) else src.relative_to(root)
                try:
                    folder_fd = _folder_fd(root, rel.parent)
                except OSError as exc:
                    if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
                        raise
                    out.failed.append((src_s, "not moved: a folder on its way was replaced since the check"))
                    continue
                if to_trash and not FREEDESKTOP:
                    try:
                        _trash_checked(rel, folder_fd, src_s, root, plan, group, keeper, journal, key, out, stop,
                                       listings)
                    finally:
                        os.close(folder_fd)
                    continue
                try:
                    item = _journal_move(rel, folder_fd, src_s, qdir, root, plan, group, keeper, journal, key, out,
                                         batch, _link_intent(link, keeper, root / rel, keepers.digests.get(keeper)),
                                         trashes if to_trash else None)
                except BaseException:
                    os.close(folder_fd)
                    raise
                if item is None:
                    os.close(folder_fd)
                    continue
                batch.append(item)
            except InterruptedError:
                return  # a copy abandoned on Ctrl-C: the original stays, nothing to report but the interruption
            except OSError as exc:
                out.failed.append((src_s, exc.strerror or str(exc)))
            if batch.full() and not _make_moves(batch, root, link, journal, key, out, stop, keepers, listings):
                return
        _make_moves(batch, root, link, journal, key, out, stop, keepers, listings)
    finally:
        batch.close()
        with contextlib.suppress(OSError):  # (the last lines, confirmations: undo needs none of them on disk)
            os.fsync(journal.fileno())


def _trash_checked(rel: Path, folder_fd: int, src_s: str, root: Path, plan: Plan, group: int, keeper: str, journal,
                   key: bytes, out: Outcome, stop: _Stop, listings: FolderListings) -> None:
    """``root / rel`` (``rel.name`` in the open folder ``folder_fd``) read, compared with the scan's bytes and sent to
    the trash through send2trash (:func:`_send_to_trash`: macOS, Windows), one file at a time, each planned line
    synced before it goes."""
    digest, _, size = _digest_and_identity(rel.name, dir_fd=folder_fd)
    if not _same_content(digest, plan.expected.get(src_s)):
        out.failed.append((src_s, "not moved: its content changed since the scan"))
        return
    _send_to_trash(rel, folder_fd, root / rel, digest, size, root, group, keeper, journal, key, out, listings)


def _link_intent(link: str | None, keeper: str, place: Path, keeper_sha: str | None) -> dict:
    """What a move's planned line says of the link ``--link sym|hard`` will put at its ``place``: the kind, the
    target as the link will hold it and the keeper's SHA-256, so that undo knows the link for its own (and takes it
    away) from the planned line alone, synced before the move: the ``linked`` line written once it is made waits for
    the next batch's sync. A clone is journalled by lines of its own (``linking``: its temporary name, synced before
    it is made), as its inode is known only then: ``{}`` for it and for no link."""
    if link not in ("sym", "hard"):
        return {}
    keeper_path = Path(os.path.abspath(keeper))
    target = os.path.relpath(keeper_path.resolve(), place.parent) if link == "sym" else str(keeper_path)
    return {"link": link, "target": target, "kept_sha256": keeper_sha}


def _journal_move(rel: Path, folder_fd: int, src_s: str, qdir: Path, root: Path, plan: Plan, group: int, keeper: str,
                  journal, key: bytes, out: Outcome, batch: _Batch, intent: dict | None = None,
                  trashes: dict | None = None) -> _Journalled | None:
    """The first half of a move into the quarantine (or, given ``trashes``, each device's trash folder or why it may
    not be used, into the system trash): ``root / rel`` (``rel.name`` in the open folder ``folder_fd``) read
    (SHA-256), compared with the scan's, given a free name there (in a trash: reserved, its ``.trashinfo`` written)
    and journalled (planned, not synced, with the link to be put in its place: ``intent``, :func:`_link_intent`);
    None where it does not go (said in ``out``)."""
    from imagetwins.trash import record_sha256, trash_folder_for

    before = os.stat(rel.name, dir_fd=folder_fd, follow_symlinks=False)  # (to notice a write while it moves)
    digest, identity, size = _digest_and_identity(rel.name, dir_fd=folder_fd)
    if not _same_content(digest, plan.expected.get(src_s)):
        out.failed.append((src_s, "not moved: its content changed since the scan"))
        return None
    real = root / rel  # a real path: every folder below root was opened without following a link
    trash = info = None
    if trashes is None:
        parent = _make_dirs(qdir, rel.parent)
        dst = _free_name(parent / rel.name, top=parent == qdir, taken=batch.taken)
        planned = {"op": "move", "from": str(real), "to": str(dst), "root": str(root), "state": "planned",
                   "bytes": size, "sha256": digest, "group": group, "kept": keeper, **(intent or {})}
        if before.st_nlink > 1:  # (one file under several names: undo across devices links them again)
            planned["names_of"] = list(identity)
    else:
        if identity[0] not in trashes:
            try:
                trashes[identity[0]] = trash_folder_for(real, identity[0])
            except OSError as exc:  # UnsafeFolder: another user's trash, a link; or it cannot be made
                trashes[identity[0]] = exc
        trash = trashes[identity[0]]
        if isinstance(trash, OSError):
            out.failed.append((str(real), f"not trashed: {trash.strerror or trash}"))
            return None
        announced: dict = {}
        record = trash.record(real)
        line = {"op": "trash", "from": str(real), "root": str(root), "state": "planned", "bytes": size,
                "sha256": digest, "group": group, "kept": keeper, "record_sha256": record_sha256(record)}
        # (each name's line written before its .trashinfo is made: names promised in a batch are taken)
        dst, info = trash.reserve(real, announce=_trash_announcer(journal, key, line, announced),
                                  withdraw=_trash_withdrawer(journal, key, line), sync=False, record=record)
        planned = announced[dst]
    if info is None:
        _append(journal, key, planned, sync=False)
    batch.taken.add(dst)
    batch.bytes += size
    return _Journalled(src_s, rel, folder_fd, group, keeper, before, digest, identity, dst, planned, trash, info)


def _trash_announcer(journal, key: bytes, line: dict, announced: dict):
    """What :meth:`imagetwins.trash.TrashFolder.reserve` calls before it makes a name's ``.trashinfo``: the planned
    ``line`` for that name journalled (not synced), kept in ``announced`` by the name. Undo gives back a record its
    line names whose file never went; a run killed between the record and its line left a record of nothing."""
    def announce(dst: Path, info: Path) -> None:
        announced[dst] = entry = {**line, "to": str(dst), "info": str(info)}
        _append(journal, key, entry, sync=False)
    return announce


def _trash_withdrawer(journal, key: bytes, line: dict):
    """What :meth:`imagetwins.trash.TrashFolder.reserve` calls where a name it announced was not taken: its line
    closed (failed), so that undo leaves alone what another program made at that name."""
    def withdraw(dst: Path, info: Path) -> None:
        _append(journal, key, {**_move_entry({**line, "to": str(dst)}), "state": "failed",
                               "why": "its name in the trash was not taken"}, sync=False)
    return withdraw


def _make_moves(batch: _Batch, root: Path, link: str | None, journal, key: bytes, out: Outcome, stop: _Stop,
                keepers: _Keepers, listings: FolderListings) -> bool:
    """The batch's journal lines synced, then each of its moves made, its keeper checked again right before; False
    where Ctrl-C stopped it (the moves not made are nothing to undo: their files never left)."""
    if not batch:
        return True
    _sync(journal)
    items: list[_Journalled | None] = list(batch.take())
    moved: list[_Journalled] = []  # (moved, their sidecars to follow: their folders open until then)
    whole = True
    try:
        for n, item in enumerate(items):
            if stop.signum:
                whole = False
                break
            items[n], follows = None, False
            try:
                why = keepers.why_not(item.keeper, item.src_s)
                if why is not None:
                    item.release()
                    _append(journal, key, {**_move_entry(item.planned), "state": "failed", "why": why}, sync=False)
                    out.failed.append((item.src_s, f"not moved: {why}"))
                    continue
                follows = _make_move(item, root, link, journal, key, out, stop, keepers.digests.get(item.keeper),
                                     listings)
                if link == "hard":
                    keepers.relinked(item.keeper)  # our own link changed its ctime: not a change of its bytes
            except InterruptedError:
                whole = False  # a copy abandoned on Ctrl-C: the original stays
                break
            except OSError as exc:
                out.failed.append((item.src_s, exc.strerror or str(exc)))
            finally:
                if follows:
                    moved.append(item)
                else:
                    os.close(item.folder_fd)
        # (a stop too lets the moved files' sidecars follow them: small files, one sync for all)
        _follow_sidecars(moved, root, journal, key, out, listings)
    finally:
        for item in moved:
            os.close(item.folder_fd)
        for item in items:  # (those a stop left unmade)
            if item is not None:
                item.abandon()
    return whole


def _move_entry(planned: dict) -> dict:
    """What names one move in the journal (its ``op``, ``from``, ``to``, ``root``): each later line of it says these."""
    return {k: planned[k] for k in ("op", "from", "to", "root")}


def _make_move(item: _Journalled, root: Path, link: str | None, journal, key: bytes, out: Outcome,
               stop: _Stop | None = None, keeper_sha: str | None = None,
               listings: FolderListings | None = None) -> bool:
    """The second half of a move into the quarantine or the trash (:func:`_journal_move`: its planned line on disk
    now): made, never over anything, and confirmed; then the link in its place (``link``). Whether its sidecars are to
    follow it (:func:`_follow_sidecars`: moved, with no link keeping its name)."""
    rel, folder_fd, dst, planned = item.rel, item.folder_fd, item.dst, item.planned
    entry = _move_entry(planned)

    def journal_partial(name: str) -> None:  # (across devices) so that undo can clear a copy left unfinished
        _append(journal, key, {**entry, "state": "copying", "partial": str(dst.parent / name)})

    why = _changed_since_checked(item, root)
    if why is not None:  # (nothing moved: its planned line closed, so undo knows there is nothing to put back)
        item.release()
        _append(journal, key, {**entry, "state": "failed", "why": why}, sync=False)
        out.failed.append((item.src_s, f"not moved: {why}"))
        return False
    try:
        if item.info is not None:  # (its record on disk after its journal line, synced with the batch, and before it)
            from imagetwins.trash import settle

            settle(item.info)
        with _own_change(listings, folder_fd, rel.name):
            _move(Path(rel.name), dst, item.digest, item.identity, dir_fd=folder_fd, stop=stop, set_aside=True,
                  on_partial=journal_partial, keep_free=UNDO_ROOM if item.trash is None else 0)
    except OSError as exc:  # not moved: said in the journal, so undo knows there is nothing to put back
        item.release()
        _append(journal, key, {**entry, "state": "failed", "why": exc.strerror or str(exc)}, sync=False)
        raise
    if _written_while_moving(dst, item.before, rel, folder_fd, planned, journal, key, out):
        item.release()
        return False
    try:  # (not synced: undo puts back a file its planned line names, done or not; the next batch's sync takes it)
        _append(journal, key, {**entry, "state": "done"}, sync=False)
    finally:  # (moved even when its confirmation cannot be written: undo finds it by its planned line)
        out.done.append((entry["from"], str(dst)))
    if link is None:  # (a link in its place keeps the name: its sidecars stay with it)
        return True
    _link_in_place(root / rel, Path(os.path.abspath(item.keeper)), link, entry, journal, key, out, folder_fd,
                   keeper_sha, stat.S_IMODE(item.before.st_mode), target=planned.get("target"))
    return False


def _changed_since_checked(item: _Journalled, root: Path) -> str | None:
    """Why ``item``'s file may not move now (None: it may): changed since its bytes were read for its planned line. A
    batch's files wait for the others' checks before they move, so each is looked at again right before its move:

    - its folder must still be the one at its path from ``root`` (a folder renamed and a link put at its name: the
      file went from the renamed folder, journalled as from the link, where undo refused to put it back);
    - the name must still hold a regular file (a FIFO or link made at once under the freed inode number passes
      :func:`_move`'s (device, inode) check: a FIFO was moved into the quarantine as the file);
    - a write in place that puts the size and mtime back (``exiftool -P -overwrite_original_in_place``) is seen by
      :func:`_written_while_moving` only where those moved: its change time (ctime) says it, so a file whose ctime
      moved is read again (its bytes the same: a mode or owner changed, it moves).

    Another file at its name is left to :func:`_move`, which refuses it."""
    try:
        fd = _folder_fd(root, item.rel.parent)
        try:
            here, held = os.fstat(fd), os.fstat(item.folder_fd)
        finally:
            os.close(fd)
        moved = (here.st_dev, here.st_ino) != (held.st_dev, held.st_ino)
    except OSError:
        moved = True
    if moved:
        return "a folder on its way was replaced since the check"
    try:
        now = os.stat(item.rel.name, dir_fd=item.folder_fd, follow_symlinks=False)
    except OSError:
        return None  # (gone: the move says so)
    if (now.st_dev, now.st_ino) != item.identity:
        return None
    if not stat.S_ISREG(now.st_mode):
        return f"{describe_mode(now.st_mode)} stands at its name since it was checked: left there"
    if now.st_ctime_ns == item.before.st_ctime_ns:
        return None
    try:
        digest, identity, _ = _digest_and_identity(item.rel.name, dir_fd=item.folder_fd)
    except OSError as exc:
        return f"changed since it was checked, and cannot be read again ({exc.strerror or exc}): left in place"
    if digest == item.digest and identity == item.identity:
        item.before = now  # (what a write while it moves is measured against now)
        return None
    return "written to since it was checked (no longer the bytes checked): left in place"


def _written_while_moving(dst: Path, before: os.stat_result, rel: Path, folder_fd: int, planned: dict, journal,
                          key: bytes, out: Outcome) -> bool:
    """Whether the file just moved to ``dst`` was written to between the check of its bytes (``planned``: its journal
    line, with that SHA-256; ``before``: its stat before that read) and its move (an editor saving in place, a sync
    tool still writing): then the quarantine (or trash) would hold the only copy of that edit, which is no duplicate
    of the keeper, journalled with bytes it no longer has (undo refused it). Its bytes are read again only when its
    size or mtime moved; such a file is put back in its place (never over anything) and said; where its place was
    taken meanwhile it stays, journalled with the bytes it holds now, for undo. (Across devices the copy is checked
    against the bytes checked, and the original is left where it was written to: ``_copy_across``.)"""
    try:
        st = os.stat(dst, follow_symlinks=False)
        if (st.st_size, st.st_mtime_ns) == (before.st_size, before.st_mtime_ns):
            return False
        now, identity, size = _digest_and_identity(dst)
    except OSError:
        return False
    if now == planned["sha256"]:
        return False
    entry = {k: planned[k] for k in ("op", "from", "to", "root")}
    _append(journal, key, {**planned, "bytes": size, "sha256": now})  # (what it holds: undo puts that back)
    try:
        _move(dst, Path(rel.name), now, identity, dst_dir_fd=folder_fd)
    except OSError as exc:
        _append(journal, key, {**entry, "state": "done"})
        out.failed.append((entry["from"], f"written to while it moved, and its place was taken meanwhile "
                                          f"({exc.strerror or exc}): it stays at {dst}; undo puts it back"))
        return True
    _append(journal, key, {**entry, "state": "failed", "why": "written to while it moved: put back"})
    out.failed.append((entry["from"], "not moved: written to while it moved (no longer the bytes checked): put back"))
    return True


class FolderListings:
    """The names in each folder a run moves files out of, by stem (``IMG`` of ``IMG.jpg``): whether another file
    uses ``IMG.xmp`` is asked for each moved file that has one, and listing the folder each time cost the time of
    the folder's size per file (3,000 moves out of a folder of 12,000 names: 35 CPU s; 20,000 photos with their
    ``.xmp``: 74 ms a file). A folder is listed again whenever its mtime is not the one recorded: this run's own
    moves out of it (:func:`_own_change`) keep the record current; any other change there lists it again."""

    def __init__(self) -> None:
        self._known: dict[tuple[int, int], list] = {}  # (device, inode) -> [mtime_ns, {stem: {names}}]

    def by_stem(self, folder: int | str | os.PathLike) -> dict[str, set[str]]:
        st = os.stat(folder)
        known = self._known.get((st.st_dev, st.st_ino))
        if known is None or known[0] != st.st_mtime_ns:
            names: dict[str, set[str]] = {}
            for n in os.listdir(folder):
                names.setdefault(os.path.splitext(n)[0], set()).add(n)
            known = self._known[(st.st_dev, st.st_ino)] = [st.st_mtime_ns, names]
        return known[1]

    def current(self, folder_fd: int) -> list | None:
        st = os.fstat(folder_fd)
        known = self._known.get((st.st_dev, st.st_ino))
        return known if known is not None and known[0] == st.st_mtime_ns else None


@contextlib.contextmanager
def _own_change(listings: FolderListings | None, folder_fd: int, name: str) -> Iterator[None]:
    """Around this run's move of ``name`` out of the open folder ``folder_fd``: its listing, current right before,
    is kept current (the name gone, or there still where the move failed) with the folder's new mtime."""
    known = listings.current(folder_fd) if listings is not None else None
    try:
        yield
    finally:
        if known is not None:
            known[0] = os.fstat(folder_fd).st_mtime_ns
            same = known[1].setdefault(os.path.splitext(name)[0], set())
            if _lexists(name, folder_fd):
                same.add(name)
            else:
                same.discard(name)


def sidecars_of(folder: int | str | os.PathLike, name: str, listings: FolderListings | None = None) -> list[str]:
    """The XMP sidecars of the file ``name`` in ``folder`` (a path or an open folder) that no other file there
    uses: ``IMG.jpg.xmp`` (its own) and ``IMG.xmp`` when no other file named ``IMG.*`` stands beside it (a RAW +
    JPEG pair shares one); ``.xmp`` or ``.XMP``, as :func:`imagetwins.metadata.read_metadata` reads them. Names
    only: whether each is a regular file is checked where it moves."""
    return _sidecar_names(folder, name, listings)[0]


def _sidecar_names(folder: int | str | os.PathLike, name: str,
                   listings: FolderListings | None = None) -> tuple[list[str], list[str]]:
    """(the sidecars of ``name`` that move with it: :func:`sidecars_of`; those that stay because another file named
    ``IMG.*`` uses them too). ``listings``: the folder's names as this run knows them (:class:`FolderListings`)."""
    stem, found, shared = os.path.splitext(name)[0], [], []
    dir_fd = folder if isinstance(folder, int) else None
    base = "" if dir_fd is not None else os.fspath(folder)
    seen: set[tuple[int, int]] = set()
    for own, side in [(True, name + ext) for ext in (".xmp", ".XMP")] + \
                     ([(False, stem + ext) for ext in (".xmp", ".XMP")] if stem != name else []):
        try:
            st = os.stat(os.path.join(base, side), dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:  # (a file system that ignores case: one file under both names)
            continue
        seen.add((st.st_dev, st.st_ino))
        if not own or stem == name:  # (a name without an extension: photo.xmp is photo.jpg's sidecar too)
            folder_now = dir_fd if dir_fd is not None else base
            others = (listings or FolderListings()).by_stem(folder_now).get(stem, ())
            if any(o != name and os.path.splitext(o)[1].lower() != ".xmp" for o in others):
                shared.append(side)  # another image still uses it: it stays beside that one
                continue
        found.append(side)
    return found, shared


@dataclass
class _SidecarMove:
    """A sidecar checked and journalled (planned, maybe not yet on disk) to follow its moved image (``image``)."""

    image: _Journalled
    side: str  # (its name in the image's folder)
    place: Path
    target: Path
    info: Path | None  # (its .trashinfo, where it goes to a trash)
    digest: str
    identity: tuple[int, int]
    size: int
    planned: dict


def _follow_sidecars(moved: list[_Journalled], root: Path, journal, key: bytes, out: Outcome,
                     listings: FolderListings | None = None) -> None:
    """After a batch's files moved (``moved``, their folders still open): their XMP sidecars (:func:`sidecars_of`)
    follow them, into the quarantine or the same trash, each verified and journalled as a move of its own
    (``sidecar_of``), so that ``undo`` puts it back after its image; named after the image's new name (``IMG.1.jpg``
    -> ``IMG.1.jpg.xmp``; ``IMG 1.jpg`` -> ``IMG 1.jpg.xmp`` in a trash) so that the moved image's metadata is read
    with them. As a batch's files: each checked and its planned line written, the journal synced once, then each
    moved (was an fsync a line, two a sidecar). A sidecar that is a link, a FIFO, a folder or not readable stays in
    place, said in ``out.failed``; one another file uses too stays, noted in ``out.shared_sidecars``."""
    from imagetwins.trash import release, settle

    planned: list[_SidecarMove] = []
    taken: set[Path] = set()
    # the last of a batch's files sharing a sidecar (IMG.xmp of IMG.jpg and IMG.dng) takes it, as when each file's
    # sidecars followed it at once: the first moved while the other still used it, and it stayed for that one
    for image in reversed(moved):
        _plan_sidecars(image, root, journal, key, out, listings, planned, taken)
    if not planned:
        return
    planned.reverse()
    _sync(journal)
    for move in planned:
        image, side, place, target = move.image, move.side, move.place, move.target
        entry = _move_entry(move.planned)

        def journal_partial(name: str, entry=entry, target=target) -> None:
            _append(journal, key, {**entry, "state": "copying", "partial": str(target.parent / name)})

        try:
            if move.info is not None:  # (its record on disk after its journal line, and before it goes)
                settle(move.info)
            with _own_change(listings, image.folder_fd, side):
                _move(Path(side), target, move.digest, move.identity, dir_fd=image.folder_fd, set_aside=True,
                      on_partial=journal_partial, keep_free=UNDO_ROOM if image.trash is None else 0)
        except OSError as exc:
            if move.info is not None:
                release(move.info)
            _append(journal, key, {**entry, "state": "failed", "why": exc.strerror or str(exc)}, sync=False)
            why = str(exc.strerror or exc).removesuffix(": left in place")
            _sidecar_left(out, place, f"its XMP sidecar was not moved ({why}): left in place")
            continue
        try:  # written in place (same file) between its check and its move: the journal lists the bytes that moved,
            now, _, now_size = _digest_and_identity(target)  # so that undo puts them back (a few KB read again)
        except OSError:
            now, now_size = move.digest, move.size
        if now != move.digest:
            _append(journal, key, {**move.planned, "bytes": now_size, "sha256": now})
        _append(journal, key, {**entry, "state": "done"}, sync=False)
        out.sidecars.append((str(root / image.rel), str(place), str(target)))


def _plan_sidecars(image: _Journalled, root: Path, journal, key: bytes, out: Outcome,
                   listings: FolderListings | None, planned: list[_SidecarMove], taken: set[Path]) -> None:
    """The sidecars of ``image`` (just moved) checked, given their names there (``taken``: those promised already)
    and journalled, not synced, each added to ``planned``."""
    from imagetwins.trash import record_sha256

    rel, folder_fd, dst = image.rel, image.folder_fd, image.dst
    real = root / rel
    follow, shared = _sidecar_names(folder_fd, rel.name, listings)
    out.shared_sidecars += [(str(real), str(real.with_name(side))) for side in shared]
    claimed = {move.place for move in planned}
    for side in follow:
        place = real.with_name(side)
        if place in claimed:  # (another file of the batch, moved after it, takes it along)
            out.shared_sidecars.append((str(real), str(place)))
            continue
        own = side[:-4] == rel.name
        # (fitted: a long name that took NAME.1.png in the quarantine leaves no room for NAME.1.png.xmp)
        name = _fitting("", dst.name if own else dst.stem, side[-4:])
        try:
            st = os.stat(side, dir_fd=folder_fd, follow_symlinks=False)
            if (what := _no_sidecar(st)) is not None:
                _sidecar_left(out, place, f"its XMP sidecar is {what}: left in place (the image moved to {dst})")
                continue
            digest, identity, size = _digest_and_identity(side, dir_fd=folder_fd)
        except OSError as exc:
            _sidecar_left(out, place, f"its XMP sidecar cannot be read ({exc.strerror or exc}): left in place")
            continue
        info = None
        if image.trash is None:
            target = _free_name(dst.with_name(name), taken=taken)
            entry = {"op": "move", "from": str(place), "to": str(target), "root": str(root)}
        else:
            announced: dict = {}
            record = image.trash.record(place)
            base = {"op": "trash", "from": str(place), "root": str(root), "state": "planned", "bytes": size,
                    "sha256": digest, "group": image.group, "kept": image.keeper, "sidecar_of": str(real),
                    "record_sha256": record_sha256(record)}
            try:
                target, info = image.trash.reserve(place, name=name,
                                                   announce=_trash_announcer(journal, key, base, announced),
                                                   withdraw=_trash_withdrawer(journal, key, base), sync=False,
                                                   record=record)
            except OSError as exc:
                _sidecar_left(out, place, f"its XMP sidecar was not trashed ({exc.strerror or exc}): left in place")
                continue
        if info is None:
            line = {**entry, "state": "planned", "bytes": size, "sha256": digest, "group": image.group,
                    "kept": image.keeper, "sidecar_of": str(real)}
            _append(journal, key, line, sync=False)
        else:
            line = announced[target]
        taken.add(target)
        planned.append(_SidecarMove(image, side, place, target, info, digest, identity, size, line))


def _no_sidecar(st: os.stat_result) -> str | None:
    """What a sidecar's name holds where it may not follow its image (None: it may): not a regular file, or larger than
    any file a scan reads (io.DEFAULT_MAX_BYTES): a sparse 5 GB ``IMG.jpg.xmp`` was read twice for its SHA-256 (61 s;
    a terabyte, hours) and, across devices, copied into the quarantine."""
    if not stat.S_ISREG(st.st_mode):
        return f"{describe_mode(st.st_mode)}, not a file"
    if st.st_size > DEFAULT_MAX_BYTES:
        return f"{st.st_size:,} bytes, larger than any file a scan reads ({DEFAULT_MAX_BYTES:,}), not read"
    return None


def _sidecar_left(out: Outcome, place: Path, why: str) -> None:
    """A sidecar that stays behind its moved image: said (``failed``), and counted apart (``sidecars_left``)."""
    out.failed.append((str(place), why))
    out.sidecars_left.append(str(place))


def _send_to_trash(rel: Path, folder_fd: int, src: Path, digest: str, size: int, root: Path, group: int, keeper: str,
                   journal, key: bytes, out: Outcome, listings: FolderListings | None = None) -> None:
    """Send one verified file to the system trash through send2trash (macOS, Windows: it does not say where),
    journalled as a move, each line synced. On freedesktop systems files go in batches as moves into the trash
    folder of their device, under names reserved first: :func:`_journal_move`."""
    from imagetwins.trash import send_to_trash

    real = str(src)
    entry = {"op": "trash", "from": real, "to": "", "root": str(root)}
    _append(journal, key, {**entry, "state": "planned", "bytes": size, "sha256": digest, "group": group,
                           "kept": keeper})
    send_to_trash(src)
    _append(journal, key, {**entry, "state": "done"})
    out.done.append((real, "the system trash"))
    _send_sidecars(rel, folder_fd, src, root, group, keeper, journal, key, out, listings)


def _send_sidecars(rel: Path, folder_fd: int, src: Path, root: Path, group: int, keeper: str, journal, key: bytes,
                   out: Outcome, listings: FolderListings | None = None) -> None:
    """The XMP sidecars of a file sent through send2trash (macOS, Windows) go the same way, each journalled; that
    trash does not say where, so they are put back with its own "put back", as their image is."""
    from imagetwins.trash import send_to_trash

    follow, shared = _sidecar_names(folder_fd, rel.name, listings)
    out.shared_sidecars += [(str(src), str(src.with_name(side))) for side in shared]
    for side in follow:
        place = src.with_name(side)
        try:
            st = os.stat(side, dir_fd=folder_fd, follow_symlinks=False)
            if (what := _no_sidecar(st)) is not None:
                _sidecar_left(out, place, f"its XMP sidecar is {what}: left in place (the image went to the system "
                                          "trash)")
                continue
            digest, _, size = _digest_and_identity(side, dir_fd=folder_fd)
        except OSError as exc:
            _sidecar_left(out, place, f"its XMP sidecar cannot be read ({exc.strerror or exc}): left in place")
            continue
        entry = {"op": "trash", "from": str(place), "to": "", "root": str(root)}
        _append(journal, key, {**entry, "state": "planned", "bytes": size, "sha256": digest, "group": group,
                               "kept": keeper, "sidecar_of": str(src)})
        try:
            send_to_trash(place)
        except OSError as exc:  # (so that undo does not send the person to the trash for it)
            _append(journal, key, {**entry, "state": "failed", "why": exc.strerror or str(exc)})
            _sidecar_left(out, place, f"its XMP sidecar was not trashed ({exc.strerror or exc}): left in place")
            continue
        _append(journal, key, {**entry, "state": "done"})
        out.sidecars.append((str(src), str(place), "the system trash"))


def _same_device(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    return os.stat(a).st_dev == os.stat(b).st_dev


def _link_in_place(place: Path, keeper: Path, kind: str, entry: dict, journal, key: bytes, out: Outcome,
                   folder_fd: int | None = None, keeper_sha: str | None = None, mode: int | None = None,
                   target: str | None = None) -> None:
    """Put a link to (or a clone of) ``keeper`` where a file was just moved from, journalled with the keeper's
    SHA-256 so that undo can tell its own link from anything else and notice a keeper written through it;
    ``folder_fd``: the open folder of ``place``, where the link is made; ``mode``: the moved file's permissions,
    which a clone at its name gets (not the keeper's: a private keeper would hide a name others could read).
    ``target``: the link's target as the move's planned line promised it (:func:`_link_intent`); the ``linked`` line
    is then not synced (undo knows the link from the planned line): 2,000 links cost 2,000 fsyncs before."""
    promised = target is not None
    if target is None:
        target = os.path.relpath(keeper.resolve(), place.parent) if kind == "sym" else str(keeper)
    name = place.name if folder_fd is not None else place
    extra: dict = {}
    try:
        if kind == "sym":
            os.symlink(target, name, dir_fd=folder_fd)
        elif kind == "hard":
            os.link(keeper, name, dst_dir_fd=folder_fd, follow_symlinks=False)
        else:
            extra = _clone(keeper, place, folder_fd, keeper_sha, entry, journal, key, mode)
    except OSError as exc:
        out.failed.append((str(place), f"moved to quarantine, but no {kind} {'copy' if kind == 'clone' else 'link'} "
                                       f"made in its place ({exc.strerror or exc}); undo puts it back"))
        out.after_move.append(str(place))
        out.no_link.append(str(place))
        return
    _append(journal, key, {**entry, "state": "linked", "link": kind, "target": target, "kept_sha256": keeper_sha,
                           **extra}, sync=not promised)
    out.linked.append((str(place), str(keeper)))
    if kind == "clone":
        _note_placeholder(place, keeper, extra, folder_fd, out)
    if extra.get("how") == "copy":
        out.copied += 1


def _note_placeholder(place: Path, keeper: Path, made: dict, folder_fd: int | None, out: Outcome) -> None:
    """Note the clone just put at ``place`` as a placeholder (:mod:`imagetwins.placeholders`): the file there now,
    if it is still the clone made (its inode), with the keeper's SHA-256 (the clone was checked to hold it)."""
    from imagetwins.placeholders import Placeholder

    try:
        st = os.lstat(place.name if folder_fd is not None else place, dir_fd=folder_fd)
    except OSError:
        return
    if [st.st_dev, st.st_ino] != made.get("inode") or not isinstance(made.get("sha256_of_copy"), str):
        return
    out.placeholders.append(Placeholder(str(place), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
                                        made["sha256_of_copy"], str(keeper)))


def _record_placeholders(out: Outcome) -> None:
    """Record the placeholders this run made, so that the next ``find`` does not offer them as duplicates; a store
    that cannot be written is said, not fatal (they are then offered again, as before)."""
    from imagetwins.placeholders import PlaceholderStore

    if out.placeholders and not PlaceholderStore().add(out.placeholders):
        store = str(PlaceholderStore().path)
        out.failed.append((store, f"{len(out.placeholders)} copies left in moved files' places could not be recorded: "
                                  "the next find will offer them as duplicates again"))
        out.after_move.append(store)


#: Linux's ioctl that makes a file share another's blocks, copy-on-write (btrfs, XFS, bcachefs, ...)
_FICLONE = 0x40049409


def _clone(keeper: Path, place: Path, folder_fd: int | None, keeper_sha: str | None, entry: dict, journal,
           key: bytes, mode: int | None = None) -> dict:
    """A copy of ``keeper`` at ``place``: a copy-on-write clone (``FICLONE``) where the file system makes one,
    else a real copy. Made under a temporary name (journalled, so undo clears it after a crash), checked
    against the keeper's SHA-256, then given the place's name without overwriting; its permissions are ``mode``
    (the moved file's read/write/execute bits; None: the keeper's). Returns what the journal keeps of it: ``how``
    (clone/copy) and its ``inode``."""
    tmp = _free_name(place.with_name(_clone_tmp_name(place.name)), folder_fd)
    _append(journal, key, {**entry, "state": "linking", "link": "clone", "tmp": str(tmp)})
    how = "copy"
    try:
        with open_regular_file(keeper, follow_symlinks=False) as fin:
            st = os.fstat(fin.fileno())
            fd = os.open(tmp.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600, dir_fd=folder_fd)
            with open(fd, "wb") as fout:
                try:
                    if not sys.platform.startswith("linux"):
                        raise OSError(errno.EOPNOTSUPP, "no FICLONE here")
                    import fcntl

                    fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
                    how = "clone"
                except OSError:  # EOPNOTSUPP, EXDEV, EINVAL...: this file system cannot share blocks
                    _copy_bytes(fin, fout)
                fout.flush()
                # (the name's permission bits, never a set-user-id bit: the bytes are the keeper's)
                os.fchmod(fout.fileno(), stat.S_IMODE(st.st_mode) if mode is None else mode & 0o777)
                os.utime(fout.fileno(), ns=(st.st_atime_ns, st.st_mtime_ns))
                os.fsync(fout.fileno())
        digest, identity, _ = _digest_and_identity(tmp.name, dir_fd=folder_fd)
        if keeper_sha is not None and digest != keeper_sha:
            raise OSError(errno.EIO, "the copy does not match the kept file")
        try:  # the place's name, never overwriting what may have appeared there meanwhile
            os.link(tmp.name, place.name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd, follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
                raise
            if _lexists(place.name, folder_fd):
                raise FileExistsError(errno.EEXIST, "something stands there now", str(place)) from None
            os.rename(tmp.name, place.name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    finally:
        if _lexists(tmp.name, folder_fd):
            os.unlink(tmp.name, dir_fd=folder_fd)
    return {"how": how, "inode": list(identity), "sha256_of_copy": digest}


def _remove_our_link(e: dict, dst: Path, src: Path, journal, key: bytes) -> str | None:
    """Take away the link (or clone) ``apply_plan(link=...)`` put at ``dst``; why not, when something else stands
    there, or when the bytes it shows changed since (written through the link, or into the clone): then both
    stay, the changed file at its place and the original in the quarantine at ``src``."""
    kind, target = e["linked"]
    try:
        st = os.lstat(dst)
    except FileNotFoundError:  # gone already: the place is free (an undo killed as it took it away: set aside?)
        return _finish_set_aside(e, dst, src)
    if e.get("link_promised") and not (stat.S_ISLNK(st.st_mode) if kind == "sym" else _same_inode(dst, Path(target))):
        # (promised, never said made: whatever stands there is left to undo's other rules: the file itself, a move
        # killed before its original name went, or what took the place)
        return None
    kept_sha = e.get("sha256_of_copy") if kind == "clone" else e.get("kept_sha256")
    what = "copy" if kind == "clone" else f"{kind} link"
    if not _is_our_link(e, dst, st):
        return f"its place holds something other than the {what} imagetwins made: left alone"
    if isinstance(kept_sha, str):  # (journals before 0.1 did not record it)
        shown = dst if kind == "clone" else Path(os.path.normpath(dst.parent / target))  # (sym: relative)
        try:
            now = _digest_and_identity(shown)[0]
        except OSError:
            now = None
        if now != kept_sha:
            changed = (f"the copy at {dst} was changed since the remove" if kind == "clone" else
                       f"the kept file {shown} was changed since the remove (written through the {kind} link?)")
            return (f"{changed}: both kept, nothing restored over it; the original is in the quarantine at {src}")
    if not _take_away(dst, st):
        return (f"its place was saved over or written to as undo looked at the {what} (another program wrote it "
                f"meanwhile): left alone; the original is in the quarantine at {src}")
    # (not synced: a link gone is one the next undo finds gone, line or not; the file is put back after it)
    _append(journal, key, {"op": "move", "state": "unlinked", "from": e["from"], "to": e["to"]}, sync=False)
    if kind == "clone":
        from imagetwins.placeholders import PlaceholderStore

        PlaceholderStore().forget([str(dst)])  # (its record no longer names a file; the inode check says so too)
    return None


def _finish_set_aside(e: dict, dst: Path, src: Path) -> str | None:
    """The place ``dst`` of a ``--link`` entry ``e`` found free: an undo killed in :func:`_take_away` left what it set
    aside under the hidden name beside it. Its own link or clone there is unlinked (None: the place is free). A regular
    file there that is not its own is the one another program saved over the place as that undo looked (killed before
    giving it its name back): it gets its name back, never over anything, and why the original stays in the quarantine
    is returned. It was left under the hidden name, unsaid, and the original put back at its name: an edit no one
    would find."""
    aside = _aside_name(dst)
    try:
        st = os.lstat(aside)
    except OSError:
        return None
    if _is_our_link(e, aside, st):
        with contextlib.suppress(OSError):
            os.unlink(aside)
        return None
    return _name_back(aside, dst, src) if stat.S_ISREG(st.st_mode) else None


def _name_back(aside: Path, dst: Path, src: Path) -> str:
    """A file not of this run found set aside under ``aside`` beside its free place ``dst`` (another program's, saved
    over the place as a run killed then set the name aside: :func:`_take_away`, :func:`_copy_across`) given its name
    back, never over anything; why the original stays in the quarantine at ``src``."""
    try:
        _put_back(aside, dst, None, None)
    except OSError:
        return (f"a file stands set aside under {aside} (another program's, saved over this place as a run killed "
                f"then set it aside?): left there; the original is in the quarantine at {src}")
    return (f"its place was saved over as a run killed then set it aside (the file under {aside.name}, given its "
            f"name back): left alone; the original is in the quarantine at {src}")


def _is_our_link(e: dict, path: Path, st: os.stat_result) -> bool:
    """Is what stands at ``path`` (``st``: its ``lstat``) the link or clone the journal entry ``e`` made: a symbolic
    link with its target, a hard link to its kept file, or the clone's own inode?"""
    kind, target = e["linked"]
    if kind == "sym":
        return stat.S_ISLNK(st.st_mode) and os.readlink(path) == target
    if kind == "hard":
        try:
            kst = os.lstat(target)
        except OSError:
            return False
        return stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) == (kst.st_dev, kst.st_ino)
    return stat.S_ISREG(st.st_mode) and [st.st_dev, st.st_ino] == e.get("inode")


#: the suffix of the name undo sets its own link or clone aside under, beside its place, before it unlinks it
_ASIDE = ".imagetwins-unlinking"


def _aside_name(place: Path) -> Path:
    """The hidden name beside ``place`` that :func:`_take_away` sets a link or clone aside under."""
    return place.with_name(_fitting(".", place.name, _ASIDE))


def _take_away(place: Path, st: os.stat_result, dir_fd: int | None = None) -> bool:
    """Unlink the link or clone at ``place`` that was just checked (``st``: its ``lstat``) only if it is still that
    one, unwritten since (:func:`_still_as_looked`): set aside under a hidden name in one rename
    (:func:`_rename_noreplace`), checked, then unlinked. An unlink by name took whatever stood there by then: a
    program that saved over the name while undo read the clone's bytes had its new file deleted. False where the name
    held another file by then, or the file was written to (given its name back); where the system has no such rename,
    the name is looked at again, then unlinked. An undo killed between the two leaves the link or clone set aside,
    which the next undo takes away (:func:`_remove_our_link`). ``dir_fd``: ``place`` is its name in that open folder
    (a folder on its way swapped for a link since it was opened cannot redirect it)."""
    if dir_fd is not None:
        place = Path(place.name)
    aside = _aside_name(place)
    try:
        set_aside = _rename_noreplace(place, aside, dir_fd, dir_fd)
    except FileExistsError:  # (a person's file of that name: not ours to move over)
        set_aside = False
    if not set_aside:
        if not _still_as_looked(os.lstat(place, dir_fd=dir_fd), st):  # (no one-step rename: the window only narrowed)
            return False
        os.unlink(place, dir_fd=dir_fd)
        return True
    if not _still_as_looked(os.lstat(aside, dir_fd=dir_fd), st):
        _put_back(aside, place, dir_fd, dir_fd)
        return False
    os.unlink(aside, dir_fd=dir_fd)
    return True


def _still_as_looked(now: os.stat_result, looked: os.stat_result) -> bool:
    """Whether the file ``now`` describes is the one undo checked (``looked``, its ``lstat`` before its bytes were
    read), unwritten since: the same inode, size and mtime. A write in place keeps the inode (``exiftool
    -overwrite_original_in_place``, an editor saving into the file): the clone holding that edit was taken away and
    the original put back over the edit's name. (Not the ctime: the rename that sets it aside moves that.)"""
    return ((now.st_dev, now.st_ino, now.st_size, now.st_mtime_ns)
            == (looked.st_dev, looked.st_ino, looked.st_size, looked.st_mtime_ns))


class _Keepers:
    """Each keeper checked right before each move it vouches for: read in full (SHA-256) the first time and
    whenever its identity, size, mtime or ctime changed since (any write changes the ctime, even one that
    puts the mtime back), else by ``lstat`` alone."""

    def __init__(self, root: Path, expected: dict[str, str]) -> None:
        self.root, self.expected = root, expected
        self.known: dict[str, tuple[tuple, str | None]] = {}  # keeper -> (its stat when checked, why not)
        self.digests: dict[str, str] = {}  # keeper -> its SHA-256 as last read

    @staticmethod
    def _signature(path: str) -> tuple | None:
        try:
            st = os.lstat(path)
        except OSError:
            return None
        return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode

    def why_not(self, keeper: str, src: str) -> str | None:
        why = why_not_movable(keeper, [self.root])
        if why is not None:
            return f"the kept copy {keeper} is {why}"
        sig = self._signature(keeper)
        known = self.known.get(keeper)
        if sig is None or known is None or known[0] != sig:
            known = (sig, self._read(keeper))
            self.known[keeper] = known
        if known[1] is not None:
            return known[1]
        if sig is not None and _inode(src) == sig[:2]:
            return f"it is the same file as the kept copy {keeper}"
        return None

    def _read(self, keeper: str) -> str | None:
        try:
            digest = _digest_and_identity(keeper)[0]
        except OSError as exc:
            return f"the kept copy {keeper} cannot be read ({exc.strerror or exc})"
        self.digests[keeper] = digest
        scanned = self.expected.get(keeper)
        if scanned is not None and not _same_content(digest, scanned):  # (None: the plan's maker checked it)
            return f"the kept copy {keeper} changed since the scan"
        return None

    def relinked(self, keeper: str) -> None:
        """A hard link to ``keeper`` was just made by this run: its ctime moved, its bytes did not."""
        known, sig = self.known.get(keeper), self._signature(keeper)
        if known is not None and sig is not None and known[0] is not None and sig[:4] == known[0][:4]:
            self.known[keeper] = (sig, known[1])


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped ``apply_plan`` or ``undo`` between two files.

    ``outcome`` is what was done (journal and summary written), ``total`` how many files there were to
    do, ``signum`` the signal (``signal.SIGINT`` or ``SIGTERM``).
    """

    def __init__(self, outcome: Outcome, total: int, signum: int, what: str = "file") -> None:
        super().__init__(f"interrupted after {len(outcome.done)} of {total} {what}s")
        self.outcome, self.total, self.signum, self.what = outcome, total, signum, what


class _Stop:
    """Set by the signal handlers of :func:`_deferred_signals`: the signal asked for, 0 while none."""

    signum = 0

    def check(self) -> None:
        """Raise ``InterruptedError`` if a stop was asked (a long copy checks between chunks)."""
        if self.signum:
            raise InterruptedError(errno.EINTR, "interrupted")


@contextlib.contextmanager
def _deferred_signals() -> Iterator[_Stop]:
    """Ctrl-C and SIGTERM only ask the loop to stop between two files (main thread; elsewhere the handlers of
    Python stay, and a KeyboardInterrupt cannot reach this thread anyway)."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def ask(signum, frame):
        stop.signum = stop.signum or signum

    previous = {s: signal.signal(s, ask) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _read_journal(qdir: Path, key: bytes) -> tuple[list[dict], list[tuple[str, str]]]:
    """Signed planned moves, each with ``done``/``restored`` set as confirmed, and the lines refused. A path in the
    quarantine that a line names under another folder than ``qdir`` (the quarantine named through a link above it
    when the run wrote it, or moved since) is read under ``qdir`` (:func:`_written_in`)."""
    entries: dict[tuple[str, str], dict] = {}
    problems = _Refused()
    unsigned: list[tuple[int, str, str]] = []  # (line number, where, the file it names) of lines failing their check
    was: dict[str, str] = {}  # the quarantine's folder as lines name it -> qdir

    def here(path: str) -> str:
        for old, new in was.items():
            if path == old or path.startswith(old.rstrip(os.sep) + os.sep):
                return new + path[len(old):]
        return path

    def take(n: int, raw: bytes | None, last: bool) -> None:
        where = f"{qdir / JOURNAL}, line {n}"
        if raw is None:
            problems.add((where, f"journal line longer than {_JOURNAL_LINE_MAX >> 20} MiB (no line imagetwins "
                                    "writes is): skipped"))
            return
        try:
            e = loads_json(raw)
            if not isinstance(e, dict):
                raise ValueError("not an object")
            ident = (e["from"], e["to"])
            state = e["state"]
            if not all(isinstance(v, str) for v in (*ident, state)):
                raise ValueError("not text")
        except (ValueError, KeyError, TypeError):
            if not last:  # the last line may be cut short by a crash: its move never started
                problems.add((where, "malformed journal line: skipped"))
            return
        if not _signed_ok(key, e):
            unsigned.append((n, where, e["from"]))  # (said once the journal is read: whether a later line says the
            return                                  # key that signed it was deleted)
        if e.get("op") == "key" and state == _KEY_MADE_ANEW:
            problems.key_made_anew.append(n)
            return
        if state == "planned" and (old := _written_in(e, qdir)) is not None:
            was.setdefault(old, str(qdir))
        if was:
            e = {**e, "to": here(e["to"]), **({"partial": here(e["partial"])} if isinstance(e.get("partial"), str)
                                              else {})}
            ident = (e["from"], e["to"])
        if state == "planned":
            if not (isinstance(e.get("root"), str) and isinstance(e.get("sha256"), str)
                    and isinstance(e.get("bytes"), int)):
                problems.add((where, "planned entry lacks root, size or digest: refused"))
                return
            entries[ident] = {**e, "done": False, "line": where}
            if e.get("link") in ("sym", "hard") and isinstance(e.get("target"), str):
                # (the link its move promised: undo's own even where a crash lost its "linked" line)
                entries[ident]["linked"], entries[ident]["link_promised"] = (e["link"], e["target"]), True
        elif ident in entries and state in ("done", "restored", "unlinked", "failed"):
            entries[ident][state] = True
        elif ident in entries and state == "copying" and isinstance(e.get("partial"), str):
            entries[ident].setdefault("partials", []).append(e["partial"])
        elif ident in entries and state == "linked" and e.get("link") in LINK_KINDS \
                and isinstance(e.get("target"), str):
            entries[ident]["linked"], entries[ident]["link_promised"] = (e["link"], e["target"]), False
            for k in ("kept_sha256", "inode", "sha256_of_copy"):
                if k in e:
                    entries[ident][k] = e[k]
        elif ident in entries and state == "linking" and isinstance(e.get("tmp"), str):
            entries[ident]["clone_tmp"] = e["tmp"]

    with open_regular_file(qdir / JOURNAL, follow_symlinks=False) as fh:
        held: tuple[int, bytes | None] | None = None  # a line is taken once the next shows it is not the last
        # blank lines after it, as (first, count): malformed, unless only blank lines follow (the end); a run of them
        # is one refusal (20 MB of newlines were 20 million line numbers and refusals: 4.1 GB, 203 s)
        blank: tuple[int, int] | None = None
        for n, raw in _journal_lines(fh):
            if raw is not None and not raw.strip():
                blank = (n, 1) if blank is None else (blank[0], blank[1] + 1)
                continue
            if held is not None:
                take(*held, last=False)
            if blank is not None and blank[1] == 1:
                take(blank[0], b"", last=False)
            elif blank is not None:
                problems.add((f"{qdir / JOURNAL}, lines {blank[0]}-{blank[0] + blank[1] - 1}",
                              f"{blank[1]:,} blank lines: skipped"), lines=blank[1])
            held, blank = (n, raw), None
        if held is not None:
            take(*held, last=True)
    for n, where, named in unsigned:
        anew = next((m for m in problems.key_made_anew if m > n), None)
        problems.add((where, f"entry for {named} is not signed with this quarantine's key (edited?): refused"
                      if anew is None else
                      f"entry for {named} was signed with this quarantine's earlier key, which was deleted (a new "
                      f"one was made at line {anew}): it cannot be checked, so it is refused"))
    problems.close(qdir / JOURNAL)
    return list(entries.values()), problems


class _Refused(list):
    """The journal lines :func:`_read_journal` refuses, ``(where, why)``: the first :data:`_REFUSALS_SAID` each said,
    the rest counted in one closing entry (a journal of 10 million junk lines made 10 million refusals, each printed);
    ``lines``: how many lines they name in all."""

    def __init__(self) -> None:
        super().__init__()
        self.lines, self._unsaid = 0, 0
        self.key_made_anew: list[int] = []  # (the journal's lines saying the key was made anew, by number)

    def add(self, problem: tuple[str, str], lines: int = 1) -> None:
        self.lines += lines
        if len(self) < _REFUSALS_SAID:
            self.append(problem)
        else:
            self._unsaid += lines

    def close(self, journal: Path) -> None:
        """Add the one entry for the lines refused and not said."""
        if self._unsaid:
            self.append((str(journal), f"{self._unsaid:,} more lines refused as those above (not each said)"))


#: how many refused journal lines are each said (:class:`_Refused`)
_REFUSALS_SAID = 1000


#: the longest journal line written or read (bytes). A line over it is skipped unread; one under it that has the
#: shape of a line of ours is parsed and its signature checked, at about 8.5 times its size (a 174 MiB folder line
#: signed as ours: 1.5 GB peak, 35 s; 256 MiB allowed ~2 GB): at this bound ~300 MB. The longest line imagetwins
#: writes is a folder's planned move, which lists every file of the folder with its digest: ~110-130 bytes a file
#: (13 MB for a folder of 100,000 photos), so 32 MiB holds a folder of ~250,000; a folder of more is not moved
#: whole (``_append`` refuses the line: move its sub-folders). Every other line is a few KB at most.
_JOURNAL_LINE_MAX = 32 << 20
_JOURNAL_PIECE = 1 << 20  # a line longer than this is measured before it is read
#: how every line imagetwins writes ends: its signature (``_append``: the signed entry's last key)
_SIGNED_END = re.compile(rb', "mac": "[0-9a-f]{64}"\}\Z')
_SIGNED_TAIL = 80  # (bytes of a long line's end kept while it is measured: the signature's and more)
#: what a long line not shaped as one of ours is read as: a malformed line (a cut-short last one: not said)
_NOT_A_LINE = b"(a long line not shaped as a journal line)"


def _journal_lines(fh) -> Iterator[tuple[int, bytes | None]]:
    """Each line of an open journal with its number, read one at a time; None for a line over
    :data:`_JOURNAL_LINE_MAX`, :data:`_NOT_A_LINE` for a long line not shaped as one imagetwins writes. A line longer
    than a MiB is first measured a MiB at a time, then read whole only if it is not over the bound and has the shape
    of a line of ours (``{"`` first, its signature last, :data:`_SIGNED_END`): a junk line of any length (a block of
    zeros a crash left, bytes of another file) costs a MiB of memory."""
    piece = _JOURNAL_PIECE
    n = 0
    while True:
        start = fh.tell()
        raw = fh.readline(piece)
        if not raw:
            return
        n += 1
        if raw.endswith(b"\n") or len(raw) < piece:  # (shorter without a newline: the end of the file)
            yield n, raw
            continue
        length, ours, tail = len(raw), raw.startswith(b'{"'), raw[-_SIGNED_TAIL:]
        del raw
        while rest := fh.readline(piece):
            length += len(rest)
            tail = (tail + rest)[-_SIGNED_TAIL - 1:]
            if rest.endswith(b"\n"):
                length -= 1
                break
        if length > _JOURNAL_LINE_MAX:
            yield n, None
            continue
        if not (ours and _SIGNED_END.search(tail.rstrip())):
            yield n, _NOT_A_LINE
            continue
        end = fh.tell()
        fh.seek(start)
        yield n, fh.read(end - start)


def _written_in(e: dict, qdir: Path) -> str | None:
    """The quarantine folder a planned line names its file in, where that is not ``qdir`` but is ``qdir`` still: the
    same folder through a link above it, or a folder no longer there (``qdir`` moved since). None: it is ``qdir``,
    the line names no place in a quarantine, or that place is another folder now. A file of ``root/REL`` goes to
    ``QUARANTINE/REL`` (a sidecar written over, its previous bytes to ``QUARANTINE/sidecars/REL.before``), so the
    folder is what stands before those parts."""
    op, to, frm, root = (e.get(k) for k in ("op", "to", "from", "root"))
    if op not in ("move", "folder", "sidecar") or not all(isinstance(v, str) and os.path.isabs(v)
                                                         for v in (to, frm, root)):
        return None
    to_path = Path(os.path.normpath(to))
    if to_path.is_relative_to(qdir):
        return None
    try:
        rel = Path(os.path.normpath(frm)).relative_to(os.path.normpath(root))
    except ValueError:
        return None
    inner = Path("sidecars", rel.parent) if op == "sidecar" else rel.parent
    depth = len(inner.parts) + 1
    if not rel.parts or len(to_path.parts) <= depth or Path(*to_path.parts[-depth:-1] or ".") != inner:
        return None
    old = Path(*to_path.parts[:-depth])
    try:
        if os.path.lexists(old) and old.resolve() != qdir:
            return None
    except (OSError, RuntimeError):
        return None
    return str(old)


def _write_summary(qdir: Path, root: Path, key: bytes) -> None:
    entries, _ = _read_journal(qdir, key)
    summary = {"root": str(root), "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "files": [{k: e[k] for k in ("from", "to", "bytes", "sha256", "group", "kept") if k in e}
                         for e in entries],
               "bytes": sum(e["bytes"] for e in entries)}
    tmp = qdir / (SUMMARY + ".tmp")
    if os.path.lexists(tmp):
        os.unlink(tmp)  # a leftover or a planted link: removed, never written through
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600)
        with open(fd, "w", encoding="ascii") as fh:
            fh.write(json.dumps(summary, indent=2))
    except OSError as exc:  # a full disk: the summary is for people; undo reads the journal
        if exc.errno == errno.EEXIST:
            raise
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return
    os.replace(tmp, qdir / SUMMARY)


def _standing(path: Path) -> str | None:
    """What stands at ``path`` itself (None: nothing)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    return describe_mode(mode)


def _holds(path: Path, sha: str, size: int) -> bool:
    """Is ``path`` itself a regular file with exactly this content?"""
    return _holds_at(path, sha, size)


def _holds_at(path: Path, sha: str, size: int, dir_fd: int | None = None) -> bool:
    """:func:`_holds` of ``path`` relative to the open folder ``dir_fd``."""
    try:
        st = os.stat(path, dir_fd=dir_fd, follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode) or st.st_size != size:
            return False
        return _digest_and_identity(path, dir_fd)[0] == sha
    except OSError:
        return False


def _inside_without_links(base: Path, path: Path) -> bool:
    """Is ``path`` (normalised) under ``base`` with no symbolic link among the folders in between?"""
    path = Path(os.path.normpath(path))
    if path == base or not path.is_relative_to(base):
        return False
    return _not_a_folder_on_the_way(base, path) is None


def _not_a_folder_on_the_way(base: Path, path: Path) -> Path | None:
    """The first of the folders between ``base`` and ``path`` (normalised, under it) that is there but is no real
    folder (a symbolic link, a file); None where each is a folder or missing (made one by one, as real folders)."""
    folder = base
    for part in path.relative_to(base).parts[:-1]:
        folder = folder / part
        try:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                return folder
        except FileNotFoundError:
            return None
    return None


def _quarantine_folder(manifest: str | os.PathLike) -> Path:
    path = Path(os.path.abspath(manifest))
    if path.is_symlink():
        raise QuarantineError(f"{path} is a symbolic link: refusing to undo through it")
    qdir = path if path.is_dir() else path.parent
    if qdir.is_symlink():
        raise QuarantineError(f"{qdir} is a symbolic link: refusing to undo through it")
    if not path.is_dir() and path.name not in (JOURNAL, SUMMARY):
        raise QuarantineError(f"{path} is not a quarantine: give its folder or its {JOURNAL}")
    try:
        mode = os.lstat(qdir / JOURNAL).st_mode
    except FileNotFoundError:
        raise QuarantineError(f"{qdir} is not a quarantine: it holds no {JOURNAL}{_runs_hint(qdir)}") from None
    if not stat.S_ISREG(mode):
        raise QuarantineError(f"{qdir / JOURNAL} is not a regular file")
    try:  # another user's quarantine (or one others may write into) could hold their files and journal lines
        check_own(qdir, "the quarantine")
    except UnsafeFolder as exc:
        raise QuarantineError(exc.strerror) from None
    return qdir.resolve()


def _runs_hint(folder: Path) -> str:
    """Where the runs to undo are, for an undo given ``folder``, which is no run's quarantine: the runs inside it (a
    folder's ``DIR.imagetwins-quarantine``), else those beside it when it is a folder files were moved out of (the
    folder 'remove --apply' cleaned: ``imagetwins undo ~/Pictures``); '' when there are none."""
    runs = _runs_in(folder)
    if runs:
        where = "it holds"
    else:
        real = folder.resolve()
        beside = real.parent / f"{real.name}{QUARANTINE_SUFFIX}"
        runs = _runs_in(beside)
        where = f"files were moved out of it into {beside}, which holds"
    if not runs:
        return ""
    left = [run for run in runs if _left_to_undo(run)]
    undone = len(runs) - len(left)
    if len(runs) == 1:
        return (f"; {where} the quarantine of one run: imagetwins undo {shell_word(str(runs[0]))}" if left else
                f"; {where} the quarantine of one run, undone already: nothing in it is left to put back")
    if not left:
        return f"; {where} the quarantines of {len(runs)} runs, each undone already: nothing is left to put back"
    command = f"imagetwins undo {shell_word(str(left[-1]))}"
    if not undone:
        return f"; {where} the quarantines of {len(runs)} runs: undo one of them, the latest with: {command}"
    some = f"; {where} the quarantines of {len(runs)} runs, {undone} undone already"
    if len(left) == 1:
        return f"{some}: undo the one left with: {command}"
    return f"{some}: undo one of the {len(left)} left, the latest with: {command}"


def _left_to_undo(run: Path) -> bool:
    """Does a run's journal name anything an undo of it would still put back or clear (a move not restored and not
    failed, an unfinished copy)? True where the journal or key cannot be read: undo itself then says why."""
    try:
        entries, _ = _read_journal(run, _key(run, create=False))
    except (QuarantineError, OSError):
        return True
    return any(_not_back(e) or _leftovers(e, run) for e in entries)


def _not_back(e: dict) -> bool:
    """Whether a journal entry names a move an undo would still put back: not restored, not failed, and confirmed or
    its file at its place in the quarantine. A planned line whose move never began (a run killed or stopped with
    Ctrl-C inside a batch journalled ahead of its moves: up to :data:`_BATCH_MOVES` of them) is not: undo has nothing
    to do for it and writes nothing, so such a run undone in full was still named as the one left to undo."""
    if e.get("restored") or e.get("failed"):
        return False
    return bool(e.get("done")) or not isinstance(e.get("to"), str) or os.path.lexists(e["to"])


def _leftovers(e: dict, qdir: Path) -> bool:
    """Whether an unfinished copy a journal line names is still there for undo to clear. Every ``--link`` (clone)
    entry names the temporary name its copy was made under, and a move across devices its partial copy, also once
    done: a run of them undone in full was named as the one 'left' to undo, whose undo then said nothing was left.
    A file put at such a name since, not holding the start of the whole copy's bytes, is no leftover: undo leaves it
    (:func:`_clear_partials`, :func:`_clear_clone_tmp`)."""
    kept, tmp = e.get("kept"), e.get("clone_tmp")
    if isinstance(tmp, str) and os.path.lexists(tmp) and not (isinstance(kept, str) and os.path.lexists(kept)
                                                              and not _starts(Path(kept), Path(tmp))):
        return True
    there = [Path(p) for p in e.get("partials") or () if isinstance(p, str) and os.path.lexists(p)]
    if not there or e.get("op") == "folder":
        return bool(there)
    whole = next((w for w in (Path(e["to"]), Path(e["from"])) if _holds(w, e["sha256"], e["bytes"])), None)
    return whole is None or any(_starts(whole, p) or _empty_in_quarantine(e, p, qdir) for p in there)


def _runs_in(folder: Path) -> list[Path]:
    """The quarantines of single runs right inside ``folder`` (``DIR.imagetwins-quarantine/<time>``), oldest first
    by name (the default names sort by time); none where it cannot be listed."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    return [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)
            and os.path.isfile(os.path.join(e.path, JOURNAL))]


def write_run_decisions(manifest: str | os.PathLike, doc: dict) -> None:
    """Keep beside a run's journal what it remembered (signed with the quarantine's key, so an edit is refused);
    OSError when it cannot be written."""
    qdir = Path(manifest).parent
    signed = _sign(_key(qdir, create=False), doc)
    tmp = qdir / (DECISIONS + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW | _CLOEXEC, 0o600)
    with open(fd, "w", encoding="ascii") as fh:
        fh.write(json.dumps(signed))
    os.replace(tmp, qdir / DECISIONS)


def take_run_decisions(manifest: str | os.PathLike) -> dict | None:
    """What the run of this quarantine remembered (:func:`write_run_decisions`), taken out of it (the file goes, so
    a second undo does not take it back twice); None when there is none; QuarantineError when it is not ours."""
    qdir = _quarantine_folder(manifest)
    path = qdir / DECISIONS
    if not os.path.lexists(path):
        return None
    key = _key(qdir, create=False)
    try:
        with open_regular_file(path, follow_symlinks=False) as fh:
            doc = loads_json(fh.read(16 * 1024 * 1024))
    except (OSError, ValueError) as exc:
        raise QuarantineError(f"{path}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    if not isinstance(doc, dict) or not _signed_ok(key, doc):
        raise QuarantineError(f"{path}: not signed by this quarantine (edited?): the decisions of that run are kept")
    os.unlink(path)
    return {k: v for k, v in doc.items() if k != "mac"}


def undo(manifest: str | os.PathLike, progress: bool = False) -> Outcome:
    """Put every quarantined file back where it was, verifying its SHA-256.

    ``manifest`` is the quarantine folder, its ``manifest.jsonl`` or its ``manifest.json``. Files
    whose move never happened (it failed, or another run moved the file first) are left alone without
    a word. A file goes back only from inside this quarantine to the place it was moved from inside the
    scanned folder, through real folders, onto an empty place: whatever stands there (a file, folder,
    link or FIFO) is reported and left alone, and the other entries are restored. Unsigned or edited
    journal lines are refused, each reported. Unfinished copies (``*.partial``) that an interrupted move
    across devices left are removed once a whole copy of their file is known to exist.

    The quarantine and the scanned folder are locked while undo runs (:mod:`imagetwins.locks`).
    Ctrl-C or SIGTERM (main thread) stops between two files with :class:`Interrupted`. ``progress``: a bar over the
    journal's entries to restore ('restoring', on stderr, drawn after a second).

    Raises
    ------
    QuarantineError
        ``manifest`` is not a quarantine (nothing is created then) or is reached through a link.
    imagetwins.locks.FolderBusy
        Another run is changing the quarantine or the folder.
    """
    from imagetwins.locks import changing

    qdir = _quarantine_folder(manifest)
    key = _key(qdir, create=False)
    entries, problems = _read_journal(qdir, key)
    out = Outcome(manifest=qdir / JOURNAL, failed=list(problems), refused_lines=[where for where, _ in problems],
                  lines_refused=problems.lines)
    roots = sorted({os.path.normpath(e["root"]) for e in entries if not e.get("restored")})
    roots = [r for r in roots if os.path.isabs(r) and os.path.isdir(r) and not os.path.islink(r)]
    with changing([*roots, qdir]), _deferred_signals() as stop, _open_journal(qdir) as journal:
        entries, problems = _read_journal(qdir, key)  # again, now that no other run can change it
        out.failed, out.refused_lines = list(problems), [where for where, _ in problems]
        out.lines_refused = problems.lines
        todo = [e for e in entries if not e.get("restored") or e.get("partials") or e.get("clone_tmp")
                or _trash_record_left(e)]
        images = _ImagesBack(entries, out)
        names_back = _names_put_back(entries)  # (a file moved under several names: its first name back)
        bar = _bar(len(todo), "restoring", progress)
        for e in todo:
            if stop.signum:
                break
            bar.update(1)
            try:
                _clear_partials(e, qdir, out)
                _clear_clone_tmp(e)
                if _trash_record_left(e):
                    _forget_record(e, Path(e["info"]), out)
                if e.get("sidecar_of") and e.get("done") and not e.get("restored") and not images.back(e):
                    # (beside whatever took its image's place, it would describe another picture)
                    where = "the trash" if e.get("op") == "trash" else "the quarantine"
                    out.failed.append((e["to"] or e["from"], f"an XMP sidecar left in {where}: its image "
                                                             f"{e['sidecar_of']} is not back"))
                    continue
                if not e.get("restored"):
                    _restore(e, qdir, journal, key, out, stop, names_back)
            except InterruptedError:
                break
            except JournalError as exc:
                out.stopped = str(exc)
                break
            except OSError as exc:
                # (named by where it was going, as every other line of undo, and where it stays: "could not restore
                # q/x.jpg: Permission denied" named neither the folder to make writable nor the place)
                stays = f" (it stays at {e['to']})" if e.get("to") and e["to"] != e["from"] else ""
                out.failed.append((e["from"] or e["to"], f"{exc.strerror or exc}{stays}"))
        bar.close()
        with contextlib.suppress(OSError):  # (the restored lines: the next undo leaves a file put back alone without)
            os.fsync(journal.fileno())
        if not stop.signum and not out.stopped:
            why = ("its journal lines were signed with a key since deleted, or the journal was cut short or edited"
                   if problems.key_made_anew else "the journal was cut short or edited?")
            out.failed += [(f, f"still in the quarantine, and no journal line undo can use names it ({why}): not "
                               "restored, left there; put it back by hand")
                           for f in _unnamed_files(qdir, entries)]
    if stop.signum:
        raise Interrupted(out, sum(not e.get("restored") for e in todo), stop.signum)
    return out


def _forget_record(e: dict, info: Path, out: Outcome) -> None:
    """The ``.trashinfo`` at ``info``, reserved by the run of ``e``, deleted where it is the record that run wrote
    (:func:`imagetwins.trash.is_record_of`: the bytes whose SHA-256 its journal line keeps); another program's record
    at that name (a file manager trashing a file of that name takes the free name's record first) is left alone, in
    one line (``out.records_left``). It was deleted unlooked at: the other file then lay in the trash with no record,
    which the trash shows as nothing to restore."""
    from imagetwins.trash import is_record_of

    sha = e.get("record_sha256")
    if is_record_of(info, e["from"], sha if isinstance(sha, str) else None):
        with contextlib.suppress(FileNotFoundError):
            info.unlink()
    elif os.path.lexists(info):
        out.records_left.append(str(info))


def _trash_record_left(e: dict) -> bool:
    """Whether a file put back from the trash left its ``.trashinfo`` there (an undo killed between the two): the
    record the run reserved, naming a file the trash no longer holds, which the trash would show as a file to restore
    (the trash's own "put back" forgets it too)."""
    if e.get("op") != "trash" or not e.get("restored") or not isinstance(e.get("info"), str) or not e["to"]:
        return False
    from imagetwins.trash import trash_info

    trashed = Path(os.path.normpath(e["to"]))
    return not os.path.lexists(trashed) and str(trash_info(trashed)) == os.path.normpath(e["info"])


def _unnamed_files(qdir: Path, entries: list[dict]) -> list[str]:
    """What the quarantine holds that no usable journal entry names (its own files, each entry's file or folder
    and unfinished copies aside): a journal cut short or edited leaves such files behind, and saying nothing
    would let the user delete the quarantine "holding only the journal" with them in it. Compared by identity
    (device, inode), not by spelling: the journal may name the quarantine through a link above it."""
    named = set()
    for e in entries:
        for p in (e.get("to"), *(e.get("partials") or ())):
            try:
                st = os.lstat(p) if p else None
            except (OSError, ValueError):
                continue
            if st is not None:
                named.add((st.st_dev, st.st_ino))
    found = []
    for dirpath, dirnames, filenames in os.walk(qdir, followlinks=False):
        keep = []
        for name in sorted(dirnames):
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) in named:
                continue  # a folder moved whole
            if stat.S_ISDIR(st.st_mode):
                keep.append(name)
            else:  # (a link to a folder: listed, never followed)
                found.append(os.path.join(dirpath, name))
        dirnames[:] = keep
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if dirpath == str(qdir) and name in _OWN_FILES or name in _FOLDER_LITTER:
                continue  # (a file manager's .DS_Store is no file of the run's)
            st = os.lstat(full)
            if (st.st_dev, st.st_ino) not in named:
                found.append(full)
    return found


class _ImagesBack:
    """Whether the image a sidecar moved with was put back (by an earlier undo or this one), or stands at its place
    again with the bytes that moved (put back by hand, or by the desktop trash's own "put back"). The entries are
    indexed by place once, and this undo's restorations as it goes: asked of each sidecar, looking through every
    entry and every restoration was quadratic (3,000 photos with their sidecars: 9 million comparisons)."""

    def __init__(self, entries: list[dict], out: Outcome) -> None:
        self.by_place: dict[str, list[dict]] = {}
        for e in entries:
            self.by_place.setdefault(os.path.normpath(e["from"]), []).append(e)
        self.out, self.counted, self.restored = out, 0, set()

    def back(self, sidecar: dict) -> bool:
        image = os.path.normpath(sidecar["sidecar_of"])
        self.restored.update(os.path.normpath(back) for _, back in self.out.done[self.counted:])
        self.counted = len(self.out.done)
        return any(e.get("restored") or _holds(Path(image), e["sha256"], e["bytes"])
                   for e in self.by_place.get(image, ())) or image in self.restored


def _clear_clone_tmp(e: dict) -> None:
    """Remove the temporary clone ``--link clone`` was making when it was killed (journalled by name): a regular
    file of ours beside the place, in the scanned folder, never the place itself."""
    tmp = e.get("clone_tmp")
    if not tmp:
        return
    tmp, place = Path(os.path.normpath(tmp)), Path(os.path.normpath(e["from"]))
    root = Path(os.path.normpath(e["root"]))
    if tmp.parent != place.parent or not tmp.name.startswith(_clone_tmp_name(place.name)[:-len(_CLONE)]) \
            or not tmp.name.endswith(_CLONE) \
            or not _inside_without_links(root, tmp):
        return
    kept = e.get("kept")
    try:  # (only what holds the start of the kept copy's bytes, a clone cut short: a clone made was renamed from that
        # name, and a person's own .y.jpg.imagetwins-clone put there since was deleted by a second undo)
        if stat.S_ISREG(os.lstat(tmp).st_mode) and isinstance(kept, str) and _starts(Path(kept), tmp):
            os.unlink(tmp)
    except FileNotFoundError:
        pass


def _clear_partials(e: dict, qdir: Path, out: Outcome) -> None:
    """Remove the unfinished copies an interrupted move across devices left (journalled by name), once a whole
    copy of the file stands at its place or in the quarantine; else say where the unfinished copy is."""
    partials = e.get("partials") or ()
    if not partials:
        return
    if e.get("op") == "folder":
        _clear_folder_partials(e, qdir, out)
        return
    src, dst, root = (Path(os.path.normpath(e[k])) for k in ("to", "from", "root"))
    whole = next((w for w in (src, dst) if _holds(w, e["sha256"], e["bytes"])), None)
    for p in partials:
        partial = Path(os.path.normpath(p))
        away = src.parent if e.get("op") == "trash" else qdir  # where the file went: the quarantine or a trash
        if not partial.name.endswith(PARTIAL) or not (
                (_inside_without_links(away, partial) and partial.parent == src.parent)
                or (_inside_without_links(root, partial) and partial.parent == dst.parent)):
            out.failed.append((str(partial), "refused: not an unfinished copy of this quarantine"))
            continue
        try:
            st = os.lstat(partial)
        except FileNotFoundError:
            continue  # finished, or cleared already
        if not stat.S_ISREG(st.st_mode) or st.st_size > e["bytes"]:
            out.failed.append((str(partial), f"{_standing(partial)} stands where an unfinished copy was: left alone"))
        elif whole is not None and (_starts(whole, partial) or _empty_in_quarantine(e, partial, qdir)):
            os.unlink(partial)
        elif whole is not None:  # (a copy that finished was renamed from that name: a file put there since is not
            # ours; a person's own y.jpg.partial in the folder was deleted by a second undo of the journal)
            continue
        else:
            out.failed.append((str(partial), "an unfinished copy, and no whole copy of its file was found: left "
                                             "alone"))


def _empty_in_quarantine(e: dict, partial: Path, qdir: Path) -> bool:
    """Whether ``partial`` is an empty unfinished copy of ours, as a run killed between making it and writing its
    first byte leaves it (0600, ours, at a name journalled before it was made with ``O_EXCL``):

    - a move's copy into the quarantine itself, the user's own folder no one else writes in;
    - undo's copy back into the photo folder while the file is still in the quarantine and nothing stands at its
      place: no copy back of it finished, so nothing freed that name for another program since.

    Every undo left it there (an empty file proves nothing of ours where a copy back finished, and a download's
    ``NAME.partial`` may stand at the freed name since: :func:`_starts`): a run undone in full left an empty
    ``IMG.jpg.partial`` in the photo folder (1 of 60 kill -9 trials), and one in the quarantine ('nothing to
    restore')."""
    try:
        st = os.lstat(partial)
    except OSError:
        return False
    if not (stat.S_ISREG(st.st_mode) and st.st_size == 0 and e.get("op") == "move"
            and stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.getuid()):
        return False
    away, place = (Path(os.path.normpath(e[k])) for k in ("to", "from"))
    if partial.parent == away.parent:
        return _inside_without_links(qdir, partial)
    return (partial.parent == place.parent and not e.get("restored") and _standing(place) is None
            and _holds(away, e["sha256"], e["bytes"]))


def _starts(whole: Path, partial: Path) -> bool:
    """Does the regular file ``partial`` hold the first bytes of ``whole`` (what a copy cut short holds)? Not where it
    holds none: an empty file proves nothing of ours (a download manager's ``NAME.partial`` placeholder, a file a
    person made at the name: it was removed as a copy cut short before its first byte)."""
    held = False
    try:
        with open_regular_file(partial, follow_symlinks=False) as cut, \
                open_regular_file(whole, follow_symlinks=False) as full:
            while chunk := cut.read(1 << 20):
                held = True
                if full.read(len(chunk)) != chunk:
                    return False
    except OSError:
        return False
    return held


def _clear_folder_partials(e: dict, qdir: Path, out: Outcome) -> None:
    """Remove the unfinished copies of a whole folder that a killed move (in the quarantine) or a killed undo (beside
    the folder's place) left, journalled by name: each only when it is a real folder there named after the folder,
    holding nothing but files of the listing with their recorded bytes, and a whole copy of the folder stands in the
    quarantine or at its place; else it is named and left alone."""
    import shutil

    src, dst, root = (Path(os.path.normpath(e[k])) for k in ("to", "from", "root"))
    files = e.get("files")
    if not isinstance(files, dict) or _tree_digest(files) != e["sha256"]:
        return  # (refused with its own line by the restore)
    for p in e.get("partials") or ():
        partial = Path(os.path.normpath(p))
        named = partial.name.endswith(FOLDER_PARTIAL)  # (.NAME.imagetwins-partial, .NAME.1.imagetwins-partial)
        ours = named and (partial.name.startswith(f".{src.name}.") and _inside_without_links(qdir, partial)
                          and partial.parent == src.parent or partial.name.startswith(f".{dst.name}.")
                          and _inside_without_links(root, partial) and partial.parent == dst.parent)
        if not ours:
            out.failed.append((str(partial), "refused: not an unfinished copy of this quarantine"))
            continue
        if _standing(partial) is None:
            continue  # finished (renamed into place), or cleared already
        held = _tree(partial) if _standing(partial) == "a folder" else "not a folder"
        whole = any(not isinstance(t, str) and t[0] == files for t in (_tree(src), _tree(dst)) if t is not None)
        if isinstance(held, str) or any(files.get(n) != d for n, d in held[0].items()) or not whole:
            out.failed.append((str(partial), "an unfinished copy of a folder, left alone (it holds other files, or no "
                                             "whole copy of the folder was found)"))
            continue
        shutil.rmtree(partial, ignore_errors=True)


def _restore(e: dict, qdir: Path, journal, key: bytes, out: Outcome, stop: _Stop | None = None,
             names_back: dict | None = None) -> None:
    if e.get("op") == "folder":
        _restore_folder(e, qdir, journal, key, out)
        return
    if e.get("op") == "sidecar":
        _restore_sidecar(e, qdir, journal, key, out)
        return
    if e.get("op") == "trash":
        from imagetwins.trash import TrashFolder, trash_info

        if not e["to"]:
            if e.get("failed") or not e.get("done") and os.path.lexists(e["from"]):
                return  # never sent: it is where it was
            out.failed.append((e["from"], "in the system trash, which does not say where: put it back from there"))
            return
        trashed = Path(os.path.normpath(e["to"]))
        info = trash_info(trashed)
        if not e.get("done") and not os.path.lexists(trashed):
            if info is not None and str(info) == e.get("info") and not e.get("failed"):
                _forget_record(e, info, out)  # the name reserved for a move that never happened (killed in between)
            return
        if info is None:
            if not e.get("done") or os.path.lexists(e["from"]):
                return  # never trashed, or put back already
            out.failed.append((e["to"], "no longer in the trash (emptied?)"))
            return
        try:
            TrashFolder(trashed.parent.parent, None).check()
        except UnsafeFolder as exc:
            out.failed.append((str(trashed), f"refused: {exc.strerror}"))
            return
        done = len(out.done)
        _restore_file(e, trashed.parent, journal, key, out, stop)
        if len(out.done) > done:
            _forget_record(e, info, out)  # the trash forgets it, as its own "put back" does
        return
    _restore_file(e, qdir, journal, key, out, stop, names_back)


def _copy_cut_before_unlink(e: dict, src: Path, dst: Path) -> bool:
    """Whether the file at ``src`` in the quarantine and the one at its place ``dst``, byte for byte the same, are a
    copy across devices and its original, the run killed after the copy was whole and named, before the original's
    name went: a move into the quarantine never confirmed whose copy was journalled beside ``src`` (the original never
    left), or an undo's copy back journalled beside ``dst`` (the file is back). As a hard link made and its original
    name not yet removed on one device, the quarantine's name goes. Every undo said 'an identical file already stands
    there: the quarantined copy stays' and exited 1 (1 of 17 kill -9 trials of a quarantine on another disk)."""
    beside = {Path(os.path.normpath(p)).parent for p in e.get("partials") or () if isinstance(p, str)}
    return (not e.get("done") and src.parent in beside) or dst.parent in beside


def _same_inode(a: Path, b: Path) -> bool:
    try:
        sa, sb = os.stat(a, follow_symlinks=False), os.stat(b, follow_symlinks=False)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def _why_not_back(root: Path, dst: Path) -> str | None:
    """Why nothing may be put back at ``dst`` (None: it may): the scanned folder ``root`` must still be a real
    folder, and ``dst`` inside it with no symbolic link among the folders in between."""
    if not root.is_absolute() or not root.is_dir() or root.is_symlink() or root.resolve() != root:
        return f"refused: the scanned folder {root} is not a real folder any more"
    dst = Path(os.path.normpath(dst))
    if dst == root or not dst.is_relative_to(root):
        return f"refused: not inside the scanned folder {root}"
    blocked = _not_a_folder_on_the_way(root, dst)
    if blocked is None:
        return None
    if blocked.is_symlink():
        return f"refused: reached through a link ({blocked} is a symbolic link, not a folder)"
    # (a folder the file came from, turned into a file since: said so, not as if the file came from elsewhere)
    return f"refused: {no_folder_reason(blocked)}; the file stays in the quarantine"


def _folder_on_way_back(root: Path, dst: Path, out: Outcome) -> int | None:
    """The folder ``dst`` goes back into, made where missing and opened from ``root`` one folder at a time
    without following links (a folder swapped for a link to elsewhere since the check cannot send anything
    there); None, with the refusal in ``out``, where one on the way was replaced."""
    rel = dst.parent.relative_to(root)
    _make_dirs(root, rel)
    try:
        return _folder_fd(root, rel)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
            raise
        out.failed.append((str(dst), "refused: a folder on its way was replaced since the check"))
        return None


def _restore_file(e: dict, qdir: Path, journal, key: bytes, out: Outcome, stop: _Stop | None = None,
                  names_back: dict | None = None) -> None:
    """Put the file of the journal entry ``e`` back at its place. ``names_back``: this undo's file moved under
    several names (its ``names_of``, the original's device and inode) -> its first name put back and the inode it
    holds, so that across devices the next name is made a hard link of it again (:func:`_link_name_back`), not a
    second copy."""
    src, dst, root = (Path(os.path.normpath(e[k])) for k in ("to", "from", "root"))
    sha, size = e["sha256"], e["bytes"]
    if not _inside_without_links(qdir, src) or src.name in _OWN_FILES and src.parent == qdir:
        out.failed.append((str(src), "refused: not a file of this quarantine"))
        return
    if (e.get("failed") or not e["done"]) and _standing(src) is None:
        return  # never moved (refused, failed or never begun): nothing to put back, wherever its place is now
    why = _why_not_back(root, dst)
    if why is not None:
        out.failed.append((str(dst), why))
        return
    if e.get("linked") and not e.get("unlinked") and _standing(src) == "a file":
        why = _remove_our_link(e, dst, src, journal, key)
        if why is not None:
            out.failed.append((str(dst), why))
            return
    at_src, at_dst = _standing(src), _standing(dst)
    if at_dst is None and at_src == "a file":
        why = _foreign_set_aside(dst, src, sha, size)
        if why is not None:
            out.failed.append((str(dst), why))
            return
    if at_src is None:
        if not e["done"] or e.get("failed") or at_dst is not None and _holds(dst, sha, size):
            # never confirmed moved (it failed, was interrupted before, or another run moved the file first:
            # nothing of this run's to put back), or the file is back already
            return
        out.failed.append((str(src), "missing from quarantine"))
        return
    if at_src != "a file":
        out.failed.append((str(src), f"{at_src} stands in quarantine instead of the file: left alone"))
        return
    if at_dst is not None:
        if at_dst == "a file" and _same_inode(src, dst):
            # crash mid-move: the hard link was made, the original name not yet removed; drop the extra name
            # (the same file: nothing is deleted)
            os.unlink(src)
            _append(journal, key, {"op": "move", "state": "restored", "from": e["from"], "to": e["to"]}, sync=False)
            return
        if at_dst == "a file" and _holds(dst, sha, size) and _holds(src, sha, size):
            if _copy_cut_before_unlink(e, src, dst) or _linked_back(e, dst, names_back):
                os.unlink(src)  # (our own copy's twin, byte for byte: the file stands at its place)
                _append(journal, key, {"op": "move", "state": "restored", "from": e["from"], "to": e["to"]},
                        sync=False)
                return
            # an identical file stands there (put back by hand): both stay, nothing is deleted, and the user is told
            # where the quarantined one is
            out.failed.append((str(dst), f"an identical file already stands there: the quarantined copy stays at "
                                         f"{src}"))
            return
        out.failed.append((str(dst), f"its original place is taken by {at_dst}: left alone"))
        return
    digest, identity, _ = _digest_and_identity(src)
    if digest != sha:
        out.failed.append((str(src), "changed in quarantine (checksum differs)"))
        return
    folder_fd = _folder_on_way_back(root, dst, out)
    if folder_fd is None:
        return
    def journal_partial(name: str) -> None:  # (across devices) so that a later undo can clear an unfinished copy
        _append(journal, key, {"op": "move", "state": "copying", "from": e["from"], "to": e["to"],
                               "partial": str(dst.parent / name)})

    names_of = e.get("names_of")
    names_of = tuple(names_of) if isinstance(names_of, list) and len(names_of) == 2 else None
    try:
        first = names_back.get(names_of) if names_back is not None and names_of != identity else None
        if first is None or not _link_name_back(first, src, Path(dst.name), folder_fd, sha, size):
            _move(src, Path(dst.name), sha, identity, dst_dir_fd=folder_fd, stop=stop, on_partial=journal_partial)
            _drop_set_aside(Path(dst.name), folder_fd, sha, size)
        if names_of is not None and names_back is not None and names_of not in names_back:
            with contextlib.suppress(OSError):
                now = os.stat(dst.name, dir_fd=folder_fd, follow_symlinks=False)
                names_back[names_of] = (dst, (now.st_dev, now.st_ino))
    finally:
        os.close(folder_fd)
    # (not synced: a file back at its place holding its bytes is one the next undo leaves alone, line or not)
    _append(journal, key, {"op": "move", "state": "restored", "from": e["from"], "to": e["to"]}, sync=False)
    out.done.append((str(src), str(dst)))
    if e.get("sidecar_of"):  # (undo's summary counts them apart, as remove's did: "1 file (and 2 XMP sidecars)")
        out.sidecars.append((os.path.normpath(e["sidecar_of"]), str(src), str(dst)))


def _names_put_back(entries: list[dict]) -> dict:
    """For :func:`_link_name_back`: each file moved under several names (the journal's ``names_of``) whose first name
    an earlier undo put back -> (that place, the inode it holds now): the next name is linked to it, also after an
    undo killed in between."""
    names: dict = {}
    for e in entries:
        of = e.get("names_of")
        if e.get("op") == "move" and e.get("restored") and isinstance(of, list) and len(of) == 2:
            place = Path(os.path.normpath(e["from"]))
            with contextlib.suppress(OSError):
                st = os.lstat(place)
                if stat.S_ISREG(st.st_mode):
                    names.setdefault(tuple(of), (place, (st.st_dev, st.st_ino)))
    return names


def _linked_back(e: dict, dst: Path, names_back: dict | None) -> bool:
    """Whether the file standing at ``dst`` is the hard link :func:`_link_name_back` made of its first name put back
    (an undo killed before it unlinked the quarantine's copy): the same inode as that name's."""
    of = e.get("names_of")
    first = names_back.get(tuple(of)) if names_back and isinstance(of, list) and len(of) == 2 else None
    if first is None or first[0] == dst:
        return False
    try:
        st = os.lstat(dst)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == first[1]


def _link_name_back(first: tuple[Path, tuple[int, int]], src: Path, name: Path, folder_fd: int, sha: str,
                    size: int) -> bool:
    """Another name of a file moved under several (hard links), put back as a hard link of its first name this undo
    put back (``first``: that place and the inode it holds), then the quarantine's copy ``src`` unlinked: across
    devices each name was copied into the quarantine, and copied back it became a file of its own (the same bytes,
    twice the space; its link count 2 -> 1). Only where the first name still holds that inode with these very bytes
    (``sha``, ``size``), and ``name`` (in the open folder ``folder_fd``) is free: never over anything. False where
    it was not linked (the caller copies it back as before)."""
    place, inode = first
    try:
        st = os.lstat(place)
        if (st.st_dev, st.st_ino) != inode or not _holds(place, sha, size):
            return False
        os.link(place, name, dst_dir_fd=folder_fd, follow_symlinks=False)
    except OSError:
        return False
    now = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
    if (now.st_dev, now.st_ino) != inode:  # the first name was saved over as it was linked: that name goes again
        aside = _aside_name(name)
        if _rename_noreplace(name, aside, folder_fd, folder_fd):
            back = os.stat(aside, dir_fd=folder_fd, follow_symlinks=False)
            if (back.st_dev, back.st_ino) == (now.st_dev, now.st_ino):
                os.unlink(aside, dir_fd=folder_fd)
                return False
            _put_back(aside, name, folder_fd, folder_fd)
        raise OSError(errno.EAGAIN, f"its other name {place} was replaced as undo linked it again")
    os.unlink(src)  # (the quarantine's copy, checked: its bytes stand at the place now)
    return True


# -- whole folders (imagetwins.folders): one rename, one journal entry ------------------------------------------
def _tree_digest(files: dict[str, str]) -> str:
    """One SHA-256 for a folder's listing (relative name -> SHA-256): the journal entry's ``sha256``."""
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode("ascii", "backslashreplace")).hexdigest()


def _tree(folder: Path) -> tuple[dict[str, str], int] | str:
    """Every file under ``folder`` (relative name -> SHA-256) and their bytes, or why it is not a tree of regular
    files and folders only (a link, a FIFO...)."""
    files, size = {}, 0
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            st = os.lstat(full)
            if stat.S_ISDIR(st.st_mode):
                continue
            if not stat.S_ISREG(st.st_mode):
                return f"{full} is {_standing(full)}, not a regular file"
            files[full.relative_to(folder).as_posix()] = _digest_and_identity(full)[0]
            size += st.st_size
    return files, size


def apply_folder_moves(moves, root: str | os.PathLike, quarantine: str | os.PathLike) -> Outcome:
    """Move whole folders (:class:`imagetwins.folders.FolderMove`, checked by
    :func:`imagetwins.folders.check_folder_plan`) into ``quarantine``, each in one rename and one journal entry
    (``op: folder``, every file's SHA-256) that :func:`undo` restores.

    Right before each move the folder is read again: it must be a real folder inside ``root`` reached without
    links, hold only regular files, exactly the ones checked, with the same bytes, and every copy they leave
    behind must still be what was checked. A folder on another device than the quarantine (or where the rename
    fails with EXDEV) is copied into the quarantine instead, every copy read back against its digest, read
    again in place (unchanged while it was copied), and only then are its files and folders removed; where one
    cannot be removed, those already removed are put back from the copy and the folder counts as not moved.
    :func:`undo` copies such a folder back the same way.
    """
    from imagetwins.locks import changing

    given = Path(os.path.abspath(root))
    root = given.resolve()
    qdir = check_quarantine(quarantine, [root])
    with changing([root]):
        made = _made_now(qdir)
        qdir = _own_quarantine(qdir)
        with changing([qdir]), _deferred_signals() as stop:
            key = _key(qdir, create=True)
            out = Outcome(manifest=qdir / JOURNAL)
            with _open_journal(qdir) as journal:
                for m in moves:
                    if stop.signum:  # Ctrl-C, SIGTERM: between two folders (each moves in one rename)
                        break
                    try:
                        _move_folder(m, root, qdir, journal, key, out)
                    except OSError as exc:
                        out.failed.append((m.folder, exc.strerror or str(exc)))
                    except JournalError as exc:
                        out.stopped = str(exc)
                        break
            _write_summary(qdir, root, key)
            _drop_unused(qdir, made)
    if stop.signum:
        raise Interrupted(out, len(moves), stop.signum, what="folder")
    return out


def _move_folder(m, root: Path, qdir: Path, journal, key: bytes, out: Outcome) -> None:
    """One folder of :func:`apply_folder_moves`, read again and moved in one rename."""
    src = Path(m.folder)
    if not _inside_without_links(root, src / "x") or src.is_symlink() or not src.is_dir():
        out.failed.append((m.folder, "not moved: not a real folder inside the scanned folder now"))
        return
    tree = _tree(src)
    if isinstance(tree, str):
        out.failed.append((m.folder, f"not moved: {tree}"))
        return
    files, size = tree
    want = {Path(f).relative_to(src).as_posix(): d for f, d in m.files.items()}
    if set(files) != set(want) or any(not _same_content(files[f], want[f]) for f in files):
        out.failed.append((m.folder, "not moved: its files changed since the check"))
        return
    gone = [c for c in m.copies.values() if why_not_movable(c, [root]) is not None]
    if gone:
        out.failed.append((m.folder, f"not moved: the copy {gone[0]} is gone or not a regular file"))
        return
    changed = [c for c in m.copies.values() if _copy_changed(c, m)]
    if changed:  # (the folder would take the only copy of those bytes with it)
        out.failed.append((m.folder, f"not moved: the copy {changed[0]} changed since the check"))
        return
    rel = src.relative_to(root)
    # another device (or another mount of one): a verified copy, then the files removed
    across = os.stat(src).st_dev != os.stat(qdir).st_dev
    locked = _read_only_folder(src) if across else None
    if locked is not None:
        out.failed.append((m.folder, f"not moved: {locked} is read-only (across devices a folder is copied, then "
                                     "its files removed: they could not be)"))
        return
    parent = _make_dirs(qdir, rel.parent)
    dst = _free_name(parent / rel.name, top=parent == qdir)
    entry = {"op": "folder", "from": str(src), "to": str(dst), "root": str(root)}
    try:
        _append(journal, key, {**entry, "state": "planned", "bytes": size, "sha256": _tree_digest(files),
                               "files": files, "copy_of": m.copy_of})
    except LineTooLong as exc:
        out.failed.append((m.folder, f"not moved: it holds {len(files):,} files, too many to journal in one line "
                                     f"({exc.strerror}): move its sub-folders instead"))
        return
    if not across:
        parent_fd = _folder_fd(root, rel.parent)
        try:
            os.rename(rel.name, dst, src_dir_fd=parent_fd)
            moved = _tree(dst)
            if isinstance(moved, str) or moved[0] != files:  # a file written into it since the check went with it
                if not _lexists(rel.name, parent_fd):
                    os.rename(dst, rel.name, dst_dir_fd=parent_fd)
                    _append(journal, key, {**entry, "state": "failed"})
                    out.failed.append((m.folder, "not moved: a file was written into it while it moved (put back)"))
                    return
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            across = True
        finally:
            os.close(parent_fd)
    if across:
        why = _move_folder_across(src, dst, files, root, rel, on_partial=lambda made: _append(
            journal, key, {**entry, "state": "copying", "partial": str(made)}))
        if why is not None:
            _append(journal, key, {**entry, "state": "failed"})
            out.failed.append((m.folder, why))
            return
    _append(journal, key, {**entry, "state": "done"})
    out.done.append((str(src), str(dst)))


def _state_of(path: str | os.PathLike) -> tuple | None:
    """A file's identity, size and times, its own (no link followed; None: gone): what changes when it is written
    to (the ctime, even where the mtime is put back)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _copy_changed(copy: str, m) -> bool:
    """Whether a copy a folder leaves behind changed since :func:`imagetwins.folders.check_folder_plan` read it: its
    identity, size and times are compared, its bytes read again only where they moved (a copy written to between the
    check and the move of the folder left that folder's file, moved, the only copy of its bytes)."""
    want = m.copy_digests.get(copy)
    if want is None:
        return False  # (a move made without the digests: the check before is all there is)
    if _state_of(copy) == m.copy_states.get(copy):
        return False
    try:
        return not _same_content(sha256_file(copy), want)
    except OSError:
        return True


def _read_only_folder(folder: Path) -> str | None:
    """A folder of the tree at ``folder`` (or the folder holding it) whose entries we may not remove, if any."""
    for dirpath, _, _ in os.walk(folder, followlinks=False):
        if not os.access(dirpath, os.W_OK | os.X_OK):
            return dirpath
    return None if os.access(folder.parent, os.W_OK | os.X_OK) else str(folder.parent)


def _folders_of(files: dict[str, str], top: Path) -> list[Path]:
    """The folders under ``top`` (``top`` excluded) that hold the listed files, and every other folder there now,
    parents before children."""
    found = {top / Path(rel).parent for rel in files} - {top}
    for dirpath, dirnames, _ in os.walk(top, followlinks=False):
        found.update(Path(dirpath) / d for d in dirnames if not os.path.islink(Path(dirpath) / d))
    return sorted(found, key=lambda d: len(d.parts))


def _copy_verified(src: Path, target: Path, digest: str) -> None:
    """``src`` copied to the new file ``target`` (never overwriting, never through a link), its mode and times
    kept, fsynced, read back and compared with ``digest``: ``OSError`` (the copy left for the caller to clear)."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600)
    with open_regular_file(src, follow_symlinks=False) as fin, open(fd, "wb") as fout:
        st = os.fstat(fin.fileno())
        _copy_bytes(fin, fout)
        os.fchmod(fout.fileno(), stat.S_IMODE(st.st_mode))
        fout.flush()
        os.utime(fout.fileno(), ns=(st.st_atime_ns, st.st_mtime_ns))
        os.fsync(fout.fileno())
    if _digest_and_identity(target)[0] != digest:
        raise OSError(errno.EIO, f"the copy of {src} does not match the file checked")


def _copy_tree(src: Path, dst: Path, files: dict[str, str]) -> None:
    """``src``'s listed files (relative name -> SHA-256) copied into the new folder ``dst`` (made here, owner-only
    until done), every copy read back and compared with its digest and fsynced; on any failure what was made is
    removed and ``OSError`` raised. Nothing outside ``dst`` is written."""
    import shutil

    os.mkdir(dst, 0o700)
    try:
        for folder in _folders_of(files, src):
            os.mkdir(dst / folder.relative_to(src), 0o700)
        for rel, digest in files.items():
            _copy_verified(src / rel, dst / rel, digest)
        for folder in reversed([src, *_folders_of(files, src)]):
            st = os.stat(folder, follow_symlinks=False)
            mine = dst / folder.relative_to(src)
            os.chmod(mine, stat.S_IMODE(st.st_mode) | stat.S_IWUSR | stat.S_IXUSR)
            os.utime(mine, ns=(st.st_atime_ns, st.st_mtime_ns))
    except BaseException:
        shutil.rmtree(dst, ignore_errors=True)  # (our own new folder, made just now)
        raise


def _remove_tree(root: Path, rel: Path, files: dict[str, str]) -> list[str]:
    """Unlink the listed files of the folder ``root / rel`` and then its folders, each reached from ``root``
    without following links; the files unlinked (relative names). ``OSError`` on the first that fails."""
    gone: list[str] = []
    top = root / rel
    folders = _folders_of(files, top)
    try:
        for name in sorted(files):
            path = rel / name
            fd = _folder_fd(root, path.parent)
            try:
                os.unlink(path.name, dir_fd=fd)
            finally:
                os.close(fd)
            gone.append(name)
        for folder in [*reversed(folders), top]:
            inner = folder.relative_to(root)
            fd = _folder_fd(root, inner.parent)
            try:
                os.rmdir(inner.name, dir_fd=fd)
            finally:
                os.close(fd)
    except OSError as exc:
        exc.gone = gone  # type: ignore[attr-defined]
        raise
    return gone


def _move_folder_across(src: Path, dst: Path, files: dict[str, str], root: Path, rel: Path,
                        on_partial=None) -> str | None:
    """A folder moved onto another device: copied into the quarantine beside ``dst`` and verified, renamed to
    ``dst``, read again (unchanged since the check), then its files and folders removed. None when done, else why
    not, with everything where it was (the copy removed; files already removed put back from it)."""
    import shutil

    partial = _free_name(dst.with_name(f".{dst.name}{FOLDER_PARTIAL}"))
    if on_partial is not None:
        on_partial(partial)  # (journalled first: a later undo clears it if this run is killed while copying)
    try:
        _copy_tree(src, partial, files)
        os.rename(partial, dst)  # (within the quarantine: one device)
    except OSError as exc:
        return f"not moved: copying it to the quarantine failed ({exc.strerror or exc})"
    again = _tree(src)
    if isinstance(again, str) or again[0] != files:
        shutil.rmtree(dst, ignore_errors=True)
        return "not moved: its files changed while it was being copied"
    try:
        _remove_tree(root, rel, files)
    except OSError as exc:
        gone = getattr(exc, "gone", [])
        try:
            for name in gone:  # put back what went, from the verified copy
                _make_dirs(root, (rel / name).parent)  # (a folder of it may have gone too)
                fd = _folder_fd(root, (rel / name).parent)
                try:
                    _copy_across(dst / name, Path(Path(name).name), files[name], dst_dir_fd=fd)
                finally:
                    os.close(fd)
        except OSError as back:
            raise OSError(back.errno, f"removing its files failed ({exc.strerror or exc}) and putting "
                                      f"{len(gone)} back failed too ({back.strerror or back}): the verified copy "
                                      f"is in {dst}") from None
        shutil.rmtree(dst, ignore_errors=True)
        return f"not moved: removing its files failed ({exc.strerror or exc}); every file is back in place"
    return None


def _restore_folder(e: dict, qdir: Path, journal, key: bytes, out: Outcome) -> None:
    """Put a folder moved by :func:`apply_folder_moves` back: from this quarantine, onto an empty place inside
    the scanned folder reached through real folders, its files the bytes that were moved."""
    import shutil

    src, dst, root = (Path(os.path.normpath(e[k])) for k in ("to", "from", "root"))
    files = e.get("files")
    if not isinstance(files, dict) or _tree_digest(files) != e["sha256"]:
        out.failed.append((str(src), "refused: the journal's listing of the folder does not match its digest"))
        return
    if not _inside_without_links(qdir, src / "x"):
        out.failed.append((str(src), "refused: not a folder of this quarantine"))
        return
    why = _why_not_back(root, dst)
    if why is not None:
        out.failed.append((str(dst), why))
        return
    at_src, at_dst = _standing(src), _standing(dst)
    if at_src is None:
        if at_dst is not None and not e["done"]:
            return  # the move never happened
        out.failed.append((str(src), "missing from quarantine"))
        return
    if at_src != "a folder":
        out.failed.append((str(src), f"{at_src} stands in quarantine instead of the folder: left alone"))
        return
    if at_dst == "a folder" and not e["done"] and not e.get("failed"):
        # stopped (killed) while a folder copied across devices was being removed: some of its files are still in
        # place, all of them in the verified copy; the rest is put back from it
        why = _finish_back(src, dst, files, root)
        if why is not None:
            out.failed.append((str(dst), why))
            return
        _append(journal, key, {"op": "folder", "state": "restored", "from": e["from"], "to": e["to"]})
        out.done.append((str(src), str(dst)))
        out.folders += 1
        return
    if at_dst == "a folder" and e["done"] and _back_already(src, dst, files):
        # an undo killed after its copy across devices was renamed into place, before the quarantine's copy went:
        # every file is back, verified; the rest of the quarantine's copy (copies of those) is removed
        shutil.rmtree(src, ignore_errors=True)
        _append(journal, key, {"op": "folder", "state": "restored", "from": e["from"], "to": e["to"]})
        out.done.append((str(src), str(dst)))
        out.folders += 1
        return
    if at_dst is not None:
        out.failed.append((str(dst), f"its original place is taken by {at_dst}: left alone"))
        return
    tree = _tree(src)
    if isinstance(tree, str) or any(tree[0].get(f) != d for f, d in files.items()):
        out.failed.append((str(src), "changed in quarantine (its files differ from those moved): left there"))
        return
    # a file more than the journal lists was written into the folder as it moved (a sync program): back with it
    files = tree[0]
    folder_fd = _folder_on_way_back(root, dst, out)
    if folder_fd is None:
        return
    try:
        if _lexists(dst.name, folder_fd):
            raise FileExistsError(errno.EEXIST, "destination exists", str(dst))
        try:
            os.rename(src, dst.name, dst_dir_fd=folder_fd)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            why = _restore_folder_across(src, dst, files, folder_fd, on_partial=lambda made: _append(
                journal, key, {"op": "folder", "state": "copying", "from": e["from"], "to": e["to"],
                               "partial": str(dst.parent / made.name)}))
            if why is not None:
                out.failed.append((str(src), why))
                return
    finally:
        os.close(folder_fd)
    _append(journal, key, {"op": "folder", "state": "restored", "from": e["from"], "to": e["to"]})
    out.done.append((str(src), str(dst)))
    out.folders += 1


def _back_already(src: Path, dst: Path, files: dict[str, str]) -> bool:
    """Whether the folder at ``dst`` is exactly the moved one (every file of the listing, no other, same bytes) and
    the quarantine's ``src`` holds nothing but files of it (the rest of a copy being removed when undo stopped)."""
    back, left = _tree(dst), _tree(src)
    return (not isinstance(back, str) and back[0] == files and not isinstance(left, str)
            and all(files.get(name) == digest for name, digest in left[0].items()))


def _finish_back(src: Path, dst: Path, files: dict[str, str], root: Path) -> str | None:
    """A folder whose move across devices was stopped half-way through removing it (the journal says planned, not
    done): ``src`` in the quarantine must hold every file of the listing, and ``dst`` in place only files of it,
    unchanged; the missing ones are copied back (verified), then the quarantine's copy removed. None when done,
    else why it was left alone."""
    import shutil

    whole, left = _tree(src), _tree(dst)
    if isinstance(whole, str) or whole[0] != files:
        return "its original place is taken by a folder, and the quarantine's copy is not the whole folder: left alone"
    if isinstance(left, str) or any(files.get(name) != digest for name, digest in left[0].items()):
        return "its original place is taken by a folder holding other files: left alone"
    rel = dst.relative_to(root)
    try:
        for folder in _folders_of(files, src):
            _make_dirs(root, rel / folder.relative_to(src))
        for name in sorted(set(files) - set(left[0])):
            place = rel / name
            fd = _folder_fd(root, place.parent)
            partial = _free_name(Path(_fitting("", place.name, PARTIAL, room=8)), fd)
            try:  # (under a name of its own until verified, then linked to its place: never a half file there)
                _copy_verified(src / name, Path(f"/proc/self/fd/{fd}") / partial.name, files[name])
                os.link(partial.name, place.name, src_dir_fd=fd, dst_dir_fd=fd, follow_symlinks=False)
            finally:
                if _lexists(partial.name, fd):
                    os.unlink(partial.name, dir_fd=fd)
                os.close(fd)
    except OSError as exc:
        return f"putting the rest back failed ({exc.strerror or exc}): the whole folder is still in {src}"
    shutil.rmtree(src, ignore_errors=True)  # (every file of it is in place again, verified)
    return None


def _restore_folder_across(src: Path, dst: Path, files: dict[str, str], folder_fd: int,
                           on_partial=None) -> str | None:
    """A folder moved across devices put back: copied from the quarantine into a new folder beside ``dst`` (in the
    open folder ``folder_fd``), verified, renamed to ``dst``, then the quarantine's copy removed. None when done,
    else why not (nothing changed in the scanned folder)."""
    import shutil

    partial = _free_name(Path(f".{dst.name}{FOLDER_PARTIAL}"), folder_fd)
    if on_partial is not None:
        on_partial(partial)  # (journalled first: a later undo clears it if this one is killed while copying)
    # (made through the open folder: a folder on the way swapped for a link since the check cannot redirect it)
    made = Path(f"/proc/self/fd/{folder_fd}") / partial if os.path.isdir("/proc/self/fd") else dst.parent / partial
    try:
        _copy_tree(src, made, files)
        if _lexists(dst.name, folder_fd):
            shutil.rmtree(made, ignore_errors=True)
            return f"its original place {dst} was taken while it was being copied back: left in the quarantine"
        os.rename(partial.name, dst.name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    except OSError as exc:
        return f"copying it back failed ({exc.strerror or exc}): left in the quarantine"
    shutil.rmtree(src, ignore_errors=True)  # (the quarantine's copy: every file of it is back, verified)
    return None


# -- sidecars beside keepers (imagetwins.metadata): written, journalled, taken back by undo ------------------------
def _write_new(folder_fd: int, name: str, data: bytes, mode: int | None = None, replace: bool = True) -> None:
    """``data`` as the file ``name`` of the open folder: written beside it under a fresh name, then renamed over
    (a rename replaces a link standing there, never writes through it). ``mode``: its permissions (those of the
    file it replaces, or of the photo it describes: an owner-only file stays owner-only), else 0644 less the umask.
    ``replace=False``: where nothing stood when it was checked, never over a file another program made there since
    (``FileExistsError``): a sidecar darktable wrote meanwhile was replaced."""
    tmp = _written_beside(folder_fd, name, data, mode)
    try:
        if replace:
            os.replace(tmp, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
        else:
            _rename_new(tmp, name, folder_fd)
    finally:
        if _lexists(tmp, folder_fd):
            os.unlink(tmp, dir_fd=folder_fd)


def _written_beside(folder_fd: int, name: str, data: bytes, mode: int | None) -> Path:
    """``data`` written (and synced) under a fresh name beside ``name`` in the open folder: that name."""
    tmp = _free_name(Path(name + ".imagetwins-new"), folder_fd)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644 if mode is None else 0o600,
                 dir_fd=folder_fd)
    try:
        with open(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
    except BaseException:
        os.unlink(tmp, dir_fd=folder_fd)
        raise
    return tmp


def _write_over(folder_fd: int, name: str, data: bytes, mode: int | None, before: bytes, done) -> None:
    """``data`` as the file ``name`` of the open folder in place of the sidecar checked there (``before``: its
    bytes), and ``done()`` (the journal's done line) once it is there. The sidecar at the name is set aside under a
    hidden name in one rename (:func:`_rename_noreplace`), checked there, and only then is the new one renamed in,
    never over anything; the one set aside is unlinked after ``done()``. A rename over the name took whatever stood
    there by then: a sidecar darktable or digiKam saved after the check was lost (the quarantine keeps the one
    checked). One saved since the check gets its name back, and this one is not written (``FileExistsError``). A run
    killed with the previous sidecar set aside (before or after the new one went in): :func:`_take_sidecar_back`
    finishes with it. Where the system has no such rename, by name as before."""
    tmp = _written_beside(folder_fd, name, data, mode)
    aside = _aside_name(Path(name))
    try:
        try:
            set_aside = _rename_noreplace(name, aside, folder_fd, folder_fd)
        except FileExistsError:  # (a person's file of that name: not ours to move over)
            set_aside = False
        if not set_aside:  # (no such rename here: the name itself, as before)
            os.replace(tmp, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
            done()
            return
        if not _holds_at(aside, content_digest(before), len(before), folder_fd):  # saved over after the check
            _put_back(aside, Path(name), folder_fd, folder_fd)
            raise FileExistsError(errno.EEXIST, "another program saved a sidecar at its name meanwhile: not written, "
                                                "that sidecar left alone")
        try:
            _rename_new(tmp, name, folder_fd)
        except FileExistsError:  # (the one set aside is the quarantine's copy, byte for byte: the other stays)
            os.unlink(aside, dir_fd=folder_fd)
            raise
        done()
        os.unlink(aside, dir_fd=folder_fd)
    finally:
        if _lexists(tmp, folder_fd):
            os.unlink(tmp, dir_fd=folder_fd)


def _rename_new(tmp: Path, name: str, folder_fd: int) -> None:
    """``tmp`` renamed ``name`` in the open folder, never over a file standing there (one step where the system has
    it, else looked at just before)."""
    try:
        if _rename_noreplace(tmp, name, folder_fd, folder_fd):
            return
    except FileExistsError:
        pass
    else:
        if not _lexists(name, folder_fd):
            os.rename(tmp, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
            return
    raise FileExistsError(errno.EEXIST, "another program wrote a file at its name meanwhile: not written, that file "
                                        "left alone")


def _described_mode(folder_fd: int, name: str) -> int | None:
    """The permissions a new sidecar ``name`` (``IMG.jpg.xmp``) of the open folder takes: those of the photo it
    describes (``IMG.jpg``), less any execute bit, so that the date and place of an owner-only photo are no more
    readable than it is; None (0644 less the umask) where no regular file of that name stands."""
    try:
        st = os.stat(name.removesuffix(".xmp"), dir_fd=folder_fd, follow_symlinks=False)
    except (OSError, ValueError):
        return None
    return stat.S_IMODE(st.st_mode) & 0o666 if stat.S_ISREG(st.st_mode) and name.endswith(".xmp") else None


def write_sidecars(writes, root: str | os.PathLike, quarantine: str | os.PathLike) -> Outcome:
    """Write each ``(sidecar path, bytes, previous bytes or None)`` of ``writes`` (the keepers' XMP sidecars,
    :mod:`imagetwins.metadata`), journalled in ``quarantine`` so that :func:`undo` takes each away, or puts the
    previous sidecar's bytes back (kept in the quarantine).

    A sidecar is written only inside ``root``, through real folders, where nothing stands or a regular file
    with exactly the ``previous`` bytes stands: a symbolic link (or a FIFO, a folder) at its name is never
    written through and is reported.
    """
    from imagetwins.locks import changing

    given = Path(os.path.abspath(root))
    root = given.resolve()
    qdir = check_quarantine(quarantine, [root])
    out = Outcome(manifest=qdir / JOURNAL)
    with changing([root]):
        try:
            qdir.parent.mkdir(parents=True, exist_ok=True)
            qdir = _make_dirs(qdir.parent, Path(qdir.name))
        except OSError as exc:
            raise QuarantineError(f"cannot make the quarantine folder {qdir}: {exc.strerror or exc}") from None
        with changing([qdir]):
            key = _key(qdir, create=True)
            with _open_journal(qdir) as journal:
                for path, data, previous in writes:
                    try:
                        _write_sidecar(Path(os.path.abspath(path)), data, previous, given, root, qdir, journal, key,
                                       out)
                    except OSError as exc:
                        out.failed.append((str(path), exc.strerror or str(exc)))
            _write_summary(qdir, root, key)
    return out


def _write_sidecar(path: Path, data: bytes, previous: bytes | None, given: Path, root: Path, qdir: Path, journal,
                   key: bytes, out: Outcome) -> None:
    rel = path.relative_to(given) if path.is_relative_to(given) else path.relative_to(root) \
        if path.is_relative_to(root) else None
    if rel is None or not _inside_without_links(root, root / rel):
        out.failed.append((str(path), "no sidecar written: not inside the folder, or reached through a link"))
        return
    standing = _standing(root / rel)
    if standing not in (None, "a file"):
        out.failed.append((str(path), f"no sidecar written: {standing} stands at its name (never written through)"))
        return
    folder_fd = _folder_fd(root, rel.parent)
    try:
        before = None
        if standing == "a file":  # (at most the previous bytes and one more: a file swapped for a huge one meanwhile
            with open_regular_file(rel.name, follow_symlinks=False, dir_fd=folder_fd) as fh:  # is not read whole)
                before = fh.read(len(previous or b"") + 1)
                mode = stat.S_IMODE(os.fstat(fh.fileno()).st_mode) & 0o777  # the one it replaces keeps its own
        else:
            mode = _described_mode(folder_fd, rel.name)
        if before != previous:
            out.failed.append((str(path), "no sidecar written: it changed while the metadata was gathered"))
            return
        backup = _free_name(_make_dirs(qdir, Path("sidecars") / rel.parent) / (rel.name + ".before"))
        if before is not None:
            fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600)
            with open(fd, "wb") as fh:
                fh.write(before)
                fh.flush()
                os.fsync(fh.fileno())
        entry = {"op": "sidecar", "from": str(root / rel), "to": str(backup), "root": str(root)}
        _append(journal, key, {**entry, "state": "planned", "bytes": len(data), "sha256": content_digest(data),
                               "before_sha256": content_digest(before) if before is not None else None})
        if before is None:
            _write_new(folder_fd, rel.name, data, mode, replace=False)
            _append(journal, key, {**entry, "state": "done"})
        else:
            _write_over(folder_fd, rel.name, data, mode, before,
                        lambda: _append(journal, key, {**entry, "state": "done"}))
        out.done.append((str(root / rel), "written"))
    finally:
        os.close(folder_fd)


def _restore_sidecar(e: dict, qdir: Path, journal, key: bytes, out: Outcome) -> None:
    """Take a sidecar :func:`write_sidecars` wrote away again (or put the previous one back), if it is still what
    was written: one edited since (darktable, digiKam) is left alone and reported.

    The sidecar checked is set aside under a hidden name in one rename (:func:`_rename_noreplace`), checked again
    there, and only then unlinked, the previous one put back never over anything: an unlink (or a rename over it) by
    name took whatever stood there by then, so a sidecar another program saved in the instant after the check was
    the one lost. An undo killed in between leaves it set aside, which the next undo finishes with
    (:func:`_take_sidecar_back`), as it does the previous sidecar a run killed as it wrote over it left set aside
    (:func:`_write_over`). Where the system has no such rename, the name itself as before."""
    place, backup, root = (Path(os.path.normpath(e[k])) for k in ("from", "to", "root"))
    before = e.get("before_sha256")
    if not _inside_without_links(root, place) or not _inside_without_links(qdir, backup):
        out.failed.append((str(place), "refused: not a sidecar of this quarantine's folder"))
        return
    standing = _standing(place)
    aside = _aside_name(place)
    if standing is None and not e["done"] and not _holds(aside, e["sha256"], e["bytes"]) \
            and not (before is not None and _lexists(aside)):
        return  # never written (or its done line lost in a kill, and set aside by an undo killed: finished below;
        # or the previous one set aside by a run killed as it wrote over it: given its name back below)
    folder_fd = _folder_fd(root, place.parent.relative_to(root))
    try:
        why = _take_sidecar_back(e, place, backup, standing, folder_fd)
    finally:
        os.close(folder_fd)
    if why is not None:
        out.failed.append(why)
        return
    _append(journal, key, {"op": "sidecar", "state": "restored", "from": e["from"], "to": e["to"]})
    out.done.append((str(place), "restored" if before else "removed"))


def _take_sidecar_back(e: dict, place: Path, backup: Path, standing: str | None,
                       folder_fd: int) -> tuple[str, str] | None:
    """:func:`_restore_sidecar`'s work in the open folder of ``place``: None when done, else (path, why not)."""
    before, name = e.get("before_sha256"), place.name
    aside = _aside_name(Path(name))
    data = None
    if before is not None:  # (read and checked first: nothing is taken away for a previous sidecar that changed)
        try:
            with open_regular_file(backup, follow_symlinks=False) as fh:
                data = fh.read()
        except OSError as exc:
            return str(backup), f"the previous sidecar kept in quarantine cannot be read ({exc.strerror or exc}): " \
                                f"left there"
        if content_digest(data) != before:
            return str(backup), "the previous sidecar kept in quarantine changed: left there"
        if before != e["sha256"] and _holds_at(aside, before, len(data), folder_fd):
            # (a run killed as it wrote over it, the previous sidecar set aside, byte for byte the quarantine's copy)
            if standing is None:  # (killed before the new one went in): it gets its name back, never over anything
                try:
                    _put_back(aside, Path(name), folder_fd, folder_fd)
                    return None
                except OSError:  # (another program wrote the name in that instant: it stays, the quarantine's copy
                    os.unlink(aside, dir_fd=folder_fd)  # is kept)
                    return str(place), (f"another program saved a sidecar at its name as undo put the previous one "
                                        f"back: that one left alone; the previous sidecar stays in the quarantine at "
                                        f"{backup}")
            os.unlink(aside, dir_fd=folder_fd)  # (the quarantine's copy goes back below, as for a run not killed)
    taken = (str(place), f"another program saved a sidecar at its name as undo took the one written away: that one "
                         f"left alone; the previous sidecar stays in the quarantine at {backup}")
    if _holds_at(aside, e["sha256"], e["bytes"], folder_fd):  # an undo killed as it took the sidecar away: set aside
        why = None
        if data is not None and not _holds_at(Path(name), before, len(data), folder_fd):  # (not back there already)
            try:
                mode = stat.S_IMODE(os.stat(aside, dir_fd=folder_fd, follow_symlinks=False).st_mode) & 0o777
                _write_new(folder_fd, name, data, mode, replace=False)
            except FileExistsError:
                why = taken
        os.unlink(aside, dir_fd=folder_fd)
        return why
    if standing is None and _lexists(aside, folder_fd):  # another program's, saved over it as an undo killed then
        try:  # set the name aside: it gets its name back, never over anything
            _put_back(aside, Path(name), folder_fd, folder_fd)
        except OSError:
            return str(place), (f"a file stands set aside under {place.with_name(aside.name)} (another program's, "
                                f"saved over the sidecar as an undo killed then set it aside?): left there")
        return str(place), ("the sidecar was saved over by another program as a run or undo killed then set it aside "
                            "(given its name back): left alone")
    if standing != "a file" or not _holds(place, e["sha256"], e["bytes"]):
        return str(place), ("the sidecar changed since it was written (edited by another program?): left alone"
                            if standing == "a file" else
                            f"{standing or 'nothing'} stands where the sidecar was written: left alone")
    mode = stat.S_IMODE(os.lstat(place).st_mode) & 0o777  # (the sidecar written's, which kept the previous one's)
    try:
        set_aside = _rename_noreplace(name, aside, folder_fd, folder_fd)
    except FileExistsError:  # (a person's file of that name: not ours to move over)
        set_aside = False
    if not set_aside:  # (no such rename here: the name itself, as before)
        if data is None:
            os.unlink(name, dir_fd=folder_fd)
        else:
            _write_new(folder_fd, name, data, mode)
        return None
    if not _holds_at(aside, e["sha256"], e["bytes"], folder_fd):  # saved over after the check: it gets its name back
        _put_back(aside, Path(name), folder_fd, folder_fd)
        return str(place), ("the sidecar was saved over or written to as undo looked at it (another program wrote "
                            "it meanwhile): left alone")
    if data is not None:
        try:
            _write_new(folder_fd, name, data, mode, replace=False)
        except FileExistsError:  # another program saved a sidecar there meanwhile: it stays, the one written goes
            os.unlink(aside, dir_fd=folder_fd)
            return taken
    os.unlink(aside, dir_fd=folder_fd)
    return None
