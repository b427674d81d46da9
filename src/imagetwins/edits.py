"""Make near-duplicates on purpose: the edits real copies go through, to measure a method on your photos.

``make_transformed_set`` turns a folder of distinct photos into a labelled benchmark: each original
gets edited copies (crop, flips, rotations, resize, heavy JPEG, brightness, grey, text, borders...),
other photos stay alone as distractors, and the ground truth (one group per original) is written as
JSON that :func:`imagetwins.evaluation.load_ground_truth` and ``imagetwins tune`` read.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

Edit = Callable[[Image.Image, np.random.Generator], Image.Image]


def crop(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Cut 10-30 % of the area away, off-centre."""
    keep = np.sqrt(1 - rng.uniform(0.10, 0.30))
    w, h = img.size
    cw, ch = int(w * keep), int(h * keep)
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return img.crop((x0, y0, x0 + cw, y0 + ch))


def hflip(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def vflip(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)


def rot90(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return img.transpose(Image.Transpose.ROTATE_90)


def rot180(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return img.transpose(Image.Transpose.ROTATE_180)


def rot270(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return img.transpose(Image.Transpose.ROTATE_270)


def small_rotation(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Rotate by 5-25 degrees either way, keeping the size (corners filled white), as a scan or edit would."""
    angle = float(rng.uniform(5, 25) * rng.choice([-1, 1]))
    return img.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255))


def resize_square(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    side = int(np.sqrt(img.width * img.height))
    return img.resize((side, side), Image.Resampling.LANCZOS)


def downscale(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """To 25 % of each side."""
    return img.resize((max(1, img.width // 4), max(1, img.height // 4)), Image.Resampling.LANCZOS)


def jpeg(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Re-encode at JPEG quality 15-30."""
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(rng.integers(15, 31)))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def brightness_contrast(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Brightness and contrast each changed by 10-30 % up or down."""
    b = 1 + rng.uniform(0.1, 0.3) * rng.choice([-1, 1])
    c = 1 + rng.uniform(0.1, 0.3) * rng.choice([-1, 1])
    return ImageEnhance.Contrast(ImageEnhance.Brightness(img).enhance(b)).enhance(c)


def grayscale(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return img.convert("L").convert("RGB")


def text_overlay(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A caption banner across the lower part, as shops and memes add."""
    out = img.copy()
    draw = ImageDraw.Draw(out)
    size = max(10, img.height // 10)
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType sizes
        font = ImageFont.load_default()
    y = int(img.height * rng.uniform(0.6, 0.85))
    text = rng.choice(["SALE -50%", "© imagetwins", "Holiday 2024", "NEW ARRIVAL", "best price!"])
    draw.text((int(img.width * 0.05), y), str(text), fill=(255, 255, 255), font=font,
              stroke_width=max(1, size // 12), stroke_fill=(0, 0, 0))
    return out


def border(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Pad with a uniform border (white or black), 5-15 % of the size on each side."""
    pad = int(max(img.size) * rng.uniform(0.05, 0.15))
    colour = (255, 255, 255) if rng.random() < 0.5 else (0, 0, 0)
    out = Image.new("RGB", (img.width + 2 * pad, img.height + 2 * pad), colour)
    out.paste(img, (pad, pad))
    return out


def tilt(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Rotate by 2-10 degrees either way on a canvas grown to fit (black corners), as a straightened scan."""
    angle = float(rng.uniform(2, 10) * rng.choice([-1, 1]))
    return img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(0, 0, 0))


def crop_half(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Keep 50-60 % of the area, off-centre."""
    keep = np.sqrt(rng.uniform(0.50, 0.60))
    w, h = img.size
    cw, ch = max(1, int(w * keep)), max(1, int(h * keep))
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return img.crop((x0, y0, x0 + cw, y0 + ch))


def downscale_small(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """To 15-25 % of each side (a 480 px photo becomes a 70-120 px thumbnail)."""
    f = rng.uniform(0.15, 0.25)
    return img.resize((max(1, round(img.width * f)), max(1, round(img.height * f))), Image.Resampling.LANCZOS)


def letterbox(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Pad to a square or 16:9 canvas (black or white bars), as players and shops show photos."""
    w, h = img.size
    aspect = 1.0 if rng.random() < 0.5 else 16 / 9
    cw, ch = (max(w, round(h * aspect)), h) if w / h < aspect else (w, max(h, round(w / aspect)))
    colour = (255, 255, 255) if rng.random() < 0.5 else (0, 0, 0)
    out = Image.new("RGB", (cw, ch), colour)
    out.paste(img, ((cw - w) // 2, (ch - h) // 2))
    return out


def watermark(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A half-transparent logo box with text in a corner."""
    out = img.convert("RGBA")
    layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    bw, bh = int(img.width * rng.uniform(0.25, 0.4)), int(img.height * rng.uniform(0.08, 0.14))
    x0 = int(img.width * 0.03) if rng.random() < 0.5 else img.width - bw - int(img.width * 0.03)
    y0 = int(img.height * 0.03) if rng.random() < 0.5 else img.height - bh - int(img.height * 0.03)
    draw.rectangle((x0, y0, x0 + bw, y0 + bh), fill=(255, 255, 255, 110))
    try:
        font = ImageFont.load_default(size=max(8, int(bh * 0.6)))
    except TypeError:
        font = ImageFont.load_default()
    draw.text((x0 + bh // 5, y0 + bh // 6), "PHOTO-STOCK", fill=(0, 0, 0, 170), font=font)
    return Image.alpha_composite(out, layer).convert("RGB")


def combine(first: Edit, second: Edit) -> Edit:
    """One edit after the other (seeded so that each draws its own numbers)."""

    def both(img: Image.Image, rng: np.random.Generator) -> Image.Image:
        return second(first(img, rng), rng)

    return both


EDITS: dict[str, Edit] = {
    "crop": crop,
    "hflip": hflip,
    "vflip": vflip,
    "rot90": rot90,
    "rot180": rot180,
    "rot270": rot270,
    "small_rotation": small_rotation,
    "resize_square": resize_square,
    "downscale": downscale,
    "jpeg": jpeg,
    "brightness_contrast": brightness_contrast,
    "grayscale": grayscale,
    "text_overlay": text_overlay,
    "border": border,
    "tilt": tilt,
    "crop_half": crop_half,
    "downscale_small": downscale_small,
    "letterbox": letterbox,
    "watermark": watermark,
}
#: pairs of edits, as copies that went through two programs
EDITS.update({f"{a}+{b}": combine(EDITS[a], EDITS[b]) for a, b in (
    ("crop_half", "grayscale"), ("downscale_small", "text_overlay"), ("tilt", "jpeg"),
    ("border", "brightness_contrast"), ("hflip", "crop"), ("letterbox", "downscale"))})


def make_transformed_set(
    photos: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    n_originals: int | None = None,
    edits: Sequence[str] | None = None,
    seed: int = 0,
    truth_file: str | os.PathLike | None = None,
    edits_per_original: int | None = None,
) -> dict[str, list[str]]:
    """Build a labelled near-duplicate set from distinct photos.

    Parameters
    ----------
    photos : sequence of path
        Distinct photos (no two of them duplicates).
    out_dir : path
        Created if needed; receives the images and ``ground_truth.json``.
    n_originals : int, optional
        How many photos get edited copies; the rest are distractors. Default: half.
    edits : sequence of str, optional
        Names from :data:`EDITS`; default all.
    seed : int
        The same seed gives the same set.
    truth_file : path, optional
        Where to save the ground truth; default ``out_dir/ground_truth.json``. Put it outside
        ``out_dir`` when that folder is then scanned by the imagededup-style classes, which read
        every file in it.
    edits_per_original : int, optional
        Give each original only this many of the edits, drawn at random (realistic groups of a few
        copies rather than one crowd of all edits); default every edit.

    Returns
    -------
    dict
        Ground truth as imagededup's map ``{file: [its duplicates]}``; also saved as ``truth_file``.
        The file ``g0001_orig.jpg`` is original 1, ``g0001_crop.jpg`` its crop, ``d0200.jpg`` a
        distractor.
    """
    from imagetwins.evaluation import groups_to_map
    from imagetwins.io import open_image

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = list(EDITS) if edits is None else list(edits)
    unknown = set(names) - set(EDITS)
    if unknown:
        raise ValueError(f"unknown edits {sorted(unknown)}; choose from {', '.join(EDITS)}")
    photos = sorted(Path(p) for p in photos)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(photos))
    n_orig = len(photos) // 2 if n_originals is None else min(n_originals, len(photos))
    groups = []
    for rank, idx in enumerate(order):
        img = open_image(photos[idx])
        if rank >= n_orig:
            name = f"d{rank:04d}.jpg"
            img.save(out / name, quality=92)
            groups.append([name])
            continue
        group = [f"g{rank:04d}_orig.jpg"]
        img.save(out / group[0], quality=92)
        chosen = names
        if edits_per_original is not None:
            pick = np.random.default_rng([seed, rank]).choice(len(names), min(edits_per_original, len(names)),
                                                              replace=False)
            chosen = [names[k] for k in sorted(pick)]
        for edit in chosen:
            edited = EDITS[edit](img, np.random.default_rng([seed, rank, names.index(edit)]))
            fname = f"g{rank:04d}_{edit}.jpg"
            edited.save(out / fname, quality=92)
            group.append(fname)
        groups.append(group)
    truth = groups_to_map(groups)
    dest = Path(truth_file) if truth_file is not None else out / "ground_truth.json"
    dest.write_text(json.dumps(truth, indent=1, sort_keys=True))
    return truth


def edit_of(file_name: str) -> str | None:
    """The edit name encoded in a file name made by :func:`make_transformed_set` (None for originals)."""
    stem = Path(file_name).stem
    if not stem.startswith("g") or "_" not in stem:
        return None
    edit = stem.split("_", 1)[1]
    return None if edit == "orig" else edit
