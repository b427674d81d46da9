"""Command line: ``imagetwins find DIR`` and friends."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sqlite3
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import click

from imagetwins import __version__
from imagetwins.encoders import encoder_names, get_encoder
from imagetwins.io import skipped_link
from imagetwins.text import csv_cell, printable

#: each method's default threshold, for the help texts
_DEFAULT_THRESHOLDS = ", ".join(f"{n} {get_encoder(n).default_threshold}" for n in encoder_names())


class MethodChoice(click.Choice):
    """``--method``: any registered method (:mod:`imagetwins.encoders`), read when the command line is parsed,
    so a method registered by a plug-in is accepted too."""

    def __init__(self, output: str | None = None) -> None:
        self.output = output
        super().__init__([], case_sensitive=False)

    @property
    def choices(self) -> list[str]:
        return encoder_names(self.output)

    def convert(self, value, param, ctx):
        name = super().convert(value, param, ctx)
        why = getattr(get_encoder(name), "unavailable", lambda: None)()  # e.g. an optional dependency missing
        if why:
            self.fail(why, param, ctx)
        return name

    @choices.setter
    def choices(self, value) -> None:  # click sets it in __init__; the registry is the source
        pass


EXIT_OK = 0
EXIT_ERROR = 1
EXIT_REFUSED = 1  # remove: a file of the plan was refused or could not be moved (each named, then one summary)
# click uses 2 for usage errors (bad option, missing folder)
EXIT_DUPLICATES = 3  # with --fail-on-duplicates: duplicates (or leaks) were found


class OutputFile(click.Path):
    """A file the command will write: its folder must exist, checked before any work is done."""

    def __init__(self, allow_dash: bool = False) -> None:
        super().__init__(dir_okay=False, path_type=Path, allow_dash=allow_dash)

    def convert(self, value, param, ctx):
        path = super().convert(value, param, ctx)
        if str(path) != "-" and not path.absolute().parent.is_dir():
            name = param.opts[0] if param is not None else "output"
            raise click.ClickException(f"cannot write {name} {path}: the folder {path.parent} does not exist")
        return path


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Turn a failure to write an output file into one line naming it."""
    try:
        yield
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None


def _need_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise click.ClickException('plots need matplotlib: pip install "imagetwins[plot]"') from None


