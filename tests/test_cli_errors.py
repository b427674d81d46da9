"""Bad requests from the command line end with one clear line and a non-zero exit, never a traceback,
and before any work is done. Real images."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagetwins.cli import main

pytestmark = pytest.mark.cli


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_clear_line(res, *words: str, code: int = 1) -> None:
    assert res.exit_code == code, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    errors = [x for x in res.output.splitlines() if x.startswith("Error:")]
    assert len(errors) == 1, res.output
    for w in words:
        assert w in errors[0], errors[0]


@pytest.fixture
def album(tmp_path: Path, datasets: Path) -> Path:
    root = tmp_path / "album"
    shutil.copytree(datasets / "imagededup-testdata" / "mixed_images", root)
    return root


def test_outputs_into_a_missing_folder(tmp_path: Path, album: Path) -> None:
    missing = tmp_path / "no" / "such"
    cases = [
        (["find", album, "--json", missing / "d.json"], "--json"),
        (["find", album, "--csv", missing / "d.csv"], "--csv"),
        (["find", album, "--report", missing / "r.html"], "--report"),
        (["find", album, "--against", album, "--json", missing / "a.json"], "--json"),
        (["report", album, "-o", missing / "r.html"], "--output"),
        (["plot", album, "ukbench00120.jpg", "-o", missing / "p.png"], "--output"),
        (["tune", album, "--json", missing / "t.json"], "--json"),
        (["tune", album, "--plot", missing / "t.png"], "--plot"),
    ]
    for args, option in cases:
        one_clear_line(run(*args), option, str(missing), "does not exist")
    assert not (tmp_path / "no").exists()


def test_plots_without_matplotlib_name_the_extra(tmp_path: Path, album: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    for args in (["plot", album, "ukbench00120.jpg", "-o", tmp_path / "p.png"],
                 ["tune", album, "--truth", _truth(tmp_path), "--plot", tmp_path / "pr.png"]):
        one_clear_line(run(*args), "matplotlib", "imagetwins[plot]")
    assert not (tmp_path / "p.png").exists() and not (tmp_path / "pr.png").exists()


def _truth(tmp_path: Path, data: object = None) -> Path:
    path = tmp_path / "truth.json"
    if data is None:
        data = [["ukbench00120.jpg", "ukbench00120_resize.jpg", "ukbench00120_hflip.jpg"]]
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


@pytest.mark.parametrize(("truth", "words"), [
    ("{not json", ["not valid JSON", "line 1"]),
    ({"ukbench00120.jpg": "ukbench00120_resize.jpg"}, ["must map to a list of file names"]),
    ([["/abs/ukbench00120.jpg", "ukbench00120_resize.jpg"]], ["absolute path", "/abs/ukbench00120.jpg"]),
    ({"ukbench00120.jpg": [1, 2]}, ["must be strings", "1 (int)"]),
    ([[3, "ukbench00120.jpg"]], ["must be strings"]),
    ({"g1": "ukbench00120.jpg"}, ["must map to a list"]),
    ("\"just a string\"", ["must be a map", "or a list of groups"]),
])
def test_tune_refuses_a_malformed_ground_truth(tmp_path: Path, album: Path, truth, words) -> None:
    path = _truth(tmp_path, truth)
    one_clear_line(run("tune", album, "--truth", path), str(path), *words)


def test_tune_accepts_a_good_ground_truth_with_plot(tmp_path: Path, album: Path) -> None:
    pytest.importorskip("matplotlib")
    res = run("tune", album, "--truth", _truth(tmp_path), "-m", "phash", "--plot", tmp_path / "pr.png",
              "--json", tmp_path / "t.json")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "pr.png").stat().st_size > 1000
    assert json.loads((tmp_path / "t.json").read_text())["positives"] == 3


def test_plot_threshold_out_of_range_is_a_usage_error(album: Path) -> None:
    one_clear_line(run("plot", album, "ukbench00120.jpg", "-m", "phash", "-t", "100"), "0..64", code=2)
    one_clear_line(run("plot", album, "ukbench00120.jpg", "-m", "cnn", "-t", "2"), "-1..1", code=2)


def test_plot_takes_recursive_and_cnn_like_find(tmp_path: Path, album: Path, fake_cnn) -> None:
    pytest.importorskip("matplotlib")
    nested = tmp_path / "nested"
    (nested / "sub").mkdir(parents=True)
    shutil.copy(album / "ukbench00120.jpg", nested / "a.jpg")
    shutil.copy(album / "ukbench00120_resize.jpg", nested / "sub" / "a_small.jpg")
    out = tmp_path / "p.png"
    res = run("plot", nested, "a.jpg", "-r", "-m", "cnn", "-o", out)
    assert res.exit_code == 0, res.output
    assert "1 duplicate of a.jpg" in res.output and out.stat().st_size > 1000
    one_clear_line(run("plot", nested, "a.jpg", "-m", "cnn", "-o", out), "no duplicates")  # without -r


def _class_folders(root: Path, photos: list[Path]) -> None:
    """An ML dataset's layout: images only in class sub-folders."""
    for split, files in (("train", photos[:4]), ("test", photos[3:6])):  # photos[3] is in both: a leak
        for k, f in enumerate(files):
            target = root / split / ("cat" if k % 2 else "dog")
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target / f.name)


