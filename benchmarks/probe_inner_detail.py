"""A picture inside the other that holds detail finer than the other file: the detail rule (``verify.DETAIL_CAP``).

    python benchmarks/probe_inner_detail.py              # about 60 CPU s; writes the BENCHMARKS.md section
    python benchmarks/probe_inner_detail.py --no-write   # print only

A *copy* is a file that can be made from the other (issue 24). Where one picture lies inside the other's frame, it
can be the other's crop only if it holds nothing finer than the other file's own pixels; a zoomed second shot of the
scene does (and so does a crop of a larger original beside a smaller copy of it: neither file can be made from the
other either). The check measures, as the copies method decodes the files (``verify.extract`` through the
reduced-scale decode), the inner picture's scale against the other file's pixels (``Verification.inner_scale``) and
how its grey spectrum goes on past the frequency the other file resolves (``Verification.inner_detail``: log10 of
the power times f^2 just above over well below, ``verify.DETAIL_ABOVE`` and ``DETAIL_BELOW``); ``DETAIL_CAP`` and
the bands were chosen here, on TUNING data only:

- re-shots: holidays-half same-scene pairs of groups at EVEN positions in sorted group-id order (the split of
  ``bench_reshots.py``) that the check aligns one inside the other (rows with a measured detail);
- copies blown up: the FIT split's photos (the 20 originals of fam-photos-public, photos-public) and one photo of
  each of the first 30 even holidays-half groups, each cropped to 45-80 % of each side, blown up back to its size
  (bilinear, bicubic or Lanczos, half of them sharpened: unsharp mask radius 1-3, 50-200 %) and saved at JPEG
  quality 70-95, checked against the original saved at quality 95. Such a crop can be made from the original: the
  rule must leave it a copy.

The held-out groups (odd positions) are printed as measured, not used to choose; so are crops blown up the same
way (another seed) from sources nothing was tuned on: one photo of each of the first 30 odd holidays-half groups,
view 1 of ukbench-600 groups 75-94 and the first 10 of imagededup-testdata's base images.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, HOLIDAYS, need_datasets, write_section  # noqa: E402

from imagetwins import verify  # noqa: E402
from imagetwins.hashing import DECODE_MIN_SIDE  # noqa: E402
from imagetwins.io import open_image  # noqa: E402

RESAMPLE = (Image.Resampling.BILINEAR, Image.Resampling.BICUBIC, Image.Resampling.LANCZOS)


def features(data: bytes) -> verify.ImageFeatures:
    """As the copies method extracts them: the reduced-scale decode, then the features."""
    return verify.extract(open_image(data, min_size=DECODE_MIN_SIDE, min_long_side=verify.FEATURE_SIDE))


def jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def row(kind: str, name: str, v: verify.Verification) -> dict:
    before = float(verify.confidence_from(replace(v, inner_detail=float("-inf")).measurements()))  # not the detail rule
    return {"kind": kind, "pair": name, "confidence": v.confidence, "before": before, "scale": v.inner_scale,
            "detail": v.inner_detail if np.isfinite(v.inner_detail) else None, "rule": v.not_one_capture}


def reshot_pairs():
    """Every holidays-half same-scene pair as (split: "tuning" for groups at even positions in sorted group-id
    order, else "held-out"; "a/b"; a's features; b's)."""
    groups = json.loads((HOLIDAYS / "groundtruth_groups.json").read_text())
    for k, g in enumerate(sorted(groups)):
        for a, b in itertools.combinations(groups[g], 2):
            fa, fb = (features((HOLIDAYS / "images" / n).read_bytes()) for n in (a, b))
            yield "tuning" if k % 2 == 0 else "held-out", f"{a}/{b}", fa, fb


def reshots() -> list[dict]:
    out = []
    for split, name, fa, fb in reshot_pairs():
        v = verify.verify_pair(fa, fb)
        if v.inner is not None:
            out.append(row(f"re-shot ({split})", name, v))
    return out


def crop_photos(held_out: bool = False) -> list[Path]:
    """The photos the blown-up crops are made of: FIT and tuning photos, or (``held_out``) sources and groups nothing
    was tuned on: holidays odd groups, ukbench 75-94, imagededup's."""
    groups = json.loads((HOLIDAYS / "groundtruth_groups.json").read_text())
    if held_out:
        photos = [HOLIDAYS / "images" / groups[g][0] for k, g in enumerate(sorted(groups)) if k % 2 == 1][:30]
        photos += [DATASETS / "ukbench-600" / "images" / f"ukbench{4 * g + 1:05d}.jpg" for g in range(75, 95)]
        photos += sorted((DATASETS / "imagededup-testdata" / "base_images").glob("*.jpg"))[:10]
    else:
        photos = sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[:20]  # FIT
        photos += [HOLIDAYS / "images" / groups[g][0] for k, g in enumerate(sorted(groups)) if k % 2 == 0][:30]
    return photos


def enlarged_crop(img: Image.Image, rng: np.random.Generator,
                  resample: Image.Resampling | None = None) -> tuple[float, Image.Image]:
    """``img`` cropped to a random 45-80 % of each side and blown up back to its size (``resample``, else one drawn):
    (the share kept, the picture)."""
    w, h = img.size
    f = rng.uniform(0.45, 0.8)
    cw, ch = int(w * f), int(h * f)
    x0, y0 = int(rng.integers(0, w - cw)), int(rng.integers(0, h - ch))
    if resample is None:
        resample = RESAMPLE[int(rng.integers(len(RESAMPLE)))]
    return f, img.crop((x0, y0, x0 + cw, y0 + ch)).resize((w, h), resample)


