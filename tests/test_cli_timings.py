"""`find` says the whole command's time, and `--timings` where it went."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins import keep
from imagetwins.cli import main

pytestmark = pytest.mark.cli


def test_the_summary_counts_the_keeper_checks_and_timings_split_the_run(tmp_path: Path, datasets: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:4]:
        shutil.copy(p, folder / p.name)
        shutil.copy(p, folder / f"copy of {p.name}")
    slow = keep._decide_checked

    def slow_keep(*a, **k):  # a keeper check that takes a second must show in the summary line
        import time

        time.sleep(1.0)
        return slow(*a, **k)

    monkeypatch.setattr(keep, "_decide_checked", slow_keep)
    res = CliRunner().invoke(main, ["find", str(folder), "-m", "phash", "--timings"])
    assert res.exit_code == 0, res.output
    summary = re.search(r"\((\d+\.\d) s, phash", res.stdout)
    assert summary and float(summary.group(1)) >= 1.0
    line = next(x for x in res.stderr.splitlines() if x.startswith("time: "))
    stages = dict((name, float(s)) for name, s in re.findall(r"(\w+) (\d+\.\d+) s", line.split("=", 1)[1]))
    assert {"scan", "search", "keep", "output"} <= set(stages) and stages["keep"] >= 1.0
    total = float(line.split()[1])
    assert abs(sum(stages.values()) - total) < 0.05


def test_v_is_timings_for_short(tmp_path: Path, datasets: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    reference = tmp_path / "reference"  # (check of a folder against itself is a usage error)
    reference.mkdir()
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    for p in photos[:2]:
        shutil.copy(p, folder / p.name)
    for p in photos[2:4]:
        shutil.copy(p, reference / p.name)
    for args in (["find", str(folder), "-m", "phash", "-v"], ["check", str(folder), "--against", str(reference),
                                                               "-m", "phash", "-v"]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code in (0, 1), res.output
        assert any(x.startswith("time: ") for x in res.stderr.splitlines()), res.stderr
    plain = CliRunner().invoke(main, ["find", str(folder), "-m", "phash"])
    assert not any(x.startswith("time: ") for x in plain.stderr.splitlines())


def test_loading_the_command_and_opening_the_cache_are_stages_not_other(tmp_path: Path, datasets: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm ``find -v`` said "other 0.90 s" of a second's run: the time was Python loading the command's modules
    (compiling them where no bytecode is kept) and opening the cache, in no stage. Now those are ``start`` and
    ``open``; a slow module load and a slow cache open each show there, not in ``other``."""
    import importlib
    import time

    from imagetwins import index

    folder = tmp_path / "photos"
    folder.mkdir()
    for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:2]:
        shutil.copy(p, folder / p.name)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not a picture")
    assert CliRunner().invoke(main, ["find", str(folder), "-m", "phash"]).exit_code == 0  # warm from now on
    load, open_cache = importlib.import_module, index.open_folder_cache

    def slow_load(name, *a, **k):
        time.sleep(1.0)
        return load(name, *a, **k)

    def slow_open(*a, **k):
        time.sleep(1.0)
        return open_cache(*a, **k)

    monkeypatch.delitem(main.commands, "find")  # (loaded again from its module, as each command line does)
    monkeypatch.setattr(importlib, "import_module", slow_load)
    monkeypatch.setattr(index, "open_folder_cache", slow_open)
    res = CliRunner().invoke(main, ["find", str(folder), "-m", "phash", "-v"])
    assert res.exit_code == 0, res.output
    line = next(x for x in res.stderr.splitlines() if x.startswith("time: "))
    stages = dict((name, float(s)) for name, s in re.findall(r"(\w+) (\d+\.\d+) s", line.split("=", 1)[1]))
    assert stages["start"] >= 1.0 and stages["open"] >= 1.0, line
    assert stages.get("other", 0.0) < 0.5, line
    assert "skipped" in res.stderr and "broken.jpg" in res.stderr


def test_index_update_and_report_say_where_the_time_went_too(tmp_path: Path, datasets: Path) -> None:
    """A family library's first step is 'index update', a shop's 'report': both read every image, and neither took
    --timings ("No such option '--timings'"), which find, check and index query take. Now both do: the update's
    reading of the images is its scan stage, the page its report stage."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:3]:
        shutil.copy(p, folder / p.name)
    shutil.copy(folder / p.name, folder / f"copy of {p.name}")
    runs = {"index update": ["index", "update", str(folder), "--db", str(tmp_path / "x.db"), "-m", "phash",
                             "--timings"],
            "report": ["report", str(folder), "-m", "phash", "-o", str(tmp_path / "r.html"), "-v"]}
    for what, args in runs.items():
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, (what, res.output)
        line = next(x for x in res.stderr.splitlines() if x.startswith("time: "))
        stages = dict((name, float(s)) for name, s in re.findall(r"(\w+) (\d+\.\d+) s", line.split("=", 1)[1]))
        assert ("scan" if what == "index update" else "report") in stages, (what, line)
        assert abs(sum(stages.values()) - float(line.split()[1])) < 0.05, (what, line)
        assert any(x.startswith("cpu and peak memory by stage: ") for x in res.stderr.splitlines()), what
        plain = CliRunner().invoke(main, [a for a in args if a not in ("--timings", "-v")])
        assert not any(x.startswith("time: ") for x in plain.stderr.splitlines()), what


def test_timings_end_with_the_whole_commands_cpu_seconds(tmp_path: Path, datasets: Path) -> None:
    """The README gives CPU seconds "end to end" measured with ``find DIR -m similar --no-cache -v``, but ``-v`` said
    only each stage's, leaving out Python's start and 'other': a reader had to add them up and still missed some.
    Now a last line says the whole command's, as ``time`` would (user + sys, with the worker processes waited for)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:3]:
        shutil.copy(p, folder / p.name)
    res = CliRunner().invoke(main, ["find", str(folder), "-m", "phash", "--no-cache", "-v"])
    assert res.exit_code == 0, res.output
    lines = res.stderr.splitlines()
    stages = next(x for x in lines if x.startswith("cpu and peak memory by stage: "))
    staged = sum(float(s) for s in re.findall(r"\w+ (\d+\.\d+) s \d+ MB", stages))
    whole = re.fullmatch(r"cpu in all: (\d+\.\d+) s \(user \+ sys since the command started, with the worker "
                         r"processes it waited for\), peak memory (\d+) MB", lines[-1])
    assert whole, lines
    assert float(whole.group(1)) >= staged - 0.01 and int(whole.group(2)) > 0, (whole.group(0), staged)


def test_an_outer_stage_is_said_before_the_stages_inside_it() -> None:
    """`--timings` of `copies` said `verify` before `search`, the stage verification runs inside (stages were met
    when they ENDED, the inner one first)."""
    from imagetwins.timing import Timings

    with Timings() as t:
        with t.stage("scan"):
            pass
        with t.stage("search"):
            with t.stage("verify"):
                pass
        with t.stage("keep"):
            pass
    assert list(t.split())[:4] == ["scan", "search", "verify", "keep"]
