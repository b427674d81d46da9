"""Defects a new user met and earlier sessions left alone: each test failed before its fix."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import exported_decisions, synthetic_photo
from PIL import Image

from imagetwins.encoders import BitsEncoder, registered
from imagetwins.index import Index


class SlowHash(BitsEncoder):
    """A 64-bit mean hash whose preparation takes 0.15 s a picture (a slow method: ``copies`` on a busy machine),
    and which encodes 32 pictures a batch, as ``copies`` does."""

    name = "slowhash"
    nbits = 64
    default_threshold = 4
    min_side = 8
    batch_size = 32

    def __init__(self, interrupt_at: int = 0, ready=None) -> None:
        self.prepared = 0
        self.interrupt_at = interrupt_at
        self.ready = ready

    def prepare(self, img: Image.Image) -> np.ndarray:
        self.prepared += 1
        if self.prepared == self.interrupt_at:  # Ctrl-C, once the run had time to keep something (or 5 s passed)
            deadline = time.monotonic() + 5
            while not self.ready() and time.monotonic() < deadline:
                time.sleep(0.02)
            raise KeyboardInterrupt  # (handed to the main thread by the decoding pool, as a Ctrl-C meets it there)
        time.sleep(0.15)
        return np.asarray(img.convert("L").resize((8, 8)), dtype=np.float32)

    def encode_batch(self, prepared: list[np.ndarray]) -> np.ndarray:
        bits = np.stack([p.ravel() > p.mean() for p in prepared])
        return np.packbits(bits, axis=1).view(">u8")[:, 0].astype(np.uint64)

    def identity(self) -> dict:
        return {"method": self.name, "version": 1}


@pytest.mark.unit
def test_an_update_interrupted_in_its_first_batch_keeps_what_was_encoded(tmp_path: Path) -> None:
    """``index update`` stopped with Ctrl-C 4 s in kept 0 files: a slow method's first batch (32 files) was not done
    yet. What is ready is now stored at least every second, and the next update encodes only the rest."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for k in range(20):
        synthetic_photo(96, 64, seed=k).save(folder / f"p{k:02}.png")
    db = tmp_path / "photos.db"
    slow = SlowHash(interrupt_at=14)
    with registered(slow), Index(db, methods=["slowhash"]) as idx:
        slow.ready = lambda: idx.stored > 0
        with pytest.raises(KeyboardInterrupt):
            idx.update(folder, workers=1)
        kept = idx.stored
    assert 1 <= kept < 20
    with registered(SlowHash()), Index(db, methods=["slowhash"]) as idx:
        assert len(idx.load("slowhash")[0]) == kept
        again = idx.update(folder, workers=1)
    assert (again.added, again.unchanged) == (20 - kept, kept)


def _run(*args):
    from click.testing import CliRunner

    from imagetwins.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.cli
def test_a_plan_made_with_follow_symlinks_leaves_the_linked_files_as_remove_does(tmp_path: Path,
                                                                                 linked_album: Path) -> None:
    """A ``find --json`` plan (the review page's export too) of a scan with ``--follow-symlinks`` listed the files
    reached through the link to move; ``remove --plan`` refused each ("reached through a symbolic link to a folder")
    and exited 1, where ``remove --follow-symlinks`` leaves them with one note and exits 0."""
    plan = tmp_path / "plan.json"
    assert _run("find", linked_album, "-r", "--follow-symlinks", "-m", "phash", "--json", plan).exit_code == 0
    linked = sorted(str(p) for p in (linked_album / "linkdir").iterdir())
    doc = json.loads(plan.read_text())
    assert sorted(f for g in doc["groups"] for f in g["through_links"]) == linked
    for args in ((), ("--apply", "--move-to", tmp_path / "q")):
        res = _run("remove", linked_album, "--plan", plan, *args)
        assert res.exit_code == 0, res.output
        assert "warning" not in res.output and "refused" not in res.output, res.output
        assert "note: 3 files reached through a followed symbolic link stay where they are" in res.output
    assert sorted(str(p) for p in (linked_album / "linkdir").iterdir()) == linked  # nothing moved through the link
    assert len(list((linked_album / "2020").iterdir())) == 3 and not (tmp_path / "q").exists()


