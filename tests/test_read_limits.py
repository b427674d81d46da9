"""What ``decisions import`` of an export and ``tune --truth`` may cost to read, as a plan: both were bounded only by
the 256 MiB a file a person names may be (256 MiB of ``[[],[],...]`` parsed is ~85 million lists, ~5 GB), and a
ground truth's list of groups became a map of each group's square (one group of 60,000 names, a 1 MB file: 3.6
billion entries). Each is now refused in one line before it costs that; what imagetwins writes still reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins import decisions, evaluation, plan
from imagetwins.cli import main


def _export(path: Path, rows: int) -> Path:
    """An export as ``decisions export`` writes it, ``rows`` decisions."""
    recs = [{"a": f"{i:032x}", "b": f"{i + 1:032x}", "verdict": "not_duplicate", "keeper": None,
             "a_name": f"a{i}.jpg", "b_name": f"b{i}.jpg", "made": 1765000000.0} for i in range(0, 2 * rows, 2)]
    path.write_text(json.dumps(decisions.export_document([decisions.Record(**r) for r in recs], "store")))
    return path


@pytest.mark.unit
def test_an_export_of_millions_of_values_is_refused_before_it_is_parsed(tmp_path: Path, monkeypatch) -> None:
    junk = tmp_path / "export.json"
    junk.write_text('{"imagetwins_decisions": 1, "decisions": [' + ",".join(["[]"] * 2_600_000) + "]}")
    parsed = []
    monkeypatch.setattr(json, "loads", lambda *a, **k: parsed.append(1))
    with pytest.raises(ValueError) as refused:
        decisions.load_export(junk)
    assert str(refused.value) == (f"{junk}: too large a decisions export (5,200,002 JSON values, more than the "
                                  "5,000,000 an import reads): refused")
    assert parsed == []


@pytest.mark.unit
def test_an_export_over_its_decisions_or_bytes_is_refused_in_one_line(tmp_path: Path, monkeypatch) -> None:
    export = _export(tmp_path / "export.json", 30)
    assert len(decisions.load_export(export)) == 30
    monkeypatch.setattr(decisions, "EXPORT_MAX_DECISIONS", 29)
    with pytest.raises(ValueError, match=r"too large a decisions export \(30 decisions, more than the 29 an import "
                                         r"reads\): refused$"):
        decisions.load_export(export)
    monkeypatch.setattr(decisions, "EXPORT_MAX_BYTES", 1000)
    with pytest.raises(ValueError, match=r": cannot read it \(file too large \([0-9,]+ bytes > limit 1,000\)\)$"):
        decisions.load_export(export)


@pytest.mark.cli
def test_decisions_import_of_an_export_holding_more_values_than_a_plan_imports_it(tmp_path: Path,
                                                                                    monkeypatch) -> None:
    """An export was first read as a plan, whose bound on JSON values (3,000,000) is lower than an export's: an
    export of 400,000 decisions was refused as 'too large a plan'. (The bound lowered here to 1,000: 200 decisions.)"""
    monkeypatch.setattr(plan, "PLAN_MAX_VALUES", 1000)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    export = _export(tmp_path / "export.json", 200)
    res = CliRunner().invoke(main, ["decisions", "import", str(export)])
    assert res.exit_code == 0, res.output
    assert res.output == "remembered 200 decisions\n"


@pytest.mark.cli
def test_decisions_import_of_a_huge_export_says_one_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    junk = tmp_path / "export.json"
    junk.write_text('{"imagetwins_decisions": 1, "decisions": [' + ",".join(["{}"] * 2_600_000) + "]}")
    res = CliRunner().invoke(main, ["decisions", "import", str(junk)])
    assert res.exit_code == 1, res.output
    assert res.output == (f"Error: {junk}: too large a decisions export (5,200,002 JSON values, more than the "
                          "5,000,000 an import reads): refused\n")


@pytest.mark.unit
def test_a_ground_truth_group_whose_map_would_be_billions_of_entries_is_refused(tmp_path: Path) -> None:
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps([[f"n{i}.jpg" for i in range(60_000)]]))  # (1 MB: 3.6 billion map entries)
    with pytest.raises(ValueError) as refused:
        evaluation.load_ground_truth(truth)
    assert str(refused.value) == (f"ground truth {truth}: too large a ground truth (its groups make 3,599,940,000 "
                                  "duplicate pairs both ways, more than the 5,000,000 tune reads; the largest group "
                                  "holds 60,000 files): label a smaller sample")


@pytest.mark.unit
def test_a_sub_folder_of_thousands_of_photos_taken_as_one_group_is_refused(tmp_path: Path) -> None:
    """A library's year folder given as labelled groups: 2,300 files in one sub-folder (5.3 million map entries)."""
    year = tmp_path / "2019"
    year.mkdir()
    for i in range(2_300):
        (year / f"IMG_{i:04d}.png").write_bytes(b"named as an image: listed, never read here")
    with pytest.raises(ValueError, match=r"\(each sub-folder a group\): too large a ground truth \(its groups make "
                                         r"5,287,700 duplicate pairs both ways, .* the largest group holds 2,300 "
                                         r"files\): label a smaller sample$"):
        evaluation.load_ground_truth(tmp_path)


@pytest.mark.unit
def test_a_crowd_of_2000_identical_images_still_reads_as_ground_truth(tmp_path: Path) -> None:
    names = [f"crowd/{i:04d}.jpg" for i in range(2_000)]
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({n: [m for m in names if m != n] for n in names}))  # (the map: 4 million names)
    got = evaluation.load_ground_truth(truth)
    assert len(got) == 2_000 and all(len(v) == 1_999 for v in got.values())
    truth.write_text(json.dumps([names]))
    assert evaluation.load_ground_truth(truth) == got


@pytest.mark.cli
def test_tune_with_a_truth_of_millions_of_values_says_one_line(tmp_path: Path) -> None:
    truth = tmp_path / "truth.json"
    truth.write_text("[" + ",".join(["[]"] * 2_600_000) + "]")
    (tmp_path / "imgs").mkdir()
    res = CliRunner().invoke(main, ["tune", str(tmp_path / "imgs"), "--truth", str(truth)])
    assert res.exit_code == 1, res.output
    assert res.output == (f"Error: ground truth {truth}: too large a ground truth (5,200,000 JSON values, more than "
                          "the 5,000,000 tune reads): label a smaller sample\n")
