"""What ``remove --plan`` costs now that it checks every file to move against its keeper (`plan.not_copies_of_keepers`):
a plan as ``find`` wrote it reads each check from the folder's cache; a plan made without one (``find --no-cache``)
or with every keeper edited by hand has its pairs checked then, decoding both files. A plan from ``find --db FILE``
names its index, whose kept checks ``remove --plan`` reads; ``remove --plan --no-cache`` reads and keeps none.

    python benchmarks/bench_plan_checks.py [--photos 100] [--baseline-src OLD/src] [--no-write]

N photos-public photos, each with a half-size copy and a crop of its middle (N groups of 3, copies). Fresh processes:
``find DIR --json plan`` (the cache made), ``remove DIR --plan plan`` (dry run), the same plan with every keep edited
to the crop, ``find --no-cache`` + ``remove --plan`` with no cache, ``find --db FILE`` + ``remove --plan`` (no folder
cache: the plan's index), and that plan with ``remove --plan --no-cache``. Wall and CPU seconds, peak RSS, and how many
files the dry run would move and leave. ``--baseline-src``: the removes with another checkout's ``src`` too.
Writes the table into BENCHMARKS.md between the ``bench_plan_checks`` markers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATASETS, ROOT, need_datasets, run_imagetwins, write_section  # noqa: E402


def make_folder(folder: Path, n: int) -> None:
    folder.mkdir()
    for photo in sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[:n]:
        shutil.copyfile(photo, folder / photo.name)
        with Image.open(photo) as im:
            im = im.convert("RGB")
            w, h = im.size
            im.resize((w // 2, h // 2), Image.Resampling.LANCZOS).save(folder / f"{photo.stem}_half.jpg", quality=90)
            im.crop((w // 8, h // 8, w * 7 // 8, h * 7 // 8)).save(folder / f"{photo.stem}_crop.jpg", quality=90)


def edited(plan: Path, out: Path) -> None:
    """The plan with every group's keep edited by hand to its crop (where it has one)."""
    doc = json.loads(plan.read_text())
    for g in doc["groups"]:
        crops = [f for f in g["files"] if f.endswith("_crop.jpg")]
        if crops:
            g["keep"] = crops[0]
    out.write_text(json.dumps(doc))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=100)
    ap.add_argument("--baseline-src", type=Path, help="another checkout's src/: its removes measured too")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    need_datasets("photos-public/images")
    rows = ["| code | plan | cache | remove --plan wall s | CPU s | peak RSS MB | would move | left (notes) |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["XDG_DATA_HOME"] = str(tmp / "data")  # (remembered decisions, the key of stored rows: its own)
        folder = tmp / "photos"
        make_folder(folder, args.photos)
        cache, nocache = tmp / "cache", tmp / "nocache"
        plans = {"as find wrote it": tmp / "plan.json", "every keep edited": tmp / "edited.json",
                 "as find --no-cache wrote it": tmp / "plan-nocache.json",
                 "as find --db wrote it": tmp / "plan-db.json"}
        for argv, where in ((["find", str(folder), "--json", str(plans["as find wrote it"])], cache),
                            (["find", str(folder), "--json", str(plans["as find --no-cache wrote it"]), "--no-cache"],
                             nocache),
                            (["find", str(folder), "--db", str(tmp / "photos.db"), "--json",
                              str(plans["as find --db wrote it"])], nocache)):
            code, err, r = run_imagetwins([*argv, "-q"], where, ROOT / "src")
            print(f"{argv[0]} {argv[-1]}: {r['wall']:.1f} s wall, {r['cpu']:.1f} CPU s, exit {code}", flush=True)
        edited(plans["as find wrote it"], plans["every keep edited"])
        cases = [("as find wrote it", cache, "the scan's", []), ("every keep edited", cache, "the scan's", []),
                 ("as find --no-cache wrote it", nocache, "none", []),
                 ("as find --db wrote it", nocache, "none (the plan's index)", []),
                 ("as find --db wrote it", nocache, "none, remove --no-cache", ["--no-cache"])]
        codes = [("this", ROOT / "src")] + ([("before", args.baseline_src)] if args.baseline_src else [])
        for label, src in codes:
            for what, where, cache_said, extra in cases:
                run_cache = where if not cache_said.startswith("none") else tmp / f"empty-{label}"
                said: list[str] = []
                code, err, r = run_imagetwins(["remove", str(folder), "--plan", str(plans[what]), *extra], run_cache,
                                              src, stdout=said)
                if code == 2:  # (a usage error: an option that code refuses)
                    rows.append(f"| {label} | {what} | {cache_said} | refused: {err.strip().splitlines()[-1]} |")
                    print(rows[-1], flush=True)
                    continue
                moved = sum(line.startswith("would move ") for line in said)
                left = sum(line.startswith("note: leaving ") for line in err.splitlines())
                rows.append(f"| {label} | {what} | {cache_said} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['rss']:.0f} | "
                            f"{moved} | {left} |")
                print(rows[-1], flush=True)
    header = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores (shared: "
              f"CPU seconds are the number). {args.photos} photos-public photos, each with a half-size copy and a "
              "crop of its middle 3/4 (`-m copies`). Command: "
              f"`python benchmarks/bench_plan_checks.py {' '.join(sys.argv[1:])}`.\n")
    table = "\n".join([header, *rows])
    print(table)
    if not args.no_write:
        write_section("bench_plan_checks", "`remove --plan` checks every file against its keeper "
                      "(`benchmarks/bench_plan_checks.py`)", table)


if __name__ == "__main__":
    main()
