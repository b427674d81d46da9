"""Scale of ``copies`` through an index: memory growth per image, the search and verification stages, new photos
added to an indexed library, and a warm re-run of camera-size photos (issue #25).

    nice -n 10 python benchmarks/bench_scale.py [--sizes 2000,5000,20000] [--new 1000] [--camera 1000]
        [--workdir /tmp/imagetwins-scale] [--no-write]
    nice -n 10 python benchmarks/bench_scale.py --grow --sizes 20000,100000 --new 1000 [--src-file F]
    nice -n 10 python benchmarks/bench_scale.py --search-only-first 100000 --new 1000 [--workdir W]
    nice -n 10 python benchmarks/bench_scale.py --into-index DB DIR --new 1000 [--workdir W]
    nice -n 10 python benchmarks/bench_scale.py --new-search 100000 --new 1000
    nice -n 10 python benchmarks/bench_scale.py --matching

``--grow``: one folder grown through the sizes, so each picture is encoded once (see :func:`grow`); each
result is a JSON line in WORKDIR/grow.jsonl as soon as it is measured (nothing written to BENCHMARKS.md).

1. Small pictures (64-128 px mosaics of crops of the shared photos, ``make_small``: about 1 ms each, so a
   100,000-image library is made in minutes; no two share a crop, so there are no copies and every proposed
   pair is a look-alike to turn away), a folder and an index per size N: ``imagetwins index update DIR --db
   DB -m copies``, then ``imagetwins find DIR --db DB -m copies --json OUT -v`` with the kept candidate search
   dropped, so the run searches everything (pairs verified before keep their kept confidence; new ones are
   verified). Each command runs in a fresh process: wall, CPU seconds and peak RSS (``wait4``), and the
   stages of ``-v``. The memory growth per image is the slope of the find's peak RSS between the two largest
   N; the peak at 100,000 is extrapolated from it, and said to be.
2. Incremental: ``--new`` more pictures added to the largest folder, then ``index update`` and ``find`` (the
   kept candidate search used: only the new rows are searched against all), end to end.
3. Warm re-run: ``--camera`` unique camera-size photos (``home_library.make_library``: 2-16 MP JPEGs with
   camera EXIF), ``find DIR -m M`` once to fill the per-folder cache, then again with nothing changed: wall,
   CPU and the stages, per method (``--methods copies,phash,similar``: ``similar``'s warm run reads its keep
   stage's shot scores and capture links from the cache too).

``--search-only-first N``: a library too large to verify on this machine in the time there is (see
:func:`search_only_first`): the first find's search and memory measured with the verification left out, the
incremental run measured in full (JSON lines in WORKDIR/search-only-first.jsonl).

Writes the ``scale`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import need_datasets, run_imagetwins, write_section  # noqa: E402

SRC = ROOT / "src"


def run(args: list[str], cache: Path) -> dict:
    """One ``imagetwins`` command in a fresh process: wall, CPU, peak RSS, and its -v stages."""
    code, err, out = run_imagetwins(args, cache, SRC)
    if code not in (0, 1, 3) or "Traceback" in err:
        sys.exit(f"{' '.join(args)} failed ({code}):\n{err[-2000:]}")
    return out


def make_small(folder: Path, start: int, stop: int, seed: int = 0) -> None:
    """Pictures ``start`` .. ``stop - 1`` (``s<n>.jpg``, 64-128 px on the long side): each a 2 x 2 mosaic of
    crops of four shared photos (decoded once at 256 px), as ``home_library.mosaic`` makes them, at JPEG
    quality 85-92. Each depends on its number alone."""
    from home_library import mosaic, sources
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    todo = [n for n in range(start, stop) if not (folder / f"s{n:06d}.jpg").exists()]
    if not todo:
        return
    paths = sources()
    small = []
    for p in paths:
        with Image.open(p) as im:
            im.draft("RGB", (256, 256))
            img = im.convert("RGB")
        img.thumbnail((256, 256))
        small.append(img)

    class Sources:
        def __init__(self) -> None:
            self.paths = paths

        def get(self, k: int):
            return small[k]

    src = Sources()
    for n in todo:
        rng = random.Random(seed * 1_000_003 + n)
        long = rng.randint(64, 128)
        mosaic(src, rng, (long, long * 3 // 4)).save(folder / f"s{n:06d}.jpg", quality=rng.randint(85, 92))


def make_small_apart(folder: Path, start: int, stop: int) -> None:
    """:func:`make_small` in a child process: the decoded sources (~250 MB) would otherwise stay in this process,
    and a command started from it inherits that as its peak RSS (Linux keeps ``ru_maxrss`` across fork and exec)."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); from pathlib import Path; "
            f"from bench_scale import make_small; make_small(Path({str(folder)!r}), {start}, {stop})")
    subprocess.run([sys.executable, "-c", code], check=True)


