"""Re-shots called copies: is the fine residual of a copy its original's own, resampled? (issue #24; measured)

    python benchmarks/probe_shared_noise.py --no-write   # about 9 CPU minutes (alignments cached in --cache); print
    python benchmarks/probe_shared_noise.py              # and write the BENCHMARKS.md section

Nothing was adopted: the section's reading (``READING``) says why.

The idea: a copy's fine texture (sensor noise, grain, JPEG blocks of the capture) is its original's, resampled; a
second capture's is its own. So bring the view that samples the shared part more finely down onto the coarser
view's own pixel grid (the files decoded again at their size, the homography of the check's inlier matches refined
by OpenCV's ECC, anti-aliased), absorb what resampling, blur, sharpening and a tone edit do by a fitted 5 x 5
linear filter plus a quadratic tone term (least squares over the shared part), and measure what is left:

- ``rel``: the residual's variance over the coarse view's own top octave (itself less a 1 px Gaussian blur);
- ``rel_flat`` / ``rel_tex`` / ``rel_edge``: the same over the coarse view's flat (lowest 40 % of local gradient),
  textured (40-85 %) and edge (top 15 %) pixels, each over the top octave of the whole;
- ``ncc``: the normalised correlation of the two views' top octaves (after the filter);
- ``jpeg``: the residual's variance over what re-encoding the filtered fine view at the coarse file's own JPEG
  quality (estimated from its quantisation table) would leave: the requantisation a copy at that quality gets;
- ``white``: the residual's lag-1 autocorrelation (x and y averaged): added noise is white, a second capture's
  different detail is not;
- ``struct``: the correlation of the residual's magnitude with the coarse view's gradient magnitude.

Pairs (TUNING / FIT only are looked at; held-out reported only): same-scene holidays-half pairs the calibrated model
gives >= 0.85 (``probe_parallax_light.model_confidence``), split as ``bench_reshots.py``; copies: every pair of one
group of ``fam-photos-public`` (``quality.py --families --family-originals 20``) called a copy, of the re-shots'
shape (``probe_native_geometry.zoom_shape``) -- the only pairs such a rule would run on.
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
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import probe_native_geometry as geometry  # noqa: E402
import probe_parallax_light as parallax  # noqa: E402
import quality  # noqa: E402
from _common import HOLIDAYS, need_datasets, write_section  # noqa: E402

from imagetwins import verify  # noqa: E402


def _load(path: str) -> tuple[np.ndarray, int]:
    """Grey pixels and the JPEG quality the file's luma table says (0 for other formats)."""
    with Image.open(path) as im:
        q = _quality(im.quantization[0]) if getattr(im, "quantization", None) else 0
        return np.asarray(ImageOps.exif_transpose(im).convert("L"), np.float32), q


