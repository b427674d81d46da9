"""``imagetwins plot DIR FILE``: one file beside its duplicates (imagededup's plot_duplicates)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from imagetwins.cli._common import (
    FolderPath,
    OutputFile,
    check_threshold,
    echo,
    method_option_with,
    need_matplotlib,
    recursive_option,
    refuse_picture_over,
    threshold_option,
    writing,
)
from imagetwins.text import counted


@click.command()
@click.argument("directory", type=FolderPath())
@click.argument("filename")
@click.option("--output", "-o", type=OutputFile(picture=True), default=None,
              help="Save the picture (PNG) instead of showing it.")
@method_option_with("find FILENAME's duplicates", "other shots of its scene (burst frames, the same view again) "
                    "are shown")
@threshold_option
@recursive_option
def plot(directory: Path, filename: str, output: Path | None, method: str, threshold: float | None,
         recursive: bool) -> None:
    """Show FILENAME (in DIRECTORY) beside its duplicates, as imagededup's plot_duplicates does.

    \b
    Examples:
      imagetwins plot photos/ IMG_0001.jpg -o dups.png      # needs pip install "imagetwins[plot]"
      imagetwins plot photos/ 2019/IMG_0001.jpg -r -m phash  # a file in a sub-folder: its path in DIRECTORY
    """
    from imagetwins.finder import find_duplicates_map
    from imagetwins.report import plot_duplicates

    threshold = check_threshold(method, threshold)
    refuse_picture_over("--output", output, within=directory)
    need_matplotlib(output)  # (and the picture's format: before the scan, not after it)
    filename = _name_in(directory, filename, recursive)
    found = find_duplicates_map(directory, method=method, threshold=threshold, recursive=recursive)
    if filename not in found:
        raise click.ClickException(f"{filename} in {directory} is not an image imagetwins could read")
    try:
        with writing(output):
            plot_duplicates(directory, found, filename, outfile=output)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if output is not None:
        echo(f"{counted(len(found[filename]), 'duplicate')} of {filename} -> {output}")


def _name_in(directory: Path, filename: str, recursive: bool) -> str:
    """FILENAME as the duplicate map names it (relative to DIRECTORY), checked before any image is read: a file
    that is not there, or lies in a sub-folder without -r, is a usage error naming what to do, not a
    "not a key of duplicate_map" after the whole folder was searched."""
    path = Path(filename)
    if path.is_absolute():  # a full path to a file inside DIRECTORY is fine too
        try:
            path = path.resolve().relative_to(directory.resolve())
        except ValueError:
            raise click.UsageError(f"{filename} is not inside {directory}") from None
    name = Path(os.path.normpath(path))
    if name.parts[:1] == ("..",) or not (directory / name).is_file():
        raise click.UsageError(f"no file {name} in {directory} (FILENAME is a path inside DIRECTORY)")
    if any((directory / Path(*name.parts[:k])).is_symlink() for k in range(1, len(name.parts) + 1)):
        # (the scan follows no link: the search ran, then said "not an image imagetwins could read")
        raise click.UsageError(f"{name} in {directory} is reached through a symbolic link, and the search follows "
                               "none: give the file it leads to")
    if len(name.parts) > 1 and not recursive:
        raise click.UsageError(f"{name} lies in a sub-folder of {directory}: add -r to search sub-folders too")
    return name.as_posix()
