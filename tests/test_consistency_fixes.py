"""Small consistency defects found on main: progress text, output fields, options, refusals."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins import copies
from imagetwins.cli import main


@pytest.mark.unit
def test_the_verification_bar_never_reads_zero_pair(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    from imagetwins import progress

    monkeypatch.setattr(progress, "watched", lambda: True)  # (the bar on a terminal; in a log: plain lines)
    bar = copies.VerifyProgress(True)
    bar.add(5)
    bar.update(2)
    bar.add(3)  # a second round of re-proposals: a bar of its own (the 3 pairs left of the first counted in it)
    bar.close()
    drawn = capsys.readouterr().err
    assert "verifying" in drawn and "/5" in drawn and "verifying (round 2)" in drawn and "/6" in drawn
    # (without a total tqdm draws "verifying: 0pair [00:00, ?pair/s]")
    assert not re.search(r"verifying: \d+pair", drawn) and not re.search(r"\d/0 ", drawn), drawn


EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"


def _reference_and_test(tmp_path: Path) -> tuple[Path, Path]:
    """The example photos as the reference, and a test folder holding one of them (beach_small.jpg's picture)."""
    ref, test = tmp_path / "ref", tmp_path / "test"
    shutil.copytree(EXAMPLES, ref)
    test.mkdir()
    shutil.copy(EXAMPLES / "beach_small.jpg", test / "upload.jpg")
    return ref, test


@pytest.mark.cli
@pytest.mark.parametrize("method, verdict", [("copies", "copy"), ("phash", None)])
def test_find_against_gives_a_match_the_same_fields_in_json_csv_and_ndjson(tmp_path: Path, method: str,
                                                                           verdict: str | None) -> None:
    ref, test = _reference_and_test(tmp_path)
    out = {f: tmp_path / f"m.{f}" for f in ("json", "csv", "ndjson")}
    res = CliRunner().invoke(main, ["find", str(test), "--against", str(ref), "-m", method, "--no-cache", "-q",
                                    *(a for f, p in out.items() for a in (f"--{f}", str(p)))])
    assert res.exit_code in (0, 3), res.output
    from_json = [m for q in json.loads(out["json"].read_text())["matches"] for m in q["matches"]]
    from_ndjson = [m for line in out["ndjson"].read_text().splitlines() for m in json.loads(line)["matches"]]
    from_csv = list(csv.DictReader(io.StringIO(out["csv"].read_text())))
    assert from_json and from_json == from_ndjson and len(from_csv) == len(from_json)
    fields = [k for k in from_json[0] if k != "path"]
    assert list(from_csv[0])[2:] == fields  # query, match, then the very fields of a JSON match
    assert ("verdict" in fields) == (verdict is not None)
    assert all(m.get("verdict") == verdict for m in from_json)
    assert all(r.get("verdict") == verdict for r in from_csv)


@pytest.mark.cli
def test_index_query_honours_quiet_and_timings_as_check_does(tmp_path: Path) -> None:
    ref, test = _reference_and_test(tmp_path)
    db = tmp_path / "ref.db"
    (test / "notes.jpg").write_bytes(b"not a picture")  # one unreadable file: a warning, and the query incomplete
    runner = CliRunner()
    assert runner.invoke(main, ["index", "update", str(ref), "-m", "phash", "--db", str(db), "-q"]).exit_code == 0
    loud = runner.invoke(main, ["index", "query", str(test), "--db", str(db)])
    assert loud.exit_code == 1 and "upload.jpg" in loud.stdout and "warning: skipped" in loud.stderr, loud.output
    quiet = runner.invoke(main, ["index", "query", str(test), "--db", str(db), "-q"])
    # nothing but the error: the exit code still tells
    assert quiet.exit_code == 1 and quiet.stdout == "", quiet.output
    assert [line.split(":")[0] for line in quiet.stderr.splitlines()] == ["error"], quiet.stderr
    (test / "notes.jpg").unlink()
    timed = runner.invoke(main, ["index", "query", str(test), "--db", str(db), "-v"])
    assert timed.exit_code == 0 and "upload.jpg" in timed.stdout, timed.output
    assert any(line.startswith("time: ") for line in timed.stderr.splitlines()), timed.stderr
    assert not any(line.startswith("time: ") for line in loud.stderr.splitlines()), loud.stderr


@pytest.mark.cli
def test_remove_similar_refuses_a_dry_run_saying_what_to_run_for_this_folder(tmp_path: Path) -> None:
    folder = tmp_path / "my photos"
    shutil.copytree(EXAMPLES, folder)
    res = CliRunner().invoke(main, ["remove", str(folder), "-m", "similar"])
    assert res.exit_code == 2 and "a dry run too" in res.output, res.output
    said = " ".join(res.output.split())
    named = shlex.quote(str(folder))  # the commands name this folder as a shell takes it, ready to run
    for command in (f"imagetwins report {named} -m similar", f"imagetwins find {named} -m similar --json plan.json",
                    f"imagetwins remove {named} --plan plan.json"):
        assert command in said, said
    assert not re.search(r"\bDIR\b", said) and " -r" not in said
    deep = CliRunner().invoke(main, ["remove", str(folder), "-m", "similar", "-r"])
    deep_said = " ".join(deep.output.split())
    # 19f1763: the commands named for a recursive remove carry -r themselves, ready to run as printed
    assert deep.exit_code == 2 and f"imagetwins report {named} -r -m similar" in deep_said, deep_said
    assert f"imagetwins find {named} -r -m similar --json plan.json" in deep_said, deep_said


@pytest.mark.cli
@pytest.mark.parametrize("method", ["copies", "phash"])
def test_text_marks_the_byte_copies_of_a_mixed_group_as_the_json_sha256_say(tmp_path: Path, method: str) -> None:
    folder = tmp_path / "album"
    shutil.copytree(EXAMPLES, folder)
    shutil.copy(folder / "beach_small.jpg", folder / "small again.jpg")
    plan = tmp_path / "plan.json"
    res = CliRunner().invoke(main, ["find", str(folder), "-m", method, "--no-cache", "--json", str(plan)])
    assert res.exit_code == 0, res.output
    group = next(g for g in json.loads(plan.read_text())["groups"] if g["keep"].endswith("beach.jpg"))
    digests = group["sha256"]
    shown = [line for line in res.stdout.splitlines() if line.startswith("  ")]
    for path in group["files"]:
        line = next(line for line in shown if line.endswith(path) or f"{path}  (" in line)
        name = Path(path).name
        if name == "beach_copy.jpg":  # (the example's byte copy of beach.jpg)
            assert line.endswith("(byte-identical to the keeper)"), line
        elif name == "small again.jpg":
            assert line.endswith(f"(byte-identical to {folder / 'beach_small.jpg'})"), line
        else:  # the keeper, and the first file of each other content: no mark
            assert "byte-identical" not in line, line
        first_of_its_bytes = group["files"].index(next(p for p in group["files"] if digests[p] == digests[path]))
        assert ("byte-identical" in line) == (path != group["keep"] and group["files"].index(path) > first_of_its_bytes
                                              or (path != group["keep"] and digests[path] == digests[group["keep"]]))
    assert "group 1: 4 files" in res.stdout and "byte-identical to" in res.stdout
