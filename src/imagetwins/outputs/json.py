"""JSON: for groups the decisions file (``remove --plan`` applies it, the review page exports it); for
matches each new image's matches. ``write_document`` writes any other document (``tune``, ``explain``)."""

from __future__ import annotations

from imagetwins.outputs._base import Format, Groups, Matches, Target
from imagetwins.results import write_json


def write_document(data: dict, target: Target, streamed=None, item_indent: int | None = 2) -> None:
    """``data`` as indented JSON; ``streamed`` (key, items) written one item at a time in place of ``data[key]``
    (bounded memory), each item as ``json.dumps(item, indent=item_indent)`` (:func:`results.write_json`)."""
    with target.open() as fh:
        write_json(data, fh, streamed, item_indent)


def write_groups(what: Groups, target: Target) -> None:
    from imagetwins.plan import plan_document

    # every pair one compact line: N copies of one picture make N(N-1)/2 of them
    write_document(plan_document(what.result, what.decisions, what.root, what.session), target,
                   ("pairs", what.result.pair_records()) if what.pairs else None, item_indent=None)


def write_matches(what: Matches, target: Target) -> None:
    # one query's matches at a time: N copies queried against M copies are N x M matches, every one listed
    write_document(what.result.to_dict(matches=False), target, streamed=("matches", what.result.match_entries()))


FORMAT = Format(
    "json", groups=write_groups, matches=write_matches, option="--json",
    groups_help="Write groups and unreadable files as JSON ('-' for stdout): the decisions file of "
                "'remove --plan'.",
    matches_help="Write each image's matches as JSON ('-' for stdout; key 'matches', each match: path, distance, "
                 "similarity or confidence, and where the method checked the pictures verdict (copy) and "
                 "recoloured (true: compared after recolouring, a colour variant of the match), then exact (true: "
                 "the two files hold the same bytes)).")
