"""A home library: camera-size photos, each method's first scan and warm re-run, a scale run, an incremental run.

    nice -n 10 python benchmarks/bench_home.py [--photos 1000] [--heic 5] [--dng 5] [--methods phash,copies]
        [--small 5000,10000] [--workdir /tmp/imagetwins-home] [--no-write]

The library (``home_library.py``): unique 2-16 MP camera JPEGs with camera EXIF (a tenth stored sideways),
a few 2 MP HEICs and a few DNGs at camera sizes (real Bayer DNGs with a 1,024 px preview, written from the
pictures' pixels: ``home_library.write_dng``).

0. The DNGs alone: each registered method (``--dng-methods``) finds in the folder of the library's DNGs, no
   cache, in a fresh process: every DNG read (none among the files it could not read), and its CPU seconds.

1. Each method on the library as a user runs it, each command in a fresh process with an empty cache
   folder: ``imagetwins find DIR -m M -q --timings`` (first scan), then the same again (warm re-run, nothing
   changed). Wall, CPU seconds (user + system, all threads) and peak RSS of the process (``wait4``), and
   wall / CPU / peak RSS by stage from ``--timings``.
2. Scale: small pictures (160-320 px, made the same way) in folders of N files: ``index update DIR --db``
   then ``find DIR --db`` (search and verification over the index): peak RSS and stage times at each N; the
   memory growth per image between the two largest N, and the peak at 100,000 extrapolated from it (stated
   as such).
3. Incremental: the largest small folder's index plus ``--new`` new camera photos (the library's first
   ones) added to the folder, then ``find DIR --db``: end to end.

Writes the ``home-library`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import need_datasets, run_imagetwins, write_section  # noqa: E402

SRC = ROOT / "src"


def run(args: list[str], cache: Path) -> dict:
    """One ``imagetwins`` command in a fresh process: wall, CPU, peak RSS, and its --timings stages."""
    code, err, out = run_imagetwins(args, cache, SRC)
    if code not in (0, 3) and not (code == 1 and "Error" not in err):
        sys.exit(f"{' '.join(args)} failed ({code}):\n{err[-2000:]}")
    return out


def make(folder: Path, count: int, **kw) -> None:
    """``home_library.make_library`` in a child process: the decoded source photos it holds (hundreds of MB)
    must not be in this process when it starts the measured ones (a child's peak RSS counts its parent's
    pages from before ``exec``)."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); from pathlib import Path; "
            f"from home_library import make_library; make_library(Path({str(folder)!r}), {count}, **{kw!r})")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    print(f"made {count} pictures in {folder} ({time.perf_counter() - t:.0f} s)", flush=True)


def stages_text(r: dict) -> str:
    keep = [(n, v) for n, v in r["stages"].items() if v.get("wall", 0) >= 0.05 or v.get("cpu", 0) >= 0.05]
    return "; ".join(f"{n} {v.get('wall', 0):.1f} s / {v.get('cpu', 0):.1f} CPU s / {v.get('rss', 0):.0f} MB"
                     for n, v in keep)


