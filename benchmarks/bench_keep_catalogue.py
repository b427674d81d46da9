"""What the keep stage costs on a shop's catalogue folder, where padded product images at several sizes are everywhere
(``copies.framed_picture``'s look at the files: a product enlarged onto a padded square canvas), and which file it
keeps.

Each product (one view of each ukbench object, then photos-public photos; ``--count`` of them) at 500 px on its long
side (JPEG 92), beside a padded square copy of it enlarged 1.5-3x a side (Lanczos, pasted on a white or light grey
square 8 % larger than the picture, JPEG 90), a product card of it enlarged 1.5-3x (:func:`card`: a header bar, a
caption and price below; JPEG 90) and a thumbnail at 0.3-0.5x (JPEG 85); ``--distractors`` holidays-half
photos at 500 px alone. The product file must be kept.

    python benchmarks/bench_keep_catalogue.py --workdir W [--count 300] [--src SRC]

``find -m copies``, ``original`` rule, no cache, in a fresh process (``--src``: another source tree); prints the
keep stage's CPU seconds and the number of groups whose keeper is the product (``--keepers FILE`` writes the other
keepers, one a line, to compare two trees).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

SIDE = 500


def products(count: int) -> list[Path]:
    """One view of each ukbench object, then photos-public photos: ``count`` in all."""
    from _common import DATASETS

    views = sorted((DATASETS / "ukbench-600" / "images").glob("*.jpg"))[::4]
    return (views + sorted((DATASETS / "photos-public" / "images").glob("*.jpg")))[:count]


def at_side(img: Image.Image, side: float) -> Image.Image:
    scale = side / max(img.size)
    return img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                      Image.Resampling.LANCZOS)


def card(img: Image.Image, factor: float, rng: np.random.Generator) -> Image.Image:
    """``img`` enlarged ``factor`` a side on a shop's product card: a square canvas with a coloured header bar (the
    shop's name), the picture, and a price and caption below (the frame is no flat padding)."""
    big = img.resize((round(img.width * factor), round(img.height * factor)), Image.Resampling.LANCZOS)
    side = round(max(big.size) * 1.3)
    out = Image.new("RGB", (side, side), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    colour = tuple(int(c) for c in rng.integers(0, 200, 3))
    draw.rectangle((0, 0, side, int(0.08 * side)), fill=colour)
    draw.text((int(0.03 * side), int(0.02 * side)), "SHOP  new arrivals", fill=(255, 255, 255))
    out.paste(big, ((side - big.width) // 2, int(0.1 * side) + (max(big.size) - big.height) // 2))
    y = int(0.1 * side) + max(big.size) + int(0.03 * side)
    draw.text((int(0.05 * side), y), f"item {int(rng.integers(1000, 9999))}   EUR {int(rng.integers(5, 300))}.99",
              fill=(20, 20, 20))
    draw.rectangle((int(0.7 * side), y, int(0.95 * side), y + int(0.06 * side)), fill=colour)
    return out


def build(work: Path, count: int, distractors: int) -> Path:
    from _common import DATASETS

    from imagetwins.io import open_image

    folder = work / f"catalogue-{count}-{distractors}"
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for k, path in enumerate(products(count)):
        rng = np.random.default_rng([53, k])
        img = at_side(open_image(path).convert("RGB"), SIDE)
        img.save(folder / f"p{k:04d}_product.jpg", quality=92)
        factor = float(rng.uniform(1.5, 3.0))
        big = img.resize((round(img.width * factor), round(img.height * factor)), Image.Resampling.LANCZOS)
        square = round(max(big.size) * 1.08)
        canvas = Image.new("RGB", (square, square), (255, 255, 255) if rng.random() < 0.7 else (238, 238, 238))
        canvas.paste(big, ((square - big.width) // 2, (square - big.height) // 2))
        canvas.save(folder / f"p{k:04d}_padded.jpg", quality=90)
        card(img, float(rng.uniform(1.5, 3.0)), rng).save(folder / f"p{k:04d}_card.jpg", quality=90)
        at_side(img, SIDE * float(rng.uniform(0.3, 0.5))).save(folder / f"p{k:04d}_thumb.jpg", quality=85)
    for k, path in enumerate(sorted((DATASETS / "holidays-half" / "images").glob("*.jpg"))[::4][:distractors]):
        at_side(open_image(path).convert("RGB"), SIDE).save(folder / f"d{k:04d}_other.jpg", quality=90)
    (folder / "done").touch()
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the imagetwins source tree to measure")
    ap.add_argument("--count", type=int, default=300, help="products (default 300)")
    ap.add_argument("--distractors", type=int, default=100, help="unrelated photos (default 100)")
    ap.add_argument("--keepers", type=Path, help="write the keepers other than products here, one a line")
    args = ap.parse_args()
    from _common import need_datasets

    need_datasets("ukbench-600/images", "photos-public/images", "holidays-half/images")
    folder = build(args.workdir, args.count, args.distractors)
    from bench_keep_enlarged_framed import run_one  # (one group a product: the keeper, its CPU, the keepers not wanted)

    out = run_one(folder, "_product.jpg", args.src)
    if not out.stdout.strip():
        sys.exit(out.stderr.strip()[-500:])
    got = json.loads(out.stdout.strip().splitlines()[-1])
    if args.keepers:
        args.keepers.write_text("".join(f"{n}\n" for n in got["other keepers"]))
    print(f"groups {got['groups']}, product kept {got['kept as wanted']}, keep stage {got['keep_cpu_s']} CPU s",
          flush=True)

if __name__ == "__main__":
    main()
