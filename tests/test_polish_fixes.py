"""What a newcomer pass met late in a session (find --pairs' verdicts, the copies bar, check's wording for one
file). Each test failed before its fix."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from imagetwins.cli import main


def _photos(datasets: Path, n: int) -> list[Path]:
    return sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:n]


@pytest.mark.cli
def test_check_of_one_file_says_it_of_the_file(tmp_path: Path, datasets: Path) -> None:
    """``check test/x.jpg --against train`` summed up as "1 of 1 image in test/x.jpg has a duplicate": a set's
    words for one file. Said of the file now: it has a duplicate, has none, or could not be read."""
    first, second, third = _photos(datasets, 3)
    train = tmp_path / "train"
    train.mkdir()
    shutil.copy(first, train / "a.jpg")
    shutil.copy(second, train / "b.jpg")
    test = tmp_path / "test"
    test.mkdir()
    shutil.copy(first, test / "leak.jpg")
    shutil.copy(third, test / "new.jpg")
    (test / "broken.jpg").write_bytes(b"\xff\xd8\xff not a picture")
    said = {}
    for name in ("leak.jpg", "new.jpg", "broken.jpg"):
        res = CliRunner().invoke(main, ["check", str(test / name), "--against", str(train), "-m", "phash",
                                        "--no-cache"])
        assert "1 of 1" not in res.output and " of 1 image" not in res.output, res.output
        said[name] = res.output
    reference = f"the 2 images of {train} (phash, threshold 10)"
    assert f"{test / 'leak.jpg'} has a duplicate among {reference}" in said["leak.jpg"]
    assert f"{test / 'new.jpg'} has no duplicate among {reference}" in said["new.jpg"]
    assert f"{test / 'broken.jpg'} could not be read: not compared with {reference}" in said["broken.jpg"]
    res = CliRunner().invoke(main, ["check", str(test), "--against", str(train), "-m", "phash", "--no-cache"])
    assert f"1 of 2 images in {test} has a duplicate among {reference}; 1 unreadable" in res.output


class _FakeBar:
    """A progress sink standing in for tqdm: records the share done each time it is drawn."""

    made: list[_FakeBar] = []

    def __init__(self, total: int | None = None, unit: str = "it", desc: str = "", **options) -> None:
        self.total, self.desc, self.n, self.closed = total, desc, 0, False
        self.shares: list[float] = []
        _FakeBar.made.append(self)

    def _draw(self) -> None:
        assert not self.closed
        self.shares.append(self.n / self.total if self.total else float("nan"))

    def update(self, n: int = 1) -> None:
        self.n += n
        self._draw()

    def refresh(self) -> None:
        self._draw()

    def close(self) -> None:
        self.closed = True


@pytest.mark.integration
def test_the_verifying_bar_never_goes_back(tmp_path: Path, datasets: Path, monkeypatch) -> None:
    """``copies``' "verifying" bar was one bar whose total grew with each round of re-proposals, so the share shown
    went back (93 % -> 72 %). Each round is a bar of its own now, with its total known when it is made: no bar's
    share ever goes back or passes 100 %, and each ends full."""
    from imagetwins import progress
    from imagetwins.finder import find_duplicate_groups

    album = tmp_path / "album"
    album.mkdir()
    for i, path in enumerate(_photos(datasets, 12)):  # (5 families of edits: re-proposed after the first round)
        im = Image.open(path).convert("RGB")
        im.save(album / f"o{i}.jpg", quality=90)
        if i < 5:
            w, h = im.size
            im.crop((w // 5, h // 5, w - w // 5, h - h // 5)).save(album / f"c{i}.jpg", quality=85)
            im.resize((w // 2, h // 2)).save(album / f"t{i}.jpg", quality=70)
            im.transpose(Image.FLIP_LEFT_RIGHT).crop((0, 0, w * 3 // 4, h)).save(album / f"m{i}.jpg", quality=80)
    _FakeBar.made = []
    monkeypatch.setattr(progress, "progress_bar", _FakeBar)
    find_duplicate_groups(album, "copies", recursive=True, workers=2, progress=True)
    verifying = [b for b in _FakeBar.made if b.desc.startswith("verifying")]
    assert sum(len(b.shares) for b in verifying) > 40, [b.desc for b in _FakeBar.made]
    for bar in verifying:
        assert bar.total and bar.closed
        assert bar.shares == sorted(bar.shares) and bar.shares[-1] == 1.0, (bar.desc, bar.shares)
    assert [b.desc for b in verifying][:2] == ["verifying", "verifying (round 2)"]
