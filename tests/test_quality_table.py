"""The one table of quality numbers (benchmarks/quality_table.json): BENCHMARKS.md is generated from it, and
every row names what measures it."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest
from quality_limits import ROWS, quality_table

pytestmark = pytest.mark.quality

REPO = Path(__file__).resolve().parents[1]


def test_benchmarks_md_quality_section_is_generated_from_the_table() -> None:
    text = (REPO / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert quality_table.section(text) == quality_table.expected_section(ROWS), (
        "BENCHMARKS.md's quality rows differ from benchmarks/quality_table.json: run "
        "python benchmarks/quality_table.py")


def test_every_row_is_measured_by_a_benchmark_or_a_test_that_checks_it() -> None:
    for row_id, row in ROWS.items():
        assert row["op"] in (None, *quality_table.OPS), row_id
        assert row["target"] and (row["op"] is None) == (row["limit"] is None), row_id
        for number in (row["limit"], row["value"]):
            assert number is None or (isinstance(number, (int, float)) and math.isfinite(number)), row_id
        file, _, test = row["by"].partition("::")
        assert (REPO / file).is_file(), (row_id, file)
        if file.startswith("tests/"):  # the test names the row it holds a number to
            tree = ast.parse((REPO / file).read_text(encoding="utf-8"))
            [fn] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == test]
            assert any(isinstance(n, ast.Constant) and n.value == row_id for n in ast.walk(fn)), (row_id, test)
            assert row["value"] is not None and quality_table.holds(row, row["value"]), (
                f"{row_id}: its recorded value must meet its limit")


def test_a_row_that_is_not_met_says_so() -> None:
    rows = {"r": {"id": "r", "by": "x", "target": "t", "op": ">=", "limit": 0.99, "value": 0.53, "measured": None},
            "s": {"id": "s", "by": "x", "target": "u", "op": None, "limit": None, "value": 2, "measured": "two"}}
    table = quality_table.render(rows)
    assert "| t | >= 0.99 | 0.53 | **not met** | `x` |" in table
    assert "| u |  | two | reported | `x` |" in table


def test_the_benchmark_writes_every_row_it_is_named_for_through_set_values() -> None:
    """benchmarks/quality.py updates its rows of the table (quality_table.set_values), not BENCHMARKS.md's
    table by hand: every row measured by it is named in its source, and it calls set_values."""
    source = (REPO / "benchmarks" / "quality.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    named = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    mine = {row_id for row_id, row in ROWS.items() if row["by"] == "benchmarks/quality.py"}
    assert mine and mine <= named, sorted(mine - named)
    calls = {name: [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == name]
             for name in ("quality_table.set_values", "write_rows")}
    assert len(calls["quality_table.set_values"]) == 1 and len(calls["write_rows"]) == 2  # held out, --families


def test_family_rows_are_computed_from_the_measured_pairs() -> None:
    import importlib.util

    import numpy as np

    spec = importlib.util.spec_from_file_location("quality_bench", REPO / "benchmarks" / "quality.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    same_scene = np.array([True, True, True, True, False, False])
    identical = np.array([False, False, False, False, False, True])
    called = np.array([True, False, False, False, True, True])
    values, measured = bench.family_rows({0.995: (0.9, 0.95), 0.999: None}, (0.87, 0.99, 3),
                                         {"crop": 0.95, "screenshot": 0.67, "combo": float("nan")}, same_scene,
                                         identical, called)
    assert values == {"families-heldout-best-recall-995": 0.9, "families-heldout-weakest-family": 0.67,
                      "reshots-called-copies-share": 0.25, "families-lookalikes-per-100000": 40000.0}
    assert measured["families-heldout-weakest-family"].startswith("screenshot **0.67**, crop 0.95")
    assert set(values) <= set(ROWS)


def test_family_sets_draw_each_source_with_a_seed_of_its_own(tmp_path: Path, monkeypatch) -> None:
    """With one seed for every source, original k got the same edit parameters and the same combination of
    families in each source: the held-out combo pairs were ~20 recipes counted up to 3 times."""
    import quality

    seeds = {}

    def record(photos, out, n_originals, seed, table) -> None:
        seeds[Path(out).name] = seed
        Path(out).mkdir(parents=True)
        (Path(out) / "ground_truth.json").write_text("{}")

    monkeypatch.setattr(quality, "make_transformed_set", record)
    (tmp_path / "camera-1024").mkdir()  # no resizing of the camera photos for this
    quality.build_families(tmp_path, 1)
    assert seeds["fam-photos-public"] == 24  # the fit split's set as it was
    assert len(set(seeds.values())) == len(seeds) == 4
    # sets made with one seed for all are not read as these (a folder of their own)
    assert (tmp_path / f"families-v{quality.FAMILY_SET_VERSION}-1" / "fam-ukbench").is_dir()


def test_family_rows_report_held_out_negatives_next_to_all_negatives() -> None:
    """--families' best recall with only holidays-half's held-out (odd) groups as re-shot negatives is its own
    pair of rows, next to the figure over every group, never instead of it."""
    import importlib.util

    import numpy as np

    spec = importlib.util.spec_from_file_location("quality_bench", REPO / "benchmarks" / "quality.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    flags = np.array([False, False])
    values, measured = bench.family_rows({0.995: (0.49, 0.98), 0.999: (0.49, 0.98)}, (0.97, 0.99, 4), {}, flags,
                                         flags, flags, {0.995: (0.97, 0.92), 0.999: None})
    assert values["families-heldout-best-recall-995"] == 0.49
    assert values["families-heldout-best-recall-999"] == 0.49
    assert values["families-heldout-best-recall-995-heldout-negatives"] == 0.97
    assert "families-heldout-best-recall-999-heldout-negatives" not in values
    assert "odd (held-out) groups only" in measured["families-heldout-best-recall-995-heldout-negatives"]
    assert "every holidays-half group" in measured["families-heldout-best-recall-995"]
    assert set(values) <= set(ROWS)


def test_holidays_held_out_groups_are_bench_reshots_odd_positions() -> None:
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("quality_bench", REPO / "benchmarks" / "quality.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    groups_file = bench.HOLIDAYS / "groundtruth_groups.json"
    if not groups_file.is_file():
        pytest.skip("holidays-half is not here")
    groups = json.loads(groups_file.read_text())
    ordered = sorted(groups)
    files = [Path(groups[ordered[0]][0]), Path(groups[ordered[1]][0]), Path("not-in-any-group.jpg")]
    assert bench.holidays_heldout(files).tolist() == [False, True, False]
