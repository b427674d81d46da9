"""Loading a large ``copies`` index: CPU seconds of ``Index.load`` (+ the digests and facts a find reads with it).

    nice -n 10 python benchmarks/bench_index_load.py [--rows 5000,20000,100000] [--src DIR] [--build-src DIR]
        [--workdir /tmp/imagetwins-index-load] [--keep]

How the large indexes are made: the shared camera photos (``camera-photos``, 39 real photos of 0.3-12 MP) are
indexed once with ``copies`` (``Index.update``, a real ~20-60 KB row each); each index of N rows then holds
those rows again and again under N made-up paths (``/photos/YYYY/MM/IMG_n.jpg``, 300 folders), each with its
own made-up content digest and the sample's keep facts, written through the index's own batch writer
(``Index._store`` and ``Index.put_facts``, as ``update`` stores a decoding batch). No file is read to load, so
the paths need not exist.

Then, in a fresh process each, ``Index(db, methods=["copies"])`` (writable, as ``find`` opens its cache), ``load``,
``digests`` and ``facts``: the find's "load" stage. The first load after the index was made, then a second;
CPU seconds (user + system) and peak RSS of the process, the OS's page cache warm (the file was just written).

``--build-src``: the imagetwins that writes the indexes (default: ``--src``, default this checkout's ``src``):
an index written by the code before a change of storage layout, loaded by the code after it, measures the first
open's migration (``--keep`` the indexes of a run, ``--reuse`` them in the next).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
from _common import DATASETS, need_datasets  # noqa: E402


def child_sample(db: Path, folder: Path) -> None:
    from imagetwins.index import Index

    folder.mkdir(parents=True, exist_ok=True)
    for p in sorted((DATASETS / "camera-photos" / "images").glob("*.jpg")):
        if not (folder / p.name).exists():
            os.link(p, folder / p.name)
    with Index(db, methods=["copies"]) as idx:
        idx.update(folder, methods=["copies"])


def child_build(db: Path, sample: Path, n: int) -> None:
    from imagetwins.index import Index

    with Index(sample, methods=["copies"], readonly=True) as src:
        rows = src.db.execute("SELECT f.digest, e.value FROM encodings e JOIN files f ON f.id = e.file_id "
                              "WHERE e.method = 'copies' ORDER BY f.id").fetchall()
        facts = src.facts([d.hex() for d, _ in rows])
    blobs = [v for _, v in rows]
    kept = [facts.get(d.hex()) for d, _ in rows]
    t = time.process_time()
    with Index(db, methods=["copies"]) as idx:
        for start in range(0, n, 1000):
            batch, stat_of, values, digests, more_facts = [], {}, {}, {}, []
            for i in range(start, min(n, start + 1000)):
                path = f"/photos/{2000 + i % 25}/{i % 12 + 1:02d}/IMG_{i:07d}.jpg"
                digest = hashlib.sha256(f"content {i}".encode()).hexdigest()
                batch.append(path)
                stat_of[path] = (2_500_000 + i, 1_700_000_000_000_000_000 + i, 1_700_000_000_000_000_000 + i, i + 1)
                values[path] = {"copies": blobs[i % len(blobs)]}
                digests[path] = digest
                if kept[i % len(blobs)] is not None:
                    more_facts.append((digest, kept[i % len(blobs)]))
            idx._store(batch, stat_of, values, digests, {}, set())
            idx.put_facts(more_facts)
    print(json.dumps({"build_cpu": time.process_time() - t, "bytes": db.stat().st_size,
                      "row_bytes": sum(map(len, blobs)) / len(blobs)}))


def child_load(db: Path, adopt: bool = False) -> None:
    from imagetwins.encoders import get_encoder
    from imagetwins.index import Index

    get_encoder("copies").head_bytes  # noqa: B018  (its modules imported before the clock starts: the load alone)
    if adopt:  # the stored rows taken as this code's (--adopt-identity)
        with sqlite3.connect(db) as con:
            con.execute("UPDATE encoders SET identity = ? WHERE method = 'copies'",
                        (json.dumps(get_encoder("copies").identity(), sort_keys=True),))
        con.close()
    t, w = time.process_time(), time.perf_counter()
    with Index(db, methods=["copies"]) as idx:
        t_open, w_open = time.process_time() - t, time.perf_counter() - w
        paths, rows = idx.load("copies")
        digests = idx.digests(paths)
        facts = idx.facts(digests)
        assert len(paths) == len(rows) == len(digests), (len(paths), len(rows), len(digests))
        one = rows[len(rows) // 2].features  # a verification's read of one row's features still works
        assert len(one.points) == len(one.descriptors)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"rows": len(paths), "facts": len(facts), "open_cpu": t_open, "open_wall": w_open,
                      "cpu": time.process_time() - t, "wall": time.perf_counter() - w,
                      "rss_mb": usage.ru_maxrss / 1024}))


def _child(src: Path, *args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    out = subprocess.run([sys.executable, __file__, "--child", *args], env=env, capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", default="5000,20000,100000")
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the imagetwins that loads")
    ap.add_argument("--build-src", type=Path, default=None, help="the imagetwins that writes (default: --src)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/imagetwins-index-load"))
    ap.add_argument("--loads", type=int, default=2, help="loads of each index, each in a fresh process")
    ap.add_argument("--keep", action="store_true", help="keep the indexes made")
    ap.add_argument("--reuse", action="store_true", help="load the index of that size kept by an earlier run (--keep)")
    ap.add_argument("--adopt-identity", action="store_true",
                    help="load rows written by a code whose copies parameters differ as this code's (the storage "
                         "layout measured, not a change of parameters, which an explicit index refuses)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    need_datasets("camera-photos/images")
    if args.child:
        what, *rest = args.child
        {"sample": lambda: child_sample(Path(rest[0]), Path(rest[1])),
         "build": lambda: child_build(Path(rest[0]), Path(rest[1]), int(rest[2])),
         "load": lambda: child_load(Path(rest[0]), len(rest) > 1)}[what]()
        return
    build_src = args.build_src or args.src
    args.workdir.mkdir(parents=True, exist_ok=True)
    sample = args.workdir / f"sample-{hashlib.sha256(str(build_src.resolve()).encode()).hexdigest()[:8]}.db"
    if not sample.exists():
        _child(build_src, "sample", str(sample), str(args.workdir / "photos"))
    print(f"load {args.src}, built by {build_src}; load average {os.getloadavg()[0]:.1f}", flush=True)
    for n in (int(x) for x in args.rows.split(",")):
        db = args.workdir / f"load-{n}.db"
        if args.reuse and db.exists():
            print(f"{n:,} rows: the index made before ({db.stat().st_size / 1e6:.0f} MB)", flush=True)
        else:
            for q in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                q.unlink(missing_ok=True)
            built = _child(build_src, "build", str(db), str(sample), str(n))
            print(f"{n:,} rows: built in {built['build_cpu']:.1f} CPU s, {built['bytes'] / 1e6:.0f} MB "
                  f"({built['row_bytes'] / 1e3:.1f} KB a row)", flush=True)
        for k in range(args.loads):
            r = _child(args.src, "load", str(db), *(["adopt"] if args.adopt_identity else []))
            print(f"  load {k + 1}: {r['cpu']:.2f} CPU s ({r['wall']:.2f} s wall; open {r['open_cpu']:.2f} CPU s), "
                  f"peak {r['rss_mb']:.0f} MB, {r['rows']:,} rows, {r['facts']:,} facts", flush=True)
        if not args.keep:
            for q in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                q.unlink(missing_ok=True)
    sqlite3.connect(":memory:").close()


if __name__ == "__main__":
    main()
