"""Scanning a folder for the commands that do (find, report, remove): cache, Dask, keep decisions, warnings."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click

from imagetwins.cli._common import (
    check_threshold,
    command_seconds,
    echo,
    groups_found,
    note_threshold,
    refuse_colour_variants,
    show_progress,
)
from imagetwins.cli._interrupt import on_interrupt
from imagetwins.io import HEIF_EXTRA_MISSING, RAW_EXTRA_MISSING, never_walked, recursive_hint, skipped_link
from imagetwins.text import counted


def summary_line(result, method: str) -> str:
    """The line that closes ``find``'s text and ``report``'s: images read, unreadable, groups, the whole command's
    time, the method and threshold (the same words in both: a report is a find with a page)."""
    return (f"{counted(len(result.files), 'image')} read, "
            f"{sum(not skipped_link(f) for f in result.failures):,} unreadable, "
            f"{groups_found(len(result.groups), result.method)} holding {counted(result.files_in_groups, 'file')} "
            f"({command_seconds(result):.1f} s, {method}, threshold {result.threshold})")  # the whole command's time


def hint_if_empty(result, directory: Path, recursive: bool) -> None:
    """find, report and remove say the same when a folder holds no image (only sub-folders, say)."""
    if not result.files and not result.failures:
        note_no_images(directory, recursive)


def note_no_images(directory: Path, recursive: bool) -> None:
    """The one line of every command that found no image file in ``directory`` (index update too)."""
    echo(f"note: no image files found in {directory}" + recursive_hint(directory, recursive))


def warn_skipped(failures, quiet: bool, follow_hint: bool = True) -> int:
    """One warning line per file that could not be read, one line for all the symbolic links left alone;
    nothing with --quiet. Returns how many files could not be read (links not counted)."""
    walled = [f for f in failures if never_walked(f)]  # (--follow-symlinks or not: each said, none counted)
    links = [f for f in failures if skipped_link(f) and not never_walked(f)]
    unreadable = [f for f in failures if not skipped_link(f)]
    if not quiet:
        for f in walled:
            echo(f"note: skipped {f.path}: {f.reason}", err=True)
        for f in unreadable:
            echo(f"warning: skipped {f.path}: {f.reason}", err=True)
        # (a phone's library is mostly HEIC: without the extra, thousands of lines scrolled by and the run went on
        # as if those photos were not there, byte copies of one another among them; one line says it after them)
        for reason, what, extra in ((HEIF_EXTRA_MISSING, "HEIC/HEIF photo", "heif"),
                                    (RAW_EXTRA_MISSING, "camera RAW file", "raw")):
            n = sum(f.reason == reason for f in unreadable)
            if n > 1:
                echo(f"note: {counted(n, what)} skipped, none compared with anything (not even their byte copies): "
                     f'this install cannot read them; pip install "imagetwins[{extra}]", then run again', err=True)
        if links:
            echo(f"note: {counted(len(links), 'symbolic link')} skipped (a link is never a copy of its target"
                  + ("; --follow-symlinks follows those leading out of the folder)" if follow_hint else ")"),
                  err=True)
    return len(unreadable)



def note_already_linked(result, quiet: bool) -> None:
    """One note for the names that are hard links of another name in a group (one file: not a duplicate)."""
    extra = sum(len(names) - 1 for names in getattr(result, "already_linked", ()))
    if extra and not quiet:
        echo(f"note: {counted(extra, 'file name')} {'is a hard link' if extra == 1 else 'are hard links'} to another "
             "name of the same file: already linked, not duplicates (nothing to remove; 'find --json' lists them "
             "as already_linked)", err=True)
    copies = sum(len(names) - 1 for names in getattr(result, "placeholders", ()))
    if copies and not quiet:
        echo(f"note: {counted(copies, 'file')} {'is a copy' if copies == 1 else 'are copies'} that 'remove --link' "
             "left in moved files' places, unchanged since: handled already, not duplicates ('find --json' lists "
             "them as placeholders)", err=True)


def find_on_dask(directory: Path, method: str, threshold: int | None, recursive: bool, scheduler: str | None,
                  dask_workers: int | None):
    try:
        from distributed import Client

        from imagetwins.distributed import find_duplicates_dask, local_client
    except ImportError:
        raise click.ClickException('Dask is not installed: pip install "imagetwins[dask]"') from None
    client = Client(scheduler) if scheduler else local_client(dask_workers)
    try:
        return find_duplicates_dask(directory, method=method, threshold=threshold, client=client,
                                    recursive=recursive)
    finally:
        client.close()
        if not scheduler:
            client.cluster.close()


def note_keep_in_outside(directory: Path | None, keep_in: tuple[Path, ...], quiet: bool) -> None:
    """A reference folder neither inside the scanned folder nor holding it protects nothing there: say so."""
    if directory is None or quiet:
        return
    scanned = directory.resolve()
    for folder in keep_in:
        real = folder.resolve()
        if not (real.is_relative_to(scanned) or scanned.is_relative_to(real)):
            echo(f"note: --keep-in {folder} is outside {directory}: none of its files is scanned, so it protects "
                  "nothing here", err=True)


def decide(result, keep_rule: str, keep_in: tuple[Path, ...], workers: int | None, raw_pairs: str = "keep",
           followed: Path | None = None, quiet: bool = False):
    """The result with the keep policy's verdict per group (``.decisions``), decided once per run (a review
    page written from it reuses them); groups become stars around their keepers (see imagetwins.keep).
    ``followed``: the folder scanned with --follow-symlinks: a file reached through a link is the keeper only
    where its group has no other file (remove never moves nor keeps one: find, report and remove agree).
    A group whose --keep-in files are all named as no image keeps an image-named copy too: one note says so."""
    from imagetwins.keep import decide_keepers, keepers_beside_unnamed_references

    result = decide_keepers(result, keep_in=keep_in, rule=keep_rule, workers=workers,
                            raw_sidecars=raw_pairs == "keep", session=run_session(),
                            roots=(followed,) if followed is not None else ())
    beside = keepers_beside_unnamed_references(result.decisions, keep_in) if keep_in and not quiet else []
    if beside:
        keeper, reference = beside[0]
        echo(f"note: {counted(len(beside), 'group')} {'has' if len(beside) == 1 else 'have'} no file named as an image "
             f"in --keep-in: {'its files there stay' if len(beside) == 1 else 'their files there stay'}, and the "
             f"keeper is an image-named copy outside (a file found by its bytes, such as a backup, is never kept in "
             f"place of a photo), e.g. {reference} beside {keeper}", err=True)
    return result


_SESSION = "imagetwins.session"


def run_session():
    """The session :func:`scan` opened for this command (its index and pair scores, open until the command
    ends), or None."""
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get(_SESSION) if ctx is not None else None



def scan(directory: Path, method: str, threshold: float | None, recursive: bool, workers: int | None,
          no_cache: bool, quiet: bool, db_path: Path | None = None, exif_orientation: bool = True,
          follow_symlinks: bool = False, decisions=False, colour_variants: str | None = None):
    """Find the groups (through the cache unless ``no_cache``) and report unreadable files; ``decisions``: the
    remembered decisions to honour (:func:`imagetwins.cli.decisions.load_remembered`), False none;
    ``colour_variants``: ``--colour-variants`` (:class:`imagetwins.scores.ColourVariants`).

    The run's session (:func:`run_session`: the cache or index, its pair scores, the workers) stays open until
    the command ends, so the keep decisions and the review page use the index the search used."""
    from imagetwins.timing import stage

    with stage("start"):  # (the library's modules, loaded on first use)
        from imagetwins.encoders import get_encoder
        from imagetwins.finder import find_duplicate_groups
        from imagetwins.index import (
            Index,
            IndexFileError,
            default_cache_path,
            folder_cache_donors,
            no_cache_line,
            open_folder_cache,
        )
        from imagetwins.session import Session

    threshold = check_threshold(method, threshold)
    refuse_colour_variants(method)
    note_threshold(method, threshold, quiet)
    cache = None
    made = not no_cache and db_path is None and not default_cache_path(directory).exists()
    if not no_cache:
        try:
            with stage("open"):
                # (an index that cannot be written is read: its rows of unchanged files used, the others encoded
                # for this run and not stored, which a warning says)
                cache = (Index(db_path, methods=[method]) if db_path is not None
                         else open_folder_cache(directory, methods=[method]))
        except (IndexFileError, OSError, sqlite3.Error) as exc:
            if db_path is not None:
                raise click.ClickException(str(exc)) from None
            if (line := no_cache_line(exc)) is not None and not quiet:  # (changes no answer: a CostNotice's rule)
                echo(f"warning: {line}", err=True)
        if cache is not None and db_path is not None:  # (rows a plain 'find' of the folder, or of one above it, kept)
            with stage("open"):
                cache.donors = folder_cache_donors(directory, besides=db_path)
    # (a cache made now for a folder that holds no image is deleted when the command ends: 'cache list' listed them)
    session = Session(cache, workers, show_progress(quiet), owns_index=True, made_cache=made)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[_SESSION] = session
        ctx.call_on_close(session.close)

    def done() -> str:
        kept = (f"; the cache keeps the {counted(cache.stored, 'image')} encoded so far"
                if cache and cache.stored else "")
        return f"interrupted (Ctrl-C) while scanning {directory}: no file was changed{kept}"

    try:
        encoder = get_encoder(method) if exif_orientation else get_encoder(method).on_stored_pixels()
        with on_interrupt(done):
            result = find_duplicate_groups(directory, method=encoder, threshold=threshold, recursive=recursive,
                                           follow_symlinks=follow_symlinks, session=session, decisions=decisions,
                                           colour_variants=colour_variants)
    except IndexFileError as exc:
        session.close()
        raise click.ClickException(str(exc)) from None
    finally:
        if ctx is None:
            session.close()
    warn_skipped(result.failures, quiet)
    note_already_linked(result, quiet)
    return result
