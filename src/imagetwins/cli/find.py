"""``imagetwins find DIR``: groups of duplicates, which file to keep, and their outputs.

``find TEST --against REF`` is an alias of ``imagetwins check`` (:mod:`imagetwins.cli.check`) that exits 3 on a match
only with ``--fail-on-duplicates`` (1 when the check is incomplete, as ``check`` and ``index query``); an option it
does not honour is a usage error.
"""

from __future__ import annotations

from pathlib import Path

import click

from imagetwins.cli._common import (
    EXIT_DUPLICATES,
    FolderPath,
    check_threshold,
    colour_variants_option,
    db_option,
    echo,
    exit_for,
    follow_option,
    keep_options,
    keep_rule_for,
    method_option,
    no_cache_option,
    quiet_option,
    recursive_option,
    reference_method,
    refuse_colour_variants,
    refuse_db_without_cache,
    refuse_options,
    say_timings,
    threshold_option,
    timings_option,
    workers_option,
)
from imagetwins.cli._outputs import Requested, groups_output, output_options, write_text
from imagetwins.cli._scan import (
    decide,
    find_on_dask,
    hint_if_empty,
    note_already_linked,
    note_keep_in_outside,
    scan,
    summary_line,
    warn_skipped,
)
from imagetwins.cli.check import run_check
from imagetwins.cli.decisions import ignore_decisions_option, load_remembered
from imagetwins.text import counted


@click.command()
@click.argument("directory", type=FolderPath())
@method_option
@threshold_option
@recursive_option
@follow_option
@output_options("groups", "matches")
@workers_option
@db_option(" Not with --against (name the index there) or Dask.")
@no_cache_option
@click.option("--against", type=click.Path(exists=True, path_type=Path),
              help="Compare DIRECTORY with this folder or index file (.db) instead of with itself: report "
                   "each image of DIRECTORY that has a duplicate there (e.g. test images leaking from training); "
                   "the same as 'imagetwins check DIRECTORY --against REF'. No keepers are chosen, so "
                   "--keep, --keep-in, --raw-pairs, --report, --pairs, --db, Dask and --follow-symlinks are refused.")
@click.option("--fail-on-duplicates", is_flag=True,
              help=f"Exit with code {EXIT_DUPLICATES} when any duplicate is found (for pipelines).")
@click.option("--scheduler", help="Run on this Dask cluster (e.g. tcp://host:8786); needs imagetwins[dask].")
@click.option("--dask-workers", type=click.IntRange(1), default=None,
              help="Run on a local Dask cluster of this many worker processes; needs imagetwins[dask].")
@click.option("--ignore-exif-orientation", is_flag=True,
              help="Encode the pixels as stored, ignoring the EXIF orientation tag, as imagededup 0.3 does "
                   "(hashes then equal imagededup's; a rotated copy no longer matches its original). "
                   "Implies --no-cache; not with --db, --against or Dask.")
