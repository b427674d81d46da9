"""What a plan may cost to read (``remove --plan``, ``decisions import``): a plan of 1,000,000 groups of two made-up
names (31 MB, well under the 256 MiB a file a person names may be) took 2.05 GB and 84 s to refuse file by file;
1,000 groups of 2,900 names 1.6 GB and 227 s. Such a plan is now refused in one line before any file is looked at,
while a plan ``find --json`` writes for a library of 100,000 photos (every one in a pair) reads as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagetwins.plan import PlanError, read_plan


def _write(path: Path, root: Path, groups: list[str]) -> Path:
    path.write_text(f'{{"imagetwins_plan": 1, "root": "{root}", "method": "copies", "groups": [{",".join(groups)}]}}')
    return path


@pytest.mark.unit
def test_a_plan_of_a_million_tiny_groups_is_refused_before_it_is_parsed(tmp_path: Path, monkeypatch) -> None:
    parsed = []
    monkeypatch.setattr(json, "loads", lambda *a, **k: parsed.append(1))
    plan = _write(tmp_path / "plan.json", tmp_path, [f'{{"files":["{i}","k{i}"]}}' for i in range(1_000_000)])
    with pytest.raises(PlanError) as refused:
        read_plan(plan)
    assert str(refused.value) == (f"{plan}: too large a plan (4,000,004 JSON values, more than the 3,000,000 a plan "
                                  "may hold, ~400,000 files): refused; make plans of parts of the folder "
                                  "(imagetwins find FOLDER/PART --json)")
    assert parsed == []


@pytest.mark.unit
@pytest.mark.parametrize(("groups", "said"), [
    ([json.dumps({"files": [f"a{i}_{j}" for j in range(600)]}) for i in range(1000)],
     "600,000 files, more than the 500,000"),
    (['{"files":[]}'] * 260_000, "260,000 groups, more than the 250,000"),
], ids=["files", "groups"])
def test_a_plan_naming_too_many_files_or_groups_is_refused_in_one_line(tmp_path: Path, groups: list[str],
                                                                      said: str) -> None:
    plan = _write(tmp_path / "plan.json", tmp_path, groups)
    with pytest.raises(PlanError, match=f"^{plan}: too large a plan \\({said} a plan may hold\\): refused;"):
        read_plan(plan)


@pytest.mark.unit
def test_a_plan_for_a_library_of_100000_photos_reads(tmp_path: Path) -> None:
    """50,000 groups (every photo of the library in a pair), as ``find --json`` writes them with long names: 37 MB,
    750,000 JSON values."""
    root = tmp_path / "Pictures"
    root.mkdir()
    groups = []
    for i in range(50_000):
        keep = f"{root}/2019/Holiday in Spain {i // 500:03d}/IMG_{i:06d}.jpg"
        copy = f"{root}/Backup/phone/DCIM/{i // 500:03d}/IMG_{i:06d}.jpg"
        digest = f"{i:064x}"
        groups.append(json.dumps({"files": [keep, copy], "exact": True, "min_confidence": 1.0,
                                  "sha256": {keep: digest, copy: digest}, "keep": keep, "also_keep": [],
                                  "suggested_keep": keep, "suggested_also_keep": []}))
    plan = _write(tmp_path / "plan.json", root, groups)
    assert plan.stat().st_size > 35 << 20
    read = read_plan(plan)
    assert len(read.doc["groups"]) == 50_000 and read.doc["groups"][-1]["keep"].endswith("IMG_049999.jpg")


@pytest.mark.cli
def test_decisions_import_of_too_large_a_plan_is_refused_in_one_line(tmp_path: Path) -> None:
    """``decisions import`` parsed its file whole to see whether it was a plan, then read it again as one: a plan of
    260,000 groups was taken in (exit 0). It is read once, within a plan's limits."""
    from click.testing import CliRunner

    from imagetwins.cli import main

    plan = _write(tmp_path / "plan.json", tmp_path, ['{"files":[]}'] * 260_000)
    res = CliRunner().invoke(main, ["decisions", "import", str(plan)])
    assert res.exit_code == 1, res.output
    assert res.output == (f"Error: {plan}: too large a plan (260,000 groups, more than the 250,000 a plan may hold): "
                          "refused; make plans of parts of the folder (imagetwins find FOLDER/PART --json)\n")
