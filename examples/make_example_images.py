"""Make the small example folder ``examples/images`` (synthetic pictures, no third-party content).

Four distinct scenes, and for some of them the copies a real folder collects: a byte-identical copy,
a downscaled copy, a re-compressed JPEG and a brightened one. Run once; the output is committed.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance

OUT = Path(__file__).parent / "images"


def scene(seed: int, size=(640, 480)) -> Image.Image:
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    field = np.zeros((h, w, 3))
    for _ in range(6):  # a few smooth colour waves
        fx, fy, ph = rng.uniform(1, 6), rng.uniform(1, 6), rng.uniform(0, 6.3)
        field += rng.uniform(0.2, 1, 3) * np.sin(2 * np.pi * (fx * xx + fy * yy) + ph)[..., None]
    field = (field - field.min()) / (np.ptp(field) + 1e-9) * 255
    img = Image.fromarray(field.astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(8):  # and some shapes, so scenes differ in structure too
        x0, y0 = rng.integers(0, w - 60), rng.integers(0, h - 60)
        x1, y1 = x0 + rng.integers(30, 220), y0 + rng.integers(30, 160)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    return img


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(["beach", "city", "forest", "market"]):
        img = scene(i)
        img.save(OUT / f"{name}.jpg", quality=90)
        if name == "beach":
            (OUT / "beach_copy.jpg").write_bytes((OUT / "beach.jpg").read_bytes())
            img.resize((320, 240), Image.Resampling.LANCZOS).save(OUT / "beach_small.jpg", quality=90)
        if name == "city":
            img.save(OUT / "city_recompressed.jpg", quality=25)
            ImageEnhance.Brightness(img).enhance(1.2).save(OUT / "city_brighter.png")
        if name == "forest":
            img.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(OUT / "forest_mirrored.jpg", quality=90)


if __name__ == "__main__":
    main()
