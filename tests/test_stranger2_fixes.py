"""What a second newcomer (fresh venv, README and --help only) met: each test failed before its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.unit
def test_the_readmes_first_screen_says_what_it_is_and_the_two_commands() -> None:
    """The first bullet ran to ~30 lines of numbers before the install command: a reader's first screen (40 lines)
    must say what the tool does and hold both commands CI runs."""
    first_screen = (REPO / "README.md").read_text(encoding="utf-8").splitlines()[:40]
    text = "\n".join(first_screen)
    assert "# ci:install" in text and "# ci:test" in text
    assert "near-duplicate images" in first_screen[2]


@pytest.mark.cli
def test_index_stats_speaks_words_by_default_and_json_on_request(tmp_path: Path) -> None:
    """``index stats`` printed JSON alone, where every other command prints words and writes JSON on --json."""
    import json
    import shutil

    from click.testing import CliRunner

    from imagetwins.cli import main

    album = tmp_path / "album"
    shutil.copytree(REPO / "examples" / "images", album)
    (album / "broken.jpg").write_bytes(b"not a picture")
    db = tmp_path / "x.db"
    run = CliRunner().invoke
    assert run(main, ["index", "update", str(album), "--db", str(db), "-m", "phash"]).exit_code == 0
    res = run(main, ["index", "stats", "--db", str(db)])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith(f"{db}: 10 files, 1 unreadable, ") and "KB a file" in lines[0], lines
    assert lines[1] == "  phash: 9 files encoded", lines
    assert lines[2].startswith("  unreadable: ") and "broken.jpg" in lines[2], lines
    doc = json.loads(run(main, ["index", "stats", "--db", str(db), "--json", "-"]).output)
    assert doc["files"] == 10 and doc["encodings"] == {"phash": 9}
    out = tmp_path / "stats.json"
    assert run(main, ["index", "stats", "--db", str(db), "--json", str(out)]).output == ""
    assert json.loads(out.read_text()) == doc


@pytest.mark.cli
def test_a_byte_copy_among_matches_is_said_exact(tmp_path: Path) -> None:
    """``check --against`` showed a byte copy of a training image as "confidence 1.000", as it shows a mirrored or
    resized copy, with no marker in the text, JSON, NDJSON or CSV (``find``'s groups say "byte-identical")."""
    import json
    import shutil

    from click.testing import CliRunner

    from imagetwins.cli import main

    train, test = tmp_path / "train", tmp_path / "test"
    shutil.copytree(REPO / "examples" / "images", train)
    test.mkdir()
    shutil.copy(train / "beach.jpg", test / "beach_again.jpg")  # the same bytes
    shutil.copy(train / "forest_mirrored.jpg", test / "forest_m.jpg")  # the same bytes as a mirrored copy
    (train / "forest_mirrored.jpg").unlink()  # so the test's mirrored copy matches forest.jpg only: score 1.0
    run = CliRunner().invoke
    for method in ("copies", "phash"):
        res = run(main, ["check", str(test), "--against", str(train), "-m", method, "--json", "-"])
        assert res.exit_code == 3, res.output
        matches = {(q["query"].rsplit("/", 1)[1], m["path"].rsplit("/", 1)[1]): m["exact"]
                   for q in json.loads(res.stdout)["matches"] for m in q["matches"]}
        # beach_copy.jpg is a byte copy of beach.jpg too; beach_small.jpg and forest.jpg score 1.0 (or 0 bits) too
        assert {r for (q, r), exact in matches.items() if exact} == {"beach.jpg", "beach_copy.jpg"}, matches
        assert ("forest_m.jpg", "forest.jpg") in matches or method == "phash"
    res = run(main, ["check", str(test), "--against", str(train), "--csv", "-"])
    header, *rows = res.stdout.splitlines()
    assert header == "query,match,confidence,verdict,recoloured,exact"
    assert {r.split(",")[1].rsplit("/", 1)[1]: r.split(",")[-1] for r in rows if "beach_again" in r} == \
        {"beach.jpg": "1", "beach_small.jpg": "0", "beach_copy.jpg": "1"}
    text = run(main, ["check", str(test), "--against", str(train)]).stdout
    assert f"= {train / 'beach.jpg'}  (confidence 1.000, byte-identical)" in text
    assert "forest.jpg  (confidence 1.000)" in text


@pytest.mark.cli
def test_remove_says_where_the_time_went_with_timings(tmp_path: Path) -> None:
    """``remove --timings`` was "No such option" while find, check, report and index update take it; with --apply
    the moves are a stage of their own."""
    import re
    import shutil

    from click.testing import CliRunner

    from imagetwins.cli import main

    album = tmp_path / "album"
    shutil.copytree(REPO / "examples" / "images", album)

    def stages(stderr: str) -> dict[str, float]:
        line = next(x for x in stderr.splitlines() if x.startswith("time: "))
        return {name: float(s) for name, s in re.findall(r"(\w+) (\d+\.\d+) s", line.split("=", 1)[1])}

    run = CliRunner().invoke
    dry = run(main, ["remove", str(album), "-m", "phash", "--no-cache", "--timings"])
    assert dry.exit_code == 0, dry.output
    assert {"scan", "search", "keep"} <= set(stages(dry.stderr)) and "move" not in stages(dry.stderr)
    assert "cpu in all: " in dry.stderr
    applied = run(main, ["remove", str(album), "-m", "phash", "--no-cache", "--apply", "-v"])
    assert applied.exit_code == 0, applied.output
    assert "move" in stages(applied.stderr) and applied.stdout.startswith("moved ")
    assert "time: " not in run(main, ["remove", str(album), "-m", "phash", "--no-cache"]).stderr


@pytest.mark.cli
def test_a_copies_threshold_under_half_says_re_shots_can_be_called_copies(tmp_path: Path, datasets: Path) -> None:
    """A family lowering ``-t`` to 0.3 to catch more copies got burst frames grouped as copies (holidays-half
    102400/102401, two framings of one scene at 0.423: 11 such groups of the 422 photos at 0.3), silently, though the
    README said a re-shot is "a copy at no --threshold"; ``explain`` said "(confidence capped at 0.5)" of a pair
    whose confidence was 0.423. The rules that keep re-shots apart run only above 0.5: a note says so, and explain
    says the pair was under the cap already."""
    import shutil

    from click.testing import CliRunner

    from imagetwins.cli import main
    from imagetwins.encoders import get_encoder

    album = tmp_path / "album"
    album.mkdir()
    for name in ("102400.jpg", "102401.jpg"):
        shutil.copy(datasets / "holidays-half" / "images" / name, album / name)
    run = CliRunner().invoke
    low = run(main, ["find", str(album), "-t", "0.3", "--no-cache"])
    assert low.exit_code == 0, low.output
    assert "note: --threshold 0.3: below 0.5 the checks that tell a re-shot from a copy" in low.stderr
    assert "1 duplicate group" in low.stdout  # (what the note warns of: the pair is grouped at 0.3)
    for args in (["-t", "0.5"], ["-t", "0.3", "-q"], []):
        assert "note: --threshold" not in run(main, ["find", str(album), "--no-cache", *args]).stderr
    assert "note: --threshold 0.3" in run(main, ["check", str(album / "102400.jpg"), "--against", str(album),
                                                 "-t", "0.3"]).stderr
    said = run(main, ["explain", str(album / "102400.jpg"), str(album / "102401.jpg"), "-m", "copies"]).stdout
    assert "two framings of one scene" in said and "(confidence under the cap of 0.5 already)" in said
    assert "capped at 0.5" not in said
    assert get_encoder("phash").threshold_caveat(20) is None and get_encoder("copies").threshold_caveat(0.5) is None


@pytest.mark.cli
def test_folders_without_r_says_to_add_it_once_and_nothing_with_q(tmp_path: Path) -> None:
    """``folders examples`` said "without --recursive ... add -r" and then "no image files found in examples (try
    --recursive)"; with -q the first note was said all the same."""
    import shutil

    from click.testing import CliRunner

    from imagetwins.cli import main

    top = tmp_path / "top"
    shutil.copytree(REPO / "examples" / "images", top / "images")
    res = CliRunner().invoke(main, ["folders", str(top), "-m", "phash", "--no-cache"])
    assert res.exit_code == 0, res.output
    assert res.output.count("recursive") == 1 and "add -r" in res.stderr, res.output
    quiet = CliRunner().invoke(main, ["folders", str(top), "-m", "phash", "--no-cache", "-q"])
    assert quiet.exit_code == 0 and quiet.output == "", quiet.output


@pytest.mark.cli
def test_remove_similar_names_the_command_that_removes_byte_copies(tmp_path: Path) -> None:
    """A family's backup folder (byte copies) grouped with its burst frames by ``-m similar`` waited for a person's
    pick, and ``remove -m similar``'s refusal named only the review: that the default method removes the copies
    (byte-identical backups too) was nowhere said."""
    import shutil

    from click.testing import CliRunner

    from imagetwins.cli import main

    album = tmp_path / "album"
    shutil.copytree(REPO / "examples" / "images", album / "photos")
    res = CliRunner().invoke(main, ["remove", str(album), "-r", "-m", "similar"])
    assert res.exit_code == 2
    assert f"byte-identical backups too, are what the default method removes: 'imagetwins remove {album} -r'" in \
        " ".join(res.output.split()), res.output
    assert f"'imagetwins remove {album} --plan plan.json'" in " ".join(res.output.split())  # (no -r with a plan)


@pytest.mark.cli
def test_an_empty_folder_is_not_told_to_try_recursive(tmp_path: Path) -> None:
    """``imagetwins find empty/`` (and ``check``) said "(try --recursive)" of a folder with no sub-folder, where -r
    finds nothing more; the hint stays where a sub-folder was left unread."""
    import shutil

    from click.testing import CliRunner

    from imagetwins import check
    from imagetwins.cli import main

    empty, top = tmp_path / "empty", tmp_path / "top"
    empty.mkdir()
    (empty / "notes.txt").write_text("no picture here")
    shutil.copytree(REPO / "examples" / "images", top / "sub")
    run = CliRunner().invoke
    res = run(main, ["find", str(empty), "-m", "phash", "--no-cache"])
    assert res.exit_code == 0 and f"note: no image files found in {empty}\n" in res.output, res.output
    res = run(main, ["find", str(top), "-m", "phash", "--no-cache"])
    assert f"note: no image files found in {top} (try --recursive)" in res.output, res.output
    res = run(main, ["check", str(top / "sub"), "--against", str(empty), "-m", "phash", "--no-cache"])
    assert res.exit_code == 1 and res.output.splitlines()[-1] == f"error: no image read in {empty}", res.output
    assert check(empty, top, "phash", cache=False).reasons_incomplete == (
        f"no image read in {empty}", f"no image read in {top} (try --recursive)")


@pytest.mark.cli
@pytest.mark.parametrize("method", ["cnn", "similar"])
def test_a_batch_of_byte_copies_alone_joins_the_vectors_before_it(method: str) -> None:
    """``imagetwins report Pictures -r -m similar`` of a library with a Backup folder (23 byte copies of 2021/, 26
    files: the second batch of 32 held byte copies only) ended in a ValueError traceback: a batch that encodes no
    row of its own gave the vector methods' zero rows of width 0, which no 1280-wide rows join."""
    from imagetwins.encoders import get_encoder
    from imagetwins.encoding import encode_files

    images = REPO / "examples" / "images"
    paths = [str(images / "beach.jpg"), str(images / "beach_copy.jpg")]  # (the same bytes)
    encoder = get_encoder(method)
    rows = encode_files(paths, [encoder], workers=1, batch_size=1).by_method[encoder.name]
    assert rows.shape == (2, 1280) and (rows[0] == rows[1]).all()


@pytest.mark.cli
def test_explain_picture_never_replaces_a_photo_it_did_not_write(tmp_path: Path) -> None:
    """``imagetwins explain a.jpg b.jpg -p other.jpg`` replaced that photo (not one of the two explained) with the PNG
    of the matches, where every document output refuses an image; a picture it wrote is still replaced by a re-run."""
    import shutil

    from click.testing import CliRunner

    from imagetwins.cli import main

    images = REPO / "examples" / "images"
    photo = tmp_path / "IMG_0042.jpg"
    shutil.copyfile(images / "forest.jpg", photo)
    before = photo.read_bytes()
    explain = ["explain", str(images / "city.jpg"), str(images / "city_recompressed.jpg"), "-m", "copies"]
    res = CliRunner().invoke(main, [*explain, "-p", str(photo)])
    assert res.exit_code == 2 and "an image imagetwins did not write" in res.output, res.output
    assert photo.read_bytes() == before
    from imagetwins.explain import match_picture
    from imagetwins.writing import ReplacesImage

    with pytest.raises(ReplacesImage, match="did not write"):  # (the library's own rule, the CLI a skin over it)
        match_picture(images / "city.jpg", images / "city_recompressed.jpg", photo)
    assert photo.read_bytes() == before
    why = tmp_path / "why.png"
    for _ in range(2):  # (the second run replaces the picture the first wrote)
        res = CliRunner().invoke(main, [*explain, "-p", str(why)])
        assert res.exit_code == 0 and why.read_bytes().startswith(b"\x89PNG"), res.output
