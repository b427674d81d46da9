"""Phone screenshots that cut a photo's bottom off: does ``copies`` call them copies?

    python benchmarks/bench_screenshot_crops.py                 # about 5 CPU minutes; prints the table
    python benchmarks/bench_screenshot_crops.py --photos 2      # a quick look

A photo opened on a phone, shown at the screen's width and taller than the screen leaves it room, is cut at the
bottom by the screen's edge; a screenshot of it holds the phone's status bar above the picture (the time and the
signal, wifi and battery icons on a bar of one colour) and the picture's top part. Nothing in it is scene the
original lacks, but its frame reaches beyond the original's (the bar) while the original's reaches beyond its own
(the part cut off): the framing rule reads "two framings of one scene" unless the bar counts as padding. Each photo
(the first of each source's files, spread over the source) is shown at a phone's width (1,080, 1,170 or 1,284 px)
under a status bar 5.5-12.5 % of that width tall (light or dark), its bottom cut by 2-50 % of its height, saved as
PNG (as phones save screenshots) or as a JPEG at quality 85 (one shared onwards); each is checked against the
original as ``find`` checks a pair (``copies.check_pairs``). CPU: user+sys of this process.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets  # noqa: E402
from bench_tilted_copies import called_table, checked_cases, drafted  # noqa: E402

from imagetwins import copies  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402

CUTS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)
SOURCES = ("photos-public", "camera-photos", "ukbench-600")
#: (label, dark theme, saved as)
VARIANTS = (("light bar, PNG", False, "PNG"), ("dark bar, PNG", True, "PNG"), ("light bar, JPEG q85", False, "JPEG"),
            ("dark bar, JPEG q85", True, "JPEG"))


def phone_screenshot(img: Image.Image, cut: float, dark: bool, rng: np.random.Generator) -> Image.Image:
    """``img`` at a phone's width under its status bar, the bottom ``cut`` of its height cut off by the screen."""
    width = int(rng.choice([1080, 1170, 1284]))
    bar = int(width * rng.uniform(0.055, 0.125))
    shown = img.resize((width, max(1, round(img.height * width / img.width))), Image.Resampling.LANCZOS)
    kept = max(1, round(shown.height * (1 - cut)))
    out = Image.new("RGB", (width, bar + kept), (0, 0, 0) if dark else (248, 248, 248))
    out.paste(shown.crop((0, 0, width, kept)), (0, bar))
    draw = ImageDraw.Draw(out)
    ink = (255, 255, 255) if dark else (12, 12, 12)
    draw.text((int(width * 0.07), bar // 3), f"{int(rng.integers(0, 24))}:{int(rng.integers(0, 60)):02d}", fill=ink,
              font_size=max(8, bar * 2 // 5))
    for k in range(3):  # battery, wifi, signal
        x = width - int(width * 0.07) * (k + 1)
        draw.rectangle((x, bar // 3, x + int(width * 0.045), bar * 2 // 3), fill=ink)
    return out


def saved(img: Image.Image, kind: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=kind, **({"quality": 85} if kind == "JPEG" else {}))
    return buf.getvalue()


def photos(source: str, count: int) -> list[Path]:
    """``count`` photos of ``source``, spread over its sorted files."""
    found = sorted((DATASETS / source / "images").glob("*.jpg"))
    return found[::max(1, len(found) // count)][:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=6, help="photos of each source")
    parser.add_argument("--sources", default=",".join(SOURCES), help="comma-separated sources")
    args = parser.parse_args()
    sources = args.sources.split(",")
    need_datasets(*(f"{s}/images" for s in sources))
    encoder = get_encoder(copies.COPIES_METHOD)
    rng = np.random.default_rng(0)
    c0 = time.process_time()
    called: dict = {}
    missed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for source in sources:
            for k, photo in enumerate(photos(source, args.photos)):
                img = drafted(photo)
                made = (((source, label, cut), saved(phone_screenshot(img, cut, dark, rng), kind), kind.lower())
                        for label, dark, kind in VARIANTS for cut in CUTS)
                for case, score in checked_cases(encoder, Path(tmp), k, img, made, called):
                    missed.append(f"{source} {photo.name} {case[1]}, {case[2]:.0%} cut: {score:.3f}")
                print(f"{photo.name}: done ({time.process_time() - c0:.0f} CPU s)", file=sys.stderr, flush=True)
    print(f"\nCalled a copy at the default confidence, of {args.photos} photos of each source "
          f"({time.process_time() - c0:.0f} CPU s)\n")
    print(called_table(("source", "screenshot"), [(s, label) for s in sources for label, *_ in VARIANTS], CUTS,
                       [f"{c:.0%} cut" for c in CUTS], called))
    print("\nMissed:\n" + "\n".join(missed) if missed else "\nMissed: none")


if __name__ == "__main__":
    main()
