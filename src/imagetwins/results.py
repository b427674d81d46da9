"""What a search found, as groups: :class:`FindResult` and the step from matched pairs to groups.

Shared by the finder, the index and Dask, so none of them imports another for it.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

import numpy as np

from imagetwins import search
from imagetwins.digests import Digest
from imagetwins.encoders import Encoded, Encoder, Rows, get_encoder
from imagetwins.hardlinks import same_file
from imagetwins.io import ReadFailure, find_images
from imagetwins.pairscores import PairScoreStore, for_method
from imagetwins.placeholders import split_placeholders
from imagetwins.scores import CONFIDENCE, DISTANCE, SIMILARITY, ColourVariants, Mark, ScoreKind
from imagetwins.text import counted

__all__ = ["WEAKEST_MATCH", "DuplicateGroup", "FindResult", "QueryResult", "Scan", "colour_variants_apart",
           "groups_from_encodings", "match_query", "QueryMatches", "query_images", "result_from_pairs", "same_encoding",
           "score_pairs", "search_scan", "write_json"]


#: how each score kind names a group's weakest match in every output (JSON, CSV, report); kept for old
#: imports: it is :attr:`imagetwins.scores.ScoreKind.weakest_field`
WEAKEST_MATCH = {str(k): k.weakest_field for k in (DISTANCE, SIMILARITY, CONFIDENCE)}


def _digest_list(digests) -> list[Digest]:
    """The digests as a new list of :class:`Digest` (those already one kept as they are: a result made from another
    one at 100,000 files made 101,000 of them again each time, ~0.4 CPU s a find)."""
    out = list(digests)
    if not all(type(d) is Digest for d in out):
        out = [Digest(d) for d in out]
    return out


def _same_content(digests: Sequence[Digest], rows: Iterable[int]) -> list[list[int]]:
    """Of ``rows`` (places in ``digests``), the sets of two or more holding one content (equal content digests,
    compared on the first 128 bits an index keeps; an unknown digest is in none), each in the order of ``rows``: the
    byte copies a group's outputs mark (:meth:`DuplicateGroup.byte_copy_sets`) and ``--pairs`` writes once
    (:meth:`FindResult.byte_sets`)."""
    holders: dict[str, list[int]] = {}
    for i in rows:
        if digests[i].known:
            holders.setdefault(str(digests[i].prefix).lower(), []).append(i)
    return [h for h in holders.values() if len(h) > 1]


@dataclass
class DuplicateGroup:
    """Files that are duplicates of each other (connected by matches within the threshold).

    ``score`` is the group's weakest match: the largest distance (bits apart) for ``score_kind``
    ``"distance"``, the smallest similarity for ``"similarity"``. Once keepers are decided
    (:func:`imagetwins.keep.decide_result`) a group is a star: ``files[0]`` is the keeper, every other
    file matches it directly, ``scores`` holds each file's score against the keeper and ``score`` the
    farthest of them.
    """

    files: list[str]
    score: float
    exact: bool  # every file in the group is byte-identical
    score_kind: ScoreKind = DISTANCE
    digests: list[Digest] = field(default_factory=list)  # content digest of each file as scanned ('' if unknown)
    scores: list[float] = field(default_factory=list)  # each file's score against the keeper (star groups)
    #: each file's marks against the keeper (star groups; :class:`~imagetwins.scores.Mark` bits, 0 for the keeper);
    #: empty where the matches carry none
    marks: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.score_kind = ScoreKind.of(self.score_kind)
        self.digests = _digest_list(self.digests)

    @property
    def recoloured(self) -> list[str]:
        """The files compared with the keeper after recolouring (:data:`~imagetwins.scores.Mark.RECOLOURED`): colour
        variants of it (star groups; empty before the keepers are decided)."""
        return [f for f, m in zip(self.files, self.marks) if Mark.RECOLOURED.on(m)]

    @property
    def max_distance(self) -> int | None:
        """The largest distance of a match in the group (None for similarity groups)."""
        return None if self.score_kind.larger_is_closer else int(self.score)

    @property
    def min_similarity(self) -> float | None:
        """The smallest similarity of a match in the group (None for distance groups)."""
        return float(self.score) if self.score_kind.larger_is_closer else None

    def score_field(self) -> tuple[str, float]:
        """``(name, value)`` of the weakest match as outputs write it: ``max_distance`` or ``min_similarity``."""
        return self.score_kind.weakest_field, self.score_kind.value(self.score)

    def describe(self, unit: str | None = None, keeper: str = "the keeper") -> str:
        """One phrase for people: how close the files are (``unit``: what a similarity is called; default the
        score kind's own unit; ``keeper``: what the file the scores are taken against is called, e.g. "the
        suggested keeper" where a person picks the keeper)."""
        if self.exact:
            return "byte-identical files"
        to = f" to {keeper}" if self.scores else ""
        if self.score_kind.larger_is_closer:
            return f"{unit or self.score_kind.unit} >= {self.score:.3f}{to}"
        if self.score == 0:
            return "identical hashes"
        bits = self.score_kind.format(self.score)
        return f"up to {bits} from {keeper}" if self.scores else f"up to {bits} apart"

    def byte_copy_sets(self) -> tuple[list[list[int]], list[int | None]]:
        """The byte copies inside a group of edited copies, which every output marks (the text's "byte-identical
        to", the CSV's and JSON's equal ``sha256``, the review page's cards): the files of each content two or more
        files hold (equal content digests, compared on the first 128 bits an index keeps; each content once, in the
        group's order), and each file's place in that list (None: no other file holds its bytes, or its digest is not
        known). No sets for an exact group (every file is one). In a size linear in the group's: each file's list of the
        others would be n^2 numbers for thousands of byte copies."""
        of: list[int | None] = [None] * len(self.files)
        if self.exact or len(self.digests) != len(self.files):
            return [], of
        sets = _same_content(self.digests, range(len(self.files)))
        for k, h in enumerate(sets):
            for i in h:
                of[i] = k
        return sets, of


@dataclass(frozen=True)
class Scan:
    """The first stage of a run: the files read and what was made of them (frozen: no later stage changes it).

    ``encodings`` has one row per file of ``files`` (what the method made, from the file or the index),
    ``digests`` each file's content digest (:class:`~imagetwins.digests.Digest`: the full SHA-256 from a
    scan, the index's 128-bit prefix through an index or cache), ``failures`` the files that could not be
    read (or were left alone: links, FIFOs), with the reason.
    """

    method: str
    files: list[str]
    encodings: np.ndarray
    digests: list[Digest]
    failures: list[ReadFailure] = field(default_factory=list)
    #: the index (or per-folder cache) the encodings came from; None without one
    index_path: str | None = None
    #: the keep rules' facts of the scanned contents (content digest -> :class:`imagetwins.facts.ImageFacts`)
    facts: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.encodings) != len(self.files) or len(self.digests) != len(self.files):
            raise ValueError(f"a scan has one encoding and one digest per file: {len(self.files)} files, "
                             f"{len(self.encodings)} encodings, {len(self.digests)} digests")
        object.__setattr__(self, "digests", _digest_list(self.digests))


