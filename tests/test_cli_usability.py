"""What a user expects from the command line: caches they can see and free, the same paths with and
without the cache, one-line warnings, plurals, help for every option. Real images."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from imagetwins.cli import main
from imagetwins.index import Index, default_cache_path

pytestmark = pytest.mark.cli

REPO = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path | None = None):
    if cwd is None:
        return CliRunner().invoke(main, [str(a) for a in args])
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, [str(a) for a in args])
    finally:
        os.chdir(old)


@pytest.fixture
def album(tmp_path: Path) -> Path:
    root = tmp_path / "album"
    shutil.copytree(REPO / "examples" / "images", root)
    return root


def tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def test_cache_list_and_clear(tmp_path: Path, album: Path) -> None:
    before = tree_digest(album)
    other = tmp_path / "other"
    shutil.copytree(album, other)
    for args in (["find", album, "-m", "phash"], ["find", album, "-m", "dhash"], ["find", other, "-m", "phash"]):
        assert run(*args).exit_code == 0
    res = run("cache", "list")
    assert res.exit_code == 0, res.output
    lines = [x for x in res.stdout.splitlines() if x]
    assert len(lines) == 2
    mine = next(x for x in lines if x.startswith(f"{album.resolve()}  "))
    assert "9 files" in mine and "dhash, phash" in mine and str(default_cache_path(album)) in mine
    assert "2 caches" in res.output
    res = run("cache", "clear", album)
    assert res.exit_code == 0 and "deleted 1 cache " in res.output
    assert not default_cache_path(album).exists() and default_cache_path(other).exists()
    assert "no cache for" in run("cache", "clear", album).output
    assert run("cache", "clear").exit_code == 2  # neither folders nor --all
    shutil.rmtree(other)
    assert "(gone)" in run("cache", "list").stdout
    res = run("cache", "clear", "--all")
    assert res.exit_code == 0 and "deleted 1 cache " in res.output
    assert "0 caches" in run("cache", "list").output
    assert tree_digest(album) == before  # the images are never touched


def test_paths_are_shown_the_same_with_and_without_the_cache(tmp_path: Path, album: Path) -> None:
    def listed(res) -> list[str]:
        assert res.exit_code == 0, res.output
        # (the path before a note: '  (byte-identical to the keeper)')
        return [x.split("  (")[0].split()[-1] for x in res.stdout.splitlines() if x.startswith("  ")]

    cwd = album.parent
    for name in ("album", "./album", str(album)):
        shown = [listed(run("find", name, "-m", "phash", *extra, cwd=cwd)) for extra in ([], [], ["--no-cache"])]
        assert shown[0] == shown[1] == shown[2] and len(shown[0]) == 6
        assert all(p.startswith(str(album) if name == str(album) else "album/") for p in shown[0])
    queries = tmp_path / "queries"
    queries.mkdir()
    shutil.copy(album / "beach.jpg", queries / "beach.jpg")
    for ref in ("album", "./album", str(album)):
        outs = [run("find", "queries", "--against", ref, "-m", "phash", *extra, "--json", "-", cwd=tmp_path)
                for extra in ([], [], ["--no-cache"])]
        refs = [sorted(m["path"] for q in json.loads(o.stdout)["matches"] for m in q["matches"]) for o in outs]
        assert refs[0] == refs[1] == refs[2] and len(refs[0]) == 3
        assert all(p.startswith(str(album) if ref == str(album) else "album/") for p in refs[0])


def test_counts_of_a_thousand_or_more_have_separators_in_every_line(tmp_path: Path, album: Path) -> None:
    """cli._common.plural and outputs.text._plural were text.counted without the thousands separator: the summary
    said '1000 images read ... holding 1000 files' where the API's reprs (counted) say '1,000 files'. One now."""
    many = tmp_path / "many"
    many.mkdir()
    for i in range(1000):  # byte copies: decoded once
        shutil.copy(album / "city.jpg", many / f"c{i:04d}.jpg")
    res = run("find", many, "-m", "phash", "--no-cache")
    assert res.exit_code == 0, res.output
    assert "group 1: 1,000 files" in res.output
    assert "1,000 images read, 0 unreadable, 1 duplicate group holding 1,000 files" in res.output
    res = run("index", "update", many, "-m", "phash", "--db", tmp_path / "many.db")
    assert res.exit_code == 0 and "1,000 added, 0 changed" in res.output, res.output


