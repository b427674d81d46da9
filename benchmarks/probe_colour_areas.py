"""How much of a picture must have its colours turned for ``copies`` to mark the copy ``recoloured`` (a colour variant).

    python benchmarks/probe_colour_areas.py [--first 60 --count 12] [--turn 85]

A shop keeps colour variants apart with ``--colour-variants apart``; a variant the check does not mark is grouped
as a plain copy there too, and ``remove`` would move it. Each of ``--count`` photos-public photos from ``--first``
(no photo the mark was tuned on: those were 3, 30, 56, 90, 120 and 40-51; these are 60-71 by
default) gets three
copies with the hue turned ``--turn`` degrees (of 256, Pillow's HSV) over the whole picture, over a centred
rectangle of 30 % of it, and of 8 % (a small accent: a logo, a strap), each saved as a JPEG (q92). One
``imagetwins.find`` (copies, keep original, no cache) over them: per area, how many copies are grouped with their
photo and how many of those are marked ``recoloured``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATASETS, need_datasets  # noqa: E402

import imagetwins  # noqa: E402

AREAS = {"whole": 1.0, "area30": 0.30, "area8": 0.08}


def turned(picture: Image.Image, turn: int) -> Image.Image:
    hue, saturation, value = picture.convert("HSV").split()
    return Image.merge("HSV", (hue.point(lambda x: (x + turn) % 256), saturation, value)).convert("RGB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=60)
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--turn", type=int, default=85)
    args = parser.parse_args()
    need_datasets("photos-public/images")
    photos = sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[args.first:args.first + args.count]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for path in photos:
            picture = Image.open(path).convert("RGB")
            width, height = picture.size
            picture.save(folder / f"{path.stem}.jpg", quality=95)
            other = turned(picture, args.turn)
            for name, share in AREAS.items():
                side = share ** 0.5
                box = (int(width * (1 - side) / 2), int(height * (1 - side) / 2), int(width * (1 + side) / 2),
                       int(height * (1 + side) / 2))
                copy = picture.copy()
                copy.paste(other.crop(box), box)
                copy.save(folder / f"{path.stem}_{name}.jpg", quality=92)
        result = imagetwins.find(folder, keep="original", cache=False)
        grouped = {name: 0 for name in AREAS}
        marked = {name: 0 for name in AREAS}
        for group, decision in zip(result.groups, result.decisions):
            recoloured = set(group.recoloured)
            for file in group.files:
                stem = Path(file).stem
                name = stem.rsplit("_", 1)[-1]
                if name in AREAS and decision.keeper != file and Path(decision.keeper).stem == stem.rsplit("_", 1)[0]:
                    grouped[name] += 1
                    marked[name] += file in recoloured
    print(f"photos-public {args.first}-{args.first + len(photos) - 1}, hue turned {args.turn} of 256")
    print("area turned | grouped with its photo | marked recoloured")
    for name, share in AREAS.items():
        print(f"{share:.0%} | {grouped[name]} of {len(photos)} | {marked[name]} of {grouped[name]}")


if __name__ == "__main__":
    main()
