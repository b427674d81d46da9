"""What ``tune`` recommends for ``copies`` on a shop-like labelled sample with re-shots among the unique photos.

    python benchmarks/bench_tune_groups.py              # about 30 CPU s; writes the BENCHMARKS.md section
    python benchmarks/bench_tune_groups.py --no-write   # print only

The sample (built in a temporary folder, fixed seed): the first ``--originals`` photos-public photos, each with
``--copies`` copies made by ``imagetwins.edits`` (crops, captions, keystones, screenshots, backgrounds, rotations,
combinations ...) in one ground-truth group; and holidays-half re-shot pairs (two framings of one scene, a zoomed
second shot, a shot with the camera on its side), every photo unique in the ground truth. Each threshold is scored
two ways from one search at the loosest threshold: as ``tune`` scores it (the groups ``find`` makes there, after the
verdict rule: a pair kept as a re-shot is no match at any threshold) and as it scored before (the pairs matched
directly, by confidence alone). CPU: user+sys of this process.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets, write_section  # noqa: E402

from imagetwins import edits  # noqa: E402
from imagetwins.copies import scored_candidates  # noqa: E402
from imagetwins.evaluation import SweepPoint, SweepResult, load_ground_truth, sweep  # noqa: E402
from imagetwins.finder import find_duplicate_groups  # noqa: E402
from imagetwins.session import open_session  # noqa: E402

FAMILIES = ["crop", "jpeg", "text_overlay", "keystone", "screenshot", "meme_text", "on_background", "rotate_any",
            "combo", "crop_small", "stickers", "blur_noise"]
RESHOTS = [("122601.jpg", "122602.jpg"), ("112600.jpg", "112602.jpg"), ("119604.jpg", "119605.jpg")]


def build(folder: Path, originals: int, copies: int) -> dict[str, list[str]]:
    rng = np.random.default_rng(7)
    truth: dict[str, list[str]] = {}
    for k, path in enumerate(sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[:originals]):
        img = Image.open(path).convert("RGB")
        names = [f"c{k}_orig.jpg"]
        img.save(folder / names[0], quality=92)
        for e in range(copies):
            family = FAMILIES[(k + e * 5) % len(FAMILIES)]
            names.append(f"c{k}_{e}_{family}.jpg")
            getattr(edits, family)(img, rng).convert("RGB").save(folder / names[-1], quality=88)
        truth.update({n: [m for m in names if m != n] for n in names})
    for pair in RESHOTS:
        for name in pair:
            shutil.copyfile(DATASETS / "holidays-half" / "images" / name, folder / f"h{name}")
            truth[f"h{name}"] = []
    (folder / "truth.json").write_text(json.dumps(truth))
    return truth


def by_pairs(folder: Path, truth: dict, swept: SweepResult, session) -> list[SweepPoint]:
    """The points as tune counted them before: the pairs matched directly at each threshold, by confidence alone."""
    from imagetwins.encoders import get_encoder
    from imagetwins.pairscores import for_method

    encoder = get_encoder("copies")
    enc = encoder.encode_files(sorted(folder.glob("*.jpg")), workers=2, warn=False)
    names = [Path(p).name for p in enc.paths]
    left, right, _, conf = scored_candidates(enc.encodings, 0.05, 2,
                                             pair_scores=for_method(encoder, session.pair_scores, enc.digests))
    positives = sum(len(v) for v in truth.values()) // 2
    out = []
    for t in sorted({float(p.threshold) for p in swept.points}, reverse=True):
        hit = conf >= t
        true = sum(1 for i, j in zip(left[hit].tolist(), right[hit].tolist()) if names[j] in truth[names[i]])
        got = int(hit.sum())
        p, r = (true / got if got else 1.0), true / positives
        out.append(SweepPoint("copies", t, p, r, 2 * p * r / (p + r) if p + r else 0.0, got, true))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--originals", type=int, default=10)
    ap.add_argument("--copies", type=int, default=7)
    ap.add_argument("--target", type=float, default=0.98)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    need_datasets("photos-public/images", "holidays-half/images")
    c0 = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        truth = build(folder, args.originals, args.copies)
        with open_session(folder, ["copies"], workers=2) as session:
            swept = sweep(load_ground_truth(folder / "truth.json"), folder, methods=["copies"],
                          target_precision=args.target, session=session)
            before = SweepResult(by_pairs(folder, truth, swept, session), swept.positives, swept.images,
                                 args.target, defaults=swept.defaults)
            rows = []
            for name, result in (("groups find makes, verdict kept (tune now)", swept),
                                 ("pairs matched directly, confidence alone (before)", before)):
                rec = result.recommendation
                at = {float(p.threshold): p for p in result.points}
                rows.append(f"| {name} | {rec.threshold:g} | {rec.precision:.3f} | {rec.recall:.3f} | "
                            f"{at[0.92].precision:.3f} / {at[0.92].recall:.3f} | {at[0.5].precision:.3f} / "
                            f"{at[0.5].recall:.3f} | {rec.retrieved - rec.correct} |")
            groups = find_duplicate_groups(folder, "copies", threshold=0.05, session=session).groups
            grouped = sum(1 for g in groups if any(Path(f).name.startswith("h") for f in g.files))
    cpu = time.process_time() - c0
    table = (f"{len(truth)} images: {args.originals} photos-public photos with {args.copies} everyday-edit copies each "
             f"(one ground-truth group each), {len(RESHOTS)} pairs of holidays-half re-shots (each photo unique); "
             f"target precision {args.target}; {cpu:.0f} CPU s of this process.\n\n"
             "| scored on | recommended | precision | recall | at 0.92 (P / R) | at 0.5 (P / R) | false pairs counted "
             "at the recommendation |\n|---|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows) +
             f"\n\n`find -t 0.05` (the loosest tune tries) puts a re-shot in {grouped} groups. "
             "`python benchmarks/bench_tune_groups.py` (tests/test_pair_verdicts.py checks the same on 6 x 6).")
    print(table)
    if not args.no_write:
        write_section("tune-groups", "tune scores the groups find makes (copies, re-shots among the photos)", table)


if __name__ == "__main__":
    main()