def test_plurals(tmp_path: Path, album: Path) -> None:
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(album / "city.jpg", one / "city.jpg")
    shutil.copy(album / "city.jpg", one / "city_copy.jpg")
    res = run("find", one)
    assert "group 1: 2 files" in res.output
    assert "2 images read, 0 unreadable, 1 duplicate group holding 2 files" in res.output
    single = tmp_path / "single"
    single.mkdir()
    shutil.copy(album / "city.jpg", single / "city.jpg")
    assert "1 image read, 0 unreadable, 0 duplicate groups holding 0 files" in run("find", single).output
    res = run("find", single, "--against", one)
    assert "1 of 1 image in" in res.output and " has a duplicate among the 2 images of " in res.output
    db = tmp_path / "one.db"
    assert run("index", "update", one, "--db", db).exit_code == 0
    res = run("index", "query", album / "forest.jpg", "--db", db)
    assert res.exit_code == 0 and "0 matches" in res.output
    # (as check closes; "2 matches" alone said neither of how many query images nor against how many indexed ones)
    assert f"0 matches: {album / 'forest.jpg'} has no duplicate among the 2 images of {db} (copies, " in res.stdout
    res = run("index", "query", single, "--db", db)
    assert "2 matches" in res.output
    assert f"2 matches: 1 of 1 image in {single} has a duplicate among the 2 images of {db} (copies, threshold " \
        "0.92); 0 unreadable" in res.stdout, res.stdout
    only = tmp_path / "only"
    only.mkdir()
    shutil.copy(album / "city.jpg", only / "city.jpg")
    db2 = tmp_path / "only.db"
    run("index", "update", only, "--db", db2)
    assert "1 match:" in run("index", "query", single, "--db", db2).output


def test_every_option_and_command_has_help() -> None:
    def walk(cmd: click.Command, path: list[str]):
        yield path, cmd
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from walk(sub, [*path, name])

    seen = 0
    for path, cmd in walk(main, ["imagetwins"]):
        assert (cmd.help or "").strip(), f"{' '.join(path)} has no help"
        for p in cmd.params:
            if isinstance(p, click.Option):
                seen += 1
                assert (p.help or "").strip(), f"{' '.join(path)} {p.opts[0]} has no help"
        res = CliRunner().invoke(main, [*path[1:], "--help"])
        assert res.exit_code == 0 and "Traceback" not in res.output
    assert seen > 50


def test_warnings_are_one_line_with_file_and_reason(tmp_path: Path, datasets: Path) -> None:
    """A folder of broken files (one with corrupt EXIF that still decodes): every stderr line is ours."""
    sys.path.insert(0, str(REPO / "tests"))
    try:
        from badinput.corpus import build
    finally:
        sys.path.pop(0)
    folder = tmp_path / "bad"
    folder.mkdir()
    build(folder, sorted((datasets / "photos-public" / "images").glob("*.jpg"))[0])
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "imagetwins", "find", str(folder), "-r", "--no-cache"],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) >= 10
    for line in lines:  # (the symbolic links among them: one line for all, not one each)
        if line.startswith("note: ") and "symbolic link" in line:
            continue
        assert line.startswith("warning: skipped ") and str(folder) in line and ": " in line[17:], line
    assert "UserWarning" not in proc.stderr and "warnings.warn" not in proc.stderr