class NotDecided:
    """:attr:`FindResult.decisions` before the keep stage ran (:data:`NOT_DECIDED`, the one instance): false, and
    iterating, ``len`` or indexing it raises one ``TypeError`` saying how to have keepers chosen. (It was None, and
    the README's ``zip(result.groups, result.decisions)`` without ``keep=`` said "'NoneType' object is not
    iterable".)"""

    _one: NotDecided | None = None
    MESSAGE = ("no file to keep was chosen in this result's groups: imagetwins.find(..., keep='original') chooses "
               "one per group (the rules: imagetwins.keep.KEEP_RULES), as imagetwins.keep.decide_keepers(result) "
               "does for a result already found")

    def __new__(cls) -> NotDecided:
        if cls._one is None:
            cls._one = super().__new__(cls)
        return cls._one

    def __bool__(self) -> bool:
        return False

    def __iter__(self):
        raise TypeError(self.MESSAGE)

    def __len__(self) -> int:
        raise TypeError(self.MESSAGE)

    def __getitem__(self, key):
        raise TypeError(self.MESSAGE)

    def __reduce__(self) -> str:
        return "NOT_DECIDED"  # (pickled as this module's name: one instance in every process, Dask's too)

    def __repr__(self) -> str:
        return "NOT_DECIDED"


#: :attr:`FindResult.decisions` of a result whose keepers were not chosen (no ``keep=``): see :class:`NotDecided`
NOT_DECIDED = NotDecided()


