"""One picture saved again and again with other metadata (a shop's "no image" placeholder, a PNG with another text
chunk each time): other bytes, the same pixels. ``copies`` searched byte-identical files once but paired these one by
one, every two of them hash-sure: 2,000 of them made 2 million pairs (24.5 CPU s, 1.26 GB). Their records are now
searched once, as byte-identical files are (:func:`imagetwins.copies.first_of_equal_records`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from imagetwins import copies
from imagetwins.decisions import Remembered, apply_decisions, content_key
from imagetwins.encoders import get_encoder


def _save_with_text(img: Image.Image, path: Path, text: str) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("k", text)
    img.save(path, pnginfo=info)


@pytest.mark.unit
def test_records_alike_only_when_everything_is(tmp_path: Path) -> None:
    from conftest import synthetic_photo

    photo = synthetic_photo(320, 240, seed=3)
    _save_with_text(photo, tmp_path / "a.png", "1")
    _save_with_text(photo, tmp_path / "b.png", "2")  # the same pixels, other bytes
    _save_with_text(photo.resize((318, 238), Image.Resampling.LANCZOS), tmp_path / "c.png", "3")  # another size
    _save_with_text(synthetic_photo(320, 240, seed=4), tmp_path / "d.png", "4")
    shutil.copy(tmp_path / "a.png", tmp_path / "e.png")  # byte-identical
    files = [tmp_path / f"{x}.png" for x in "abcde"]
    encoder = get_encoder("copies")
    enc = encoder.encode_files(files, workers=1, warn=False)
    assert [Path(p).name for p in enc.paths] == [f.name for f in files]
    assert len(set(enc.digests)) == 4
    assert encoder.same_rows(enc.encodings, enc.digests).tolist() == [0, 0, 2, 3, 0]

    rows = enc.encodings
    a, c = rows[0], rows[2]
    # one hash and vector with another picture's features: not alike (a check of the one is not the other's)
    mixed = copies.CopyRecord(a.hash, a.vector, c.features)
    assert copies.first_of_equal_records([a, mixed]) is None
    # the same features with another capture stamp: not alike (the check weighs the stamps)
    stamped = copies.CopyRecord(a.hash, a.vector, a.features)
    stamped.capture = ("Canon", "EOS", "2020:01:01 10:00:00", "", "123")
    assert copies.first_of_equal_records([a, stamped]) is None
    same = copies.CopyRecord(a.hash, a.vector, a.features)
    assert copies.first_of_equal_records([a, stamped, same]).tolist() == [0, 1, 0]


@pytest.mark.integration
def test_hundreds_of_saves_of_one_picture_are_one_star(tmp_path: Path, datasets: Path) -> None:
    """300 saves of one photo with another text chunk each, a smaller JPEG of it and an unrelated photo: one group
    of 301, found with matches and kept pair scores in proportion to the files (was every pair: 44,850), the keeper
    any of them, its star holding every file with a score, and a decision 'not a duplicate' still honoured."""
    import imagetwins

    n = 300
    folder = tmp_path / "shop"
    folder.mkdir()
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    with Image.open(photos[20]) as im:
        picture = im.convert("RGB")
    picture.thumbnail((240, 240))
    for i in range(n):
        _save_with_text(picture, folder / f"p{i:03d}.png", str(i))
    picture.resize((picture.width * 3 // 4, picture.height * 3 // 4), Image.Resampling.LANCZOS).save(
        folder / "small.jpg", quality=90)
    shutil.copy(photos[21], folder / "other.jpg")
    # the keeper: the oldest, one from the middle of the crowd (not the first file searched)
    for i, p in enumerate(sorted(folder.glob("p*.png"))):
        os.utime(p, (2_000_000_000 - i, 2_000_000_000 - i) if i != 150 else (1_000_000_000, 1_000_000_000))
    db = tmp_path / "index.db"
    with imagetwins.open_session(folder, ["copies"], db=db) as session:
        result = imagetwins.find(folder, "copies", session=session)
    (group,) = result.groups
    names = {Path(f).name for f in group.files}
    assert names == {f"p{i:03d}.png" for i in range(n)} | {"small.jpg"}
    crowd = [i for i, f in enumerate(result.files) if Path(f).name.startswith("p")]
    assert result.same_as is not None and len({int(result.same_as[i]) for i in crowd}) == 1
    assert len(result.matches) < 2 * n  # a star: was 44,850 pairs
    with imagetwins.Index(db, ["copies"], readonly=True) as index:
        assert len(index.pair_scores("copies")) < 2 * n
    # every pair is still there when asked for, each save an exact match of the others
    assert len(result.pairs) == n * (n - 1) // 2 + n  # the crowd's pairs and each save with the smaller JPEG

    with imagetwins.open_session(folder, ["copies"], db=db) as session:
        kept = imagetwins.find(folder, "copies", keep="oldest", session=session)
    (group,) = kept.groups
    (decision,) = kept.decisions
    assert Path(decision.keeper).name == "p150.png"
    assert len(group.files) == n + 1 and len(group.scores) == n + 1
    small = group.files.index(next(f for f in group.files if f.endswith("small.jpg")))
    assert all(s == 1.0 for k, s in enumerate(group.scores) if k != small)
    # the JPEG's score against the keeper: the search's against the crowd's record (the keeper's)
    j = result.files.index(group.files[small])
    m = result.matches
    (found,) = [float(s) for a, b, s in zip(m.left.tolist(), m.right.tolist(), m.score.tolist()) if j in (a, b)]
    assert group.scores[small] == pytest.approx(found)

    # a person said two saves are no duplicates: the pair is dropped, the rest stays one group through the others
    a, b = crowd[3], crowd[7]
    keys = [content_key(d) for d in result.digests]
    said = Remembered({(min(keys[a], keys[b]), max(keys[a], keys[b])): ("not_duplicate", None)})
    out = apply_decisions(result, said)
    pairs = set(zip(out.pairs.left.tolist(), out.pairs.right.tolist()))
    assert (min(a, b), max(a, b)) not in pairs and len(pairs) == len(result.pairs) - 1
    assert len(out.matches) < 3 * n
    assert [len(g.files) for g in out.groups] == [n + 1]
    assert np.asarray(out.same_as)[a] == a or np.asarray(out.same_as)[b] == b
