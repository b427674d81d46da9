"""Decisions about a few files of a crowd with one encoding: applied without listing every pair of the crowd."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imagetwins.decisions import Remembered, apply_decisions, content_key
from imagetwins.results import groups_from_encodings

pytestmark = pytest.mark.unit


def _crowd(tmp_path: Path, n: int):
    """``n`` byte-different files with one phash (hash 0), and an outsider 3 bits away that matches them all."""
    paths = []
    for k in range(n + 1):
        p = tmp_path / f"f{k:05d}.jpg"
        p.write_bytes(b"")
        paths.append(str(p))
    hashes = np.zeros(n + 1, np.uint64)
    hashes[n] = np.uint64(0b111)
    digests = [f"{k + 1:032x}" + "0" * 32 for k in range(n + 1)]  # (a content key is the first 32 digits)
    return groups_from_encodings(paths, hashes, digests, "phash", threshold=10)


def _said(result, verdicts: dict[tuple[int, int], str]) -> Remembered:
    keys = [content_key(d) for d in result.digests]
    return Remembered({(min(keys[i], keys[j]), max(keys[i], keys[j])): (v, None) for (i, j), v in verdicts.items()})


def _pair_set(pairs) -> set[tuple[int, int]]:
    return set(zip(pairs.left.tolist(), pairs.right.tolist()))


@pytest.mark.parametrize("said", [
    {(1, 2): "not_duplicate", (3, 8): "not_duplicate", (4, 5): "skip", (0, 6): "not_duplicate"},
    {(3, 8): "not_duplicate"},  # only a file of the class and the outsider (was: not applied, 3 and 8 still matched)
    {(0, 8): "not_duplicate", (4, 8): "keep"},
])
def test_the_same_pairs_as_listing_every_pair(tmp_path: Path, said: dict) -> None:
    result = _crowd(tmp_path, 8)  # files 0-7 one encoding, 8 the outsider
    out = apply_decisions(result, _said(result, said))
    # what listing every pair of the class and dropping those said apart gives
    expected = _pair_set(result.pairs) - {p for p, v in said.items() if v == "not_duplicate"}
    assert _pair_set(out.pairs) == expected
    assert [sorted(g.files) for g in out.groups] == [sorted(result.files)]


def test_a_crowd_of_one_encoding_is_not_made_every_pair(tmp_path: Path) -> None:
    n = 3000
    result = _crowd(tmp_path, n)
    out = apply_decisions(result, _said(result, {(5, 7): "not_duplicate"}))
    assert len(out.matches) < 3 * n  # was every pair of the crowd: 4.5 million
    pairs = _pair_set(out.matches)
    assert (5, 7) not in pairs and (0, 5) in pairs and (0, 7) in pairs and (5, n) in pairs and (7, n) in pairs
    assert out.same_as[5] == 5 and out.same_as[7] == 7 and out.same_as[6] == 0
    assert len(out.groups) == 1 and len(out.groups[0].files) == n + 1


def _crowd_of_copies(tmp_path: Path, n: int, contents: int):
    """``n`` files with one phash, byte copies of ``contents`` contents in turn (file k holds content k % contents)."""
    paths = []
    for k in range(n):
        p = tmp_path / f"c{k:05d}.jpg"
        p.write_bytes(b"")
        paths.append(str(p))
    digests = [f"{k % contents + 1:032x}" + "0" * 32 for k in range(n)]
    return groups_from_encodings(paths, np.zeros(n, np.uint64), digests, "phash", threshold=10)


def test_contents_said_apart_in_a_crowd_of_byte_copies_give_the_same_pairs(tmp_path: Path) -> None:
    result = _crowd_of_copies(tmp_path, 12, 3)
    keys = [content_key(d) for d in result.digests]
    out = apply_decisions(result, _said(result, {(0, 1): "not_duplicate"}))
    expected = {(i, j) for i, j in _pair_set(result.pairs) if {keys[i], keys[j]} != {keys[0], keys[1]}}
    assert _pair_set(out.pairs) == expected


def test_a_crowd_of_byte_copies_said_apart_is_not_made_every_pair(tmp_path: Path) -> None:
    """Every file's content said apart from another (a review page's group of 3,000 saves of four pictures, each
    marked "not a duplicate" of the keeper): every file was a node of its own, matched with every other: 4.5 million
    pairs, 1.35 GB and 20 s for 'find'. Byte copies cannot be told apart by a decision: one node per content."""
    n = 3000
    result = _crowd_of_copies(tmp_path, n, 4)
    out = apply_decisions(result, _said(result, {(0, 1): "not_duplicate", (0, 2): "not_duplicate",
                                                 (0, 3): "not_duplicate"}))
    assert len(out.matches) < 3 * n
    assert sorted(len(g.files) for g in out.groups) == [n // 4, n // 4 * 3]  # content 0 apart from the three others


@pytest.mark.parametrize("said", [
    {(0, k): "not_duplicate" for k in range(1, 8)},  # every other file no duplicate of the keeper
    {**{(0, k): "not_duplicate" for k in range(1, 8)}, (2, 3): "not_duplicate", (5, 8): "not_duplicate"},
    {(1, 2): "not_duplicate", (2, 3): "not_duplicate", (4, 8): "keep", (6, 8): "not_duplicate"},
])
def test_files_said_apart_alike_give_the_same_pairs(tmp_path: Path, said: dict) -> None:
    result = _crowd(tmp_path, 8)
    out = apply_decisions(result, _said(result, said))
    expected = _pair_set(result.pairs) - {p for p, v in said.items() if v == "not_duplicate"}
    assert _pair_set(out.pairs) == expected


def test_a_crowd_each_said_no_duplicate_of_its_keeper_is_not_made_every_pair(tmp_path: Path) -> None:
    """A group of 2,000 saves of one picture (one encoding, other bytes each), every file marked "not a duplicate" of
    the keeper: each was a node matched with every other (2 million pairs, 786 MB and 18 s for 'find')."""
    n = 3000
    result = _crowd(tmp_path, n)
    out = apply_decisions(result, _said(result, {(0, k): "not_duplicate" for k in range(1, n)}))
    assert len(out.matches) < 3 * n
    pairs = _pair_set(out.matches)
    assert not any((0, k) in pairs for k in range(1, n)) and (0, n) in pairs
    assert [len(g.files) for g in out.groups] == [n + 1]  # (the outsider matches the keeper and the others alike)