@dataclass(frozen=True, repr=False)
class FindResult:
    """What a run found, stage by stage; frozen: a later stage makes a new result, never changes this one.

    The stages: the scan (``files``, ``hashes`` = the encodings, ``digests``, ``failures``: :attr:`scan`)
    -> the matches (``matches``: pairs with a :class:`~imagetwins.scores.ScoreKind`) -> the connected
    components (``components``) -> the keep decisions (``decisions``, made by :func:`imagetwins.keep.decide_keepers`,
    which returns a new result whose ``groups`` are stars around their keepers). ``groups`` is what the
    latest stage made: the components before the keepers are decided, the stars after.

    ``threshold`` and every score are in the method's terms (:attr:`score_kind`): bits apart
    (an int) or a cosine similarity or confidence (a float).

    ``matches`` are the matches the groups were built from. Files whose encodings are identical
    are searched once, as their first file (``same_as[i]`` is that file's index, for every file), so
    10,000 copies of one picture cost 10,000 matches, not 50 million: :attr:`pairs` and
    :meth:`iter_pairs` give every pair when asked.
    """

    method: str
    threshold: float
    files: list[str]
    hashes: np.ndarray
    matches: search.Pairs
    groups: list[DuplicateGroup]
    failures: list[ReadFailure] = field(default_factory=list)
    seconds: float = 0.0
    digests: list[Digest] = field(default_factory=list)  # content digest of each of ``files``; "" if unknown
    same_as: np.ndarray | None = None  # per file: the first file with the very same encoding (None: all differ)
    #: the index (or per-folder cache) the encodings came from, which also keeps costly pair scores (the
    #: review page's score table reuses them); None without one
    index_path: str | None = None
    #: the remembered decisions applied to this result (an :class:`imagetwins.decisions.Remembered`; None: none)
    decided: object | None = None
    #: the keep rules' facts of the scanned contents (content digest -> :class:`imagetwins.facts.ImageFacts`),
    #: taken from the scan's own decode or the cache: choosing keepers reads no file again for them
    facts: dict = field(default_factory=dict)
    #: wall seconds of each stage of the run that made it (``scan``, ``search``, ``verify``, ...; see
    #: :mod:`imagetwins.timing`); the CLI adds ``keep`` and ``output``
    timings: dict = field(default_factory=dict)
    #: names of one file (hard links) found in a group: the first stays in its group, the others left it (one
    #: file under several names is not a duplicate of itself: "already linked"; see imagetwins.hardlinks)
    already_linked: list[list[str]] = field(default_factory=list)
    #: copies ``remove --link clone`` left in moved files' places, found unchanged in a group: each list is a file
    #: that stays in its group, then the placeholders of it that left the group (handled already; see
    #: imagetwins.placeholders)
    placeholders: list[list[str]] = field(default_factory=list)
    #: the connected components of the matches (the groups before the keepers were decided); None: ``groups``
    components: list[DuplicateGroup] | None = None
    #: the keep stage (:func:`imagetwins.keep.decide_keepers`): one :class:`imagetwins.keep.Decision` per group, the
    #: rule, the reference folders and each file's :class:`imagetwins.keep.FileInfo` it was decided on; before it
    #: (``imagetwins.find`` without ``keep=``) :data:`NOT_DECIDED`, false, which says so when iterated
    decisions: list | NotDecided = NOT_DECIDED
    keep_policy: tuple | None = None  # (rule, reference folders, raw sidecars) the decisions were made with
    file_infos: dict | None = None
    #: the ``colour_variants`` choice the matches were taken under (:class:`~imagetwins.scores.ColourVariants`,
    #: :func:`colour_variants_apart`): a pair the keep stage checks later is a match under the same choice
    colour_variants: ColourVariants = ColourVariants.COPIES

    def __post_init__(self) -> None:
        object.__setattr__(self, "digests", _digest_list(self.digests))

    def __repr__(self) -> str:
        # a summary: the generated repr printed every file, digest, encoding row and file fact (megabytes for a
        # library, in a notebook cell or a log); the fields themselves hold the rest
        return (f"<FindResult {self.method}, threshold {self.threshold}: {counted(len(self.files), 'file')}, "
                f"{counted(len(self.groups), 'group')} holding {counted(self.files_in_groups, 'file')}, "
                f"{len(self.failures):,} unreadable, {self.seconds:.2f} s>")

    @property
    def encodings(self) -> np.ndarray:
        """The encodings searched, one row per file (``hashes``, by its older name)."""
        return self.hashes

    @property
    def scan(self) -> Scan:
        """The scan stage this result was found from."""
        return Scan(self.method, self.files, self.hashes, self.digests or [Digest()] * len(self.files),
                    self.failures, self.index_path, self.facts)

    def replace(self, **changes) -> FindResult:
        """A new result with ``changes`` (this one is left as it is)."""
        return dataclasses.replace(self, **changes)

    @property
    def score_kind(self) -> ScoreKind:
        return self.matches.kind

    @property
    def score_unit(self) -> str:
        """What a score is called for people (the kind's unit, as the method's :attr:`Encoder.score_unit`)."""
        try:
            return get_encoder(self.method).score_unit
        except ValueError:  # a method no longer registered in this process (e.g. a loaded result)
            return self.score_kind.unit

    @property
    def files_in_groups(self) -> int:
        return sum(len(g.files) for g in self.groups)

    @property
    def pairs(self) -> search.Pairs:
        """Every matching pair ``i < j`` with its score, sorted (N identical files make N(N-1)/2 of them)."""
        if self.same_as is None:
            return self.matches
        return search.Pairs.concat(list(self.iter_pairs())).sorted()

    def byte_sets(self) -> tuple[np.ndarray, list[list[int]]]:
        """Each file's stand-in (the first file holding its very bytes: equal content digests, compared on the first
        128 bits an index keeps; itself where no other file does or its digest is unknown), and the sets of two or
        more files of the groups holding one content, each in the files' order: what :meth:`pair_records` writes
        once. (A file in no group, such as a hard link's other name, stands for itself.)"""
        stand = np.arange(len(self.files), dtype=np.int64)
        grouped = {f for g in self.groups for f in g.files}
        sets = _same_content(self.digests, (i for i in range(len(self.digests)) if self.files[i] in grouped))
        for h in sets:
            stand[h] = h[0]
        return stand, sets

    def iter_pairs(self, chunk: int = 1 << 16, among: np.ndarray | None = None) -> Iterator[search.Pairs]:
        """Every matching pair, a chunk of about ``chunk`` pairs at a time (bounded memory), unordered. ``among`` (a
        bool per file): only the pairs of two such files, never making the others (2,000 byte copies of one photo
        are ~2 M pairs: :meth:`pair_records` asks only for each content's first file)."""
        if self.same_as is None:
            m = self.matches
            yield m if among is None else m.take(np.flatnonzero(among[m.left] & among[m.right]))
            return
        kind = self.matches.kind
        dtype = self.matches.score.dtype
        exact = kind.exact
        same_as = self.same_as
        order = np.argsort(same_as, kind="stable")
        cuts = np.flatnonzero(np.diff(same_as[order])) + 1
        members = {int(m[0]): m for m in np.split(order, cuts)}  # first file -> every file with its encoding
        if among is not None:
            members = {first: m[among[m]] for first, m in members.items()}

        def product(a: np.ndarray, b: np.ndarray, score, within: bool, mark: int = 0) -> Iterator[search.Pairs]:
            rows = max(1, chunk // max(1, len(b)))
            for r0 in range(0, len(a), rows):
                for k in range(r0, min(len(a), r0 + rows)):
                    other = b[k + 1:] if within else b
                    if len(other):
                        left, right = np.minimum(a[k], other), np.maximum(a[k], other)
                        yield search.Pairs(left.astype(np.int64), right.astype(np.int64),
                                           np.full(len(other), score, dtype), kind,
                                           np.full(len(other), mark, np.uint8) if mark else None)

        def batched(parts: Iterator[search.Pairs]) -> Iterator[search.Pairs]:
            buf, size = [], 0
            for p in parts:
                buf.append(p)
                size += len(p)
                if size >= chunk:
                    yield search.Pairs.concat(buf)
                    buf, size = [], 0
            if buf:
                yield search.Pairs.concat(buf)

        def every() -> Iterator[search.Pairs]:
            for m in members.values():  # files with the same encoding match each other exactly
                if len(m) > 1:
                    yield from product(m, m, exact, within=True)
            m = self.matches
            ca, cb = same_as[m.left], same_as[m.right]
            across = ca != cb
            seen: set[tuple[int, int]] = set()
            for a, b, s, mk in zip(ca[across].tolist(), cb[across].tolist(), m.score[across].tolist(),
                                   m.mark_bits[across].tolist()):
                key = (min(a, b), max(a, b))
                if key not in seen:  # (a digest match and a search match may join the same two encodings)
                    seen.add(key)
                    yield from product(members[a], members[b], s, within=False, mark=mk)

        yield from batched(every())

    def pair_records(self) -> Iterator[dict]:
        """Each match as ``{"a", "b", <score kind>: score}``, one at a time; with ``"verdict"`` where the method
        checked the pictures (the pair's own, :meth:`ScoreKind.verdict`: the verdict its marks carry; a match is a
        copy), and ``"marks"`` (e.g. ``["recoloured"]``,
        :class:`~imagetwins.scores.Mark`) where the pair carries any.

        Sets of files are written once, each one record of its first two files listing every file of the set (the
        record stands for each pair of them, all at the exact score), and every other record names only a set's
        first file, which stands for the set:

        - ``"byte_identical"``: files holding the very same bytes (:meth:`byte_sets`). 2,000 byte copies of one
          photo were ~2 M records (226 MB of JSON, 16 s); they are one.
        - ``"same_encoding"``: files with one encoding but other bytes (one picture saved with other metadata), each
          content by the first file holding it (a ``byte_identical`` set's first file stands for that set here too).

        To list every pair: each pair of a set's files, and each record's ``a`` and ``b`` for every file of the
        sets they are first of (a ``same_encoding`` set, then each of its files' ``byte_identical`` set)."""
        kind = self.score_kind
        name = str(kind)
        checked = kind.match_verdict is not None
        stand, sets = self.byte_sets()
        first = stand == np.arange(len(stand))
        encoded = self._same_encoding_sets(first)
        for same in encoded:
            first[same[1:]] = False
        for p in self.iter_pairs(among=first if sets or encoded else None):
            for i, j, d, m in zip(p.left.tolist(), p.right.tolist(), p.score.tolist(), p.mark_bits.tolist()):
                names = Mark.names(m)
                yield {"a": self.files[i], "b": self.files[j], name: kind.value(d),
                       **({"verdict": kind.verdict(d, m, None)} if checked else {}),
                       **({"marks": names} if names else {})}
        for field_name, of in (("same_encoding", encoded), ("byte_identical", sets)):
            for same in of:
                yield {"a": self.files[same[0]], "b": self.files[same[1]], name: kind.value(kind.exact),
                       **({"verdict": kind.verdict(kind.exact, 0, None)} if checked else {}),
                       field_name: [self.files[i] for i in same]}

    def _same_encoding_sets(self, among: np.ndarray) -> list[list[int]]:
        """The sets of two or more of the files ``among`` (a bool per file) sharing one encoding (``same_as``), each
        in the files' order."""
        if self.same_as is None:
            return []
        rows = np.flatnonzero(among)
        keys = self.same_as[rows]
        order = np.argsort(keys, kind="stable")
        cuts = np.flatnonzero(np.diff(keys[order])) + 1
        return [part.tolist() for part in np.split(rows[order], cuts) if len(part) > 1]

    def to_dict(self, pairs: bool = True) -> dict:
        """Plain data for JSON output; scores are written under their kind's name. ``pairs=False``
        leaves out the list of the pairs (:meth:`pair_records`: each byte-identical or same-encoding set one record,
        the others every pair: it grows with the square of the number of such sets in a group)."""
        data = {
            "method": self.method,
            "threshold": self.threshold,
            "score_kind": str(self.score_kind),
            "images": len(self.files),
            "unreadable": [{"path": f.path, "reason": f.reason} for f in self.failures],
            "groups": [{"files": g.files, "exact": g.exact, **dict([g.score_field()]),
                        "sha256": dict(zip(g.files, g.digests)),
                        **({"recoloured": g.recoloured} if g.recoloured else {})} for g in self.groups],
            "seconds": round(self.seconds, 3),
        }
        if self.already_linked:
            data["already_linked"] = self.already_linked
        if self.placeholders:
            data["placeholders"] = self.placeholders
        if pairs:
            data["pairs"] = list(self.pair_records())
        return data


_STREAMED = "\x00streamed here\x00"  # (a string no document holds: json.dumps writes it escaped)


def write_json(data: dict, out: TextIO, streamed: tuple[str, Iterable[dict]] | None = None,
               item_indent: int | None = 2) -> None:
    """``data`` as indented JSON (``json.dumps(data, indent=2)``), with one list streamed (bounded memory).

    Parameters
    ----------
    streamed
        (a key, its items): the list written one item at a time where ``data[key]`` stands (at the end when
        ``data`` has no such key); an empty list is written ``[]``, as ``json.dumps`` writes it.
    item_indent
        How each item is written: ``json.dumps(item, indent=item_indent)`` at the list's depth; 2 gives the
        text of ``json.dumps`` with the whole list there, None one compact line an item (a find's
        ``"pairs"``: N copies of one picture make N(N-1)/2 of them).
    """
    if streamed is None:
        out.write(json.dumps(data, indent=2) + "\n")
        return
    key, items = streamed
    items = iter(items)
    first = next(items, None)
    if first is None:
        out.write(json.dumps({**data, key: []}, indent=2) + "\n")
        return
    marker = json.dumps(_STREAMED)
    text = json.dumps({**data, key: [_STREAMED]}, indent=2)
    at = text.index(marker)
    line = text.rindex("\n", 0, at) + 1
    out.write(text[:line])
    for k, item in enumerate(itertools.chain([first], items)):
        out.write((",\n" if k else "") + textwrap.indent(json.dumps(item, indent=item_indent), text[line:at]))
    out.write(text[at + len(marker):] + "\n")


@dataclass(repr=False)
class QueryResult:
    """Outcome of checking new images against a reference (:func:`imagetwins.finder.find_against`).

    ``matches`` maps each query image that has a duplicate to its reference matches, closest first,
    each ``(reference path, score)``; scores are in the method's terms (:attr:`score_kind`).
    """

    method: str
    threshold: float
    score_kind: str
    images: list[str]
    reference: str
    reference_images: int
    matches: dict[str, list[tuple[str, float]]]
    failures: list[ReadFailure] = field(default_factory=list)
    seconds: float = 0.0
    #: reference images that could not be read (so could not be compared)
    reference_failures: list[ReadFailure] = field(default_factory=list)
    #: matches left out because a person marked the two "not a duplicate" in an earlier plan (imagetwins.decisions)
    set_aside: int = 0
    #: the marks of the matches that carry any (:class:`~imagetwins.scores.Mark` bits), by (query, reference path)
    marks: dict[tuple[str, str], int] = field(default_factory=dict)
    #: the matches whose two files hold the same bytes (SHA-256), as (query, reference path): the outputs say
    #: ``exact`` (a byte copy and an edited copy both score 1.0 with some methods)
    identical: set[tuple[str, str]] = field(default_factory=set)

    def __repr__(self) -> str:
        # a summary, as FindResult's: the generated one listed every query image
        return (f"<QueryResult {self.method}, threshold {self.threshold}: {len(self.matches):,} of "
                f"{counted(len(self.images), 'image')} with a duplicate among the {self.reference_images:,} of "
                f"{self.reference}, {len(self.failures):,} unreadable, {self.seconds:.2f} s>")

    def marks_of(self, query: str, path: str) -> int:
        """The marks of the match of ``query`` with ``path`` (0: none)."""
        return self.marks.get((query, path), 0)

    def exact(self, query: str, path: str) -> bool:
        """Whether ``query`` and its match ``path`` hold the same bytes (:attr:`identical`)."""
        return (query, path) in self.identical

    def missing_matches(self) -> list[str]:
        """Matched reference files that are no longer where the reference says: an index made before they
        were moved or deleted (its matches are kept, since a moved file may still be in the reference)."""
        return sorted({r for ms in self.matches.values() for r, _ in ms if not os.path.lexists(r)})

    def rows(self) -> list[tuple[str, str, float]]:
        """``(query, reference match, score)`` rows, by query, closest first."""
        return [(q, r, score) for q, ms in self.matches.items() for r, score in ms]

    def match_fields(self) -> list[str]:
        """The fields every output gives a match after its path (JSON and NDJSON keys, CSV columns): the score under
        its kind's name, then ``verdict`` (``"copy"``) and ``recoloured`` where the method checked the pictures
        (:attr:`ScoreKind.match_verdict`; a hash or vector only says two images look alike: no verdict), then
        ``exact`` (the two files hold the same bytes) for every method."""
        kind = ScoreKind.of(self.score_kind)
        return [str(kind)] + ([] if kind.match_verdict is None else ["verdict", str(Mark.RECOLOURED)]) + ["exact"]

    def match_values(self, score: float, marks: int = 0, exact: bool = False) -> list:
        """A match's values of :meth:`match_fields` (``marks``: the match's, :meth:`marks_of`; its verdict the one
        :meth:`ScoreKind.verdict` gives its marks; ``exact``: the two hold the same bytes, :meth:`exact`)."""
        kind = ScoreKind.of(self.score_kind)
        if kind.match_verdict is None:
            return [score, bool(exact)]
        verdict = kind.verdict(score, int(marks), None)  # (a listed match; its score rounded for the output)
        return [score, None if verdict is None else str(verdict), Mark.RECOLOURED.on(int(marks)), bool(exact)]

    def match_record(self, path: str, score: float, query: str | None = None) -> dict:
        """One match as the documents write it (JSON, NDJSON): ``path`` and :meth:`match_fields` (``query``: the
        image matched, whose match's marks and byte identity are said)."""
        marks, exact = (0, False) if query is None else (self.marks_of(query, path), self.exact(query, path))
        return {"path": path, **dict(zip(self.match_fields(), self.match_values(score, marks, exact)))}

    def match_entries(self) -> Iterator[dict]:
        """Each query image with a duplicate and its matches (:meth:`match_record`), one at a time."""
        for q, ms in self.matches.items():
            yield {"query": q, "matches": [self.match_record(r, score, q) for r, score in ms]}

    def to_dict(self, matches: bool = True) -> dict:
        """Plain data for JSON output; each match a :meth:`match_record`. ``matches=False``: ``"matches"`` left
        empty (:meth:`match_entries` gives them one query at a time: 1,000 copies queried against 1,000 copies are
        a million matches)."""
        return {"method": self.method, "threshold": self.threshold, "score_kind": self.score_kind,
                "images": len(self.images), "reference": self.reference, "reference_images": self.reference_images,
                "with_duplicates": len(self.matches),
                "unreadable": [{"path": f.path, "reason": f.reason} for f in self.failures],
                "reference_unreadable": [{"path": f.path, "reason": f.reason} for f in self.reference_failures],
                "matches": list(self.match_entries()) if matches else [],
                "seconds": round(self.seconds, 3)}


class QueryMatches(dict):
    """What :func:`match_query` gives: query path -> its matches ``[(reference path, score)]``, closest first (a
    ``dict``), and ``marks``: the marks of the matches that carry any, by (query, reference path)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.marks: dict[tuple[str, str], int] = {}


def match_query(encoder: str | Encoder, query_paths: Sequence[str], queries: np.ndarray, reference_paths: Sequence[str],
                reference: np.ndarray, threshold: float | None = None, workers: int | None = None,
                score_store: PairScoreStore | None = None, query_digests: Sequence[str] | None = None,
                reference_digests: Sequence[str] | None = None,
                colour_variants: str | ColourVariants | None = None) -> QueryMatches:
    """The one query step: each query that matches the reference -> its matches, closest first.

    Used by :meth:`imagetwins.index.Index.query`, :func:`imagetwins.finder.find_against` and so by
    ``find --against`` and ``index query``. A query never matches its own directory entry in the reference
    (overlapping folders: the same folder once resolved, the same name); a byte-identical other file, a hard
    link or a link to a reference file does (another name holding the picture: a leak).
    Scores are ints (bits apart) or floats (similarities, rounded to 4 places). With ``score_store`` and
    both sides' content digests, a method that keeps its pair scores (``copies``) reuses those stored there
    and keeps the new ones (:mod:`imagetwins.pairscores`). ``colour_variants``
    (:class:`~imagetwins.scores.ColourVariants`): ``apart`` leaves out the recoloured matches.
    """
    encoder = get_encoder(encoder)
    threshold = encoder.threshold_or_default(threshold)
    choice = ColourVariants.of(colour_variants)
    out = QueryMatches()
    if not len(query_paths) or not len(reference_paths):
        return out
    scores = for_method(encoder, score_store, query_digests, reference_digests) if reference_digests else None
    pairs = encoder.query(queries, reference, threshold, workers, query_paths=list(query_paths),
                          database_paths=list(reference_paths), pair_scores=scores)
    keeps = choice.keeps(pairs.marks)
    if keeps is not None:
        pairs = pairs.take(keeps)
    as_score = pairs.kind.value
    marks = pairs.mark_bits
    identity: dict[object, object] = {}  # only files that matched are looked at
    for k in np.lexsort((encoder.best_first(pairs.score), pairs.left)).tolist():
        query, found = query_paths[pairs.left[k]], reference_paths[pairs.right[k]]
        if _same_file(query, found, identity):
            continue  # the reference holds the query itself (overlapping folders): not a duplicate of itself
        out.setdefault(query, []).append((found, as_score(pairs.score[k])))
        if marks[k]:
            out.marks[(query, found)] = int(marks[k])
    return out


def query_images(encoder: str | Encoder, images: Sequence[str | os.PathLike] | str | os.PathLike,
                 reference_paths: Sequence[str], reference: Rows, threshold: float | None = None,
                 workers: int | None = None, progress: bool = False, recursive: bool = True,
                 score_store: PairScoreStore | None = None, reference_digests: Sequence[str] | None = None,
                 colour_variants: str | ColourVariants | None = None
                 ) -> tuple[QueryMatches, Encoded, list[ReadFailure]]:
    """The one query step of ``find --against``/``check`` and ``index query``: new images (a folder, walked as
    :func:`imagetwins.io.find_images` walks it; one file; or explicit files) encoded, never stored, and
    matched against reference rows (:func:`match_query`, with ``colour_variants``).

    Returns (matches, the images' :class:`~imagetwins.encoders.Encoded`, the links, FIFOs and devices left
    alone among them: reported, never read).
    """
    encoder = get_encoder(encoder)
    skipped: list[ReadFailure] = []
    if isinstance(images, (str, os.PathLike)):
        p = Path(images)
        files = find_images(p, recursive=recursive, skipped=skipped) if p.is_dir() else [p]
    else:
        files = [Path(f) for f in images]
    enc = encoder.encode_files(files, workers=workers, progress=progress, warn=False)
    matches = match_query(encoder, enc.paths, enc.encodings, reference_paths, reference, threshold, workers,
                          score_store=score_store, query_digests=enc.digests, reference_digests=reference_digests,
                          colour_variants=colour_variants)
    return matches, enc, skipped


def _same_file(a: str, b: str, identity: dict[object, object]) -> bool:
    """Whether two paths name one directory entry: the same folder once resolved, and the same name in it.

    That is the overlap of two folders (``find ml -r --against ml/train``: train's own files are not duplicates
    of themselves). Two entries of one file (a hard link, or a link to the file, in the query folder) are two
    names in two collections, and the query's is a real match: a test image hard-linked from the training set is
    the leak a check is run to find (they were left out as "the same file" before). ``identity`` caches each
    path's entry and each folder's resolved path: a folder is resolved once, never a path per match (a million
    matches resolving both paths spent 40 of their 50 CPU s in ``realpath``)."""
    return _entry(a, identity) == _entry(b, identity)


def _entry(path: str, identity: dict[object, object]) -> object:
    entry = identity.get(path)
    if entry is None:
        folder, name = os.path.split(os.path.abspath(path))
        resolved = identity.get(("folder", folder))
        if resolved is None:
            resolved = identity[("folder", folder)] = os.path.realpath(folder)
        entry = identity[path] = (resolved, name)
    return entry


def groups_from_encodings(
    paths: Sequence[str],
    hashes: np.ndarray,
    digests: Sequence[str],
    method: str | Encoder = "phash",
    threshold: float | None = None,
    workers: int | None = None,
    progress: bool = False,
    score_store: PairScoreStore | None = None,
) -> FindResult:
    """Search encodings already made (by an encoder or an index) for groups.

    Byte-identical files (equal ``digests``) are always grouped, whatever the threshold. With
    ``score_store`` (an index), a method that keeps its pair scores (``copies``) reuses those stored there
    and keeps the new ones (:mod:`imagetwins.pairscores`).
    """
    encoder = get_encoder(method)
    threshold = encoder.threshold_or_default(threshold)
    paths = list(paths)
    same_as = encoder.same_rows(hashes, digests)
    if same_as is None:
        pairs = encoder.pairs(hashes, threshold, workers=workers, progress=progress, paths=paths,
                              pair_scores=for_method(encoder, score_store, list(digests)))
    else:  # search each encoding once: N copies of one picture are one group, not N^2/2 pairs
        firsts = np.flatnonzero(same_as == np.arange(len(same_as)))
        found = encoder.pairs(encoder.take(hashes, firsts), threshold, workers=workers, progress=progress,
                              paths=[paths[i] for i in firsts],
                              pair_scores=for_method(encoder, score_store, [digests[i] for i in firsts]))
        pairs = search.Pairs(firsts[found.left], firsts[found.right], found.score, found.kind, found.marks)
    return result_from_pairs(paths, hashes, digests, pairs, encoder, threshold, same_as=same_as)


def score_pairs(result: FindResult, left: np.ndarray, right: np.ndarray, store: PairScoreStore | None = None,
                workers: int | None = None) -> search.Pairs | None:
    """The scores of pairs of ``result``'s files (``left[k]``, ``right[k]``) that its search did not return, as
    its method scores them (:meth:`Encoder.score_pairs`: ``copies`` checks them now, its confidences kept in
    ``store``), or None: the method's search returned every pair within the threshold (a hash's, a vector's), or
    the method is not registered here."""
    try:
        encoder = get_encoder(result.method)
    except ValueError:  # (a result made elsewhere, with a method this process does not know)
        return None
    pair_scores = for_method(encoder, store, [str(d) for d in result.digests]) if result.digests else None
    return encoder.score_pairs(result.hashes, np.asarray(left, np.int64), np.asarray(right, np.int64),
                               workers=workers, paths=result.files, pair_scores=pair_scores)


def search_scan(scan: Scan, method: str | Encoder | None = None, threshold: float | None = None,
                workers: int | None = None, progress: bool = False,
                score_store: PairScoreStore | None = None) -> FindResult:
    """The matches and groups of a :class:`Scan` (the scan is left as it is): :func:`groups_from_encodings`
    with the scan's failures and index carried into the result."""
    result = groups_from_encodings(scan.files, scan.encodings, scan.digests, method or scan.method, threshold,
                                   workers, progress, score_store=score_store)
    return result.replace(failures=list(scan.failures), index_path=scan.index_path, facts=scan.facts)


def same_encoding(encodings: np.ndarray) -> np.ndarray | None:
    """For each row of an array of encodings, the index of the first row with exactly the same encoding; None
    when all differ (a method's own rule, columns included: ``Encoder.same_rows``)."""
    return search.first_of_equal_rows(encodings)


def result_from_pairs(paths: Sequence[str], encodings: np.ndarray, digests: Sequence[str], pairs: search.Pairs,
                      method: str | Encoder, threshold: float, same_as: np.ndarray | None = None) -> FindResult:
    """Groups from matches found on one machine or on a cluster, byte-identical files added.

    ``same_as`` (see :func:`same_encoding`) says which files share an encoding when ``pairs`` were
    searched among the first file of each encoding only.
    """
    encoder = get_encoder(method)
    kind = pairs.kind
    if kind != encoder.kind:
        raise ValueError(f"{encoder.name} scores by {encoder.score_kind}, but its search gave {kind} pairs")
    paths = list(paths)
    digests = [Digest(d) for d in digests]
    # Byte-identical files hash alike, so they are already among the pairs; the digest pass adds the
    # "exact" label and keeps them grouped even at threshold 0 under any future hash.
    exact = search.equal_key_pairs(digests)  # (a file whose digest is not known: none)
    exact = search.Pairs(exact.left, exact.right, np.full(len(exact), encoder.exact_score, pairs.score.dtype), kind)
    merged = search.union_pairs(pairs, exact)
    n = len(paths)
    if same_as is not None:  # each file joined to the first file with its encoding, an exact match
        others = np.flatnonzero(same_as != np.arange(n))
        star = search.Pairs(same_as[others], others, np.full(len(others), encoder.exact_score, pairs.score.dtype),
                            kind)
        merged = search.union_pairs(merged, star)
    labels = search.connected_components(n, merged.left, merged.right)
    # the weakest match inside each group (not its diameter, which may be weaker)
    group_score = np.full(n, float(kind.exact), dtype=np.float64)
    kind.weaker.at(group_score, labels[merged.left], merged.score.astype(np.float64))
    groups = []
    for members in search.groups_from_labels(labels):
        same_bytes = len({digests[i] for i in members}) == 1 and bool(digests[members[0]])
        score = float(group_score[labels[members[0]]])
        groups.append(DuplicateGroup([paths[i] for i in members], score if not kind.whole else int(score), same_bytes,
                                     kind, [digests[i] for i in members]))
    groups, linked = split_hard_links(groups)
    groups, placeholders = split_placeholders(groups)
    return FindResult(encoder.name, threshold, paths, encodings, merged, groups, digests=digests, same_as=same_as,
                      already_linked=linked, placeholders=placeholders)


def colour_variants_apart(result: FindResult, colour_variants: str | ColourVariants | None) -> FindResult:
    """``result`` under ``colour_variants`` (:class:`~imagetwins.scores.ColourVariants`, validated there): as it is
    for ``copies`` (the default); for ``apart`` the recoloured matches (:data:`~imagetwins.scores.Mark.RECOLOURED`)
    dropped and the groups made again (a shop's colour variants are not copies). Byte copies stay grouped."""
    choice = ColourVariants.of(colour_variants)
    keeps = choice.keeps(result.matches.marks)
    if keeps is None or keeps.all():
        return result if result.colour_variants is choice else result.replace(colour_variants=choice)
    new = result_from_pairs(result.files, result.hashes, result.digests, result.matches.take(keeps), result.method,
                            result.threshold, same_as=result.same_as)
    return new.replace(failures=result.failures, seconds=result.seconds, index_path=result.index_path,
                       decided=result.decided, facts=result.facts, timings=result.timings, colour_variants=choice)


def split_hard_links(groups: Sequence[DuplicateGroup]) -> tuple[list[DuplicateGroup], list[list[str]]]:
    """Groups with one name per file (:mod:`imagetwins.hardlinks`): the other names of a file (hard links) leave
    the group, and a group left with one file goes. Returns (groups, the names of each file that had several,
    the one kept in its group first)."""
    out, linked = [], []
    for g in groups:
        clusters = same_file(g.files)
        if not clusters:
            out.append(g)
            continue
        linked += [[g.files[i] for i in c] for c in clusters]
        extra = {i for c in clusters for i in c[1:]}
        keep = [i for i in range(len(g.files)) if i not in extra]
        if len(keep) < 2:
            continue  # every name of the group is one file: already linked, nothing to remove
        digests = [g.digests[i] for i in keep] if g.digests else []
        out.append(replace(g, files=[g.files[i] for i in keep], digests=digests,
                           scores=[g.scores[i] for i in keep] if g.scores else [],
                           exact=bool(digests) and len(set(digests)) == 1 and bool(digests[0])))
    return out, linked
