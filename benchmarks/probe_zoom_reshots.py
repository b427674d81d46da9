"""Zoomed re-shots against crops: two signals measured, neither adopted (issue #24, the re-shots still called copies).

    python benchmarks/probe_zoom_reshots.py              # about 60 CPU s; writes the BENCHMARKS.md section
    python benchmarks/probe_zoom_reshots.py --no-write   # print only

After the frame rules of ``imagetwins.verify`` the holidays-half re-shots still called copies are zoomed re-shots:
one frame lies inside the other, as a crop's does. Two signals that could tell "a crop of one capture" from "the
scene captured again, zoomed" were measured here, on TUNING data only:

- re-shots: holidays-half groups at EVEN positions in sorted group-id order (the split of ``bench_reshots.py``),
  every same-scene pair whose check reaches confidence 0.85;
- copies: the FIT split's photos (``photos-public``, the first 40 in name order) with crops (``crop``,
  ``crop_small``), a crop resized back to the original's size (``crop_fill``), random ``combo`` edits, and a
  copy-to-copy pair (a ``downscale`` copy against a ``crop_half`` copy of one photo); each copy saved as JPEG q90;
  pairs the check calls copies (>= 0.92).

Signals:

1. Radial lens distortion. A crop carries its capture's distortion unchanged, so the matched keypoints follow one
   affine map; two zoom levels have two distortions, each centred on its own frame. Measured: the share of the
   keypoint residual (after the affine fit) that two radial terms (about each frame's centre) explain, and the
   t statistic of the term about the second frame's centre.
2. Detail beyond the source. The picture that shows the shared part larger (pixel scale s >= 1.1) is, for an
   upscaled crop, no sharper than the other picture blown up; a zoomed capture has its own fine detail. Measured:
   the ratio of high-pass energy (grey minus Gaussian sigma 1) of the larger-showing picture to that of the other
   warped onto it (bicubic), over the eroded overlap, at full pixels.

Held-out groups (odd positions) and held-out families were not looked at: nothing was adopted.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, HOLIDAYS, need_datasets, write_section  # noqa: E402

from imagetwins import edits, verify  # noqa: E402

RESHOT_FLOOR = 0.85


def radial(v: verify.Verification, a: verify.ImageFeatures, b: verify.ImageFeatures) -> tuple[float, float] | None:
    """(share of the affine residual explained by two radial terms, t of the term about b's centre)."""
    if len(v.matches) < 15:
        return None
    pa = np.array([m[0] for m in v.matches], float)
    pb = np.array([m[1] for m in v.matches], float)
    ca, cb = np.array(a.size, float) / 2, np.array(b.size, float) / 2
    n = len(pa)
    design0 = np.column_stack([pa, np.ones(n)])
    coef = np.linalg.lstsq(design0, pb, rcond=None)[0]
    predicted = design0 @ coef
    y = (pb - predicted).reshape(-1)
    da = ((pa - ca) * (np.sum((pa - ca) ** 2, 1, keepdims=True) / (ca @ ca))) @ coef[:2]
    db = (predicted - cb) * (np.sum((predicted - cb) ** 2, 1, keepdims=True) / (cb @ cb))
    x = np.zeros((2 * n, 8))
    x[0::2, 0:2], x[0::2, 2], x[1::2, 3:5], x[1::2, 5] = pa, 1, pa, 1
    x[:, :6] /= np.abs(x[:, :6]).max(0) + 1e-9
    x[:, 6], x[:, 7] = da.reshape(-1), db.reshape(-1)
    both = y - x @ np.linalg.lstsq(x, y, rcond=1e-6)[0]
    gain = 1 - np.sqrt(np.mean(both ** 2)) / max(np.sqrt(np.mean(y ** 2)), 1e-9)
    xb = x[:, [0, 1, 2, 3, 4, 5, 7]]
    cb_ = np.linalg.lstsq(xb, y, rcond=1e-6)[0]
    rb = y - xb @ cb_
    cov = np.sum(rb ** 2) / max(len(y) - 7, 1) * np.linalg.pinv(xb.T @ xb)
    return float(gain), float(cb_[6] / np.sqrt(max(cov[6, 6], 1e-12)))


def detail(ia: Image.Image, ib: Image.Image, v: verify.Verification,
           a: verify.ImageFeatures, b: verify.ImageFeatures) -> tuple[float, float]:
    """(pixel scale s >= 1 of the larger-showing picture, its high-pass energy over the other's blown up)."""
    ga, gb = np.asarray(ia.convert("L"), np.float32), np.asarray(ib.convert("L"), np.float32)
    fa, fb = a.size[0] / ia.size[0], b.size[0] / ib.size[0]
    m = np.diag([1 / fb, 1 / fb, 1]) @ np.vstack([v.transform, [0, 0, 1]]).astype(np.float64) @ np.diag([fa, fa, 1])
    s = float(np.sqrt(abs(np.linalg.det(m[:2, :2]))))
    if s < 1:
        m, ga, gb, s = np.linalg.inv(m), gb, ga, 1 / s
    h, w = gb.shape
    warped = cv2.warpAffine(ga, m[:2], (w, h), flags=cv2.INTER_CUBIC)
    inside = cv2.warpAffine(np.ones_like(ga), m[:2], (w, h), flags=cv2.INTER_NEAREST) > 0
    inside = cv2.erode(inside.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    high = [(x - cv2.GaussianBlur(x, (0, 0), 1.0))[inside].std() for x in (gb, warped)]
    return s, float(high[0] / max(high[1], 1e-3))


def measure(ia: Image.Image, ib: Image.Image) -> dict | None:
    a, b = verify.extract(ia), verify.extract(ib)
    v = verify.verify_pair(a, b, keep_matches=True)
    if v.transform is None:
        return None
    r = radial(v, a, b)
    s, ratio = detail(ia, ib, v, a, b)
    return {"confidence": v.confidence, "gain": None if r is None else r[0], "t": None if r is None else r[1],
            "scale": s, "detail": ratio}


def reshots() -> list[tuple[str, dict]]:
    groups = json.loads((HOLIDAYS / "groundtruth_groups.json").read_text())
    out = []
    for k, g in enumerate(sorted(groups)):
        if k % 2:
            continue  # held out
        names = groups[g]
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                ia, ib = (Image.open(HOLIDAYS / "images" / n).convert("RGB") for n in (names[i], names[j]))
                r = measure(ia, ib)
                if r is not None and r["confidence"] >= RESHOT_FLOOR:
                    out.append((f"{names[i]}/{names[j]}", r))
    return out


def _jpeg(img: Image.Image) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=90)
    return Image.open(buf).convert("RGB")


def copies(n: int) -> dict[str, list[dict]]:
    rng = np.random.default_rng(1)
    out: dict[str, list[dict]] = {k: [] for k in ("crop", "crop_small", "crop_fill", "combo", "downscale vs crop_half")}
    for f in sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[:n]:
        img = Image.open(f).convert("RGB")
        cases = {"crop": (img, edits.crop(img, rng)), "crop_small": (img, edits.crop_small(img, rng)),
                 "crop_fill": (img, edits.crop_half(img, rng).resize(img.size, Image.Resampling.LANCZOS)),
                 "combo": (img, edits.combo(img, rng)),
                 "downscale vs crop_half": (edits.downscale(img, rng), edits.crop_half(img, rng))}
        for name, (x, y) in cases.items():
            r = measure(_jpeg(x), _jpeg(y))
            if r is not None and r["confidence"] >= verify.DEFAULT_CONFIDENCE:
                out[name].append(r)
    return out


def _span(values: list[float], fmt: str = "{:.2f}") -> str:
    if not values:
        return "-"
    q = np.percentile(values, [0, 50, 100])
    return " / ".join(fmt.format(x) for x in q)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=40)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    need_datasets("holidays-half/images", "photos-public/images")
    c0 = time.process_time()
    rs, cs = reshots(), copies(args.photos)
    cpu = time.process_time() - c0
    lines = [f"Measured {time.strftime('%Y-%m-%d')} on main + nothing adopted. Command: "
             "`python benchmarks/probe_zoom_reshots.py` (its docstring says what is measured). TUNING data only: "
             "holidays-half even groups (same-scene pairs checked at >= 0.85), FIT photos-public copies (first "
             f"{args.photos} photos, pairs called copies). Held-out groups and families not looked at.", "",
             "| pairs | n | radial terms: residual explained (min / median / max) | abs t about 2nd centre | "
             "pixel scale s | detail over the other blown up (pairs with s >= 1.1) |",
             "| --- | ---: | --- | --- | --- | --- |"]

    def row(label: str, rows: list[dict]) -> str:
        gains = [r["gain"] for r in rows if r["gain"] is not None]
        ts = [abs(r["t"]) for r in rows if r["t"] is not None]
        big = [r["detail"] for r in rows if r["scale"] >= 1.1]
        return (f"| {label} | {len(rows)} | {_span(gains, '{:.3f}')} | {_span(ts, '{:.1f}')} | "
                f"{_span([r['scale'] for r in rows])} | {_span(big)} ({len(big)}) |")

    lines.append(row("holidays-half tuning re-shots", [r for _, r in rs]))
    lines.append(row("  of them called copies (>= 0.92)", [r for _, r in rs if r["confidence"] >= 0.92]))
    lines += [row(f"photos-public copies: {k}", v) for k, v in cs.items()]
    lines += ["", "Re-shots one by one: " + ", ".join(
        f"{p} ({r['confidence']:.3f}, s {r['scale']:.2f}, detail {r['detail']:.2f}, t {abs(r['t'] or 0):.1f})"
        for p, r in rs) + ".", "",
        f"CPU (user+sys): {cpu:.0f} s. Reading: the radial terms explain no more of a re-shot's keypoint residual "
        "than of a copy's (keypoints at 320 px, about 1 px noise, are coarser than the distortion difference "
        "between two zoom levels): not a signal. The detail ratio separates an upscaled crop (about 1.0) from a "
        "zoomed re-shot (above 1.1), but a copy of a large original cropped next to a smaller copy of it has "
        "more detail still (3-11 here; any ratio at a milder downscale): a rule on it would call such copy pairs "
        "re-shots, and it needs full pixels in the check (the stored features hold a 160 px thumbnail). Not "
        "adopted."]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("zoom-reshots", "Zoomed re-shots against crops: signals measured, none adopted", text)


if __name__ == "__main__":
    main()
