"""Hostile input to the library-keeping features (remembered decisions, plans, folder moves, sidecars), found by
attacking them on real files: each case gives one line and exit 1, never a traceback, a hang or a lost file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main

pytestmark = pytest.mark.cli

K1, K2 = "a" * 32, "b" * 32
REPO = Path(__file__).resolve().parent.parent


def run(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def photos(tmp_path: Path, datasets: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    for p in sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:2]:
        shutil.copy(p, root / p.name)
    return root


def _no_traceback(res) -> None:
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output


def test_deeply_nested_json_is_one_line(tmp_path: Path, photos: Path) -> None:
    """A plan, export or ground truth nested 100,000 deep: was a RecursionError traceback from import, remove --plan
    and tune --truth."""
    deep = tmp_path / "deep.json"
    deep.write_text('{"imagetwins_plan": 1, "groups": ' + "[" * 100_000 + "]" * 100_000 + "}")
    for args in (("decisions", "import", deep), ("remove", photos, "--plan", deep), ("tune", photos, "--truth", deep)):
        res = run(*args)
        _no_traceback(res)
        assert res.exit_code == 1 and "nested too deeply" in res.output, res.output
    assert sorted(os.listdir(photos)) == sorted(p.name for p in photos.iterdir())


def test_fifo_as_plan_or_export_is_refused_at_once(tmp_path: Path, photos: Path) -> None:
    """A FIFO named as the plan, the export or the ground truth: was a hang for ever (read_text waited for a
    writer)."""
    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    for args in (("decisions", "import", fifo), ("remove", photos, "--plan", fifo), ("tune", photos, "--truth", fifo)):
        try:
            proc = subprocess.run([sys.executable, "-m", "imagetwins", *map(str, args)], capture_output=True,
                                  text=True, timeout=120, env=env)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{args[0]} waited on a FIFO")
        assert proc.returncode == 1 and "FIFO" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("made", ["1e999", "-1e18", "NaN", '"yesterday"', "true"])
def test_export_with_impossible_time_does_not_poison_the_store(tmp_path: Path, made: str) -> None:
    """An export whose 'made' is 1e999 or -1e18 was imported, and every later 'decisions list' was a traceback
    (OverflowError / OSError from localtime)."""
    export = tmp_path / "export.json"
    export.write_text('{"imagetwins_decisions": 1, "decisions": [{"a": "' + K1 + '", "b": "' + K2
                      + '", "verdict": "skip", "made": ' + made + "}]}")
    res = run("decisions", "import", export)
    assert res.exit_code == 0, res.output
    res = run("decisions", "list")
    _no_traceback(res)
    assert res.exit_code == 0 and "1 decision in" in res.output, res.output
    res = run("decisions", "list", "--json", "-")
    assert res.exit_code == 0 and json.loads(res.stdout)["decisions"][0]["a"] == K1


def test_store_edited_with_a_text_time_lists(tmp_path: Path) -> None:
    """A store row whose 'made' was edited to text: 'decisions list' was a ValueError traceback."""
    import sqlite3

    from imagetwins.decisions import DecisionStore, Record

    store = DecisionStore()
    store.remember([Record.of(K1, K2, "skip")])
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE remembered_decisions SET made = 'last week'")
    db.close()
    res = run("decisions", "list")
    _no_traceback(res)
    assert res.exit_code == 0 and "1 decision in" in res.output, res.output


def _unique_folder_plan(tmp_path: Path, datasets: Path, spell) -> tuple[Path, Path, Path]:
    """A folder ``lib/C`` of three photos found nowhere else, and a hand-edited plan claiming each is its own
    copy under another spelling of its path (``spell(rel)``)."""
    import hashlib

    lib = tmp_path / "lib"
    for sub in ("B", "C"):
        (lib / sub).mkdir(parents=True)
    srcs = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    shutil.copy(srcs[0], lib / "B" / srcs[0].name)
    files = {}
    for p in srcs[10:13]:
        shutil.copy(p, lib / "C" / p.name)
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        files[f"C/{p.name}"] = {"sha256": digest, "copy": spell(f"C/{p.name}"), "copy_sha256": digest}
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"imagetwins_plan": 1, "root": str(lib.resolve()), "base": str(lib.resolve()),
                                "groups": [], "folders": [{"remove": "C", "copy_of": "B", "files": files}]}))
    return lib, plan, lib / "C"


@pytest.mark.parametrize("spell", [lambda r: "./" + r, lambda r: r.replace("/", "/./")])
def test_a_folder_is_never_its_own_copy(tmp_path: Path, datasets: Path, spell) -> None:
    """A plan naming each file of a folder as its own copy, spelt './C/x.jpg': the folder of three photos found
    nowhere else moved into the quarantine (the last copy of each removed)."""
    lib, plan, folder = _unique_folder_plan(tmp_path, datasets, spell)
    before = sorted(os.listdir(folder))
    res = run("remove", lib, "--plan", plan, "--apply")
    _no_traceback(res)
    assert res.exit_code == 1, res.output
    assert sorted(os.listdir(folder)) == before


def test_check_folder_plan_compares_folders_not_spellings(tmp_path: Path, datasets: Path) -> None:
    """check_folder_plan itself (given entries not checked by load_folder_plan) refuses a copy that lies inside
    the folder under another spelling: it compares the folders' identities."""
    from imagetwins.folders import check_folder_plan

    lib, plan, folder = _unique_folder_plan(tmp_path, datasets, lambda r: "./" + r)
    entry = json.loads(plan.read_text())["folders"][0]
    entry = {"remove": "C", "copy_of": "B", "skip": False, "number": 1,
             "files": {f: (v["sha256"], v["copy"], v["copy_sha256"]) for f, v in entry["files"].items()}}
    moves, refused = check_folder_plan(lib, [entry])
    assert moves == [] and "lies inside the folder itself" in refused[0][1]


