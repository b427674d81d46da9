"""``imagetwins cache list|clear``: the per-folder caches."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from imagetwins.cli._common import EXIT_ERROR, echo
from imagetwins.text import counted


@click.group()
def cache() -> None:
    """See and free the per-folder caches that 'find', 'report' and 'remove' keep.

    Each scanned folder gets one cache file in your user cache directory with the encodings of
    every method used on it, so a re-run only reads new and changed files. Deleting a cache is
    always safe: the next run encodes the folder again. Your images are never touched.

    \b
    Examples:
      imagetwins cache list
      imagetwins cache clear ~/Pictures
      imagetwins cache clear --all
    """


@cache.command("list")
def cache_list() -> None:
    """One line per cache: folder, files, methods, size (and 'gone' when the folder no longer exists).

    \b
    Example:
      imagetwins cache list
    """
    from imagetwins.index import cache_folder, list_caches

    caches = list_caches()
    for c in caches:
        if c.problem:
            echo(f"{c.path}: {c.problem}")
            continue
        folder = c.folder or "(folder not recorded)"
        gone = "  (gone)" if c.folder and not Path(c.folder).is_dir() else ""
        echo(f"{folder}{gone}  {counted(c.files, 'file')}  {', '.join(c.methods) or 'no methods'}  "
              f"{c.bytes / 1e6:.1f} MB  {c.path}")
    total = sum(c.bytes for c in caches)
    echo(f"{counted(len(caches), 'cache')}, {total / 1e6:.1f} MB in {cache_folder()}", err=True)


@cache.command("clear")
@click.argument("folders", nargs=-1, type=click.Path(file_okay=False, path_type=Path))
@click.option("--all", "all_", is_flag=True, help="Delete every cache, not only those of FOLDERS.")
def cache_clear(folders: tuple[Path, ...], all_: bool) -> None:
    """Delete the caches of FOLDERS (or --all of them); the folders themselves are not touched.

    \b
    Examples:
      imagetwins cache clear ~/Pictures
      imagetwins cache clear --all
    """
    from imagetwins.index import cache_folder, clear_caches, default_cache_path

    if not folders and not all_:
        raise click.UsageError("name the folders whose caches to delete, or give --all")
    if folders and all_:
        raise click.UsageError("give FOLDERS or --all, not both")
    for folder in folders:
        if not default_cache_path(folder).is_file():
            echo(f"note: no cache for {folder}")
    failed: list = []
    gone = clear_caches(None if all_ else list(folders), failed)
    caches = [p for p in gone if p.suffix == ".db"]
    echo(f"deleted {counted(len(caches), 'cache')} from {cache_folder()}")
    for path, why in failed:
        echo(f"error: cannot delete {path}: {why}", err=True)
    if failed:
        sys.exit(EXIT_ERROR)
