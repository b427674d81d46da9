"""A labelled folder for ``imagetwins tune`` holding many identical files (BENCHMARKS.md, "tune: identical files").

    python benchmarks/make_identical_labelled.py OUT N (labelled|top)

OUT gets 10 labelled pairs (a photos-public photo at 320 px and a 3/4 JPEG of it, each pair in its own sub-folder),
20 unrelated photos at the top level, and 2N saves of one picture: N byte-identical PNGs and N PNGs with the same
pixels and another text chunk each (a shop's re-saved "no image" placeholders). ``labelled``: the 2N in one
sub-folder (one labelled set); ``top``: at the top level (unlabelled, each its own singleton). Then e.g.
``/usr/bin/time -v imagetwins tune OUT -q``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from _common import DATASETS, need_datasets
from PIL import Image, PngImagePlugin


def main() -> None:
    if len(sys.argv) != 4 or not sys.argv[2].isdigit() or sys.argv[3] not in ("labelled", "top"):
        sys.exit("usage: make_identical_labelled.py OUT N (labelled|top)")
    root, n, labelled = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "labelled"
    need_datasets("photos-public/images", script="make_identical_labelled.py")
    photos = sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))
    root.mkdir(parents=True)
    for g in range(10):  # a few real labelled pairs: a photo and a resized JPEG of it
        d = root / f"g{g}"
        d.mkdir()
        with Image.open(photos[g]) as im:
            p = im.convert("RGB")
        p.thumbnail((320, 320))
        p.save(d / "a.jpg", quality=92)
        p.resize((p.width * 3 // 4, p.height * 3 // 4)).save(d / "b.jpg", quality=85)
    for g in range(10, 30):
        shutil.copy(photos[g], root / f"u{g}.jpg")
    with Image.open(photos[40]) as im:
        pic = im.convert("RGB")
    pic.thumbnail((240, 240))
    d = root / "placeholders" if labelled else root
    d.mkdir(exist_ok=True)
    pic.save(d / "bytes0000.png")
    data = (d / "bytes0000.png").read_bytes()
    for i in range(1, n):  # byte copies, then the same pixels with another text chunk each
        (d / f"bytes{i:04d}.png").write_bytes(data)
    texts = [PngImagePlugin.PngInfo() for _ in range(n)]
    for i, info in enumerate(texts):
        info.add_text("k", str(i))
        pic.save(d / f"pix{i:04d}.png", pnginfo=info)


if __name__ == "__main__":
    main()