@timings_option
@quiet_option
@keep_options
@colour_variants_option
@ignore_decisions_option
def find(directory: Path, method: str, threshold: int, recursive: bool, requested: Requested, workers: int | None,
         db_path: Path | None, no_cache: bool, against: Path | None, fail_on_duplicates: bool, scheduler: str | None,
         dask_workers: int | None, ignore_exif_orientation: bool, quiet: bool, keep_rule: str,
         keep_in: tuple[Path, ...], raw_pairs: str = "keep", follow_symlinks: bool = False,
         ignore_decisions: bool = False, show_timings: bool = False, colour_variants: str = "copies") -> None:
    """Find groups of duplicate images in DIRECTORY.

    Byte-identical files are always grouped; other images are grouped when the method finds them copies
    of each other: by default (copies) a hash and a CNN propose pairs and each is confirmed on the
    pictures (confidence >= --threshold); with a hash (-m phash) when the hashes differ in at most
    --threshold bits. Unreadable files are reported and skipped. Nothing is moved or deleted.
    Encodings are cached, so a second run only reads new and changed files.

    Exit codes: 0 done (duplicates or not), 1 error, 2 bad usage, 3 duplicates found with
    --fail-on-duplicates. With --against, 1 too when the check is incomplete (no image read in either
    folder, or an image of DIRECTORY unreadable; 3 where --fail-on-duplicates found one all the same), as 'check'
    and 'index query': an image not compared is never reported as one without a match.

    \b
    Examples:
      imagetwins find ~/Pictures -r --report review.html
      imagetwins find catalogue/ -m phash -t 8 --json dups.json
      imagetwins find scans/ -m dihedral      # also matches mirrored and rotated copies
      imagetwins find test/ --against train/ -r --fail-on-duplicates   # stop a leaking test set
    """
    method = reference_method(method, against)  # an index file of one method is asked with it
    refuse_colour_variants(method)
    threshold = check_threshold(method, threshold)
    keep_rule = keep_rule_for(keep_rule, method)
    refuse_db_without_cache(db_path, no_cache)
    if ignore_exif_orientation and (against is not None or db_path is not None or scheduler or dask_workers):
        raise click.UsageError("--ignore-exif-orientation works on a plain scan: not with --db, --against or Dask")
    if against is not None:
        _refuse_with_against(requested)
    remembered = load_remembered(db_path, ignore_decisions, quiet)
    if against is not None:
        run_check(directory, against, method, threshold, recursive, workers, no_cache, requested,
                  gate=fail_on_duplicates, quiet=quiet, decisions=remembered, show_timings=show_timings,
                  colour_variants=colour_variants)
        return
    note_keep_in_outside(directory, keep_in, quiet)
    if scheduler or dask_workers:
        refuse_options(["db_path", "workers", "follow_symlinks"], "does nothing on Dask (each Dask worker encodes "
                       "its own files and keeps nothing; links are not followed)")
        if scheduler and dask_workers:
            raise click.UsageError("--dask-workers starts a local cluster: not with --scheduler (a cluster already "
                                   "running)")
        from imagetwins.decisions import apply_decisions

        result = find_on_dask(directory, method, threshold, recursive, scheduler, dask_workers)
        from imagetwins.results import colour_variants_apart

        result = apply_decisions(colour_variants_apart(result, colour_variants), remembered or None)
        warn_skipped(result.failures, quiet)
        note_already_linked(result, quiet)
    else:
        result = scan(directory, method, threshold, recursive, workers, no_cache or ignore_exif_orientation, quiet,
                      db_path, exif_orientation=not ignore_exif_orientation, follow_symlinks=follow_symlinks,
                      decisions=remembered, colour_variants=colour_variants)
    result = decide(result, keep_rule, keep_in, workers, raw_pairs,  # once: the review page reuses them
                    directory if follow_symlinks else None, quiet=quiet)
    decisions = result.decisions
    decided_earlier = ()
    remembered = result.decided  # read for the contents the scan found (None: none, or the store failed)
    if remembered:
        from imagetwins.decisions import key_map

        key_of = key_map(result)
        decided_earlier = tuple(remembered.status(g.files, key_of) is not None for g in result.groups)
    found = groups_output(result, decisions, directory, requested, keep_in, keep_rule, raw_pairs, workers, quiet,
                          decided_earlier)
    requested.write(found)
    if quiet or requested.to_stdout:  # stdout holds the data alone
        say_timings(show_timings)
        exit_for(fail_on_duplicates, bool(result.groups))
        return
    write_text(found)
    echo(summary_line(result, method))
    if any(decided_earlier):
        echo(f"{counted(sum(decided_earlier), 'group')} decided earlier (see 'imagetwins decisions list'; "
             "--ignore-decisions shows everything as new)")
    hint_if_empty(result, directory, recursive)
    if "html" in requested.files:
        echo(f"review page: {requested.files['html']}")
    say_timings(show_timings)
    exit_for(fail_on_duplicates, bool(result.groups))


def _refuse_with_against(requested: Requested) -> None:
    """``find --against`` checks new images against a reference: nothing is grouped or kept there."""
    refuse_options(["keep_rule", "keep_in", "raw_pairs"],
                   "chooses the file kept in a group: a check against a reference keeps nothing (not with --against)")
    refuse_options(["db_path"], "does nothing with --against: name the index as the reference (--against FILE.db)")
    refuse_options(["scheduler", "dask_workers"], "is not supported with --against (the check runs on this machine)")
    refuse_options(["follow_symlinks"], "is not supported with --against (links are reported and skipped)")
    requested.refuse("matches", "writes groups: not with --against (use --json, --csv or --ndjson)")
    if requested.pairs:
        raise click.UsageError("--pairs is not supported with --against: the JSON lists each image's matches")
