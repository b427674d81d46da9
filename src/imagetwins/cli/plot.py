"""``imagetwins plot DIR FILE``: one file beside its duplicates (imagededup's plot_duplicates)."""

from __future__ import annotations

from pathlib import Path

import click

from imagetwins.cli._common import (
    OutputFile,
    check_threshold,
    echo,
    method_option,
    need_matplotlib,
    plural,
    recursive_option,
    threshold_option,
    writing,
)


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("filename")
@click.option("--output", "-o", type=OutputFile(), default=None,
              help="Save the picture (PNG) instead of showing it.")
@method_option
@threshold_option
@recursive_option
def plot(directory: Path, filename: str, output: Path | None, method: str, threshold: float | None,
         recursive: bool) -> None:
    """Show FILENAME (in DIRECTORY) beside its duplicates, as imagededup's plot_duplicates does."""
    from imagetwins.finder import find_duplicates_map
    from imagetwins.report import plot_duplicates

    threshold = check_threshold(method, threshold)
    need_matplotlib()
    found = find_duplicates_map(directory, method=method, threshold=threshold, recursive=recursive)
    try:
        with writing(output):
            plot_duplicates(directory, found, filename, outfile=output)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if output is not None:
        echo(f"{plural(len(found[filename]), 'duplicate')} of {filename} -> {output}")
