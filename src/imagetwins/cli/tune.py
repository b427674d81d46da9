"""``imagetwins tune DIR``: which method and threshold suit labelled examples."""

from __future__ import annotations

from pathlib import Path

import click

from imagetwins.cli._common import (
    DEFAULT_METHOD,
    FolderPath,
    MethodChoice,
    OutputFile,
    echo,
    need_matplotlib,
    refuse_picture_over,
    show_progress,
    workers_option,
    write_json,
    writing,
)
from imagetwins.cli._outputs import file_option
from imagetwins.encoders import encoder_names

LARGE_LABELLED_GROUP = 20  # more files than this in one "set of duplicates" is most likely not a labelled set


def _others_named() -> str:
    """The methods -m adds to the hashes and the default (cnn or similar; a plug-in's too), for the help."""
    others = [n for n in encoder_names() if n not in encoder_names("bits") and n != DEFAULT_METHOD]
    return ", ".join(others[:-1]) + " or " + others[-1] if len(others) > 1 else "".join(others) or "another"


@click.command()
@click.argument("directory", type=FolderPath())
@click.option("--truth", type=click.Path(exists=True, path_type=Path),
              help="Ground truth: JSON ({file: [duplicates]} or a list of groups). Default: each sub-folder "
                   "of DIRECTORY is one group of duplicates.")
@click.option("--method", "-m", "methods", multiple=True, type=MethodChoice(),
              help=f"Also try this method (repeatable): every hash ({', '.join(encoder_names('bits'))}) is always "
                   f"tried, and {DEFAULT_METHOD}, what find uses by default; name {_others_named()} to add them "
                   "(slower).")
@click.option("--target-precision", type=click.FloatRange(0, 1), default=0.99, show_default=True,
              help="Recommend the highest recall at or above this precision (of the pairs of files find would put in "
                   "one group).")
@click.option("--plot", "plot_out", type=OutputFile(picture=True),
              help='Write a precision-recall plot (PNG; needs matplotlib: pip install "imagetwins[plot]").')
@file_option("json", help="Write every (method, threshold) point as JSON ('-' for stdout).")
@workers_option
@click.option("--quiet", "-q", is_flag=True, help="Print only the recommendation.")
def tune(directory: Path, truth: Path | None, methods: tuple[str, ...], target_precision: float,
         plot_out: Path | None, json_out: Path | None, workers: int | None, quiet: bool) -> None:
    """Pick a method and threshold from labelled examples of YOUR duplicates.

    Label a sample: put each set of duplicates in its own sub-folder (or write a JSON ground truth),
    leave unique images at the top level. Every hash, copies (the default method), and each method you
    add with -m, is tried at
    every threshold (each image is decoded once for all of them), scored on the groups find would make
    there: two files count as found when they are in one group (a re-shot is never a copy, whatever the
    threshold); the table shows each method's best point and the recommendation.

    \b
    Examples:
      imagetwins tune labelled/                       # sub-folders are the groups
      imagetwins tune sample/ --truth truth.json --plot pr.png --target-precision 0.995
      imagetwins tune labelled/ -m cnn                # the hashes, copies and the CNN side by side
    """
    from imagetwins.evaluation import load_ground_truth, sweep

    refuse_picture_over("--plot", plot_out, within=directory)
    if plot_out is not None:
        need_matplotlib(plot_out)
    try:
        ground_truth = load_ground_truth(truth if truth is not None else directory)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    # -m adds to the hashes and the default, never replaces them: without the default a user followed a hash's
    # recommendation away from a better default (its cost, measured: 450 ukbench images 2.2 -> 7.5 CPU s, --workers 1)
    tried = list(dict.fromkeys([*encoder_names("bits"), DEFAULT_METHOD, *methods]))
    result = sweep(ground_truth, directory, methods=tried,
                   target_precision=target_precision, workers=workers, progress=show_progress(quiet))
    if result.positives == 0:
        raise click.UsageError(
            f"the ground truth holds no duplicate pairs: nothing to tune against. Put each set of duplicates in "
            f"its own sub-folder of {directory} ({directory}/set1/a.jpg, {directory}/set1/a_copy.jpg, ...; unique "
            "images at the top level), or give --truth FILE")
    for path in result.unreadable:
        echo(f"warning: skipped unreadable {path}", err=True)
    largest = max(len(dups) + 1 for dups in ground_truth.values())
    if largest > LARGE_LABELLED_GROUP and truth is None:  # a photo library's year folders, not labelled sets
        echo(f"warning: a sub-folder of {directory} holds {largest} files that tune counts as copies of each "
             "other: tune reads each sub-folder as one set of duplicates (label a sample that way, or give "
             "--truth FILE)", err=True)
    if plot_out is not None:
        with writing(plot_out):
            result.plot(plot_out)
    if json_out is not None:
        write_json(result.to_dict(), json_out)
    if str(json_out) == "-":  # stdout holds the data alone
        return
    if quiet:
        rec = result.recommendation
        echo(f"--method {rec.method} --threshold {rec.threshold}" if rec else "no recommendation")
    else:
        click.echo(result.table())
