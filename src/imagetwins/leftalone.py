"""Why ``remove`` leaves a file of a group where it is although no decision keeps it: one value type,
:class:`LeftAlone`, holding what every output says of each reason (as :class:`imagetwins.scores.ScoreKind` holds
what a score means).

A group's keeper, its reference-folder files (``also_keep``) and the files a person said are no duplicates are
*kept*: decisions. A file *left alone* is one no decision keeps that ``remove`` does not move all the same, for a
reason that covers its whole group (no keeper until a person picks one; nobody reviewed the group) or that file
alone (reached through a followed symbolic link). :func:`imagetwins.plan.left_alone` says which, per group of a
scan; a plan carries them in each reason's field (:attr:`LeftAlone.plan_field`). Every writer says them through
this type: the text (``stays``), CSV (``keep`` 1, or empty for a whole group; its ``left_alone`` column: the key),
JSON and NDJSON (the plan fields), the review page (its badge; a file that can never be the keeper is offered no
*Keep this* and is refused the moment a person picks it) and ``remove`` (one line per reason). A new reason is one
entry here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

__all__ = ["LeftAlone", "GroupLeftAlone"]


class LeftAlone(Enum):
    """One reason a file stays where it is without a decision. Each entry: its key (the str written for it),
    whether it covers a whole group, the plan's field for it, why a person may not pick such a file as the
    keeper (None: they may), the sentence people read, and ``remove``'s line for it (:meth:`summary`)."""

    #: a method whose groups a person must decide (re-shots, ``-m similar``): the keep rule only suggests; the
    #: plan says it with ``"keep": null`` (and the document's ``review_needed``), so no field of its own
    AWAITING_KEEPER = ("awaiting_keeper", True, None, None, "no keeper until a person picks one",
                       "{count} left alone: {sentence} (set a group's 'keep' in the plan, or review them with "
                       "'imagetwins report')")
    #: the review page's export of a group nobody reviewed (open, or left alone for now in bulk): not remembered
    UNREVIEWED = ("unreviewed", True, "unreviewed", None, "nobody reviewed it on the review page",
                  "{count} nobody reviewed on the review page left alone, and not remembered (to move them as "
                  "suggested, accept them on the page: a, or the Accept buttons, then export again)")
    #: reached through a symbolic link a ``--follow-symlinks`` scan followed (:func:`imagetwins.keep.through_links`):
    #: ``remove`` never moves a file through a link, nor keeps one in place of another
    THROUGH_LINK = ("through_link", False, "through_links",
                    "remove never keeps such a file in place of another, so it cannot be this group's keeper (it "
                    "stays where it is all the same)",
                    "reached through a followed symbolic link",
                    "note: {count} {sentence} {stays|stay} where {it is|they are} (remove never moves a file "
                    "through a link, nor keeps one in place of another), e.g. {example}")

    def __new__(cls, key: str, whole_group: bool, plan_field: str | None, keeper_refusal: str | None,
                sentence: str, line: str) -> LeftAlone:
        obj = object.__new__(cls)
        obj._value_ = key
        obj.whole_group = whole_group  # the reason is the group's: every file of it stays
        obj.plan_field = plan_field  # the plan group's field (a list of paths, or true for a whole group)
        obj.keeper_refusal = keeper_refusal  # why a person may not keep such a file (the review page says it)
        obj.sentence = sentence
        obj._line = line
        return obj

    def __str__(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        """What the review page's badge and the text's mark say of a file left alone for this reason."""
        return f"stays: {self.sentence}"

    @property
    def note(self) -> bool:
        """Whether ``remove`` says it as a ``note:`` on standard error (else a line on standard output)."""
        return self._line.startswith("note: ")

    def summary(self, count: int, example: str = "") -> str:
        """``remove``'s one line for ``count`` groups (a whole group's reason) or files left alone for this reason;
        ``example``: one of those files."""
        unit = "group" if self.whole_group else "file"
        line = re.sub(r"\{([^{}|]*)\|([^{}|]*)\}", lambda m: m[1] if count == 1 else m[2], self._line)
        return line.format(count=f"{count} {unit}" + ("" if count == 1 else "s"), sentence=self.sentence,
                           example=example)


@dataclass(frozen=True)
class GroupLeftAlone:
    """What of one group stays where it is without a decision: ``group``, a reason covering every file of it, and
    ``files``, each file's own reason (a whole group's reason comes first: :meth:`of`)."""

    group: LeftAlone | None = None
    files: Mapping[str, LeftAlone] = field(default_factory=dict)

    def of(self, path: str) -> LeftAlone | None:
        """Why ``path`` stays where it is without a decision, or None."""
        return self.group or self.files.get(path)

    def listed(self) -> dict[LeftAlone, list[str]]:
        """The files of each file's reason, in the group's order: what a plan writes in the reason's field."""
        out: dict[LeftAlone, list[str]] = {}
        for path, why in self.files.items():
            out.setdefault(why, []).append(path)
        return out
