"""How many hash-blind copies the CNN proposer would still rank among an image's nearest at library scale (#25).

    python benchmarks/quality.py --families --family-originals 20 --no-write --workdir W   # one per version
    python benchmarks/probe_proposer_scale.py W [W2 ...]

``quality.py``'s sets are small (at most 600 images each): there a copy is among its original's CNN top
:data:`~imagetwins.copies.TOP_K` whatever the CNN, and the descriptor votes propose what it misses, so a weaker CNN
costs nothing in its rows. In a library of N photos a copy that the dihedral hash does not propose (farther than
:data:`~imagetwins.copies.HASH_CANDIDATE` bits) is proposed by the CNN only where fewer than TOP_K unrelated photos are
more similar to it, and the votes are left out above :data:`~imagetwins.copies.VOTE_MAX_ROWS` images. For every
original-copy pair of the family sets beyond the hash, this takes p, the share of unrelated pairs (the set's images
against holidays-half and the other sources' images: ~80,000-260,000 pairs) at least as similar as the pair, and
counts the copy proposed at N where p * N < TOP_K. An estimate to compare CNN versions on the same images (one
pooled tail for every image; the picture cut from a canvas, whose own vector proposes screenshots and pictures on
backgrounds, left out), not a recall. Reads the work folders' ``cache-*.npz``; writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from imagetwins import copies  # noqa: E402
from imagetwins.search.dihedral import dihedral_variants  # noqa: E402

SOURCES = ("fam-ukbench", "fam-camera-photos", "fam-imagededup-testdata", "fam-photos-public")
SCALES = (10_000, 100_000)


def hash_distance(hashes: np.ndarray, a: int, b: int) -> int:
    """The dihedral distance (the least over the 8 orientations) of rows a and b."""
    variants = dihedral_variants(hashes[a:a + 1]).reshape(-1, hashes.shape[1])
    return int(np.bitwise_count(np.bitwise_xor(variants, hashes[b][None])).sum(axis=1).min())


def measure(work: Path) -> tuple[dict[int, tuple[int, int]], dict[str, tuple[int, int]]]:
    """(scale -> (proposed, hash-blind copies)), (family -> the same at the largest scale) for one work folder."""
    caches = {s: next(work.glob(f"cache-{s}-v*.npz")) for s in SOURCES}
    data = {s: np.load(p) for s, p in caches.items()}
    others_of = {s: [data[o]["v1"] for o in SOURCES if o != s] for s in SOURCES}
    holidays = np.load(work / "cache-holidays-half.npz")["v1"]
    totals = {n: [0, 0] for n in SCALES}
    families: dict[str, list[int]] = {}
    for s in SOURCES:
        vectors = data[s]["v1"].astype(np.float32)
        hashes = data[s]["hashes"]
        names = [p.rsplit("/", 1)[-1] for p in data[s]["paths"].tolist()]
        others = np.concatenate([holidays, *others_of[s]]).astype(np.float32)
        tail = np.sort((vectors @ others.T).ravel())
        where = {n: i for i, n in enumerate(names)}
        for name, i in where.items():
            if not name.endswith("_orig.jpg"):
                continue
            group = name.split("_")[0] + "_"
            for other, j in where.items():
                if other == name or not other.startswith(group) or hash_distance(hashes, i, j) <= copies.HASH_CANDIDATE:
                    continue
                p = 1 - np.searchsorted(tail, float(vectors[i] @ vectors[j])) / len(tail)
                for n in SCALES:
                    totals[n][0] += int(p * n < copies.TOP_K)
                    totals[n][1] += 1
                family = families.setdefault(other[len(group):-4], [0, 0])
                family[0] += int(p * SCALES[-1] < copies.TOP_K)
                family[1] += 1
    return ({n: (a, b) for n, (a, b) in totals.items()}, {f: (a, b) for f, (a, b) in sorted(families.items())})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workdirs", type=Path, nargs="+", help="work folders of quality.py --families runs")
    for work in ap.parse_args().workdirs:
        totals, families = measure(work)
        print(f"{work}: hash-blind copies the CNN still ranks in the top {copies.TOP_K}: "
              + ", ".join(f"{a}/{b} at {n:,} images" for n, (a, b) in totals.items()))
        print(f"  at {SCALES[-1]:,}, per family: " + ", ".join(f"{f} {a}/{b}" for f, (a, b) in families.items()))


if __name__ == "__main__":
    main()
