"""The HTML review page (:func:`imagetwins.report.write_html_report`): groups only, to a file."""

from __future__ import annotations

from imagetwins.outputs._base import Format, Groups, Target
from imagetwins.writing import check_page_folder


def write_groups(what: Groups, target: Target) -> None:
    from imagetwins.report import write_html_report

    write_html_report(what.result, target.path, keep_in=what.keep_in, keep_rule=what.keep_rule,
                      workers=what.workers, progress=what.progress, root=what.root,
                      raw_sidecars=what.raw_sidecars, session=what.session)


FORMAT = Format("html", groups=write_groups, option="--report", stdout=False,
                groups_help="Also write an HTML review page (see 'imagetwins report').", check=check_page_folder)
