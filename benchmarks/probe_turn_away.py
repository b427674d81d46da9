"""What the check's early stops (``verify.FULL_INLIERS``, ``verify.EARLY_PART_COVER``; issue #25) change and save.

    python benchmarks/probe_turn_away.py --split fit        # fit split: choose here
    python benchmarks/probe_turn_away.py --split held-out   # report here
    python benchmarks/probe_turn_away.py --db INDEX [--first-new NAME] [--pairs 2000]   # CPU a pair, A/B

Every pair is checked twice in this process (``copies.verify_records``), with main's check before the stops
(``FULL_INLIERS`` 3, ``EARLY_PART_COVER`` 0: every aligned pair compared cell by cell, as before) and with the stops,
alternating which goes first, so the machine's load falls on both alike.

``--split``: every original-copy and copy-copy pair of the family sets and every candidate pair ``quality.py
--families`` proposed in them (its caches in ``--quality-workdir``), counted found at the default per family; the
negatives and how many are called copies. Fit: photos-public's family set, ``probe_combo_fit.py``'s 6 x 210 random
combinations of photos-public photos 40-249 against their originals, its fit negatives (holidays-half's even groups,
ukbench 0-74 without camera stamps, their candidate pairs). Held out: the ukbench, camera-photos and
imagededup-testdata family sets, holidays-half's odd groups, ukbench 75-149, with their candidate pairs. Any pair whose
confidence moved from or to NOT_ONE_CAPTURE or more is printed. Encodings are kept in ``--workdir``.

``--db``: the pairs an index keeps scores for (those with a file named ``--first-new`` or later: an incremental run's
new pictures; "" for all), ``--pairs`` of them at random, their features read from the index: CPU ms a pair with
``confidence_only`` (a search's checks), one thread.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import probe_combo_fit  # noqa: E402
import quality  # noqa: E402
from _common import HOLIDAYS, need_datasets  # noqa: E402

from imagetwins import copies, verify  # noqa: E402

STOPS = {"main": (3, 0.0), "stops": (verify.FULL_INLIERS, verify.EARLY_PART_COVER)}


def checked(a, b, cpu: Counter, k: int, **kw) -> dict:
    """Both checks of one pair, the order alternating with ``k``: {name: Verification}."""
    out = {}
    for name in (("main", "stops") if k % 2 == 0 else ("stops", "main")):
        verify.FULL_INLIERS, verify.EARLY_PART_COVER = STOPS[name]
        t = time.process_time()
        out[name] = copies.verify_records(a, b, **kw)
        cpu[name] += time.process_time() - t
    verify.FULL_INLIERS, verify.EARLY_PART_COVER = STOPS["stops"]
    return out


def encoded(work: Path, name: str, paths: list[Path]) -> list:
    return probe_combo_fit.encoded(work, name, paths, 2)


def family_sets(split: str, work: Path, qwork: Path):
    """(set name, paths, records, candidate pairs (i, j), label(i, j), keep(i, j)) of the split's sets."""
    names = (["fam-photos-public-v2-20"] if split == "fit" else
             ["fam-ukbench-v2-20", "fam-camera-photos-v2-20", "fam-imagededup-testdata-v2-20"])
    groups = json.loads((HOLIDAYS / "groundtruth_groups.json").read_text())
    half = {g for k, g in enumerate(sorted(groups)) if k % 2 == (0 if split == "fit" else 1)}
    scene = {n: g for g, members in groups.items() for n in members}
    for name in names + (["holidays-half", "ukbench-600"] if split == "held-out" else []):
        z = np.load(qwork / f"cache-{name}.npz")
        paths = [Path(p) for p in z["paths"].tolist()]
        cand = {(min(a, b), max(a, b)) for a, b in zip(z["left"].tolist(), z["right"].tolist())}
        if name == "holidays-half":
            grp = [scene.get(p.name, p.name) for p in paths]
            held = [scene.get(p.name) in half for p in paths]
            yield (name, paths, encoded(work, "holidays", paths), cand,
                   lambda i, j, g=grp: "re-shot" if g[i] == g[j] else "other",
                   lambda i, j, h=held: h[i] and h[j], lambda i, j, g=grp: g[i] == g[j])
        elif name == "ukbench-600":
            grp = [int(p.stem[7:12]) // 4 for p in paths]
            held = [k for k, g in enumerate(grp) if g >= 75]
            recs: list = [None] * len(paths)
            for k, r in zip(held, encoded(work, "ukbench-held", [paths[k] for k in held])):
                recs[k] = r
            yield (name, paths, recs, cand, lambda i, j, g=grp: "same object" if g[i] == g[j] else "other",
                   lambda i, j, g=grp: g[i] >= 75 and g[j] >= 75, lambda i, j, g=grp: g[i] == g[j])
        else:
            grp = [quality.group_of(p) for p in paths]

            def label(i, j, g=grp, p=paths):
                if g[i] != g[j]:
                    return "other"
                fa, fb = (p[i].stem.split("_", 1) + [""])[1], (p[j].stem.split("_", 1) + [""])[1]
                return "copy:" + fb if fa == "orig" else "copy:" + fa if fb == "orig" else "copy-copy"

            yield (name, paths, encoded(work, name, paths), cand, label, lambda i, j: True,
                   lambda i, j, g=grp: g[i] == g[j])


def split_pairs(split: str, work: Path, qwork: Path):
    """(set, name, label, record a, record b) of every pair the split's comparison checks."""
    if split == "fit":
        for seed in probe_combo_fit.POOLS:
            orig, comb, recipes = probe_combo_fit.pool(work, seed, 2)
            for k, (a, b) in enumerate(zip(orig, comb)):
                yield "combinations", f"{seed} x{k:03d} {'+'.join(recipes[k])}", "copy:combo", a, b
        for name, a, b, label in probe_combo_fit.negatives(work, qwork, 2):
            yield "fit negatives", name, label, a, b
    for name, paths, recs, cand, label, keep, same in family_sets(split, work, qwork):
        pairs = {(i, j) for i, j in cand if keep(i, j)}
        pairs |= {(i, j) for i in range(len(paths)) for j in range(i + 1, len(paths)) if keep(i, j) and same(i, j)}
        for i, j in sorted(pairs):
            yield name.replace("-v2-20", ""), f"{paths[i].name}/{paths[j].name}", label(i, j), recs[i], recs[j]


def compare_split(split: str, work: Path, qwork: Path) -> None:
    cpu: Counter = Counter()
    counts: Counter = Counter()
    family: dict = defaultdict(lambda: [0, 0, 0])
    for k, (where, name, label, a, b) in enumerate(split_pairs(split, work, qwork)):
        v = checked(a, b, cpu, k)
        before, after = v["main"].confidence, v["stops"].confidence
        kind = "copy" if label.startswith("copy:") else label
        key = (where, kind)
        counts[key + ("pairs",)] += 1
        counts[key + ("found before",)] += before >= verify.DEFAULT_CONFIDENCE
        counts[key + ("found now",)] += after >= verify.DEFAULT_CONFIDENCE
        if label.startswith("copy:"):
            f = family[(where, label[5:])]
            f[0] += 1
            f[1] += before >= verify.DEFAULT_CONFIDENCE
            f[2] += after >= verify.DEFAULT_CONFIDENCE
        if before != after:
            counts[key + ("moved",)] += 1
            if max(before, after) >= verify.NOT_ONE_CAPTURE:
                counts[key + ("moved from/to >= 0.5",)] += 1
                print(f"  moved: {where} {name} [{label}] {before:.4f} -> {after:.4f}", flush=True)
        if v["main"].same_scene != v["stops"].same_scene:  # (what the hash-sure band's overrule reads)
            counts[key + ("same scene changed",)] += 1
    print(f"{split} split:")
    for key in sorted(counts):
        print("  ", key, counts[key])
    print("  found at the default by family (pairs, before, now):")
    for key in sorted(family):
        print("    ", key, family[key])
    print(f"  CPU of the checks: before {cpu['main']:.1f} s, now {cpu['stops']:.1f} s "
          f"({cpu['stops'] / cpu['main'] - 1:+.1%})")


def db_pairs(db: Path, first_new: str, n: int) -> list:
    """``n`` random pairs (seed 2) of an index's kept scores with a file named ``first_new`` or later, as features."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    new = {bytes(d)[:16] for (d,) in con.execute("SELECT digest FROM files WHERE name >= ?", (first_new,))}
    pairs = [(bytes(a), bytes(b)) for a, b in con.execute("SELECT a, b FROM pair_scores WHERE method='copies'")
             if bytes(a) in new or bytes(b) in new]
    if n < len(pairs):
        pairs = [pairs[k] for k in np.random.default_rng(2).choice(len(pairs), n, replace=False)]
    file_of = {}
    for d, fid in con.execute("SELECT digest, id FROM files WHERE digest IS NOT NULL"):
        file_of.setdefault(bytes(d)[:16], fid)
    features = {}
    for key in {k for p in pairs for k in p}:
        (blob,) = con.execute("SELECT value FROM encodings WHERE file_id=? AND method='copies'",
                              (file_of[key],)).fetchone()
        features[key] = copies._sides(copies.CopyRecord.from_bytes(bytes(blob)))[0]
    return [(features[a], features[b]) for a, b in pairs]


def compare_db(db: Path, first_new: str, n: int) -> None:
    pairs = db_pairs(db, first_new, n)
    for a, b in pairs:
        verify.order_key(a), verify.order_key(b)
    cpu: Counter = Counter()
    for k, (a, b) in enumerate(pairs[:50]):  # (warm)
        checked(a, b, Counter(), k, confidence_only=True)
    moved = 0
    for k, (a, b) in enumerate(pairs):
        v = checked(a, b, cpu, k, confidence_only=True)
        moved += v["main"].confidence != v["stops"].confidence
    print(f"{db}: {len(pairs)} pairs; CPU ms a pair: before {1e3 * cpu['main'] / len(pairs):.3f}, now "
          f"{1e3 * cpu['stops'] / len(pairs):.3f} ({cpu['stops'] / cpu['main'] - 1:+.1%}); confidences moved {moved}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=("fit", "held-out"))
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/turn-away"))
    ap.add_argument("--quality-workdir", type=Path, default=Path("/tmp/imagetwins-heldout"))
    ap.add_argument("--db", type=Path)
    ap.add_argument("--first-new", default="")
    ap.add_argument("--pairs", type=int, default=2000)
    args = ap.parse_args()
    need_datasets("holidays-half/images")
    verify.opencv_imports()
    verify._require_cv2()
    if args.db:
        compare_db(args.db, args.first_new, args.pairs)
    if args.split:
        args.workdir.mkdir(parents=True, exist_ok=True)
        compare_split(args.split, args.workdir, args.quality_workdir)


if __name__ == "__main__":
    main()
