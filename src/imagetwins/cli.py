"""Command line: ``imagetwins find DIR`` and friends."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click

from imagetwins import __version__
from imagetwins.hashing import HASH_METHODS

EXIT_OK = 0
EXIT_ERROR = 1
# click uses 2 for usage errors (bad option, missing folder)


def _show_progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="imagetwins")
def main() -> None:
    """Find exact and near-duplicate images.

    \b
    Examples:
      imagetwins find photos/                 # groups of duplicates, printed
      imagetwins find photos/ -r --json out.json
      imagetwins find shop/ --method dhash --threshold 6 --csv dups.csv
    """


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--method", "-m", type=click.Choice(sorted(HASH_METHODS)), default="phash", show_default=True,
              help="Hash used to compare images.")
@click.option("--threshold", "-t", type=click.IntRange(0, 256), default=None,
              help="Largest Hamming distance that counts as a duplicate [default: 10 for the 64-bit hashes, "
                   "72 of 256 for dihedral].")
@click.option("--recursive", "-r", is_flag=True, help="Scan sub-folders too.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write groups, pairs and unreadable files as JSON ('-' for stdout).")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one row per file in a group: group,path,exact,max_distance.")
@click.option("--workers", "-j", type=click.IntRange(1), default=None, help="Threads (default: all CPUs).")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Keep encodings in this index file (see 'imagetwins index'); default: a cache per folder "
                   "in your user cache directory.")
@click.option("--no-cache", is_flag=True, help="Encode everything afresh and keep nothing.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def find(directory: Path, method: str, threshold: int, recursive: bool, json_out: Path | None,
         csv_out: Path | None, workers: int | None, db_path: Path | None, no_cache: bool, quiet: bool) -> None:
    """Find groups of duplicate images in DIRECTORY.

    Byte-identical files are always grouped; other images are grouped when their hashes differ in at
    most --threshold bits. Unreadable files are reported and skipped. Nothing is moved or deleted.
    Encodings are cached, so a second run only reads new and changed files.

    \b
    Examples:
      imagetwins find ~/Pictures -r
      imagetwins find catalogue/ -m phash -t 8 --json dups.json
      imagetwins find scans/ -m dihedral      # also matches mirrored and rotated copies
    """
    from imagetwins.finder import find_duplicate_groups
    from imagetwins.hashing import get_method

    nbits = get_method(method).nbits
    if threshold is not None and threshold > nbits:
        raise click.BadParameter(f"{method} hashes have {nbits} bits; use 0..{nbits}", param_hint="--threshold")
    cache = None
    if not no_cache:
        from imagetwins.index import Index, IndexMismatchError, default_cache_path

        try:
            cache = Index(db_path or default_cache_path(directory), methods=[method])
        except IndexMismatchError as exc:
            raise click.ClickException(str(exc)) from None
    try:
        result = find_duplicate_groups(directory, method=method, threshold=threshold, recursive=recursive,
                                       workers=workers, progress=_show_progress(quiet), cache=cache)
    finally:
        if cache is not None:
            cache.close()
    for f in result.failures:
        click.echo(f"warning: skipped {f.path}: {f.reason}", err=True)
    if json_out is not None:
        text = json.dumps(result.to_dict(), indent=2)
        if str(json_out) == "-":
            click.echo(text)
        else:
            json_out.write_text(text, encoding="utf-8")
    if csv_out is not None:
        with open(csv_out, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["group", "path", "exact", "max_distance"])
            for gi, g in enumerate(result.groups, 1):
                for path in g.files:
                    writer.writerow([gi, path, int(g.exact), g.max_distance])
    if quiet or str(json_out) == "-":
        return
    for gi, g in enumerate(result.groups, 1):
        if g.exact:
            kind = "byte-identical files"
        elif g.max_distance == 0:
            kind = "identical hashes"
        else:
            kind = f"up to {g.max_distance} bits apart"
        click.secho(f"group {gi}: {len(g.files)} files, {kind}", bold=True)
        for path in g.files:
            click.echo(f"  {path}")
    click.echo(
        f"{len(result.files)} images read, {len(result.failures)} unreadable, "
        f"{len(result.groups)} duplicate groups holding {result.files_in_groups} files "
        f"({result.seconds:.1f} s, {method}, threshold {result.threshold})"
    )
    if not result.files and not result.failures:
        click.echo(f"note: no image files found in {directory}" + ("" if recursive else " (try --recursive)"))


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--truth", type=click.Path(exists=True, path_type=Path),
              help="Ground truth: JSON ({file: [duplicates]} or a list of groups). Default: each sub-folder "
                   "of DIRECTORY is one group of duplicates.")
@click.option("--method", "-m", "methods", multiple=True, type=click.Choice(sorted(HASH_METHODS)),
              help="Methods to try (repeatable; default all).")
@click.option("--target-precision", type=click.FloatRange(0, 1), default=0.99, show_default=True,
              help="Recommend the highest recall at or above this pair precision.")
@click.option("--plot", "plot_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a precision-recall plot (PNG).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every (method, threshold) point as JSON.")
@click.option("--workers", "-j", type=click.IntRange(1), default=None, help="Threads (default: all CPUs).")
@click.option("--quiet", "-q", is_flag=True, help="Print only the recommendation.")
def tune(directory: Path, truth: Path | None, methods: tuple[str, ...], target_precision: float,
         plot_out: Path | None, json_out: Path | None, workers: int | None, quiet: bool) -> None:
    """Pick a method and threshold from labelled examples of YOUR duplicates.

    Label a sample: put each set of duplicates in its own sub-folder (or write a JSON ground truth),
    leave unique images at the top level. Every method is tried at every threshold; the table shows
    each method's best point and the recommendation.

    \b
    Examples:
      imagetwins tune labelled/                       # sub-folders are the groups
      imagetwins tune sample/ --truth truth.json --plot pr.png --target-precision 0.995
    """
    from imagetwins.evaluation import sweep

    result = sweep(truth if truth is not None else directory, directory, methods=list(methods) or None,
                   target_precision=target_precision, workers=workers, progress=_show_progress(quiet))
    if result.positives == 0:
        raise click.UsageError("the ground truth holds no duplicate pairs: nothing to tune against")
    for path in result.unreadable:
        click.echo(f"warning: skipped unreadable {path}", err=True)
    if plot_out is not None:
        result.plot(plot_out)
    if json_out is not None:
        json_out.write_text(json.dumps(result.to_dict(), indent=2), encoding="utf-8")
    if quiet:
        rec = result.recommendation
        click.echo(f"--method {rec.method} --threshold {rec.threshold}" if rec else "no recommendation")
    else:
        click.echo(result.table())


@main.group()
def index() -> None:
    """Keep encodings in an index file: re-runs encode only what changed, new images are checked fast.

    \b
    Examples:
      imagetwins index update catalogue/ --db catalogue.db
      imagetwins index query new_upload.jpg --db catalogue.db
      imagetwins index stats --db catalogue.db
    """


_db_option = click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
                          help="The index file (SQLite).")
_methods_option = click.option("--method", "-m", "methods", multiple=True, type=click.Choice(sorted(HASH_METHODS)),
                               help="Methods to keep (repeatable; default phash).")


def _open_index(db_path: Path, methods: tuple[str, ...] | list[str]):
    from imagetwins.index import Index, IndexMismatchError

    try:
        return Index(db_path, methods=list(methods) or ["phash"])
    except IndexMismatchError as exc:
        raise click.ClickException(str(exc)) from None


@index.command("update")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_db_option
@_methods_option
@click.option("--recursive/--no-recursive", "-r", default=True, show_default=True, help="Include sub-folders.")
@click.option("--workers", "-j", type=click.IntRange(1), default=None, help="Threads (default: all CPUs).")
@click.option("--quiet", "-q", is_flag=True)
def index_update(directory: Path, db_path: Path, methods: tuple[str, ...], recursive: bool, workers: int | None,
                 quiet: bool) -> None:
    """Add new and changed images under DIRECTORY to the index; forget deleted ones."""
    with _open_index(db_path, methods) as idx:
        st = idx.update(directory, recursive=recursive, workers=workers, progress=_show_progress(quiet))
        if not quiet:
            click.echo(f"{st.added} added, {st.changed} changed, {st.removed} removed, {st.unchanged} unchanged, "
                       f"{st.unreadable} unreadable ({st.seconds:.1f} s) -> {db_path}")


@index.command("query")
@click.argument("images", type=click.Path(exists=True, path_type=Path))
@_db_option
@click.option("--method", "-m", type=click.Choice(sorted(HASH_METHODS)), default="phash", show_default=True)
@click.option("--threshold", "-t", type=click.IntRange(0, 256), default=None, help="Default: the method's.")
@click.option("--json", "as_json", is_flag=True, help="Print matches as JSON.")
def index_query(images: Path, db_path: Path, method: str, threshold: int | None, as_json: bool) -> None:
    """Which indexed images duplicate IMAGES (a file or a folder)? Nothing is added to the index."""
    if not db_path.exists():
        raise click.ClickException(f"no index at {db_path}; make one with 'imagetwins index update DIR --db ...'")
    with _open_index(db_path, [method]) as idx:
        matches = idx.query(images, method=method, threshold=threshold)
    if as_json:
        click.echo(json.dumps([{"query": q, "match": m, "distance": d} for q, m, d in matches], indent=2))
        return
    for q, m, d in matches:
        click.echo(f"{q}\t{m}\t{d}")
    click.echo(f"{len(matches)} matches", err=True)


@index.command("stats")
@_db_option
def index_stats(db_path: Path) -> None:
    """Files, encodings and size of an index."""
    if not db_path.exists():
        raise click.ClickException(f"no index at {db_path}")
    from imagetwins.index import Index

    with Index(db_path, methods=[]) as idx:
        click.echo(json.dumps(idx.stats(), indent=2))
