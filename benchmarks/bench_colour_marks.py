"""The mark ``recoloured`` on held-out photos: which copies carry it, and what it costs.

    python benchmarks/bench_colour_marks.py            # ~10 CPU minutes on 2 cores

Held-out sources only (nothing of the rule was chosen on them): ukbench-600 groups 75-149 (view 0), camera-photos
(scaled to 1024 px) and imagededup-testdata's base images. Each original gets the colour variants of the brief (hue
turned 85 and 170 degrees on the whole picture, and on an ellipse over the middle 60 % of each side: 28 % of the
picture, a product's area) and copies that keep their colours or take them away (a JPEG re-encode at quality 60, a
10 % crop, grey, sepia) plus one copy of each everyday edit family (``imagetwins.edits.FAMILIES``, colour shift
apart). Every copy is verified against its original (``copies.verify_records``, both ways round: the mark must be the
same), and the variants are searched as ``find`` searches them (``copies.scored_candidates``: hash-sure pairs get
their marks from the colour look) with and without the marks' look (the CPU it adds).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets  # noqa: E402

from imagetwins import copies, edits, verify  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402
from imagetwins.io import open_image  # noqa: E402
from imagetwins.scores import Mark  # noqa: E402

VARIANTS = ("hue85", "hue170", "area85", "area170")
PLAIN = ("q60", "crop", "grey", "sepia")
FAMILIES = [f for f in edits.FAMILIES if f not in ("colour_shift", "combo")]


def hue_turned(img: Image.Image, degrees: float, area: bool = False) -> Image.Image:
    hsv = np.asarray(img.convert("HSV"), dtype=np.float32)
    hsv[..., 0] = (hsv[..., 0] + degrees / 360 * 256) % 256
    out = np.asarray(Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB"))
    if area:
        w, h = img.size
        mask = Image.new("L", img.size, 0)
        ImageDraw.Draw(mask).ellipse([w * 0.2, h * 0.2, w * 0.8, h * 0.8], fill=255)
        out = np.where((np.asarray(mask) > 0)[..., None], out, np.asarray(img))
    return Image.fromarray(out.astype(np.uint8))


def edited(img: Image.Image, edit: str, k: int) -> Image.Image:
    if edit.startswith("hue") or edit.startswith("area"):
        return hue_turned(img, float(edit.removeprefix("hue").removeprefix("area")), edit.startswith("area"))
    if edit == "crop":
        w, h = img.size
        return img.crop((w // 10, h // 10, w - w // 10, h - h // 10))
    if edit == "grey":
        return img.convert("L").convert("RGB")
    if edit == "sepia":
        grey = np.asarray(img.convert("L"), dtype=np.float32)[..., None]
        return Image.fromarray(np.clip(grey * np.array([1.07, 0.74, 0.43]) + np.array([20, 10, 0]), 0, 255)
                               .astype(np.uint8))
    if edit == "q60":
        return img
    return edits.FAMILIES[edit](img, np.random.default_rng([k, 24])).convert("RGB")


def originals(n_uk: int, n_cam: int, n_dedup: int) -> list[Path]:
    uk = [DATASETS / "ukbench-600" / "images" / f"ukbench{g * 4:05d}.jpg" for g in range(75, 150)][:n_uk]
    cam = sorted((DATASETS / "camera-photos" / "images").glob("*.jpg"))[:n_cam]
    dedup = sorted((DATASETS / "imagededup-testdata" / "base_images").glob("*.jpg"))[:n_dedup]
    return uk + cam + dedup


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="/tmp/imagetwins-colour-marks")
    ap.add_argument("--uk", type=int, default=25)
    ap.add_argument("--cam", type=int, default=10)
    ap.add_argument("--dedup", type=int, default=5)
    args = ap.parse_args()
    need_datasets("ukbench-600/images", "camera-photos/images", "imagededup-testdata/base_images")
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    names: list[tuple[str, str]] = []  # (original stem, edit)
    for k, path in enumerate(originals(args.uk, args.cam, args.dedup)):
        img = open_image(path)
        if max(img.size) > 1024:
            img.thumbnail((1024, 1024), Image.Resampling.LANCZOS)
        img.save(work / f"o{k}.jpg", quality=95)
        for edit in VARIANTS + PLAIN + tuple(FAMILIES):
            edited(img, edit, k).save(work / f"o{k}_{edit}.jpg", quality=60 if edit == "q60" else 92)
            names.append((f"o{k}", edit))
    enc = get_encoder(copies.COPIES_METHOD).encode_files(sorted(work.glob("o*.jpg")), workers=2, warn=False)
    recs = {Path(p).stem: r for p, r in zip(enc.paths, enc.encodings)}
    found, marked, asymmetric = Counter(), Counter(), 0
    turned: dict[str, list[float]] = {}
    for base, edit in names:
        v = copies.verify_records(recs[base], recs[f"{base}_{edit}"])
        w = copies.verify_records(recs[f"{base}_{edit}"], recs[base])
        asymmetric += (v.recoloured != w.recoloured) or (v.turned != w.turned)
        turned.setdefault(edit, []).append(v.turned)
        if v.confidence >= verify.DEFAULT_CONFIDENCE:
            found[edit] += 1
            marked[edit] += v.recoloured
    print(f"{len(names) // len(VARIANTS + PLAIN + tuple(FAMILIES))} held-out originals; pairs whose mark differs "
          f"either way round: {asymmetric}")
    print("| copy | found at the default | of them marked recoloured | turned share (median, max) |")
    print("|---|---|---|---|")
    n = len(turned["q60"])
    for edit in VARIANTS + PLAIN + tuple(FAMILIES):
        t = np.array(turned[edit])
        print(f"| {edit} | {found[edit]}/{n} | {marked[edit]}/{found[edit]} | {np.median(t):.3f}, {t.max():.3f} |")
    # the search as find makes it: hash-sure pairs' marks from the colour look, and what that look costs
    variant_rows = [recs[s] for s in sorted(recs) if "_" not in s or s.split("_", 1)[1] in VARIANTS + PLAIN]
    c0 = time.process_time()
    left, right, dist, conf, marks = copies.scored_candidates(variant_rows, workers=2, with_marks=True)
    with_look = time.process_time() - c0
    real = copies._sure_marks
    copies._sure_marks = lambda fa, fb, left, right, *a: np.zeros(len(left), np.uint8)
    try:
        c0 = time.process_time()
        copies.scored_candidates(variant_rows, workers=2, with_marks=True)
        without = time.process_time() - c0
    finally:
        copies._sure_marks = real
    sure = dist <= copies.HASH_SURE
    print(f"search of {len(variant_rows)} images (originals, colour variants, plain copies): {int(sure.sum())} "
          f"hash-sure pairs, {int(Mark.RECOLOURED.on(marks[sure]).sum())} of them marked; CPU {with_look:.2f} s with "
          f"the hash-sure pairs' colour look, {without:.2f} s without (this process; verification threads included)")


if __name__ == "__main__":
    main()
