"""``python -m imagetwins`` with the verification of ``copies`` left out, for ``bench_scale.py --search-only-first``:
every pair the search proposes for a check gets no verdict (NaN: not kept in the pair scores, not a copy this run,
kept as 0 in the candidate search), and their number so far is printed at each call (``pairs proposed for
verification: N``; the command may end with ``os._exit``, so not at exit).

It measures a first find's scan, load, search and memory at a size whose verification would take hours here (each
pair is ~3-5 CPU ms: the incremental run verifies its pairs for real and gives the rate); the candidate search it
keeps is the one a full first find keeps, so an incremental run after it searches and verifies only the new rows.
"""

import sys

import numpy as np

import imagetwins.copies as copies

proposed = [0]


def _no_verification(features_a, features_b, left, right, workers, chunk=None, progress=None, done=None):
    proposed[0] += len(left)
    print(f"pairs proposed for verification: {proposed[0]}", file=sys.stderr, flush=True)
    return np.full(len(left), np.nan)


copies._verified_confidences = _no_verification

from imagetwins.cli import main  # noqa: E402

main()
