"""Index and cache rows that anyone may edit are read without unpacking more than they hold: a candidate-search
state (table ``candidates``) of 2.4 MB whose ``nb_sim`` member was a deflated array of 2.4 GB of zeros made a warm
``find --db`` take 2.5 GB and 32 s; now any compressed member is refused before unpacking (the search is then made
in full, as for any damaged row)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from imagetwins import candidates
from imagetwins.io import load_stored_npz

pytestmark = pytest.mark.unit


def _state() -> candidates.CandidateState:
    rng = np.random.default_rng(0)
    n = 40
    hashes = rng.integers(0, 2**63, size=(n, 4), dtype=np.uint64)
    vectors = rng.normal(size=(n, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    keys = np.array([rng.bytes(16) + b"\x00" for _ in range(n)], dtype="S17")
    hl, hr, hd, idx, sims, _ = candidates.search_rows(hashes, vectors, keys, 40, 8)
    return candidates.CandidateState(keys, hl, hr, hd, idx, sims)


def test_a_state_as_written_is_read_back() -> None:
    state = _state()
    again = candidates.CandidateState.from_bytes(state.to_bytes())
    assert np.array_equal(again.nb_idx, state.nb_idx) and np.array_equal(again.keys, state.keys)


def test_a_compressed_member_is_refused_before_it_is_unpacked() -> None:
    state = _state()
    with np.load(io.BytesIO(state.to_bytes())) as z:
        members = {k: z[k] for k in z.files}
    buf = io.BytesIO()
    np.savez_compressed(buf, **members)  # (the same arrays, deflated: nothing imagetwins writes)
    with pytest.raises(ValueError, match="not a candidate state"):
        candidates.CandidateState.from_bytes(buf.getvalue())
    bomb = io.BytesIO()  # 64 MB of zeros in ~64 KB
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("nb_sim.npy", "w") as fh:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (1 << 24,)})
        fh.write(header.getvalue())
        for _ in range(64):
            fh.write(bytes(1 << 20))
    assert len(bomb.getvalue()) < 1 << 20
    with pytest.raises(ValueError, match="compressed member"):
        load_stored_npz(bomb.getvalue())


def test_bytes_that_are_no_zip_are_one_value_error() -> None:
    for data in (b"", b"PK\x03\x04" + bytes(40), _state().to_bytes()[:-30]):
        with pytest.raises(ValueError):
            candidates.CandidateState.from_bytes(data)
