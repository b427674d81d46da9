"""Can a cheap transform of the proposer's pooled CNN vectors let a smaller input rank hash-blind copies at scale? (#25)

    python benchmarks/quality.py --families --family-originals 20 --no-write --workdir W   # main (128 px)
    python benchmarks/probe_cnn_whitening.py W [--work /tmp/probe-whiten]
    python benchmarks/probe_cnn_whitening.py W --training wide --sides 96,112,128 --leave-one-out \
        --save src/imagetwins/models/copies_projection_96.npz    # the projection copies ships

The ``copies`` proposer embeds each image with EfficientNet-Lite0 at :data:`~imagetwins.copies.CNN_SIDE` px and
GeM-pools the last feature map (p = 3). At 96 px the CNN costs ~1.3 CPU ms an image less but ranks about half as many
hash-blind copies among an image's :data:`~imagetwins.copies.TOP_K` nearest at 10,000-100,000 images
(``probe_proposer_scale.py``). This probe decodes every image of the work folder's sets as ``copies`` does
(``open_image`` at the encoder's sizes, ``Embedder.prepare``), keeps the feature maps at 80-128 px, and tries on the
pooled vectors:

- ``raw``: today's vector (GeM p = 3, L2);
- ``sqrt``: the signed square root of the GeM vector before L2 (nothing learned);
- ``pca``: PCA whitening (shrunk eigenvalues) learned on the training pictures and their edits;
- ``lw``: the "learned whitening" of Radenović et al. (TPAMI 2019): whiten by the covariance of the differences of
  matching pairs (an original and its edit), then PCA of the training vectors in that space, ``D`` dimensions kept:
  a (1280 x D) matrix and a mean, applied as ``l2((v - mean) @ P)``.

The transforms are learned on photos-public's pictures the family set does not use (its sorted files from the 41st
on: the set's 20 originals and 20 distractors are its first 40), each with edits of its own seed: ``families``, 4
edits an image drawn from :data:`imagetwins.edits.FAMILIES` (the generator of the family copies measured, other
pictures, other draws), or ``everyday``, 6 drawn from :data:`imagetwins.edits.EDITS` without flips and quarter turns.
``lw, families without F`` learns a matrix per family F with F's and ``combo``'s edits left out and counts F's copies
only (leave one family out). Reported: ``probe_proposer_scale.py``'s estimate (hash-blind family copies whose p,
the share of unrelated pairs at least as similar, times N is under TOP_K) at 10,000 and 100,000 images, per source
and in all; and the vectors' ukbench-600 N-S score and MAP as ``quality.py`` computes them. Writes only under
``--work``, and with ``--save PATH`` the ``lw`` matrix learned from the ``families`` edits there (npz, float16).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from imagetwins import copies, verify  # noqa: E402
from imagetwins.edits import EDITS, FAMILIES  # noqa: E402
from imagetwins.embedding import Embedder, ModelConfig, l2_normalise  # noqa: E402
from imagetwins.io import open_image  # noqa: E402
from imagetwins.search.dihedral import dihedral_variants  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from _common import DATASETS, need_datasets  # noqa: E402

SIDES = (80, 96, 112, 128)
FAMILY_SETS = ("fam-ukbench", "fam-camera-photos", "fam-imagededup-testdata", "fam-photos-public")
SCALES = (10_000, 100_000)
#: the proposer's bar for the raw 128 px vector (copies.CNN_CANDIDATE before the projection)
RAW_CANDIDATE = 0.5
#: the edit tables a transform is learned from: name -> (table, edits per training picture)
EVERYDAY = {k: e for k, e in EDITS.items() if not any(f in k for f in ("flip", "rot90", "rot180", "rot270"))}
TRAINING = {
    "families": (FAMILIES, 4),
    "everyday": (EVERYDAY, 6),
}
#: the wider generator (``--training wide``): each picture gets WIDE_EACH edits drawn from FAMILIES and as many from
#: the everyday EDITS (their names prefixed ``ev-``, so that leaving a family out leaves only that family's edits out)
WIDE_EACH = 8
WIDE = {**FAMILIES, **{f"ev-{k}": e for k, e in EVERYDAY.items()}}
#: photos in camera-photos' orientation examples, one per distinct picture (the others are the same picture turned)
ORIENTATION_PICTURES = ("cameratrapai/african_elephants_with_exif_orientation.jpg", "exifsamples/landscape_1.jpg",
                        "exifsamples/portrait_1.jpg", "immich/portrait.jpg", "libvips/1.jpg",
                        "lychee/orientation-180.jpg", "pillow/hopper_orientation_2.jpg", "recurser/Landscape_0.jpg",
                        "recurser/Portrait_0.jpg",
                        "thumbor/Giunchedi_Filippo_January_2015_01-cmyk-orientation-exif.jpg")


def wide_pictures() -> list[str]:
    """Pictures no measured set holds: photos-public's files from the 201st on (``quality.py`` uses its first 200,
    ``--families`` its first 40) and the distinct pictures of camera-photos' orientation examples."""
    photos = sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[200:]
    shown = DATASETS / "camera-photos" / "orientation-examples"
    return [str(p) for p in photos] + [str(shown / n) for n in ORIENTATION_PICTURES if (shown / n).exists()]


