"""Each look the keep stage makes at a framed picture (``copies._enlarged_area``: is the framed file's picture the
plain file enlarged? ``verify.unexplained_detail(boxed=True)``), its measure and CPU seconds, under two source trees:
which answers moved across ``copies.FRAMED_ENLARGED_BELOW`` (or to or from none), and what the looks cost.

    python benchmarks/probe_keep_looks.py FOLDER [FOLDER ...] --src BEFORE --src AFTER

Each folder (e.g. ``bench_keep_catalogue.py``'s catalogue, ``bench_keep_enlarged_framed.py``'s enlarged / thumbnail /
near folders) runs ``find -m copies`` and the keep stage (``original``, no cache) in a fresh process per tree; the
looks are matched by their two files, in the order the first tree made them (a look the other tree did not make is
said so).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ONE = r"""
import json, os, sys, time
import imagetwins
from imagetwins import copies, keep
from imagetwins.finder import find_duplicate_groups
looks = []
measure = copies.unexplained_detail
def timed(v, fa, fb, sa, sb, **kw):
    t = time.process_time()
    got = measure(v, fa, fb, sa, sb, **kw)
    looks.append([os.path.basename(str(sa)), os.path.basename(str(sb)), got, time.process_time() - t])
    return got
copies.unexplained_detail = timed
with imagetwins.open_session(sys.argv[1], ["copies"], cache=False) as s:
    r = find_duplicate_groups(sys.argv[1], "copies", session=s, decisions=False)
    t = time.process_time()
    k = keep.decide_keepers(r, session=s)
    cpu = time.process_time() - t
print(json.dumps({"looks": looks, "keep_cpu_s": cpu, "keepers": sorted(d.keeper for d in k.decisions)}))
"""


def run(folder: Path, src: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src.resolve()))
    out = subprocess.run([sys.executable, "-c", ONE, str(folder)], env=env, capture_output=True, text=True)
    if not out.stdout.strip():
        sys.exit(out.stderr.strip()[-500:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def decided(measure: float | None, below: float) -> bool:
    """Whether a look's measure says the framed picture is the plain file enlarged."""
    return measure is not None and measure < below


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", type=Path, nargs="+")
    ap.add_argument("--src", type=Path, action="append", required=True, help="a source tree (twice: before, after)")
    args = ap.parse_args()
    if len(args.src) != 2:
        sys.exit("give --src twice: the tree before, then the tree after")
    sys.path.insert(0, str(args.src[1].resolve()))
    from imagetwins.copies import FRAMED_ENLARGED_BELOW as below

    for folder in args.folders:
        before, after = (run(folder, src) for src in args.src)
        now = {(a, b): (m, t) for a, b, m, t in after["looks"]}
        moved = []
        for a, b, m, _ in before["looks"]:
            if (a, b) not in now:
                moved.append(f"{a} / {b}: {m} -> not looked at")
            elif decided(m, below) != decided(now[(a, b)][0], below):
                moved.append(f"{a} / {b}: {m} -> {now[(a, b)][0]}")
        cpu = [sum(t for *_, t in run_["looks"]) for run_ in (before, after)]
        print(f"{folder}: {len(before['looks'])} -> {len(after['looks'])} looks, looks {cpu[0]:.2f} -> {cpu[1]:.2f} "
              f"CPU s, keep stage {before['keep_cpu_s']:.2f} -> {after['keep_cpu_s']:.2f} CPU s, keepers "
              f"{'the same' if before['keepers'] == after['keepers'] else 'DIFFER'}; answers moved: {len(moved)}",
              flush=True)
        for line in moved:
            print("  ", line)


if __name__ == "__main__":
    main()
