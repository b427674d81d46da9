"""The combo family's misses on the FIT split, by kind: fresh pools of random combinations and the fit negatives.

    python benchmarks/probe_combo_fit.py --tag main            # verify every pair, keep the answers as main.json
    python benchmarks/probe_combo_fit.py --tag new --against main   # ... and compare with main's

FIT split only (issue 24: choose here, report held out): photos-public photos 40-249 (``quality.py --families`` uses
0-39), each with one random combination of 2-3 edit families (``edits.combo``, whole ranges) per pool seed; the pools
4242 and 4343 are ``bench_proposer.py``'s (looked at by earlier changes), 5151-5454 are new here. A copy is found when
``copies.verify_records(original, copy)`` reaches the default confidence (the check alone: the proposer is
``bench_proposer.py``'s). Negatives: every pair of two photos of one holidays-half group at an even position (real
re-shots: the tuning half of ``bench_reshots.py``), every pair of two views of one ukbench object of groups 0-74 with
their camera stamps left out, and every candidate pair the copies method proposes in those two sets (from
``quality.py --families``' cache in ``--quality-workdir``, made by its run).

Each miss is put in one kind: ``no transform`` (the quick look or the fit found none), ``capped: <rule>`` (the
calibrated confidence over the default, a frame, light or detail rule capping it) or ``short`` (the calibrated
confidence under the default). ``--patch FILE``: a Python file run first (a variant of the check, e.g.
``verify.REVERSE_FIT = False``); ``--against TAG``: every pair whose confidence moved by more than 0.005 since that run.
Encodings are kept in ``--workdir``; the negatives' candidate pairs need ``quality.py --families --workdir
QUALITY_WORKDIR`` run first.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import DATASETS, HOLIDAYS, need_datasets  # noqa: E402

from imagetwins import copies, edits, verify  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402
from imagetwins.io import open_image  # noqa: E402

POOLS = (4242, 4343, 5151, 5252, 5353, 5454)


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def encoded(work: Path, name: str, files, workers: int) -> list:
    cache = work / f"{name}.pkl"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    files = list(files)
    enc = get_encoder("copies").for_workers(workers).encode_files(files, workers=workers, warn=False)
    assert not enc.failures and len(enc.paths) == len(files)
    assert [str(p) for p in enc.paths] == [str(p) for p in files]
    records = list(enc.encodings)
    cache.write_bytes(pickle.dumps(records))
    return records


def pool(work: Path, seed: int, workers: int):
    """(records of the 210 originals, records of their combinations, the recipes)."""
    photos = sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[40:250]
    folder = work / "pool"
    folder.mkdir(parents=True, exist_ok=True)
    originals = [folder / f"x{k:03d}_orig.jpg" for k in range(len(photos))]
    combos = [folder / f"x{k:03d}_c{seed}.jpg" for k in range(len(photos))]
    recipes = [edits.combo_recipe(np.random.default_rng([seed, k])) for k in range(len(photos))]
    for k, p in enumerate(photos):
        if not combos[k].exists() or not originals[k].exists():
            img = open_image(p)
            img.save(originals[k], quality=92)
            edits.combo(img, np.random.default_rng([seed, k])).save(combos[k], quality=92)
    return encoded(work, "originals", originals, workers), encoded(work, f"c{seed}", combos, workers), recipes


def negatives(work: Path, qwork: Path, workers: int):
    """[(name, records_a, records_b, label)] of the fit negatives."""
    out = []
    groups = json.loads((HOLIDAYS / "groundtruth_groups.json").read_text())
    even = {g for k, g in enumerate(sorted(groups)) if k % 2 == 0}
    hfiles = sorted((HOLIDAYS / "images").glob("*.jpg"))
    hrec = encoded(work, "holidays", hfiles, workers)
    scene = np.array([next((g for g, names in groups.items() if p.name in names), p.name) for p in hfiles])
    fit = np.array([s in even for s in scene])
    pairs = {(i, j) for i in range(len(hfiles)) for j in range(i + 1, len(hfiles))
             if fit[i] and fit[j] and scene[i] == scene[j]}
    z = np.load(qwork / "cache-holidays-half.npz")
    assert [Path(p).name for p in z["paths"].tolist()] == [p.name for p in hfiles]
    pairs |= {(min(a, b), max(a, b)) for a, b in zip(z["left"].tolist(), z["right"].tolist())
              if fit[a] and fit[b]}
    for i, j in sorted(pairs):
        out.append((f"holidays {hfiles[i].stem}/{hfiles[j].stem}", hrec[i], hrec[j],
                    "re-shot" if scene[i] == scene[j] else "other"))
    ufiles = sorted((qwork / "ukbench-600-noexif").glob("*.jpg"))[:300]
    urec = encoded(work, "ukbench-fit-noexif", ufiles, workers)
    for r in urec:
        r.capture = None
    z = np.load(qwork / "cache-ukbench-600-noexif.npz")
    upairs = {(i, j) for i in range(300) for j in range(i + 1, 300) if i // 4 == j // 4}
    upairs |= {(min(a, b), max(a, b)) for a, b in zip(z["left"].tolist(), z["right"].tolist()) if a < 300 and b < 300}
    for i, j in sorted(upairs):
        out.append((f"ukbench {ufiles[i].stem}/{ufiles[j].stem}", urec[i], urec[j],
                    "same object" if i // 4 == j // 4 else "other"))
    return out


def kind(v: verify.Verification) -> str:
    if v.confidence >= verify.DEFAULT_CONFIDENCE:
        return "found"
    if v.transform is None:
        return "no transform"
    rule = v.not_one_capture
    calibrated = float(verify.confidence_from(v.measurements()[:verify.CALIBRATED]))
    if rule is not None and calibrated >= verify.DEFAULT_CONFIDENCE:
        return f"capped: {rule}"
    return "short"


def summary(v: verify.Verification) -> dict:
    d = v.to_dict()
    d["kind"] = kind(v)
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="/tmp/combo-fit")
    ap.add_argument("--quality-workdir", default="/tmp/combo-q")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tag", required=True)
    ap.add_argument("--against", default=None)
    ap.add_argument("--pools", default=",".join(map(str, POOLS)))
    ap.add_argument("--no-negatives", action="store_true")
    ap.add_argument("--patch", default=None, help="a Python file run first (a variant of the check to compare)")
    args = ap.parse_args()
    need_datasets("photos-public/images", "holidays-half/images")
    if args.patch:
        exec(compile(Path(args.patch).read_text(), args.patch, "exec"), {"verify": verify, "copies": copies, "np": np})
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    t = cpu()
    for seed in map(int, args.pools.split(",")):
        orig, comb, recipes = pool(work, seed, args.workers)
        for k, (a, b) in enumerate(zip(orig, comb)):
            d = summary(copies.verify_records(a, b))
            d["recipe"] = "+".join(recipes[k])
            d["label"] = "copy"
            results[f"pool {seed} x{k:03d}"] = d
    t_pos = cpu() - t
    t = cpu()
    if not args.no_negatives:
        for name, a, b, label in negatives(work, Path(args.quality_workdir), args.workers):
            d = summary(copies.verify_records(a, b))
            d["label"] = label
            results[name] = d
    t_neg = cpu() - t
    (work / f"{args.tag}.json").write_text(json.dumps(results, indent=0, default=str))
    pos = {k: d for k, d in results.items() if d["label"] == "copy"}
    neg = {k: d for k, d in results.items() if d["label"] != "copy"}
    found = sum(d["kind"] == "found" for d in pos.values())
    print(f"[{args.tag}] copies found {found} of {len(pos)} ({t_pos:.0f} CPU s); negatives called copies "
          f"{sum(d['kind'] == 'found' for d in neg.values())} of {len(neg)} ({t_neg:.0f} CPU s)")
    for seed in map(int, args.pools.split(",")):
        sub = [d for k, d in pos.items() if k.startswith(f"pool {seed} ")]
        print(f"  pool {seed}: {sum(d['kind'] == 'found' for d in sub)} of {len(sub)}")
    print("misses by kind:", dict(Counter(d["kind"] for d in pos.values() if d["kind"] != "found")))
    fams = Counter()
    fam_miss = Counter()
    for d in pos.values():
        for f in d["recipe"].split("+"):
            fams[f] += 1
            fam_miss[f] += d["kind"] != "found"
    print("misses by family in the recipe:", {f: f"{fam_miss[f]}/{fams[f]}" for f in sorted(fams)})
    with_colour = [d for d in pos.values() if "colour_shift" in d["recipe"]]
    print("with colour_shift: misses by kind:",
          dict(Counter(d["kind"] for d in with_colour if d["kind"] != "found")), f"of {len(with_colour)}")
    if args.against:
        old = json.loads((work / f"{args.against}.json").read_text())
        for k, d in results.items():
            o = old.get(k)
            if o is None:
                continue
            if abs(o["confidence"] - d["confidence"]) > 0.005:
                flip = (o["confidence"] >= verify.DEFAULT_CONFIDENCE) != (d["confidence"] >= verify.DEFAULT_CONFIDENCE)
                print(f"  {'FLIP ' if flip else ''}{k} [{d['label']}] {d.get('recipe', '')}: {o['confidence']:.3f} "
                      f"-> {d['confidence']:.3f}")


if __name__ == "__main__":
    main()