@pytest.mark.cli
def test_the_review_page_of_a_followed_scan_shows_and_exports_linked_files_as_staying(
        tmp_path: Path, linked_album: Path, browser) -> None:
    from selenium.webdriver.common.by import By

    page = tmp_path / "review.html"
    assert _run("report", linked_album, "-r", "--follow-symlinks", "-m", "phash", "-o", page).exit_code == 0
    browser.get(page.as_uri())
    assert browser.find_element(By.TAG_NAME, "body").text.count("stays: reached through a followed symbolic link") == 3
    browser.find_element(By.ID, "bulk-exact").click()  # accept the 3 groups of byte copies
    browser.find_element(By.ID, "export").click()
    found = [exported_decisions(browser)]
    doc = json.loads(found[0].read_text())
    assert all(g["reviewed"] and len(g["through_links"]) == 1 for g in doc["groups"]), doc["groups"]
    res = _run("remove", linked_album, "--plan", found[0])
    assert res.exit_code == 0 and "would move /" not in res.output, res.output
    assert "note: 3 files reached through a followed symbolic link stay where they are" in res.output


@pytest.mark.unit
def test_a_file_taken_by_its_bytes_is_never_kept_in_place_of_one_named_as_an_image(tmp_path: Path) -> None:
    """Content sniffing lists ``IMG.bak`` (a backup) and ``a`` (no extension); their shorter names made them the
    keepers, and ``remove`` would have moved the photos ``IMG_0001.jpg`` and ``holiday.jpg`` away, leaving only the
    backup and the nameless file. They are still found and shown; the copy kept is the one named as an image."""
    import imagetwins

    folder = tmp_path / "photos"
    folder.mkdir()
    for k, (photo, other) in enumerate((("IMG_0001.jpg", "IMG.bak"), ("holiday.jpg", "a"))):
        synthetic_photo(seed=k).save(folder / photo, quality=90)
        (folder / other).write_bytes((folder / photo).read_bytes())
    result = imagetwins.find(folder, "phash", keep="original", cache=False)
    assert sorted((Path(d.keeper).name, [Path(p).name for p in d.remove]) for d in result.decisions) == [
        ("IMG_0001.jpg", ["IMG.bak"]), ("holiday.jpg", ["a"])]


