"""A/B: the same small workloads on two versions of imagetwins, interleaved, in one run.

    python benchmarks/bench_ab.py --old 4ddf71b [--new WORKTREE] [--rounds 3]

For a refactoring that must not cost speed: ``--old`` is a git revision (exported with ``git archive``
into a temporary folder), ``--new`` the source tree to compare (default: this checkout). Every case
runs in a fresh process, old and new alternating ``--rounds`` times; the table shows each side's best
(the least disturbed by other work on a shared machine), new/old speed, and the CPU seconds of all
threads in the timed part (steadier than wall time when other work shares the cores). Workloads are small on purpose
(each case a few seconds on 2 cores): hashing and an end-to-end ``find`` on photos-public, camera JPEGs,
``find --report --json`` through the CLI (scan, keep decisions, review page),
the CNN with 1 and 8 orientations, index update / unchanged re-run / query, and the two searches. Every
case copies its images into a temporary folder (symbolic links are skipped by ``find`` and the index, so
a case made of links measured nothing).
Prints a Markdown table; writes nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
import textwrap
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
from _common import DATASETS, need_datasets  # noqa: E402

PHOTOS = DATASETS / "photos-public" / "images"
CAMERA = DATASETS / "camera-photos" / "images"

PRELUDE = """
import json, os, shutil, sys, time, tempfile
from pathlib import Path
def jpgs(folder, n=None):
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in ('.jpg', '.jpeg'))
    return files[:n] if n else files
_clock = {}
def start():
    _clock.update(wall=time.perf_counter(), cpu=time.process_time())
def report(items):
    print(json.dumps({"seconds": time.perf_counter() - _clock["wall"], "cpu": time.process_time() - _clock["cpu"],
                      "items": items}))
"""

CASES = {
    "hash_files phash, photos-public 250 JPEGs": (f"""
from imagetwins.hashing import hash_files
files = jpgs({str(PHOTOS)!r})
hash_files(files[:4], workers=2)
start(); r = hash_files(files, workers=2); report(len(r.paths))
""", "images/s"),
    "hash_files phash, camera-photos 23 JPEGs 2-12 MP": (f"""
from imagetwins.hashing import hash_files
files = jpgs({str(CAMERA)!r})
start(); r = hash_files(files, workers=2); report(len(r.paths))
""", "images/s"),
    "find phash end to end, photos-public, no cache": (f"""
from imagetwins.finder import find_duplicate_groups
start(); r = find_duplicate_groups({str(PHOTOS)!r}, method="phash", workers=2)
report(len(r.files))
""", "images/s"),
    "find --report --json (CLI, keep + page), 24 photos + half-size copies, no cache": (f"""
from PIL import Image
from imagetwins.cli import main
d = Path(tempfile.mkdtemp()) / "shop"; d.mkdir()
for p in jpgs({str(PHOTOS)!r}, 24):
    shutil.copy(p, d / p.name)
    with Image.open(p) as im:
        im.reduce(2).save(d / f"{{p.stem}}_small.jpg", quality=90)
out = d.parent
# .main: the command without the entry point's os._exit at its end (which would end this process unreported)
start(); main.main(["find", str(d), "--no-cache", "--quiet", "--report", str(out / "r.html"), "--json",
                    str(out / "r.json")], standalone_mode=False)
report(48)
""", "images/s"),
    "CNN(orientations=1).encode_images, 48 photos": (f"""
import shutil
from imagetwins.methods import CNN
d = tempfile.mkdtemp()
for p in jpgs({str(PHOTOS)!r}, 48): shutil.copy(p, os.path.join(d, p.name))
cnn = CNN(verbose=False)
cnn.encode_image(image_array=__import__('numpy').zeros((64, 64, 3), 'uint8'))
start(); enc = cnn.encode_images(d, num_enc_workers=2); report(len(enc))
shutil.rmtree(d)
""", "images/s"),
    "find -m cnn (8 orientations) end to end, 16 photos": (f"""
from imagetwins.finder import find_duplicate_groups
files = jpgs({str(PHOTOS)!r}, 16)
find_duplicate_groups(files[:1], method="cnn", workers=2)
start(); r = find_duplicate_groups(files, method="cnn", workers=2)
report(len(r.files))
""", "images/s"),
    "index update 500 files (phash), new index": (f"""
from imagetwins.index import Index
src = jpgs({str(PHOTOS)!r}) + jpgs({str(DATASETS / 'ukbench-600' / 'images')!r})
d = Path(tempfile.mkdtemp()) / "photos"; d.mkdir()
for i in range(500): shutil.copy(src[i % len(src)], d / f"IMG_{{i:04d}}.jpg")
with Index(d.parent / "x.db", methods=["phash"]) as idx:
    start(); st = idx.update(d, workers=2); report(500)
""", "images/s"),
    "index unchanged re-run + query 1 image, 500 files": (f"""
from imagetwins.index import Index
src = jpgs({str(PHOTOS)!r}) + jpgs({str(DATASETS / 'ukbench-600' / 'images')!r})
d = Path(tempfile.mkdtemp()) / "photos"; d.mkdir()
for i in range(500): shutil.copy(src[i % len(src)], d / f"IMG_{{i:04d}}.jpg")
with Index(d.parent / "x.db", methods=["phash"]) as idx:
    idx.update(d, workers=2)
