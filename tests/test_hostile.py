"""Hostile ground (issue #14): links, FIFOs, devices, swapped files, planted and edited quarantines.

Each test builds its hostile file system in tmp_path and asserts the outcome: nothing moved that should
not be, nothing read or written outside the tree, no hang, each refusal named.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from tree_digests import file_digests as _digests

from imagetwins import hashing
from imagetwins.cli import main
from imagetwins.finder import find_duplicate_groups
from imagetwins.io import ImageReadError, find_images, open_image, read_bytes
from imagetwins.quarantine import QuarantineError, _sign, apply_plan, plan_removal, undo


def _photos(datasets: Path, n: int) -> list[Path]:
    return sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:n]


@pytest.fixture
def pair(tmp_path: Path, datasets: Path) -> Path:
    """album/a.jpg and album/trip/b.jpg: two byte-identical copies of one real photo."""
    album = tmp_path / "album"
    (album / "trip").mkdir(parents=True)
    photo = _photos(datasets, 1)[0]
    shutil.copy(photo, album / "a.jpg")
    shutil.copy(photo, album / "trip" / "b.jpg")
    return album


def _remove(album: Path, quarantine: Path, *extra: str):
    return CliRunner().invoke(main, ["remove", str(album), "-r", "--apply", "--no-cache", "--move-to",
                                     str(quarantine), *extra])


# -- symbolic links: a link is never a copy of its target ---------------------------------------------

@pytest.mark.cli
def test_link_to_a_file_in_the_folder_is_not_a_duplicate_and_nothing_moves(tmp_path: Path, datasets: Path) -> None:
    album = tmp_path / "album"
    album.mkdir()
    shutil.copy(_photos(datasets, 1)[0], album / "a.jpg")
    os.symlink("a.jpg", album / "b.jpg")
    before = (album / "a.jpg").read_bytes()
    res = _remove(album, tmp_path / "q")
    assert res.exit_code == 0, res.output
    assert "nothing to move" in res.output
    assert (album / "a.jpg").read_bytes() == before and os.readlink(album / "b.jpg") == "a.jpg"
    # the link is reported, not silently dropped
    res = CliRunner().invoke(main, ["find", str(album), "--no-cache", "--json", "-"])
    data = json.loads(res.stdout)
    assert data["images"] == 1 and not data["groups"]
    assert any(u["path"].endswith("b.jpg") and "inside the scanned folder" in u["reason"] for u in data["unreadable"])


@pytest.mark.integration
def test_a_link_given_explicitly_is_never_moved_nor_kept(tmp_path: Path, datasets: Path) -> None:
    """Even when a caller lists a link with its target, remove moves neither (the target is the only copy): the two
    are one file (``already_linked``, the file's own name first), no group; a group made of them otherwise (a result
    with only the link's name kept in it) is refused by the plan."""
    album = tmp_path / "album"
    album.mkdir()
    shutil.copy(_photos(datasets, 1)[0], album / "a.jpg")
    os.symlink(album / "a.jpg", album / "b.jpg")
    result = find_duplicate_groups([album / "b.jpg", album / "a.jpg"])
    assert result.groups == [] and result.already_linked == [[str(album / "a.jpg"), str(album / "b.jpg")]]
    assert not plan_removal(result, [album]).moves
    shutil.copy(album / "a.jpg", album / "c.jpg")
    result = find_duplicate_groups([album / "b.jpg", album / "c.jpg"])
    assert len(result.groups) == 1  # byte-identical through the link
    plan = plan_removal(result, [album])
    assert all(p.endswith("c.jpg") for p, _, _ in plan.moves)  # never the only copy, reached through b.jpg
    assert any(p.endswith("b.jpg") and "symbolic link" in why for p, why in plan.refused)


@pytest.mark.cli
def test_links_out_of_the_folder_are_not_followed(tmp_path: Path, datasets: Path) -> None:
    private = tmp_path / "private"
    private.mkdir()
    shutil.copy(_photos(datasets, 2)[1], private / "secret.jpg")
    album = tmp_path / "album"
    album.mkdir()
    shutil.copy(_photos(datasets, 1)[0], album / "a.jpg")
    os.symlink(private / "secret.jpg", album / "x.jpg")
    os.symlink("..", album / "up")
    os.symlink("/", album / "slash")
    skipped = []
    found = find_images(album, recursive=True, skipped=skipped)
    assert [p.name for p in found] == ["a.jpg"]
    reasons = {Path(f.path).name: f.reason for f in skipped}
    assert "outside the scanned folder" in reasons["x.jpg"] and "outside" in reasons["slash"]
    page = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", str(album), "-r", "--no-cache", "-o", str(page)])
    assert res.exit_code == 0, res.output
    assert "secret" not in page.read_text()  # the private photo is neither read nor named in the page
    # following links out of the folder is possible, when asked for
    assert "secret.jpg" not in [p.name for p in found]
    assert "x.jpg" in [p.name for p in find_images(album, follow_symlinks=True)]


def _only_copy_beside_a_link_to_its_twin_outside(tmp_path: Path, datasets: Path) -> Path:
    """album/only.jpg, and album/sub -> a folder outside holding copy.jpg, a byte copy of it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    photo = _photos(datasets, 1)[0]
    shutil.copy(photo, outside / "copy.jpg")
    album = tmp_path / "album"
    album.mkdir()
    shutil.copy(photo, album / "only.jpg")
    os.symlink(outside, album / "sub")
    return album


@pytest.mark.cli
def test_keeper_reached_through_a_folder_link_outside_does_not_count(tmp_path: Path, datasets: Path) -> None:
    album = _only_copy_beside_a_link_to_its_twin_outside(tmp_path, datasets)
    # even when the caller follows the link, the folder's only real copy stays
    result = find_duplicate_groups([album / "only.jpg", album / "sub" / "copy.jpg"])
    assert len(result.groups) == 1
    plan = plan_removal(result, [album])
    assert not plan.moves
    assert any("sub" in p and "symbolic link" in why for p, why in plan.refused)
    res = _remove(album, tmp_path / "q")
    assert res.exit_code == 0 and (album / "only.jpg").exists() and (tmp_path / "outside" / "copy.jpg").exists()


@pytest.mark.integration
def test_hard_link_of_the_kept_file_is_not_moved(tmp_path: Path, datasets: Path) -> None:
    album = tmp_path / "album"
    album.mkdir()
    shutil.copy(_photos(datasets, 1)[0], album / "a.jpg")
    os.link(album / "a.jpg", album / "b.jpg")
    result = find_duplicate_groups(album)
    plan = plan_removal(result, [album])
    # one file under two names: not a duplicate at all (already linked), so neither moved nor refused
    assert not result.groups and [sorted(Path(f).name for f in n) for n in result.already_linked] == [["a.jpg",
                                                                                                      "b.jpg"]]
    assert not plan.moves and not plan.refused


# -- FIFOs, devices, huge and slow files: no hang, bounded memory ------------------------------------------

@pytest.mark.cli
def test_fifo_and_device_links_never_block(tmp_path: Path, datasets: Path) -> None:
    album = tmp_path / "album"
    album.mkdir()
    shutil.copy(_photos(datasets, 1)[0], album / "a.jpg")
    os.mkfifo(album / "pipe.jpg")
    outside = tmp_path / "outside"
    outside.mkdir()
    os.mkfifo(outside / "fifo")
    os.symlink(outside / "fifo", album / "x.jpg")
    os.symlink("/dev/zero", album / "zero.jpg")
    os.symlink("/dev/urandom", album / "random.jpg")
    start = time.monotonic()
    res = CliRunner().invoke(main, ["find", str(album), "--no-cache", "--json", "-"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["images"] == 1
    reasons = {Path(u["path"]).name: u["reason"] for u in data["unreadable"]}
    assert "FIFO" in reasons["pipe.jpg"] and set(reasons) == {"pipe.jpg", "x.jpg", "zero.jpg", "random.jpg"}
    # read directly (a caller passing the files, or links followed): refused at once, not read
    for name, kind in (("x.jpg", "FIFO"), ("zero.jpg", "device"), ("random.jpg", "device"), ("pipe.jpg", "FIFO")):
        with pytest.raises(ImageReadError, match=kind):
            read_bytes(album / name)
    enc = hashing.hash_files([album / "x.jpg", album / "zero.jpg", album / "a.jpg"], workers=1, warn=False)
    assert enc.paths == [str(album / "a.jpg")] and len(enc.failures) == 2
    assert time.monotonic() - start < 30


@pytest.mark.unit
def test_sparse_huge_file_is_refused_without_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.jpg"
    with open(big, "wb") as fh:
        fh.truncate((512 << 20) + 1)  # sparse: costs no disk
    with pytest.raises(ImageReadError, match="file too large"):
        read_bytes(big)


@pytest.mark.unit
def test_postscript_named_jpg_is_never_handed_to_ghostscript(tmp_path: Path) -> None:
    ps = tmp_path / "holiday.jpg"
    ps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n{ } loop\n")
    with pytest.raises(ImageReadError, match="not an image"):
        open_image(ps)
    pdf = tmp_path / "doc.png"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
    with pytest.raises(ImageReadError, match="not an image"):
        open_image(pdf)


@pytest.mark.unit
def test_decoded_size_budget_and_reduced_jpeg2000_decode(tmp_path: Path) -> None:
    grey16 = tmp_path / "deep.png"
    Image.fromarray(np.full((600, 800), 40000, np.uint16)).save(grey16)
    assert open_image(grey16).getpixel((0, 0))[0] == 40000 >> 8  # 16-bit scaled, not clipped white
    with pytest.raises(ImageReadError, match="too large to decode"):
        open_image(grey16, max_decoded_bytes=600 * 800 * 5)
    jp2 = tmp_path / "big.jp2"
    Image.new("RGB", (2048, 1536), (200, 30, 30)).save(jp2)
    img = open_image(jp2, min_size=192)
    assert img.size == (256, 192)  # 1/8 of each side: the decoder never made the full image
    assert open_image(jp2).size == (2048, 1536)


@pytest.mark.integration
def test_a_slow_decode_is_not_remembered_as_unreadable(tmp_path: Path, datasets: Path, monkeypatch) -> None:
    from imagetwins import encoding
    from imagetwins.index import Index

    album = tmp_path / "album"
    album.mkdir()
    for p in _photos(datasets, 2):
        shutil.copy(p, album / p.name)
    slow_name = sorted(album.iterdir())[0].name
    real = encoding._load

    def stall(path, *args):
        if path.endswith(slow_name):
            time.sleep(1.5)
        return real(path, *args)

    monkeypatch.setattr(encoding, "_load", stall)
    monkeypatch.setattr(encoding, "DECODE_TIMEOUT", 0.3)
    with Index(tmp_path / "x.db") as idx:
        st = idx.update(album, workers=2)
        assert [Path(f.path).name for f in st.failures] == [slow_name] and st.failures[0].transient
        assert idx.errors() == []  # not stored as a verdict on the file
        monkeypatch.setattr(encoding, "_load", real)
        time.sleep(1.5)  # the stalled thread ends on its own
        st = idx.update(album)
        assert st.added == 1 and not st.failures and len(idx.load("phash")[0]) == 2


@pytest.mark.integration
def test_cnn_decoding_has_the_same_time_limit(tmp_path: Path, datasets: Path, monkeypatch) -> None:
    from imagetwins import encoding
    from imagetwins.embedding import Embedder
    from imagetwins.encoders.model import ModelEncoder

    files = _photos(datasets, 2)
    real = encoding.decode_image

    def stall(data, *a, **k):
        if str(k.get("path_for_messages", "")).endswith(files[0].name):
            time.sleep(1.5)
        return real(data, *a, **k)

    monkeypatch.setattr(encoding, "decode_image", stall)
    model = ModelEncoder("toy-cnn", Embedder(model=lambda x: np.ones((len(x), 4, 2, 2), np.float32)), 0.9)
    start = time.monotonic()
    out = model.encode_files(files, workers=2, warn=False, timeout=0.3)
    assert time.monotonic() - start < 1.4
    assert out.paths == [str(files[1])]
    assert out.failures[0].transient and "took longer" in out.failures[0].reason


@pytest.mark.unit
def test_thread_count_is_bounded_by_the_cpus() -> None:
    from imagetwins.workers import default_workers, thread_count

    cpus = default_workers()
    assert thread_count(1000) == cpus and thread_count(None) == cpus and thread_count(1) == 1


@pytest.mark.cli
def test_thousand_level_folder_tree(tmp_path: Path, datasets: Path) -> None:
    deep = tmp_path / "deep"
    deep.mkdir()
    folder = deep
    for _ in range(1000):
        folder = folder / "d"
        os.mkdir(folder)
    try:
        shutil.copy(_photos(datasets, 1)[0], folder / "a.jpg")
        shutil.copy(_photos(datasets, 1)[0], deep / "a.jpg")
        res = CliRunner().invoke(main, ["find", str(deep), "-r", "--no-cache", "--json", "-"])
        assert res.exit_code == 0, res.output
        assert len(json.loads(res.stdout)["groups"]) == 1
    finally:  # bottom up, without recursion: shutil.rmtree (and pytest's clean-up) would hit the limit
        (folder / "a.jpg").unlink(missing_ok=True)
        while folder != deep:
            folder.rmdir()
            folder = folder.parent


# -- remove: what is moved is what was scanned ---------------------------------------------------------

def _swap_same_size_and_time(path: Path, other: Path) -> None:
    st = path.stat()
    data = other.read_bytes()
    data = (data + bytes(st.st_size))[:st.st_size]
    path.write_bytes(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.cli
def test_file_changed_after_the_scan_is_not_moved(tmp_path: Path, pair: Path, datasets: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["find", str(pair), "-r"]).exit_code == 0  # the cache now knows both files
    other = _photos(datasets, 3)[2]
    for victim in (pair / "trip" / "b.jpg", pair / "a.jpg"):  # the file to move, then the kept file
        copy = pair.parent / "backup"
        shutil.copytree(pair, copy)
        _swap_same_size_and_time(victim, other)
        before = _digests(pair)
        res = runner.invoke(main, ["remove", str(pair), "-r", "--apply", "--move-to", str(tmp_path / "q")])
        # the scan sees the edit by its ctime (the cache no longer trusts size + mtime: nothing to move), or, had it
        # not, remove's SHA-256 re-check refuses the move (exit 1)
        assert (res.exit_code, "nothing to move" in res.output) == (0, True) or (
            res.exit_code == 1 and "changed since the scan" in res.output), res.output
        assert _digests(pair) == before  # nothing moved
        shutil.rmtree(pair)
        shutil.move(copy, pair)
        shutil.rmtree(tmp_path / "q", ignore_errors=True)


@pytest.mark.cli
def test_move_to_inside_the_scanned_folder_is_refused(tmp_path: Path, pair: Path) -> None:
    before = _digests(pair)
    res = _remove(pair, pair / "quarantine")
    assert res.exit_code == 2 and "inside the scanned folder" in res.output
    assert _digests(pair) == before and not (pair / "quarantine").exists()


@pytest.mark.cli
def test_planted_quarantine_links_are_refused(tmp_path: Path, pair: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, tmp_path / "album.imagetwins-quarantine")
    res = CliRunner().invoke(main, ["remove", str(pair), "-r", "--apply", "--no-cache"])
    assert res.exit_code == 1 and "symbolic link" in res.output
    assert not list(elsewhere.iterdir())
    # a journal planted as a link inside an existing quarantine folder
    q = tmp_path / "q"
    q.mkdir()
    target = tmp_path / "victim.txt"
    target.write_text("keep me")
    os.symlink(target, q / "manifest.jsonl")
    res = _remove(pair, q)
    assert res.exit_code == 1 and "journal" in res.output
    assert target.read_text() == "keep me" and len(_digests(pair)) == 2


@pytest.mark.cli
def test_quarantine_in_a_scanned_tree_is_not_scanned_again(tmp_path: Path, pair: Path) -> None:
    q = tmp_path / "q"
    assert _remove(pair, q).exit_code == 0
    res = CliRunner().invoke(main, ["find", str(tmp_path), "-r", "--no-cache", "--json", "-"])
    files = {Path(p).name for g in json.loads(res.stdout)["groups"] for p in g["files"]}
    assert json.loads(res.stdout)["images"] == 1 and not files


# -- undo: restore, never plant or overwrite ---------------------------------------------------------------

@pytest.mark.cli
def test_undo_of_something_that_is_not_a_quarantine_creates_nothing(tmp_path: Path, pair: Path) -> None:
    before = sorted(p.name for p in tmp_path.rglob("*"))
    for target in (pair, tmp_path, pair / "a.jpg"):
        res = CliRunner().invoke(main, ["undo", str(target)])
        assert res.exit_code == 1 and "not a quarantine" in res.output, res.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def _quarantined(tmp_path: Path, datasets: Path, n: int = 3) -> tuple[Path, Path, dict]:
    """album with n pairs of copies; remove --apply moves one of each pair to tmp_path/q."""
    album = tmp_path / "album"
    (album / "trip").mkdir(parents=True)
    for k, p in enumerate(_photos(datasets, n)):
        shutil.copy(p, album / f"k{k}.jpg")
        shutil.copy(p, album / "trip" / f"m{k}.jpg")
    before = _digests(album)
    q = tmp_path / "q"
    res = _remove(album, q)  # keeps album/k*.jpg (same name length: the path decides)
    assert res.exit_code == 0 and len(list(q.rglob("*.jpg"))) == n, res.output
    return album, q, before


@pytest.mark.cli
def test_edited_journal_entries_are_refused_and_the_rest_restored(tmp_path: Path, datasets: Path) -> None:
    album, q, before = _quarantined(tmp_path, datasets)
    journal = q / "manifest.jsonl"
    lines = journal.read_text().splitlines()
    first = json.loads(lines[0])
    victim = tmp_path / "victim"
    first["from"] = str(victim / "planted.jpg")  # write anywhere, as an edited journal asked
    lines[0] = json.dumps(first)
    lines.insert(2, "this is not json")
    journal.write_text("\n".join(lines) + "\n")
    res = CliRunner().invoke(main, ["undo", str(q)])
    assert res.exit_code == 1
    assert "not signed" in res.output and "malformed" in res.output
    assert not victim.exists()
    restored = _digests(album)
    assert len(restored) == len(before) - 1 and all(before[k] == v for k, v in restored.items())


@pytest.mark.cli
def test_signed_entries_still_only_move_within_their_quarantine_and_root(tmp_path: Path, datasets: Path) -> None:
    album, q, _ = _quarantined(tmp_path, datasets, 2)
    key = (q / "manifest.key").read_bytes()
    outside = tmp_path / "outside.jpg"
    shutil.copy(_photos(datasets, 1)[0], outside)
    sha = hashlib.sha256(outside.read_bytes()).hexdigest()
    forged = [
        {"op": "move", "state": "planned", "from": str(album / "new.jpg"), "to": str(outside), "root": str(album),
         "bytes": outside.stat().st_size, "sha256": sha},
        {"op": "move", "state": "planned", "from": str(tmp_path / "x" / "y.jpg"), "to": str(q / "k0.jpg"),
         "root": str(album), "bytes": 1, "sha256": sha},
        {"op": "move", "state": "planned", "from": str(album / "../escape.jpg"), "to": str(q / "k0.jpg"),
         "root": str(album), "bytes": 1, "sha256": sha},
    ]
    with open(q / "manifest.jsonl", "a") as fh:
        for e in forged:
            fh.write(json.dumps(_sign(key, {**e, "state": "planned"})) + "\n")
            fh.write(json.dumps(_sign(key, {**e, "state": "done"})) + "\n")
    out = undo(q)
    assert len(out.done) == 2 and len(out.failed) == 3
    assert all("refused" in why for _, why in out.failed)
    assert outside.exists() and not (album / "new.jpg").exists() and not (tmp_path / "x").exists()
    assert not (tmp_path / "escape.jpg").exists()


@pytest.mark.cli
def test_undo_meets_link_folder_fifo_and_device_at_the_original_place(tmp_path: Path, datasets: Path) -> None:
    album, q, before = _quarantined(tmp_path, datasets, 4)
    moved = sorted(Path(p).name for p in (album / "trip").iterdir()) if (album / "trip").exists() else []
    assert moved == []  # the copies in trip/ were quarantined (album/ was preferred)
    (album / "trip" / "m0.jpg").mkdir(parents=True)  # a folder
    os.symlink(tmp_path / "nowhere.jpg", album / "trip" / "m1.jpg")  # a dangling link
    os.mkfifo(album / "trip" / "m2.jpg")  # a FIFO
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(out=undo(q)), daemon=True)
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "undo hung"
    out = result["out"]
    assert [Path(p).name for _, p in out.done] == ["m3.jpg"]  # the later entry is restored
    taken = {Path(p).name: why for p, why in out.failed}
    assert "folder" in taken["m0.jpg"] and "symbolic link" in taken["m1.jpg"] and "FIFO" in taken["m2.jpg"]
    assert os.readlink(album / "trip" / "m1.jpg") == str(tmp_path / "nowhere.jpg")
    assert not (tmp_path / "nowhere.jpg").exists()
    assert len(list(q.rglob("*.jpg"))) == 3  # the others wait in quarantine


@pytest.mark.cli
def test_undo_does_not_follow_a_symlinked_parent_out_of_the_tree(tmp_path: Path, datasets: Path) -> None:
    album, q, _ = _quarantined(tmp_path, datasets, 2)
    (album / "trip").rmdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, album / "trip")
    out = undo(q)
    assert not out.done and len(out.failed) == 2 and not list(outside.iterdir())
    assert all("link" in why for _, why in out.failed)


@pytest.mark.cli
def test_undo_refuses_a_quarantine_reached_through_a_link(tmp_path: Path, datasets: Path) -> None:
    _, q, _ = _quarantined(tmp_path, datasets, 1)
    os.symlink(q, tmp_path / "q-link")
    with pytest.raises(QuarantineError, match="symbolic link"):
        undo(tmp_path / "q-link")


@pytest.mark.integration
def test_apply_plan_refuses_a_quarantine_inside_the_root(pair: Path) -> None:
    plan = plan_removal(find_duplicate_groups(pair, recursive=True), [pair])
    with pytest.raises(QuarantineError, match="inside the scanned folder"):
        apply_plan(plan, pair, pair / "trip" / "q")


@pytest.mark.cli
def test_undo_twice_and_bytes_intact(tmp_path: Path, datasets: Path) -> None:
    album, q, before = _quarantined(tmp_path, datasets, 2)
    assert not undo(q).failed
    assert _digests(album) == before
    again = undo(q)
    assert not again.failed and not again.done


# -- outputs: odd bytes in names, control characters, spreadsheet formulas ---------------------------------

def _odd_album(tmp_path: Path, datasets: Path, names: list[str]) -> Path:
    album = tmp_path / "odd"
    album.mkdir(parents=True)
    photo = _photos(datasets, 1)[0]
    shutil.copy(photo, album / "a.jpg")
    for name in names:
        shutil.copy(photo, os.path.join(os.fsencode(album), os.fsencode(name)))
    return album


@pytest.mark.cli
def test_names_that_are_not_utf8_work_everywhere(tmp_path: Path, datasets: Path) -> None:
    raw = os.fsdecode(b"\xff\xfe.jpg")  # not UTF-8: Python holds it as lone surrogates
    album = _odd_album(tmp_path, datasets, [raw])
    runner = CliRunner()
    for args in (["find", str(album)], ["find", str(album)],  # the cache written, then read
                 ["find", str(album), "--csv", str(tmp_path / "o.csv"), "--json", str(tmp_path / "o.json")],
                 ["report", str(album), "-o", str(tmp_path / "r.html")],
                 ["index", "update", str(album), "--db", str(tmp_path / "i.db")],
                 ["index", "query", str(album), "--db", str(tmp_path / "i.db")],
                 ["index", "stats", "--db", str(tmp_path / "i.db")],
                 ["remove", str(album), "--apply", "--move-to", str(tmp_path / "q")]):
        res = runner.invoke(main, args)
        assert res.exit_code == 0, (args, res.output, res.exception)
        assert raw not in res.output
    assert not (album / "a.jpg").exists() or not os.path.exists(os.path.join(album, raw))  # one was moved
    assert runner.invoke(main, ["undo", str(tmp_path / "q")]).exit_code == 0
    assert os.path.exists(os.path.join(album, raw)) and (album / "a.jpg").exists()
    res = runner.invoke(main, ["find", str(album)])
    assert "\\xff\\xfe.jpg" in res.output  # shown as escapes on the terminal
    assert os.fsencode(raw) in (tmp_path / "o.csv").read_bytes()  # the real bytes for programs
    data = json.loads((tmp_path / "o.json").read_text())
    assert os.path.join(str(album), raw) in data["groups"][0]["files"]  # JSON escapes give the name back


@pytest.mark.cli
def test_control_characters_in_names_cannot_fake_output_lines(tmp_path: Path, datasets: Path) -> None:
    names = ["x\rmoved 0 files.jpg", "y\x1b[2K.jpg", "z\x1b]0;pwned\x07.jpg", "n\nfake line.jpg", "r\u202egpj.exe.jpg"]
    album = _odd_album(tmp_path, datasets, names)
    runner = CliRunner()
    for args in (["find", str(album), "--no-cache"], ["remove", str(album), "--no-cache"],
                 ["remove", str(album), "--no-cache", "--apply", "--move-to", str(tmp_path / "q")],
                 ["undo", str(tmp_path / "q")]):
        res = runner.invoke(main, args)
        assert res.exit_code == 0, res.output
        for bad in ("\r", "\x1b", "\x07", "\u202e"):
            assert bad not in res.output, (args, res.output)
    res = runner.invoke(main, ["find", str(album), "--no-cache"])
    # one line per file, and the escapes name what is there
    assert sum(1 for line in res.output.splitlines() if line.startswith("  ")) == len(names) + 1
    assert "n\\nfake line.jpg" in res.output and "r\\u202egpj.exe.jpg" in res.output


@pytest.mark.cli
def test_csv_cells_never_start_a_formula(tmp_path: Path, datasets: Path, monkeypatch) -> None:
    names = ["=cmd|' -C calc'!A0.jpg", "+SUM(1+1).jpg", "-2+3.jpg", "@SUM(1).jpg"]
    album = _odd_album(tmp_path, datasets, names)
    ref = _odd_album(tmp_path / "ref", datasets, names)
    monkeypatch.chdir(album)  # relative paths: the names start the cells
    runner = CliRunner()
    assert runner.invoke(main, ["find", ".", "--no-cache", "--csv", str(tmp_path / "g.csv")]).exit_code == 0
    res = runner.invoke(main, ["find", ".", "--no-cache", "--against", os.path.relpath(ref),
                               "--csv", str(tmp_path / "a.csv")])
    assert res.exit_code == 0, res.output
    import csv

    for out in ("g.csv", "a.csv"):
        with open(tmp_path / out, newline="") as fh:
            cells = [c for row in list(csv.reader(fh))[1:] for c in row]
        assert all(not c.startswith(("=", "+", "-", "@")) for c in cells), cells
        assert "'=cmd|' -C calc'!A0.jpg" in cells  # neutralised, still readable


@pytest.mark.cli
def test_find_against_an_empty_file_leaves_it_alone(tmp_path: Path, pair: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    res = CliRunner().invoke(main, ["find", str(pair), "--against", str(empty)])
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert empty.read_bytes() == b""


# -- memory: identical encodings are one group, not N^2/2 pairs -------------------------------------------

@pytest.mark.unit
def test_identical_hashes_are_searched_once_and_every_pair_is_still_there() -> None:
    from imagetwins.encoders import get_encoder
    from imagetwins.results import groups_from_encodings

    rng = np.random.default_rng(7)
    base = rng.integers(0, 2**63, size=40, dtype=np.uint64)
    # 300 copies of one hash, 50 of another 3 bits away, and 40 unrelated hashes
    near = base[0] ^ np.uint64(0b111)
    hashes = np.concatenate([np.full(300, base[0]), np.full(50, near), base[1:]])
    hashes = hashes[rng.permutation(len(hashes))]
    paths = [f"f{i}.jpg" for i in range(len(hashes))]
    digests = [f"d{i}" for i in range(len(hashes))]
    result = groups_from_encodings(paths, hashes, digests, "phash", threshold=5)
    assert len(result.matches) < 2 * len(hashes)  # what is kept in memory grows with N, not N^2
    assert [len(g.files) for g in result.groups][0] == 350 and result.groups[0].max_distance == 3
    # every pair, as a search over every file (no collapsing) finds it
    direct = get_encoder("phash").pairs(hashes, 5)
    assert len(result.pairs) == len(direct) == 300 * 299 // 2 + 50 * 49 // 2 + 300 * 50
    assert np.array_equal(result.pairs.left, direct.left) and np.array_equal(result.pairs.right, direct.right)
    assert np.array_equal(result.pairs.score, direct.score)
    chunks = list(result.iter_pairs(chunk=1000))
    assert max(len(c) for c in chunks) < 2000 and sum(len(c) for c in chunks) == len(direct)


@pytest.mark.cli
def test_json_pairs_only_when_asked(tmp_path: Path, datasets: Path) -> None:
    album = tmp_path / "album"
    album.mkdir()
    data = _photos(datasets, 1)[0].read_bytes()
    for k in range(30):  # same picture, different bytes: trailing garbage after the JPEG's end
        (album / f"c{k:02d}.jpg").write_bytes(data + bytes([k]) * (k + 1))
    res = CliRunner().invoke(main, ["find", str(album), "-m", "phash", "--no-cache", "--json",
                                    str(tmp_path / "a.json")])
    out = json.loads((tmp_path / "a.json").read_text())
    assert res.exit_code == 0 and "pairs" not in out and len(out["groups"][0]["files"]) == 30
    res = CliRunner().invoke(main, ["find", str(album), "-m", "phash", "--no-cache", "--json", "-", "--pairs"])
    out = json.loads(res.stdout)
    # (one entry listing the set: was 30 * 29 // 2, one per pair)
    [entry] = out["pairs"]
    assert entry["distance"] == 0 and len(entry["same_encoding"]) == 30


# -- API input: one clear ValueError naming the input or the key -------------------------------------------

@pytest.mark.unit
@pytest.mark.parametrize("array, says", [
    (np.random.default_rng(0).random((64, 64, 3)), "floats"),
    (np.full((64, 64), np.nan), "NaN"),
    (np.full((64, 64, 3), np.inf, np.float32), "NaN or infinite"),
    (np.full((64, 64), 300, np.int64), "0..255"),
    (np.full((64, 64, 3), 40000, np.uint16), "0..255"),
    (np.full((64, 64), -1, np.int16), "0..255"),
    (np.zeros((0, 0), np.uint8), "no pixels"),
    (np.zeros((0, 5, 3), np.uint8), "no pixels"),
    (np.zeros((8, 8, 4), np.uint8), "shape"),
    (np.array([["a"]]), "dtype"),
])
def test_bad_image_arrays_are_refused_by_every_entry_point(array, says) -> None:
    from imagetwins.hashing import hash_image
    from imagetwins.methods import CNN, DihedralHash, PHash

    with pytest.raises(ValueError, match=says):
        hash_image(array, "phash")
    for method in (PHash(verbose=False), DihedralHash(verbose=False)):
        with pytest.raises(ValueError, match=says if "shape" != says else "shape"):
            method.encode_image(image_array=array)
    if says not in ("shape",):  # (the CNN class checks the shape first, as imagededup)
        emb = CNN(verbose=False)
        emb.embedder.model = lambda x: np.ones((len(x), 4, 2, 2), np.float32)
        with pytest.raises(ValueError, match=says):
            emb.encode_image(image_array=array)


@pytest.mark.unit
def test_good_image_arrays_still_hash() -> None:
    from imagetwins.hashing import hash_image

    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert hash_image(img.astype(np.int64)) == hash_image(img)  # integers within 0..255 are fine
    assert hash_image(img[:, :, 0]) is not None and hash_image(np.ones((1, 1), bool)) is not None


@pytest.mark.unit
@pytest.mark.parametrize("value, says", [
    ("abc", "64-bit hash"), ("-1", "64-bit hash"), ("0" * 64, "64-bit hash"), ("zz" * 8, "64-bit hash"),
    (12345, "64-bit hash"), (None, "64-bit hash"),
])
def test_bad_hashes_in_an_encoding_map_name_their_key(value, says) -> None:
    from imagetwins.methods import PHash

    good = "f0f0f0f0f0f0f0f0"
    with pytest.raises(ValueError, match=rf"'bad\.jpg'.*{says}"):
        PHash(verbose=False).find_duplicates(encoding_map={"a.jpg": good, "bad.jpg": value})
    assert PHash(verbose=False).find_duplicates(encoding_map={"a.jpg": good, "b.jpg": good}) == {
        "a.jpg": ["b.jpg"], "b.jpg": ["a.jpg"]}


@pytest.mark.unit
def test_dihedral_map_needs_256_bit_hashes() -> None:
    from imagetwins.methods import DihedralHash

    with pytest.raises(ValueError, match="'b.jpg'.*256-bit"):
        DihedralHash(verbose=False).find_duplicates(encoding_map={"a.jpg": "0" * 64, "b.jpg": "0" * 16})


@pytest.mark.unit
@pytest.mark.parametrize("value, says", [
    (np.ones(7), "has 7 values; the others have 8"), (np.array([np.nan] * 8), "NaN"), ("text", "not a vector"),
])
def test_bad_cnn_vectors_in_an_encoding_map_name_their_key(value, says) -> None:
    from imagetwins.methods import CNN

    with pytest.raises(ValueError, match=rf"'bad\.jpg'.*{says}|{says}"):
        CNN(verbose=False).find_duplicates(encoding_map={"a.jpg": np.ones(8), "bad.jpg": value})


@pytest.mark.cli
def test_follow_symlinks_reads_outside_but_remove_never_moves_through_a_link(tmp_path: Path, datasets: Path) -> None:
    album = _only_copy_beside_a_link_to_its_twin_outside(tmp_path, datasets)
    runner = CliRunner()
    for cache in ([], ["--no-cache"]):
        res = runner.invoke(main, ["find", str(album), "-r", "--follow-symlinks", "--json", "-", *cache])
        assert res.exit_code == 0, res.output
        files = [Path(f).name for g in json.loads(res.stdout)["groups"] for f in g["files"]]
        assert sorted(files) == ["copy.jpg", "only.jpg"]  # the link was followed
    res = runner.invoke(main, ["remove", str(album), "-r", "--follow-symlinks", "--apply", "--no-cache",
                               "--move-to", str(tmp_path / "q")])
    # the linked copy stays where it is, as asked (one note, exit 0: no refusal of the user's own choice)
    assert res.exit_code == 0 and "nothing to move" in res.output, res.output
    assert "note: 1 file reached through a followed symbolic link stays where it is" in res.output, res.output
    assert (album / "only.jpg").exists() and (tmp_path / "outside" / "copy.jpg").exists()


@pytest.mark.cli
def test_error_lines_escape_names_too(tmp_path: Path) -> None:
    odd = tmp_path / "x\rERROR\x1b[2K"
    odd.mkdir()
    res = CliRunner().invoke(main, ["undo", str(odd)])
    assert res.exit_code == 1 and "not a quarantine" in res.output
    assert "\r" not in res.output and "\x1b" not in res.output and "x\\rERROR\\x1b[2K" in res.output


@pytest.mark.cli
@pytest.mark.parametrize("planted", ["manifest.json.tmp", "manifest.json", "manifest.key"])
def test_planted_links_among_the_quarantine_files_are_never_written_through(tmp_path: Path, pair: Path,
                                                                             planted: str) -> None:
    q = tmp_path / "q"
    q.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    os.symlink(victim, q / planted)
    res = _remove(pair, q)
    assert victim.read_text() == "keep me"
    if planted == "manifest.key":  # a key that is a link cannot be trusted: nothing moves
        assert res.exit_code == 1 and "key" in res.output and len(_digests(pair)) == 2
    else:  # the link itself is replaced, never followed
        assert res.exit_code == 0, res.output
        assert not (q / planted).is_symlink() and json.loads((q / "manifest.json").read_text())["files"]


@pytest.mark.integration
def test_report_never_shows_a_file_swapped_after_the_scan(tmp_path: Path, datasets: Path) -> None:
    from imagetwins.report import report_data

    private = tmp_path / "private"
    private.mkdir()
    shutil.copy(_photos(datasets, 3)[2], private / "secret.jpg")
    album = tmp_path / "album"
    album.mkdir()
    for name in ("a.jpg", "b.jpg"):
        shutil.copy(_photos(datasets, 1)[0], album / name)
    result = find_duplicate_groups(album)
    (album / "b.jpg").unlink()
    os.symlink(private / "secret.jpg", album / "b.jpg")  # swapped for a link after the scan
    data = report_data(result)
    thumbs = [c["thumb"] for g in data["groups"] for c in g["files"]]
    assert thumbs[0] and not thumbs[1]


@pytest.mark.integration
def test_report_of_a_huge_group_stays_linear(tmp_path: Path, datasets: Path, monkeypatch) -> None:
    import imagetwins.report as report

    album = tmp_path / "album"
    album.mkdir()
    data = _photos(datasets, 1)[0].read_bytes()
    for k in range(12):
        (album / f"c{k:02d}.jpg").write_bytes(data + bytes([k]) * (k + 1))
    monkeypatch.setattr(report, "SCORE_TABLE_MAX_FILES", 10)
    page = report.report_data(find_duplicate_groups(album))
    assert page["groups"][0]["scores"] == [[] for _ in range(12)]  # one empty row per file, no 12 x 12 table


STALLED_RUN = """
import sys, time
from imagetwins import encoding
from imagetwins.encoders import get_encoder
real = encoding._load
def stall(path, *args):
    if path.endswith("stuck.jpg"):
        time.sleep(600)  # a decoder that never comes back
    return real(path, *args)
encoding._load = stall
out = get_encoder("phash").encode_files(sys.argv[1:], workers=2, warn=False, timeout=0.5)
print(len(out.paths), out.failures[0].reason)
"""


@pytest.mark.integration
def test_a_stuck_decode_does_not_keep_the_process_alive(tmp_path: Path, datasets: Path) -> None:
    import subprocess
    import sys

    good = _photos(datasets, 2)
    stuck = tmp_path / "stuck.jpg"
    shutil.copy(good[0], stuck)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", STALLED_RUN, str(stuck), *map(str, good)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "2" and "took longer than 0.5 s" in proc.stdout
    assert time.monotonic() - start < 30  # it exited after its work, not after the stuck decode


# -- a folder named through a symbolic link to it ------------------------------------------------------

def _album_behind_a_link(tmp_path: Path, datasets: Path) -> tuple[Path, Path]:
    """photos/ (a.jpg, trip/b.jpg, an odd-byte name: three copies of one photo; sub -> trip inside) and
    link -> photos beside it, as `find ~/link-to-photos` meets it."""
    real = tmp_path / "photos"
    (real / "trip").mkdir(parents=True)
    photo = _photos(datasets, 1)[0]
    for name in ("a.jpg", "trip/b.jpg"):
        shutil.copy(photo, real / name)
    shutil.copy(photo, os.fsencode(real) + b"/\xff odd.jpg")
    os.symlink("trip", real / "sub")  # a link to a folder inside: never moved through
    os.symlink(real, tmp_path / "link")
    return real, tmp_path / "link"


@pytest.mark.cli
def test_a_folder_scanned_through_a_link_is_cleaned_without_moving_through_any_other_link(
        tmp_path: Path, datasets: Path) -> None:
    real, link = _album_behind_a_link(tmp_path, datasets)
    before = _digests(real)
    plan_file = tmp_path / "plan.json"
    res = CliRunner().invoke(main, ["find", str(link), "--no-cache", "--json", str(plan_file)])
    assert res.exit_code == 0, res.output
    plan = json.loads(plan_file.read_text())
    assert plan["root"] == str(real) and plan["scanned_as"] == str(link)
    [group] = plan["groups"]
    assert all(f.startswith(str(link) + "/") for f in group["files"]) and len(group["files"]) == 2
    # trip/b.jpg through the link to a folder inside: listed by hand with its true digest, still refused
    via_sub = str(link / "sub" / "b.jpg")
    group["files"].append(via_sub)
    group["sha256"][via_sub] = before["trip/b.jpg"]
    plan_file.write_text(json.dumps(plan))
    for folder, q in ((link, "q1"), (real, "q2")):  # named through the link, or by its real path
        res = CliRunner().invoke(main, ["remove", str(folder), "--plan", str(plan_file), "--apply",
                                        "--move-to", str(tmp_path / q)])
        assert res.exit_code == 1 and "moved 1 file " in res.output, res.output
        assert "sub/b.jpg: reached through a symbolic link to a folder" in res.output
        assert "error: 1 file not moved (1 refused" in res.output
        assert (real / "sub").is_symlink() and len(_digests(real)) == 2 and (real / "trip" / "b.jpg").exists()
        res = CliRunner().invoke(main, ["undo", str(tmp_path / q)])
        assert res.exit_code == 0 and "restored 1 file" in res.output, res.output
        assert _digests(real) == before


@pytest.mark.cli
def test_remove_of_a_folder_named_through_a_link(tmp_path: Path, datasets: Path) -> None:
    real, link = _album_behind_a_link(tmp_path, datasets)
    before = _digests(real)
    res = _remove(link, tmp_path / "q")
    assert res.exit_code == 0 and "moved 2 files" in res.output, res.output
    assert len(_digests(real)) == 1 and (real / "sub").is_symlink()
    assert CliRunner().invoke(main, ["undo", str(tmp_path / "q")]).exit_code == 0
    assert _digests(real) == before


@pytest.mark.cli
def test_an_edited_scanned_as_adds_no_folder(tmp_path: Path, datasets: Path) -> None:
    """'scanned_as' is used only where it leads to the folder named: pointing it (and the files) at the
    parent through another link moves nothing out there."""
    real, link = _album_behind_a_link(tmp_path, datasets)
    plan_file = tmp_path / "plan.json"
    CliRunner().invoke(main, ["find", str(link), "--no-cache", "--json", str(plan_file)])
    plan = json.loads(plan_file.read_text())
    secret = tmp_path / "secret.jpg"
    shutil.copy(_photos(datasets, 1)[0], secret)
    os.symlink(tmp_path, tmp_path / "up")
    [group] = plan["groups"]
    group["files"].append(str(tmp_path / "up" / "secret.jpg"))
    group["sha256"][str(tmp_path / "up" / "secret.jpg")] = hashlib.sha256(secret.read_bytes()).hexdigest()
    plan["scanned_as"] = str(tmp_path / "up")
    plan_file.write_text(json.dumps(plan))
    res = CliRunner().invoke(main, ["remove", str(link), "--plan", str(plan_file), "--apply",
                                    "--move-to", str(tmp_path / "q")])
    assert res.exit_code == 1 and "secret.jpg: outside the scanned folder" in res.output, res.output
    assert secret.exists() and "moved 1 file " in res.output


@pytest.mark.cli
def test_the_review_page_of_a_folder_named_through_a_link_exports_a_plan_that_works(tmp_path: Path,
                                                                                    datasets: Path) -> None:
    from imagetwins.report import report_data

    real, link = _album_behind_a_link(tmp_path, datasets)
    before = _digests(real)
    result = find_duplicate_groups(link)
    data = report_data(result, root=link)
    assert data["base"] == str(real) and sorted(c["path"] for g in data["groups"] for c in g["files"]) == \
        sorted(["a.jpg", os.fsdecode(b"\xff odd.jpg")])  # relative to the folder: inside its real path
    plan = {"imagetwins_plan": data["imagetwins_plan"], "root": data["root"], "base": data["base"],  # as plan() in JS
            "groups": [{"files": [c["path"] for c in g["files"]], "keep": g["files"][g["keep"]]["path"],
                        "sha256": {c["path"]: c["sha256"] for c in g["files"]}} for g in data["groups"]]}
    plan_file = tmp_path / "decisions.json"
    plan_file.write_text(json.dumps(plan))
    res = CliRunner().invoke(main, ["remove", str(link), "--plan", str(plan_file), "--apply",
                                    "--move-to", str(tmp_path / "q")])
    assert res.exit_code == 0 and "moved 1 file " in res.output, res.output
    assert CliRunner().invoke(main, ["undo", str(tmp_path / "q")]).exit_code == 0
    assert _digests(real) == before


@pytest.mark.cli
def test_a_plan_applied_after_its_folder_was_replaced_by_a_link_elsewhere_moves_nothing(tmp_path: Path,
                                                                                         datasets: Path) -> None:
    """The scanned folder is moved away and a link to another folder holding the same bytes put in its
    place (or the link the plan was made through is pointed elsewhere): not the folder the plan was made of."""
    real, link = _album_behind_a_link(tmp_path, datasets)
    plan_file = tmp_path / "plan.json"
    assert CliRunner().invoke(main, ["find", str(link), "--no-cache", "--json", str(plan_file)]).exit_code == 0
    other = tmp_path / "other"
    shutil.copytree(real, other, symlinks=True)
    before = {**_digests(real), **{f"other/{k}": v for k, v in _digests(other).items()}}
    link.unlink()
    os.symlink(other, link)  # the link now leads elsewhere
    res = CliRunner().invoke(main, ["remove", str(link), "--plan", str(plan_file), "--apply"])
    assert res.exit_code == 1 and "was made for the folder" in res.output, res.output
    real.rename(tmp_path / "moved-away")
    os.symlink(other, real)  # the folder itself is now a link to the other one
    res = CliRunner().invoke(main, ["remove", str(real), "--plan", str(plan_file), "--apply"])
    assert res.exit_code == 1 and "was made for the folder" in res.output, res.output
    after = {**_digests(tmp_path / "moved-away"), **{f"other/{k}": v for k, v in _digests(other).items()}}
    assert after == before and not list(tmp_path.glob("*quarantine*"))


@pytest.mark.integration
def test_byte_identical_copies_records_are_searched_once(datasets: Path) -> None:
    """copies' rows are columns whose features are not compared byte for byte: 3,000 copies of one small JPEG
    made 4.5 million candidate pairs (find -m copies: 2.0 GB; by content digest now: 0.63 GB)."""
    pytest.importorskip("cv2")
    from imagetwins.copies import CopyRows
    from imagetwins.encoders import get_encoder
    from imagetwins.results import groups_from_encodings

    enc = get_encoder("copies").encode_files(_photos(datasets, 3), workers=1)
    one, others = enc.encodings[0], list(enc.encodings[1:])
    records = CopyRows.of([one] * 300 + others)
    paths = [f"f{i}.jpg" for i in range(302)]
    digests = [enc.digests[0]] * 300 + list(enc.digests[1:])
    result = groups_from_encodings(paths, records, digests, "copies")
    assert len(result.matches) < 2 * len(records)  # grows with N, not N^2
    assert [len(g.files) for g in result.groups] == [300] and result.groups[0].exact
    assert len(result.pairs) == 300 * 299 // 2  # every pair still there on request


@pytest.mark.integration
@pytest.mark.parametrize("when", ["why_not_movable", "_digest_and_identity"])
def test_a_folder_swapped_for_a_link_outside_during_the_move_moves_nothing_out_there(
        tmp_path: Path, pair: Path, monkeypatch, when: str) -> None:
    """A race: right after trip/b.jpg was checked (or read), trip/ is replaced by a link to a folder outside
    holding the same bytes. The move went by path: a traceback (the real path outside is not in the folder),
    or with the swap a moment later the file outside moved into the quarantine. Now the file is reached from
    the folder through folders opened one at a time without following links."""
    from imagetwins import quarantine

    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(pair / "a.jpg", outside / "b.jpg")
    outside_before = _digests(outside)
    plan = plan_removal(find_duplicate_groups(pair, recursive=True), [pair])
    assert [m[0] for m in plan.moves] == [str(pair / "trip" / "b.jpg")]
    real = getattr(quarantine, when)

    def racing(*args, **kwargs):
        got = real(*args, **kwargs)
        at_move = when == "why_not_movable" or Path(args[0]).name == "b.jpg"  # (not the keeper's own check)
        if at_move and not (pair / "trip").is_symlink():
            os.rename(pair / "trip", tmp_path / "trip-away")
            os.symlink(outside, pair / "trip")
        return got

    monkeypatch.setattr(quarantine, when, racing)
    out = apply_plan(plan, pair, tmp_path / "q")
    assert _digests(outside) == outside_before  # nothing out there moved
    # (after its read too: each file's folder is looked up again right before its move, which a batch's files wait
    # for; it moved from the folder it was checked in, journalled as from the link, where undo refused it)
    assert not out.done and "replaced since the check" in out.failed[0][1]
    assert (tmp_path / "trip-away" / "b.jpg").is_file()
    monkeypatch.undo()
    os.unlink(pair / "trip")
    os.rename(tmp_path / "trip-away", pair / "trip")
    if (tmp_path / "q").exists():  # (its planned line, closed as failed: nothing to put back)
        assert not undo(tmp_path / "q").failed
    assert sorted(_digests(pair)) == ["a.jpg", "trip/b.jpg"] and _digests(outside) == outside_before


@pytest.mark.integration
def test_undo_never_puts_a_file_back_through_a_folder_swapped_for_a_link_meanwhile(
        tmp_path: Path, pair: Path, monkeypatch) -> None:
    """A race: after undo checked the way back to trip/b.jpg, trip/ is replaced by a link to a folder outside.
    The file was linked into place by path, so it landed out there; now it stays in the quarantine (named),
    and a later undo, with the folder back, restores it."""
    from imagetwins import quarantine

    before = _digests(pair)
    outside = tmp_path / "outside"
    outside.mkdir()
    out = apply_plan(plan_removal(find_duplicate_groups(pair, recursive=True), [pair]), pair, tmp_path / "q")
    assert [d[0] for d in out.done] == [str(pair / "trip" / "b.jpg")]
    real = quarantine._make_dirs

    def racing(base, rel):
        got = real(base, rel)
        if base == pair and not (pair / "trip").is_symlink():
            os.rename(pair / "trip", tmp_path / "trip-away")
            os.symlink(outside, pair / "trip")
        return got

    monkeypatch.setattr(quarantine, "_make_dirs", racing)
    back = undo(out.manifest)
    assert os.listdir(outside) == []  # nothing written out there
    assert not back.done and "replaced since the check" in back.failed[0][1]
    monkeypatch.undo()
    os.unlink(pair / "trip")
    os.rename(tmp_path / "trip-away", pair / "trip")
    assert undo(out.manifest).done and _digests(pair) == before
