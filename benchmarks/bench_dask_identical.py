"""Dask on a folder of identical files (BENCHMARKS.md, "Dask: identical files").

    python benchmarks/bench_dask_identical.py FOLDER [PARTITION_SIZE]

FOLDER from ``make_identical_labelled.py OUT 1000 top``. Runs ``find_duplicates_dask(FOLDER, "phash")`` on a
LocalCluster of 2 worker processes and prints one JSON line: wall seconds, the client's CPU seconds and peak RSS, the
groups, the matches gathered, every pair (``result.pairs``) and md5s of the groups and of every pair (to compare two
versions' answers). Run it under ``/usr/bin/time`` for the whole process tree's CPU.
"""

from __future__ import annotations

import hashlib
import json
import resource
import sys
import time

from imagetwins.distributed import find_duplicates_dask, local_client


def main() -> None:
    folder, size = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 500
    client = local_client(2)
    try:
        start = time.perf_counter()
        result = find_duplicates_dask(folder, "phash", client=client, partition_size=size)
        wall = time.perf_counter() - start
        groups = sorted(sorted(g.files) for g in result.groups)
        pairs = result.pairs
        print(json.dumps({
            "wall": round(wall, 1), "client_cpu": round(time.process_time(), 1),
            "client_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "groups": len(groups), "files_in_groups": sum(map(len, groups)), "matches": len(result.matches),
            "pairs": len(pairs), "groups_md5": hashlib.md5(json.dumps(groups).encode()).hexdigest(),
            "pairs_md5": hashlib.md5(pairs.left.tobytes() + pairs.right.tobytes() + pairs.score.tobytes()).hexdigest(),
        }))
    finally:
        client.close()
        client.cluster.close()


if __name__ == "__main__":
    main()
