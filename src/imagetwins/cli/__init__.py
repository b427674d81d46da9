"""Command line: ``imagetwins find DIR`` and friends.

One module per command (or family of commands), each a thin skin over the library; what they share
(option bundles, output lines, exit codes, output files) is in :mod:`imagetwins.cli._common`. A new
command is one module here plus one entry in ``_COMMANDS`` below (loaded when it runs)."""

from __future__ import annotations

import errno
import os
import signal
import sys
from collections.abc import MutableMapping


def _interrupted_while_starting(*_) -> None:
    sys.stderr.write("interrupted (Ctrl-C): stopped before any file was changed\n")
    sys.stderr.flush()
    os._exit(130)


#: OpenBLAS's threads wait for their next job this many powers of two of CPU cycles (2^4: at once) before they sleep,
#: where its default (2^28, ~0.1 s) has them spin after every threaded product (#25: the search's, the verification's
#: least squares, again in each forked checker): 0.1-0.29 CPU s of a first ``find`` of 310 camera photos in
#: ``blas_thread_server`` (perf), none with it. The products still run on every thread; the results are the same
BLAS_THREAD_TIMEOUT = "4"


def quiet_blas_threads(environ: MutableMapping[str, str] = os.environ) -> None:
    """Ask OpenBLAS (numpy's, as the wheels ship it) not to spin between jobs, unless the user chose a value: read
    when numpy loads, so the command line sets it before anything imports numpy (its worker processes inherit it);
    other BLAS libraries ignore it."""
    environ.setdefault("OPENBLAS_THREAD_TIMEOUT", BLAS_THREAD_TIMEOUT)


def run_as_program() -> bool:
    """Whether this process is the program (``sys.argv[0]``: the console script, or ``python -m imagetwins``'s
    ``imagetwins/__main__.py``), not a test or a program that imports the package. On Windows the console script is
    ``imagetwins.exe`` (``imagetwins-script.py`` beside a launcher in some installers), its path may use either slash
    and names are compared without case."""
    argv0 = sys.argv[0] if sys.argv else ""
    if sys.platform == "win32":
        import ntpath

        name, path = ntpath.basename(argv0).lower(), argv0.replace("\\", "/").lower()
        for suffix in (".exe", "-script.py", "-script.pyw"):
            name = name.removesuffix(suffix)
    else:
        name, path = os.path.basename(argv0), argv0
    return name == "imagetwins" or path.endswith("imagetwins/__main__.py")


# run as the program: a Ctrl-C while the modules load is one line too
if run_as_program():
    signal.signal(signal.SIGINT, _interrupted_while_starting)
    quiet_blas_threads()

import importlib  # noqa: E402
import warnings  # noqa: E402

import click  # noqa: E402

