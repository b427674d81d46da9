"""Do re-shots come within the hash's sure distance, where the files' look never runs? (issue #24's last step)

    python benchmarks/probe_sure_band_reshots.py     # ~2 CPU minutes; prints (BENCHMARKS.md quotes it by hand)

``copies`` calls a pair within ``copies.HASH_UNCHECKED`` (30 of 256 dihedral bits) a copy without a check, and one
within ``copies.HASH_SURE`` (40) a copy unless the check sees another capture (``copies._overrules_hash``); neither
looks at the files where the stored features leave the detail rule undecided (``Verification.wants_files``,
``verify.look_at_files``). This probe measures every same-scene pair of holidays-half and ukbench-600 (neither has
EXIF: no camera stamp tells two captures apart): its dihedral distance (the hash ``copies`` keeps, smallest over the
8 orientations; pictures cut from a canvas not searched: these are photos), and for each within ``HASH_SURE`` the
check's answer and whether it wants the files.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets  # noqa: E402

from imagetwins import copies  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402
from imagetwins.search.dihedral import dihedral_variants  # noqa: E402


def same_scene_distances(name: str) -> list[tuple[int, str, str]]:
    """(dihedral distance, a, b) of every pair of one ground-truth group of dataset ``name``, nearest first."""
    groups = json.loads((DATASETS / name / "groundtruth_groups.json").read_text())
    files = sorted({f for g in groups.values() for f in g})
    enc = get_encoder("dihedral").encode_files([str(DATASETS / name / "images" / f) for f in files], warn=False)
    row = {Path(p).name: k for k, p in enumerate(enc.paths)}
    hashes = np.asarray(enc.encodings, np.uint64)
    variants = dihedral_variants(hashes)
    out = []
    for members in groups.values():
        for a, b in itertools.combinations(members, 2):
            if a in row and b in row:
                apart = variants[row[a]] ^ hashes[row[b]][None]
                out.append((int(np.unpackbits(apart.view(np.uint8), axis=-1).sum(axis=-1).min()), a, b))
    return sorted(out)


def main() -> None:
    need_datasets("holidays-half/images", "ukbench-600/images")
    for name in ("holidays-half", "ukbench-600"):
        pairs = same_scene_distances(name)
        d = np.array([p[0] for p in pairs])
        unchecked = int((d <= copies.HASH_UNCHECKED).sum())
        print(f"{name}: {len(d)} same-scene pairs; within {copies.HASH_UNCHECKED} bits {unchecked}, "
              f"within {copies.HASH_SURE} {int((d <= copies.HASH_SURE).sum())}, within 50 {int((d <= 50).sum())}, "
              f"within 60 {int((d <= 60).sum())}; nearest {d.min()}, median {np.median(d):.0f}; the 5 nearest: "
              + ", ".join(f"{a}/{b} {k}" for k, a, b in pairs[:5]))
        for k, a, b in pairs:
            if k > copies.HASH_SURE:
                break
            enc = get_encoder("copies").encode_files([str(DATASETS / name / "images" / f) for f in (a, b)],
                                                     warn=False)
            v = copies.verify_records(enc.encodings[0], enc.encodings[1])
            print(f"  {a}/{b} ({k} bits): check confidence {v.confidence:.3f}, verdict {v.verdict()}, overrules the "
                  f"hash {copies._overrules_hash(v)}, wants its files {v.wants_files}")


if __name__ == "__main__":
    main()