def drop_candidate_search(db: Path) -> None:
    """Forget the kept candidate search, so the next find searches everything (as a first search does)."""
    with sqlite3.connect(db) as con:
        con.execute("DELETE FROM candidates")


def stages_text(r: dict) -> str:
    keep = [(n, v) for n, v in r["stages"].items() if v.get("wall", 0) >= 0.05 or v.get("cpu", 0) >= 0.05]
    return "; ".join(f"{n} {v.get('wall', 0):.1f} s / {v.get('cpu', 0):.1f} CPU s / {v.get('rss', 0):.0f} MB"
                     for n, v in keep)


def scale(work: Path, sizes: list[int], new: int, cache: Path) -> list[str]:
    lines = ["| images | index update: wall s / CPU s / peak MB | find, all searched: wall s / CPU s / "
             "peak MB | find by stage: wall / CPU / peak RSS reached |", "| ---: | --- | --- | --- |"]
    peaks = []
    for n in sizes:
        folder, db = work / f"small-{n}", work / f"small-{n}.db"
        t = time.perf_counter()
        make_small_apart(folder, 0, n)
        for extra in sorted(folder.glob("s*.jpg"))[n:]:  # left by an incremental run
            extra.unlink()
        print(f"{n} pictures ready ({time.perf_counter() - t:.0f} s)", flush=True)
        up = run(["index", "update", str(folder), "--db", str(db), "-m", "copies", "-q"], cache)
        drop_candidate_search(db)
        found = run(["find", str(folder), "--db", str(db), "-m", "copies", "-q", "-v", "--json",
                     str(work / "out.json")], cache)
        peaks.append((n, found["rss"]))
        lines.append(f"| {n:,} | {up['wall']:.1f} / {up['cpu']:.1f} / {up['rss']:.0f} | {found['wall']:.1f} / "
                     f"{found['cpu']:.1f} / {found['rss']:.0f} | {stages_text(found)} |")
        print(lines[-1], flush=True)
    text = ["", "Each size in its own folder and index (a size's index update encodes all its pictures; the find "
            "searches everything: the kept candidate search is dropped first, kept confidences are used).", "",
            *lines, ""]
    if len(peaks) >= 2:
        (n0, m0), (n1, m1) = peaks[-2], peaks[-1]
        per = (m1 - m0) * 1024 / (n1 - n0)
        at = m1 + per * (100_000 - n1) / 1024
        text.append(f"Peak RSS of the find grows **{per:.1f} KB per image** between {n0:,} and {n1:,} images; "
                    f"**extrapolated** linearly to 100,000 images: **{at / 1024:.2f} GB** (not measured at 100,000).")
    if new:
        n = sizes[-1]
        folder, db = work / f"small-{n}", work / f"small-{n}.db"
        make_small_apart(folder, n, n + new)
        up = run(["index", "update", str(folder), "--db", str(db), "-m", "copies", "-q"], cache)
        found = run(["find", str(folder), "--db", str(db), "-m", "copies", "-q", "-v", "--json",
                     str(work / "out.json")], cache)
        text += ["", f"Incremental: {new:,} new pictures added to the {n:,} indexed (`index update`, then `find`: "
                 "only the new rows searched against all, kept confidences reused):", "",
                 "| indexed | added | index update: wall s / CPU s / peak MB | find: wall s / CPU s / peak MB | "
                 "end to end: wall s / CPU s | find by stage |", "| ---: | ---: | --- | --- | --- | --- |",
                 f"| {n:,} | {new:,} | {up['wall']:.1f} / {up['cpu']:.1f} / {up['rss']:.0f} | {found['wall']:.1f} / "
                 f"{found['cpu']:.1f} / {found['rss']:.0f} | {up['wall'] + found['wall']:.1f} / "
                 f"{up['cpu'] + found['cpu']:.1f} | {stages_text(found)} |"]
        print("\n".join(text[-3:]), flush=True)
    return text


