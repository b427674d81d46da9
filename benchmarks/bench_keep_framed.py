"""Is the original kept in a folder of its everyday edits? (``keep.framed_copies``)

The folders of ``benchmarks/quality.py --families`` (each original with one copy of every family of
``imagetwins.edits.FAMILIES``: a screenshot, the picture on a background, turned on a grown canvas, photographed on a
screen, meme text, stickers, crops ... and as many distractor photos), built here in ``WORKDIR`` the same way
(``quality.build_families``). For each folder: ``find`` with ``copies`` and the ``original`` keep rule (no cache, in
this process), then for each original whether it is its group's keeper, offered for removal, or in no group; the
keepers of the big groups (5 files or more) by family; files in a group; the keep stage's CPU seconds.

    python benchmarks/bench_keep_framed.py --workdir /tmp/fam [--originals 20] [--sets fam-photos-public,fam-ukbench]

Run it against another source tree with ``--src`` (e.g. a ``git archive`` of main) for a before/after; each set runs
in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

ONE_SET = r"""
import collections, json, os, sys, time
import imagetwins
from imagetwins import keep
from imagetwins.finder import find_duplicate_groups
d = sys.argv[1]
with imagetwins.open_session(d, ["copies"], cache=False) as s:
    r = find_duplicate_groups(d, "copies", session=s, decisions=False)
    t = time.process_time()
    k = keep.decide_keepers(r, session=s)
    cpu = time.process_time() - t
status, keepers = {}, collections.Counter()
for g, dd in zip(k.groups, k.decisions):
    for p in g.files:
        if p.endswith("_orig.jpg"):
            status[os.path.basename(p)] = "keeper" if p == dd.keeper else "removed" if p in dd.remove else "kept"
    if len(g.files) >= 5:
        name = os.path.basename(dd.keeper)
        keepers[name.split("_", 1)[1].rsplit(".", 1)[0] if "_" in name else "distractor"] += 1
origs = sorted(f for f in os.listdir(d) if f.endswith("_orig.jpg"))
count = collections.Counter(status.get(o, "in no group") for o in origs)
print(json.dumps({"originals": len(origs), **count, "big_group_keepers": dict(keepers),
                  "in_groups": sum(len(g.files) for g in k.groups), "groups": len(k.groups),
                  "keep_cpu_s": round(cpu, 2)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--originals", type=int, default=20, help="originals per source (as --family-originals)")
    ap.add_argument("--sets", default="fam-photos-public,fam-ukbench,fam-camera-photos")
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the imagetwins source tree to measure")
    args = ap.parse_args()
    from _common import need_datasets

    need_datasets("photos-public/images", "ukbench-600/images", "camera-photos/images")
    import quality

    sets = quality.build_families(args.workdir, args.originals)
    env = dict(os.environ, PYTHONPATH=str(args.src.resolve()))
    for name in args.sets.split(","):
        folder = sets[name][0].parent
        out = subprocess.run([sys.executable, "-c", ONE_SET, str(folder)], env=env, capture_output=True, text=True)
        line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr.strip()[-500:]
        print(name, json.dumps(json.loads(line)) if line.startswith("{") else line, flush=True)


if __name__ == "__main__":
    main()
