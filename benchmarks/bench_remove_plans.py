"""What ``remove --plan --apply`` and ``undo`` cost in wall time (the journal's fsyncs), and what a hostile plan costs
to refuse.

    python benchmarks/bench_remove_plans.py [--moves 10000] [--rounds 2] [--hostile] [--baseline-src OLD/src]
                                            [--link clone|hard|sym] [--to-trash] [--sidecars] [--no-write]

A folder of ``--moves`` byte-copy pairs of 2,000 random bytes each (nothing is decoded: a byte copy of its keeper
moves without a check) in 20 folders a side, and a plan as ``find --json`` writes it moving one of each. Each round
copies the folder afresh and runs ``remove --plan --apply`` then ``undo`` in fresh processes, this checkout and the
``--baseline-src`` one alternated (``--link KIND``, ``--to-trash``: ``remove``'s own options, the trash under the
run's ``$XDG_DATA_HOME``, emptied each round; ``--sidecars``: each copy with an XMP sidecar that moves with it).
``--hostile``: a dry run of a plan of 1,000,000 groups of two made-up names
(31 MB). Wall and CPU seconds, peak RSS. Writes the table into BENCHMARKS.md between the ``bench_remove_plans``
markers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, commit_of, run_imagetwins, write_section  # noqa: E402


def make_folder(folder: Path, n: int, plan: Path, sidecars: bool = False) -> None:
    """``n`` byte-copy pairs under ``folder`` and the plan moving the backup's copy of each (``sidecars``: each copy
    with an XMP sidecar ``IMG.jpg.xmp``, which moves with it)."""
    groups = []
    for i in range(n):
        keep = folder / "2019" / f"Holiday {i % 20:02d}" / f"IMG_{i:06d}.jpg"
        copy = folder / "backup" / "phone" / f"{i % 20:02d}" / f"IMG_{i:06d}.jpg"
        data = os.urandom(2000)
        for p in (keep, copy):
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        if sidecars:
            copy.with_name(copy.name + ".xmp").write_bytes(b"<x:xmpmeta/>" + data[:200])
        digest = hashlib.sha256(data).hexdigest()
        groups.append({"files": [str(keep), str(copy)], "exact": True, "sha256": {str(keep): digest, str(copy): digest},
                       "keep": str(keep), "suggested_keep": str(keep), "also_keep": []})
    plan.write_text(json.dumps({"imagetwins_plan": 1, "root": str(folder.resolve()), "method": "copies",
                                "threshold": 0.92, "score_kind": "confidence", "groups": groups}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--moves", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--hostile", action="store_true", help="also a dry run of a plan of 1,000,000 made-up groups")
    ap.add_argument("--baseline-src", type=Path, help="another checkout's src/: measured too, alternated")
    ap.add_argument("--link", choices=["clone", "hard", "sym"], help="remove --link KIND: a link in each place")
    ap.add_argument("--to-trash", action="store_true", help="remove --to-trash: into the trash ($XDG_DATA_HOME)")
    ap.add_argument("--sidecars", action="store_true", help="each copy with an XMP sidecar that moves with it")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rows = ["| code | round | what | wall s | CPU s | peak RSS MB | exit |",
            "| --- | ---: | --- | ---: | ---: | ---: | ---: |"]
    codes = [(f"this ({commit_of(ROOT / 'src')})", ROOT / "src")]
    if args.baseline_src:
        codes.append((f"before ({commit_of(args.baseline_src)})", args.baseline_src))

    def row(label: str, n: int, what: str, code: int, r: dict) -> None:
        rows.append(f"| {label} | {n} | {what} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['rss']:.0f} | {code} |")
        print(rows[-1], flush=True)

    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        tmp = Path(tmp)
        os.environ["XDG_DATA_HOME"] = str(tmp / "data")  # (remembered decisions: its own)
        made, plan = tmp / "made", tmp / "plan.json"
        make_folder(made, args.moves, plan, args.sidecars)
        mode = (["--link", args.link] if args.link else []) + (["--to-trash"] if args.to_trash else [])
        what = " ".join(["remove --plan --apply", *mode, "(sidecars)" if args.sidecars else ""]).strip()
        text = plan.read_text()
        for n in range(1, args.rounds + 1):
            for label, src in codes:
                shutil.rmtree(tmp / "data", ignore_errors=True)  # (the trash: emptied each round)
                folder, quarantine = tmp / "photos", tmp / "photos-q"
                shutil.rmtree(folder, ignore_errors=True)
                shutil.rmtree(quarantine, ignore_errors=True)
                shutil.copytree(made, folder)
                run_plan = tmp / "run.json"
                run_plan.write_text(text.replace(json.dumps(str(made))[1:-1], json.dumps(str(folder))[1:-1]))
                code, _, r = run_imagetwins(["remove", str(folder), "--plan", str(run_plan), "--apply", "-q",
                                             "--move-to", str(quarantine), *mode], tmp / "cache", src)
                row(label, n, f"{what} ({args.moves:,} moves)", code, r)
                code, _, r = run_imagetwins(["undo", str(quarantine), "-q"], tmp / "cache", src)
                row(label, n, "undo", code, r)
        if args.hostile:
            hostile, folder = tmp / "hostile.json", tmp / "h"
            folder.mkdir()
            groups = ",".join(f'{{"files":["{i}","k{i}"]}}' for i in range(1_000_000))
            hostile.write_text(f'{{"imagetwins_plan":1,"root":"{folder}","base":"{folder}","method":"copies",'
                               f'"groups":[{groups}]}}')
            for label, src in codes:
                code, _, r = run_imagetwins(["remove", str(folder), "--plan", str(hostile), "-q"], tmp / "cache", src)
                row(label, 1, "dry run of 1,000,000 made-up groups (31 MB)", code, r)
    header = (f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores (shared: "
              "wall seconds here are the journal's fsyncs waiting on the disk, CPU seconds the steadier number). "
              f"{args.moves:,} byte-copy pairs of 2,000 random bytes, a plan moving one of each. Command: "
              f"`python benchmarks/bench_remove_plans.py {' '.join(sys.argv[1:])}`.\n")
    table = "\n".join([header, *rows])
    print(table)
    if not args.no_write:
        write_section("bench_remove_plans", "`remove --plan --apply`, `undo` and a hostile plan "
                      "(`benchmarks/bench_remove_plans.py`)", table)


if __name__ == "__main__":
    main()
