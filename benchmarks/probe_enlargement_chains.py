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

``model``: could a model of repeated resizing + JPEG saves tell a chain from an original? The chains above (Pillow
Lanczos, JPEG 90) and the same chains made with OpenCV (Lanczos4, its own JPEG 90), each scored against the photo by
the residue of the photo run through a modelled chain (N steps of STEP a side, Lanczos, each saved at Q or not at
all; the last step to the larger file's size), over the photo's own detail (as ``keep._unexplained_detail``): with the
chain's own parameters, with one of them off, and the least over a grid (STEP 1.03/1.05/1.1/1.2 x Q none/85/90/95);
and originals beside their own 1/1.34 and 1/1.61 copies (JPEG 90) over the same grid (an original lost below 0.05).
"""

from __future__ import annotations

import argparse
import math
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


def _modelled(small: Image.Image, size: tuple[int, int], step: float, n: int, quality: int | None) -> Image.Image:
    """``small`` enlarged ``n`` times by ``step`` a side (the last step to ``size``), each saved at ``quality``."""
    cur = small
    for k in range(n):
        cur = cur.convert("RGB").resize(size if k == n - 1 else (round(cur.width * step), round(cur.height * step)),
                                        R.LANCZOS)
        cur = _jpeg(cur, quality) if quality else cur
    return cur


def _model_score(big: Image.Image, small: Image.Image, step: float, quality: int | None) -> float:
    """How much of ``big`` a chain of ``step`` enlargements of ``small`` saved at ``quality`` leaves unexplained,
    over ``small``'s own detail."""
    import numpy as np

    def grey(img: Image.Image):
        return np.asarray(img.convert("L"), np.float32)

    n = max(1, round(math.log(big.width / small.width) / math.log(step)))
    residue = keep._cell_median((grey(big) - grey(_modelled(small, big.size, step, n, quality))) ** 2)
    s = small.convert("L")
    shrunk = s.resize((round(s.width / 1.34), round(s.height / 1.34)), R.BOX).resize(s.size, R.LANCZOS)
    return residue / keep._cell_median((grey(s) - grey(shrunk)) ** 2)


MODEL_GRID = [(step, q) for step in (1.03, 1.05, 1.1, 1.2) for q in (None, 85, 90, 95)]


def model(photos: list[str]) -> None:
    import cv2
    import numpy as np

    def cv_chain(img: Image.Image, step: float, n: int, quality: int) -> Image.Image:
        a = np.asarray(img.convert("RGB"))[:, :, ::-1]
        for _ in range(n):
            a = cv2.resize(a, (round(a.shape[1] * step), round(a.shape[0] * step)), interpolation=cv2.INTER_LANCZOS4)
            a = cv2.imdecode(cv2.imencode(".jpg", a, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_COLOR)
        return Image.fromarray(np.ascontiguousarray(a[:, :, ::-1]))

    def grid(big: Image.Image, small: Image.Image) -> str:
        score, step, q = min((_model_score(big, small, s, q), s, q) for s, q in MODEL_GRID)
        return f"{score:.3f} ({step}, q{q})"

    print("| photo | larger file | model, its own parameters | step 1.05 | q85 | q95 | no JPEG | least over the grid |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name in photos:
        with Image.open(DATASETS / "photos-public" / "images" / name) as im:
            photo = _jpeg(im.convert("RGB"), 95)
        for step, n in ((1.03, 10), (1.1, 5)):
            size = photo.size
            for _ in range(n):  # (each step's size rounded, as chains() makes them)
                size = (round(size[0] * step), round(size[1] * step))
            big = _modelled(photo, size, step, n, 90)
            off = [_model_score(big, photo, *p) for p in ((step, 90), (1.05, 90), (step, 85), (step, 95), (step, None))]
            print(f"| {name} | Pillow chain {step} x {n} | " + " | ".join(f"{v:.3f}" for v in off)
                  + f" | {grid(big, photo)} |", flush=True)
            big = _jpeg(cv_chain(photo, step, n, 90), 90)
            print(f"| {name} | OpenCV chain {step} x {n} | {_model_score(big, photo, step, 90):.3f} | | | | | "
                  f"{grid(big, photo)} |", flush=True)
        for f in (1.34, 1.61):
            small = _jpeg(photo.resize((round(photo.width / f), round(photo.height / f)), R.LANCZOS), 90)
            print(f"| {name} | the original, beside its 1/{f} copy | | | | | | {grid(photo, small)} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", nargs="?", default="chains", choices=("chains", "slight", "model"))
    ap.add_argument("--photos", default="", help="chains: photos-public names, comma-separated; slight: how many")
    args = ap.parse_args()
    need_datasets("photos-public/images", "ukbench-600/images")
    if args.what in ("chains", "model"):
        (chains if args.what == "chains" else model)(
            args.photos.split(",") if args.photos else ["bsds_100075.jpg", "bsds_198054.jpg"])
    else:
        slight(int(args.photos or 20))


if __name__ == "__main__":
    main()
