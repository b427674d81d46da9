"""The quality tier's limits: a quality test holds a measured number to its row of the one checked-in table,
``benchmarks/quality_table.json`` (from which BENCHMARKS.md's quality rows are generated), never to a literal."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import quality_table  # noqa: E402

ROWS = quality_table.load()


def limit(row_id: str) -> float:
    """The limit of the row ``row_id`` (a number; the comparison is the row's ``op``)."""
    return ROWS[row_id]["limit"]


def check(row_id: str, value: float) -> None:
    """Assert that ``value``, measured now, meets the limit of row ``row_id`` (and log it where the environment
    variable ``IMAGETWINS_QUALITY_LOG`` says, for the table's record of the values last measured)."""
    row = ROWS[row_id]
    log = os.environ.get("IMAGETWINS_QUALITY_LOG")  # for `python benchmarks/quality_table.py --record LOG`
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{row_id}\t{float(value)!r}\n")
    assert quality_table.holds(row, value), (
        f"{row_id}: measured {value}, the limit is {row['op']} {row['limit']} (benchmarks/quality_table.json; "
        f"last recorded there: {row['value']})")
