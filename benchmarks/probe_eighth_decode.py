"""Issue #25: what decoding 2,048-2,559 px JPEGs at 1/8 for ``copies`` (``Stage.eighth_long_side`` 256, as ``phash``
decodes them, not at 1/4) would do to detection, on photos of those sizes (a FEATURES_VERSION change, not made).

    IMAGETWINS_DATASETS=... nice -n 10 python benchmarks/probe_eighth_decode.py [--workdir /tmp/eighth]
        [--library /tmp/imagetwins-home/library-300-5-5] [--library-originals 40]

``benchmarks/quality.py`` can hardly tell: of the 2,101 JPEGs of its ``--families`` sets one is of those sizes (its
camera-photos are scaled to 1,024 px first; one on_background copy grew to 2,180 px); ``--set DIR`` (a folder with a
``ground_truth.json``, such as its ``families-v2-20/fam-camera-photos``) runs such a set here too. Here the originals
are photos of the changed sizes: every camera-photos photo whose shape allows it (short side >= 0.6 of the long one),
scaled (never up) to a long side drawn in 2,048-2,559 px, plus the first ``--library-originals`` JPEGs of those sizes
of ``bench_home.py``'s library. Two sets are made of them with ``imagetwins.edits``: every family of issue 24
(``FAMILIES``) of each original, and 8 of the classic edits (``EDITS``) of each. Each set is encoded and searched with
the ``copies`` encoder twice, one decode rule after the other (``eighth_long_side`` 0: the 1/4 decode of today;
``EIGHTH``: the 1/8 one), and the pairs the search calls copies at the default are compared with the ground truth
(every pair of one group true, every other false); also the best recall at >= 99.5 % precision (the threshold swept
over the pairs' confidences). With ``--library``, the library's JPEGs (unique contents: every pair false) are searched
the same two ways. Writes the sets and each search's pair confidences (WORKDIR/SET-EIGHTH.json), nothing else.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets  # noqa: E402

from imagetwins import verify  # noqa: E402
from imagetwins.edits import EDITS, FAMILIES, edit_of, make_transformed_set  # noqa: E402
from imagetwins.encoders.copies import CopiesEncoder  # noqa: E402
from imagetwins.encoding import encode_files  # noqa: E402
from imagetwins.io import open_image  # noqa: E402

#: the long side a 1/8 decode may keep (2,048 / 8): photos of 2,048 px and more decode at 1/8 as for phash
EIGHTH = 256
RULES = {"1/4 (today)": 0, "1/8": EIGHTH}


def changed(size: tuple[int, int]) -> bool:
    """Whether a JPEG of this stored size decodes otherwise for ``copies`` with ``EIGHTH`` (1/8 instead of 1/4)."""
    long, short = max(size), min(size)
    return long // EIGHTH >= 8 and long // verify.FEATURE_SIDE < 8 and short // 192 >= 8


def originals(work: Path, library: Path | None, from_library: int) -> list[Path]:
    out = work / "originals"
    if not out.is_dir():
        out.mkdir(parents=True)
        rng = np.random.default_rng(6)
        for p in sorted((DATASETS / "camera-photos" / "images").glob("*.jpg")):
            img = open_image(p)
            long, short = max(img.size), min(img.size)
            if long < 2048 or short < 0.6 * long:
                continue
            side = min(long, int(rng.integers(2048, 2560)))
            if side < long:
                img = img.resize((round(img.width * side / long), round(img.height * side / long)),
                                 Image.Resampling.LANCZOS)
            if not changed(img.size):
                continue
            img.save(out / f"camera-{p.stem}.jpg", quality=92)
        if library is not None:
            taken = 0
            for p in sorted(library.glob("*.jpg")):
                if taken < from_library and changed(Image.open(p).size):
                    img = open_image(p)
                    img.save(out / f"library-{p.stem}.jpg", quality=92)
                    taken += 1
    return sorted(out.glob("*.jpg"))


def edited_set(work: Path, name: str, photos: list[Path], table: dict, per_original: int | None, seed: int):
    out = work / name
    if not (out / "ground_truth.json").exists():
        make_transformed_set(photos, out, n_originals=len(photos), seed=seed, table=table,
                             edits_per_original=per_original, truth_file=work / f"{name}.json")
        (out / "ground_truth.json").write_text((work / f"{name}.json").read_text())
    truth = json.loads((out / "ground_truth.json").read_text())
    return sorted(out.glob("*.jpg")), truth


def confidences(paths: list[Path], eighth: int, workers: int) -> tuple[dict, float]:
    """{(name, name): confidence} of every pair the search returns at a low threshold; and the CPU s it took."""
    enc = CopiesEncoder(threads=1)
    enc.eighth_long_side = eighth
    t = time.process_time()
    got = encode_files([str(p) for p in paths], [enc], workers=workers, warn=False)
    rows = got.by_method[enc.name]
    pairs = enc.pairs(rows, 0.05, workers, paths=got.paths)
    names = [Path(p).name for p in got.paths]
    out = {}
    for a, b, s in zip(pairs.left, pairs.right, pairs.score):
        key = tuple(sorted((names[a], names[b])))
        out[key] = max(out.get(key, 0.0), float(s))
    return out, time.process_time() - t


def report(name: str, paths: list[Path], truth: dict | None, workers: int, dump: Path | None = None) -> None:
    true = set()
    if truth is not None:
        for a, dups in truth.items():
            for b in dups:
                true.add(tuple(sorted((a, b))))
    n_changed = sum(changed(Image.open(p).size) for p in paths)
    print(f"\n{name}: {len(paths)} files, {n_changed} of them decoded at 1/8 with EIGHTH (1/4 today); "
          f"{len(true)} true pairs", flush=True)
    default = verify.DEFAULT_CONFIDENCE
    for rule, eighth in RULES.items():
        scores, cpu = confidences(paths, eighth, workers)
        found = {k for k, s in scores.items() if s >= default}
        tp, fp = len(found & true), len(found - true)
        by_family: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for a, b in true:
            ea, eb = edit_of(a), edit_of(b)
            if ea is None or eb is None:  # an original and its copy
                fam = eb if ea is None else ea
                by_family[fam][1] += 1
                by_family[fam][0] += (a, b) in found
            else:
                by_family["(copy-copy)"][1] += 1
                by_family["(copy-copy)"][0] += (a, b) in found
        # best recall at >= 99.5 % precision over the thresholds the pairs' confidences give
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        best, hits = 0.0, 0
        for k, (key, _s) in enumerate(ranked, 1):
            hits += key in true
            if true and hits / k >= 0.995:
                best = max(best, hits / len(true))
        line = (f"  {rule}: at the default {default}: {tp} of {len(true)} true pairs "
                f"({tp / max(len(true), 1):.3f}), {fp} false; best recall at >= 99.5 % precision {best:.3f}; "
                f"{len(scores)} pairs scored; {cpu:.1f} CPU s (this process)")
        print(line, flush=True)
        if truth is not None:
            print("    " + ", ".join(f"{f} {v[0]}/{v[1]}" for f, v in sorted(by_family.items())), flush=True)
        if fp:
            print("    false: " + ", ".join(f"{a}~{b} {scores[(a, b)]:.3f}" for a, b in sorted(found - true)))
        if dump is not None:
            (dump / f"{name.split()[0]}-{eighth}.json").write_text(json.dumps(
                [[a, b, s] for (a, b), s in sorted(scores.items())]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/eighth"))
    ap.add_argument("--library", type=Path, default=None)
    ap.add_argument("--library-originals", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--set", type=Path, action="append", default=[], help="also a folder with its ground_truth.json")
    a = ap.parse_args()
    need_datasets("camera-photos/images")
    a.workdir.mkdir(parents=True, exist_ok=True)
    photos = originals(a.workdir, a.library, a.library_originals)
    print(f"{len(photos)} originals of 2,048-2,559 px ({sum(p.name.startswith('camera-') for p in photos)} "
          f"camera-photos, the rest library JPEGs)", flush=True)
    fam, fam_truth = edited_set(a.workdir, "families", photos, FAMILIES, None, 61)
    report("families (issue 24)", fam, fam_truth, a.workers, a.workdir)
    classic, classic_truth = edited_set(a.workdir, "classic", photos, EDITS, 8, 62)
    report("classic edits (8 of EDITS an original)", classic, classic_truth, a.workers, a.workdir)
    for folder in a.set:
        report(folder.name, sorted(folder.glob("*.jpg")), json.loads((folder / "ground_truth.json").read_text()),
               a.workers, a.workdir)
    if a.library is not None:
        report("the home library's JPEGs (unique: every pair false)", sorted(a.library.glob("*.jpg")), None,
               a.workers)


if __name__ == "__main__":
    main()
