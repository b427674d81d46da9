"""The bound on the hash pairs ``copies`` proposes per image (``copies.HASH_PER_ROW``,
``candidates.closest_hash_pairs``): what it keeps, that a kept search plus new rows is still the search of
everything under it, and that a crowd of copies of one photo among look-alikes stays one group."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagetwins import candidates, copies, edits, search


def _reference(left, right, dist, per_row, sure):
    """The bound written out pair by pair: each row's non-sure pairs by (distance, other row), its first kept."""
    mine: dict[int, list] = {}
    for k, (a, b, d) in enumerate(zip(left.tolist(), right.tolist(), dist.tolist())):
        if d > sure:
            mine.setdefault(a, []).append((d, b, k))
            mine.setdefault(b, []).append((d, a, k))
    keep = {k for k, d in enumerate(dist.tolist()) if d <= sure}
    for lst in mine.values():
        keep |= {k for _, _, k in sorted(lst)[:per_row]}
    return keep


@pytest.mark.unit
@pytest.mark.parametrize("per_row", [1, 3, 8])
def test_each_row_keeps_its_closest_pairs_and_every_sure_pair(per_row: int) -> None:
    rng = np.random.default_rng(per_row)
    n = 60
    a, b = np.triu_indices(n, 1)
    pick = rng.random(len(a)) < 0.3
    left, right = a[pick], b[pick]
    dist = rng.integers(0, 97, len(left)).astype(np.int32)  # many equal distances: the order of rows decides
    keep = candidates.closest_hash_pairs(left, right, dist, n, per_row, sure=40)
    assert set(np.flatnonzero(keep).tolist()) == _reference(left, right, dist, per_row, 40)
    assert keep[dist <= 40].all()
    # no row keeps more than per_row pairs of its own choosing: at most per_row * rows checks in all
    assert (~keep[dist > 40]).any() and (keep & (dist > 40)).sum() <= per_row * n
    assert candidates.closest_hash_pairs(left, right, dist, n, None, 40).all()


