"""Photos added to an indexed library: `copies` searches only the new rows against all (issue #25), and the
answer is the one a search of everything gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import find_through_index
from index_files import set_candidate_state
from PIL import Image

from imagetwins import candidates, edits, search

pytest.importorskip("cv2")

OLD, NEW = range(100, 136), range(136, 139)
#: (photo, edit): copies among the old photos, and copies of old photos that arrive with the new ones
OLD_COPIES = [(100, "crop"), (101, "text_overlay"), (102, "rot90")]
NEW_COPIES = [(103, "crop"), (104, "border"), (100, "hflip")]


def _photos(datasets: Path) -> list[Path]:
    return sorted((datasets / "photos-public" / "images").glob("*.jpg"))


def _add(folder: Path, photos: list[Path], which, copies) -> list[Path]:
    made = []
    for k in which:
        made.append(folder / photos[k].name)
        shutil.copyfile(photos[k], made[-1])
    for k, edit in copies:
        img = Image.open(photos[k]).convert("RGB")
        made.append(folder / f"{photos[k].stem}_{edit}.jpg")
        edits.EDITS[edit](img, np.random.default_rng(k)).save(made[-1], quality=90)
    return made


class Compared:
    """Row pairs the candidate searches compare, counted by wrapping the search kernels."""

    def __init__(self, monkeypatch) -> None:
        self.full_hash = self.hash = self.cnn = 0
        self.queries: list[int] = []
        pairs, query, topk = search.dihedral_pairs, search.dihedral_query, search.cosine_topk

        def all_pairs(h, *a, **k):
            self.full_hash += len(h) * (len(h) - 1) // 2
            return pairs(h, *a, **k)

        def against(q, db, *a, **k):
            self.hash += len(q) * len(db)
            self.queries.append(len(q))
            return query(q, db, *a, **k)

        def nearest(q, db, *a, **k):
            self.cnn += len(q) * len(db)
            return topk(q, db, *a, **k)

        monkeypatch.setattr(search, "dihedral_pairs", all_pairs)
        monkeypatch.setattr(search, "dihedral_query", against)
        monkeypatch.setattr(search, "cosine_topk", nearest)


@pytest.mark.integration
def test_new_photos_are_searched_against_all_and_the_answer_is_a_full_search(tmp_path: Path, datasets: Path,
                                                                             monkeypatch) -> None:
    photos = _photos(datasets)
    folder = tmp_path / "library"
    folder.mkdir()
    _add(folder, photos, OLD, OLD_COPIES)
    db = tmp_path / "library.db"
    with monkeypatch.context() as m:
        first = Compared(m)
        find_through_index(folder, db)
    rows = len(list(folder.iterdir()))
    assert first.full_hash >= rows * (rows - 1) // 2  # the first search compares everything (the counter counts)

    added = _add(folder, photos, NEW, NEW_COPIES)
    with monkeypatch.context() as m:
        again = Compared(m)
        groups, matches = find_through_index(folder, db)
    total = rows + len(added)
    # only the new rows (images, and pictures cut from a canvas: at most two rows an image) against all
    assert again.full_hash == 0
    assert again.queries and max(again.queries) <= 2 * len(added)
    assert again.hash <= 2 * len(added) * 2 * total
    assert again.cnn <= 2 * (2 * len(added)) * (2 * total)
    assert again.cnn < first.cnn / 2  # (45 rows; at 100,000 with 1,000 new: 2 %)
    # the copies that came with the new photos are found, and the answer is that of a search of everything
    assert {f"{photos[100].stem}_hflip.jpg", photos[100].name} <= next(g for g in groups
                                                                               if photos[100].name in g)
    fresh_groups, fresh_matches = find_through_index(folder, tmp_path / "fresh.db")
    assert groups == fresh_groups
    assert matches == fresh_matches

    # nothing new: nothing is searched, the same answer
    with monkeypatch.context() as m:
        still = Compared(m)
        assert find_through_index(folder, db) == (groups, matches)
    assert still.full_hash == still.hash == still.cnn == 0


@pytest.mark.integration
def test_a_removed_photo_leaves_the_answer_of_a_full_search(tmp_path: Path, datasets: Path, monkeypatch) -> None:
    photos = _photos(datasets)
    folder = tmp_path / "library"
    folder.mkdir()
    made = _add(folder, photos, OLD, OLD_COPIES)
    db = tmp_path / "library.db"
    find_through_index(folder, db)
    made[5].unlink()  # a photo in others' neighbour lists: those rows are searched again
    made[-1].unlink()  # a copy: its group goes
    _add(folder, photos, NEW[:1], NEW_COPIES[:1])
    with monkeypatch.context() as m:
        again = Compared(m)
        got = find_through_index(folder, db)
    assert again.full_hash == 0
    assert got == find_through_index(folder, tmp_path / "fresh.db")
    # a damaged kept search (an edited or broken file) is searched in full again: the same answer, no error
    for damage in (b"not a state", np.zeros(3).tobytes(), "text"):
        set_candidate_state(db, "copies", damage)
        with monkeypatch.context() as m:
            full = Compared(m)
            assert find_through_index(folder, db) == got
        assert full.full_hash > 0


def _rows(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hashes with near pairs, clustered unit vectors (crowds that push each other out of neighbour lists), keys."""
    hashes = rng.integers(0, 2**63, size=(n, 4), dtype=np.uint64)
    hashes[1::7] = hashes[::7][:len(hashes[1::7])] ^ np.uint64(0b1011)  # some pairs a few bits apart
    centres = rng.normal(size=(8, 32))
    vectors = centres[rng.integers(0, 8, n)] + 0.4 * rng.normal(size=(n, 32))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    keys = np.array([rng.bytes(16) + b"\x00" for _ in range(n)], dtype="S17")
    return hashes, vectors, keys


