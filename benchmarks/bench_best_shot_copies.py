"""Best shot beside edited copies: how often ``find -m similar`` suggests an edited copy (grey, cropped, mirrored, a
PNG or lower-quality re-save, a half-size copy) over the photo it was made from.

The stranger's report (#4): in a family folder the ``best`` rule suggested ``Edited/x_grey.jpg`` over its colour
original, a crop over the camera original, a PNG re-save over the camera JPEG, a quality-85 re-save over the
original. The rule now splits a group into captures (``shots.captures``: the ``copies`` method's copies) and the
best-shot score chooses only among captures, each represented by the file the ``original`` rule keeps of it.

Folder (one, as a person's): HELD OUT only. camera-photos (23 camera JPEGs, 2-12 MP): each photo beside two edits
drawn at random from the kinds below (parameters drawn over their range); ukbench objects 75-99: view 0 with one edit
beside view 1 of the same object (another capture, which the best shot may rightly suggest).

Counted per group of the similar search: whether the suggested keeper is an edited copy whose original is in the
group (wrong), and whether a group holding two captures still suggests one of the captures' originals.

Run: ``python benchmarks/bench_best_shot_copies.py [--src DIR]`` (``--src`` another checkout's ``src``, for a
before/after). Prints one table.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
from _common import DATASETS, need_datasets  # noqa: E402

KINDS = ("grey", "crop", "mirror", "png", "resave", "half")


def edit(img: Image.Image, kind: str, rng: np.random.Generator, out: Path) -> Path:
    """One edited copy of ``img`` (upright RGB) written beside ``out``'s stem; the path written."""
    if kind == "grey":
        path = out.with_name(out.stem + "_grey.jpg")
        img.convert("L").save(path, quality=int(rng.integers(85, 96)))
    elif kind == "crop":  # 55-90 % of each side, anywhere inside
        w, h = img.size
        f = rng.uniform(0.55, 0.9)
        cw, ch = int(w * f), int(h * f)
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        path = out.with_name(out.stem + "_crop.jpg")
        img.crop((x, y, x + cw, y + ch)).save(path, quality=int(rng.integers(85, 96)))
    elif kind == "mirror":
        path = out.with_name(out.stem + "_mirror.jpg")
        ImageOps.mirror(img).save(path, quality=int(rng.integers(85, 96)))
    elif kind == "png":
        path = out.with_name(out.stem + ".png")
        img.save(path)
    elif kind == "resave":
        path = out.with_name(out.stem + "_resaved.jpg")
        img.save(path, quality=int(rng.integers(60, 91)))
    else:  # half
        path = out.with_name(out.stem + "_half.jpg")
        img.reduce(2).save(path, quality=int(rng.integers(80, 96)))
    return path


def build(folder: Path, rng: np.random.Generator) -> tuple[dict[str, str], set[str]]:
    """The folder; returns each edited copy -> its original, and the originals."""
    made: dict[str, str] = {}
    originals: set[str] = set()
    (folder / "2019").mkdir(parents=True)
    (folder / "Edited").mkdir()
    for src in sorted((DATASETS / "camera-photos" / "images").glob("*.jpg")):
        dst = folder / "2019" / src.name
        shutil.copy(src, dst)
        originals.add(str(dst))
        with Image.open(src) as im:
            img = ImageOps.exif_transpose(im).convert("RGB")
        for kind in rng.choice(KINDS, size=2, replace=False):
            made[str(edit(img, str(kind), rng, folder / "Edited" / src.name))] = str(dst)
    for obj in range(75, 100):
        views = [DATASETS / "ukbench-600" / "images" / f"ukbench{4 * obj + v:05d}.jpg" for v in (0, 1)]
        if not all(v.exists() for v in views):
            continue
        for v in views:
            shutil.copy(v, folder / "2019" / v.name)
            originals.add(str(folder / "2019" / v.name))
        with Image.open(views[0]) as im:
            img = im.convert("RGB")
        kind = str(rng.choice(KINDS))
        made[str(edit(img, kind, rng, folder / "Edited" / views[0].name))] = str(folder / "2019" / views[0].name)
    return made, originals


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=ROOT / "src")
    ap.add_argument("--seed", type=int, default=4)
    args = ap.parse_args()
    need_datasets("camera-photos/images", "ukbench-600/images")
    sys.path.insert(0, str(args.src))
    from imagetwins.finder import find_duplicate_groups
    from imagetwins.keep import decide_keepers

    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "family"
        made, originals = build(folder, rng)
        t0 = time.process_time()
        result = find_duplicate_groups(folder, "similar", recursive=True, decisions=False)
        result = decide_keepers(result, rule="best")
        cpu = time.process_time() + resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - t0
        groups = wrong = with_copy = 0
        by_kind: dict[str, list[int]] = {}
        for g, d in zip(result.groups, result.decisions):
            files = set(g.files)
            keeper = d.keeper
            groups += 1
            if not any(c in files and made[c] in files for c in made):
                continue  # no copy with its original here: nothing to get wrong
            with_copy += 1
            bad = keeper in made and made[keeper] in files
            wrong += bad
            kind = next((k for k in KINDS if Path(keeper).stem.endswith(k) or Path(keeper).suffix == ".png"
                         and k == "png"), "original") if keeper in made else "original"
            by_kind.setdefault(kind, [0])[0] += 1
        print(f"source: {args.src}")
        print(f"{len(originals)} originals, {len(made)} edited copies; {groups} groups, {with_copy} holding a copy "
              f"and its original")
        print(f"suggested an edited copy over its original: {wrong} of {with_copy}")
        print("suggested keepers by kind: " + ", ".join(f"{k} {v[0]}" for k, v in sorted(by_kind.items())))
        print(f"search + keep: {cpu:.1f} CPU s")


if __name__ == "__main__":
    main()
