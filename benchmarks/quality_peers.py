"""In-sample quality benchmark with the peers (imagededup, imagehash, PDQ); the held-out one is quality.py.

    python benchmarks/quality_peers.py [--ref-python /tmp/imagededup-ref/bin/python] [--originals 100]

Builds a transformed set from ``../shared/datasets/photos-public`` with ``imagetwins.edits`` (fixed
seed): each original gets 14 edited copies, the other photos are distractors. Ground truth = groups.
Runs every imagetwins hash and the peers on the same files in one run (imagededup's four hashes,
imagehash's, and PDQ matched over its 8 rotations/flips via ``pdqhash.compute_dihedral``; peers in
their own venv), then the real groups of ``ukbench-600``. Writes the tables into BENCHMARKS.md
between the ``quality`` markers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets, write_section  # noqa: E402

from imagetwins import hashing  # noqa: E402
from imagetwins.edits import EDITS, edit_of, make_transformed_set  # noqa: E402
from imagetwins.evaluation import load_ground_truth  # noqa: E402

TARGET = 0.995
#: the 14 edits this set was built with (imagetwins.edits has more since; quality.py uses them all)
EDIT_NAMES = list(EDITS)[:14]

PEERS = r"""
import json, sys, logging, warnings
logging.disable(logging.CRITICAL); warnings.simplefilter("ignore")
from pathlib import Path
import numpy as np
from PIL import Image
import imagehash, pdqhash
from imagededup.methods import PHash, AHash, DHash, WHash
folder = Path(sys.argv[1]); names = json.loads(Path(sys.argv[2]).read_text())
out = {}
for label, cls in (("imagededup phash", PHash), ("imagededup dhash", DHash), ("imagededup ahash", AHash),
                   ("imagededup whash", WHash)):
    enc = cls(verbose=False).encode_images(str(folder))
    out[label] = [enc.get(n) for n in names]
for label, fn in (("imagehash phash", imagehash.phash), ("imagehash dhash", imagehash.dhash),
                  ("imagehash whash", imagehash.whash)):
    out[label] = [str(fn(Image.open(folder / n))) for n in names]
pdq = []
for n in names:
    arr = np.asarray(Image.open(folder / n).convert("RGB"))
    hashes, _ = pdqhash.compute_dihedral(arr)
    pdq.append(["".join(format(int("".join(map(str, h[i:i + 64])), 2), "016x") for i in range(0, 256, 64))
                for h in np.asarray(hashes).astype(int)])
out["pdq (8 orientations)"] = pdq
print(json.dumps(out))
"""


def words(hexes: list[str]) -> np.ndarray:
    return np.atleast_2d(hashing.from_hex(hexes)).reshape(len(hexes), -1)


def distance_matrix(h: np.ndarray) -> np.ndarray:
    """Dense Hamming distances (fine for a few thousand images)."""
    h = h.reshape(len(h), -1)
    d = np.zeros((len(h), len(h)), dtype=np.int32)
    for w in range(h.shape[1]):
        d += np.bitwise_count(h[:, None, w] ^ h[None, :, w])
    return d


def dihedral_matrix(variants: np.ndarray) -> np.ndarray:
    """min over the 8 orientations of the first image vs the second's own hash; (N, 8, W) input."""
    n = len(variants)
    d = np.full((n, n), 10**6, dtype=np.int32)
    for k in range(8):
        dk = np.zeros((n, n), dtype=np.int32)
        for w in range(variants.shape[2]):
            dk += np.bitwise_count(variants[:, k, w][:, None] ^ variants[:, 0, w][None, :])
        np.minimum(d, dk, out=d)
    return np.minimum(d, d.T)


def score(d: np.ndarray, same: np.ndarray, thresholds: list[int], edit_rows: dict) -> dict:
    iu = np.triu_indices(len(d), 1)
    dist, truth = d[iu], same[iu]
    positives = int(truth.sum())
    curve = []
    for t in thresholds:
        hit = dist <= t
        retrieved, correct = int(hit.sum()), int((hit & truth).sum())
        curve.append((t, correct / retrieved if retrieved else 1.0, correct / positives))
    ok = [c for c in curve if c[1] >= TARGET]
    best = max(ok, key=lambda c: (c[2], c[1])) if ok else None
    per_edit = {}
    for edit, (rows, cols) in edit_rows.items():
        per_edit[edit] = d[rows, cols]
    return {"curve": curve, "best": best, "per_edit": per_edit, "positives": positives}


