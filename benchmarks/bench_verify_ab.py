"""CPU a check, two versions of ``imagetwins.verify`` in one process, pair by pair in turn (issue #25's budget).

    python benchmarks/bench_verify_ab.py --old /work/main/src/imagetwins/verify.py [--rounds 2]

The old version is the given ``verify.py`` loaded beside this checkout's (``imagetwins.verify``); each pair is checked
by both (``confidence_only``, as a search checks, with the pictures cut from a canvas as ``copies.verify_records``
tries them), the order alternating pair by pair, each check timed in CPU seconds of this thread. Pairs: every candidate
pair the copies method proposes in holidays-half (``quality.py --families``' cache in ``--quality-workdir``) and the
fit negatives of ``probe_combo_fit.py`` (its encodings in ``--workdir``). Prints CPU ms a pair per side and set, and
how many confidences differ by more than 0.005. Writes nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import HOLIDAYS, need_datasets  # noqa: E402
from probe_combo_fit import encoded, negatives  # noqa: E402

from imagetwins import copies, verify  # noqa: E402


def load_old(path: str):
    spec = importlib.util.spec_from_file_location("imagetwins._verify_old", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclasses look their module up)
    spec.loader.exec_module(module)
    module._require_cv2()
    return module


def check(vp, sides_a, sides_b) -> float:
    """``copies.verify_records``' confidence with ``vp`` as the pair check (features read once before)."""
    (fa, aa), (fb, ab) = sides_a, sides_b
    best = vp(fa, fb, confidence_only=True).confidence
    for tries in (((aa, fb), (fa, ab)), ((aa, ab),)):
        if best >= verify.DEFAULT_CONFIDENCE:
            break
        for x, y in tries:
            if x is not None and y is not None:
                best = max(best, vp(x, y, confidence_only=True).confidence)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True, help="the other verify.py")
    ap.add_argument("--workdir", default="/tmp/combo-fit")
    ap.add_argument("--quality-workdir", default="/tmp/combo-q")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    need_datasets("holidays-half/images", "photos-public/images")
    old = load_old(args.old)
    verify._require_cv2()
    work, qwork = Path(args.workdir), Path(args.quality_workdir)
    hfiles = sorted((HOLIDAYS / "images").glob("*.jpg"))
    hrec = encoded(work, "holidays", hfiles, 2)
    z = np.load(qwork / "cache-holidays-half.npz")
    hpairs = sorted({(min(a, b), max(a, b)) for a, b in zip(z["left"].tolist(), z["right"].tolist())})
    fit = negatives(work, qwork, 2)
    sets = {"holidays-half candidate pairs": ([(hrec[i], hrec[j]) for i, j in hpairs],
                                              [f"holidays {hfiles[i].stem}/{hfiles[j].stem}" for i, j in hpairs]),
            "fit negatives (probe_combo_fit)": ([(a, b) for _, a, b, _ in fit], [n for n, *_ in fit])}
    for name, (pairs, names) in sets.items():
        sides = [(copies._sides(a), copies._sides(b)) for a, b in pairs]
        cpu = {"old": 0.0, "new": 0.0}
        conf = {"old": [], "new": []}
        for r in range(args.rounds):
            for k, (sa, sb) in enumerate(sides):
                order = ("old", "new") if (k + r) % 2 == 0 else ("new", "old")
                for side in order:
                    vp = old.verify_pair if side == "old" else verify.verify_pair
                    t = time.thread_time()
                    c = check(vp, sa, sb)
                    cpu[side] += time.thread_time() - t
                    if r == 0:
                        conf[side].append(c)
        n = len(sides) * args.rounds
        moved = int(np.sum(np.abs(np.array(conf["old"]) - np.array(conf["new"])) > 0.005))
        print(f"{name}: {len(sides)} pairs x {args.rounds}: old {1000 * cpu['old'] / n:.3f} CPU ms a pair, new "
              f"{1000 * cpu['new'] / n:.3f} ({100 * (cpu['new'] / cpu['old'] - 1):+.1f} %); confidences moved > 0.005: "
              f"{moved}")
        for k in np.flatnonzero(np.abs(np.array(conf["old"]) - np.array(conf["new"])) > 0.005):
            print(f"  {names[k]}: {conf['old'][k]:.3f} -> {conf['new'][k]:.3f}")


if __name__ == "__main__":
    main()