def test_a_leak_check_that_read_no_image_fails_instead_of_passing(datasets: Path, tmp_path: Path) -> None:
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:6]
    _class_folders(tmp_path, photos)
    test, train = tmp_path / "test", tmp_path / "train"
    # without -r nothing is read: a gate must not report "no leak"
    res = run("find", test, "--against", train, "--fail-on-duplicates")
    assert res.exit_code == 1, res.output
    assert "error: no image read in" in res.output and "(try --recursive)" in res.output
    assert run("find", test, "--against", train, "--fail-on-duplicates", "-q").exit_code == 1
    # without the gate too: an error and exit 1, as 'index query' (it was a note and exit 0 here, exit 1 there)
    res = run("find", test, "--against", train)
    assert res.exit_code == 1 and "error: no image read in" in res.output, res.output
    # with -r the leak is found
    res = run("find", test, "--against", train, "-r", "--fail-on-duplicates")
    assert res.exit_code == 3, res.output
    assert photos[3].name in res.output


def test_a_leak_check_with_an_unreadable_test_image_fails(datasets: Path, tmp_path: Path) -> None:
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:6]
    _class_folders(tmp_path, photos)
    test, train = tmp_path / "test", tmp_path / "train"
    # a truncated copy of a training image cannot be checked: the gate must not pass it
    data = photos[0].read_bytes()
    (test / "dog" / "truncated.jpg").write_bytes(data[: len(data) // 3])
    shutil.rmtree(test / "cat")
    (test / "dog" / photos[3].name).unlink()
    res = run("find", test, "--against", train, "-r", "--fail-on-duplicates")
    assert res.exit_code == 1, res.output
    assert "error: 1 image of" in res.output and "could not be read, so not checked" in res.output
    (test / "dog" / photos[5].name).unlink()  # now it is the only image
    res = run("find", test, "--against", train, "-r", "--fail-on-duplicates")
    assert res.exit_code == 1 and "(1 unreadable)" in res.output, res.output


def test_a_file_on_the_way_to_an_output_or_index_is_named_not_called_a_missing_folder(tmp_path: Path) -> None:
    # '--db notes.txt/x.db' said "the folder notes.txt does not exist" though notes.txt is there: a file
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (32, 32), (10, 200, 30)).save(photos / "a.png")
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    for args in (("index", "update", photos, "--db", notes / "x.db", "-m", "phash"),
                 ("find", photos, "-m", "phash", "--json", notes / "deeper" / "out.json")):
        res = run(*args)
        assert res.exit_code != 0 and "Traceback" not in res.output
        assert f"{notes} is a file, not a folder" in res.output, res.output
        assert "does not exist" not in res.output
    res = run("find", photos, "-m", "phash", "--json", tmp_path / "missing" / "out.json")
    assert f"the folder {tmp_path / 'missing'} does not exist" in res.output
    assert notes.read_text() == "mine"


def test_a_name_longer_than_the_file_system_allows_is_one_line(tmp_path: Path) -> None:
    # an output, --db or --move-to named with a 300-byte name (a generated name, ~85 CJK characters) ended in an
    # OSError traceback from the first look at it (os.lstat, pathlib's exists / is_symlink): ENAMETOOLONG
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (32, 32), (10, 200, 30)).save(photos / "a.png")
    Image.new("RGB", (32, 32), (10, 200, 30)).save(photos / "b.png", optimize=True)
    long = tmp_path / ("x" * 300)
    for args in (("find", photos, "-m", "phash", "--no-cache", "--json", f"{long}.json"),
                 ("report", photos, "-m", "phash", "--no-cache", "-o", f"{long}.html"),
                 ("find", photos, "-m", "phash", "--db", f"{long}.db"),
                 ("find", photos, "-m", "phash", "--db", long / "x.db"),
                 ("index", "query", photos, "--db", f"{long}.db"),
                 ("remove", photos, "-m", "phash", "--no-cache", "--apply", "--move-to", long)):
        res = run(*args)
        one_clear_line(res, "File name too long", "x" * 300)
    assert sorted(p.name for p in photos.iterdir()) == ["a.png", "b.png"]


