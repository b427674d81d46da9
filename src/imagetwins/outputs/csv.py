"""CSV: one row per file in a group (its score against the keeper), or one row per match."""

from __future__ import annotations

import csv as _csv

from imagetwins.outputs._base import Format, Groups, Matches, Target
from imagetwins.plan import awaiting_keeper
from imagetwins.scores import ScoreKind
from imagetwins.text import csv_cell


def _write(target: Target, header: list[str], rows) -> None:
    # names that are not UTF-8 are written as their own bytes; formulas are neutralised (OWASP)
    with target.open() as fh:
        writer = _csv.writer(fh)
        writer.writerow(header)
        writer.writerows([csv_cell(v) for v in row] for row in rows)


def write_groups(what: Groups, target: Target) -> None:
    result = what.result
    # keep: 1 or 0, empty where the group has no keeper until a person picks one (re-shots: the JSON plan's null);
    # suggested_keep: the keep rule's choice (the JSON plan's suggested_keep)
    _write(target, ["group", "path", "exact", str(ScoreKind.of(result.score_kind)), "keep", "suggested_keep"],
           ([gi, path, int(g.exact), score, "" if awaiting else int(path in d.keep), int(path in d.keep)]
            for gi, (g, d, awaiting) in enumerate(zip(result.groups, what.decisions, awaiting_keeper(result)), 1)
            for path, score in zip(g.files, g.scores or [g.score_field()[1]] * len(g.files))))


def write_matches(what: Matches, target: Target) -> None:
    _write(target, ["query", "match", str(ScoreKind.of(what.result.score_kind))], what.result.rows())


FORMAT = Format(
    "csv", groups=write_groups, matches=write_matches, option="--csv",
    groups_help="Write one row per file in a group ('-' for stdout): group,path,exact,distance (similarity for "
                "vector methods, confidence for copies: the file's own score against its group's keeper),keep "
                "(1/0; empty where a person picks the keeper: -m similar),suggested_keep (1/0).",
    matches_help="Write one row per match ('-' for stdout): query,match,distance (or similarity, or confidence).")
