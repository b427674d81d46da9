"""A group of one picture saved with EXIF orientations 1-8 (each file shows the same upright picture) keeps a file
whose tag needs no mirroring (1, or a turn: 3, 6, 8) over a mirrored one (2, 4, 5, 7: a tool flipped the pixels and
tagged them to be flipped back; no camera writes such a tag), and among files of the same pixels the camera's own
JPEG. Before, the files tied down to their dates and the oldest was kept, mirrored or not. Real files: the
orientation examples of camera-photos (purpose-made, tagged 1 to 8) and a phone's photo stored turned (tag 6)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageOps

import imagetwins
from imagetwins import keep

MIRRORED = {2, 4, 5, 7}
# the transpose that undoes each tag's display transform (Pillow's exif_transpose applies the tag's own)
_STORE = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
          4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
          7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}


def _dated(files: dict[int, Path], oldest: int) -> None:
    """``oldest``'s file an hour older than the rest (which the date rule would keep)."""
    for tag, f in files.items():
        t = 1_600_000_000 + (0 if tag == oldest else 3_600 * tag)
        os.utime(f, (t, t))


def _keeper(folder: Path) -> str:
    result = imagetwins.find(folder, keep="original", cache=False, decisions=False)
    [decision] = result.decisions
    assert len(decision.files) == len(os.listdir(folder))  # (one group of them all)
    return os.path.basename(decision.keeper)


@pytest.mark.integration
@pytest.mark.parametrize("oldest", sorted(MIRRORED))
def test_the_orientation_examples_keep_a_file_that_needs_no_mirroring(datasets: Path, tmp_path: Path,
                                                                      oldest: int) -> None:
    src = datasets / "camera-photos" / "orientation-examples" / "exifsamples"
    files = {tag: tmp_path / f"landscape_{tag}.jpg" for tag in range(1, 9)}
    for tag, f in files.items():
        shutil.copyfile(src / f.name, f)
        with Image.open(f) as im:
            assert im.getexif().get(0x0112) == tag
    _dated(files, oldest)
    kept = _keeper(tmp_path)
    assert int(kept.rsplit("_", 1)[1][0]) not in MIRRORED  # (before: landscape_{oldest}.jpg)


def _resaves(photo: Path, folder: Path) -> dict[int, Path]:
    """The phone's photo saved again (Pillow, its EXIF kept) with each orientation tag, its pixels stored so that
    every file shows the same upright picture."""
    with Image.open(photo) as im:
        exif = im.getexif()
        upright = ImageOps.exif_transpose(im).convert("RGB")
    out = {}
    for tag, store in _STORE.items():
        exif[0x0112] = tag
        f = folder / f"resave_{tag}.jpg"
        (upright if store is None else upright.transpose(store)).save(f, quality=95, exif=exif.tobytes())
        with Image.open(f) as im:
            assert ImageOps.exif_transpose(im).size == upright.size
        out[tag] = f
    return out


@pytest.mark.integration
@pytest.mark.parametrize("first", [2, 5])
def test_a_phones_photo_beside_its_resaves_tagged_1_to_8(datasets: Path, tmp_path: Path, first: int) -> None:
    """The re-saves keep the phone's EXIF date, so they tie down to their names: the mirrored one ``first`` has the
    shortest (before, it was kept once the phone's own file was gone)."""
    photo = tmp_path / "IMG_0001.jpg"
    shutil.copyfile(datasets / "camera-photos" / "images" / "mei__Samsung_SM-J327T1.jpg", photo)
    with Image.open(photo) as im:
        assert im.getexif().get(0x0112) == 6  # (stored turned, as the phone wrote it)
    assert keep.camera_written(str(photo))
    resaves = _resaves(photo, tmp_path)
    resaves[first] = resaves[first].rename(tmp_path / "a.jpg")
    _dated({**resaves, 9: photo}, first)
    assert _keeper(tmp_path) == photo.name  # the camera's own file, whatever the others' names and dates
    photo.unlink()
    tag = {f.name: t for t, f in resaves.items()}[_keeper(tmp_path)]
    assert tag not in MIRRORED  # (before: a.jpg, tagged ``first``)


@pytest.mark.unit
def test_the_mirror_mark_is_read_only_of_files_tied_for_the_keeper(tmp_path: Path, monkeypatch) -> None:
    exif = Image.Exif()
    exif[0x0112] = 2
    files = {"small.jpg": (40, 30), "big.jpg": (80, 60), "twin.jpg": (80, 60)}
    for name, size in files.items():
        Image.new("RGB", size, "red").save(tmp_path / name, exif=exif.tobytes() if name != "twin.jpg" else b"")
    infos = [keep.file_info(tmp_path / name) for name in files]
    read: list[str] = []
    marks = keep._header_marks
    monkeypatch.setattr(keep, "_header_marks", lambda path: read.append(os.path.basename(path)) or marks(path))
    keep._marks_at.cache_clear()
    assert os.path.basename(keep.choose_keeper(infos[:2]).path) == "big.jpg"
    assert read == []  # (one file at the top: nothing read)
    assert os.path.basename(keep.choose_keeper(infos).path) == "twin.jpg"  # (big.jpg is tagged mirrored)
    assert sorted(read) == ["big.jpg", "twin.jpg"]  # (the small one is no candidate: never read)


@pytest.mark.integration
def test_a_star_of_its_whole_set_is_chosen_once_and_each_header_read_once(datasets: Path, tmp_path: Path,
                                                                          monkeypatch) -> None:
    """The keep stage of one group (a phone's photo beside its re-saves tagged 1-8): the keeper is chosen once (the
    star is the whole set: decide takes the star's keeper, no second choice) and each file's header is read once,
    for every header rule (camera's own JPEG, mirrored, JPEG quality). Before: two choices, and up to a header read
    per rule and per choice."""
    photo = tmp_path / "IMG_0001.jpg"
    shutil.copyfile(datasets / "camera-photos" / "images" / "mei__Samsung_SM-J327T1.jpg", photo)
    _resaves(photo, tmp_path)
    result = imagetwins.find(tmp_path, method="phash", cache=False, decisions=False)
    assert [len(g.files) for g in result.groups] == [9]
    chosen, read = [], []
    choose, marks = keep.choose_keeper, keep._header_marks
    monkeypatch.setattr(keep, "choose_keeper", lambda *a, **k: chosen.append(1) or choose(*a, **k))
    monkeypatch.setattr(keep, "_header_marks", lambda path: read.append(path) or marks(path))
    keep._marks_at.cache_clear()
    decided = keep.decide_keepers(result)
    assert [os.path.basename(d.keeper) for d in decided.decisions] == [photo.name]
    assert len(chosen) == 1
    assert read and len(read) == len(set(read))