def blown_up_files(held_out: bool = False):
    """Each blown-up crop as (kind, name, the original's JPEG bytes, the crop's JPEG bytes): every photo of
    :func:`crop_photos` cropped to 45-80 % of each side, blown up back to its size with each resampling (half of them
    sharpened) and saved at JPEG quality 70-95, the original at quality 95 (seeds 5 and 6: the same crops on every
    run)."""
    rng = np.random.default_rng(6 if held_out else 5)
    split = " (held-out)" if held_out else ""
    for p in crop_photos(held_out):
        original = open_image(p)
        w, h = original.size
        original_bytes = jpeg(original, 95)
        for resample in RESAMPLE:
            f, up = enlarged_crop(original, rng, resample)
            sharp = rng.random() < 0.5
            if sharp:
                up = up.filter(ImageFilter.UnsharpMask(radius=float(rng.uniform(1, 3)),
                                                       percent=int(rng.integers(50, 200)), threshold=2))
            yield (f"crop blown up{split} ({resample.name.lower()}{', sharpened' if sharp else ''})",
                   f"{p.name} x{1 / f:.2f}", original_bytes, jpeg(up, int(rng.integers(70, 96))))


def blown_up(held_out: bool = False) -> list[dict]:
    out, features_of = [], {}
    for kind, name, original, crop in blown_up_files(held_out):
        if original not in features_of:  # (one original, three crops)
            features_of[original] = features(original)
        out.append(row(kind, name, verify.verify_pair(features_of[original], features(crop))))
    return out


def spread(rows: list[dict]) -> str:
    return spread_of([r["detail"] for r in rows if r["detail"] is not None])


def spread_of(values: list[float]) -> str:
    """min / median / max, two decimals ("-" for none)."""
    d = sorted(values)
    return f"{d[0]:.2f} / {np.median(d):.2f} / {d[-1]:.2f}" if d else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    need_datasets("holidays-half/images", "ukbench-600/images", "imagededup-testdata/base_images",
                  "photos-public/images")
    c0 = time.process_time()
    rows = reshots() + blown_up() + blown_up(held_out=True)
    cpu = time.process_time() - c0
    cap = verify.DETAIL_CAP
    lines = [f"Measured {time.strftime('%Y-%m-%d')}, 2 cores shared with other work. Command: "
             "`python benchmarks/probe_inner_detail.py` (its docstring says what is measured). TUNING data chose "
             f"`verify.DETAIL_CAP` = {cap:g} (holidays-half even groups, FIT photos-public photos and even holidays "
             f"photos cropped and blown up); held-out re-shots and held-out blown-up crops printed as measured. "
             f"Detail: log10 of the inner picture's spectral power times f^2 just past the frequency the other file "
             f"resolves ({verify.DETAIL_ABOVE[0]:g}-{verify.DETAIL_ABOVE[1]:g} of it) over well below it "
             f"({verify.DETAIL_BELOW[0]:g}-{verify.DETAIL_BELOW[1]:g}); measured where the inner picture spans at "
             f"least {verify.DETAIL_MIN_SCALE:g} of the other file's pixels.", "",
             "| pairs | aligned one inside the other | detail measured | detail min / median / max | at or over the "
             f"cap | called copies (>= {verify.DEFAULT_CONFIDENCE:g}) without the rule -> with it |",
             "| --- | ---: | ---: | --- | ---: | ---: |"]
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    for kind in kinds:
        rs = [r for r in rows if r["kind"] == kind]
        measured = [r for r in rs if r["detail"] is not None]
        over = [r for r in measured if r["detail"] >= cap]
        t = verify.DEFAULT_CONFIDENCE
        lines.append(f"| {kind} | {len(rs)} | {len(measured)} | {spread(rs)} | {len(over)} | "
                     f"{sum(r['before'] >= t for r in rs)} -> {sum(r['confidence'] >= t for r in rs)} |")
    blown = [r for r in rows if r["kind"].startswith("crop") and "held-out" not in r["kind"]]
    held = [r for r in rows if r["kind"].startswith("crop blown up (held-out)") and r["detail"] is not None]
    top = sorted((r for r in blown if r["detail"] is not None), key=lambda r: -r["detail"])[:3]
    lines += ["", "Re-shots one by one (pair: confidence without the rule -> with it, scale, detail): " + "; ".join(
        f"{r['kind'].split('(')[1][:-1]} {r['pair']}: {r['before']:.3f} -> {r['confidence']:.3f}, {r['scale']:.2f}, "
        + ("-" if r["detail"] is None else f"{r['detail']:.2f}")
        for r in rows if r["kind"].startswith("re-shot")) + ".",
        "", "Blown-up crops nearest the cap: " + "; ".join(
        f"{r['pair']} ({r['kind']}): {r['detail']:.2f}" for r in top) + ".",
        "", "Held-out blown-up crops nearest the cap: " + "; ".join(
        f"{r['pair']} ({r['kind']}): {r['detail']:.2f}" for r in sorted(held, key=lambda r: -r["detail"])[:3]) + ".",
        "", f"CPU (user+sys): {cpu:.0f} s."]
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_section("inner-detail", "A picture finer than the other file: the detail rule (measured on tuning data)",
                      table)


if __name__ == "__main__":
    main()
