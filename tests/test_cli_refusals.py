"""Every command refuses, with a usage error (exit 2), an option it does not honour in that use: nothing is
silently dropped, and nothing is written or scanned before the refusal."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main

pytestmark = pytest.mark.cli

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    query, ref = tmp_path / "q", tmp_path / "ref"
    query.mkdir()
    shutil.copy(EXAMPLES / "beach_small.jpg", query / "beach_small.jpg")
    ref.mkdir()
    for name in ("beach.jpg", "city.jpg", "forest.jpg"):
        shutil.copy(EXAMPLES / name, ref / name)
    return query, ref


def refused(res, *words: str) -> None:
    assert res.exit_code == 2, res.output
    last = res.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and "Traceback" not in res.output, res.output
    for w in words:
        assert w in last, last


def test_the_issues_command_is_refused_and_writes_nothing(folders: tuple[Path, Path], tmp_path: Path) -> None:
    query, ref = folders
    page, db = tmp_path / "r.html", tmp_path / "x.db"
    res = run("find", query, "--against", ref, "--report", page, "--keep", "largest", "--pairs", "--db", db)
    refused(res)
    assert not page.exists() and not db.exists()


@pytest.mark.parametrize("args, words", [
    (["--report", "{tmp}/r.html"], ["--report", "not with --against"]),
    (["--keep", "largest"], ["--keep", "keeps nothing"]),
    (["--keep", "original"], ["--keep"]),  # given, even as the default: still refused
    (["--keep-in", "{ref}"], ["--keep-in"]),
    (["--raw-pairs", "one"], ["--raw-pairs"]),
    (["--json", "{tmp}/x.json", "--pairs"], ["--pairs", "with --against"]),
    (["--db", "{tmp}/x.db"], ["--db", "--against FILE.db"]),
    (["--scheduler", "tcp://localhost:1"], ["--scheduler", "this machine"]),
    (["--dask-workers", "2"], ["--dask-workers"]),
    (["--follow-symlinks"], ["--follow-symlinks"]),
    (["--ignore-exif-orientation"], ["--ignore-exif-orientation"]),
])
def test_find_against_refuses_what_it_does_not_honour(folders, tmp_path: Path, args: list[str],
                                                       words: list[str]) -> None:
    query, ref = folders
    args = [a.format(tmp=tmp_path, ref=ref) for a in args]
    refused(run("find", query, "--against", ref, *args), *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q", "ref"]  # nothing written


def test_find_against_honours_the_rest(folders, tmp_path: Path) -> None:
    """What --against accepts it does: outputs, -m/-t, -j, --no-cache, -q, --fail-on-duplicates."""
    query, ref = folders
    out = tmp_path / "m.csv"
    res = run("find", query, "--against", ref, "-m", "dhash", "-t", "12", "-j", "1", "--no-cache", "-q",
              "--csv", out, "--fail-on-duplicates")
    assert res.exit_code == 3 and res.stdout == "", res.output
    assert out.read_text().splitlines()[0] == "query,match,distance,exact" and "beach.jpg" in out.read_text()


@pytest.mark.parametrize("args, words", [
    (["--pairs"], ["--pairs", "give --json too"]),
    (["--dask-workers", "1", "--db", "{tmp}/x.db"], ["--db", "Dask"]),
    (["--dask-workers", "1", "-j", "2"], ["--workers", "Dask"]),
    (["--dask-workers", "1", "--follow-symlinks"], ["--follow-symlinks", "Dask"]),
    (["--dask-workers", "1", "--scheduler", "tcp://localhost:1"], ["--dask-workers", "--scheduler"]),
    (["--ndjson", "-", "--csv", "-"], ["--csv and --ndjson cannot both go to stdout"]),
])
def test_find_refuses_what_it_does_not_honour(folders, tmp_path: Path, args: list[str], words: list[str]) -> None:
    _, ref = folders
    refused(run("find", ref, *[a.format(tmp=tmp_path) for a in args]), *words)
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("args, words", [
    (["-m", "dhash"], ["--method", "--plan"]),
    (["-t", "4"], ["--threshold", "--plan"]),
    (["-r"], ["--recursive", "--plan"]),
    (["--keep", "newest"], ["--keep", "--plan"]),
    (["--keep-in", "{ref}"], ["--keep-in", "--plan"]),
    (["--json", "{tmp}/p2.json"], ["--json", "dry run", "--plan"]),
])
def test_remove_with_a_plan_refuses_scan_options(folders, tmp_path: Path, args: list[str], words: list[str]) -> None:
    _, ref = folders
    shutil.copy(EXAMPLES / "beach_copy.jpg", ref / "beach_copy.jpg")
    plan = tmp_path / "plan.json"
    assert run("find", ref, "--json", plan).exit_code == 0
    res = run("remove", ref, "--plan", plan, "--apply", *[a.format(tmp=tmp_path, ref=ref) for a in args])
    refused(res, *words)
    assert (ref / "beach_copy.jpg").exists() and not (tmp_path / "p2.json").exists()


def test_remove_apply_refuses_outputs(folders, tmp_path: Path) -> None:
    _, ref = folders
    shutil.copy(EXAMPLES / "beach_copy.jpg", ref / "beach_copy.jpg")
    refused(run("remove", ref, "--apply", "--ndjson", tmp_path / "x.ndjson"), "--ndjson", "dry run", "--apply")
    assert (ref / "beach_copy.jpg").exists() and not (tmp_path / "x.ndjson").exists()


def test_check_needs_a_reference_and_offers_no_groups_options(folders) -> None:
    query, ref = folders
    refused(run("check", query), "--against")
    for opt in (["--report", "r.html"], ["--keep", "largest"], ["--pairs"], ["--db", "x.db"]):
        refused(run("check", query, "--against", ref, *opt), "No such option")


def test_find_refuses_db_with_no_cache(folders, tmp_path: Path) -> None:
    _, ref = folders
    refused(run("find", ref, "--db", tmp_path / "x.db", "--no-cache"), "--db", "--no-cache")
    assert not (tmp_path / "x.db").exists()


def test_timings_are_honoured_by_the_check_too(folders) -> None:
    query, ref = folders
    for args in (["check", query, "--against", ref], ["find", query, "--against", ref, "--fail-on-duplicates"]):
        res = run(*args, "--timings", "--no-cache")
        assert res.exit_code == 3, res.output
        assert [x for x in res.stderr.splitlines() if x.startswith("time: ") and " s = " in x], res.stderr


def test_the_review_page_is_never_written_to_stdout(folders, tmp_path: Path) -> None:
    _, ref = folders
    refused(run("find", ref, "--report", "-"), "--report", "stdout")
    refused(run("report", ref, "-o", "-"), "--output", "stdout")
    assert not Path("-").exists()


@pytest.mark.parametrize("option", ["--json", "--csv", "--ndjson", "--report"])
def test_an_output_named_like_an_image_is_refused_and_the_photo_kept(folders, option: str) -> None:
    """`find lib --json lib/x.jpg` replaced a photo the scan had just read with JSON (found by an attack pass)."""
    query, _ = folders
    photo = query / "beach_small.jpg"
    before = photo.read_bytes()
    result = run("find", query, "-m", "phash", option, photo)
    assert result.exit_code == 2, result.output
    assert "image's name" in result.output and option in result.output
    assert photo.read_bytes() == before
