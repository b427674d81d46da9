"""``imagetwins report DIR``: the HTML review page."""

from __future__ import annotations

from pathlib import Path

import click

from imagetwins.cli._common import (
    FolderPath,
    OutputFile,
    colour_variants_option,
    db_option,
    echo,
    keep_options,
    keep_rule_for,
    refuse_db_without_cache,
    say_timings,
    scan_options,
    timings_option,
)
from imagetwins.cli._outputs import (
    Requested,
    check_before_work,
    groups_output,
    output_options,
    refuse_one_file_twice,
)
from imagetwins.cli._scan import decide, hint_if_empty, note_keep_in_outside, scan, summary_line
from imagetwins.cli.decisions import ignore_decisions_option, load_remembered
from imagetwins.outputs import Groups
from imagetwins.timing import stage


@click.command()
@click.argument("directory", type=FolderPath())
@click.option("--output", "-o", type=OutputFile(), default=None,
              help="Where to write the page (a file there is replaced). By default report.html in the current "
                   "folder, replaced only when it is a page imagetwins wrote: a file of yours by that name is kept "
                   "and the page goes to report-1.html (report-2.html...), as the last line says.")
@output_options("groups", exclude=("html",))
@keep_options
@scan_options
@db_option(" As 'find --db': the index 'index update' keeps serves the page too.")
@colour_variants_option
@ignore_decisions_option
@timings_option
def report(directory: Path, output: Path | None, requested: Requested, keep_in: tuple[Path, ...], keep_rule: str,
           method: str, threshold: int | None, recursive: bool, workers: int | None, no_cache: bool, quiet: bool,
           raw_pairs: str = "keep", follow_symlinks: bool = False, ignore_decisions: bool = False,
           colour_variants: str = "copies", show_timings: bool = False, db_path: Path | None = None) -> None:
    """Write an HTML page to review the duplicate groups in DIRECTORY.

    One file that opens offline in any browser (thumbnails embedded; above 500 groups in a
    <page>_files/ folder beside it): groups side by side, largest first, with displayed size, file
    size, capture date, path, each file's score against the keeper, and which file would be kept.
    Click a picture to keep it, mark a file "not a duplicate", skip a group (or use the keyboard),
    then "Export decisions" (saved in your browser's download folder) and apply them with 'imagetwins
    remove DIRECTORY --plan FILE'.

    \b
    Examples:
      imagetwins report ~/Pictures -r -o review.html
      imagetwins report shop/ -r --method dihedral --keep-in shop/master   # shop/master: a sub-folder, so -r
      imagetwins report ~/Pictures -r --json plan.json   # the page and the plan from one scan
      imagetwins report catalogue/ -r --db catalogue.db  # through the index 'index update' keeps
      imagetwins remove ~/Pictures --plan ~/Downloads/imagetwins-decisions.json --apply   # the page's export
    """
    by_default = output is None
    if output is None:  # (a report.html of the user's was replaced, silently)
        output = default_page()
    if str(output) == "-":
        raise click.UsageError("--output: the review page is a file (with its thumbnails beside it when large), "
                               "not stdout ('-'): give a name")
    # (a name chosen by default is not refused: the page goes past a name another output takes)
    refuse_one_file_twice({**({} if by_default else {"--output": output}),
                           **dict(zip(requested.options(), requested.files.values()))})
    check_before_work({"html": output}, "--output")  # (its <page>_files/ folder: before the scan, not after it)
    keep_rule = keep_rule_for(keep_rule, method)
    refuse_db_without_cache(db_path, no_cache)
    note_keep_in_outside(directory, keep_in, quiet)
    # (--db: without it a catalogue kept in an index was read again whole into the folder's own cache, ~75 KB an image)
    result = scan(directory, method, threshold, recursive, workers, no_cache, quiet, db_path,
                  follow_symlinks=follow_symlinks, decisions=load_remembered(db_path, ignore_decisions, quiet),
                  colour_variants=colour_variants)
    # decided once: the page and the other outputs reuse these, and the summary below counts the groups as the
    # page shows them (stars around their keepers: a file that matches only another member leaves the group)
    result = decide(result, keep_rule, keep_in, workers, raw_pairs, directory if follow_symlinks else None,
                    quiet=quiet)
    decisions = result.decisions
    found = groups_output(result, decisions, directory, requested, keep_in, keep_rule, raw_pairs, workers, quiet)
    if by_default:  # the other outputs first: a name one of them takes is not free for the page (it replaced the page)
        requested.write(found)
        output = write_default_page(found, quiet)
    else:
        Requested({"html": output}).write(found)
        requested.write(found)
    if not quiet and not requested.to_stdout:
        # (as 'find --report' says it: it printed "16 duplicate groups holding 32 files -> review.html", without the
        # images read, the unreadable ones, the time or the method)
        echo(summary_line(result, method))
        hint_if_empty(result, directory, recursive)
        echo(f"review page: {output}")
    say_timings(show_timings)


#: where the page goes when no -o names it (unless a file there is not a page imagetwins wrote)
DEFAULT_PAGE = Path("report.html")


def default_page() -> Path:
    """Where the page would go now when no -o names it (:func:`imagetwins.writing.free_page_name`): asked before the
    scan, to refuse at once when no name is free; the page takes its name when it is written
    (:func:`write_default_page`)."""
    from imagetwins.writing import OutputRefused, free_page_name

    try:
        return free_page_name(DEFAULT_PAGE)
    except OutputRefused as exc:
        raise click.ClickException(f"cannot write the review page: {exc.strerror}") from None


def write_default_page(found: Groups, quiet: bool) -> Path:
    """Write the page no -o names at report.html, or where a file there is not a page imagetwins wrote, at the first
    free report-N.html, the name taken when the page is written (it was chosen before the scan, and a report.html
    saved during a long scan was replaced); a note says so. Returns where it went."""
    from imagetwins.outputs.html import write_page

    try:
        with stage("report"):  # (--timings)
            page = write_page(found, DEFAULT_PAGE, free_name=True)
    except OSError as exc:
        raise click.ClickException(f"cannot write the review page: {exc.strerror or exc}") from None
    if page != DEFAULT_PAGE and not quiet:
        echo(f"note: {DEFAULT_PAGE} here is not a page imagetwins wrote: kept; the page went to {page} (-o FILE names "
             "it)", err=True)
    return page
