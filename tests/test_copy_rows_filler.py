"""An index load fills ``copies``' columns chunk by chunk (:class:`copies.CopyRowsFiller`) instead of keeping the
chunks and joining them (the rows held twice: ~250 MB at 100,000). The rows are the very rows the join gives."""

from __future__ import annotations

import numpy as np
import pytest

from imagetwins import copies

pytestmark = pytest.mark.unit


def _part(rng: np.random.Generator, n: int, stores: tuple, held: bool, alts: list[int]) -> copies.CopyRows:
    """``n`` rows whose features lie in ``stores`` (or some in memory, ``held``), the rows ``alts`` with a picture
    cut from a canvas, every third with a capture stamp."""
    d = 6
    where = np.column_stack([rng.integers(0, len(stores), n), rng.integers(0, 10**6, n), rng.integers(1, 999, n)])
    held_rows = None
    if held:
        where[::2, 0] = -1
        held_rows = [f"features {rng.integers(10**9)}" if w < 0 else None for w in where[:, 0]]
    alt_of = np.full(n, -1, np.int64)
    alt_of[alts] = np.arange(len(alts))
    alt_where = np.column_stack([rng.integers(0, len(stores), len(alts)), rng.integers(0, 10**6, len(alts)),
                                 rng.integers(1, 999, len(alts))]).reshape(-1, 3)
    both = rng.normal(size=(n + len(alts), d)).astype(copies.VECTOR_DTYPE)
    return copies.CopyRows(rng.integers(0, 2**63, (n, 4), dtype=np.uint64), both[:n], stores, where, held_rows,
                           alt_of, rng.integers(0, 2**63, (len(alts), 4), dtype=np.uint64), both[n:], alt_where,
                           None, [("stamp", str(i)) if i % 3 == 0 else None for i in range(n)])


def _same(got: copies.CopyRows, want: copies.CopyRows) -> None:
    for name in ("hashes", "vectors", "_where", "alt_of", "alt_hashes", "alt_vectors", "_alt_where"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
        assert getattr(got, name).dtype == getattr(want, name).dtype, name
    assert got._stores == want._stores and got._held == want._held and got._alt_held == want._alt_held
    assert got.captures == want.captures
    for a, b in zip(got, want):  # each record: its features found in the same store at the same place
        assert a.features_ref() == b.features_ref() and (a.alt_hash is None) == (b.alt_hash is None)


@pytest.mark.parametrize("held", [False, True])
def test_filled_rows_are_the_joined_rows(held: bool) -> None:
    rng = np.random.default_rng(7)
    one, two, three = object(), object(), object()
    parts = [_part(rng, 5, (one,), False, [1, 4]), copies.CopyRows.empty(6), _part(rng, 3, (two, one), held, []),
             _part(rng, 4, (three,), False, [0])]
    filler = copies.CopyRows.filler(sum(map(len, parts)) + 3)  # a few fewer than expected: damaged rows left out
    for p in parts:
        filler.add(p)
    rows = filler.rows()
    _same(rows, copies.CopyRows.concat(parts))
    # the images' and their pictures' vectors still one array: the search of both together copies neither
    _, vectors, _, alt = copies.stack_rows(rows)
    assert copies._joined(vectors, alt[2]) is vectors.base


def test_no_rows_and_too_many_rows() -> None:
    assert len(copies.CopyRows.filler(10).rows()) == 0
    filler = copies.CopyRows.filler(2)
    with pytest.raises(ValueError, match="more than the 2 rows"):
        filler.add(_part(np.random.default_rng(1), 3, (object(),), False, []))