_STD = np.array([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
                 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.float64)


def _quality(table) -> int:
    """The IJG quality whose scaled standard luma table is nearest ``table`` (as libjpeg writes it)."""
    t = np.array(sorted(table), np.float64)
    best, err = 75, np.inf
    for q in range(1, 101):
        scale = 5000 / q if q < 50 else 200 - 2 * q
        ref = np.sort(np.clip(np.floor((_STD * scale + 50) / 100), 1, 255))
        e = np.abs(ref - t).sum()
        if e < err:
            best, err = q, e
    return best


def align(pa: str, pb: str, fa: verify.ImageFeatures, fb: verify.ImageFeatures):
    """The finer view of the shared part brought onto the coarser view's pixel grid: (coarse, warped, inside mask,
    pixel scale s, the coarse file's JPEG quality), or None (as ``probe_native_geometry.native``)."""
    w = verify.verify_pair(fa, fb, keep_matches=True)
    if len(w.matches) < 8 or any(w.cut_from_canvas) or w.mirrored:
        return None
    (ga, qa), (gb, qb) = _load(pa), _load(pb)
    fit = geometry.file_homography(w, fa, fb, ga, gb)
    if fit is None:
        return None
    h, det = fit
    lo, hi, to_lo, q = (ga, gb, np.linalg.inv(h), qa) if det > 1 else (gb, ga, h, qb)
    s = float(np.sqrt(max(det, 1 / det)))
    hib = cv2.GaussianBlur(hi, (0, 0), 0.5 * np.sqrt(s * s - 1)) if s > 1.05 else hi
    size = lo.shape[::-1]
    warped = cv2.warpPerspective(hib, to_lo, size, flags=cv2.INTER_CUBIC)
    inside = cv2.warpPerspective(np.ones_like(hib), to_lo, size, flags=cv2.INTER_NEAREST) > 0
    inside = cv2.erode(inside.astype(np.uint8), np.ones((9, 9), np.uint8), borderType=cv2.BORDER_CONSTANT,
                       borderValue=0) > 0
    if inside.sum() < 4000:
        return None
    try:
        _, refine = cv2.findTransformECC(lo, np.where(inside, warped, 0).astype(np.float32),
                                         np.eye(3, dtype=np.float32), cv2.MOTION_HOMOGRAPHY,
                                         (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 80, 1e-6),
                                         inside.astype(np.uint8), 3)
        to_lo2 = np.linalg.inv(refine.astype(np.float64)) @ to_lo
        warped = cv2.warpPerspective(hib, to_lo2, size, flags=cv2.INTER_CUBIC)
    except cv2.error:
        pass
    return lo, warped, inside, s, q


def _design(x: np.ndarray, k: int = 5) -> list[np.ndarray]:
    r = k // 2
    xp = np.pad(x, r, mode="edge")
    h, w = x.shape
    cols = [xp[dy:dy + h, dx:dx + w] for dy in range(k) for dx in range(k)]
    c = x - x.mean()
    return cols + [c * c / 255.0, np.ones_like(x)]


def measure(lo: np.ndarray, warped: np.ndarray, inside: np.ndarray, q: int) -> dict:
    """The signals of the module docstring on one aligned pair."""
    core = cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    cols = _design(warped)
    a = np.column_stack([c[core] for c in cols]).astype(np.float64)
    y = lo[core].astype(np.float64)
    coef = np.linalg.lstsq(a, y, rcond=None)[0]
    fit = sum(c * w for c, w in zip(cols, coef)).astype(np.float32)
    r = lo - fit
    top = lo - cv2.GaussianBlur(lo, (0, 0), 1.0)
    top_fit = fit - cv2.GaussianBlur(fit, (0, 0), 1.0)
    vt = float(top[core].var()) + 1e-6
    grad = cv2.GaussianBlur(np.hypot(*np.gradient(cv2.GaussianBlur(lo, (0, 0), 1.0))), (0, 0), 1.0)
    g = grad[core]
    q40, q85 = np.percentile(g, [40, 85])
    rc = r[core]
    # robust refit (every 2nd pixel): overlays and moved things weigh less; median residual over median top octave
    sub = np.zeros_like(core)
    sub[::2, ::2] = True
    sub &= core
    a2, y2 = np.column_stack([c[sub] for c in cols]).astype(np.float64), lo[sub].astype(np.float64)
    weight = np.ones(len(y2))
    for _ in range(4):
        c2 = np.linalg.lstsq(a2 * weight[:, None], y2 * weight, rcond=None)[0]
        res2 = y2 - a2 @ c2
        scale = 1.4826 * np.median(np.abs(res2)) + 1e-6
        weight = np.clip(3.0 * scale / (np.abs(res2) + 1e-9), 0, 1)
    out = {"rrel": float(np.median(res2 ** 2) / (np.median(top[sub] ** 2) + 1e-6)),
           "rel": float(rc.var() / vt),
           "rel_flat": float(np.mean(rc[g <= q40] ** 2) / vt),
           "rel_tex": float(np.mean(rc[(g > q40) & (g <= q85)] ** 2) / vt),
           "rel_edge": float(np.mean(rc[g > q85] ** 2) / vt),
           "ncc": float(np.corrcoef(top[core], top_fit[core])[0, 1]),
           "struct": float(np.corrcoef(np.abs(rc), g)[0, 1])}
    rx, ry = r[:, 1:] * r[:, :-1], r[1:, :] * r[:-1, :]
    mx, my = core[:, 1:] & core[:, :-1], core[1:, :] & core[:-1, :]
    out["white"] = float((rx[mx].mean() + ry[my].mean()) / 2 / (np.mean(rc ** 2) + 1e-9))
    if q:
        buf = io.BytesIO()
        Image.fromarray(np.clip(np.rint(fit), 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=q)
        sim = np.asarray(Image.open(buf), np.float32)
        out["jpeg"] = float(np.mean(rc ** 2) / (np.mean((sim - np.clip(np.rint(fit), 0, 255))[core] ** 2) + 1e-6))
    else:
        out["jpeg"] = np.nan
    return out


def collect(work: Path, workers: int, cache: Path) -> list[dict]:
    """Every pair's alignment (cached in ``cache``) and signals."""
    cache.mkdir(parents=True, exist_ok=True)
    groups = json.loads((HOLIDAYS / "groundtruth_groups.json").read_text())
    split = {g: ("tuning" if k % 2 == 0 else "held-out") for k, g in enumerate(sorted(groups))}
    scene = {n: g for g, ns in groups.items() for n in ns}
    rows = []
    for pa, pb, v, f in parallax.checked(sorted((HOLIDAYS / "images").glob("*.jpg")), workers):
        if scene.get(pa.name) == scene.get(pb.name) and parallax.model_confidence(v) >= 0.85:
            rows.append((f"re-shots, {split[scene[pa.name]]}", pa, pb, v, f))
    fam = quality.build_families(work, 20)["fam-photos-public"]
    for pa, pb, v, f in parallax.checked(fam, workers):
        if (pa.name[0] == pb.name[0] == "g" and pa.name[:5] == pb.name[:5] and v.confidence >= 0.92
                and geometry.zoom_shape(v)):
            rows.append(("copies, fit (fam-photos-public)", pa, pb, v, f))
    res = []
    for label, pa, pb, v, (fa, fb) in rows:
        key = cache / f"{pa.name}-{pb.name}.npz"
        if key.exists():
            z = np.load(key)
            got = (z["lo"], z["warped"].astype(np.float32), z["inside"], float(z["s"]), int(z["q"]))
        else:
            got = align(str(pa), str(pb), fa, fb)
            if got is not None:
                np.savez(key, lo=got[0], warped=got[1].astype(np.float16), inside=got[2], s=got[3], q=got[4])
        r = {"label": label, "a": pa.name, "b": pb.name, "conf": v.confidence, "shape": geometry.zoom_shape(v)}
        if got is not None:
            r.update(s=got[3], q=got[4], **measure(*got[:3], got[4]))
        res.append(r)
    return res


CLEAN = {"orig", "thumbnail", "crop_small", "screenshot", "on_background", "keystone", "rotate_crop_inside",
         "rotate_any"}
#: signal, its column head, and which way is "more like another capture"
SIGNALS = [("rel", "residual / top octave", 1), ("rrel", "robust (median) residual / top octave", 1),
           ("rel_flat", "flat pixels", 1), ("rel_tex", "textured pixels", 1), ("ncc", "top-octave NCC", -1),
           ("jpeg", "residual / requantisation at the file's quality", 1), ("white", "lag-1 autocorrelation", 1),
           ("struct", "residual ~ gradient", 1)]
CALLED = verify.DEFAULT_CONFIDENCE


def kind(r: dict) -> str:
    """A copy pair's edits: ``clean`` (geometry, scale, canvas, re-encode only) or the other edits in it."""
    if not r["label"].startswith("copies"):
        return r["label"]
    edits = {n.split("_", 1)[1][:-4] for n in (r["a"], r["b"])}
    other = sorted(edits - CLEAN)
    return "copies: geometry / scale / canvas only" if not other else "copies: with " + " + ".join(other)


def report(res: list[dict], cpu: float, align_ms: float) -> str:
    def pct(xs, q=(5, 50, 95)):
        xs = np.array([x for x in xs if x is not None and np.isfinite(x)])
        return " / ".join(f"{v:.2f}" for v in np.percentile(xs, q)) if len(xs) else "-"

    ok = [r for r in res if "rel" in r]
    copies_ = [r for r in ok if r["label"].startswith("copies")]
    groups: dict[str, list[dict]] = {}
    for r in ok:
        groups.setdefault(kind(r), []).append(r)
    order = (["copies, fit (fam-photos-public)"] + sorted(k for k in groups if k.startswith("copies:"))
             + ["re-shots, tuning", "re-shots, held-out"])
    groups["copies, fit (fam-photos-public)"] = copies_
    lines = [f"Measured {time.strftime('%Y-%m-%d')} on the reshots branch, nothing adopted. Command: "
             "`python benchmarks/probe_shared_noise.py` (its docstring says what and how). TUNING re-shots and FIT "
             "copies (fam-photos-public: photos-public 0-39) only were looked at; held-out rows reported only. "
             "Each cell: 5th / 50th / 95th percentile.", "",
             "| pairs | n | " + " | ".join(h for _, h, _ in SIGNALS) + " |",
             "| --- | ---: |" + " --- |" * len(SIGNALS)]
    for k in order:
        sel = groups.get(k, [])
        lines.append(f"| {k} | {len(sel)} | " + " | ".join(pct(r[key] for r in sel) for key, _, _ in SIGNALS) + " |")
    called = [r for r in ok if r["label"].startswith("re-shots") and r["conf"] >= CALLED]
    lines.append(f"| re-shots called copies (>= {CALLED}) | {len(called)} | "
                 + " | ".join(pct(r[key] for r in called) for key, _, _ in SIGNALS) + " |")

    def beyond(r, key, sign, pool):
        vals = np.array([c[key] for c in pool if np.isfinite(c[key])])
        return int(((vals - r[key]) * sign >= 0).sum()), len(vals)

    clean = groups.get("copies: geometry / scale / canvas only", [])
    lines += ["", "Re-shots called copies one by one, each signal's value and, in brackets, the fit copies at least as "
              "re-shot-like by it (all / geometry-scale-canvas only): what a rule on that signal catching this "
              "re-shot would lose:", ""]
    for r in called:
        cells = []
        for key, _, sign in SIGNALS:
            n_all, t_all = beyond(r, key, sign, copies_)
            n_clean, t_clean = beyond(r, key, sign, clean)
            cells.append(f"{key} {r[key]:.2f} ({n_all}/{t_all}, {n_clean}/{t_clean})")
        lines.append(f"- {r['a']}/{r['b']} ({r['label'].split(', ')[1]}, {r['conf']:.3f}, s {r['s']:.2f}): "
                     + ", ".join(cells))
    tuning = sorted((r for r in called if r["label"] == "re-shots, tuning"), key=lambda r: r["white"], reverse=True)
    if len(tuning) >= 3:
        best = []
        for key, _, sign in SIGNALS:
            third = sorted((r[key] * sign for r in tuning), reverse=True)[2]
            lost = sum(1 for c in copies_ if np.isfinite(c[key]) and c[key] * sign >= third)
            lost_clean = sum(1 for c in clean if np.isfinite(c[key]) and c[key] * sign >= third)
            best.append(f"{key} {lost} of {len(copies_)} ({lost_clean} of {len(clean)} geometry-only)")
        lines += ["", "A rule on one signal catching 3 of the 6 tuning re-shots called copies would call these fit "
                  "copies of the re-shots' shape re-shots: " + "; ".join(best) + "."]
    lines += ["", f"CPU (user+sys): {cpu:.0f} s for this run; bringing one pair onto the coarse grid (both files "
              f"decoded again, homography, ECC refinement) and measuring: {align_ms:.0f} ms a pair (the check: 2-5 "
              "ms; the budget asked for such a signal: 0.3 ms a pair on average)."]
    return "\n".join(lines)


READING = (
    "Reading: the idea was that a copy's fine residual is its original's own, resampled, and a second capture's is "
    'independent, so that once the finer view is brought onto the coarser view\'s grid a copy leaves "nearly nothing". '
    'On these files it does not hold. (1) Copies made by geometry, scale and re-encoding alone leave nearly nothing '
    'only where both files sample the original at about its own resolution (a crop against its original, the picture '
    'on a background against the original: mostly 0.03-0.16 of the top octave); two reductions of one original at '
    'other scales and phases (a screenshot against a thumbnail, 7 pairs, s 1.1-7) leave 0.15-1.26 (median 0.41) with '
    'an NCC of 0.56-0.94, which is what six of the ten re-shots called copies leave (0.32-0.89, NCC 0.70-0.89): each '
    "reduction aliases the original's detail its own way, and no linear filter takes that out. holidays-half's photos "
    'are each a reduction of a several-megapixel capture to 400 px (SOURCE.md), so two captures of a still scene are, '
    'at that size, two reductions of nearly one signal: the same situation. What a second capture adds of its own '
    '(sensor noise) was averaged away by that reduction. (2) Copies with content edits carry independent residue by '
    'construction: blur + noise adds noise of its own (NCC 0.01-0.30, residual 1.4-10 times the top octave), meme '
    'text and stickers leave structured residue over part of the frame, a colour shift is no function of grey (the '
    'robust median takes some of the overlays out, not the noise). (3) The re-shots called copies with the largest '
    'residual (108400/108401, 126800/126805, 126400/126401: 2.5-77) have copies beside them too: copies whose dense '
    "alignment at full size is off (a keystone on its surround, a picture on a canvas; the geometry-only copies' 95th "
    'percentile is 7.2). Per signal, a rule catching 3 of the 6 tuning re-shots called copies calls 31-144 of the 334 '
    "fit copies of the re-shots' shape re-shots (10-33 of the 136 geometry-only ones); the best (the robust residual, "
    'over 13.8) catches none of the 4 held-out re-shots called copies (1.28-2.63). Normalising by what requantisation '
    "at the coarse file's own quality would leave does not help (copies of geometry only 1.5 / 3.2 / 285, re-shots "
    'called copies 3.7-752). And it costs about 1.7 s a pair on this loaded machine (the check again for its matches, '
    "both files decoded again, ECC at full size; the search's check takes 2-5 ms a pair and the budget asked was 0.3 "
    "ms a pair on average): the stored features hold a 160 px thumbnail, so any check in the files' own pixels reads "
    'both files again, about 50 ms each for a 2-16 MP camera photo (full decode, `measured-facts.md`), to be paid '
    "only for pairs already called copies in the re-shots' shape. Not adopted; nothing in verify changed. The "
    're-shots-called-copies row stays as measured in "Re-shots called copies": the pixels of these 400 px files do '
    'not tell a zoomed re-shot of a still scene from a copy made from one larger original; only a capture stamp does '
    '(`copies.different_captures`).'
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="/tmp/imagetwins-heldout")
    ap.add_argument("--cache", default="/tmp/imagetwins-shared-noise")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--dump", default="/tmp/imagetwins-shared-noise.json")
    ap.add_argument("--time-pairs", type=int, default=20, help="pairs aligned again uncached to time it")
    args = ap.parse_args()
    need_datasets("holidays-half/images")
    c0 = time.process_time()
    res = collect(Path(args.workdir), args.workers, Path(args.cache))
    Path(args.dump).write_text(json.dumps(res, default=float))
    timed = [r for r in res if "rel" in r][:: max(1, len(res) // max(args.time_pairs, 1))][: args.time_pairs]
    c1 = time.process_time()
    for r in timed:
        root = HOLIDAYS / "images" if r["label"].startswith("re-shots") else (
            Path(args.workdir) / f"families-v{quality.FAMILY_SET_VERSION}-20" / "fam-photos-public")
        fa = verify.extract(parallax_open(root / r["a"]))
        fb = verify.extract(parallax_open(root / r["b"]))
        c_pair = time.process_time()
        got = align(str(root / r["a"]), str(root / r["b"]), fa, fb)
        if got is not None:
            measure(*got[:3], got[4])
        r["_ms"] = 1000 * (time.process_time() - c_pair)
    align_ms = float(np.mean([r["_ms"] for r in timed])) if timed else float("nan")
    del c1
    table = report(res, time.process_time() - c0, align_ms) + ("\n\n" + READING if READING else "")
    print(table)
    if not args.no_write:
        write_section("shared-noise", "Re-shots called copies: a copy's fine residual against a second capture's "
                      "(measured, none adopted)", table)


def parallax_open(path: Path):
    """An image decoded as the copies method decodes it for its features."""
    from imagetwins.io import open_image

    return open_image(path, min_size=192, min_long_side=verify.FEATURE_SIDE)


if __name__ == "__main__":
    main()
