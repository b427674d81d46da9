"""``imagetwins check TEST --against TRAIN``: a leak check for pipelines (library: :func:`imagetwins.check.check`).

Exit 0: complete and no leak; 3: a test image duplicates the reference; 1: the check was incomplete
(nothing read in a folder, or a test image unreadable). ``find TEST --against TRAIN`` runs the same code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from imagetwins import outputs
from imagetwins.cli._common import (
    EXIT_DUPLICATES,
    EXIT_ERROR,
    check_threshold,
    colour_variants_option,
    echo,
    method_option_with,
    no_cache_option,
    note_threshold,
    quiet_option,
    recursive_option,
    reference_method,
    refuse_colour_variants,
    say_timings,
    show_progress,
    threshold_option,
    timings_option,
    workers_option,
)
from imagetwins.cli._outputs import Requested, output_options, write_text
from imagetwins.cli._scan import warn_skipped
from imagetwins.cli.decisions import check_ignore_decisions_option, load_remembered
from imagetwins.text import counted, printable

if TYPE_CHECKING:
    from imagetwins.results import QueryResult


def summary(test: Path, against: Path, result: QueryResult, method: str, unreadable: int) -> str:
    """The line that closes a check's text, ``find --against``'s and an index query's, the same words for the same
    thing (the query said "1 match: x.jpg has a duplicate ..." where check said "1 of 1 image in x.jpg ..."): how
    many matches, how many images of ``test`` have a duplicate among how many of ``against``, with the method and
    threshold, and what could not be read."""
    reference = f"the {counted(result.reference_images, 'image')} of {against} ({method}, threshold " \
                f"{result.threshold})"
    if test.is_dir():
        verb = "has" if len(result.matches) == 1 else "have"
        said = (f"{len(result.matches):,} of {counted(len(result.images), 'image')} in {test} {verb} a duplicate "
                f"among {reference}; {unreadable} unreadable")
    elif unreadable:  # one image checked: "1 of 1 image in x.jpg has" spoke of a set
        said = f"{test} could not be read: not compared with {reference}"
    else:
        said = f"{test} has {'a' if result.matches else 'no'} duplicate among {reference}"
    if result.reference_failures:
        said += f"{', ' if test.is_dir() else '; '}{len(result.reference_failures)} unreadable in {against}"
    return f"{counted(len(result.rows()), 'match', 'matches')}: {said}"


def compared(test: Path, result: QueryResult) -> bool:
    """Whether the summary line has something to say: an image read on both sides, or ``test`` one file checked
    against a reference that was read (its own line: it could not be read, so not compared). Else the error line
    alone is said ("0 of 0 images in data/ have a duplicate among ..." printed before "error: no image read in data/
    (try --recursive)" read as a result)."""
    return bool(result.reference_images) and (bool(result.images) or not test.is_dir())


@click.command()
@click.argument("test", type=click.Path(exists=True, path_type=Path))
@click.option("--against", required=True, type=click.Path(exists=True, path_type=Path),
              help="The reference: a folder or an index file (.db, opened read-only).")
@method_option_with("compare the images with the reference",
                    "another shot of one scene (burst frames, the same view again) counts as a match",
                    " --against an index file holding one method: that method, unless -m names another.")
@threshold_option
@recursive_option
@output_options("matches")
@workers_option
@no_cache_option
@quiet_option
@timings_option
@check_ignore_decisions_option
@colour_variants_option
@click.option("--fail-on-duplicates", is_flag=True,
              help=f"Taken as 'find --against' takes it, and changes nothing: check always exits with code "
                   f"{EXIT_DUPLICATES} on a leak and {EXIT_ERROR} when incomplete.")
def check(test: Path, against: Path, method: str, threshold: float | None, recursive: bool, requested: Requested,
          workers: int | None, no_cache: bool, quiet: bool, show_timings: bool = False,
          ignore_decisions: bool = False, colour_variants: str = "copies", fail_on_duplicates: bool = False) -> None:
    """Check that no image of TEST (a folder or one image) duplicates an image of the reference --against.

    Every image of TEST that has a duplicate there is named with its matches. The check fails when it
    could not look at everything: no image read in TEST or in the reference (class sub-folders need
    -r), or an image of TEST unreadable.

    Exit codes: 0 no leak and the check complete, 3 a leak (incomplete or not: what was read leaks), 1 the check
    incomplete (or an error), 2 bad usage.

    \b
    Examples:
      imagetwins check data/test --against data/train -r
      imagetwins check data/test --against train.db -m dihedral --json leaks.json
      imagetwins check new_upload.jpg --against catalogue/ --ndjson -
    """
    if test.is_dir() and against.is_dir() and test.resolve() == against.resolve():
        # (it printed a note and passed, exit 0: a gate run on one folder twice is a mistyped command, not a pass)
        raise click.UsageError(f"{printable(str(test))} and --against {printable(str(against))} are the same folder: "
                               "a leak check needs a test set and another reference (duplicates within one "
                               "folder: imagetwins find)")
    method = reference_method(method, against)
    refuse_colour_variants(method)
    run_check(test, against, method, check_threshold(method, threshold), recursive, workers, no_cache, requested,
              gate=True, quiet=quiet, decisions=load_remembered(None, ignore_decisions, quiet),
              show_timings=show_timings, colour_variants=colour_variants)


def run_check(test: Path, against: Path, method: str, threshold: float | None, recursive: bool, workers: int | None,
              no_cache: bool, requested: Requested, gate: bool, quiet: bool, decisions=True,
              show_timings: bool = False, colour_variants: str | None = None) -> None:
    """The check, its outputs and its exit code: 1 when incomplete (an image unreadable, no image read, as
    ``index query``); ``gate``: exit 3 on a leak (``check``, ``find --against --fail-on-duplicates``), else 0.
    ``decisions``: the remembered decisions to honour (:func:`imagetwins.cli.decisions.load_remembered`; False:
    none)."""
    from imagetwins.check import check as check_images
    from imagetwins.index import IndexFileError
    from imagetwins.io import looks_like_image

    if against.is_file() and looks_like_image(against):  # (was: "is not an imagetwins index (not an SQLite file)")
        pair = f"{printable(str(test))} {printable(str(against))}" if test.is_file() else "A.jpg B.jpg"
        # exit 1, not a usage error (2): a file named as the reference that is no index, whatever it holds (a picture,
        # text, a damaged or foreign database), is an error of that file in every command that reads an index
        # (tests/test_cli_index.py); 2 is the command line's own: an unknown option, a path missing or not a folder
        raise click.ClickException(f"--against {printable(str(against))} is an image: the reference is a folder or "
                                   f"an index file (.db); two pictures are compared by 'imagetwins explain {pair}'")
    note_threshold(method, threshold, quiet)
    try:
        checked = check_images(test, against, method, threshold, recursive=recursive, workers=workers,
                               progress=show_progress(quiet), cache=not no_cache, decisions=decisions,
                               colour_variants=colour_variants)
    except IndexFileError as exc:
        raise click.ClickException(str(exc)) from None
    result = checked.query
    unreadable = warn_skipped(result.failures, quiet, follow_hint=False)
    for f in result.reference_failures:
        if not quiet:
            echo(f"warning: reference image not compared, {f.path}: {f.reason}", err=True)
    if not quiet and against.is_dir() and (test.resolve().is_relative_to(against.resolve())
                                           or against.resolve().is_relative_to(test.resolve())):
        echo(f"note: {test} and {against} overlap: a file found in both is not a duplicate of itself", err=True)
    found = outputs.Matches(result)
    requested.write(found)
    if not quiet and not requested.to_stdout and compared(test, result):
        write_text(found)
        echo(summary(test, against, result, method, unreadable))
    if result.set_aside and not quiet:  # a leak check must not drop a match without a word
        echo(f"note: {counted(result.set_aside, 'match', 'matches')} left out: marked 'not a duplicate' in an earlier "
             "plan (see 'imagetwins decisions list'; --ignore-decisions checks without them)", err=True)
    missing = result.missing_matches()
    if missing:  # (with -q too: the reference is stale, as the warning of an index older than its folder says)
        echo(f"warning: {counted(len(missing), 'matched file')} of {against} no longer exist where it says "
             f"(first: {missing[0]}); run 'imagetwins index update' on it", err=True)
    # a pipeline must not read "0 leaks" (or "no match") from a check that did not run: an error, with -q too, and
    # exit 1 with or without the gate, as 'index query' (an unreadable upload exited 0 here, 1 there)
    if checked.reasons_incomplete:
        echo("error: " + "; ".join(checked.reasons_incomplete), err=True)
    say_timings(show_timings)
    if gate and checked.leaks:
        sys.exit(EXIT_DUPLICATES)
    if not checked.complete:
        sys.exit(EXIT_ERROR)
