"""Stored copies records read back fast and safely: the raw features format, the .npz written before, damaged
blobs made again (or reported), and a cache made with other parameters rebuilt rather than refused."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from index_files import damage_encoding, rewrite_identity

from imagetwins import verify
from imagetwins.copies import CopyRecord
from imagetwins.finder import find_against, find_duplicate_groups
from imagetwins.index import Index, default_cache_path, open_folder_cache

pytestmark = pytest.mark.integration

pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def folder(tmp_path_factory, datasets: Path) -> Path:
    """Four photos and a half crop of one of them (found only through verification)."""
    from PIL import Image

    from imagetwins import edits

    out = tmp_path_factory.mktemp("stored-records")
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[60:64]
    for p in photos:
        shutil.copyfile(p, out / p.name)
    img = Image.open(photos[0]).convert("RGB")
    edits.EDITS["crop_half"](img, np.random.default_rng(0)).save(out / "crop.jpg", quality=90)
    return out


def _groups(result) -> set[frozenset[str]]:
    return {frozenset(Path(f).name for f in g.files) for g in result.groups}


def _old_npz_bytes(f: verify.ImageFeatures) -> bytes:
    """What ImageFeatures.to_bytes wrote before the raw format (np.savez)."""
    buf = io.BytesIO()
    np.savez(buf, version=np.int32(verify.FEATURES_VERSION), size=np.int32(f.size),
             points=f.points.astype(np.float16), descriptors=f.descriptors,
             mirror_points=f.mirror_points.astype(np.float16), mirror_descriptors=f.mirror_descriptors,
             thumbnail=f.thumbnail)
    return buf.getvalue()


def test_features_round_trip_and_the_old_format_still_reads(folder: Path) -> None:
    f = verify.features_for_files([folder / "crop.jpg"], workers=1)[0][str(folder / "crop.jpg")]
    for data in (f.to_bytes(), _old_npz_bytes(f)):
        g = verify.ImageFeatures.from_bytes(data)
        assert g.size == f.size and np.array_equal(g.descriptors, f.descriptors)
        assert np.allclose(g.points, f.points, atol=0.25) and np.array_equal(g.thumbnail, f.thumbnail)
        assert verify.verify_pair(f, g).confidence > 0.9
    raw = f.to_bytes()
    for bad in (raw[:-1], raw + b"\0", raw[:40], b"PK" + raw[2:], _old_npz_bytes(f)[:-100], b""):
        with pytest.raises(ValueError):
            verify.ImageFeatures.from_bytes(bad)


def test_a_record_with_a_damaged_vector_is_refused(folder: Path) -> None:
    from imagetwins.encoders import get_encoder

    rec = get_encoder("copies").encode_files([folder / "crop.jpg"], workers=1).encodings[0]
    data = bytearray(rec.to_bytes())
    data[40:44] = b"xxxx"  # a float of 2e34 inside the CNN vector
    with pytest.raises(ValueError, match="unit length"):
        CopyRecord.from_bytes(bytes(data))


def _damage(db: Path, name: str, how: str) -> None:
    damage_encoding(db, name, "copies",
                    lambda blob: blob[: len(blob) // 2] if how == "truncate" else blob[:40] + b"xxxx" + blob[44:])


def test_damaged_blobs_are_made_again_or_reported_never_a_traceback(folder: Path, tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    with Index(db, methods=["copies"]) as idx:
        idx.update(folder)
        want = _groups(idx.find_duplicates("copies"))
    original = sorted(p.name for p in folder.glob("*.jpg"))[0]  # the photo crop.jpg was cut from
    assert want == {frozenset({original, "crop.jpg"})}
    _damage(db, "crop.jpg", "truncate")
    _damage(db, original, "vector")
    # read-only (--against x.db): the two files are left out and named, with the reason
    result = find_against(folder / "crop.jpg", db, "copies", workers=1)
    reasons = {Path(f.path).name: f.reason for f in result.reference_failures}
    assert set(reasons) == {original, "crop.jpg"} and all("damaged" in r for r in reasons.values())
    assert result.reference_images == 3
    # writable: encoded again from the files, the groups come back, and the blobs are sound again
    with Index(db, methods=["copies"]) as idx:
        assert _groups(idx.find_duplicates("copies")) == want
        assert not idx.errors()
    with Index(db, methods=[], readonly=True) as idx:
        assert len(idx.load("copies")[0]) == 5 and not idx.damaged


def test_a_cache_made_with_other_parameters_is_rebuilt_not_refused(folder: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    shutil.copytree(folder, photos)
    with open_folder_cache(photos, ["copies"]) as cache:
        want = _groups(find_duplicate_groups(photos, "copies", cache=cache))
    # as if FEATURES_VERSION had changed since
    rewrite_identity(default_cache_path(photos), "copies", lambda identity: {**identity, "features_version": -1})
    with Index(default_cache_path(photos), methods=[], readonly=True) as idx:
        assert len(idx.pair_scores()) > 0
    with open_folder_cache(photos, ["copies"]) as cache:
        assert cache.pair_scores() == []
        stats = cache.update(photos, methods=["copies"])
        assert stats.completed == 5
        assert _groups(find_duplicate_groups(photos, "copies", cache=cache)) == want
    # an explicit index is the user's: still refused, and left as it was
    db = tmp_path / "mine.db"
    shutil.copyfile(default_cache_path(photos), db)
    rewrite_identity(db, "copies", lambda identity: {})
    with pytest.raises(Exception, match="other parameters"):
        Index(db, methods=["copies"])
    with Index(db, methods=[], readonly=True) as idx:
        assert idx.stats()["encodings"] == {"copies": 5}
