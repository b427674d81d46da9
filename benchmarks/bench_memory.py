"""Peak memory of ``imagetwins find --json`` when N files share one hash (issue #14).

    python benchmarks/bench_memory.py [--sizes 3000 10000 20000] [--baseline-src OLD/src]

N distinct files of one picture: a 96x64 JPEG made from a real photo, each copy with different
trailing bytes after the JPEG's end (so no two files are byte-identical, and all hash alike). Each
case runs ``find DIR --no-cache --json out.json`` in a fresh process and reports its peak RSS.
``--baseline-src`` runs the same against another checkout's ``src`` (e.g. the code before the fix),
under a 12 GB address-space cap so that it fails instead of exhausting the machine.
Writes the table into BENCHMARKS.md between the ``bench_memory`` markers.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    DATASETS,
    ROOT,
    need_datasets,
    write_section,
)

CASE = """
import json, resource, sys, time
cap = int(sys.argv[4])
if cap:
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
from imagetwins.cli import main
args = ["find", sys.argv[1], "--no-cache", "--json", sys.argv[2], "-q"] + (["--pairs"] if sys.argv[3] == "1" else [])
t = time.perf_counter()
try:
    main(args, standalone_mode=False)
    ok = True
except MemoryError:
    ok = False
dt = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(dict(seconds=dt, rss_mb=round(rss, 1), ok=ok)))
"""


def make_folder(folder: Path, n: int) -> None:
    photo = sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[3]
    buf = io.BytesIO()
    Image.open(photo).convert("RGB").resize((96, 64)).save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    folder.mkdir()
    for k in range(n):
        (folder / f"copy{k:06d}.jpg").write_bytes(data + k.to_bytes(4, "big"))


def run(src: Path, folder: Path, out: Path, pairs: bool, cap: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    proc = subprocess.run([sys.executable, "-c", CASE, str(folder), str(out), "1" if pairs else "0", str(cap)],
                          capture_output=True, text=True, env=env, check=False, timeout=3600)
    if proc.returncode != 0 or not proc.stdout.strip():
        return {"ok": False, "error": (proc.stderr.strip().splitlines() or ["killed"])[-1][:120]}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["json_mb"] = round(out.stat().st_size / 2**20, 1) if out.exists() else None
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[3000, 10000, 20000])
    ap.add_argument("--baseline-src", type=Path, help="another checkout's src/ to compare with")
    ap.add_argument("--baseline-sizes", type=int, nargs="+", default=[3000])
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    need_datasets("photos-public/images")
    rows = ["| code | files sharing one hash | output | seconds | peak RSS MB | JSON MB |",
            "| --- | ---: | --- | ---: | ---: | ---: |"]
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(set(args.sizes) | set(args.baseline_sizes if args.baseline_src else [])):
            folder = Path(tmp) / f"same{n}"
            make_folder(folder, n)
            cases = [("this", ROOT / "src", False, 0)] if n in args.sizes else []
            if n in args.sizes and n <= 3000:
                cases.append(("this", ROOT / "src", True, 0))
            if args.baseline_src and n in args.baseline_sizes:
                cases.append(("before", args.baseline_src, False, 12 << 30))
            for label, src, pairs, cap in cases:
                out = Path(tmp) / "out.json"
                r = run(src, folder, out, pairs, cap)
                what = "--json --pairs" if pairs else "--json"
                if r.get("ok"):
                    rows.append(f"| {label} | {n:,} | {what} | {r['seconds']:.1f} | {r['rss_mb']:.0f} | "
                                f"{r['json_mb']} |")
                else:
                    rows.append(f"| {label} | {n:,} | {what} | failed: {r.get('error', 'MemoryError')} | | |")
                print(rows[-1], flush=True)
                out.unlink(missing_ok=True)
            for f in folder.iterdir():
                f.unlink()
            folder.rmdir()
    header = (f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores. Command: "
              f"`python benchmarks/bench_memory.py {' '.join(sys.argv[1:])}`.\n")
    table = "\n".join([header, *rows])
    print(table)
    if not args.no_write:
        write_section("bench_memory", "Memory: many files with one hash (find --json)", table)


if __name__ == "__main__":
    main()