def test_a_file_a_plan_keeps_beside_the_keeper_stays_kept(tmp_path: Path, datasets: Path) -> None:
    """A plan keeping a.jpg and, in 'also_keep', its PNG re-save c.png, moving the half-size b.jpg: a later
    'remove' without the plan moved c.png (only 'keep a over b' was remembered)."""
    from PIL import Image

    root = tmp_path / "ak"
    root.mkdir()
    src = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[40]
    shutil.copy(src, root / "a.jpg")
    with Image.open(src) as im:
        im.reduce(2).save(root / "b.jpg", quality=80)
        im.save(root / "c.png")
    plan = tmp_path / "plan.json"
    assert run("find", root, "--json", plan).exit_code == 0
    doc = json.loads(plan.read_text())
    (group,) = doc["groups"]
    assert os.path.basename(group["keep"]) == "a.jpg"
    group["also_keep"] = [f for f in group["files"] if f.endswith("c.png")]
    plan.write_text(json.dumps(doc))
    res = run("remove", root, "--plan", plan, "--apply")
    assert res.exit_code == 0, res.output
    assert sorted(os.listdir(root)) == ["a.jpg", "c.png"]
    res = run("remove", root, "--apply")
    assert res.exit_code == 0, res.output
    assert sorted(os.listdir(root)) == ["a.jpg", "c.png"]


def test_a_plan_of_files_whose_names_are_not_utf8_is_remembered(tmp_path: Path, datasets: Path) -> None:
    """A real photo named b'\\xff\\xfe.jpg' and its half-size copy b'b\\xff.jpg': 'remove --plan' (dry run and
    --apply) was a UnicodeEncodeError traceback storing the names; an export naming a lone surrogate too."""
    from PIL import Image

    root = tmp_path / "nu"
    root.mkdir()
    src = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[20]
    keep, copy = os.fsdecode(bytes(root) + b"/\xff\xfe.jpg"), os.fsdecode(bytes(root) + b"/b\xff.jpg")
    shutil.copy(src, keep)
    with Image.open(src) as im:
        im.reduce(2).save(copy, quality=85)
    plan = tmp_path / "plan.json"
    assert run("find", root, "--json", plan).exit_code == 0
    doc = json.loads(plan.read_text())
    doc["groups"][0]["reviewed"] = True  # a person accepted it (only that is remembered)
    plan.write_text(json.dumps(doc))
    for extra in ((), ("--apply",)):
        res = run("remove", root, "--plan", plan, *extra)
        _no_traceback(res)
        assert res.exit_code == 0, res.output
    assert os.listdir(bytes(root)) == [b"\xff\xfe.jpg"]
    res = run("decisions", "list")
    assert res.exit_code == 0 and "keep " + str(root) + "/\\xff\\xfe.jpg  over" in res.output, res.output
    export = tmp_path / "export.json"
    export.write_text(json.dumps({"imagetwins_decisions": 1, "decisions": [
        {"a": K1, "b": K2, "verdict": "skip", "a_name": "\ud800"}]}))
    res = run("decisions", "import", export)
    _no_traceback(res)
    assert res.exit_code == 0, res.output
