"""Fixes from the session's final read of plans, keeper and outputs (read3)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _stages(stderr: str) -> dict[str, float]:
    line = next(x for x in stderr.splitlines() if x.startswith("time: "))
    return {name: float(s) for name, s in re.findall(r"(\w+) (\d+\.\d+) s", line.split("=", 1)[1])}


@pytest.mark.cli
def test_remove_plan_timings_count_the_files_decoded_for_its_check_as_a_scan(tmp_path: Path) -> None:
    """``remove --plan --timings`` of a plan from ``find --no-cache`` decodes every file to check it against its
    keeper (no kept check): that time was said as "other" (which the help calls modules loaded on first use)."""
    from click.testing import CliRunner

    from imagetwins.cli import main

    album = tmp_path / "album"
    shutil.copytree(REPO / "examples" / "images", album)
    plan = tmp_path / "plan.json"
    run = CliRunner().invoke
    made = run(main, ["find", str(album), "--no-cache", "--json", str(plan), "-q"])
    assert made.exit_code == 0, made.output
    dry = run(main, ["remove", str(album), "--plan", str(plan), "--timings"])
    assert dry.exit_code == 0, dry.output
    assert "5 files would move" in dry.stdout
    stages = _stages(dry.stderr)
    assert "scan" in stages and "verify" in stages, dry.stderr


@pytest.mark.cli
def test_remove_plan_honours_workers_for_the_check_of_its_files(tmp_path: Path) -> None:
    """``remove --plan`` checks each file no kept check calls a copy of its keeper (``not_copies_of_keepers``, on
    ``workers`` threads), yet ``-j`` was refused as doing "nothing with --plan"."""
    from click.testing import CliRunner

    from imagetwins.cli import main

    album = tmp_path / "album"
    shutil.copytree(REPO / "examples" / "images", album)
    plan = tmp_path / "plan.json"
    run = CliRunner().invoke
    assert run(main, ["find", str(album), "--no-cache", "--json", str(plan), "-q"]).exit_code == 0
    dry = run(main, ["remove", str(album), "--plan", str(plan), "-j", "1"])
    assert dry.exit_code == 0, dry.output
    assert "5 files would move" in dry.stdout


@pytest.mark.cli
def test_remove_plan_reads_no_file_check_plan_refuses_and_refuses_it(tmp_path: Path) -> None:
    """A plan (anyone may edit it) listing a FIFO in the folder and an image outside it: the check against the
    keeper decoded the outside file and left both where they were with a "could not be checked" note, exit 0,
    where ``check_plan`` refuses them (not a regular file, outside the folder), exit 1."""
    import json
    import os

    from click.testing import CliRunner

    from imagetwins.cli import main

    album = tmp_path / "album"
    shutil.copytree(REPO / "examples" / "images", album)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copyfile(REPO / "examples" / "images" / "market.jpg", outside / "market.jpg")
    os.mkfifo(album / "pipe.jpg")
    plan = tmp_path / "plan.json"
    run = CliRunner().invoke
    assert run(main, ["find", str(album), "--no-cache", "--json", str(plan), "-q"]).exit_code == 0
    doc = json.loads(plan.read_text())
    group = doc["groups"][0]
    for k, extra in enumerate([str(album / "pipe.jpg"), str(outside / "market.jpg")]):
        group["files"].append(extra)
        group["sha256"][extra] = f"{k}" * 64
    plan.write_text(json.dumps(doc))
    dry = run(main, ["remove", str(album), "--plan", str(plan)])
    assert dry.exit_code == 1, dry.output
    assert "note: leaving" not in dry.stderr, dry.stderr
    assert "pipe.jpg: not a regular file now" in dry.stderr and "market.jpg: outside the scanned folders" in dry.stderr
    assert "5 files would move" in dry.stdout


@pytest.mark.cli
def test_a_plan_of_a_method_this_install_does_not_have_moves_nothing(tmp_path: Path) -> None:
    """A plan naming a method not registered here (a plug-in not installed, a hand edit) can be checked by nothing:
    every file moved unchecked, against "nothing moves without a check calling it a copy of its keeper"."""
    import json

    from click.testing import CliRunner

    from imagetwins.cli import main

    album = tmp_path / "album"
    shutil.copytree(REPO / "examples" / "images", album)
    plan = tmp_path / "plan.json"
    run = CliRunner().invoke
    assert run(main, ["find", str(album), "--json", str(plan), "-q"]).exit_code == 0
    data = json.loads(plan.read_text())
    data["method"] = "someones-plugin"
    plan.write_text(json.dumps(data))
    before = sorted(p.name for p in album.iterdir())
    res = run(main, ["remove", str(album), "--plan", str(plan), "--apply"])
    assert res.exit_code == 1, res.output
    said = " ".join(res.stderr.split())
    assert "'someones-plugin', which this imagetwins does not have" in said and "nothing moved" in said
    assert "Traceback" not in res.output
    assert sorted(p.name for p in album.iterdir()) == before
