"""Best shot: how often the keep rule ``best`` (imagetwins.shots) keeps the real photo of a group whose other members
are degraded versions of it (blur, under/over-exposure, downscale; noise measured apart).

Each original is decoded upright (long side at most 1600 px), saved as a JPEG (quality 92) beside its degraded
versions (same quality), and the group's keeper is chosen by ``keep.choose_keeper(..., rule="best")`` from the files,
as ``find -m similar`` chooses it. FIT: photos-public's first 125 photos (the weights of imagetwins.shots were picked
there); HELD OUT: photos-public's other 125, one photo of each holidays-half scene, camera-photos.

Run: ``python benchmarks/bench_best_shot.py`` (printed; ``bench_similar.py`` writes it into BENCHMARKS.md).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _common import DATASETS, need_datasets  # noqa: E402

from imagetwins.io import open_image  # noqa: E402
from imagetwins.keep import choose_keeper, file_info  # noqa: E402

KINDS = ("blur", "under", "over", "downscale")


def degrade(img: Image.Image, kind: str, rng: np.random.Generator) -> Image.Image:
    """One degraded version of ``img``, parameters drawn over the whole range a camera or a hand gives."""
    if kind == "blur":  # focus or shake: 0.8-3 px at 1000 px long side
        return img.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 3.0) * max(img.size) / 1000))
    if kind in ("under", "over"):  # a stop or two off
        gain = 2 ** (rng.uniform(-2.0, -0.7) if kind == "under" else rng.uniform(0.7, 2.0))
        return Image.fromarray(np.clip(np.asarray(img, np.float32) * gain, 0, 255).astype(np.uint8))
    if kind == "downscale":  # the same shot at a lower resolution setting
        f = rng.uniform(0.35, 0.7)
        return img.resize((max(8, round(img.width * f)), max(8, round(img.height * f))), Image.Resampling.LANCZOS)
    if kind == "noise":  # high ISO
        noisy = np.asarray(img, np.float32) + rng.normal(0, rng.uniform(4, 12), (img.height, img.width, 1))
        return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    raise ValueError(kind)


def sources() -> dict[str, list[Path]]:
    public = sorted((DATASETS / "photos-public" / "images").glob("*.jpg"))
    groups = json.loads((DATASETS / "holidays-half" / "groundtruth_groups.json").read_text())
    holidays = [DATASETS / "holidays-half" / "images" / sorted(groups[g])[0] for g in sorted(groups)]
    camera = sorted((DATASETS / "camera-photos" / "images").glob("*.jpg"))
    return {"photos-public 0-124 (fit)": public[:125], "photos-public 125-249 (held out)": public[125:],
            "holidays-half, one per scene (held out)": holidays, "camera-photos (held out)": camera}


def run(files: list[Path], seed: int = 0) -> dict[str, tuple[int, int]]:
    """{kind or 'groups of 3': (right, total)}: pairs (original, one degraded) per kind, and groups of the original
    with two degradations of different kinds."""
    rng = np.random.default_rng(seed)
    counts = {k: [0, 0] for k in (*KINDS, "noise", "groups of 3")}
    with tempfile.TemporaryDirectory() as tmp:
        for n, src in enumerate(files):
            img = open_image(src, min_size=1, min_long_side=1600)
            if max(img.size) > 1600:
                img.thumbnail((1600, 1600), Image.Resampling.LANCZOS)
            folder = Path(tmp) / str(n)
            folder.mkdir()
            original = folder / "original.jpg"
            img.save(original, quality=92)
            made = {}
            for kind in (*KINDS, "noise"):
                made[kind] = folder / f"{kind}.jpg"
                degrade(img, kind, rng).save(made[kind], quality=92)
                keeper = choose_keeper([file_info(original), file_info(made[kind])], rule="best")
                counts[kind][0] += keeper.path == str(original)
                counts[kind][1] += 1
            two = rng.choice(KINDS, 2, replace=False)
            keeper = choose_keeper([file_info(p) for p in (made[two[0]], original, made[two[1]])], rule="best")
            counts["groups of 3"][0] += keeper.path == str(original)
            counts["groups of 3"][1] += 1
    return {k: (a, b) for k, (a, b) in counts.items()}


def best_shot_lines() -> list[str]:
    lines = ["\nBest shot (keep rule `best`, the suggestion of `-m similar`): the real photo kept against a degraded "
             "version of itself, by degradation (blur 0.8-3 px per 1000 px, under/over-exposure 0.7-2 stops, "
             "downscale to 35-70 %, noise sigma 4-12), and in groups of 3 (the photo and two degradations of "
             "different kinds among the first four). `python benchmarks/bench_best_shot.py`:\n",
             "| set | photos | " + " | ".join(KINDS) + " | noise | groups of 3 |",
             "| --- | ---: |" + " ---: |" * (len(KINDS) + 2)]
    for name, files in sources().items():
        c = run(files)
        cells = [f"{a / b:.2f}" for a, b in (c[k] for k in (*KINDS, "noise", "groups of 3"))]
        lines.append(f"| {name} | {len(files)} | " + " | ".join(cells) + " |")
    return lines


if __name__ == "__main__":
    need_datasets("photos-public/images", "holidays-half/images", "camera-photos/images")
    print("\n".join(best_shot_lines()))
