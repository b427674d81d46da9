"""A vignette alone: at which strength does ``copies`` stop calling the vignetted photo a copy?

    python benchmarks/bench_everyday_edits.py --workdir /tmp/everyday --photos 12 --seed 0   # first: the originals
    python benchmarks/probe_vignette.py --workdir /tmp/everyday             # ~5 minutes on 2 loaded cores

``bench_everyday_edits.py``'s ``square_filter`` copies are called re-shots ("another light") where the filter drawn
was a vignette. Here the vignette is alone: the 19 originals of seed 0 whose square copy drew one are darkened
towards the corners by ``1 - s * r**2`` (``r``: the distance from the centre, 1 at a corner; the corners at
``1 - s`` of their brightness) for each strength ``s``, on the whole frame and on the same square crop the benchmark
drew (enlarged to 1,080 px), saved as JPEG 85, and checked against the original as ``find`` checks a pair
(``bench_tilted_copies.checked_cases``). Prints the share called a copy at the default confidence per strength.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_everyday_edits as everyday  # noqa: E402
from bench_tilted_copies import checked_cases  # noqa: E402

from imagetwins import copies  # noqa: E402
from imagetwins.encoders import get_encoder  # noqa: E402

STRENGTHS = (0.0, 0.2, 0.35, 0.5, 0.7)
#: (source, photo) of seed 0 whose square_filter drew a vignette
CASES = ([("photos-public", k) for k in (1, 2, 3, 5, 7, 8)] + [("ukbench-600", k) for k in (1, 4, 5, 7, 10)]
         + [("holidays-half", k) for k in (0, 1, 6, 7)] + [("camera-photos", k) for k in (1, 3, 5, 7)])


def vignetted(img: Image.Image, strength: float) -> Image.Image:
    a = np.asarray(img, np.float32)
    h, w = a.shape[:2]
    y, x = np.mgrid[0:h, 0:w]
    r = np.hypot((x - w / 2) / (w / 2), (y - h / 2) / (h / 2)) / np.sqrt(2)
    return Image.fromarray(np.clip(a * (1 - strength * r ** 2)[..., None], 0, 255).astype(np.uint8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="bench_everyday_edits.py's --workdir")
    args = parser.parse_args()
    made = args.workdir / "seed0-n12"
    if not (made / "holidays-half" / "files.json").is_file():
        sys.exit(f"probe_vignette.py: run bench_everyday_edits.py --workdir {args.workdir} --photos 12 --seed 0 "
                 f"first (no {made})")
    encoder = get_encoder(copies.COPIES_METHOD)
    called: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n, (source, k) in enumerate(CASES):
            img = Image.open(made / source / f"{k:02d}_original.jpg").convert("RGB")
            rng = np.random.default_rng([0, everyday.SOURCES.index(source), k, 0])  # square_filter's draws
            side = round(min(img.size) * rng.uniform(0.6, 1.0))
            x, y = int(rng.integers(0, img.width - side + 1)), int(rng.integers(0, img.height - side + 1))
            square = img.crop((x, y, x + side, y + side)).resize((1080, 1080), Image.Resampling.LANCZOS)
            cases = [(("square crop", s), everyday._jpeg(vignetted(square, s), 85)[0], "jpg") for s in STRENGTHS]
            cases += [(("whole frame", s), everyday._jpeg(vignetted(img, s), 85)[0], "jpg") for s in STRENGTHS]
            checked_cases(encoder, Path(tmp), n, img, cases, called)
            print(f"{source} {k}: done", file=sys.stderr, flush=True)
    print("| vignette strength (corners at 1 - s) | " + " | ".join(f"{s:g}" for s in STRENGTHS) + " |")
    print("| --- |" + " ---: |" * len(STRENGTHS))
    for frame in ("whole frame", "square crop"):
        print(f"| {frame} | " + " | ".join(f"{sum(called[frame, s])}/{len(called[frame, s])}" for s in STRENGTHS)
              + " |")


if __name__ == "__main__":
    main()
