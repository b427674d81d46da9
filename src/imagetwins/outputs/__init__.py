"""Outputs: one writer per format, behind one registry.

Two things are written: :class:`Groups` (what ``find``, ``report`` and ``remove`` found and decided: groups
around their keepers) and :class:`Matches` (what ``check``, ``find --against`` and ``index query`` found:
each new image's matches in a reference). A format is one module here with a writer for either or both,
and one line in :data:`FORMATS`; the command line then offers it as ``--NAME FILE`` on every command that
writes what the format can write (``imagetwins.cli._outputs``).

>>> from imagetwins.outputs import Groups, write
>>> write("json", Groups(result, decisions, root="photos"), "plan.json")   # doctest: +SKIP
"""

from __future__ import annotations

import os

from imagetwins.outputs._base import Format, Groups, Matches, OutputError, Target, Writer
from imagetwins.writing import refuse_image_target

__all__ = ["FORMATS", "Format", "Groups", "Matches", "OutputError", "Target", "Writer", "formats_for", "register",
           "write"]


#: every output format by name; a new one is a module here and one line in :func:`_register_builtins`
FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    """Add (or replace) an output format."""
    FORMATS[fmt.name] = fmt
    return fmt


def formats_for(kind: str) -> list[Format]:
    """The formats that can write ``kind`` (``"groups"`` or ``"matches"``), in registration order."""
    return [f for f in FORMATS.values() if getattr(f, kind) is not None]


def write(name: str, what: Groups | Matches, to: str | os.PathLike) -> None:
    """Write ``what`` in format ``name`` to the file ``to`` (``-``: standard output, where the format allows).

    Raises
    ------
    KeyError
        No such format.
    ValueError
        The format cannot hold ``what`` (a review page of matches), or cannot go to standard output.
    OutputError
        The file could not be written (one line).
    imagetwins.writing.ReplacesImage
        ``to`` is an image, or has an image's name: nothing is written (:func:`imagetwins.writing.refuse_image_target`).
    BrokenPipeError
        Standard output (``-``) was closed by its reader (``| head``).
    """
    fmt = FORMATS[name]
    kind = "groups" if isinstance(what, Groups) else "matches"
    writer = getattr(fmt, kind)
    if writer is None:
        raise ValueError(f"the {name} output holds no {kind}")
    target = Target(to)
    if target.is_stdout and not fmt.stdout:
        raise ValueError(f"the {name} output cannot go to standard output ('-')")
    if not target.is_stdout:
        refuse_image_target(target.path, f"the {name} output")  # (the command line refused it when parsing)
    try:
        writer(what, target)
    except BrokenPipeError:
        if target.is_stdout:
            raise  # the reader of stdout went away (`| head`): not a file that failed; the CLI stops quietly
        raise OutputError(f"cannot write {target.path}: Broken pipe") from None
    except OSError as exc:
        raise OutputError(f"cannot write {target.path}: {exc.strerror or exc}") from None


def _register_builtins() -> None:
    from imagetwins.outputs import csv, html, json, ndjson, text

    for module in (text, json, csv, ndjson, html):
        register(module.FORMAT)


_register_builtins()
