"""The output options (``--json``, ``--csv``, ``--ndjson``, ``--report``, ...) of every command that writes
groups or matches, made from the registry :data:`imagetwins.outputs.FORMATS`: a format registered there is
offered by each of them with no change here."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import click

from imagetwins import outputs
from imagetwins.cli._common import OutputFile, show_progress
from imagetwins.timing import stage


@dataclass(frozen=True)
class Requested:
    """The outputs asked for on the command line: format name -> file (``-``: stdout)."""

    files: dict[str, Path] = field(default_factory=dict)
    pairs: bool = False

    @property
    def to_stdout(self) -> bool:
        """Whether an output goes to stdout (then nothing else is printed there)."""
        return any(str(p) == "-" for p in self.files.values())

    def options(self) -> list[str]:
        return [outputs.FORMATS[name].option for name in self.files]

    def refuse(self, kind: str, why: str) -> None:
        """A usage error for each format asked that cannot write ``kind`` (e.g. a review page of matches)."""
        for name in self.files:
            if getattr(outputs.FORMATS[name], kind) is None:
                raise click.UsageError(f"{outputs.FORMATS[name].option} {why}")

    def write(self, what: outputs.Groups | outputs.Matches) -> None:
        for name, path in self.files.items():
            try:
                with stage("report" if name == "html" else "output"):  # (--timings)
                    outputs.write(name, what, path)
            except outputs.OutputError as exc:
                raise click.ClickException(str(exc)) from None
            except BrokenPipeError:  # (stdout closed by its reader, '--csv - | head': the quiet exit 141 above)
                raise
            except OSError as exc:  # (a photo put at the name since the command line was read: ReplacesImage)
                raise click.ClickException(f"cannot write {exc.strerror or exc}") from None


def check_before_work(files: dict[str, Path], option: str | None = None) -> None:
    """Each format's own check of its file (:attr:`imagetwins.outputs.Format.check`: the review page's
    ``<page>_files/`` folder), before any work: one line, not a refusal at the end of a long scan. ``option``: the
    name the message gives the option (default the format's, ``--report``; ``report`` names its page ``--output``)."""
    for name, path in files.items():  # (an image at or as the name: refused already, by OutputFile)
        fmt = outputs.FORMATS[name]
        if str(path) == "-" or fmt.check is None:
            continue
        try:
            fmt.check(Path(path))
        except OSError as exc:
            raise click.ClickException(f"cannot write {option or fmt.option} {path}: {exc.strerror or exc}") from None


def refuse_one_file_twice(named: dict[str, Path]) -> None:
    """A usage error when two output options name one file (``--csv out.csv --json out.csv``: the second replaced
    the first, silently); ``named``: option -> file."""
    seen: dict[str, str] = {}
    for option, path in named.items():
        if str(path) == "-":
            continue  # (two on stdout: said before)
        real = os.path.normcase(os.path.realpath(path))
        if real in seen:
            raise click.UsageError(f"{seen[real]} and {option} both write {path}: the second would replace the "
                                   f"first; give each its own file")
        seen[real] = option


def file_option(name: str, help: str):
    """The ``--NAME FILE`` option of format ``name`` with ``help`` (for a command writing another document,
    e.g. ``tune --json``): declared here once for every command."""
    fmt = outputs.FORMATS[name]
    return click.option(fmt.option, f"{name}_out", type=OutputFile(allow_dash=fmt.stdout), help=help,
                        metavar="FILE|-" if fmt.stdout else "FILE")


def output_options(*kinds: str, exclude: tuple[str, ...] = ()):
    """One ``--NAME FILE`` option per registered format that writes any of ``kinds`` (``"groups"``,
    ``"matches"``), and ``--pairs`` with groups; the command receives them as ``requested: Requested``.

    At most one of them may go to stdout (``-``); ``--pairs`` needs ``--json``.
    """
    formats = [f for f in outputs.FORMATS.values() if f.option and f.name not in exclude
               and any(getattr(f, k) is not None for k in kinds)]

    def describe(fmt: outputs.Format) -> str:
        if "groups" in kinds and "matches" in kinds:
            if fmt.groups and fmt.matches:
                return f"{fmt.groups_help} With --against: {fmt.matches_help[0].lower()}{fmt.matches_help[1:]}"
            return fmt.groups_help + (" Not with --against." if fmt.groups else "")
        return fmt.groups_help if "groups" in kinds else fmt.matches_help

    def decorate(f):
        @functools.wraps(f)
        def command(*args, **kwargs):
            files = {fmt.name: kwargs.pop(f"{fmt.name}_out") for fmt in formats}
            files = {n: p for n, p in files.items() if p is not None}
            pairs = kwargs.pop("with_pairs", False)
            on_stdout = [outputs.FORMATS[n].option for n, p in files.items() if str(p) == "-"]
            for n, p in files.items():
                if str(p) == "-" and not outputs.FORMATS[n].stdout:
                    raise click.UsageError(f"{outputs.FORMATS[n].option} writes a file, not stdout ('-'): give a name")
            if len(on_stdout) > 1:
                raise click.UsageError(f"{' and '.join(on_stdout)} cannot both go to stdout ('-')")
            refuse_one_file_twice({outputs.FORMATS[n].option: p for n, p in files.items()})
            check_before_work(files)
            if pairs and kwargs.get("against") is not None:  # (said first: --json alone would not make it work)
                raise click.UsageError("--pairs is not supported with --against: the JSON lists each image's matches")
            if pairs and "json" not in files:
                raise click.UsageError("--pairs adds every matching pair to the --json output: give --json too")
            return f(*args, requested=Requested(files, pairs), **kwargs)

        if "groups" in kinds and "json" in outputs.FORMATS:
            command = click.option(
                "--pairs", "with_pairs", is_flag=True,
                help="Also write every matching pair into the JSON (N copies of one picture make N(N-1)/2 pairs; "
                     "files holding the very same bytes are one entry listing them, 'byte_identical', files with one "
                     "encoding but other bytes one entry listing them, 'same_encoding', and the other entries name "
                     "the first of each)."
                     + (" Not with --against." if "matches" in kinds else ""))(command)
        for fmt in reversed(formats):
            command = file_option(fmt.name, describe(fmt))(command)
        return command

    return decorate


def groups_output(result, decisions, directory: Path, requested: Requested, keep_in, keep_rule: str, raw_pairs: str,
                  workers: int | None, quiet: bool, decided_earlier: tuple[bool, ...] = ()) -> outputs.Groups:
    """What the writers of groups get, the same for find, report and remove."""
    from imagetwins.cli._scan import run_session

    return outputs.Groups(result, decisions, directory, pairs=requested.pairs, keep_in=keep_in, keep_rule=keep_rule,
                          raw_sidecars=raw_pairs == "keep", workers=workers, progress=show_progress(quiet),
                          decided_earlier=decided_earlier, session=run_session())


def write_text(what: outputs.Groups | outputs.Matches) -> None:
    """The human-readable lines on stdout (the ``text`` format)."""
    with stage("output"):  # (--timings)
        outputs.write("text", what, "-")
