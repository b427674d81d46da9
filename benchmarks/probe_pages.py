"""Pages that differ by content on a blank part: a shop's catalogue pages, forms, letters (``verify.ADDED_CAP``).

    python benchmarks/probe_pages.py              # about 60 CPU s; writes BENCHMARKS.md
    python benchmarks/probe_pages.py --no-write   # print only

Each split makes PAGES base pages: one product photo (120-300 px) on a white or off-white page (800 x 1000, 1000 x
1000 or 850 x 1100), with lines of text under it on half of them, the lower quarter left blank; and for each:

- *copies* (must stay copies): the page saved again (JPEG 25-95 or PNG), or scaled to 0.5-0.9 of its size and saved;
- *different pages* (must not be copies; a shop's ``remove`` would move one of them):
  ``+ product``: the page with a second product photo in its blank part; ``+ signature``: the page with a pen
  stroke and a "signed" line in its blank part; ``+ product, copy``: the page scaled to 0.5-0.9 and saved at JPEG
  25-60 against the page with the second product (the attack: a half-size re-save of a one-product page was a copy
  of the two-product page); ``zoomed``: a page holding the first product alone, 2.5-3.5 times as large, against
  the page with the second product (the one-product page mapped whole into the two-product page).

Pairs checked with ``copies.verify_records`` (every pair listed, whether or not a search proposes it), and the
splits' folders run through ``imagetwins.find(..., method="copies")`` end to end (hash-sure pairs included: a page
and the same page with a signature are a few bits apart): pairs of different pages in one group are false copies.
FIT: photos-public 0-124 (the rule's constants were chosen on pages made of ukbench-600 groups 0-10 and
photos-public photos, BENCHMARKS "Pages that differ by content"); HELD-OUT: view 0 of ukbench-600 groups 75-149,
camera-photos and photos-public 125-249, another seed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets, write_section  # noqa: E402

import imagetwins  # noqa: E402
from imagetwins import copies, verify  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402

PAGES = 30
SIZES = ((800, 1000), (1000, 1000), (850, 1100))
WORDS = ("lorem", "ipsum", "dolor", "sit", "amet", "price", "$19.99", "order", "shipping", "item", "colour", "size")
#: (kind, the two files' suffixes, whether the pair is a copy)
PAIRS = (("copy: saved again", ("base", "resaved"), True), ("copy: scaled 0.5-0.9", ("base", "scaled"), True),
         ("+ product", ("base", "product"), False), ("+ signature", ("base", "signed"), False),
         ("+ product, copy", ("lowres", "product"), False), ("zoomed", ("zoomed", "product"), False))


def sources(split: str) -> list[Path]:
    public = sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))
    if split == "fit":
        return public[:125]
    return ([DATASETS / "ukbench-600" / "images" / f"ukbench{g * 4:05d}.jpg" for g in range(75, 150)]
            + sorted((DATASETS / "camera-photos" / "images").glob("*.jpg")) + public[125:])


def fitted(photo: Image.Image, side: int) -> Image.Image:
    p = photo.copy()
    p.thumbnail((side, side), Image.Resampling.LANCZOS)
    return p


def signature(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], rng: random.Random) -> None:
    """A pen stroke (a few joined loops) and a "signed" line of text in ``box``."""
    x0, y0, x1, y1 = box
    points, x = [], x0 + rng.randint(0, 40)
    for _ in range(rng.randint(12, 24)):
        x += rng.randint(6, 18)
        points.append((min(x, x1), rng.randint(y0 + 10, y0 + 60)))
    draw.line(points, fill=rng.choice([(20, 20, 120), (10, 10, 10)]), width=rng.randint(2, 4), joint="curve")
    name = f"{rng.choice(WORDS)} {rng.choice(WORDS)}"
    draw.text((x0, y0 + 70), f"signed: {name}, {rng.randint(1, 28)}.{rng.randint(1, 12)}", fill=(30, 30, 30))


def save(im: Image.Image, path: Path, quality: int | None) -> None:
    if quality is None:
        im.save(path.with_suffix(".png"))
    else:
        im.save(path.with_suffix(".jpg"), quality=quality)


def build(work: Path, split: str, seed: int) -> Path:
    out = work / split
    if out.is_dir() and any(out.iterdir()):
        return out
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    photos = rng.sample(sources(split), 2 * PAGES)
    for k in range(PAGES):
        a, b = (Image.open(p).convert("RGB") for p in photos[2 * k:2 * k + 2])
        size = rng.choice(SIZES)
        paper = rng.choice([(255, 255, 255), (245, 243, 238)])
        page = Image.new("RGB", size, paper)
        side = rng.randint(120, 300)
        first = fitted(a, side)
        at = (rng.randint(40, size[0] - first.width - 40), rng.randint(40, size[1] // 3))
        page.paste(first, at)
        draw = ImageDraw.Draw(page)
        if rng.random() < 0.5:  # lines of text under the product
            y = at[1] + first.height + 30
            for _ in range(rng.randint(5, 20)):
                if y > size[1] * 0.7:
                    break
                draw.text((60, y), " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 10))), fill=(40, 40, 40))
                y += 22
        stem = out / f"p{k:03d}"
        quality = rng.choice([None, rng.randint(75, 95)])
        save(page, stem.with_name(f"{stem.name}_base"), quality)
        save(page, stem.with_name(f"{stem.name}_resaved"), rng.choice([None, rng.randint(25, 95)]))
        scale = rng.uniform(0.5, 0.9)
        small = page.resize((round(size[0] * scale), round(size[1] * scale)), Image.Resampling.LANCZOS)
        save(small, stem.with_name(f"{stem.name}_scaled"), rng.choice([None, rng.randint(40, 95)]))
        scale = rng.uniform(0.5, 0.9)
        small = page.resize((round(size[0] * scale), round(size[1] * scale)), Image.Resampling.LANCZOS)
        save(small, stem.with_name(f"{stem.name}_lowres"), rng.randint(25, 60))
        blank = (40, int(size[1] * 0.76), size[0] - 40, size[1] - 30)  # the lower quarter, left blank
        product = page.copy()
        second = fitted(b, min(rng.randint(100, 250), blank[3] - blank[1] - 10))
        product.paste(second, (rng.randint(blank[0], blank[2] - second.width), blank[1] + 5))
        save(product, stem.with_name(f"{stem.name}_product"), quality)
        signed = page.copy()
        signature(ImageDraw.Draw(signed), (rng.randint(60, size[0] // 2), blank[1] + 10, size[0] - 60, blank[3]), rng)
        save(signed, stem.with_name(f"{stem.name}_signed"), quality)
        zoomed = Image.new("RGB", size, paper)
        large = fitted(a, min(round(side * rng.uniform(2.5, 3.5)), min(size) - 80))
        zoomed.paste(large, ((size[0] - large.width) // 2, (size[1] - large.height) // 3))
        save(zoomed, stem.with_name(f"{stem.name}_zoomed"), rng.choice([None, rng.randint(75, 95)]))
    return out


def measure(folder: Path, workers: int) -> tuple[dict, dict, float, float]:
    """(confidences of each kind's pairs, the same pairs grouped by ``find``, CPU s of the checks, of ``find``)."""
    files = sorted(p for p in folder.iterdir() if p.suffix in (".jpg", ".png"))
    enc = get_encoder(copies.COPIES_METHOD).for_workers(workers).encode_files(files, workers=workers, warn=False)
    rows = {Path(p).stem: r for p, r in zip(enc.paths, enc.encodings)}
    t0 = time.process_time()
    conf: dict[str, list[float]] = {kind: [] for kind, _, _ in PAIRS}
    for k in range(PAGES):
        for kind, (x, y), _ in PAIRS:
            conf[kind].append(copies.verify_records(rows[f"p{k:03d}_{x}"], rows[f"p{k:03d}_{y}"]).confidence)
    checks = time.process_time() - t0
    t0 = time.process_time()
    result = imagetwins.find(folder, method=copies.COPIES_METHOD, workers=workers, cache=False)
    group_of = {Path(f).stem: n for n, g in enumerate(result.groups) for f in g.files}
    grouped = {kind: sum(1 for k in range(PAGES) if group_of.get(f"p{k:03d}_{x}", -1) == group_of.get(
        f"p{k:03d}_{y}", -2)) for kind, (x, y), _ in PAIRS}
    return conf, grouped, checks, time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="/tmp/imagetwins-pages")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    need_datasets("photos-public/images", "ukbench-600/images", "camera-photos/images", script="probe_pages.py")
    work = Path(args.workdir)
    t = verify.DEFAULT_CONFIDENCE
    lines = [f"Measured {time.strftime('%Y-%m-%d')} (VERDICT_VERSION {verify.VERDICT_VERSION}). Command: "
             "`python benchmarks/probe_pages.py` (its docstring says what the pages hold). Pairs checked at the "
             f"default confidence {t:g} or above, and pairs `find` puts in one group, of {PAGES} pages a split:", "",
             "| pair | should be | split | checked: copies | `find`: grouped | CPU s (checks; find) |",
             "| --- | --- | --- | ---: | ---: | ---: |"]
    for seed, split in enumerate(("fit", "held-out"), 31):
        folder = build(work, split, seed)
        conf, grouped, cpu, cpu_find = measure(folder, args.workers)
        for kind, _, copy in PAIRS:
            c = np.array(conf[kind])
            row = (f"| {kind} | {'copy' if copy else 'not a copy'} | {split} | {int((c >= t).sum())} of {len(c)} | "
                   f"{grouped[kind]} of {len(c)} | {cpu:.0f}; {cpu_find:.0f} |")
            print(row, flush=True)  # (the rows as they come; the table's head is the section's)
            lines.append(row)
    if not args.no_write:
        write_section("pages", "Pages that differ by content on a blank part (`benchmarks/probe_pages.py`)",
                      "\n".join(lines))


if __name__ == "__main__":
    main()
