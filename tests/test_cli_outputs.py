"""The outputs layer through the command line: one writer per format, the same on every command that writes
groups (find, report, remove dry runs) or matches (check, find --against, index query); NDJSON on real images."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from imagetwins import outputs
from imagetwins.cli import main

pytestmark = pytest.mark.cli

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def album(tmp_path: Path) -> Path:
    """The example photos: two groups (beach x3, city x3) and three singles."""
    folder = tmp_path / "album"
    shutil.copytree(EXAMPLES, folder)
    return folder


@pytest.fixture
def split(tmp_path: Path, datasets: Path) -> tuple[Path, Path]:
    """A reference of 8 real photos and a test set holding a resized copy of one of them and a new photo."""
    photos = sorted((datasets / "ukbench-600" / "images").glob("*.jpg"))
    train, test = tmp_path / "train", tmp_path / "test"
    train.mkdir()
    test.mkdir()
    for p in photos[:8]:
        shutil.copy(p, train / p.name)
    from PIL import Image

    with Image.open(photos[3]) as im:
        im.resize((im.width // 2, im.height // 2)).save(test / "leak.jpg", quality=85)
    shutil.copy(photos[200], test / "new.jpg")
    return train, test


def ndjson(text: str) -> list[dict]:
    lines = text.splitlines()
    assert lines and all(line.startswith("{") for line in lines), text
    return [json.loads(line) for line in lines]


def test_ndjson_groups_are_the_json_plans_groups(album: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    res = run("find", album, "-m", "phash", "--no-cache", "--json", plan, "--ndjson", "-")
    assert res.exit_code == 0, res.output
    lines = ndjson(res.stdout)  # stdout holds the data alone: no group lines, no summary
    groups = json.loads(plan.read_text())["groups"]
    assert [line["group"] for line in lines] == [1, 2]
    assert [{k: v for k, v in line.items() if k not in ("group", "method", "score_kind")} for line in lines] == groups
    assert {Path(line["keep"]).name for line in lines} == {"beach.jpg", "city.jpg"}
    assert all(line["method"] == "phash" and line["score_kind"] == "distance" for line in lines)
    # to a file as well, with the same lines
    out = tmp_path / "groups.ndjson"
    res = run("find", album, "-m", "phash", "--no-cache", "--ndjson", out, "-q")
    assert res.exit_code == 0 and res.stdout == ""
    assert ndjson(out.read_text()) == lines


def test_ndjson_matches_one_line_per_leaking_image(split: tuple[Path, Path], tmp_path: Path) -> None:
    train, test = split
    res = run("check", test, "-m", "phash", "--against", train, "--ndjson", "-")
    assert res.exit_code == 3, res.output
    (line,) = ndjson(res.stdout)
    assert Path(line["query"]).name == "leak.jpg" and line["score_kind"] == "distance"
    assert [Path(m["path"]).name for m in line["matches"]][:1] == [sorted(p.name for p in train.iterdir())[3]]
    # the alias writes the same, and exits 0 without --fail-on-duplicates
    alias = run("find", test, "-m", "phash", "--against", train, "--ndjson", "-")
    assert alias.exit_code == 0 and ndjson(alias.stdout) == [line]
    # and the index answers the same question in the same shape
    db = tmp_path / "train.db"
    assert run("index", "update", train, "-m", "phash", "--db", db).exit_code == 0
    indexed = run("index", "query", test, "-m", "phash", "--db", db, "--ndjson", "-")
    assert indexed.exit_code == 0 and ndjson(indexed.stdout) == [line]


def test_matches_have_one_shape_in_every_command(split: tuple[Path, Path], tmp_path: Path) -> None:
    train, test = split
    db = tmp_path / "train.db"
    assert run("index", "update", train, "-m", "phash", "--db", db).exit_code == 0
    docs, closing = {}, {}
    for name, args in {"check": ("check", test, "--against", train), "find": ("find", test, "--against", train),
                       "check-db": ("check", test, "--against", db), "index": ("index", "query", test, "--db", db)
                       }.items():
        out_json, out_csv = tmp_path / f"{name}.json", tmp_path / f"{name}.csv"
        res = run(*args, "-m", "phash", "--json", out_json, "--csv", out_csv)
        assert res.exit_code in (0, 3), res.output
        doc = json.loads(out_json.read_text())
        docs[name] = ([(Path(m["query"]).name, [Path(x["path"]).name for x in m["matches"]]) for m in doc["matches"]],
                      list(csv.reader(io.StringIO(out_csv.read_text()))))
        # the text on the terminal comes from one writer too: the image, then '  = match  (N bits)'
        assert "leak.jpg" in res.stdout and "  = " in res.stdout and " bits)" in res.stdout, res.stdout
        # and the line closing it is one helper's, on stdout (index query said "1 match: ..." on stderr)
        closing[name] = res.stdout.splitlines()[-1].replace(str(db), "REF").replace(str(train), "REF")
    assert set(closing.values()) == {f"1 match: 1 of 2 images in {test} has a duplicate among the 8 images of REF "
                                     "(phash, threshold 10); 0 unreadable"}, closing
    assert len({repr(v[0]) for v in docs.values()}) == 1 and docs["check"][0][0][0] == "leak.jpg"
    headers = {v[1][0][0:3] == ["query", "match", "distance"] for v in docs.values()}
    assert headers == {True}
    assert {len(v[1]) for v in docs.values()} == {len(docs["check"][0][0][1]) + 1}


def test_remove_dry_run_writes_the_plan_it_would_apply(album: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    rows = tmp_path / "rows.csv"
    res = run("remove", album, "-m", "phash", "--json", plan, "--csv", rows)
    assert res.exit_code == 0, res.output
    assert "dry run: 4 files would move" in res.stdout and sorted(p.name for p in album.iterdir()) == sorted(
        p.name for p in EXAMPLES.iterdir())
    doc = json.loads(plan.read_text())
    assert {Path(g["keep"]).name for g in doc["groups"]} == {"beach.jpg", "city.jpg"}
    kept = [r for r in csv.DictReader(io.StringIO(rows.read_text())) if r["keep"] == "1"]
    assert {Path(r["path"]).name for r in kept} == {"beach.jpg", "city.jpg"}
    # the plan is what remove --plan applies: the same four files move, and undo brings them back
    res = run("remove", album, "--plan", plan, "--apply", "--move-to", tmp_path / "q")
    assert res.exit_code == 0 and "moved 4 files" in res.stdout, res.output
    assert sorted(p.name for p in album.iterdir()) == ["beach.jpg", "city.jpg", "forest.jpg", "forest_mirrored.jpg",
                                                      "market.jpg"]


def test_report_writes_the_page_and_other_outputs_from_one_scan(album: Path, tmp_path: Path) -> None:
    page, out = tmp_path / "r.html", tmp_path / "groups.ndjson"
    res = run("report", album, "-m", "phash", "--no-cache", "-o", page, "--ndjson", out)
    assert res.exit_code == 0, res.output
    assert page.read_text().startswith("<!") and len(ndjson(out.read_text())) == 2
    assert "2 duplicate groups holding 6 files" in res.stdout


def test_index_stats_tune_explain_json_go_through_the_json_writer(album: Path, tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    assert run("index", "update", album, "--db", db).exit_code == 0
    res = run("index", "stats", "--db", db, "--json", "-")
    assert res.exit_code == 0 and json.loads(res.stdout)["files"] == 9
    res = run("explain", album / "beach.jpg", album / "beach_small.jpg", "-m", "phash", "--json", "-")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)  # stdout holds the JSON alone
    assert [s["method"] for s in doc["scores"]] == ["phash"] and doc["scores"][0]["duplicate"] is True
    assert doc["verification"] is None and doc["why_not_copies"] == []  # a hash verifies nothing


def test_explain_shows_a_verification_only_for_a_method_that_verifies(album: Path, tmp_path: Path) -> None:
    a, b = album / "beach.jpg", album / "beach_small.jpg"
    res = run("explain", a, b, "-m", "phash")
    assert res.exit_code == 0 and "phash" in res.stdout and "verification" not in res.stdout, res.output
    res = run("explain", a, b, "-m", "phash", "-p", tmp_path / "why.png")
    assert res.exit_code == 2 and "--picture" in res.output and "-m copies" in res.output
    assert not (tmp_path / "why.png").exists()
    res = run("explain", a, b, "-m", "phash", "-m", "copies", "-p", tmp_path / "why.png", "--json", tmp_path / "w.json")
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "w.json").read_text())
    assert [s["method"] for s in doc["scores"]] == ["phash", "copies"] and doc["verification"]["confidence"] > 0.9
    assert (tmp_path / "why.png").stat().st_size > 1000


def test_every_format_is_offered_by_every_command_that_writes_what_it_holds() -> None:
    """A format registered in imagetwins.outputs is an option of each command writing groups or matches."""
    commands = {name: main.get_command(None, name) for name in ("find", "report", "remove", "check")}
    commands["index query"] = main.get_command(None, "index").commands["query"]
    kinds = {"find": ("groups", "matches"), "report": ("groups",), "remove": ("groups",), "check": ("matches",),
             "index query": ("matches",)}
    for name, cmd in commands.items():
        options = {o for p in cmd.params if isinstance(p, click.Option) for o in p.opts}
        for fmt in outputs.FORMATS.values():
            if fmt.option and any(getattr(fmt, k) for k in kinds[name]) and not (name == "report" and
                                                                                  fmt.name == "html"):
                assert fmt.option in options, f"{name} lacks {fmt.option}"
    # one declaration each: --json means a file (or '-') on every command that has it
    def walk(group):  # through list_commands/get_command: the commands are loaded when asked for
        for name in group.list_commands(None):
            cmd = group.get_command(None, name)
            yield cmd
            yield from walk(cmd) if isinstance(cmd, click.Group) else ()

    with_json = [c for c in walk(main) if any("--json" in getattr(p, "opts", ()) for p in c.params)]
    assert {"find", "check", "report", "remove", "query", "tune", "explain"} <= {c.name for c in with_json}
    for cmd in with_json:
        (opt,) = [p for p in cmd.params if "--json" in getattr(p, "opts", ())]
        assert not opt.is_flag and opt.type.allow_dash and opt.name == "json_out", cmd.name


def test_outputs_cannot_share_stdout_and_index_query_json_needs_a_file(album: Path, tmp_path: Path) -> None:
    res = run("find", album, "--json", "-", "--ndjson", "-")
    assert res.exit_code == 2 and "--json and --ndjson cannot both go to stdout" in res.output
    db = tmp_path / "x.db"
    assert run("index", "update", album, "--db", db).exit_code == 0
    res = run("index", "query", album / "city.jpg", "--db", db, "--json")
    assert res.exit_code == 2 and "requires an argument" in res.output


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a full disk)")
@pytest.mark.parametrize("fmt", ["--json", "--csv", "--ndjson"])
def test_a_full_disk_is_one_line(album: Path, fmt: str) -> None:
    res = run("find", album, "--no-cache", fmt, "/dev/full")
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    assert res.output.strip().splitlines()[-1] == "Error: cannot write /dev/full: No space left on device"


def test_an_output_never_replaces_the_index_it_reads_nor_a_quarantines_journal(tmp_path: Path) -> None:
    """``find DIR --against ref.db --json ref.db`` (a name completed one file too far) replaced the index, built for
    minutes and holding the remembered decisions, with the JSON; ``--csv`` over a ``--db`` index, ``explain -p``
    (a picture) over one, ``decisions export`` over the store alike; ``--json Q/manifest.jsonl`` left the
    quarantined files with no journal to undo them by. Each is a usage error now, before any work; the library's
    outputs refuse the same (``ReplacesStore``)."""
    from conftest import synthetic_photo

    from imagetwins.results import FindResult

    photos = tmp_path / "photos"
    photos.mkdir()
    synthetic_photo(96, 72, seed=1).save(photos / "a.png")
    synthetic_photo(96, 72, seed=1).save(photos / "b.png", optimize=True)
    db = tmp_path / "ref.db"
    assert run("index", "update", photos, "-m", "phash", "--db", db).exit_code == 0
    index = db.read_bytes()
    for args in (("find", photos, "--against", db, "-m", "phash", "--json", db),
                 ("check", photos, "--against", db, "-m", "phash", "--csv", db),
                 ("find", photos, "-m", "phash", "--db", db, "--ndjson", db),
                 ("index", "query", photos, "--db", db, "--json", db),
                 ("explain", photos / "a.png", photos / "b.png", "-p", db),
                 ("decisions", "export", db, "--db", db)):
        res = run(*args)
        assert res.exit_code == 2 and "SQLite database" in res.output and "Traceback" not in res.output, res.output
        assert db.read_bytes() == index, args
    quarantine = tmp_path / "q"
    res = run("remove", photos, "-m", "phash", "--no-cache", "--apply", "--move-to", quarantine)
    assert res.exit_code == 0, res.output
    journal = (quarantine / "manifest.jsonl").read_bytes()
    for name in ("manifest.jsonl", "manifest.key", "manifest.json"):
        res = run("find", photos, "-m", "phash", "--no-cache", "--json", quarantine / name)
        assert res.exit_code == 2 and "a quarantine's own file" in res.output, res.output
    assert (quarantine / "manifest.jsonl").read_bytes() == journal
    from imagetwins.writing import ReplacesStore

    empty = FindResult("phash", 10, [], np.zeros(0, np.uint64), None, [])
    with pytest.raises(ReplacesStore):
        outputs.write("json", outputs.Groups(empty, [], photos), db)
    assert db.read_bytes() == index
    assert run("undo", quarantine).exit_code == 0
    assert sorted(p.name for p in photos.iterdir()) == ["a.png", "b.png"]
