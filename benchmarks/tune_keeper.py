"""Where the keep rule's enlargement threshold was chosen: ``keep.enlargement_score`` on the *tuning* split,
which ``bench_keeper.py`` (the held-out split) never uses.

    python benchmarks/tune_keeper.py            # the tuning split, ~5 CPU min on a loaded 2-core machine
    python benchmarks/tune_keeper.py --limit 20  # a quick look
    python benchmarks/tune_keeper.py --slight-cameras  # camera originals at full size beside slight copies

Tuning split (:func:`tuning`): the first 10 photos-public, the second ukbench view of 60 objects (the
benchmark uses the first), every 14th holidays-half photo (30; the benchmark uses none) and the first 8
camera-photos (the benchmark uses 9-23), each reduced to at most 1200 px so that the camera photos are
as small as the benchmark's enlarged ones. For each photo, made in memory with Pillow: enlargements (2x
Lanczos q90, the benchmark's kind; 2x bicubic q75; 1.5x Lanczos q90; 2x Hamming and nearest at q50/q65,
kernels the score does not try) and originals beside smaller copies (0.5x and 0.7x at q90, q70 and q60),
the originals also saved at quality 50 and 65 first (a coarse original: the hard case, whose own fine
detail is close to its JPEG noise). Prints, per kind, how many pairs fall below the threshold
(``keep._ENLARGED_BELOW``) and the range of scores: enlargements must fall below, originals never.

Slight enlargements (1.03x, 1.1x, 1.18x a side, below the 1.4x-the-pixels gate of ``keep.enlarged_from``)
and originals beside copies that much smaller are in the table too: could the gate go lower? A shop's
listing copy 4 % larger than its product shot is kept over it (the stranger's report, 2026-12-03).
``--slight-cameras`` answers the hard half: every camera-photos JPEG at its full size, its EXIF treated as
naming no camera (stripped metadata: only the pixels decide), beside its own Lanczos q90 copies at
1/1.03 .. 1/1.25 a side; a score below the threshold would give the original up to its copy.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections import defaultdict
from pathlib import Path

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS as DATA  # noqa: E402
from _common import need_datasets  # noqa: E402

from imagetwins import keep  # noqa: E402

R = Image.Resampling


def tuning() -> list[Path]:
    """The tuning split: none of these is an original of ``bench_keeper.py``."""
    out = sorted((DATA / "photos-public" / "images").glob("*.jpg"))[:10]
    out += sorted((DATA / "ukbench-600" / "images").glob("*.jpg"))[1::4][:60]
    out += sorted((DATA / "holidays-half" / "images").glob("*.jpg"))[::14][:30]
    out += sorted((DATA / "camera-photos" / "images").glob("*.jpg"))[:8]
    return out



def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out


def _score(big: Image.Image, small: Image.Image) -> float | None:
    table = getattr(big, "quantization", {}).get(0)
    return keep._unexplained_detail(big.convert("RGB"), small.convert("L"), None if table is None else list(table))


#: slight enlargement factors (a side): 1.06x-1.39x the pixels, below the gate (keep._ENLARGED_MIN_PIXEL_RATIO)
SLIGHT = (1.03, 1.1, 1.18)


def pairs(photo: Image.Image):
    """(kind, is it an enlargement, larger, smaller) for one photo."""
    w, h = photo.size
    o = _jpeg(photo, 95)
    yield "2x Lanczos q90", True, _jpeg(o.resize((2 * w, 2 * h), R.LANCZOS), 90), o
    yield "2x bicubic q75", True, _jpeg(o.resize((2 * w, 2 * h), R.BICUBIC), 75), o
    yield "1.5x Lanczos q90", True, _jpeg(o.resize((round(1.5 * w), round(1.5 * h)), R.LANCZOS), 90), o
    for f in SLIGHT:  # slight enlargements: a catalogue's "at least N px wide" (the gate was 1.4x the pixels)
        yield f"{f}x Lanczos q90", True, _jpeg(o.resize((round(f * w), round(f * h)), R.LANCZOS), 90), o
        yield f"{f}x bicubic q75", True, _jpeg(o.resize((round(f * w), round(f * h)), R.BICUBIC), 75), o
    for q in (50, 65):
        yield f"2x Hamming q{q} (kernel not tried)", True, _jpeg(o.resize((2 * w, 2 * h), R.HAMMING), q), o
        yield f"2x nearest q{q} (kernel not tried)", True, _jpeg(o.resize((2 * w, 2 * h), R.NEAREST), q), o
    for q in (95, 65, 50):
        big = o if q == 95 else _jpeg(photo, q)
        yield f"original q{q} / 0.5x q90", False, big, _jpeg(big.resize((w // 2, h // 2), R.LANCZOS), 90)
        yield f"original q{q} / 0.7x q60", False, big, _jpeg(big.resize((round(.7 * w), round(.7 * h)), R.LANCZOS), 60)
    yield "original q95 / 0.5x q70", False, o, _jpeg(o.resize((w // 2, h // 2), R.LANCZOS), 70)
    for f in SLIGHT:  # originals beside slightly smaller copies (what a lower gate would test too)
        for q in (95, 65, 50):
            big = o if q == 95 else _jpeg(photo, q)
            yield (f"original q{q} / {1 / f:.2f}x q90", False, big,
                   _jpeg(big.resize((round(w / f), round(h / f)), R.LANCZOS), 90))


def slight_cameras() -> None:
    """Camera originals at full size, only their pixels to go by, beside their slightly smaller copies."""
    import dataclasses
    import tempfile

    factors = (1.03, 1.1, 1.18, 1.25)
    print(f"threshold: enlargement below {keep._ENLARGED_BELOW}; score of the original beside its copy at 1/f a side\n")
    print("| camera photo | size | " + " | ".join(f"f = {f}" for f in factors) + " |")
    print("| --- | --- | " + " | ".join("---:" for _ in factors) + " |")
    low = dict.fromkeys(factors, 0)
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted((DATA / "camera-photos" / "images").glob("*.jpg")):
            original = dataclasses.replace(keep.file_info(path), camera=False)
            with Image.open(path) as im:
                rgb = im.convert("RGB")  # as stored, like the file_info sizes of a stored-upright photo
            cells = []
            for f in factors:
                copy = Path(tmp) / f"{f}.jpg"
                rgb.resize((round(rgb.width / f), round(rgb.height / f)), R.LANCZOS).save(copy, quality=90)
                keep._enlargement_score.cache_clear()
                s = keep.enlargement_score(original, keep.file_info(copy))
                low[f] += s is not None and s < keep._ENLARGED_BELOW
                cells.append("-" if s is None else f"{s:.3f}")
            print(f"| {path.name} | {rgb.width}x{rgb.height} | " + " | ".join(cells) + " |", flush=True)
    print("| originals below the threshold | | " + " | ".join(str(low[f]) for f in factors) + " |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--slight-cameras", action="store_true", help="camera originals beside slightly smaller copies")
    args = ap.parse_args()
    need_datasets("photos-public/images", "ukbench-600/images", "holidays-half/images", "camera-photos/images")
    if args.slight_cameras:
        slight_cameras()
        return
    photos = tuning()
    if args.limit:
        photos = photos[:: max(1, len(photos) // args.limit)][: args.limit]
    scores: dict[str, list[float]] = defaultdict(list)
    enlargement: dict[str, bool] = {}
    for n, path in enumerate(photos):
        with Image.open(path) as im:
            photo = ImageOps.exif_transpose(im).convert("RGB")
        photo.thumbnail((1200, 1200), R.LANCZOS)
        for kind, is_enlarged, big, small in pairs(photo):
            s = _score(big, small)
            if s is not None:
                scores[kind].append(s)
            enlargement[kind] = is_enlarged
        print(f"\r{n + 1}/{len(photos)} photos", end="", file=sys.stderr)
    print(file=sys.stderr)
    print(f"threshold: enlargement below {keep._ENLARGED_BELOW}\n")
    print("| pair | is an enlargement | pairs | below the threshold | lowest | highest |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for kind, got in scores.items():
        below = sum(s < keep._ENLARGED_BELOW for s in got)
        print(f"| {kind} | {'yes' if enlargement[kind] else 'no'} | {len(got)} | {below} | {min(got):.3f} | "
              f"{max(got):.3f} |")


if __name__ == "__main__":
    main()
