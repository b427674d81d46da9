"""``imagetwins explain A B``: every method's score for one pair."""

from __future__ import annotations

from pathlib import Path

import click

from imagetwins.cli._common import MethodChoice, OutputFile, echo, refuse_picture_over, write_json, writing
from imagetwins.cli._outputs import file_option
from imagetwins.text import printable


@click.command()
@click.argument("file_a", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("file_b", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--picture", "-p", type=OutputFile(picture=True), default=None,
              help="Save the matched features of the two images as a PNG (a method that verifies: copies).")
@file_option("json", help="Write the scores as JSON ('-' for stdout).")
@click.option("--method", "-m", "methods", multiple=True, type=MethodChoice(),
              help="Only these methods (repeat the option); default every method.")
def explain(file_a: Path, file_b: Path, picture: Path | None, json_out: Path | None, methods: tuple[str, ...]) -> None:
    """Why FILE_A and FILE_B are (or are not) called duplicates: every method's score for the pair.

    The verification (the feature matches and why the pair is or is not a copy) is shown for a method
    that verifies (copies, part of the default); -m phash alone prints the hash's distance only.

    \b
    Example:
      imagetwins explain photo.jpg shop/photo-cropped.jpg -p why.png
    """
    from imagetwins.explain import (
        check_picture_name,
        explain,
        match_picture,
        recoloured_line,
        verdict_reason,
        why_not_copies,
    )
    from imagetwins.io import ImageReadError

    if picture is not None:
        try:  # (-p why.jpg wrote PNG bytes under a JPEG's name)
            check_picture_name(picture)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--picture' / '-p'") from None

    refuse_picture_over("--picture", picture, read=[file_a, file_b])  # (`-p a.jpg` replaced the photo explained)

    try:
        found = explain(file_a, file_b, methods=list(methods) or None)
        v = found.verification
        if picture is not None:
            if v is None:
                raise click.UsageError(f"--picture draws what a verification matched, and none of "
                                       f"{', '.join(methods)} verifies: add -m copies")
            with writing(picture):  # /dev/full, a FIFO nobody reads, a full disk: one line naming it
                match_picture(file_a, file_b, picture, verification=v, records=found.rows)
    except ImageReadError as exc:
        raise click.ClickException(printable(f"{exc.path}: {exc.reason}")) from None
    except ImportError as exc:  # OpenCV (the [copies] extra) missing
        raise click.ClickException(str(exc)) from None
    scores = found.scores
    basis = found.score_basis  # (a hash-sure pair: its score is not the check's; both named)
    why = [] if v is None or basis else why_not_copies(v, found.verified_score)
    verdict, reason = (None, None) if v is None else verdict_reason(v, basis=basis)
    if json_out is not None:
        write_json({"a": str(file_a), "b": str(file_b), "scores": [s.to_dict() for s in scores],
                    "identical": found.identical,
                    "verification": None if v is None else v.to_dict(), "verdict": verdict, "verdict_reason": reason,
                    "why_not_copies": why}, json_out)
        if str(json_out) == "-":  # stdout holds the data alone
            return
    echo(str(file_a))
    echo(str(file_b))
    if found.identical == "same file":  # (every method's score said "duplicate": a file compared with itself)
        echo("  the same file: both names lead to one file (one inode); a file is never a duplicate of itself, "
             "so no method is asked")
        return
    elif found.identical == "byte-identical":
        echo("  byte-identical: two files holding the same bytes (SHA-256)")
    for s in scores:
        shown = f"{s.unit} {s.score:.3f}" if s.kind.larger_is_closer else s.kind.format(s.score)  # ("1 bit")
        rule = f">= {s.threshold:g}" if s.kind.larger_is_closer else f"<= {s.threshold:g}"
        echo(f"  {s.method:9s} {shown:18s} ({s.match_name} if {rule}): {s.match_name.upper() if s.duplicate else 'no'}")
        if s.basis:
            echo(f"  {'':9s} ({s.basis})")
    if v is None:
        return
    # (two agreements, each named by its NCC bar: the loose one rules the geometry, the close one the verdict)
    echo(f"  verification: {v.inliers} feature matches agree on one {'mirrored ' if v.mirrored else ''}"
               f"transform ({v.inlier_ratio:.0%} of matches); it covers {v.coverage_a:.0%} of the first image "
               f"and {v.coverage_b:.0%} of the second; "
               + (f"of the overlap {v.agreement:.0%} agrees loosely (NCC >= 0.5), {v.strict_agreement:.0%} closely "
                  "(NCC >= 0.8)" if v.compared else "the pictures were not compared cell by cell"))
    if any(v.cut_from_canvas):
        echo("  (checked on the picture cut out of its canvas: "
             + " and ".join(n for n, cut in zip(("the first image", "the second image"), v.cut_from_canvas) if cut)
             + ")")
    if v.overlay > 0:
        echo(f"  (overlays such as stickers or letters cover {v.overlay:.0%} of the compared picture: left out, "
             f"{v.strict_agreement:.0%} of the rest agrees closely)")
    if v.recoloured:  # (the mark a search keeps with the pair: scores.Mark.RECOLOURED, --colour-variants)
        echo(f"  {recoloured_line(v)}")
    echo(f"  verdict: {verdict}: {reason}")
    for line in why:
        echo(f"  why not a copy: {line}")
    if picture is not None:
        echo(f"  picture of the matches: {picture}")
