"""What a newcomer pass met late in a session (find --pairs' verdicts, the copies bar, check's wording for one
file). Each test failed before its fix."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

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
