"""``imagetwins find DIR``: groups of duplicates, which file to keep, and their outputs; ``--against``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from imagetwins.cli._common import (
    EXIT_DUPLICATES,
    EXIT_ERROR,
    OutputFile,
    check_threshold,
    command_seconds,
    echo,
    exit_for,
    follow_option,
    keep_options,
    method_option,
    no_cache_option,
    plural,
    quiet_option,
    recursive_option,
    say_timings,
    secho,
    show_progress,
    threshold_option,
    workers_option,
    write_csv,
    write_json,
    writing,
)
from imagetwins.cli._scan import decide, find_on_dask, hint_if_empty, note_keep_in_outside, scan, warn_skipped
from imagetwins.cli.decisions import ignore_decisions_option, load_remembered
from imagetwins.io import skipped_link
from imagetwins.timing import stage


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@method_option
@threshold_option
@recursive_option
@follow_option
@click.option("--json", "json_out", type=OutputFile(),
              help="Write groups and unreadable files as JSON ('-' for stdout); the decisions file of "
                   "'remove --plan'. With --against: each query image's matches ('matches').")
@click.option("--pairs", "with_pairs", is_flag=True,
              help="Also write every matching pair into the JSON (N copies of one picture make N(N-1)/2 pairs).")
@click.option("--csv", "csv_out", type=OutputFile(allow_dash=True),
              help="Write one row per file in a group ('-' for stdout): group,path,exact,distance (similarity for "
                   "vector methods: the file's own score against its group's keeper),keep. With --against: "
                   "one row per match, query,match,distance (or similarity).")
@workers_option
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Keep encodings in this index file (see 'imagetwins index'); default: a cache per folder "
                   "in your user cache directory.")
@no_cache_option
@click.option("--against", type=click.Path(exists=True, path_type=Path),
              help="Compare DIRECTORY with this folder or index file (.db) instead of with itself: report "
                   "each image of DIRECTORY that has a duplicate there (e.g. test images leaking from training).")
@click.option("--report", "report_out", type=OutputFile(),
              help="Also write an HTML review page (see 'imagetwins report').")
@click.option("--fail-on-duplicates", is_flag=True,
              help=f"Exit with code {EXIT_DUPLICATES} when any duplicate is found (for pipelines); with --against, "
                   f"{EXIT_ERROR} when the check was incomplete: no image in either folder, or an image of "
                   "DIRECTORY that could not be read.")
@click.option("--scheduler", help="Run on this Dask cluster (e.g. tcp://host:8786); needs imagetwins[dask].")
@click.option("--dask-workers", type=click.IntRange(1), default=None,
              help="Run on a local Dask cluster of this many worker processes; needs imagetwins[dask].")
@click.option("--ignore-exif-orientation", is_flag=True,
              help="Encode the pixels as stored, ignoring the EXIF orientation tag, as imagededup 0.3 does "
                   "(hashes then equal imagededup's; a rotated copy no longer matches its original). "
                   "Implies --no-cache; not with --db, --against or Dask.")
@click.option("--timings", "show_timings", is_flag=True,
              help="Also say where the time went, stage by stage (scan, load, search, verify, keep, output), on "
                   "stderr.")
@quiet_option
@keep_options
@ignore_decisions_option
def find(directory: Path, method: str, threshold: int, recursive: bool, json_out: Path | None,
         csv_out: Path | None, workers: int | None, db_path: Path | None, no_cache: bool, against: Path | None,
         report_out: Path | None, fail_on_duplicates: bool, scheduler: str | None, dask_workers: int | None,
         ignore_exif_orientation: bool, quiet: bool, keep_rule: str, keep_in: tuple[Path, ...],
         raw_pairs: str = "keep", with_pairs: bool = False, follow_symlinks: bool = False,
         ignore_decisions: bool = False, show_timings: bool = False) -> None:
    """Find groups of duplicate images in DIRECTORY.

    Byte-identical files are always grouped; other images are grouped when their hashes differ in at
    most --threshold bits. Unreadable files are reported and skipped. Nothing is moved or deleted.
    Encodings are cached, so a second run only reads new and changed files.

    Exit codes: 0 done (duplicates or not), 1 error, 2 bad usage, 3 duplicates found with
    --fail-on-duplicates.

    \b
    Examples:
      imagetwins find ~/Pictures -r --report review.html
      imagetwins find catalogue/ -m phash -t 8 --json dups.json
      imagetwins find scans/ -m dihedral      # also matches mirrored and rotated copies
      imagetwins find test/ --against train/ -r --fail-on-duplicates   # stop a leaking test set
    """
    threshold = check_threshold(method, threshold)
    if str(json_out) == "-" and str(csv_out) == "-":
        raise click.UsageError("--json and --csv cannot both go to stdout ('-')")
    if ignore_exif_orientation and (against is not None or db_path is not None or scheduler or dask_workers):
        raise click.UsageError("--ignore-exif-orientation works on a plain scan: not with --db, --against or Dask")
    remembered = load_remembered(db_path, ignore_decisions, quiet)
    if against is not None:
        _find_against(directory, against, method, threshold, recursive, json_out, csv_out, workers, no_cache,
                      fail_on_duplicates, quiet, remembered)
        return
    note_keep_in_outside(directory, keep_in, quiet)
    if scheduler or dask_workers:
        from imagetwins.decisions import apply_decisions

        result = find_on_dask(directory, method, threshold, recursive, scheduler, dask_workers)
        result = apply_decisions(result, remembered or None)
        warn_skipped(result.failures, quiet)
    else:
        result = scan(directory, method, threshold, recursive, workers, no_cache or ignore_exif_orientation, quiet,
                      db_path, exif_orientation=not ignore_exif_orientation, follow_symlinks=follow_symlinks,
                      decisions=remembered)
    decisions = decide(result, keep_rule, keep_in, workers, raw_pairs)
    with stage("output"):
        if json_out is not None:
            from imagetwins.plan import plan_document

            write_json(plan_document(result, decisions, directory), json_out,
                       result.pair_records() if with_pairs else None)
        if csv_out is not None:
            write_csv(csv_out, ["group", "path", "exact", result.score_kind, "keep"],
                      ([gi, path, int(g.exact), score, int(path in d.keep)]
                       for gi, (g, d) in enumerate(zip(result.groups, decisions), 1)
                       for path, score in zip(g.files, g.scores or [g.score_field()[1]] * len(g.files))))
    if report_out is not None:
        from imagetwins.report import write_html_report

        with writing(report_out), stage("report"):
            write_html_report(result, report_out, keep_in=keep_in, keep_rule=keep_rule, workers=workers,
                              progress=show_progress(quiet), root=directory, raw_sidecars=raw_pairs == "keep")
    if quiet or "-" in (str(json_out), str(csv_out)):  # stdout holds the data alone
        say_timings(show_timings)
        exit_for(fail_on_duplicates, bool(result.groups))
        return
    from imagetwins.decisions import key_map

    key_of = key_map(result) if remembered else {}
    decided = 0
    for gi, g in enumerate(result.groups, 1):
        status = remembered.status(g.files, key_of) if remembered else None
        decided += status is not None
        secho(f"group {gi}: {plural(len(g.files), 'file')}, {g.describe(result.score_unit)}"
              + (" (decided earlier)" if status else ""), bold=True)
        for path in g.files:
            echo(f"  {'keep' if path in decisions[gi - 1].keep else '    '}  {path}")
    echo(
        f"{plural(len(result.files), 'image')} read, "
        f"{sum(not skipped_link(f) for f in result.failures)} unreadable, "
        f"{plural(len(result.groups), 'duplicate group')} holding {plural(result.files_in_groups, 'file')} "
        f"({command_seconds(result):.1f} s, {method}, threshold {result.threshold})"  # the whole command's time
    )
    if decided:
        echo(f"{plural(decided, 'group')} decided earlier (see 'imagetwins decisions list'; --ignore-decisions shows "
             "everything as new)")
    hint_if_empty(result, directory, recursive)
    if report_out is not None:
        echo(f"review page: {report_out}")
    say_timings(show_timings)
    exit_for(fail_on_duplicates, bool(result.groups))



def _find_against(directory: Path, against: Path, method: str, threshold: float | None, recursive: bool,
                  json_out: Path | None, csv_out: Path | None, workers: int | None, no_cache: bool,
                  fail_on_duplicates: bool, quiet: bool, remembered=False) -> None:
    from imagetwins.finder import find_against
    from imagetwins.index import IndexFileError

    try:
        result = find_against(directory, against, method, threshold, recursive=recursive, workers=workers,
                              progress=show_progress(quiet), cache=not no_cache, decisions=remembered)
    except IndexFileError as exc:
        raise click.ClickException(str(exc)) from None
    unreadable = warn_skipped(result.failures, quiet, follow_hint=False)
    for f in result.reference_failures:
        if not quiet:
            echo(f"warning: reference image not compared, {f.path}: {f.reason}", err=True)
    if not quiet and against.is_dir() and (directory.resolve().is_relative_to(against.resolve())
                                           or against.resolve().is_relative_to(directory.resolve())):
        echo(f"note: {directory} and {against} overlap: a file found in both is not a duplicate of itself",
              err=True)
    if json_out is not None:
        write_json(result.to_dict(), json_out)
    if csv_out is not None:
        write_csv(csv_out, ["query", "match", result.score_kind], result.rows())
    if not quiet and "-" not in (str(json_out), str(csv_out)):
        for q, ms in result.matches.items():
            secho(q, bold=True)
            for p, d in ms:
                echo(f"  = {p}  ({score_text(result.score_kind, d)})")
        verb = "has" if len(result.matches) == 1 else "have"
        echo(f"{len(result.matches)} of {plural(len(result.images), 'image')} in {directory} {verb} a duplicate "
              f"among the {plural(result.reference_images, 'image')} of {against} ({method}, threshold "
              f"{result.threshold}); {unreadable} unreadable"
              + (f", {len(result.reference_failures)} unreadable in {against}" if result.reference_failures else ""))
    missing = result.missing_matches()
    if missing and not quiet:
        echo(f"warning: {plural(len(missing), 'matched file')} of {against} no longer exist where it says "
              f"(first: {missing[0]}); run 'imagetwins index update' on it", err=True)
    hint = "" if recursive else " (try --recursive)"
    unchecked = []  # why the check is incomplete: a pipeline must not read "0 leaks" from a check that did not run
    if not result.images:
        unchecked.append(f"no image read in {directory}" + (f" ({unreadable} unreadable)" if unreadable else hint))
    if not result.reference_images:
        unchecked.append(f"no image read in {against}" + (hint if against.is_dir() else ""))
    if unreadable and result.images:
        unchecked.append(f"{plural(unreadable, 'image')} of {directory} could not be read, so not checked")
    if unchecked and not (quiet and not fail_on_duplicates):
        echo(("error: " if fail_on_duplicates else "note: ") + "; ".join(unchecked), err=True)
    exit_for(fail_on_duplicates, bool(result.matches))
    if fail_on_duplicates and unchecked:
        sys.exit(EXIT_ERROR)


def score_text(kind: str, score: float) -> str:
    return f"similarity {score:.3f}" if kind == "similarity" else plural(int(score), "bit")
