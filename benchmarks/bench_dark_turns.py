"""Dark photos turned a few degrees with black fill: does ``copies`` call them copies?

    python benchmarks/bench_dark_turns.py                  # about 5 CPU minutes; prints the table
    python benchmarks/bench_dark_turns.py --photos 3       # a quick look

A photo turned in an editor at its own frame size brings in wedges of fill at its edges (``bench_tilted_copies.py``);
black wedges beside a picture that is itself nearly black along its edge (a night scene) are hard to tell from more
of the dark scene, which a re-shot would show. The photos here are the darkest along the edge of each source (the
share of a 160 x 120 grey thumbnail's 6 px edge band within 6 grey levels of black), the photo the padding rule was
first fixed on (camera-photos' mei__Canon_PowerShot_S400.jpg) listed apart. Each is turned by each angle (the sign
alternating by photo) with black fill, kept at its size and saved as JPEG at quality 90 (also re-saved at 60), or
with its top wedges cut away (``bench_straightened_copies.py``'s one-side crop); each copy is checked against its
original as ``find`` checks a pair (``copies.check_pairs``). CPU: user+sys of this process.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets  # noqa: E402
from bench_straightened_copies import straightened  # noqa: E402
from bench_tilted_copies import called_table, checked_cases, drafted, jpeg_saved  # noqa: E402

from imagetwins import copies  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402

ANGLES = (1, 2, 3, 4, 5, 7, 10, 15, 20, 30)
SOURCES = ("camera-photos", "photos-public", "ukbench-600", "holidays-half")
TUNED = "mei__Canon_PowerShot_S400.jpg"
BLACK = (0, 0, 0)
VARIANTS = ("same size", "same size, re-saved q60", "top wedges cut")


def edge_darkness(path: Path) -> float:
    """The share of ``path``'s 160 x 120 grey thumbnail's 6 px edge band within 6 grey levels of black."""
    img = Image.open(path)
    img.draft("L", (320, 320))
    grey = np.asarray(img.convert("L").resize((160, 120)), np.int16)
    band = np.concatenate([grey[:6].ravel(), grey[-6:].ravel(), grey[6:-6, :6].ravel(), grey[6:-6, -6:].ravel()])
    return float((band <= 6).mean())


def darkest(source: str, count: int, most: float) -> list[tuple[float, Path]]:
    """The ``count`` photos of ``source`` darkest along the edge (at most ``most`` of the band black: a photo black
    all round shows no edge a turn could be told by), the tuned photo left out."""
    found = [(edge_darkness(p), p) for p in sorted((DATASETS / source / "images").glob("*.jpg")) if p.name != TUNED]
    return sorted((d for d in found if d[0] <= most), key=lambda d: -d[0])[:count]


def turned(img: Image.Image, angle: float, variant: str) -> bytes:
    if variant == "top wedges cut":
        return straightened(img, angle, (1, 0, 0, 0), False, BLACK, (90,))
    qualities = (90, 60) if "q60" in variant else (90,)
    return jpeg_saved(img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=BLACK), qualities)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=4, help="darkest photos of each source")
    parser.add_argument("--most", type=float, default=0.9, help="largest share of the edge band black")
    parser.add_argument("--angles", default=",".join(map(str, ANGLES)), help="comma-separated angles in degrees")
    parser.add_argument("--sources", default=",".join(SOURCES), help="comma-separated sources")
    args = parser.parse_args()
    sources = args.sources.split(",")
    need_datasets(*(f"{s}/images" for s in sources))
    angles = [float(a) for a in args.angles.split(",")]
    encoder = get_encoder(copies.COPIES_METHOD)
    chosen = [("tuned", 0.0, DATASETS / "camera-photos" / "images" / TUNED)]
    chosen[0] = ("tuned", edge_darkness(chosen[0][2]), chosen[0][2])
    chosen += [(source, d, p) for source in sources for d, p in darkest(source, args.photos, args.most)]
    c0 = time.process_time()
    called: dict = {}
    missed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, (group, dark, photo) in enumerate(chosen):
            img = drafted(photo)
            sign = 1 if k % 2 == 0 else -1
            made = (((group, variant, angle), turned(img, sign * angle, variant), "jpg")
                    for variant in VARIANTS for angle in angles)
            for case, score in checked_cases(encoder, Path(tmp), k, img, made, called):
                missed.append(f"{photo.name} ({dark:.2f} of the edge black) {case[1]} {case[2]:g} deg: {score:.3f}")
            print(f"{group} {photo.name} ({dark:.2f}): done ({time.process_time() - c0:.0f} CPU s)", file=sys.stderr,
                  flush=True)
    print(f"\nCalled a copy at the default confidence ({time.process_time() - c0:.0f} CPU s)\n")
    print(called_table(("photos", "copy"), [(g, v) for g in ("tuned", *sources) for v in VARIANTS], angles,
                       [f"{a:g}°" for a in angles], called))
    print("\nMissed:\n" + "\n".join(missed) if missed else "\nMissed: none")


if __name__ == "__main__":
    main()