def test_index_query_with_an_unreadable_image_warns_in_one_line(tmp_path: Path, album: Path) -> None:
    db = tmp_path / "a.db"
    run("index", "update", album, "--db", db)
    bad = tmp_path / "q"
    bad.mkdir()
    (bad / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    shutil.copy(album / "beach.jpg", bad / "beach.jpg")
    res = run("index", "query", bad, "--db", db)
    assert res.exit_code == 1  # (incomplete, as check: one image was not compared)
    assert f"error: 1 image of {bad} could not be read, so not checked" in res.output
    warned = [x for x in res.output.splitlines() if x.startswith("warning:")]
    assert warned == [f"warning: skipped {bad / 'broken.jpg'}: truncated or incomplete image data"]
    with Index(db, readonly=True) as idx:
        assert idx.stats()["files"] == 9


def test_against_reports_unreadable_reference_images(tmp_path: Path, datasets: Path) -> None:
    """A training image that cannot be read is a leak that cannot be ruled out: it is named, in every mode."""
    train = tmp_path / "train"
    shutil.copytree(datasets / "imagededup-testdata" / "mixed_images", train)
    test = tmp_path / "test"
    test.mkdir()
    shutil.copy(train / "ukbench00120_resize.jpg", test / "leak.jpg")
    db = tmp_path / "train.db"
    assert run("index", "update", train, "--db", db).exit_code == 0
    corrupt = str(train / "ukbench09268_corrupt.jpg")
    for ref, extra in ((train, []), (train, []), (train, ["--no-cache"]), (db, [])):
        res = run("find", test, "--against", ref, *extra, "--json", "-")
        assert res.exit_code == 0, res.output
        data = json.loads(res.stdout)
        assert [u["path"] for u in data["reference_unreadable"]] == [corrupt]
        assert data["with_duplicates"] == 1
        res = run("find", test, "--against", ref, *extra)
        assert f"warning: reference image not compared, {corrupt}: not an image" in res.output
        assert f"1 unreadable in {ref}" in res.output


def test_against_a_folder_without_a_usable_cache_dir_goes_on(tmp_path: Path, album: Path, monkeypatch) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    test = tmp_path / "test"
    test.mkdir()
    shutil.copy(album / "beach.jpg", test / "beach.jpg")
    res = run("find", test, "--against", album, "--fail-on-duplicates")
    assert res.exit_code == 3, res.output
    assert "warning: no cache this time" in res.output and "1 of 1 image" in res.output


def test_report_summary_counts_the_groups_the_page_shows(tmp_path: Path, datasets: Path) -> None:
    # four views of one object: with phash at 10 bits they chain (48-49-50, 51 matching 50 only), and a group is a
    # star around its keeper, so one file leaves the group. The summary line counted the chain (4 files) while
    # the page, --json and find showed 3; it counts what the page shows, with or without another output
    album = tmp_path / "album"
    album.mkdir()
    for n in (48, 49, 50, 51):
        shutil.copy2(datasets / "ukbench-600" / "images" / f"ukbench000{n}.jpg", album)
    res = run("find", album, "-m", "phash", "--json", tmp_path / "plan.json", "-q")
    assert res.exit_code == 0, res.output
    groups = json.loads((tmp_path / "plan.json").read_text())["groups"]
    shown = sum(len(g["files"]) for g in groups)
    assert (len(groups), shown) == (1, 3)
    page = tmp_path / "review.html"
    for more in ([], ["--json", tmp_path / "report.json"]):
        res = run("report", album, "-m", "phash", "-o", page, *more)
        assert res.exit_code == 0, res.output
        assert f"1 duplicate group holding {shown} files (" in res.output and f"review page: {page}" in res.output
    assert run("find", album, "-m", "phash").output.count("holding 3 files") == 1


def test_undo_says_what_is_left_and_a_second_undo_says_it_was_undone(tmp_path: Path, album: Path) -> None:
    # after 'undo' the quarantine folder stays (its journal, the folders it made) and nothing said whether it
    # could go; a second undo of it said "restored 0 files", as if the files were lost
    before = tree_digest(album)
    res = run("remove", album, "-m", "phash", "--apply")
    assert res.exit_code == 0 and "moved 4 files to " in res.output, res.output
    quarantine = Path(res.output.split(" to ", 1)[1].split(";", 1)[0])
    res = run("undo", quarantine)
    assert res.exit_code == 0, res.output
    assert res.output.strip() == (f"restored 4 files; {quarantine} now holds only the journal of that run: "
                                  f"delete it when you like")
    assert tree_digest(album) == before
    assert not [p for p in quarantine.rglob("*") if p.is_file() and p.suffix.lower() in (".jpg", ".png")]
    res = run("undo", quarantine)
    assert res.exit_code == 0, res.output
    assert res.output.strip() == f"nothing to restore: every file moved into {quarantine} is back already"
    assert tree_digest(album) == before


def test_remove_dry_run_says_how_many_groups_were_decided_earlier(tmp_path: Path, album: Path) -> None:
    # a group skipped in the review page is no longer listed by 'remove -r' (its files stay): find said "N groups
    # decided earlier" but remove said nothing, so the group seemed lost
    plan = tmp_path / "plan.json"
    assert run("find", album, "-m", "phash", "--json", plan, "-q").exit_code == 0
    doc = json.loads(plan.read_text())
    assert len(doc["groups"]) == 2
    city = next(g for g in doc["groups"] if any(Path(f).name == "city.jpg" for f in g["files"]))
    city["skip"] = True  # (no byte copy in it: a decision is about two contents, see imagetwins.decisions)
    skipped = city["files"]
    plan.write_text(json.dumps(doc))
    res = run("decisions", "import", plan)  # (what 'remove --plan --apply' remembers: the group a person skipped)
    assert res.exit_code == 0, res.output
    res = run("remove", album, "-m", "phash")
    assert res.exit_code == 0, res.output
    assert not any(Path(f).name in line for f in skipped for line in res.stdout.splitlines()
                   if line.startswith("would move"))
    assert ("1 group decided earlier: left alone (see 'imagetwins decisions list')"
            in res.stdout), res.output
    res = run("remove", album, "-m", "phash", "--ignore-decisions")
    assert "decided earlier" not in res.output


def test_tune_on_a_photo_library_warns_that_sub_folders_are_read_as_sets(tmp_path: Path) -> None:
    # a user ran tune on ~/Pictures: its year folders became "sets of duplicates" (7,097 pairs) without a word
    import numpy as np
    from PIL import Image

    year = tmp_path / "2019"
    year.mkdir()
    rng = np.random.default_rng(0)
    for i in range(22):
        Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(year / f"{i}.png")
    res = CliRunner().invoke(main, ["tune", str(tmp_path), "-q"])
    assert res.exit_code == 0, res.output
    assert "holds 22 files that tune counts as copies of each other" in res.output
    (year / "0.png").rename(tmp_path / "0.png")
    for p in sorted(year.iterdir())[:2]:
        p.unlink()
    assert "counts as copies" not in CliRunner().invoke(main, ["tune", str(tmp_path), "-q"]).output
