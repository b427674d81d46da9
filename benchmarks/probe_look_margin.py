"""The files' look's margin on copies, over the range of edits users make (issue #24's last step).

    python benchmarks/probe_look_margin.py              # ~4 CPU minutes; writes the BENCHMARKS.md section
    python benchmarks/probe_look_margin.py --no-write   # print only
    python benchmarks/probe_look_margin.py --part 0 --json a.json   # one slice (and --part 1 ...: two processes),
    python benchmarks/probe_look_margin.py --merge a.json b.json    # then their table

``verify.look_at_files`` caps a pair at 0.5 (a re-shot) where its unexplained detail reaches
``verify.UNEXPLAINED_CAP`` (0.5) — but only pairs whose spectrum measure (``Verification.inner_detail``) lies in the
band ``[DETAIL_LOOK, DETAIL_CAP)`` and which score over 0.5 are looked at. ``probe_unexplained_detail.py`` measured a
thin held-out margin: enlarged crops given a colour shift reach 0.61 and one re-saved at JPEG 15-30 0.54, their
spectrum outside the band. A copy is lost where both happen at once: this probe draws many more held-out copies over
the whole range of each edit and counts how often each happens and how often both do.

Copies: a photo cropped to 45-89 % of each side (x1.12-2.2, the look's whole range of scales) and blown up back to its
size (bilinear, bicubic or Lanczos, drawn), then one edit drawn over its whole range, then saved at JPEG 70-95 (the
original at 95):

- colour shift (``imagetwins.edits.colour_shift``: hue 30-180 degrees, saturation x0.3-2, gamma 0.6-1.6, or sepia),
  and each of its parts alone (hue, saturation, gamma 0.5-2.0: a tone curve);
- JPEG at a quality drawn in 10-60 before the last save;
- a colour shift, then JPEG 15-30;
- brightness/contrast (``edits.brightness_contrast``).

Photos (none tuned on): the held-out photos of ``probe_inner_detail.crop_photos`` (holidays-half odd groups,
ukbench 75-94, imagededup's), photos-public 100-159 (the tuning used its first 20) and camera-photos (full-size
camera files: decoded again at 640 px or more). Each photo gets each edit ``--draws`` times (seed 29).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets, write_section  # noqa: E402
from probe_inner_detail import RESAMPLE, crop_photos, features, jpeg, spread_of  # noqa: E402

from imagetwins import edits, verify  # noqa: E402
from imagetwins.io import open_image  # noqa: E402


def _hue(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    turn = rng.uniform(30, 180) * rng.choice([-1, 1])
    hsv = np.asarray(img.convert("HSV"), dtype=np.float32)
    hsv[..., 0] = (hsv[..., 0] + turn / 360 * 256) % 256
    return Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB"), f"hue {turn:+.0f}"


def _saturation(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    s = rng.uniform(0.3, 2.0)
    hsv = np.asarray(img.convert("HSV"), dtype=np.float32)
    hsv[..., 1] = np.clip(hsv[..., 1] * s, 0, 255)
    return Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB"), f"saturation x{s:.2f}"


def _gamma(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    g = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
    arr = 255 * (np.asarray(img, dtype=np.float32) / 255) ** g
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)), f"gamma {g:.2f}"


def _low_jpeg(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    q = int(rng.integers(10, 61))
    return Image.open(io.BytesIO(jpeg(img, q))).convert("RGB"), f"quality {q}"


def _colour_then_jpeg(img: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, str]:
    return edits.jpeg(edits.colour_shift(img, rng), rng), ""


EDITS = {
    "colour shift": lambda img, rng: (edits.colour_shift(img, rng), ""),
    "hue turned": _hue,
    "saturation": _saturation,
    "gamma (tone curve)": _gamma,
    "JPEG 10-60": _low_jpeg,
    "colour shift, then JPEG 15-30": _colour_then_jpeg,
    "brightness/contrast": lambda img, rng: (edits.brightness_contrast(img, rng), ""),
}


def photos() -> list[Path]:
    public = sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[100:160]
    camera = sorted((DATASETS / "camera-photos" / "images").glob("*.jpg"))
    return crop_photos(held_out=True) + public + camera


def _enlarged(img: Image.Image, rng: np.random.Generator) -> tuple[float, Image.Image]:
    w, h = img.size
    f = rng.uniform(0.45, 0.89)
    cw, ch = int(w * f), int(h * f)
    x0, y0 = int(rng.integers(0, w - cw)), int(rng.integers(0, h - ch))
    resample = RESAMPLE[int(rng.integers(len(RESAMPLE)))]
    return f, img.crop((x0, y0, x0 + cw, y0 + ch)).resize((w, h), resample)


def measure(paths: list[Path], draws: int, seed: int, each_photo=None, skip: int = 0) -> list[dict]:
    """The rows of each photo's copies (``each_photo(rows so far)`` called after each photo; the first ``skip``
    photos' copies drawn, not measured: a run stopped early goes on where it stopped, with the same copies)."""
    rng = np.random.default_rng(seed)
    out: list[dict] = []
    for n, p in enumerate(paths):
        if each_photo is not None:
            each_photo(out)
        try:
            img = open_image(p)
        except Exception:  # (a file the decoder refuses: not a photo for this probe)
            continue
        if n < skip:  # (the same draws: the edits draw whatever the picture)
            for edit in EDITS.values():
                for _ in range(draws):
                    _enlarged(Image.new("RGB", img.size), rng)
                    edit(Image.new("RGB", (8, 8)), rng)
                    rng.integers(70, 96)
            continue
        original = jpeg(img, 95)
        fo = features(original)
        for label, edit in EDITS.items():
            for _ in range(draws):
                f, up = _enlarged(img, rng)
                edited, what = edit(up, rng)
                data = jpeg(edited, int(rng.integers(70, 96)))
                fc = features(data)
                v = verify.verify_pair(fo, fc)
                row = {"edit": label, "what": what, "photo": p.name, "scale": 1 / f, "confidence": v.confidence,
                       "detail": v.inner_detail if np.isfinite(v.inner_detail) else None, "wants": v.wants_files,
                       # (what VERDICT_VERSION 28 looked at: the colours not read)
                       "wants_grey": replace(v, colour_moved=float("nan")).wants_files,
                       "unexplained": None, "inner_scale": v.inner_scale, "colour_moved": v.colour_moved}
                if v.inner is not None and v.inner_scale >= verify.DETAIL_MIN_SCALE:
                    try:
                        row["unexplained"] = verify.unexplained_detail(v, fo, fc, original, data)
                    except Exception as exc:  # (ECC may fail to converge: counted as not measured)
                        row["error"] = type(exc).__name__
                out.append(row)
    return out


