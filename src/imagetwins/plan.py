"""The decisions file: one JSON format written by ``find --json`` and by the review page's export, applied
by ``imagetwins remove --plan``.

A plan is the ``find --json`` document: top-level ``imagetwins_plan`` (format version), ``root`` (the
scanned folder, its real path), ``scanned_as`` (the folder as it was named, absolute: it may be a symbolic
link to ``root``) and ``base`` (the folder relative paths are relative to), and per group:

``files``
    the paths of the group;
``keep``
    the keeper (a path from ``files``; a person may change it);
``also_keep``, ``not_duplicate``
    other paths left where they are (reference-folder files; files a reviewer said are not duplicates);
``reference``
    the group's files in a reference folder (``--keep-in``), the keeper among them: left where they are whatever
    ``keep`` is edited to (a reference folder is never touched); written only where the scan had reference folders;
``through_links``
    files reached through a symbolic link the scan followed (``--follow-symlinks``): left where they are, as
    ``remove --follow-symlinks`` leaves them (``remove`` never moves a file through a link), and counted in one
    note, not refused (the field of :attr:`LeftAlone.THROUGH_LINK <imagetwins.leftalone.LeftAlone>`: each reason
    a file is left alone for has its field here);
``move_anyway``
    files to move even where no check says they are copies of ``keep`` (a re-shot of it: another capture; a file
    that cannot be decoded). A ``keep`` edited by hand may name a file some others of the group are no copy of
    (joined to it only through a copy): ``remove --plan`` leaves each file to move that no check calls a copy of its
    keeper where it is, in one line, unless listed here (:func:`not_copies_of_keepers`, asked of every group); the
    review page's export writes here the files a person pressed "Move anyway" on;
``skip``
    true: leave the whole group alone;
``suggested_keep``, ``suggested_also_keep``, ``reviewed``
    what the tool suggested (``find --json``) and whether a person decided the group (the review page's export:
    true for a group a person changed or accepted): only a group a person decided is remembered by
    ``remove --plan --apply`` (:mod:`imagetwins.decisions`); a group that says neither (a plan written before
    these fields) is remembered as a whole;
``unreviewed``
    the review page's export: nobody reviewed the group (still open, or left alone for now in bulk). It is left
    alone and not remembered, whatever its ``keep`` and ``skip`` say; in a review page's export
    (``"source": "review page"``) made before this field, so is every group that says ``"reviewed": false`` (those
    moved as suggested). ``remove --plan`` counts them in one line;
``sha256``
    ``{path: digest}``: the full SHA-256 of the bytes scanned (``find --json`` completes the first 32 hex
    digits an index or the folder cache keeps by reading the file again; the review page's export may
    still hold those 32 digits, and plans written before do: both are accepted).

Top-level ``index`` (written by ``find --db FILE --json``, absent for a scan through the folder's cache or none):
``{"path": the index file's absolute path, "created": its stamp, "id": its random name}``
(:meth:`imagetwins.index.Index.created`, :meth:`~imagetwins.index.Index.identity`), where
``remove --plan`` reads the checks of the plan's files against their keepers (:func:`not_copies_of_keepers`), and
keeps there the checks it makes (where the plan recorded the ``id`` and it is still that index: the next run decodes
nothing again). It only saves time: a check is read by the two files' recorded contents (their SHA-256), and
signed by this user (:mod:`imagetwins.rowkeys`), so an index edited in, another index, or one made again in its place
(another ``created`` or ``id``) gives no check it did not make of those very bytes; one that cannot be read, or is
not the one recorded, is said in one line (its checks are not read: those of the folder's cache serve, else the files
are decoded and checked now, which ``remove`` says in one line).

Every other file of a group is to be moved. Before anything moves, :func:`check_plan` proves that each
file to move and its keeper are still the bytes that were scanned, so an edited or stale plan can
never remove the last copy of a picture.

A plan is a file anyone may have edited, so nothing in it is trusted to say *where* files may move
from: the person applying it names the folder (``imagetwins remove FOLDER --plan FILE``,
``load_plan(FILE, folder=FOLDER)``); a plan whose ``root`` is another folder is refused as a whole,
and every file to move and every keeper must lie inside the named folder. What a plan does decide is
which files of that folder are duplicates of which keeper: a file moves only when a group lists it,
and that group's keeper is inside the folder, exists, and has the digest the plan recorded.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from imagetwins.decisions import key_map
from imagetwins.digests import Digest
from imagetwins.io import DEFAULT_MAX_BYTES
from imagetwins.leftalone import GroupLeftAlone, LeftAlone
from imagetwins.text import printable

__all__ = ["PLAN_VERSION", "NO_KEEPER_YET", "PlanError", "PlannedGroup", "CheckedPlan", "plan_document", "load_plan",
           "check_plan", "awaiting_keeper", "left_alone", "not_copies_of_keepers", "Unconfirmed", "PlanIndex",
           "plan_index", "index_record", "PlanFile", "read_plan", "KeeperChecks", "PlanTooLarge"]

#: the format version written as ``imagetwins_plan``
PLAN_VERSION = 1

#: What a plan may cost to read. Its memory grows with what it names, not with its bytes: 1,000,000 groups of two
#: made-up names (31 MB) took 2.05 GB and 84 s to refuse file by file, and the 256 MiB a file a person names may be
#: (:func:`imagetwins.io.read_user_file`) allowed ~10 GB. A plan ``find --json`` writes for 100,000 photos, every one
#: in a pair (50,000 groups, 37 MB, 750,000 JSON values), reads in 285 MB. So a plan is refused in one line, before
#: it is parsed, past :data:`PLAN_MAX_BYTES` or :data:`PLAN_MAX_VALUES` (its JSON values, counted from its commas and
#: brackets: ~7.5 a file as ``find --json`` writes them, so ~400,000 files), and once parsed past
#: :data:`PLAN_MAX_GROUPS` groups or :data:`PLAN_MAX_FILES` files listed in them (each name costs ~500 bytes and
#: 80 us to check and refuse: 1,000 groups of 2,900 made-up names took 1.6 GB and 227 s; 249,000 groups of two, the
#: most these limits let through, take 510 MB and 47 s).
PLAN_MAX_BYTES = 128 << 20
PLAN_MAX_VALUES = 3_000_000
PLAN_MAX_GROUPS = 250_000
PLAN_MAX_FILES = 500_000


class PlanError(ValueError):
    """A plan file that cannot be used at all (one line: which file and why)."""


class PlanTooLarge(PlanError):
    """A plan over what a plan may cost to read (:data:`PLAN_MAX_VALUES`, ...): refused, whatever else it is."""


@dataclass
class PlannedGroup:
    """One group of a plan, its paths resolved."""

    number: int
    files: list[str]
    keep: str | None
    leave: list[str]  # also_keep + not_duplicate
    skip: bool
    sha256: dict[str, str]
    not_duplicate: list[str] = field(default_factory=list)  # (also in leave) what a reviewer said is no copy
    #: whether a person decided this group (``reviewed``, or ``keep``/``skip``/``not_duplicate`` edited away from
    #: what ``find --json`` wrote); None: the plan does not say (written before these fields)
    decided: bool | None = None
    #: a file of the group -> its other names (hard links) the scan found (the plan's ``already_linked``): they
    #: move with it where they are still the same file, since one name alone frees nothing
    linked: dict[str, list[str]] = field(default_factory=dict)
    #: nobody reviewed it on the review page: left alone, never moved as suggested, not remembered
    unreviewed: bool = False
    #: files left where they are for a file's own reason (:class:`LeftAlone`), as the reason's plan field lists them
    left_alone: dict[LeftAlone, list[str]] = field(default_factory=dict)
    #: files the plan says were compared with ``keep`` after recolouring (its ``recoloured``, :data:`Mark.RECOLOURED`:
    #: colour variants of it); none where the plan's keep is not the one they were written against
    recoloured: list[str] = field(default_factory=list)
    #: files to move even where their check says they are no copy of ``keep`` (the plan's ``move_anyway``)
    move_anyway: list[str] = field(default_factory=list)

    @property
    def through_links(self) -> list[str]:
        """Reached through a symbolic link the scan followed: left where they are (the plan's ``through_links``)."""
        return self.left_alone.get(LeftAlone.THROUGH_LINK, [])

    @property
    def to_move(self) -> list[str]:
        if self.skip or self.keep is None:
            return []
        # (a set: a plan listing 40,000 files to leave took 45 s as a list)
        leave = {*self.leave, *(f for files in self.left_alone.values() for f in files)}
        return [f for f in dict.fromkeys(self.files) if f != self.keep and f not in leave]


@dataclass
class CheckedPlan:
    """What may move: ``moves`` (path, group number, keeper, digest); ``refused`` (path, why)."""

    root: Path
    moves: list[tuple[str, int, str, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    skipped_groups: int = 0
    keepers: dict[str, str] = field(default_factory=dict)  # keeper -> its scanned SHA-256
    #: what is left alone, by reason (:class:`LeftAlone`): the group numbers of a whole group's reason (no keeper
    #: as ``find --json`` wrote it, re-shots; a review page's group nobody reviewed), the files of a file's own
    #: (reached through a followed symbolic link); each said in one line, none refused
    left_alone: dict[LeftAlone, list] = field(default_factory=dict)

    @property
    def awaiting_groups(self) -> int:
        """Groups left alone with no keeper as ``find --json`` wrote them (re-shots: :data:`NO_KEEPER_YET`)."""
        return len(self.left_alone.get(LeftAlone.AWAITING_KEEPER, ()))

    @property
    def unreviewed_groups(self) -> int:
        """Groups of a review page's export that nobody reviewed: left alone (:attr:`PlannedGroup.unreviewed`)."""
        return len(self.left_alone.get(LeftAlone.UNREVIEWED, ()))

    @property
    def through_links(self) -> list[str]:
        """Files reached through a followed symbolic link, left where they are (:attr:`PlannedGroup.through_links`)."""
        return self.left_alone.get(LeftAlone.THROUGH_LINK, [])

    def to_removal(self):
        """As a :class:`imagetwins.quarantine.Plan` whose moves check the scanned digests once more."""
        from imagetwins.quarantine import Plan

        return Plan([(f, n, k) for f, n, k, _ in self.moves], sorted({k for _, _, k, _ in self.moves}),
                    list(self.refused), expected={**self.keepers, **{f: d for f, _, _, d in self.moves}},
                    left_alone={why: list(files) for why, files in self.left_alone.items() if not why.whole_group})


def plan_document(result, decisions, root: str | os.PathLike, session=None) -> dict:
    """The ``find --json`` document of a :class:`~imagetwins.results.FindResult` and its keep decisions; ``session``:
    the run's (:class:`imagetwins.session.Session`), whose index is recorded where it is not the folder's cache
    (``index``: ``remove --plan`` reads the checks of the files against their keepers there)."""
    data = result.to_dict(pairs=False)  # (pairs grow with the square of a group: written only when asked)
    try:
        base = os.getcwd()
    except OSError:  # run from a working folder deleted since (every path it was given is absolute): the root
        base = str(Path(root).resolve())
    data = {"imagetwins_plan": PLAN_VERSION, "root": str(Path(root).resolve()), "scanned_as": os.path.abspath(root),
            "base": base, **data}
    recorded = index_record(session, root)
    if recorded is not None:
        data["index"] = recorded
    remembered = getattr(result, "decided", None)
    key_of = key_map(result) if remembered else {}
    review = needs_review(result.method)
    if review:  # (re-shots: a plan of this scan moves nothing until a person writes each group's keep)
        data["review_needed"] = review
    from imagetwins.keep import in_reference_folders

    keep_in = result.keep_policy[1] if result.keep_policy else ()
    for g, d, stays in zip(data["groups"], decisions, left_alone(result)):
        g["keep"] = d.keeper
        g["also_keep"] = d.keep[1:]
        reference = in_reference_folders(d.keep, keep_in) if keep_in else []
        if reference:  # (the keeper too: a keep edited to another file leaves a reference file where it is)
            g["reference"] = reference
        g["sha256"] = {f: completed_sha256(f, digest) for f, digest in g["sha256"].items()}
        # (so that an edit can be told from the suggestion: decided_by_person)
        g["suggested_keep"], g["suggested_also_keep"] = d.keeper, list(g["also_keep"])
        status = remembered.status(g["files"], key_of) if remembered else None
        if status is not None:  # every file of it was decided on earlier (imagetwins.decisions)
            g["remembered"] = status
            if status == "skip":
                g["skip"] = True
        if stays.group is LeftAlone.AWAITING_KEEPER:  # (the plan's way to say it: no keeper, review_needed)
            g["keep"] = None
        for why, files in stays.listed().items():  # (--follow-symlinks: found, and left where they are)
            if why.plan_field:
                g[why.plan_field] = files
    return data


def index_record(session, root: str | os.PathLike) -> dict | None:
    """The plan's ``index`` for a run whose session keeps its checks in an index other than the folder's cache (that
    one ``remove --plan`` opens by the folder): its absolute path and ``created`` stamp; None otherwise. What
    ``find --json`` and the review page's export (``find --db FILE --report``) write."""
    from imagetwins.index import default_cache_path

    index = getattr(session, "index", None)
    if index is None:
        return None
    path = os.path.abspath(index.path)
    try:
        if os.path.realpath(path) == os.path.realpath(default_cache_path(root)):
            return None
    except OSError:
        pass
    return {"path": path, "created": index.created(), "id": index.identity()}


class PlanIndex(NamedTuple):
    """A plan's ``index`` (:func:`plan_index`): the index file's absolute path, its ``created`` stamp and its ``id``
    (:meth:`imagetwins.index.Index.identity`; None: not recorded)."""

    path: str
    created: str | None
    id: str | None = None

    def names(self, opened) -> bool:
        """Whether the open index ``opened`` is the one recorded: its ``created`` stamp and ``id`` where the plan
        recorded them (an index made again in its place has others)."""
        return ((self.created is None or opened.created() == self.created)
                and (self.id is None or opened.identity() == self.id))


def plan_index(value, source: str | os.PathLike) -> PlanIndex | None:
    """A plan's top-level ``index`` field read (None where it has none), else :class:`PlanError` in one line: an
    object with the index file's absolute ``path`` and its ``created`` stamp (a string, or null)."""
    if value is None:
        return None
    path = value.get("path") if isinstance(value, dict) else None
    created = value.get("created") if isinstance(value, dict) else None
    made_as = value.get("id") if isinstance(value, dict) else None
    if not isinstance(path, str) or not os.path.isabs(path) or not all(v is None or isinstance(v, str)
                                                                         for v in (created, made_as)):
        raise PlanError(f"{source}: 'index' must be {{\"path\": the index file's absolute path, \"created\" and "
                        "\"id\": strings or null} (as 'find --db FILE --json' writes it; or delete the field: the "
                        "checks then come from the folder's cache, or are made now)")
    return PlanIndex(_name(path, "'index'", Path(source)), created, made_as)


#: how every output says that a group has no keeper until a person picks one (text, CSV, JSON's
#: ``review_needed``, the review page, ``remove --plan``)
NO_KEEPER_YET = LeftAlone.AWAITING_KEEPER.sentence


def left_alone(result) -> list[GroupLeftAlone]:
    """Per group of ``result`` (a :class:`~imagetwins.results.FindResult` with its keepers decided): what stays
    where it is without a decision, and why (:class:`LeftAlone`). A whole group awaits its keeper where the method's
    removal needs review (``Encoder.removal_needs_review``: re-shots) and no earlier decision covers it (the keep
    rule only *suggests* one); a file reached through a symbolic link the scan followed stays
    (:func:`imagetwins.keep.followed_through_links`). Every output asks this, so that none shows a keeper another
    writes as ``null``, nor moves a file another says stays."""
    from imagetwins.keep import followed_through_links

    awaiting = [False] * len(result.groups)
    if needs_review(result.method):
        remembered = getattr(result, "decided", None)
        key_of = key_map(result) if remembered else {}
        awaiting = [not remembered or remembered.status(g.files, key_of) is None for g in result.groups]
    out = []
    for g, waits in zip(result.groups, awaiting):
        linked = followed_through_links(result, g.files)
        out.append(GroupLeftAlone(LeftAlone.AWAITING_KEEPER if waits else None,
                                  {f: LeftAlone.THROUGH_LINK for f in g.files if f in linked}))
    return out


def awaiting_keeper(result) -> list[bool]:
    """Per group of ``result``: whether it has no keeper until a person picks one (:func:`left_alone`'s
    :attr:`LeftAlone.AWAITING_KEEPER`)."""
    return [stays.group is LeftAlone.AWAITING_KEEPER for stays in left_alone(result)]


def decided_by_person(group: dict, review_needed: bool = False) -> bool | None:
    """Whether a person decided a plan's group: the review page says so (``reviewed``: changed or accepted); in a
    ``find --json`` plan, a keep other than the one written (``suggested_keep``, or none where the method needs
    review), a skip not written for a group remembered as skipped, or a file marked ``not_duplicate``. None: the
    group says neither (a plan written before these fields)."""
    reviewed = group.get("reviewed")
    if isinstance(reviewed, bool):
        return reviewed
    if "suggested_keep" not in group:
        return None
    written = None if review_needed else group.get("suggested_keep")
    return bool(group.get("keep") != written or (group.get("skip") and group.get("remembered") != "skip")
                or group.get("not_duplicate") or group.get("also_keep") != group.get("suggested_also_keep"))


def needs_review(method: str) -> str | None:
    """Why ``method``'s groups must be decided by a person before anything of them moves
    (``Encoder.removal_needs_review``: re-shots), or None."""
    from imagetwins.encoders import get_encoder

    try:
        return get_encoder(method).removal_needs_review
    except ValueError:  # a method not registered in this process
        return None


def completed_sha256(path: str, digest: str) -> str:
    """The full SHA-256 where the scan only kept its first 32 hex digits (the cache and index do): the file
    is read again and its digest written only if it begins with the scanned one (else the file changed
    since, and the scanned prefix stays, which :func:`check_plan` will refuse). What the JSON plan and the CSV's
    ``sha256`` column write."""
    return str(Digest(digest).completed(path, _sha256))


def _paths(value, what: str, source: Path) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PlanError(f"{source}: {what} must be a list of paths")
    for v in value:
        _name(v, what, source)
    return value


#: the longest name a plan may give a file (characters): longer than any path a system takes (Linux's PATH_MAX is
#: 4,096 bytes, Windows' long paths 32,767 characters). A plan naming a file by 120 MiB of one letter was refused
#: file by file, each refusal printing the whole name: 126 MB written to the terminal, 0.9 GB peak.
PLAN_MAX_NAME = 32_767
#: how much of a name too long is shown in the one line that refuses it
_NAME_SHOWN = 80


def _name(path: str, what: str, source: Path) -> str:
    """``path`` if it can name a file at all, else :class:`PlanError`: a NUL byte, or a character the file
    system's encoding cannot write (a lone surrogate other than the escapes of undecodable bytes that
    ``find --json`` writes), made every os call on it raise instead of answer; a name longer than
    :data:`PLAN_MAX_NAME` names no file either (shown cut short)."""
    if len(path) > PLAN_MAX_NAME:
        raise PlanError(f"{source}: {what}: '{printable(path[:_NAME_SHOWN])}...' ({len(path):,} characters, longer "
                        f"than any path: {PLAN_MAX_NAME:,}) cannot be a file's name (an edited plan?)")
    try:
        ok = path and b"\0" not in os.fsencode(path)
    except UnicodeError:
        ok = False
    if not ok:
        raise PlanError(f"{source}: {what}: '{printable(path)}' cannot be a file's name (an edited plan?)")
    return path


class PlanFile(NamedTuple):
    """A plan file read once (:func:`read_plan`): its name and its JSON document, known to be an imagetwins plan.
    ``remove --plan`` reads the file once and passes this value on (:func:`load_plan`, its ``index``, ``method`` and
    ``merge_metadata``, :func:`imagetwins.folders.load_folder_plan`): a plan edited while it runs cannot have some of
    its fields taken from one version and some from another."""

    source: Path
    doc: dict

    def says(self, name: str):
        """The plan's top-level field ``name`` (None where it has none)."""
        return self.doc.get(name)

    def check_made_for(self, folder: str | os.PathLike) -> None:
        """:class:`PlanError` unless the plan's ``root`` is ``folder``'s real path, as the plan recorded it (a
        folder since replaced by a link to another one is not the same folder): a plan only changes the folder it
        was made of, and the person applying it names that folder."""
        root = self.doc.get("root")
        if not isinstance(root, str) or not os.path.isabs(root):
            raise PlanError(f"{self.source}: 'root' must be the scanned folder's absolute path")
        _name(root, "'root'", self.source)
        if Path(os.path.abspath(root)) != _real(folder):
            raise PlanError(f"{self.source} was made for the folder {root}, not for {folder}: nothing moved (a plan "
                            "only changes the folder it was made of, and you name that folder)")


def read_plan(path: str | os.PathLike) -> PlanFile:
    """Read a plan file, once: :class:`PlanFile`, else :class:`PlanError` in one line (cannot be read, not JSON, not
    an imagetwins plan). A FIFO, a device or a file over :data:`PLAN_MAX_BYTES` is refused without waiting
    (:func:`imagetwins.io.read_user_file`), one of more than :data:`PLAN_MAX_VALUES` JSON values before it is parsed,
    one of more than :data:`PLAN_MAX_GROUPS` groups before any is looked at."""
    from imagetwins.io import json_values, read_user_file
    from imagetwins.text import loads_json

    source = Path(path)
    try:
        text = read_user_file(source, max_bytes=PLAN_MAX_BYTES)
    except (OSError, UnicodeDecodeError) as exc:
        too_large = isinstance(exc, OSError) and exc.errno == errno.EFBIG  # (a plan, whatever else it is: refused)
        raise (PlanTooLarge if too_large else PlanError)(
            f"{source}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    values = json_values(text)
    if values > PLAN_MAX_VALUES:
        raise PlanTooLarge(f"{source}: too large a plan ({values:,} JSON values, more than the {PLAN_MAX_VALUES:,} a "
                           "plan may hold, ~400,000 files): refused; make plans of parts of the folder "
                           "(imagetwins find FOLDER/PART --json)")
    try:
        doc = loads_json(text)
    except json.JSONDecodeError as exc:
        raise PlanError(f"{source}: not JSON ({exc.msg}, line {exc.lineno})") from None
    del text
    if not isinstance(doc, dict) or doc.get("imagetwins_plan") != PLAN_VERSION:
        raise PlanError(f"{source}: not an imagetwins plan (write one with 'imagetwins find --json' "
                        "or the review page's Export decisions)")
    groups = doc.get("groups")
    if isinstance(groups, list):
        names = sum(len(g["files"]) for g in groups if isinstance(g, dict) and isinstance(g.get("files"), list))
        for count, most, what in ((len(groups), PLAN_MAX_GROUPS, "groups"), (names, PLAN_MAX_FILES, "files")):
            if count > most:
                raise PlanTooLarge(f"{source}: too large a plan ({count:,} {what}, more than the {most:,} a plan "
                                   "may hold): refused; make plans of parts of the folder (imagetwins find "
                                   "FOLDER/PART --json)")
    return PlanFile(source, doc)


def load_plan(path: str | os.PathLike | PlanFile,
              folder: str | os.PathLike | None = None) -> tuple[Path, list[PlannedGroup]]:
    """Read a plan file (or take one :func:`read_plan` read: the file is not read again): (scanned root, groups).
    Raises :class:`PlanError` on anything malformed.

    ``folder``: the folder the person applying the plan allows it to change. The plan's own ``root``
    (which an edit can point anywhere) must then be that folder's real path, as the plan recorded it
    (a folder since replaced by a link to another one is not the same folder), else :class:`PlanError`;
    pass ``folder`` to :func:`check_plan` as its ``root``. Paths under a name of that folder (``folder``
    as given, a symbolic link to it that the plan was made through) are then written under its real
    path, once, so that a folder scanned or named through a link to it works; below that folder no
    link is resolved (:func:`check_plan` refuses a file reached through one).
    """
    plan = path if isinstance(path, PlanFile) else read_plan(path)
    source, doc = plan
    root, base, scanned_as = doc.get("root"), doc.get("base"), doc.get("scanned_as")
    if not isinstance(root, str) or not os.path.isabs(root) or (base is not None and not isinstance(base, str)):
        raise PlanError(f"{source}: 'root' must be the scanned folder's absolute path")
    if scanned_as is not None and not (isinstance(scanned_as, str) and os.path.isabs(scanned_as)):
        raise PlanError(f"{source}: 'scanned_as' must be the scanned folder's absolute path")
    for value, what in ((root, "'root'"), (base, "'base'"), (scanned_as, "'scanned_as'")):
        if value is not None:
            _name(value, what, source)
    groups_in = doc.get("groups")
    if not isinstance(groups_in, list):
        raise PlanError(f"{source}: 'groups' must be a list")

    real = _real(folder) if folder is not None else None
    # the names of the folder, longest first: the folder as named, its real path and what the plan says it was
    # scanned as, where these lead to the same real folder (an edit cannot add another folder)
    names = sorted({os.path.abspath(n) for n in (folder, real, scanned_as)
                    if n is not None and real is not None and _real(n) == real}, key=len, reverse=True)

    def where(p: str) -> str:
        p = p if os.path.isabs(p) or not base else os.path.join(base, p)
        full = os.path.abspath(p)
        for name in names:  # under a name of the folder: under its real path (one link, the folder's own)
            if full == name or full.startswith(name.rstrip(os.sep) + os.sep):
                return os.path.normpath(os.path.join(str(real), os.path.relpath(full, name)))
        return p

    from_page = doc.get("source") == "review page"
    groups = []
    for n, g in enumerate(groups_in, 1):
        if not isinstance(g, dict):
            raise PlanError(f"{source}: group {n} is not an object")
        files = _paths(g.get("files"), f"group {n}'s files", source)
        keep = g.get("keep")
        if keep is not None and not isinstance(keep, str):
            raise PlanError(f"{source}: group {n}'s keep must be one path")
        if keep is not None:
            _name(keep, f"group {n}'s keep", source)
        not_duplicate = _paths(g.get("not_duplicate"), f"group {n}'s not_duplicate", source)
        leave = _paths(g.get("also_keep"), f"group {n}'s also_keep", source) + not_duplicate + \
            _paths(g.get("reference"), f"group {n}'s reference", source)
        stays = {why: _paths(g.get(why.plan_field), f"group {n}'s {why.plan_field}", source)
                 for why in LeftAlone if not why.whole_group and why.plan_field}
        digests = g.get("sha256") or {}
        if not isinstance(digests, dict) or not all(isinstance(v, str) for v in digests.values()):
            raise PlanError(f"{source}: group {n}'s sha256 must map paths to digests")
        for k in digests:
            _name(k, f"group {n}'s sha256", source)
        decided = decided_by_person(g, bool(doc.get("review_needed")))
        # (find --json writes them against the keeper it suggests, the review page against the keeper picked: a keep
        # edited away from the suggested one leaves them unsaid, since the pair with the new keeper was not marked)
        recoloured = _paths(g.get("recoloured"), f"group {n}'s recoloured", source)
        if "suggested_keep" in g and keep != g.get("suggested_keep"):
            recoloured = []
        # nobody reviewed it on the page: left alone, whatever keep/skip say (a page before 'unreviewed' wrote such a
        # group with its suggested keeper, and it moved)
        move_anyway = _paths(g.get("move_anyway"), f"group {n}'s move_anyway", source)
        unreviewed = g.get("unreviewed")
        if not isinstance(unreviewed, bool):  # (a page before the field: a group it calls not reviewed)
            unreviewed = from_page and decided is False
        groups.append(PlannedGroup(n, [where(f) for f in files], where(keep) if keep is not None else None,
                                   [where(f) for f in leave], bool(g.get("skip", False)) or unreviewed,
                                   {where(k): v for k, v in digests.items()}, [where(f) for f in not_duplicate],
                                   decided=False if unreviewed else decided, unreviewed=unreviewed,
                                   left_alone={why: [where(f) for f in fs] for why, fs in stays.items() if fs},
                                   recoloured=[where(f) for f in recoloured],
                                   move_anyway=[where(f) for f in move_anyway]))
    linked = doc.get("already_linked") or []
    if not isinstance(linked, list) or not all(isinstance(n, list) for n in linked):
        raise PlanError(f"{source}: 'already_linked' must be a list of lists of paths")
    names = {}
    for n, same in enumerate(linked, 1):
        same = [where(p) for p in _paths(same, f"already_linked {n}", source)]
        for p in same:
            names[p] = [o for o in same if o != p]
    for g in groups:  # (whether they are still one file is checked when the plan is applied: check_plan)
        g.linked = {f: names[f] for f in g.files if f in names}
    if folder is not None:  # (the real path the plan recorded, as recorded: a folder since made a link is not it)
        plan.check_made_for(folder)
    return Path(root), groups


class Unconfirmed(NamedTuple):
    """A file a plan would move that stays because no check confirms it a copy of its ``keeper``
    (:func:`not_copies_of_keepers`): its check gave a ``verdict`` that is no copy (a re-shot, unrelated), or,
    ``verdict`` None, no check could be made (``reason``: the file or the keeper could not be decoded)."""

    file: str
    keeper: str
    verdict: str | None
    reason: str = ""


class KeeperChecks(list):
    """What :func:`not_copies_of_keepers` gives: the :class:`Unconfirmed` files (a list, as before), and what the checks
    cost, so that ``remove --plan`` can say it plainly: ``read`` files whose check against their keeper was read from
    a store, ``checked`` files whose check was made now (their contents decoded: ``decoded`` files), and ``kept_in``
    where the checks made now were kept for the next run (the index or folder cache's path; None: nowhere, in memory
    for this run alone); ``unkept_in``: the store that was to keep them and did not (its warning says why);
    ``unkept_why``: why no store could keep them where one was there to read (the plan's index only read, the folder's
    cache not opened), None where there was none."""

    def __init__(self, items=(), read: int = 0, checked: int = 0, decoded: int = 0,
                 kept_in: str | None = None, unkept_in: str | None = None, unkept_why: str | None = None) -> None:
        super().__init__(items)
        self.read, self.checked, self.decoded, self.kept_in = read, checked, decoded, kept_in
        self.unkept_in, self.unkept_why = unkept_in, unkept_why


def not_copies_of_keepers(groups: Sequence[PlannedGroup], method: str | None, root: str | os.PathLike,
                          workers: int | None = None, index: PlanIndex | None = None,
                          cache: bool = True, hashed: dict | None = None,
                          threshold: float | None = None) -> KeeperChecks:
    """The files a plan would move with no check saying they are copies of the keeper it names; each is added to its
    group's ``leave`` (left where it is). Nothing moves without a verdict: every file to move whose bytes are not its
    keeper's is asked, in every group, for a method whose check gives verdicts (``copies``; a plan naming no method is
    asked as :data:`imagetwins.encoders.DEFAULT_METHOD`'s), whatever ``suggested_keep`` says: a keep edited away from
    the suggested one (a group is a star of copies around the keeper suggested, so another keeper may have a re-shot
    in it, joined only through a copy), a plan written before ``suggested_keep``, a review page's export edited
    afterwards, ``suggested_keep`` edited too. A pair's kept verdict is read from the folder's cache (the keep stage
    keeps each file's check against its keeper: a plan as ``find`` wrote it decodes nothing); a pair never checked
    is checked now (and kept there); a file or keeper that cannot be decoded gets no verdict and stays. A file the
    plan lists in ``move_anyway`` moves all the same (the review page's "Move anyway"; the page leaves such files
    itself), as does a byte copy of the keeper (equal recorded SHA-256, which :func:`check_plan` proves). A file or
    keeper :func:`check_plan` refuses however it looks (gone, not a regular file, outside ``root``, reached through a
    link, kept by another group, not the bytes recorded) is not asked: nothing outside the folder is read, and it is
    refused with its own reason. :class:`PlanError` where ``method`` is not one this process has (no check can be
    made).

    ``index``: the index the plan was made with (:func:`plan_index`, ``find --db``; or the one ``--db`` names): its
    kept checks are read instead of the folder's cache, and the checks made now are kept there for the next run where
    the plan recorded its ``id`` and it is still that index (:meth:`PlanIndex.names`) and can be written (a plan
    recording no ``id`` reads it only); one that cannot be read, or is not the one recorded, is said in one warning
    and the folder's cache serves. ``cache`` False (``--no-cache``): neither is read, and nothing is kept: every pair
    is checked now. The counts come with the answer (:class:`KeeperChecks`).

    Only a file and keeper that hold the bytes their group records are asked (SHA-256, as :func:`check_plan` takes it;
    ``hashed``: the digests it takes, shared with :func:`check_plan` so that each file is read once): a check is found
    and made by recorded content, so a path recorded with another file's digest (in its own group or another: one
    path, two records) had the check of the bytes it did not hold answer for another group's pair, and a file no
    check calls a copy of its keeper moved (an edited plan moved an unrelated picture as a copy of its keeper). A file
    whose bytes differ from its record when decoded (changed meanwhile) gets no verdict and stays.

    ``threshold``: the plan's (None: the method's default; :class:`PlanError` where it is none of the method's): a
    pair is a copy where its check matches at it (:meth:`imagetwins.scores.ScoreKind.verdict`, as every output says
    of a pair), not merely where no rule ruled it out: the kept verdict's "copy" means only "the confidence decides",
    and a hand-made group of two unrelated pictures (confidence 0) moved one as a copy of the other."""
    from imagetwins.encoders import DEFAULT_METHOD, get_encoder
    from imagetwins.pairscores import MemoryPairScores, checks_of
    from imagetwins.scores import Verdict
    from imagetwins.timing import stage

    try:
        encoder = get_encoder(method or DEFAULT_METHOD)
    except ValueError:  # (a plug-in not installed, a hand edit: no check can be made, and nothing moves without one)
        raise PlanError(f"the plan was made with the method {method!r}, which this imagetwins does not have (a "
                        "plug-in not installed?): nothing moved; install it, or run find again with a method it "
                        "has") from None
    if encoder.kind.match_verdict is None:
        return KeeperChecks()
    try:
        threshold = encoder.threshold_or_default(threshold)
    except (ValueError, TypeError) as exc:
        raise PlanError(f"its 'threshold' cannot be used: {exc}") from None
    # (a file the plan records with the keeper's very bytes is a copy of it, as check_plan moves it only while it has
    # them: 1,000 byte-identical copies of one photo, keep edited, checked 999 pairs, 18.6 s)
    # (a file or keeper check_plan refuses anyway, one that is gone, not a regular file, outside ``root`` or reached
    # through a link, is not asked: never read outside the folder, and refused with its own reason, not left here)
    placed: dict[str, bool] = {}
    hashed = {} if hashed is None else hashed

    def checkable(path: str, group: PlannedGroup) -> bool:
        if path not in placed:
            placed[path] = os.path.lexists(path) and _placed(path, root) is None
        # (where it lies first: nothing outside the folder is read; then its bytes, the group's record)
        return placed[path] and _unchanged(path, group.sha256, hashed) is None

    kept_by_groups = _kept(groups)  # (another group keeps it: check_plan refuses it for that, whatever its check says)
    asked = [(g, f) for g in groups if g.keep and g.keep in g.files for f in g.to_move
             if f not in g.move_anyway and not Digest(g.sha256.get(f)).same_content(g.sha256.get(g.keep))
             and os.path.realpath(f) not in kept_by_groups and checkable(g.keep, g) and checkable(f, g)]
    if not asked:
        return KeeperChecks()
    # each pair of contents once (a thousand byte copies of one edited copy: one check), by the recorded digests, which
    # every path asked was just found to hold (two groups recording one path differently: one of them is not asked)
    digests = {p: g.sha256[p] for g, f in asked for p in (f, g.keep)}
    content = {p: Digest(d).key or p for p, d in digests.items()}
    first: dict = {}
    for p in digests:
        first.setdefault(content[p], p)
    paths = list(first.values())  # (each content's first file: the one decoded where a check is made now)
    at = {c: k for k, c in enumerate(first)}
    row = {p: at[content[p]] for p in digests}
    content_pairs = list(dict.fromkeys((row[f], row[g.keep]) for g, f in asked))
    failed: dict[str, str] = {}
    decoded: list[str] = []

    def encode(rows: list[int]):
        named = [paths[r] for r in rows]
        decoded.extend(named)
        with stage("scan"):  # (--timings: the files decoded for a check, as a scan's; 'other' said modules loaded)
            enc = encoder.encode_files(named, workers=workers, warn=False)
        failed.update((content.get(str(x.path), str(x.path)), x.reason) for x in enc.failures)
        # (a file changed since its bytes were checked above: its pixels are not the content its pairs are asked of)
        held = [k for k, (p, d) in enumerate(zip(enc.paths, enc.digests))
                if Digest(digests[str(p)]).same_content(str(d))]
        changed = set(range(len(enc.paths))) - set(held)
        failed.update((content[str(enc.paths[k])], "it changed since the scan (SHA-256 differs)") for k in changed)
        paths_held = [enc.paths[k] for k in held]
        return (encoder.take(enc.encodings, np.array(held, np.int64)), [row[str(p)] for p in paths_held], paths_held,
                [str(enc.digests[k]) for k in held])

    store, closing, unkept_why = _score_store(root, encoder, index) if cache else (MemoryPairScores(), None, None)
    left = np.array([a for a, _ in content_pairs], np.int64)
    right = np.array([b for _, b in content_pairs], np.int64)
    content_digests = [digests[p] for p in paths]
    try:
        # the kept checks first, then the rest checked now: so that what was read and what was made can be said
        kept, kept_scores, kept_marks = checks_of(encoder, store, content_digests, left, right)
        rest = np.flatnonzero(~kept)
        found, marks = kept.copy(), np.zeros(len(content_pairs), np.uint8)
        scores = np.full(len(content_pairs), np.nan)
        marks[kept], scores[kept] = kept_marks, kept_scores
        if len(rest):
            made, made_scores, made_marks = checks_of(encoder, store, content_digests, left[rest], right[rest],
                                                      encode=encode, workers=workers)
            found[rest[made]], marks[rest[made]], scores[rest[made]] = True, made_marks, made_scores
        kept_in = getattr(store, "path", None) if not getattr(store, "readonly", True) else None
        unkept_in = None
        if kept_in is not None and len(rest) and made.any():  # (a store that could not keep them, locked past its
            # wait or full, warned so: the line said "kept in X for the next run" after that warning all the same)
            again, _, _ = checks_of(encoder, store, content_digests, left[rest[made]], right[rest[made]])
            if not again.all():
                kept_in, unkept_in = None, kept_in
    finally:
        if closing is not None:
            closing.close()
    kind = encoder.kind
    verdicts = dict(zip([p for p, ok in zip(content_pairs, found.tolist()) if ok],
                        zip((kind.verdict(float(sc), int(m), threshold) for sc, m in zip(scores[found].tolist(),
                                                                                         marks[found].tolist())),
                            scores[found].tolist())))
    was_kept = {p for p, ok in zip(content_pairs, kept.tolist()) if ok}
    read = sum((row[f], row[g.keep]) in was_kept for g, f in asked)
    out = KeeperChecks(read=read, checked=len(asked) - read, decoded=len(decoded),
                       kept_in=os.fspath(kept_in) if kept_in is not None and decoded else None,
                       unkept_in=os.fspath(unkept_in) if unkept_in is not None else None,
                       unkept_why=unkept_why if decoded else None)
    for g, f in asked:
        verdict, score = verdicts.get((row[f], row[g.keep]), (None, None))
        if verdict is Verdict.COPY:
            continue
        g.leave.append(f)
        if verdict is not None:
            out.append(Unconfirmed(f, g.keep, str(verdict)))
        elif score is not None:  # (checked: no rule against a copy, but no match at the threshold)
            out.append(Unconfirmed(f, g.keep, None, f"its check's {kind.format(score)} is short of the plan's "
                                                    f"threshold {kind.format(threshold).split()[-1]}"))
        else:
            why = failed.get(content[f]) or failed.get(content[g.keep])
            who = "the keeper" if content[f] not in failed and why else "it"
            out.append(Unconfirmed(f, g.keep, None,
                                   f"{who} could not be checked: {why or 'no check of the pair came back'}"))
    return out


def _score_store(root: str | os.PathLike, encoder, index: PlanIndex | None = None):
    """Where pair checks are kept: the plan's index where it recorded one and it is still that index (written where the
    plan recorded its ``id`` and it can be: :func:`_recorded_index`), else the folder's cache where a scan made one
    (and it, to close), else a store in memory (the checks are made again; ``remove --plan`` makes no cache). Last,
    why the checks made now cannot be kept where a store was there (:attr:`KeeperChecks.unkept_why`), else None."""
    import sqlite3

    from imagetwins.index import IndexFileError, default_cache_path, open_folder_cache
    from imagetwins.pairscores import MemoryPairScores

    if index is not None:
        recorded, only_read = _recorded_index(index, encoder)
        if recorded is not None:
            return recorded, recorded, only_read
    try:
        path = default_cache_path(root)
        if not path.is_file():
            return MemoryPairScores(), None, None
        cache = open_folder_cache(root, [encoder])
    except (IndexFileError, sqlite3.Error, OSError, ValueError) as exc:  # (it costs only the checks it would have kept)
        return MemoryPairScores(), None, f"the folder's cache could not be opened ({printable(_one_line(exc))})"
    return cache, cache, None


def _one_line(exc: BaseException) -> str:
    """An exception's reason in one line (an OSError's strerror, else its first line)."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text.splitlines()[0] if text.strip() else type(exc).__name__


def _recorded_index(index: PlanIndex, encoder) -> tuple:
    """The plan's index opened, or None with one warning saying why its checks are not read: it cannot be read as an
    index holding ``encoder``'s method (gone, a FIFO, a device, a folder, no index, another method or version), or it
    is another index than the one the plan recorded (another ``created`` stamp or ``id``). Opened to be written too
    where the plan recorded its random ``id`` (so that it is known to be that very index, as the decisions the plan
    remembers there: ``remove``'s ``_plan_decisions_index``) and it can be written: the checks made now are kept there,
    and the next run reads them instead of decoding the files again; read-only otherwise. Returned with why it is only
    read (None where it is written, or not opened)."""
    import sqlite3

    from imagetwins.index import Index, IndexFileError
    from imagetwins.io import warn_line

    unread = "the checks kept there are not read"
    if not os.path.lexists(index.path):
        warn_line(f"the index the plan was made with, {printable(index.path)}, is gone: {unread}")
        return None, None
    try:
        os.stat(index.path)
    except OSError as exc:  # (a link leading nowhere, or round in a loop)
        warn_line(f"the index the plan was made with, {printable(index.path)}, cannot be reached "
                  f"({exc.strerror or exc}): {unread}")
        return None, None
    try:
        opened = Index(index.path, methods=[encoder], readonly=True)
    except (IndexFileError, sqlite3.Error, OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or exc
        warn_line(f"the index the plan was made with cannot be read ({printable(str(why))}): {unread}")
        return None, None
    try:
        held = encoder.name in opened.stored_methods()
    except sqlite3.Error:
        held = False
    if not held:  # (an index of other methods: it keeps no check of this one)
        opened.close()
        warn_line(f"the index {printable(index.path)} holds no {encoder.name} encodings (nor their checks): "
                  "it is not read")
        return None, None
    if not index.names(opened):
        made = opened.created()
        opened.close()
        when = (f"made {printable(made or 'at no recorded time')}, the plan's {printable(index.created or '?')}"
                if made != index.created else "another index made at the same time")
        warn_line(f"{printable(index.path)} is not the index the plan was made with ({when}): the checks it keeps "
                  "are not read")
        return None, None
    only_read = f"the plan's index {printable(index.path)} was only read"
    if index.id is None:  # (a plan written before plans recorded it)
        return opened, f"{only_read} (the plan records no id for it: not known to be that very index)"
    # known to be the very index recorded (its random id): opened again to be written (nothing is written by opening
    # an index of ours, and no other file was opened so); one that cannot be written is read as it is
    try:
        writable = Index(index.path, methods=[encoder], readonly=None)
    except (IndexFileError, sqlite3.Error, OSError, ValueError) as exc:  # (a link to it: read only)
        return opened, f"{only_read} ({printable(_one_line(exc))})"
    try:
        same = not writable.readonly and index.names(writable)
    except sqlite3.Error:
        same = False
    (opened if same else writable).close()
    if same:
        return writable, None
    why = (f"it cannot be written: {printable(writable.unwritable)}" if writable.unwritable is not None else
           "it was changed while it was opened")  # (two names, a read-only file or disk: Index.unwritable)
    return opened, f"{only_read} ({why})"


def _real(path: str | os.PathLike) -> Path | None:
    """The real path (every link resolved), or None where it cannot be had (a link loop)."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return None


def _sha256(path: str) -> str:
    # the quarantine's own check: no link followed, FIFOs and devices refused without blocking
    from imagetwins.quarantine import sha256_file

    return sha256_file(path)


def _unchanged(path: str, digests: dict[str, str], hashed: dict | None = None) -> str | None:
    """None when ``path`` is the regular file with the scanned bytes, else why not. ``hashed``: digests already
    taken in this check, by path with the file's size, times and inode then (a keeper of 2,000 groups is read
    once, not 2,000 times: a 20 MB keeper cost 44-62 s)."""
    want = digests.get(path)
    if not want:
        return "the plan has no digest for it"
    if os.path.islink(path):
        return "it is a symbolic link now"
    try:
        size = os.lstat(path).st_size
        if size > DEFAULT_MAX_BYTES:  # (not read: a sparse 20 GB keeper took 81 s to hash; a terabyte, hours)
            return f"it is larger than any file a scan reads ({size:,} bytes > {DEFAULT_MAX_BYTES:,}): not the file " \
                   "scanned"
        got = _sha256_once(path, hashed) if hashed is not None else _sha256(path)
    except FileNotFoundError:
        return "it is gone"
    except OSError as exc:
        return f"cannot read it ({exc.strerror or exc})"
    # an index keeps the first 32 hex digits: at least that much must match
    return None if len(want) >= 32 and got.startswith(want) else "it changed since the scan (SHA-256 differs)"


def _sha256_once(path: str, hashed: dict) -> str:
    """:func:`_sha256`, taken again only when the file's size, mtime, ctime or inode moved since it was taken."""
    from imagetwins.index import file_state

    state = file_state(os.lstat(path))
    known = hashed.get(path)
    if known is not None and known[0] == state:
        return known[1]
    digest = _sha256(path)
    hashed[path] = (state, digest)
    return digest


def _inode(path: str) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _placed(path: str, root: str | os.PathLike) -> str | None:
    """None when ``path`` is a regular file inside ``root`` reached without links (what ``remove`` moves or
    keeps), else why not; a file that is gone is left to :func:`_unchanged` to say so."""
    from imagetwins.quarantine import why_not_movable

    return None if not os.path.lexists(path) else why_not_movable(path, [root])


def _kept(groups: Sequence[PlannedGroup]) -> set[str]:
    """The real paths some group keeps (its keeper, and what it leaves where it is): no group moves them."""
    return {os.path.realpath(p) for g in groups if not g.skip and g.keep for p in [g.keep, *g.leave]}


def check_plan(root: str | os.PathLike, groups: Sequence[PlannedGroup], hashed: dict | None = None) -> CheckedPlan:
    """Which moves of a plan are safe now.

    ``root`` is the folder the person applying the plan named (never the plan's own ``root`` field,
    which anyone may have edited: :func:`load_plan` checks that field against it).

    A group moves nothing when its keeper is missing, not among its files, outside ``root``, or not
    the scanned bytes any more. A file moves only when a group lists it, it is a regular file inside
    ``root`` reached without a symbolic link, is not kept by any group, and still has the scanned bytes.
    What the plan leaves alone is counted in ``left_alone`` by reason (:class:`LeftAlone`), never refused: a group
    with no keeper as ``find --json`` wrote it (re-shots, :func:`awaiting_keeper`), one nobody reviewed on the review
    page (its group number), a file a reason's field lists (``through_links``: reached through a followed link;
    an edit that lists another file there only keeps it). A plan nobody edited moves nothing and warns of nothing.
    ``hashed``: the digests already taken in this run (:func:`not_copies_of_keepers`'), each file read once.
    """
    real_root = Path(root).resolve()
    out = CheckedPlan(real_root)
    kept = _kept(groups)
    seen: set[str] = set()
    hashed = {} if hashed is None else hashed  # each file read once per check
    for g in groups:
        if g.unreviewed:
            out.left_alone.setdefault(LeftAlone.UNREVIEWED, []).append(g.number)
            continue
        if g.skip:
            out.skipped_groups += 1
            continue
        if g.keep is None and g.decided is False:  # as find wrote it (re-shots): for a person to choose, not refused
            out.left_alone.setdefault(LeftAlone.AWAITING_KEEPER, []).append(g.number)
            continue
        if g.keep is None:
            out.refused += [(f, f"group {g.number} has no keeper marked (a person sets its 'keep')")
                            for f in g.to_move or g.files]
            continue
        if g.keep not in g.files:
            out.refused += [(f, f"group {g.number}'s keeper {g.keep} is not one of its files") for f in g.files]
            continue
        leave = set(g.leave)
        for why, files in g.left_alone.items():  # (said once; only ever left where they are, whatever the keeper)
            out.left_alone.setdefault(why, []).extend(
                f for f in dict.fromkeys(files) if f in g.files and f not in leave and (f != g.keep or
                                                                                     why.keeper_refusal))
        why = _placed(g.keep, root) or _unchanged(g.keep, g.sha256, hashed)
        if why is not None:
            out.refused += [(f, f"its keeper {g.keep} cannot be trusted: {why}") for f in g.to_move]
            continue
        out.keepers[g.keep] = g.sha256[g.keep]
        kept_inode = _inode(g.keep)
        for f in g.to_move:
            real = os.path.realpath(f)
            if os.path.islink(f):
                out.refused.append((f, "it is a symbolic link now"))
            # (where it lies first: a name through a link to a folder, album/self/a.jpg with self -> ., is the very
            # file album/a.jpg, and was refused as "a hard link of the kept file", or skipped without a word)
            elif (why := _placed(f, root)) is not None:
                out.refused.append((f, why))
            elif kept_inode is not None and _inode(f) == kept_inode:  # (what apply_plan would refuse: say it now)
                out.refused.append((f, f"a hard link of the kept file {g.keep}: moving it frees nothing"))
            elif real in kept:
                out.refused.append((f, "another group keeps it"))
            elif real in seen:
                continue
            elif (why := _unchanged(f, g.sha256, hashed)) is not None:
                out.refused.append((f, why))
            else:
                seen.add(real)
                out.moves.append((f, g.number, g.keep, g.sha256[f]))
                for other in g.linked.get(f, ()):  # its other names go too, where they are still this very file
                    if os.path.realpath(other) not in seen | kept and _inode(other) == _inode(f) \
                            and not os.path.islink(other) and _placed(other, root) is None:
                        seen.add(os.path.realpath(other))
                        out.moves.append((other, g.number, g.keep, g.sha256[f]))
    return out
