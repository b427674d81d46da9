"""Dask scale-out on one machine: encoding with 1 vs 2 workers, and 2M hashes searched in blocks.

    python benchmarks/bench_dask.py [--photos 5000] [--hashes 2000000]

Runs real ``LocalCluster``s of worker processes (one thread each). Writes the table, the measured
time per block and the extrapolation to 100M images into BENCHMARKS.md between ``bench_dask`` markers.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets, write_section  # noqa: E402

from imagetwins.distributed import encode_partition, find_duplicates_dask, local_client, pairs_dask  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=5000)
    ap.add_argument("--hashes", type=int, default=2_000_000)
    ap.add_argument("--partition", type=int, default=500_000)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    need_datasets("photos-public/images", "ukbench-600/images")
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        photos = sorted((DATASETS / "photos-public" / "images").glob("*.jpg")) + sorted(
            (DATASETS / "ukbench-600" / "images").glob("*.jpg"))
        for i in range(args.photos):
            os.symlink(photos[i % len(photos)], folder / f"{i:06d}.jpg")
        times, encode_times = {}, {}
        files = sorted(str(p) for p in folder.iterdir())
        parts = [files[i:i + 500] for i in range(0, len(files), 500)]
        for n in (1, 2):
            client = local_client(n)
            find_duplicates_dask(folder, client=client, partition_size=500)  # warm the page cache and workers
            t = time.perf_counter()
            client.gather(client.map(encode_partition, parts, method="phash", pure=False))
            encode_times[n] = time.perf_counter() - t
            t = time.perf_counter()
            res = find_duplicates_dask(folder, client=client, partition_size=500)
            times[n] = time.perf_counter() - t
            client.close()
            client.cluster.close()
        lines += [f"PHash on {args.photos:,} photos, partitions of 500 files, LocalCluster of worker processes "
                  "(one thread each; the scheduler and the client share the same 2 cores):\n",
                  "| workers | encoding only: s | images/s | whole find_duplicates_dask: s | images/s |",
                  "| ---: | ---: | ---: | ---: | ---: |"]
        for n in (1, 2):
            lines.append(f"| {n} | {encode_times[n]:.1f} | {args.photos / encode_times[n]:.0f} | {times[n]:.1f} | "
                         f"{args.photos / times[n]:.0f} |")
        lines.append(f"\n2 workers vs 1: encoding {encode_times[1] / encode_times[2]:.2f}x, whole run "
                     f"{times[1] / times[2]:.2f}x ({len(res.files):,} images, {len(res.groups):,} groups).\n")

    rng = np.random.default_rng(0)
    h = rng.integers(0, 2**64 - 1, size=args.hashes, dtype=np.uint64)
    k = args.hashes // 100
    h[-k:] = h[:k] ^ (np.uint64(1) << rng.integers(0, 64, size=k).astype(np.uint64))
    client = local_client(2)
    t = time.perf_counter()
    pairs = pairs_dask(h, "phash", 10, client=client, partition_size=args.partition)
    total = time.perf_counter() - t
    worker_rss = client.run(peak_rss_mb)
    client.close()
    client.cluster.close()
    parts = -(-args.hashes // args.partition)
    blocks = parts * (parts + 1) // 2
    per_block = total * 2 / blocks  # two workers busy all along
    lines += [f"All pairs within 10 among {args.hashes:,} random 64-bit hashes (1 % planted near-duplicates) on 2 "
              f"workers, partitions of {args.partition:,}: {blocks} block tasks, {total:.0f} s, "
              f"{len(pairs):,} pairs; peak RSS per worker "
              f"{', '.join(f'{v:.0f}' for v in worker_rss.values())} MB (each task holds two partitions: "
              f"{2 * args.partition * 8 / 2**20:.0f} MiB of hashes).\n",
              f"Measured time per block task (one core): {per_block:.1f} s.\n"]
    big_parts = 100_000_000 // args.partition
    big_blocks = big_parts * (big_parts + 1) // 2
    hours = big_blocks * per_block / 3600
    lines.append(f"Extrapolation to 100M images: {big_parts} partitions of {args.partition:,}, {big_blocks:,} block "
                 f"tasks x {per_block:.1f} s = {hours:,.0f} core-hours, so about {hours / 100:.1f} h on 100 "
                 f"single-core workers (random hashes; near-duplicate-heavy data has more candidates per block). "
                 f"Shuffle: each task reads two partitions "
                 f"({2 * args.partition * 8 / 2**20:.0f} MiB), {big_blocks * 2 * args.partition * 8 / 2**40:.1f} TiB "
                 f"moved in all without locality, far less when workers keep the partitions they already hold.")
    header = (f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores. Command: "
              f"`python benchmarks/bench_dask.py --photos {args.photos} --hashes {args.hashes}`.\n")
    table = "\n".join([header, *lines])
    print(table)
    if not args.no_write:
        write_section("bench_dask", "Dask scale-out", table)


if __name__ == "__main__":
    main()
