"""Exact search over encodings, and turning matched pairs into duplicate groups.

One module per job; every public name is re-exported here, so ``from imagetwins.search import X`` works:

- :mod:`.pairs` -- :class:`Pairs` (the result of every search) and the threaded block runner;
- :mod:`.hamming` -- blocked brute-force Hamming search, all pairs or query vs database;
- :mod:`.multi_index` -- pigeonhole multi-index Hamming search and its exact cost planner;
- :mod:`.dihedral` -- 256-bit dihedral hashes matched in all 8 orientations;
- :mod:`.cosine` -- blocked cosine similarity for vectors, exact top-k, faiss top-k;
- :mod:`.groups` -- byte-identical pairs, connected components, groups largest first;
- :mod:`.votes` -- image pairs sharing binary descriptors (hash tables of descriptor bytes, votes);
- :mod:`.imagededup` -- imagededup's ``{name: [matches]}`` shape and its removal rule.

Nothing here knows about methods, files or images: callers pass arrays.
"""

from __future__ import annotations

from imagetwins.search.cosine import (
    COSINE_BLOCK,
    approximate_topk,
    as_vectors,
    cosine_pairs,
    cosine_query,
    cosine_topk,
    similarity_threshold,
)
from imagetwins.search.dihedral import closest_per_pair, dihedral_pairs, dihedral_query, dihedral_variants
from imagetwins.search.groups import (
    connected_components,
    equal_key_pairs,
    first_of_equal_keys,
    first_of_equal_rows,
    groups_from_labels,
    groups_from_pairs,
    lexsort_ints,
    places_in_runs,
)
from imagetwins.search.hamming import as_hashes, bits_threshold, hamming_pairs, hamming_query
from imagetwins.search.imagededup import duplicate_map, files_to_remove
from imagetwins.search.multi_index import MultiIndexPlan, plan_multi_index
from imagetwins.search.pairs import Pairs, cells, run_blocks, union_pairs
from imagetwins.search.votes import descriptor_votes

__all__ = [
    "COSINE_BLOCK", "MultiIndexPlan", "Pairs", "approximate_topk", "as_hashes", "as_vectors", "bits_threshold", "cells",
    "closest_per_pair", "connected_components", "cosine_pairs", "cosine_query", "cosine_topk", "dihedral_pairs",
    "descriptor_votes", "dihedral_query", "dihedral_variants", "duplicate_map", "equal_key_pairs", "files_to_remove",
    "first_of_equal_keys", "first_of_equal_rows", "lexsort_ints", "places_in_runs",
    "groups_from_labels", "groups_from_pairs", "hamming_pairs", "hamming_query",
    "plan_multi_index", "run_blocks", "similarity_threshold", "union_pairs",
]


#: names kept for code written against earlier versions, resolved on first use (PEP 562): they look a method
#: up in the registry, which this package must not import (it would close an import cycle)
_MOVED = {"method_pairs": "imagetwins.encoders", "method_query": "imagetwins.encoders"}


def __getattr__(name: str):
    if name in _MOVED:
        import importlib
        import warnings

        warnings.warn(f"imagetwins.search.{name} moved to {_MOVED[name]}.{name} (or use "
                      "imagetwins.encoders.get_encoder(method).pairs / .query); the old name goes in the next release",
                      DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