def grow(work: Path, sizes: list[int], new: int, cache: Path, log: Path, src_file: Path | None = None) -> list[dict]:
    """One folder grown through ``sizes`` (then ``new`` more): at each size ``index update`` (only the pictures
    added since the last size are encoded) and ``find`` with the kept candidate search dropped (a first search of
    everything; pairs scored before keep their confidence); then the incremental run: ``new`` pictures added,
    ``index update`` and ``find`` with the kept search (only the new rows searched against all), end to end.
    Each result is appended to ``log`` (JSON lines) as it is measured. ``src_file``: a file naming the source tree
    the finds run (waited for: the index may be built while the search code is still being changed)."""
    import json

    folder, db = work / "grown", work / "grown.db"
    results = []

    def record(kind: str, n: int, added: int, r: dict) -> None:
        r = dict(r, kind=kind, images=n, added=added, at=time.strftime("%H:%M:%S"), load=os.getloadavg()[0])
        results.append(r)
        with log.open("a") as f:
            f.write(json.dumps(r) + "\n")
        print(json.dumps(r), flush=True)

    def find_src() -> Path:
        if src_file is None:
            return SRC
        while not src_file.exists():
            time.sleep(20)
        return Path(src_file.read_text().strip())

    def cmd(args: list[str], src: Path) -> dict:
        code, err, out = run_imagetwins(args, cache, src)
        if code not in (0, 1, 3) or "Traceback" in err:
            sys.exit(f"{' '.join(args)} failed ({code}):\n{err[-2000:]}")
        return out

    have = 0
    for n in [*sizes, sizes[-1] + new]:
        make_small_apart(folder, have, n)
        src = find_src() if n > sizes[-1] else SRC
        up = cmd(["index", "update", str(folder), "--db", str(db), "-m", "copies", "-q"], src)
        record("update", n, n - have, up)
        src = find_src()
        if n <= sizes[-1]:
            drop_candidate_search(db)
        found = cmd(["find", str(folder), "--db", str(db), "-m", "copies", "-q", "-v", "--json",
                     str(work / f"found-{n}.json")], src)
        record("find" if n <= sizes[-1] else "incremental find", n, n - have, found)
        have = n
    return results


NO_VERIFICATION = ROOT / "benchmarks" / "_no_verification.py"


