"""Straightened copies (a turn, then a crop): does ``copies`` call them copies?

    python benchmarks/bench_straightened_copies.py                # about 6 CPU minutes; prints the tables
    python benchmarks/bench_straightened_copies.py --photos 4     # a quick look

The sibling of ``bench_tilted_copies.py`` (a turn at the original's frame size, its wedges of fill all kept): here
the turn is FOLLOWED by a crop, as a phone editor's "straighten" does. Each photo is turned by each angle (PIL
``im.rotate`` without ``expand``, black fill unless said, the sign alternating by photo), then:

- straightened: cropped to the largest centred rectangle of the photo's shape that holds no fill (every wedge cut
  away) and scaled back up to the photo's size (the phone's straighten tool); the same re-saved at quality 60; the
  same crop kept at its own size (not scaled back);
- wedges cut on one side / two sides: the turned frame cropped by that margin at its top (and its left), wedges left
  on the other sides, at the crop's own size (one side: black or white fill);
- half-straightened: cropped by half that margin on every side and scaled back up (small wedges left everywhere).

Every copy is saved as a JPEG (quality 90) and checked against its original as ``find -m copies`` checks a pair
(``copies.check_pairs``: the same decode, features, canvas cut-outs and look at the files). Recall: the share
called a copy at the default confidence, per source (camera-photos: full-size camera JPEGs, drafted to at most 2,048
px, every second one; photos-public: the first ones). CPU: user+sys of this process (the verification's worker
processes not counted).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets  # noqa: E402
from bench_tilted_copies import checked_cases, drafted, jpeg_saved  # noqa: E402

from imagetwins import copies  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402

ANGLES = (1, 2, 3, 4, 5, 7, 10, 15)
SOURCES = ("camera-photos", "photos-public")
BLACK, WHITE = (0, 0, 0), (255, 255, 255)
#: (label, share of the wedge-free margin cut at (top, right, bottom, left), scaled back up, fill, JPEG qualities in
#: turn)
VARIANTS = (("straightened (all wedges cut, scaled back)", (1, 1, 1, 1), True, BLACK, (90,)),
            ("straightened, re-saved q60", (1, 1, 1, 1), True, BLACK, (90, 60)),
            ("straightened, not scaled back", (1, 1, 1, 1), False, BLACK, (90,)),
            ("wedges cut on one side, black", (1, 0, 0, 0), False, BLACK, (90,)),
            ("wedges cut on one side, white", (1, 0, 0, 0), False, WHITE, (90,)),
            ("wedges cut on two sides, black", (1, 0, 0, 1), False, BLACK, (90,)),
            ("half-straightened (half the margin cut, scaled back), black", (0.5, 0.5, 0.5, 0.5), True, BLACK, (90,)))


def photos(source: str, count: int) -> list[Path]:
    """The first ``count`` photos of ``source`` (camera-photos: every second one)."""
    found = sorted((DATASETS / source / "images").glob("*.jpg"))
    return (found[::2] if source == "camera-photos" else found)[:count]


def straighten_scale(width: int, height: int, degrees: float) -> float:
    """The largest ``s``: a centred ``s * width`` by ``s * height`` rectangle lies inside the frame turned by
    ``degrees`` (its corners inside the turned rectangle), so cropping to it leaves no fill."""
    c, s = abs(math.cos(math.radians(degrees))), abs(math.sin(math.radians(degrees)))
    return min(width / (width * c + height * s), height / (width * s + height * c))


def straightened(img: Image.Image, angle: float, cut: tuple, scale_back: bool, fill: tuple,
                 qualities: tuple) -> bytes:
    """``img`` turned by ``angle`` (``fill`` brought in), cropped by ``cut`` shares of the wedge-free margin at (top,
    right, bottom, left), scaled back to its size where asked, saved as JPEG at each of ``qualities`` in turn."""
    w, h = img.size
    out = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=fill)
    k = straighten_scale(w, h, angle)
    mx, my = math.ceil(w * (1 - k) / 2), math.ceil(h * (1 - k) / 2)
    top, right, bottom, left = cut
    out = out.crop((round(left * mx), round(top * my), w - round(right * mx), h - round(bottom * my)))
    if scale_back:
        out = out.resize((w, h), Image.Resampling.LANCZOS)
    return jpeg_saved(out, qualities)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=6, help="photos of each source")
    parser.add_argument("--angles", default=",".join(map(str, ANGLES)), help="comma-separated angles in degrees")
    args = parser.parse_args()
    need_datasets(*(f"{s}/images" for s in SOURCES))
    angles = [float(a) for a in args.angles.split(",")]
    encoder = get_encoder(copies.COPIES_METHOD)
    c0 = time.process_time()
    called: dict = {}
    missed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for source in SOURCES:
            for k, photo in enumerate(photos(source, args.photos)):
                img = drafted(photo)
                sign = 1 if k % 2 == 0 else -1
                made = (((source, label, angle), straightened(img, sign * angle, cut, scale_back, fill, qualities),
                         "jpg") for label, cut, scale_back, fill, qualities in VARIANTS for angle in angles)
                for case, score in checked_cases(encoder, Path(tmp), k, img, made, called):
                    missed.append(f"{photo.name} {case[1]} {case[2]:g} deg: {score:.3f}")
                print(f"{photo.name}: done ({time.process_time() - c0:.0f} CPU s)", file=sys.stderr, flush=True)
    print(f"\nCalled a copy at the default confidence, of {args.photos} photos of each source "
          f"({time.process_time() - c0:.0f} CPU s)\n")
    for source in SOURCES:
        print(f"{source}\n")
        print("| copy | " + " | ".join(f"{a:g}°" for a in angles) + " |")
        print("| --- |" + " ---: |" * len(angles))
        for label, *_ in VARIANTS:
            cells = [f"{sum(called[source, label, a])}/{len(called[source, label, a])}" for a in angles]
            print(f"| {label} | " + " | ".join(cells) + " |")
        total = [x for (s, _, _), v in called.items() if s == source for x in v]
        print(f"\n{source}: {sum(total)} of {len(total)} called copies\n")
    print("Missed:\n" + "\n".join(missed) if missed else "Missed: none")


if __name__ == "__main__":
    main()
