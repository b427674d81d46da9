"""Look-alikes and re-shots that pass on pixels: two more signals measured, none adopted (issue #24).

    python benchmarks/probe_parallax_light.py              # about 3 CPU minutes; writes the BENCHMARKS.md section
    python benchmarks/probe_parallax_light.py --no-write   # print only

What ``copies`` still calls a copy without camera stamps: views of one ukbench object (flat objects zoomed or
shifted; ``quality.py --families``, rows "without EXIF") and holidays-half re-shots (``bench_reshots.py``). Two
signals that could say "another capture" where the check says "the same pixels", measured on FIT/TUNING data:

- look-alikes: every same-object pair of ukbench-600 groups 0-74 without EXIF (``quality.without_capture_stamp``;
  all 600 photos scanned as one folder) that the calibrated model gives >= 0.85 (before the frame and light rules
  of ``verify``, which cap some of them: "called copies" counts the check's own answer);
- re-shots: every same-scene pair of holidays-half groups at EVEN positions (the split of ``bench_reshots.py``; all
  422 photos as one folder) the same way;
- copies: every pair of one group of ``fam-photos-public`` (the families' FIT set, ``quality.py --families
  --family-originals 20``, built in ``--workdir``) that the check calls a copy (>= 0.92).

1. *Parallax left by a plane*: the check's inlier matches (ORB at 320 px), a homography fitted to them (RANSAC,
   the check's 4 px), and how much of each match's residual its 6 nearest matches' residuals predict (1 - error of
   the neighbours' mean over the residual, both squared and summed; the larger of the two directions). A copy's
   residual is keypoint noise (about -1/6: neighbours predict nothing); two views of a 3-D object, a lens at
   another zoom, leave a smooth field (towards 1). Also the mean residual (px).
2. *Light after a precise alignment*: the check's lighting residual (cell means against one brightness change)
   measured again after the alignment is refined densely (OpenCV's ECC, a homography, on the blurred 160 px
   thumbnails): if what a copy leaves is misalignment, a refined warp takes it to ~0 while a second capture keeps
   its own light.

3. *Keypoint repeatability*: the check's inliers over the keypoints of either image that fall inside the other
   once mapped (the fewer): a copy's corners are the same pixels' corners, a second capture (its own noise, exposure,
   blur) repeats fewer of them.

4. *Colour over the frame*: each image's cell chroma (Cb, Cr, from the 40 px colour thumbnail) fitted from the
   other's grey and chroma (one affine colour map, the robust refit of ``verify``'s lighting fit, both ways, the
   smaller): a copy's colour edit is one map for the whole picture; haze, a sky at another hour or another white
   balance over part of a scene is not.

Held-out pairs (ukbench groups 75-149, odd holidays groups) are reported only. Nothing was adopted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import quality  # noqa: E402
from _common import HOLIDAYS, need_datasets, write_section  # noqa: E402

from imagetwins import copies, verify  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402

NEIGHBOURS = 6


def model_confidence(v: verify.Verification) -> float:
    """The calibrated model's confidence, before the frame and light rules cap it."""
    return float(verify.confidence_from(v.measurements()[:verify.CALIBRATED]))


def checked(files: list[Path], workers: int) -> list[tuple[Path, Path, verify.Verification, tuple]]:
    """Every pair the copies method checks in ``files`` (one folder): (a, b, its check with the matches, the two
    features the check compared)."""
    enc = get_encoder(copies.COPIES_METHOD).for_workers(workers).encode_files(files, workers=workers, warn=False)
    recs = list(enc.encodings)
    checks: dict = {}
    copies.scored_candidates(recs, verify.DEFAULT_CONFIDENCE, workers, checks=checks)
    out = []
    for (i, j), v in checks.items():
        if v is None or v.transform is None:
            continue
        fa = recs[i].alt_features if v.cut_from_canvas[0] else recs[i].features
        fb = recs[j].alt_features if v.cut_from_canvas[1] else recs[j].features
        out.append((Path(enc.paths[i]), Path(enc.paths[j]), v, (fa, fb)))
    return out