def table(rows: list[dict], cpu: float) -> str:
    cap, lo, hi = verify.UNEXPLAINED_CAP, verify.DETAIL_LOOK, verify.DETAIL_CAP
    lines = [f"Measured {time.strftime('%Y-%m-%d')}, 2 cores shared with other work. Command: "
             "`python benchmarks/probe_look_margin.py` (its docstring says what and how: held-out photos only, "
             f"{len({r['photo'] for r in rows})} of them, every edit drawn over its whole range). A copy is lost "
             f"where it is looked at (its spectrum measure in the band [{lo:g}, {hi:g}), scored over "
             f"{verify.NOT_ONE_CAPTURE:g}) and its unexplained detail reaches {cap:g}. *Grey look*: every such pair "
             "looked at (VERDICT_VERSION 28); *now*: not one whose colours moved as an edit moves them "
             f"(`Verification.colour_moved` >= `COLOUR_CHANGE` {verify.COLOUR_CHANGE:g}).", "",
             f"| copies (enlarged crop x1.12-2.2, then) | n | measured (one picture inside the other) | called copies "
             f"(>= {verify.DEFAULT_CONFIDENCE:g}) | unexplained >= {cap:g} (scored over {verify.NOT_ONE_CAPTURE:g}) "
             "| looked at: grey look / now | **lost copies: grey look / now** | unexplained min / median / max | "
             "colours moved >= COLOUR_CHANGE |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
    for edit in EDITS:
        rs = [r for r in rows if r["edit"] == edit]
        m = [r for r in rs if r["unexplained"] is not None]
        high = [r for r in m if r["unexplained"] >= cap and r["confidence"] > verify.NOT_ONE_CAPTURE]
        lost = [sum(r[key] for r in high) for key in ("wants_grey", "wants")]
        called = sum(r["confidence"] >= verify.DEFAULT_CONFIDENCE for r in rs)
        moved = sum(bool(r["colour_moved"] >= verify.COLOUR_CHANGE) for r in rs)
        lines.append(f"| {edit} | {len(rs)} | {len(m)} | {called} | {len(high)} | "
                     f"{sum(r['wants_grey'] for r in m)} / {sum(r['wants'] for r in m)} | "
                     f"**{lost[0]} / {lost[1]}** | {spread_of([r['unexplained'] for r in m])} | {moved} |")
    measured = [r for r in rows if r["unexplained"] is not None]
    high = sorted((r for r in measured if r["unexplained"] >= cap and r["confidence"] > verify.NOT_ONE_CAPTURE),
                  key=lambda r: -r["unexplained"])

    def said(r: dict) -> str:
        return (f"{r['photo']} {r['edit']}{' ' + r['what'] if r['what'] else ''} x{r['scale']:.2f}: "
                f"{r['confidence']:.3f}, " + ("-" if r["detail"] is None else f"{r['detail']:.2f}")
                + f", {r['unexplained']:.2f}, colours moved {r['colour_moved']:.2f}"
                + (", looked at by the grey look" if r["wants_grey"] else "")
                + (", looked at now" if r["wants"] else ""))

    lines += ["", f"Copies at or over {cap:g} (photo, edit, scale: confidence, spectrum measure, unexplained, colours "
              "moved): " + ("; ".join(said(r) for r in high[:24]) or "none")
              + (f" (and {len(high) - 24} more)" if len(high) > 24 else "") + ".",
              "", f"Spectrum measure of the copies at or over {cap:g}: "
              + spread_of([r["detail"] for r in high if r["detail"] is not None])
              + f" ({sum(r['detail'] is None for r in high)} with none: noise or no finer band); of all measured "
              f"copies: {spread_of([r['detail'] for r in measured if r['detail'] is not None])}.",
              "", f"CPU (user+sys): {cpu:.0f} s."]
    return "\n".join(lines)


#: the photos are measured in this many slices, each with its own seed (29 + slice): a run in one process and the
#: slices run apart (``--part``) then merged (``--merge``) give the same copies
SLICES = 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--draws", type=int, default=2)
    ap.add_argument("--part", type=int, choices=range(SLICES), help="measure this slice of the photos alone")
    ap.add_argument("--skip", type=int, default=0, help="with --part: its first photos drawn, not measured")
    ap.add_argument("--json", help="with --part: write its rows here (after each photo), no table")
    ap.add_argument("--merge", nargs="*", help="rows written by --json parts: the table of them all")
    args = ap.parse_args()
    if args.merge:
        rows, cpu = [], 0.0
        for f in args.merge:
            got = json.loads(Path(f).read_text())
            rows += got["rows"]
            cpu += got["cpu"]
    else:
        need_datasets("holidays-half/images", "photos-public/images", "ukbench-600/images",
                      "imagededup-testdata/base_images", "camera-photos/images")
        c0 = time.process_time()

        def dump(rows: list[dict]) -> None:  # (a part stopped early keeps the photos done)
            if args.json:
                Path(args.json).write_text(json.dumps({"rows": rows, "cpu": time.process_time() - c0}))

        parts = range(SLICES) if args.part is None else [args.part]
        rows = [r for k in parts for r in measure(photos()[k::SLICES], args.draws, 29 + k, dump, args.skip)]
        cpu = time.process_time() - c0
        if args.json:
            dump(rows)
            return
    print(table(rows, cpu))
    if not args.no_write:  # (a section of its own, the table printed above)
        write_section("look-margin", "The files' look's margin on copies over the whole range of edits "
                      "(`benchmarks/probe_look_margin.py`)", table(rows, cpu))


if __name__ == "__main__":
    main()