with Index(d.parent / "x.db", methods=["phash"]) as idx:
    start(); idx.update(d, workers=2); hits = idx.query(src[0], "phash")
    report(1)
""", "s"),
    "find -m copies end to end, 40 photos + 20 half-size crops, no cache": (f"""
from PIL import Image
from imagetwins.finder import find_duplicate_groups
d = Path(tempfile.mkdtemp()) / "shop"; d.mkdir()
for i, p in enumerate(jpgs({str(PHOTOS)!r}, 40)):
    shutil.copy(p, d / p.name)
    if i % 2 == 0:
        with Image.open(p) as im:
            im.crop((0, 0, im.width // 2 + im.width // 4, im.height)).save(d / f"{{p.stem}}_crop.jpg", quality=90)
find_duplicate_groups(jpgs(d, 2), method="copies", workers=2)
start(); r = find_duplicate_groups(d, method="copies", workers=2)
report(len(r.files))
""", "images/s"),
    "copies through an index: load 120 stored records + search, no decode": (f"""
from imagetwins.index import Index
from imagetwins.results import groups_from_encodings
src = jpgs({str(PHOTOS)!r}, 100) + jpgs({str(DATASETS / 'ukbench-600' / 'images')!r}, 20)
d = Path(tempfile.mkdtemp()) / "photos"; d.mkdir()
for p in src: shutil.copy(p, d / p.name)
with Index(d.parent / "x.db", methods=["copies"]) as idx:
    idx.update(d, workers=2)
with Index(d.parent / "x.db", methods=["copies"]) as idx:
    start(); names, rows = idx.load("copies")
    r = groups_from_encodings(names, rows, idx.digests(names), "copies", workers=2)
    report(len(names))
""", "images/s"),
    "explain -m phash, two photos (library, incl. imports)": (f"""
start()
from imagetwins.explain import explain_pair
files = jpgs({str(PHOTOS)!r}, 2)
scores, v = explain_pair(files[0], files[1], methods=["phash"])
report(1)
""", "s"),
    "hamming_pairs 100,000 hashes, t=10": ("""
import numpy as np
from imagetwins.search import hamming_pairs
h = np.random.default_rng(0).integers(0, 2**64 - 1, size=100_000, dtype=np.uint64)
start(); p = hamming_pairs(h, 10, workers=2); report(1)
""", "s"),
    "cosine_pairs 20,000 x 1280 vectors, t=0.8": ("""
import numpy as np
from imagetwins.search import cosine_pairs
x = np.random.default_rng(0).standard_normal((20_000, 1280), dtype=np.float32)
x /= np.linalg.norm(x, axis=1, keepdims=True)
start(); p = cosine_pairs(x, 0.8); report(1)
""", "s"),
}


def export(rev: str, dest: Path) -> Path:
    data = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "src"


def run(src: Path, code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)], capture_output=True, text=True,
                         env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "2"})
    lines = out.stdout.strip().splitlines()
    if out.returncode or not lines or not lines[-1].startswith("{"):
        # (a case whose process ends before it reports, e.g. the CLI's os._exit at its end, says so too)
        raise SystemExit(f"case failed with {src} (exit {out.returncode}, no report):\n{out.stderr[-2000:]}")
    return json.loads(lines[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True, help="git revision to compare against")
    ap.add_argument("--new", default=str(ROOT), help="source checkout to measure (default: this one)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", action="append", help="run the cases whose name contains this (repeatable)")
    args = ap.parse_args()
    need_datasets("photos-public/images", "camera-photos/images", "ukbench-600/images")
    with tempfile.TemporaryDirectory() as tmp:
        old_src, new_src = export(args.old, Path(tmp)), Path(args.new) / "src"
        print(f"old: {args.old}   new: {args.new}   best of {args.rounds} interleaved runs each\n")
        print("| case | old | new | speed new/old | CPU s old / new (ratio) |\n| --- | ---: | ---: | ---: | ---: |")
        for name, (code, unit) in CASES.items():
            if args.only and not any(o in name for o in args.only):
                continue
            best, cpu = {}, {}
            for _ in range(args.rounds):
                for side, src in (("old", old_src), ("new", new_src)):
                    r = run(src, code)
                    best[side] = min(best.get(side, float("inf")), r["seconds"])
                    cpu[side] = min(cpu.get(side, float("inf")), r["cpu"])
                    items = r["items"]
            if unit == "images/s" and not items:
                raise SystemExit(f"{name}: no image was read (links are skipped: the case must copy its files)")
            cpu_ratio = cpu["old"] / cpu["new"]
            if unit == "images/s":
                o, n = items / best["old"], items / best["new"]
                print(f"| {name} | {o:.1f} images/s | {n:.1f} images/s | {n / o:.2f} | "
                      f"{cpu['old']:.2f} / {cpu['new']:.2f} s ({cpu_ratio:.2f}) |", flush=True)
            else:
                o, n = best["old"], best["new"]
                print(f"| {name} | {o:.3f} s | {n:.3f} s | {o / n:.2f} | "
                      f"{cpu['old']:.2f} / {cpu['new']:.2f} s ({cpu_ratio:.2f}) |", flush=True)


if __name__ == "__main__":
    main()
