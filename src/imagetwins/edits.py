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


def _font(size: int):
    try:
        return ImageFont.load_default(size=max(8, int(size)))
    except TypeError:  # Pillow without FreeType sizes
        return ImageFont.load_default()


def rotate_any(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Rotate by any angle (3-177 degrees either way) on a canvas grown to fit, black or white corners."""
    angle = float(rng.uniform(3, 177) * rng.choice([-1, 1]))
    colour = (255, 255, 255) if rng.random() < 0.5 else (0, 0, 0)
    return img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=colour)


def rotate_crop_inside(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Rotate by 3-45 degrees either way and keep the largest upright rectangle of picture (no corners)."""
    angle = float(rng.uniform(3, 45))
    w, h = img.size
    a = np.radians(angle)
    sin, cos = abs(np.sin(a)), abs(np.cos(a))
    # the largest rectangle of the original's aspect inside the rotated picture
    long, short = max(w, h), min(w, h)
    if short <= 2 * sin * cos * long or abs(sin - cos) < 1e-10:
        x = 0.5 * short
        cw, ch = (x / sin, x / cos) if w >= h else (x / cos, x / sin)
    else:
        cos2 = cos * cos - sin * sin
        cw, ch = (w * cos - h * sin) / cos2, (h * cos - w * sin) / cos2
    rotated = img.rotate(angle * rng.choice([-1, 1]), resample=Image.Resampling.BICUBIC, expand=True)
    cx, cy = rotated.width / 2, rotated.height / 2
    cw, ch = max(8.0, cw * 0.98), max(8.0, ch * 0.98)
    return rotated.crop((round(cx - cw / 2), round(cy - ch / 2), round(cx + cw / 2), round(cy + ch / 2)))


def _perspective_coefficients(src: np.ndarray, dst: np.ndarray) -> list[float]:
    """PIL's PERSPECTIVE data mapping output points ``dst`` to input points ``src`` (4 x 2 each)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return np.linalg.solve(np.array(rows, float), np.array(rhs, float)).tolist()


def keystone(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A photo of a screen or print: each corner moved 5-12 % of the size inwards/sideways (perspective), on
    a dark or light surround."""
    w, h = img.size
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    inward = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], float)
    shift = rng.uniform(0.05, 0.12, (4, 2)) * np.array([w, h]) * inward
    shift *= np.where(rng.random((4, 2)) < 0.25, -0.5, 1.0)  # some corners pushed outwards a little instead
    pad = int(0.08 * max(w, h))
    dst = corners + shift + pad
    colour = tuple(int(c) for c in (rng.integers(0, 60, 3) if rng.random() < 0.5 else rng.integers(190, 256, 3)))
    out = img.transform((w + 2 * pad, h + 2 * pad), Image.Transform.PERSPECTIVE,
                        _perspective_coefficients(corners, dst), Image.Resampling.BICUBIC, fillcolor=colour)
    return out


_CAPTIONS = ["Look at this!!", "best holiday ever", "new in store", "who else remembers", "#tbt",
             "Posted 3h ago", "like & share", "SALE today only"]