def pair_scores_kept(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        return con.execute("SELECT count(*) FROM pair_scores WHERE method = 'copies'").fetchone()[0]


def search_only_first(work: Path, n: int, new: int, cache: Path, log: Path) -> list[dict]:
    """A library too large to verify here in full: ``n`` pictures (``make_small``, folder WORKDIR/grown) through
    ``index update``; a first ``find`` with the verification left out (``_no_verification.py``: the scan, load,
    search and peak memory of a first find, and how many pairs it would verify); then the incremental run for
    real: ``new`` pictures added, ``index update`` and ``find`` (only the new rows searched against all, their
    pairs verified: the rate of a verification at this size, CPU s over the pairs it kept). Each result is a JSON
    line in ``log`` as soon as it is measured."""
    import json

    folder, db = work / "grown", work / "grown.db"
    results = []

    def record(kind: str, images: int, r: dict, **extra) -> None:
        r = dict(r, kind=kind, images=images, at=time.strftime("%H:%M:%S"), load=os.getloadavg()[0], **extra)
        results.append(r)
        with log.open("a") as f:
            f.write(json.dumps(r) + "\n")
        print(json.dumps(r), flush=True)

    def cmd(args: list[str], main: Path | None = None) -> tuple[dict, str]:
        code, err, out = run_imagetwins(args, cache, SRC, main)
        if code not in (0, 1, 3) or "Traceback" in err:
            sys.exit(f"{' '.join(args)} failed ({code}):\n{err[-2000:]}")
        return out, err

    make_small_apart(folder, 0, n)
    for extra in sorted(folder.glob("s*.jpg"))[n:]:  # left by an incremental run
        extra.unlink()
    update = ["index", "update", str(folder), "--db", str(db), "-m", "copies", "-q"]
    find = ["find", str(folder), "--db", str(db), "-m", "copies", "-q", "-v", "--json", str(work / "found.json")]
    record("update", n, cmd(update)[0])
    drop_candidate_search(db)
    out, err = cmd(find, NO_VERIFICATION)
    proposed = re.findall(r"pairs proposed for verification: (\d+)", err)
    record("first find, verification left out", n, out, pairs=int(proposed[-1]) if proposed else 0)
    if new:
        make_small_apart(folder, n, n + new)
        record("incremental update", n + new, cmd(update)[0], added=new)
        before = pair_scores_kept(db)
        out, _ = cmd(find)
        verified = pair_scores_kept(db) - before
        cpu = out["stages"].get("verify", {}).get("cpu", 0.0)
        record("incremental find", n + new, out, added=new, pairs=verified,
               ms_a_pair=1000 * cpu / verified if verified else None)
    return results


def into_index(work: Path, index: Path, folder: Path, new: int, cache: Path, log: Path) -> list[dict]:
    """``new`` pictures into a kept index of ``make_small`` pictures (``--into-index DB DIR``, e.g. the 100,000-picture
    index a search-only first find left with its candidate search), on a copy of it in WORKDIR: the index's
    pictures whose files are gone (an earlier run's new ones, removed since) are made again, the very bytes
    (``make_small`` depends on the number alone), with the size and mtime the index recorded, so the update keeps their
    rows; ``new`` pictures after the highest number are added; then ``index update`` and ``find`` (only the new rows
    searched against all, their pairs verified), each a fresh process. Every picture made here is removed again, and
    the copy too. Each result is a JSON line in ``log``."""
    import json

    results = []

    def record(kind: str, r: dict, **extra) -> None:
        r = dict(r, kind=kind, at=time.strftime("%H:%M:%S"), load=os.getloadavg()[0], **extra)
        results.append(r)
        with log.open("a") as f:
            f.write(json.dumps(r) + "\n")
        print(json.dumps(r), flush=True)

    db = work / "into.db"
    for suffix in ("", "-wal", "-shm"):
        (work / f"into.db{suffix}").unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
    dst = sqlite3.connect(db)
    src.backup(dst)  # (a consistent copy, its write-ahead log included)
    dst.close()
    src.close()
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT path, size, mtime_ns FROM file_paths WHERE dir = ?", (str(folder),)).fetchall()
    on_disk = {p.name for p in folder.glob("s*.jpg")}
    gone = [(Path(p), size, mtime) for p, size, mtime in rows if Path(p).name not in on_disk]
    numbers = [int(m.group(1)) for p, _, _ in rows if (m := re.fullmatch(r"s(\d+)\.jpg", Path(p).name))]
    made: list[Path] = []
    try:
        if gone:  # (make_small makes only the pictures of the range that are missing)
            again = [int(re.fullmatch(r"s(\d+)\.jpg", p.name).group(1)) for p, _, _ in gone]
            made += [folder / f"s{n:06d}.jpg" for n in range(min(again), max(again) + 1)
                     if f"s{n:06d}.jpg" not in on_disk]
            make_small_apart(folder, min(again), max(again) + 1)
            wanted = {p.name for p, _, _ in gone}
            for p in made:  # (a number of the range the index does not hold: not one of its pictures)
                if p.name not in wanted:
                    p.unlink()
        for p, size, mtime in gone:
            if p.stat().st_size != size:
                sys.exit(f"{p} made again is not the picture the index holds ({p.stat().st_size} bytes, not {size})")
            os.utime(p, ns=(mtime, mtime))
        start = max(numbers) + 1
        make_small_apart(folder, start, start + new)
        made += [folder / f"s{n:06d}.jpg" for n in range(start, start + new)]
        record("state", {}, indexed=len(rows), made_again=len(gone), added=new)
        update = ["index", "update", str(folder), "--db", str(db), "-m", "copies", "-q"]
        record("incremental update", run(update, cache), added=new)
        before = pair_scores_kept(db)
        find = ["find", str(folder), "--db", str(db), "-m", "copies", "-q", "-v", "--json", str(work / "into.json")]
        out = run(find, cache)
        verified = pair_scores_kept(db) - before
        cpu = out["stages"].get("verify", {}).get("cpu", 0.0)
        record("incremental find", out, added=new, pairs=verified,
               ms_a_pair=1000 * cpu / verified if verified else None)
    finally:
        for p in made:
            p.unlink(missing_ok=True)
        for suffix in ("", "-wal", "-shm"):
            (work / f"into.db{suffix}").unlink(missing_ok=True)
    return results


def new_search(n: int, new: int) -> list[str]:
    """The kernels an incremental search runs for ``new`` rows against ``n`` kept ones (``candidates.search_rows``
    with a kept state), on random rows of the real shapes (1280 float16 CNN values, 256-bit hashes): the new rows'
    nearest among all, the kept rows' nearest among the new, the new rows' dihedral hash pairs with all."""
    import numpy as np

    sys.path.insert(0, str(SRC))
    from imagetwins import search
    from imagetwins.copies import HASH_CANDIDATE, NEIGHBOURS_DEEP

    rng = np.random.default_rng(0)
    v = rng.standard_normal((n + new, 1280)).astype(np.float32)
    v = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float16)
    h = rng.integers(0, 2**63, (n + new, 4), dtype=np.int64).astype(np.uint64)
    fresh, kept = np.arange(n, n + new), np.arange(n)
    from imagetwins import candidates

    # the kept rows' weakest kept neighbour (the 32nd): from a search of a tenth of them among themselves, lower
    # than among all (more new rows beat it: a cost at least the real one)
    sample = kept[::10]
    floor = np.repeat(search.cosine_topk(v[sample], v[sample], k=NEIGHBOURS_DEEP, exclude_self=True)[1][:, -1], 10)[:n]
    is_new = np.zeros(n + new, bool)
    is_new[fresh] = True

    def both():
        above = candidates._NewAboveFloor(fresh, is_new, kept, floor, NEIGHBOURS_DEEP)
        candidates._topk_excluding(v[fresh], fresh, v, NEIGHBOURS_DEEP, above)
        return above.closest()

    lines = []
    for name, f in ((f"new against all (cosine, top {NEIGHBOURS_DEEP + 1})",
                     lambda: search.cosine_topk(v[fresh], v, k=NEIGHBOURS_DEEP + 1)),
                    (f"kept against new (cosine, top {NEIGHBOURS_DEEP}), a product of its own (before)",
                     lambda: search.cosine_topk(v[kept], v[fresh], k=NEIGHBOURS_DEEP)),
                    ("new against all and kept against new read off the same products (since)", both),
                    (f"new against all (dihedral hash, {HASH_CANDIDATE} bits)",
                     lambda: search.dihedral_query(h[fresh], h, HASH_CANDIDATE, 2))):
        t, w = time.process_time(), time.perf_counter()
        f()
        lines.append(f"{n:,} + {new:,}: {name}: {time.process_time() - t:.1f} CPU s, {time.perf_counter() - w:.1f} s")
        print(lines[-1], flush=True)
    return lines


