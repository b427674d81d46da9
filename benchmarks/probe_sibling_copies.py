"""Two copies of an original that is not in the folder ("siblings"): a crop at the original's pixels and a thumbnail
of the whole picture. How many such pairs ``copies`` groups at its default, and what ``explain`` calls the others.
A count only: nothing is changed.

    python benchmarks/probe_sibling_copies.py --photos 20 --seed 11

Found on a newcomer's shop catalogue (2026-12-04): a product photo's crop and its thumbnail, grouped through the
original when it is there, were called "re-shot: ... a zoomed second shot (confidence capped at 0.5)" when it is not
(``verify``'s detail rule: the crop holds detail finer than the thumbnail, so neither file is made from the other).
For each thumbnail scale and crop share, ``--photos`` photos-public photos (drawn with ``--seed``) give one sibling
pair each (crop: the share of the area, off-centre, JPEG 90; thumbnail: 1/scale of each side, Lanczos, JPEG 85), and
one folder per setting is searched with ``find_duplicate_groups`` (no cache). One ``SIBLINGS`` line per setting.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets  # noqa: E402

from imagetwins.explain import explain  # noqa: E402
from imagetwins.finder import find_duplicate_groups  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=20)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--scales", default="2,3,4", help="thumbnail: 1/scale of each side")
    ap.add_argument("--crops", default="0.9,0.75", help="crop: this share of the area")
    args = ap.parse_args()
    need_datasets("photos-public/images", script="probe_sibling_copies.py")
    rng = random.Random(args.seed)
    photos = rng.sample(sorted((DATASETS / "photos-public" / "images").glob("*.jpg")), args.photos)
    start = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        for scale in (int(s) for s in args.scales.split(",")):
            for share in (float(c) for c in args.crops.split(",")):
                folder = Path(tmp) / f"s{scale}_c{round(share * 100)}"
                folder.mkdir()
                for i, photo in enumerate(photos):
                    img = Image.open(photo).convert("RGB")
                    w, h = img.size
                    cw, ch = int(w * share ** 0.5), int(h * share ** 0.5)
                    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
                    img.crop((x, y, x + cw, y + ch)).save(folder / f"p{i:02d}_crop.jpg", quality=90)
                    img.resize((w // scale, h // scale), Image.Resampling.LANCZOS).save(
                        folder / f"p{i:02d}_thumb.jpg", quality=85)
                result = find_duplicate_groups(folder, "copies", cache=None)
                grouped = {Path(f).name.split("_")[0] for g in result.groups for f in g.files}
                missed = [f"p{i:02d}" for i in range(len(photos)) if f"p{i:02d}" not in grouped]
                verdicts: dict[str, int] = {}
                for name in missed:
                    why = explain(folder / f"{name}_crop.jpg", folder / f"{name}_thumb.jpg", ["copies"])
                    verdict = str(why.verification.verdict()) if why.verification is not None else "none"
                    verdicts[verdict] = verdicts.get(verdict, 0) + 1
                print("SIBLINGS", json.dumps({"thumbnail": f"1/{scale}", "crop_area": share, "pairs": len(photos),
                                              "grouped": len(photos) - len(missed), "missed_verdicts": verdicts}),
                      flush=True)
    print(f"CPU (this process): {time.process_time() - start:.0f} s")


if __name__ == "__main__":
    main()
