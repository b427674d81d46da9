"""What the ``original`` keep rule keeps beside enlargements it cannot test: chains of slight enlargements, and one
slight enlargement of a file no camera wrote. A count only: nothing is changed.

    python benchmarks/probe_enlargement_chains.py [chains] [--photos bsds_100075.jpg,bsds_198054.jpg]
    python benchmarks/probe_enlargement_chains.py slight [--photos 20]

``chains``: each photo (photos-public, saved at JPEG 95, no EXIF) and a chain of N enlargements of it, each the
previous one enlarged STEP a side (Lanczos) and saved at JPEG 90 (N 5, 10, 50 at 1.03; 5, 10 at 1.1); ``find`` (phash,
no cache) with ``keep="original"``: the keeper and the enlargement tests it made. Then the scores that decide
(``keep._unexplained_detail``, as ``enlargement_score`` of the decoded files): the chain's files against the photo, one
enlargement of the photo to the chain's last size made in one step, and both again with the chain saved losslessly.

``slight``: ``--photos`` photos (photos-public 11-20, then ukbench, not those tune_keeper.py tunes on), each saved as
JPEG 95 or PNG (no EXIF) beside its own Lanczos enlargement at 1.03, 1.1, 1.18 a side (JPEG 90): the keeper, and what
a test below the 1.4x-the-pixels gate would say: the enlargement's score against the photo (an enlargement found
below ``keep._ENLARGED_BELOW``) and the photo's against its own copy 1/f a side (an original lost below it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import DATASETS, need_datasets  # noqa: E402
from tune_keeper import _jpeg, _score  # noqa: E402  (a photo saved in memory; its enlargement score)

import imagetwins  # noqa: E402
from imagetwins import keep  # noqa: E402

R = Image.Resampling


def _keeper(folder: Path, name: str) -> tuple[str, int]:
    """The keeper of ``name``'s group and how many enlargement tests the keep stage made."""
    tests = []
    measure = keep._enlargement_of

    def counted(*args):
        tests.append(args[:2])
        return measure(*args)

    keep._enlargement_of = counted
    try:
        result = imagetwins.find(folder, method="phash", keep="original", cache=False, decisions=False)
    finally:
        keep._enlargement_of = measure
    kept = [os.path.basename(d.keeper) for d in result.decisions if str(folder / name) in d.files]
    return (kept[0] if kept else "(in no group)"), len(tests)


def chains(photos: list[str]) -> None:
    print("| photo | step | chain | keeper | tests | chain file vs photo (k = 2, 5, N) | one step to N's size |"
          " lossless chain vs photo | lossless one step |")
    print("| --- | ---: | ---: | --- | ---: | --- | ---: | --- | ---: |")
    for name in photos:
        with Image.open(DATASETS / "photos-public" / "images" / name) as im:
            rgb = im.convert("RGB")
        for step, lengths in ((1.03, (5, 10, 50)), (1.1, (5, 10))):
            for n in lengths:
                with tempfile.TemporaryDirectory() as tmp:
                    folder = Path(tmp)
                    photo = _jpeg(rgb, 95)
                    photo.save(folder / "photo.jpg", quality=95)  # (the same table: the file holds these pixels)
                    cur, lossless, made, plain = photo, photo.convert("RGB"), [photo], [photo.convert("RGB")]
                    for k in range(1, n + 1):
                        size = (round(cur.width * step), round(cur.height * step))
                        cur = _jpeg(cur.convert("RGB").resize(size, R.LANCZOS), 90)
                        cur.save(folder / f"enlarged_{k:02d}.jpg", quality=90)
                        lossless = lossless.resize(size, R.LANCZOS)
                        made.append(cur)
                        plain.append(lossless)
                    kept, tests = _keeper(folder, "photo.jpg")
                ks = [k for k in (2, 5, n) if k <= n]
                vs = ", ".join(f"{_score(made[k], photo):.3f}" for k in ks)
                one = _score(_jpeg(photo.convert("RGB").resize(made[n].size, R.LANCZOS), 90), photo)
                vs_plain = ", ".join(f"{_score(plain[k], photo):.3f}" for k in ks)
                one_plain = _score(photo.convert("RGB").resize(made[n].size, R.LANCZOS), photo)
                print(f"| {name} | {step} | {n} | {kept} | {tests} | {vs} | {one:.3f} | {vs_plain} | {one_plain:.3f} |",
                      flush=True)


def slight(count: int) -> None:
    photos = (sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))[10:20]
              + sorted((DATASETS / "ukbench-600" / "images").glob("*.jpg"))[2::40])[:count]
    rows: dict[tuple[str, float], list[int]] = {}
    for path in photos:
        with Image.open(path) as im:
            photo = ImageOps.exif_transpose(im).convert("RGB")
        for fmt in ("jpg", "png"):
            for f in (1.03, 1.1, 1.18):
                with tempfile.TemporaryDirectory() as tmp:
                    folder = Path(tmp)
                    original = folder / f"photo.{fmt}"
                    photo.save(original, **({"quality": 95} if fmt == "jpg" else {}))
                    big = folder / "listing.jpg"
                    photo.resize((round(photo.width * f), round(photo.height * f)), R.LANCZOS).save(big, quality=90)
                    kept, _ = _keeper(folder, original.name)
                    down = Path(tmp) / "apart"
                    down.mkdir()
                    small = down / "small.jpg"
                    photo.resize((round(photo.width / f), round(photo.height / f)), R.LANCZOS).save(small, quality=90)
                    keep._enlargement_score.cache_clear()
                    found = keep.enlargement_score(keep.file_info(big), keep.file_info(original))
                    lost = keep.enlargement_score(keep.file_info(original), keep.file_info(small))
                    shutil.rmtree(down)
                row = rows.setdefault((fmt, f), [0, 0, 0, 0])
                row[0] += kept == original.name
                row[1] += 1
                row[2] += found is not None and found < keep._ENLARGED_BELOW
                row[3] += lost is not None and lost < keep._ENLARGED_BELOW
        print(path.name, file=sys.stderr, flush=True)
    print("| original | enlarged a side | original kept | enlargement would be found | original would be lost |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for (fmt, f), (kept, n, found, lost) in sorted(rows.items()):
        print(f"| {fmt} | {f} | {kept} of {n} | {found} | {lost} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", nargs="?", default="chains", choices=("chains", "slight"))
    ap.add_argument("--photos", default="", help="chains: photos-public names, comma-separated; slight: how many")
    args = ap.parse_args()
    need_datasets("photos-public/images", "ukbench-600/images")
    if args.what == "chains":
        chains(args.photos.split(",") if args.photos else ["bsds_100075.jpg", "bsds_198054.jpg"])
    else:
        slight(int(args.photos or 20))


if __name__ == "__main__":
    main()