def decode(source) -> Image.Image:
    """An image decoded as the ``copies`` encoder decodes it (its ``min_side`` and ``min_long_side``)."""
    return open_image(source, min_size=192, min_long_side=verify.FEATURE_SIDE)


def feature_maps(images: list[Image.Image], embedders: dict[int, Embedder]) -> dict[int, np.ndarray]:
    return {s: e.feature_maps(np.stack([e.prepare(i) for i in images])).astype(np.float16)
            for s, e in embedders.items()}


def maps_of(name: str, paths: list[str], work: Path, embedders: dict[int, Embedder],
            edits: tuple[dict, int] | None = None) -> dict:
    """The feature maps of ``paths`` (and, for training, of edits of each), kept in ``work``."""
    cache = work / f"maps-{name}.npz"
    if cache.exists():
        z = np.load(cache)
        return {k: z[k] for k in z.files}
    rng = np.random.default_rng(2025)
    names, parts, images = [], {s: [] for s in embedders}, []

    def flush() -> None:
        for s, m in feature_maps(images, embedders).items():
            parts[s].append(m)
        images.clear()

    for p in paths:
        images.append(decode(p))
        names.append(p)
        if edits is not None:
            table, count = edits
            kinds = sorted(table)
            src = open_image(p)  # upright (the orientation examples carry EXIF turns)
            for k in range(count):
                if table is WIDE:  # as many of the families' edits as of the everyday ones
                    pool = [n for n in kinds if n.startswith("ev-") == (k % 2 == 1)]
                    kind = pool[int(rng.integers(len(pool)))]
                else:
                    kind = kinds[int(rng.integers(len(kinds)))]
                buf = io.BytesIO()
                table[kind](src, rng).convert("RGB").save(buf, "JPEG", quality=int(rng.integers(75, 95)))
                images.append(decode(buf.getvalue()))
                names.append(f"{p}#{k}:{kind}")
        if len(images) >= 16:
            flush()
    if images:
        flush()
    out = {"names": np.array(names), **{f"s{s}": np.concatenate(parts[s]) for s in embedders}}
    np.savez(cache, **out)
    return out


def gem(maps: np.ndarray, power: float = 1.0) -> np.ndarray:
    """GeM (p = 3) of (N, C, h, w) maps, each value raised to ``power`` keeping its sign, L2-normalised."""
    v = np.power(np.power(np.clip(maps.astype(np.float32), 1e-6, None), 3.0).mean(axis=(2, 3)), 1 / 3)
    return l2_normalise(np.sign(v) * np.abs(v) ** power)


