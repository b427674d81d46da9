"""The keep stage's checks of grouped files against their keeper (``keep._KeeperChecks``): files in no group, and
what the checks cost on a crowd.

A ``copies`` search joins two files only where it compared them, so a file can belong to a connected set of
matches through one other copy alone; the keep stage makes each set a star around its keeper, and a file the
search never compared with the keeper is checked against it there (``Encoder.score_pairs``). Cases, each a folder
made from one photos-public photo (a fresh process each, no cache, ``find`` then the ``original`` keep rule):

- ``repro``: the photo, 50 resized copies (0.2-1.05x a side, one 1.088x enlargement, JPEG q75-95) and one 80 %
  crop: which files end in no group.
- ``crowd``: the photo and N copies of it, each resized (0.3-1.2x), cropped (60-97 % of the area), captioned or
  tilted, one or two of those at once, and one 80 % crop: groups, files in no group, the keep stage's checks
  and CPU seconds (search with verification, keep stage).

    python benchmarks/bench_keeper_checks.py --workdir /tmp/keeper-bench [--crowd 200] [--photo bsds_105053.jpg]

Run it against another source tree with ``--src`` (e.g. a ``git archive`` of main) for a before/after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATASETS, ROOT, need_datasets  # noqa: E402

PHOTOS = DATASETS / "photos-public" / "images"


def _save(img: Image.Image, path: Path, quality: int) -> None:
    img.convert("RGB").save(path, quality=quality)


def make_repro(photo: Path, out: Path, copies: int = 50, seed: int = 1) -> None:
    """The photo, ``copies`` resized copies (the first one a 1.088x enlargement) and one 80 % crop."""
    import random

    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    im = Image.open(photo)
    im.load()
    w, h = im.size
    _save(im, out / "original.jpg", 95)
    scales = [1.088] + [rng.uniform(0.2, 1.05) for _ in range(copies - 1)]
    for i, s in enumerate(scales):
        c = im.resize((max(8, round(w * s)), max(8, round(h * s))), Image.Resampling.LANCZOS)
        _save(c, out / f"resized_{i:04d}_{s:.3f}.jpg", rng.choice([75, 85, 90, 95]))
    cw, ch = round(w * 0.8944), round(h * 0.8944)
    x0, y0 = rng.randint(0, w - cw), rng.randint(0, h - ch)
    _save(im.crop((x0, y0, x0 + cw, y0 + ch)), out / "crop80.jpg", 92)


def make_crowd(photo: Path, out: Path, n: int, seed: int = 2) -> None:
    """The photo, ``n`` copies with one or two everyday edits each, and one 80 % crop."""
    from imagetwins import edits

    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    im = Image.open(photo).convert("RGB")
    w, h = im.size
    _save(im, out / "original.jpg", 95)

    def resized(img, r):
        s = r.uniform(0.3, 1.2)
        return img.resize((max(8, round(img.width * s)), max(8, round(img.height * s))), Image.Resampling.LANCZOS)

    def cropped(img, r):
        keep = np.sqrt(r.uniform(0.60, 0.97))
        cw, ch = int(img.width * keep), int(img.height * keep)
        x0, y0 = int(r.integers(0, img.width - cw + 1)), int(r.integers(0, img.height - ch + 1))
        return img.crop((x0, y0, x0 + cw, y0 + ch))

    kinds = [resized, cropped, edits.text_overlay, edits.tilt]
    for i in range(n):
        img = im
        for k in rng.choice(len(kinds), size=int(rng.integers(1, 3)), replace=False):
            img = kinds[int(k)](img, rng)
        _save(img, out / f"copy_{i:04d}.jpg", int(rng.choice([70, 85, 95])))
    cw, ch = round(w * 0.8944), round(h * 0.8944)
    _save(im.crop(((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch)), out / "crop80.jpg", 92)


CASE = """
import json, os, sys, time
import imagetwins
from imagetwins import keep as _keep
from imagetwins.finder import find_duplicate_groups
from imagetwins.encoders import get_encoder
folder = sys.argv[1]
encoder = get_encoder("copies")
asked = [0]
score_pairs = getattr(type(encoder), "score_pairs", None)
if score_pairs is not None:
    def counted(self, rows, left, right, *a, **k):
        asked[0] += len(left)
        return score_pairs(self, rows, left, right, *a, **k)
    type(encoder).score_pairs = counted
with imagetwins.open_session(folder, ["copies"], cache=False) as s:
    t0 = time.process_time()
    found = find_duplicate_groups(folder, "copies", session=s, decisions=False)
    t1 = time.process_time()
    decided = _keep.decide_keepers(found, session=s)
    t2 = time.process_time()
files = {os.path.join(folder, f) for f in os.listdir(folder)}
grouped = {p for g in decided.groups for p in g.files}
print(json.dumps({"find_cpu_s": round(t1 - t0, 2), "keep_cpu_s": round(t2 - t1, 2),
                  "groups": [len(g.files) for g in decided.groups],
                  "components": [len(g.files) for g in found.groups],
                  "keepers": [os.path.basename(d.keep[0]) for d in decided.decisions],
                  "in_no_group": sorted(os.path.basename(p) for p in files - grouped),
                  "keeper_checks": asked[0], "matches": int(len(found.matches))}))
"""


def run(folder: Path, src: Path) -> dict:
    """One case in a fresh process with ``src`` first on the path; its CPU seconds (with its children's) too."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = dict(os.environ, PYTHONPATH=str(src))
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(CASE), str(folder)], capture_output=True, text=True,
                          env=env, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_cpu_s"] = round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, required=True, help="where the folders are made (kept between runs)")
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the imagetwins source tree to measure")
    ap.add_argument("--photo", default="bsds_105053.jpg", help="the photos-public photo the folders are made from")
    ap.add_argument("--crowd", type=int, default=200, help="copies in the crowd (0: no crowd)")
    ap.add_argument("--cases", default="repro,crowd")
    args = ap.parse_args()
    need_datasets("photos-public/images")
    photo = PHOTOS / args.photo
    cases = args.cases.split(",")
    if "repro" in cases:
        folder = args.workdir / f"repro-{photo.stem}"
        if not folder.exists():
            make_repro(photo, folder)
        print("repro", json.dumps(run(folder, args.src)))
    if "crowd" in cases and args.crowd:
        folder = args.workdir / f"crowd{args.crowd}-{photo.stem}"
        if not folder.exists():
            make_crowd(photo, folder, args.crowd)
        print(f"crowd {args.crowd}", json.dumps(run(folder, args.src)))


if __name__ == "__main__":
    main()
