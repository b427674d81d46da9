"""An attack pass on the commands that touch files, each case a hostile file system or a fault met on the way
(docs/reliability.md, "Hostile ground"): a journal cut short, a full disk, names no cache can be named after,
a folder-copy search over thousands of folders sharing one picture, an icon that decodes to a gigabyte."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import synthetic_photo
from tree_digests import name_digests as _digests

from imagetwins.cli import main


def _album(folder: Path, copies: int, seed: int = 0) -> Path:
    """``copies`` byte-identical PNGs of one synthetic picture in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    synthetic_photo(96, 72, seed).save(folder / "a0.png")
    data = (folder / "a0.png").read_bytes()
    for k in range(1, copies):
        (folder / f"a{k}.png").write_bytes(data)
    return folder


def _run(*args: str):
    return CliRunner().invoke(main, [*args])


@pytest.mark.cli
def test_undo_of_a_journal_cut_short_names_the_files_it_leaves_in_the_quarantine(tmp_path: Path) -> None:
    """A journal that lost its last lines (cut by hand, a sync tool, a copy) names fewer files than the quarantine
    holds: undo restored what it named and said "Q now holds only the journal of that run: delete it when you
    like", exit 0, with two photos still in Q. Now each is named, and the exit code is 1."""
    album = _album(tmp_path / "album", 4)
    before = _digests(album)
    q = tmp_path / "q"
    res = _run("remove", str(album), "-m", "phash", "--no-cache", "--apply", "--move-to", str(q))
    assert res.exit_code == 0, res.output
    journal = q / "manifest.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    assert len(lines) == 6  # planned + done for each of three files
    journal.write_bytes(b"".join(lines[:2]) + lines[2][:100])  # the first move, and the next line cut short
    res = _run("undo", str(q))
    assert res.exit_code == 1, res.output
    assert "holds only the journal" not in res.output
    left = sorted(p.name for p in q.glob("*.png"))
    assert len(left) == 2
    for name in left:
        assert f"{q / name}: still in the quarantine" in res.output
    # with the journal whole again, the rest comes back
    journal.write_bytes(b"".join(lines))
    res = _run("undo", str(q))
    assert res.exit_code == 0, res.output
    assert _digests(album) == before


def _icon_with_png_frame(side: int) -> bytes:
    """An .ico whose directory says 256 x 256 but whose PNG frame is ``side`` x ``side`` RGBA (blank: it packs
    into little; 12000 x 12000 is 560 KB)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = zlib.compress(b"\0" * ((4 * side + 1) * side), 9)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0))
           + chunk(b"IDAT", rows) + chunk(b"IEND", b""))
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 22) + png


@pytest.mark.unit
def test_an_icon_frame_larger_than_its_directory_says_is_held_to_the_limits_before_decoding(monkeypatch) -> None:
    """Pillow decodes an icon's frame while *opening* it, at the frame's own size, whatever the directory says (at
    most 256 x 256): a 560 KB .ico with a 12000 x 12000 frame took 1.2 GB of memory, outside the shared decode
    budget (so one a thread), before the size limit refused it. Now the frames' own headers are read first."""
    from PIL import IcoImagePlugin

    from imagetwins import io as tio

    loads: list[int] = []
    real_load = IcoImagePlugin.IcoImageFile.load

    def load(self):
        loads.append(tio.DECODE_BUDGET.used)
        return real_load(self)

    monkeypatch.setattr(IcoImagePlugin.IcoImageFile, "load", load)
    bomb = _icon_with_png_frame(2000)  # 2000 x 2000 RGBA: 36 MB at the peak, over a 20 MB limit
    with pytest.raises(tio.ImageReadError, match=r"an icon frame of 2000x2000 RGBA: 36,000,000 bytes > limit"):
        tio.open_image(bomb, max_decoded_bytes=20_000_000)
    assert loads == []  # refused before Pillow decoded anything
    with tio.quiet_decoder_warnings():  # (Pillow: "Image was not the expected size")
        img = tio.open_image(bomb, max_decoded_bytes=40_000_000)  # within the limit: decoded, its cost held first
    assert img.size == (2000, 2000)
    assert loads and loads[0] >= tio.decode_cost("RGBA", 2000, 2000)
    assert tio.DECODE_BUDGET.used == 0