def load_text() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (5 min: {five:.1f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=1000)
    ap.add_argument("--heic", type=int, default=5)
    ap.add_argument("--dng", type=int, default=5, help="DNGs among the photos")
    ap.add_argument("--dng-methods", default="all", help="methods run on the DNGs alone ('all': every registered one)")
    ap.add_argument("--methods", default="phash,copies")
    ap.add_argument("--small", default="5000,10000", help="sizes of the scale run (small pictures)")
    ap.add_argument("--new", type=int, default=1000, help="camera photos added in the incremental run")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/imagetwins-home"))
    ap.add_argument("--skip", default="", help="parts to skip: dng,scan,scale,incremental")
    ap.add_argument("--src", type=Path, default=None,
                    help="time this copy of imagetwins' src/ (a snapshot: a checkout that changes during the run "
                         "would mix versions)")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    need_datasets("camera-photos/images", "photos-public/images", "ukbench-600/images", "holidays-half/images")
    global SRC
    if a.src is not None:
        SRC = a.src.resolve()
    methods = a.methods.split(",")
    skip = set(a.skip.split(",")) - {""}
    work = a.workdir
    work.mkdir(parents=True, exist_ok=True)
    lib = work / (f"library-{a.photos}-{a.heic}" + (f"-{a.dng}" if a.dng else ""))
    if not lib.is_dir() or len(list(lib.iterdir())) != a.photos:
        for extra in sorted(lib.glob("IMG_*"))[a.photos:] if lib.is_dir() else []:
            extra.unlink()
        make(lib, a.photos, heic=a.heic, dng=a.dng)
    size_mb = sum(p.stat().st_size for p in lib.iterdir()) / 1e6
    lines = [f"Measured {time.strftime('%Y-%m-%d %H:%M')} UTC on the shared 2-core machine, 2 workers, `nice -n 10`; "
             f"load average at the start {load_text()} (other engineers' jobs: wall times and images/s are low "
             "and noisy, CPU seconds are the steadier figure). Command: `python benchmarks/bench_home.py "
             f"--photos {a.photos} --heic {a.heic} --dng {a.dng} --methods {a.methods} --small {a.small} "
             f"--new {a.new}" + (f" --skip {a.skip}" if a.skip else "") + "`.", "",
             f"The library: {a.photos} unique pictures ({a.photos - a.heic - a.dng} camera-size JPEGs of 2-16 MP, "
             f"median about 5 MP, with camera EXIF, a tenth stored sideways; {a.heic} HEICs of 2 MP; {a.dng} DNGs "
             f"at camera sizes; {size_mb:.0f} MB), made by `benchmarks/home_library.py` from mosaics of the shared "
             "photos with camera grain. The DNGs are real DNG 1.4 files (a 16-bit RGGB Bayer mosaic, the camera "
             "named, a 1,024 px RGB preview in IFD0 as DNG Converter writes one) made from the pictures' pixels, "
             "since the datasets hold no DNG: LibRaw decodes them, from the preview where it is large enough for "
             "the method, else by demosaicing the mosaic (at half size).", ""]
    dngs = sorted(lib.glob("*.dng"))
    if dngs and "dng" not in skip:
        # (asked of a child: imported here, imagetwins' modules would count in the measured children's peak RSS)
        names = subprocess.run([sys.executable, "-c", "from imagetwins.encoders import encoder_names; "
                                "print(','.join(encoder_names()))"], env=dict(os.environ, PYTHONPATH=str(SRC)),
                               capture_output=True, text=True, check=True).stdout.strip()
        folder = work / f"dngs-{a.photos}-{a.dng}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        for p in dngs:
            os.link(p, folder / p.name)
        lines += [f"The library's {len(dngs)} DNGs alone, each method (`find DNGS -m M --no-cache -q -v --json OUT`, "
                  "a fresh process each): every DNG read?", "",
                  "| method | DNGs read | could not read | CPU s | CPU ms / DNG | peak RSS MB |",
                  "| --- | ---: | --- | ---: | ---: | ---: |"]
        for m in (names if a.dng_methods == "all" else a.dng_methods).split(","):
            out = work / f"dngs-{m}.json"
            code, err, r = run_imagetwins(["find", str(folder), "-m", m, "--no-cache", "-q", "-v", "--json", str(out)],
                                          work / "cache-dng", SRC)
            unread = [line for line in err.splitlines() if line.startswith("warning:") or "could not" in line]
            if code not in (0, 3) or not out.is_file():
                last = err.strip().splitlines()[-1][:120] if err.strip() else ""
                lines.append(f"| `{m}` | failed (exit {code}) | {last} | | | |")
                continue
            failed = json.loads(out.read_text()).get("unreadable") or []
            print(m, "dngs", r, unread, flush=True)
            lines.append(f"| `{m}` | {len(dngs) - len(failed)} of {len(dngs)} | "
                         f"{'; '.join(map(str, failed))[:200] or 'none'} | {r['cpu']:.1f} | "
                         f"{1000 * r['cpu'] / len(dngs):.0f} | {r['rss']:.0f} |")
        lines.append("")
    if "scan" not in skip:
        lines += ["| method | run | wall s | images/s | CPU s | CPU ms / image | peak RSS MB | by stage: wall / CPU / "
                  "peak RSS reached |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
        rates = {}
        for m in methods:
            cache = work / f"cache-{m}"
            shutil.rmtree(cache, ignore_errors=True)
            for label in ("first scan", "warm re-run"):
                r = run(["find", str(lib), "-m", m, "-q", "--timings"], cache)
                print(m, label, r, flush=True)
                rates[(m, label)] = (a.photos / r["wall"], a.photos / r["cpu"])
                lines.append(f"| `{m}` | {label} | {r['wall']:.1f} | {a.photos / r['wall']:.1f} | {r['cpu']:.1f} | "
                             f"{1000 * r['cpu'] / a.photos:.1f} | {r['rss']:.0f} | {stages_text(r)} |")
        if "phash" in methods and "copies" in methods:
            w = rates[("copies", "first scan")][0] / rates[("phash", "first scan")][0]
            c = rates[("copies", "first scan")][1] / rates[("phash", "first scan")][1]
            lines += ["", f"`copies` first scan against `phash` in the same run: **{w:.2f}x** its images/s by wall "
                      f"time, **{c:.2f}x** by CPU time (images per CPU second)."]
    if "scale" not in skip or "incremental" not in skip:
        sizes = [int(x) for x in a.small.split(",")]
        small_all = work / f"small-{max(sizes)}"
        if not small_all.is_dir() or len(list(small_all.iterdir())) != max(sizes):
            make(small_all, max(sizes), seed=7, small=True)
        names = sorted(small_all.iterdir())
        folders = {}
        for n in sizes:
            folder = small_all if n == max(sizes) else work / f"small-{max(sizes)}-first-{n}"
            if folder != small_all and (not folder.is_dir() or len(list(folder.iterdir())) != n):
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                for p in names[:n]:
                    os.link(p, folder / p.name)
            folders[n] = folder
    if "scale" not in skip:
        lines += ["", "Scale: small pictures (160-320 px, made the same way); `imagetwins index update DIR --db DB "
                  "-m M` then `imagetwins find DIR --db DB -m M --timings` (the search and verification over the whole "
                  "index), each in a fresh process.", "",
                  "| method | images | index update: wall s / CPU s / peak MB | find over the index: wall s / CPU s / "
                  "peak MB | find by stage: wall / CPU / peak RSS reached |", "| --- | ---: | --- | --- | --- |"]
        peaks: dict[str, list[tuple[int, float, dict]]] = {}
        for m in methods:
            for n in sizes:
                db = work / f"scale-{m}-{n}.db"
                db.unlink(missing_ok=True)
                cache = work / "cache-scale"
                u = run(["index", "update", str(folders[n]), "--db", str(db), "-m", m, "-q"], cache)
                f = run(["find", str(folders[n]), "--db", str(db), "-m", m, "-q", "--timings"], cache)
                print(m, n, u, f, flush=True)
                # the search's peak (the index update's is bounded by its batches and stays flat)
                peaks.setdefault(m, []).append((n, f["rss"], f))
                lines.append(f"| `{m}` | {n:,} | {u['wall']:.1f} / {u['cpu']:.1f} / {u['rss']:.0f} | {f['wall']:.1f} / "
                             f"{f['cpu']:.1f} / {f['rss']:.0f} | {stages_text(f)} |")
        lines.append("")
        for m, rows in peaks.items():
            if len(rows) < 2:
                continue
            (n1, r1, f1), (n2, r2, f2) = rows[-2], rows[-1]
            per = (r2 - r1) / (n2 - n1) * 1024
            at = r2 + (r2 - r1) / (n2 - n1) * (100_000 - n2)
            s1 = sum(v.get("wall", 0) for k, v in f1["stages"].items() if k in ("search", "verify"))
            s2 = sum(v.get("wall", 0) for k, v in f2["stages"].items() if k in ("search", "verify"))
            lines.append(f"- `{m}`: the search's peak memory grows {per:.1f} KB per image between {n1:,} and {n2:,} "
                         "images; "
                         f"**extrapolated** to 100,000 images: **{at:.0f} MB** (linear in the images, from these two "
                         f"measurements, not measured at 100,000). Search + verification {s1:.1f} s -> {s2:.1f} s "
                         f"wall (x{s2 / max(s1, 1e-9):.1f} for x{n2 / n1:.1f} the images).")
    if "incremental" not in skip:
        n = max(sizes)
        new = sorted(p for p in lib.iterdir() if p.suffix == ".jpg")[:a.new]
        lines += ["", f"Incremental: the index of the {n:,} small pictures above, then {len(new):,} new camera photos "
                  "(the library's) added to the folder: `imagetwins find DIR --db DB -m M --timings`, which indexes "
                  "the new ones and searches the whole index.", "",
                  "| method | indexed | added | wall s | CPU s | peak MB | by stage: wall / CPU / peak RSS reached |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
        for m in methods:
            # the scale run's index of the largest folder (its pair scores kept by its find), then new photos
            folder = small_all
            db = work / f"incremental-{m}.db"
            scaled = work / f"scale-{m}-{n}.db"
            cache = work / "cache-incremental"
            if scaled.is_file() and "scale" not in skip:
                shutil.copy(scaled, db)
            else:
                db.unlink(missing_ok=True)
                run(["index", "update", str(folder), "--db", str(db), "-m", m, "-q"], cache)
                run(["find", str(folder), "--db", str(db), "-m", m, "-q"], cache)
            added = [folder / f"new-{p.name}" for p in new]
            for p, q in zip(new, added):
                os.link(p, q)
            try:
                r = run(["find", str(folder), "--db", str(db), "-m", m, "-q", "--timings"], cache)
            finally:
                for q in added:
                    q.unlink()
            print(m, "incremental", r, flush=True)
            lines.append(f"| `{m}` | {n:,} | {len(new):,} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['rss']:.0f} | "
                         f"{stages_text(r)} |")
    table = "\n".join(lines)
    print(table)
    if not a.no_write:
        write_section("home-library", "A home library: camera-size photos (issue #25)", table)


if __name__ == "__main__":
    main()
