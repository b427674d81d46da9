"""A crowd: thousands of byte-identical copies of one photo (real copies, not links), plus one half-size copy of it
(a group of edited copies holding byte copies: the review page's and the text's case).

    python benchmarks/bench_crowd.py [--sizes 500 1000 2000] [--baseline-src OLD/src] [--no-write]

For each size, in fresh processes with a cache of their own: ``find DIR --json`` (the first scan),
``find DIR --json --pairs``, ``report DIR -o page.html`` and ``remove DIR`` (a dry run), each with its wall and CPU
seconds, peak RSS and what it wrote (JSON, page). What grows with the square of the files shows here (the page's
byte-copy lists before 6d0660a; ``--pairs`` before each byte set was one entry: 226 MB at 2,000). ``--baseline-src``
runs both finds with another checkout's ``src`` too (its own cache). Writes the table into BENCHMARKS.md between the
``bench_crowd`` markers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    DATASETS,
    ROOT,
    commit_of,
    need_datasets,
    run_imagetwins,
    write_section,
)


def make_folder(folder: Path, n: int) -> None:
    photo = sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[3]
    folder.mkdir()
    for k in range(n):
        shutil.copyfile(photo, folder / f"copy{k:05d}.jpg")
    with Image.open(photo) as im:
        im.convert("RGB").resize((im.width // 2, im.height // 2)).save(folder / "half.jpg", quality=90)


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:.2f}" if path.exists() else "-"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000])
    ap.add_argument("--baseline-src", type=Path, help="another checkout's src/: its two finds measured too")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    need_datasets("photos-public/images")
    rows = ["| code | byte copies (+1 half-size) | command | wall s | CPU s | peak RSS MB | output MB |",
            "| --- | ---: | --- | ---: | ---: | ---: | ---: |"]
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            folder = Path(tmp) / f"crowd{n}"
            make_folder(folder, n)
            out = Path(tmp) / "out"
            cases = [("this", ROOT / "src", "find --json", ["find", str(folder), "--json", str(out)]),
                     ("this", ROOT / "src", "find --json --pairs",
                      ["find", str(folder), "--json", str(out), "--pairs"]),
                     ("this", ROOT / "src", "report", ["report", str(folder), "-o", str(out) + ".html"]),
                     ("this", ROOT / "src", "remove (dry run)", ["remove", str(folder)])]
            if args.baseline_src:  # (its own cache, made by its first find)
                cases += [("before", args.baseline_src, what, argv) for _, _, what, argv in cases[:2]]
            cache = Path(tmp) / f"cache{n}"
            for label, src, what, argv in cases:
                code, err, r = run_imagetwins([*argv, "-q"], cache.with_name(f"{cache.name}-{label}"), src)
                written = out.with_suffix(".html") if what == "report" else out
                shown = _mb(written) if what.startswith(("find", "report")) else "-"
                if code not in (0, 1):
                    rows.append(f"| {label} | {n:,} | {what} | failed ({code}): {err.strip()[-80:]} | | | |")
                else:
                    rows.append(f"| {label} | {n:,} | {what} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['rss']:.0f} | "
                                f"{shown} |")
                print(rows[-1], flush=True)
                for f in (out, out.with_suffix(".html")):
                    f.unlink(missing_ok=True)
            shutil.rmtree(folder)
            for label in ("this", "before"):
                shutil.rmtree(cache.with_name(f"{cache.name}-{label}"), ignore_errors=True)
    header = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores (shared: "
              "wall times vary, CPU seconds less). Command: "
              f"`python benchmarks/bench_crowd.py {' '.join(sys.argv[1:])}`. `find --json` is the first scan (the "
              "cache made then serves the rest); exit code 1 (duplicates found) counts as done."
              + (f" `before`: the code of {commit_of(args.baseline_src)}." if args.baseline_src else "") + "\n")
    table = "\n".join([header, *rows])
    print(table)
    if not args.no_write:
        write_section("bench_crowd", "A crowd: thousands of byte copies of one photo (`benchmarks/bench_crowd.py`)",
                      table)


if __name__ == "__main__":
    main()
