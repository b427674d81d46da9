"""The keep rules' facts come from the scan's one read (or the cache): choosing keepers decodes nothing again."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import Decodes
from PIL import Image, ImageOps

from imagetwins import facts, io, keep
from imagetwins.finder import find_duplicate_groups
from imagetwins.index import Index
from imagetwins.timing import Timings, stage

pytestmark = pytest.mark.integration


def _camera(datasets: Path, which: list[int]) -> list[Path]:
    photos = sorted((datasets / "camera-photos" / "images").glob("*.jpg"))
    return [photos[i] for i in which]


def _upright(src: Path) -> tuple[Image.Image, bytes]:
    """The photo turned upright, and its EXIF saying so (orientation 1)."""
    with Image.open(src) as im:
        exif = im.getexif()
        exif[0x0112] = 1
        return ImageOps.exif_transpose(im), exif.tobytes()


@pytest.fixture
def grouped(tmp_path: Path, datasets: Path) -> Path:
    """Three camera photos, each beside a half-size copy without EXIF (pixel counts differ: the border and
    enlargement checks run) and one beside a padded copy."""
    folder = tmp_path / "grouped"
    folder.mkdir()
    for i, src in enumerate(_camera(datasets, [0, 3, 4])):
        up, exif = _upright(src)
        up.save(folder / f"{i}_orig.jpg", quality=90, exif=exif)
        up.resize((up.width // 2, up.height // 2)).save(folder / f"{i}_half.jpg", quality=85)
    return folder


def _run(folder: Path, db: Path):
    with Index(db, methods=["phash"]) as cache:
        result = find_duplicate_groups(folder, "phash", cache=cache)
    return result, keep.decide_result(result)


def test_a_warm_rerun_of_grouped_camera_photos_decodes_nothing(grouped: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "i.db"
    first, first_decisions = _run(grouped, db)
    assert len(first.groups) == 3 and all(len(g.files) == 2 for g in first.groups)
    counted = Decodes(monkeypatch)
    again, decisions = _run(grouped, db)
    assert counted.loads == 0 and counted.opens == 0
    assert [d.keep for d in decisions] == [d.keep for d in first_decisions]
    # the camera's own full-size file is kept, its half-size copy offered for removal
    assert all(d.keeper.endswith("_orig.jpg") and d.remove[0].endswith("_half.jpg") for d in decisions)


def test_keepers_from_the_scans_facts_equal_keepers_from_reading_the_files(grouped: Path, datasets: Path,
                                                                           tmp_path: Path) -> None:
    # a padded copy beside its source: the border check decides, from the scan's facts or from a decode
    up, _ = _upright(_camera(datasets, [5])[0])
    up.save(grouped / "3_orig.jpg", quality=90)
    ImageOps.expand(up, border=up.width // 40, fill="black").save(grouped / "3_padded.jpg", quality=90)
    result = find_duplicate_groups(grouped, "phash")  # no cache: facts from the scan's own decode
    assert any(p.endswith("3_padded.jpg") for g in result.groups for p in g.files)
    assert result.facts and len(result.facts) == len(result.files)
    paths = [p for g in result.groups for p in g.files]
    from_scan = keep.result_infos(result)
    from_files = keep.file_infos(paths)
    for p in paths:
        a, b = from_scan[p], from_files[p]
        assert (a.width, a.height, a.format, a.taken, a.camera, a.size) == (b.width, b.height, b.format, b.taken,
                                                                             b.camera, b.size)
        share, aspect = a.border
        share_read, aspect_read = keep._border(p)
        assert abs(share - share_read) < 0.03 and abs(aspect / aspect_read - 1) < 0.03
    groups = [g.files for g in result.groups]
    assert [d.keep for d in keep.decide_groups(groups, infos=from_scan)] == \
        [d.keep for d in keep.decide_groups(groups, infos=from_files)]


def test_facts_apply_the_exif_orientation_and_read_the_capture_date(datasets: Path) -> None:
    rotated = datasets / "camera-photos" / "images" / "mei__Samsung_SM-J327T1.jpg"  # orientation 6
    data = rotated.read_bytes()
    small = io.open_image(data, min_size=256)
    found = facts.image_facts(data, str(rotated), small)
    info = keep.file_info(rotated)
    assert (found.width, found.height) == (info.width, info.height) and found.width < found.height
    assert found.taken == info.taken and found.taken is not None
    assert facts.ImageFacts.from_bytes(found.to_bytes()) == found
    with pytest.raises(ValueError):
        facts.ImageFacts.from_bytes(b"[1, 2")


def test_a_cache_made_before_facts_were_kept_measures_once_then_never(grouped: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "old.db"
    _run(grouped, db)
    with Index(db, methods=[]) as store:
        store.db.execute("DELETE FROM facts")  # as an index written before facts were kept
    _run(grouped, db)  # measures the grouped files once and keeps their facts
    counted = Decodes(monkeypatch)
    _run(grouped, db)
    assert counted.loads == 0


def test_timings_add_up_and_inner_stages_are_taken_out_of_outer_ones() -> None:
    with Timings() as t:
        with stage("outer"):
            time.sleep(0.02)
            with stage("inner"):
                time.sleep(0.03)
    split = t.split()
    assert split["inner"] >= 0.03 and split["outer"] >= 0.02
    assert split["outer"] + split["inner"] <= t.seconds
    assert abs(sum(split.values()) - t.seconds) < 1e-3  # (under half a millisecond outside any stage is not listed)


def test_a_result_carries_its_stage_timings(grouped: Path) -> None:
    result = find_duplicate_groups(grouped, "phash")
    assert {"scan", "search"} <= set(result.timings)
    assert sum(result.timings.values()) <= result.seconds + 1e-6


def test_a_heic_is_decoded_from_its_embedded_thumbnail_when_that_is_large_enough(tmp_path: Path, photo: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    from imagetwins.hashing import hash_image

    with Image.open(photo) as im:
        big = im.convert("RGB").resize((600, 400))
    path = tmp_path / "phone.heic"
    big.save(path, quality=90, thumbnails=[320])
    small = io.open_image(path, min_size=192)  # what the hashes ask for
    assert small.size[0] == 320 and 210 <= small.size[1] <= 214
    full = io.open_image(path)
    assert full.size == (600, 400)
    assert io.open_image(path, min_size=192, min_long_side=400).size == (600, 400)  # the thumbnail is too small
    assert bin(int(hash_image(small, "phash")) ^ int(hash_image(full, "phash"))).count("1") <= 4
