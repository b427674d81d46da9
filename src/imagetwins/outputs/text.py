"""The text on the terminal: each group with the file kept, or each new image with its matches."""

from __future__ import annotations

from imagetwins.outputs._base import Format, Groups, Matches, Target
from imagetwins.plan import left_alone
from imagetwins.scores import Mark
from imagetwins.text import counted, printable, told_apart


def score_text(kind: str, score: float, unit: str | None = None) -> str:
    """A match's score in words: ``3 bits``, ``cosine similarity 0.912``, ``confidence 0.970`` (``unit``: what the
    method calls its scores; default the kind's own word; :meth:`imagetwins.scores.ScoreKind.format`)."""
    from imagetwins.scores import ScoreKind

    kind = ScoreKind.of(kind)
    return f"{unit} {score:.3f}" if unit and kind.larger_is_closer else kind.format(score)


def _score_unit(result) -> str:
    """What ``result``'s method calls a score (``copies``: a verification confidence, not a similarity)."""
    unit = getattr(result, "score_unit", None)
    if isinstance(unit, str):
        return unit
    from imagetwins.encoders import get_encoder

    try:
        return get_encoder(result.method).score_unit
    except (ValueError, AttributeError):  # a method not registered in this process: its kind's own word
        from imagetwins.scores import ScoreKind

        return ScoreKind.of(result.score_kind).unit


def _bold(fh) -> object:
    tty = getattr(fh, "isatty", lambda: False)()
    return (lambda s: f"\x1b[1m{s}\x1b[0m") if tty else (lambda s: s)


def _byte_copies(g, first: str | None) -> dict[str, str]:
    """The files of a group that is not all one content which hold the very bytes of another of its files (the JSON
    plan's equal ``sha256``): each -> the words naming that file (``first``, the keeper or suggested one, when it is
    theirs; else the first file listed with them)."""
    out: dict[str, str] = {}
    sets, _ = g.byte_copy_sets()  # (each content once: a file's list of the others is n^2 for thousands of copies)
    for same in sets:  # (the keeper's content named after it, else after the first file listed with it)
        holder = g.files[min(same, key=lambda j: (g.files[j] != first, j))]
        for i in same:
            if g.files[i] != holder:
                out[g.files[i]] = "the keeper" if holder == first else holder
    return out


def write_groups(what: Groups, target: Target) -> None:
    result = what.result
    with target.open() as fh:
        bold = _bold(fh)
        decided = list(what.decided_earlier) or [False] * len(result.groups)
        for gi, (g, d, earlier, stays) in enumerate(zip(result.groups, what.decisions, decided,
                                                         left_alone(result)), 1):
            # (re-shots: the keep rule only suggests; the JSON plan's keep is null, the CSV's keep column empty)
            how = (f"{g.describe(result.score_unit, 'the suggested keeper')}; {stays.group.sentence}" if stays.group
                   else g.describe(result.score_unit))
            fh.write(bold(printable(f"group {gi}: {counted(len(g.files), 'file')}, {how}"
                                    + (" (decided earlier)" if earlier else ""))) + "\n")
            # (a file left alone for its own reason, reached through a followed link: 'stays', and why)
            marks = [("suggested" if path == d.keeper else "", "") if stays.group
                     else ("keep", "") if path in d.keep
                     else ("stays", f"  ({why.sentence})") if (why := stays.of(path)) is not None
                     else ("", "") for path in g.files]
            width = 9 if stays.group else max(4, *(len(m) for m, _ in marks))
            # (a group of copies holding byte copies too: which are, as the JSON plan's equal sha256 say)
            copies = _byte_copies(g, d.keeper)
            # (a colour variant of the keeper: compared after recolouring, scores.Mark.RECOLOURED)
            recoloured = set(g.recoloured)
            shown = told_apart(g.files)  # (café.png composed and decomposed: two files, shown as two)
            for path, (mark, reason) in zip(g.files, marks):
                same = copies.get(path)
                same = "" if same is None else ("  (byte-identical to the suggested keeper)" if stays.group and
                                                same == "the keeper" else f"  (byte-identical to {shown(same)})")
                colour = f"  ({Mark.RECOLOURED}: colours turned from the keeper's)" if path in recoloured else ""
                fh.write(printable(f"  {mark:<{width}}  {shown(path)}{reason}{same}{colour}") + "\n")


def write_matches(what: Matches, target: Target) -> None:
    result = what.result
    with target.open() as fh:
        bold = _bold(fh)
        unit = _score_unit(result)
        for q, ms in result.matches.items():
            shown = told_apart([q, *(p for p, _ in ms)])
            fh.write(bold(printable(shown(q))) + "\n")
            for p, s in ms:
                colour = f", {Mark.RECOLOURED}" if Mark.RECOLOURED.on(result.marks_of(q, p)) else ""
                same = ", byte-identical" if result.exact(q, p) else ""
                fh.write(printable(f"  = {shown(p)}  ({score_text(result.score_kind, s, unit)}{colour}{same})") + "\n")


FORMAT = Format("text", groups=write_groups, matches=write_matches)