def _state(hashes, vectors, keys, depth):
    hl, hr, hd, idx, sims, _ = candidates.search_rows(hashes, vectors, keys, 40, depth)
    return candidates.CandidateState(keys, hl, hr, hd, idx, sims)


@pytest.mark.unit
@pytest.mark.parametrize("removed", [0, 5])
def test_the_kept_search_plus_the_new_rows_is_the_search_of_everything(removed: int) -> None:
    rng = np.random.default_rng(removed)
    hashes, vectors, keys = _rows(rng, 400)
    old = np.arange(360)
    state = _state(hashes[old], vectors[old], keys[old], 12)
    now = np.concatenate([np.arange(removed, 360), np.arange(360, 400)])  # some old rows gone, 40 new
    rng.shuffle(now)  # and in another order
    h, v, k = hashes[now], vectors[now], keys[now]
    full = candidates.search_rows(h, v, k, 40, 12)
    part = candidates.search_rows(h, v, k, 40, 12, state=state)
    for a, b in zip(full[:3], part[:3]):  # the same hash pairs, in the same order
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(full[3], part[3])  # the same neighbour lists
    np.testing.assert_allclose(full[4], part[4], atol=1e-6)
    counts = part[5]
    assert counts.new_rows == 40 and counts.hash_compared == 40 * 400 - 40 * removed
    assert (counts.searched_again > 0) == (removed > 0)
    assert counts.cnn_compared < full[5].cnn_compared / 3


@pytest.mark.unit
def test_images_and_their_pictures_cut_from_a_canvas_are_searched_without_a_copy_of_their_vectors() -> None:
    from imagetwins import copies

    rng = np.random.default_rng(3)
    v = rng.normal(size=(6, 8)).astype(np.float16)
    records = [copies.CopyRecord(rng.integers(0, 2**63, 4, dtype=np.uint64), v[i], None,
                                 alt=(rng.integers(0, 2**63, 4, dtype=np.uint64), -v[i], None) if i % 2 else None)
               for i in range(6)]
    hashes, vectors, _, alt = copies.stack_rows(records)
    np.testing.assert_array_equal(vectors, v)
    np.testing.assert_array_equal(alt[0], [1, 3, 5])
    np.testing.assert_array_equal(alt[2], -v[[1, 3, 5]])
    eh, ev, owner = copies._extended(hashes, vectors, alt)
    assert ev.base is None and np.shares_memory(ev, vectors) and len(ev) == 9  # the array they share, not a copy
    np.testing.assert_array_equal(owner, [0, 1, 2, 3, 4, 5, 1, 3, 5])
    # arrays made apart are joined into a new one
    _, ev2, _ = copies._extended(hashes, vectors.copy(), (alt[0], alt[1], alt[2].copy()))
    np.testing.assert_array_equal(ev2, ev)


@pytest.mark.unit
@pytest.mark.parametrize("held", [candidates.HITS_HELD, 8])
def test_the_kept_rows_nearest_new_rows_read_off_the_new_rows_products_in_small_blocks(monkeypatch, held) -> None:
    # blocks of 64 x 96 similarities: the new rows' products come in many blocks, each kept row's best new rows
    # gathered across them (and, with ``held`` 8, cut to each row's best again and again)
    from imagetwins.search import cosine

    monkeypatch.setattr(cosine, "TOPK_ROWS", 64)
    monkeypatch.setattr(cosine, "TOPK_COLS", 96)
    monkeypatch.setattr(candidates, "HITS_HELD", held)
    rng = np.random.default_rng(7)
    hashes, vectors, keys = _rows(rng, 600)
    old = np.arange(300)
    state = _state(hashes[old], vectors[old], keys[old], 12)
    full = candidates.search_rows(hashes, vectors, keys, 40, 12)
    part = candidates.search_rows(hashes, vectors, keys, 40, 12, state=state)  # 300 new rows: as many as the kept
    np.testing.assert_array_equal(full[3], part[3])
    np.testing.assert_allclose(full[4], part[4], atol=1e-6)
    changed = (part[3][:300] != state.nb_idx[:, :12]).any(axis=1)
    assert changed.sum() > 100  # most kept rows took new rows into their lists