def residual_structure(src: np.ndarray, dst: np.ndarray) -> tuple[float, float]:
    """(share of the homography residual the neighbours predict, mean residual px) of matches ``src`` -> ``dst``."""
    if len(src) < 12:
        return np.nan, np.nan
    h, mask = cv2.findHomography(src, dst, cv2.RANSAC, verify.RANSAC_PIXELS)
    if h is None:
        return np.nan, np.nan
    m = mask.ravel().astype(bool)
    s, d = src[m].astype(np.float64), dst[m].astype(np.float64)
    r = d - cv2.perspectiveTransform(s[None], h)[0]
    dd = ((s[:, None, :] - s[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(dd, np.inf)
    nn = np.argsort(dd, axis=1)[:, :min(NEIGHBOURS, len(s) - 1)]
    err = ((r - r[nn].mean(1)) ** 2).sum()
    return 1 - err / max(float((r ** 2).sum()), 1e-9), float(np.sqrt((r ** 2).sum(1)).mean())


def parallax(v: verify.Verification, fa, fb) -> tuple[float, float]:
    w = verify.verify_pair(fa, fb, keep_matches=True)
    if not w.matches:
        return np.nan, np.nan
    src = np.array([m[0] for m in w.matches], np.float32)
    dst = np.array([m[1] for m in w.matches], np.float32)
    (s1, r1), (s2, r2) = residual_structure(src, dst), residual_structure(dst, src)
    return float(np.nanmax([s1, s2])), float(np.nanmean([r1, r2]))


def refined_light(v: verify.Verification, a, b) -> tuple[float, float]:
    """(lighting residual on the affine alignment, the same after an ECC homography refinement) as ``verify._dense``
    measures it (the thumbnail showing the shared part larger warped onto the other)."""
    ta, tb = a.thumbnail, b.thumbnail
    sa, sb = ta.shape[1] / a.size[0], tb.shape[1] / b.size[0]
    m = v.transform.astype(np.float64).copy()
    m[:, :2] *= sb / sa
    m[:, 2] *= sb
    swap = abs(float(np.linalg.det(m[:, :2]))) > 1.0
    src, dst = (tb, ta) if swap else (ta, tb)
    if swap:
        m = cv2.invertAffineTransform(m)
    det = abs(float(np.linalg.det(m[:, :2])))
    fs = cv2.GaussianBlur(src.astype(np.float32), (0, 0), verify.BLUR_SIGMA / max(np.sqrt(det), 0.05))
    fd = cv2.GaussianBlur(dst.astype(np.float32), (0, 0), verify.BLUR_SIGMA)
    h0 = np.vstack([m, [0, 0, 1]])
    out = []
    for refine in (False, True):
        h3 = h0
        if refine:
            inside = cv2.warpPerspective(np.ones_like(fs), h0, fd.shape[::-1], flags=cv2.INTER_NEAREST) > 0
            try:
                _, back = cv2.findTransformECC(fd, fs, np.linalg.inv(h0).astype(np.float32), cv2.MOTION_HOMOGRAPHY,
                                               (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-4),
                                               inside.astype(np.uint8), 3)
                h3 = np.linalg.inv(back)
            except cv2.error:
                out.append(np.nan)
                continue
        warped = cv2.warpPerspective(fs, h3, fd.shape[::-1], flags=cv2.INTER_LINEAR, borderValue=0)
        inside = cv2.warpPerspective(np.ones_like(fs), h3, fd.shape[::-1], flags=cv2.INTER_NEAREST) > 0
        core = cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8), borderType=cv2.BORDER_CONSTANT,
                         borderValue=0) > 0
        ca, cb, cm = verify._cells(warped), verify._cells(fd), verify._cells(core).all(-1)
        out.append(verify._lighting_residual(ca.mean(-1)[cm], cb.mean(-1)[cm]) if cm.sum() >= 10 else np.nan)
    return out[0], out[1]


def repeatability(v: verify.Verification, a, b) -> float:
    """Inliers over the keypoints of ``a`` inside ``b``'s frame once mapped, or of ``b`` inside ``a``'s (the fewer)."""
    h = np.vstack([v.transform, [0.0, 0.0, 1.0]])
    inside = []
    for x, y, m in ((a, b, h), (b, a, np.linalg.inv(h))):
        p = cv2.perspectiveTransform(x.points[None].astype(np.float64), m)[0]
        inside.append(int(((p[:, 0] >= 0) & (p[:, 0] < y.size[0]) & (p[:, 1] >= 0) & (p[:, 1] < y.size[1])).sum()))
    return v.inliers / max(min(inside), 1)


def colour_residual(v: verify.Verification, a, b) -> float:
    """How far the cells' chroma is from one affine colour map of the other's grey and chroma (NaN for a grey
    picture), on the check's affine alignment as ``verify._dense`` warps it."""
    if a.colour is None or b.colour is None:
        return np.nan
    ta, tb = a.thumbnail, b.thumbnail
    sa, sb = ta.shape[1] / a.size[0], tb.shape[1] / b.size[0]
    m = v.transform.astype(np.float64).copy()
    m[:, :2] *= sb / sa
    m[:, 2] *= sb
    swap = abs(float(np.linalg.det(m[:, :2]))) > 1.0
    src, dst = (tb, ta) if swap else (ta, tb)
    if swap:
        m = cv2.invertAffineTransform(m)
    det = abs(float(np.linalg.det(m[:, :2])))
    fs = cv2.GaussianBlur(src.astype(np.float32), (0, 0), verify.BLUR_SIGMA / max(np.sqrt(det), 0.05))
    fd = cv2.GaussianBlur(dst.astype(np.float32), (0, 0), verify.BLUR_SIGMA)
    warped = cv2.warpAffine(fs, m, fd.shape[::-1], flags=cv2.INTER_LINEAR, borderValue=0)
    inside = cv2.warpAffine(np.ones_like(fs), m, fd.shape[::-1], flags=cv2.INTER_NEAREST, borderValue=0) > 0
    core = cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8), borderType=cv2.BORDER_CONSTANT,
                     borderValue=0) > 0
    cm = verify._cells(core).all(-1)
    if cm.sum() < 10:
        return np.nan
    grey = (verify._cells(warped).mean(-1)[cm], verify._cells(fd).mean(-1)[cm])
    colours = (b.colour, a.colour) if swap else (a.colour, b.colour)
    chroma = [c[cm] for c in verify._chroma_cells(*colours, src.shape, dst.shape, cm.shape, m)]
    out = []
    for x, y in ((0, 1), (1, 0)):
        if min(chroma[x].std(axis=0).max(), chroma[y].std(axis=0).max()) < 2:
            return np.nan  # no colour to fit
        design = np.column_stack([grey[x], chroma[x], np.ones_like(grey[x])]).astype(np.float64)
        out.append(float(verify._robust_residuals(np.stack([design, design]), chroma[y].T.astype(np.float64)).max()))
    return min(out)


