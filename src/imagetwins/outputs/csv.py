"""CSV: one row per file in a group (its score against the keeper), or one row per match."""

from __future__ import annotations

import csv as _csv

from imagetwins.outputs._base import Format, Groups, Matches, Target
from imagetwins.plan import completed_sha256, left_alone
from imagetwins.scores import Mark, ScoreKind
from imagetwins.text import csv_cell


def _write(target: Target, header: list[str], rows) -> None:
    # names that are not UTF-8 are written as their own bytes; formulas are neutralised (OWASP)
    with target.open() as fh:
        writer = _csv.writer(fh)
        writer.writerow(header)
        writer.writerows([csv_cell(v) for v in row] for row in rows)


def _keep_cell(path: str, kept, stays) -> int | str:
    """1 where ``path`` stays where it is (kept, or left alone for a file's own reason: reached through a followed
    link, the JSON plan's through_links), 0 where it moves, empty where its whole group is left alone (no keeper
    until a person picks one, re-shots: the JSON plan's null)."""
    if stays.group is not None:
        return ""
    return int(path in kept or stays.of(path) is not None)


def _left_alone_cell(path: str, stays) -> str:
    """Why ``path`` stays where it is without a decision: the reason's key (:class:`imagetwins.leftalone.LeftAlone`:
    ``through_link``, ``awaiting_keeper`` on every file of such a group), empty for a file kept or moved."""
    why = stays.of(path)
    return "" if why is None else why.value


def write_groups(what: Groups, target: Target) -> None:
    result = what.result
    # suggested_keep: the keep rule's choice (the JSON plan's suggested_keep); left_alone: why a file stays without a
    # decision (the JSON plan's fields for it, the review page's badge); sha256: the JSON plan's (equal in two rows of
    # a group of edited copies: byte copies, which the text marks "byte-identical to"); recoloured (a method that
    # checks the pictures: copies): 1 for a file compared with its keeper after recolouring (a colour variant:
    # scores.Mark.RECOLOURED)
    kind = ScoreKind.of(result.score_kind)
    marked = kind.match_verdict is not None
    _write(target, ["group", "path", "exact", str(kind), "keep", "suggested_keep", "left_alone", "sha256"]
           + ([str(Mark.RECOLOURED)] if marked else []),
           ([gi, path, int(g.exact), score, _keep_cell(path, d.keep, stays), int(path in d.keep),
             _left_alone_cell(path, stays), completed_sha256(path, digest)]
            + ([int(Mark.RECOLOURED.on(mark))] if marked else [])
            for gi, (g, d, stays) in enumerate(zip(result.groups, what.decisions, left_alone(result)), 1)
            for path, score, digest, mark in zip(g.files, g.scores or [g.score_field()[1]] * len(g.files),
                                                 g.digests or [""] * len(g.files), g.marks or [0] * len(g.files))))


def write_matches(what: Matches, target: Target) -> None:
    result = what.result  # the fields of a match as JSON and NDJSON give them: score, verdict where checked
    _write(target, ["query", "match", *result.match_fields()],
           ([q, r, *(int(v) if isinstance(v, bool) else v
                     for v in result.match_values(score, result.marks_of(q, r), result.exact(q, r)))]
            for q, r, score in result.rows()))


FORMAT = Format(
    "csv", groups=write_groups, matches=write_matches, option="--csv",
    groups_help="Write one row per file in a group ('-' for stdout): group,path,exact (1: the whole group holds "
                "one file's bytes; byte copies in a group of edited copies share a sha256 instead),distance "
                "(similarity for vector methods, confidence for copies: the file's own score against its group's "
                "keeper),keep "
                "(1: stays where it is, kept or reached through a followed symbolic link; 0: moves; empty where a "
                "person picks the keeper: -m similar),suggested_keep (1/0),left_alone (why a file stays without a "
                "decision: through_link, reached through a followed symbolic link; awaiting_keeper, a person picks "
                "the keeper; empty otherwise),sha256 (of the file's bytes, as the JSON plan's: equal for byte "
                "copies), and for copies recoloured (1: compared with the keeper after recolouring, a colour "
                "variant of it; 0 otherwise).",
    matches_help="Write one row per match ('-' for stdout): query,match,distance (or similarity, or confidence), "
                 "and where the method checked the pictures (copies) verdict (copy) and recoloured (1: compared "
                 "after recolouring, a colour variant of the match; 0 otherwise), then exact (1: the two files hold "
                 "the same bytes; 0 otherwise).")
