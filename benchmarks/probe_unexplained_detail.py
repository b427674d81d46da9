"""The last re-shot called a copy, in the files' own pixels: detail no filter of the other file and JPEG save makes
(issue #24; what ``verify.look_at_files`` measures).

    python benchmarks/probe_unexplained_detail.py              # about 15 CPU minutes; writes the BENCHMARKS.md section
    python benchmarks/probe_unexplained_detail.py --no-write   # print only

holidays-half 126400/126402 (a zoomed re-shot of a dark sunset, x1.83) was the one same-scene pair ``copies`` still
called a copy (0.971, VERDICT_VERSION 26): from the stored features it is a blown-up crop. Its spectrum past the other
file's resolution lies among the blown-up crops' at every band (``probe_inner_detail.py``; the detail rule's cap cannot
reach it without calling tuning crops re-shots), and so do its cells' agreement, lighting and colour residuals and its
keypoints. This probe asks the question the detail rule answers from one file's spectrum with both files' pixels: is
the inner (zoomed) picture the outer one's pixels enlarged? Measured (``verify.unexplained_detail``) for each pair
whose check puts one picture inside the other at ``verify.DETAIL_MIN_SCALE`` or more of the other file's pixels:

- both files decoded again (grey; long side ``verify.LOOK_SIDE`` or more); the outer picture brought onto the inner
  one's pixel grid by the check's own affine map (bicubic), refined by OpenCV's ECC (affine, on both blurred by half
  the scale);
- the linear filter (7 x 7 taps and an offset, least squares over the shared part) that best makes the inner picture
  from that: a blown-up crop is the outer's pixels interpolated and perhaps sharpened, which such a filter makes at
  every frequency (the interpolation's images past the outer's resolution too); then that prediction saved as a JPEG
  at each of ``verify.LOOK_QUALITIES`` (a copy re-saved at a low quality after the enlargement holds JPEG's blocks,
  which no filter makes: 0.27-0.68 without the save, over the 0.55 of 126400/126402); a second capture holds detail of
  its own that neither makes;
- *unexplained detail*: the variance of what the best of them leaves, in the high band (the picture less itself
  blurred by half the scale), over the inner picture's own high band.

The check measures it only for pairs the detail rule leaves undecided (their detail within ``verify.DETAIL_LOOK`` and
``verify.DETAIL_CAP``, still over 0.5) and caps them from ``verify.UNEXPLAINED_CAP``; this probe measures it for every
such pair so the margins show. Pairs: holidays-half same-scene pairs (TUNING: groups at even positions, as
``bench_reshots.py``; HELD-OUT: odd); blown-up crops of ``probe_inner_detail.py`` (the same files: FIT/tuning photos,
and held-out sources); and enlarged crops given an everyday edit after the enlargement (blur + noise, JPEG 15-30,
brightness/contrast, a colour shift; ``imagetwins.edits``), made of the tuning photos and, held out, of the held-out
photos (another seed): copies the measure must leave copies.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import HOLIDAYS, need_datasets, write_section  # noqa: E402
from probe_inner_detail import blown_up_files, crop_photos, enlarged_crop, features, jpeg, spread_of  # noqa: E402

from imagetwins import edits, verify  # noqa: E402
from imagetwins.io import open_image  # noqa: E402

#: the edits made after an enlargement (everyday edits a copy is given)
AFTER = {"blur + noise": edits.blur_noise, "JPEG 15-30": edits.jpeg, "brightness/contrast": edits.brightness_contrast,
         "colour shift": edits.colour_shift}


def _row(kind: str, name: str, data_a: bytes, data_b: bytes, fa=None, fb=None) -> dict | None:
    fa = fa if fa is not None else features(data_a)
    fb = fb if fb is not None else features(data_b)
    v = verify.verify_pair(fa, fb)
    if v.inner is None or v.inner_scale < verify.DETAIL_MIN_SCALE:
        return None
    c0 = time.process_time()
    got = verify.unexplained_detail(v, fa, fb, data_a, data_b)
    cpu = time.process_time() - c0
    if got is None:
        return None
    looked = verify.look_at_files(v, fa, fb, data_a, data_b) or v  # what the check does: only where the rule is
    # undecided (None: the look failed; the features' answer)
    return {"kind": kind, "pair": name, "confidence": v.confidence, "detail": v.inner_detail, "scale": v.inner_scale,
            "rule": v.not_one_capture, "unexplained": got, "cpu": cpu, "looked": v.wants_files,
            "after": looked.confidence}


def reshots() -> list[dict]:
    groups = json.loads((HOLIDAYS / "groundtruth_groups.json").read_text())
    out = []
    for k, g in enumerate(sorted(groups)):
        split = "tuning" if k % 2 == 0 else "held-out"
        for a, b in itertools.combinations(groups[g], 2):
            r = _row(f"re-shot ({split})", f"{a}/{b}", *((HOLIDAYS / "images" / n).read_bytes() for n in (a, b)))
            if r:
                out.append(r)
    return out


def crops(held_out: bool) -> list[dict]:
    out, features_of = [], {}
    for kind, name, original, crop in blown_up_files(held_out):
        if original not in features_of:  # (one original, three crops)
            features_of[original] = features(original)
        r = _row(kind, name, original, crop, features_of[original])
        if r:
            out.append(r)
    return out


def edited_crops(held_out: bool = False) -> list[dict]:
    """Enlarged crops given one edit of :data:`AFTER` each, saved at JPEG quality 90: of the tuning photos (the first
    20 of each tuning source, seed 7) or (``held_out``) of :func:`probe_inner_detail.crop_photos`' held-out ones
    (holidays odd groups, ukbench 75-94, imagededup's; seed 17)."""
    rng = np.random.default_rng(17 if held_out else 7)
    photos = crop_photos(held_out)[:60] if held_out else crop_photos()[:40]
    out = []
    for p in photos:
        img = open_image(p)
        original = jpeg(img, 95)
        fo = features(original)
        for label, edit in AFTER.items():
            f, up = enlarged_crop(img, rng)
            r = _row(f"crop enlarged{' (held-out)' if held_out else ''}, then {label}", f"{p.name} x{1 / f:.2f}",
                     original, jpeg(edit(up, rng), 90), fo)
            if r:
                out.append(r)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    need_datasets("holidays-half/images", "photos-public/images", "ukbench-600/images",
                  "imagededup-testdata/base_images")
    c0 = time.process_time()
    rows = reshots() + crops(False) + crops(True) + edited_crops() + edited_crops(held_out=True)
    cpu = time.process_time() - c0
    t = verify.DEFAULT_CONFIDENCE
    cap = verify.UNEXPLAINED_CAP
    lines = [f"Measured {time.strftime('%Y-%m-%d')}, 2 cores shared with other work. Command: "
             "`python benchmarks/probe_unexplained_detail.py` (its docstring says what and how). Pairs whose check "
             f"puts one picture inside the other at >= {verify.DETAIL_MIN_SCALE:g} of the other file's pixels. "
             "Unexplained detail (`verify.unexplained_detail`): what the best 7 x 7 linear filter of the outer picture "
             "(brought onto the inner's pixels by the check's map, refined by ECC), saved as a JPEG at the best of "
             f"{len(verify.LOOK_QUALITIES)} qualities, leaves of the inner's high band, over that high band; the check "
             f"(`verify.look_at_files`) measures it only for pairs whose detail (the spectrum rule's measure) lies in "
             f"[{verify.DETAIL_LOOK:g}, {verify.DETAIL_CAP:g}) and caps them at {verify.NOT_ONE_CAPTURE:g} from "
             f"`verify.UNEXPLAINED_CAP` {cap:g}. Splits: re-shots of holidays-half's even groups and crops of the "
             "FIT/tuning photos (tuning), odd groups and other sources (held-out).", "",
             f"| pairs | n | called copies (>= {t:g}) before the look | looked at (detail in the band) | called "
             f"copies after | unexplained detail min / median / max | of those called copies before: min / max | "
             f"called copies before with at least {cap:g} | detail (spectrum) min / median / max |",
             "| --- | ---: | ---: | ---: | ---: | --- | --- | ---: | --- |"]
    for kind in dict.fromkeys(r["kind"] for r in rows):
        rs = [r for r in rows if r["kind"] == kind]
        called = [r["unexplained"] for r in rs if r["confidence"] >= t]
        lines.append(f"| {kind} | {len(rs)} | {len(called)} | {sum(r['looked'] for r in rs)} | "
                     f"{sum(r['after'] >= t for r in rs)} | {spread_of([r['unexplained'] for r in rs])} | "
                     + (f"{min(called):.2f} / {max(called):.2f}" if called else "-") + " | "
                     + f"{sum(u >= cap for u in called)} | "
                     + spread_of([r["detail"] for r in rs if np.isfinite(r["detail"])]) + " |")
    copies_rows = [r for r in rows if r["kind"].startswith("crop") and r["confidence"] >= t]
    top = sorted(copies_rows, key=lambda r: -r["unexplained"])[:6]
    looked = [r for r in rows if r["looked"]]
    lines += ["", "Re-shots one by one (pair: confidence before / after the look, scale, detail, unexplained detail): "
              + "; ".join(f"{r['kind'].split('(')[1][:-1]} {r['pair']}: {r['confidence']:.3f} / {r['after']:.3f}, "
                          f"{r['scale']:.2f}, {r['detail']:.2f}, {r['unexplained']:.2f}"
                          for r in rows if r["kind"].startswith("re-shot")) + ".",
              "", "Copies called copies with the most unexplained detail: " + "; ".join(
                  f"{r['pair']} ({r['kind']}; confidence {r['confidence']:.3f}, detail {r['detail']:.2f}): "
                  f"{r['unexplained']:.2f}" for r in top) + ".",
              "", f"CPU (user+sys): {cpu:.0f} s in all; the measure alone (both files decoded again, ECC, the filter's "
              f"fit, the JPEG saves) {1000 * np.median([r['cpu'] for r in rows]):.0f} ms a pair (median) on 400 x 300 "
              f"files; pairs looked at {len(looked)} of {len(rows)}."]
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_section("unexplained-detail", "The last re-shot called a copy: detail no filter of the other file and "
                      "JPEG save makes (`verify.look_at_files`)", table)


if __name__ == "__main__":
    main()
