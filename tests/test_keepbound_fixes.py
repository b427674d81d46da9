"""Leftovers the last session's readers and strangers noted (session 15, keepbound): each test failed before its
fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO / "examples" / "images"


@pytest.mark.unit
def test_the_match_picture_is_never_written_under_another_formats_name(tmp_path: Path) -> None:
    """``match_picture`` wrote PNG bytes at ``why.jpg`` (viewers and the next scan took it for a broken JPEG); now a
    name saying another image format is refused before any work, a ``.png`` (any case) or a name without one is
    written as PNG."""
    from imagetwins.explain import match_picture

    a, b = IMAGES / "city.jpg", IMAGES / "city_recompressed.jpg"
    for name in ("why.jpg", "why.JPEG", "why.webp", "why.tif", "why.heic"):
        with pytest.raises(ValueError, match="written as PNG"):
            match_picture(a, b, tmp_path / name)
        assert not (tmp_path / name).exists()
    for name in ("why.PNG", "why"):
        match_picture(a, b, tmp_path / name)
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.cli
def test_explain_picture_of_another_format_or_an_empty_name_is_a_usage_error(tmp_path: Path) -> None:
    """``explain A B -p why.jpg`` wrote PNG bytes at why.jpg; ``-p ""`` said 'cannot write --picture . is a folder'
    (click had made the empty name the current folder). Both are usage errors now, before any work."""
    from imagetwins.cli import main

    a, b = str(IMAGES / "city.jpg"), str(IMAGES / "city_recompressed.jpg")
    runner = CliRunner()
    why = tmp_path / "why.jpg"
    result = runner.invoke(main, ["explain", a, b, "-p", str(why)])
    assert result.exit_code == 2, result.output
    assert "written as PNG" in result.output and "give a name ending in .png" in result.output
    assert not why.exists()
    for option in (["-p", ""], ["--json", ""]):
        result = runner.invoke(main, ["explain", a, b, *option])
        assert result.exit_code == 2, result.output
        assert "an empty file name" in result.output and "is a folder" not in result.output
    result = runner.invoke(main, ["explain", a, b, "-m", "copies", "-p", str(tmp_path / "why.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "why.png").read_bytes().startswith(b"\x89PNG")


def _trashed_pair(root: Path, n: int = 2):
    """``n`` byte-copy pairs under ``root`` and the plan sending each backup copy to the trash."""
    import hashlib
    import random

    from imagetwins import quarantine as q

    moves, expected = [], {}
    for i in range(n):
        data = random.Random(i).randbytes(900)
        keep, copy = root / "photos" / f"IMG_{i}.jpg", root / "backup" / f"IMG_{i}.jpg"
        for p in (keep, copy):
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        expected[str(keep)] = expected[str(copy)] = hashlib.sha256(data).hexdigest()
        moves.append((str(copy), i + 1, str(keep)))
    return q.Plan(moves=moves, keepers=[k for _, _, k in moves], expected=expected)


@pytest.mark.unit
def test_undo_leaves_a_trash_record_it_did_not_write_alone(tmp_path: Path, home_trash: Path) -> None:
    """Undo deleted the ``.trashinfo`` at each name its run reserved in the trash, unlooked at: another program's
    record there (the same file's, written again by a file manager; another file's) went, and its file lay in the
    trash with no record. Now only the record whose SHA-256 the journal line keeps is deleted; another stays, said."""
    from imagetwins import quarantine as q

    root, quar = tmp_path / "lib", tmp_path / "q"
    plan = _trashed_pair(root, 3)
    out = q.apply_plan(plan, root, quar, to_trash=True)
    assert len(out.done) == 3 and not out.failed
    info = home_trash / "info"
    records = sorted(info.iterdir())
    assert [r.name for r in records] == ["IMG_0.jpg.trashinfo", "IMG_1.jpg.trashinfo", "IMG_2.jpg.trashinfo"]
    ours = records[0].read_bytes()
    assert ours.startswith(b"[Trash Info]\nPath=" + str(root / "backup" / "IMG_0.jpg").encode())
    # the same file's record written again later (another date), and another file's record
    again = ours.split(b"DeletionDate=")[0] + b"DeletionDate=1999-01-01T00:00:00\n"
    assert again != ours and b"Path=" + str(root / "backup" / "IMG_0.jpg").encode() in again
    records[0].write_bytes(again)
    foreign = b"[Trash Info]\nPath=/home/someone/Desktop/IMG_1.jpg\nDeletionDate=2026-01-02T03:04:05\n"
    records[1].write_bytes(foreign)
    undone = q.undo(quar)
    assert not undone.failed and len(undone.done) == 3
    assert records[0].read_bytes() == again and records[1].read_bytes() == foreign
    assert sorted(undone.records_left) == [str(records[0]), str(records[1])]
    assert not records[2].exists()  # (its own record: forgotten, as the trash's "put back" does)
    for i in range(3):
        assert (root / "backup" / f"IMG_{i}.jpg").is_file()


@pytest.mark.unit
def test_a_record_without_its_journal_digest_is_known_by_the_path_it_names(tmp_path: Path) -> None:
    """Journals written before the record's SHA-256 was kept: a record is the run's where it names the file that went
    (absolute, or relative to the trash's top folder); a link, a FIFO or a record naming another file is not."""
    import os

    from imagetwins.trash import TrashFolder, is_record_of, record_sha256

    original = tmp_path / "photos" / "IMG 1.jpg"
    home = TrashFolder(tmp_path / "Trash", None)
    top = TrashFolder(tmp_path / ".Trash-1000", tmp_path)
    for trash in (home, top):
        (trash.folder / "info").mkdir(parents=True, exist_ok=True)
        record = trash.record(original)
        info = trash.folder / "info" / "IMG 1.jpg.trashinfo"
        info.write_bytes(record)
        assert is_record_of(info, original, None) and is_record_of(info, original, record_sha256(record))
        assert not is_record_of(info, tmp_path / "photos" / "IMG 2.jpg", None)
        assert not is_record_of(info, original, record_sha256(record + b"\n"))
        info.unlink()
        info.symlink_to(tmp_path / "elsewhere")
        assert not is_record_of(info, original, None)
        info.unlink()
        os.mkfifo(info)
        assert not is_record_of(info, original, None)  # (not waited on)
        info.unlink()


def _screen_folder(datasets: Path, folder: Path) -> Path:
    """A photo beside a phone screenshot of it enlarged 1.5x a side (``test_keep_framed.portrait_screens``)."""
    from PIL import Image

    img = Image.open(datasets / "photos-public" / "images" / "bsds_144067.jpg").convert("RGB")
    folder.mkdir()
    img.save(folder / "photo.jpg", quality=92)
    big = img.resize((img.width * 3 // 2, img.height * 3 // 2), Image.Resampling.LANCZOS)
    top = big.width // 10
    screen = Image.new("RGB", (big.width, top + big.height + big.width // 2), (255, 255, 255))
    screen.paste(Image.new("RGB", (big.width, top // 2), (246, 246, 246)), (0, 0))
    screen.paste(big, (0, top))
    screen.save(folder / "screen.jpg", quality=92)
    return folder


@pytest.mark.integration
def test_the_keep_stages_look_is_bounded_by_ios_limit_and_held_in_the_decode_budget(
        datasets: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The keep stage's look at a framed file (is the screenshot's picture the photo enlarged?) had no bound: a PNG,
    TIFF or WebP is decoded whole for it, and a 12,000 x 9,500 PNG framing its 4,032 x 3,024 original took 3.2 GB
    (the scan of the two: 0.8 GB), outside the decode budget. Now a look whose decodes would cost more than io's
    limit on one decode (at verify.LOOK_BYTES_PER_PIXEL) is not made, as the second look past LOOK_MAX_SIDE is not,
    and one that is made holds its cost in io.DECODE_BUDGET while it runs."""
    import imagetwins
    from imagetwins import copies, io, verify
    from imagetwins.io import DECODE_BUDGET

    folder = _screen_folder(datasets, tmp_path / "photos")
    held: list[int] = []
    look = copies.unexplained_detail

    def spied(*args, **kwargs):
        held.append(DECODE_BUDGET.used)
        return look(*args, **kwargs)

    monkeypatch.setattr(copies, "unexplained_detail", spied)
    result = imagetwins.find(folder, keep="original", cache=False, decisions=False)
    assert [d.keeper for d in result.decisions] == [str(folder / "photo.jpg")]  # (the look: an enlargement)
    # (at least the screenshot's decode at the look's side, counted as a look counts it)
    cost = io.decode_plan(folder / "screen.jpg", 1, verify.LOOK_SIDE)[0] * verify.LOOK_BYTES_PER_PIXEL
    assert held and min(held) >= cost, (held, cost)
    assert DECODE_BUDGET.used == 0
    held.clear()
    monkeypatch.setattr(io, "DEFAULT_MAX_DECODED_BYTES", cost - 1)  # (one byte short: no look, no answer)
    result = imagetwins.find(folder, keep="original", cache=False, decisions=False)
    assert held == []
    assert [d.keeper for d in result.decisions] == [str(folder / "screen.jpg")]  # (as past LOOK_MAX_SIDE)


@pytest.mark.unit
def test_the_enlargement_check_holds_both_decodes_under_ios_limit(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The keep stage's enlargement check decodes the larger file (a PNG, TIFF or WebP whole) and the smaller whole,
    and holds both: each under io's limit on one decode, together up to twice it (a 12,000 px PNG and its 6,000 px
    copy: 0.8 GB held by the keep stage). Now a check whose two decodes would cost more than that limit gives no
    verdict (as a file too large to decode does), before decoding anything."""
    from conftest import synthetic_photo

    from imagetwins import io, keep

    big, small = tmp_path / "big.png", tmp_path / "small.png"
    photo = synthetic_photo(800, 600, seed=3)
    photo.save(big)
    photo.resize((400, 300)).save(small)
    larger, smaller = keep.file_info(big), keep.file_info(small)
    assert keep._enlargement_of(larger, smaller) > 1  # (the original beside its half-size copy)
    both = (800 * 600 + 400 * 300) * 4  # (RGB: 4 bytes a pixel at the peak, io.decode_cost)
    decoded: list[object] = []
    real = io.open_image
    monkeypatch.setattr(io, "open_image", lambda *a, **k: decoded.append(a[0]) or real(*a, **k))
    monkeypatch.setattr(io, "DEFAULT_MAX_DECODED_BYTES", both)
    assert keep._enlargement_of(larger, smaller) > 1 and len(decoded) == 2
    monkeypatch.setattr(io, "DEFAULT_MAX_DECODED_BYTES", both - 1)
    assert keep._enlargement_of(larger, smaller) is None
    assert len(decoded) == 2  # (nothing decoded for it)


@pytest.mark.unit
def test_explain_never_holds_both_files_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``explain`` of a 170 MP pair took 1.7 GB: its readability check decoded both files whole and held them together
    (``open_image(a), open_image(b)``), as did the picture of the matches, and ``similar``'s prepare copied the whole
    decoded picture (``convert("RGB")`` of an RGB image). Now each file is decoded as ``copies`` decodes it and, where
    its format has no reduced decode (a PNG: whole), brought down to the drawing's size before the other is decoded
    (measured: 1.65 GB -> 0.97 GB for a 11,300 x 15,060 JPEG and its crop; 1.81 -> 1.29 GB with its PNG and -p)."""
    import threading
    import weakref

    from conftest import synthetic_photo
    from PIL import Image

    from imagetwins import explain, io

    a, b = tmp_path / "a.png", tmp_path / "b.png"
    photo = synthetic_photo(3000, 2000, seed=5)
    photo.save(a)
    photo.crop((100, 80, 2900, 1900)).save(b)
    alive: list[weakref.ref] = []
    overlaps: list[str] = []
    real = io._decode

    def decode(data, name, *args, **kwargs):
        got = real(data, name, *args, **kwargs)
        if threading.current_thread() is not threading.main_thread():
            return got  # (a scan's decoding threads: held in the decode budget, and let go once prepared)
        if any(r() is not None for r in alive):
            overlaps.append(str(name))
        if max(got[0].size) >= 2000:  # (a whole decode)
            alive.append(weakref.ref(got[0]))
        return got

    monkeypatch.setattr(io, "_decode", decode)
    found = explain.explain(a, b, methods=["phash"])
    assert found.scores and overlaps == []
    alive.clear()
    explain.match_picture(a, b, tmp_path / "why.png")
    assert overlaps == []
    with Image.open(tmp_path / "why.png") as drawn:
        assert drawn.format == "PNG" and drawn.width > 600


@pytest.mark.unit
def test_the_similar_method_prepares_an_rgb_picture_without_copying_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """``similar``'s prepare made a whole copy of every decoded picture (Pillow's ``convert`` to the mode it has
    copies it): 680 MB more at 170 MP, past the scan's decode budget. The same array, no copy."""
    pytest.importorskip("onnxruntime")
    from conftest import synthetic_photo
    from PIL import Image

    from imagetwins.encoders import get_encoder

    photo = synthetic_photo(900, 600, seed=2)
    similar = get_encoder("similar")
    expected = similar.prepare(photo.convert("RGBA"))  # (another mode: converted, as before)
    copies: list[tuple[int, int]] = []
    real = Image.Image.copy
    monkeypatch.setattr(Image.Image, "copy", lambda self: copies.append(self.size) or real(self))
    prepared = similar.prepare(photo)
    assert copies == []
    assert np.array_equal(prepared, expected)