def at(curve: list, t: int) -> tuple:
    return next(c for c in curve if c[0] == t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref-python", default="/tmp/imagededup-ref/bin/python")
    ap.add_argument("--originals", type=int, default=100)
    ap.add_argument("--workdir", default="/tmp/imagetwins-quality")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    need_datasets("photos-public/images", "ukbench-600/images")

    work = Path(args.workdir)
    photos = sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))
    if not (work / "ground_truth.json").exists():
        make_transformed_set(photos, work, n_originals=args.originals, seed=0, edits=EDIT_NAMES)
    gt = load_ground_truth(work / "ground_truth.json")
    names = sorted(gt)
    group_of = {}
    for n in names:
        group_of[n] = n.split("_")[0] if n.startswith("g") else n
    g = np.array([group_of[n] for n in names])
    same = g[:, None] == g[None, :]
    idx = {n: i for i, n in enumerate(names)}
    edit_rows = {}
    for edit in EDIT_NAMES:
        pairs = [(idx[n.split("_")[0] + "_orig.jpg"], idx[n]) for n in names if edit_of(n) == edit]
        edit_rows[edit] = (np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]))

    methods: dict[str, np.ndarray] = {}
    speeds = {}
    for m in hashing.HASH_METHODS:
        t0 = time.perf_counter()
        enc = hashing.hash_files([work / n for n in names], methods=(m,), workers=2)
        speeds[m] = len(names) / (time.perf_counter() - t0)
        h = enc.hashes[m]
        spec = hashing.get_method(m)
        methods[f"imagetwins {m}"] = (dihedral_matrix(hashing.dihedral_variants(h)) if spec.dihedral
                                      else distance_matrix(h))
    from imagetwins.embedding import Embedder

    for orientations in (1, 8):
        t0 = time.perf_counter()
        v = Embedder(orientations=orientations).embed_files([work / n for n in names], warn=False).vectors
        speeds[f"cnn x{orientations}"] = len(names) / (time.perf_counter() - t0)
        # similarities as integer "distances" (1 - cosine) * 1000, so one scoring path serves all methods
        methods[f"imagetwins cnn ({orientations} orientation{'s' if orientations > 1 else ''})"] = (
            np.round((1 - v @ v.T) * 1000).astype(np.int32))
    if Path(args.ref_python).exists():
        (work / "names.json").write_text(json.dumps(names))
        proc = subprocess.run([args.ref_python, "-c", PEERS, str(work), str(work / "names.json")],
                              capture_output=True, text=True, check=True)
        peers = json.loads(proc.stdout)
        for label, hexes in peers.items():
            if label.startswith("pdq"):
                variants = np.stack([words(v) for v in hexes])
                methods[label] = dihedral_matrix(variants)
            else:
                methods[label] = distance_matrix(words([h or "0" * 16 for h in hexes]))

    defaults = {"imagetwins dihedral": 72, "pdq (8 orientations)": 31, "imagetwins cnn (1 orientation)": 200,
                "imagetwins cnn (8 orientations)": 200}
    lines = [f"Transformed set: {len(names)} images from photos-public ({args.originals} originals x "
             f"{len(EDIT_NAMES)} edits + {len(names) - args.originals * (len(EDIT_NAMES) + 1)} distractors, seed 0), "
             f"{int(same[np.triu_indices(len(names), 1)].sum()):,} true pairs among "
             f"{len(names) * (len(names) - 1) // 2:,}. Precision and recall are over pairs.\n",
             "| method | default t | precision @ default | recall @ default | best recall @ precision >= 99.5 % "
             "| at t |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    results = {}
    for label, d in methods.items():
        nbits = 256 if ("dihedral" in label or label.startswith("pdq")) else 64
        ts = list(range(0, 129)) if nbits == 256 else list(range(0, 33))
        if "cnn" in label:
            ts = list(range(0, 601, 2))
        res = score(d, same, ts, edit_rows)
        results[label] = res
        t_def = defaults.get(label, 10)
        _, p_def, r_def = at(res["curve"], t_def)
        best = res["best"]
        lines.append(f"| {label} | {t_def} | {p_def:.3f} | {r_def:.3f} | "
                     f"{best[2]:.3f} | {best[0]} |" if best else f"| {label} | {t_def} | {p_def:.3f} | {r_def:.3f} | "
                     "- | - |")
    lines.append("\nCNN rows: t is (1 - cosine similarity) x 1000, so 200 means similarity >= 0.80 (CNN's default).")
    lines.append("\nRecall per edit (original vs its edited copy) at each method's best threshold for precision "
                 ">= 99.5 %:\n")
    shown = [k for k in results if results[k]["best"]]
    lines.append("| edit | " + " | ".join(shown) + " |")
    lines.append("| --- |" + " ---: |" * len(shown))
    for edit in EDIT_NAMES:
        row = [f"{float((results[k]['per_edit'][edit] <= results[k]['best'][0]).mean()):.2f}" for k in shown]
        lines.append(f"| {edit} | " + " | ".join(row) + " |")
    lines.append("\nEncoding speed on this set (2 workers, images/s): "
                 + ", ".join(f"{m} {v:.0f}" for m, v in speeds.items()) + ".\n")

    # real near-duplicate groups
    uk = DATASETS / "ukbench-600"
    uk_gt = load_ground_truth(json.loads((uk / "groundtruth_groups.json").read_text()))
    uk_names = sorted(uk_gt)
    ug = np.array([int(n[7:12]) // 4 for n in uk_names])
    uk_same = ug[:, None] == ug[None, :]
    lines.append("ukbench-600 (150 real objects x 4 photos: viewpoint, scale and light change; hard for hashes):\n")
    lines.append("| method | precision @ default | recall @ default | best recall @ precision >= 99.5 % | at t |")
    lines.append("| --- | ---: | ---: | ---: | ---: |")
    for m in hashing.HASH_METHODS:
        spec = hashing.get_method(m)
        h = hashing.hash_files([uk / "images" / n for n in uk_names], methods=(m,), workers=2).hashes[m]
        d = dihedral_matrix(hashing.dihedral_variants(h)) if spec.dihedral else distance_matrix(h)
        ts = list(range(0, 129)) if spec.nbits == 256 else list(range(0, 33))
        res = score(d, uk_same, ts, {})
        _, p_def, r_def = at(res["curve"], spec.default_threshold)
        b = res["best"]
        best_cell = f"{b[2]:.3f} | {b[0]} |" if b else "- | - |"
        lines.append(f"| imagetwins {m} | {p_def:.3f} | {r_def:.3f} | " + best_cell)

    header = (f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores. "
              f"Command: `python benchmarks/quality_peers.py --originals {args.originals}`.\n")
    table = "\n".join([header, *lines])
    print(table)
    if not args.no_write:
        write_section("quality", "Quality: transformed photos and real groups", table)


if __name__ == "__main__":
    main()
