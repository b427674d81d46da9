"""The one encoding loop: every method through it, one decode per file, failures reported, order kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagetwins.encoders import get_encoder
from imagetwins.encoding import Stage, encode_files
from imagetwins.hashing import hash_files


class CountingStage(Stage):
    """A stage that records how often it is asked to prepare an image, and what size it got."""

    name = "count"
    min_side = 64
    batch_size = 3

    def __init__(self) -> None:
        self.prepared = 0
        self.batches: list[int] = []
        self.smallest_side = 10**9

    def prepare(self, img: Image.Image) -> np.ndarray:
        self.prepared += 1
        self.smallest_side = min(self.smallest_side, *img.size)
        return np.asarray(img.resize((4, 4)), dtype=np.float32).reshape(-1)

    def encode_batch(self, prepared: list[np.ndarray]) -> np.ndarray:
        self.batches.append(len(prepared))
        return np.stack(prepared)

    def empty(self) -> np.ndarray:
        return np.empty((0, 48), np.float32)


def _folder(tmp_path: Path, datasets: Path, n: int = 8) -> list[Path]:
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))[:n]
    files = []
    for k, p in enumerate(photos):
        files.append(tmp_path / f"{k:02d}.jpg")
        shutil.copy(p, files[-1])
    (tmp_path / "03.jpg").write_bytes(b"not an image")
    return files


@pytest.mark.integration
def test_several_methods_share_one_decode_and_keep_the_input_order(tmp_path: Path, datasets: Path) -> None:
    files = _folder(tmp_path, datasets)
    counting = CountingStage()
    out = encode_files(list(reversed(files)), [counting, get_encoder("phash"), get_encoder("dhash")], workers=2,
                       warn=False)
    readable = [str(f) for f in reversed(files) if f.name != "03.jpg"]
    assert out.paths == readable
    assert [f.path for f in out.failures] == [str(tmp_path / "03.jpg")] and "not an image" in out.failures[0].reason
    assert counting.prepared == 7 and sum(counting.batches) == 7 and max(counting.batches) <= 3
    # decoded once, at the largest side any stage needs (phash's 192), not at each stage's own
    assert counting.smallest_side >= 192
    assert out.by_method["count"].shape == (7, 48)
    # each method's rows equal what it makes alone
    alone = hash_files(readable, methods=("phash", "dhash"), warn=False)
    assert np.array_equal(out.by_method["phash"], alone.hashes["phash"])
    assert np.array_equal(out.by_method["dhash"], alone.hashes["dhash"])
    assert len(out.digests) == 7 and len(set(out.digests)) == 7


@pytest.mark.unit
def test_nothing_to_encode_gives_empty_rows_of_the_right_shape() -> None:
    out = encode_files([], [get_encoder("phash"), get_encoder("dihedral"), CountingStage()])
    assert out.by_method["phash"].shape == (0,) and out.by_method["dihedral"].shape == (0, 4)
    assert out.by_method["count"].shape == (0, 48) and out.paths == [] and out.failures == []


@pytest.mark.unit
def test_every_file_failing_is_reported_not_raised(tmp_path: Path) -> None:
    bad = [tmp_path / "a.jpg", tmp_path / "missing.jpg"]
    bad[0].write_bytes(b"\xff\xd8\xff\xe0 truncated")
    out = get_encoder("phash").encode_files(bad, warn=False)
    assert out.paths == [] and [f.path for f in out.failures] == [str(p) for p in bad]
    assert out.encodings.shape == (0,)


@pytest.mark.unit
def test_a_known_digest_stands_only_while_the_file_is_as_it_was(tmp_path: Path) -> None:
    """``known_digests`` (the index's look for a stored row of the same bytes read the file already): the digest given
    is taken while the file's state is the one given, and the bytes are hashed again once the file changed."""
    import hashlib
    import os

    from conftest import synthetic_photo

    from imagetwins.encoding import file_state

    photo = tmp_path / "a.png"
    synthetic_photo(64, 48, 0).save(photo)
    real = hashlib.sha256(photo.read_bytes()).hexdigest()
    told = "0" * 64  # (a digest no file has: shows which one was taken)
    stage = get_encoder("phash")
    as_it_was = encode_files([photo], [stage], workers=1, known_digests={str(photo): (told, file_state(str(photo)))})
    assert as_it_was.digests == [told]
    before = file_state(str(photo))
    synthetic_photo(64, 48, 1).save(photo)  # (written since the digest was taken)
    os.utime(photo, ns=(before[3], before[3]))  # (its mtime put back: the ctime still moved)
    changed = encode_files([photo], [stage], workers=1, known_digests={str(photo): (told, before)})
    assert changed.digests == [hashlib.sha256(photo.read_bytes()).hexdigest()] != [real]
