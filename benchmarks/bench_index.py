"""Persistent index: first run vs re-run, query latency against 1M indexed hashes, bytes per image.

    python benchmarks/bench_index.py [--files 10000] [--indexed 1000000]

The folder of N photos is made of hard links to the real photos in ``../shared/datasets`` (N distinct
paths, each decoded on the first run). The 1M-hash index is filled with random hashes under
realistic paths (``/photos/2023/08/IMG_123456.jpg``), then one real photo is queried against it.
Writes the table into BENCHMARKS.md between the ``bench_index`` markers.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import (  # noqa: E402
    DATASETS,
    link_photo,
    need_datasets,
    write_section,
)

from imagetwins.index import Index  # noqa: E402


def make_folder(dest: Path, n: int) -> None:
    photos = sorted((DATASETS / "photos-public" / "images").glob("*.jpg")) + sorted(
        (DATASETS / "ukbench-600" / "images").glob("*.jpg"))
    for i in range(n):
        sub = dest / f"{2015 + i // 2000}" / f"{(i // 200) % 12 + 1:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        link_photo(photos[i % len(photos)], sub / f"IMG_{i:06d}.jpg")


def fill_synthetic(db_path: Path, n: int) -> None:
    with Index(db_path, methods=["phash"]):
        pass
    con = sqlite3.connect(db_path)
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64)
    con.execute("BEGIN")
    dirs = [(d, f"/photos/{2000 + d // 12}/{d % 12 + 1:02d}") for d in range(300)]
    con.executemany("INSERT INTO dirs (id, path) VALUES (?, ?)", dirs)
    con.executemany("INSERT INTO files (id, dir_id, name, size, mtime_ns, digest) VALUES (?, ?, ?, ?, ?, ?)",
                    ((i + 1, i % 300, f"IMG_{i:07d}.jpg", 2_500_000 + i, 1_700_000_000_000_000_000 + i,
                      rng.bytes(16)) for i in range(n)))
    con.executemany("INSERT INTO encodings VALUES (?, 'phash', ?)",
                    ((i + 1, hashes[i].astype("<u8").tobytes()) for i in range(n)))
    con.execute("COMMIT")
    con.execute("VACUUM")
    con.close()


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--indexed", type=int, default=1_000_000)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    need_datasets("photos-public/images", "ukbench-600/images")
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = tmp / "photos"
        make_folder(folder, args.files)
        db = tmp / "photos.db"
        cli = [sys.executable, "-m", "imagetwins", "index", "update", str(folder), "-r", "--db", str(db), "-q"]
        first = timed(cli)
        second = timed(cli)
        with Index(db) as idx:
            st = idx.stats()
        lines += [
            f"`imagetwins index update` on a folder of {args.files:,} photos (whole command, 2 cores):\n",
            "| run | seconds | images/s |", "| --- | ---: | ---: |",
            f"| first (encode all) | {first:.1f} | {args.files / first:.0f} |",
            f"| second (nothing changed) | {second:.2f} | {args.files / second:.0f} ({first / second:.0f}x faster) |",
            f"\nIndex size: {st['bytes']:,} bytes for {st['files']:,} images = "
            f"{st['bytes_per_file']:.0f} bytes per image (phash only, paths like "
            f"`.../photos/2015/01/IMG_000001.jpg`).\n",
        ]
        big = tmp / "million.db"
        fill_synthetic(big, args.indexed)
        query = sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[0]
        t = time.perf_counter()
        idx = Index(big)
        idx.query([query], "phash")
        cold = time.perf_counter() - t
        warm = []
        for q in sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[1:21]:
            t = time.perf_counter()
            idx.query([q], "phash")
            warm.append(time.perf_counter() - t)
        size = big.stat().st_size
        idx.close()
        lines += [
            f"Query of one new photo against {args.indexed:,} indexed hashes (decode + hash + search):\n",
            "| case | milliseconds |", "| --- | ---: |",
            f"| first query, including opening the index and loading all hashes | {cold * 1000:.0f} |",
            f"| warm query (index loaded), median of 20 | {np.median(warm) * 1000:.1f} |",
            f"\n{args.indexed:,}-image index: {size / 2**20:.0f} MiB, {size / args.indexed:.0f} bytes per image.",
        ]
    header = (f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores. Command: "
              f"`python benchmarks/bench_index.py --files {args.files} --indexed {args.indexed}`.\n")
    table = "\n".join([header, *lines])
    print(table)
    if not args.no_write:
        write_section("bench_index", "Persistent index", table)


if __name__ == "__main__":
    main()
