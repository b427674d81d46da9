"""Encoding and search speed of imagetwins, imagededup and imagehash, side by side in one run.

    python benchmarks/bench_hashing.py [--ref-python /tmp/imagededup-ref/bin/python] [--quick]

The peers run in their own venv (``../shared/tools/install-imagededup-ref.sh``) as child processes on
the same files with the same number of workers. Every case runs in a fresh process, which reports
its own peak memory (max RSS, including the interpreter and numpy). Writes the tables into
BENCHMARKS.md between the ``bench_hashing`` markers and prints them.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _common import (  # noqa: E402
    DATASETS,
    need_datasets,
    run_case,
    write_section,
)

SETS = {
    "camera-photos (23 JPEGs, 2-12 MP)": DATASETS / "camera-photos" / "images",
    "photos-public (250 JPEGs, 481x321)": DATASETS / "photos-public" / "images",
}
WORKERS = 2


ENCODE = {
    "imagetwins": """
from imagetwins.hashing import hash_files
from pathlib import Path
files = sorted(p for p in Path({folder!r}).iterdir() if p.suffix.lower() in ('.jpg', '.jpeg')) * {repeat}
hash_files(files[:4], workers={workers})
t = time.perf_counter(); r = hash_files(files, workers={workers}); dt = time.perf_counter() - t
report(dt, len(r.paths))
""",
    "imagededup": """
import logging; logging.disable(logging.CRITICAL)
import os, shutil, tempfile
from pathlib import Path
from imagededup.methods import PHash
src = sorted(p for p in Path({folder!r}).iterdir() if p.suffix.lower() in ('.jpg', '.jpeg'))
tmp = tempfile.mkdtemp()
for r in range({repeat}):
    for p in src:
        os.symlink(p, os.path.join(tmp, f"{{r}}_{{p.name}}"))
ph = PHash(verbose=False)
t = time.perf_counter(); enc = ph.encode_images(tmp, num_enc_workers={workers}); dt = time.perf_counter() - t
shutil.rmtree(tmp)
report(dt, len(enc))
""",
    "imagehash": """
from multiprocessing import Pool
from pathlib import Path
import imagehash
from PIL import Image
def one(p):
    return str(imagehash.phash(Image.open(p)))
files = sorted(str(p) for p in Path({folder!r}).iterdir() if p.suffix.lower() in ('.jpg', '.jpeg')) * {repeat}
with Pool({workers}) as pool:
    pool.map(one, files[:4])
    t = time.perf_counter(); out = pool.map(one, files, chunksize=4); dt = time.perf_counter() - t
report(dt, len(out))
""",
}

# the same hashes for every tool: N random 64-bit values, 1 % of them near-duplicates (1-6 bits flipped)
PLANTED = """
rng = np.random.default_rng(0)
h = rng.integers(0, 2**64 - 1, size={n}, dtype=np.uint64)
k = max(1, {n} // 100)
dup = h[:k].copy()
for i, f in enumerate(rng.integers(1, 7, size=k)):
    for b in rng.choice(64, size=f, replace=False):
        dup[i] ^= np.uint64(1) << np.uint64(b)
h[-k:] = dup
"""

SEARCH = {
    "imagetwins": """
import numpy as np
from imagetwins.search import hamming_pairs
{planted}t = time.perf_counter()
p = hamming_pairs(h, 10, workers={workers}, algorithm={algorithm!r})
dt = time.perf_counter() - t
report(dt, {n}, pairs=len(p))
""",
    "imagededup": """
import logging; logging.disable(logging.CRITICAL)
import warnings; warnings.simplefilter('ignore')
import numpy as np
from imagededup.methods import PHash
{planted}enc = {{f"{{i}}.jpg": format(int(x), "016x") for i, x in enumerate(h)}}
t = time.perf_counter()
res = PHash(verbose=False).find_duplicates(encoding_map=enc, max_distance_threshold=10, num_dist_workers={workers})
dt = time.perf_counter() - t
report(dt, {n}, pairs=sum(len(v) for v in res.values()) // 2)
""",
}




def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref-python", default="/tmp/imagededup-ref/bin/python")
    ap.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    ap.add_argument("--no-write", action="store_true", help="print, do not update BENCHMARKS.md")
    args = ap.parse_args()
    need_datasets("camera-photos/images", "photos-public/images")
    ref = args.ref_python if Path(args.ref_python).exists() else None
    ours = sys.executable
    lines = []

    lines.append(f"Encoding (PHash), {WORKERS} workers each, files in the page cache, each set repeated to "
                 "take at least a few seconds:\n")
    lines.append("| images | tool | images/s | vs imagededup | peak RSS MB |")
    lines.append("| --- | --- | ---: | ---: | ---: |")
    for label, folder in SETS.items():
        repeat = 1 if args.quick else (6 if "camera" in label else 4)
        results = {}
        for tool, code in ENCODE.items():
            python = ours if tool == "imagetwins" else ref
            if python is None:
                continue
            r = run_case(python, code.format(folder=str(folder), repeat=repeat, workers=WORKERS))
            if r:
                results[tool] = r
        base = results.get("imagededup")
        for tool, r in results.items():
            rate = r["n"] / r["seconds"]
            rel = f"{rate / (base['n'] / base['seconds']):.1f}x" if base else "n/a"
            lines.append(f"| {label} | {tool} | {rate:.1f} | {rel} | {r['rss_mb']:.0f} |")

    sizes = [10_000, 20_000] if args.quick else [10_000, 20_000, 100_000, 1_000_000]
    peer_sizes = [5_000] if args.quick else [5_000, 20_000]
    lines.append(f"\nAll pairs within Hamming distance 10 among N random 64-bit hashes (1 % planted "
                 f"near-duplicates), {WORKERS} workers:\n")
    lines.append("| N | tool | seconds | pairs found | peak RSS MB |")
    lines.append("| ---: | --- | ---: | ---: | ---: |")
    peer_times = {}
    if ref:
        for n in peer_sizes:
            r = run_case(ref, SEARCH["imagededup"].format(n=n, workers=WORKERS, planted=PLANTED.format(n=n)))
            if r:
                peer_times[n] = r["seconds"]
                lines.append(f"| {n:,} | imagededup 0.3.3 (brute_force_cython) | {r['seconds']:.2f} | {r['pairs']:,} | "
                             f"{r['rss_mb']:.0f} |")
    for n in sizes:
        for algorithm in ("auto", "blocked") if n <= 100_000 else ("auto",):
            code = SEARCH["imagetwins"].format(n=n, workers=WORKERS, algorithm=algorithm, planted=PLANTED.format(n=n))
            r = run_case(ours, code)
            if r:
                speedup = f" ({peer_times[n] / r['seconds']:.0f}x faster)" if n in peer_times else ""
                lines.append(f"| {n:,} | imagetwins ({algorithm}) | {r['seconds']:.2f}{speedup} | {r['pairs']:,} | "
                             f"{r['rss_mb']:.0f} |")

    cpu = platform.processor() or platform.machine()
    header = (f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores ({cpu}), Python "
              f"{platform.python_version()}. Command: `python benchmarks/bench_hashing.py"
              f"{' --quick' if args.quick else ''}`.\n")
    table = "\n".join([header, *lines])
    print(table)
    if not args.no_write:
        write_section("bench_hashing", "Hashing: encoding and search speed", table)


if __name__ == "__main__":
    main()
