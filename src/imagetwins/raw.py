"""Camera RAW files (.dng .cr2 .nef .arw ...) through rawpy/LibRaw (``pip install "imagetwins[raw]"``).

A RAW file is decoded from its embedded preview when that is big enough for the caller (the
camera's own JPEG, usually full size: fast), else demosaiced by LibRaw at half size. Either way the
result is upright, 8-bit RGB, like every other decoder's output in :mod:`imagetwins.io`.
"""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image

__all__ = ["RAW_EXTENSIONS", "is_raw_name", "decode_raw", "raw_size"]

RAW_EXTENSIONS = frozenset({
    ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".orf", ".rw2", ".raf", ".pef",
    ".srw", ".3fr", ".iiq", ".erf", ".kdc", ".mos", ".mrw", ".x3f", ".raw",
})

# LibRaw's ``sizes.flip``: how the sensor image is turned for display
_FLIP = {3: Image.Transpose.ROTATE_180, 5: Image.Transpose.ROTATE_90, 6: Image.Transpose.ROTATE_270}


class RawUnavailable(RuntimeError):
    """rawpy is not installed."""


def is_raw_name(name: str | os.PathLike | None) -> bool:
    """Is this file name a camera RAW format's?"""
    return name is not None and os.path.splitext(os.fspath(name))[1].lower() in RAW_EXTENSIONS


def _rawpy():
    try:
        import rawpy
    except ImportError:
        raise RawUnavailable('a camera RAW file: pip install "imagetwins[raw]" to read it') from None
    return rawpy


def raw_size(data: bytes) -> tuple[int, int]:
    """Displayed (upright) width and height of a RAW file's picture."""
    with _rawpy().imread(io.BytesIO(data)) as raw:
        w, h = raw.sizes.width, raw.sizes.height
        return (h, w) if raw.sizes.flip in (5, 6) else (w, h)


def decode_raw(data: bytes, min_size: int | None = None, max_pixels: int | None = None) -> Image.Image:
    """An upright RGB picture of a RAW file: its embedded preview if it has ``min_size`` pixels a side
    (full size when ``min_size`` is None), else LibRaw's half-size demosaic."""
    rawpy = _rawpy()
    with rawpy.imread(io.BytesIO(data)) as raw:
        w, h = raw.sizes.width, raw.sizes.height
        if max_pixels is not None and w * h > max_pixels:
            raise ValueError(f"image too large ({w}x{h} pixels > limit {max_pixels:,})")
        need = min_size if min_size else max(w, h)
        flip = _FLIP.get(raw.sizes.flip)
        try:
            thumb = raw.extract_thumb()
        except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
            thumb = None
        img = None
        if thumb is not None and thumb.format == rawpy.ThumbFormat.JPEG:
            with Image.open(io.BytesIO(thumb.data), formats=["JPEG"]) as preview:
                if max(preview.size) >= need:
                    img = preview.convert("RGB")
        elif thumb is not None and thumb.format == rawpy.ThumbFormat.BITMAP and max(thumb.data.shape[:2]) >= need:
            img = Image.fromarray(np.ascontiguousarray(thumb.data[..., :3], dtype=np.uint8))
        if img is not None:
            return img.transpose(flip) if flip is not None else img
        rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)  # turned upright by LibRaw
        return Image.fromarray(rgb)
