"""Small pictures on a flat canvas: a shop catalogue's product thumbnails (``verify.SMALL_PICTURE``).

    python benchmarks/probe_small_pictures.py              # about 45 CPU s (30 once encoded); writes BENCHMARKS.md
    python benchmarks/probe_small_pictures.py --no-write   # print only

Each set holds pictures centred on white pages (800 x 800, 1000 x 1000 or 800 x 600; PNG or JPEG quality 75-95):
the *catalogue*, one page per picture, and each picture again on a second page of the same size, 0.75-1.35 times as
large, at the centre or at a random place, saved again (one product shot reused). Every pair of two catalogue pages
is checked (``copies.verify_records``, every pair, not only those the search proposes): different pictures, so a
pair at the default confidence or above is a false copy. Each picture's two pages are a copy, kept or missed.

- photo sets: photos (thumbnailed to the long side given) from photos-public 0-124 (FIT: the small-picture rule's
  constants were chosen on these and on ``tests/test_small_pictures.py``'s catalogue, photos-public too), and
  HELD-OUT from photos-public 125-249, view 0 of ukbench-600 groups 75-149 (objects, as a shop shows them) and
  camera-photos;
- logo sets: made up logos (one to four plain ellipses and rectangles and three to six letters on white, another
  seed per split), 60-300 px on the page;
- cut-out sets: product shots on a white background (the split's photos inside an ellipse, white around it), 100-250
  px on the page: the picture's outline is the ellipse, alike in every one of them.
"""

from __future__ import annotations

import argparse
import itertools
import pickle
import random
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets, write_section  # noqa: E402

from imagetwins import copies, verify  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402

#: (split, kind, smallest and largest long side on the page, pictures)
SETS = (("fit", "photo", 60, 160, 50), ("fit", "photo", 160, 300, 30), ("fit", "logo", 60, 300, 40),
        ("held-out", "photo", 60, 160, 50), ("held-out", "photo", 160, 300, 30), ("held-out", "logo", 60, 300, 40),
        ("fit", "cut-out", 100, 250, 30), ("held-out", "cut-out", 100, 250, 30))
PAGES = ((800, 800), (800, 800), (1000, 1000), (800, 600))


def sources(split: str) -> list[Path]:
    public = sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))
    if split == "fit":
        return public[:125]
    return (public[125:] + [DATASETS / "ukbench-600" / "images" / f"ukbench{g * 4:05d}.jpg" for g in range(75, 150)]
            + sorted((DATASETS / "camera-photos" / "images").glob("*.jpg")))


