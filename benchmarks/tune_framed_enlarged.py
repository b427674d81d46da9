"""Where the framed-enlargement threshold sits (``copies.FRAMED_ENLARGED_BELOW``): the files' look
(``verify.unexplained_detail``, the framed file's picture as the finer one) of a photo shown in a phone screenshot
against the plain file, for screenshots of the photo enlarged (must score below) and screenshots of the photo at its
own size beside a smaller copy of it (the screenshot holds detail the smaller file lacks: must score at or above).

    python benchmarks/tune_framed_enlarged.py [--first 200 --last 250]

Tuning split: photos-public 200-249 (sorted by name; the folder the rule was first looked at on). Held out for the
threshold: ``bench_keep_enlarged_framed.py`` (photos-public 100-199) and the family folders.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_keep_enlarged_framed import screenshot  # noqa: E402

KERNELS = {"lanczos": Image.Resampling.LANCZOS, "bicubic": Image.Resampling.BICUBIC,
           "bilinear": Image.Resampling.BILINEAR}


def look(screen: Path, plain: Path) -> float | None:
    from imagetwins import copies, verify
    from imagetwins.encoders import get_encoder

    enc = get_encoder("copies").encode_files([str(screen), str(plain)], workers=1, warn=False)
    if enc.failures or len(enc.paths) != 2:
        return None
    rows = enc.encodings
    fa, alt = copies._sides(rows[0])
    fb = copies._sides(rows[1])[0]
    v = verify.verify_pair(fa, fb)
    if v.transform is None or v.mirrored:
        return None
    return verify.unexplained_detail(dataclasses.replace(v, inner=0), fa, fb, str(screen), str(plain))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--first", type=int, default=200)
    ap.add_argument("--last", type=int, default=250)
    args = ap.parse_args()
    from _common import DATASETS, need_datasets

    need_datasets("photos-public/images")
    photos = sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[args.first:args.last]
    rows: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k, path in enumerate(photos):
            img = Image.open(path).convert("RGB")
            rng = np.random.default_rng([93, k])
            plain, screen = Path(tmp) / "plain.jpg", Path(tmp) / "screen.jpg"
            kernel = list(KERNELS)[k % 3]
            for factor, quality in ((1.3, 92), (1.6, 92), (2.0, 75)):
                big = img.resize((round(img.width * factor), round(img.height * factor)), KERNELS[kernel])
                img.save(plain, quality=92)
                screenshot(big, rng).save(screen, quality=quality)
                rows.setdefault(f"enlarged {factor}x {kernel} q{quality} (yes)", []).append(look(screen, plain))
            for side in (0.5, 0.65, 0.78):
                small = img.resize((round(img.width * side), round(img.height * side)), Image.Resampling.LANCZOS)
                small.save(plain, quality=92)
                screenshot(img, rng).save(screen, quality=92)
                rows.setdefault(f"photo beside its {side}x copy (no)", []).append(look(screen, plain))
            print(k, flush=True, file=sys.stderr)
    print("| pair | pairs | measured | lowest | highest | values |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name, got in rows.items():
        vals = sorted(x for x in got if x is not None)
        print(f"| {name} | {len(got)} | {len(vals)} | {min(vals, default=float('nan')):.3f} | "
              f"{max(vals, default=float('nan')):.3f} | {' '.join(f'{x:.2f}' for x in vals)} |")


if __name__ == "__main__":
    main()
