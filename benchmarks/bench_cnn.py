"""CNN: end-to-end speed against imagededup's CNN, memory of the similarity search, install size.

    python benchmarks/bench_cnn.py [--ref-python /tmp/imagededup-ref/bin/python] [--skip-install]

imagededup's CNN (MobileNetV3-small, torch) runs in its own venv with random weights, since its
weights come from a hub this machine cannot reach: fine for timing. Both sides get the same files
and 2 threads. Each case runs in a fresh process that reports its peak RSS. Writes the tables into
BENCHMARKS.md between the ``bench_cnn`` markers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _common import (  # noqa: E402
    DATASETS,
    link_photo,
    need_datasets,
    run_case,
    write_section,
)

OURS = """
from imagetwins.methods import CNN
cnn = CNN(verbose=False, orientations={orientations})
cnn.encode_images({warm!r}, num_enc_workers=2)
t = time.perf_counter(); enc = cnn.encode_images({folder!r}, num_enc_workers=2); dt = time.perf_counter() - t
report(dt, len(enc))
"""

PEER = """
import logging, warnings; logging.disable(logging.CRITICAL); warnings.simplefilter("ignore")
import torch
torch.set_num_threads(2)
import torchvision.models as tm
_orig = tm.mobilenet_v3_small
tm.mobilenet_v3_small = lambda weights=None, **kw: _orig(weights=None, **kw)  # random weights: no hub here
from imagededup.methods import CNN
cnn = CNN(verbose=False)
cnn.encode_images({warm!r})
t = time.perf_counter(); enc = cnn.encode_images({folder!r}); dt = time.perf_counter() - t
report(dt, len(enc))
"""

SEARCH = """
import numpy as np
from imagetwins.search import cosine_pairs, cosine_topk
rng = np.random.default_rng(0)
x = np.empty(({n}, 1280), np.float32)
for a in range(0, {n}, 50_000):  # made in chunks, so the data itself needs no temporary copies
    x[a:a + 50_000] = rng.standard_normal((min(50_000, {n} - a), 1280), dtype=np.float32)
x[{n} // 2: {n} // 2 + {n} // 100] = x[: {n} // 100] + 0.1 * rng.standard_normal(({n} // 100, 1280), dtype=np.float32)
for a in range(0, {n}, 50_000):
    x[a:a + 50_000] /= np.linalg.norm(x[a:a + 50_000], axis=1, keepdims=True)
t = time.perf_counter()
if {queries}:
    idx, sims = cosine_topk(x[:{queries}], x, k=10)
    extra = dict(queries={queries})
else:
    p = cosine_pairs(x, 0.8)
    extra = dict(pairs=len(p))
report(time.perf_counter() - t, {n}, **extra)
"""




def install_size() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = venv / "bin" / "pip"
        subprocess.run([str(pip), "install", "-q", str(ROOT)], check=True, capture_output=True)
        smoke = ("from imagetwins.methods import CNN; import numpy as np; "
                 "print(CNN(verbose=False).encode_image(image_array=np.zeros((64, 64, 3), np.uint8)).shape)")
        check = subprocess.run([str(venv / "bin" / "python"), "-c", smoke], capture_output=True, text=True,
                               check=True)
        site = next((venv / "lib").glob("python*/site-packages"))
        total = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
        pip_own = sum(f.stat().st_size for d in site.glob("pip*") for f in d.rglob("*") if f.is_file())
        return (f"`pip install .` into a fresh venv: {(total - pip_own) / 2**20:.0f} MiB of packages "
                f"(pip itself excluded), and the CNN runs offline right away (encode_image -> {check.stdout.strip()}).")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref-python", default="/tmp/imagededup-ref/bin/python")
    ap.add_argument("--skip-install", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    need_datasets("camera-photos/images", "photos-public/images")
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        folder, warm = Path(tmp) / "photos", Path(tmp) / "warm"
        folder.mkdir()
        warm.mkdir()
        photos = sorted((DATASETS / "camera-photos" / "images").glob("*.jpg")) + sorted(
            (DATASETS / "photos-public" / "images").glob("*.jpg"))[:100]
        for p in photos:
            link_photo(p, folder / p.name)
        for p in photos[:4]:
            link_photo(p, warm / p.name)
        lines += [f"End-to-end encoding (decode + embed) of {len(photos)} photos (23 camera JPEGs of 2-12 MP and "
                  "100 of 481x321), 2 threads:\n", "| tool | images/s | peak RSS MB |", "| --- | ---: | ---: |"]
        for orientations in (1, 8):
            r = run_case(sys.executable, OURS.format(folder=str(folder), warm=str(warm), orientations=orientations))
            if r:
                lines.append(f"| imagetwins CNN (EfficientNet-Lite0, orientations={orientations}) | "
                             f"{r['n'] / r['seconds']:.1f} | {r['rss_mb']:.0f} |")
        if Path(args.ref_python).exists():
            r = run_case(args.ref_python, PEER.format(folder=str(folder), warm=str(warm)))
            if r:
                lines.append(f"| imagededup 0.3.3 CNN (MobileNetV3-small, torch, random weights) | "
                             f"{r['n'] / r['seconds']:.1f} | {r['rss_mb']:.0f} |")
    lines += ["\nSimilarity search on synthetic 1280-d float32 vectors (exact, blocked BLAS):\n",
              "| case | seconds | peak RSS MB | result |", "| --- | ---: | ---: | --- |"]
    for n, queries in ((100_000, 0), (1_000_000, 1000)):
        r = run_case(sys.executable, SEARCH.format(n=n, queries=queries))
        if r:
            what = (f"all pairs >= 0.8 among {n:,}" if not queries else f"top-10 of {queries:,} queries in {n:,}")
            res = f"{r['pairs']:,} pairs" if "pairs" in r else "done"
            lines.append(f"| {what} | {r['seconds']:.1f} | {r['rss_mb']:.0f} | {res} |")
    if not args.skip_install and shutil.which("python3"):
        lines.append("\n" + install_size())
    header = (f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores. "
              "Command: `python benchmarks/bench_cnn.py`.\n")
    table = "\n".join([header, *lines])
    print(table)
    if not args.no_write:
        write_section("bench_cnn", "CNN: speed, search memory, install size", table)


if __name__ == "__main__":
    main()
