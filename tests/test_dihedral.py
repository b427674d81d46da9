"""The dihedral hash: flipped and rotated copies of real photos match their original."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from quality_limits import check

from imagetwins import edits
from imagetwins.hashing import dihedral_variants, hash_files, hash_image
from imagetwins.methods import DihedralHash, PHash
from imagetwins.search import dihedral_pairs, dihedral_query


def _min_distance(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.bitwise_count(dihedral_variants(a[None])[0] ^ b[None]).sum(axis=1).min())


@pytest.fixture(scope="module")
def photos(datasets: Path) -> list[Image.Image]:
    files = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:6]
    return [Image.open(f).convert("RGB") for f in files]


@pytest.mark.integration
@pytest.mark.parametrize("edit", ["hflip", "vflip", "rot90", "rot180", "rot270"])
def test_flips_and_quarter_turns_match_at_distance_zero_or_close(photos, edit: str) -> None:
    rng = np.random.default_rng(0)
    for img in photos:
        original = hash_image(img, "dihedral")
        copy = hash_image(edits.EDITS[edit](img, rng), "dihedral")
        assert _min_distance(copy, original) <= 2
        # while the classic PHash loses the copy
        assert int(np.bitwise_count(hash_image(img) ^ hash_image(edits.EDITS[edit](img, rng)))) > 10


@pytest.mark.quality
@pytest.mark.parametrize("edit", ["border", "resize_square", "jpeg", "grayscale", "downscale"])
def test_other_edits_stay_well_inside_the_default_threshold(photos, edit: str) -> None:
    rng = np.random.default_rng(1)
    for img in photos:
        check("dihedral-edit-max-distance",
              _min_distance(hash_image(edits.EDITS[edit](img, rng), "dihedral"), hash_image(img, "dihedral")))


@pytest.mark.quality
def test_unrelated_photos_stay_far_apart_in_every_orientation(datasets: Path) -> None:
    files = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:120]
    h = hash_files(files, methods=("dihedral",)).hashes["dihedral"]
    assert h.shape == (120, 4)
    check("dihedral-unrelated-pairs", len(dihedral_pairs(h, 80)))


@pytest.mark.integration
def test_variants_are_a_group_action_on_bits(photos) -> None:
    h = hash_image(photos[0], "dihedral")
    v = dihedral_variants(h[None])[0]
    assert np.array_equal(v[0], h)
    assert len({tuple(x) for x in v.tolist()}) == 8
    # applying any orientation twice to a flip returns the start: flips are involutions
    for k in (1, 2, 3, 4):
        assert np.array_equal(dihedral_variants(v[k][None])[0][k], h)


@pytest.mark.integration
def test_dihedral_query_matches_pairs(datasets: Path) -> None:
    files = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:30]
    h = hash_files(files, methods=("dihedral",)).hashes["dihedral"]
    flipped = np.stack([hash_image(Image.open(f).convert("RGB").transpose(Image.Transpose.ROTATE_90), "dihedral")
                        for f in files[:5]])
    q = dihedral_query(flipped, h, 72)
    assert set(zip(q.left.tolist(), q.right.tolist())) == {(i, i) for i in range(5)}


@pytest.mark.integration
def test_facade_finds_mirrored_copies_that_phash_misses(tmp_path: Path, datasets: Path) -> None:
    files = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:8]
    for f in files:
        Image.open(f).save(tmp_path / f.name)
    Image.open(files[0]).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp_path / "mirror.jpg", quality=90)
    Image.open(files[1]).transpose(Image.Transpose.ROTATE_270).save(tmp_path / "turned.png")
    found = DihedralHash(verbose=False).find_duplicates(image_dir=tmp_path, scores=True)
    assert [n for n, _ in found["mirror.jpg"]] == [files[0].name]
    assert [n for n, _ in found["turned.png"]] == [files[1].name]
    assert all(not v for k, v in found.items() if k not in {"mirror.jpg", "turned.png", files[0].name, files[1].name})
    assert PHash(verbose=False).find_duplicates(image_dir=tmp_path)["mirror.jpg"] == []
    enc = DihedralHash(verbose=False).encode_images(tmp_path)
    assert all(len(v) == 64 for v in enc.values())
    with warnings.catch_warnings():  # num_enc_workers not set: no warning about it
        warnings.simplefilter("error", RuntimeWarning)
        again = DihedralHash(verbose=False).find_duplicates(encoding_map=enc, scores=True)
    assert again == found
