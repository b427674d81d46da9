"""The HTML review page (:func:`imagetwins.report.write_html_report`): groups only, to a file."""

from __future__ import annotations

import os
from pathlib import Path

from imagetwins.outputs._base import Format, Groups, Target
from imagetwins.writing import check_page_folder


def write_page(what: Groups, path: str | os.PathLike, free_name: bool = False) -> Path:
    """The review page of ``what`` at ``path``; returns where it went (``free_name``: ``path`` is a name chosen by
    default, kept where a file imagetwins did not write stands there: :func:`imagetwins.report.write_html_report`)."""
    from imagetwins.report import write_html_report

    return write_html_report(what.result, path, keep_in=what.keep_in, keep_rule=what.keep_rule,
                             workers=what.workers, progress=what.progress, root=what.root,
                             raw_sidecars=what.raw_sidecars, session=what.session, free_name=free_name)


def write_groups(what: Groups, target: Target) -> None:
    write_page(what, target.path)


FORMAT = Format("html", groups=write_groups, option="--report", stdout=False,
                groups_help="Also write an HTML review page (see 'imagetwins report').", check=check_page_folder)
