"""A home photo library made from the shared datasets, for ``bench_home.py``: unique pictures at camera sizes.

Each picture is a 2 x 2 mosaic of crops of four different photos (the 23 camera photos, photos-public, ukbench-600
and holidays-half: about 1,300 sources), each crop flipped or not, the whole resized to a camera size drawn from
2-16 MP (as in a phone and camera library: most 2-8 MP, a tenth 12-16 MP), given camera grain (Gaussian noise, so it
compresses like a camera JPEG rather than a smooth upscale) and saved as a baseline JPEG (quality 88-95) with camera
EXIF (make, model, capture date, the pixel size; one in ten stored sideways with EXIF orientation 6, as phones do).
No picture is made from another, so the library has no copies: every pair a method proposes is one its verification
must turn away. The sources are drawn again for each picture, though, so two pictures can hold crops of one source
photo: at 1,000 pictures (~4,000 crops of ~1,300 sources) many pairs share a real part of one photo, as burst frames
and re-shots of one scene do in a real library; those are the costly checks of a first scan (BENCHMARKS.md,
"Neighbours from both sides"). A few are HEIC (pillow-heif; encoding HEIC is slow, so they are 2 MP; with a 320 px
thumbnail from which pillow-heif can decode, since the first home-library run), and a few DNG (:func:`write_dng`: a
real Bayer DNG with a 1,024 px preview, at the library's camera sizes).

Small pictures for the 100,000-image scale run are made the same way at 160-320 px a side.
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageChops

ROOT = Path(__file__).resolve().parents[1]
from _common import DATASETS  # noqa: E402

#: (share of the library, smallest MP, largest MP)
SIZES = [(0.35, 2.0, 4.0), (0.35, 4.0, 8.0), (0.2, 8.0, 12.0), (0.1, 12.0, 16.0)]
CAMERAS = [("Apple", "iPhone 12"), ("Google", "Pixel 5"), ("samsung", "SM-G991B"), ("Canon", "Canon EOS 80D"),
           ("NIKON CORPORATION", "NIKON D5300"), ("SONY", "ILCE-6000"), ("OLYMPUS IMAGING CORP.", "E-M10")]


def sources() -> list[Path]:
    out = sorted((DATASETS / "camera-photos" / "images").glob("*.jpg"))
    for sub in ("photos-public/images", "ukbench-600/images", "holidays-half/images"):
        out += sorted((DATASETS / sub).glob("*.jpg"))
    return out


class _Sources:
    """Source photos decoded once (at most 1024 px a side: a quarter of a mosaic never needs more)."""

    def __init__(self) -> None:
        self.paths = sources()
        self._cache: dict[int, Image.Image] = {}

    def get(self, k: int) -> Image.Image:
        if k not in self._cache:
            with Image.open(self.paths[k]) as im:
                im.draft("RGB", (1024, 1024))
                img = im.convert("RGB")
            img.thumbnail((1024, 1024))
            if len(self._cache) > 400:
                self._cache.pop(next(iter(self._cache)))
            self._cache[k] = img
        return self._cache[k]


def _size(rng: random.Random, small: bool) -> tuple[int, int]:
    if small:
        long = rng.randint(160, 320)
    else:
        r, acc = rng.random(), 0.0
        band = SIZES[-1]
        for band in SIZES:
            acc += band[0]
            if r <= acc:
                break
        mp = rng.uniform(band[1], band[2]) * 1e6
        long = int((mp * 4 / 3) ** 0.5)
    short = long * 3 // 4
    return long, short


def mosaic(src: _Sources, rng: random.Random, size: tuple[int, int]) -> Image.Image:
    w, h = size
    out = Image.new("RGB", (w, h))
    picks = rng.sample(range(len(src.paths)), 4)
    for q, k in enumerate(picks):
        img = src.get(k)
        tw, th = (w // 2 if q % 2 == 0 else w - w // 2), (h // 2 if q < 2 else h - h // 2)
        # a random crop of the source with the tile's shape, 40-90 % of its width
        frac = rng.uniform(0.4, 0.9)
        cw = max(8, int(img.width * frac))
        ch = max(8, min(img.height, int(cw * th / tw)))
        cw = int(ch * tw / th)
        x, y = rng.randint(0, max(0, img.width - cw)), rng.randint(0, max(0, img.height - ch))
        tile = img.crop((x, y, x + cw, y + ch)).resize((tw, th), Image.Resampling.BILINEAR)
        if rng.random() < 0.5:
            tile = tile.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        out.paste(tile, ((q % 2) * (w // 2), (q // 2) * (h // 2)))
    return out


_GRAIN: dict[int, Image.Image] = {}


def grain(img: Image.Image, rng: random.Random, sigma: float) -> Image.Image:
    """Camera grain: Gaussian luminance noise of about ``sigma`` grey levels, a 509 px noise tile (made once per
    sigma step) laid from a random offset (Pillow's generator is slow at 12 MP)."""
    level = max(1, round(sigma))
    if level not in _GRAIN:
        _GRAIN[level] = Image.effect_noise((509, 509), level).convert("RGB")
    tile = _GRAIN[level]
    noise = Image.new("RGB", img.size)
    ox, oy = rng.randint(0, 508), rng.randint(0, 508)
    for y in range(-oy, img.height, 509):
        for x in range(-ox, img.width, 509):
            noise.paste(tile, (x, y))
    return ImageChops.add(img, noise, scale=1.0, offset=-128)


def exif_for(rng: random.Random, size: tuple[int, int], orientation: int) -> Image.Exif:
    make, model = rng.choice(CAMERAS)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = make, model, orientation
    ifd = exif.get_ifd(0x8769)
    t = 1.2e9 + rng.random() * 5e8
    import time

    ifd[36867] = time.strftime("%Y:%m:%d %H:%M:%S", time.gmtime(t))
    ifd[0xA002], ifd[0xA003] = size
    return exif


# linear sRGB -> XYZ (D65) inverted: the DNG's ColorMatrix1 (XYZ -> camera), so LibRaw renders sRGB again
_XYZ_TO_SRGB = ((32406, -15372, -4986), (-9689, 18758, 415), (557, -2040, 10570))
#: the long side of a DNG's embedded preview (as Adobe's DNG Converter writes its "medium" one); 0: none
DNG_PREVIEW_SIDE = 1024


def write_dng(img: Image.Image, make: str, model: str, out: Path, orientation: int = 1,
              preview_side: int = DNG_PREVIEW_SIDE) -> None:
    """A real DNG 1.4 of ``img`` (the picture as stored, ``orientation`` its TIFF orientation): a 16-bit RGGB Bayer
    mosaic of its linear light (tifffile), naming the camera, with an uncompressed RGB preview of
    ``preview_side`` pixels a side in IFD0 and the mosaic in a SubIFD, as cameras and converters lay DNGs out (their
    previews are JPEG; no TIFF JPEG encoder is at hand). LibRaw (rawpy) decodes it: the preview where it is large
    enough for the method, else the mosaic demosaiced. Its pixels come from the JPEG-like picture, not a sensor (no
    DNG is among the datasets)."""
    import numpy as np
    import tifffile

    level = np.arange(256) / 255.0
    linear = np.where(level <= 0.04045, level / 12.92, ((level + 0.055) / 1.055) ** 2.4)
    lut = np.round(linear * 65535).astype(np.uint16)
    rgb = np.asarray(img.convert("RGB"))
    h, w = rgb.shape[0] & ~1, rgb.shape[1] & ~1  # (whole 2 x 2 cells)
    cfa = np.empty((h, w), np.uint16)
    cfa[0::2, 0::2] = lut[rgb[0:h:2, 0:w:2, 0]]
    cfa[0::2, 1::2] = lut[rgb[0:h:2, 1:w:2, 1]]
    cfa[1::2, 0::2] = lut[rgb[1:h:2, 0:w:2, 1]]
    cfa[1::2, 1::2] = lut[rgb[1:h:2, 1:w:2, 2]]
    matrix = [v for row in _XYZ_TO_SRGB for c in row for v in (c, 10000)]
    camera = [(271, "s", 0, make, True), (272, "s", 0, model, True), (274, "H", 1, orientation, True),
              (50706, "B", 4, (1, 4, 0, 0), True), (50707, "B", 4, (1, 1, 0, 0), True),  # DNG version 1.4
              (50708, "s", 0, f"{make} {model}", True), (50721, "2i", 9, matrix, True), (50778, "H", 1, 21, True),
              (50728, "2I", 3, [1, 1, 1, 1, 1, 1], True)]
    mosaic = [(33421, "H", 2, (2, 2), True), (33422, "B", 4, (0, 1, 1, 2), True),  # CFA: RGGB
              (50710, "B", 3, (0, 1, 2), True), (50711, "H", 1, 1, True), (50717, "I", 1, 65535, True)]
    with tifffile.TiffWriter(out) as tw:
        if preview_side:
            small = img.convert("RGB")
            small.thumbnail((preview_side, preview_side))
            tw.write(np.asarray(small), photometric="rgb", subfiletype=1, subifds=1, extratags=camera)
            tw.write(cfa, photometric=32803, subfiletype=0, extratags=mosaic)
        else:
            tw.write(cfa, photometric=32803, subfiletype=0, extratags=camera + mosaic)


def make_library(folder: Path, count: int, seed: int = 0, small: bool = False, heic: int = 0,
                 start: int = 0, dng: int = 0) -> list[Path]:
    """``count`` unique pictures in ``folder`` (``IMG_<n>.jpg``; the first ``heic`` of them ``.heic``, the ``dng``
    after those ``.dng``: :func:`write_dng`, their camera named as the JPEGs' EXIF names it)."""
    folder.mkdir(parents=True, exist_ok=True)
    src = _Sources()
    out = []
    for n in range(start, start + count):
        done = [folder / f"IMG_{n:06d}.{ext}" for ext in ("jpg", "heic", "dng")]
        if any(p.exists() for p in done):  # made by an earlier, interrupted run: each picture depends on n alone
            out += [p for p in done if p.exists()]
            continue
        rng = random.Random(seed * 1_000_003 + n)
        size = _size(rng, small)
        img = grain(mosaic(src, rng, size), rng, rng.uniform(2.0, 4.0) if not small else 1.0)
        orientation = 6 if rng.random() < 0.1 else 1
        if orientation == 6:  # stored sideways, shown upright
            img = img.transpose(Image.Transpose.ROTATE_90)
        exif = exif_for(rng, img.size, orientation)
        is_heic = n - start < heic
        is_dng = not is_heic and n - start < heic + dng
        path = folder / f"IMG_{n:06d}.{'heic' if is_heic else 'dng' if is_dng else 'jpg'}"
        if is_dng:
            write_dng(img, exif[0x010F], exif[0x0110], path, orientation)
        elif is_heic:
            import pillow_heif

            pillow_heif.register_heif_opener()
            img.thumbnail((1632, 1224))
            img.save(path, format="HEIF", quality=80, exif=exif.tobytes(), thumbnails=[320])
        else:
            img.save(path, quality=rng.randint(88, 95), exif=exif.tobytes())
        out.append(path)
    return out
