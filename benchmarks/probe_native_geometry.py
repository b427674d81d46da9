"""Re-shots called copies, looked at in the files' own pixels: three signals measured, none adopted (issue #24).

    python benchmarks/probe_native_geometry.py              # about 10 CPU minutes; writes the BENCHMARKS.md section
    python benchmarks/probe_native_geometry.py --no-write   # print only
    python benchmarks/probe_native_geometry.py --no-write --block-blur 2   # signal 2 on blurred views

The holidays-half re-shots still called copies are zoomed or tripod re-shots of distant scenes: one frame inside
the other, the same pixels at the check's 160 px and 320 px (sections "Zoomed re-shots against crops", "Re-shots
inside one frame", "Look-alikes and re-shots"). Three signals that could still say "another capture", measured on
the files decoded again at their own size (holidays-half: 400 x 300; photos-public copies: about 480 x 320):

1. *A second motion*: a copy is one plane map of its original (crop, scale, turn, keystone: a homography); two
   shots of a 3-D scene from two places are not (near things shift against far ones). The check's ratio-test
   matches (ORB at 320 px), a homography fitted to them (RANSAC, 3 px), then an affine fitted to the matches it
   leaves (RANSAC, 2 px): how many fall into that second motion.
2. *Sub-pixel geometry at the files' own size*: the view with more pixels of the shared part warped onto the
   other's pixel grid (anti-aliased; the homography of the check's inliers, refined by OpenCV's ECC), then
   32 px blocks (16 px apart, textured ones) matched by phase correlation; blocks whose content agrees once
   shifted (NCC >= 0.85, response >= 0.3) kept, a homography fitted to the block shifts (least median), and
   what it leaves: median px and share of blocks off by more than 0.5 px. A copy: resampling only; a re-shot:
   parallax, lens distortion at another zoom, things that moved. ``--block-blur S``: both views blurred first
   (sigma S px), which takes out what noise and texture do to the block shifts and leaves what geometry does.
3. *Detail a copy cannot have* (pairs with a pixel scale s >= 1.1 between the views of the shared part): the
   zoomed view's detail above the wide view's resolution (the zoomed view less itself sampled on the wide
   view's grid and back), its variance over the variance of the wide view's own top octave (itself less a
   1 px blur). An enlarged crop has none (towards 0); an optical zoom has real detail there (about as much per
   octave as below, for a natural scene) -- but so has a crop of a large original next to a smaller copy of it.
4. *Each frame's own vignette* (from the stored 160 px thumbnails, no decode): a lens darkens a capture towards its
   own frame's corners; a copy (crop, scale, either side) carries its original's darkening fixed to the scene, a
   re-shot its own, fixed to its frame. The inner frame's thumbnail against the outer one warped onto it (both
   blurred 1.5 px), log brightness fitted robustly by a cubic tone curve of the other's plus two radial terms
   (squared distance from the inner frame's centre, and from the outer frame's centre mapped there); the outer
   term less the inner one (a re-shot: its own vignette in, the other's out: > 0; a copy: about 0).

Pairs: same-scene pairs of holidays-half (all 422 photos as one folder) that the check calls copies (>= 0.92) or
nearly (model >= 0.85: ``probe_parallax_light.model_confidence``), the TUNING split (groups at even positions,
``bench_reshots.py``) and, reported only, the HELD-OUT split; FIT copies: every pair of one group of
``fam-photos-public`` (``quality.py --families --family-originals 20``, built in ``--workdir``) called a copy.
Pairs aligned on a picture cut out of a canvas, or mirrored, are left out of signals 2 and 3 (their native
frame is not the features' frame). Nothing was adopted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import probe_parallax_light as parallax  # noqa: E402
import quality  # noqa: E402
from _common import HOLIDAYS, need_datasets, write_section  # noqa: E402

from imagetwins import verify  # noqa: E402

BLOCK = 32
BLOCK_NCC = 0.85
BLOCK_RESPONSE = 0.3
ZOOM = 1.1

#: what the measurement says (written under the table; the blurred numbers are the ``--block-blur`` runs')
READING = (
    "Blurred views (signal 2 with `--block-blur 1` and `2`; the copies of the re-shots' shape, 289 with blocks to "
    "match): at 2 px the block shift left by a homography falls to a median of 0.06 px for copies (95th "
    "percentile 0.28) and to 0.05-0.20 px for the six tuning re-shots called copies (108400/108401 0.15, "
    "112403/112404 0.05, 116401/116402 0.15, 126400/126401 0.11, 126400/126402 0.13, 126800/126805 0.20: 72, 178, "
    "72, 82, 77 and 40 of the 289 copies at least as far off); at 1 px, 0.11-0.36 against the copies' 0.10 (14-128 "
    "copies at least as far off).\n\n"
    "Reading: (1) the keypoints see no second motion: a re-shot's matches left by the first homography fall into "
    "another as few as a copy's (4-8 against the copies' median 5; ORB at 320 px). (2) At the files' own size "
    "(400 px), the two frames of these re-shots are one homography to 0.2-0.5 px, and what is off is the texture "
    "and noise of two JPEGs, not parallax: blurring both views takes the re-shots' residual down as far as the "
    "copies' (the blurred rows above), while blur + noise, overlays and keystones leave copies 0.5-1 px off "
    "unblurred. These are distant scenes shot from one spot: whatever parallax or lens distortion there is lies "
    "under a tenth of a pixel here. (3) The zoomed view of every re-shot has real detail above the wide view's "
    "resolution (0.48-0.94 of the wide view's own top octave on the tuning split, 0.91-1.52 held out; an enlarged "
    "crop has close to none), as the principle says -- but so have copies: a reduced copy of the whole "
    "(thumbnail, picture on a background, screenshot, keystone) next to the original or a fuller copy is the same "
    "situation as a wide shot next to a zoomed one, and 88-130 of the 150 zoomed fit copies of that shape have at "
    "least a given re-shot's detail (median 1.10). Fine texture of two captures (independent capture noise): "
    "holidays-half's SOURCE.md says each photo was reduced to 400 px wide from the Holidays originals (several "
    "megapixels: about 6 x 6 camera pixels averaged into one) and saved as JPEG twice (quality 95, then 88), so no "
    "capture noise is left to be independent; the full-size high-pass NCC of section \"Re-shots inside one "
    "frame\" is that measurement (re-shots called copies 0.55-0.86, inside the copies' range). (4) The vignettes "
    "point the right way -- in 8 of the 10 re-shots called copies the outer frame's darkening leaves and the "
    "inner frame's own comes in (0.10-1.11 on the tuning split) -- but at a 160 px thumbnail with one tone curve "
    "fitted, a sky's gradient and a copy's colour edit move the radial terms as much (copies of that shape: 5th-95th "
    "percentile -2.2 to 0.89): 14-61 of the 330 copies of that shape are at least as far as a tuning re-shot. "
    "(A vignette filter, a common edit, would be a re-shot by this measure too.) So at this size a "
    "zoomed or tripod re-shot of a still, distant scene and two copies made from one larger original hold the same "
    "pixels: one plane map, real detail in the zoomed view. What would tell them apart is not in these files "
    "(camera stamps, used where both files have one: `copies.different_captures`; sensor noise, averaged out by "
    "the reduction). Not adopted; the signals cost 418 ms a pair here (both files decoded again, ECC, 200 blocks), "
    "against the check's 2-4 ms. The re-shots-called-copies target on holidays-half is out of reach by pixels at "
    "400 px; calling \"one frame inside the other with real detail in the zoomed one\" not a copy would be a policy, "
    "not a measurement, and would cost most of those 150 zoomed copy pairs."
)


def zoom_shape(v: verify.Verification) -> bool:
    """The shape of the re-shots still called copies: one frame inside the other (the other's not inside it),
    turned less than :data:`verify.FRAMING_ANGLE`, neither cut out of a canvas nor mirrored."""
    inside = (v.frame_cover_a >= verify.FRAMING_COVER, v.frame_cover_b >= verify.FRAMING_COVER)
    return inside[0] != inside[1] and v.rotation < verify.FRAMING_ANGLE and not any(v.cut_from_canvas)


def second_motion(a: verify.ImageFeatures, b: verify.ImageFeatures, mirrored: bool) -> float:
    """Matches in a second motion once a homography has taken the first (see the module docstring, 1)."""
    pb, db = (b.mirror_points, b.mirror_descriptors) if mirrored else (b.points, b.descriptors)
    if len(a.descriptors) < 2 or len(db) < 2:
        return np.nan
    dist, nearest = cv2.batchDistance(a.descriptors, db, cv2.CV_32S, normType=cv2.NORM_HAMMING, K=2)
    good = dist[:, 0] < verify.RATIO * dist[:, 1]
    src, dst = a.points[good].astype(np.float64), pb[nearest[good, 0]].astype(np.float64)
    if len(src) < 12:
        return np.nan
    cv2.setRNGSeed(1)
    h, mask = cv2.findHomography(src, dst, cv2.RANSAC, 3.0, maxIters=2000)
    if h is None:
        return np.nan
    rest = ~mask.ravel().astype(bool)
    if rest.sum() < 6:
        return 0.0
    _, m2 = cv2.estimateAffine2D(src[rest], dst[rest], method=cv2.RANSAC, ransacReprojThreshold=2.0, maxIters=2000)
    return 0.0 if m2 is None else float(m2.sum())


def vignette(v: verify.Verification, a: verify.ImageFeatures, b: verify.ImageFeatures) -> float:
    """Signal 4 (module docstring): the outer frame's radial term less the inner frame's, or NaN."""
    if v.transform is None or v.mirrored or any(v.cut_from_canvas):
        return np.nan
    ta, tb = a.thumbnail.astype(np.float32), b.thumbnail.astype(np.float32)
    sa, sb = ta.shape[1] / a.size[0], tb.shape[1] / b.size[0]
    m = v.transform.astype(np.float64).copy()  # a's feature frame -> b's, then a's thumbnail -> b's
    m[:, :2] *= sb / sa
    m[:, 2] *= sb
    inner, outer, to_inner = (tb, ta, m) if v.frame_cover_b >= v.frame_cover_a else (ta, tb,
                                                                                      cv2.invertAffineTransform(m))
    h, w = inner.shape
    warped = cv2.warpAffine(cv2.GaussianBlur(outer, (0, 0), 1.5), to_inner, (w, h), flags=cv2.INTER_LINEAR)
    inside = cv2.warpAffine(np.ones_like(outer), to_inner, (w, h), flags=cv2.INTER_NEAREST) > 0
    inside = cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    own = cv2.GaussianBlur(inner, (0, 0), 1.5)
    yy, xx = np.mgrid[2:h - 2:3, 2:w - 2:3]
    ok = inside[yy, xx]
    po, pi = warped[yy, xx][ok], own[yy, xx][ok]
    keep = (po > 20) & (po < 235) & (pi > 20) & (pi < 235)  # clipped pixels follow no tone curve
    if keep.sum() < 200:
        return np.nan
    px, py = xx[ok][keep].astype(np.float64), yy[ok][keep].astype(np.float64)
    lo, li = np.log(po[keep]), np.log(pi[keep])
    oh, ow = outer.shape
    cx, cy = to_inner @ np.array([ow / 2, oh / 2, 1.0])
    r_inner = ((px - w / 2) ** 2 + (py - h / 2) ** 2) / (np.hypot(w, h) / 2) ** 2
    r_outer = ((px - cx) ** 2 + (py - cy) ** 2) / (np.hypot(ow, oh) / 2) ** 2 / abs(np.linalg.det(to_inner[:, :2]))
    t = (lo - lo.mean()) / (lo.std() + 1e-9)
    design = np.column_stack([np.ones_like(t), t, t ** 2, t ** 3, r_inner, r_outer])
    weight = np.ones(len(li))
    for _ in range(4):  # robust: overlays and moved things weigh less
        coef, *_ = np.linalg.lstsq(design * weight[:, None], li * weight, rcond=None)
        res = li - design @ coef
        scale = 1.4826 * np.median(np.abs(res)) + 1e-6
        weight = np.clip(2.0 * scale / (np.abs(res) + 1e-9), 0, 1)
    return float(coef[5] - coef[4])


def _grey(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("L"), np.float32)


def file_homography(w, fa: verify.ImageFeatures, fb: verify.ImageFeatures, ga: np.ndarray, gb: np.ndarray):
    """The check's matches (``w.matches``, on the features' thumbnails) brought onto the files' own pixels ``ga``,
    ``gb`` and the homography a -> b fitted to them (RANSAC), with the area scale of its linear part; None where
    there is none."""
    sa, sb = ga.shape[1] / fa.size[0], gb.shape[1] / fb.size[0]
    src = np.array([m[0] for m in w.matches], np.float64) * sa
    dst = np.array([m[1] for m in w.matches], np.float64) * sb
    h, _ = cv2.findHomography(src, dst, cv2.RANSAC, 3.0 * sb)
    if h is None:
        return None
    det = abs(float(np.linalg.det(h[:2, :2] / h[2, 2])))
    if not np.isfinite(det) or det <= 0:
        return None
    return h, det


def native(pa: str, pb: str, fa: verify.ImageFeatures, fb: verify.ImageFeatures, blur: float = 0.0) -> dict | None:
    """Signals 2 and 3 (module docstring) for one pair, or None where the pair cannot be aligned in its files;
    ``blur``: a Gaussian blur (sigma, px on the wide view's grid) of both views before the blocks are matched."""
    w = verify.verify_pair(fa, fb, keep_matches=True)
    if len(w.matches) < 8 or any(w.cut_from_canvas) or w.mirrored:
        return None
    ga, gb = _grey(pa), _grey(pb)
    fit = file_homography(w, fa, fb, ga, gb)
    if fit is None:
        return None
    h, det = fit
    lo, hi, to_lo = (ga, gb, np.linalg.inv(h)) if det > 1 else (gb, ga, h)
    s = float(np.sqrt(max(det, 1 / det)))
    hib = cv2.GaussianBlur(hi, (0, 0), 0.5 * s) if s > 1.2 else hi
    size = lo.shape[::-1]
    warped = cv2.warpPerspective(hib, to_lo, size, flags=cv2.INTER_LINEAR)
    inside = cv2.warpPerspective(np.ones_like(hib), to_lo, size, flags=cv2.INTER_NEAREST) > 0
    inside = cv2.erode(inside.astype(np.uint8), np.ones((9, 9), np.uint8), borderType=cv2.BORDER_CONSTANT,
                       borderValue=0) > 0
    if inside.sum() < 4 * BLOCK * BLOCK:
        return None
    refine = np.eye(3, dtype=np.float32)
    try:
        _, refine = cv2.findTransformECC(cv2.GaussianBlur(lo, (0, 0), 1),
                                         cv2.GaussianBlur(np.where(inside, warped, 0).astype(np.float32), (0, 0), 1),
                                         refine, cv2.MOTION_HOMOGRAPHY,
                                         (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5),
                                         inside.astype(np.uint8), 5)
        warped = cv2.warpPerspective(warped, refine, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    except cv2.error:
        refine = np.eye(3, dtype=np.float32)
    # 2. block shifts on the wide view's grid
    lo_b, warped_b = lo, warped
    if blur > 0:
        lo_b, warped_b = cv2.GaussianBlur(lo, (0, 0), blur), cv2.GaussianBlur(warped, (0, 0), blur)
    window = cv2.createHanningWindow((BLOCK, BLOCK), cv2.CV_64F)
    centres, moved = [], []
    for y in range(0, lo.shape[0] - BLOCK + 1, BLOCK // 2):
        for x in range(0, lo.shape[1] - BLOCK + 1, BLOCK // 2):
            if not inside[y:y + BLOCK, x:x + BLOCK].all():
                continue
            p, q = lo_b[y:y + BLOCK, x:x + BLOCK], warped_b[y:y + BLOCK, x:x + BLOCK]
            if p.std() < 6 or q.std() < 6:
                continue
            (dx, dy), response = cv2.phaseCorrelate(p.astype(np.float64), q.astype(np.float64), window)
            if response < BLOCK_RESPONSE or abs(dx) > 6 or abs(dy) > 6:
                continue
            qs = cv2.warpAffine(q, np.float32([[1, 0, -dx], [0, 1, -dy]]), q.shape[::-1],
                                borderMode=cv2.BORDER_REFLECT)[4:-4, 4:-4]
            pc = p[4:-4, 4:-4]
            if pc.std() < 1 or qs.std() < 1 or np.corrcoef(pc.ravel(), qs.ravel())[0, 1] < BLOCK_NCC:
                continue
            centres.append((x + BLOCK / 2, y + BLOCK / 2))
            moved.append((x + BLOCK / 2 + dx, y + BLOCK / 2 + dy))
    out = {"s": s, "blocks": len(centres), "shift": np.nan, "off": np.nan, "detail": np.nan}
    if len(centres) >= 12:
        c, m = np.array(centres, np.float64), np.array(moved, np.float64)
        hb, _ = cv2.findHomography(c, m, cv2.LMEDS)
        if hb is not None:
            r = np.linalg.norm(cv2.perspectiveTransform(c[None], hb)[0] - m, axis=1)
            out["shift"], out["off"] = float(np.median(r)), float((r > 0.5).mean())
    # 3. detail of the zoomed view above the wide view's resolution
    if s >= ZOOM:
        to_hi = np.linalg.inv(to_lo) @ refine.astype(np.float64)  # the wide view's grid -> the zoomed view's
        hi_size = hi.shape[::-1]
        mask = cv2.warpPerspective(inside.astype(np.uint8), to_hi, hi_size, flags=cv2.INTER_NEAREST) > 0
        mask = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8), borderType=cv2.BORDER_CONSTANT,
                         borderValue=0) > 0
        back = cv2.warpPerspective(warped, to_hi, hi_size, flags=cv2.INTER_CUBIC)
        lo_top = (lo - cv2.GaussianBlur(lo, (0, 0), 1.0))[inside]
        if mask.sum() >= 1000 and lo_top.var() > 0:
            out["detail"] = float((hi - back)[mask].var() / lo_top.var())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="/tmp/imagetwins-heldout")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--dump", help="write every pair's signals to this JSON file")
    ap.add_argument("--block-blur", type=float, default=0.0,
                    help="blur both views by this sigma (px) before matching blocks (signal 2)")
    args = ap.parse_args()
    need_datasets("holidays-half/images")
    c0 = time.process_time()
    groups = json.loads((HOLIDAYS / "groundtruth_groups.json").read_text())
    split = {g: ("tuning" if k % 2 == 0 else "held-out") for k, g in enumerate(sorted(groups))}
    scene = {n: g for g, ns in groups.items() for n in ns}
    rows = []
    for pa, pb, v, f in parallax.checked(sorted((HOLIDAYS / "images").glob("*.jpg")), args.workers):
        if scene.get(pa.name) == scene.get(pb.name) and parallax.model_confidence(v) >= 0.85:
            rows.append((f"re-shots, {split[scene[pa.name]]}", pa, pb, v, f))
    fam = quality.build_families(Path(args.workdir), 20)["fam-photos-public"]
    for pa, pb, v, f in parallax.checked(fam, args.workers):
        if pa.name[0] == pb.name[0] == "g" and pa.name[:5] == pb.name[:5] and v.confidence >= 0.92:
            rows.append(("copies, fit (fam-photos-public)", pa, pb, v, f))
    c1 = time.process_time()
    res = []
    for label, pa, pb, v, (fa, fb) in rows:
        r = native(str(pa), str(pb), fa, fb, args.block_blur) or {
            "s": np.nan, "blocks": 0, "shift": np.nan, "off": np.nan, "detail": np.nan}
        r.update(label=label, a=pa.name, b=pb.name, conf=v.confidence, layer=second_motion(fa, fb, v.mirrored),
                 vignette=vignette(v, fa, fb),
                 shape=zoom_shape(v))
        res.append(r)
    cpu, signals_cpu = time.process_time() - c0, time.process_time() - c1

    def pct(xs, q=(1, 5, 50, 95, 99)):
        xs = np.array([x for x in xs if np.isfinite(x)])
        return " / ".join(f"{v:.2f}" for v in np.percentile(xs, q)) if len(xs) else "-"

    copies_ = [r for r in res if r["label"].startswith("copies")]
    labels = ["copies, fit (fam-photos-public)", "re-shots, tuning", "re-shots, held-out"]
    lines = [f"Measured {time.strftime('%Y-%m-%d')} on the reshots branch (main 1d639c8), nothing adopted. Command: "
             "`python benchmarks/probe_native_geometry.py` (its docstring says what and how). TUNING re-shots and FIT "
             "copies only were looked at; held-out rows reported only.", "",
             "| pairs | n | called copies (>= 0.92) | 1. matches in a second motion (1 / 5 / 50 / 95 / 99 %) | "
             "2. block shift left by a homography, median px | 2. share of blocks off > 0.5 px | pixel scale s | "
             "3. detail above the wide view's resolution (s >= 1.1) | 4. vignettes: the outer frame's less the "
             "inner's |",
             "| --- | ---: | ---: | --- | --- | --- | --- | --- | --- |"]
    for lab in labels:
        sel = [r for r in res if r["label"] == lab]
        lines.append(f"| {lab} | {len(sel)} | {sum(r['conf'] >= verify.DEFAULT_CONFIDENCE for r in sel)} | "
                     f"{pct(r['layer'] for r in sel)} | {pct(r['shift'] for r in sel)} | "
                     f"{pct(r['off'] for r in sel)} | {pct(r['s'] for r in sel)} | {pct(r['detail'] for r in sel)} | "
                     f"{pct(r['vignette'] for r in sel)} |")

    shaped = [r for r in copies_ if r["shape"]]
    sel = [r for r in res if r["label"] == "re-shots, tuning" and r["conf"] >= verify.DEFAULT_CONFIDENCE]
    lines.append(f"| of the copies: the re-shots' shape (`zoom_shape`: one frame inside the other, turned < "
                 f"{verify.FRAMING_ANGLE:.0f} deg, no canvas) | {len(shaped)} | {len(shaped)} | "
                 f"{pct(r['layer'] for r in shaped)} | {pct(r['shift'] for r in shaped)} | "
                 f"{pct(r['off'] for r in shaped)} | {pct(r['s'] for r in shaped)} | "
                 f"{pct(r['detail'] for r in shaped)} | {pct(r['vignette'] for r in shaped)} |")
    lines.append(f"| of the tuning re-shots called copies: that shape | {sum(r['shape'] for r in sel)} of "
                 f"{len(sel)} | | | | | | | |")

    def beyond(r, key):
        """Fit copies of the re-shots' shape (measured) with this signal at least the re-shot's: what a rule
        catching it would lose."""
        if not np.isfinite(r[key]):
            return "-"
        pool = [c[key] for c in shaped if np.isfinite(c[key])]
        return f"{sum(x >= r[key] for x in pool)}/{len(pool)}"

    called = [r for lab in labels[1:] for r in res if r["label"] == lab and r["conf"] >= verify.DEFAULT_CONFIDENCE]
    lines += ["", "Re-shots called copies one by one (signal 1, 2 median px, 2 share off, s, 3, 4; then the fit copies "
              "at least as re-shot-like by each among those of the re-shots' shape: what a rule catching that re-shot "
              "would lose): " + "; ".join(
                  f"{r['a']}/{r['b']} ({r['label'].split(', ')[1]}, {r['conf']:.3f}: {r['layer']:.0f}, "
                  f"{r['shift']:.2f}, {r['off']:.2f}, s {r['s']:.2f}, {r['detail']:.2f}, {r['vignette']:.2f}; "
                  f"copies {beyond(r, 'layer')}, {beyond(r, 'shift')}, {beyond(r, 'off')}, {beyond(r, 'detail')}, "
                  f"{beyond(r, 'vignette')})"
                  for r in called) + ".", "",
              f"CPU (user+sys): {cpu:.0f} s in all; the four signals {signals_cpu:.0f} s for {len(res)} pairs "
              f"({1000 * signals_cpu / max(len(res), 1):.0f} ms a pair, both files decoded again), on a machine "
              "shared with other jobs."]
    lines += ["", READING]
    if args.dump:
        Path(args.dump).write_text(json.dumps(res, default=float))
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_section("native-geometry", "Re-shots called copies in the files' own pixels: second motion, "
                      "sub-pixel geometry, detail (measured, none adopted)", table)


if __name__ == "__main__":
    main()
