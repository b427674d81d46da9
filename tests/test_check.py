"""imagetwins.check: the leak check as a library call, with the incomplete-check rule the CLI used to own."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from imagetwins.check import check
from imagetwins.cli import main
from imagetwins.index import Index


@pytest.fixture
def ml(tmp_path: Path, datasets: Path) -> Path:
    """train/<class>/ and test/<class>/ of real photos; one test image is a rotated, resized training photo."""
    photos = sorted((datasets / "ukbench-600" / "images").glob("*.jpg"))
    for split, chosen in (("train", photos[:12]), ("test", photos[300:304])):
        for i, p in enumerate(chosen):
            (tmp_path / split / f"class{i % 2}").mkdir(parents=True, exist_ok=True)
            shutil.copy(p, tmp_path / split / f"class{i % 2}" / p.name)
    with Image.open(photos[5]) as im:
        im.rotate(90, expand=True).resize((300, 400)).save(tmp_path / "test" / "class1" / "leak.jpg")
    return tmp_path


@pytest.mark.integration
def test_a_complete_check_finds_the_leak(ml: Path) -> None:
    result = check(ml / "test", ml / "train", method="dihedral", recursive=True)
    assert result.complete and result.reasons_incomplete == () and not result.passed
    assert {Path(q).name: [Path(p).name for p, _ in ms] for q, ms in result.leaks.items()} == {
        "leak.jpg": [sorted(p.name for p in (ml / "train").rglob("*.jpg"))[5]]}
    assert len(result.query.images) == 5 and result.query.reference_images == 12


@pytest.mark.integration
def test_explicit_files(ml: Path) -> None:
    files = sorted((ml / "test").rglob("*.jpg"))
    result = check(files, ml / "train", method="dihedral", recursive=True)
    assert result.complete and [Path(q).name for q in result.leaks] == ["leak.jpg"]
    assert check([], ml / "train", recursive=True).reasons_incomplete == ("no image read in the 0 files given",)


@pytest.mark.integration
def test_class_folders_without_recursive_make_an_incomplete_check(ml: Path) -> None:
    result = check(ml / "test", ml / "train")
    assert not result.complete and not result.passed and not result.leaks
    assert result.reasons_incomplete == (f"no image read in {ml / 'test'} (try --recursive)",
                                         f"no image read in {ml / 'train'} (try --recursive)")


@pytest.mark.integration
def test_an_unreadable_test_image_makes_it_incomplete(ml: Path) -> None:
    some_photo = next((ml / "train" / "class0").iterdir())
    (ml / "test" / "class0" / "broken.jpg").write_bytes(some_photo.read_bytes()[:900])  # cut short
    result = check(ml / "test", ml / "train", method="dihedral", recursive=True)
    assert result.unreadable == 1 and len(result.leaks) == 1
    assert result.reasons_incomplete == (f"1 image of {ml / 'test'} could not be read, so not checked",)


@pytest.mark.integration
def test_against_an_index_and_an_empty_one(ml: Path, tmp_path: Path) -> None:
    db = tmp_path / "train.db"
    with Index(db, methods=["dihedral"]) as idx:
        idx.update(ml / "train", recursive=True)
        assert check(ml / "test", idx, method="dihedral", recursive=True).passed is False
    assert len(check(ml / "test", db, method="dihedral", recursive=True).leaks) == 1
    empty = tmp_path / "empty.db"
    Index(empty, methods=["dihedral"]).close()
    result = check(ml / "test", empty, method="dihedral", recursive=True)
    assert result.reasons_incomplete == (f"no image read in {empty}",)  # no folder hint for an index


@pytest.mark.cli
def test_check_command_exit_codes(ml: Path) -> None:
    def run(*args):
        return CliRunner().invoke(main, ["check", *map(str, args)])

    res = run(ml / "test", "--against", ml / "train", "-r", "-m", "dihedral")
    assert res.exit_code == 3 and "leak.jpg" in res.stdout, res.output
    res = run(ml / "test", "--against", ml / "train", "-m", "dihedral")
    assert res.exit_code == 1, res.output
    assert res.output.strip().splitlines()[-1] == (f"error: no image read in {ml / 'test'} (try --recursive); "
                                                   f"no image read in {ml / 'train'} (try --recursive)")
    (ml / "test" / "class1" / "leak.jpg").unlink()
    res = run(ml / "test", "--against", ml / "train", "-r", "-m", "dihedral", "-q")
    assert res.exit_code == 0 and res.output == ""
    # one image is enough
    res = run(ml / "test" / "class0" / sorted(p.name for p in (ml / "test" / "class0").iterdir())[0],
              "--against", ml / "train", "-r")
    assert res.exit_code == 0, res.output


@pytest.mark.integration
def test_the_ml_leakage_example_gates_on_an_incomplete_check(ml: Path, tmp_path: Path) -> None:
    import importlib.util

    path = Path(__file__).parents[1] / "examples" / "ml_leakage.py"
    spec = importlib.util.spec_from_file_location("ml_leakage", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert example.main(ml / "train", ml / "test") == 3
    (ml / "test" / "class1" / "leak.jpg").unlink()
    assert example.main(ml / "train", ml / "test") == 0
    (tmp_path / "typo").mkdir()
    assert example.main(ml / "train", tmp_path / "typo") == 1  # nothing read: no pass


@pytest.mark.cli
def test_a_check_says_when_a_remembered_decision_set_a_match_aside(ml: Path, tmp_path: Path) -> None:
    # a "not a duplicate" remembered from a review (decisions live in the user's data folder, for every folder)
    # took a real leak out of 'check' without a word: the exit code and the count looked like a clean check
    def run(*args):
        return CliRunner().invoke(main, [str(a) for a in args])

    train0 = sorted((ml / "train").rglob("*.jpg"))[0]
    shutil.copy(train0, ml / "test" / "class0" / "copy.jpg")  # a second leak, left as it is
    plan = tmp_path / "plan.json"
    assert run("find", ml, "-r", "-m", "dihedral", "--json", plan, "-q").exit_code == 0
    doc = json.loads(plan.read_text())
    group = next(g for g in doc["groups"] if any(Path(f).name == "leak.jpg" for f in g["files"]))
    group["not_duplicate"] = [f for f in group["files"] if f != group["keep"]]  # (leak.jpg is the keeper)
    plan.write_text(json.dumps(doc))
    res = run("decisions", "import", plan)  # (as 'remove --plan --apply' remembers them)
    assert res.exit_code == 0, res.output
    res = run("check", ml / "test", "--against", ml / "train", "-r", "-m", "dihedral")
    assert res.exit_code == 3 and "copy.jpg" in res.stdout and "leak.jpg" not in res.stdout, res.output
    assert ("note: 1 match left out: marked 'not a duplicate' in an earlier plan (see 'imagetwins decisions list'; "
            "--ignore-decisions checks without them)") in res.stderr, res.output
    res = run("check", ml / "test", "--against", ml / "train", "-r", "-m", "dihedral", "--ignore-decisions")
    assert res.exit_code == 3 and "leak.jpg" in res.stdout and "left out" not in res.output, res.output
    res = run("find", ml / "test", "--against", ml / "train", "-r", "-m", "dihedral")
    assert res.exit_code == 0 and "1 match left out" in res.stderr, res.output


@pytest.mark.cli
def test_check_help_says_what_ignore_decisions_does_to_a_check() -> None:
    # a check has matches, not groups: its --help said "Show every group again" (a stranger's reading of it)
    text = " ".join(CliRunner().invoke(main, ["check", "--help"]).output.split())
    option = text[text.index("--ignore-decisions"):]
    assert "group" not in option[:200] and "not a duplicate" in option[:200], option[:200]


@pytest.mark.integration
def test_a_second_check_decodes_neither_side(ml: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stranger's 'check TEST --against REF' took 2.6 CPU s on every run for 108 test images: only the reference
    was cached, the test folder decoded again each time. The test side now goes through the same per-folder cache
    as 'find' (same file, same digest: no decode); the answer is the same, an unreadable test image still counted,
    and a test image changed since is read again (only it)."""
    from PIL import ImageFile

    from imagetwins import io

    some_photo = next((ml / "train" / "class0").iterdir())
    (ml / "test" / "class0" / "broken.jpg").write_bytes(some_photo.read_bytes()[:900])  # cut short
    first = check(ml / "test", ml / "train", method="dihedral", recursive=True)
    assert first.unreadable == 1 and len(first.leaks) == 1

    decodes = {"loads": 0, "opens": 0}
    load, open_image = ImageFile.ImageFile.load, io.open_image

    def counting_load(im, *a, **k):
        decodes["loads"] += 1
        return load(im, *a, **k)

    def counting_open(*a, **k):
        decodes["opens"] += 1
        return open_image(*a, **k)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    monkeypatch.setattr(io, "open_image", counting_open)
    again = check(ml / "test", ml / "train", method="dihedral", recursive=True)
    assert decodes == {"loads": 0, "opens": 0}
    assert again.leaks == first.leaks and again.unreadable == 1
    assert sorted(again.query.images) == sorted(first.query.images)
    assert again.reasons_incomplete == first.reasons_incomplete
    # one test image replaced by another photo: read again, and the answer follows it (a byte after the JPEG's end
    # makes its content one no row holds: a byte copy of a stored file would take that row, undecoded, since 947c871)
    leak = ml / "test" / "class1" / "leak.jpg"
    shutil.copy(ml / "test" / "class0" / sorted(p.name for p in (ml / "test" / "class0").glob("ukbench*"))[0], leak)
    with leak.open("ab") as f:
        f.write(b"\0")
    decodes.update(loads=0)
    third = check(ml / "test", ml / "train", method="dihedral", recursive=True)
    changed = decodes["loads"]
    decodes.update(loads=0)
    cold = check(ml / "test", ml / "train", method="dihedral", recursive=True, cache=False)
    assert cold.leaks == third.leaks == {}  # the leak is gone with the file that was one
    # the warm run decodes only the changed file (3 loads, measured), the cold one both folders (more than 3x that)
    assert 0 < changed and changed * 3 <= decodes["loads"], (changed, decodes)
