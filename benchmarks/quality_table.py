"""BENCHMARKS.md's quality rows, generated from the one checked-in table of quality numbers.

    python benchmarks/quality_table.py           # rewrites the 'quality-table' section of BENCHMARKS.md
    python benchmarks/quality_table.py --check   # exits 1 when BENCHMARKS.md is not what the table gives
    IMAGETWINS_QUALITY_LOG=q.log python -m pytest -m quality && python benchmarks/quality_table.py --record q.log
                                                 # the test rows' values: the worst each test measured

``benchmarks/quality_table.json`` holds one row per number imagetwins is held to: what is measured, the
limit, the value last measured and by what. Rows measured by a test are checked against their limit on
every run of ``pytest -m quality`` (``tests/quality_limits.py`` reads the limits); rows measured by a
benchmark are written by it through :func:`set_values` when it is re-run (``benchmarks/quality.py`` and
``--families``: values, the 'measured' text, and this section of BENCHMARKS.md made again; a 'measured' text a
person wrote is kept, or set aside in the row's 'earlier' when the value changes).
"""

from __future__ import annotations

import argparse
import json
import operator
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "benchmarks" / "quality_table.json"
SECTION, TITLE = "quality-table", "Quality against the targets"
OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


def load(path: Path = TABLE) -> dict[str, dict]:
    """The table's rows by id."""
    rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
    return {row["id"]: row for row in rows}


def holds(row: dict, value: float) -> bool:
    """Does ``value`` meet the row's limit (a row without a limit reports a number and always holds)?"""
    return row["op"] is None or OPS[row["op"]](value, row["limit"])


def _number(v: float) -> str:
    return f"{v:,.3f}".rstrip("0").rstrip(".") if isinstance(v, float) else f"{v:,}"


def render(rows: dict[str, dict]) -> str:
    """The markdown of the section (without its title)."""
    lines = ["Generated from `benchmarks/quality_table.json` by `python benchmarks/quality_table.py`; rows measured "
             "by a test are checked against their limit by `pytest -m quality` on every run, the others when their "
             "benchmark is re-run.", "",
             "| target | limit | measured | met | measured by |", "| --- | ---: | --- | --- | --- |"]
    for row in rows.values():
        limit = "" if row["op"] is None else f"{row['op']} {_number(row['limit'])}"
        value = row["value"]
        measured = row["measured"] or ("" if value is None else _number(value))
        met = ("reported" if row["op"] is None else "not measured" if value is None
               else "yes" if holds(row, value) else "**not met**")
        by = f"`{row['by'].replace('benchmarks/', '')}`"
        lines.append(f"| {row['target']} | {limit} | {measured} | {met} | {by} |")
    return "\n".join(lines) + "\n"


def section(text: str) -> str | None:
    """The generated part of BENCHMARKS.md's text, or None when it has no such section."""
    start, end = f"<!-- {SECTION}:start -->", f"<!-- {SECTION}:end -->"
    if start not in text or end not in text:
        return None
    return text[text.index(start) + len(start):text.index(end)]


def expected_section(rows: dict[str, dict]) -> str:
    return f"\n## {TITLE}\n\n{render(rows)}\n"


def record(log: Path, path: Path = TABLE) -> list[str]:
    """Set each test-measured row's value to the worst value logged for it (the lowest for a lower limit, the
    highest for an upper one); returns the ids updated. A row's hand-written text is kept while its value holds, else
    set aside in 'earlier' (as :func:`set_values`): it spoke of the old number."""
    seen: dict[str, list[float]] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        row_id, _, value = line.partition("\t")
        seen.setdefault(row_id, []).append(float(value))
    table = json.loads(path.read_text(encoding="utf-8"))
    updated = []
    for row in table["rows"]:
        if row["id"] in seen and row["by"].startswith("tests/"):
            worst = min if row["op"] in (">=", ">") else max
            _set(row, round(worst(seen[row["id"]]), 4))
            updated.append(row["id"])
    path.write_text(json.dumps(table, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return updated


def _set(row: dict, value: float, text: str | None = None) -> bool:
    """Give ``row`` its new ``value`` and 'measured' ``text`` (None: the bare number), keeping a text a person wrote
    (see :func:`set_values`); whether theirs was set aside in 'earlier'."""
    written = row.get("measured")
    by_hand = written is not None and written != row.get("generated")
    if by_hand and row["value"] == value:
        return False
    if by_hand:
        row["earlier"] = {"value": row["value"], "measured": written}
    row["value"], row["measured"] = value, text
    if text is None:
        row.pop("generated", None)
    else:
        row["generated"] = text
    return by_hand


def set_values(values: dict[str, float], measured: dict[str, str] | None = None, path: Path = TABLE) -> list[str]:
    """For a benchmark that measured some rows: set their values and 'measured' texts, write the table and
    BENCHMARKS.md's section. E.g. at the end of benchmarks/quality.py: ``quality_table.set_values({"cnn-ukbench-map":
    0.994})``. Returns the ids of the rows whose hand-written text the new value set aside, to be merged by hand.

    A row's text is the benchmark's (``measured``, else the bare number) unless a person wrote it: a text other than
    the one this function last wrote there (kept in the row's ``generated``) is theirs. Theirs is never replaced
    without a trace: while the row's value stays what it was it is kept (it speaks of this very number); where the
    value changes, the benchmark's text takes its place and theirs goes to the row's ``earlier`` (with the value it
    spoke of), which BENCHMARKS.md does not show."""
    table = json.loads(path.read_text(encoding="utf-8"))
    known = {row["id"]: row for row in table["rows"]}
    unknown = set(values) - set(known)
    if unknown:
        raise KeyError(f"no such rows in {path.name}: {', '.join(sorted(unknown))}")
    set_aside = [row_id for row_id, value in values.items() if _set(known[row_id], value, (measured or {}).get(row_id))]
    path.write_text(json.dumps(table, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if path == TABLE:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from _common import write_section

        write_section(SECTION, TITLE, render(load()))
    return set_aside


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 when BENCHMARKS.md differs")
    ap.add_argument("--record", type=Path, metavar="LOG",
                    help="first set the test rows' values from a log of IMAGETWINS_QUALITY_LOG")
    args = ap.parse_args()
    if args.record:
        print("recorded:", ", ".join(record(args.record)) or "nothing")
    rows = load()
    bench = ROOT / "BENCHMARKS.md"
    if args.check:
        ok = section(bench.read_text(encoding="utf-8")) == expected_section(rows)
        print("BENCHMARKS.md matches the quality table" if ok else
              "BENCHMARKS.md differs from benchmarks/quality_table.json; run python benchmarks/quality_table.py")
        return 0 if ok else 1
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _common import write_section

    write_section(SECTION, TITLE, render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