def test_find_db_of_a_file_that_is_no_index_is_one_line_not_a_decision_store_warning_too(tmp_path: Path) -> None:
    # the decisions live in the index given with --db: a photo, a text file or a FIFO named there first gave
    # 'warning: the decision store X is not a database (damaged?) ...; remembered decisions are not applied this
    # time' (a store the person never named), then the index's own error line
    import os

    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (32, 32), (10, 200, 30)).save(photos / "a.png")
    photo = tmp_path / "IMG_0001.jpg"
    Image.new("RGB", (32, 32), (200, 10, 30)).save(photo)
    text = tmp_path / "notes.db"
    text.write_text("SQLite format 3\0 not really")
    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    for db, why in ((photo, "not an imagetwins index"), (text, "not an imagetwins index"), (fifo, "is a FIFO")):
        before = db.read_bytes() if db.is_file() else None
        res = run("find", photos, "-m", "phash", "--db", db)
        one_clear_line(res, str(db), why)
        assert "decision store" not in res.output and "warning" not in res.output, res.output
        assert before is None or db.read_bytes() == before
    res = run("find", photos, "-m", "phash", "--db", tmp_path / "new.db")  # a new index: made, as before
    assert res.exit_code == 0 and (tmp_path / "new.db").is_file(), res.output


def test_plot_to_a_name_of_no_picture_format_is_one_line_of_ours_before_the_scan(tmp_path: Path, album: Path,
                                                                                  monkeypatch) -> None:
    """``plot -o result.out`` ended, after the scan, with matplotlib's own "Format 'out' is not supported"."""
    pytest.importorskip("matplotlib")
    import imagetwins.finder

    def no_scan(*args, **kwargs):
        pytest.fail("scanned before the output's name was checked", pytrace=False)

    monkeypatch.setattr(imagetwins.finder, "find_duplicates_map", no_scan)
    one_clear_line(run("plot", album, "ukbench00120.jpg", "-o", tmp_path / "result.out"), "result.out",
                   "no picture format", ".png", ".pdf")
    assert not (tmp_path / "result.out").exists()
    from imagetwins.report import PlotArgumentError, plot_duplicates

    with pytest.raises(PlotArgumentError, match=r"\.out is no picture format.*\.svg"):
        plot_duplicates(album, {"a.jpg": ["b.jpg"]}, "a.jpg", outfile=tmp_path / "result.out")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs")
def test_an_output_fifo_nobody_reads_is_refused_before_the_scan(tmp_path: Path, album: Path, monkeypatch) -> None:
    """``report -o FIFO`` (and ``find --json/--csv FIFO``) with no reader failed only when the output was written,
    after the whole scan. The FIFO is opened with the other checks of the output name: one line, no scan."""
    import imagetwins.cli.find
    import imagetwins.cli.report

    def no_scan(*args, **kwargs):
        pytest.fail("scanned before the output was checked", pytrace=False)

    monkeypatch.setattr(imagetwins.cli.report, "scan", no_scan)
    monkeypatch.setattr(imagetwins.cli.find, "scan", no_scan)
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    for args in (["report", album, "-o", fifo], ["find", album, "--json", fifo], ["find", album, "--csv", fifo]):
        one_clear_line(run(*args), "FIFO no process reads from", "start its reader first")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs")
def test_an_output_fifo_with_a_reader_gets_the_whole_output(tmp_path: Path, album: Path) -> None:
    """The FIFO opened before the scan is held open and written at the end: its reader sees no end of input in
    between (opened and closed at the check, it would have), and gets the whole document."""
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        res = run("find", album, "-m", "phash", "--json", fifo, "-q")
        assert res.exit_code == 0, res.output
        data = b""
        while chunk := os.read(reader, 1 << 16):
            data += chunk
    finally:
        os.close(reader)
    assert json.loads(data)["groups"], data[:200]