def _show_progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Python warnings (a skipped file, a library's notice) as one 'warning:' line, without source lines."""
    text = " ".join(str(message).split())
    _echo(f"warning: {text}", err=True)


class _SafeMessages(click.Group):
    """Error lines name files too: their control characters and raw bytes are shown as escapes there as well."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            exc.message = printable(exc.message)
            raise


@click.group(cls=_SafeMessages, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="imagetwins")
def main() -> None:
    """Find exact and near-duplicate images.

    \b
    Examples:
      imagetwins find photos/ -r                  # groups of duplicates, and which file to keep
      imagetwins find photos/ -r --json out.json
      imagetwins report photos/ -r -o review.html # look at them in a browser
      imagetwins remove photos/ -r --apply        # move extras to quarantine (undo: imagetwins undo)
      imagetwins find test/ --against train/ -r --fail-on-duplicates
      imagetwins tune labelled/                   # which method and threshold suit your images
      imagetwins index update catalogue/ --db catalogue.db
    """
    warnings.showwarning = _one_line_warning
    # Pillow's own notices (corrupt EXIF while the keeper reads capture dates, ...) name no file; every
    # file we cannot use is reported by us, with its name and reason
    warnings.filterwarnings("ignore", module=r"PIL\.")


# -- options shared by several commands, declared once ------------------------------------------------------
_method_option = click.option(
    "--method", "-m", type=MethodChoice(), default="phash", show_default=True,
    help="Method used to compare images: a hash (phash; dihedral also matches flips and turns), cnn for CNN "
         "embeddings (slower; also pairs different photos of one subject), or copies for copies confirmed by "
         "geometric verification (crops, padding, captions; not look-alikes; needs imagetwins[copies]).")
_threshold_option = click.option(
    "--threshold", "-t", type=float, default=None,
    help="Largest Hamming distance (hashes) or smallest cosine similarity (vector methods) that counts as a "
         f"duplicate [default: {_DEFAULT_THRESHOLDS}].")
_recursive_option = click.option("--recursive", "-r", is_flag=True, help="Scan sub-folders too.")
_workers_option = click.option("--workers", "-j", type=click.IntRange(1), default=None,
                               help="Threads (default: all CPUs).")
_no_cache_option = click.option("--no-cache", is_flag=True, help="Encode everything afresh and keep nothing.")
_quiet_option = click.option(
    "--quiet", "-q", is_flag=True,
    help="Print nothing but errors: no results, no summary, no per-file warnings (skipped files, links); the "
         "exit code still tells.")
_follow_option = click.option(
    "--follow-symlinks", is_flag=True,
    help="Follow symbolic links that lead out of DIRECTORY (default: each is reported and skipped). Links "
         "inside it never count as copies, and remove never moves a file reached through a link.")


def _scan_options(f):
    """Options shared by the commands that scan a folder for duplicates."""
    for opt in reversed([_method_option, _threshold_option, _recursive_option, _workers_option, _no_cache_option,
                         _quiet_option, _follow_option]):
        f = opt(f)
    return f


def _keep_options(f):
    """--keep and --keep-in, the same on find, report and remove."""
    from imagetwins.keep import KEEP_RULES

    f = click.option("--raw-pairs", type=click.Choice(["keep", "one"]), default="keep", show_default=True,
                     help="A camera RAW file and the JPEG written beside it (same name): keep both, or treat "
                          "them as duplicates and keep one.")(f)
    f = click.option("--keep-in", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
                     help="Reference folder (repeatable): files in it are always kept, never touched.")(f)
    return click.option("--keep", "keep_rule", type=click.Choice(KEEP_RULES), default="original",
                        show_default=True,
                        help="Which file of a group to keep: original = highest resolution (an enlarged or "
                             "padded copy ranks after the file it was made from), then the camera format over a "
                             "lossless re-save, then the older capture date, then a name that is not a copy's "
                             "('x copy.jpg', 'x (1).jpg'), then the shorter name; "
                             "largest/smallest file; newest/oldest capture date.")(f)


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_method_option
@_threshold_option
@_recursive_option
@_follow_option
@click.option("--json", "json_out", type=OutputFile(),
              help="Write groups and unreadable files as JSON ('-' for stdout); the decisions file of "
                   "'remove --plan'. With --against: each query image's matches ('matches').")
@click.option("--pairs", "with_pairs", is_flag=True,
              help="Also write every matching pair into the JSON (N copies of one picture make N(N-1)/2 pairs).")
@click.option("--csv", "csv_out", type=OutputFile(allow_dash=True),
              help="Write one row per file in a group ('-' for stdout): group,path,exact,distance (similarity for "
                   "vector methods: the file's own score against its group's keeper),keep. With --against: "
                   "one row per match, query,match,distance (or similarity).")
@_workers_option
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Keep encodings in this index file (see 'imagetwins index'); default: a cache per folder "
                   "in your user cache directory.")
@_no_cache_option
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
@_quiet_option
@_keep_options
def find(directory: Path, method: str, threshold: int, recursive: bool, json_out: Path | None,
         csv_out: Path | None, workers: int | None, db_path: Path | None, no_cache: bool, against: Path | None,
         report_out: Path | None, fail_on_duplicates: bool, scheduler: str | None, dask_workers: int | None,
         ignore_exif_orientation: bool, quiet: bool, keep_rule: str, keep_in: tuple[Path, ...],
         raw_pairs: str = "keep", with_pairs: bool = False, follow_symlinks: bool = False) -> None:
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
    threshold = _check_threshold(method, threshold)
    if str(json_out) == "-" and str(csv_out) == "-":
        raise click.UsageError("--json and --csv cannot both go to stdout ('-')")
    if ignore_exif_orientation and (against is not None or db_path is not None or scheduler or dask_workers):
        raise click.UsageError("--ignore-exif-orientation works on a plain scan: not with --db, --against or Dask")
    if against is not None:
        _find_against(directory, against, method, threshold, recursive, json_out, csv_out, workers, no_cache,
                      fail_on_duplicates, quiet)
        return
    _note_keep_in_outside(directory, keep_in, quiet)
    if scheduler or dask_workers:
        result = _find_on_dask(directory, method, threshold, recursive, scheduler, dask_workers)
        _warn_skipped(result.failures, quiet)
    else:
        result = _scan(directory, method, threshold, recursive, workers, no_cache or ignore_exif_orientation, quiet,
                       db_path, exif_orientation=not ignore_exif_orientation, follow_symlinks=follow_symlinks)
    decisions = _decide(result, keep_rule, keep_in, workers, raw_pairs)
    if json_out is not None:
        from imagetwins.plan import plan_document

        _write_json(plan_document(result, decisions, directory), json_out,
                    result.pair_records() if with_pairs else None)
    if csv_out is not None:
        _write_csv(csv_out, ["group", "path", "exact", result.score_kind, "keep"],
                   ([gi, path, int(g.exact), score, int(path in d.keep)]
                    for gi, (g, d) in enumerate(zip(result.groups, decisions), 1)
                    for path, score in zip(g.files, g.scores or [g.score_field()[1]] * len(g.files))))
    if report_out is not None:
        from imagetwins.report import write_html_report

        with _writing(report_out):
            write_html_report(result, report_out, keep_in=keep_in, keep_rule=keep_rule, workers=workers,
                              progress=_show_progress(quiet), root=directory, raw_sidecars=raw_pairs == "keep")
    if quiet or "-" in (str(json_out), str(csv_out)):  # stdout holds the data alone
        _exit_for(fail_on_duplicates, bool(result.groups))
        return
    for gi, g in enumerate(result.groups, 1):
        _secho(f"group {gi}: {_plural(len(g.files), 'file')}, {g.describe(result.score_unit)}", bold=True)
        for path in g.files:
            _echo(f"  {'keep' if path in decisions[gi - 1].keep else '    '}  {path}")
    _echo(
        f"{_plural(len(result.files), 'image')} read, "
        f"{sum(not skipped_link(f) for f in result.failures)} unreadable, "
        f"{_plural(len(result.groups), 'duplicate group')} holding {_plural(result.files_in_groups, 'file')} "
        f"({result.seconds:.1f} s, {method}, threshold {result.threshold})"
    )
    _hint_if_empty(result, directory, recursive)
    if report_out is not None:
        _echo(f"review page: {report_out}")
    _exit_for(fail_on_duplicates, bool(result.groups))


def _hint_if_empty(result, directory: Path, recursive: bool) -> None:
    """find, report and remove say the same when a folder holds no image (only sub-folders, say)."""
    if not result.files and not result.failures:
        _echo(f"note: no image files found in {directory}" + ("" if recursive else " (try --recursive)"))


def _warn_skipped(failures, quiet: bool, follow_hint: bool = True) -> int:
    """One warning line per file that could not be read, one line for all the symbolic links left alone;
    nothing with --quiet. Returns how many files could not be read (links not counted)."""
    links = [f for f in failures if skipped_link(f)]
    unreadable = [f for f in failures if not skipped_link(f)]
    if not quiet:
        for f in unreadable:
            _echo(f"warning: skipped {f.path}: {f.reason}", err=True)
        if links:
            _echo(f"note: {_plural(len(links), 'symbolic link')} skipped (a link is never a copy of its target"
                  + ("; --follow-symlinks follows those leading out of the folder)" if follow_hint else ")"),
                  err=True)
    return len(unreadable)


def _check_threshold(method: str, threshold: float | None) -> float | int | None:
    """The threshold in the method's own terms (whole bits, or a similarity), or a usage error."""
    if threshold is None:
        return None
    try:
        return get_encoder(method).check_threshold(threshold)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--threshold") from None


def _find_on_dask(directory: Path, method: str, threshold: int | None, recursive: bool, scheduler: str | None,
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


def _echo(message: str = "", **kwargs) -> None:
    """One line of human-readable output: control characters and raw bytes in names shown as escapes."""
    click.echo(printable(message), **kwargs)


def _secho(message: str = "", **kwargs) -> None:
    click.secho(printable(message), **kwargs)


def _write_json(data: dict, out: Path, pair_records=None) -> None:
    """JSON to a file, or to stdout for ``-``; ``pair_records`` are streamed in as ``"pairs"``."""
    from imagetwins.results import write_json

    if str(out) == "-":
        write_json(data, sys.stdout, pair_records)
    else:
        with _writing(out), open(out, "w", encoding="utf-8") as fh:
            write_json(data, fh, pair_records)


def _write_csv(out: Path, header: list[str], rows) -> None:
    """CSV to a file, or to stdout for ``-``."""
    # names that are not UTF-8 are written as their own bytes; formulas are neutralised (OWASP)
    def write(fh) -> None:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows([csv_cell(v) for v in row] for row in rows)

    if str(out) == "-":
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:
            write(sys.stdout)
            return
        sys.stdout.flush()
        fh = io.TextIOWrapper(buffer, encoding="utf-8", errors="surrogateescape", newline="")
        try:
            write(fh)
            fh.flush()
        finally:
            fh.detach()  # stdout stays open
        return
    with _writing(out), open(out, "w", newline="", encoding="utf-8", errors="surrogateescape") as fh:
        write(fh)


def _exit_for(fail_on_duplicates: bool, found: bool) -> None:
    if fail_on_duplicates and found:
        sys.exit(EXIT_DUPLICATES)


def _note_keep_in_outside(directory: Path | None, keep_in: tuple[Path, ...], quiet: bool) -> None:
    """A reference folder neither inside the scanned folder nor holding it protects nothing there: say so."""
    if directory is None or quiet:
        return
    scanned = directory.resolve()
    for folder in keep_in:
        real = folder.resolve()
        if not (real.is_relative_to(scanned) or scanned.is_relative_to(real)):
            _echo(f"note: --keep-in {folder} is outside {directory}: none of its files is scanned, so it protects "
                  "nothing here", err=True)


def _decide(result, keep_rule: str, keep_in: tuple[Path, ...], workers: int | None, raw_pairs: str = "keep"):
    """The keep policy's verdict per group; groups become stars around their keepers (see imagetwins.keep)."""
    from imagetwins.keep import decide_result

    return decide_result(result, keep_in=keep_in, rule=keep_rule, workers=workers, raw_sidecars=raw_pairs == "keep")


def _find_against(directory: Path, against: Path, method: str, threshold: float | None, recursive: bool,
                  json_out: Path | None, csv_out: Path | None, workers: int | None, no_cache: bool,
                  fail_on_duplicates: bool, quiet: bool) -> None:
    from imagetwins.finder import find_against
    from imagetwins.index import IndexFileError

    try:
        result = find_against(directory, against, method, threshold, recursive=recursive, workers=workers,
                              progress=_show_progress(quiet), cache=not no_cache)
    except IndexFileError as exc:
        raise click.ClickException(str(exc)) from None
    unreadable = _warn_skipped(result.failures, quiet, follow_hint=False)
    for f in result.reference_failures:
        if not quiet:
            _echo(f"warning: reference image not compared, {f.path}: {f.reason}", err=True)
    if not quiet and against.is_dir() and (directory.resolve().is_relative_to(against.resolve())
                                           or against.resolve().is_relative_to(directory.resolve())):
        _echo(f"note: {directory} and {against} overlap: a file found in both is not a duplicate of itself",
              err=True)
    if json_out is not None:
        _write_json(result.to_dict(), json_out)
    if csv_out is not None:
        _write_csv(csv_out, ["query", "match", result.score_kind], result.rows())
    if not quiet and "-" not in (str(json_out), str(csv_out)):
        for q, ms in result.matches.items():
            _secho(q, bold=True)
            for p, d in ms:
                _echo(f"  = {p}  ({_score_text(result.score_kind, d)})")
        verb = "has" if len(result.matches) == 1 else "have"
        _echo(f"{len(result.matches)} of {_plural(len(result.images), 'image')} in {directory} {verb} a duplicate "
              f"among the {_plural(result.reference_images, 'image')} of {against} ({method}, threshold "
              f"{result.threshold}); {unreadable} unreadable"
              + (f", {len(result.reference_failures)} unreadable in {against}" if result.reference_failures else ""))
    missing = result.missing_matches()
    if missing and not quiet:
        _echo(f"warning: {_plural(len(missing), 'matched file')} of {against} no longer exist where it says "
              f"(first: {missing[0]}); run 'imagetwins index update' on it", err=True)
    hint = "" if recursive else " (try --recursive)"
    unchecked = []  # why the check is incomplete: a pipeline must not read "0 leaks" from a check that did not run
    if not result.images:
        unchecked.append(f"no image read in {directory}" + (f" ({unreadable} unreadable)" if unreadable else hint))
    if not result.reference_images:
        unchecked.append(f"no image read in {against}" + (hint if against.is_dir() else ""))
    if unreadable and result.images:
        unchecked.append(f"{_plural(unreadable, 'image')} of {directory} could not be read, so not checked")
    if unchecked and not (quiet and not fail_on_duplicates):
        _echo(("error: " if fail_on_duplicates else "note: ") + "; ".join(unchecked), err=True)
    _exit_for(fail_on_duplicates, bool(result.matches))
    if fail_on_duplicates and unchecked:
        sys.exit(EXIT_ERROR)


def _score_text(kind: str, score: float) -> str:
    return f"similarity {score:.3f}" if kind == "similarity" else _plural(int(score), "bit")


def _scan(directory: Path, method: str, threshold: float | None, recursive: bool, workers: int | None,
          no_cache: bool, quiet: bool, db_path: Path | None = None, exif_orientation: bool = True,
          follow_symlinks: bool = False):
    """Find the groups (through the cache unless ``no_cache``) and report unreadable files."""
    from imagetwins.encoders import get_encoder
    from imagetwins.finder import find_duplicate_groups
    from imagetwins.index import Index, IndexFileError, open_folder_cache

    threshold = _check_threshold(method, threshold)
    cache = None
    if not no_cache:
        try:
            cache = (Index(db_path, methods=[method]) if db_path is not None
                     else open_folder_cache(directory, methods=[method]))
        except (IndexFileError, OSError, sqlite3.Error) as exc:
            if db_path is not None:
                raise click.ClickException(str(exc)) from None
            _echo(f"warning: no cache this time ({exc}); every image is decoded", err=True)
    try:
        encoder = get_encoder(method) if exif_orientation else get_encoder(method).on_stored_pixels()
        result = find_duplicate_groups(directory, method=encoder, threshold=threshold, recursive=recursive,
                                       workers=workers, progress=_show_progress(quiet), cache=cache,
                                       follow_symlinks=follow_symlinks)
    except IndexFileError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if cache is not None:
            cache.close()
    _warn_skipped(result.failures, quiet)
    return result


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--output", "-o", type=OutputFile(), default=Path("report.html"),
              show_default=True, help="Where to write the page.")
@_keep_options
@_scan_options
def report(directory: Path, output: Path, keep_in: tuple[Path, ...], keep_rule: str, method: str,
           threshold: int | None, recursive: bool, workers: int | None, no_cache: bool, quiet: bool,
           raw_pairs: str = "keep", follow_symlinks: bool = False) -> None:
    """Write an HTML page to review the duplicate groups in DIRECTORY.

    One file that opens offline in any browser (thumbnails embedded; above 500 groups in a
    <page>_files/ folder beside it): groups side by side, largest first, with displayed size, file
    size, capture date, path, each file's score against the keeper, and which file would be kept.
    Click a picture to keep it, mark a file "not a duplicate", skip a group (or use the keyboard),
    then "Export decisions" and apply them with 'imagetwins remove DIRECTORY --plan FILE'.

    \b
    Examples:
      imagetwins report ~/Pictures -r -o review.html
      imagetwins report shop/ --method dihedral --keep-in shop/master
      imagetwins remove ~/Pictures --plan imagetwins-decisions.json --apply   # what you decided in the page
    """
    from imagetwins.report import write_html_report

    _note_keep_in_outside(directory, keep_in, quiet)
    result = _scan(directory, method, threshold, recursive, workers, no_cache, quiet, follow_symlinks=follow_symlinks)
    with _writing(output):
        write_html_report(result, output, keep_in=keep_in, keep_rule=keep_rule, workers=workers,
                          progress=_show_progress(quiet), root=directory, raw_sidecars=raw_pairs == "keep")
    if not quiet:
        _echo(f"{_plural(len(result.groups), 'duplicate group')} holding {_plural(result.files_in_groups, 'file')}"
              f" -> {output}")
        _hint_if_empty(result, directory, recursive)


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("filename")
@click.option("--output", "-o", type=OutputFile(), default=None,
              help="Save the picture (PNG) instead of showing it.")
@_method_option
@_threshold_option
@_recursive_option
def plot(directory: Path, filename: str, output: Path | None, method: str, threshold: float | None,
         recursive: bool) -> None:
    """Show FILENAME (in DIRECTORY) beside its duplicates, as imagededup's plot_duplicates does."""
    from imagetwins.finder import find_duplicates_map
    from imagetwins.report import plot_duplicates

    threshold = _check_threshold(method, threshold)
    _need_matplotlib()
    found = find_duplicates_map(directory, method=method, threshold=threshold, recursive=recursive)
    try:
        with _writing(output):
            plot_duplicates(directory, found, filename, outfile=output)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if output is not None:
        _echo(f"{_plural(len(found[filename]), 'duplicate')} of {filename} -> {output}")


@main.command()
@click.argument("file_a", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("file_b", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--picture", "-p", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Save the matched features of the two images as a PNG.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Write the scores as JSON.")
@click.option("--method", "-m", "methods", multiple=True, type=MethodChoice(),
              help="Only these methods (repeat the option); default every method.")
def explain(file_a: Path, file_b: Path, picture: Path | None, json_out: Path | None, methods: tuple[str, ...]) -> None:
    """Why FILE_A and FILE_B are (or are not) called duplicates: every method's score for the pair.

    \b
    Example:
      imagetwins explain photo.jpg shop/photo-cropped.jpg -p why.png
    """
    from imagetwins.explain import explain_pair, match_picture
    from imagetwins.io import ImageReadError

    try:
        scores, v = explain_pair(file_a, file_b, methods=list(methods) or None)
        if picture is not None:
            match_picture(file_a, file_b, picture, verification=v)
    except ImageReadError as exc:
        raise click.ClickException(printable(f"{exc.path}: {exc.reason}")) from None
    except ImportError as exc:  # OpenCV (the [copies] extra) missing
        raise click.ClickException(str(exc)) from None
    _echo(str(file_a))
    _echo(str(file_b))
    for s in scores:
        shown = f"{s.score:g} {s.unit}" if s.unit == "bits" else f"{s.unit} {s.score:.3f}"
        rule = f"<= {s.threshold:g}" if s.unit == "bits" else f">= {s.threshold:g}"
        _echo(f"  {s.method:9s} {shown:18s} (duplicate if {rule}): {'DUPLICATE' if s.duplicate else 'no'}")
    _echo(f"  verification: {v.inliers} feature matches agree on one {'mirrored ' if v.mirrored else ''}"
               f"transform ({v.inlier_ratio:.0%} of matches); it covers {v.coverage_a:.0%} of the first image "
               f"and {v.coverage_b:.0%} of the second; {v.agreement:.0%} of the overlap agrees pixel for pixel")
    if picture is not None:
        _echo(f"  picture of the matches: {picture}")
    if json_out is not None:
        _write_json({"a": str(file_a), "b": str(file_b), "scores": [s.to_dict() for s in scores],
                     "verification": v.to_dict()}, json_out)


@main.command()
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--apply", "apply_", is_flag=True, help="Really move the files (default: only show the plan).")
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Apply these decisions (from 'find --json' or the review page's Export) instead of scanning: "
                   "the plan must have been made of DIRECTORY, nothing outside DIRECTORY moves, and every file "
                   "and its keeper are checked to be still what was scanned (SHA-256) before it moves.")
@click.option("--move-to", type=click.Path(file_okay=False, path_type=Path),
              help="Quarantine folder [default: DIRECTORY.imagetwins-quarantine/<time> beside DIRECTORY].")
@click.option("--link", "link", type=click.Choice(["hard", "sym"]), default=None,
              help="Also put a link to the kept file where each moved file was (hard: same device only; sym: a "
                   "relative symbolic link). The file stays in quarantine; undo removes the link and puts it back.")
@click.option("--to-trash", is_flag=True,
              help="Send the files to the system trash instead (needs imagetwins[trash]); the journal still goes "
                   "to the quarantine folder, and undo puts them back where the trash says where (Linux).")
@_keep_options
@_scan_options
def remove(directory: Path | None, apply_: bool, plan_file: Path | None, move_to: Path | None, link: str | None,
           to_trash: bool,
           keep_in: tuple[Path, ...], keep_rule: str, method: str, threshold: int | None, recursive: bool,
           workers: int | None, no_cache: bool, quiet: bool, raw_pairs: str = "keep",
           follow_symlinks: bool = False) -> None:
    """Move duplicates out of DIRECTORY into a quarantine folder, keeping one file per group.

    Without --apply nothing is touched: the plan is printed. With --apply files are moved (never
    deleted) with their relative paths, and a manifest (sizes, SHA-256) is written in the quarantine
    folder; 'imagetwins undo' puts everything back. With --plan FILE the decisions come from that file
    (edit which file is 'keep' in a 'find --json' output, or export them from the review page); the
    plan must have been made of DIRECTORY, and nothing outside DIRECTORY moves, whatever the file says.

    Exit code 0: every file of the plan moved (or, without --apply, would); 1: at least one was refused
    or could not be moved (each is named, then one summary line), or an error; 2: a usage error.

    \b
    Examples:
      imagetwins remove ~/Pictures -r                 # dry run: what would move
      imagetwins remove ~/Pictures -r --apply
      imagetwins remove ~/Pictures --plan decisions.json --apply
      imagetwins undo ~/Pictures.imagetwins-quarantine/20240101-120000
    """
    from imagetwins.quarantine import QuarantineError, apply_plan, check_quarantine, default_quarantine, plan_removal
    from imagetwins.trash import TrashUnavailable

    if directory is None:
        raise click.UsageError("give the folder to clean: imagetwins remove DIRECTORY [--plan FILE]"
                               if plan_file is None else
                               "name the folder the plan was made of: imagetwins remove DIRECTORY --plan FILE "
                               "(a plan never moves anything outside the folder you name)")
    if link and to_trash:
        raise click.UsageError("--link and --to-trash do not go together (a trashed file's place stays empty)")
    if plan_file is not None:
        from imagetwins.plan import PlanError, check_plan, load_plan

        try:
            _, groups = load_plan(plan_file, folder=directory)
        except PlanError as exc:
            raise click.ClickException(printable(str(exc))) from None
        plan = check_plan(directory, groups).to_removal()
    quarantine = move_to or default_quarantine(directory)
    try:
        check_quarantine(quarantine, [directory])
    except QuarantineError as exc:
        raise click.BadParameter(str(exc), param_hint="--move-to") from None
    if plan_file is None:
        _note_keep_in_outside(directory, keep_in, quiet)
        result = _scan(directory, method, threshold, recursive, workers, no_cache, quiet,
                       follow_symlinks=follow_symlinks)
        plan = plan_removal(result, roots=[directory], keep_in=keep_in, rule=keep_rule,
                            raw_sidecars=raw_pairs == "keep")
    for path, why in plan.refused if not quiet else ():
        _echo(f"warning: not moving {path}: {why}", err=True)
    if not apply_:
        if not quiet:
            for src, group, keeper in plan.moves:
                _echo(f"would move {src}   (group {group}, keeping {keeper})")
            where = "go to the system trash" if to_trash else f"move to {quarantine}"
            _echo(f"dry run: {_plural(len(plan.moves), 'file')} would {where}; add --apply to do it")
            if plan_file is None:
                _hint_if_empty(result, directory, recursive)
        _exit_if_refused(len(plan.refused), 0, True, quiet)
        return
    if not plan.moves:
        _echo("nothing to move")
        if plan_file is None and not quiet:
            _hint_if_empty(result, directory, recursive)
        _exit_if_refused(len(plan.refused), 0, False, quiet)
        return
    try:
        out = apply_plan(plan, directory, quarantine, link=link, to_trash=to_trash)
    except (QuarantineError, TrashUnavailable) as exc:
        raise click.ClickException(str(exc)) from None
    for path, why in out.failed:
        _echo(f"error: could not move {path}: {why}", err=True)
    if not quiet:
        _echo(f"sent {_plural(len(out.done), 'file')} to the system trash; journal in {quarantine}" if to_trash else
              f"moved {_plural(len(out.done), 'file')} to {quarantine}"
              + (f", each replaced by a {link} link to its kept copy ({len(out.linked)} made)" if link else "")
              + f"; undo with: imagetwins undo {out.manifest}")
    _exit_if_refused(len(plan.refused), len(out.failed), False, quiet)


def _exit_if_refused(refused: int, failed: int, dry_run: bool, quiet: bool) -> None:
    """``remove``'s one summary line and exit code 1 when any file of the plan was refused or failed to move."""
    if refused or failed:
        why = ", ".join(p for p in (f"{refused} refused" if refused else "", f"{failed} failed" if failed else "") if p)
        _echo(f"error: {_plural(refused + failed, 'file')} {'would not move' if dry_run else 'not moved'} ({why}"
              f"{'' if quiet else ', each named above'})", err=True)
        sys.exit(EXIT_REFUSED)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    """``1 file``, ``2 files`` (``plural`` where adding an s is wrong)."""
    return f"{n} {word}" if n == 1 else f"{n} {plural or word + 's'}"


@main.command()
@click.argument("manifest", type=click.Path(exists=True, path_type=Path))
@_quiet_option
def undo(manifest: Path, quiet: bool) -> None:
    """Put back every file that 'imagetwins remove --apply' moved (MANIFEST: the quarantine folder or
    its manifest file). Each file's SHA-256 is checked; nothing is overwritten. Exit code 0: everything
    was restored; 1: anything was refused or could not be restored (each is named, then one summary)."""
    from imagetwins.quarantine import QuarantineError
    from imagetwins.quarantine import undo as undo_moves

    try:
        out = undo_moves(manifest)
    except QuarantineError as exc:
        raise click.ClickException(str(exc)) from None
    for path, why in out.failed:
        _echo(f"error: could not restore {path}: {why}", err=True)
    if not quiet or out.failed:
        _echo(f"restored {_plural(len(out.done), 'file')}" + (f", {len(out.failed)} failed" if out.failed else ""),
              err=bool(out.failed))
    if out.failed:
        sys.exit(EXIT_ERROR)


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--truth", type=click.Path(exists=True, path_type=Path),
              help="Ground truth: JSON ({file: [duplicates]} or a list of groups). Default: each sub-folder "
                   "of DIRECTORY is one group of duplicates.")
@click.option("--method", "-m", "methods", multiple=True, type=MethodChoice(),
              help="Methods to try (repeatable; default every hash; name cnn and copies to add them, slower).")
@click.option("--target-precision", type=click.FloatRange(0, 1), default=0.99, show_default=True,
              help="Recommend the highest recall at or above this pair precision.")
@click.option("--plot", "plot_out", type=OutputFile(),
              help="Write a precision-recall plot (PNG).")
@click.option("--json", "json_out", type=OutputFile(),
              help="Write every (method, threshold) point as JSON.")
@_workers_option
@click.option("--quiet", "-q", is_flag=True, help="Print only the recommendation.")
def tune(directory: Path, truth: Path | None, methods: tuple[str, ...], target_precision: float,
         plot_out: Path | None, json_out: Path | None, workers: int | None, quiet: bool) -> None:
    """Pick a method and threshold from labelled examples of YOUR duplicates.

    Label a sample: put each set of duplicates in its own sub-folder (or write a JSON ground truth),
    leave unique images at the top level. Every hash (and each -m you name) is tried at every threshold; the table shows
    each method's best point and the recommendation.

    \b
    Examples:
      imagetwins tune labelled/                       # sub-folders are the groups
      imagetwins tune sample/ --truth truth.json --plot pr.png --target-precision 0.995
    """
    from imagetwins.evaluation import load_ground_truth, sweep

    if plot_out is not None:
        _need_matplotlib()
    try:
        ground_truth = load_ground_truth(truth if truth is not None else directory)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    result = sweep(ground_truth, directory, methods=list(methods) or None,
                   target_precision=target_precision, workers=workers, progress=_show_progress(quiet))
    if result.positives == 0:
        raise click.UsageError(
            f"the ground truth holds no duplicate pairs: nothing to tune against. Put each set of duplicates in "
            f"its own sub-folder of {directory} ({directory}/set1/a.jpg, {directory}/set1/a_copy.jpg, ...; unique "
            "images at the top level), or give --truth FILE")
    for path in result.unreadable:
        _echo(f"warning: skipped unreadable {path}", err=True)
    if plot_out is not None:
        with _writing(plot_out):
            result.plot(plot_out)
    if json_out is not None:
        _write_json(result.to_dict(), json_out)
    if quiet:
        rec = result.recommendation
        _echo(f"--method {rec.method} --threshold {rec.threshold}" if rec else "no recommendation")
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
_methods_option = click.option("--method", "-m", "methods", multiple=True, type=MethodChoice(),
                               help="Methods to keep (repeatable; default phash; cnn keeps CNN vectors).")


def _open_index(db_path: Path, methods: tuple[str, ...] | list[str], readonly: bool = False):
    from imagetwins.index import Index, IndexFileError

    try:
        return Index(db_path, methods=list(methods), readonly=readonly)
    except IndexFileError as exc:
        raise click.ClickException(str(exc)) from None


@index.command("update")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_db_option
@_methods_option
@click.option("--recursive/--no-recursive", "-r", default=True, show_default=True, help="Include sub-folders.")
@_workers_option
@_quiet_option
def index_update(directory: Path, db_path: Path, methods: tuple[str, ...], recursive: bool, workers: int | None,
                 quiet: bool) -> None:
    """Add new and changed images under DIRECTORY to the index; forget deleted ones.

    Every method the index already holds is kept up to date too, so no encoding goes stale; -m adds
    a method (default for a new index: phash). Unreadable files are named with the reason.
    """
    from imagetwins.index import IndexFileError

    with _open_index(db_path, methods) as idx:
        try:
            st = idx.update(directory, recursive=recursive, workers=workers, progress=_show_progress(quiet))
        except IndexFileError as exc:
            raise click.ClickException(str(exc)) from None
        errors = idx.errors(directory)
        held = idx.stored_methods()
    for path, reason in errors:
        _echo(f"warning: unreadable {path}: {reason}", err=True)
    if not quiet:
        completed = f", {st.completed} given the methods they lacked" if st.completed else ""
        _echo(f"{st.added} added, {st.changed} changed, {st.removed} removed, {st.unchanged} unchanged"
                   f"{completed}, {len(errors)} unreadable ({st.seconds:.1f} s, {', '.join(held)}) -> {db_path}")


@index.command("query")
@click.argument("images", type=click.Path(exists=True, path_type=Path))
@_db_option
@_method_option
@_threshold_option
@click.option("--json", "as_json", is_flag=True,
              help="Print matches as JSON, in the shape 'find --against --json' writes.")
def index_query(images: Path, db_path: Path, method: str, threshold: int | None, as_json: bool) -> None:
    """Which indexed images duplicate IMAGES (a file or a folder)? Nothing is added to the index."""
    from imagetwins.finder import find_against
    from imagetwins.index import IndexFileError

    threshold = _check_threshold(method, threshold)
    with _open_index(db_path, [], readonly=True) as idx:
        try:
            result = find_against(images, idx, method, threshold, recursive=True)
        except IndexFileError as exc:
            raise click.ClickException(str(exc)) from None
    for f in result.failures:
        _echo(f"warning: skipped {f.path}: {f.reason}", err=True)
    rows = result.rows()
    if as_json:  # the shape of find --against --json
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    for q, m, d in rows:
        click.echo(f"{printable(q)}\t{printable(m)}\t{d}")
    _echo(_plural(len(rows), "match", "matches"), err=True)


@index.command("stats")
@_db_option
def index_stats(db_path: Path) -> None:
    """Files, encodings per method, unreadable files (with the reason) and size of an index."""
    with _open_index(db_path, [], readonly=True) as idx:
        click.echo(json.dumps(idx.stats(), indent=2))


@main.group()
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
    """One line per cache: folder, files, methods, size (and 'gone' when the folder no longer exists)."""
    from imagetwins.index import cache_folder, list_caches

    caches = list_caches()
    for c in caches:
        if c.problem:
            _echo(f"{c.path}: {c.problem}")
            continue
        folder = c.folder or "(folder not recorded)"
        gone = "  (gone)" if c.folder and not Path(c.folder).is_dir() else ""
        _echo(f"{folder}{gone}  {_plural(c.files, 'file')}  {', '.join(c.methods) or 'no methods'}  "
              f"{c.bytes / 1e6:.1f} MB  {c.path}")
    total = sum(c.bytes for c in caches)
    _echo(f"{_plural(len(caches), 'cache')}, {total / 1e6:.1f} MB in {cache_folder()}", err=True)


@cache.command("clear")
@click.argument("folders", nargs=-1, type=click.Path(file_okay=False, path_type=Path))
@click.option("--all", "all_", is_flag=True, help="Delete every cache, not only those of FOLDERS.")
def cache_clear(folders: tuple[Path, ...], all_: bool) -> None:
    """Delete the caches of FOLDERS (or --all of them); the folders themselves are not touched."""
    from imagetwins.index import cache_folder, clear_caches, default_cache_path

    if not folders and not all_:
        raise click.UsageError("name the folders whose caches to delete, or give --all")
    if folders and all_:
        raise click.UsageError("give FOLDERS or --all, not both")
    for folder in folders:
        if not default_cache_path(folder).is_file():
            _echo(f"note: no cache for {folder}")
    gone = clear_caches(None if all_ else list(folders))
    caches = [p for p in gone if p.suffix == ".db"]
    _echo(f"deleted {_plural(len(caches), 'cache')} from {cache_folder()}")