def _font(rng: random.Random) -> ImageFont.ImageFont:
    size = rng.randint(40, 90)
    for name in ("DejaVuSans-Bold.ttf", "DejaVuSerif.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def logo(rng: random.Random) -> Image.Image:
    w, h = rng.choice([(400, 400), (500, 300), (300, 500), (600, 200)])
    im = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(im)
    for _ in range(rng.randint(1, 4)):
        x0, y0 = rng.randint(0, w // 2), rng.randint(0, h // 2)
        box = [x0, y0, rng.randint(x0 + 30, w), rng.randint(y0 + 30, h)]
        getattr(draw, rng.choice(["ellipse", "rectangle"]))(box, fill=tuple(rng.randint(0, 220) for _ in range(3)))
    text = "".join(rng.choice("ABCDEFGHKLMNPRSTWXYZ") for _ in range(rng.randint(3, 6)))
    draw.text((rng.randint(0, w // 4), rng.randint(0, h // 3)), text, font=_font(rng),
              fill=tuple(rng.randint(0, 160) for _ in range(3)))
    return im


def cut_out(photo: Image.Image) -> Image.Image:
    """A product shot on white: the photo inside an ellipse, white around it."""
    w, h = photo.size
    mask = Image.new("L", photo.size, 0)
    ImageDraw.Draw(mask).ellipse([w * 0.1, h * 0.1, w * 0.9, h * 0.9], fill=255)
    return Image.composite(photo, Image.new("RGB", photo.size, "white"), mask)


def on_page(picture: Image.Image, side: int, page: tuple[int, int], rng: random.Random, centred: bool) -> Image.Image:
    p = picture.copy()
    p.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = Image.new("RGB", page, "white")
    at = ((page[0] - p.width) // 2, (page[1] - p.height) // 2) if centred else \
        (rng.randint(0, page[0] - p.width), rng.randint(0, page[1] - p.height))
    out.paste(p, at)
    return out


def save(im: Image.Image, stem: Path, rng: random.Random) -> None:
    if rng.random() < 0.5:
        im.save(stem.with_suffix(".png"))
    else:
        im.save(stem.with_suffix(".jpg"), quality=rng.randint(75, 95))


def build(work: Path, split: str, kind: str, lo: int, hi: int, n: int, seed: int) -> Path:
    out = work / f"{split}-{kind}-{lo}-{hi}"
    if out.is_dir() and any(out.iterdir()):
        return out
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pictures = [logo(rng) for _ in range(n)] if kind == "logo" else \
        [Image.open(p).convert("RGB") for p in rng.sample(sources(split), n)]
    if kind == "cut-out":
        pictures = [cut_out(p) for p in pictures]
    for k, picture in enumerate(pictures):
        side = rng.randint(lo, hi)
        again = int(np.clip(side * rng.uniform(0.75, 1.35), lo * 0.75, hi * 1.35))
        page = rng.choice(PAGES)
        centred = rng.random() < 0.5
        save(on_page(picture, side, page, rng, True), out / f"p{k:03d}_a", rng)  # the catalogue: centred
        save(on_page(picture, again, page, rng, centred), out / f"p{k:03d}_b", rng)
    return out


def check(folder: Path, workers: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(confidences of the copies, of the catalogue's pairs, CPU s of the checks)."""
    cache = folder / f"records-{verify.FEATURES_VERSION}.pkl"
    if cache.exists():
        names, rows = pickle.loads(cache.read_bytes())
    else:
        files = sorted(p for p in folder.iterdir() if p.suffix in (".jpg", ".png"))
        enc = get_encoder(copies.COPIES_METHOD).for_workers(workers).encode_files(files, workers=workers, warn=False)
        names, rows = [Path(p).name for p in enc.paths], list(enc.encodings)
        cache.write_bytes(pickle.dumps((names, rows)))
    t0 = time.process_time()
    ids = [n.split("_")[0] for n in names]
    pos, neg = [], []
    for i, j in itertools.combinations(range(len(names)), 2):
        same = ids[i] == ids[j]
        if same or ("_a" in names[i] and "_a" in names[j]):
            (pos if same else neg).append(copies.verify_records(rows[i], rows[j], confidence_only=True).confidence)
    return np.array(pos), np.array(neg), time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="/tmp/imagetwins-small-pictures")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    need_datasets("photos-public/images", "ukbench-600/images", "camera-photos/images",
                  script="probe_small_pictures.py")
    work = Path(args.workdir)
    t = verify.DEFAULT_CONFIDENCE
    lines = [f"Measured {time.strftime('%Y-%m-%d')} (VERDICT_VERSION {verify.VERDICT_VERSION}). Command: "
             "`python benchmarks/probe_small_pictures.py` (its docstring says what the sets hold). Pairs at the "
             f"default confidence {t:g} or above:", "",
             "| set | split | copies kept (same picture, two pages) | false copies (catalogue pairs) | CPU s |",
             "| --- | --- | ---: | ---: | ---: |"]
    for seed, (split, kind, lo, hi, n) in enumerate(SETS, 1):
        folder = build(work, split, kind, lo, hi, n, seed)
        pos, neg, cpu = check(folder, args.workers)
        row = (f"| {kind}s {lo}-{hi} px | {split} | {int((pos >= t).sum())} of {len(pos)} | "
               f"{int((neg >= t).sum())} of {len(neg):,} | {cpu:.0f} |")
        print(row, flush=True)
        lines.append(row)
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_section("small-pictures", "Small pictures on a flat canvas (`benchmarks/probe_small_pictures.py`)", table)


if __name__ == "__main__":
    main()
