"""Command line: ``imagetwins find DIR`` and friends.

One module per command (or family of commands), each a thin skin over the library; what they share
(option bundles, output lines, exit codes, output files) is in :mod:`imagetwins.cli._common`. A new
command is one module here plus one ``main.add_command`` line below."""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_while_starting(*_) -> None:
    sys.stderr.write("interrupted (Ctrl-C): stopped before any file was changed\n")
    sys.stderr.flush()
    os._exit(130)


# run as the program (not imported by a test or a program): a Ctrl-C while the modules load is one line too
if os.path.basename(sys.argv[0]) == "imagetwins" or sys.argv[0].endswith(os.path.join("imagetwins", "__main__.py")):
    signal.signal(signal.SIGINT, _interrupted_while_starting)

import warnings  # noqa: E402

import click  # noqa: E402

from imagetwins import __version__  # noqa: E402
from imagetwins.cli._common import (  # noqa: F401, E402  (kept importable from imagetwins.cli)
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
    """Python warnings (a skipped file, a library's notice) as one 'warning:' line, without source lines."""
    text = " ".join(str(message).split())
    echo(f"warning: {text}", err=True)


class _SafeMessages(click.Group):
    """Error lines name files too: their control characters and raw bytes are shown as escapes there as well.
    Ctrl-C ends any command with exit 130 after one line saying what was done (:mod:`imagetwins.cli._interrupt`)."""

    def invoke(self, ctx: click.Context):
        from imagetwins.timing import Timings

        try:
            with Timings():  # the command's stages (scan, search, verify, keep, output): its summary line and --timings
                return super().invoke(ctx)
        except click.ClickException as exc:
            exc.message = printable(exc.message)
            raise
        except KeyboardInterrupt:
            echo(printable(interrupted_line()), err=True)
            raise SystemExit(EXIT_INTERRUPTED) from None

    def __call__(self, *args, **kwargs):
        # the command-line entry point (tests call .main): an interrupted run ends without Python's shutdown, which
        # aborted (exit 134) while decoding threads were inside ONNX Runtime or OpenCV
        signal.signal(signal.SIGINT, signal.default_int_handler)  # (the start-up handler below until now)
        try:
            self.main(*args, **kwargs)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if code != 0 and not isinstance(exc.code, int):
                echo(str(exc.code), err=True)
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
      imagetwins index update catalogue/ --db catalogue.db
    """
    warnings.showwarning = _one_line_warning
    # Pillow's own notices (corrupt EXIF while the keeper reads capture dates, ...) name no file; every
    # file we cannot use is reported by us, with its name and reason
    warnings.filterwarnings("ignore", module=r"PIL\.")


from imagetwins.cli import cache, check, decisions, explain, find, folders, index, plot, remove, report, tune  # noqa: E402

main.add_command(find.find)
main.add_command(check.check)
main.add_command(report.report)
main.add_command(plot.plot)
main.add_command(explain.explain)
main.add_command(remove.remove)
main.add_command(remove.undo)
main.add_command(tune.tune)
main.add_command(index.index)
main.add_command(cache.cache)
main.add_command(decisions.decisions)
main.add_command(folders.folders)
