"""The bound on the hash pairs ``copies`` verifies per image (``copies.HASH_PER_ROW``): how many pairs the dihedral
hash proposes per image on real photos and on ``bench_scale``'s small mosaics, and which copies a bound of k would
lose at 100,000 images.

    nice -n 10 python benchmarks/bench_hash_bound.py [--caches CACHE.npz ...]

1. Hash pairs within ``HASH_CANDIDATE`` bits among the 1,272 real photos of photos-public, ukbench-600 and
   holidays-half (decoded at 256 px), and among as many ``bench_scale.make_small`` mosaics: pairs per image, and
   the share of all pairs (a fixed share: the pairs of an image grow with the library).
2. ``--caches``: ``quality.py``'s per-set caches (``cache-NAME.npz`` in its work folder: hashes, CNN vectors,
   paths), read through ``quality.cached_set`` (one made by another copies encoder stops the script: run quality.py
   again). For each true copy pair proposed by the hash beyond ``HASH_SURE`` and not among either image's CNN
   top ``TOP_K``, its place in each image's hash list at 100,000 images (the look-alikes nearer than the copy, at
   the density of real photos of the other datasets, scaled to 100,000, plus its own set's), and how many such
   pairs a bound of k would drop; and the pairs the bound drops on the set itself, true ones named.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import quality  # noqa: E402
from _common import DATASETS, need_datasets  # noqa: E402
from bench_scale import make_small  # noqa: E402

from imagetwins import copies, hashing, search  # noqa: E402

REAL = ("photos-public", "ukbench-600", "holidays-half")
_HASHES: dict[str, np.ndarray] = {}


def dihedral_hashes(images: list[Image.Image]) -> np.ndarray:
    return hashing.bits_to_words(hashing.dihedral_bits(np.stack([hashing.dihedral_thumbnail(im) for im in images])))


def real_hashes(name: str) -> np.ndarray:
    if name not in _HASHES:
        images = []
        for p in sorted((DATASETS / name / "images").glob("*.jpg")):
            with Image.open(p) as im:
                im.draft("RGB", (256, 256))
                images.append(im.convert("RGB"))
        _HASHES[name] = dihedral_hashes(images)
    return _HASHES[name]


def density() -> None:
    real = np.concatenate([real_hashes(n) for n in REAL])
    with tempfile.TemporaryDirectory() as tmp:
        make_small(Path(tmp), 0, len(real))
        mosaics = dihedral_hashes([Image.open(p).convert("RGB") for p in sorted(Path(tmp).glob("*.jpg"))])
    n = len(real)
    for name, h in (("real photos", real), ("bench_scale mosaics", mosaics)):
        for t in (copies.HASH_CANDIDATE, 80, 64):
            k = len(search.dihedral_pairs(h, t).left)
            share = k / (n * (n - 1) / 2)
            print(f"{name}: {n} images, within {t} bits: {k} pairs, {2 * k / n:.2f} an image, share {share:.2e}"
                  f" (at 100,000: ~{share * 1e5:.0f} an image)", flush=True)


def distances(h: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    variants = hashing.dihedral_variants(h)
    d = np.full((len(h), len(crowd)), 10**6, np.int32)
    for k in range(8):
        dk = sum(np.bitwise_count(variants[:, k, w][:, None] ^ crowd[:, w][None, :]).astype(np.int32) for w in range(4))
        np.minimum(d, dk, out=d)
    return d


def read_cache(cache: Path) -> dict:
    """``quality.py``'s cached set ``cache`` read through its own reader (:func:`quality.cached_set`), which reads only
    a cache this copies encoder made; else stop with one line. Read with ``np.load`` directly, a cache made before a
    version change (the raw 1,280-number proposer vectors, older features) was measured as if it were this one's."""
    try:
        kept = quality.cached_set(cache, cnn8=False)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # (no .npz: a text file, a folder, cut short)
        sys.exit(f"bench_hash_bound.py: {cache} cannot be read as quality.py's cache ({exc}): run quality.py to "
                 "make it")
    if kept is None:
        sys.exit(f"bench_hash_bound.py: {cache} is not a cache of this copies encoder (missing, or made by another "
                 "version of it, or of other checks): run quality.py again to make it anew")
    return kept


def lost_at_scale(cache: Path, z: dict, bounds=(1, 2, 4, 8, 16)) -> None:
    paths = [Path(p) for p in z["paths"]]
    name = cache.stem.replace("cache-", "")
    same = quality.truth(paths)
    h, v = z["hashes"], z["v1"].astype(np.float32)
    # the bound on the set itself: pairs dropped (all true ones named)
    got = {}
    for b in (copies.HASH_PER_ROW, None):
        left, right, _ = copies.candidate_pairs(h, v.astype(copies.VECTOR_DTYPE), hash_per_row=b)
        got[b] = set(zip(left.tolist(), right.tolist()))
    dropped = got[None] - got[copies.HASH_PER_ROW]
    true_dropped = [(paths[a].name, paths[b].name) for a, b in sorted(dropped) if same[a, b]]
    print(f"{name}: {len(paths)} images, proposed {len(got[None])} pairs without the bound, "
          f"{len(got[copies.HASH_PER_ROW])} with k={copies.HASH_PER_ROW}; dropped {len(dropped)}, true copies among "
          f"them: {true_dropped or 'none'}", flush=True)
    if not same.any():
        return
    dm = quality.dihedral_matrix(h)
    sims = v @ v.T
    np.fill_diagonal(sims, -1)
    top = np.argsort(-sims, axis=1)[:, :copies.TOP_K]
    cnn = np.zeros_like(same)
    for i in range(len(v)):
        j = top[i][sims[i, top[i]] >= copies.CNN_CANDIDATE]
        cnn[i, j] = cnn[j, i] = True
    own = next((n for n in REAL if n.split("-")[0] in name), None)
    crowd = np.concatenate([real_hashes(n) for n in REAL if n != own])
    scale = 100_000 / len(crowd)
    dc = distances(h, crowd)
    iu = np.triu_indices(len(h), 1)
    true = same[iu]
    a, b, d = iu[0][true], iu[1][true], dm[iu][true]
    band = (d > copies.HASH_SURE) & (d <= copies.HASH_CANDIDATE)
    hash_only = band & ~cnn[a, b]
    place = [min((dc[i] < x).sum() * scale + (dm[i] < x).sum() - 1, (dc[j] < x).sum() * scale + (dm[j] < x).sum() - 1)
             for i, j, x in zip(a[hash_only], b[hash_only], d[hash_only])]
    lost = {k: int(sum(p >= k for p in place)) for k in bounds}
    print(f"  true pairs {int(true.sum())}; proposed by the hash beyond {copies.HASH_SURE} bits {int(band.sum())}, "
          "of which "
          f"not in a CNN top {copies.TOP_K}: {int(hash_only.sum())}; of those, dropped at 100,000 images by a bound of "
          + ", ".join(f"k={k}: {n}" for k, n in lost.items()), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--caches", nargs="*", type=Path, default=[], help="quality.py's cache-NAME.npz files")
    ap.add_argument("--no-density", action="store_true")
    a = ap.parse_args()
    caches = {c: read_cache(c) for c in a.caches}  # (every one checked before anything is measured)
    need_datasets("photos-public/images", "ukbench-600/images", "holidays-half/images")
    if not a.no_density:
        density()
    for c, z in caches.items():
        lost_at_scale(c, z)


if __name__ == "__main__":
    main()