def screenshot(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A phone screenshot of the picture: portrait screen (status bar, app bar, caption, buttons, navigation
    bar), the picture 50-100 % of the screen's width, light or dark theme."""
    sw = int(rng.integers(360, 541))
    sh = int(sw * rng.uniform(1.9, 2.2))
    dark = rng.random() < 0.5
    bg, fg = ((0, 0, 0), (235, 235, 235)) if dark else ((255, 255, 255), (20, 20, 20))
    bar = (28, 28, 30) if dark else (246, 246, 246)
    out = Image.new("RGB", (sw, sh), bg)
    draw = ImageDraw.Draw(out)
    status = int(sh * 0.035)
    draw.rectangle((0, 0, sw, status), fill=bar)
    draw.text((int(sw * 0.05), status // 5), f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}",
              fill=fg, font=_font(status * 0.6))
    for k in range(3):  # signal, wifi, battery
        x = sw - int(sw * 0.06) * (k + 1)
        draw.rectangle((x, status // 4, x + int(sw * 0.04), status * 3 // 4), fill=fg)
    app = int(sh * 0.06)
    draw.rectangle((0, status, sw, status + app), fill=bar)
    draw.ellipse((int(sw * 0.04), status + app // 5, int(sw * 0.04) + app * 3 // 5, status + app * 4 // 5), fill=fg)
    draw.text((int(sw * 0.04) + app, status + app // 4), str(rng.choice(["photos", "friend_42", "Gallery"])),
              fill=fg, font=_font(app * 0.4))
    pw = int(sw * rng.uniform(0.5, 1.0))
    ph = max(1, round(img.height * pw / img.width))
    top = status + app + int(rng.integers(0, int(sh * 0.05) + 1))
    ph = min(ph, sh - top - int(sh * 0.2))
    pw = max(1, round(img.width * ph / img.height)) if ph < round(img.height * pw / img.width) else pw
    out.paste(img.resize((pw, ph), Image.Resampling.LANCZOS), ((sw - pw) // 2, top))
    y = top + ph + int(sh * 0.015)
    for k in range(4):  # like, comment, share, save
        x = int(sw * 0.05) + k * int(sw * 0.1)
        draw.ellipse((x, y, x + int(sw * 0.06), y + int(sw * 0.06)), outline=fg, width=2)
    draw.text((int(sw * 0.05), y + int(sw * 0.09)), str(rng.choice(_CAPTIONS)), fill=fg, font=_font(sw * 0.045))
    nav = int(sh * 0.05)
    draw.rectangle((0, sh - nav, sw, sh), fill=bar)
    draw.rounded_rectangle((sw * 0.35, sh - nav * 0.4, sw * 0.65, sh - nav * 0.3), radius=3, fill=fg)
    return out


def on_background(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The picture scaled onto a background (a gradient with noise) it covers 60-80 % of the width of."""
    share = rng.uniform(0.6, 0.8)
    bw = int(img.width / share)
    bh = int(bw * rng.uniform(0.6, 1.4))
    pw = int(bw * share)
    ph = max(1, round(img.height * pw / img.width))
    if ph > bh * 0.95:
        bh = int(ph / rng.uniform(0.6, 0.95))
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, bh)[:, None, None]
    grad = c0 * (1 - t) + c1 * t + rng.normal(0, 6, (bh, bw, 3))
    out = Image.fromarray(np.clip(np.broadcast_to(grad, (bh, bw, 3)), 0, 255).astype(np.uint8))
    x = int(rng.integers(0, bw - pw + 1))
    y = int(rng.integers(0, bh - ph + 1))
    out.paste(img.resize((pw, ph), Image.Resampling.LANCZOS), (x, y))
    return out


_MEMES = ["WHEN YOU SEE IT", "NOBODY:", "ME EVERY MONDAY", "ONE DOES NOT SIMPLY", "SUCH WOW", "BUT WHY",
          "THIS IS FINE", "I HAVE NO IDEA"]


def meme_text(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Meme captions: big white letters with a black outline over the top and bottom of the picture."""
    out = img.copy()
    draw = ImageDraw.Draw(out)
    size = int(img.height * rng.uniform(0.08, 0.14))
    font = _font(size)
    for y, text in ((int(img.height * 0.03), rng.choice(_MEMES)), (int(img.height * 0.97) - size, rng.choice(_MEMES))):
        text = str(text)
        width = draw.textlength(text, font=font)
        draw.text((max(0, (img.width - width) / 2), y), text, fill=(255, 255, 255), font=font,
                  stroke_width=max(2, size // 10), stroke_fill=(0, 0, 0))
    return out


def stickers(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """2-5 stickers (emoji-like faces, stars, hearts) of 10-22 % of the width stuck on the picture."""
    out = img.copy()
    draw = ImageDraw.Draw(out)
    for _ in range(int(rng.integers(2, 6))):
        r = int(img.width * rng.uniform(0.05, 0.11))
        cx, cy = int(rng.integers(r, max(r + 1, img.width - r))), int(rng.integers(r, max(r + 1, img.height - r)))
        kind = int(rng.integers(0, 3))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if kind == 0:  # a smiley
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 205, 40), outline=(120, 80, 0), width=2)
            for dx in (-r // 3, r // 3):
                draw.ellipse((cx + dx - r // 8, cy - r // 3, cx + dx + r // 8, cy - r // 12), fill=(60, 40, 0))
            draw.arc((cx - r // 2, cy - r // 4, cx + r // 2, cy + r // 2), 20, 160, fill=(60, 40, 0), width=3)
        elif kind == 1:  # a star
            ang = np.linspace(0, 2 * np.pi, 11)[:-1] + rng.uniform(0, np.pi)
            rad = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
            draw.polygon([(cx + a * np.cos(t), cy + a * np.sin(t)) for a, t in zip(rad, ang)], fill=colour,
                         outline=(255, 255, 255))
        else:  # a heart
            draw.ellipse((cx - r, cy - r, cx, cy), fill=colour)
            draw.ellipse((cx, cy - r, cx + r, cy), fill=colour)
            draw.polygon([(cx - r, cy - r // 2), (cx + r, cy - r // 2), (cx, cy + r)], fill=colour)
    return out


def blur_noise(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Gaussian blur (0.3-0.8 % of the long side) and Gaussian noise (sd 4-15 grey levels)."""
    from PIL import ImageFilter

    out = img.filter(ImageFilter.GaussianBlur(max(img.size) * rng.uniform(0.003, 0.008)))
    arr = np.asarray(out, dtype=np.float32) + rng.normal(0, rng.uniform(4, 15), (out.height, out.width, 1))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def colour_shift(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Strong colour changes: hue turned 30-180 degrees, saturation x0.3-2, gamma 0.6-1.6, or sepia."""
    if rng.random() < 0.25:  # sepia
        grey = np.asarray(img.convert("L"), dtype=np.float32)[..., None]
        arr = grey * np.array([1.07, 0.74, 0.43]) + np.array([20, 10, 0])
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    hsv = np.asarray(img.convert("HSV"), dtype=np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(30, 180) / 360 * 256 * rng.choice([-1, 1])) % 256
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.3, 2.0), 0, 255)
    out = Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB")
    gamma = rng.uniform(0.6, 1.6)
    arr = 255 * (np.asarray(out, dtype=np.float32) / 255) ** gamma
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def thumbnail(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A thumbnail whose long side is 96-160 px."""
    side = int(rng.integers(96, 161))
    s = side / max(img.size)
    return img.resize((max(1, round(img.width * s)), max(1, round(img.height * s))), Image.Resampling.LANCZOS)


def crop_small(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Keep 35-60 % of the area, off-centre, in a random aspect."""
    area = rng.uniform(0.35, 0.60)
    aspect = rng.uniform(0.75, 1.33)
    w, h = img.size
    cw, ch = min(w, int(w * np.sqrt(area) * aspect)), min(h, int(h * np.sqrt(area) / aspect))
    cw, ch = max(1, cw), max(1, ch)
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return img.crop((x0, y0, x0 + cw, y0 + ch))


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


#: everyday edits nobody tuned for (issue 24), each drawn over its whole range: ``benchmarks/quality.py
#: --families`` reports recall per family. ``combo`` chains 2-3 of the others (no two of the same family).
FAMILIES: dict[str, Edit] = {
    "rotate_any": rotate_any,
    "rotate_crop_inside": rotate_crop_inside,
    "keystone": keystone,
    "screenshot": screenshot,
    "on_background": on_background,
    "meme_text": meme_text,
    "stickers": stickers,
    "blur_noise": blur_noise,
    "colour_shift": colour_shift,
    "thumbnail": thumbnail,
    "crop_small": crop_small,
}
#: families a combination may chain (a screenshot of a thumbnail of a crop is no longer a picture anyone keeps)
_COMBINABLE = ("rotate_any", "rotate_crop_inside", "keystone", "on_background", "meme_text", "stickers",
               "blur_noise", "colour_shift", "crop_small", "screenshot", "thumbnail")


def combo_recipe(rng: np.random.Generator) -> tuple[str, ...]:
    """The 2-3 different families :func:`combo` applies with ``rng`` (drawn first, before any edit's own draws): a
    screenshot or a thumbnail only as the last."""
    n = int(rng.integers(2, 4))
    inner = [f for f in _COMBINABLE if f not in ("screenshot", "thumbnail")]
    chosen = [str(f) for f in rng.choice(inner, n - 1, replace=False)]
    chosen.append(str(rng.choice([f for f in _COMBINABLE if f not in chosen])))
    return tuple(chosen)


def combo(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """2-3 different families one after the other (a screenshot or a thumbnail only as the last)."""
    for name in combo_recipe(rng):
        img = FAMILIES[name](img, rng)
    return img


FAMILIES["combo"] = combo


def make_transformed_set(
    photos: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    n_originals: int | None = None,
    edits: Sequence[str] | None = None,
    seed: int = 0,
    truth_file: str | os.PathLike | None = None,
    edits_per_original: int | None = None,
    table: dict[str, Edit] | None = None,
    progress: bool = False,
) -> dict[str, list[str]]:
    """Build a labelled near-duplicate set from distinct photos.

    Parameters
    ----------
    photos : sequence of path
        Distinct photos (no two of them duplicates).
    out_dir : path
        Created if needed; receives the images and ``ground_truth.json``.
    n_originals : int, optional
        How many photos get edited copies; the rest are distractors. Default: half. More than there are photos:
        every photo, no distractor, and one warning line saying so.
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
    table : dict, optional
        Where ``edits`` are looked up: :data:`EDITS` (default) or :data:`FAMILIES` (everyday edits).
    progress : bool
        A progress bar on stderr, one step a photo, as :func:`imagetwins.evaluation.sweep` draws its own (25 edits of
        each of 23 camera photos took minutes).

    Returns
    -------
    dict
        Ground truth as imagededup's map ``{file: [its duplicates]}``; also saved as ``truth_file``.
        The file ``g0001_orig.jpg`` is original 1, ``g0001_crop.jpg`` its crop, ``d0200.jpg`` a
        distractor.
    """
    from imagetwins.evaluation import groups_to_map
    from imagetwins.io import warn_line

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = EDITS if table is None else table
    names = list(table) if edits is None else list(edits)
    unknown = set(names) - set(table)
    if unknown:
        raise ValueError(f"unknown edits {sorted(unknown)}; choose from {', '.join(table)}")
    photos = sorted(Path(p) for p in photos)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(photos))
    n_orig = len(photos) // 2 if n_originals is None else min(n_originals, len(photos))
    if n_originals is not None and n_originals > len(photos):  # (it made fewer groups and no distractor, silently)
        warn_line(f"make_transformed_set: n_originals={n_originals} asked, {len(photos)} photos given: "
                  f"{n_orig} originals with edited copies and no distractor")
    bar = None
    if progress:
        from imagetwins.progress import progress_bar

        bar = progress_bar(total=len(photos), unit="photo", desc="editing")
    try:
        groups = _edited_groups(photos, order, n_orig, out, names, table, seed, edits_per_original, bar)
    finally:
        if bar is not None:
            bar.close()
    truth = groups_to_map(groups)
    dest = Path(truth_file) if truth_file is not None else out / "ground_truth.json"
    dest.write_text(json.dumps(truth, indent=1, sort_keys=True))
    return truth


def _edited_groups(photos, order, n_orig, out, names, table, seed, edits_per_original, bar) -> list[list[str]]:
    """The files of :func:`make_transformed_set`, written: one group per photo (a distractor's holds it alone)."""
    from imagetwins.io import open_image

    groups = []
    for rank, idx in enumerate(order):
        img = open_image(photos[idx])
        if rank >= n_orig:
            group = [f"d{rank:04d}.jpg"]
            img.save(out / group[0], quality=92)
        else:
            group = [f"g{rank:04d}_orig.jpg"]
            img.save(out / group[0], quality=92)
            chosen = names
            if edits_per_original is not None:
                pick = np.random.default_rng([seed, rank]).choice(len(names), min(edits_per_original, len(names)),
                                                                  replace=False)
                chosen = [names[k] for k in sorted(pick)]
            for edit in chosen:
                edited = table[edit](img, np.random.default_rng([seed, rank, names.index(edit)]))
                fname = f"g{rank:04d}_{edit}.jpg"
                edited.save(out / fname, quality=92)
                group.append(fname)
        groups.append(group)
        if bar is not None:
            bar.update(1)
    return groups


def edit_of(file_name: str) -> str | None:
    """The edit name encoded in a file name made by :func:`make_transformed_set` (None for originals)."""
    stem = Path(file_name).stem
    if not stem.startswith("g") or "_" not in stem:
        return None
    edit = stem.split("_", 1)[1]
    return None if edit == "orig" else edit
