"""``imagetwins folders DIR``: folders that are copies of folders (:mod:`imagetwins.folders`)."""

from __future__ import annotations

from pathlib import Path

import click

from imagetwins.cli._common import FolderPath, echo, scan_options, write_json
from imagetwins.cli._outputs import file_option
from imagetwins.cli._scan import hint_if_empty, scan
from imagetwins.cli.decisions import ignore_decisions_option, load_remembered
from imagetwins.text import counted


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


@click.command()
@click.argument("directory", type=FolderPath())
@file_option("json",
             help="Write the pairs as a plan ('-' for stdout): 'remove DIRECTORY --plan FILE' moves each folder "
                  "whose images all have a copy, as a whole, into the quarantine ('skip': true keeps one).")
@click.option("--min-share", type=click.FloatRange(1, 100), default=95.0, show_default=True,
              help="List a folder when at least this percentage of its images have a copy in the other folder.")
@scan_options
@ignore_decisions_option
def folders(directory: Path, json_out: Path | None, min_share: float, method: str, threshold: float | None,
            recursive: bool, workers: int | None, no_cache: bool, quiet: bool, follow_symlinks: bool = False,
            ignore_decisions: bool = False) -> None:
    """List folders of DIRECTORY whose images all (or nearly all) have a copy in another folder.

    A folder counts with its sub-folders. Byte-identical files are copies under any method; --method
    decides which other copies count: with copies (the default) also crops, captions, flips, grey and
    other edits of a picture, so a folder of your own edits is listed as a copy of its originals; with
    -m phash only resized and re-saved ones. Largest reclaimable size first; each line says how much of
    the folder is copied ("identical": both hold the same pictures byte for byte). Nothing is moved: write a plan with
    --json and apply it with 'imagetwins remove DIRECTORY --plan FILE' (a folder moves only when every file
    in it has a copy outside it; undo puts it back).

    \b
    Examples:
      imagetwins folders ~/Pictures -r
      imagetwins folders ~/Pictures -r --json folders.json
      imagetwins remove ~/Pictures --plan folders.json --apply
    """
    from imagetwins.folders import find_duplicate_folders, folders_document
    from imagetwins.plan import needs_review

    if needs_review(method):  # (a folder of re-shots holds other photos: never "a copy" to remove as a whole)
        raise click.UsageError(f"folders lists folders of copies: -m {method} finds re-shots of one scene, other "
                               "photos (use -m copies, the default, or a hash method)")
    if not recursive and not quiet:
        echo("note: without --recursive only DIRECTORY's own images are read, so no folder can be compared; "
             "add -r", err=True)
    result = scan(directory, method, threshold, recursive, workers, no_cache, quiet, follow_symlinks=follow_symlinks,
                  decisions=load_remembered(None, ignore_decisions, quiet))
    pairs = find_duplicate_folders(result, directory, min_share=min_share / 100)
    if json_out is not None:
        write_json(folders_document(pairs, result, directory), json_out)
        if str(json_out) == "-":
            return
    if quiet:
        return
    for p in pairs:
        # (a folder whose copies lie in several folders of DIR, none holding them all: 'a copy of .' read as a
        # folder copying the one that holds it)
        of = p.copy_of or f"pictures elsewhere in {directory}"
        echo(f"{p.redundant}  is a copy of  {of}: {p.describe()}, {_size(p.reclaimable)} to reclaim")
        if not p.complete:
            echo(f"    without a copy there: {', '.join(p.without_copy[:3])}"
                 + (f" and {len(p.without_copy) - 3} more" if len(p.without_copy) > 3 else ""))
    echo(f"{counted(len(pairs), 'folder')} with copies of another, "
         f"{_size(sum(p.reclaimable for p in pairs if p.complete))} to reclaim from those complete "
         f"({counted(len(result.files), 'image')} read, {result.method})")
    if recursive:  # (without -r the note above said to add it: not twice)
        hint_if_empty(result, directory, recursive)