def matching_speed(reps: int = 5) -> list[str]:
    """CPU microseconds of one ratio-test matching (the two nearest descriptors of each query descriptor) at the sizes
    a check asks for (the quick look 64 x 256, the wider look 128 x 500, the full match 500 x 500), OpenCV's
    ``batchDistance`` against ``imagetwins.matching.nearest_two``, on random 32-byte descriptors, alternated; the best
    of ``reps`` rounds of each (a loaded machine only adds)."""
    import cv2
    import numpy as np

    sys.path.insert(0, str(SRC))
    from imagetwins import matching

    cv2.setNumThreads(0)
    assert matching._get_session() is not None, "onnxruntime cannot run the matching graph here"
    rng = np.random.default_rng(0)
    lines = []
    for n, m, calls in ((64, 256, 2000), (128, 500, 500), (500, 500, 200)):
        q = rng.integers(0, 256, (n, 32), dtype=np.uint8)
        b = rng.integers(0, 256, (m, 32), dtype=np.uint8)
        best = {"batchDistance": float("inf"), "nearest_two": float("inf")}
        for _ in range(reps):
            for name, f in (("batchDistance", lambda q, b: cv2.batchDistance(q, b, cv2.CV_32S,
                                                                              normType=cv2.NORM_HAMMING, K=2)),
                            ("nearest_two", matching.nearest_two)):
                t = time.process_time()
                for _ in range(calls):
                    f(q, b)
                best[name] = min(best[name], (time.process_time() - t) / calls)
        lines.append(f"{n} x {m} descriptors: OpenCV batchDistance {1e6 * best['batchDistance']:.0f} us, "
                     f"nearest_two {1e6 * best['nearest_two']:.0f} us")
        print(lines[-1], flush=True)
    return lines


