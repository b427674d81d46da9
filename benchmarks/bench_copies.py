"""Speed of the ``copies`` method end to end, and the share verification takes.

    python benchmarks/bench_copies.py [--workdir /tmp/imagetwins-heldout] [--workers 2]
    python benchmarks/bench_copies.py --rerun-only [--src OTHER/src]

On the photos-public transformed set that ``benchmarks/quality.py`` builds (about 600 JPEGs of
481x321: originals, 4 copies each, distractors) and on the 250 untouched photos-public JPEGs (no copies:
every candidate is a look-alike that verification must refuse): encoding (one decode per file: dihedral
hash, one-orientation CNN, ORB features), candidate search, verification, and for comparison the
``cnn`` (8 orientations) and ``phash`` methods on the same files in the same run. Writes the
``copies-speed`` section of BENCHMARKS.md.

Then the CLI as a user runs it, each command in a fresh process with a private cache folder, wall and CPU
time (imports included): ``find DIR -m copies`` on an empty cache, the cached re-run (nothing changed:
no decoding, and verification only for pairs without a kept confidence), the same for ``phash``, and
``find NEW --against DIR`` twice (NEW: every sixth file saved again at JPEG quality 85). ``--src``
times another checkout's ``src`` (e.g. before a change). Writes the ``copies-rerun`` section.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets, write_section  # noqa: E402
from PIL import Image  # noqa: E402

from imagetwins import copies  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402
from imagetwins.finder import find_duplicate_groups  # noqa: E402

ROUNDS = 3


def one(files: list[Path], workers: int) -> dict:
    """Wall and CPU seconds (this process, all threads) of each stage: encoding (one decode per file:
    dihedral hash, CNN, ORB features), candidate search, verification."""
    enc = get_encoder("copies").for_workers(workers)
    marks = [(time.perf_counter(), time.process_time())]
    e = enc.encode_files(files, workers=workers, warn=False)
    marks.append((time.perf_counter(), time.process_time()))
    hashes, vectors, features = copies.stack(e.encodings)
    left, right, dist = copies.candidate_pairs(hashes, vectors, workers)
    marks.append((time.perf_counter(), time.process_time()))
    need = dist > copies.HASH_SURE
    copies.verify_pairs(features, features, left[need], right[need], workers)
    marks.append((time.perf_counter(), time.process_time()))
    out = {"n": len(files), "checked": int(need.sum())}
    for k, stage in enumerate(("encode", "candidates", "verify")):
        out[stage] = marks[k + 1][0] - marks[k][0]
        out[stage + "_cpu"] = marks[k + 1][1] - marks[k][1]
    return out


def _cli(args: list[str], src: Path, cache: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``imagetwins`` command in a fresh process."""
    env = dict(os.environ, PYTHONPATH=str(src), XDG_CACHE_HOME=str(cache))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "imagetwins", *args], env=env, capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.exit(proc.stderr[-2000:])
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child started from this (large)
# process would report this process's peak
_PEAK = ("import atexit, re, runpy, sys\n"
         "atexit.register(lambda: print('PEAK', re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1],"
         " file=sys.stderr))\n"
         "sys.argv = ['imagetwins'] + sys.argv[1:]\n"
         "runpy.run_module('imagetwins', run_name='__main__')")


def peak_mb(args: list[str], src: Path) -> float:
    """Peak resident memory (MB) of one ``imagetwins`` command in a fresh process, with no cache."""
    env = dict(os.environ, PYTHONPATH=str(src))
    proc = subprocess.run([sys.executable, "-c", _PEAK, *args, "--no-cache"], env=env, capture_output=True, text=True,
                          check=False)
    peaks = [line.split()[1] for line in proc.stderr.splitlines() if line.startswith("PEAK ")]
    if not peaks:
        sys.exit(proc.stderr[-2000:])
    return int(peaks[-1]) / 1024


def memory_table(files: list[Path], src: Path, methods: tuple[str, ...] = ("copies", "phash", "cnn")) -> str:
    """Peak memory of ``find -m copies`` / ``phash`` on the files and on three copies of them (every file
    stored again in three sub-folders): the difference is what each further image costs."""
    with tempfile.TemporaryDirectory(prefix="bench-copies-memory-") as tmp:
        one_set, three = Path(tmp) / "one", Path(tmp) / "three"
        for target in (one_set, three / "a", three / "b", three / "c"):
            target.mkdir(parents=True)
            for f in files:
                shutil.copyfile(f, target / f.name)
        lines = [f"| method | peak MB, {len(files)} files | peak MB, {3 * len(files)} files | per further image |",
                 "| --- | ---: | ---: | ---: |"]
        for method in methods:
            a = peak_mb(["find", str(one_set), "-m", method, "-q"], src)
            b = peak_mb(["find", str(three), "-r", "-m", method, "-q"], src)
            lines.append(f"| `{method}` | {a:.0f} | {b:.0f} | {(b - a) * 1024 / (2 * len(files)):.0f} KB |")
            print(lines[-1], flush=True)
    return "\n".join(lines)


