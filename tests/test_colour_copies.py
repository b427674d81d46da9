"""Colour-shifted copies on real photos: found through the colour lighting fit, while a real re-shot of one scene
stays a re-shot; and an index written before the features carried colour (FEATURES_VERSION 2) still works.

Held-out rates: BENCHMARKS.md, "Quality on everyday edit families" (``benchmarks/quality.py --families``).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
from features_versions import record_as_version_2
from index_files import damage_encoding, rewrite_identity
from PIL import Image

from imagetwins import copies, verify
from imagetwins.encoders import get_encoder
from imagetwins.index import Index, IndexMismatchError, default_cache_path, open_folder_cache
from imagetwins.io import open_image
from imagetwins.scores import Verdict

pytest.importorskip("cv2")

#: photos-public (fit source) photos whose hue-turned copy the grey lighting fit alone puts under the default
PHOTOS = (3, 30, 90)
#: two shots of one scene (holidays-half group 1268, an even group: the tuning split) under light of another
#: colour: the colour fit explains half of what the grey fit leaves, and more of the two pictures disagree than a
#: copy's
RESHOT = ("126805.jpg", "126806.jpg")


def _hue_turned(img: Image.Image, degrees: float, saturation: float = 1.0) -> Image.Image:
    """The picture with its hue turned (and its saturation scaled): every colour's grey level moves its own way."""
    hsv = np.asarray(img.convert("HSV"), dtype=np.float32)
    hsv[..., 0] = (hsv[..., 0] + degrees / 360 * 256) % 256
    hsv[..., 1] = np.clip(hsv[..., 1] * saturation, 0, 255)
    return Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB")


def _without_colour(f: verify.ImageFeatures) -> verify.ImageFeatures:
    return dataclasses.replace(f, colour=None)


@pytest.fixture(scope="module")
def colour_copies(datasets: Path) -> list[tuple[verify.ImageFeatures, verify.ImageFeatures]]:
    """(original, copy with its hue turned by 150 degrees and its saturation x1.6) features of each photo."""
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    out = []
    for k in PHOTOS:
        img = open_image(photos[k])
        out.append((verify.extract(img), verify.extract(_hue_turned(img, 150, 1.6))))
    return out


@pytest.mark.integration
def test_a_hue_turned_copy_is_found_and_the_grey_fit_alone_misses_it(colour_copies) -> None:
    for original, copy in colour_copies:
        v = verify.verify_pair(original, copy)
        grey = verify.verify_pair(_without_colour(original), _without_colour(copy))
        assert v.verdict() is Verdict.COPY and v.confidence >= verify.DEFAULT_CONFIDENCE, v
        assert v.lighting_residual < grey.lighting_residual
    missed = [verify.verify_pair(_without_colour(o), _without_colour(c)).confidence < verify.DEFAULT_CONFIDENCE
              for o, c in colour_copies]
    assert sum(missed) >= 2  # what the colour fit is for


@pytest.mark.integration
def test_a_reshot_under_other_light_is_still_a_reshot(datasets: Path) -> None:
    files = [datasets / "holidays-half" / "images" / name for name in RESHOT]
    a, b = get_encoder("copies").encode_files(files, workers=1, warn=False).encodings
    v = copies.verify_records(a, b)
    grey = verify.verify_pair(_without_colour(a.features), _without_colour(b.features))
    assert v.lighting_residual < grey.lighting_residual  # the colour fit explains part of the other light ...
    assert v.confidence < verify.DEFAULT_CONFIDENCE and v.verdict() is Verdict.RESHOT  # ... not enough for a copy
    assert copies.verify_records(b, a).confidence == v.confidence


@pytest.mark.integration
def test_a_copy_with_one_side_of_unknown_colour_is_checked_as_before(colour_copies, monkeypatch) -> None:
    """Features without colour (made by hand, or by a program that kept none): the grey fit alone, no error."""
    original, copy = colour_copies[0]

    def not_tried(*args):
        pytest.fail("the colour fit was tried without colour on one side", pytrace=False)

    monkeypatch.setattr(verify, "_colour_lighting_residual", not_tried)
    v = verify.verify_pair(_without_colour(original), copy)
    assert 0 < v.confidence < verify.DEFAULT_CONFIDENCE and v.verdict() is Verdict.RESHOT


# ---- an index written before the colour thumbnail (FEATURES_VERSION 2)

