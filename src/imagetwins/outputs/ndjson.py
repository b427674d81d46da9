"""NDJSON (JSON Lines): one JSON object per line, written as each is ready, for tools that stream.

Groups: one object per group, the fields of a group in the JSON plan plus ``group`` (its number) and
``method``/``score_kind``. Matches: one object per image that has a match, as in the JSON's ``matches``.
"""

from __future__ import annotations

import json

from imagetwins.outputs._base import Format, Groups, Matches, Target


def write_groups(what: Groups, target: Target) -> None:
    from imagetwins.plan import plan_document

    result = what.result
    doc = plan_document(result, what.decisions, what.root)
    with target.open() as fh:
        for gi, group in enumerate(doc["groups"], 1):
            fh.write(json.dumps({"group": gi, "method": result.method, "score_kind": result.score_kind, **group})
                     + "\n")


def write_matches(what: Matches, target: Target) -> None:
    result = what.result
    with target.open() as fh:
        for q, ms in result.matches.items():
            fh.write(json.dumps({"query": q, "method": result.method, "score_kind": result.score_kind,
                                 "matches": [result.match_record(r, s, q) for r, s in ms]}) + "\n")


FORMAT = Format(
    "ndjson", groups=write_groups, matches=write_matches, option="--ndjson",
    groups_help="Write one JSON object per line, one per group ('-' for stdout): group, files, keep, also_keep, "
                "exact, max_distance (min_similarity, min_confidence), sha256, method, score_kind.",
    matches_help="Write one JSON object per line, one per image with a match ('-' for stdout): query, method, "
                 "score_kind, matches (each: path, "
                 "distance, similarity or confidence, and where the method checked the pictures verdict (copy) "
                 "and recoloured (true: compared after recolouring, a colour variant of the match), then exact "
                 "(true: the two files hold the same bytes)).")