def measure(rows) -> list[dict]:
    out = []
    for label, pa, pb, v, (fa, fb) in rows:
        st, res = parallax(v, fa, fb)
        l0, l1 = refined_light(v, fa, fb)
        out.append({"label": label, "a": pa.name, "b": pb.name, "conf": v.confidence, "structure": st,
                    "repeat": repeatability(v, fa, fb), "colour": colour_residual(v, fa, fb),
                    "residual_px": res, "light": v.lighting_residual, "light_affine": l0, "light_refined": l1})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="/tmp/imagetwins-heldout")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    need_datasets("holidays-half/images")
    c0 = time.process_time()
    work = Path(args.workdir)
    rows = []
    for pa, pb, v, f in checked(quality.ukbench_without_exif(work), args.workers):
        x, y = int(pa.stem[7:]), int(pb.stem[7:])
        if x // 4 == y // 4 and model_confidence(v) >= 0.85:
            rows.append(("look-alikes, fit" if x < 300 else "look-alikes, held-out", pa, pb, v, f))
    groups = json.loads((HOLIDAYS / "groundtruth_groups.json").read_text())
    split = {g: ("tuning" if k % 2 == 0 else "held-out") for k, g in enumerate(sorted(groups))}
    scene = {n: g for g, ns in groups.items() for n in ns}
    for pa, pb, v, f in checked(sorted((HOLIDAYS / "images").glob("*.jpg")), args.workers):
        if scene.get(pa.name) == scene.get(pb.name) and model_confidence(v) >= 0.85:
            rows.append((f"re-shots, {split[scene[pa.name]]}", pa, pb, v, f))
    fam = quality.build_families(work, 20)["fam-photos-public"]
    for pa, pb, v, f in checked(fam, args.workers):
        if pa.name[0] == pb.name[0] == "g" and pa.name[:5] == pb.name[:5] and v.confidence >= 0.92:
            rows.append(("copies, fit (fam-photos-public)", pa, pb, v, f))
    res = measure(rows)
    cpu = time.process_time() - c0

    def pct(xs, q=(1, 5, 50, 95, 99)):
        xs = np.array([x for x in xs if np.isfinite(x)])
        return " / ".join(f"{v:.2f}" for v in np.percentile(xs, q)) if len(xs) else "-"

    lines = [f"Measured {time.strftime('%Y-%m-%d')} on the reshots branch (with the hash-sure check and "
             "`verify.LIGHTING_CAP`), nothing adopted. Command: `python benchmarks/probe_parallax_light.py` (its "
             "docstring says what and how). FIT/TUNING rows chose nothing either; held-out rows reported only.", "",
             "| pairs | n (model >= 0.85) | called copies (>= 0.92) | 1. structure of the residual to a plane "
             "(1 / 5 / 50 / 95 / 99 %) | 1. mean residual px | 2. lighting residual, the check's | 2. after an ECC "
             "refinement | 3. keypoint repeatability | 4. colour residual |",
             "| --- | ---: | ---: | --- | --- | --- | --- | --- | --- |"]
    labels = ["copies, fit (fam-photos-public)", "look-alikes, fit", "re-shots, tuning", "look-alikes, held-out",
              "re-shots, held-out"]
    for lab in labels:
        sel = [r for r in res if r["label"] == lab]
        called = sum(r["conf"] >= verify.DEFAULT_CONFIDENCE for r in sel)
        lines.append(f"| {lab} | {len(sel)} | {called} | {pct(r['structure'] for r in sel)} | "
                     f"{pct(r['residual_px'] for r in sel)} | {pct(r['light'] for r in sel)} | "
                     f"{pct(r['light_refined'] for r in sel)} | {pct(r['repeat'] for r in sel)} | "
                     f"{pct(r['colour'] for r in sel)} |")
    lines += ["", "Called copies one by one (look-alikes and re-shots; structure, mean residual px, lighting residual "
              "the check's / after ECC, repeatability, colour residual): " + "; ".join(
                  f"{r['a']}/{r['b']} ({r['label']}, {r['conf']:.3f}: {r['structure']:.2f}, {r['residual_px']:.2f}, "
                  f"{r['light']:.3f} / {r['light_refined']:.3f}, {r['repeat']:.2f}, {r['colour']:.2f})"
                  for lab in labels[1:] for r in res if r["label"] == lab and r["conf"] >= verify.DEFAULT_CONFIDENCE)
              + ".", "", f"CPU (user+sys): {cpu:.0f} s in all (encode, check, the signals).", "",
              "Reading: (1) the residual to a plane is keypoint noise for all three kinds (structure below 0.1 but for "
              "a few copies; mean about 1 px at 320 px for copies, look-alikes and re-shots alike): the look-alikes "
              "still called copies are flat objects (no parallax to find) and the holidays re-shots distant scenes; "
              "whatever parallax there is lies under ORB's precision at 320 px. Not a signal. (2) A dense refinement "
              "of the alignment does not take copies' lighting residual down (median as before; its tail grows "
              "where ECC slides on overlays and canvases): what copies leave is not misalignment, so no sharper "
              "lighting measure comes from it. (3) Repeatability: the re-shots called copies repeat as few or as "
              "many corners as copies do (copies spread from under 0.1 to over 0.5: overlays, canvases, blur and "
              "noise cost corners too). (4) Colour: the copies' cell chroma, read from a 40 px thumbnail, is too noisy "
              "for a global colour map to say more than the re-shots' does (copies' median about 0.16, re-shots called "
              "copies below it and above). The check's own residual is what separates the look-alikes (fit "
              "0.06-0.21, median 0.12, against copies' median 0.05): `verify.LIGHTING_CAP` (section \"Another "
              "light\") caps it at the fit copies' 99.5th percentile."]
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_section("parallax-light", "Look-alikes and re-shots: parallax and a refined alignment (measured, none "
                      "adopted)", table)


if __name__ == "__main__":
    main()
