"""Noise is no finer detail: the detail rule's noise pass (``verify.NOISE_SLOPE``).

    python benchmarks/probe_added_noise.py              # about 60 CPU s; writes the BENCHMARKS.md section
    python benchmarks/probe_added_noise.py --no-write   # print only

The detail rule (``verify.DETAIL_CAP``) calls a picture inside the other's frame that holds detail past the other
file's resolution "not made from it". A crop blown up and then given blur + noise (``edits.blur_noise``, an everyday
edit) holds such "detail": the noise, white, its power flat across the top bands, where a photo's finer detail falls
(a lens, the sensor's own filter, JPEG). The measure: the slope of the inner picture's stored log10 power spectrum
against log10 frequency from ``DETAIL_ABOVE[0]`` times the other file's Nyquist frequency up to ``DETAIL_TOP``
(``verify._noise_past``). Pairs, as the copies method decodes the files (``probe_inner_detail.features``):

- re-shots: every holidays-half same-scene pair the check aligns one inside the other and the detail rule caps,
  groups at even positions TUNING, odd ones held out (the split of ``bench_reshots.py``);
- crops blown up then blurred + noised: each photo of ``probe_inner_detail.crop_photos`` cropped to 45-80 % of each
  side, blown up back to its size (bilinear, bicubic or Lanczos), given ``edits.blur_noise`` and saved at JPEG
  quality 70-95, twice a photo, checked against the original saved at quality 95: TUNING the FIT photos-public photos
  and even holidays groups (seed 7), held out odd holidays groups, ukbench-600 75-94 and imagededup-testdata (seed
  17; nothing was tuned on them).

``NOISE_SLOPE`` was chosen on the tuning rows; each row is measured without the pass (``NOISE_SLOPE`` = inf: the
rule as before) and with it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets, write_section  # noqa: E402
from probe_inner_detail import crop_photos, enlarged_crop, features, jpeg, reshot_pairs, spread_of  # noqa: E402

from imagetwins import edits, verify  # noqa: E402
from imagetwins.io import open_image  # noqa: E402

BINS_FREQ = (np.arange(verify.SPECTRUM_BINS) + 0.5) / verify.SPECTRUM_BINS * 0.5


def slope(inner: verify.ImageFeatures, scale: float) -> float | None:
    """The slope ``verify._noise_past`` compares with NOISE_SLOPE (None: too few bins)."""
    cutoff = 0.5 * (inner.native_side / inner.spectrum_side) / scale
    top = (BINS_FREQ >= verify.DETAIL_ABOVE[0] * cutoff) & (BINS_FREQ <= verify.DETAIL_TOP)
    if top.sum() < verify.NOISE_MIN_BINS:
        return None
    return float(np.polyfit(np.log10(BINS_FREQ[top]), inner.spectrum[top].astype(np.float64), 1)[0])


def row(kind: str, name: str, fa: verify.ImageFeatures, fb: verify.ImageFeatures) -> dict:
    """The pair checked without the noise pass and with it."""
    saved = verify.NOISE_SLOPE
    try:
        verify.NOISE_SLOPE = float("inf")
        before = verify.verify_pair(fa, fb)
    finally:
        verify.NOISE_SLOPE = saved
    after = verify.verify_pair(fa, fb)
    capped = before.not_one_capture == "detail"
    return {"kind": kind, "pair": name, "capped": capped, "before": before.confidence, "after": after.confidence,
            "after_rule": after.not_one_capture,
            "slope": slope((fa, fb)[before.inner], before.inner_scale) if capped else None}


def reshots() -> list[dict]:
    return [row(f"re-shot ({split})", name, fa, fb) for split, name, fa, fb in reshot_pairs()]


def noised_crops(held_out: bool) -> list[dict]:
    rng = np.random.default_rng(17 if held_out else 7)
    out = []
    for p in crop_photos(held_out):
        img = open_image(p)
        fo = features(jpeg(img, 95))
        for _ in range(2):
            f, up = enlarged_crop(img, rng)
            q = int(rng.integers(70, 96))
            fc = features(jpeg(edits.blur_noise(up, rng), q))
            out.append(row(f"crop blown up, blur + noise ({'held-out' if held_out else 'tuning'})",
                           f"{p.name} x{1 / f:.2f} q{q}", fo, fc))
    return out


def own_pixels() -> list[str]:
    """How often a photo at its own pixels is as flat as noise: the slope of its whole spectrum past 0.2, 0.25, 0.3
    and 0.35 cycles a pixel (as past the other file's resolution at scale 2.5-1.4), the first 80 photos of each
    source; one table line per source."""
    freq = BINS_FREQ
    out = []
    for source in ("photos-public", "holidays-half", "ukbench-600"):
        slopes = []
        for p in sorted((DATASETS / source / "images").glob("*.jpg"))[:80]:
            power = features(p.read_bytes()).spectrum.astype(np.float64)
            for cutoff in (0.2, 0.25, 0.3, 0.35):
                top = (freq >= verify.DETAIL_ABOVE[0] * cutoff) & (freq <= verify.DETAIL_TOP)
                slopes.append(float(np.polyfit(np.log10(freq[top]), power[top], 1)[0]))
        s = np.array(slopes)
        out.append(f"| {source}, 80 photos at their own pixels x 4 frequencies | {len(s)} | - | "
                   f"{spread_of(list(s))} | {int((s > verify.NOISE_SLOPE).sum())} (over the slope) | - |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-write", action="store_true", help="print the section only")
    no_write = ap.parse_args().no_write
    need_datasets(*(f"{d}/images" for d in ("holidays-half", "ukbench-600", "photos-public")),
                  "imagededup-testdata/base_images")
    c0 = time.process_time()
    rows = [*reshots(), *noised_crops(False), *noised_crops(True)]
    cpu = time.process_time() - c0
    t = verify.DEFAULT_CONFIDENCE
    lines = [f"Measured {time.strftime('%Y-%m-%d')}, 2 cores shared with other work. Command: "
             "`python benchmarks/probe_added_noise.py` (its docstring says what is measured). TUNING rows chose "
             f"`verify.NOISE_SLOPE` = {verify.NOISE_SLOPE:g} (at least {verify.NOISE_MIN_BINS} bins); held-out rows "
             "printed as measured. Slope: of the inner picture's log10 power against log10 frequency past the other "
             "file's resolution (white noise 0; a photo's detail falls).", "",
             "| pairs | all | capped by the detail rule before | their slope min / median / max | passed by the "
             f"noise pass | called copies (>= {t:g}) before -> after |",
             "| --- | ---: | ---: | --- | ---: | ---: |"]
    for kind in dict.fromkeys(r["kind"] for r in rows):
        rs = [r for r in rows if r["kind"] == kind]
        capped = [r for r in rs if r["capped"]]
        passed = [r for r in capped if r["after_rule"] != "detail"]
        lines.append(f"| {kind} | {len(rs)} | {len(capped)} | "
                     f"{spread_of([r['slope'] for r in capped if r['slope'] is not None])} | {len(passed)} | "
                     f"{sum(r['before'] >= t for r in rs)} -> {sum(r['after'] >= t for r in rs)} |")
    lines += own_pixels()
    steep = sorted((r for r in rows if r["kind"].startswith("re-shot") and r["slope"] is not None),
                   key=lambda r: -r["slope"])[:3]
    lines += ["", "Capped re-shots nearest the pass (slope): " + "; ".join(
        f"{r['pair']} ({r['kind']}): {r['slope']:.2f}" for r in steep) + ".",
        "", "Crops still capped (slope; a low JPEG quality takes the noise back out): " + "; ".join(
        f"{r['pair']} ({r['kind'].split('(')[1][:-1]}): " + ("-" if r["slope"] is None else f"{r['slope']:.2f}")
        for r in rows if r["kind"].startswith("crop") and r["after_rule"] == "detail") + ".",
        "", f"CPU (user+sys): {cpu:.0f} s."]
    print("\n".join(lines))
    if not no_write:
        write_section("added-noise", "Noise is no finer detail: the detail rule's noise pass (measured on tuning data)",
                      "\n".join(lines))


if __name__ == "__main__":
    main()
