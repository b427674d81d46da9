"""Command line: ``imagetwins find DIR`` and friends.

One module per command (or family of commands), each a thin skin over the library; what they share
(option bundles, output lines, exit codes, output files) is in :mod:`imagetwins.cli._common`. A new
command is one module here plus one ``main.add_command`` line below."""

from __future__ import annotations

import warnings

import click

from imagetwins import __version__
from imagetwins.cli._common import (  # noqa: F401  (kept importable from imagetwins.cli)
    EXIT_DUPLICATES,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    MethodChoice,
    OutputFile,
    echo,
)
from imagetwins.text import printable


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Python warnings (a skipped file, a library's notice) as one 'warning:' line, without source lines."""
    text = " ".join(str(message).split())
    echo(f"warning: {text}", err=True)


class _SafeMessages(click.Group):
    """Error lines name files too: their control characters and raw bytes are shown as escapes there as well."""

    def invoke(self, ctx: click.Context):
        from imagetwins.timing import Timings

        try:
            with Timings():  # the command's stages (scan, search, verify, keep, output): its summary line and --timings
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
