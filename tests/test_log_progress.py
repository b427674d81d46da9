"""Progress where nobody watches a terminal (nohup, cron, a CI log): an hour-long run used to print nothing at all
(no bar is drawn into a log). Now each stage writes a plain line on stderr now and then -- at most one a minute,
sooner for each further tenth done, none in its first minute -- never on stdout, none with -q."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins import progress


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> _Clock:
    c = _Clock()
    monkeypatch.setattr(progress.time, "monotonic", c)
    return c


@pytest.mark.unit
def test_a_log_gets_a_line_a_minute_or_each_tenth_never_in_the_first_minute(clock, capsys) -> None:
    bar = progress.LogProgress(total=100_000, unit="img", desc="encoding")
    for _ in range(50):  # 5 % in the first 50 s: nothing yet
        clock.now += 1
        bar.update(100)
    assert capsys.readouterr().err == ""
    clock.now += 10  # a minute gone: the first line
    bar.update(7_000)
    assert capsys.readouterr().err == "encoding: 12,000/100,000 img (12 %), 1 min, about 7 min left\n"
    clock.now += 5  # the next tenth, but within 10 s of the last line: waits
    bar.update(10_000)
    clock.now += 10
    bar.update(1)  # (22,001: the further tenth, 10 s after)
    clock.now += 30  # no further tenth, and under a minute since the last line
    bar.update(1)
    assert capsys.readouterr().err == "encoding: 22,001/100,000 img (22 %), 1 min, about 4 min left\n"
    clock.now += 60  # a minute since the last line, no further tenth
    bar.update(1)
    assert capsys.readouterr().err.startswith("encoding: 22,003/100,000 img (22 %), 3 min")
    clock.now += 3600
    bar.update(100_000 - 22_003)
    assert "(100 %), 1 h 03 min\n" in capsys.readouterr().err
    bar.close()  # (its last count said already)
    assert capsys.readouterr() == ("", "")


@pytest.mark.unit
def test_a_short_stage_says_nothing_and_a_long_one_says_where_it_ended(clock, capsys) -> None:
    short = progress.LogProgress(total=10, unit="img", desc="encoding")
    for _ in range(10):
        clock.now += 1
        short.update()
    short.close()
    assert capsys.readouterr() == ("", "")
    long = progress.LogProgress(total=None, unit="pair", desc="verifying")
    clock.now += 61
    long.update(5)
    long.total = 40  # (a verification's total grows with each round)
    clock.now += 5
    long.update(3)
    long.close()
    assert capsys.readouterr().err.splitlines() == ["verifying: 5 pair, 1 min",
                                                     "verifying: 8/40 pair (20 %), 1 min, about 4 min left"]


@pytest.mark.unit
def test_the_bar_is_a_log_where_stderr_is_no_terminal(monkeypatch) -> None:
    monkeypatch.delitem(__import__("sys").modules, "ipykernel", raising=False)
    assert isinstance(progress.progress_bar(total=3, unit="img", desc="x"), progress.LogProgress)


@pytest.mark.cli
def test_find_in_a_log_writes_progress_lines_on_stderr_only_and_none_with_q(tmp_path: Path, datasets: Path,
                                                                            monkeypatch) -> None:
    from imagetwins.cli import main

    folder = tmp_path / "photos"
    folder.mkdir()
    for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:12]:
        shutil.copyfile(p, folder / p.name)
    shutil.copyfile(folder / sorted(q.name for q in folder.iterdir())[0], folder / "copy.jpg")
    monkeypatch.setattr(progress, "LOG_FIRST", 0.0)  # (a stage of seconds here; of an hour under cron)
    monkeypatch.setattr(progress, "LOG_GAP", 0.0)
    res = CliRunner().invoke(main, ["find", str(folder), "-m", "phash", "--no-cache", "--json", "-"])
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.stdout)["groups"]) == 1  # stdout: the document alone
    lines = [x for x in res.stderr.splitlines() if x.startswith("encoding: ")]
    # (before: nothing, as nobody watched a terminal)
    assert lines and lines[-1].startswith("encoding: 13/13 img (100 %), "), res.stderr
    assert "\r" not in res.stderr
    quiet = CliRunner().invoke(main, ["find", str(folder), "-m", "phash", "--no-cache", "-q", "--json", "-"])
    assert quiet.exit_code == 0 and "encoding" not in quiet.stderr, quiet.stderr
    res = CliRunner().invoke(main, ["index", "update", str(folder), "-m", "phash", "--db", str(tmp_path / "i.db")])
    assert res.exit_code == 0 and any(x.startswith("indexing: 13/13 img (100 %)") for x in res.stderr.splitlines())
    # a find through an index (--db, or its per-folder cache) encodes as a find without one does: it said "indexing"
    for where in (["--db", str(tmp_path / "f.db")], []):
        res = CliRunner().invoke(main, ["find", str(folder), "-m", "phash", *where, "--json", str(tmp_path / "o")])
        said = [x for x in res.stderr.splitlines() if x.startswith(("encoding: ", "indexing: "))]
        assert res.exit_code == 0 and said and said[-1].startswith("encoding: 13/13 img (100 %)"), res.stderr


@pytest.mark.cli
def test_remove_and_undo_in_a_log_write_plain_progress_lines(tmp_path: Path, monkeypatch) -> None:
    """The moves' and restores' bars (quarantine._bar) went to tqdm wherever progress was asked: in a log, its
    carriage-return redraws, or nothing before the end."""
    from conftest import byte_copies_album

    from imagetwins.cli import main

    album = byte_copies_album(tmp_path)
    monkeypatch.setattr(progress, "LOG_FIRST", 0.0)
    monkeypatch.setattr(progress, "LOG_GAP", 0.0)
    moved = CliRunner().invoke(main, ["remove", str(album), "-m", "phash", "--apply", "--no-cache"])
    assert moved.exit_code == 0, moved.output
    assert "moving: 4/4 file (100 %)" in moved.stderr and "\r" not in moved.stderr, moved.stderr
    run = next((tmp_path / "album.imagetwins-quarantine").iterdir())
    back = CliRunner().invoke(main, ["undo", str(run)])
    assert back.exit_code == 0 and "restoring: 4/4 file (100 %)" in back.stderr, back.stderr
