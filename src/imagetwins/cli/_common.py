"""What every command shares: output lines, exit codes, output files, option bundles, usage errors."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import click

from imagetwins.encoders import DEFAULT_METHOD, encoder_names, get_encoder
from imagetwins.text import counted, printable

#: each method's default threshold, for the help texts
_DEFAULT_THRESHOLDS = ", ".join(f"{n} {get_encoder(n).default_threshold}" for n in encoder_names())


def _threshold_meaning() -> str:
    """What a threshold is, per kind of score, naming the methods of each (a plug-in's too): for --threshold's help."""
    by_kind: dict = {}
    for n in encoder_names():
        by_kind.setdefault(get_encoder(n).kind, []).append(n)
    parts = []
    for kind, names in by_kind.items():
        unit = "Hamming distance" if kind.whole else kind.unit  # (bits: a Hamming distance)
        parts.append(f"{'smallest' if kind.larger_is_closer else 'largest'} {unit} ({', '.join(names)})")
    text = ", ".join(parts[:-1]) + (" or " if len(parts) > 1 else "") + parts[-1]
    return text[0].upper() + text[1:]


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
        why = get_encoder(name).unavailable()  # e.g. an optional dependency missing
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
EXIT_BROKEN_PIPE = 141  # stdout closed by the reader (`| head`): stopped quietly, as a tool killed by SIGPIPE (128+13)


class OutputFile(click.Path):
    """A file the command will write: its folder must exist, checked before any work is done. A document (JSON,
    CSV, a page: not ``picture``) never replaces an image: a file standing at the name whose first bytes are an
    image's (a photo without an image's name, ``IMG_0001``, which the scan itself reads), or a name with an image's
    extension, is a usage error (:func:`imagetwins.writing.refuse_image_target`, the library's rule); a picture
    output (``picture``: a PNG) replaces only a picture imagetwins or matplotlib wrote
    (:func:`imagetwins.writing.refuse_picture_target`) and is checked against the files its command reads
    (:func:`refuse_picture_over`)."""

    def __init__(self, allow_dash: bool = False, picture: bool = False) -> None:
        super().__init__(dir_okay=False, path_type=Path, allow_dash=allow_dash)
        self.picture = picture

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value:  # (click made "" the current folder: "cannot write . is a folder")
            self.fail("an empty file name: give the file to write", param, ctx)
        path = super().convert(value, param, ctx)
        name = param.opts[0] if param is not None else "output"
        if str(path) != "-" and not path.absolute().parent.is_dir():
            from imagetwins.io import no_folder_reason

            raise click.ClickException(f"cannot write {name} {path}: {no_folder_reason(path.parent)}")
        if str(path) != "-":
            from imagetwins.writing import OutputRefused, check_output_name

            try:  # a link (even dangling), folder, FIFO or device at the name: refused before any work
                check_output_name(path)
            except OutputRefused as exc:
                raise click.ClickException(f"cannot write {name} {exc.strerror}") from None
            from imagetwins.writing import ReplacesImage, refuse_image_target, refuse_picture_target

            try:  # (`--json photos/IMG_0001`: the photo was replaced; `tune --json out.jpg` posed as a picture; a
                # picture never replaces an image it did not write, `explain A B -p IMG_0042.jpg`, nor an index or a
                # quarantine's journal: `explain A B -p ref.db`)
                (refuse_picture_target if self.picture else refuse_image_target)(path)
            except ReplacesImage as exc:
                self.fail(exc.strerror, param, ctx)
        return path


def refuse_picture_over(option: str, picture: Path | None, read: Sequence[Path] = (), within: Path | None = None
                        ) -> None:
    """A usage error where the picture output ``picture`` would replace a file the command reads: one of ``read``
    (``explain A B -p A``), or an image in the folder ``within`` it scans (``plot DIR X -o DIR/x.png``)."""
    if picture is None or not picture.is_file():
        return
    from imagetwins.io import looks_like_image

    if any(p.exists() and os.path.samefile(p, picture) for p in read) or (
            within is not None and looks_like_image(picture)
            and picture.resolve().is_relative_to(within.resolve())):
        raise click.UsageError(f"{option} {picture}: that is an image this command reads, and the picture would "
                               "replace it: give a new file name")


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn a failure to write an output file into one line naming it."""
    try:
        yield
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None


def need_matplotlib(picture: Path | None = None) -> None:
    """One line where matplotlib is missing, or where ``picture`` (a plot's output) names no format it writes: before
    any work (``tune --plot pr.xyz`` ended its sweep in matplotlib's traceback)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise click.ClickException('plots need matplotlib: pip install "imagetwins[plot]"') from None
    if picture is not None:
        from imagetwins.report import plot_format

        try:
            plot_format(picture)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None


def show_progress(quiet: bool) -> bool:
    """Progress unless -q: a bar on a terminal, in a log (nohup, cron: stderr not a terminal) a plain line on
    stderr now and then (:func:`imagetwins.progress.progress_bar`), never on stdout."""
    return not quiet


# -- options shared by several commands, declared once ------------------------------------------------------
# DEFAULT_METHOD (imagetwins.encoders): what find, report, remove, check and index update use unless -m says
# otherwise, as the library's front door does
#: what -m's methods find, said once; each command's -m help ends it with what ``similar`` does there
_METHODS_HELP = (
    "copies (the default: copies confirmed on the pictures, through crops, padding, flips, turns and captions, never "
    "look-alikes), a hash (phash, about 2x faster on camera photos, finds resized and re-saved copies only; "
    "dihedral also matches flips and turns), or cnn for CNN embeddings (slower; also pairs different photos of one "
    "subject), or similar: ")


def method_option_with(what: str, similar: str, default_note: str = ""):
    """``--method/-m`` with help saying what it is used for here (``what``) and what ``similar`` does in this
    command (``similar``): its groups for review and removal only through a plan mean nothing to a check or a
    plot. ``default_note``: a word on the default where the command may choose another (an index's method)."""
    return click.option("--method", "-m", type=MethodChoice(), default=DEFAULT_METHOD, show_default=True,
                        help=f"Method used to {what}: {_METHODS_HELP}{similar}.{default_note}")


# find, report and remove: the groups of a folder
method_option = method_option_with(
    "compare images", "re-shots of one scene (burst frames, the same view again) grouped for review, the best shot "
    "suggested, removed only through a plan a person made (remove --plan)")
threshold_option = click.option(
    "--threshold", "-t", type=float, default=None,
    help=f"{_threshold_meaning()} that counts as a duplicate [default: {_DEFAULT_THRESHOLDS}].")
recursive_option = click.option("--recursive", "-r", is_flag=True, help="Scan sub-folders too.")
workers_option = click.option("--workers", "-j", type=click.IntRange(1), default=None,
                               help="Threads (default: all CPUs).")
no_cache_option = click.option("--no-cache", is_flag=True, help="Encode everything afresh and keep nothing.")


def db_option(also: str = ""):
    """``--db FILE``: the index file a scan keeps its encodings (and remembered decisions) in, instead of the folder's
    cache (find, report, remove: one catalogue.db serves every step, as the README's index section has it)."""
    return click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
                        help="Keep encodings in this index file (see 'imagetwins index'); default: a cache per "
                             "folder in your user cache directory." + also)


def refuse_db_without_cache(db_path: Path | None, no_cache: bool) -> None:
    if db_path is not None and no_cache:
        raise click.UsageError("--db keeps the encodings in that index, --no-cache keeps none: give one of them")
quiet_option = click.option(
    "--quiet", "-q", is_flag=True,
    help="Print nothing but errors and the warnings that an answer may be wrong (an index older than its folder, "
         "remembered decisions not applied) or a file at risk (a folder that cannot be locked): no results, no "
         "summary, no per-file warnings (skipped files, links), nothing about the cache (not kept, made "
         "again); the exit code still tells.")
follow_option = click.option(
    "--follow-symlinks", is_flag=True,
    help="Follow symbolic links that lead out of DIRECTORY (default: each is reported and skipped). Links "
         "inside it never count as copies; a file reached through a link is never the keeper while its group has "
         "another file, and remove leaves it where it is (one note line).")


def _colour_variants_option():
    from imagetwins.scores import ColourVariants

    return click.option(
        "--colour-variants", type=click.Choice([c.value for c in ColourVariants]), default=ColourVariants.COPIES.value,
        show_default=True,
        help="Pairs that copies compared after recolouring (one picture is the other with its colours turned, "
             "on the whole picture or a part: marked 'recoloured' in every output): copies (one capture), or apart "
             "(a shop's colour variants of a product: never grouped). A grey or sepia copy is no colour variant.")


#: --colour-variants, one option for find, report and remove (scores.ColourVariants: the choices and their check)
colour_variants_option = _colour_variants_option()


def scan_options(f):
    """Options shared by the commands that scan a folder for duplicates."""
    for opt in reversed([method_option, threshold_option, recursive_option, workers_option, no_cache_option,
                         quiet_option, follow_option]):
        f = opt(f)
    return f


class FolderPath(click.Path):
    """A folder a command reads: :class:`click.Path` with ``file_okay=False``, which refuses a regular file only, and
    here also a FIFO, a device or a socket, or a link to one (``find /dev/zero`` went on to a traceback)."""

    def __init__(self, exists: bool = True) -> None:
        super().__init__(exists=exists, file_okay=False, path_type=Path)

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201 (click's signature)
        import stat

        from imagetwins.writing import describe_mode

        path = super().convert(value, param, ctx)
        try:
            mode = os.stat(path).st_mode
        except OSError:  # (missing: click's exists check said so, or it may be made)
            return path
        if not stat.S_ISDIR(mode):
            self.fail(f"{click.format_filename(path)!r} is {describe_mode(mode)}, not a folder", param, ctx)
        return path


def keep_options(f):
    """--keep and --keep-in, the same on find, report and remove."""
    from imagetwins.keep import KEEP_RULES

    f = click.option("--raw-pairs", type=click.Choice(["keep", "one"]), default="keep", show_default=True,
                     help="A camera RAW file and the JPEG written beside it (same name): keep both, or treat "
                          "them as duplicates and keep one.")(f)
    f = click.option("--keep-in", multiple=True, type=FolderPath(),
                     help="Reference folder (repeatable): files in it are always kept, never touched; a crop "
                          "kept there keeps the full picture elsewhere too (-m copies).")(f)
    return click.option("--keep", "keep_rule", type=click.Choice(KEEP_RULES), default=None,
                        help="Which file of a group to keep (default: the method's own, original; best for "
                             "-m similar): original = highest resolution (an enlarged copy of 1.4x the pixels or "
                             "more, or a padded copy, ranks after the file it was made from), then the camera "
                             "format over a lossless re-save (but a file with transparency over its copy flattened on "
                             "white), then the older capture date, then a name that is "
                             "not a copy's ('x copy.jpg', 'x (1).jpg'), then the shorter name; "
                             "largest/smallest file; newest/oldest capture date; best = the best shot "
                             "(sharpness, exposure, resolution; of copies of one shot, the original).")(f)


def keep_rule_for(keep_rule: str | None, method: str) -> str:
    """The keep rule a command uses: the one given with --keep, else the method's own (``Encoder.keep_rule``)."""
    if keep_rule is not None:
        return keep_rule
    from imagetwins.encoders import get_encoder

    try:
        return get_encoder(method).keep_rule
    except ValueError:  # an unknown method is reported where the scan starts, in its own words
        return "original"



def check_threshold(method: str, threshold: float | None) -> float | int | None:
    """The threshold in the method's own terms (whole bits, or a similarity), or a usage error."""
    if threshold is None:
        return None
    try:
        return get_encoder(method).check_threshold(threshold)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--threshold") from None


def note_threshold(method: str, threshold: float | None, quiet: bool) -> None:
    """One note line on stderr where ``--threshold`` gives up what the method otherwise promises
    (:meth:`imagetwins.encoders.Encoder.threshold_caveat`: copies under 0.5 groups re-shots)."""
    if threshold is None or quiet:
        return
    caveat = get_encoder(method).threshold_caveat(threshold)
    if caveat:
        echo(f"note: --threshold {threshold:g}: {caveat}", err=True)



def echo(message: str = "", **kwargs) -> None:
    """One line of human-readable output: control characters and raw bytes in names shown as escapes."""
    click.echo(printable(message), **kwargs)


def secho(message: str = "", **kwargs) -> None:
    click.secho(printable(message), **kwargs)


def write_json(data: dict, out: Path) -> None:
    """A JSON document that is neither groups nor matches (``tune``, ``explain``) through the JSON writer."""
    from imagetwins.outputs import OutputError, Target
    from imagetwins.outputs.json import write_document

    try:
        write_document(data, Target(out))
    except OutputError as exc:
        raise click.ClickException(str(exc)) from None


def exit_for(fail_on_duplicates: bool, found: bool) -> None:
    if fail_on_duplicates and found:
        sys.exit(EXIT_DUPLICATES)



def groups_found(n: int, method: str) -> str:
    """``3 duplicate groups``; ``3 same-scene groups`` where the method groups re-shots for a person to sort out
    (``Encoder.removal_needs_review``): the summary line must not call them duplicates."""
    from imagetwins.plan import needs_review

    return counted(n, "same-scene group" if needs_review(method) else "duplicate group")


def command_seconds(result=None) -> float:
    """Wall seconds of the command so far (scan, search, verification, keeper checks, outputs: the stages of
    :mod:`imagetwins.timing` the CLI opens around every command); a result's own time outside the CLI."""
    from imagetwins import timing

    clock = timing.current()
    return clock.seconds if clock is not None else getattr(result, "seconds", 0.0)


timings_option = click.option(
    "--timings", "-v", "show_timings", is_flag=True,
    help="Also say where the time went, stage by stage (start: loading the command's modules; open: the cache and "
         "the remembered decisions; scan, load, search, verify, votes (copies: after the first checks, the local "
         "features' votes for pairs neither the hash nor the CNN proposed, verified then), keep, output; move: "
         "remove's moves; other: the rest, chiefly modules loaded on first use), then the CPU seconds of the whole "
         "command, on stderr (-v for short).")


def say_timings(show: bool) -> None:
    """--timings: the command's wall seconds split by stage, one line on stderr (stdout may hold the data)."""
    from imagetwins import timing

    clock = timing.current()
    if show and clock is not None:
        echo(f"time: {clock.seconds:.2f} s = " + ", ".join(f"{name} {s:.2f} s" for name, s in clock.split().items()),
             err=True)
        echo("cpu and peak memory by stage: " + ", ".join(
            f"{name} {clock.cpu[name]:.2f} s {clock.peak_mb[name]:.0f} MB" for name in clock.stages), err=True)
        # (the README's CPU seconds are the whole command's: the stages leave out Python's start and 'other')
        cpu, peak = timing.whole_run()
        echo(f"cpu in all: {cpu:.2f} s (user + sys since the command started, with the worker processes it waited "
             f"for), peak memory {peak:.0f} MB", err=True)


def refuse_options(names: list[str], why: str) -> None:
    """A usage error when any option of ``names`` (parameter names) was given on the command line: an option
    a command does not honour in this use is refused, never silently dropped. ``why`` follows the option."""
    ctx = click.get_current_context()
    for param in ctx.command.params:
        if param.name in names and ctx.get_parameter_source(param.name) not in (
                None, click.core.ParameterSource.DEFAULT, click.core.ParameterSource.DEFAULT_MAP):
            raise click.UsageError(f"{param.opts[0]} {why}")


def refuse_colour_variants(method: str) -> None:
    """``--colour-variants`` given with a method that checks no pictures (a hash, ``cnn``, ``similar``): no pair is
    ever marked recoloured there, so the option would change nothing; a usage error, as every option not honoured
    (``find catalogue -m phash --colour-variants apart`` ran as if it had not been given)."""
    unmarked = get_encoder(method).marks_no_recolouring
    if unmarked is not None:
        refuse_options(["colour_variants"], f"sets apart the pairs copies compared after recolouring; -m {unmarked} "
                                            "(use -m copies, or leave the option out)")


def reference_method(method: str, against: Path | None) -> str:
    """The method to compare with a reference: an index file (``--against X.db``) holding one method is asked
    with it unless -m was given; anything else with ``method``."""
    ctx = click.get_current_context(silent=True)
    if against is None or not against.is_file() or ctx is None or \
            ctx.get_parameter_source("method") is not click.core.ParameterSource.DEFAULT:
        return method
    from imagetwins.index import Index, IndexFileError

    try:
        with Index(against, methods=[], readonly=True) as idx:
            held = idx.stored_methods()
    except IndexFileError:
        return method  # the check itself says what is wrong with the file
    return held[0] if len(held) == 1 else method