def rerun_table(files: list[Path], src: Path, workers: int) -> str:
    """The CLI's first run and cached re-run of copies (and phash, and --against), in a scratch folder."""
    with tempfile.TemporaryDirectory(prefix="bench-copies-rerun-") as tmp:
        folder, new, cache = Path(tmp) / "photos", Path(tmp) / "new", Path(tmp) / "cache"
        folder.mkdir()
        new.mkdir()
        for f in files:
            shutil.copyfile(f, folder / f.name)
        for f in files[::6]:  # every sixth file saved again (new bytes), as new images checked against the folder
            Image.open(f).save(new / f"new-{f.name}", quality=85)
        w = ["--workers", str(workers)]
        runs = [("`find DIR -m copies`, empty cache", ["find", str(folder), "-m", "copies", *w]),
                ("`find DIR -m copies`, cached re-run", ["find", str(folder), "-m", "copies", *w]),
                ("`find DIR -m phash`, empty cache", ["find", str(folder), "-m", "phash", *w]),
                ("`find DIR -m phash`, cached re-run", ["find", str(folder), "-m", "phash", *w]),
                (f"`find NEW --against DIR -m copies` ({len(files[::6])} new images), first",
                 ["find", str(new), "--against", str(folder), "-m", "copies", *w]),
                ("`find NEW --against DIR -m copies`, again", ["find", str(new), "--against", str(folder), "-m",
                                                               "copies", *w])]
        lines = ["| command | wall s | CPU s |", "| --- | ---: | ---: |"]
        for label, args in runs:
            wall, cpu = _cli(args, src, cache)
            lines.append(f"| {label} | {wall:.1f} | {cpu:.1f} |")
            print(lines[-1], flush=True)
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="/tmp/imagetwins-heldout")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--rerun-only", action="store_true", help="only the CLI's first and cached re-runs")
    ap.add_argument("--memory-only", action="store_true", help="only the peak memory of copies, printed")
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the imagetwins sources the CLI runs are timed on")
    args = ap.parse_args()
    need_datasets("photos-public/images")
    sets = {"photos-public transformed": sorted((Path(args.workdir) / "photos-public").glob("*.jpg")),
            "photos-public originals": sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))}
    if not sets["photos-public transformed"]:
        sys.exit("run benchmarks/quality.py first (it builds the transformed set)")
    files = sets["photos-public transformed"]
    if args.memory_only:
        print(memory_table(files, args.src, ("copies",)))
        return
    rerun = (f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, load average "
             f"{os.getloadavg()[0]:.1f} at the start, {len(files)} JPEGs of the photos-public transformed set, "
             f"each command in a fresh process (imports included), wall and CPU seconds (all threads). Command: "
             f"`python benchmarks/bench_copies.py --rerun-only`.\n\n" + rerun_table(files, args.src, args.workers))
    if not args.no_write:
        write_section("copies-rerun", "Cached re-runs of the copies method", rerun)
    if args.rerun_only:
        return
    lines = [f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, {args.workers} workers, load average "
             f"{os.getloadavg()[0]:.1f} at the start. Command: `python benchmarks/bench_copies.py`. In one process, "
             f"after a warm-up (model session, OpenCV import), the median of {ROUNDS} rounds by wall time; CPU "
             "seconds are this process's, all threads. The `cnn` (8 orientations) and `phash` rates are "
             "`find_duplicate_groups` on the same files, wall time, one round.", "",
             "| files | images | copies: images/s end to end | encode s (CPU) | candidates s | verify s (CPU; pairs) "
             "| verify share of the time | cnn images/s | phash images/s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, files in sets.items():
        one(files[:32], args.workers)  # warm-up
        rounds = sorted((one(files, args.workers) for _ in range(ROUNDS)),
                        key=lambda r: r["encode"] + r["candidates"] + r["verify"])
        r = rounds[len(rounds) // 2]
        total = r["encode"] + r["candidates"] + r["verify"]
        speed = {}
        for m in ("cnn", "phash"):
            t0 = time.perf_counter()
            find_duplicate_groups(files, method=m, workers=args.workers)
            speed[m] = len(files) / (time.perf_counter() - t0)
        lines.append(f"| {label} | {r['n']} | **{r['n'] / total:.0f}** | {r['encode']:.1f} ({r['encode_cpu']:.1f}) | "
                     f"{r['candidates']:.2f} | {r['verify']:.1f} ({r['verify_cpu']:.1f}; {r['checked']:,}) | "
                     f"{r['verify'] / total:.0%} | {speed['cnn']:.0f} | {speed['phash']:.0f} |")
        print(lines[-1], flush=True)
    lines += ["", "Peak memory of `find` in a fresh process (no cache), on these files and on three copies of them:",
              "",
              memory_table(sets["photos-public transformed"], args.src), "",
              "A run keeps each image's ORB features and thumbnail (~50 KB) in a scratch file "
              "(`imagetwins.spill`), read back for each pair verified; memory holds the dihedral hash and the "
              "CNN vector (5 KB), plus the stacked copy of the vectors for the search. Before that change "
              "(commit 626ca0c, same command, `--memory-only --src`): 432 MB and 563 MB, 112 KB per further image."]
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_section("copies-speed", "Speed of the copies method", table)


if __name__ == "__main__":
    main()
