"""Speed of the ``copies`` method end to end, and the share verification takes.

    python benchmarks/bench_copies.py [--workdir /tmp/imagetwins-heldout] [--workers 2]

On the photos-public transformed set that ``benchmarks/quality.py`` builds (about 600 JPEGs of
481x321: originals, 4 copies each, distractors) and on the 250 untouched photos-public JPEGs (no copies:
every candidate is a look-alike that verification must refuse): encoding (one decode per file: dihedral
hash, one-orientation CNN, ORB features), candidate search, verification, and for comparison the
``cnn`` (8 orientations) and ``phash`` methods on the same files in the same run. Writes the
``copies-speed`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import write_section  # noqa: E402

from imagetwins import copies  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402
from imagetwins.finder import find_duplicate_groups  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"


def one(files: list[Path], workers: int) -> dict:
    """Seconds of each stage, as CPU time of this process (all its threads): on a machine shared with
    other work, wall time says more about the neighbours than about imagetwins."""
    enc = get_encoder("copies").for_workers(workers)
    t0 = time.process_time()
    e = enc.encode_files(files, workers=workers, warn=False)
    t1 = time.process_time()
    hashes, vectors, features = copies.stack(e.encodings)
    left, right, dist = copies.candidate_pairs(hashes, vectors, workers)
    t2 = time.process_time()
    need = dist > copies.HASH_SURE
    copies.verify_pairs(features, features, left[need], right[need], workers)
    t3 = time.process_time()
    return {"n": len(files), "encode": t1 - t0, "candidates": t2 - t1, "verify": t3 - t2, "checked": int(need.sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="/tmp/imagetwins-heldout")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    sets = {"photos-public transformed": sorted((Path(args.workdir) / "photos-public").glob("*.jpg")),
            "photos-public originals": sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))}
    if not sets["photos-public transformed"]:
        sys.exit("run benchmarks/quality.py first (it builds the transformed set)")
    lines = [f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, {args.workers} workers, load average "
             f"{os.getloadavg()[0]:.1f} at the start. Command: `python benchmarks/bench_copies.py`. Seconds are CPU "
             f"seconds of the process (all threads); images/s = images / CPU seconds x {args.workers} workers, the "
             "rate with both cores to itself (an upper bound: it assumes the threads keep both cores busy).", "",
             "| files | images | copies: images/s end to end | encode CPU s | candidates CPU s | verify CPU s (pairs) "
             "| verify share | cnn images/s | phash images/s |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: "
             "| ---: | ---: |"]
    for label, files in sets.items():
        one(files[:32], args.workers)  # warm-up: model session, OpenCV import
        r = one(files, args.workers)
        total = r["encode"] + r["candidates"] + r["verify"]
        speed = {}
        for m in ("cnn", "phash"):
            t0 = time.process_time()
            find_duplicate_groups(files, method=m, workers=args.workers)
            speed[m] = len(files) / (time.process_time() - t0) * args.workers
        rate = r["n"] / total * args.workers
        lines.append(f"| {label} | {r['n']} | {rate:.0f} | {r['encode']:.1f} | {r['candidates']:.2f} | "
                     f"{r['verify']:.1f} ({r['checked']:,}) | {r['verify'] / total:.0%} | {speed['cnn']:.0f} | "
                     f"{speed['phash']:.0f} |")
        print(lines[-1], flush=True)
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_section("copies-speed", "Speed of the copies method", table)


if __name__ == "__main__":
    main()
