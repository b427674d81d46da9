"""Is the original kept beside a screenshot that shows it enlarged, and is a screenshot holding the picture at more
detail kept beside a smaller copy? (``copies.framed_picture``'s look at the files, ``FRAMED_ENLARGED_BELOW``)

For each photo of ``--source`` (photos-public: the portrait photos of 100-199, outside the family folders' first 40,
the tuning splits 1-10 and 200-249 and the test photos; camera-photos at 1024 px; holidays-half: one photo of each of
60 scenes; ukbench: view 2 of 60 objects, soft 320 px webcam pictures): a phone screenshot (dark or light bars, the
picture pasted full width) made with Pillow, saved as JPEG quality 92. Three folders, each photo a group of two files:

- ``enlarged``: the photo, and the screenshot holding it enlarged 1.3-1.7x a side (Lanczos): the photo must be kept;
- ``thumbnail``: the photo shrunk to 0.5x a side, and the screenshot holding the photo at 1.0x: the screenshot holds
  the picture at 4x the thumbnail's pixels, from the real photo, and must be kept;
- ``near``: the photo shrunk to 0.75x, and the screenshot holding the photo at 1.0x (1.78x the pixels, past the
  look's 1.25 a side): the screenshot must be kept.

    python benchmarks/bench_keep_enlarged_framed.py --workdir W [--source photos-public] [--src SRC]

``find -m copies``, ``original`` rule, no cache, in a fresh process per folder (``--src``: another source tree).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

ONE = r"""
import json, os, sys, time
import imagetwins
from imagetwins import keep
from imagetwins.finder import find_duplicate_groups
d, want = sys.argv[1], sys.argv[2]
with imagetwins.open_session(d, ["copies"], cache=False) as s:
    r = find_duplicate_groups(d, "copies", session=s, decisions=False)
    t = time.process_time()
    k = keep.decide_keepers(r, session=s)
    cpu = time.process_time() - t
kept, wrong = 0, []
for dd in k.decisions:
    name = os.path.basename(dd.keeper)
    if name.endswith(want):
        kept += 1
    else:
        wrong.append(name)
print(json.dumps({"groups": len(k.decisions), "kept as wanted": kept, "other keepers": sorted(wrong),
                  "keep_cpu_s": round(cpu, 2)}))
"""


def screenshot(picture: Image.Image, rng: np.random.Generator) -> Image.Image:
    """``picture`` pasted full width on a phone screen (status and app bars above, buttons and a caption below)."""
    dark = rng.random() < 0.5
    bg, fg = ((0, 0, 0), (235, 235, 235)) if dark else ((255, 255, 255), (20, 20, 20))
    sw = picture.width
    top = int(0.1 * sw)
    sh = top + picture.height + int(0.5 * sw)
    out = Image.new("RGB", (sw, sh), bg)
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, 0, sw, int(0.04 * sw)), fill=(28, 28, 30) if dark else (246, 246, 246))
    draw.text((int(0.05 * sw), int(0.05 * sw)), "photos", fill=fg)
    out.paste(picture, (0, top))
    y = top + picture.height + int(0.03 * sw)
    for k in range(4):
        x = int(sw * 0.05) + k * int(sw * 0.1)
        draw.ellipse((x, y, x + int(sw * 0.06), y + int(sw * 0.06)), outline=fg, width=2)
    return out


def photos_of(source: str) -> list[Path]:
    """The photos of ``source``: photos-public 100-199 (the portrait ones are used), every camera photo at 1024 px a
    side (as ``quality.build_families`` makes them, in the work folder), the first holidays-half photo of each of
    the first 60 scenes, view 2 of the first 60 ukbench objects."""
    from _common import DATASETS

    if source == "photos-public":
        return sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[100:200]
    if source == "camera-photos":
        return sorted((DATASETS / "camera-photos" / "images").glob("*.jpg"))
    if source == "ukbench":  # (view 2 of 60 objects: soft 320 px webcam pictures; bench_keep_catalogue uses view 0)
        return sorted((DATASETS / "ukbench-600" / "images").glob("*.jpg"))[2::4][:60]
    scenes: dict[str, Path] = {}
    for p in sorted((DATASETS / "holidays-half" / "images").glob("*.jpg")):
        scenes.setdefault(p.name[:4], p)
    return list(scenes.values())[:60]


def build(work: Path, source: str) -> dict[str, Path]:
    from imagetwins.io import open_image

    photos = photos_of(source)
    folders = {name: work / source / name for name in ("enlarged", "thumbnail", "near")}
    if all((f / "done").exists() for f in folders.values()):
        return folders
    for f in folders.values():
        f.mkdir(parents=True, exist_ok=True)
    for k, path in enumerate(photos):
        img = open_image(path)
        if source == "camera-photos":
            img.thumbnail((1024, 1024), Image.Resampling.LANCZOS)
        elif source == "photos-public" and img.width >= img.height:
            continue
        rng = np.random.default_rng([91, k])
        stem = path.stem
        factor = float(rng.uniform(1.3, 1.7))
        big = img.resize((round(img.width * factor), round(img.height * factor)), Image.Resampling.LANCZOS)
        img.save(folders["enlarged"] / f"{stem}_orig.jpg", quality=92)
        screenshot(big, rng).save(folders["enlarged"] / f"{stem}_screen.jpg", quality=92)
        shot = screenshot(img, rng)
        for name, side in (("thumbnail", 0.5), ("near", 0.75)):
            small = img.resize((round(img.width * side), round(img.height * side)), Image.Resampling.LANCZOS)
            small.save(folders[name] / f"{stem}_small.jpg", quality=92)
            shot.save(folders[name] / f"{stem}_screen.jpg", quality=92)
    for f in folders.values():
        (f / "done").touch()
    return folders


def run_one(folder: Path, want: str, src: Path) -> subprocess.CompletedProcess:
    """:data:`ONE` on ``folder`` in a fresh process with ``src``'s imagetwins (its last output line: JSON)."""
    env = dict(os.environ, PYTHONPATH=str(src.resolve()))
    return subprocess.run([sys.executable, "-c", ONE, str(folder), want], env=env, capture_output=True, text=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the imagetwins source tree to measure")
    ap.add_argument("--source", choices=("photos-public", "camera-photos", "holidays-half", "ukbench"),
                    default="photos-public")
    args = ap.parse_args()
    from _common import need_datasets

    need_datasets(f"{'ukbench-600' if args.source == 'ukbench' else args.source}/images")
    sys.path.insert(0, str(args.src.resolve()))
    folders = build(args.workdir, args.source)
    for name, want in (("enlarged", "_orig.jpg"), ("thumbnail", "_screen.jpg"), ("near", "_screen.jpg")):
        out = run_one(folders[name], want, args.src)
        line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr.strip()[-500:]
        print(name, line, flush=True)


if __name__ == "__main__":
    main()