def learn(x: np.ndarray, names: list[str], kind: str, dims: int, shrink: float,
          leave_out: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """(mean, P) of a ``pca`` or ``lw`` transform learned on unit vectors ``x`` (originals and their edits, named
    ``ORIGINAL#k:EDIT``); edits of a kind in ``leave_out`` are not used. Eigenvalues shrunk: + shrink * their mean."""
    keep = np.array([not any(n.endswith(":" + f) for f in leave_out) for n in names])
    x, names = x[keep], [n for n, k in zip(names, keep) if k]
    mean = x.mean(axis=0)
    if kind == "pca":
        lam, u = np.linalg.eigh(np.cov(x, rowvar=False, bias=True))
        lam, u = lam[::-1][:dims], u[:, ::-1][:, :dims]
        return mean, u / np.sqrt(lam + shrink * lam.mean())
    row = {n: i for i, n in enumerate(names) if "#" not in n}
    pairs = np.array([(row[n.split("#")[0]], i) for i, n in enumerate(names) if "#" in n])
    diff = x[pairs[:, 0]] - x[pairs[:, 1]]
    lam, u = np.linalg.eigh(diff.T @ diff / len(diff))  # within-pair covariance: the edits' directions
    lam = np.maximum(lam, 0)
    whiten = u / np.sqrt(lam + shrink * lam.mean())
    y = (x - mean) @ whiten
    _, v = np.linalg.eigh(y.T @ y / len(y))
    return mean, whiten @ v[:, ::-1][:, :dims]


def hash_distance(hashes: np.ndarray, a: int, b: int) -> int:
    variants = dihedral_variants(hashes[a:a + 1]).reshape(-1, hashes.shape[1])
    return int(np.bitwise_count(np.bitwise_xor(variants, hashes[b][None])).sum(axis=1).min())


def hash_blind_pairs(hashes: np.ndarray, names: list[str]) -> list[tuple[int, int, str]]:
    """(original, copy, family) of a family set's copies farther than HASH_CANDIDATE bits from their original."""
    where = {n: i for i, n in enumerate(names)}
    out = []
    for name, i in where.items():
        if name.endswith("_orig.jpg"):
            group = name.split("_")[0] + "_"
            out += [(i, j, other[len(group):-4]) for other, j in where.items() if other != name
                    and other.startswith(group) and hash_distance(hashes, i, j) > copies.HASH_CANDIDATE]
    return out


def ranked(vectors: dict[str, np.ndarray], pairs: dict, family: str | None = None) -> dict[str, list[int]]:
    """Per family set: hash-blind copies the CNN ranks among TOP_K at each of SCALES, and their count."""
    out = {}
    for s in FAMILY_SETS:
        v = vectors[s]
        others = np.concatenate([vectors["holidays-half"], *(vectors[o] for o in FAMILY_SETS if o != s)])
        tail = np.sort((v @ others.T).ravel())
        counts = [0] * (len(SCALES) + 1)
        for i, j, f in pairs[s]:
            if family is not None and f != family:
                continue
            p = 1 - np.searchsorted(tail, float(v[i] @ v[j])) / len(tail)
            for k, n in enumerate(SCALES):
                counts[k] += int(p * n < copies.TOP_K)
            counts[-1] += 1
        out[s] = counts
    return out


def unrelated_similarities(vectors: dict[str, np.ndarray]) -> np.ndarray:
    """The similarities of every family set's images to the images of the other sources and holidays-half (the
    unrelated pairs :func:`ranked` pools), all sets together."""
    out = []
    for s in FAMILY_SETS:
        others = np.concatenate([vectors["holidays-half"], *(vectors[o] for o in FAMILY_SETS if o != s)])
        out.append((vectors[s] @ others.T).ravel())
    return np.concatenate(out)


def ukbench_scores(v: np.ndarray, names: list[str]) -> tuple[float, float]:
    """N-S score (of 4, itself counted) and MAP (the other 3), as benchmarks/quality.py computes them."""
    sim = v @ v.T
    np.fill_diagonal(sim, np.inf)
    group = np.array([int(Path(n).stem[-5:]) // 4 for n in names])
    order = np.argsort(-sim, axis=1)
    ns = float(np.mean([(group[order[i, :4]] == group[i]).sum() for i in range(len(group))]))
    aps = []
    for i in range(len(group)):
        rel = group[order[i, 1:]] == group[i]
        aps.append(float((np.cumsum(rel)[rel] / (np.flatnonzero(rel) + 1)).mean()))
    return ns, float(np.mean(aps))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("quality_work", type=Path, help="work folder of a quality.py --families --family-originals 20 run")
    ap.add_argument("--work", type=Path, default=Path("/tmp/probe-whiten"), help="where the feature maps are kept")
    ap.add_argument("--sides", default="96,112,128", help="CNN input sides to report (of 80,96,112,128)")
    ap.add_argument("--dims", type=int, default=512, help="dimensions a learned transform keeps")
    ap.add_argument("--shrink", type=float, default=1.0, help="eigenvalue shrinkage, times their mean")
    ap.add_argument("--leave-one-out", action="store_true", help="also the lw transform learned without each family")
    ap.add_argument("--save", type=Path, help="write the lw transform learned from the families' edits (npz: mean, "
                    "P float16) to this path")
    ap.add_argument("--save-side", type=int, default=96, help="the CNN side of the transform --save writes")
    ap.add_argument("--training", choices=("earlier", "wide"), default="earlier",
                    help="earlier: the families and everyday edits of photos-public[40:]; wide: FAMILIES and "
                    "everyday EDITS mixed, on pictures no measured set holds (wide_pictures)")
    args = ap.parse_args()
    need_datasets("photos-public/images")  # (before anything is written)
    args.work.mkdir(parents=True, exist_ok=True)
    sides = sorted({int(s) for s in args.sides.split(",")} | ({args.save_side} if args.save else set()))
    embedders = {s: Embedder(ModelConfig(input_size=s), threads=1) for s in sides}
    caches = {s: next(args.quality_work.glob(f"cache-{s}-v*.npz")) for s in FAMILY_SETS}
    caches["holidays-half"] = args.quality_work / "cache-holidays-half.npz"
    caches["ukbench-600"] = args.quality_work / "cache-ukbench-600.npz"
    sets, pairs = {}, {}
    for name, cache in caches.items():
        z = np.load(cache)
        paths = [str(p) for p in z["paths"]]
        sets[name] = maps_of(name, paths, args.work, embedders)
        if name in FAMILY_SETS:
            pairs[name] = hash_blind_pairs(z["hashes"], [p.rsplit("/", 1)[-1] for p in paths])
    if args.training == "wide":
        training = wide_pictures()
        trained = {"wide": maps_of("train-wide", training, args.work, embedders, (WIDE, 2 * WIDE_EACH))}
    else:
        training = [str(p) for p in sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[40:]]
        trained = {t: maps_of(f"train-{t}", training, args.work, embedders, edits) for t, edits in TRAINING.items()}
    learned_from = "wide" if args.training == "wide" else "families"
    if args.save:
        tr = trained[learned_from]
        mean, proj = learn(gem(tr[f"s{args.save_side}"]), tr["names"].tolist(), "lw", args.dims, args.shrink)
        np.savez(args.save, mean=mean.astype(np.float16), P=proj.astype(np.float16))
        print(f"wrote {args.save}: mean ({mean.size}), P {proj.shape} float16, learned at {args.save_side} px "
              f"from {learned_from}")
    if args.save and "s128" in sets["holidays-half"]:
        # the bar over which as large a share of unrelated pairs lies as over RAW_CANDIDATE for the raw vector
        # (raw, 128 px): the CNN_CANDIDATE of the projected space
        share = float((unrelated_similarities({n: gem(m["s128"]) for n, m in sets.items()})
                       >= RAW_CANDIDATE).mean())
        projected = unrelated_similarities({n: l2_normalise((gem(m[f"s{args.save_side}"]) - mean) @ proj)
                                            for n, m in sets.items()})
        print(f"unrelated pairs at or over {RAW_CANDIDATE} (raw, 128 px): {share:.4f}; the same share in the "
              f"projected {args.save_side} px space at or over {float(np.quantile(projected, 1 - share)):.4f}")
    uk_names = sets["ukbench-600"]["names"].tolist()
    total_pairs = sum(len(p) for p in pairs.values())
    print(f"hash-blind family copies: {total_pairs}; training pictures: {len(training)} ({args.training})")
    print("| side | transform | 10,000 | 100,000 | per source at 10,000 / 100,000 | ukbench N-S | MAP |")
    print("| ---: | --- | ---: | ---: | --- | ---: | ---: |")
    families = sorted({f for p in pairs.values() for _, _, f in p})
    for side in (int(s) for s in args.sides.split(",")):
        key = f"s{side}"
        transforms = {"raw": None, "sqrt": 0.5}
        for t in trained:
            transforms[f"pca {args.dims}, {t}"] = ("pca", t)
            transforms[f"lw {args.dims}, {t}"] = ("lw", t)
        for label, how in transforms.items():
            power = how if isinstance(how, float) else 1.0
            vectors = {n: gem(m[key], power) for n, m in sets.items()}
            if isinstance(how, tuple):
                tr = trained[how[1]]
                mean, proj = learn(gem(tr[key]), tr["names"].tolist(), how[0], args.dims, args.shrink)
                vectors = {n: l2_normalise((v - mean) @ proj) for n, v in vectors.items()}
            counts = ranked(vectors, pairs)
            ns, mean_ap = ukbench_scores(vectors["ukbench-600"], uk_names)
            per = ", ".join(f"{s[4:]} {c[0]}/{c[1]} of {c[2]}" for s, c in counts.items())
            print(f"| {side} | {label} | {sum(c[0] for c in counts.values())} | {sum(c[1] for c in counts.values())} "
                  f"| {per} | {ns:.2f} | {mean_ap:.3f} |", flush=True)
        if args.leave_one_out:
            tr = trained[learned_from]
            got = np.zeros(2, int)
            for f in families:
                mean, proj = learn(gem(tr[key]), tr["names"].tolist(), "lw", args.dims, args.shrink, (f, "combo"))
                vectors = {n: l2_normalise((gem(m[key]) - mean) @ proj) for n, m in sets.items()}
                got += np.array([c[:2] for c in ranked(vectors, pairs, f).values()]).sum(axis=0)
            print(f"| {side} | lw {args.dims}, {learned_from} without the family counted (and combo) | {got[0]} "
                  f"| {got[1]} | | | |", flush=True)


if __name__ == "__main__":
    main()
