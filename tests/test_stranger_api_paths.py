"""What a new user met through the README's Python API (session 12): a mistyped folder given to
``imagetwins.check`` / ``find_against`` said something else. Each test failed before its fix."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

import imagetwins
from imagetwins.finder import find_against


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "test"
    folder.mkdir()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(folder / "a.png")
    return folder


@pytest.mark.unit
def test_check_against_a_mistyped_training_folder_names_the_missing_folder(tmp_path: Path) -> None:
    """``check("test", "trian/")`` raised IndexFileError "no index at trian; make one with 'imagetwins index update
    DIR --db trian'": the folder was taken for an index file to make."""
    test = _folder(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no such folder or index: '.*trian'") as caught:
        imagetwins.check(test, tmp_path / "trian/", method="phash")
    assert "index update" not in str(caught.value)
    with pytest.raises(FileNotFoundError, match="no such folder or index"):
        find_against(test, tmp_path / "trian", "phash")


@pytest.mark.unit
def test_check_of_a_mistyped_test_folder_raises_as_find_does(tmp_path: Path) -> None:
    """``check("tset", "train")`` returned a failed check saying "no image read in tset (1 unreadable)", and
    ``find_against`` "0 of 0 images, 1 unreadable", where ``imagetwins.find("tset")`` says "no such folder"."""
    train = _folder(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no such folder or image: '.*tset'"):
        imagetwins.check(tmp_path / "tset", train, method="phash")
    with pytest.raises(FileNotFoundError, match="no such folder or image"):
        find_against(str(tmp_path / "tset"), train, "phash")
    # files listed one by one still report a missing one among them as unreadable, as before
    result = find_against([str(train / "a.png"), str(tmp_path / "gone.png")], train, "phash", cache=False)
    assert [f.path for f in result.failures] == [str(tmp_path / "gone.png")]


@pytest.mark.unit
def test_find_with_keep_in_but_no_keep_says_keep_in_does_nothing(tmp_path: Path) -> None:
    """``imagetwins.find("photos/", keep_in="photos/originals")`` (no ``keep=``) ran and returned groups without
    keepers, the reference folder silently unused (a mistyped one too): the caller thought it protected."""
    photos = _folder(tmp_path)
    (photos / "originals").mkdir()
    for keep_in in ("nonexistent", photos / "originals", [photos / "originals"]):
        with pytest.raises(ValueError, match="give keep= too"):
            imagetwins.find(photos, "phash", keep_in=keep_in, cache=False)
    assert not imagetwins.find(photos, "phash", cache=False).decisions  # without keep_in: no keepers, as before
    result = imagetwins.find(photos, "phash", keep="original", keep_in=photos / "originals", cache=False)
    assert result.groups == []
