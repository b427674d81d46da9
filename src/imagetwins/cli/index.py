"""``imagetwins index update|query|stats``: a persistent index file."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from imagetwins import outputs
from imagetwins.cli._common import (
    DEFAULT_METHOD,
    EXIT_DUPLICATES,
    EXIT_ERROR,
    FolderPath,
    MethodChoice,
    check_threshold,
    colour_variants_option,
    echo,
    exit_for,
    note_threshold,
    quiet_option,
    recursive_option,
    refuse_colour_variants,
    say_timings,
    show_progress,
    threshold_option,
    timings_option,
    workers_option,
    write_json,
)
from imagetwins.cli._interrupt import on_interrupt
from imagetwins.cli._outputs import Requested, file_option, output_options, write_text
from imagetwins.text import counted, printable, shell_word


@click.group()
def index() -> None:
    """Keep encodings in an index file: re-runs encode only what changed, new images are checked fast.

    \b
    Examples:
      imagetwins index update catalogue/ -r --db catalogue.db
      imagetwins index query new_upload.jpg --db catalogue.db
      imagetwins index stats --db catalogue.db
    """


_db_option = click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
                          help="The index file (SQLite).")
_methods_option = click.option("--method", "-m", "methods", multiple=True, type=MethodChoice(),
                               help="Methods to keep (repeatable; default for a new index: copies; phash keeps "
                                    "hashes alone, cnn CNN vectors).")


def _open_index(db_path: Path, methods: tuple[str, ...] | list[str], readonly: bool = False,
                upgrade: bool = False):
    from imagetwins.index import Index, IndexFileError

    try:
        return Index(db_path, methods=list(methods), readonly=readonly, upgrade=upgrade)
    except IndexFileError as exc:
        raise click.ClickException(str(exc)) from None


@index.command("update")
@click.argument("directory", type=FolderPath())
@_db_option
@_methods_option
@click.option("--recursive/--no-recursive", "-r", default=None,
              help="Include sub-folders (-r, as find -r); --no-recursive forgets the index's images in them. "
                   "Neither: DIRECTORY's own images, and a usage error when the index holds its sub-folders.")
@workers_option
@quiet_option
@timings_option
def index_update(directory: Path, db_path: Path, methods: tuple[str, ...], recursive: bool | None,
                 workers: int | None, quiet: bool, show_timings: bool = False) -> None:
    """Add new and changed images in DIRECTORY (with -r, its sub-folders too) to the index; forget deleted ones.

    Every method the index already holds is kept up to date too, so no encoding goes stale; -m adds a method
    (default for a new index: copies). Unreadable files are named with the reason.

    An index an older imagetwins made is upgraded in place: only its encodings made differently are made again,
    each old one kept until its new one is stored (Ctrl-C or a full disk loses nothing; the same command goes on
    with what is left); its other methods, files and decisions are kept.

    \b
    Examples:
      imagetwins index update catalogue/ -r --db catalogue.db          # copies, what find uses by default
      imagetwins index update catalogue/ -r --db catalogue.db -m phash  # and phash: resized and re-saved copies
    """
    from imagetwins.cli._scan import note_no_images
    from imagetwins.finder import shown_under
    from imagetwins.index import IndexFileError
    from imagetwins.session import Session
    from imagetwins.timing import stage

    # encodings an older imagetwins made with other parameters are made again here, row by row (the user asked
    # for an update; the other methods, pair scores of other methods and decisions the index holds are kept)
    with stage("open"):  # (--timings: the stages find names)
        opened = _open_index(db_path, methods, upgrade=True)
    with opened as idx:
        if recursive is None:  # (as find: sub-folders with -r; an update without them would forget what it holds)
            if idx.holds_below(directory):
                raise click.UsageError(
                    f"{db_path} holds images in sub-folders of {directory} (an update with -r, or of a sub-folder, "
                    "made it): add -r to "
                    "keep them up to date, or --no-recursive to forget them")
            recursive = False
        # a new index opened without -m holds what find uses by default
        wanted = None if methods or idx.stored_methods() else [DEFAULT_METHOD]

        def done() -> str:
            return (f"interrupted (Ctrl-C): {counted(idx.stored, 'file')} encoded and kept in {db_path}; "
                    f"'imagetwins index update {shell_word(directory)}{' -r' if recursive else ''} "
                    f"--db {shell_word(db_path)}' encodes the rest")

        try:
            outdated = idx.outdated(methods)
        except IndexFileError as exc:
            raise click.ClickException(str(exc)) from None
        if outdated and not quiet:
            echo(f"upgrading {db_path}: " + ", ".join(f"{n:,} {m}" for m, n in outdated.items())
                 + " encodings an older imagetwins made are made again (each old one kept until its new one is "
                 "stored: Ctrl-C loses nothing, and this command goes on with the rest)", err=True)
        session = Session(idx, workers, show_progress(quiet))  # the run's stores, workers and progress
        try:
            with on_interrupt(done), stage("scan"):
                st = session.update(directory, methods=wanted, recursive=recursive, forget_below=not recursive)
        except IndexFileError as exc:
            raise click.ClickException(str(exc)) from None
        left = dict(idx.upgrade_left)
        commands = " and ".join(f"'{c}'" for c in idx.update_commands()) if left else ""
        # (and those that failed only this time: a decode past its time limit, a decoder that crashed)
        errors = sorted({*idx.errors(directory), *((f.path, f.reason) for f in st.failures if f.transient)})
        held = idx.stored_methods()
    # the index keeps resolved paths; said under the folder as it was named, as find and check say them
    shown = shown_under(directory, str(Path(directory).resolve()), [path for path, _ in errors])
    for path, (_, reason) in zip(shown, errors):
        echo(f"warning: unreadable {path}: {reason}", err=True)
    if left:  # (files of other folders the index holds, or read only this time: still the older imagetwins's)
        echo(f"warning: {', '.join(f'{n:,} {m}' for m, n in left.items())} encodings of files not updated now "
             f"are still an older imagetwins's, and {db_path} is refused until they are made again: run {commands}",
             err=True)
    if not quiet:
        completed = f", {st.completed:,} given the methods they lacked" if st.completed else ""
        remade = f", {st.remade:,} made again for this imagetwins" if st.remade else ""
        # (counted among the added and changed: a renamed or moved file is also one removed, a byte copy is not)
        reused = (f" ({st.reused:,} of them already indexed under another name: not decoded again)" if st.reused
                  else "")
        echo(f"{st.added:,} added, {st.changed:,} changed{reused}, {st.removed:,} removed, {st.unchanged:,} unchanged"
             f"{completed}{remade}, {unreadable_counts(len(errors), st.unreadable)} ({st.seconds:.1f} s, "
             f"{', '.join(held)}) -> {db_path}")
        if not (st.added or st.changed or st.unchanged or st.completed or st.remade or errors or st.failures
                or st.known_unreadable):
            note_no_images(directory, recursive)
    say_timings(show_timings)  # (as find and check: an update is the first scan of a catalogue)


def unreadable_counts(total: int, new: int) -> str:
    """The summary's unreadable files: every one the folder holds (each named in a warning line, as ``find`` names
    them every run), and how many of them this run found (new or changed files) rather than knew already.
    ``added`` and ``changed`` count only the files encoded and stored."""
    new = min(new, total)
    if not total:
        return "0 unreadable"
    if new == total:
        return f"{total:,} unreadable (new this run)"
    if not new:
        return f"{total:,} unreadable (known before: not read again)"
    return f"{total:,} unreadable ({new:,} new this run, {total - new:,} known before)"


@index.command("query")
@click.argument("images", type=click.Path(exists=True, path_type=Path))
@_db_option
@click.option("--method", "-m", type=MethodChoice(), default=None,
              help=f"Method to compare with [default: the one the index holds; {DEFAULT_METHOD} when it holds "
                   "several].")
@threshold_option
@recursive_option
@output_options("matches")
@click.option("--fail-on-duplicates", is_flag=True,
              help=f"Exit with code {EXIT_DUPLICATES} when an image of IMAGES matches (for pipelines; "
                   "'imagetwins check IMAGES --against DB' does so always).")
@quiet_option
@timings_option
@colour_variants_option
def index_query(images: Path, db_path: Path, method: str | None, threshold: int | None, recursive: bool,
                requested: Requested, fail_on_duplicates: bool = False, quiet: bool = False,
                show_timings: bool = False, colour_variants: str = "copies") -> None:
    """Which indexed images duplicate IMAGES (a file, or a folder: with -r its sub-folders too)? Nothing is added
    to the index.

    Each image with a match is printed with its matches, as 'imagetwins check' prints them; --json,
    --csv and --ndjson write them in the shapes 'check' writes ('-' for stdout).

    Exit codes: 0 the query answered, matches or not (with --fail-on-duplicates 3 when an image matches, as
    'check' always does, incomplete or not), 1 the query incomplete, as 'check' and 'find --against': no image
    read in IMAGES, an image of it unreadable, or an empty index (said with -q too: an error), 2 bad usage.

    \b
    Examples:
      imagetwins index query upload.jpg --db catalogue.db
      imagetwins index query uploads/ -r --db catalogue.db --json matches.json
    """
    from imagetwins.check import check
    from imagetwins.cli._scan import warn_skipped
    from imagetwins.cli.check import compared, summary
    from imagetwins.index import IndexFileError

    with _open_index(db_path, [], readonly=True) as idx:
        if method is None:  # an index of one method is asked with it
            held = idx.stored_methods()
            method = held[0] if len(held) == 1 else DEFAULT_METHOD
        threshold = check_threshold(method, threshold)
        refuse_colour_variants(method)
        note_threshold(method, threshold, quiet)
        try:
            checked = check(images, idx, method, threshold, recursive=recursive, progress=show_progress(quiet),
                            colour_variants=colour_variants)
        except IndexFileError as exc:
            raise click.ClickException(str(exc)) from None
    result = checked.query
    unreadable = warn_skipped(result.failures, quiet, follow_hint=False)
    found = outputs.Matches(result)
    requested.write(found)
    if not quiet and not requested.to_stdout and compared(images, result):  # (stdout holds the data alone)
        write_text(found)
        # (check's line, on the same stream: "4 matches" alone said neither of how many images nor against how many)
        echo(summary(images, db_path, result, method, unreadable))
    say_timings(show_timings)
    if not checked.complete:  # a script must not read "no match" from a query that read nothing (check's rule)
        echo("error: " + "; ".join(checked.reasons_incomplete), err=True)
    exit_for(fail_on_duplicates, bool(checked.leaks))  # (a match found outweighs the rest, as in check)
    if not checked.complete:
        sys.exit(EXIT_ERROR)


@index.command("stats")
@_db_option
@file_option("json", help="Write the counts as JSON instead ('-' for stdout): path, files, unreadable, encodings "
                          "(per method), missing_encodings, unreadable_files (path, reason), bytes, bytes_per_file, "
                          "schema_version.")
def index_stats(db_path: Path, json_out: Path | None) -> None:
    """Files, encodings per method, unreadable files (with the reason) and size of an index.

    \b
    Examples:
      imagetwins index stats --db catalogue.db
      imagetwins index stats --db catalogue.db --json -
    """
    from imagetwins.index import IndexFileError

    with _open_index(db_path, [], readonly=True) as idx:
        try:
            stats = idx.stats()
        except IndexFileError as exc:  # (a damaged page: one line)
            raise click.ClickException(str(exc)) from None
    if json_out is not None:
        write_json(stats, json_out)
        return
    for line in stats_lines(stats):
        echo(line)


def stats_lines(stats: dict) -> list[str]:
    """``index stats``' text: what :meth:`imagetwins.index.Index.stats` counts, in words."""
    each = f" ({stats['bytes_per_file'] / 1e3:,.1f} KB a file)" if stats["files"] else ""
    lines = [f"{printable(stats['path'])}: {counted(stats['files'], 'file')}, {stats['unreadable']:,} unreadable, "
             f"{stats['bytes'] / 1e6:,.1f} MB{each}"]
    missing = stats["missing_encodings"]
    for method, n in stats["encodings"].items():
        lack = f", {missing[method]:,} readable files lack it (the next 'index update' makes them)" \
            if method in missing else ""
        lines.append(f"  {method}: {counted(n, 'file')} encoded{lack}")
    if not stats["encodings"]:
        lines.append("  no method encoded yet ('imagetwins index update DIR --db FILE' adds copies)")
    lines += [f"  unreadable: {printable(f['path'])}: {printable(f['reason'])}" for f in stats["unreadable_files"]]
    return lines