def _as_written_before(db: Path, names: list[str]) -> None:
    """Make ``db`` what the version before wrote: every record's features and the encoder's identity."""
    for name in names:
        damage_encoding(db, name, "copies", record_as_version_2)

    def before(identity: dict) -> dict:
        return {k: v for k, v in identity.items() if k != "colour_side"} | {"features_version": 2}

    rewrite_identity(db, "copies", before)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, datasets: Path) -> Path:
    """Four photos and a hue-turned copy of the first (found only through verification)."""
    out = tmp_path_factory.mktemp("colour-index")
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[60:64]
    for p in photos:
        shutil.copyfile(p, out / p.name)
    _hue_turned(Image.open(photos[0]).convert("RGB"), 150, 1.6).save(out / "turned.jpg", quality=90)
    return out


def _groups(result) -> set[frozenset[str]]:
    return {frozenset(Path(f).name for f in g.files) for g in result.groups}


@pytest.mark.integration
def test_an_index_written_before_the_colour_thumbnail_still_works(folder: Path, tmp_path: Path) -> None:
    from imagetwins.finder import find_against, find_duplicate_groups

    names = sorted(p.name for p in folder.glob("*.jpg"))
    photos = tmp_path / "photos"
    shutil.copytree(folder, photos)
    with open_folder_cache(photos, ["copies"]) as cache:
        want = _groups(find_duplicate_groups(photos, "copies", cache=cache))
    assert want == {frozenset({names[0], "turned.jpg"})}
    db = tmp_path / "mine.db"
    shutil.copyfile(default_cache_path(photos), db)
    for index in (default_cache_path(photos), db):
        _as_written_before(index, names)
        with Index(index, methods=[], readonly=True) as idx:  # the old records, as they were
            assert idx.stats()["encodings"] == {"copies": 5}
    # the folder's cache: its records made again (with colour), the copy found again, nothing reported damaged
    with open_folder_cache(photos, ["copies"]) as cache:
        assert _groups(find_duplicate_groups(photos, "copies", cache=cache)) == want
        assert not cache.errors()
    with Index(default_cache_path(photos), methods=[], readonly=True) as idx:
        rows = idx.load("copies")[1]
        assert len(rows) == 5 and all(rows[k].features.colour is not None for k in range(5))
    # an index the user named: refused in one line that says how to make it again, and left as it was ...
    with pytest.raises(IndexMismatchError, match="index update"):
        Index(db, methods=["copies"])
    with pytest.raises(IndexMismatchError):
        find_against(photos / "turned.jpg", db, "copies", workers=1)
    # ... until `index update` makes its records again
    with Index(db, methods=["copies"], rebuild_stale=True) as idx:
        idx.update(photos)
        assert _groups(idx.find_duplicates("copies")) == want
    result = find_against(photos / "turned.jpg", db, "copies", workers=1)
    assert names[0] in {Path(r).name for _, r, _ in result.rows()}


@pytest.mark.integration
def test_a_stored_record_of_the_version_before_is_refused_by_its_version(folder: Path) -> None:
    rec = get_encoder("copies").encode_files([folder / "turned.jpg"], workers=1).encodings[0]
    old = record_as_version_2(rec.to_bytes())
    with pytest.raises(ValueError, match="features version 2"):
        copies.CopyRecord.from_bytes(old)


@pytest.mark.cli
def test_the_command_line_on_an_index_written_before(folder: Path, tmp_path: Path) -> None:
    """``find --db`` on an index the version before wrote: one line that says what to run, no traceback; ``index
    update`` makes its records again, and the colour-shifted copy is found."""
    import json

    from click.testing import CliRunner

    from imagetwins.cli import main

    def run(*args: str):
        res = CliRunner().invoke(main, list(args))
        assert "Traceback" not in res.output and (res.exception is None or isinstance(res.exception, SystemExit))
        return res.exit_code, res.output

    names = sorted(p.name for p in folder.glob("*.jpg"))
    db = tmp_path / "old.db"
    assert run("index", "update", str(folder), "-m", "copies", "--db", str(db))[0] == 0
    _as_written_before(db, names)
    code, out = run("find", str(folder), "-m", "copies", "--db", str(db), "--json", "-")
    assert code != 0 and "index update" in out and len(out.strip().splitlines()) == 1, out
    assert run("index", "update", str(folder), "-m", "copies", "--db", str(db))[0] == 0
    code, out = run("find", str(folder), "-m", "copies", "--db", str(db), "--json", "-")
    assert code == 0
    groups = [sorted(Path(f).name for f in g["files"]) for g in json.loads(out[out.index("{"):])["groups"]]
    assert groups == [sorted([names[0], "turned.jpg"])]