def _crowded(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hashes in a few tight crowds (each row within the candidate distance of most of its crowd), vectors, keys."""
    centres = rng.integers(0, 2**63, size=(4, 4), dtype=np.uint64)
    hashes = centres[rng.integers(0, 4, n)].copy()
    for row in hashes:  # 10-24 bits flipped: pairs 0-48 bits apart, some within the sure distance
        for bit in rng.choice(256, int(rng.integers(10, 25)), replace=False).tolist():
            row[bit // 64] ^= np.uint64(1 << (bit % 64))
    vectors = rng.normal(size=(n, 16))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    keys = np.array([rng.bytes(16) + b"\x00" for _ in range(n)], dtype="S17")
    return hashes, vectors, keys


@pytest.mark.unit
def test_the_bound_taken_a_block_of_rows_at_a_time_keeps_the_same_pairs(monkeypatch) -> None:
    """The rows are bounded a block at a time (memory: 11 M hash pairs at 100,000 pictures); any block size gives the
    pairs one block gives, equal distances and repeated pairs included."""
    rng = np.random.default_rng(5)
    n, m = 500, 6000
    left = rng.integers(0, n - 1, m)
    right = np.minimum(left + 1 + rng.integers(0, 40, m), n - 1)
    dist = rng.integers(30, 60, m).astype(np.int32)  # many equal distances, some sure pairs
    rank = rng.integers(0, n // 3, n)  # equal keys too
    for per_row in (1, 4):
        monkeypatch.setattr(candidates, "BOUND_HALF_PAIRS", 1 << 30)
        whole = candidates.closest_hash_pairs(left, right, dist, n, per_row, 40, rank)
        assert 0 < whole.sum() < m
        for block in (1, 13, 500):
            monkeypatch.setattr(candidates, "BOUND_HALF_PAIRS", block)
            np.testing.assert_array_equal(candidates.closest_hash_pairs(left, right, dist, n, per_row, 40, rank), whole)


@pytest.mark.unit
@pytest.mark.parametrize("removed", [0, 7])
def test_under_the_bound_the_kept_search_plus_new_rows_is_the_search_of_everything(removed: int) -> None:
    rng = np.random.default_rng(10 + removed)
    hashes, vectors, keys = _crowded(rng, 300)
    old = np.arange(260)
    hl, hr, hd, idx, sims, _ = candidates.search_rows(hashes[old], vectors[old], keys[old], 48, 6,
                                                      hash_per_row=3, hash_sure=12)
    state = candidates.CandidateState(keys[old], hl, hr, hd, idx, sims)
    unbounded = candidates.search_rows(hashes[old], vectors[old], keys[old], 48, 6)
    assert len(hl) < len(unbounded[0]) / 5  # the crowds propose many pairs a row; the bound keeps a few
    now = np.concatenate([np.arange(removed, 260), np.arange(260, 300)])
    rng.shuffle(now)
    h, v, k = hashes[now], vectors[now], keys[now]
    full = candidates.search_rows(h, v, k, 48, 6, hash_per_row=3, hash_sure=12)
    part = candidates.search_rows(h, v, k, 48, 6, state=state, hash_per_row=3, hash_sure=12)
    for x, y in zip(full[:4], part[:4]):
        np.testing.assert_array_equal(x, y)
    assert part[5].new_rows == 40 and (part[5].searched_again > 0) == (removed > 0)
    assert part[5].hash_compared < full[5].hash_compared


@pytest.fixture(scope="module")
def crowd(tmp_path_factory, datasets: Path) -> tuple[Path, list[str]]:
    """60 copies of one photo (byte-identical ones, re-encodes, and every edit family: crops, turns, screenshots,
    captions...) among 500 look-alikes: small 2 x 2 mosaics of crops of other photos. (500, not 1,000: half the
    encoding and checks; the copies' own pairs are what the bound trims, 1,122 -> 823 at either size, and 9 look-alike
    pairs of a copy compete with them, 14 at 1,000.)"""
    folder = tmp_path_factory.mktemp("crowd")
    photos = sorted((datasets / "photos-public" / "images").glob("*.jpg"))
    rng = np.random.default_rng(25)
    original = Image.open(photos[7]).convert("RGB")
    original.save(folder / "copy-00.jpg", quality=92)
    for i in (1, 2):  # byte-identical
        (folder / f"copy-{i:02d}.jpg").write_bytes((folder / "copy-00.jpg").read_bytes())
    names = sorted(edits.EDITS) + sorted(edits.FAMILIES)
    for i in range(3, 60):
        if i < 10:  # near-identical: re-encoded at other qualities and sizes
            img = original.resize((original.width * (20 - i) // 20, original.height * (20 - i) // 20))
            img.save(folder / f"copy-{i:02d}.jpg", quality=70 + 3 * i)
            continue
        edit = names[i % len(names)]
        img = (edits.EDITS.get(edit) or edits.FAMILIES[edit])(original, rng).convert("RGB")
        img.save(folder / f"copy-{i:02d}.jpg", quality=88)
    tiles = []
    for p in photos[20:120]:
        with Image.open(p) as im:
            im.draft("RGB", (256, 256))
            tiles.append(im.convert("RGB"))
    for n in range(500):
        w = int(rng.integers(96, 129))
        h = w * 3 // 4
        out = Image.new("RGB", (w, h))
        for q, t in enumerate(rng.choice(len(tiles), 4, replace=False).tolist()):
            src = tiles[t]
            cw = int(src.width * rng.uniform(0.4, 0.9))
            ch = min(src.height, cw * 3 // 4)
            x, y = int(rng.integers(0, src.width - cw + 1)), int(rng.integers(0, src.height - ch + 1))
            tile = src.crop((x, y, x + cw, y + ch)).resize((w // 2, h // 2))
            out.paste(tile, ((q % 2) * (w // 2), (q // 2) * (h // 2)))
        out.save(folder / f"look-{n:04d}.jpg", quality=90)
    return folder, [f"copy-{i:02d}.jpg" for i in range(60)]


@pytest.mark.integration
def test_a_crowd_of_copies_among_look_alikes_stays_one_group_under_the_bound(crowd) -> None:
    from imagetwins.encoders import get_encoder
    from imagetwins.pairscores import MemoryPairScores, PairScores

    folder, copy_names = crowd
    enc = get_encoder("copies").encode_files(sorted(folder.iterdir()), warn=False)
    names = [Path(p).name for p in enc.paths]
    store = MemoryPairScores()  # a pair checked for one bound is not checked again for the next
    version = get_encoder("copies").pair_score_version

    def grouped(**bound) -> tuple[set[str], int]:
        scores = PairScores(store, "copies", version, [str(d) for d in enc.digests])
        left, right, dist, conf = copies.scored_candidates(enc.encodings, pair_scores=scores, **bound)
        hit = conf >= copies.DEFAULT_CONFIDENCE
        labels = search.connected_components(len(names), left[hit], right[hit])
        biggest = np.bincount(labels).argmax()
        return {n for n, lab in zip(names, labels) if lab == biggest}, int((dist < 256).sum())

    unbounded, hash_pairs = grouped(hash_per_row=None)
    # a strict bound: one hash pair a row beyond the sure distance (the copies crowd one another's places)
    strict, strict_pairs = grouped(hash_per_row=1)
    assert strict == unbounded and strict_pairs < hash_pairs * 0.9
    assert not any(n.startswith("look-") for n in unbounded)
    # every copy but the ones the method misses anyway (at this seed one screenshot, the picture a sixth of the
    # screen); the byte-identical and near-identical ones among them
    assert len(unbounded) >= 58 and {f"copy-{i:02d}.jpg" for i in range(10)} <= unbounded