def bound_memory(m: int, n: int = 100_000) -> str:
    """Peak RSS that ``candidates.closest_hash_pairs`` adds on ``m`` random hash pairs beyond the sure distance
    among ``n`` rows (a first find of 100,000 mosaics holds ~11 M before the bound), in a fresh process."""
    code = f"""
import resource, sys, time
import numpy as np
sys.path.insert(0, {str(SRC)!r})
from imagetwins.candidates import closest_hash_pairs, _key_rank
rng = np.random.default_rng(0)
n, m = {n}, {m}
left = rng.integers(0, n - 1, m)
right = np.minimum(left + 1 + rng.integers(0, n, m), n - 1)
dist = rng.integers(41, 97, m).astype(np.int32)
rank = _key_rank(np.array([rng.bytes(16) + b"\\0" for _ in range(n)], dtype="S17"))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.process_time()
keep = closest_hash_pairs(left, right, dist, n, 8, 40, rank)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
cpu = time.process_time() - t
print(f"closest_hash_pairs, {{m:,}} pairs of {{n:,}} rows: peak RSS {{base:.0f}} MB before (inputs included), "
      f"{{peak:.0f}} MB after (+{{peak - base:.0f}} MB), {{int(keep.sum()):,}} kept, {{cpu:.1f}} CPU s")
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    print(out, flush=True)
    return out


def warm(work: Path, count: int, methods: list[str], cache: Path) -> list[str]:
    lib = work / f"camera-{count}"
    have = len(list(lib.glob("*.jpg"))) if lib.is_dir() else 0
    if have < count:
        code = (f"import sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); from pathlib import Path; "
                f"from home_library import make_library; make_library(Path({str(lib)!r}), {count}, seed=3)")
        subprocess.run([sys.executable, "-c", code], check=True)
    lines = ["", f"Warm re-run: {count:,} unique camera photos (`home_library.make_library`, 2-16 MP JPEGs), "
             "`find DIR -m M -q -v` once to fill the per-folder cache, then again with nothing changed:", "",
             "| method | photos | warm re-run: wall s | CPU s | peak MB | by stage: wall / CPU / peak RSS reached |",
             "| --- | ---: | ---: | ---: | ---: | --- |"]
    for m in methods:
        run(["find", str(lib), "-m", m, "-q"], cache)
        r = run(["find", str(lib), "-m", m, "-q", "-v"], cache)
        lines.append(f"| `{m}` | {count:,} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['rss']:.0f} | {stages_text(r)} |")
        print(lines[-1], flush=True)
    return lines


def check_vectors(db: Path, folder: Path) -> list[str]:
    """The pairs ``copies`` proposes and finds with half-float vectors (what a run holds) against float32 ones
    (what the index stores), on one index: the same verifications serve both (one store of pair scores)."""
    import sqlite3

    import numpy as np

    sys.path.insert(0, str(SRC))
    from imagetwins import copies
    from imagetwins.encoders import get_encoder
    from imagetwins.index import Index
    from imagetwins.pairscores import MemoryPairScores, PairScores

    with Index(db, methods=["copies"], readonly=True) as idx:
        paths, rows = idx.load("copies", folder)
        digests = [str(d) for d in idx.digests(paths)]
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        heads = {fid: (bytes(h), n) for fid, h, n in con.execute(
            "SELECT file_id, substr(value, 1, ?), length(value) FROM encodings WHERE method = 'copies'",
            (copies.HEAD_BYTES,))}
    full = np.empty(len(rows), dtype=object)
    for i, r in enumerate(rows):
        head, n = heads[r._offset]
        rec = copies.CopyRecord.from_head(head, n, r._spill, r._offset)
        d = len(rec.vector)
        rec.vector = np.frombuffer(head[36:36 + 4 * d], "<f4").astype(np.float32)
        if rec.alt_hash is not None:  # its vector lies after the hash, after the capture stamp if any
            at = head.index(np.asarray(rec.alt_hash, "<u8").tobytes(), 36 + 4 * d) + 32
            rec.alt_vector = np.frombuffer(head[at:at + 4 * d], "<f4").astype(np.float32)
        full[i] = rec
    store = MemoryPairScores()
    version = get_encoder("copies").pair_score_version
    found = {}
    for name, recs in (("float32", full), ("float16", rows)):
        t = time.process_time()
        left, right, _, conf = copies.scored_candidates(list(recs), workers=2,
                                                        pair_scores=PairScores(store, "copies", version, digests))
        found[name] = (set(zip(left.tolist(), right.tolist())),
                       {(a, b) for a, b, c in zip(left.tolist(), right.tolist(), conf.tolist())
                        if c >= copies.DEFAULT_CONFIDENCE}, time.process_time() - t)
    (p32, c32, _), (p16, c16, _) = found["float32"], found["float16"]
    line = (f"Half-float vectors (`--check-vectors`, {len(rows):,} images of `{folder.name}`): proposed pairs "
            f"{len(p32):,} with float32 vectors, {len(p16):,} with float16, {len(p32 & p16):,} in both; copies found "
            f"{len(c32):,} and {len(c16):,}, {len(c32 & c16):,} in both.")
    print(line, flush=True)
    return ["", line]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="2000,5000,20000", help="sizes of the scale run (small pictures)")
    ap.add_argument("--new", type=int, default=1000, help="pictures added in the incremental run (0: none)")
    ap.add_argument("--camera", type=int, default=1000, help="camera photos of the warm re-run (0: none)")
    ap.add_argument("--methods", default="copies,phash",
                    help="methods of the warm re-run (any registered method: copies,phash,similar)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/imagetwins-scale"))
    ap.add_argument("--check-vectors", nargs=2, type=Path, metavar=("DB", "DIR"),
                    help="compare the pairs proposed and found with float16 and float32 vectors on an index")
    ap.add_argument("--grow", action="store_true",
                    help="one folder grown through --sizes, then --new more (see grow()); log in WORKDIR/grow.jsonl")
    ap.add_argument("--src-file", type=Path, help="--grow: a file naming the source tree the finds run (waited for)")
    ap.add_argument("--bound-memory", type=float, metavar="M",
                    help="peak memory of the per-row hash bound on M random pairs of 100,000 rows (bound_memory())")
    ap.add_argument("--new-search", type=int, metavar="N",
                    help="time the kernels of searching --new random rows against N kept ones (new_search())")
    ap.add_argument("--search-only-first", type=int, metavar="N",
                    help="N pictures, a first find without verification, then --new for real (search_only_first())")
    ap.add_argument("--into-index", nargs=2, type=Path, metavar=("DB", "DIR"),
                    help="--new pictures into a copy of a kept index of DIR's make_small pictures (into_index())")
    ap.add_argument("--matching", action="store_true",
                    help="time the ratio test's descriptor matching, OpenCV against imagetwins.matching")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    need_datasets("camera-photos/images", "photos-public/images", "ukbench-600/images", "holidays-half/images")
    work = a.workdir
    work.mkdir(parents=True, exist_ok=True)
    cache = work / "cache-home"
    load = os.getloadavg()
    text = [f"Measured {time.strftime('%Y-%m-%d %H:%M')} UTC on {os.cpu_count()} cores shared with other jobs "
            f"(load average {load[0]:.1f} at the start: wall times are noisy, CPU seconds steadier), `nice -n 10`. "
            f"Command: `python benchmarks/bench_scale.py {' '.join(sys.argv[1:])}`."]
    if a.check_vectors:
        text += check_vectors(*a.check_vectors)
    sizes = [int(x) for x in a.sizes.split(",") if x]
    if a.grow:
        grow(work, sizes, a.new, cache, work / "grow.jsonl", a.src_file)
        return
    if a.bound_memory:
        bound_memory(int(a.bound_memory))
        return
    if a.matching:
        matching_speed()
        return
    if a.new_search:
        new_search(a.new_search, a.new)
        return
    if a.into_index:
        into_index(work, a.into_index[0], a.into_index[1].resolve(), a.new, cache, work / "into-index.jsonl")
        return
    if a.search_only_first:
        search_only_first(work, a.search_only_first, a.new, cache, work / "search-only-first.jsonl")
        return
    if sizes:
        text += scale(work, sizes, a.new, cache)
    if a.camera:
        text += warm(work, a.camera, [m for m in a.methods.split(",") if m], cache)
    print("\n".join(text))
    if not a.no_write:
        write_section("scale", "Scale: memory per image, new photos into an index, warm re-runs (issue #25)",
                      "\n".join(text))


if __name__ == "__main__":
    main()
