"""Does ``--keep original`` keep the real original beside an enlarged, watermarked copy of it, and still
keep an original beside a shrunk copy? Before (resolution first) and after (``keep.enlarged_from``).

    python benchmarks/bench_keep_upscale.py --source photos-public --skip 10 --count 40
    python benchmarks/bench_keep_upscale.py --source camera-photos --skip 8 --count 15
    python benchmarks/bench_keep_upscale.py --source camera-photos --skip 8 --count 15 --as-if-no-camera-exif
    python benchmarks/bench_keep_upscale.py --source camera-photos --as-if-no-camera-exif --shrunk-copies-keep-exif

For each source photo (``--skip``: the first photos, on which the thresholds were chosen), made in a
temporary folder with Pillow: enlargements by 2x (Lanczos, JPEG quality 90; bicubic, 75; bilinear, 95)
and 1.5x (Lanczos, 90), each with a caption written on it like a stock-photo watermark and no EXIF; and
shrunk copies (0.5x and 0.7x, Lanczos, quality 90) for which the original must still win. Each pair
(source, copy) is one group; the table says how often the source photo is the keeper, and the time
``enlargement_score`` takes per pair (both decoded at full size). ``--as-if-no-camera-exif`` treats
the source photos as if their EXIF named no camera (a scan, a camera-trap frame, stripped metadata), so
only the pixels decide; ``--shrunk-copies-keep-exif`` gives the shrunk copies the source's EXIF (a
full-size original whose EXIF was stripped, beside a smaller copy that kept it).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets  # noqa: E402

from imagetwins import keep  # noqa: E402

R = Image.Resampling
COPIES = {  # name: (scale, resampling, JPEG quality, watermark)
    "2x lanczos q90": (2.0, R.LANCZOS, 90, True),
    "2x bicubic q75": (2.0, R.BICUBIC, 75, True),
    "2x bilinear q95": (2.0, R.BILINEAR, 95, True),
    "1.5x lanczos q90": (1.5, R.LANCZOS, 90, True),
    "0.5x (original must win)": (0.5, R.LANCZOS, 90, False),
    "0.7x (original must win)": (0.7, R.LANCZOS, 90, False),
}


def make_copy(src: Path, out: Path, scale: float, resample, quality: int, watermark: bool,
              keep_exif: bool = False) -> None:
    with Image.open(src) as im:
        exif = im.getexif()
        im = ImageOps.exif_transpose(im).convert("RGB")
    im = im.resize((round(im.width * scale), round(im.height * scale)), resample)
    if watermark:
        draw = ImageDraw.Draw(im)
        draw.text((im.width // 20, im.height - im.height // 6), "(c) stock-photos.example", fill=(255, 255, 255),
                  font=ImageFont.load_default(size=max(12, im.height // 12)))
    if keep_exif:
        exif[0x0112] = 1  # (the pixels are upright now)
        im.save(out, quality=quality, exif=exif)
    else:
        im.save(out, quality=quality)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", default="photos-public")
    ap.add_argument("--skip", type=int, default=0, help="leave out the first N photos (the ones tuned on)")
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--as-if-no-camera-exif", action="store_true", help="let only the pixels decide")
    ap.add_argument("--shrunk-copies-keep-exif", action="store_true",
                    help="the shrunk copies carry the source's EXIF (as a resize that keeps it)")
    args = ap.parse_args()
    need_datasets(f"{args.source}/images")
    photos = sorted((DATASETS / args.source / "images").glob("*.jpg"))
    photos = photos[args.skip:args.skip + args.count]
    kept_before = dict.fromkeys(COPIES, 0)
    kept_after = dict.fromkeys(COPIES, 0)
    seconds = dict.fromkeys(COPIES, 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        for n, src in enumerate(photos):
            original = keep.file_info(src)
            if args.as_if_no_camera_exif:
                original = dataclasses.replace(original, camera=False)
            for name, spec in COPIES.items():
                out = Path(tmp) / f"{n}-{name.split()[0]}-{name.split()[1]}.jpg"
                make_copy(src, out, *spec, keep_exif=args.shrunk_copies_keep_exif and spec[0] < 1)
                infos = [original, keep.file_info(out)]
                before = min(infos, key=keep._sort_key("original", True)).path  # resolution first, as it was
                t = time.perf_counter()
                after = keep.choose_keeper(infos).path
                seconds[name] += time.perf_counter() - t
                kept_before[name] += before == str(src)
                kept_after[name] += after == str(src)
                out.unlink()
    print(f"{args.source}, photos {args.skip + 1}-{args.skip + len(photos)} ({len(photos)})"
          + (", as if no camera EXIF" if args.as_if_no_camera_exif else "")
          + (", shrunk copies keep the EXIF" if args.shrunk_copies_keep_exif else "") + ":")
    print("| copy | original kept before | after | ms per group |")
    print("| --- | ---: | ---: | ---: |")
    for name in COPIES:
        print(f"| {name} | {kept_before[name]}/{len(photos)} | {kept_after[name]}/{len(photos)} | "
              f"{1000 * seconds[name] / max(1, len(photos)):.0f} |")


if __name__ == "__main__":
    main()
