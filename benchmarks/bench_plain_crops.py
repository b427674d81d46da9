"""Plain crops of real photos, centred or in a corner, 90 % to 50 % a side: does ``copies`` call them copies?

    python benchmarks/bench_plain_crops.py --workdir /tmp/plain-crops               # the table (~5 min on 2 cores)
    python benchmarks/bench_plain_crops.py --workdir /tmp/plain-crops --photos 4    # a quick look

The product's promise is that a crop is a copy, and the README says crops down to half the area are found. Here each
photo is cropped as a user crops it in an editor: keeping 90, 80, 70, 60 or 50 % of each side (81 % to 25 % of the
area), centred, or touching one corner (which corner drawn per photo, seeded), saved as a JPEG at quality 90; the
photo itself is saved beside it (JPEG 95) and each crop is checked against it as ``find`` checks a pair
(``copies.check_pairs``, through ``bench_tilted_copies.checked_cases``: the same decode, features, canvas cut-outs
and look at the files). Photos larger than 2,048 or 1,024 px on their long side are also resized to it (Lanczos),
saved and cropped again at that size: a library holds full-size camera files as well as shrunk exports.

Sources: camera-photos (every photo, 2-12 MP camera and phone JPEGs), and a seeded sample of photos-public
(481 x 321), ukbench-600 (one view of each sampled object, 320 x 240) and holidays-half (400 px). The pair is checked
alone: whether a library's candidate search proposes it is not measured here. Recall: the share called a copy at the
default confidence; the misses are listed with their confidence. CPU: user+sys of this process.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from pathlib import Path

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets  # noqa: E402
from bench_tilted_copies import called_table, checked_cases  # noqa: E402

from imagetwins import copies  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402

SIDES = (90, 80, 70, 60, 50)
PLACES = ("centre", "corner")
SIZES = ("full", 2048, 1024)
SOURCES = ("camera-photos", "photos-public", "ukbench-600", "holidays-half")
CORNERS = ("top left", "top right", "bottom left", "bottom right")


def photos(source: str, count: int, rng: random.Random) -> list[Path]:
    """``count`` photos of ``source`` (every one of camera-photos' up to ``count``), drawn with ``rng``; of ukbench-600
    one view of each object drawn."""
    found = sorted((DATASETS / source / "images").glob("*.jpg"))
    if source == "ukbench-600":
        found = found[::4]
    if source == "camera-photos" or count >= len(found):
        return found[:count]
    return sorted(rng.sample(found, count))


def cropped(img: Image.Image, side: int, place: str, corner: str) -> bytes:
    """``img`` cropped to ``side`` % of each side, centred or touching ``corner``, saved as a JPEG at quality 90."""
    w, h = img.size
    cw, ch = round(w * side / 100), round(h * side / 100)
    if place == "centre":
        left, top = (w - cw) // 2, (h - ch) // 2
    else:
        left = 0 if "left" in corner else w - cw
        top = 0 if "top" in corner else h - ch
    buf = io.BytesIO()
    img.crop((left, top, left + cw, top + ch)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def sized(img: Image.Image, size: str | int) -> Image.Image | None:
    """``img`` at ``size`` on its long side (Lanczos); None where it is not larger than that (the full size then)."""
    if size == "full":
        return img
    s = int(size) / max(img.size)
    if s >= 1:
        return None
    return img.resize((max(1, round(img.width * s)), max(1, round(img.height * s))), Image.Resampling.LANCZOS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="a folder of this run's own (files written there)")
    parser.add_argument("--photos", type=int, default=23, help="photos of each source (camera-photos holds 23)")
    parser.add_argument("--sources", default=",".join(SOURCES), help="comma-separated sources")
    parser.add_argument("--sides", default=",".join(map(str, SIDES)), help="comma-separated %% of each side kept")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sources = args.sources.split(",")
    sides = [int(s) for s in args.sides.split(",")]
    need_datasets(*(f"{s}/images" for s in sources))
    args.workdir.mkdir(parents=True, exist_ok=True)
    encoder = get_encoder(copies.COPIES_METHOD)
    rng = random.Random(args.seed)
    c0 = time.process_time()
    called: dict = {}
    misses: list[str] = []
    k = 0
    for source in sources:
        for photo in photos(source, args.photos, rng):
            corner = rng.choice(CORNERS)
            whole = ImageOps.exif_transpose(Image.open(photo)).convert("RGB")
            for size in SIZES:
                img = sized(whole, size)
                if img is None:
                    continue
                label = "full" if size == "full" else f"{size} px"
                made = (((source, label, (place, side)), cropped(img, side, place, corner), "jpg")
                        for place in PLACES for side in sides)
                for (_, _, (place, side)), score in checked_cases(encoder, args.workdir, k, img, made, called):
                    misses.append(f"| {source} | {photo.name} | {label} | {side} % {place}"
                                  f"{f' ({corner})' if place == 'corner' else ''} | {score:.3f} |")
                for written in (args.workdir / f"{k}.jpg", *args.workdir.glob(f"{k}_*.jpg")):
                    written.unlink()  # (a full-size camera photo's ten crops: ~10 MB)
                k += 1
            print(f"{source} {photo.name}: done ({time.process_time() - c0:.0f} CPU s)", file=sys.stderr, flush=True)
    rows = [(source, "full" if size == "full" else f"{size} px") for source in sources for size in SIZES]
    columns = [(place, side) for place in PLACES for side in sides]
    print(f"\nCalled a copy at the default confidence ({time.process_time() - c0:.0f} CPU s; seed {args.seed}, "
          f"up to {args.photos} photos a source)\n")
    print(called_table(("source", "size"), rows, columns, [f"{p} {s} %" for p, s in columns], called))
    print("\nMissed:\n\n| source | photo | size | crop | confidence |\n| --- | --- | --- | --- | ---: |")
    print("\n".join(misses) if misses else "| (none) | | | | |")


if __name__ == "__main__":
    main()