from imagetwins import __version__  # noqa: E402
from imagetwins.cli._common import (  # noqa: F401, E402  (kept importable from imagetwins.cli)
    EXIT_BROKEN_PIPE,
    EXIT_DUPLICATES,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    MethodChoice,
    OutputFile,
    echo,
)
from imagetwins.cli._interrupt import EXIT_INTERRUPTED, exit_now, interrupted_line  # noqa: E402
from imagetwins.text import printable  # noqa: E402


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Python warnings (a skipped file, a library's notice) as one 'warning:' line, without source lines; a folder a
    scan leaves out on purpose (:class:`imagetwins.io.LeftOutNotice`) as a 'note:' line. Under -q neither those notes
    nor a warning that changes no answer (:class:`imagetwins.io.CostNotice`: a cache not kept or made again); every
    other warning (an index older than its folder, remembered decisions not applied) is said with -q too."""
    text = " ".join(str(message).split())
    io = sys.modules.get("imagetwins.io")
    if io is not None and issubclass(category, (io.LeftOutNotice, io.CostNotice)):
        ctx = click.get_current_context(silent=True)
        if ctx is not None and ctx.params.get("quiet"):
            return
    echo(f"{'note' if io is not None and issubclass(category, io.LeftOutNotice) else 'warning'}: {text}", err=True)


#: each command and (module of imagetwins.cli, its attribute): a command's module is imported when it runs, or when
#: ``--help`` lists the commands (importing them all was ~0.3 CPU s of a warm find's ~0.4)
_COMMANDS = {"find": ("find", "find"), "check": ("check", "check"), "report": ("report", "report"),
             "plot": ("plot", "plot"), "explain": ("explain", "explain"), "remove": ("remove", "remove"),
             "undo": ("remove", "undo"), "tune": ("tune", "tune"), "index": ("index", "index"),
             "cache": ("cache", "cache"), "decisions": ("decisions", "decisions"), "folders": ("folders", "folders")}


def _raised_by_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while handling, or directly from, a KeyboardInterrupt."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _first_interrupt(signum, frame) -> None:
    """Ctrl-C raises KeyboardInterrupt once; every later one is ignored, so the first one's exit (its line, exit
    130) runs to its end: a second Ctrl-C (or a terminal repeating it) landed in the handling of the first's
    SystemExit and printed a traceback. (Commands that stop between two files, ``remove``, set handlers of their
    own meanwhile.)"""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _where_output_goes(ctx: click.Context | None) -> str:
    """For ``-o`` given to a command that has none (``report -o`` writes the page; ``find -o x.json`` was "No such
    option '-o'" alone): the options with which that command writes its files, or nothing where it writes none."""
    if ctx is None:
        return ""
    names = [p.opts[0] for p in ctx.command.params if isinstance(p, click.Option) and isinstance(p.type, OutputFile)]
    if not names:
        return ""
    said = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    command = []  # ("decisions list", not "list": the root's name, "imagetwins" or "python -m imagetwins", left out)
    while ctx.parent is not None:
        command.insert(0, ctx.info_name or "")
        ctx = ctx.parent
    return f" '{' '.join(command)}' writes a file with {said} (e.g. {names[0]} FILE)."


class _SafeMessages(click.Group):
    """Error lines name files too: their control characters and raw bytes are shown as escapes there as well.
    Ctrl-C ends any command with exit 130 after one line saying what was done (:mod:`imagetwins.cli._interrupt`).
    The commands are loaded when asked for (:data:`_COMMANDS`)."""

    def list_commands(self, ctx: click.Context | None) -> list[str]:
        return sorted(set(self.commands) | set(_COMMANDS))

    def get_command(self, ctx: click.Context | None, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            from imagetwins.timing import stage

            module, attr = _COMMANDS[cmd_name]
            with stage("start"):  # (loading the command's modules: most of a warm run's time, it was "other")
                self.add_command(getattr(importlib.import_module(f"imagetwins.cli.{module}"), attr), cmd_name)
        return self.commands.get(cmd_name)

    def invoke(self, ctx: click.Context):
        from imagetwins.timing import Timings

        try:
            with Timings():  # the command's stages (scan, search, verify, keep, output): its summary line and --timings
                return super().invoke(ctx)
        except click.ClickException as exc:
            if isinstance(exc, click.NoSuchOption) and exc.option_name in ("-o", "--output"):
                exc.message += _where_output_goes(exc.ctx)
            exc.message = printable(exc.message)
            raise
        except (KeyboardInterrupt, ImportError) as exc:
            # a Ctrl-C while a compiled module (ONNX Runtime, OpenCV) initialises comes back as ImportError
            # ("initialization failed") raised from the KeyboardInterrupt: still an interruption, not a failure
            if isinstance(exc, ImportError) and not _raised_by_interrupt(exc):
                raise
            echo(printable(interrupted_line()), err=True)
            raise SystemExit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            # stdout's reader went away (`imagetwins find DIR | head`): stop quietly, as Unix tools killed by SIGPIPE
            raise SystemExit(EXIT_BROKEN_PIPE) from None
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG and exc.filename is not None:
                # a name the user gave (an output, --db, --move-to) longer than the file system takes: every check
                # of it (pathlib's exists / is_symlink, os.lstat) raised this, before any work
                raise click.ClickException(printable(f"cannot use {os.fsdecode(exc.filename)}: {exc.strerror} (a "
                                                     "name in it is longer than the file system allows)")) from None
            # a model or packaged file that cannot be read (a FIFO in place of the packaged model): one line, not a
            # traceback (the classes taken from the loaded modules: importing them here loads numpy for every command)
            unreadable = tuple(getattr(sys.modules[module], name) for module, name in (
                ("imagetwins.embedding", "ModelFileError"), ("imagetwins.io", "PackagedFileError"))
                if module in sys.modules)
            if not isinstance(exc, unreadable):
                raise
            raise click.ClickException(printable(exc.strerror or str(exc))) from None

    def __call__(self, *args, **kwargs):
        # the command-line entry point (tests call .main): an interrupted run ends without Python's shutdown, which
        # aborted (exit 134) while decoding threads were inside ONNX Runtime or OpenCV
        signal.signal(signal.SIGINT, _first_interrupt)  # (the start-up handler above until now)
        try:
            try:
                self.main(*args, **kwargs)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if code != 0 and not isinstance(exc.code, int):
                    echo(str(exc.code), err=True)
        except KeyboardInterrupt:
            # a Ctrl-C while an exit was under way, its line said already (one after 'remove' stopped between two
            # files with handlers of its own, which reached the handling of its SystemExit)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            code = EXIT_INTERRUPTED
        # the work is done and said (or interrupted and said): the process ends here, without Python's shutdown,
        # which stops daemon threads still inside ONNX Runtime or OpenCV (a decode past its time limit, an
        # interrupted batch) in a way that made glibc abort ("FATAL: exception not rethrown", exit 134); a Ctrl-C
        # now cannot land in the middle of it either
        exit_now(code)



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
      imagetwins check test/ --against train/ -r  # exit 3 if a test image leaks from train/
      imagetwins tune labelled/                   # which method and threshold suit your images
      imagetwins index update catalogue/ -r --db catalogue.db
    """
    warnings.showwarning = _one_line_warning
    # Pillow's own notices (corrupt EXIF while the keeper reads capture dates, ...) name no file; every
    # file we cannot use is reported by us, with its name and reason
    warnings.filterwarnings("ignore", module=r"PIL\.")