@pytest.mark.cli
def test_a_copies_score_has_one_name_in_every_output(tmp_path: Path, datasets: Path) -> None:
    """``check -m copies --json`` wrote the score as "similarity" (and ``find --json`` "min_similarity"), ``--csv``
    headed it "confidence": one name per score kind now, the kind's own (``ScoreKind``)."""
    import csv

    ref, test = tmp_path / "ref", tmp_path / "test"
    ref.mkdir()
    test.mkdir()
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:3]
    for p in photos:
        (ref / p.name).write_bytes(p.read_bytes())
    with Image.open(photos[0]) as im:
        im.reduce(2).save(test / "small.jpg", quality=90)
        im.reduce(2).save(ref / "small_copy.jpg", quality=90)
    res = _run("check", test, "--against", ref, "--json", tmp_path / "c.json", "--csv", tmp_path / "c.csv")
    assert res.exit_code == 3, res.output
    doc = json.loads((tmp_path / "c.json").read_text())
    with open(tmp_path / "c.csv", newline="") as fh:
        header = next(csv.reader(fh))
    # (the score's column, then the verdict's since 95da8f6: every output the same fields; then copies' mark, then
    # whether the two hold the same bytes)
    assert header[-4:] == ["confidence", "verdict", "recoloured", "exact"], header
    assert doc["score_kind"] == "confidence" and "confidence" in doc["matches"][0]["matches"][0]
    res = _run("find", ref, "--json", tmp_path / "f.json", "--csv", tmp_path / "f.csv", "--pairs")
    doc = json.loads((tmp_path / "f.json").read_text())
    with open(tmp_path / "f.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert doc["score_kind"] == header[3] == "confidence", (doc["score_kind"], header)
    assert "min_confidence" in doc["groups"][0] and "confidence" in doc["pairs"][0]
    assert "(confidence " in res.output or "confidence >=" in res.output, res.output


@pytest.mark.cli
def test_undo_counts_files_and_journal_lines_by_what_they_are_not_by_their_names(tmp_path: Path,
                                                                               datasets: Path) -> None:
    """undo told a refused journal line from a file that failed by the text of its name ("<journal>, line N"): a
    photo named ``manifest.jsonl, line 1.jpg`` missing from the quarantine was counted as a journal line refused."""
    album, q = tmp_path / "album", tmp_path / "q"
    album.mkdir()
    photo = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[40]
    (album / "a.jpg").write_bytes(photo.read_bytes())
    (album / "manifest.jsonl, line 1.jpg").write_bytes(photo.read_bytes())
    res = _run("remove", album, "-m", "phash", "--apply", "--move-to", q)
    assert res.exit_code == 0 and "moved 1 file" in res.output, res.output
    (q / "manifest.jsonl, line 1.jpg").unlink()
    res = _run("undo", q)
    assert res.exit_code == 1 and res.output.strip().splitlines()[-1] == "restored 0 files, 1 failed", res.output


class BytesPath:
    """An ``os.PathLike`` whose path is bytes (as ``os.DirEntry`` of a bytes scan gives)."""

    def __init__(self, path: bytes) -> None:
        self.path = path

    def __fspath__(self) -> bytes:
        return self.path


@pytest.mark.unit
def test_the_library_takes_paths_as_bytes_with_any_bytes_in_their_names(tmp_path: Path) -> None:
    """``imagetwins.find(b"dir")`` raised TypeError deep inside (the bytes were taken for a list of numbers). A path
    as bytes or a bytes ``os.PathLike`` works wherever a str does, a name that is not UTF-8 included; anything else
    that is no path is one TypeError saying so."""
    import os

    import imagetwins

    folder = os.fsencode(tmp_path) + b"/caf\xe9 \xff"  # (not UTF-8)
    os.mkdir(folder)
    synthetic_photo(seed=1).save(os.fsdecode(folder + b"/a.jpg"), quality=90)
    with open(folder + b"/a.jpg", "rb") as src, open(folder + b"/b\xe9.jpg", "wb") as dst:
        dst.write(src.read())
    for given in (folder, BytesPath(folder)):
        for cache in (True, False):
            result = imagetwins.find(given, "phash", cache=cache)
            assert [sorted(os.fsencode(p) for p in g.files) for g in result.groups] == [
                [folder + b"/a.jpg", folder + b"/b\xe9.jpg"]], (given, cache)
    found = imagetwins.find_against([folder + b"/a.jpg"], folder, "phash", cache=False)
    assert [os.fsencode(p) for p, _ in found.matches[os.fsdecode(folder + b"/a.jpg")]] == [folder + b"/b\xe9.jpg"]
    assert not imagetwins.check(folder + b"/a.jpg", folder, "phash").passed
    assert len(imagetwins.encode([folder + b"/a.jpg"], "phash").paths) == 1
    with pytest.raises(TypeError, match="a folder or file .* or a list of them, not int"):
        imagetwins.find(42, "phash")
    with pytest.raises(TypeError, match="a path is a str, bytes or os.PathLike, not float"):
        imagetwins.find([1.5], "phash")


@pytest.mark.unit
def test_a_file_without_an_extension_that_cannot_be_read_is_named_with_its_reason(tmp_path: Path,
                                                                                 monkeypatch) -> None:
    """A chmod 000 photo without an extension was left out without a word (its first bytes could not be read, so it
    was taken for no image), where an unreadable ``x.jpg`` is named with its reason. (Run as root, the refusal a
    user meets is simulated.)"""
    import os

    import imagetwins
    from imagetwins import io

    folder = tmp_path / "photos"
    folder.mkdir()
    synthetic_photo(seed=3).save(folder / "a.jpg", quality=90)
    (folder / "scan0001").write_bytes((folder / "a.jpg").read_bytes())
    (folder / "scan0001").chmod(0)
    if os.geteuid() == 0:  # root reads it anyway: refuse it as the kernel refuses a user
        read_head = io._read_head

        def refused(path):
            if os.fspath(path).endswith("scan0001"):
                raise PermissionError(13, "Permission denied")
            return read_head(path)

        monkeypatch.setattr(io, "_read_head", refused)
    try:
        for cache in (False, True):
            result = imagetwins.find(folder, "phash", cache=cache)
            assert [(Path(f.path).name, f.reason) for f in result.failures] == [
                ("scan0001", "cannot read its first bytes to tell whether it is an image (Permission denied): "
                             "not read")], cache
    finally:
        (folder / "scan0001").chmod(0o644)


@pytest.mark.unit
def test_the_imagededup_classes_draw_bars_on_a_terminal_not_into_a_log(tmp_path: Path, capsys, monkeypatch) -> None:
    """``PHash()`` (``verbose=True``, imagededup's default) drew its tqdm bars into a log file or a CI job's output
    (carriage-return redraws); only ``verbose=False`` kept them out. Bars are drawn where the command line draws them:
    on a terminal (or in a notebook)."""
    import sys

    from imagetwins.methods import PHash

    for k in range(3):
        synthetic_photo(seed=k).save(tmp_path / f"p{k}.png")
    assert len(PHash().encode_images(image_dir=tmp_path)) == 3
    assert "encoding" not in capsys.readouterr().err  # (stderr is captured here: not a terminal)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    PHash().encode_images(image_dir=tmp_path)
    assert "encoding" in capsys.readouterr().err  # on a terminal, as imagededup
    PHash(verbose=False).encode_images(image_dir=tmp_path)
    assert "encoding" not in capsys.readouterr().err
