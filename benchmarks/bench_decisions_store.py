"""What a big decision store costs a small scan: ``find`` of two photos with a store of N decisions about other
contents, against ``--ignore-decisions`` (CPU seconds and peak RSS of the child; the machine is shared, so CPU).

    python benchmarks/bench_decisions_store.py --rows 1000000 [--src OLD/src]

The store is built with ``executemany`` in a temporary ``XDG_DATA_HOME`` (about 265 MB at a million rows).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
from _common import DATASETS, need_datasets  # noqa: E402

PHOTOS = DATASETS / "photos-public" / "images"


def build(path: Path, rows: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE remembered_decisions (a TEXT NOT NULL, b TEXT NOT NULL, verdict TEXT NOT NULL, keeper "
               "TEXT, a_name TEXT, b_name TEXT, made REAL, PRIMARY KEY (a, b))")

    def made():
        for i in range(rows):
            a, b = sorted((os.urandom(16).hex(), os.urandom(16).hex()))
            yield a, b, "keep", a, f"/photos/old/{i:07d}_a.jpg", f"/photos/old/{i:07d}_b.jpg", 1.7e9 + i

    with db:
        db.executemany("INSERT INTO remembered_decisions VALUES (?, ?, ?, ?, ?, ?, ?)", made())
    db.close()


def measure(src: Path, folder: Path, env: dict, *extra: str) -> tuple[float, float]:
    """(CPU seconds, peak RSS MB) of one ``imagetwins find`` in a fresh process."""
    child = subprocess.Popen([sys.executable, "-m", "imagetwins", "find", str(folder), *extra],
                             env={**env, "PYTHONPATH": str(src)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own usage (RUSAGE_CHILDREN keeps the largest so far)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"find failed with exit code {child.returncode}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the code to measure (another checkout's src)")
    args = ap.parse_args()
    need_datasets("photos-public/images")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "XDG_DATA_HOME": str(tmp / "data"), "XDG_CACHE_HOME": str(tmp / "cache")}
        folder = tmp / "two"
        folder.mkdir()
        for p in sorted(PHOTOS.glob("*.jpg"))[:2]:
            shutil.copy(p, folder / p.name)
        build(tmp / "data" / "imagetwins" / "decisions.db", args.rows)
        size = (tmp / "data" / "imagetwins" / "decisions.db").stat().st_size / 2**20
        measure(args.src, folder, env, "--ignore-decisions")  # the cache made
        cpu_ignore, rss_ignore = measure(args.src, folder, env, "--ignore-decisions")
        cpu, rss = measure(args.src, folder, env)
        print(f"| {args.rows:,} decisions ({size:.0f} MB) | find of 2 photos | {cpu:.2f} CPU s, {rss:.0f} MB | "
              f"--ignore-decisions: {cpu_ignore:.2f} CPU s, {rss_ignore:.0f} MB |")


if __name__ == "__main__":
    main()
